//! vdc-oidc: vdc as the relying party of an enterprise OpenID Provider.
//!
//! The issuer sends an employee to log in at the provider with the authorization code flow
//! of OpenID Connect Core 1.0 §3.1, with PKCE S256 (RFC 7636) and the confidential client
//! authentication `client_secret_basic` (RFC 6749 §2.3.1), then reads the login's claims.
//!
//! Layout:
//! - [`RelyingParty::discover`]: OpenID Connect Discovery 1.0 (§4: the configuration
//!   document, whose `issuer` must be the configured one exactly) and the provider's JWKS.
//! - [`RelyingParty::authorization_url`]: the authentication request (Core §3.1.2.1).
//! - [`RelyingParty::complete`]: the token request (Core §3.1.3.1), ID token validation
//!   (Core §3.1.3.7) and, when the ID token lacks a needed claim, the UserInfo request
//!   (Core §5.3) whose `sub` must match (§5.3.4).
//! - `IdpPeer` (feature `testing`): a real provider (npm `oidc-provider`, from
//!   `conformance/idp/`) as a child process, for tests.
//!
//! Every request goes out through the deployment's [`Fetcher`] policy (G7): its filtering
//! resolver, allow-list, time bound and body-size bound; redirects are not followed.

mod discovery;
mod http;
mod id_token;
mod jwks;
#[cfg(feature = "testing")]
mod peer;

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use vdc_core::fetch::Fetcher;
use vdc_core::time::UnixTime;
use zeroize::Zeroizing;

use crate::discovery::Metadata;
use crate::http::Http;
use crate::jwks::KeySet;
#[cfg(feature = "testing")]
pub use crate::peer::IdpPeer;

/// Allowed clock difference with the provider when checking `exp` and `iat`, seconds.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// How vdc is registered at one OpenID Provider.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The provider's Issuer Identifier (an `https` URL, or an allow-listed `http` one),
    /// compared exactly with the discovered `issuer` and the ID token's `iss`.
    pub issuer: String,
    /// vdc's client identifier at the provider.
    pub client_id: String,
    /// The client secret for `client_secret_basic`.
    pub client_secret: Zeroizing<String>,
    /// The scopes requested; `openid` is added when missing (Core §3.1.2.1).
    pub scopes: Vec<String>,
    /// vdc's registered redirection URI.
    pub redirect_uri: String,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// Why talking to the provider failed. Messages never carry the client secret, codes,
/// tokens or response bodies (only the provider's OAuth error code and description).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or did not answer in time, or answered with a
    /// server error (5xx, 429): worth retrying later.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused: an OAuth error from the token endpoint (RFC 6749 §5.2) or the
    /// UserInfo endpoint (RFC 6750 §3.1), such as a wrong client secret or a used code.
    #[error("identity provider refused: {0}")]
    Rejected(String),
    /// The provider's answer (or the configuration) fails validation: issuer mismatch, bad
    /// signature, wrong `aud` or `nonce`, expired ID token, malformed JSON, policy refusal.
    #[error("identity provider answer invalid: {0}")]
    Invalid(String),
}

/// A finished login.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// The ID token's `sub`: the End-User's identifier at the provider.
    pub subject: String,
    /// Every claim: the ID token's, plus the UserInfo claims it lacks (when UserInfo was
    /// asked). On a name in both, the ID token's value is kept.
    pub claims: Map<String, Value>,
}

