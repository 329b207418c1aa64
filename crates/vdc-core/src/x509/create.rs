//! Certificate creation: rcgen lays the certificate out, our [`SigningKey`] signs it.
//!
//! Why not plain `rcgen::KeyPair::from_remote`: rcgen takes the remote key as
//! `Box<dyn RemoteKeyPair + Send + Sync>`, which must be `'static`, while callers lend us a
//! `&SigningKey` (not `Clone`, by design: cloning would copy the secret). So we hand rcgen
//! a remote key that knows only the public key and algorithm and returns an empty
//! signature; rcgen builds the complete TBSCertificate (and for [`issue`] we put the
//! issuer's exact subject name bytes into it); then the `SigningKey` signs those TBS bytes
//! and we assemble `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
//! signatureValue }` (RFC 5280 §4.1) ourselves. The private key never leaves `SigningKey`
//! and is never copied.

use rcgen::{
    CertificateParams, DistinguishedName, DnType, DnValue, Ia5String, IsCa, KeyIdMethod, KeyPair,
    PublicKeyData, RemoteKeyPair, SanType, SerialNumber, SignatureAlgorithm,
};

use super::der::{
    TAG_BIT_STRING, TAG_BOOLEAN, TAG_OCTET_STRING, TAG_SEQUENCE, TAG_VERSION, ecdsa_fixed_to_der,
    read_elements, read_single, write_tlv,
};
use super::validate::LeafInfo;
use crate::error::{Error, Result};
use crate::jose::{Algorithm, PublicKey, SigningKey};
use crate::rng::RandomSource;
use crate::time::UnixTime;

/// 9999-12-31T23:59:59Z, the last instant X.509 GeneralizedTime can express (RFC 5280
/// §4.1.2.5.2 uses four-digit years).
const MAX_CERT_TIME: i64 = 253_402_300_799;

/// Upper bound of `commonName` (RFC 5280 Appendix A: `ub-common-name INTEGER ::= 64`).
const MAX_COMMON_NAME_CHARS: usize = 64;

