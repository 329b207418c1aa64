//! The OAuth-style error response (RFC 6749 §5.2 shape, used by every vdc endpoint).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

/// A client-facing error: HTTP status, `error` code, human `error_description`.
///
/// 5xx responses say nothing specific; the cause goes into [`ErrorDetail`] for the log.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The spec's error code (`invalid_request`, `invalid_grant`, ...).
    pub error: &'static str,
    /// Helpful text for 4xx; generic text for 5xx.
    pub description: String,
    /// A `WWW-Authenticate` value (RFC 6750 §3) for 401 answers.
    pub www_authenticate: Option<String>,
    /// Server-side detail for the log (never sent).
    pub detail: Option<String>,
}

/// Server-side detail of an error response, logged once by [`crate::layers`] and never
/// sent to the client.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl ErrorResponse {
    /// A 4xx error with a description for the client.
    pub fn client(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            www_authenticate: None,
            detail: None,
        }
    }

    /// `400 invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// `404 not_found` (management API).
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// A 5xx error: the client learns nothing specific; `detail` is logged.
    pub fn server(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        let description = match status {
            StatusCode::SERVICE_UNAVAILABLE => {
                "the service is temporarily unavailable, retry later"
            }
            _ => "internal server error",
        };
        Self {
            status,
            error,
            description: description.into(),
            www_authenticate: None,
            detail: Some(detail.into()),
        }
    }

    /// This refusal under the code a protocol names for a malformed request at one endpoint
    /// (OID4VCI 1.0 §8.3.1.2 `invalid_credential_request`, §11.3
    /// `invalid_notification_request`): a `400 invalid_request` takes `code`, and its
    /// description keeps to the characters those specs allow in `error_description`
    /// (`%x20-21 / %x23-5B / %x5D-7E`). Other answers (413, 415, 5xx) are unchanged.
    pub fn malformed_as(mut self, code: &'static str) -> Self {
        if self.status == StatusCode::BAD_REQUEST && self.error == "invalid_request" {
            self.error = code;
            self.description = oauth_description(&self.description);
        }
        self
    }

    /// Adds a `WWW-Authenticate` header.
    pub fn with_www_authenticate(mut self, value: impl Into<String>) -> Self {
        self.www_authenticate = Some(value.into());
        self
    }

    /// Adds server-side detail for the log.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// `text` within the `error_description` character set of RFC 6749 §5.2 (and OID4VCI 1.0
/// §8.3.1.2): printable ASCII without `"` and `\`; anything else becomes `'` or `?`.
pub fn oauth_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        // Spec: RFC 6749 §5.1/§5.2: token endpoint answers carry `Cache-Control: no-store`;
        // we send it on every error so no cache keeps one (G10).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .www_authenticate
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        let detail = self
            .detail
            .unwrap_or_else(|| format!("{}: {}", self.error, self.description));
        response.extensions_mut().insert(ErrorDetail(detail));
        response
    }
}