impl Login {
    /// A claim of the login, if present.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

/// The relying party of one provider: its discovered metadata and keys and vdc's
/// registration there. `Send + Sync`; share it behind an `Arc`.
pub struct RelyingParty {
    config: ProviderConfig,
    metadata: Metadata,
    keys: RwLock<Arc<KeySet>>,
    http: Http,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.current_keys();
        f.debug_struct("RelyingParty")
            .field("issuer", &self.config.issuer)
            .field("client_id", &self.config.client_id)
            .field("redirect_uri", &self.config.redirect_uri)
            .field("scopes", &self.config.scopes)
            .field("metadata", &self.metadata)
            .field("keys", &keys.len())
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// Reads the provider's configuration (OpenID Connect Discovery 1.0 §4) and its JWKS.
    pub async fn discover(fetcher: &Fetcher, config: ProviderConfig) -> Result<Self, OidcError> {
        discovery::check_config(&config)?;
        let http = Http::new(fetcher)?;
        let doc = http
            .get_json(
                "provider configuration",
                &discovery::configuration_url(&config.issuer),
            )
            .await?;
        let metadata = Metadata::from_document(&doc, &config.issuer, fetcher)?;
        let keys = KeySet::from_jwks(&http.get_json("JWKS", &metadata.jwks_uri).await?)?;
        Ok(Self {
            config,
            metadata,
            keys: RwLock::new(Arc::new(keys)),
            http,
        })
    }

    /// The provider's Issuer Identifier.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The authentication request to send the End-User's browser to (Core §3.1.2.1), with
    /// the PKCE challenge `BASE64URL(SHA256(code_verifier))` (RFC 7636 §4.2, `S256`).
    /// `state`, `nonce` and `code_verifier` come from the caller, who must be able to
    /// produce them again in [`RelyingParty::complete`].
    pub fn authorization_url(&self, state: &str, nonce: &str, code_verifier: &str) -> String {
        let challenge =
            vdc_core::base64url::encode(vdc_core::digest::sha256(code_verifier.as_bytes()));
        let mut url = self.metadata.authorization_endpoint.clone();
        // RFC 6749 §3.1: the endpoint's own query component is kept; parameters are added.
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_uri)
            .append_pair("scope", &self.scope())
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        url.into()
    }

    /// Finishes a login: redeems `code` at the token endpoint with the PKCE `code_verifier`,
    /// validates the ID token (Core §3.1.3.7) against `nonce` and `now`, and, if any of
    /// `needed_claims` is not in the ID token, asks the UserInfo endpoint (Core §5.3).
    ///
    /// A needed claim the provider does not give at all is simply absent from the
    /// [`Login`]; deciding whether that is acceptable is the caller's.
    pub async fn complete(
        &self,
        code: &str,
        code_verifier: &str,
        nonce: &str,
        needed_claims: &[&str],
        now: UnixTime,
    ) -> Result<Login, OidcError> {
        if nonce.is_empty() {
            return Err(OidcError::Invalid("a login needs a nonce".into()));
        }
        let tokens = self
            .http
            .redeem_code(
                &self.metadata.token_endpoint,
                &self.config,
                code,
                code_verifier,
            )
            .await?;
        let mut claims = self
            .verify_id_token(&tokens.id_token, nonce, &tokens.access_token, now)
            .await?;
        let subject = match claims.get("sub") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(OidcError::Invalid("ID token has no sub".into())),
        };
        let missing = needed_claims.iter().any(|c| !claims.contains_key(*c));
        if missing && let Some(endpoint) = &self.metadata.userinfo_endpoint {
            let userinfo = self
                .http
                .userinfo(endpoint, &tokens.token_type, &tokens.access_token)
                .await?;
            merge_userinfo(&mut claims, &subject, userinfo)?;
        }
        Ok(Login { subject, claims })
    }

    /// The `scope` parameter: the configured scopes, `openid` first (Core §3.1.2.1: REQUIRED).
    fn scope(&self) -> String {
        let mut scopes: Vec<&str> = vec!["openid"];
        scopes.extend(
            self.config
                .scopes
                .iter()
                .map(String::as_str)
                .filter(|s| *s != "openid" && !s.is_empty()),
        );
        scopes.join(" ")
    }

    fn current_keys(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Checks the ID token; on a `kid` the cached JWKS does not have, reads the JWKS once
    /// more (Core §10.1.1: a provider rotates keys by publishing new ones in its JWKS).
    async fn verify_id_token(
        &self,
        token: &str,
        nonce: &str,
        access_token: &str,
        now: UnixTime,
    ) -> Result<Map<String, Value>, OidcError> {
        let parsed = id_token::Parsed::decode(token)?;
        let keys = self.current_keys();
        match parsed.verify_signature(&keys) {
            Ok(()) => {}
            Err(id_token::SignatureError::NoKey(_)) => {
                let fresh = Arc::new(KeySet::from_jwks(
                    &self.http.get_json("JWKS", &self.metadata.jwks_uri).await?,
                )?);
                *self
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
                parsed
                    .verify_signature(&fresh)
                    .map_err(id_token::SignatureError::into_oidc)?;
            }
            Err(e) => return Err(e.into_oidc()),
        }
        let expected = id_token::Expected {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce,
            access_token: Some(access_token),
            now,
        };
        parsed.check_claims(&expected)?;
        Ok(parsed.payload)
    }
}

