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

/// The few DER reads `mso_mdoc` trust needs that vdc-core's x509 module does not expose: a
/// certificate's basicConstraints `cA` (an IACA root must be a CA, ISO 18013-5 Annex B.1.2)
/// and its issuer Distinguished Name as RFC 4514 text (the result's `issuer`).
/// Reading only: nothing here validates a signature or makes a certificate trusted.
pub(crate) mod der_name {
    /// DER tags read here (X.690 §8).
    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const BOOLEAN: u8 = 0x01;
    const OCTET_STRING: u8 = 0x04;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xa0;
    const EXTENSIONS: u8 = 0xa3;
    const UTF8_STRING: u8 = 0x0c;
    const PRINTABLE_STRING: u8 = 0x13;
    const IA5_STRING: u8 = 0x16;
    /// basicConstraints, 2.5.29.19 (RFC 5280 §4.2.1.9), content octets.
    const BASIC_CONSTRAINTS: [u8; 3] = [0x55, 0x1d, 0x13];
    /// Most attributes rendered (a Name is small; this bounds the text).
    const MAX_ATTRIBUTES: usize = 32;

    /// One TLV: `(tag, content, rest)`; `None` for anything malformed (indefinite or
    /// oversized lengths, high tag numbers, truncation).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 3 {
                return None;
            }
            let (bytes, rest) = rest.split_at_checked(n)?;
            let len = bytes
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, rest)
        };
        let (content, rest) = rest.split_at_checked(len)?;
        Some((tag, content, rest))
    }

    /// One element of a constructed value: `(tag, content, full encoding)`.
    type Element<'a> = (u8, &'a [u8], &'a [u8]);

    /// The elements of a constructed value's content.
    fn elements(mut content: &[u8]) -> Option<Vec<Element<'_>>> {
        let mut out = Vec::new();
        while !content.is_empty() {
            let (tag, value, rest) = tlv(content)?;
            // The element's full encoding, for values rendered as `#hex`.
            let full = content.get(..content.len() - rest.len())?;
            out.push((tag, value, full));
            content = rest;
        }
        Some(out)
    }

    /// The TBSCertificate's elements after the optional version: serial, signature,
    /// issuer, validity, subject, subjectPublicKeyInfo, then optional members.
    fn tbs(cert: &[u8]) -> Option<Vec<Element<'_>>> {
        let (tag, cert, rest) = tlv(cert)?;
        if tag != SEQUENCE || !rest.is_empty() {
            return None;
        }
        let (tag, tbs, _) = tlv(cert)?;
        if tag != SEQUENCE {
            return None;
        }
        let mut parts = elements(tbs)?;
        if parts.first().is_some_and(|p| p.0 == VERSION) {
            parts.remove(0);
        }
        (parts.len() >= 6 && parts.first().is_some_and(|p| p.0 == INTEGER)).then_some(parts)
    }

    /// Whether the certificate's basicConstraints say `cA` TRUE; `None` when it does not
    /// parse as a certificate.
    pub(crate) fn is_ca(cert: &[u8]) -> Option<bool> {
        let parts = tbs(cert)?;
        let Some(extensions) = parts.iter().skip(6).find(|p| p.0 == EXTENSIONS) else {
            return Some(false);
        };
        let (tag, list, _) = tlv(extensions.1)?;
        if tag != SEQUENCE {
            return None;
        }
        for (tag, ext, _) in elements(list)? {
            if tag != SEQUENCE {
                return None;
            }
            let members = elements(ext)?;
            let (Some(id), Some(value)) = (members.first(), members.last()) else {
                return None;
            };
            if id.0 != OID || id.1 != BASIC_CONSTRAINTS {
                continue;
            }
            if value.0 != OCTET_STRING {
                return None;
            }
            let (tag, bc, _) = tlv(value.1)?;
            if tag != SEQUENCE {
                return None;
            }
            // Spec: RFC 5280 §4.2.1.9: `cA BOOLEAN DEFAULT FALSE` comes first.
            return Some(
                elements(bc)?
                    .first()
                    .is_some_and(|b| b.0 == BOOLEAN && b.1 == [0xff]),
            );
        }
        Some(false)
    }

    /// The subject Name as RFC 4514 text (the tests compare it with an issuer's name).
    #[cfg(test)]
    pub(crate) fn subject(cert: &[u8]) -> Option<String> {
        name(tbs(cert)?.get(4)?)
    }

    /// The issuer Name as RFC 4514 text.
    pub(crate) fn issuer(cert: &[u8]) -> Option<String> {
        name(tbs(cert)?.get(2)?)
    }

    /// Spec: RFC 4514 §2.1: the RDNs last to first, joined by `,`; the attributes of one
    /// RDN joined by `+`.
    fn name(element: &Element<'_>) -> Option<String> {
        if element.0 != SEQUENCE {
            return None;
        }
        let mut rdns = Vec::new();
        let mut count = 0;
        for (tag, rdn, _) in elements(element.1)? {
            if tag != SET {
                return None;
            }
            let mut attrs = Vec::new();
            for (tag, atv, _) in elements(rdn)? {
                count += 1;
                if tag != SEQUENCE || count > MAX_ATTRIBUTES {
                    return None;
                }
                let parts = elements(atv)?;
                let [(OID, oid, _), (vtag, value, full)] = parts.as_slice() else {
                    return None;
                };
                attrs.push(format!(
                    "{}={}",
                    attribute_type(oid)?,
                    attribute_value(*vtag, value, full)
                ));
            }
            rdns.push(attrs.join("+"));
        }
        rdns.reverse();
        Some(rdns.join(","))
    }

    /// Spec: RFC 4514 §3: the short names of its table, else the dotted OID.
    fn attribute_type(oid: &[u8]) -> Option<String> {
        let short = match oid {
            [0x55, 0x04, 0x03] => "CN",
            [0x55, 0x04, 0x07] => "L",
            [0x55, 0x04, 0x08] => "ST",
            [0x55, 0x04, 0x09] => "STREET",
            [0x55, 0x04, 0x0a] => "O",
            [0x55, 0x04, 0x0b] => "OU",
            [0x55, 0x04, 0x06] => "C",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
            [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01] => "UID",
            _ => return dotted(oid),
        };
        Some(short.to_owned())
    }

    /// X.690 §8.19: an OBJECT IDENTIFIER's content as dotted decimal.
    fn dotted(oid: &[u8]) -> Option<String> {
        let mut arcs: Vec<u64> = Vec::new();
        let mut acc: u64 = 0;
        for (i, b) in oid.iter().enumerate() {
            if acc > (u64::MAX >> 7) {
                return None;
            }
            acc = (acc << 7) | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                if arcs.is_empty() {
                    let first = (acc / 40).min(2);
                    arcs.push(first);
                    arcs.push(acc - first * 40);
                } else {
                    arcs.push(acc);
                }
                acc = 0;
            } else if i + 1 == oid.len() {
                return None;
            }
        }
        if arcs.is_empty() {
            return None;
        }
        Some(
            arcs.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join("."),
        )
    }

    /// Spec: RFC 4514 §2.4: string values escaped; any other value as `#` and the hex of
    /// its BER encoding.
    fn attribute_value(tag: u8, value: &[u8], full: &[u8]) -> String {
        let text = match tag {
            UTF8_STRING | PRINTABLE_STRING | IA5_STRING => std::str::from_utf8(value).ok(),
            _ => None,
        };
        let Some(text) = text else {
            let hex: String = full.iter().map(|b| format!("{b:02x}")).collect();
            return format!("#{hex}");
        };
        let mut out = String::with_capacity(text.len());
        let last = text.chars().count().saturating_sub(1);
        for (i, c) in text.chars().enumerate() {
            let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
                || (i == 0 && (c == '#' || c == ' '))
                || (i == last && c == ' ');
            if c == '\0' {
                out.push_str("\\00");
                continue;
            }
            if special {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use vdc_core::jose::{Algorithm, SigningKey};
        use vdc_core::rng::SeededRandom;
        use vdc_core::time::UnixTime;
        use vdc_core::x509::{self, CertificateSpec};

        use super::*;

        #[test]
        fn names_and_ca_flag_of_made_certificates() {
            let rng = SeededRandom::new(7);
            let now = UnixTime(1_800_000_000);
            let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
            let ca_spec = CertificateSpec::new("Test IACA, \"root\"", now, now.plus(3600), &rng)
                .unwrap()
                .ca();
            let ca = x509::self_signed(&ca_spec, &ca_key).unwrap();
            let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
            let leaf_spec = CertificateSpec::new("Test DS", now, now.plus(3600), &rng).unwrap();
            let leaf = x509::issue(&leaf_spec, leaf_key.public_key(), &ca, &ca_key).unwrap();
            assert_eq!(is_ca(&ca), Some(true));
            assert_eq!(is_ca(&leaf), Some(false));
            assert_eq!(is_ca(b"not a certificate"), None);
            assert_eq!(subject(&leaf).as_deref(), Some("CN=Test DS"));
            assert_eq!(
                issuer(&leaf).as_deref(),
                Some("CN=Test IACA\\, \\\"root\\\"")
            );
            assert_eq!(subject(&ca), issuer(&leaf));
            assert_eq!(dotted(&[0x2a, 0x86, 0x48]).as_deref(), Some("1.2.840"));
        }
    }
}
