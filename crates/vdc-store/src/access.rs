//! Access control state: scoped API keys and the audit log, behind [`AccessStore`].
//!
//! Model (migration `0004_access`):
//! - `api_keys`: one row per scoped management key (contract: "API keys and tenants"): its
//!   name, the issuers and verifiers it may act on, its scopes, the SHA-256 of the key (the
//!   key itself is shown once and never stored), when it was created and revoked. Keys are
//!   instance-wide rows (a key may span tenants), like `settings`.
//! - `audit_entries`: one row per management call and per domain event (contract: "Webhooks
//!   and audit"). The tenant leads the primary key (G6; `""`/`""` for instance-wide actions).
//!   [`AuditEntry::id`] is [`audit_id`]: 12 hex digits of the unix second, then 16 random hex
//!   digits, so ordering by id orders by time, [`AuditQuery::since`] is a range on the id and
//!   a cursor is "ids below the last one seen". No claim values or secrets are ever stored
//!   here (G10): callers record ids, route templates and statuses only.
//!
//! Invariants: G6 (tenant filters lead the index), G10 (no secret at rest: key hashes only).

use async_trait::async_trait;
use vdc_core::time::UnixTime;

use crate::events::EventTenant;
use crate::{Result, SecretHash};

/// A scoped API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key's public id.
    pub id: String,
    /// A name for people and the audit log.
    pub name: String,
    /// The issuers it may act on.
    pub issuers: Vec<String>,
    /// The verifiers it may act on.
    pub verifiers: Vec<String>,
    /// Its scopes (`read`, `offers:write`, `credentials:status`, `presentations:write`).
    pub scopes: Vec<String>,
    /// SHA-256 of the key.
    pub key_hash: SecretHash,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it was revoked (a revoked key authenticates nothing).
    pub revoked_at: Option<UnixTime>,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The sortable id ([`audit_id`]).
    pub id: String,
    /// When it happened.
    pub at: UnixTime,
    /// Who: `admin`, an API key's name, `wallet`, `system`.
    pub actor: String,
    /// The API key's id when the actor is a key.
    pub actor_key_id: Option<String>,
    /// What: `METHOD /route/{template}` for management calls, the event type for events.
    pub action: String,
    /// The tenant it concerns, if any.
    pub tenant: Option<EventTenant>,
    /// The object it concerns (an offer, credential, request or key id), if any.
    pub target: Option<String>,
    /// The HTTP status of a management call, or the event's outcome.
    pub outcome: String,
}

/// A page request over the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only this tenant's entries (`None`: every entry).
    pub tenant: Option<EventTenant>,
    /// Only entries at or after this time.
    pub since: Option<UnixTime>,
    /// Only entries whose id sorts below this one (the cursor: the last id of a page).
    pub before: Option<String>,
    /// At most this many entries.
    pub limit: u32,
}

/// The largest page [`AccessStore::query_audit`] returns.
pub const MAX_AUDIT_PAGE: u32 = 1000;

/// The sortable audit id for an entry at `at`: 12 lower-case hex digits of the unix second
/// (negative times clamp to zero), then the 16 hex digits of `random`.
pub fn audit_id(at: UnixTime, random: u64) -> String {
    format!("{:012x}{random:016x}", at.secs().max(0))
}

/// The 64-bit tail of an audit id: this process's entry counter in the high 32 bits, 32
/// random bits below. Entries one instance writes within the same second therefore sort in
/// the order they were written (the clock has one-second resolution); entries of different
/// instances in the same second interleave arbitrarily, and the random half keeps ids of
/// different instances apart.
pub fn sequenced(random: u64) -> u64 {
    static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (u64::from(n) << 32) | (random & 0xffff_ffff)
}

/// The smallest id an entry at or after `since` can have.
pub fn audit_id_floor(since: UnixTime) -> String {
    format!("{:012x}", since.secs().max(0))
}

/// An upper bound above every audit id (ids are lower-case hex).
pub const AUDIT_ID_CEILING: &str = "g";

/// The tenant as stored: `(kind, id)`, `("", "")` for none.
pub fn tenant_columns(tenant: Option<&EventTenant>) -> (&'static str, &str) {
    match tenant {
        Some(EventTenant::Issuer(id)) => ("issuer", id),
        Some(EventTenant::Verifier(id)) => ("verifier", id),
        None => ("", ""),
    }
}

