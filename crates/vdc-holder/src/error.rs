//! The one error type of vdc-holder.
//!
//! Protocol failures reported by the issuer keep the spec's `error` code as a typed
//! [`ErrorCode`] inside [`OAuthError`], so callers branch on `invalid_grant`,
//! `invalid_proof`, `invalid_nonce`, ... without string matching. Messages never contain
//! access tokens, pre-authorized codes, transaction codes or key material; text that came
//! from the server is bounded and stripped of control characters.

use std::fmt;

/// Everything that can go wrong while acting as a wallet.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Credential Offer (OID4VCI 1.0 §4.1) is not well-formed.
    #[error("invalid credential offer: {0}")]
    InvalidOffer(String),
    /// A URL is not acceptable: not https (and insecure HTTP not allowed), not a URL, or
    /// not a valid Credential Issuer Identifier.
    #[error("URL refused: {0}")]
    InsecureUrl(String),
    /// The HTTP exchange failed: connection, TLS, timeout, redirect.
    #[error("HTTP request to {endpoint} failed: {reason}")]
    Http {
        /// Which step was talking to the server.
        endpoint: Endpoint,
        /// What went wrong (never the URL's query or a token).
        reason: String,
    },
    /// A response body exceeded [`crate::WalletOptions::max_response_bytes`].
    #[error("response from {0} exceeds the size limit")]
    TooLarge(Endpoint),
    /// A server answered with an unexpected HTTP status and no OAuth-style error body.
    #[error("{endpoint} answered HTTP {status}")]
    UnexpectedStatus {
        /// Which step was talking to the server.
        endpoint: Endpoint,
        /// The HTTP status code.
        status: u16,
    },
    /// A server's response is not what the spec requires (bad JSON, missing member).
    #[error("invalid response from {endpoint}: {reason}")]
    InvalidResponse {
        /// Which step was talking to the server.
        endpoint: Endpoint,
        /// What is wrong with it.
        reason: String,
    },
    /// Issuer or authorization server metadata failed a spec check (identifier mismatch,
    /// missing endpoint, unknown configuration).
    #[error("metadata rejected: {0}")]
    Metadata(String),
    /// An OAuth 2.0 / OID4VCI error response (RFC 6749 §5.2, RFC 6750 §3, OID4VCI 1.0
    /// §6.3, §8.3.1, §9.3, §11.3).
    #[error("{0}")]
    OAuth(OAuthError),
    /// The offer asks for a Transaction Code (OID4VCI 1.0 §4.1.1 `tx_code`) and none was
    /// given. Ask the End-User, showing [`crate::TxCode::description`].
    #[error("the credential offer requires a transaction code")]
    TxCodeRequired,
    /// A Transaction Code was given, but the offer does not ask for one (OID4VCI 1.0 §6.1:
    /// `tx_code` is sent only when the offer has a `tx_code` object).
    #[error("a transaction code was given but the offer does not ask for one")]
    TxCodeNotExpected,
    /// Something the offer or metadata asks for that this wallet does not implement
    /// (a grant, format or proof type).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// More credentials were requested in one batch than the issuer allows
    /// (`batch_credential_issuance.batch_size`, OID4VCI 1.0 §12.2.4), or zero.
    #[error("batch of {requested} not allowed; the issuer accepts at most {max}")]
    BatchTooLarge {
        /// The requested batch.
        requested: usize,
        /// The largest batch the issuer accepts (1 without batch support).
        max: usize,
    },
    /// A received credential failed holder-side verification (issuer signature, SD-JWT
    /// rules, type, or its binding to the key the wallet proved).
    #[error("received credential rejected: {0}")]
    InvalidCredential(vdc_core::Error),
    /// A core operation failed (key generation, proof signing).
    #[error(transparent)]
    Core(#[from] vdc_core::Error),
    /// The credential store failed.
    #[error("credential store: {0}")]
    Store(String),
    /// An argument is not usable (for example an empty credential id).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An OpenID4VP authorization request or request object is invalid or untrusted: the
    /// wallet terminates processing (OID4VP 1.0 §5.10.1).
    #[error("invalid presentation request: {0}")]
    InvalidPresentationRequest(String),
    /// No stored credential satisfies the DCQL query.
    #[error("no matching credential: {0}")]
    NoMatchingCredential(String),
    /// The authorization server redirected back with an error instead of a code
    /// (RFC 6749 §4.1.2.1), e.g. `access_denied` when the End-User declined or failed the
    /// login.
    #[error("authorization refused: {}{}", code.as_str(), description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    AuthorizationRefused {
        /// The `error` code.
        code: ErrorCode,
        /// `error_description`, bounded to [`MAX_SERVER_TEXT`] printable characters.
        description: Option<String>,
    },
    /// The redirect back to the wallet is not the answer to this authorization session
    /// (nothing was redeemed).
    #[error("authorization response rejected: {0}")]
    InvalidAuthorizationResponse(AuthorizationResponseProblem),
}

