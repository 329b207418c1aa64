//! The transactional outbox (`vdc_store::events`): audit entries and webhook deliveries
//! written inside the transaction of the change they record.

use vdc_store::Result;
use vdc_store::access::tenant_columns;
use vdc_store::events::{EventTenant, Outbox};

use crate::error::db_err;
use crate::{SqliteStore, t};

/// Writes `outbox` inside `tx`: each audit entry, and for each event one delivery per
/// subscription that wants it. Subscriptions are matched by the insert itself (the same
/// rule as `OutboxEvent::matches`), so a webhook deleted meanwhile gets nothing and no
/// separate read of the subscriptions is needed.
pub(crate) async fn write(tx: &mut sqlx::SqliteConnection, outbox: &Outbox) -> Result<()> {
    for e in &outbox.audit {
        let (kind, tenant) = tenant_columns(e.tenant.as_ref());
        sqlx::query!(
            "INSERT INTO audit_entries (tenant_kind, tenant_id, audit_id, at, actor,
                actor_key_id, action, target, outcome)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            kind,
            tenant,
            e.id,
            t(e.at),
            e.actor,
            e.actor_key_id,
            e.action,
            e.target,
            e.outcome,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    for e in &outbox.events {
        let (issuer, verifier) = match &e.tenant {
            EventTenant::Issuer(id) => (Some(id.as_str()), None),
            EventTenant::Verifier(id) => (None, Some(id.as_str())),
        };
        sqlx::query!(
            "INSERT INTO webhook_deliveries (webhook_id, delivery_id, event_id, event_type,
                payload, state, attempts, next_attempt_at, lease_until, created_at)
             SELECT w.webhook_id, $1, $2, $3, $4, 'pending', 0, $5, NULL, $5
             FROM webhooks w
             WHERE EXISTS (SELECT 1 FROM json_each(w.events) WHERE value = $3)
               AND ((w.issuers IS NULL AND w.verifiers IS NULL)
                 OR ($6 IS NOT NULL
                     AND EXISTS (SELECT 1 FROM json_each(w.issuers) WHERE value = $6))
                 OR ($7 IS NOT NULL
                     AND EXISTS (SELECT 1 FROM json_each(w.verifiers) WHERE value = $7)))",
            e.delivery_id,
            e.event_id,
            e.event_type,
            e.payload,
            t(e.created_at),
            issuer,
            verifier,
        )
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

impl SqliteStore {
    /// [`vdc_store::AccessStore::write_outbox`].
    pub(crate) async fn write_own_outbox(&self, outbox: &Outbox) -> Result<()> {
        if outbox.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        write(&mut tx, outbox).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