/// The tenant from its stored columns; [`crate::StoreError::Corrupt`] for an unknown kind.
pub fn tenant_from_columns(kind: &str, id: String) -> Result<Option<EventTenant>> {
    match kind {
        "issuer" => Ok(Some(EventTenant::Issuer(id))),
        "verifier" => Ok(Some(EventTenant::Verifier(id))),
        "" => Ok(None),
        other => Err(crate::StoreError::Corrupt(format!(
            "unknown audit tenant kind {other:?}"
        ))),
    }
}

/// The bounds a query reads: `(floor, ceiling, limit)`, limit clamped to 1..=[`MAX_AUDIT_PAGE`].
pub fn query_bounds(q: &AuditQuery) -> (String, String, i64) {
    let floor = q.since.map(audit_id_floor).unwrap_or_default();
    let ceiling = q
        .before
        .clone()
        .unwrap_or_else(|| AUDIT_ID_CEILING.to_owned());
    (floor, ceiling, i64::from(q.limit.clamp(1, MAX_AUDIT_PAGE)))
}

/// API keys and the audit log. Object-safe: the server holds an `Arc<dyn AccessStore>`.
#[async_trait]
pub trait AccessStore: Send + Sync + std::fmt::Debug {
    /// Stores a new key; [`crate::StoreError::Duplicate`] if the id or the hash is taken.
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<()>;
    /// The key (revoked or not) whose SHA-256 is `key_hash`.
    async fn find_api_key_by_hash(&self, key_hash: &SecretHash) -> Result<Option<ApiKeyRecord>>;
    /// The key with this id.
    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>>;
    /// Every key, oldest first.
    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>>;
    /// Revokes a key: false if no key has this id; revoking a revoked key is a no-op that
    /// keeps the first `revoked_at` and answers true.
    async fn revoke_api_key(&self, id: &str, now: UnixTime) -> Result<bool>;
    /// Appends an entry; [`crate::StoreError::Duplicate`] if its id is taken for its tenant.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// Writes an outbox of its own, in one transaction: entries of calls that changed
    /// nothing (batched by the caller), events of a sweep. Nothing is written if it fails.
    async fn write_outbox(&self, outbox: &crate::events::Outbox) -> Result<()>;
    /// Entries matching `query`, newest (highest id) first.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// The audit retention purge: deletes up to `limit` of the oldest entries recorded
    /// before `before` (`at < before`; an entry at `before` stays) in one statement and
    /// returns how many. Callers repeat while it returns `limit`, so a large backlog is many
    /// short statements, never one long transaction. Several instances may purge at once.
    async fn purge_audit_entries(&self, before: UnixTime, limit: u32) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_ids_sort_by_time_then_random() {
        let a = audit_id(UnixTime(1_800_000_000), u64::MAX);
        let b = audit_id(UnixTime(1_800_000_001), 0);
        assert!(a < b);
        assert_eq!(a.len(), 28);
        assert!(audit_id_floor(UnixTime(1_800_000_001)) <= b);
        assert!(audit_id_floor(UnixTime(1_800_000_001)) > a);
        assert!(b.as_str() < AUDIT_ID_CEILING);
        assert_eq!(audit_id(UnixTime(-5), 1), audit_id(UnixTime(0), 1));
    }

    #[test]
    fn ids_of_one_second_sort_in_write_order() {
        let at = UnixTime(1_800_000_000);
        let ids: Vec<String> = [u64::MAX, 0, 7, u64::MAX / 3]
            .into_iter()
            .map(|r| audit_id(at, sequenced(r)))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn tenant_columns_round_trip() {
        for t in [
            None,
            Some(EventTenant::Issuer("acme".into())),
            Some(EventTenant::Verifier("door".into())),
        ] {
            let (kind, id) = tenant_columns(t.as_ref());
            assert_eq!(tenant_from_columns(kind, id.to_owned()).unwrap(), t);
        }
        assert!(tenant_from_columns("tenant", "x".into()).is_err());
    }

    #[test]
    fn query_bounds_clamp_the_limit() {
        let q = AuditQuery {
            limit: 0,
            ..Default::default()
        };
        assert_eq!(query_bounds(&q), (String::new(), "g".into(), 1));
        let q = AuditQuery {
            limit: 5000,
            since: Some(UnixTime(16)),
            before: Some("abc".into()),
            tenant: None,
        };
        assert_eq!(
            query_bounds(&q),
            ("000000000010".into(), "abc".into(), 1000)
        );
    }
}
