//! The wallet's HTTP client: bounded in time and size, https-only unless the caller opts
//! into plain HTTP for local testing.
//!
//! There is deliberately no SSRF policy here (unlike `vdc_core::fetch`): a wallet talks to
//! the issuer its user chose, which may well be on a private network. What it does enforce:
//! - `https` only, unless [`crate::WalletOptions::allow_insecure_http`] (OID4VCI 1.0 §8,
//!   §9, §11 and §12.2.2: communication "MUST utilize TLS"; §13.9 TLS requirements).
//! - A total timeout per request and a bound on every response body, enforced while
//!   reading, not only from `Content-Length`.
//! - GET follows at most [`MAX_REDIRECTS`] redirects, each re-checked for its scheme; POSTs
//!   never follow redirects (a bearer token or proof is never re-sent elsewhere).

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Map, Value};
use url::Url;

use crate::error::{Endpoint, Error, ErrorCode, OAuthError, Result, bounded};

/// Most redirects a GET follows.
pub const MAX_REDIRECTS: usize = 3;
/// Longest `DPoP-Nonce` header value kept.
pub(crate) const MAX_DPOP_NONCE: usize = 1024;

/// A response read completely within the size bound.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) www_authenticate: Option<String>,
    /// The `DPoP-Nonce` header (RFC 9449 §8.1, §9.1): the server nonce to use next.
    pub(crate) dpop_nonce: Option<String>,
    pub(crate) body: Vec<u8>,
}

/// The HTTP client of a wallet.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    get: reqwest::Client,
    post: reqwest::Client,
    allow_insecure_http: bool,
    max_bytes: usize,
}

impl Http {
    pub(crate) fn new(
        timeout: Duration,
        max_bytes: usize,
        allow_insecure_http: bool,
    ) -> Result<Self> {
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            let secure = attempt.url().scheme() == "https"
                || (allow_insecure_http && attempt.url().scheme() == "http");
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if !secure {
                attempt.error("redirect to a non-https URL")
            } else {
                attempt.follow()
            }
        });
        let build = |policy| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(policy)
                .https_only(!allow_insecure_http)
                .user_agent(concat!("vdc-holder/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Http {
                    endpoint: Endpoint::IssuerMetadata,
                    reason: format!("cannot build HTTP client: {}", e.without_url()),
                })
        };
        Ok(Self {
            get: build(redirect)?,
            post: build(reqwest::redirect::Policy::none())?,
            allow_insecure_http,
            max_bytes,
        })
    }

    /// The largest body accepted.
    pub(crate) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Parses `url` and checks its scheme.
    pub(crate) fn check_url(&self, url: &str) -> Result<Url> {
        check_scheme(url, self.allow_insecure_http)
    }

    /// GET with `Accept`.
    pub(crate) async fn get(
        &self,
        endpoint: Endpoint,
        url: &str,
        accept: &str,
    ) -> Result<Response> {
        let url = self.check_url(url)?;
        let req = self.get.get(url).header(ACCEPT, accept);
        self.send(endpoint, req).await
    }

    /// POST `application/x-www-form-urlencoded`.
    pub(crate) async fn post_form(
        &self,
        endpoint: Endpoint,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<Response> {
        self.post_form_dpop(endpoint, url, form, None).await
    }

    /// POST `application/x-www-form-urlencoded` with an optional `DPoP` proof header
    /// (RFC 9449 §4.1).
    pub(crate) async fn post_form_dpop(
        &self,
        endpoint: Endpoint,
        url: &str,
        form: &[(&str, &str)],
        dpop: Option<&str>,
    ) -> Result<Response> {
        let url = self.check_url(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = self
            .post
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(proof) = dpop {
            req = req.header("DPoP", proof);
        }
        self.send(endpoint, req).await
    }

    /// POST a JSON body (or an empty body when `body` is `None`), with an optional bearer
    /// access token (RFC 6750 §2.1).
    /// A form POST expecting `accept` (OID4VP 1.0 §5.10: request URI method post).
    pub(crate) async fn post_form_accept(
        &self,
        endpoint: Endpoint,
        url: &str,
        form: &[(&str, &str)],
        accept: &str,
    ) -> Result<Response> {
        let url = self.check_url(url)?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .post
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, accept)
            .body(body);
        self.send(endpoint, req).await
    }

    pub(crate) async fn post_json(
        &self,
        endpoint: Endpoint,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Response> {
        let authorization = bearer.map(|t| format!("Bearer {t}"));
        self.post_json_auth(endpoint, url, authorization.as_deref(), None, body)
            .await
    }

    /// POST a JSON body (or an empty one) with an optional `Authorization` header value
    /// (`Bearer <token>`, RFC 6750 §2.1, or `DPoP <token>`, RFC 9449 §7.1) and an optional
    /// `DPoP` proof header.
    pub(crate) async fn post_json_auth(
        &self,
        endpoint: Endpoint,
        url: &str,
        authorization: Option<&str>,
        dpop: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Response> {
        let url = self.check_url(url)?;
        let mut req = self.post.post(url).header(ACCEPT, "application/json");
        if let Some(value) = authorization {
            req = req.header(AUTHORIZATION, value);
        }
        if let Some(proof) = dpop {
            req = req.header("DPoP", proof);
        }
        req = match body {
            Some(b) => req
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string()),
            None => req.header(reqwest::header::CONTENT_LENGTH, "0"),
        };
        self.send(endpoint, req).await
    }

    async fn send(&self, endpoint: Endpoint, req: reqwest::RequestBuilder) -> Result<Response> {
        let http_err = |e: reqwest::Error| Error::Http {
            endpoint,
            reason: e.without_url().to_string(),
        };
        let mut resp = req.send().await.map_err(http_err)?;
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(Error::TooLarge(endpoint));
        }
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(bounded)
        };
        let content_type = header(CONTENT_TYPE);
        let www_authenticate = header(WWW_AUTHENTICATE);
        // Spec: RFC 9449 §8.1: the nonce is an opaque token (NQCHAR); kept verbatim, and
        // only when it is printable ASCII of bounded length.
        let dpop_nonce = resp
            .headers()
            .get("dpop-nonce")
            .and_then(|v| v.to_str().ok())
            .filter(|n| {
                !n.is_empty()
                    && n.len() <= MAX_DPOP_NONCE
                    && n.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(str::to_owned);
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http_err)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(Error::TooLarge(endpoint));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            content_type,
            www_authenticate,
            dpop_nonce,
            body,
        })
    }
}

