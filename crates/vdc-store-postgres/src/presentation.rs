//! [`PresentationStore`] on Postgres.
//!
//! Ending a request is one conditional `UPDATE … WHERE status = 'pending' AND expires_at > ?`
//! (Postgres re-checks the condition after waiting for a concurrent writer's row lock, so exactly one of N racing responses matches: G2); redeeming a
//! `response_code` is one `UPDATE … WHERE response_code_used_at IS NULL RETURNING …`.

use async_trait::async_trait;
use serde_json::Value;
use vdc_store::presentation::check_outcome;
use vdc_store::rows::{PresentationRequestRow, VerifierRow};
use vdc_store::{
    Outbox, PresentationOutcome, PresentationRequestRecord, PresentationStore, Result, SecretHash,
    StoreError, UnixTime, VerifierRecord,
};

use crate::error::{db_err, db_err_fk};
use crate::{PostgresStore, t};

/// Ends a conditional change's transaction: with the outbox and a commit if the change
/// happened (`won`), else a rollback (nothing written).
async fn finish_with(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    won: bool,
    outbox: &Outbox,
) -> Result<bool> {
    if !won {
        tx.rollback().await.map_err(db_err)?;
        return Ok(false);
    }
    crate::outbox::write(&mut tx, outbox).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

#[async_trait]
impl PresentationStore for PostgresStore {
    async fn create_verifier(&self, v: &VerifierRecord) -> Result<()> {
        let config = &v.config;
        let created_at = t(v.created_at);
        sqlx::query!(
            "INSERT INTO verifiers (verifier_id, config, encrypted_signing_key, created_at)
             VALUES ($1, $2, $3, $4)",
            v.id,
            config,
            v.encrypted_signing_key,
            created_at,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_verifier(&self, id: &str) -> Result<Option<VerifierRecord>> {
        let row = sqlx::query_as!(
            VerifierRow,
            "SELECT verifier_id, config, encrypted_signing_key, created_at
             FROM verifiers WHERE verifier_id = $1",
            id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_verifiers(&self) -> Result<Vec<VerifierRecord>> {
        let rows = sqlx::query_as!(
            VerifierRow,
            "SELECT verifier_id, config, encrypted_signing_key, created_at
             FROM verifiers ORDER BY verifier_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn list_verifiers_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<VerifierRecord>> {
        // The empty string sorts before every slug: no cursor is "from the first".
        let after = after.unwrap_or("");
        let limit = i64::from(limit);
        let rows = sqlx::query_as!(
            VerifierRow,
            "SELECT verifier_id, config, encrypted_signing_key, created_at
             FROM verifiers WHERE verifier_id > $1 ORDER BY verifier_id LIMIT $2",
            after,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn update_verifier_config(&self, id: &str, config: &Value) -> Result<()> {
        let config = config;
        let updated = sqlx::query!(
            "UPDATE verifiers SET config = $2 WHERE verifier_id = $1",
            id,
            config
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("verifier"));
        }
        Ok(())
    }

    async fn replace_verifier_signing_key(
        &self,
        id: &str,
        expected: &[u8],
        sealed: &[u8],
    ) -> Result<bool> {
        let updated = sqlx::query!(
            "UPDATE verifiers SET encrypted_signing_key = $3 \
             WHERE verifier_id = $1 AND encrypted_signing_key = $2",
            id,
            expected,
            sealed
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 1 {
            return Ok(true);
        }
        let exists = sqlx::query_scalar!(
            "SELECT verifier_id FROM verifiers WHERE verifier_id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        if exists.is_none() {
            return Err(StoreError::NotFound("verifier"));
        }
        Ok(false)
    }

    async fn create_presentation_request(
        &self,
        r: &PresentationRequestRecord,
        outbox: &Outbox,
    ) -> Result<()> {
        let state_hash = r.state_hash.as_bytes().as_slice();
        let request = &r.request;
        let status = r.status.as_str();
        let result = r.result.as_ref();
        let error = r.error.as_ref();
        let code = r.response_code_hash.as_ref().map(|h| h.as_bytes().to_vec());
        let used = r.response_code_used_at.map(t);
        let created_at = t(r.created_at);
        let expires_at = t(r.expires_at);
        let finished_at = r.finished_at.map(t);
        let mut tx = self.begin_write().await?;
        sqlx::query!(
            "INSERT INTO presentation_requests (verifier_id, request_id, state_hash, request,
                encrypted_response_key, status, result, error, response_code_hash,
                response_code_used_at, created_at, expires_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            r.verifier_id,
            r.request_id,
            state_hash,
            request,
            r.encrypted_response_key,
            status,
            result,
            error,
            code,
            used,
            created_at,
            expires_at,
            finished_at,
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_err_fk(e, "verifier"))?;
        crate::outbox::write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
    ) -> Result<Option<PresentationRequestRecord>> {
        let row = sqlx::query_as!(
            PresentationRequestRow,
            "SELECT verifier_id, request_id, state_hash, request, encrypted_response_key, status,
                result, error, response_code_hash, response_code_used_at, created_at, expires_at,
                finished_at
             FROM presentation_requests WHERE verifier_id = $1 AND request_id = $2",
            verifier_id,
            request_id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn find_presentation_request_by_state(
        &self,
        verifier_id: &str,
        state_hash: &SecretHash,
    ) -> Result<Option<PresentationRequestRecord>> {
        let state_hash = state_hash.as_bytes().as_slice();
        let row = sqlx::query_as!(
            PresentationRequestRow,
            "SELECT verifier_id, request_id, state_hash, request, encrypted_response_key, status,
                result, error, response_code_hash, response_code_used_at, created_at, expires_at,
                finished_at
             FROM presentation_requests WHERE verifier_id = $1 AND state_hash = $2",
            verifier_id,
            state_hash,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn finish_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
        outcome: &PresentationOutcome,
        now: UnixTime,
        outbox: &Outbox,
    ) -> Result<bool> {
        check_outcome(outcome)?;
        let status = outcome.status.as_str();
        let result = outcome.result.as_ref();
        let error = outcome.error.as_ref();
        let code = outcome
            .response_code_hash
            .as_ref()
            .map(|h| h.as_bytes().to_vec());
        let now = t(now);
        let mut tx = self.begin_write().await?;
        let done = sqlx::query!(
            "UPDATE presentation_requests
             SET status = $3, result = $4, error = $5, response_code_hash = $6, finished_at = $7
             WHERE verifier_id = $1 AND request_id = $2 AND status = 'pending'
               AND expires_at > $7",
            verifier_id,
            request_id,
            status,
            result,
            error,
            code,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        finish_with(tx, done.rows_affected() == 1, outbox).await
    }

    async fn expire_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
        now: UnixTime,
        outbox: &Outbox,
    ) -> Result<bool> {
        let now = t(now);
        let mut tx = self.begin_write().await?;
        let done = sqlx::query!(
            "UPDATE presentation_requests SET status = 'expired', finished_at = $3
             WHERE verifier_id = $1 AND request_id = $2 AND status = 'pending'
               AND expires_at <= $3",
            verifier_id,
            request_id,
            now,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        finish_with(tx, done.rows_affected() == 1, outbox).await
    }

    async fn expire_due_presentation_requests(
        &self,
        now: UnixTime,
        limit: u32,
        outbox: &vdc_store::events::OutboxOf<'_>,
    ) -> Result<Vec<(String, String)>> {
        let now = t(now);
        let limit = i64::from(limit);
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query!(
            "UPDATE presentation_requests SET status = 'expired', finished_at = $1
             WHERE status = 'pending' AND expires_at <= $1
               AND (verifier_id, request_id) IN (
                 SELECT verifier_id, request_id FROM presentation_requests
                 WHERE status = 'pending' AND expires_at <= $1 LIMIT $2
                 FOR UPDATE SKIP LOCKED)
             RETURNING verifier_id, request_id",
            now,
            limit,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let expired: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r.verifier_id, r.request_id))
            .collect();
        for (verifier, id) in &expired {
            crate::outbox::write(&mut tx, &outbox(verifier, id)).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(expired)
    }

    async fn redeem_response_code(
        &self,
        verifier_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<PresentationRequestRecord>> {
        let code_hash = code_hash.as_bytes().as_slice();
        let now = t(now);
        let row = sqlx::query_as!(
            PresentationRequestRow,
            "UPDATE presentation_requests SET response_code_used_at = $3
             WHERE verifier_id = $1 AND response_code_hash = $2
               AND response_code_used_at IS NULL
             RETURNING verifier_id, request_id, state_hash, request, encrypted_response_key,
                status, result, error, response_code_hash, response_code_used_at, created_at,
                expires_at, finished_at",
            verifier_id,
            code_hash,
            now,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn purge_finished_presentation_requests(
        &self,
        before: UnixTime,
        limit: u32,
    ) -> Result<u64> {
        let before = t(before);
        let limit = i64::from(limit);
        // `status <> 'pending'` as written matches the partial index
        // `presentation_requests_finished`.
        let done = sqlx::query!(
            "DELETE FROM presentation_requests WHERE (verifier_id, request_id) IN (
                SELECT verifier_id, request_id FROM presentation_requests
                WHERE status <> 'pending' AND finished_at < $1
                ORDER BY finished_at LIMIT $2
                FOR UPDATE SKIP LOCKED)",
            before,
            limit,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
