//! The requests to the provider, under the deployment's outbound policy (G7).
//!
//! One client from [`Fetcher::unredirected_client`]: its resolver drops internal addresses
//! unless the origin is allow-listed, it uses no proxy and follows no redirect (a 3xx is an
//! invalid answer). Each URL passes [`Fetcher::check_url`] first; each exchange is bounded
//! in time by the policy's timeout and in size by its `max_bytes`, counted while reading.

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use serde_json::{Map, Value};
use url::form_urlencoded;
use vdc_core::fetch::Fetcher;
use zeroize::Zeroizing;

use crate::{OidcError, ProviderConfig, printable};

/// The provider's HTTP endpoints, reached under one policy.
#[derive(Debug)]
pub(crate) struct Http {
    fetcher: Fetcher,
    client: reqwest::Client,
    max_bytes: usize,
    timeout: Duration,
}

/// A token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
pub(crate) struct Tokens {
    pub(crate) access_token: Zeroizing<String>,
    pub(crate) token_type: String,
    pub(crate) id_token: String,
}

/// A status and a bounded body.
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    www_authenticate: Option<String>,
    body: Vec<u8>,
}

/// 5xx, 408 and 429: the provider is there but cannot answer now.
fn is_outage(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// `scheme://host[:port]` of `url`, for messages (never the path or query).
fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| printable(&u.origin().ascii_serialization(), 120))
        .unwrap_or_else(|_| "(invalid URL)".into())
}

impl Http {
    pub(crate) fn new(fetcher: &Fetcher) -> Result<Self, OidcError> {
        let policy = fetcher.policy();
        let client = fetcher
            .unredirected_client(policy.timeout)
            .map_err(|e| OidcError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(Self {
            fetcher: fetcher.clone(),
            client,
            max_bytes: policy.max_bytes,
            timeout: policy.timeout,
        })
    }

    /// GETs a JSON object (the configuration document, the JWKS).
    pub(crate) async fn get_json(
        &self,
        what: &str,
        url: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let request = self.client.get(url).header(ACCEPT, "application/json");
        let answer = self.send(what, url, request).await?;
        if !answer.status.is_success() {
            let m = format!(
                "{what} at {} answered HTTP {}",
                origin_of(url),
                answer.status.as_u16()
            );
            return Err(if is_outage(answer.status) {
                OidcError::Unavailable(m)
            } else {
                OidcError::Invalid(m)
            });
        }
        self.parse(what, &answer.body)
    }

    /// The token request of the code flow (OIDC Core §3.1.3.1, RFC 6749 §4.1.3, RFC 7636
    /// §4.5), authenticated with `client_secret_basic`.
    pub(crate) async fn redeem_code(
        &self,
        token_endpoint: &str,
        config: &ProviderConfig,
        code: &str,
        code_verifier: &str,
    ) -> Result<Tokens, OidcError> {
        const WHAT: &str = "token endpoint";
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &config.redirect_uri)
            .append_pair("code_verifier", code_verifier)
            .finish();
        let request = self
            .client
            .post(token_endpoint)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, basic_authorization(config)?)
            .body(body);
        let answer = self.send(WHAT, token_endpoint, request).await?;
        let status = answer.status;
        if status.is_success() {
            let doc = self.parse(WHAT, &answer.body)?;
            let string = |name: &str| match doc.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                _ => Err(OidcError::Invalid(format!("token response has no {name}"))),
            };
            return Ok(Tokens {
                access_token: Zeroizing::new(string("access_token")?),
                token_type: string("token_type")?,
                // OIDC Core §3.1.3.3: the ID token is in every successful token response of
                // an authentication request (scope `openid`).
                id_token: string("id_token")?,
            });
        }
        if is_outage(status) {
            return Err(OidcError::Unavailable(format!(
                "{WHAT} answered HTTP {}",
                status.as_u16()
            )));
        }
        if status.is_client_error() {
            // RFC 6749 §5.2: `error` (invalid_client, invalid_grant, ...) and an optional
            // human-readable `error_description`.
            return Err(OidcError::Rejected(oauth_error(
                WHAT,
                status,
                &answer.body,
                self.max_bytes,
            )));
        }
        Err(OidcError::Invalid(format!(
            "{WHAT} answered HTTP {}",
            status.as_u16()
        )))
    }

    /// The UserInfo request (OIDC Core §5.3.1) with the access token as a Bearer token
    /// (RFC 6750 §2.1); the plain JSON response (§5.3.2).
    pub(crate) async fn userinfo(
        &self,
        endpoint: &str,
        token_type: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        const WHAT: &str = "UserInfo endpoint";
        // RFC 6749 §7.1: the client MUST NOT use a token whose type it does not understand.
        if !token_type.eq_ignore_ascii_case("bearer") {
            return Err(OidcError::Invalid(format!(
                "token_type {:?} cannot be used at the UserInfo endpoint",
                printable(token_type, 32)
            )));
        }
        let mut bearer = HeaderValue::from_str(&format!("Bearer {access_token}"))
            .map_err(|_| OidcError::Invalid("access token is not a valid header value".into()))?;
        bearer.set_sensitive(true);
        let request = self
            .client
            .get(endpoint)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer);
        let answer = self.send(WHAT, endpoint, request).await?;
        let status = answer.status;
        if status.is_success() {
            // §5.3.2: a signed or encrypted response is `application/jwt`; vdc registers
            // neither, so only JSON is expected.
            if answer
                .content_type
                .as_deref()
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/jwt"))
            {
                return Err(OidcError::Invalid(
                    "signed or encrypted UserInfo responses are not supported".into(),
                ));
            }
            return self.parse(WHAT, &answer.body);
        }
        let m = format!(
            "{WHAT} answered HTTP {}{}",
            status.as_u16(),
            answer
                .www_authenticate
                .map(|w| format!(" ({})", printable(&w, 200)))
                .unwrap_or_default()
        );
        Err(if is_outage(status) {
            OidcError::Unavailable(m)
        } else if status.is_client_error() {
            // RFC 6750 §3.1: invalid_token, insufficient_scope in WWW-Authenticate.
            OidcError::Rejected(m)
        } else {
            OidcError::Invalid(m)
        })
    }

    fn parse(&self, what: &str, body: &[u8]) -> Result<Map<String, Value>, OidcError> {
        vdc_core::json::parse_object(body, self.max_bytes)
            .map_err(|e| OidcError::Invalid(format!("{what}: {e}")))
    }

    /// Checks `url` against the policy, sends `request` and reads the body, all within the
    /// policy's time bound.
    async fn send(
        &self,
        what: &str,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, OidcError> {
        self.fetcher
            .check_url(url)
            .map_err(|e| OidcError::Invalid(format!("{what}: {e}")))?;
        let origin = origin_of(url);
        match tokio::time::timeout(self.timeout, self.exchange(what, &origin, request)).await {
            Ok(result) => result,
            Err(_) => Err(OidcError::Unavailable(format!(
                "{what} at {origin} timed out after {} ms",
                self.timeout.as_millis()
            ))),
        }
    }

    async fn exchange(
        &self,
        what: &str,
        origin: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer, OidcError> {
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(what, origin, &e))?;
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE);
        let www_authenticate = header(WWW_AUTHENTICATE);
        let max = self.max_bytes;
        let too_large = || OidcError::Invalid(format!("{what} at {origin}: body over {max} bytes"));
        if response
            .content_length()
            .is_some_and(|len| len > u64::try_from(max).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        // Content-Length may be absent (chunked): the bound is enforced while reading.
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| transport_error(what, origin, &e))?
        {
            if body.len().saturating_add(chunk.len()) > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            content_type,
            www_authenticate,
            body,
        })
    }
}

