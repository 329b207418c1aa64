//! The body of a Credential or Deferred Credential Request: `application/json` in clear, or
//! `application/jwt`, a JWE to the issuer's request encryption key (OID4VCI 1.0 §8.2,
//! §9.1, §10). Opening the JWE is [`crate::encryption`]'s job; this only reads the body.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::Value;
use vdc_http::{AppJson, ErrorResponse};

use crate::encryption::{APPLICATION_JWT, WalletMessage};

/// A Credential or Deferred Credential Request body. Spec: OID4VCI 1.0 §8.3.1.2: a JSON
/// body that "is missing a required parameter, includes an unsupported parameter or
/// parameter value, repeats the same parameter, or is otherwise malformed" is
/// `invalid_credential_request`, which takes precedence over RFC 6750's `invalid_request`;
/// §9.3: the Deferred Credential Endpoint answers with the same codes. Unknown members are
/// ignored (§8.2), as [`AppJson`] does.
#[derive(Debug)]
pub(crate) struct CredentialBody(pub WalletMessage);

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

impl<S: Send + Sync> FromRequest<S> for CredentialBody {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, state: &S) -> Result<Self, ErrorResponse> {
        match media_type(req.headers()).as_deref() {
            // Spec: OID4VCI 1.0 §10: an encrypted message's "media type MUST be set to
            // application/jwt".
            Some(APPLICATION_JWT) => {
                let bytes = axum::body::to_bytes(req.into_body(), vdc_http::MAX_BODY_BYTES)
                    .await
                    .map_err(|_| {
                        ErrorResponse::client(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "invalid_request",
                            format!(
                                "request body larger than {} bytes",
                                vdc_http::MAX_BODY_BYTES
                            ),
                        )
                    })?;
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    ErrorResponse::client(
                        StatusCode::BAD_REQUEST,
                        "invalid_encryption_parameters",
                        "the application/jwt body is not a compact JWE",
                    )
                })?;
                Ok(Self(WalletMessage::Jwt(text.trim().to_owned())))
            }
            Some(m) if m == "application/json" || m.ends_with("+json") => {
                AppJson::<Value>::from_request(req, state)
                    .await
                    .map(|AppJson(v)| Self(WalletMessage::Json(v)))
                    .map_err(|e| e.malformed_as("invalid_credential_request"))
            }
            _ => Err(ErrorResponse::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "the request body must be application/json, or application/jwt when \
                 encrypted (OID4VCI 1.0 section 10)",
            )),
        }
    }
}