/// What goes into a certificate we create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSpec {
    /// The subject `commonName` (1 to 64 characters, UTF8String); the only subject attribute.
    pub common_name: String,
    /// `dNSName` Subject Alternative Names (for `x509_san_dns`).
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` Subject Alternative Names (absolute URIs, ASCII).
    pub uris: Vec<String>,
    /// Start of validity (seconds since the epoch, 1970 to 9999).
    pub not_before: UnixTime,
    /// End of validity, after `not_before`.
    pub not_after: UnixTime,
    /// A CA certificate (basicConstraints cA=TRUE, keyCertSign + cRLSign) or an end entity
    /// (basicConstraints cA=FALSE, digitalSignature).
    pub is_ca: bool,
    /// The serial number, big-endian: 1 to 20 octets, first octet in `0x01..=0x7f` (positive
    /// and minimally encoded, RFC 5280 §4.1.2.2). [`CertificateSpec::new`] draws 126 random
    /// bits.
    pub serial_number: Vec<u8>,
}

impl CertificateSpec {
    /// An end-entity spec with no SANs and a fresh random 16-octet serial number.
    pub fn new(
        common_name: impl Into<String>,
        not_before: UnixTime,
        not_after: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Self> {
        let mut serial = vec![0u8; 16];
        rng.fill(&mut serial)?;
        // Spec: RFC 5280 §4.1.2.2: a positive integer of at most 20 octets, unique per CA;
        // clearing the top bit keeps it positive, setting the next keeps it 16 octets long.
        if let Some(first) = serial.first_mut() {
            *first = (*first & 0x7f) | 0x40;
        }
        Ok(Self {
            common_name: common_name.into(),
            dns_names: Vec::new(),
            uris: Vec::new(),
            not_before,
            not_after,
            is_ca: false,
            serial_number: serial,
        })
    }

    /// Adds a `dNSName` SAN.
    pub fn with_dns_name(mut self, name: impl Into<String>) -> Self {
        self.dns_names.push(name.into());
        self
    }

    /// Adds a `uniformResourceIdentifier` SAN.
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uris.push(uri.into());
        self
    }

    /// Makes this a CA certificate.
    pub fn ca(mut self) -> Self {
        self.is_ca = true;
        self
    }

    fn to_params(&self) -> Result<CertificateParams> {
        let invalid = |what: &str| Error::Certificate(format!("certificate spec: {what}"));
        let cn_chars = self.common_name.chars().count();
        if cn_chars == 0 || cn_chars > MAX_COMMON_NAME_CHARS {
            return Err(invalid("commonName must have 1 to 64 characters"));
        }
        match self.serial_number.first() {
            Some(&b) if (0x01..=0x7f).contains(&b) && self.serial_number.len() <= 20 => {}
            _ => {
                return Err(invalid(
                    "serial number must be 1-20 octets, first in 01..7f",
                ));
            }
        }
        let (nb, na) = (self.not_before.secs(), self.not_after.secs());
        if !(0..=MAX_CERT_TIME).contains(&nb) || !(0..=MAX_CERT_TIME).contains(&na) || nb >= na {
            return Err(invalid(
                "validity must be 1970..9999 with not_before < not_after",
            ));
        }
        let mut params = CertificateParams::default();
        params.not_before = offset_date_time(nb)?;
        params.not_after = offset_date_time(na)?;
        params.serial_number = Some(SerialNumber::from_slice(&self.serial_number));
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            DnValue::Utf8String(self.common_name.clone()),
        );
        params.distinguished_name = dn;
        for name in &self.dns_names {
            // Spec: RFC 5280 §4.2.1.6: dNSName in the "preferred name syntax" (RFC 1034).
            rustls_pki_types::DnsName::try_from(name.as_str())
                .map_err(|_| invalid("dNSName SAN is not a valid DNS name"))?;
            let ia5 = Ia5String::try_from(name.as_str())
                .map_err(|_| invalid("dNSName SAN is not ASCII"))?;
            params.subject_alt_names.push(SanType::DnsName(ia5));
        }
        for uri in &self.uris {
            // Spec: RFC 5280 §4.2.1.6: the URI "MUST NOT be a relative URI".
            url::Url::parse(uri).map_err(|_| invalid("URI SAN is not an absolute URI"))?;
            let ia5 = Ia5String::try_from(uri.as_str())
                .map_err(|_| invalid("URI SAN is not ASCII (use percent-encoding)"))?;
            params.subject_alt_names.push(SanType::URI(ia5));
        }
        // rcgen's own basicConstraints and keyUsage are not DER: `IsCa::ExplicitNoCa`
        // writes `cA BOOLEAN FALSE` (X.690 §11.5: a value equal to the DEFAULT is omitted;
        // Python `cryptography` refuses it) and keyUsage is always a 9-bit BIT STRING with
        // trailing zero bits (X.690 §11.2.2: they are removed). So rcgen writes neither
        // (nor the subjectKeyIdentifier that goes with them) and `certificate_extensions`
        // adds all three.
        params.is_ca = IsCa::NoCa;
        params.key_usages = Vec::new();
        params.key_identifier_method = KeyIdMethod::Sha256;
        Ok(params)
    }

    /// The parameters for a certificate of `subject`: [`Self::to_params`] plus the
    /// extensions vdc encodes itself.
    fn to_params_for(&self, subject: &PublicKey) -> Result<CertificateParams> {
        let mut params = self.to_params()?;
        params.custom_extensions = certificate_extensions(subject, self.is_ca)?;
        Ok(params)
    }
}

/// id-ce-subjectKeyIdentifier (RFC 5280 §4.2.1.2).
const OID_SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
/// id-ce-keyUsage (RFC 5280 §4.2.1.3).
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
/// id-ce-basicConstraints (RFC 5280 §4.2.1.9).
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];

/// KeyUsage bits (RFC 5280 §4.2.1.3), as the first octet of the BIT STRING: bit 0
/// (`digitalSignature`) is the most significant bit.
const KU_DIGITAL_SIGNATURE: u8 = 0x80;
const KU_KEY_CERT_SIGN: u8 = 0x04;
const KU_CRL_SIGN: u8 = 0x02;

/// The subjectKeyIdentifier, basicConstraints and keyUsage of a certificate, in strict DER.
///
/// - subjectKeyIdentifier: the first 20 octets of SHA-256 over the DER
///   SubjectPublicKeyInfo (what rcgen's `KeyIdMethod::Sha256` derives, so an issued
///   certificate's authorityKeyIdentifier, which rcgen writes, matches; RFC 5280 §4.2.1.2:
///   CAs MUST and end entities SHOULD carry it).
/// - basicConstraints, critical: a CA has `cA TRUE` and no path length; an end entity an
///   empty SEQUENCE, as `cA` is FALSE by DEFAULT and so absent in DER (X.690 §11.5). The
///   extension could be left out for an end entity (RFC 5280 §4.2.1.9), but saying "not a
///   CA" explicitly is what OpenSSL's `basicConstraints=critical,CA:FALSE` writes too.
/// - keyUsage, critical: `keyCertSign` + `cRLSign` for a CA, `digitalSignature` for an
///   end entity, as a BIT STRING without trailing zero bits (X.690 §11.2.2).
fn certificate_extensions(subject: &PublicKey, is_ca: bool) -> Result<Vec<rcgen::CustomExtension>> {
    let spki = unsigned_key_pair(subject)?.public_key_der();
    let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
    let key_id = digest.as_ref().get(..20).unwrap_or(digest.as_ref());
    let mut ski = Vec::with_capacity(key_id.len() + 2);
    write_tlv(TAG_OCTET_STRING, key_id, &mut ski);

    let (basic_constraints, usage) = if is_ca {
        (
            vec![TAG_SEQUENCE, 3, TAG_BOOLEAN, 1, 0xff],
            KU_KEY_CERT_SIGN | KU_CRL_SIGN,
        )
    } else {
        (vec![TAG_SEQUENCE, 0], KU_DIGITAL_SIGNATURE)
    };
    // The unused bits are the trailing zero bits of the last (only) octet; `usage` is
    // never zero.
    let unused = u8::try_from(usage.trailing_zeros()).unwrap_or(0);
    let mut key_usage = Vec::with_capacity(4);
    write_tlv(TAG_BIT_STRING, &[unused, usage], &mut key_usage);

    let critical = |oid: &[u64], content: Vec<u8>| {
        let mut ext = rcgen::CustomExtension::from_oid_content(oid, content);
        ext.set_criticality(true);
        ext
    };
    Ok(vec![
        rcgen::CustomExtension::from_oid_content(OID_SUBJECT_KEY_IDENTIFIER, ski),
        critical(OID_BASIC_CONSTRAINTS, basic_constraints),
        critical(OID_KEY_USAGE, key_usage),
    ])
}

fn offset_date_time(secs: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| Error::Certificate("certificate time out of range".into()))
}

/// A key rcgen can lay a certificate out for but not sign with: it knows the public key
/// and algorithm, and its "signature" is empty. The real signature is put in afterwards.
struct PublicOnly {
    raw: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl PublicOnly {
    fn new(key: &PublicKey) -> Self {
        match key {
            // rcgen writes these bytes as the subjectPublicKey BIT STRING: the uncompressed
            // SEC1 point for id-ecPublicKey/prime256v1 (RFC 5480 §2.2), the raw 32 bytes for
            // id-Ed25519 (RFC 8410 §4).
            PublicKey::P256(point) => Self {
                raw: point.to_vec(),
                alg: &rcgen::PKCS_ECDSA_P256_SHA256,
            },
            PublicKey::Ed25519(x) => Self {
                raw: x.to_vec(),
                alg: &rcgen::PKCS_ED25519,
            },
        }
    }
}

impl RemoteKeyPair for PublicOnly {
    fn public_key(&self) -> &[u8] {
        &self.raw
    }
    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(Vec::new())
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

impl PublicKeyData for PublicOnly {
    fn der_bytes(&self) -> &[u8] {
        &self.raw
    }
    fn algorithm(&self) -> &SignatureAlgorithm {
        self.alg
    }
}

fn rcgen_err(e: rcgen::Error) -> Error {
    Error::Certificate(format!("certificate creation failed: {e}"))
}

fn unsigned_key_pair(key: &PublicKey) -> Result<KeyPair> {
    KeyPair::from_remote(Box::new(PublicOnly::new(key))).map_err(rcgen_err)
}

/// Creates a self-signed certificate for `key` (DER). With `spec.is_ca` it is a root CA;
/// without, a self-signed end entity (e.g. an `x509_san_dns` verifier with no configured
/// certificate), which validates only where that exact certificate is pinned as a trust
/// anchor (see [`super::validate_x5c`]). HAIP 1.0 says the certificate signing a request
/// "MUST NOT be self-signed": for HAIP, issue the leaf under a CA with [`issue`].
pub fn self_signed(spec: &CertificateSpec, key: &SigningKey) -> Result<Vec<u8>> {
    let params = spec.to_params_for(key.public_key())?;
    let key_pair = unsigned_key_pair(key.public_key())?;
    let unsigned = params.self_signed(&key_pair).map_err(rcgen_err)?;
    let parts = CertParts::split(unsigned.der())?;
    sign_tbs(parts.tbs, parts.algorithm, key)
}

/// Issues a certificate for `subject` (DER), signed by `issuer_key` under the CA certificate
/// `issuer_cert_der`. The issuer must be a CA whose public key is `issuer_key`'s; the new
/// certificate's issuer name is the CA's subject name byte for byte (so path building
/// matches it whatever string types the CA used) and its authorityKeyIdentifier is the
/// CA's subjectKeyIdentifier when it has one (RFC 5280 §4.2.1.1).
pub fn issue(
    spec: &CertificateSpec,
    subject: &PublicKey,
    issuer_cert_der: &[u8],
    issuer_key: &SigningKey,
) -> Result<Vec<u8>> {
    let issuer = LeafInfo::parse(issuer_cert_der)?;
    if issuer.public_key()? != *issuer_key.public_key() {
        return Err(Error::Certificate(
            "issuer key does not match the issuer certificate".into(),
        ));
    }
    if !issuer.is_ca {
        return Err(Error::Certificate(
            "issuer certificate is not a CA (basicConstraints cA)".into(),
        ));
    }
    let issuer_subject = CertParts::split(issuer_cert_der)?.subject()?;

    let issuer_key_pair = unsigned_key_pair(issuer_key.public_key())?;
    // rcgen wants the issuer as an rcgen certificate; only its key identifier method is used
    // (its name is replaced below), and "signing" it costs nothing.
    let mut issuer_params = CertificateParams::default();
    issuer_params.key_identifier_method = match issuer.subject_key_id {
        Some(ski) => KeyIdMethod::PreSpecified(ski),
        None => KeyIdMethod::Sha256,
    };
    let issuer_stub = issuer_params
        .self_signed(&issuer_key_pair)
        .map_err(rcgen_err)?;

    let mut params = spec.to_params_for(subject)?;
    params.use_authority_key_identifier_extension = true;
    let unsigned = params
        .signed_by(&PublicOnly::new(subject), &issuer_stub, &issuer_key_pair)
        .map_err(rcgen_err)?;
    let parts = CertParts::split(unsigned.der())?;
    let tbs = parts.with_issuer(issuer_subject)?;
    sign_tbs(&tbs, parts.algorithm, issuer_key)
}

/// The three parts of a certificate (RFC 5280 §4.1), as raw DER.
struct CertParts<'a> {
    tbs: &'a [u8],
    tbs_content: &'a [u8],
    algorithm: &'a [u8],
}

impl<'a> CertParts<'a> {
    fn split(der: &'a [u8]) -> Result<Self> {
        let cert = read_single(der, TAG_SEQUENCE)?;
        let parts = read_elements(cert.content)?;
        match parts.as_slice() {
            [tbs, alg, sig]
                if tbs.tag == TAG_SEQUENCE
                    && alg.tag == TAG_SEQUENCE
                    && sig.tag == TAG_BIT_STRING =>
            {
                Ok(Self {
                    tbs: tbs.full,
                    tbs_content: tbs.content,
                    algorithm: alg.full,
                })
            }
            _ => Err(Error::Certificate(
                "certificate structure unexpected".into(),
            )),
        }
    }

    /// Index of `issuer` in the TBSCertificate: after the optional `[0] version`, the
    /// serial number and the signature algorithm.
    fn issuer_index(elements: &[super::der::Tlv<'_>]) -> usize {
        match elements.first() {
            Some(first) if first.tag == TAG_VERSION => 3,
            _ => 2,
        }
    }

    /// The raw `subject` Name.
    fn subject(&self) -> Result<&'a [u8]> {
        let elements = read_elements(self.tbs_content)?;
        // subject follows issuer and validity.
        let idx = Self::issuer_index(&elements) + 2;
        match elements.get(idx) {
            Some(name) if name.tag == TAG_SEQUENCE => Ok(name.full),
            _ => Err(Error::Certificate("certificate has no subject name".into())),
        }
    }

    /// The TBSCertificate with its `issuer` Name replaced by `issuer_name` (raw DER).
    fn with_issuer(&self, issuer_name: &[u8]) -> Result<Vec<u8>> {
        let elements = read_elements(self.tbs_content)?;
        let idx = Self::issuer_index(&elements);
        if elements.get(idx).map(|e| e.tag) != Some(TAG_SEQUENCE) {
            return Err(Error::Certificate("certificate has no issuer name".into()));
        }
        let mut content = Vec::with_capacity(self.tbs_content.len() + issuer_name.len());
        for (i, element) in elements.iter().enumerate() {
            content.extend_from_slice(if i == idx { issuer_name } else { element.full });
        }
        let mut tbs = Vec::with_capacity(content.len() + 4);
        write_tlv(TAG_SEQUENCE, &content, &mut tbs);
        Ok(tbs)
    }
}

/// Signs `tbs` with `key` and assembles the certificate.
fn sign_tbs(tbs: &[u8], algorithm: &[u8], key: &SigningKey) -> Result<Vec<u8>> {
    let raw = key.sign_sync(tbs)?;
    let signature = match key.algorithm() {
        // Spec: RFC 5758 §3.2: ecdsa-with-SHA256 signatures are DER Ecdsa-Sig-Value.
        Algorithm::Es256 => ecdsa_fixed_to_der(&raw)?,
        // Spec: RFC 8410 §6: the Ed25519 signature is the 64 raw bytes.
        Algorithm::EdDsa => raw,
    };
    let mut bits = Vec::with_capacity(signature.len() + 1);
    bits.push(0); // no unused bits
    bits.extend_from_slice(&signature);
    let mut content = Vec::with_capacity(tbs.len() + algorithm.len() + bits.len() + 4);
    content.extend_from_slice(tbs);
    content.extend_from_slice(algorithm);
    write_tlv(TAG_BIT_STRING, &bits, &mut content);
    let mut cert = Vec::with_capacity(content.len() + 4);
    write_tlv(TAG_SEQUENCE, &content, &mut cert);
    Ok(cert)
}

#[cfg(test)]
mod tests {
    use der::Decode as _;
    use x509_cert::Certificate;

    use super::*;
    use crate::rng::SeededRandom;
    use crate::x509::{TrustAnchors, validate_x5c};

    const T0: i64 = 1_767_225_600;

    fn spec(rng: &SeededRandom) -> CertificateSpec {
        CertificateSpec::new("Spec Test", UnixTime(T0), UnixTime(T0 + 86_400), rng).unwrap()
    }

    fn extension(cert: &Certificate, oid: &str) -> Option<x509_cert::ext::Extension> {
        cert.tbs_certificate
            .extensions
            .clone()
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.extn_id.to_string() == oid)
    }

    /// Fails unless `der` is a certificate in strict DER: x509-cert decodes DEFAULT values
    /// that are written out (it is lenient there), but its encoder omits them (X.690
    /// §11.5), so decoding and re-encoding must give back the very same bytes, for the
    /// certificate and for the value of every extension (opaque OCTET STRINGs to the
    /// certificate decoder). An extension this helper does not know fails the test, so a
    /// new one gets checked too.
    fn assert_strict_der(der: &[u8], what: &str) {
        use der::Encode as _;
        use x509_cert::ext::pkix::{
            AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectAltName,
            SubjectKeyIdentifier,
        };
        fn round_trip<T: for<'a> der::Decode<'a> + der::Encode>(bytes: &[u8]) -> Vec<u8> {
            T::from_der(bytes).unwrap().to_der().unwrap()
        }
        let cert = Certificate::from_der(der).unwrap();
        assert_eq!(
            cert.to_der().unwrap(),
            der,
            "{what}: certificate is not DER"
        );
        for ext in cert.tbs_certificate.extensions.clone().unwrap_or_default() {
            let value = ext.extn_value.as_bytes();
            let again = match ext.extn_id.to_string().as_str() {
                "2.5.29.14" => round_trip::<SubjectKeyIdentifier>(value),
                "2.5.29.15" => round_trip::<KeyUsage>(value),
                "2.5.29.17" => round_trip::<SubjectAltName>(value),
                "2.5.29.19" => round_trip::<BasicConstraints>(value),
                "2.5.29.35" => round_trip::<AuthorityKeyIdentifier>(value),
                other => panic!("{what}: extension {other} is not checked for DER"),
            };
            assert_eq!(again, value, "{what}: extension {} is not DER", ext.extn_id);
        }
    }

    /// Spec: X.690 §11.5 (issue 10 item 6): every kind of certificate vdc makes (a
    /// verifier's CA and the leaf it issues, a self-signed end entity; both key types, with
    /// and without SANs) is strict DER. A leaf's basicConstraints is an empty SEQUENCE
    /// (`cA` FALSE by DEFAULT, so absent), never `cA BOOLEAN FALSE` (which rcgen's
    /// `IsCa::ExplicitNoCa` wrote and Python `cryptography` refuses); keyUsage has no
    /// trailing zero bits (X.690 §11.2.2).
    #[test]
    fn every_certificate_kind_is_strict_der() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let rng = SeededRandom::new(10);
            let ca_key = SigningKey::generate(alg, &rng).unwrap();
            let ca = self_signed(&spec(&rng).ca(), &ca_key).unwrap();
            let leaf_key = SigningKey::generate(alg, &rng).unwrap();
            let named = spec(&rng)
                .with_dns_name("verifier.example.org")
                .with_uri("https://verifier.example.org/issuers/a");
            let kinds = [
                ("CA", ca.clone()),
                (
                    "issued leaf",
                    issue(&named, leaf_key.public_key(), &ca, &ca_key).unwrap(),
                ),
                (
                    "issued leaf without SANs",
                    issue(&spec(&rng), leaf_key.public_key(), &ca, &ca_key).unwrap(),
                ),
                ("self-signed leaf", self_signed(&named, &leaf_key).unwrap()),
            ];
            for (what, der) in kinds {
                assert_strict_der(&der, what);
                let cert = Certificate::from_der(&der).unwrap();
                let bc = extension(&cert, "2.5.29.19").unwrap();
                assert!(bc.critical, "{what}");
                let ku = extension(&cert, "2.5.29.15").unwrap();
                assert!(ku.critical, "{what}");
                // keyCertSign + cRLSign (0x06, one unused bit) for the CA, digitalSignature
                // (0x80, seven unused bits) for a leaf; rcgen wrote 9 bits, in two octets.
                let (bc_der, ku_der): (&[u8], &[u8]) = if what == "CA" {
                    (&[0x30, 0x03, 0x01, 0x01, 0xff], &[0x03, 0x02, 0x01, 0x06])
                } else {
                    (&[0x30, 0x00], &[0x03, 0x02, 0x07, 0x80])
                };
                assert_eq!(bc.extn_value.as_bytes(), bc_der, "{what}");
                assert_eq!(ku.extn_value.as_bytes(), ku_der, "{what}");
                assert!(extension(&cert, "2.5.29.14").is_some(), "{what}: no SKI");
            }
        }
    }

    #[test]
    fn leaf_subject_key_identifier_is_sha256_of_the_spki() {
        // The identifier rcgen's KeyIdMethod::Sha256 gives a CA, so an issued leaf's AKI
        // and a CA's SKI are made the same way.
        let rng = SeededRandom::new(11);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let der = self_signed(&spec(&rng), &key).unwrap();
        let cert = Certificate::from_der(&der).unwrap();
        let spki = der::Encode::to_der(&cert.tbs_certificate.subject_public_key_info).unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        assert_eq!(
            LeafInfo::parse(&der).unwrap().subject_key_id.unwrap(),
            &digest.as_ref()[..20]
        );
    }

    #[test]
    fn new_spec_has_positive_sixteen_octet_random_serial() {
        let rng = SeededRandom::new(1);
        let a = spec(&rng);
        let b = spec(&rng);
        assert_eq!(a.serial_number.len(), 16);
        assert!((0x40..=0x7f).contains(&a.serial_number[0]));
        assert_ne!(a.serial_number, b.serial_number);
        assert!(!a.is_ca);
        assert!(a.clone().ca().is_ca);
    }

    #[test]
    fn self_signed_certificate_carries_the_spec() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let rng = SeededRandom::new(2);
            let key = SigningKey::generate(alg, &rng).unwrap();
            let spec = spec(&rng)
                .with_dns_name("verifier.example.org")
                .with_uri("https://verifier.example.org/");
            let der = self_signed(&spec, &key).unwrap();
            let cert = Certificate::from_der(&der).unwrap();
            let tbs = &cert.tbs_certificate;
            assert_eq!(tbs.serial_number.as_bytes(), spec.serial_number.as_slice());
            assert_eq!(tbs.issuer, tbs.subject);
            assert_eq!(tbs.subject.to_string(), "CN=Spec Test");
            assert_eq!(
                tbs.validity.not_before.to_unix_duration().as_secs() as i64,
                T0
            );
            assert_eq!(
                tbs.validity.not_after.to_unix_duration().as_secs() as i64,
                T0 + 86_400
            );
            // Leaf: basicConstraints present, critical, cA=FALSE.
            let bc = extension(&cert, "2.5.29.19").unwrap();
            assert!(bc.critical);
            let bc =
                x509_cert::ext::pkix::BasicConstraints::from_der(bc.extn_value.as_bytes()).unwrap();
            assert!(!bc.ca);
            let info = LeafInfo::parse(&der).unwrap();
            assert_eq!(&info.public_key().unwrap(), key.public_key());
            assert_eq!(info.dns_names, vec!["verifier.example.org".to_string()]);
            assert_eq!(info.uris, vec!["https://verifier.example.org/".to_string()]);
            assert!(info.subject_key_id.is_some());
        }
    }

    #[test]
    fn self_signed_signature_verifies_with_the_key() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let rng = SeededRandom::new(3);
            let key = SigningKey::generate(alg, &rng).unwrap();
            let der = self_signed(&spec(&rng).ca(), &key).unwrap();
            // The CA validates as its own anchor only through a leaf it issues.
            let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
            let leaf = issue(&spec(&rng), leaf_key.public_key(), &der, &key).unwrap();
            let anchors = TrustAnchors::from_der_certs(vec![der.clone()]).unwrap();
            validate_x5c(&[leaf], &anchors, UnixTime(T0 + 1)).unwrap();
            // And directly: the signature over the TBS checks with ring.
            let parts = CertParts::split(&der).unwrap();
            let cert = Certificate::from_der(&der).unwrap();
            let sig = cert.signature.as_bytes().unwrap();
            let verify_alg: &dyn ring::signature::VerificationAlgorithm = match alg {
                Algorithm::Es256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
                Algorithm::EdDsa => &ring::signature::ED25519,
            };
            let public: &[u8] = match key.public_key() {
                PublicKey::P256(p) => p,
                PublicKey::Ed25519(x) => x,
            };
            ring::signature::UnparsedPublicKey::new(verify_alg, public)
                .verify(parts.tbs, sig)
                .unwrap();
        }
    }

    #[test]
    fn ed25519_certificates_are_deterministic_for_a_seed() {
        let make = || {
            let rng = SeededRandom::new(4);
            let key = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
            self_signed(&spec(&rng), &key).unwrap()
        };
        assert_eq!(make(), make());
    }

    #[test]
    fn ca_certificate_is_marked_ca_with_cert_signing_usage() {
        let rng = SeededRandom::new(5);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let der = self_signed(&spec(&rng).ca(), &key).unwrap();
        assert!(LeafInfo::parse(&der).unwrap().is_ca);
        let cert = Certificate::from_der(&der).unwrap();
        let ku = extension(&cert, "2.5.29.15").unwrap();
        let ku = x509_cert::ext::pkix::KeyUsage::from_der(ku.extn_value.as_bytes()).unwrap();
        assert!(ku.key_cert_sign());
        assert!(ku.crl_sign());
        assert!(!ku.digital_signature());
    }

    #[test]
    fn issued_certificate_names_issuer_and_carries_its_key_identifier() {
        let rng = SeededRandom::new(6);
        let ca_key = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
        let mut ca_spec = spec(&rng).ca();
        ca_spec.common_name = "Issuing CA".into();
        let ca = self_signed(&ca_spec, &ca_key).unwrap();
        let subject_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(&spec(&rng), subject_key.public_key(), &ca, &ca_key).unwrap();
        let leaf_cert = Certificate::from_der(&leaf).unwrap();
        let ca_cert = Certificate::from_der(&ca).unwrap();
        assert_eq!(
            leaf_cert.tbs_certificate.issuer,
            ca_cert.tbs_certificate.subject
        );
        assert_eq!(
            leaf_cert.tbs_certificate.subject.to_string(),
            "CN=Spec Test"
        );
        let aki = extension(&leaf_cert, "2.5.29.35").unwrap();
        let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(aki.extn_value.as_bytes())
            .unwrap();
        assert_eq!(
            aki.key_identifier.unwrap().as_bytes(),
            LeafInfo::parse(&ca)
                .unwrap()
                .subject_key_id
                .unwrap()
                .as_slice()
        );
        assert_eq!(
            &LeafInfo::parse(&leaf).unwrap().public_key().unwrap(),
            subject_key.public_key()
        );
    }

    #[test]
    fn issuing_with_a_non_ca_or_a_foreign_key_is_refused() {
        let rng = SeededRandom::new(7);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let not_ca = self_signed(&spec(&rng), &key).unwrap();
        let subject = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let err = issue(&spec(&rng), subject.public_key(), &not_ca, &key).unwrap_err();
        assert!(
            matches!(&err, Error::Certificate(m) if m.contains("not a CA")),
            "{err:?}"
        );

        let ca = self_signed(&spec(&rng).ca(), &key).unwrap();
        let other = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let err = issue(&spec(&rng), subject.public_key(), &ca, &other).unwrap_err();
        assert!(
            matches!(&err, Error::Certificate(m) if m.contains("does not match")),
            "{err:?}"
        );

        assert!(issue(&spec(&rng), subject.public_key(), b"junk", &key).is_err());
    }

    #[test]
    fn far_future_validity_uses_generalized_time_and_validates() {
        let rng = SeededRandom::new(8);
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let mut ca_spec = spec(&rng).ca();
        ca_spec.not_after = UnixTime(MAX_CERT_TIME);
        let ca = self_signed(&ca_spec, &ca_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
        let mut leaf_spec = spec(&rng);
        // 2060-01-01: past 2049, so GeneralizedTime (RFC 5280 §4.1.2.5).
        leaf_spec.not_after = UnixTime(2_840_140_800);
        let leaf = issue(&leaf_spec, leaf_key.public_key(), &ca, &ca_key).unwrap();
        let anchors = TrustAnchors::from_der_certs(vec![ca]).unwrap();
        validate_x5c(
            std::slice::from_ref(&leaf),
            &anchors,
            UnixTime(2_840_140_800 - 1),
        )
        .unwrap();
        assert!(validate_x5c(&[leaf], &anchors, UnixTime(2_840_140_800 + 1)).is_err());
    }

    #[test]
    fn invalid_specs_are_refused() {
        let rng = SeededRandom::new(9);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let base = spec(&rng);
        type Mutation = Box<dyn Fn(&mut CertificateSpec)>;
        let cases: Vec<(&str, Mutation)> = vec![
            ("empty CN", Box::new(|s| s.common_name.clear())),
            ("long CN", Box::new(|s| s.common_name = "x".repeat(65))),
            ("empty serial", Box::new(|s| s.serial_number.clear())),
            ("negative serial", Box::new(|s| s.serial_number[0] = 0x80)),
            (
                "non-minimal serial",
                Box::new(|s| s.serial_number[0] = 0x00),
            ),
            (
                "21-octet serial",
                Box::new(|s| s.serial_number = vec![1; 21]),
            ),
            ("empty validity", Box::new(|s| s.not_after = s.not_before)),
            (
                "reversed validity",
                Box::new(|s| s.not_after = UnixTime(T0 - 1)),
            ),
            ("before 1970", Box::new(|s| s.not_before = UnixTime(-1))),
            (
                "after 9999",
                Box::new(|s| s.not_after = UnixTime(MAX_CERT_TIME + 1)),
            ),
            (
                "bad DNS name",
                Box::new(|s| s.dns_names.push("bad name".into())),
            ),
            (
                "URL as DNS name",
                Box::new(|s| s.dns_names.push("https://a.example".into())),
            ),
            (
                "non-ASCII DNS",
                Box::new(|s| s.dns_names.push("bücher.example".into())),
            ),
            (
                "relative URI",
                Box::new(|s| s.uris.push("/relative".into())),
            ),
            (
                "non-ASCII URI",
                Box::new(|s| s.uris.push("https://a.example/ü".into())),
            ),
        ];
        // Sanity: the base spec is fine, with a 64-character CN and a 20-octet serial too.
        let mut edge = base.clone();
        edge.common_name = "x".repeat(64);
        edge.serial_number = vec![0x7f; 20];
        self_signed(&edge, &key).unwrap();
        for (name, mutate) in cases {
            let mut s = base.clone();
            mutate(&mut s);
            let err = self_signed(&s, &key).unwrap_err();
            assert!(matches!(err, Error::Certificate(_)), "{name}: {err:?}");
        }
    }

    /// HAIP 1.0 §6.1 "MUST NOT be self-signed": a CA and a self-signed end entity are
    /// self-signed, a leaf issued under the CA is not, although here both carry one name.
    #[test]
    fn self_signed_tells_a_self_signed_certificate_from_an_issued_leaf() {
        let rng = SeededRandom::new(11);
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let ca = self_signed(&spec(&rng).ca(), &ca_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(&spec(&rng), leaf_key.public_key(), &ca, &ca_key).unwrap();
        let own = self_signed(&spec(&rng), &leaf_key).unwrap();
        assert!(crate::x509::is_self_signed(&ca).unwrap());
        assert!(crate::x509::is_self_signed(&own).unwrap());
        assert!(!crate::x509::is_self_signed(&leaf).unwrap());
        assert!(crate::x509::is_self_signed(b"not der").is_err());
    }
}
