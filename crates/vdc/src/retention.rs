//! What the store forgets on its own (issue 10): expired single-use artifacts (`c_nonce`s,
//! access tokens, notification ids) and finished rows past their retention period
//! ([`RetentionSettings`]: audit entries, finished webhook deliveries, finished presentation
//! requests), in bounded batches. The background loop ([`crate::background`]) calls
//! [`Retention::purge_expired`] and [`Retention::purge_retained`].

use std::sync::Arc;

use vdc_core::time::UnixTime;
use vdc_store::{Store, StoreError};

/// Seconds in a day (retention periods are configured in days).
const DAY: i64 = 86_400;

/// How long finished rows are kept (`Config::retention_settings`); `None` keeps them forever.
/// Periods are seconds of the injected clock (R4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Audit entries, from when they were recorded.
    pub audit: Option<i64>,
    /// Delivered and failed webhook deliveries with their attempts, from their last attempt.
    /// Pending deliveries are never purged.
    pub deliveries: Option<i64>,
    /// Verified, rejected and expired presentation requests, from when they finished.
    /// Pending requests are never purged.
    pub presentations: Option<i64>,
    /// Rows one purge statement deletes at most: a backlog is many short statements, never
    /// one long transaction.
    pub batch: u32,
    /// Statements per kind in one purge round; a bigger backlog continues on the loop's next
    /// tick, so webhook dispatch never waits long behind a purge.
    pub batches_per_round: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            audit: Some(400 * DAY),
            deliveries: Some(30 * DAY),
            presentations: Some(30 * DAY),
            batch: 1000,
            batches_per_round: 20,
        }
    }
}

impl RetentionSettings {
    /// A period of `days` days; 0 keeps forever.
    pub fn days(days: u32) -> Option<i64> {
        (days > 0).then(|| i64::from(days) * DAY)
    }
}

/// What the retention purge deletes.
#[derive(Debug, Clone, Copy)]
enum Retained {
    AuditEntries,
    WebhookDeliveries,
    PresentationRequests,
}

impl Retained {
    fn as_str(self) -> &'static str {
        match self {
            Self::AuditEntries => "audit entries",
            Self::WebhookDeliveries => "webhook deliveries",
            Self::PresentationRequests => "presentation requests",
        }
    }
}

/// The purges of the background loop, over the whole store: they cross the issuer, verifier,
/// webhook and audit contexts, so the binary composes them.
#[derive(Clone)]
pub struct Retention {
    store: Arc<dyn Store>,
    settings: RetentionSettings,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Retention {
    /// Purges of `store` by `settings`.
    pub fn new(store: Arc<dyn Store>, settings: RetentionSettings) -> Self {
        Self { store, settings }
    }

    /// Deletes every issuer's expired `c_nonce`s, access tokens and notification ids (they
    /// are unusable already; without this the public nonce endpoint grows the table
    /// forever). Several instances may purge at once: deletes of expired rows commute.
    pub async fn purge_expired(&self, now: UnixTime) {
        let issuers = match self.store.list_issuers().await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "purge: cannot list issuers");
                return;
            }
        };
        for issuer in issuers {
            match self.store.purge_expired(&issuer.id, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(issuer = %issuer.id, rows = n, "purged expired nonces and tokens");
                }
                Err(e) => tracing::error!(issuer = %issuer.id, error = %e, "purge failed"),
            }
        }
    }

    /// One retention statement for `kind`: rows older than `before`, at most one batch.
    async fn purge_batch(&self, kind: Retained, before: UnixTime) -> Result<u64, StoreError> {
        let (store, batch) = (&self.store, self.settings.batch);
        match kind {
            Retained::AuditEntries => store.purge_audit_entries(before, batch).await,
            Retained::WebhookDeliveries => store.purge_finished_deliveries(before, batch).await,
            Retained::PresentationRequests => {
                store
                    .purge_finished_presentation_requests(before, batch)
                    .await
            }
        }
    }

    /// Deletes what outlived its retention period (kinds kept forever are skipped): batches
    /// of [`RetentionSettings::batch`] rows, at most [`RetentionSettings::batches_per_round`]
    /// per kind. True if some kind has more left, so the caller purges again on its next
    /// tick. Several instances may purge at once: deletes of old finished rows commute.
    pub async fn purge_retained(&self, now: UnixTime) -> bool {
        let r = &self.settings;
        let mut more = false;
        for (kind, keep) in [
            (Retained::AuditEntries, r.audit),
            (Retained::WebhookDeliveries, r.deliveries),
            (Retained::PresentationRequests, r.presentations),
        ] {
            let Some(keep) = keep else { continue };
            let before = UnixTime(now.secs().saturating_sub(keep));
            let mut purged = 0;
            for round in 1..=r.batches_per_round {
                match self.purge_batch(kind, before).await {
                    Ok(n) => {
                        purged += n;
                        if n < u64::from(r.batch) {
                            break;
                        }
                        more |= round == r.batches_per_round;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, kind = kind.as_str(), "retention purge failed");
                        break;
                    }
                }
            }
            if purged > 0 {
                tracing::info!(
                    kind = kind.as_str(),
                    rows = purged,
                    "purged rows past their retention period"
                );
            }
        }
        more
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A retention backlog larger than one round is cut into rounds (the loop comes back on
    /// its next tick); a kind kept forever is never touched; the cutoff is exact (R4).
    #[tokio::test]
    async fn a_retention_backlog_larger_than_a_round_is_left_for_the_next_round() {
        use vdc_store::{AuditEntry, AuditQuery};
        let dir = std::env::temp_dir().join(format!("vdc-retention-unit-{}", std::process::id()));
        let store = crate::open_store(&format!("sqlite://{}", dir.join("vdc.sqlite").display()))
            .await
            .unwrap();
        let now = UnixTime(1_800_000_000);
        for n in 0..8u64 {
            // Seven entries older than a day, one exactly a day old (kept).
            let at = if n == 7 {
                now.plus(-86_400)
            } else {
                now.plus(-86_401 - i64::try_from(n).unwrap())
            };
            store
                .append_audit(&AuditEntry {
                    id: vdc_store::access::audit_id(at, n),
                    at,
                    actor: "admin".into(),
                    actor_key_id: None,
                    action: "GET /api/v1/issuers".into(),
                    tenant: None,
                    target: None,
                    outcome: "200".into(),
                })
                .await
                .unwrap();
        }
        let left = || async {
            store
                .query_audit(&AuditQuery {
                    limit: 100,
                    ..AuditQuery::default()
                })
                .await
                .unwrap()
                .len()
        };
        let forever = Retention::new(
            store.clone(),
            RetentionSettings {
                audit: None,
                batch: 2,
                ..RetentionSettings::default()
            },
        );
        assert!(!forever.purge_retained(now).await);
        assert_eq!(left().await, 8, "0 days keeps everything");
        let w = Retention::new(
            store.clone(),
            RetentionSettings {
                audit: RetentionSettings::days(1),
                batch: 2,
                batches_per_round: 2,
                ..RetentionSettings::default()
            },
        );
        assert!(
            w.purge_retained(now).await,
            "7 old entries: 4 this round, more left"
        );
        assert_eq!(left().await, 4);
        assert!(!w.purge_retained(now).await, "3 left: done this round");
        assert_eq!(left().await, 1, "the entry exactly a day old stays");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