/// Checks that `url` parses and is `https` (or `http` when allowed), without credentials.
pub(crate) fn check_scheme(url: &str, allow_insecure_http: bool) -> Result<Url> {
    let parsed = Url::parse(url)
        .map_err(|_| Error::InsecureUrl(format!("not a URL: {}", bounded_url(url))))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_insecure_http => {}
        other => {
            return Err(Error::InsecureUrl(format!(
                "scheme {} is not allowed (https required)",
                bounded(other)
            )));
        }
    }
    if parsed.host_str().is_none() {
        return Err(Error::InsecureUrl("URL has no host".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::InsecureUrl("URL must not carry credentials".into()));
    }
    Ok(parsed)
}

/// A URL for an error message: scheme, host and path only (the query may carry secrets).
pub(crate) fn bounded_url(url: &str) -> String {
    bounded(url.split(['?', '#']).next().unwrap_or_default())
}

impl Response {
    /// True when the server asks for a (fresh) DPoP server nonce: a 400 with
    /// `{"error": "use_dpop_nonce"}` from an authorization server (RFC 9449 §8) or a 401
    /// with a `WWW-Authenticate: DPoP error="use_dpop_nonce"` challenge from a resource
    /// server (RFC 9449 §9), together with a `DPoP-Nonce` header.
    pub(crate) fn asks_for_dpop_nonce(&self, max: usize) -> bool {
        if self.dpop_nonce.is_none() {
            return false;
        }
        let in_body = || {
            vdc_core::json::parse_object(&self.body, max)
                .ok()
                .is_some_and(|b| b.get("error").and_then(Value::as_str) == Some("use_dpop_nonce"))
        };
        let in_header = || {
            self.www_authenticate
                .as_deref()
                .and_then(|h| auth_param(h, "error"))
                .is_some_and(|e| e == "use_dpop_nonce")
        };
        (self.status == 400 || self.status == 401) && (in_body() || in_header())
    }

    /// True for 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as a strict JSON object (vdc-core's parser: no duplicate members, bounded
    /// depth and size; G8).
    pub(crate) fn json_object(&self, endpoint: Endpoint, max: usize) -> Result<Map<String, Value>> {
        vdc_core::json::parse_object(&self.body, max).map_err(|e| Error::InvalidResponse {
            endpoint,
            reason: e.to_string(),
        })
    }

