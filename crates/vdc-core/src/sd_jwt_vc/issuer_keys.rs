//! Finding and validating the issuer's verification key (SD-JWT VC §"Issuer Verification
//! Key Discovery and Validation"): "A recipient MUST determine and validate the public
//! verification key ... using a supported key discovery and validation mechanism that is
//! permitted for the given Issuer according to policy." Keys are never taken from the
//! token on its own word (G5): `x5c` only counts when the chain ends at a configured
//! anchor, `kid` only selects among keys already trusted for that issuer.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::did::{DidResolver, Relationship};
use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::jose::alg::printable;
use crate::jose::{JwkSet, PublicKey};
use crate::time::{Clock, SystemClock, UnixTime};
use crate::x509::{self, TrustAnchors};

/// How an issuer key was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyMechanism {
    /// Keys configured locally for the issuer (this deployment's issuers; pinned foreign keys).
    Pinned,
    /// JWT VC Issuer Metadata fetched from the `iss` URL.
    JwtVcIssuerMetadata,
    /// An `x5c` chain validated to a configured trust anchor.
    X509,
    /// A DID in `iss` resolved to a DID document.
    Did,
}

/// The key the issuer-signed JWT is verified with, and who it belongs to.
#[derive(Debug, Clone)]
pub struct ResolvedIssuerKey {
    /// The verification key.
    pub key: PublicKey,
    /// The issuer identifier the key was validated for.
    pub issuer: String,
    /// The mechanism that established it.
    pub mechanism: KeyMechanism,
}

/// Finds the issuer key for an issuer-signed JWT under a verifier's policy.
#[async_trait]
pub trait IssuerKeyResolver: Send + Sync + fmt::Debug {
    /// Resolves the key from the (unverified) header and payload.
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> Result<ResolvedIssuerKey>;
}

/// A verifier's issuer-trust policy: which issuers it trusts and which key mechanisms it
/// allows for them. A mechanism is only used when configured here; `iss` must be on
/// `trusted_issuers` before anything is fetched on its behalf (no fetches driven by
/// untrusted input beyond what the policy names).
#[derive(Clone)]
pub struct IssuerTrustPolicy {
    /// Issuer identifiers whose credentials are accepted. Empty means none.
    pub trusted_issuers: Vec<String>,
    /// Locally configured key sets by issuer identifier (tried first).
    pub pinned: HashMap<String, JwkSet>,
    /// Trust anchors for `x5c` chains; `None` disables the x5c mechanism.
    pub x509_anchors: Option<TrustAnchors>,
    /// DID resolver for DID issuers; `None` disables the DID mechanism.
    pub did_resolver: Option<Arc<dyn DidResolver>>,
    /// Fetcher for JWT VC Issuer Metadata; `None` disables that mechanism.
    pub metadata_fetcher: Option<Fetcher>,
    /// How long fetched issuer metadata is reused, seconds.
    pub metadata_ttl_secs: i64,
    /// The clock for certificate validity and the metadata cache.
    pub clock: Arc<dyn Clock>,
    metadata_cache: Arc<Mutex<HashMap<String, (JwkSet, UnixTime)>>>,
}

impl fmt::Debug for IssuerTrustPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerTrustPolicy")
            .field("trusted_issuers", &self.trusted_issuers)
            .field("pinned", &self.pinned.keys().collect::<Vec<_>>())
            .field("x509", &self.x509_anchors.is_some())
            .field("did", &self.did_resolver.is_some())
            .field("metadata", &self.metadata_fetcher.is_some())
            .finish()
    }
}

