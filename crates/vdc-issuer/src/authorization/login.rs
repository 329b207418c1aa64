//! The login at the enterprise's OpenID Provider: vdc is its relying party (OpenID Connect
//! Core 1.0 §3.1, with PKCE). Nothing secret about a login is stored: the provider-side
//! `nonce` and PKCE verifier are derived from the login `state` under the KEK, so only the
//! instance that holds the KEK (any instance of the deployment) can finish the login.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::time::UnixTime;
use vdc_oidc::{Login, OidcError, ProviderConfig, RelyingParty};

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// How long a discovered provider (metadata and keys) is reused, seconds.
const DISCOVERY_TTL: i64 = 300;

/// A discovered provider: when, which provider issuer, and the relying party.
type Discovered = (UnixTime, String, Arc<RelyingParty>);

/// Discovered providers by issuer tenant (a cache: losing it costs a discovery).
#[derive(Debug, Default)]
pub(crate) struct RelyingParties {
    by_issuer: Mutex<HashMap<String, Discovered>>,
}

impl RelyingParties {
    fn get(&self, issuer_id: &str, provider: &str, now: UnixTime) -> Option<Arc<RelyingParty>> {
        let map = self.by_issuer.lock().unwrap_or_else(|e| e.into_inner());
        map.get(issuer_id)
            .filter(|(at, p, _)| p == provider && now.secs() - at.secs() < DISCOVERY_TTL)
            .map(|(_, _, rp)| rp.clone())
    }

    fn put(&self, issuer_id: &str, provider: &str, now: UnixTime, rp: Arc<RelyingParty>) {
        self.by_issuer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(issuer_id.to_owned(), (now, provider.to_owned(), rp));
    }
}

/// What a provider failure means for the wallet (RFC 6749 §4.1.2.1): an outage is
/// `temporarily_unavailable`; a refusal or an answer that fails validation is
/// `access_denied`. Nothing is issued either way.
pub(crate) fn provider_error(e: OidcError) -> IssuerError {
    match e {
        OidcError::Unavailable(m) => {
            tracing::warn!(error = %m, "identity provider unavailable");
            IssuerError::TemporarilyUnavailable("the identity provider did not answer".into())
        }
        OidcError::Rejected(m) => {
            tracing::info!(error = %m, "identity provider refused the login");
            IssuerError::AccessDenied("the identity provider refused the login".into())
        }
        OidcError::Invalid(m) => {
            tracing::warn!(error = %m, "identity provider answer failed validation");
            IssuerError::AccessDenied("the identity provider's answer failed validation".into())
        }
    }
}

impl Issuer {
    /// The relying party of the issuer's identity provider (discovered, cached).
    pub(crate) async fn relying_party(&self, def: &IssuerDefinition) -> Result<Arc<RelyingParty>> {
        let deps = self
            .authorization
            .as_ref()
            .ok_or_else(|| IssuerError::Internal("authorization flow not composed".into()))?;
        let idp = def.identity_provider.as_ref().ok_or_else(|| {
            IssuerError::InvalidRequest("this issuer has no identity provider".into())
        })?;
        let now = self.now();
        if let Some(rp) = deps.relying_parties.get(&def.id, &idp.issuer, now) {
            return Ok(rp);
        }
        let sealed = idp
            .client_secret_sealed
            .as_deref()
            .ok_or_else(|| IssuerError::Internal("identity provider secret missing".into()))?;
        let secret = self.open_client_secret(&def.id, sealed)?;
        let config = ProviderConfig {
            issuer: idp.issuer.clone(),
            client_id: idp.client_id.clone(),
            client_secret: secret,
            scopes: idp.scopes.clone(),
            redirect_uri: self.login_redirect_uri(&def.id),
        };
        let rp = Arc::new(
            RelyingParty::discover(&deps.fetcher, config)
                .await
                .map_err(provider_error)?,
        );
        deps.relying_parties
            .put(&def.id, &idp.issuer, now, rp.clone());
        Ok(rp)
    }

    /// vdc's redirect URI at the provider (contract-next "IdP login").
    pub fn login_redirect_uri(&self, issuer_id: &str) -> String {
        format!("{}/authorize/callback", self.issuer_url(issuer_id))
    }

    /// The provider-side `nonce` and PKCE `code_verifier` of a login (derived, not stored).
    pub(crate) fn login_secrets(&self, issuer_id: &str, login_state: &str) -> (String, String) {
        let input = format!("{issuer_id}\0{login_state}");
        let kek = self.keys.kek();
        (
            base64url::encode(kek.derive("idp_nonce", &input)),
            base64url::encode(kek.derive("idp_pkce_verifier", &input)),
        )
    }

    /// Seals a provider client secret for the stored definition (KEK, G8).
    pub(crate) fn seal_client_secret(&self, issuer_id: &str, secret: &str) -> Result<String> {
        let sealed = self
            .keys
            .kek()
            .seal(
                secret.as_bytes(),
                &vdc_store::sealed::context::idp_client_secret(issuer_id),
                self.rng.as_ref(),
            )
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Ok(base64url::encode(sealed))
    }

    fn open_client_secret(
        &self,
        issuer_id: &str,
        sealed: &str,
    ) -> Result<zeroize::Zeroizing<String>> {
        let bytes = base64url::decode(sealed).map_err(|e| IssuerError::Internal(e.to_string()))?;
        let plain = self
            .keys
            .kek()
            .open(
                &bytes,
                &vdc_store::sealed::context::idp_client_secret(issuer_id),
            )
            .map_err(|e| IssuerError::Internal(format!("identity provider secret: {e}")))?;
        String::from_utf8(plain.to_vec())
            .map(zeroize::Zeroizing::new)
            .map_err(|_| IssuerError::Internal("identity provider secret is not UTF-8".into()))
    }
}

/// The login claims the claim mapping reads (the provider is asked for userinfo when the
/// ID token lacks any of them).
pub(crate) fn needed_claims(def: &IssuerDefinition) -> Vec<&str> {
    def.identity_provider
        .as_ref()
        .map(|idp| idp.claim_mapping.iter().map(|m| m.from.as_str()).collect())
        .unwrap_or_default()
}

/// The claims of each configuration from a login, by the claim mapping; each set checked
/// against its configuration (a mandatory claim the login lacks is `access_denied`).
pub(crate) fn map_claims(
    def: &IssuerDefinition,
    configuration_ids: &[String],
    login: &Login,
) -> Result<Value> {
    let mapping = def
        .identity_provider
        .as_ref()
        .map(|i| i.claim_mapping.as_slice())
        .unwrap_or_default();
    let mut by_config = Map::new();
    for id in configuration_ids {
        let config = def
            .credential_configurations
            .get(id)
            .ok_or(IssuerError::UnknownCredentialConfiguration)?;
        let mut claims = Value::Object(Map::new());
        for m in mapping.iter().filter(|m| config.offers_claim(&m.path)) {
            if let Some(v) = login.claim(&m.from) {
                set_path(&mut claims, &m.path, v.clone());
            }
        }
        config.check_claims(id, &claims).map_err(|e| {
            IssuerError::AccessDenied(format!(
                "the login does not give the credential's claims: {e}"
            ))
        })?;
        by_config.insert(id.clone(), claims);
    }
    Ok(Value::Object(by_config))
}

fn set_path(target: &mut Value, path: &[String], value: Value) {
    let mut at = target;
    for (i, name) in path.iter().enumerate() {
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        let Value::Object(obj) = at else { return };
        if i + 1 == path.len() {
            obj.insert(name.clone(), value);
            return;
        }
        at = obj
            .entry(name.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}
