//! The single HTTP mapping of [`AccessError`]: variant → status → `error` code.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use vdc_http::ErrorResponse;
use vdc_store::StoreErrorKind;

use crate::AccessError;

impl AccessError {
    /// The status and `error` code of this error.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::InvalidRequest(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Store(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
        }
    }

    /// The contract's error body: a description for 4xx, the detail for the log on 5xx.
    pub fn response(&self) -> ErrorResponse {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            return ErrorResponse::server(status, code, self.to_string());
        }
        let response = ErrorResponse::client(status, code, self.to_string());
        match self {
            Self::Unauthorized => response.with_www_authenticate("Bearer"),
            _ => response,
        }
    }
}

impl IntoResponse for AccessError {
    fn into_response(self) -> Response {
        self.response().into_response()
    }
}
