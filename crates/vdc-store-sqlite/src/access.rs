//! [`AccessStore`] on SQLite: API keys (lists as JSON arrays in TEXT) and the audit log.

use async_trait::async_trait;
use vdc_store::access::{audit_id_floor, query_bounds, tenant_columns};
use vdc_store::rows::{ApiKeyRow, AuditRow};
use vdc_store::{AccessStore, ApiKeyRecord, AuditEntry, AuditQuery, Result, SecretHash, UnixTime};

use crate::error::db_err;
use crate::{SqliteStore, t, to_json};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn create_api_key(&self, k: &ApiKeyRecord) -> Result<()> {
        let issuers = to_json(&k.issuers)?;
        let verifiers = to_json(&k.verifiers)?;
        let scopes = to_json(&k.scopes)?;
        let key_hash = k.key_hash.as_bytes().as_slice();
        let created_at = t(k.created_at);
        let revoked_at = k.revoked_at.map(t);
        sqlx::query!(
            "INSERT INTO api_keys (key_id, name, issuers, verifiers, scopes, key_hash,
                created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            k.id,
            k.name,
            issuers,
            verifiers,
            scopes,
            key_hash,
            created_at,
            revoked_at,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key_by_hash(&self, key_hash: &SecretHash) -> Result<Option<ApiKeyRecord>> {
        let key_hash = key_hash.as_bytes().as_slice();
        let row = sqlx::query_as!(
            ApiKeyRow,
            "SELECT key_id, name, issuers, verifiers, scopes, key_hash, created_at, revoked_at
             FROM api_keys WHERE key_hash = $1",
            key_hash,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn get_api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query_as!(
            ApiKeyRow,
            "SELECT key_id, name, issuers, verifiers, scopes, key_hash, created_at, revoked_at
             FROM api_keys WHERE key_id = $1",
            id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let rows = sqlx::query_as!(
            ApiKeyRow,
            "SELECT key_id, name, issuers, verifiers, scopes, key_hash, created_at, revoked_at
             FROM api_keys ORDER BY created_at, key_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn revoke_api_key(&self, id: &str, now: UnixTime) -> Result<bool> {
        let now = t(now);
        let done = sqlx::query!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1",
            id,
            now,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
        // One entry is an outbox of its own (the one INSERT lives in `outbox.rs`).
        self.write_own_outbox(&vdc_store::Outbox::audit(e.clone()))
            .await
    }

    async fn write_outbox(&self, outbox: &vdc_store::Outbox) -> Result<()> {
        self.write_own_outbox(outbox).await
    }

    async fn query_audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let (floor, ceiling, limit) = query_bounds(q);
        let rows = match q.tenant.as_ref() {
            Some(tenant) => {
                let (kind, id) = tenant_columns(Some(tenant));
                sqlx::query_as!(
                    AuditRow,
                    "SELECT tenant_kind, tenant_id, audit_id, at, actor, actor_key_id, action,
                        target, outcome
                     FROM audit_entries
                     WHERE tenant_kind = $1 AND tenant_id = $2
                       AND audit_id >= $3 AND audit_id < $4
                     ORDER BY audit_id DESC LIMIT $5",
                    kind,
                    id,
                    floor,
                    ceiling,
                    limit,
                )
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query_as!(
                    AuditRow,
                    "SELECT tenant_kind, tenant_id, audit_id, at, actor, actor_key_id, action,
                        target, outcome
                     FROM audit_entries
                     WHERE audit_id >= $1 AND audit_id < $2
                     ORDER BY audit_id DESC LIMIT $3",
                    floor,
                    ceiling,
                    limit,
                )
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn purge_audit_entries(&self, before: UnixTime, limit: u32) -> Result<u64> {
        // Audit ids start with the unix second, so the id bound lets `audit_entries_id` find
        // the candidates; `at < before` states the rule exactly. SQLite has no DELETE …
        // LIMIT by default: the batch is chosen by rowid.
        let floor = audit_id_floor(before);
        let before = t(before);
        let limit = i64::from(limit);
        let done = sqlx::query!(
            "DELETE FROM audit_entries WHERE rowid IN (
                SELECT rowid FROM audit_entries
                WHERE audit_id < $1 AND at < $2
                ORDER BY audit_id LIMIT $3)",
            floor,
            before,
            limit,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