impl Default for IssuerTrustPolicy {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

/// Largest number of issuers whose metadata is cached at once.
const METADATA_CACHE_MAX: usize = 1024;

impl IssuerTrustPolicy {
    /// A policy trusting the listed issuers, with no key mechanism enabled yet.
    pub fn new(trusted_issuers: Vec<String>) -> Self {
        Self {
            trusted_issuers,
            pinned: HashMap::new(),
            x509_anchors: None,
            did_resolver: None,
            metadata_fetcher: None,
            metadata_ttl_secs: 300,
            clock: Arc::new(SystemClock),
            metadata_cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Pins a key set for an issuer.
    pub fn pin(mut self, issuer: impl Into<String>, keys: JwkSet) -> Self {
        self.pinned.insert(issuer.into(), keys);
        self
    }

    /// Enables `x5c` chains ending at these anchors.
    pub fn with_x509_anchors(mut self, anchors: TrustAnchors) -> Self {
        self.x509_anchors = Some(anchors);
        self
    }

    /// Enables DID issuers through this resolver.
    pub fn with_did_resolver(mut self, resolver: Arc<dyn DidResolver>) -> Self {
        self.did_resolver = Some(resolver);
        self
    }

    /// Enables JWT VC Issuer Metadata fetched with this (hardened) fetcher.
    pub fn with_metadata_fetcher(mut self, fetcher: Fetcher) -> Self {
        self.metadata_fetcher = Some(fetcher);
        self
    }

    /// Sets the clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn check_trusted(&self, issuer: &str) -> Result<()> {
        if self.trusted_issuers.iter().any(|t| t == issuer) {
            Ok(())
        } else {
            Err(Error::UntrustedKey(format!(
                "issuer {} is not trusted",
                printable(issuer)
            )))
        }
    }

    /// Spec: SD-JWT VC §"Issuer Verification Key Discovery and Validation", "Inline X.509
    /// Certificates": the key comes from the end-entity certificate of a chain validated to
    /// a trust anchor, and "the Issuer ... is the subject of the end-entity certificate".
    /// When `iss` is present it must name that certificate, by [`x5c_names_issuer`]; when
    /// absent, the issuer is the leaf's first URI SAN, else its first DNS SAN.
    fn resolve_x5c(
        &self,
        anchors: &TrustAnchors,
        x5c: &Value,
        iss: Option<&str>,
    ) -> Result<ResolvedIssuerKey> {
        let chain = x509::parse_x5c(x5c)?;
        let leaf = x509::validate_x5c(&chain, anchors, self.clock.now())?;
        let issuer = match iss {
            Some(iss) => {
                x5c_names_issuer(&leaf, iss)?;
                iss.to_owned()
            }
            None => leaf
                .uris
                .first()
                .or(leaf.dns_names.first())
                .cloned()
                .ok_or_else(|| Error::UntrustedKey("x5c certificate names no issuer".into()))?,
        };
        self.check_trusted(&issuer)?;
        Ok(ResolvedIssuerKey {
            key: leaf.public_key,
            issuer,
            mechanism: KeyMechanism::X509,
        })
    }

    async fn resolve_did(
        &self,
        resolver: &dyn DidResolver,
        iss: &str,
        kid: Option<&str>,
    ) -> Result<ResolvedIssuerKey> {
        let document = resolver.resolve(iss).await?;
        if document.id != iss {
            return Err(Error::UntrustedKey("DID document id is not the iss".into()));
        }
        // The key must be an assertionMethod of the issuer's own DID.
        let key = match kid {
            Some(kid) => document.key_for(kid, Relationship::AssertionMethod)?,
            None => document.sole_key_for(Relationship::AssertionMethod)?,
        };
        Ok(ResolvedIssuerKey {
            key: key.clone(),
            issuer: iss.to_owned(),
            mechanism: KeyMechanism::Did,
        })
    }

    async fn resolve_metadata(
        &self,
        fetcher: &Fetcher,
        iss: &str,
        kid: Option<&str>,
    ) -> Result<ResolvedIssuerKey> {
        let keys = self.issuer_metadata_keys(fetcher, iss).await?;
        Ok(ResolvedIssuerKey {
            key: select_key(&keys, kid)?.clone(),
            issuer: iss.to_owned(),
            mechanism: KeyMechanism::JwtVcIssuerMetadata,
        })
    }

    async fn issuer_metadata_keys(&self, fetcher: &Fetcher, iss: &str) -> Result<JwkSet> {
        let now = self.clock.now();
        if let Some((keys, fetched)) = self.lock_cache().get(iss)
            && now.secs() < fetched.secs() + self.metadata_ttl_secs
        {
            return Ok(keys.clone());
        }
        let metadata = fetcher.get_json(&jwt_vc_issuer_metadata_url(iss)?).await?;
        // Spec: SD-JWT VC §"JWT VC Issuer Metadata Validation": `issuer` MUST be identical
        // to `iss`, otherwise the response MUST NOT be used.
        if metadata.get("issuer").and_then(Value::as_str) != Some(iss) {
            return Err(Error::UntrustedKey(
                "issuer metadata names another issuer".into(),
            ));
        }
        // Spec: ibid. "Response": either `jwks_uri` or `jwks`, not both.
        let jwks = match (metadata.get("jwks"), metadata.get("jwks_uri")) {
            (Some(jwks), None) => jwks.clone(),
            (None, Some(Value::String(uri))) => fetcher.get_json(uri).await?,
            _ => {
                return Err(Error::UntrustedKey(
                    "issuer metadata must have exactly one of jwks and jwks_uri".into(),
                ));
            }
        };
        let keys = JwkSet::from_value(&jwks)?;
        let mut cache = self.lock_cache();
        if cache.len() >= METADATA_CACHE_MAX {
            cache.clear();
        }
        cache.insert(iss.to_owned(), (keys.clone(), now));
        Ok(keys)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, (JwkSet, UnixTime)>> {
        // A poisoned cache only holds fetched public metadata; keep using it.
        self.metadata_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl IssuerKeyResolver for IssuerTrustPolicy {
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> Result<ResolvedIssuerKey> {
        let iss = match payload.get("iss") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(Error::Claim("iss must be a string".into())),
        };
        let kid = header.get("kid").and_then(Value::as_str);
        if let (Some(anchors), Some(x5c)) = (&self.x509_anchors, header.get("x5c")) {
            return self.resolve_x5c(anchors, x5c, iss);
        }
        let iss =
            iss.ok_or_else(|| Error::UntrustedKey("no iss to establish the issuer".into()))?;
        self.check_trusted(iss)?;
        if let Some(keys) = self.pinned.get(iss) {
            return Ok(ResolvedIssuerKey {
                key: select_key(keys, kid)?.clone(),
                issuer: iss.to_owned(),
                mechanism: KeyMechanism::Pinned,
            });
        }
        if iss.starts_with("did:") {
            if let Some(resolver) = &self.did_resolver {
                return self.resolve_did(resolver.as_ref(), iss, kid).await;
            }
        } else if let Some(fetcher) = &self.metadata_fetcher {
            return self.resolve_metadata(fetcher, iss, kid).await;
        }
        Err(Error::UntrustedKey(format!(
            "no permitted key mechanism found a key for {}",
            printable(iss)
        )))
    }
}

/// Whether a validated x5c leaf certificate speaks for the issuer `iss` (G3, G5, G6).
///
/// - A leaf with any `uniformResourceIdentifier` SAN speaks only for those URIs: `iss` must
///   equal one of them exactly (no normalisation).
/// - A leaf with only `dNSName` SANs speaks for the origin of the host it names, nothing
///   under it: `iss` must be `https://{host}` (optionally with a `/` path), with no port,
///   userinfo, query or fragment, and the host a DNS SAN.
///
/// Why not "the `iss` host is a DNS SAN" alone: one host serves many issuers under paths
/// (vdc: `https://host/issuers/{id}`), so a certificate for one tenant would then speak
/// for every other issuer on the host (issue 10 item 16).
///
/// Spec: SD-JWT VC drafts -02 to -09, "Issuer-signed JWT Verification Key Validation",
/// X.509 Certificates: the recipient MUST "ensure that the `iss` value matches a
/// `uniformResourceIdentifier` SAN entry of the end-entity certificate or that the domain
/// name in the `iss` value matches the `dNSName` SAN entry of the end-entity certificate".
/// Draft -10 and later drop the SAN wording ("the Issuer ... is the subject of the
/// end-entity certificate") and, in "Ecosystem-specific Public Key Verification Methods",
/// require rules that "maintain the integrity of the relationship between the `iss` value
/// ... and the public keys of the Issuer". vdc keeps the older rule, narrowed for DNS
/// names to origin-only issuers so that it maintains that relationship on shared hosts.
pub fn x5c_names_issuer(leaf: &x509::ValidatedLeaf, iss: &str) -> Result<()> {
    let refuse = |why: &str| Err(Error::UntrustedKey(format!("x5c certificate: {why}")));
    if !leaf.uris.is_empty() {
        return if leaf.uris.iter().any(|u| u == iss) {
            Ok(())
        } else {
            refuse("iss is not a uniformResourceIdentifier SAN of the certificate")
        };
    }
    let Ok(url) = url::Url::parse(iss) else {
        return refuse("the certificate has only DNS SANs and iss is not an https origin");
    };
    let origin_only = url.scheme() == "https"
        && url.username().is_empty()
        && url.password().is_none()
        && url.port().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !origin_only {
        return refuse(
            "the certificate has only DNS SANs, which name an origin: an iss with a path, \
             port or query needs a uniformResourceIdentifier SAN equal to it",
        );
    }
    match url.host() {
        Some(url::Host::Domain(host)) if leaf.has_dns_san(host) => Ok(()),
        _ => refuse("the iss host is not a dNSName SAN of the certificate"),
    }
}

/// Picks the key a JWT names by `kid` from a trusted set; without `kid`, only a set of one
/// key is unambiguous (SD-JWT VC §"JWT VC Issuer Metadata Response" recommends `kid`).
pub(crate) fn select_key<'a>(keys: &'a JwkSet, kid: Option<&str>) -> Result<&'a PublicKey> {
    match kid {
        Some(kid) => keys.by_kid(kid).map(|k| &k.key).ok_or_else(|| {
            Error::UntrustedKey(format!("no trusted key with kid {}", printable(kid)))
        }),
        None => match keys.keys.as_slice() {
            [only] => Ok(&only.key),
            _ => Err(Error::UntrustedKey(
                "no kid and the issuer has several keys".into(),
            )),
        },
    }
}

/// The JWT VC Issuer Metadata URL for an `iss` (SD-JWT VC §"JWT VC Issuer Metadata"):
/// `/.well-known/jwt-vc-issuer` inserted between host and path, a trailing `/` of the path
/// removed; `iss` must be an https URL without query or fragment.
pub fn jwt_vc_issuer_metadata_url(iss: &str) -> Result<String> {
    let url = url::Url::parse(iss).map_err(|_| Error::UntrustedKey("iss is not a URL".into()))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(Error::UntrustedKey(
            "iss must be an https URL for metadata lookup".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || url.host_str().is_none() {
        return Err(Error::UntrustedKey(
            "iss must not have a query or fragment".into(),
        ));
    }
    let path = url.path().trim_end_matches('/');
    let origin = url.origin().ascii_serialization();
    Ok(format!("{origin}/.well-known/jwt-vc-issuer{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_well_known_between_host_and_path() {
        // SD-JWT VC §"JWT VC Issuer Metadata Request" examples.
        assert_eq!(
            jwt_vc_issuer_metadata_url("https://example.com").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            jwt_vc_issuer_metadata_url("https://example.com/tenant/1234").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
        );
        assert_eq!(
            jwt_vc_issuer_metadata_url("https://example.com:8443/tenant/").unwrap(),
            "https://example.com:8443/.well-known/jwt-vc-issuer/tenant"
        );
        assert!(jwt_vc_issuer_metadata_url("https://example.com/?q=1").is_err());
        assert!(jwt_vc_issuer_metadata_url("did:web:example.com").is_err());
    }
}
