//! The background loop `vdc serve` (and the testkit) start beside the server. It composes
//! several services, so it lives in the binary: each round it
//! - re-reads whether webhooks exist ([`Webhooks::refresh_subscriptions`], on a tick:
//!   another instance may have created or deleted some),
//! - runs the verifier's presentation expiry sweep ([`Verifier::expire_due`]) when this
//!   instance runs the verifier,
//! - every [`PURGE_INTERVAL_SECS`] of the injected clock, purges expired single-use
//!   artifacts and rows past their retention period ([`Retention`]); a retention backlog
//!   larger than one round continues on the next round,
//! - dispatches due webhook deliveries ([`Webhooks::dispatch_due`]) until a round claims
//!   less than a batch.
//!
//! It wakes on every poll interval ([`vdc_webhooks::WebhookSettings::poll`]) and when a
//! commit enqueued deliveries ([`Webhooks::woken`]).

use std::sync::Arc;
use std::time::Duration;

use vdc_core::time::Clock;
use vdc_verifier::Verifier;
use vdc_webhooks::Webhooks;

use crate::retention::Retention;

/// How often (clock seconds) the background loop purges expired nonces, tokens and
/// notification ids, and rows past their retention period.
pub const PURGE_INTERVAL_SECS: i64 = 300;

/// Starts the background loop: webhook dispatch, the purge of expired single-use
/// artifacts, the retention purge and, given a verifier, the presentation expiry sweep.
/// Stop it with [`Background::stop`].
pub fn start(
    webhooks: Webhooks,
    retention: Retention,
    verifier: Option<Verifier>,
    clock: Arc<dyn Clock>,
) -> Background {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let handle = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(webhooks.settings().poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let batch = webhooks.settings().batch as usize;
        // The first purges run one interval after start (on the injected clock).
        let mut next_purge = clock.now().plus(PURGE_INTERVAL_SECS);
        let mut next_retention = next_purge;
        loop {
            let ticked = tokio::select! {
                _ = stopped.changed() => break,
                _ = ticks.tick() => true,
                () = webhooks.woken() => false,
            };
            if ticked {
                webhooks.refresh_subscriptions().await;
            }
            if let Some(v) = &verifier
                && let Err(e) = v.expire_due(100).await
            {
                tracing::error!(error = %e, "presentation expiry sweep failed");
            }
            let now = clock.now();
            if now >= next_purge {
                next_purge = now.plus(PURGE_INTERVAL_SECS);
                retention.purge_expired(now).await;
            }
            if now >= next_retention {
                // A backlog larger than one round continues on the next tick.
                next_retention = if retention.purge_retained(now).await {
                    now
                } else {
                    now.plus(PURGE_INTERVAL_SECS)
                };
            }
            loop {
                match webhooks.dispatch_due().await {
                    Ok(n) if n >= batch && !*stopped.borrow() => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook dispatch failed");
                        break;
                    }
                }
            }
        }
    });
    Background { stop, handle }
}

/// The running background loop.
#[derive(Debug)]
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Asks the loop to stop after its current round and waits for it (at most a minute,
    /// then it is aborted; an attempt cut short stays leased and is retried after its lease).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut handle = self.handle;
        if tokio::time::timeout(Duration::from_secs(60), &mut handle)
            .await
            .is_err()
        {
            handle.abort();
        }
    }
}