/// Why a redirect back from the authorization server was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizationResponseProblem {
    /// Not a URL, or not at the session's `redirect_uri`.
    NotTheRedirectUri,
    /// `state` missing or not the session's (RFC 6749 §10.12: CSRF).
    StateMismatch,
    /// `iss` is not the authorization server's issuer identifier (RFC 9207 §2.4: a mix-up).
    IssuerMismatch,
    /// `iss` is missing although the authorization server's metadata has
    /// `authorization_response_iss_parameter_supported: true` (RFC 9207 §2.4).
    IssuerMissing,
    /// Neither `code` nor `error` (RFC 6749 §4.1.2).
    CodeMissing,
}

impl fmt::Display for AuthorizationResponseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotTheRedirectUri => "the URL is not at the session's redirect_uri",
            Self::StateMismatch => "state does not match the session (RFC 6749 §10.12)",
            Self::IssuerMismatch => "iss is not the authorization server's issuer (RFC 9207 §2.4)",
            Self::IssuerMissing => {
                "iss is missing but the authorization server promises it (RFC 9207 §2.4)"
            }
            Self::CodeMissing => "neither code nor error is present (RFC 6749 §4.1.2)",
        })
    }
}

/// Result alias for vdc-holder.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A plain `http://` URL was refused because
    /// [`crate::WalletOptions::allow_insecure_http`] is off: a tool can point its user at
    /// the switch that allows it (for local testing).
    pub fn is_plain_http_refused(&self) -> bool {
        matches!(self, Self::InsecureUrl(m) if m.starts_with("scheme http "))
    }

    /// A verifier identified by a certificate (`x509_san_dns`, `x509_hash`) was refused
    /// because [`crate::VerifierTrust`] has neither anchors nor
    /// `accept_unanchored_x509`: a tool can point its user at the setting that supplies one.
    pub fn is_unanchored_verifier(&self) -> bool {
        matches!(self, Self::InvalidPresentationRequest(m) if m == crate::present::NO_TRUST_ANCHOR)
    }

    /// The OAuth / OID4VCI error code, when the server answered with one.
    pub fn oauth_code(&self) -> Option<&ErrorCode> {
        match self {
            Self::OAuth(e) => Some(&e.code),
            _ => None,
        }
    }
}

/// The endpoint (protocol step) an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// Fetching a Credential Offer by reference (OID4VCI 1.0 §4.1.3).
    CredentialOffer,
    /// Credential Issuer Metadata (OID4VCI 1.0 §12.2.2).
    IssuerMetadata,
    /// Authorization Server Metadata (RFC 8414 §3).
    AuthorizationServerMetadata,
    /// Pushed Authorization Request Endpoint (RFC 9126 §2).
    PushedAuthorization,
    /// The Authorization Endpoint's response, redirected to the wallet (RFC 6749 §4.1.2).
    Authorization,
    /// Token Endpoint (OID4VCI 1.0 §6).
    Token,
    /// Nonce Endpoint (OID4VCI 1.0 §7).
    Nonce,
    /// Credential Endpoint (OID4VCI 1.0 §8).
    Credential,
    /// Deferred Credential Endpoint (OID4VCI 1.0 §9).
    DeferredCredential,
    /// Notification Endpoint (OID4VCI 1.0 §11).
    Notification,
    /// JWT VC Issuer Metadata (SD-JWT VC §"JWT VC Issuer Metadata").
    JwtVcIssuerMetadata,
    /// An OpenID4VP Request URI (OID4VP 1.0 §5.10).
    RequestObject,
    /// An OpenID4VP Response URI (OID4VP 1.0 §8.2).
    PresentationResponse,
    /// A status list of a stored credential (draft-ietf-oauth-status-list §8.1, W3C
    /// Bitstring Status List v1.0 §3.2).
    StatusList,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CredentialOffer => "credential offer endpoint",
            Self::IssuerMetadata => "credential issuer metadata",
            Self::AuthorizationServerMetadata => "authorization server metadata",
            Self::PushedAuthorization => "pushed authorization request endpoint",
            Self::Authorization => "authorization endpoint",
            Self::Token => "token endpoint",
            Self::Nonce => "nonce endpoint",
            Self::Credential => "credential endpoint",
            Self::DeferredCredential => "deferred credential endpoint",
            Self::Notification => "notification endpoint",
            Self::JwtVcIssuerMetadata => "JWT VC issuer metadata",
            Self::RequestObject => "request URI",
            Self::PresentationResponse => "response URI",
            Self::StatusList => "status list",
        })
    }
}

/// An error response from the authorization server or credential issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// Where it came from.
    pub endpoint: Endpoint,
    /// The HTTP status.
    pub status: u16,
    /// The `error` code.
    pub code: ErrorCode,
    /// `error_description`, bounded to [`MAX_SERVER_TEXT`] printable characters.
    pub description: Option<String>,
    /// The `WWW-Authenticate` header (RFC 6750 §3) of a 401/403, bounded likewise.
    pub www_authenticate: Option<String>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} answered HTTP {} with error {}",
            self.endpoint,
            self.status,
            self.code.as_str()
        )?;
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Longest server-provided text (error descriptions, header values) kept in an error.
pub const MAX_SERVER_TEXT: usize = 300;

