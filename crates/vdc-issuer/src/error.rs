//! The issuer's one error type. Variants are the specs' error codes (OID4VCI 1.0 §6.3,
//! §8.3.1.2, §9.3, §11.3; RFC 6749 §5.2; RFC 6750 §3.1) plus the management API's codes.
//! The mapping to HTTP lives in `http::error`.

use vdc_store::StoreError;

/// Why an issuer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IssuerError {
    /// Malformed or missing parameters (token endpoint; management API bad input).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Wrong, expired, used or dead pre-authorized code or wrong tx_code (RFC 6749 §5.2).
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// A grant type this server does not support.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// The access token is missing, unknown, expired or of another issuer (RFC 6750 §3.1).
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// Malformed credential request (OID4VCI 1.0 §8.3.1.2).
    #[error("invalid_credential_request: {0}")]
    InvalidCredentialRequest(String),
    /// The requested credential configuration is unknown.
    #[error("unknown_credential_configuration")]
    UnknownCredentialConfiguration,
    /// The requested credential identifier is unknown.
    #[error("unknown_credential_identifier")]
    UnknownCredentialIdentifier,
    /// The request was valid but is not granted: the offer has yielded every credential it
    /// may (OID4VCI 1.0 §8.3.1.2 `credential_request_denied`).
    #[error("credential_request_denied: {0}")]
    CredentialRequestDenied(String),
    /// A key proof is missing or invalid.
    #[error("invalid_proof: {0}")]
    InvalidProof(String),
    /// A key proof carries an unknown, expired or already used `c_nonce`.
    #[error("invalid_nonce")]
    InvalidNonce,
    /// The deferred `transaction_id` is unknown, expired or used (OID4VCI 1.0 §9.3).
    #[error("invalid_transaction_id")]
    InvalidTransactionId,
    /// The `notification_id` is unknown or used (OID4VCI 1.0 §11.3).
    #[error("invalid_notification_id")]
    InvalidNotificationId,
    /// Malformed notification request.
    #[error("invalid_notification_request: {0}")]
    InvalidNotificationRequest(String),
    /// Management API: the named thing does not exist.
    #[error("not_found: {0}")]
    NotFound(String),
    /// Management API: the change conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store failed (an outage answers 503, anything else 500).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A bug or an internal failure (signing, key decryption); details are logged only.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<vdc_core::Error> for IssuerError {
    /// Core errors reaching the service outside a proof or request check are internal.
    fn from(e: vdc_core::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Result alias for the issuer.
pub type Result<T, E = IssuerError> = std::result::Result<T, E>;
