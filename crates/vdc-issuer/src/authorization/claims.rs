//! The issuer's claims endpoint (contract-next "Issuer: login at the enterprise's OpenID
//! Provider, claims from the back end"): after a login, vdc asks the enterprise back end for
//! the claims of the authenticated subject, one credential configuration at a time.
//!
//! The call is a `POST` of `{"issuer", "credential_configuration_id", "subject"}` signed with
//! the Standard Webhooks scheme (the webhooks' [`vdc_webhooks::sign`], headers `webhook-id`,
//! `webhook-timestamp`, `webhook-signature`) under the issuer's `claims_endpoint_secret`,
//! sent under the outbound policy (G7: no redirects, no internal addresses unless
//! allow-listed), bounded in time (`claims_endpoint_timeout`) and in body size
//! ([`MAX_ANSWER_BYTES`]). The answer:
//! - `200 {"claims": {...}}`: the configuration's claims, checked against it like an
//!   offer's claims;
//! - `202 {"retry_after": N}`: not known yet; the configuration is issued deferred
//!   (OID4VCI 1.0 §9);
//! - a 4xx: the back end refuses this subject (`access_denied`, RFC 6749 §4.1.2.1);
//! - anything else (5xx, timeout, refused connection, redirect, non-JSON, oversized, claims
//!   that do not fit the configuration): `server_error` (RFC 6749 §4.1.2.1). Never a hang,
//!   never a 5xx to the wallet: the wallet gets an error redirect.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use vdc_core::base64url;
use zeroize::Zeroizing;

use crate::definition::{ENDPOINT_SECRET_PREFIX, IssuerDefinition};
use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// Largest answer body read from a claims endpoint.
pub(crate) const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Largest `retry_after` a back end may ask for, seconds (one day).
pub(crate) const MAX_RETRY_AFTER: u64 = 86_400;
/// ID token members that are protocol artifacts of vdc's login, not facts about the
/// subject: left out of the `subject` sent.
const NOT_SENT: &[&str] = &["nonce", "at_hash", "c_hash"];

/// The member of a login's claims map (by configuration id) that keeps what a later call
/// needs when the back end deferred a configuration: `{"subject": {...}, "retry_at":
/// {<configuration id>: <unix seconds>}}`. Configuration ids are never empty, so it names
/// no configuration; it travels with the claims to the login's offers (and refreshed
/// ones), which are read only by configuration id.
pub(crate) const LOGIN_MEMBER: &str = "";

/// The claims of a deferred configuration, at the deferred credential endpoint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DeferredClaims {
    /// The back end answered them (checked against the configuration).
    Ready(Value),
    /// Not yet: ask the wallet to come back after this many seconds.
    Pending(i64),
}

/// When a deferred configuration may be asked for again, per instance (the wallet is told
/// the same `interval`; several instances may each call once per `retry_after`).
#[derive(Debug, Default)]
pub(crate) struct RetryTimes(std::sync::Mutex<std::collections::HashMap<String, i64>>);

/// Entries kept at most (the map is emptied when full: it only rate-limits).
const MAX_RETRY_ENTRIES: usize = 10_000;

impl RetryTimes {
    fn get(&self, key: &str) -> Option<i64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
    }

    fn put(&self, key: String, at: i64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_RETRY_ENTRIES {
            map.clear();
        }
        map.insert(key, at);
    }
}

/// What the claims endpoint answered for one configuration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EndpointAnswer {
    /// `200`: the claims (an object, not yet checked against the configuration).
    Claims(Value),
    /// `202`: ask again after this many seconds.
    Deferred(u64),
}

/// Why a call failed, as the wallet will learn it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndpointFailure {
    /// The back end refused the subject (a 4xx).
    Denied(u16),
    /// The back end failed or answered something unusable; the reason is for the log only.
    Failed(String),
}

impl EndpointFailure {
    /// The authorization response error (RFC 6749 §4.1.2.1): `access_denied` for a refusal,
    /// `server_error` otherwise. Logged here, without claim values.
    pub(crate) fn into_login_error(self, issuer_id: &str, config_id: &str) -> IssuerError {
        match self {
            Self::Denied(status) => {
                tracing::info!(
                    issuer = issuer_id,
                    configuration = config_id,
                    status,
                    "claims endpoint refused the subject"
                );
                IssuerError::AccessDenied("the enterprise back end refused the credential".into())
            }
            Self::Failed(reason) => {
                tracing::warn!(
                    issuer = issuer_id,
                    configuration = config_id,
                    reason = %reason,
                    "claims endpoint failed"
                );
                IssuerError::Internal(format!("claims endpoint: {reason}"))
            }
        }
    }
}

