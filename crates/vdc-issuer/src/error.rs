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
    /// A token type the revocation endpoint does not revoke (RFC 7009 §2.2.1).
    #[error("unsupported_token_type: {0}")]
    UnsupportedTokenType(String),
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
    /// The request's encryption is missing where required, or its parameters are invalid:
    /// an unknown `kid`, an `enc` or `zip` not offered, an unusable wallet key, a plain
    /// request carrying `credential_response_encryption` (OID4VCI 1.0 §8.3.1.2, §10).
    #[error("invalid_encryption_parameters: {0}")]
    InvalidEncryptionParameters(String),
    /// The deferred `transaction_id` is unknown, expired or used (OID4VCI 1.0 §9.3).
    #[error("invalid_transaction_id")]
    InvalidTransactionId,
    /// The `notification_id` is unknown or used (OID4VCI 1.0 §11.3).
    #[error("invalid_notification_id")]
    InvalidNotificationId,
    /// Malformed notification request.
    #[error("invalid_notification_request: {0}")]
    InvalidNotificationRequest(String),
    /// The authorization request has a `response_type` other than `code` (RFC 6749 §4.1.2.1).
    #[error("unsupported_response_type")]
    UnsupportedResponseType,
    /// A request object (RFC 9101) was sent; not supported (`request_not_supported`).
    #[error("request_not_supported")]
    RequestNotSupported,
    /// An unknown scope (RFC 6749 §4.1.2.1).
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// The redirect URI is not allowed for the client. Never redirected to (RFC 6749
    /// §4.1.2.1); answered as `invalid_request`.
    #[error("invalid_request (redirect_uri): {0}")]
    InvalidRedirectUri(String),
    /// Unknown client (RFC 6749 §5.2).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// Bad `authorization_details` (RFC 9396 §5).
    #[error("invalid_authorization_details: {0}")]
    InvalidAuthorizationDetails(String),
    /// The user or the enterprise refused, or the login failed (RFC 6749 §4.1.2.1).
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// The identity provider or claims endpoint is down or too slow (RFC 6749 §4.1.2.1).
    #[error("temporarily_unavailable: {0}")]
    TemporarilyUnavailable(String),
    /// A DPoP proof is missing where required, malformed, replayed or of the wrong key
    /// (RFC 9449 §5, §7.1).
    #[error("invalid_dpop_proof: {message}")]
    InvalidDpopProof {
        /// At the token endpoint (400) or a resource endpoint (401).
        site: DpopSite,
        /// Why.
        message: String,
    },
    /// The DPoP proof lacks the server nonce or has a stale one (RFC 9449 §8, §9): retry
    /// with `nonce`.
    #[error("use_dpop_nonce")]
    UseDpopNonce {
        /// At the token endpoint (400) or a resource endpoint (401).
        site: DpopSite,
        /// The nonce to use (sent as the `DPoP-Nonce` header).
        nonce: String,
    },
    /// The client attestation PoP lacks the server challenge the issuer requires, or its
    /// challenge is unknown, expired or used (draft-ietf-oauth-attestation-based-client-auth
    /// §"Errors"): retry with `challenge`.
    #[error("use_attestation_challenge: {message}")]
    UseAttestationChallenge {
        /// The challenge to use (sent as the `OAuth-Client-Attestation-Challenge` header).
        challenge: String,
        /// Why.
        message: String,
    },
    /// The client attestation has expired (draft-ietf-oauth-attestation-based-client-auth
    /// §"Errors": not fresh enough).
    #[error("use_fresh_attestation: {0}")]
    UseFreshAttestation(String),
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

/// Where a DPoP proof was checked: the authorization server's token endpoint answers 400,
/// a resource (credential, nonce, deferred, notification) endpoint 401 with a `DPoP`
/// challenge (RFC 9449 §7.1, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopSite {
    /// The token or pushed authorization request endpoint.
    AuthorizationServer,
    /// A protected resource.
    Resource,
}

impl From<vdc_core::Error> for IssuerError {
    /// Core errors reaching the service outside a proof or request check are internal.
    fn from(e: vdc_core::Error) -> Self {
        match e {
            // An HSM that does not answer: 503, the wallet retries (R2).
            vdc_core::Error::KeyUnavailable(m) => Self::TemporarilyUnavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Result alias for the issuer.
pub type Result<T, E = IssuerError> = std::result::Result<T, E>;
