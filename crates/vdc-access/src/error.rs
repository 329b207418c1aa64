//! [`AccessError`], the one error of management access; its HTTP mapping is
//! [`crate::http::error`].

use vdc_store::StoreError;

/// Why a management call was refused or failed (contract: "Auth", "API keys and tenants").
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No bearer key, or a wrong, unknown, revoked or malformed one: `401 unauthorized`.
    #[error("a valid API key is required")]
    Unauthorized,
    /// A scoped key used on another tenant, without the scope the call needs, or for an
    /// admin-only action: `403 forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// A malformed API key body or audit query: `400 invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// An unknown API key, or a tenant a new key names that does not exist: `404 not_found`.
    #[error("{0}")]
    NotFound(String),
    /// The store failed: 503 when it did not answer (R2), 500 otherwise.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// No randomness for a new key's id or secret: 500.
    #[error("{0}")]
    Internal(String),
}

impl AccessError {
    /// 403 for a key lacking `scope`.
    pub(crate) fn lacks_scope(scope: crate::Scope) -> Self {
        Self::Forbidden(format!("this API key lacks the {} scope", scope.as_str()))
    }
}
