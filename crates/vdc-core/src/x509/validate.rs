//! Chain validation to configured trust anchors, and what we read from the leaf.

use std::cell::Cell;
use std::fmt;
use std::time::Duration;

use der::Decode as _;
use der::asn1::ObjectIdentifier;
use ring::digest;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter, KeyUsage};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ID_CE_SUBJECT_ALT_NAME, SubjectAltName};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use super::{MAX_CERT_DER_LEN, MAX_X5C_CERTS, pem_to_der_certs};
use crate::base64url;
use crate::error::{Error, Result};
use crate::jose::PublicKey;
use crate::time::UnixTime;

/// id-ecPublicKey (RFC 5480 §2.1.1).
pub(super) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1 (RFC 5480 §2.1.1.1).
pub(super) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// id-Ed25519 (RFC 8410 §3).
pub(super) const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Signature algorithms accepted on certificates of a chain: ECDSA over P-256/P-384 and
/// Ed25519. RSA is left out on purpose (HAIP and our issuers use ES256; fewer algorithms,
/// less surface).
static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
];

/// What Extended Key Usage (RFC 5280 §4.2.1.12) certificates in a chain may carry.
///
/// There is no registered key purpose for "signs JWTs", so issuer and verifier signing
/// certificates usually carry no EKU; webpki checks the policy on every certificate of the
/// path (leaf and intermediates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EkuPolicy {
    /// Certificates without EKU pass; an EKU extension must be well-formed but may list any
    /// purpose. The default: the trust decision rests on the configured anchors.
    #[default]
    Unrestricted,
    /// Certificates without EKU pass; a certificate with an EKU extension must list this
    /// purpose (the DER content octets of the OID), as webpki's
    /// `KeyUsage::required_if_present`. Use it to keep, say, TLS server certificates from
    /// a shared CA from signing credentials.
    RequiredIfPresent(&'static [u8]),
}

struct EkuValidator(EkuPolicy);

impl ExtendedKeyUsageValidator for EkuValidator {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        match self.0 {
            EkuPolicy::Unrestricted => {
                for purpose in iter {
                    purpose?;
                }
                Ok(())
            }
            EkuPolicy::RequiredIfPresent(oid) => KeyUsage::required_if_present(oid).validate(iter),
        }
    }
}

/// The configured trust anchors for `x5c` chains (G5: the only way a chain becomes trusted).
#[derive(Clone, Default)]
pub struct TrustAnchors {
    certs: Vec<Vec<u8>>,
    anchors: Vec<TrustAnchor<'static>>,
    eku: EkuPolicy,
}

impl fmt::Debug for TrustAnchors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hashes: Vec<String> = self.certs.iter().map(|c| x509_hash(c)).collect();
        f.debug_struct("TrustAnchors")
            .field("x509_hash", &hashes)
            .field("eku", &self.eku)
            .finish()
    }
}

impl TrustAnchors {
    /// Trust anchors from DER certificates (typically self-signed roots). Each must parse as
    /// a certificate; its subject, public key and name constraints become the anchor
    /// (RFC 5280 §6.1.1: validity, basic constraints and self-signature of the anchor
    /// itself are not checked).
    pub fn from_der_certs(certs: Vec<Vec<u8>>) -> Result<Self> {
        let mut anchors = Vec::with_capacity(certs.len());
        for der in &certs {
            if der.len() > MAX_CERT_DER_LEN {
                return Err(Error::TooLarge(format!(
                    "trust anchor larger than {MAX_CERT_DER_LEN} bytes"
                )));
            }
            let der = CertificateDer::from(der.as_slice());
            let anchor = webpki::anchor_from_trusted_cert(&der)
                .map_err(|e| Error::Certificate(format!("trust anchor not usable: {e}")))?;
            anchors.push(anchor.to_owned());
        }
        Ok(Self {
            certs,
            anchors,
            eku: EkuPolicy::default(),
        })
    }

    /// Trust anchors from PEM text holding one or more `CERTIFICATE` blocks.
    pub fn from_pem(text: &str) -> Result<Self> {
        Self::from_der_certs(pem_to_der_certs(text)?)
    }

    /// Sets the Extended Key Usage policy chains must meet.
    pub fn with_eku_policy(mut self, eku: EkuPolicy) -> Self {
        self.eku = eku;
        self
    }

    /// The anchor certificates, DER, in configuration order.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certs
    }

    /// Whether `der` is (byte for byte) one of the anchor certificates.
    pub fn contains(&self, der: &[u8]) -> bool {
        self.certs.iter().any(|c| c.as_slice() == der)
    }

    /// The number of anchors.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether no anchor is configured (then every chain fails).
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }
}

/// The leaf of a chain that validated to a trust anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedLeaf {
    /// The leaf's public key (P-256 or Ed25519): the key the JWS must verify with.
    pub public_key: PublicKey,
    /// The leaf's `dNSName` Subject Alternative Names, as written in the certificate.
    pub dns_names: Vec<String>,
    /// The leaf's `uniformResourceIdentifier` Subject Alternative Names.
    pub uris: Vec<String>,
}

