//! Webhooks: subscriptions and their durable delivery outbox, behind [`WebhookStore`].
//!
//! Model (migration `0005_webhooks`):
//! - `webhooks`: one row per subscription: target URL, subscribed event types, optional
//!   issuer and verifier filters, and the signing secret as ciphertext produced by the caller
//!   (it must be usable to sign later, so it cannot be hashed). Instance-wide rows (created
//!   with the admin key), like `settings`.
//! - `webhook_deliveries`: one row per (event, matching webhook): the exact JSON body to
//!   send, its state (`pending` → `delivered` | `failed`), the number of attempts made, when
//!   the next attempt is due and the lease of the dispatcher working on it.
//! - `webhook_attempts`: one row per attempt (HTTP status or error class, outcome, next
//!   retry), keyed by attempt number so one attempt is recorded once.
//!
//! Invariants: deliveries of one event are inserted in one transaction
//! ([`WebhookStore::enqueue_deliveries`]); a due delivery is claimed by one dispatcher at a
//! time through a conditional `UPDATE` that sets a lease ([`WebhookStore::claim_due_deliveries`]),
//! so several instances never send one attempt twice; deleting a webhook deletes its
//! deliveries, so nothing of it is sent afterwards; finished deliveries are purged after the
//! retention period by [`WebhookStore::purge_finished_deliveries`], pending ones never; time
//! is a parameter (R4).

use async_trait::async_trait;
use vdc_core::time::UnixTime;

use crate::Result;

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRecord {
    /// The webhook id (public).
    pub id: String,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The subscribed event type names.
    pub events: Vec<String>,
    /// Only these issuers' events, if set.
    pub issuers: Option<Vec<String>>,
    /// Only these verifiers' events, if set.
    pub verifiers: Option<Vec<String>>,
    /// The signing secret, encrypted by the caller.
    pub encrypted_secret: Vec<u8>,
    /// When it was created.
    pub created_at: UnixTime,
}

/// A delivery to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// The webhook it goes to.
    pub webhook_id: String,
    /// The delivery id: the Standard Webhooks message id (`webhook-id`), the same on every
    /// retry.
    pub delivery_id: String,
    /// The event id (the body's `id`).
    pub event_id: String,
    /// The event type name.
    pub event_type: String,
    /// The exact body to send (JSON text).
    pub payload: String,
    /// When it was enqueued (and first due).
    pub created_at: UnixTime,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx was received.
    Delivered,
    /// Every attempt failed.
    Failed,
}

impl DeliveryState {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name; [`crate::StoreError::Corrupt`] otherwise.
    pub fn from_stored(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "failed" => Ok(Self::Failed),
            other => Err(crate::StoreError::Corrupt(format!(
                "unknown delivery state {other:?}"
            ))),
        }
    }
}

/// What one attempt led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Delivered (2xx).
    Delivered,
    /// Failed; another attempt is scheduled.
    Retry,
    /// Failed; no attempt is left.
    Failed,
}

impl AttemptOutcome {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name; [`crate::StoreError::Corrupt`] otherwise.
    pub fn from_stored(s: &str) -> Result<Self> {
        match s {
            "delivered" => Ok(Self::Delivered),
            "retry" => Ok(Self::Retry),
            "failed" => Ok(Self::Failed),
            other => Err(crate::StoreError::Corrupt(format!(
                "unknown attempt outcome {other:?}"
            ))),
        }
    }

    /// The delivery state after an attempt with this outcome.
    pub fn state(self) -> DeliveryState {
        match self {
            Self::Delivered => DeliveryState::Delivered,
            Self::Retry => DeliveryState::Pending,
            Self::Failed => DeliveryState::Failed,
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The attempt number (1 for the first).
    pub attempt: u32,
    /// When it was made.
    pub at: UnixTime,
    /// The HTTP status received, if any.
    pub http_status: Option<u16>,
    /// The error class (`timeout`, `connect`, `http_status`, ...), if it failed.
    pub error: Option<String>,
    /// What it led to.
    pub outcome: AttemptOutcome,
    /// When the next attempt is due (for [`AttemptOutcome::Retry`]).
    pub next_attempt_at: Option<UnixTime>,
}

/// A delivery with its attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    /// The webhook.
    pub webhook_id: String,
    /// The delivery (message) id.
    pub delivery_id: String,
    /// The event id.
    pub event_id: String,
    /// The event type name.
    pub event_type: String,
    /// The body sent.
    pub payload: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<UnixTime>,
    /// When it was enqueued.
    pub created_at: UnixTime,
    /// Every attempt, in order (filled by [`WebhookStore::list_deliveries`]).
    pub history: Vec<AttemptRecord>,
}

/// Webhook subscriptions and the delivery outbox. Object-safe.
#[async_trait]
pub trait WebhookStore: Send + Sync + std::fmt::Debug {
    /// Creates a webhook; [`crate::StoreError::Duplicate`] if the id exists.
    async fn create_webhook(&self, webhook: &WebhookRecord) -> Result<()>;
    /// The webhook with this id.
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>>;
    /// Every webhook, oldest first.
    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>>;
    /// Deletes a webhook with its deliveries and attempts; false if unknown.
    async fn delete_webhook(&self, id: &str) -> Result<bool>;
    /// Inserts every delivery in one transaction, each due at its `created_at`. A delivery
    /// whose webhook no longer exists is skipped; returns how many were inserted.
    async fn enqueue_deliveries(&self, deliveries: &[NewDelivery]) -> Result<u64>;
    /// Claims up to `limit` pending deliveries due at `now` whose lease (if any) expired,
    /// setting their lease to `lease_until` in one conditional statement: of several
    /// concurrent claimers, each delivery goes to one.
    async fn claim_due_deliveries(
        &self,
        now: UnixTime,
        lease_until: UnixTime,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
    /// Records attempt `attempt.attempt` of a delivery and moves the delivery to the state
    /// its outcome implies, releasing the lease, in one transaction. False (nothing written)
    /// if the delivery is gone or this attempt number is not the next one.
    async fn record_attempt(
        &self,
        webhook_id: &str,
        delivery_id: &str,
        attempt: &AttemptRecord,
    ) -> Result<bool>;
    /// A webhook's deliveries, newest first, at most `limit`, with their attempts.
    async fn list_deliveries(&self, webhook_id: &str, limit: u32) -> Result<Vec<DeliveryRecord>>;
    /// The delivery retention purge: deletes up to `limit` of the oldest finished
    /// (`delivered` or `failed`) deliveries that finished before `before` (enqueued and
    /// every attempt made before it; one finished at `before` stays), with their attempts,
    /// in one statement, and returns how many deliveries went. A `pending` delivery is never
    /// purged, however old. Callers repeat while it returns `limit`.
    async fn purge_finished_deliveries(&self, before: UnixTime, limit: u32) -> Result<u64>;
}
