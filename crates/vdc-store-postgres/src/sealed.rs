//! [`SealedStore`] on Postgres: the KEK rotation's reads and conditional writes.
//!
//! Runtime-checked SQL, unlike the rest of this crate: one batch loop serves five tables
//! whose statements differ only in names, and this path runs from `vdc kek rotate`, not
//! per request. The store contract tests run every statement on both backends.

use async_trait::async_trait;
use sqlx::Row as _;
use vdc_store::{Result, SealedChange, SealedRow, SealedStore, SealedTable};

use crate::PostgresStore;
use crate::error::db_err;

/// (select after a key, conditional update) for a table; `$1..` are the key columns.
fn statements(table: SealedTable) -> (&'static str, &'static str) {
    match table {
        SealedTable::IssuerSigningKeys => (
            "SELECT issuer_id, kid, encrypted_private_key FROM issuer_signing_keys
             WHERE (issuer_id, kid) > ($1, $2) ORDER BY issuer_id, kid LIMIT $3",
            "UPDATE issuer_signing_keys SET encrypted_private_key = $3
             WHERE issuer_id = $1 AND kid = $2 AND encrypted_private_key = $4",
        ),
        SealedTable::VerifierSigningKeys => (
            "SELECT verifier_id, encrypted_signing_key FROM verifiers
             WHERE verifier_id > $1 ORDER BY verifier_id LIMIT $2",
            "UPDATE verifiers SET encrypted_signing_key = $2
             WHERE verifier_id = $1 AND encrypted_signing_key = $3",
        ),
        SealedTable::ResponseKeys => (
            "SELECT verifier_id, request_id, encrypted_response_key FROM presentation_requests
             WHERE (verifier_id, request_id) > ($1, $2) AND encrypted_response_key IS NOT NULL
             ORDER BY verifier_id, request_id LIMIT $3",
            "UPDATE presentation_requests SET encrypted_response_key = $3
             WHERE verifier_id = $1 AND request_id = $2 AND encrypted_response_key = $4",
        ),
        SealedTable::WebhookSecrets => (
            "SELECT webhook_id, encrypted_secret FROM webhooks
             WHERE webhook_id > $1 ORDER BY webhook_id LIMIT $2",
            "UPDATE webhooks SET encrypted_secret = $2
             WHERE webhook_id = $1 AND encrypted_secret = $3",
        ),
        SealedTable::IssuerConfigs => (
            "SELECT issuer_id, config::text FROM issuers
             WHERE issuer_id > $1 ORDER BY issuer_id LIMIT $2",
            "UPDATE issuers SET config = $2::jsonb
             WHERE issuer_id = $1 AND config = $3::jsonb",
        ),
    }
}

#[async_trait]
impl SealedStore for PostgresStore {
    async fn sealed_rows(
        &self,
        table: SealedTable,
        after: &[String],
        limit: u32,
    ) -> Result<Vec<SealedRow>> {
        let n = table.key_len();
        let (select, _) = statements(table);
        let mut q = sqlx::query(select);
        for k in after.iter().take(n) {
            q = q.bind(k.as_str());
        }
        let rows = q
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                let key = (0..n)
                    .map(|i| r.try_get::<String, _>(i))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(db_err)?;
                let value = if table == SealedTable::IssuerConfigs {
                    r.try_get::<String, _>(n).map_err(db_err)?.into_bytes()
                } else {
                    r.try_get::<Vec<u8>, _>(n).map_err(db_err)?
                };
                Ok(SealedRow { key, value })
            })
            .collect()
    }

    async fn replace_sealed(&self, table: SealedTable, changes: &[SealedChange]) -> Result<u64> {
        let (_, update) = statements(table);
        let mut tx = self.begin_write().await?;
        let mut written = 0;
        for c in changes {
            let mut q = sqlx::query(update);
            for k in &c.key {
                q = q.bind(k.as_str());
            }
            q = if table == SealedTable::IssuerConfigs {
                let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
                q.bind(text(&c.new)).bind(text(&c.old))
            } else {
                q.bind(c.new.clone()).bind(c.old.clone())
            };
            written += q.execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(written)
    }
}
