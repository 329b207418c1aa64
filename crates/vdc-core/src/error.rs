//! The one error type of vdc-core.
//!
//! Variants name what went wrong for the caller (a verifier maps them to a per-check reason,
//! an issuer to `invalid_proof`); the payload is a human description that never contains key
//! material, disclosures or other secrets.

/// Everything that can go wrong in the credential core.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// Input is not well-formed: bad base64url, bad JSON, wrong structure, or a missing
    /// required member.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// Input is larger or more deeply nested than the configured bound.
    #[error("input exceeds limit: {0}")]
    TooLarge(String),
    /// The algorithm is `none`, a MAC, unknown, or outside the caller's allow-list.
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    /// The header `alg` does not match the algorithm the verification key is for.
    #[error("algorithm does not match key: header says {header}, key is for {key}")]
    AlgorithmKeyMismatch {
        /// The `alg` in the JOSE header.
        header: String,
        /// The algorithm of the key.
        key: String,
    },
    /// A key is not usable: unknown `kty`/`crv`, point not on the curve, private part where
    /// only a public key is allowed, or wrong length.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The signature does not verify with the given key.
    #[error("signature verification failed")]
    InvalidSignature,
    /// The JOSE header `typ` is not what the specification fixes for this object.
    #[error("unexpected typ: expected {expected}, found {found}")]
    UnexpectedType {
        /// The media type the spec requires.
        expected: String,
        /// The `typ` that was present (or `(none)`).
        found: String,
    },
    /// The JOSE header lists a `crit` extension we do not understand (RFC 7515 §4.1.11).
    #[error("unsupported critical header parameter: {0}")]
    UnsupportedCritical(String),
    /// A time-based check failed: expired, not yet valid, or `iat` outside the window.
    #[error("time check failed: {0}")]
    Time(String),
    /// A claim is missing or has the wrong value (`aud`, `nonce`, `iss`, `vct`, ...).
    #[error("claim check failed: {0}")]
    Claim(String),
    /// An SD-JWT processing rule of RFC 9901 §7 was broken (unreferenced or duplicate
    /// disclosure, duplicate digest, reserved claim name, ...).
    #[error("SD-JWT rule violated: {0}")]
    SdJwt(String),
    /// An mdoc rule of ISO 18013-5 was broken (digest missing, duplicated or mismatched,
    /// wrong docType, device authentication over another transcript, ...).
    #[error("mdoc rule violated: {0}")]
    Mdoc(String),
    /// The Key Binding JWT is missing or fails one of RFC 9901 §7.3's checks.
    #[error("key binding failed: {0}")]
    KeyBinding(String),
    /// No trusted key could be found for the issuer under the verifier's policy.
    #[error("untrusted issuer key: {0}")]
    UntrustedKey(String),
    /// An X.509 certificate or chain is invalid or does not end at a trust anchor.
    #[error("certificate validation failed: {0}")]
    Certificate(String),
    /// A DID could not be resolved (unsupported method, bad encoding, fetch failed).
    #[error("DID resolution failed: {0}")]
    DidResolution(String),
    /// An outbound fetch was refused (non-HTTPS, private address, redirect) or failed.
    #[error("fetch failed: {0}")]
    Fetch(String),
    /// A JWE could not be decrypted (wrong key, tampered ciphertext or tag).
    #[error("decryption failed")]
    Decryption,
    /// A W3C VC Data Model 2.0 rule was broken (`@context`, `type`, validity members).
    #[error("VC data model rule violated: {0}")]
    VcDataModel(String),
    /// The crypto backend failed in a way input cannot cause (RNG failure, key rejected
    /// by the backend after validation).
    #[error("crypto backend failure: {0}")]
    Crypto(String),
    /// A signing key's device (an HSM) does not answer: callers answer
    /// `temporarily_unavailable`, a retry may succeed.
    #[error("signing key unavailable: {0}")]
    KeyUnavailable(String),
}

/// A `Copy` summary of [`Error`] for callers that branch on the kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Malformed or oversized input.
    Malformed,
    /// Algorithm, key or signature problems.
    Signature,
    /// Time-based checks.
    Time,
    /// Claim value checks.
    Claim,
    /// SD-JWT processing rules.
    SdJwt,
    /// Key binding checks.
    KeyBinding,
    /// mdoc (ISO 18013-5) rules.
    Mdoc,
    /// Trust decisions: untrusted keys, certificates, DID resolution, fetches.
    Trust,
    /// Decryption failures.
    Decryption,
    /// Internal backend failures.
    Internal,
}

impl Error {
    /// The kind of failure, for callers that map errors to protocol error codes.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed(_) | Self::TooLarge(_) | Self::VcDataModel(_) => ErrorKind::Malformed,
            Self::AlgorithmNotAllowed(_)
            | Self::AlgorithmKeyMismatch { .. }
            | Self::InvalidKey(_)
            | Self::InvalidSignature
            | Self::UnexpectedType { .. }
            | Self::UnsupportedCritical(_) => ErrorKind::Signature,
            Self::Time(_) => ErrorKind::Time,
            Self::Claim(_) => ErrorKind::Claim,
            Self::SdJwt(_) => ErrorKind::SdJwt,
            Self::Mdoc(_) => ErrorKind::Mdoc,
            Self::KeyBinding(_) => ErrorKind::KeyBinding,
            Self::UntrustedKey(_)
            | Self::Certificate(_)
            | Self::DidResolution(_)
            | Self::Fetch(_) => ErrorKind::Trust,
            Self::Decryption => ErrorKind::Decryption,
            Self::Crypto(_) | Self::KeyUnavailable(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Self::Malformed(msg.into())
    }
}

/// Result alias for vdc-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