impl ValidatedLeaf {
    /// Whether `dns_name` is one of the leaf's `dNSName` SANs (see [`leaf_has_dns_san`]).
    pub fn has_dns_san(&self, dns_name: &str) -> bool {
        dns_san_matches(&self.dns_names, dns_name)
    }
}

fn cert_err(context: &str, e: webpki::Error) -> Error {
    Error::Certificate(format!("{context}: {e}"))
}

/// Validates an `x5c` chain (DER, leaf first) at time `now` and returns the leaf's key and
/// names.
///
/// The chain must be in order (each certificate certifies the one before it, RFC 7515
/// §4.1.6) and end at one of `anchors`; the anchor itself may be the last element or be
/// left out. webpki checks signatures, validity at `now` of every certificate, basic
/// constraints (intermediates must be CAs, the leaf must not be), path length, name
/// constraints and the anchors' [`EkuPolicy`]. Revocation is not checked here.
///
/// A self-signed end-entity leaf is accepted only if that exact certificate (its name and
/// key) is configured as an anchor: webpki takes the anchor as a bare name + key and checks
/// the leaf's self-signature against it. This is how a pinned verifier certificate works;
/// HAIP 1.0 forbids self-signed signing certificates, so HAIP wallets will not take one.
/// A self-signed CA certificate is never accepted as a leaf.
pub fn validate_x5c(
    chain: &[Vec<u8>],
    anchors: &TrustAnchors,
    now: UnixTime,
) -> Result<ValidatedLeaf> {
    let (leaf, rest) = chain
        .split_first()
        .ok_or_else(|| Error::Certificate("x5c chain is empty".into()))?;
    if chain.len() > MAX_X5C_CERTS {
        return Err(Error::TooLarge(format!(
            "x5c has {} certificates, at most {MAX_X5C_CERTS} are accepted",
            chain.len()
        )));
    }
    if chain.iter().any(|c| c.len() > MAX_CERT_DER_LEN) {
        return Err(Error::TooLarge(format!(
            "x5c certificate larger than {MAX_CERT_DER_LEN} bytes"
        )));
    }
    // The anchor may arrive as the last certificate; it adds nothing, so drop it before
    // path building. HAIP 1.0 says senders "MUST NOT" include it (x5c of SD-JWT VCs, signed
    // requests and signed metadata), an obligation on the sender: a caller enforcing it
    // checks `TrustAnchors::contains` on the last element.
    let intermediates = match rest.split_last() {
        Some((last, init)) if anchors.contains(last) => init,
        _ => rest,
    };
    let secs =
        u64::try_from(now.secs()).map_err(|_| Error::Time("validation time before 1970".into()))?;
    let time = rustls_pki_types::UnixTime::since_unix_epoch(Duration::from_secs(secs));

    let leaf_der = CertificateDer::from(leaf.as_slice());
    let end_entity =
        EndEntityCert::try_from(&leaf_der).map_err(|e| cert_err("leaf certificate", e))?;
    let supplied: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();

    // Spec: RFC 7515 §4.1.6: "The certificate containing the key value MUST be the first
    // certificate. This MAY be followed by additional certificates, with each subsequent
    // certificate being the one used to certify the previous one." webpki builds paths from
    // an unordered pool, so accept only the path that uses every supplied certificate in
    // the order given.
    let out_of_order = Cell::new(false);
    let in_given_order = |path: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let used: Vec<CertificateDer<'_>> =
            path.intermediate_certificates().map(|c| c.der()).collect();
        if used.len() == supplied.len() && used.iter().zip(&supplied).all(|(a, b)| a == b) {
            Ok(())
        } else {
            out_of_order.set(true);
            Err(webpki::Error::UnknownIssuer)
        }
    };
    end_entity
        .verify_for_usage(
            CHAIN_ALGS,
            &anchors.anchors,
            &supplied,
            time,
            EkuValidator(anchors.eku),
            None,
            Some(&in_given_order),
        )
        .map_err(|e| {
            if out_of_order.get() {
                Error::Certificate(
                    "x5c is not an ordered chain from the leaf to a trust anchor".into(),
                )
            } else {
                cert_err("x5c chain", e)
            }
        })?;

    let info = LeafInfo::parse(leaf)?;
    Ok(ValidatedLeaf {
        public_key: info.public_key()?,
        dns_names: info.dns_names,
        uris: info.uris,
    })
}

/// The OID4VP `x509_hash` client identifier value of a leaf certificate: base64url (no
/// padding) of the SHA-256 of its DER encoding.
pub fn x509_hash(leaf_der: &[u8]) -> String {
    // Spec: OID4VP 1.0 §5.9.3 ("Defined Client Identifier Prefixes", `x509_hash`): "The
    // value of `x509_hash` is the base64url-encoded value of the SHA-256 hash of the
    // DER-encoded X.509 certificate."
    base64url::encode(digest::digest(&digest::SHA256, leaf_der))
}

