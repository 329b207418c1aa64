//! Where the verifier gets issuer keys: [`LocalIssuers`] (this deployment's issuers, by
//! default [`KeyRingIssuers`] over the shared key ring, never through the issuer service:
//! STYLE.md §1) and [`DeploymentKeyResolver`], the issuer-key policy of one verifier.
//! Credential status comes from `vdc_status::StatusChecker`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use vdc_core::fetch::Fetcher;
use vdc_core::jose::JwkSet;
use vdc_core::sd_jwt_vc::{IssuerKeyResolver, IssuerTrustPolicy, KeyMechanism, ResolvedIssuerKey};
use vdc_core::time::Clock;
use vdc_core::x509::TrustAnchors;
use vdc_store::KeyRing;

/// This deployment's issuers, resolved in process (contract: "Issuers of this deployment,
/// their keys and their status lists are resolved inside the server, without an HTTP round
/// trip").
#[async_trait]
pub trait LocalIssuers: Send + Sync + fmt::Debug {
    /// The verification keys of the issuer whose credential issuer identifier is `iss`, or
    /// `None` if `iss` is not one of this deployment's issuers.
    async fn keys(&self, iss: &str) -> Option<JwkSet>;
}

/// This deployment's issuers through the shared [`KeyRing`]: `iss` is
/// `{public_url}/issuers/{issuer}` (the issuer's credential issuer identifier), its keys are
/// the tenant's published keys (retired ones too, R3).
#[derive(Debug, Clone)]
pub struct KeyRingIssuers {
    keys: KeyRing,
    public_url: String,
    clock: Arc<dyn Clock>,
}

impl KeyRingIssuers {
    /// The issuers under `public_url` whose keys `keys` holds.
    pub fn new(keys: KeyRing, public_url: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            public_url: public_url.to_owned(),
            clock,
        }
    }
}

#[async_trait]
impl LocalIssuers for KeyRingIssuers {
    async fn keys(&self, iss: &str) -> Option<JwkSet> {
        let id = vdc_http::tenant_url::issuer_of_url(&self.public_url, iss)?;
        // A tenant without keys is no tenant of this deployment (every issuer gets its key
        // when it is created).
        let published = self.keys.published(id, self.clock.now()).await.ok()?;
        (!published.keys.is_empty()).then(|| published.jwk_set())
    }
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
