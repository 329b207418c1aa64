//! Extractors that answer malformed input with the OAuth error shape, never axum's plain
//! text rejections.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::MAX_BODY_BYTES;
use crate::error::ErrorResponse;

/// A JSON body, parsed strictly (vdc-core's parser: no duplicate member names, bounded
/// nesting), then deserialized into `T`. Unknown fields are ignored (contract: clients may be
/// newer than the server).
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

fn media_type(parts_headers: &http::HeaderMap) -> Option<String> {
    parts_headers
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

async fn read_body(req: Request) -> Result<Bytes, ErrorResponse> {
    axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ErrorResponse::client(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("request body larger than {MAX_BODY_BYTES} bytes"),
            )
        })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let is_json = media_type(req.headers()).is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
        if !is_json {
            return Err(ErrorResponse::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "the request body must be application/json",
            ));
        }
        let bytes = read_body(req).await?;
        let value = vdc_core::json::parse(&bytes, MAX_BODY_BYTES)
            .map_err(|e| ErrorResponse::invalid_request(format!("malformed JSON body: {e}")))?;
        serde_json::from_value(value)
            .map(AppJson)
            .map_err(|e| ErrorResponse::invalid_request(format!("invalid request body: {e}")))
    }
}

/// An `application/x-www-form-urlencoded` body (OAuth token requests). Spec: RFC 6749 §3.1:
/// "Request and response parameters MUST NOT be included more than once", so a repeated
/// parameter is `invalid_request`.
#[derive(Debug, Clone, Default)]
pub struct OAuthForm(pub HashMap<String, String>);

impl OAuthForm {
    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequest<S> for OAuthForm {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if media_type(req.headers()).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(ErrorResponse::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let bytes = read_body(req).await?;
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            if params
                .insert(k.clone().into_owned(), v.into_owned())
                .is_some()
            {
                return Err(ErrorResponse::invalid_request(format!(
                    "parameter {k} is repeated"
                )));
            }
        }
        Ok(Self(params))
    }
}

/// An RFC 6750 bearer token from the `Authorization` header. The token text is a secret:
/// `Debug` does not print it.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken([redacted])")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BearerToken {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = value.and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
                .then(|| token.trim().to_owned())
        });
        // Spec: RFC 6750 §3: a request without (valid) credentials gets 401 with
        // `WWW-Authenticate: Bearer` (and `error="invalid_token"` when one was sent).
        match token {
            Some(t) => Ok(Self(t)),
            None => Err(ErrorResponse::client(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "a bearer access token is required",
            )
            .with_www_authenticate(if value.is_some() {
                "Bearer error=\"invalid_token\""
            } else {
                "Bearer"
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use serde::Deserialize;
    use tower::ServiceExt as _;

    #[derive(Deserialize)]
    struct Body1 {
        name: String,
    }

    fn app() -> Router {
        layers::standard(
            Router::new()
                .route(
                    "/json",
                    post(|AppJson(b): AppJson<Body1>| async move { b.name }),
                )
                .route(
                    "/form",
                    post(|f: OAuthForm| async move { f.get("a").unwrap_or("-").to_owned() }),
                )
                .route(
                    "/bearer",
                    post(|t: BearerToken| async move { t.0.len().to_string() }),
                ),
        )
    }

    async fn send(
        path: &str,
        content_type: &str,
        body: impl Into<Body>,
        auth: Option<&str>,
    ) -> (StatusCode, http::HeaderMap, serde_json::Value) {
        let mut req = http::Request::post(path).header(header::CONTENT_TYPE, content_type);
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = app().oneshot(req.body(body.into()).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
            String::from_utf8_lossy(&bytes).into(),
        ));
        (status, headers, json)
    }

    #[tokio::test]
    async fn json_bodies_are_strict_but_ignore_unknown_fields() {
        let (s, _, b) = send(
            "/json",
            "application/json",
            r#"{"name":"a","extra":1}"#,
            None,
        )
        .await;
        assert_eq!((s, b), (StatusCode::OK, serde_json::json!("a")));
        let (s, h, b) = send("/json", "text/plain", r#"{"name":"a"}"#, None).await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(b["error"], "invalid_request");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        let (s, _, b) = send(
            "/json",
            "application/json",
            r#"{"name":"a","name":"b"}"#,
            None,
        )
        .await;
        assert_eq!(
            (s, b["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        let (s, _, _) = send("/json", "application/json", r#"{"nom":"a"}"#, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES + 1));
        let (s, _, b) = send("/json", "application/json", big, None).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(b["error"], "invalid_request");
    }

    #[tokio::test]
    async fn repeated_form_parameters_are_refused() {
        let ct = "application/x-www-form-urlencoded";
        assert_eq!(
            send("/form", ct, "a=1&b=2", None).await.2,
            serde_json::json!(1)
        );
        let (s, _, b) = send("/form", ct, "a=1&a=2", None).await;
        assert_eq!(
            (s, b["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request"))
        );
        assert_eq!(
            send("/form", "application/json", "{}", None).await.0,
            StatusCode::BAD_REQUEST
        );
    }

    #[tokio::test]
    async fn missing_or_malformed_bearer_is_401_with_www_authenticate() {
        let (s, h, b) = send("/bearer", "text/plain", "", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(b["error"], "invalid_token");
        let (s, h, _) = send("/bearer", "text/plain", "", Some("Basic abc")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(
            h[header::WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains("invalid_token")
        );
        let (s, h, b) = send("/bearer", "text/plain", "", Some("bearer abcd")).await;
        assert_eq!((s, b), (StatusCode::OK, serde_json::json!(4)));
        assert!(h.contains_key(layers::REQUEST_ID_HEADER));
    }
}
