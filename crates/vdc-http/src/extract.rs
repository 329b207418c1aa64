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

/// A JSON body of a protocol endpoint, parsed strictly (vdc-core's parser: no duplicate
/// member names, bounded nesting), then deserialized into `T`. Unknown members are ignored:
/// OAuth and OpenID4VCI/VP tell servers to ignore parameters they do not understand (RFC
/// 6749 §3.1, OID4VCI 1.0 §8.2). Management bodies use [`ManagementJson`] instead.
#[derive(Debug, Clone)]
pub struct AppJson<T>(pub T);

/// A JSON body of the management API: parsed as strictly as [`AppJson`], and a member that
/// `T` does not know (at any depth) is `400 invalid_request` naming it. Contract: "Unknown
/// members in request bodies get 400 invalid_request naming the member (a typo must never
/// silently drop a setting such as `tx_code`)". The rule lives in the extractor, not in
/// `deny_unknown_fields` on the types, because the same types are also read back from the
/// store and by the pages, where the rule is not the contract's.
#[derive(Debug, Clone)]
pub struct ManagementJson<T>(pub T);

/// The most unknown members one error names (the body may hold thousands).
const MAX_NAMED_MEMBERS: usize = 5;
/// The longest member path one error quotes, in characters.
const MAX_MEMBER_PATH_CHARS: usize = 80;

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

/// The body as a strictly parsed JSON value: 415 unless JSON, 413 over the limit, 400
/// `invalid_request` when malformed (G8).
async fn json_value(req: Request) -> Result<serde_json::Value, ErrorResponse> {
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
    vdc_core::json::parse(&bytes, MAX_BODY_BYTES)
        .map_err(|e| ErrorResponse::invalid_request(format!("malformed JSON body: {e}")))
}

fn invalid_body(e: &serde_json::Error) -> ErrorResponse {
    ErrorResponse::invalid_request(format!("invalid request body: {e}"))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let value = json_value(req).await?;
        serde_json::from_value(value)
            .map(AppJson)
            .map_err(|e| invalid_body(&e))
    }
}

/// `tx_code.length`, `items[0].status`: the path as a client writes it (serde_ignored's own
/// rendering marks each `Option` with `?`).
fn member_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", member_path(parent)),
        Path::Map { parent, key } => {
            let parent = member_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => member_path(parent),
    }
}

/// A member path for an error message: bounded, printable (the names are the client's).
fn quote_member(path: &str) -> String {
    let mut out: String = path
        .chars()
        .take(MAX_MEMBER_PATH_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if path.chars().nth(MAX_MEMBER_PATH_CHARS).is_some() {
        out.push_str("...");
    }
    format!("`{out}`")
}

/// Deserializes `value` into `T`, refusing members `T` does not know (the
/// [`ManagementJson`] rule); the error names them (at most five).
pub fn from_value_strict<T: DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ErrorResponse> {
    let mut unknown = Vec::new();
    let mut count = 0usize;
    let parsed: T = serde_ignored::deserialize(value, |path| {
        count += 1;
        if unknown.len() < MAX_NAMED_MEMBERS {
            unknown.push(quote_member(&member_path(&path)));
        }
    })
    .map_err(|e| invalid_body(&e))?;
    if count > 0 {
        let more = if count > unknown.len() {
            format!(" (and {} more)", count - unknown.len())
        } else {
            String::new()
        };
        let noun = if count == 1 { "member" } else { "members" };
        return Err(ErrorResponse::invalid_request(format!(
            "unknown {noun} {}{more} in the request body (not part of this API: check the \
             spelling)",
            unknown.join(", ")
        )));
    }
    Ok(parsed)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ManagementJson<T> {
    type Rejection = ErrorResponse;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        from_value_strict(json_value(req).await?).map(ManagementJson)
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

    #[derive(Deserialize)]
    struct Outer {
        #[serde(default)]
        inner: Option<Body1>,
        #[serde(default)]
        list: Vec<Body1>,
    }

    #[test]
    fn management_bodies_name_unknown_members_at_any_depth() {
        let ok: Outer =
            from_value_strict(serde_json::json!({"inner": {"name": "a"}, "list": []})).unwrap();
        assert_eq!(ok.inner.unwrap().name, "a");
        assert!(ok.list.is_empty());
        for (body, named) in [
            (
                serde_json::json!({"inner": {"name": "a"}, "txcode": 1}),
                "`txcode`",
            ),
            (
                serde_json::json!({"inner": {"name": "a", "nmae": 1}}),
                "`inner.nmae`",
            ),
            (
                serde_json::json!({"list": [{"name": "a"}, {"name": "b", "x": 1}]}),
                "`list[1].x`",
            ),
        ] {
            let e = from_value_strict::<Outer>(body).err().unwrap();
            assert_eq!(
                (e.status, e.error),
                (StatusCode::BAD_REQUEST, "invalid_request")
            );
            assert!(e.description.contains(named), "{}", e.description);
        }
        // Bounded: a huge member name is cut, and many members are counted, not listed.
        let mut many = serde_json::Map::new();
        many.insert("y".repeat(10_000), 1.into());
        for i in 0..50 {
            many.insert(format!("m{i}"), 1.into());
        }
        let e = from_value_strict::<Outer>(serde_json::Value::Object(many))
            .err()
            .unwrap();
        assert!(e.description.len() < 1_000, "{}", e.description.len());
        assert!(e.description.contains("and 46 more"), "{}", e.description);
    }

    #[test]
    fn malformed_as_renames_only_bad_requests() {
        let e = ErrorResponse::invalid_request("a \"quoted\" \\ caf\u{e9}")
            .malformed_as("invalid_credential_request");
        assert_eq!(e.error, "invalid_credential_request");
        assert_eq!(e.description, "a 'quoted' / caf?");
        let e = ErrorResponse::client(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "big")
            .malformed_as("invalid_credential_request");
        assert_eq!(e.error, "invalid_request");
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