/// Keeps at most [`MAX_SERVER_TEXT`] characters of server text, without control characters.
pub(crate) fn bounded(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_SERVER_TEXT)
        .collect()
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident => $code:literal, )*) => {
        /// The `error` codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 9396 §5,
        /// RFC 9449 and OID4VCI 1.0 §6.3, §8.3.1.2, §9.3 and §11.3; anything else is kept as
        /// [`ErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code not defined by these specifications (bounded text).
            Other(String),
        }

        impl ErrorCode {
            /// Reads an `error` value.
            pub fn parse(code: &str) -> Self {
                match code {
                    $( $code => Self::$variant, )*
                    other => Self::Other(bounded(other)),
                }
            }

            /// The `error` value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $code, )*
                    Self::Other(s) => s,
                }
            }
        }
    };
}

error_codes! {
    /// RFC 6749 §5.2 / RFC 6750 §3.1 `invalid_request` (also: tx_code missing or unexpected).
    InvalidRequest => "invalid_request",
    /// RFC 6749 §5.2 `invalid_client` (anonymous access not supported).
    InvalidClient => "invalid_client",
    /// RFC 6749 §5.2 `invalid_grant`: wrong or expired pre-authorized code, wrong tx_code.
    InvalidGrant => "invalid_grant",
    /// RFC 6749 §5.2 `unauthorized_client`.
    UnauthorizedClient => "unauthorized_client",
    /// RFC 6749 §5.2 `unsupported_grant_type`.
    UnsupportedGrantType => "unsupported_grant_type",
    /// RFC 6749 §5.2 `invalid_scope`.
    InvalidScope => "invalid_scope",
    /// RFC 6750 §3.1 `invalid_token`: the access token is missing, expired or invalid.
    InvalidToken => "invalid_token",
    /// RFC 6750 §3.1 `insufficient_scope`.
    InsufficientScope => "insufficient_scope",
    /// OID4VCI 1.0 §8.3.1.2 `invalid_credential_request`.
    InvalidCredentialRequest => "invalid_credential_request",
    /// OID4VCI 1.0 §8.3.1.2 `unknown_credential_configuration`.
    UnknownCredentialConfiguration => "unknown_credential_configuration",
    /// OID4VCI 1.0 §8.3.1.2 `unknown_credential_identifier`.
    UnknownCredentialIdentifier => "unknown_credential_identifier",
    /// OID4VCI 1.0 §8.3.1.2 `invalid_proof`.
    InvalidProof => "invalid_proof",
    /// OID4VCI 1.0 §8.3.1.2 `invalid_nonce`: fetch a fresh `c_nonce` and retry.
    InvalidNonce => "invalid_nonce",
    /// OID4VCI 1.0 §8.3.1.2 `invalid_encryption_parameters`.
    InvalidEncryptionParameters => "invalid_encryption_parameters",
    /// OID4VCI 1.0 §8.3.1.2 `credential_request_denied` (unrecoverable).
    CredentialRequestDenied => "credential_request_denied",
    /// OID4VCI 1.0 §9.3 `invalid_transaction_id`.
    InvalidTransactionId => "invalid_transaction_id",
    /// `issuance_pending` of pre-1.0 drafts (1.0 answers 202 instead); treated as pending.
    IssuancePending => "issuance_pending",
    /// OID4VCI 1.0 §11.3 `invalid_notification_id`.
    InvalidNotificationId => "invalid_notification_id",
    /// OID4VCI 1.0 §11.3 `invalid_notification_request`.
    InvalidNotificationRequest => "invalid_notification_request",
    /// RFC 6749 §4.1.2.1 `access_denied`: the End-User or the server denied the request.
    AccessDenied => "access_denied",
    /// RFC 6749 §4.1.2.1 `unsupported_response_type`.
    UnsupportedResponseType => "unsupported_response_type",
    /// RFC 6749 §4.1.2.1 `server_error`.
    ServerError => "server_error",
    /// RFC 6749 §4.1.2.1 `temporarily_unavailable`.
    TemporarilyUnavailable => "temporarily_unavailable",
    /// RFC 9396 §5 `invalid_authorization_details`.
    InvalidAuthorizationDetails => "invalid_authorization_details",
    /// RFC 9449 §5, §7.1 `invalid_dpop_proof`.
    InvalidDpopProof => "invalid_dpop_proof",
    /// RFC 9449 §8, §9 `use_dpop_nonce`: retry with the `DPoP-Nonce` given.
    UseDpopNonce => "use_dpop_nonce",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip_and_unknown_codes_are_bounded() {
        for code in [
            "invalid_grant",
            "invalid_proof",
            "invalid_nonce",
            "invalid_token",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(ErrorCode::parse("invalid_grant"), ErrorCode::InvalidGrant);
        let long = format!("x\n{}", "y".repeat(1000));
        match ErrorCode::parse(&long) {
            ErrorCode::Other(s) => {
                assert_eq!(s.chars().count(), MAX_SERVER_TEXT);
                assert!(!s.contains('\n'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