/// A fresh signing secret: `whsec_` + base64 of 32 random bytes (as webhook secrets).
pub(crate) fn generate_secret(issuer: &Issuer) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let mut raw = Zeroizing::new(vec![0u8; 32]);
    issuer
        .rng
        .fill(raw.as_mut_slice())
        .map_err(|e| IssuerError::Internal(e.to_string()))?;
    let shown = format!(
        "{ENDPOINT_SECRET_PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_slice())
    );
    Ok((shown, raw))
}

fn secret_context(issuer_id: &str) -> String {
    vdc_store::sealed::context::claims_endpoint_secret(issuer_id)
}

/// The `subject` member: the validated login claims, without vdc's protocol artifacts.
pub(crate) fn subject_of(login: &vdc_oidc::Login) -> Map<String, Value> {
    login
        .claims
        .iter()
        .filter(|(k, _)| !NOT_SENT.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Issuer {
    /// Seals a claims endpoint HMAC key for the stored definition (KEK, G8).
    pub(crate) fn seal_claims_endpoint_secret(
        &self,
        issuer_id: &str,
        key: &[u8],
    ) -> Result<String> {
        let sealed = self
            .keys
            .kek()
            .seal(key, &secret_context(issuer_id), self.rng.as_ref())
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Ok(base64url::encode(sealed))
    }

    fn open_claims_endpoint_secret(&self, def: &IssuerDefinition) -> Result<Zeroizing<Vec<u8>>> {
        let sealed = def
            .claims_endpoint_secret_sealed
            .as_deref()
            .ok_or_else(|| IssuerError::Internal("claims endpoint secret missing".into()))?;
        let bytes = base64url::decode(sealed).map_err(|e| IssuerError::Internal(e.to_string()))?;
        self.keys
            .kek()
            .open(&bytes, &secret_context(&def.id))
            .map_err(|e| IssuerError::Internal(format!("claims endpoint secret: {e}")))
    }

    /// The login's claims by configuration from the claims endpoint: configurations the back
    /// end deferred (202) are left out (the credential endpoint then answers 202, OID4VCI 1.0
    /// §9). Claims that do not fit their configuration fail the login (`server_error`):
    /// nothing is issued from them.
    pub(crate) async fn claims_from_endpoint(
        &self,
        def: &IssuerDefinition,
        configuration_ids: &[String],
        subject: &Map<String, Value>,
    ) -> Result<Value> {
        let mut by_config = Map::new();
        let mut retry_at = Map::new();
        // One time bound for all of a login's calls, so the callback answers (a redirect)
        // well within the server's request timeout, however many configurations it names.
        let deadline = tokio::time::Instant::now() + self.settings.claims_endpoint_timeout;
        for id in configuration_ids {
            let config = def
                .credential_configurations
                .get(id)
                .ok_or(IssuerError::UnknownCredentialConfiguration)?;
            let budget = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.call_claims_endpoint(def, id, subject, budget).await {
                Ok(EndpointAnswer::Claims(claims)) => {
                    if let Err(e) = config.check_claims(id, &claims) {
                        return Err(EndpointFailure::Failed(format!(
                            "answered claims that do not fit the configuration: {}",
                            e.description()
                        ))
                        .into_login_error(&def.id, id));
                    }
                    by_config.insert(id.clone(), claims);
                }
                Ok(EndpointAnswer::Deferred(after)) => {
                    tracing::info!(
                        issuer = %def.id,
                        configuration = %id,
                        retry_after = after,
                        "claims endpoint deferred the credential"
                    );
                    let after = i64::try_from(after).unwrap_or(i64::MAX);
                    retry_at.insert(id.clone(), self.now().plus(after).secs().into());
                }
                Err(f) => return Err(f.into_login_error(&def.id, id)),
            }
        }
        // The deferred endpoint asks again later, for the same subject.
        if !retry_at.is_empty() {
            by_config.insert(
                LOGIN_MEMBER.to_owned(),
                json!({"subject": subject, "retry_at": retry_at}),
            );
        }
        Ok(Value::Object(by_config))
    }

    /// The `interval` of a fresh deferral of `config_id` (OID4VCI 1.0 §8.3): the back
    /// end's `retry_after` when it deferred the configuration at the login.
    pub(crate) fn deferral_interval(&self, offer_claims: Option<&Value>, config_id: &str) -> i64 {
        offer_claims
            .and_then(|c| c.get(LOGIN_MEMBER))
            .and_then(|l| l.get("retry_at"))
            .and_then(|r| r.get(config_id))
            .and_then(Value::as_i64)
            .map(|at| (at - self.now().secs()).max(1))
            .unwrap_or(self.settings.deferred_interval)
    }

    /// The claims of `config_id` for a deferred credential of a login offer, asked of the
    /// claims endpoint again once its `retry_after` has passed (OID4VCI 1.0 §9). A refusal
    /// (4xx) is `credential_request_denied` (§8.3.1.2); a failure, or claims that do not fit
    /// the configuration, keeps the credential pending (logged).
    pub(crate) async fn deferred_claims(
        &self,
        def: &IssuerDefinition,
        offer_id: &str,
        offer_claims: Option<&Value>,
        config_id: &str,
    ) -> Result<DeferredClaims> {
        let default = self.settings.deferred_interval;
        let login = offer_claims.and_then(|c| c.get(LOGIN_MEMBER));
        let Some(subject) = login
            .and_then(|l| l.get("subject"))
            .and_then(Value::as_object)
        else {
            // Not a login the back end deferred: the claims come from elsewhere (PUT).
            return Ok(DeferredClaims::Pending(default));
        };
        let deps = self
            .authorization
            .as_ref()
            .ok_or_else(|| IssuerError::Internal("authorization flow not composed".into()))?;
        let key = format!("{}\0{offer_id}\0{config_id}", def.id);
        let now = self.now().secs();
        let due = login
            .and_then(|l| l.pointer(&format!("/retry_at/{}", pointer_escape(config_id))))
            .and_then(Value::as_i64)
            .into_iter()
            .chain(deps.retry_times.get(&key))
            .max()
            .unwrap_or(now);
        if now < due {
            return Ok(DeferredClaims::Pending(due - now));
        }
        let config = def
            .credential_configurations
            .get(config_id)
            .ok_or(IssuerError::UnknownCredentialConfiguration)?;
        let failed = |reason: String| {
            tracing::warn!(
                issuer = %def.id,
                configuration = config_id,
                reason = %reason,
                "claims endpoint failed; the credential stays pending"
            );
            deps.retry_times
                .put(key.clone(), now.saturating_add(default));
            Ok(DeferredClaims::Pending(default))
        };
        let budget = self.settings.claims_endpoint_timeout;
        match self
            .call_claims_endpoint(def, config_id, subject, budget)
            .await
        {
            Ok(EndpointAnswer::Claims(claims)) => match config.check_claims(config_id, &claims) {
                Ok(()) => Ok(DeferredClaims::Ready(claims)),
                Err(e) => failed(format!(
                    "answered claims that do not fit the configuration: {}",
                    e.description()
                )),
            },
            Ok(EndpointAnswer::Deferred(after)) => {
                let after = i64::try_from(after).unwrap_or(i64::MAX);
                deps.retry_times.put(key, now.saturating_add(after));
                Ok(DeferredClaims::Pending(after))
            }
            Err(EndpointFailure::Denied(status)) => {
                tracing::info!(
                    issuer = %def.id,
                    configuration = config_id,
                    status,
                    "claims endpoint refused the deferred credential"
                );
                Err(IssuerError::CredentialRequestDenied(
                    "the enterprise back end refused the credential".into(),
                ))
            }
            Err(EndpointFailure::Failed(reason)) => failed(reason),
        }
    }

    /// One signed call of the claims endpoint for `config_id`, answered within `budget`.
    pub(crate) async fn call_claims_endpoint(
        &self,
        def: &IssuerDefinition,
        config_id: &str,
        subject: &Map<String, Value>,
        budget: std::time::Duration,
    ) -> Result<EndpointAnswer, EndpointFailure> {
        let failed = |m: &str| EndpointFailure::Failed(m.to_owned());
        let url = def
            .claims_endpoint
            .as_deref()
            .ok_or_else(|| failed("no claims endpoint"))?;
        let deps = self
            .authorization
            .as_ref()
            .ok_or_else(|| failed("the authorization code flow is not composed"))?;
        // The policy may have changed since the issuer was created (VDC_OUTBOUND_ALLOW).
        deps.fetcher
            .check_url(url)
            .map_err(|e| EndpointFailure::Failed(format!("outbound policy: {e}")))?;
        let secret = self
            .open_claims_endpoint_secret(def)
            .map_err(|e| EndpointFailure::Failed(e.to_string()))?;
        let client = deps
            .claims_client(self.settings.claims_endpoint_timeout)
            .map_err(|e| EndpointFailure::Failed(format!("HTTP client: {e}")))?;
        let body = json!({
            "issuer": def.id,
            "credential_configuration_id": config_id,
            "subject": subject,
        })
        .to_string();
        let msg_id = format!(
            "msg_{}",
            self.random_b64(16)
                .map_err(|e| EndpointFailure::Failed(e.to_string()))?
        );
        let timestamp = self.now().secs();
        let signature = vdc_webhooks::sign(&secret, &msg_id, timestamp, &body);
        let request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .header("webhook-id", &msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        let (status, bytes) = match tokio::time::timeout(budget, exchange(request)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(EndpointFailure::Failed(format!(
                    "no answer within {} ms",
                    budget.as_millis()
                )));
            }
        };
        classify(status, &bytes)
    }
}

/// A JSON pointer reference token (RFC 6901 §3).
fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Sends the request and reads at most [`MAX_ANSWER_BYTES`] of the answer.
async fn exchange(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), EndpointFailure> {
    let transport = |e: reqwest::Error| {
        EndpointFailure::Failed(if e.is_timeout() {
            "timed out".to_owned()
        } else if e.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed".to_owned()
        })
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let too_large = || EndpointFailure::Failed(format!("answer over {MAX_ANSWER_BYTES} bytes"));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    // Content-Length may be absent (chunked): the bound holds while reading.
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len().saturating_add(chunk.len()) > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// What an answer means (the contract: `200 {"claims": {...}}` or `202 {"retry_after": N}`).
fn classify(status: u16, body: &[u8]) -> Result<EndpointAnswer, EndpointFailure> {
    let failed = |m: String| EndpointFailure::Failed(m);
    let object = || {
        vdc_core::json::parse_object(body, MAX_ANSWER_BYTES)
            .map_err(|e| failed(format!("HTTP {status} answer is not a JSON object: {e}")))
    };
    match status {
        200 => match object()?.remove("claims") {
            Some(claims @ Value::Object(_)) => Ok(EndpointAnswer::Claims(claims)),
            Some(_) => Err(failed("claims is not an object".into())),
            None => Err(failed("the 200 answer has no claims".into())),
        },
        202 => match object()?.get("retry_after").and_then(Value::as_u64) {
            Some(n) if (1..=MAX_RETRY_AFTER).contains(&n) => Ok(EndpointAnswer::Deferred(n)),
            _ => Err(failed(format!(
                "the 202 answer needs retry_after, 1 to {MAX_RETRY_AFTER} seconds"
            ))),
        },
        400..=499 => Err(EndpointFailure::Denied(status)),
        _ => Err(failed(format!("answered HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_by_the_contract() {
        assert_eq!(
            classify(200, br#"{"claims": {"employee_id": "E-1"}}"#),
            Ok(EndpointAnswer::Claims(json!({"employee_id": "E-1"})))
        );
        assert_eq!(
            classify(202, br#"{"retry_after": 30}"#),
            Ok(EndpointAnswer::Deferred(30))
        );
        assert_eq!(classify(403, b"nope"), Err(EndpointFailure::Denied(403)));
        assert_eq!(classify(404, b""), Err(EndpointFailure::Denied(404)));
        for (status, body) in [
            (200, &b"not json"[..]),
            (200, br#"{"claims": ["x"]}"#),
            (200, br#"{"claims": "x"}"#),
            (200, br#"{}"#),
            (200, br#"[]"#),
            (202, br#"{}"#),
            (202, br#"{"retry_after": 0}"#),
            (202, br#"{"retry_after": 86401}"#),
            (202, br#"{"retry_after": "5"}"#),
            (201, br#"{"claims": {}}"#),
            (302, b""),
            (500, br#"{"claims": {}}"#),
            (503, b""),
        ] {
            assert!(
                matches!(classify(status, body), Err(EndpointFailure::Failed(_))),
                "{status} {}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn protocol_members_are_not_sent() {
        let mut claims = Map::new();
        for (k, v) in [
            ("sub", "emp-1"),
            ("nonce", "n"),
            ("at_hash", "h"),
            ("email", "e"),
        ] {
            claims.insert(k.into(), v.into());
        }
        let login = vdc_oidc::Login {
            subject: "emp-1".into(),
            claims,
        };
        let subject = subject_of(&login);
        assert_eq!(subject.len(), 2);
        assert!(subject.contains_key("sub") && subject.contains_key("email"));
    }
}