/// Adds the UserInfo claims the ID token lacks (the ID token's values are kept).
///
/// Spec: OIDC Core §5.3.4: the UserInfo `sub` MUST exactly match the ID token's; otherwise
/// the UserInfo values MUST NOT be used.
fn merge_userinfo(
    claims: &mut Map<String, Value>,
    subject: &str,
    userinfo: Map<String, Value>,
) -> Result<(), OidcError> {
    match userinfo.get("sub") {
        Some(Value::String(s)) if s == subject => {}
        Some(Value::String(_)) => {
            return Err(OidcError::Invalid(
                "UserInfo sub does not match the ID token's sub".into(),
            ));
        }
        _ => return Err(OidcError::Invalid("UserInfo response has no sub".into())),
    }
    for (name, value) in userinfo {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

/// Text from the provider, for an error message: at most `max` characters, no controls.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_hides_the_secret() {
        let config = ProviderConfig {
            issuer: "https://idp.example".into(),
            client_id: "vdc".into(),
            client_secret: Zeroizing::new("hunter2-very-secret".into()),
            scopes: vec!["profile".into()],
            redirect_uri: "https://vdc.example/cb".into(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn relying_party_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RelyingParty>();
        check::<Login>();
        check::<OidcError>();
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn userinfo_is_merged_only_for_the_same_subject() {
        let id_claims = map(
            serde_json::json!({"sub": "emp-1001", "iss": "https://idp.example", "email": "ada@example.com"}),
        );
        let mut claims = id_claims.clone();
        let userinfo = map(serde_json::json!({
            "sub": "emp-1001", "employee_number": "1001",
            "email": "other@example.com", "iss": "https://evil.example"
        }));
        merge_userinfo(&mut claims, "emp-1001", userinfo).unwrap();
        assert_eq!(claims["employee_number"], "1001");
        // The ID token's values win.
        assert_eq!(claims["email"], "ada@example.com");
        assert_eq!(claims["iss"], "https://idp.example");

        for userinfo in [
            serde_json::json!({"sub": "emp-1002", "employee_number": "1002"}),
            serde_json::json!({"sub": "EMP-1001", "employee_number": "1002"}),
            serde_json::json!({"employee_number": "1002"}),
            serde_json::json!({"sub": 1001, "employee_number": "1002"}),
        ] {
            let mut claims = id_claims.clone();
            let err = merge_userinfo(&mut claims, "emp-1001", map(userinfo)).unwrap_err();
            assert!(
                matches!(err, OidcError::Invalid(ref m) if m.contains("sub")),
                "{err}"
            );
            assert_eq!(claims, id_claims, "nothing is merged on a mismatch");
        }
    }

    #[test]
    fn printable_bounds_and_strips_controls() {
        assert_eq!(printable("a\nb\u{7}c", 10), "abc");
        assert_eq!(printable("abcdef", 3), "abc");
    }
}
