//! Finding and validating the issuer's verification key (SD-JWT VC §"Issuer Verification
//! Key Discovery and Validation"): "A recipient MUST determine and validate the public
//! verification key ... using a supported key discovery and validation mechanism that is
//! permitted for the given Issuer according to policy." Keys are never taken from the
//! token on its own word (G5): `x5c` only counts when the chain ends at a configured
//! anchor, `kid` only selects among keys already trusted for that issuer.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jose::alg::printable;
use crate::jose::{JwkSet, PublicKey};

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
/// allows for them.
#[derive(Debug, Clone, Default)]
pub struct IssuerTrustPolicy {
    /// Issuer identifiers whose credentials are accepted. Empty means none.
    pub trusted_issuers: Vec<String>,
    /// Locally configured key sets by issuer identifier.
    pub pinned: HashMap<String, JwkSet>,
}

impl IssuerTrustPolicy {
    /// A policy trusting the listed issuers with pinned keys only.
    pub fn new(trusted_issuers: Vec<String>) -> Self {
        Self {
            trusted_issuers,
            ..Self::default()
        }
    }

    /// Pins a key set for an issuer.
    pub fn pin(mut self, issuer: impl Into<String>, keys: JwkSet) -> Self {
        self.pinned.insert(issuer.into(), keys);
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
}

#[async_trait]
impl IssuerKeyResolver for IssuerTrustPolicy {
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> Result<ResolvedIssuerKey> {
        let iss = payload
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::UntrustedKey("no iss to establish the issuer".into()))?;
        self.check_trusted(iss)?;
        let kid = header.get("kid").and_then(Value::as_str);
        if let Some(keys) = self.pinned.get(iss) {
            return Ok(ResolvedIssuerKey {
                key: select_key(keys, kid)?.clone(),
                issuer: iss.to_owned(),
                mechanism: KeyMechanism::Pinned,
            });
        }
        Err(Error::UntrustedKey(format!(
            "no permitted key mechanism found a key for {}",
            printable(iss)
        )))
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
