//! The verifier's one error type (STYLE.md §4). Variants are the codes the wallet-facing
//! endpoints and the management API answer with; the mapping to HTTP lives in `http`.

use vdc_store::StoreError;

/// Why a response was refused: the per-check reason recorded on the rejected request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The `vp_token` or a presentation is malformed, or a disclosure does not hash into
    /// the issuer-signed payload exactly once, or the issuer signature does not verify; for
    /// an mdoc also a data element whose digest is not the MSO's.
    Signature,
    /// The KB-JWT is missing, not signed by the `cnf` key, stale, or its `sd_hash` is wrong;
    /// for an mdoc, the device signature does not verify over this request's session
    /// transcript (another nonce, client_id, response_uri or encryption key).
    KeyBinding,
    /// The KB-JWT (or VP) carries another transaction's `nonce`.
    Nonce,
    /// The KB-JWT (or VP) `aud` is not this verifier's full `client_id`.
    Audience,
    /// The credential is revoked or suspended, or its status cannot be established.
    Status,
    /// The credential is expired or not yet valid.
    Expired,
    /// The issuer is not trusted by this verifier, or no allowed mechanism found its key.
    UntrustedIssuer,
    /// The presentations do not satisfy the DCQL query.
    DcqlUnsatisfied,
    /// The wallet answered with an error response (e.g. `access_denied`).
    WalletError,
    /// The encrypted response does not decrypt with this request's key.
    Decryption,
    /// A Digital Credentials API answer from an origin the request does not expect
    /// (OID4VP 1.0 Appendix A.2 `expected_origins`), or not a web origin.
    Origin,
    /// The KB-JWT's `transaction_data_hashes` are missing, wrong, or over other transaction
    /// data (OID4VP 1.0 Appendix B.3.3), or an entry is authorized by no presentation.
    TransactionData,
}

impl RejectReason {
    /// The checks one presentation goes through, in the order the verifier runs them (the
    /// reasons a presentation can fail; not [`Self::WalletError`] or [`Self::Decryption`],
    /// which concern the response as a whole).
    pub const CHECKS: [Self; 8] = [
        Self::Signature,
        Self::UntrustedIssuer,
        Self::Expired,
        Self::KeyBinding,
        Self::Nonce,
        Self::Audience,
        Self::DcqlUnsatisfied,
        Self::Status,
    ];

    /// Every reason.
    pub const ALL: [Self; 12] = [
        Self::Signature,
        Self::UntrustedIssuer,
        Self::Expired,
        Self::KeyBinding,
        Self::Nonce,
        Self::Audience,
        Self::DcqlUnsatisfied,
        Self::Status,
        Self::WalletError,
        Self::Decryption,
        Self::Origin,
        Self::TransactionData,
    ];

    /// The reason named `name` ([`Self::as_str`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The reason's name, as it appears in `error_description` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signature => "signature",
            Self::KeyBinding => "key_binding",
            Self::Nonce => "nonce",
            Self::Audience => "audience",
            Self::Status => "status",
            Self::Expired => "expired",
            Self::UntrustedIssuer => "untrusted_issuer",
            Self::DcqlUnsatisfied => "dcql_unsatisfied",
            Self::WalletError => "wallet_error",
            Self::Decryption => "decryption",
            Self::Origin => "origin",
            Self::TransactionData => "transaction_data",
        }
    }
}

/// Why a verifier operation failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifierError {
    /// Bad input: management API body, request URI POST, or a response naming no known
    /// request (OAuth `invalid_request`).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// A response was checked and refused; the request is now `rejected`.
    #[error("invalid_request: {}: {description}", reason.as_str())]
    Rejected {
        /// Which check failed.
        reason: RejectReason,
        /// What failed, for the wallet and the result (no secrets, bounded).
        description: String,
    },
    /// The request is no longer pending (verified, rejected or expired).
    #[error("invalid_request: the request is no longer pending")]
    NotPending,
    /// Management API: the named thing does not exist.
    #[error("not_found: {0}")]
    NotFound(String),
    /// Management API: the id is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store failed (an outage answers 503, anything else 500).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Anything else on our side (key handling, signing); never shown to clients.
    #[error("internal: {0}")]
    Internal(String),
}

impl VerifierError {
    /// A rejection for `reason`.
    pub fn rejected(reason: RejectReason, description: impl Into<String>) -> Self {
        Self::Rejected {
            reason,
            description: description.into(),
        }
    }
}

/// The verifier's result type.
pub type Result<T, E = VerifierError> = std::result::Result<T, E>;

impl From<vdc_core::Error> for VerifierError {
    fn from(e: vdc_core::Error) -> Self {
        Self::Internal(e.to_string())
    }
}