    /// Turns a non-success response into the typed error: an OAuth error body
    /// (`{"error": ...}`, RFC 6749 §5.2 / OID4VCI), or the `error` of a `WWW-Authenticate:
    /// Bearer` challenge (RFC 6750 §3), or else [`Error::UnexpectedStatus`].
    pub(crate) fn into_error(self, endpoint: Endpoint, max: usize) -> Error {
        let body = vdc_core::json::parse_object(&self.body, max).ok();
        let from_body = body.as_ref().and_then(|b| {
            b.get("error").and_then(Value::as_str).map(|code| {
                (
                    ErrorCode::parse(code),
                    b.get("error_description")
                        .and_then(Value::as_str)
                        .map(bounded),
                )
            })
        });
        let from_header = self
            .www_authenticate
            .as_deref()
            .and_then(|h| auth_param(h, "error"))
            .map(|code| {
                (
                    ErrorCode::parse(&code),
                    self.www_authenticate
                        .as_deref()
                        .and_then(|h| auth_param(h, "error_description")),
                )
            });
        match from_body.or(from_header) {
            Some((code, description)) => Error::OAuth(OAuthError {
                endpoint,
                status: self.status,
                code,
                description,
                www_authenticate: self.www_authenticate,
            }),
            None => Error::UnexpectedStatus {
                endpoint,
                status: self.status,
            },
        }
    }
}

/// Reads one `name="value"` (or `name=token`) auth-param of a challenge (RFC 9110 §11.2).
pub(crate) fn auth_param(header: &str, name: &str) -> Option<String> {
    let mut rest = header;
    // `split_once` cuts at a match of `name`, never inside a character (G8).
    while let Some((before, after)) = rest.split_once(name) {
        let before_ok = before.is_empty() || before.ends_with([' ', ',']);
        if let Some(value) = after.trim_start().strip_prefix('=').filter(|_| before_ok) {
            let value = value.trim_start();
            let v = if let Some(quoted) = value.strip_prefix('"') {
                quoted.split('"').next().unwrap_or_default()
            } else {
                value.split([',', ' ']).next().unwrap_or_default()
            };
            return Some(bounded(v));
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_is_accepted_unless_insecure_http_is_allowed() {
        assert!(check_scheme("https://issuer.example/x", false).is_ok());
        assert!(matches!(
            check_scheme("http://127.0.0.1:8080/x", false),
            Err(Error::InsecureUrl(_))
        ));
        assert!(check_scheme("http://127.0.0.1:8080/x", true).is_ok());
        assert!(check_scheme("ftp://issuer.example/x", true).is_err());
        assert!(check_scheme("https://user:pw@issuer.example/", false).is_err());
        assert!(check_scheme("not a url", true).is_err());
    }

    #[test]
    fn bearer_challenge_error_is_read_from_www_authenticate() {
        let h = r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#;
        assert_eq!(auth_param(h, "error").as_deref(), Some("invalid_token"));
        assert_eq!(
            auth_param(h, "error_description").as_deref(),
            Some("The access token expired")
        );
        assert_eq!(auth_param("Bearer realm=\"x\"", "error"), None);
        assert_eq!(
            auth_param("Bearer error=invalid_token", "error").as_deref(),
            Some("invalid_token")
        );
    }

    fn response(status: u16, www: Option<&str>, nonce: Option<&str>, body: &str) -> Response {
        Response {
            status,
            content_type: Some("application/json".into()),
            www_authenticate: www.map(str::to_owned),
            dpop_nonce: nonce.map(str::to_owned),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn use_dpop_nonce_is_recognised_at_the_authorization_and_resource_servers() {
        // Spec: RFC 9449 §8 (authorization server: 400 with the error in the body).
        assert!(
            response(400, None, Some("n-1"), r#"{"error":"use_dpop_nonce"}"#)
                .asks_for_dpop_nonce(1024)
        );
        // Spec: RFC 9449 §9 (resource server: 401 with a DPoP challenge).
        assert!(
            response(
                401,
                Some(r#"DPoP error="use_dpop_nonce", algs="ES256""#),
                Some("n-2"),
                ""
            )
            .asks_for_dpop_nonce(1024)
        );
        // Without a nonce to use, a retry cannot help; other errors are not retried.
        assert!(
            !response(400, None, None, r#"{"error":"use_dpop_nonce"}"#).asks_for_dpop_nonce(1024)
        );
        assert!(
            !response(400, None, Some("n"), r#"{"error":"invalid_dpop_proof"}"#)
                .asks_for_dpop_nonce(1024)
        );
        assert!(
            !response(200, None, Some("n"), r#"{"error":"use_dpop_nonce"}"#)
                .asks_for_dpop_nonce(1024)
        );
    }

    #[test]
    fn error_urls_drop_the_query() {
        assert_eq!(
            bounded_url("https://i.example/offer?credential_offer=secret"),
            "https://i.example/offer"
        );
    }
}
