//! [`KeyStore`] on Postgres.

use async_trait::async_trait;
use vdc_store::rows::SigningKeyRow;
use vdc_store::{KeyStore, Result, SigningKeyRecord, StoreError, UnixTime};

use crate::error::{db_err, db_err_fk};
use crate::{PostgresStore, t};

#[async_trait]
impl KeyStore for PostgresStore {
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> Result<()> {
        sqlx::query!(
            "INSERT INTO issuer_signing_keys (issuer_id, kid, alg, public_jwk,
                encrypted_private_key, created_at, activate_at, retired_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM issuer_signing_keys WHERE issuer_id = $1))",
            key.issuer_id,
            key.kid,
            key.alg,
            key.public_jwk,
            key.encrypted_private_key,
            t(key.created_at),
            t(key.activate_at),
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
            r#"SELECT issuer_id, kid, alg, public_jwk, encrypted_private_key, created_at,
                COALESCE(activate_at, created_at) AS "activate_at!", retired_at
             FROM issuer_signing_keys WHERE issuer_id = $1
             ORDER BY COALESCE(seq, 0), created_at, kid"#,
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

    async fn rotate_signing_key(
        &self,
        key: &SigningKeyRecord,
        expected_newest: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // The issuer's row is the lock racing rotations queue on (READ COMMITTED would let
        // two of them see the same newest key and both insert).
        let locked = sqlx::query_scalar!(
            "SELECT issuer_id FROM issuers WHERE issuer_id = $1 FOR UPDATE",
            key.issuer_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if locked.is_none() {
            return Err(StoreError::NotFound("issuer"));
        }
        let newest = sqlx::query_scalar!(
            "SELECT kid FROM issuer_signing_keys WHERE issuer_id = $1
             ORDER BY COALESCE(seq, 0) DESC, created_at DESC, kid DESC
             LIMIT 1",
            key.issuer_id,
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if newest.as_deref() != Some(expected_newest) {
            return Err(StoreError::Conflict("signing key rotated concurrently"));
        }
        sqlx::query!(
            "INSERT INTO issuer_signing_keys (issuer_id, kid, alg, public_jwk,
                encrypted_private_key, created_at, activate_at, retired_at, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                (SELECT COALESCE(MAX(seq), 0) + 1 FROM issuer_signing_keys WHERE issuer_id = $1))",
            key.issuer_id,
            key.kid,
            key.alg,
            key.public_jwk,
            key.encrypted_private_key,
            t(key.created_at),
            t(key.activate_at),
            key.retired_at.map(t),
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "issuer"))?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_signing_key(&self, issuer_id: &str, kid: &str) -> Result<bool> {
        let deleted = sqlx::query!(
            "DELETE FROM issuer_signing_keys WHERE issuer_id = $1 AND kid = $2",
            issuer_id,
            kid,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(deleted == 1)
    }

    async fn latest_credential_expiry(
        &self,
        issuer_id: &str,
        from: UnixTime,
        until: UnixTime,
    ) -> Result<Option<UnixTime>> {
        let latest = sqlx::query_scalar!(
            "SELECT MAX(COALESCE(expires_at, 9223372036854775807)) FROM issued_credentials
             WHERE issuer_id = $1 AND issued_at >= $2 AND issued_at <= $3",
            issuer_id,
            t(from),
            t(until),
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(latest.map(UnixTime))
    }
}