/// Spec: RFC 6749 §2.3.1: `client_secret_basic` is HTTP Basic (RFC 7617) over the client
/// identifier and secret, each first encoded with application/x-www-form-urlencoded
/// (Appendix B), then joined by `:` and base64-encoded.
fn basic_authorization(config: &ProviderConfig) -> Result<HeaderValue, OidcError> {
    let id: String = form_urlencoded::byte_serialize(config.client_id.as_bytes()).collect();
    let secret: Zeroizing<String> =
        Zeroizing::new(form_urlencoded::byte_serialize(config.client_secret.as_bytes()).collect());
    let credentials = Zeroizing::new(format!("{id}:{}", secret.as_str()));
    let header = Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials.as_bytes())
    ));
    let mut value = HeaderValue::from_str(&header)
        .map_err(|_| OidcError::Invalid("client credentials are not a valid header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The OAuth error of a 4xx token response, for the message.
fn oauth_error(what: &str, status: StatusCode, body: &[u8], max: usize) -> String {
    let doc = vdc_core::json::parse_object(body, max).ok();
    let member = |name: &str| {
        doc.as_ref()
            .and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(|s| printable(s, 200))
    };
    match (member("error"), member("error_description")) {
        (Some(error), Some(description)) => format!("{what}: {error}: {description}"),
        (Some(error), None) => format!("{what}: {error}"),
        _ => format!("{what} answered HTTP {}", status.as_u16()),
    }
}

fn transport_error(what: &str, origin: &str, e: &reqwest::Error) -> OidcError {
    if e.is_timeout() {
        return OidcError::Unavailable(format!("{what} at {origin} timed out"));
    }
    // The source chain names the cause (connection refused, a resolver refusal of the
    // outbound policy, ...); reqwest's own text would repeat the URL, which is left out.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if causes.len() == 4 {
            break;
        }
        causes.push(printable(&cause.to_string(), 120));
        source = cause.source();
    }
    let kind = if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    if causes.is_empty() {
        OidcError::Unavailable(format!("{what} at {origin}: {kind}"))
    } else {
        OidcError::Unavailable(format!("{what} at {origin}: {kind}: {}", causes.join(": ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secret_basic_form_encodes_before_base64() {
        let config = ProviderConfig {
            issuer: "https://idp.example".into(),
            client_id: "vdc client:1".into(),
            client_secret: Zeroizing::new("p@ss:w+rd/%é".into()),
            scopes: vec![],
            redirect_uri: "https://vdc.example/cb".into(),
        };
        let value = basic_authorization(&config).unwrap();
        assert!(value.is_sensitive());
        let encoded = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "vdc+client%3A1:p%40ss%3Aw%2Brd%2F%25%C3%A9"
        );
    }

    #[test]
    fn oauth_errors_are_read_bounded() {
        let status = StatusCode::BAD_REQUEST;
        assert_eq!(
            oauth_error(
                "t",
                status,
                br#"{"error":"invalid_grant","error_description":"used\ncode"}"#,
                1024
            ),
            "t: invalid_grant: usedcode"
        );
        assert_eq!(
            oauth_error("t", status, br#"{"error":"invalid_client"}"#, 1024),
            "t: invalid_client"
        );
        assert_eq!(
            oauth_error("t", status, b"<html>", 1024),
            "t answered HTTP 400"
        );
        let long = format!(r#"{{"error":"{}"}}"#, "x".repeat(1000));
        assert!(oauth_error("t", status, long.as_bytes(), 4096).len() < 220);
    }

    #[test]
    fn outages_are_5xx_408_and_429() {
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(is_outage(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 302, 400, 401, 404] {
            assert!(!is_outage(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }
}
