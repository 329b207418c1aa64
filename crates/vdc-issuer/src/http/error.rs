//! The one mapping from [`IssuerError`] to HTTP (STYLE.md §4): variant → status → `error`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use vdc_http::ErrorResponse;
use vdc_store::StoreErrorKind;

use crate::error::{DpopSite, IssuerError};

fn dpop_status(site: DpopSite) -> StatusCode {
    match site {
        DpopSite::AuthorizationServer => StatusCode::BAD_REQUEST,
        DpopSite::Resource => StatusCode::UNAUTHORIZED,
    }
}

impl IssuerError {
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::InvalidRequest(_) => (S::BAD_REQUEST, "invalid_request"),
            Self::InvalidGrant(_) => (S::BAD_REQUEST, "invalid_grant"),
            Self::UnsupportedGrantType => (S::BAD_REQUEST, "unsupported_grant_type"),
            Self::UnsupportedTokenType(_) => (S::BAD_REQUEST, "unsupported_token_type"),
            Self::InvalidToken(_) => (S::UNAUTHORIZED, "invalid_token"),
            Self::InvalidCredentialRequest(_) => (S::BAD_REQUEST, "invalid_credential_request"),
            Self::UnknownCredentialConfiguration => {
                (S::BAD_REQUEST, "unknown_credential_configuration")
            }
            Self::UnknownCredentialIdentifier => (S::BAD_REQUEST, "unknown_credential_identifier"),
            Self::CredentialRequestDenied(_) => (S::BAD_REQUEST, "credential_request_denied"),
            Self::InvalidProof(_) => (S::BAD_REQUEST, "invalid_proof"),
            Self::InvalidNonce => (S::BAD_REQUEST, "invalid_nonce"),
            Self::InvalidEncryptionParameters(_) => {
                (S::BAD_REQUEST, "invalid_encryption_parameters")
            }
            Self::InvalidTransactionId => (S::BAD_REQUEST, "invalid_transaction_id"),
            Self::InvalidNotificationId => (S::BAD_REQUEST, "invalid_notification_id"),
            Self::InvalidNotificationRequest(_) => (S::BAD_REQUEST, "invalid_notification_request"),
            Self::UnsupportedResponseType => (S::BAD_REQUEST, "unsupported_response_type"),
            Self::RequestNotSupported => (S::BAD_REQUEST, "request_not_supported"),
            Self::InvalidScope(_) => (S::BAD_REQUEST, "invalid_scope"),
            Self::InvalidRedirectUri(_) => (S::BAD_REQUEST, "invalid_request"),
            Self::InvalidClient(_) => (S::UNAUTHORIZED, "invalid_client"),
            Self::InvalidAuthorizationDetails(_) => {
                (S::BAD_REQUEST, "invalid_authorization_details")
            }
            Self::AccessDenied(_) => (S::FORBIDDEN, "access_denied"),
            Self::TemporarilyUnavailable(_) => (S::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
            Self::InvalidDpopProof { site, .. } => (dpop_status(*site), "invalid_dpop_proof"),
            Self::UseDpopNonce { site, .. } => (dpop_status(*site), "use_dpop_nonce"),
            // Spec: RFC 6749 §5.2: token errors are 400 but invalid_client (401).
            Self::UseAttestationChallenge { .. } => (S::BAD_REQUEST, "use_attestation_challenge"),
            Self::UseFreshAttestation(_) => (S::BAD_REQUEST, "use_fresh_attestation"),
            Self::NotFound(_) => (S::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (S::CONFLICT, "conflict"),
            // R2: an outage is a fast 503 the client may retry.
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => {
                (S::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Store(_) | Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    pub(crate) fn description(&self) -> String {
        match self {
            Self::InvalidRequest(m)
            | Self::InvalidGrant(m)
            | Self::UnsupportedTokenType(m)
            | Self::InvalidToken(m)
            | Self::InvalidCredentialRequest(m)
            | Self::InvalidProof(m)
            | Self::InvalidEncryptionParameters(m)
            | Self::CredentialRequestDenied(m)
            | Self::InvalidNotificationRequest(m)
            | Self::NotFound(m)
            | Self::Conflict(m)
            | Self::InvalidScope(m)
            | Self::InvalidRedirectUri(m)
            | Self::InvalidClient(m)
            | Self::InvalidAuthorizationDetails(m)
            | Self::AccessDenied(m)
            | Self::TemporarilyUnavailable(m)
            | Self::UseFreshAttestation(m) => m.clone(),
            Self::UseAttestationChallenge { message, .. } => message.clone(),
            Self::InvalidDpopProof { message, .. } => message.clone(),
            Self::UseDpopNonce { .. } => "use the DPoP-Nonce this response carries in the DPoP proof".into(),
            Self::UnsupportedResponseType => "response_type must be code".into(),
            Self::RequestNotSupported => "request objects are not supported; push the request (RFC 9126)".into(),
            Self::UnsupportedGrantType => "the grant types are urn:ietf:params:oauth:grant-type:pre-authorized_code, authorization_code (with an identity provider) and refresh_token".into(),
            Self::UnknownCredentialConfiguration => "the credential configuration is unknown or not covered by the access token".into(),
            Self::UnknownCredentialIdentifier => "the credential identifier is unknown".into(),
            Self::InvalidNonce => "the proof's c_nonce is unknown, expired or used; fetch a fresh one from the nonce endpoint".into(),
            Self::InvalidTransactionId => "the transaction_id is unknown, expired or used".into(),
            Self::InvalidNotificationId => "the notification_id is unknown or used".into(),
            Self::Store(_) | Self::Internal(_) => String::new(),
        }
    }
}

impl IntoResponse for IssuerError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let response = if status.is_server_error() {
            ErrorResponse::server(status, code, self.to_string())
        } else {
            ErrorResponse::client(status, code, self.description())
        };
        let response = match &self {
            // Spec: RFC 6750 §3: a bad token gets a Bearer challenge naming the error.
            // RFC 9449 §7.2: both schemes are offered, each with its own challenge.
            Self::InvalidToken(_) => response.with_www_authenticate(
                "Bearer error=\"invalid_token\", DPoP error=\"invalid_token\", algs=\"ES256 EdDSA\"",
            ),
            // Spec: RFC 9449 §7.1, §9: a resource answers DPoP errors with a DPoP challenge.
            Self::InvalidDpopProof {
                site: DpopSite::Resource,
                ..
            } => response.with_www_authenticate(
                "DPoP error=\"invalid_dpop_proof\", algs=\"ES256 EdDSA\"",
            ),
            Self::UseDpopNonce {
                site: DpopSite::Resource,
                ..
            } => response.with_www_authenticate(
                "DPoP error=\"use_dpop_nonce\", algs=\"ES256 EdDSA\"",
            ),
            _ => response,
        };
        let mut response = response.into_response();
        // Spec: RFC 9449 §8.1, §9.1: the nonce to use next travels in `DPoP-Nonce`.
        if let Self::UseDpopNonce { nonce, .. } = &self
            && let Ok(v) = http::HeaderValue::from_str(nonce)
        {
            response.headers_mut().insert("dpop-nonce", v);
        }
        // Spec: draft-ietf-oauth-attestation-based-client-auth §"Errors":
        // use_attestation_challenge MUST come with the OAuth-Client-Attestation-Challenge
        // header.
        if let Self::UseAttestationChallenge { challenge, .. } = &self
            && let Ok(v) = http::HeaderValue::from_str(challenge)
        {
            response
                .headers_mut()
                .insert("oauth-client-attestation-challenge", v);
        }
        response
    }
}
