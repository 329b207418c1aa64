//! [`WebhookStore`] on Postgres.
//!
//! Claiming due deliveries is one `UPDATE … WHERE (key) IN (SELECT … LIMIT n FOR UPDATE SKIP
//! LOCKED) RETURNING …` that re-checks state, due time and lease (rows another claimer holds
//! are skipped, and the outer condition is re-checked after any wait, so each delivery goes to
//! one claimer); recording an attempt is one transaction that moves the delivery only if the
//! attempt number is the next one.

use async_trait::async_trait;
use vdc_store::rows::{AttemptRow, DeliveryRow, WebhookRow};
use vdc_store::stored::write_u64;
use vdc_store::{
    AttemptRecord, DeliveryRecord, NewDelivery, Result, UnixTime, WebhookRecord, WebhookStore,
};

use crate::error::db_err;
use crate::{PostgresStore, t};

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn create_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let events = serde_json::json!(w.events);
        let issuers = w.issuers.as_ref().map(|v| serde_json::json!(v));
        let verifiers = w.verifiers.as_ref().map(|v| serde_json::json!(v));
        let created_at = t(w.created_at);
        sqlx::query!(
            "INSERT INTO webhooks (webhook_id, url, events, issuers, verifiers, encrypted_secret,
                created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            w.id,
            w.url,
            events,
            issuers,
            verifiers,
            w.encrypted_secret,
            created_at,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>> {
        let row = sqlx::query_as!(
            WebhookRow,
            "SELECT webhook_id, url, events, issuers, verifiers, encrypted_secret, created_at
             FROM webhooks WHERE webhook_id = $1",
            id,
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(TryInto::try_into).transpose()
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let rows = sqlx::query_as!(
            WebhookRow,
            "SELECT webhook_id, url, events, issuers, verifiers, encrypted_secret, created_at
             FROM webhooks ORDER BY created_at, webhook_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let done = sqlx::query!("DELETE FROM webhooks WHERE webhook_id = $1", id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<u64> {
        if deliveries.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut inserted = 0;
        for d in deliveries {
            let created_at = t(d.created_at);
            let done = sqlx::query!(
                "INSERT INTO webhook_deliveries (webhook_id, delivery_id, event_id, event_type,
                    payload, state, attempts, next_attempt_at, lease_until, created_at)
                 SELECT $1::TEXT, $2::TEXT, $3::TEXT, $4::TEXT, $5::TEXT, 'pending', 0, $6::BIGINT,
                    NULL::BIGINT, $6
                 WHERE EXISTS (SELECT 1 FROM webhooks WHERE webhook_id = $1)",
                d.webhook_id,
                d.delivery_id,
                d.event_id,
                d.event_type,
                d.payload,
                created_at,
            )
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            inserted += done.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(inserted)
    }

    async fn claim_due_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let now = t(now);
        let lease_until = t(lease_until);
        let limit = i64::from(limit);
        let rows = sqlx::query_as!(
            DeliveryRow,
            r#"UPDATE webhook_deliveries SET lease_until = $2
             WHERE state = 'pending' AND next_attempt_at <= $1
               AND (lease_until IS NULL OR lease_until <= $1)
               AND (webhook_id, delivery_id) IN (
                 SELECT webhook_id, delivery_id FROM webhook_deliveries
                 WHERE state = 'pending' AND next_attempt_at <= $1
                   AND (lease_until IS NULL OR lease_until <= $1)
                 ORDER BY next_attempt_at LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING webhook_id, delivery_id, event_id, event_type, payload, state, attempts,
                next_attempt_at, created_at"#,
            now,
            lease_until,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn record_attempt(
        &self,
        webhook_id: &str,
        delivery_id: &str,
        a: &AttemptRecord,
    ) -> Result<bool> {
        let attempt = write_u64(u64::from(a.attempt))?;
        let previous = attempt - 1;
        let state = a.outcome.state().as_str();
        let outcome = a.outcome.as_str();
        let at = t(a.at);
        let next = a.next_attempt_at.map(t);
        let status = a.http_status.map(i64::from);
        let mut tx = self.begin_write().await?;
        let moved = sqlx::query!(
            "UPDATE webhook_deliveries
             SET attempts = $3, state = $4, next_attempt_at = $5, lease_until = NULL
             WHERE webhook_id = $1 AND delivery_id = $2 AND attempts = $6 AND state = 'pending'",
            webhook_id,
            delivery_id,
            attempt,
            state,
            next,
            previous,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query!(
            "INSERT INTO webhook_attempts (webhook_id, delivery_id, attempt, at, http_status,
                error, outcome, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            webhook_id,
            delivery_id,
            attempt,
            at,
            status,
            a.error,
            outcome,
            next,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn list_deliveries(&self, webhook_id: &str, limit: u32) -> Result<Vec<DeliveryRecord>> {
        let limit = i64::from(limit);
        let rows = sqlx::query_as!(
            DeliveryRow,
            "SELECT webhook_id, delivery_id, event_id, event_type, payload, state, attempts,
                next_attempt_at, created_at
             FROM webhook_deliveries WHERE webhook_id = $1
             ORDER BY created_at DESC, delivery_id DESC LIMIT $2",
            webhook_id,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let attempts = sqlx::query_as!(
            AttemptRow,
            "SELECT delivery_id, attempt, at, http_status, error, outcome, next_attempt_at
             FROM webhook_attempts WHERE webhook_id = $1 AND delivery_id IN (
                SELECT delivery_id FROM webhook_deliveries WHERE webhook_id = $1
                ORDER BY created_at DESC, delivery_id DESC LIMIT $2)
             ORDER BY delivery_id, attempt",
            webhook_id,
            limit,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut out: Vec<DeliveryRecord> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_>>()?;
        for a in attempts {
            let id = a.delivery_id.clone();
            let record = AttemptRecord::try_from(a)?;
            if let Some(d) = out.iter_mut().find(|d| d.delivery_id == id) {
                d.history.push(record);
            }
        }
        Ok(out)
    }

    async fn purge_finished_deliveries(&self, before: UnixTime, limit: u32) -> Result<u64> {
        let before = t(before);
        let limit = i64::from(limit);
        // A finished delivery's last attempt is when it finished; the cascade takes its
        // attempts. `state <> 'pending'` as written matches `webhook_deliveries_finished`.
        let done = sqlx::query!(
            "DELETE FROM webhook_deliveries WHERE (webhook_id, delivery_id) IN (
                SELECT d.webhook_id, d.delivery_id FROM webhook_deliveries d
                WHERE d.state <> 'pending' AND d.created_at < $1
                  AND NOT EXISTS (SELECT 1 FROM webhook_attempts a
                    WHERE a.webhook_id = d.webhook_id AND a.delivery_id = d.delivery_id
                      AND a.at >= $1)
                ORDER BY d.created_at LIMIT $2
                FOR UPDATE OF d SKIP LOCKED)",
            before,
            limit,
        )
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