/// Whether `dns_name` equals a `dNSName` Subject Alternative Name of the certificate.
///
/// For the OID4VP `x509_san_dns` prefix the client identifier "MUST be a DNS name and match
/// a `dNSName` Subject Alternative Name (SAN) \[RFC5280\] entry in the leaf certificate"
/// (OID4VP 1.0 §5.9.3). Matching is exact up to ASCII case (DNS names are case-insensitive,
/// RFC 5280 §7.2 / RFC 4343); wildcard SANs do not match, since a client identifier names one
/// host. This does not validate the certificate: call it on a leaf that [`validate_x5c`]
/// accepted, or use [`ValidatedLeaf::has_dns_san`].
pub fn leaf_has_dns_san(leaf_der: &[u8], dns_name: &str) -> Result<bool> {
    let info = LeafInfo::parse(leaf_der)?;
    Ok(dns_san_matches(&info.dns_names, dns_name))
}

/// The `keyIdentifier` of a certificate's authorityKeyIdentifier extension (RFC 5280
/// §4.2.1.1), `None` when the certificate has none (a self-signed root usually has none),
/// without validating anything else: what an OID4VP 1.0 §6.1.1.1 `aki` Trusted Authorities
/// Query value names. Call it on certificates of a chain that was validated or configured.
pub fn authority_key_identifier(cert_der: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(LeafInfo::parse(cert_der)?.authority_key_id)
}

/// The subject public key of a certificate (P-256 or Ed25519), without validating anything
/// else: for checking that a configured chain's leaf certifies a configured key. Trust
/// decisions use [`validate_x5c`].
pub fn leaf_public_key(leaf_der: &[u8]) -> Result<PublicKey> {
    LeafInfo::parse(leaf_der)?.public_key()
}

fn dns_san_matches(sans: &[String], dns_name: &str) -> bool {
    !dns_name.is_empty() && sans.iter().any(|s| s.eq_ignore_ascii_case(dns_name))
}

/// Fields of a certificate webpki does not hand out: the SPKI and the SAN entries.
pub(super) struct LeafInfo {
    pub(super) spki: SubjectPublicKeyInfoOwned,
    pub(super) dns_names: Vec<String>,
    pub(super) uris: Vec<String>,
    pub(super) is_ca: bool,
    pub(super) subject_key_id: Option<Vec<u8>>,
    /// The `keyIdentifier` of the authorityKeyIdentifier extension (RFC 5280 §4.2.1.1).
    pub(super) authority_key_id: Option<Vec<u8>>,
}

impl LeafInfo {
    pub(super) fn parse(der: &[u8]) -> Result<Self> {
        use der::oid::AssociatedOid as _;
        use x509_cert::ext::pkix::ID_CE_SUBJECT_KEY_IDENTIFIER;
        use x509_cert::ext::pkix::{
            AuthorityKeyIdentifier, BasicConstraints, SubjectKeyIdentifier,
        };

        let cert = x509_cert::Certificate::from_der(der)
            .map_err(|_| Error::Certificate("certificate is not valid DER X.509".into()))?;
        let tbs = cert.tbs_certificate;
        let mut info = Self {
            spki: tbs.subject_public_key_info,
            dns_names: Vec::new(),
            uris: Vec::new(),
            is_ca: false,
            subject_key_id: None,
            authority_key_id: None,
        };
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs.extensions.unwrap_or_default() {
            // Spec: RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of
            // a particular extension."
            if seen.contains(&ext.extn_id) {
                return Err(Error::Certificate("duplicate certificate extension".into()));
            }
            seen.push(ext.extn_id);
            let value = ext.extn_value.as_bytes();
            let invalid = |_| Error::Certificate(format!("invalid extension {}", ext.extn_id));
            if ext.extn_id == ID_CE_SUBJECT_ALT_NAME {
                for name in SubjectAltName::from_der(value).map_err(invalid)?.0 {
                    match name {
                        GeneralName::DnsName(s) => info.dns_names.push(s.to_string()),
                        GeneralName::UniformResourceIdentifier(s) => info.uris.push(s.to_string()),
                        _ => {}
                    }
                }
            } else if ext.extn_id == BasicConstraints::OID {
                info.is_ca = BasicConstraints::from_der(value).map_err(invalid)?.ca;
            } else if ext.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER {
                let ski = SubjectKeyIdentifier::from_der(value).map_err(invalid)?;
                info.subject_key_id = Some(ski.0.as_bytes().to_vec());
            } else if ext.extn_id == AuthorityKeyIdentifier::OID {
                let aki = AuthorityKeyIdentifier::from_der(value).map_err(invalid)?;
                info.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
            }
        }
        Ok(info)
    }

