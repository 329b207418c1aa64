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

pub use crate::audit::{
    AUDIT_ID_CEILING, AuditEntry, AuditQuery, MAX_AUDIT_PAGE, audit_id, audit_id_floor,
    query_bounds, sequenced, tenant_columns, tenant_from_columns,
};
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
