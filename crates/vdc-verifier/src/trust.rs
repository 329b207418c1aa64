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

    /// The certificate chain (DER, leaf first) the operator configured for the key `kid` of
    /// this deployment's issuer `iss` (`kid` absent: its sole key), if any. By default none.
    async fn x5c(&self, iss: &str, kid: Option<&str>) -> Option<Vec<Vec<u8>>> {
        let _ = (iss, kid);
        None
    }
}

/// The certificate chain behind a verified credential's issuer key that this verifier vouches
/// for, as DCQL `trusted_authorities` of type `aki` needs it (OID4VP 1.0 §6.1.1.1: "an X.509
/// certificate in the certificate chain present in the Credential").
#[async_trait]
pub trait IssuerChains: Send + Sync + fmt::Debug {
    /// The credential's `x5c` chain (DER, leaf first) when its issuer key was established
    /// through it: validated to a configured trust anchor ([`KeyMechanism::X509`]), or, for
    /// this deployment's issuers, the chain the operator configured for the signing key.
    /// `None` when the chain was not checked (any other mechanism, or no `x5c`): an
    /// unchecked chain names whatever authority its sender likes.
    async fn vouched_chain(
        &self,
        header: &Map<String, Value>,
        issuer: &str,
        mechanism: KeyMechanism,
    ) -> Option<Vec<Vec<u8>>>;
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

    async fn x5c(&self, iss: &str, kid: Option<&str>) -> Option<Vec<Vec<u8>>> {
        let id = vdc_http::tenant_url::issuer_of_url(&self.public_url, iss)?;
        let published = self.keys.published(id, self.clock.now()).await.ok()?;
        let key = match kid {
            Some(kid) => published
                .keys
                .iter()
                .find(|k| k.jwk.kid.as_deref() == Some(kid))?,
            None if published.keys.len() == 1 => published.keys.first()?,
            None => return None,
        };
        vdc_core::x509::parse_x5c(key.x5c.as_ref()?).ok()
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
impl IssuerChains for DeploymentKeyResolver {
    async fn vouched_chain(
        &self,
        header: &Map<String, Value>,
        issuer: &str,
        mechanism: KeyMechanism,
    ) -> Option<Vec<Vec<u8>>> {
        let sent = vdc_core::x509::parse_x5c(header.get("x5c")?).ok()?;
        match mechanism {
            // `resolve` validated exactly this header chain to a configured anchor.
            KeyMechanism::X509 if self.foreign.is_some() => Some(sent),
            // A local issuer's key was pinned by `kid`: its chain is the operator's, and the
            // credential's `x5c` counts only if it is that chain.
            KeyMechanism::Pinned => {
                let kid = header.get("kid").and_then(Value::as_str);
                let configured = self.local.x5c(issuer, kid).await?;
                (configured == sent).then_some(sent)
            }
            _ => None,
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vdc_core::jose::{Algorithm, SigningKey};
    use vdc_core::rng::SeededRandom;
    use vdc_core::time::{FixedClock, UnixTime};
    use vdc_core::x509::{self, CertificateSpec};

    use super::*;

    const ISS: &str = "https://vdc.example/issuers/acme";

    /// One local issuer whose key `k1` has `chain`.
    #[derive(Debug)]
    struct Local(Vec<Vec<u8>>);

    #[async_trait]
    impl LocalIssuers for Local {
        async fn keys(&self, _: &str) -> Option<JwkSet> {
            None
        }

        async fn x5c(&self, iss: &str, kid: Option<&str>) -> Option<Vec<Vec<u8>>> {
            (iss == ISS && kid == Some("k1")).then(|| self.0.clone())
        }
    }

    fn chain(seed: u64) -> (Vec<u8>, Vec<u8>) {
        let rng = SeededRandom::new(seed);
        let spec = |cn: &str| {
            CertificateSpec::new(cn, UnixTime(1_000), UnixTime(2_000_000_000), &rng).unwrap()
        };
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let ca = x509::self_signed(&spec("CA").ca(), &ca_key).unwrap();
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = x509::issue(&spec("leaf"), key.public_key(), &ca, &ca_key).unwrap();
        (ca, leaf)
    }

    fn header(kid: &str, chain: &[Vec<u8>]) -> Map<String, Value> {
        json!({"kid": kid, "x5c": x509::to_x5c(chain)})
            .as_object()
            .unwrap()
            .clone()
    }

    fn resolver(configured: Vec<Vec<u8>>) -> DeploymentKeyResolver {
        DeploymentKeyResolver::new(
            Arc::new(Local(configured)),
            Some(vec![ISS.into()]),
            None,
            Arc::new(FixedClock::at(1_000_000)),
        )
    }

    #[tokio::test]
    async fn a_local_issuers_chain_is_vouched_for_only_when_the_credential_carries_it() {
        let (_, leaf) = chain(1);
        let (_, other) = chain(2);
        let r = resolver(vec![leaf.clone()]);
        let pinned = KeyMechanism::Pinned;
        let sent = header("k1", std::slice::from_ref(&leaf));
        assert_eq!(
            r.vouched_chain(&sent, ISS, pinned).await,
            Some(vec![leaf.clone()])
        );
        // Another chain in the header, another kid, no x5c at all: nothing is vouched for.
        let forged = header("k1", std::slice::from_ref(&other));
        assert_eq!(r.vouched_chain(&forged, ISS, pinned).await, None);
        let other_kid = header("k2", std::slice::from_ref(&leaf));
        assert_eq!(r.vouched_chain(&other_kid, ISS, pinned).await, None);
        let bare = json!({"kid": "k1"}).as_object().unwrap().clone();
        assert_eq!(r.vouched_chain(&bare, ISS, pinned).await, None);
        // A key from issuer metadata or a DID comes with no checked chain.
        for m in [KeyMechanism::JwtVcIssuerMetadata, KeyMechanism::Did] {
            assert_eq!(r.vouched_chain(&sent, ISS, m).await, None);
        }
        // X509 only counts where the policy validates chains to anchors.
        assert_eq!(r.vouched_chain(&sent, ISS, KeyMechanism::X509).await, None);
    }

    #[tokio::test]
    async fn a_chain_validated_to_an_anchor_is_vouched_for() {
        let (ca, leaf) = chain(3);
        let r = resolver(Vec::new())
            .with_x509_anchors(x509::TrustAnchors::from_der_certs(vec![ca]).unwrap());
        let sent = header("any", std::slice::from_ref(&leaf));
        assert_eq!(
            r.vouched_chain(&sent, ISS, KeyMechanism::X509).await,
            Some(vec![leaf])
        );
    }
}