    /// The subject public key, if it is a P-256 or Ed25519 key.
    pub(super) fn public_key(&self) -> Result<PublicKey> {
        public_key_from_spki(&self.spki)
    }
}

fn public_key_from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey> {
    let bits = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| Error::Certificate("public key bit string has unused bits".into()))?;
    let alg = &spki.algorithm;
    if alg.oid == ID_EC_PUBLIC_KEY {
        // Spec: RFC 5480 §2.1.1: id-ecPublicKey parameters are the namedCurve OID.
        let curve = alg
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(SECP256R1) {
            return Err(Error::Certificate(
                "certificate EC key is not on P-256".into(),
            ));
        }
        PublicKey::p256_from_sec1(bits)
            .map_err(|_| Error::Certificate("certificate P-256 key is invalid".into()))
    } else if alg.oid == ID_ED25519 {
        // Spec: RFC 8410 §3: "the parameters MUST be absent".
        if alg.parameters.is_some() {
            return Err(Error::Certificate(
                "Ed25519 key algorithm has parameters".into(),
            ));
        }
        PublicKey::ed25519(bits)
            .map_err(|_| Error::Certificate("certificate Ed25519 key is invalid".into()))
    } else {
        Err(Error::Certificate(
            "certificate key type not supported (P-256 and Ed25519 only)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, SigningKey};
    use crate::rng::SeededRandom;
    use crate::x509::{CertificateSpec, issue, self_signed, to_pem};

    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600;
    const DAY: i64 = 86_400;
    const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

    fn vector(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/vectors/x509/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    struct Pki {
        root: Vec<u8>,
        root_key: SigningKey,
        intermediate: Vec<u8>,
        intermediate_key: SigningKey,
        leaf: Vec<u8>,
        leaf_key: SigningKey,
    }

    fn spec(cn: &str, rng: &SeededRandom) -> CertificateSpec {
        CertificateSpec::new(cn, UnixTime(T0 - DAY), UnixTime(T0 + 365 * DAY), rng).unwrap()
    }

    /// Root CA -> intermediate CA -> leaf, with keys of `ca_alg` for the CAs and `leaf_alg`
    /// for the leaf. The leaf is valid T0-1h .. T0+30d.
    fn pki(ca_alg: Algorithm, leaf_alg: Algorithm, seed: u64) -> Pki {
        let rng = SeededRandom::new(seed);
        let root_key = SigningKey::generate(ca_alg, &rng).unwrap();
        let root = self_signed(&spec("Test Root", &rng).ca(), &root_key).unwrap();
        let intermediate_key = SigningKey::generate(ca_alg, &rng).unwrap();
        let intermediate = issue(
            &spec("Test Intermediate", &rng).ca(),
            intermediate_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        let leaf_key = SigningKey::generate(leaf_alg, &rng).unwrap();
        let mut leaf_spec = spec("Test Leaf", &rng)
            .with_dns_name("verifier.example.org")
            .with_uri("https://verifier.example.org/client");
        leaf_spec.not_before = UnixTime(T0 - 3600);
        leaf_spec.not_after = UnixTime(T0 + 30 * DAY);
        let leaf = issue(
            &leaf_spec,
            leaf_key.public_key(),
            &intermediate,
            &intermediate_key,
        )
        .unwrap();
        Pki {
            root,
            root_key,
            intermediate,
            intermediate_key,
            leaf,
            leaf_key,
        }
    }

    fn anchors(root: &[u8]) -> TrustAnchors {
        TrustAnchors::from_der_certs(vec![root.to_vec()]).unwrap()
    }

    fn assert_cert_err(result: Result<ValidatedLeaf>, needle: &str) {
        match result {
            Err(Error::Certificate(msg)) => {
                assert!(msg.contains(needle), "expected {needle:?} in {msg:?}")
            }
            other => panic!("expected a certificate error with {needle:?}, got {other:?}"),
        }
    }

    #[test]
    fn ca_intermediate_leaf_chain_validates_and_yields_leaf_key_and_sans() {
        for (i, (ca_alg, leaf_alg)) in [
            (Algorithm::Es256, Algorithm::Es256),
            (Algorithm::EdDsa, Algorithm::EdDsa),
            (Algorithm::Es256, Algorithm::EdDsa),
            (Algorithm::EdDsa, Algorithm::Es256),
        ]
        .into_iter()
        .enumerate()
        {
            let p = pki(ca_alg, leaf_alg, i as u64);
            let chain = vec![p.leaf.clone(), p.intermediate.clone()];
            let leaf = validate_x5c(&chain, &anchors(&p.root), UnixTime(T0)).unwrap();
            assert_eq!(&leaf.public_key, p.leaf_key.public_key());
            assert_eq!(leaf.dns_names, vec!["verifier.example.org".to_string()]);
            assert_eq!(
                leaf.uris,
                vec!["https://verifier.example.org/client".to_string()]
            );
            assert!(leaf.has_dns_san("verifier.example.org"));
            // The key from the certificate verifies what the leaf key signs.
            let sig = p.leaf_key.sign_sync(b"request object").unwrap();
            leaf.public_key
                .verify(leaf_alg, b"request object", &sig)
                .unwrap();
        }
    }

    #[test]
    fn chain_with_anchor_appended_validates() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 20);
        let chain = vec![p.leaf.clone(), p.intermediate.clone(), p.root.clone()];
        let leaf = validate_x5c(&chain, &anchors(&p.root), UnixTime(T0)).unwrap();
        assert_eq!(&leaf.public_key, p.leaf_key.public_key());
    }

    #[test]
    fn leaf_directly_under_anchor_validates_with_and_without_anchor() {
        let rng = SeededRandom::new(21);
        let root_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let root = self_signed(&spec("Root", &rng).ca(), &root_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Leaf", &rng).with_dns_name("a.example"),
            leaf_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        let a = anchors(&root);
        validate_x5c(std::slice::from_ref(&leaf), &a, UnixTime(T0)).unwrap();
        validate_x5c(&[leaf, root], &a, UnixTime(T0)).unwrap();
    }

    #[test]
    fn expired_leaf_certificate_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 22);
        let chain = vec![p.leaf, p.intermediate];
        let a = anchors(&p.root);
        validate_x5c(&chain, &a, UnixTime(T0 + 30 * DAY - 1)).unwrap();
        assert_cert_err(
            validate_x5c(&chain, &a, UnixTime(T0 + 31 * DAY)),
            "CertExpired",
        );
    }

    #[test]
    fn not_yet_valid_leaf_certificate_is_rejected() {
        let p = pki(Algorithm::EdDsa, Algorithm::EdDsa, 23);
        let chain = vec![p.leaf, p.intermediate];
        let a = anchors(&p.root);
        assert_cert_err(
            validate_x5c(&chain, &a, UnixTime(T0 - 7200)),
            "CertNotValidYet",
        );
    }

    #[test]
    fn expired_intermediate_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 24);
        let rng = SeededRandom::new(240);
        // The same name and key as the real intermediate, certified by the root, but
        // expired at T0.
        let mut old = spec("Test Intermediate", &rng).ca();
        old.not_before = UnixTime(T0 - 10 * DAY);
        old.not_after = UnixTime(T0 - DAY);
        let expired = issue(&old, p.intermediate_key.public_key(), &p.root, &p.root_key).unwrap();
        let a = anchors(&p.root);
        validate_x5c(&[p.leaf.clone(), p.intermediate], &a, UnixTime(T0)).unwrap();
        assert_cert_err(
            validate_x5c(&[p.leaf, expired], &a, UnixTime(T0)),
            "CertExpired",
        );
    }

    #[test]
    fn chain_to_unknown_anchor_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 25);
        let other = pki(Algorithm::Es256, Algorithm::Es256, 26);
        let chain = vec![p.leaf.clone(), p.intermediate.clone()];
        assert_cert_err(
            validate_x5c(&chain, &anchors(&other.root), UnixTime(T0)),
            "x5c chain",
        );
        // An anchor with another name: no issuer found at all.
        assert_cert_err(
            validate_x5c(&chain, &anchors(&vector("ca.der")), UnixTime(T0)),
            "UnknownIssuer",
        );
        // Appending the (untrusted) root changes nothing: trust comes only from anchors (G5).
        let with_root = vec![p.leaf, p.intermediate, p.root];
        assert!(validate_x5c(&with_root, &anchors(&other.root), UnixTime(T0)).is_err());
        assert!(validate_x5c(&with_root, &TrustAnchors::default(), UnixTime(T0)).is_err());
    }

    #[test]
    fn intermediate_without_ca_basic_constraint_is_rejected() {
        let rng = SeededRandom::new(27);
        let root_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let root = self_signed(&spec("Root", &rng).ca(), &root_key).unwrap();
        let mid_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let mid_ca = issue(
            &spec("Mid", &rng).ca(),
            mid_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Leaf", &rng),
            leaf_key.public_key(),
            &mid_ca,
            &mid_key,
        )
        .unwrap();
        // The same name and key certified as an end entity (cA=FALSE): the leaf's issuer
        // name and signature match it, but it may not issue certificates.
        let mid_not_ca = issue(&spec("Mid", &rng), mid_key.public_key(), &root, &root_key).unwrap();
        let a = anchors(&root);
        validate_x5c(&[leaf.clone(), mid_ca], &a, UnixTime(T0)).unwrap();
        assert_cert_err(
            validate_x5c(&[leaf, mid_not_ca], &a, UnixTime(T0)),
            "EndEntityUsedAsCa",
        );
    }

    #[test]
    fn ca_certificate_as_leaf_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 28);
        assert_cert_err(
            validate_x5c(&[p.intermediate], &anchors(&p.root), UnixTime(T0)),
            "CaUsedAsEndEntity",
        );
    }

    fn flip_in(der: &[u8], needle: &[u8]) -> Vec<u8> {
        let pos = der.windows(needle.len()).position(|w| w == needle).unwrap();
        let mut out = der.to_vec();
        out[pos] ^= 0x20; // 'T' <-> 't': still a valid UTF8String, different TBS
        out
    }

    #[test]
    fn tampered_leaf_tbs_is_rejected() {
        for (i, alg) in [Algorithm::Es256, Algorithm::EdDsa].into_iter().enumerate() {
            let p = pki(alg, alg, 30 + i as u64);
            let tampered = flip_in(&p.leaf, b"Test Leaf");
            assert_ne!(tampered, p.leaf);
            assert_cert_err(
                validate_x5c(
                    &[tampered, p.intermediate.clone()],
                    &anchors(&p.root),
                    UnixTime(T0),
                ),
                "InvalidSignatureForPublicKey",
            );
        }
    }

    #[test]
    fn tampered_signature_value_is_rejected() {
        let p = pki(Algorithm::EdDsa, Algorithm::EdDsa, 32);
        let mut tampered = p.leaf.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        assert_cert_err(
            validate_x5c(&[tampered, p.intermediate], &anchors(&p.root), UnixTime(T0)),
            "InvalidSignatureForPublicKey",
        );
    }

    #[test]
    fn tampered_intermediate_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 33);
        let tampered = flip_in(&p.intermediate, b"Test Intermediate");
        assert!(validate_x5c(&[p.leaf, tampered], &anchors(&p.root), UnixTime(T0)).is_err());
    }

    #[test]
    fn chain_in_wrong_order_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 34);
        let a = anchors(&p.root);
        // Intermediate first: the "leaf" is a CA.
        assert!(validate_x5c(&[p.intermediate.clone(), p.leaf.clone()], &a, UnixTime(T0)).is_err());
        // Anchor not last: webpki could build a path from the pool, RFC 7515 order says no.
        assert_cert_err(
            validate_x5c(
                &[p.leaf.clone(), p.root.clone(), p.intermediate.clone()],
                &a,
                UnixTime(T0),
            ),
            "ordered chain",
        );
        // An unused extra certificate is not a chain either.
        let stranger = pki(Algorithm::Es256, Algorithm::Es256, 35).intermediate;
        assert_cert_err(
            validate_x5c(
                &[p.leaf.clone(), p.intermediate.clone(), stranger],
                &a,
                UnixTime(T0),
            ),
            "ordered chain",
        );
        // Duplicates likewise.
        assert!(
            validate_x5c(
                &[p.leaf, p.intermediate.clone(), p.intermediate],
                &a,
                UnixTime(T0)
            )
            .is_err()
        );
    }

    #[test]
    fn garbage_der_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 36);
        let a = anchors(&p.root);
        for garbage in [
            b"garbage".to_vec(),
            vec![],
            vec![0x30, 0x03, 0x02, 0x01, 0x01],
            p.leaf[..p.leaf.len() - 1].to_vec(),
            [p.leaf.as_slice(), &[0]].concat(),
        ] {
            assert!(validate_x5c(std::slice::from_ref(&garbage), &a, UnixTime(T0)).is_err());
            assert!(validate_x5c(&[p.leaf.clone(), garbage], &a, UnixTime(T0)).is_err());
        }
        assert!(validate_x5c(&[], &a, UnixTime(T0)).is_err());
        assert!(TrustAnchors::from_der_certs(vec![b"garbage".to_vec()]).is_err());
    }

    #[test]
    fn oversized_or_too_long_chain_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 37);
        let a = anchors(&p.root);
        let mut long = vec![p.leaf.clone(), p.intermediate.clone()];
        long.resize(crate::x509::MAX_X5C_CERTS + 1, p.intermediate.clone());
        assert!(matches!(
            validate_x5c(&long, &a, UnixTime(T0)),
            Err(Error::TooLarge(_))
        ));
        let huge = vec![0x30; crate::x509::MAX_CERT_DER_LEN + 1];
        assert!(matches!(
            validate_x5c(&[p.leaf, huge], &a, UnixTime(T0)),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn validation_time_before_epoch_is_rejected() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 38);
        assert!(matches!(
            validate_x5c(&[p.leaf, p.intermediate], &anchors(&p.root), UnixTime(-1)),
            Err(Error::Time(_))
        ));
    }

    #[test]
    fn self_signed_leaf_is_accepted_only_when_pinned_as_anchor() {
        let rng = SeededRandom::new(39);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = self_signed(
            &spec("Pinned Verifier", &rng).with_dns_name("verifier.example.org"),
            &key,
        )
        .unwrap();
        // Pinned: webpki takes the anchor as name + key and verifies the leaf against it.
        let validated =
            validate_x5c(std::slice::from_ref(&leaf), &anchors(&leaf), UnixTime(T0)).unwrap();
        assert_eq!(&validated.public_key, key.public_key());
        assert!(validated.has_dns_san("verifier.example.org"));
        // Not pinned: untrusted, even with itself appended.
        let other = pki(Algorithm::Es256, Algorithm::Es256, 40).root;
        assert!(validate_x5c(std::slice::from_ref(&leaf), &anchors(&other), UnixTime(T0)).is_err());
        assert!(validate_x5c(&[leaf.clone(), leaf], &anchors(&other), UnixTime(T0)).is_err());
    }

    #[test]
    fn self_signed_ca_is_not_accepted_as_its_own_leaf() {
        let p = pki(Algorithm::Es256, Algorithm::Es256, 41);
        assert_cert_err(
            validate_x5c(
                std::slice::from_ref(&p.root),
                &anchors(&p.root),
                UnixTime(T0),
            ),
            "CaUsedAsEndEntity",
        );
    }

    #[test]
    fn trust_anchors_load_from_pem() {
        let p = pki(Algorithm::EdDsa, Algorithm::Es256, 42);
        let other = pki(Algorithm::Es256, Algorithm::Es256, 43);
        let text = format!("# bundle\n{}{}", to_pem(&other.root), to_pem(&p.root));
        let a = TrustAnchors::from_pem(&text).unwrap();
        assert_eq!(a.len(), 2);
        assert!(a.contains(&p.root));
        assert!(!a.contains(&p.leaf));
        validate_x5c(&[p.leaf, p.intermediate], &a, UnixTime(T0)).unwrap();
        assert!(format!("{a:?}").contains(&x509_hash(&p.root)));
    }

    /// A chain made entirely by rcgen with its own ring keys, so EKU can be set.
    fn rcgen_chain(
        eku: Vec<rcgen::ExtendedKeyUsagePurpose>,
        leaf_alg: &'static rcgen::SignatureAlgorithm,
    ) -> (Vec<u8>, Vec<u8>) {
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate_for(leaf_alg).unwrap();
        let mut leaf_params =
            rcgen::CertificateParams::new(vec!["rp.example".to_string()]).unwrap();
        leaf_params.extended_key_usages = eku;
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        (ca.der().to_vec(), leaf.der().to_vec())
    }

    #[test]
    fn eku_policy_is_applied_when_the_leaf_has_eku() {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let (ca, leaf) = rcgen_chain(vec![ServerAuth], &rcgen::PKCS_ECDSA_P256_SHA256);
        let chain = [leaf];
        let unrestricted = anchors(&ca);
        validate_x5c(&chain, &unrestricted, UnixTime(T0)).unwrap();
        let server = anchors(&ca).with_eku_policy(EkuPolicy::RequiredIfPresent(SERVER_AUTH));
        validate_x5c(&chain, &server, UnixTime(T0)).unwrap();
        let client = anchors(&ca).with_eku_policy(EkuPolicy::RequiredIfPresent(CLIENT_AUTH));
        assert_cert_err(validate_x5c(&chain, &client, UnixTime(T0)), "Eku");

        // No EKU at all passes every policy (required_if_present).
        let (ca, leaf) = rcgen_chain(vec![], &rcgen::PKCS_ED25519);
        let client = anchors(&ca).with_eku_policy(EkuPolicy::RequiredIfPresent(CLIENT_AUTH));
        validate_x5c(&[leaf], &client, UnixTime(T0)).unwrap();
        let _ = ClientAuth;
    }

    #[test]
    fn leaf_with_unsupported_key_type_is_rejected_after_path_validation() {
        let (ca, leaf) = rcgen_chain(vec![], &rcgen::PKCS_ECDSA_P384_SHA384);
        assert_cert_err(
            validate_x5c(&[leaf], &anchors(&ca), UnixTime(T0)),
            "not on P-256",
        );
    }

    // Independent vectors: made with Python `cryptography` (see tests/vectors/x509/README.md).

    /// 2026-06-01T00:00:00Z, inside every fixture's validity.
    const FIXTURE_NOW: i64 = 1_780_272_000;

    #[test]
    fn independent_fixture_chains_validate_with_keys_and_sans() {
        let ca = vector("ca.der");
        let a = anchors(&ca);
        for name in ["leaf_p256.der", "leaf_ed25519.der"] {
            let leaf = vector(name);
            let validated =
                validate_x5c(std::slice::from_ref(&leaf), &a, UnixTime(FIXTURE_NOW)).unwrap();
            assert_eq!(
                validated.dns_names,
                vec!["verifier.example.org".to_string()]
            );
            assert_eq!(
                validated.uris,
                vec!["https://verifier.example.org/id".to_string()]
            );
            let expected_alg = if name.contains("p256") {
                Algorithm::Es256
            } else {
                Algorithm::EdDsa
            };
            assert_eq!(validated.public_key.algorithm(), expected_alg);
            validate_x5c(&[leaf.clone(), ca.clone()], &a, UnixTime(FIXTURE_NOW)).unwrap();
            // The fixture leaves expire at 2035-01-01T00:00:00Z.
            assert!(validate_x5c(&[leaf], &a, UnixTime(2_051_222_400 + 1)).is_err());
        }
    }

    #[test]
    fn x509_hash_matches_oid4vp_definition_and_pinned_values() {
        // Spec: OID4VP 1.0 §5.9.3: base64url SHA-256 of the DER certificate. Values computed
        // independently with `openssl dgst -sha256 -binary | basenc --base64url`.
        assert_eq!(
            x509_hash(&vector("leaf_p256.der")),
            "NLuYyNdiYehmHDfH7c2E97YltYR9qOCOwvsbHGPFYhk"
        );
        assert_eq!(
            x509_hash(&vector("leaf_ed25519.der")),
            "mOCKSsPJ11OejBoQPDCS9ZAtFXKs7N_MPwKJ0a51XIo"
        );
        let p = pki(Algorithm::Es256, Algorithm::EdDsa, 44);
        let digest = ring::digest::digest(&ring::digest::SHA256, &p.leaf);
        let hash = x509_hash(&p.leaf);
        assert_eq!(crate::base64url::decode(&hash).unwrap(), digest.as_ref());
        assert_eq!(hash.len(), 43);
        assert!(!hash.contains(['=', '+', '/']));
    }

    #[test]
    fn x509_san_dns_matches_exact_dns_san_only() {
        let leaf = vector("leaf_p256.der");
        assert!(leaf_has_dns_san(&leaf, "verifier.example.org").unwrap());
        assert!(leaf_has_dns_san(&leaf, "Verifier.Example.ORG").unwrap());
        for other in [
            "example.org",
            "evil.verifier.example.org",
            "verifier.example.org.",
            "https://verifier.example.org/id",
            "",
        ] {
            assert!(!leaf_has_dns_san(&leaf, other).unwrap(), "{other}");
        }
        assert!(leaf_has_dns_san(b"garbage", "verifier.example.org").is_err());
    }

    #[test]
    fn issuing_under_independent_ca_copies_its_name_and_validates() {
        let ca = vector("ca.der");
        let scalar_hex = String::from_utf8(vector("ca_p256_scalar.hex")).unwrap();
        let scalar: Vec<u8> = scalar_hex
            .trim()
            .as_bytes()
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect();
        let ca_key = SigningKey::p256_from_scalar(&scalar).unwrap();
        let rng = SeededRandom::new(45);
        let leaf_key = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
        let mut leaf_spec = CertificateSpec::new(
            "Issued Under Fixture",
            UnixTime(FIXTURE_NOW - DAY),
            UnixTime(FIXTURE_NOW + DAY),
            &rng,
        )
        .unwrap()
        .with_dns_name("rp.example.com");
        leaf_spec.uris.push("https://rp.example.com".into());
        let leaf = issue(&leaf_spec, leaf_key.public_key(), &ca, &ca_key).unwrap();
        let validated = validate_x5c(
            std::slice::from_ref(&leaf),
            &anchors(&ca),
            UnixTime(FIXTURE_NOW),
        )
        .unwrap();
        assert_eq!(&validated.public_key, leaf_key.public_key());

        // The issuer Name is the CA's subject, PrintableString "DE" and all, and the AKI is
        // the CA's SKI.
        let ca_cert = x509_cert::Certificate::from_der(&ca).unwrap();
        let leaf_cert = x509_cert::Certificate::from_der(&leaf).unwrap();
        assert_eq!(
            leaf_cert.tbs_certificate.issuer,
            ca_cert.tbs_certificate.subject
        );
        let ski = LeafInfo::parse(&ca).unwrap().subject_key_id.unwrap();
        let aki = leaf_cert
            .tbs_certificate
            .extensions
            .unwrap()
            .into_iter()
            .find(|e| e.extn_id.to_string() == "2.5.29.35")
            .unwrap();
        let aki = <x509_cert::ext::pkix::AuthorityKeyIdentifier as der::Decode>::from_der(
            aki.extn_value.as_bytes(),
        )
        .unwrap();
        assert_eq!(aki.key_identifier.unwrap().as_bytes(), ski.as_slice());
    }

    #[test]
    fn authority_key_identifier_is_the_issuing_cas_subject_key_identifier() {
        // OID4VP 1.0 §6.1.1.1 matches `aki` values against this field of chain certificates.
        let rng = SeededRandom::new(61);
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let ca = self_signed(&spec("AKI CA", &rng).ca(), &ca_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(&spec("AKI leaf", &rng), leaf_key.public_key(), &ca, &ca_key).unwrap();
        let ski = LeafInfo::parse(&ca).unwrap().subject_key_id.unwrap();
        assert_eq!(authority_key_identifier(&leaf).unwrap(), Some(ski));
        assert!(authority_key_identifier(b"not a certificate").is_err());
    }
}
