//! [`WebhookError`], the one error of the webhook service; its HTTP mapping is in
//! [`crate::http`].

use vdc_store::StoreError;

/// Why a webhook operation failed (contract "Webhooks and audit").
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A bad URL, event type or tenant filter in a subscription: `400 invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// No webhook of that id: `404 not_found`.
    #[error("unknown webhook")]
    NotFound,
    /// The store failed: 503 when it did not answer, 500 otherwise.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// No randomness, a secret that does not seal, or no HTTP client: 500.
    #[error("{0}")]
    Internal(String),
}
