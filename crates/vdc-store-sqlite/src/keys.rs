//! [`KeyStore`] on SQLite.

use async_trait::async_trait;
use vdc_store::rows::SigningKeyRow;
use vdc_store::{KeyStore, Result, SigningKeyRecord, UnixTime};

use crate::error::{db_err, db_err_fk};
use crate::{SqliteStore, t, to_json};

#[async_trait]
impl KeyStore for SqliteStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query!(
            "INSERT INTO issuer_signing_keys (issuer_id, kid, alg, public_jwk,
                encrypted_private_key, created_at, retired_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            key.issuer_id,
            key.kid,
            key.alg,
            to_json(&key.public_jwk)?,
            key.encrypted_private_key,
            t(key.created_at),
            key.retired_at.map(t),
        )
        .execute(&self.pool)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?;
        Ok(())
    }

    async fn signing_keys(&self, issuer_id: &str) -> Result<Vec<SigningKeyRecord>> {
        let rows = sqlx::query_as!(
            SigningKeyRow,
            "SELECT issuer_id, kid, alg, public_jwk, encrypted_private_key, created_at, retired_at
             FROM issuer_signing_keys WHERE issuer_id = $1 ORDER BY created_at, kid",
            issuer_id,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn retire_signing_key(&self, issuer_id: &str, kid: &str, at: UnixTime) -> Result<bool> {
        let updated = sqlx::query!(
            "UPDATE issuer_signing_keys SET retired_at = $3
             WHERE issuer_id = $1 AND kid = $2 AND retired_at IS NULL",
            issuer_id,
            kid,
            t(at),
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(updated == 1)
    }
}
