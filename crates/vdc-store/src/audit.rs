//! The audit log's records: [`AuditEntry`] (one row per management call and per domain
//! event) and [`AuditQuery`], with the id scheme that orders entries by time and the tenant
//! columns. Kept apart from [`AccessStore`](crate::AccessStore), which writes them, and from
//! the events, whose outbox carries them, so neither imports the other.

use vdc_core::time::UnixTime;

use crate::Result;
use crate::tenant::EventTenant;

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

/// The largest page [`crate::AccessStore::query_audit`] returns.
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
