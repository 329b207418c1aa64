//! Where the verifier gets issuer keys and credential status, and how it keeps its own
//! private keys: small traits the `vdc` binary implements over this deployment's issuer and
//! status services (the verifier never depends on them: STYLE.md §1), plus
//! [`DeploymentKeyResolver`], the issuer-key policy of one verifier.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use vdc_core::fetch::Fetcher;
use vdc_core::jose::JwkSet;
use vdc_core::sd_jwt_vc::{IssuerKeyResolver, IssuerTrustPolicy, KeyMechanism, ResolvedIssuerKey};
use vdc_core::time::Clock;
use vdc_core::x509::TrustAnchors;
use zeroize::Zeroizing;

use crate::error::Result;

/// This deployment's issuers, resolved in process (contract: "Issuers of this deployment,
/// their keys and their status lists are resolved inside the server, without an HTTP round
/// trip").
#[async_trait]
pub trait LocalIssuers: Send + Sync + fmt::Debug {
    /// The verification keys of the issuer whose credential issuer identifier is `iss`, or
    /// `None` if `iss` is not one of this deployment's issuers.
    async fn keys(&self, iss: &str) -> Option<JwkSet>;
}

/// The status of a credential, as the status list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// Status 0.
    Valid,
    /// Status 1 (invalid).
    Revoked,
    /// Status 2.
    Suspended,
}

impl CredentialState {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }
}

/// Checks a credential's `status` claim (draft-ietf-oauth-status-list §8.3) with a cache.
#[async_trait]
pub trait StatusChecker: Send + Sync + fmt::Debug {
    /// The state of the credential whose `status` claim is `status`, issued by `issuer`;
    /// `Err` with a short reason if it cannot be established.
    async fn check(
        &self,
        status: &Value,
        issuer: &str,
    ) -> std::result::Result<CredentialState, String>;

    /// The state one W3C `credentialStatus` entry (a `BitstringStatusListEntry`, W3C
    /// Bitstring Status List v1.0 §2.1) gives the credential issued by `issuer`: a set bit
    /// of purpose `revocation` is [`CredentialState::Revoked`], of `suspension`
    /// [`CredentialState::Suspended`]. `Err` with a short reason if it cannot be
    /// established. The default establishes nothing.
    async fn check_bitstring(
        &self,
        entry: &Value,
        issuer: &str,
    ) -> std::result::Result<CredentialState, String> {
        let _ = (entry, issuer);
        Err("bitstring status lists are not supported by this checker".into())
    }
}

/// Seals private keys at rest (the deployment's key-encryption key).
pub trait KeyVault: Send + Sync + fmt::Debug {
    /// Encrypts `plaintext` bound to `context`.
    fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>>;
    /// Decrypts what [`KeyVault::seal`] produced for the same `context`.
    fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>>;
}

/// A verifier's issuer-key policy (G3, G5): `iss` must be trusted; this deployment's issuers
/// get their keys in process; foreign issuers through JWT VC Issuer Metadata fetched with
/// the hardened fetcher (G7), when one is configured.
#[derive(Clone)]
pub struct DeploymentKeyResolver {
    local: Arc<dyn LocalIssuers>,
    trusted: Option<Vec<String>>,
    fetcher: Option<Fetcher>,
    foreign: Option<IssuerTrustPolicy>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for DeploymentKeyResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentKeyResolver")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl DeploymentKeyResolver {
    /// Trusts `trusted` issuers only (`None`: any issuer, for callers that pin the issuer
    /// themselves, such as the status list client's `expected_issuer`).
    pub fn new(
        local: Arc<dyn LocalIssuers>,
        trusted: Option<Vec<String>>,
        fetcher: Option<Fetcher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let foreign = match (&trusted, &fetcher) {
            (Some(t), Some(f)) => Some(
                IssuerTrustPolicy::new(t.clone())
                    .with_metadata_fetcher(f.clone())
                    .with_clock(clock.clone()),
            ),
            _ => None,
        };
        Self {
            local,
            trusted,
            fetcher,
            foreign,
            clock,
        }
    }

    /// Also accepts foreign issuers whose `x5c` chain ends at one of `anchors` (G5: the
    /// only way a chain becomes trusted). Needs a trusted-issuer list.
    pub fn with_x509_anchors(mut self, anchors: TrustAnchors) -> Self {
        if let Some(trusted) = &self.trusted {
            let policy = self.foreign.take().unwrap_or_else(|| {
                IssuerTrustPolicy::new(trusted.clone()).with_clock(self.clock.clone())
            });
            self.foreign = Some(policy.with_x509_anchors(anchors));
        }
        self
    }
}

#[async_trait]
impl IssuerKeyResolver for DeploymentKeyResolver {
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> vdc_core::Result<ResolvedIssuerKey> {
        let untrusted = |m: &str| vdc_core::Error::UntrustedKey(m.to_owned());
        let iss = payload
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| untrusted("no iss to establish the issuer"))?;
        if let Some(trusted) = &self.trusted
            && !trusted.iter().any(|t| t == iss)
        {
            return Err(untrusted("the issuer is not trusted by this verifier"));
        }
        if let Some(keys) = self.local.keys(iss).await {
            let kid = header.get("kid").and_then(Value::as_str);
            let key = match kid {
                Some(kid) => keys.by_kid(kid).map(|k| k.key.clone()),
                None if keys.keys.len() == 1 => keys.keys.first().map(|k| k.key.clone()),
                None => None,
            }
            .ok_or_else(|| untrusted("no key of this issuer matches the kid"))?;
            return Ok(ResolvedIssuerKey {
                key,
                issuer: iss.to_owned(),
                mechanism: KeyMechanism::Pinned,
            });
        }
        match (&self.foreign, &self.fetcher) {
            (Some(policy), _) => policy.resolve(header, payload).await,
            (None, Some(fetcher)) if self.trusted.is_none() => {
                IssuerTrustPolicy::new(vec![iss.to_owned()])
                    .with_metadata_fetcher(fetcher.clone())
                    .resolve(header, payload)
                    .await
            }
            _ => Err(untrusted("no permitted key mechanism found a key")),
        }
    }
}
