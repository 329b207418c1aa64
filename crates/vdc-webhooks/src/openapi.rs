//! The answer schemas of the webhook routes, for the OpenAPI document.

use utoipa::ToSchema;

/// A webhook subscription (never its secret).
#[derive(Debug, ToSchema)]
pub struct WebhookObject {
    /// The webhook id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Only these issuers' events (absent: every issuer's, unless `verifiers` is set).
    pub issuers: Option<Vec<String>>,
    /// Only these verifiers' events.
    pub verifiers: Option<Vec<String>>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// A created webhook: the object and, this once, its signing secret.
#[derive(Debug, ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[schema(inline)]
    #[serde(flatten)]
    pub object: WebhookObject,
    /// `whsec_` + base64 of 32 bytes: the Standard Webhooks HMAC-SHA256 key, shown once.
    pub secret: String,
}

/// Every webhook.
#[derive(Debug, ToSchema)]
pub struct WebhookList {
    /// The webhooks.
    pub items: Vec<WebhookObject>,
}

/// One delivery attempt.
#[derive(Debug, ToSchema)]
pub struct AttemptObject {
    /// 1, 2, ...
    pub attempt: u32,
    /// When (RFC 3339).
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// The error class (`timeout`, `connect`, ...), if it did not.
    pub error: Option<String>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// When the next attempt is due, after a `retry`.
    pub next_attempt_at: Option<String>,
}

/// One event's delivery to a webhook, with every attempt.
#[derive(Debug, ToSchema)]
pub struct DeliveryObject {
    /// The delivery id.
    pub id: String,
    /// The event id (the `webhook-id` header, the same on every attempt).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempt_count: u32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// When the event was enqueued (RFC 3339).
    pub created_at: String,
    /// The attempts, oldest first.
    pub attempts: Vec<AttemptObject>,
}

/// A webhook's newest deliveries.
#[derive(Debug, ToSchema)]
pub struct DeliveryList {
    /// The deliveries, newest first (at most 100).
    pub items: Vec<DeliveryObject>,
}
