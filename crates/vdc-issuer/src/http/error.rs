//! The one mapping from [`IssuerError`] to HTTP (STYLE.md §4): variant → status → `error`.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use vdc_http::ErrorResponse;
use vdc_store::StoreErrorKind;

use crate::error::IssuerError;

impl IssuerError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::InvalidRequest(_) => (S::BAD_REQUEST, "invalid_request"),
            Self::InvalidGrant(_) => (S::BAD_REQUEST, "invalid_grant"),
            Self::UnsupportedGrantType => (S::BAD_REQUEST, "unsupported_grant_type"),
            Self::InvalidToken(_) => (S::UNAUTHORIZED, "invalid_token"),
            Self::InvalidCredentialRequest(_) => (S::BAD_REQUEST, "invalid_credential_request"),
            Self::UnknownCredentialConfiguration => {
                (S::BAD_REQUEST, "unknown_credential_configuration")
            }
            Self::UnknownCredentialIdentifier => (S::BAD_REQUEST, "unknown_credential_identifier"),
            Self::CredentialRequestDenied(_) => (S::BAD_REQUEST, "credential_request_denied"),
            Self::InvalidProof(_) => (S::BAD_REQUEST, "invalid_proof"),
            Self::InvalidNonce => (S::BAD_REQUEST, "invalid_nonce"),
            Self::InvalidTransactionId => (S::BAD_REQUEST, "invalid_transaction_id"),
            Self::InvalidNotificationId => (S::BAD_REQUEST, "invalid_notification_id"),
            Self::InvalidNotificationRequest(_) => (S::BAD_REQUEST, "invalid_notification_request"),
            Self::NotFound(_) => (S::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (S::CONFLICT, "conflict"),
            // R2: an outage is a fast 503 the client may retry.
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => {
                (S::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Store(_) | Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(m)
            | Self::InvalidGrant(m)
            | Self::InvalidToken(m)
            | Self::InvalidCredentialRequest(m)
            | Self::InvalidProof(m)
            | Self::CredentialRequestDenied(m)
            | Self::InvalidNotificationRequest(m)
            | Self::NotFound(m)
            | Self::Conflict(m) => m.clone(),
            Self::UnsupportedGrantType => "only the pre-authorized code grant is supported".into(),
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
            Self::InvalidToken(_) => {
                response.with_www_authenticate("Bearer error=\"invalid_token\"")
            }
            _ => response,
        };
        response.into_response()
    }
}
