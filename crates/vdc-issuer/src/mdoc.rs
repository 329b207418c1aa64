//! The certificates behind an issuer's mdocs (`mso_mdoc`, OID4VCI 1.0 Appendix A.2) and the
//! signer that puts them in `issuerAuth`.
//!
//! ISO 18013-5 §9.1.2.4: `issuerAuth` carries the Document Signer (DS) certificate in its
//! `x5chain`; a reader validates it to an IACA root it trusts (§9.3.3). When an issuer has an
//! `mso_mdoc` configuration and no operator chain, vdc makes both (Annex B profiles, below):
//! an IACA root, self-signed, and a DS certificate for the issuer's signing key, so the key
//! that signs the MSO is the DS certificate's. Both live in the stored definition
//! (`iaca`, `document_signer_x5c`), as the HAIP chain does ([`crate::certificate`]); the
//! IACA is exported at `GET /api/v1/issuers/{issuer}/iaca.pem` for relying parties, and the
//! `x5chain` is the DS certificate alone (a reader holds the root already).
//!
//! With an operator chain (`x5c` with `signing_key`) that chain is the `x5chain`: the
//! operator's CA is the root relying parties trust, and vdc makes no IACA.
//!
//! As for the HAIP CA, the IACA's private key is dropped once the DS certificate is signed:
//! a leaked store leaks no CA key, at the price that a new signing key (the switch into HAIP
//! mode) comes with a new IACA, which relying parties have to take again.
//!
//! The certificates are laid out here in DER by hand rather than with
//! `vdc_core::x509::CertificateSpec`: that spec has a commonName-only subject and fixed
//! extensions, while Annex B needs a country, `pathLenConstraint`, the mdoc DS extended key
//! usage and an issuer alternative name.

use std::sync::Arc;

use vdc_core::jose::{Algorithm, Jwk, PublicKey, Signer, SigningKey};
use vdc_core::rng::RandomSource;
use vdc_core::time::UnixTime;
use vdc_core::x509;

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// The IACA's country (`countryName`, ISO 18013-5 Annex B: mandatory in the IACA and DS
/// subjects, the same in both). "UT" ("Utopia") is the code ISO 18013-5's own examples use:
/// no real country's, so nobody mistakes a vdc-made IACA for an issuing authority's. An
/// operator who needs their country brings their own chain (`x5c`).
pub const IACA_COUNTRY: &str = "UT";

/// Validity of the IACA: five years (ISO 18013-5 Annex B allows at most 20).
pub const IACA_VALIDITY_SECS: i64 = 5 * 365 * 24 * 3600;

/// Validity of the DS certificate: one year (Annex B allows at most 457 days), inside the
/// IACA's.
pub const DS_VALIDITY_SECS: i64 = 365 * 24 * 3600;

/// Certificates start a minute in the past, for relying parties whose clock is behind.
const CLOCK_SKEW_SECS: i64 = 60;

/// Upper bound of `commonName` (RFC 5280 Appendix A: `ub-common-name INTEGER ::= 64`).
const MAX_COMMON_NAME_CHARS: usize = 64;

/// An IACA root and a Document Signer certificate under it (DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdocChain {
    /// The DS certificate of the signing key: the whole `x5chain`.
    pub document_signer: Vec<u8>,
    /// The IACA root (self-signed), exported, never in `x5chain`.
    pub iaca: Vec<u8>,
}

impl MdocChain {
    /// Records the chain in the stored definition.
    pub fn record_in(&self, def: &mut IssuerDefinition) {
        use base64::Engine as _;
        def.document_signer_x5c = Some(vec![
            base64::engine::general_purpose::STANDARD.encode(&self.document_signer),
        ]);
        def.iaca = Some(x509::to_pem(&self.iaca));
    }
}

/// Whether the issuer's signing key has the x5c the operator gave (not one vdc made).
pub fn has_operator_chain(def: &IssuerDefinition) -> bool {
    def.x5c.is_some() && def.trust_anchor.is_none()
}

/// Whether vdc must make an IACA and DS certificate for `def`: it has an `mso_mdoc`
/// configuration, no DS certificate yet and no operator chain.
pub fn needs_chain(def: &IssuerDefinition) -> bool {
    def.has_mdoc() && def.document_signer_x5c.is_none() && !has_operator_chain(def)
}

fn failed(e: impl std::fmt::Display) -> IssuerError {
    IssuerError::Internal(format!("mdoc certificates could not be made: {e}"))
}

/// Makes an IACA root and a DS certificate for `subject` (the issuer's P-256 signing key),
/// valid from `now`. The issuer alternative name of both is the credential issuer
/// identifier (Annex B: `issuerAlternativeName` is mandatory; a URI names this tenant).
pub fn make_chain(
    issuer_id: &str,
    credential_issuer: &str,
    subject: &PublicKey,
    now: UnixTime,
    rng: &dyn RandomSource,
) -> Result<MdocChain> {
    let PublicKey::P256(subject_point) = subject else {
        return Err(failed(
            "the Document Signer key must be P-256 (mso_mdoc needs signing_alg ES256)",
        ));
    };
    let iaca_key = SigningKey::generate(Algorithm::Es256, rng).map_err(failed)?;
    let PublicKey::P256(iaca_point) = iaca_key.public_key() else {
        return Err(failed("the IACA key is not P-256"));
    };
    let iaca_name = name(&common_name("vdc IACA", issuer_id));
    let ds_name = name(&common_name("vdc DS", issuer_id));
    let iaca_ski = key_identifier(iaca_point);
    let alt_name = issuer_alt_name(credential_issuer)?;
    let not_before = now.plus(-CLOCK_SKEW_SECS);

    // ISO 18013-5 Annex B.1.2 (IACA root): keyUsage keyCertSign + cRLSign (critical),
    // basicConstraints cA with pathLenConstraint 0 (critical), subjectKeyIdentifier,
    // issuerAlternativeName. No CRL distribution point: vdc publishes no CRL (credentials
    // are revoked through their status list).
    let iaca_extensions = [
        extension(OID_SUBJECT_KEY_IDENTIFIER, false, &octet_string(&iaca_ski)),
        extension(
            OID_KEY_USAGE,
            true,
            &tlv(TAG_BIT_STRING, &[1, KU_KEY_CERT_SIGN | KU_CRL_SIGN]),
        ),
        extension(
            OID_BASIC_CONSTRAINTS,
            true,
            &sequence(&[tlv(TAG_BOOLEAN, &[0xff]), integer(&[0])]),
        ),
        extension(OID_ISSUER_ALT_NAME, false, &alt_name),
    ];
    let iaca_tbs = tbs(
        &serial(rng)?,
        &iaca_name,
        (not_before, now.plus(IACA_VALIDITY_SECS)),
        &iaca_name,
        iaca_point,
        &iaca_extensions,
    )?;
    let iaca = sign(&iaca_tbs, &iaca_key)?;

    // ISO 18013-5 Annex B.1.4 (Document Signer): keyUsage digitalSignature (critical),
    // extKeyUsage 1.0.18013.5.1.2 (critical), authorityKeyIdentifier = the IACA's
    // subjectKeyIdentifier, subjectKeyIdentifier, issuerAlternativeName; issuer = the IACA's
    // subject, validity inside the IACA's.
    let ds_extensions = [
        extension(
            OID_AUTHORITY_KEY_IDENTIFIER,
            false,
            &sequence(&[tlv(0x80, &iaca_ski)]),
        ),
        extension(
            OID_SUBJECT_KEY_IDENTIFIER,
            false,
            &octet_string(&key_identifier(subject_point)),
        ),
        extension(
            OID_KEY_USAGE,
            true,
            &tlv(TAG_BIT_STRING, &[7, KU_DIGITAL_SIGNATURE]),
        ),
        extension(OID_EXT_KEY_USAGE, true, &sequence(&[oid(OID_MDL_DS_EKU)])),
        extension(OID_ISSUER_ALT_NAME, false, &alt_name),
    ];
    let ds_tbs = tbs(
        &serial(rng)?,
        &iaca_name,
        (not_before, now.plus(DS_VALIDITY_SECS)),
        &ds_name,
        subject_point,
        &ds_extensions,
    )?;
    let document_signer = sign(&ds_tbs, &iaca_key)?;
    // `iaca_key` is dropped here: nothing else can be issued under this IACA.
    Ok(MdocChain {
        document_signer,
        iaca,
    })
}

fn common_name(prefix: &str, issuer_id: &str) -> String {
    format!("{prefix} {issuer_id}")
        .chars()
        .take(MAX_COMMON_NAME_CHARS)
        .collect()
}

/// A signer for `issuerAuth`: the issuer's key with the DS certificate (or the operator's
/// chain) as its `x5c`, which `vdc_core::mdoc::issue` puts in `x5chain`.
#[derive(Debug)]
pub struct MdocSigner {
    inner: Arc<dyn Signer>,
    chain: Vec<Vec<u8>>,
}

#[async_trait::async_trait]
impl Signer for MdocSigner {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn public_jwk(&self) -> &Jwk {
        self.inner.public_jwk()
    }
    fn x5c(&self) -> Option<&[Vec<u8>]> {
        Some(&self.chain)
    }
    async fn sign(&self, message: &[u8]) -> vdc_core::Result<Vec<u8>> {
        self.inner.sign(message).await
    }
}

impl Issuer {
    /// The signer of the issuer's mdocs: its current key with the DS certificate vdc made, or
    /// the operator's chain. The chain's leaf must certify the key (a key replaced without
    /// its certificate would sign mdocs no reader can verify: refused as an internal error).
    pub(crate) async fn mdoc_signer(
        &self,
        def: &IssuerDefinition,
        issuer_id: &str,
    ) -> Result<MdocSigner> {
        let inner = self.signer(issuer_id).await?;
        let chain = match &def.document_signer_x5c {
            Some(x5c) => x509::parse_x5c(&serde_json::json!(x5c))
                .map_err(|e| IssuerError::Internal(format!("stored DS certificate: {e}")))?,
            None if has_operator_chain(def) => inner
                .x5c()
                .map(<[Vec<u8>]>::to_vec)
                .ok_or_else(|| IssuerError::Internal("the signing key has no x5c".into()))?,
            None => {
                return Err(IssuerError::Internal(format!(
                    "issuer {issuer_id} has no Document Signer certificate"
                )));
            }
        };
        let leaf = chain
            .first()
            .ok_or_else(|| IssuerError::Internal("empty Document Signer chain".into()))?;
        let leaf_key = x509::leaf_public_key(leaf)
            .map_err(|e| IssuerError::Internal(format!("Document Signer certificate: {e}")))?;
        if leaf_key != inner.public_jwk().key {
            return Err(IssuerError::Internal(
                "the Document Signer certificate does not certify the current signing key".into(),
            ));
        }
        Ok(MdocSigner { inner, chain })
    }

    /// `GET /api/v1/issuers/{issuer}/iaca.pem`: the IACA root vdc made (PEM). `not_found`
    /// for an unknown issuer and for one without an IACA made by vdc (no `mso_mdoc`
    /// configuration, or an operator chain, whose CA the operator holds).
    pub async fn iaca_pem(&self, issuer_id: &str) -> Result<String> {
        let def = self.require(issuer_id).await?;
        def.iaca.clone().ok_or_else(|| {
            IssuerError::NotFound(format!(
                "issuer {issuer_id} has no IACA made by vdc (no mso_mdoc configuration, or its certificate chain is the operator's)"
            ))
        })
    }
}

// --- DER (X.690) for the two certificate profiles above ---

const TAG_BOOLEAN: u8 = 0x01;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_OID: u8 = 0x06;
const TAG_UTF8_STRING: u8 = 0x0c;
const TAG_PRINTABLE_STRING: u8 = 0x13;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;

/// ecdsa-with-SHA256 (RFC 5758 §3.2; parameters absent).
const OID_ECDSA_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
/// id-ecPublicKey and prime256v1 (RFC 5480 §2.1.1).
const OID_EC_PUBLIC_KEY: &[u64] = &[1, 2, 840, 10045, 2, 1];
const OID_PRIME256V1: &[u64] = &[1, 2, 840, 10045, 3, 1, 7];
/// countryName and commonName (X.520).
const OID_COUNTRY_NAME: &[u64] = &[2, 5, 4, 6];
const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
/// RFC 5280 §4.2.1 extensions.
const OID_SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_ISSUER_ALT_NAME: &[u64] = &[2, 5, 29, 18];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
/// id-mdl-kp-mdlDS (ISO 18013-5 Annex B.1.4): the Document Signer's key purpose.
const OID_MDL_DS_EKU: &[u64] = &[1, 0, 18013, 5, 1, 2];

/// KeyUsage bits as the first octet of the BIT STRING (RFC 5280 §4.2.1.3: bit 0 is the most
/// significant); the unused-bits counts written with them drop the trailing zeros (X.690
/// §11.2.2).
const KU_DIGITAL_SIGNATURE: u8 = 0x80;
const KU_KEY_CERT_SIGN: u8 = 0x04;
const KU_CRL_SIGN: u8 = 0x02;

/// 9999-12-31T23:59:59Z, the last instant X.509 can express.
const MAX_CERT_TIME: i64 = 253_402_300_799;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

fn sequence(items: &[Vec<u8>]) -> Vec<u8> {
    tlv(TAG_SEQUENCE, &items.concat())
}

fn octet_string(content: &[u8]) -> Vec<u8> {
    tlv(TAG_OCTET_STRING, content)
}

/// A non-negative INTEGER from big-endian magnitude bytes, minimally encoded.
fn integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(magnitude.len().saturating_sub(1));
    let trimmed = magnitude.get(skip..).unwrap_or_default();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(TAG_INTEGER, &content)
}

fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let (first, rest) = match arcs {
        [a, b, rest @ ..] => (a * 40 + b, rest),
        _ => (0, &[][..]),
    };
    for arc in std::iter::once(first).chain(rest.iter().copied()) {
        let mut groups = vec![u8::try_from(arc & 0x7f).unwrap_or(0)];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
            v >>= 7;
        }
        content.extend(groups.iter().rev());
    }
    tlv(TAG_OID, &content)
}

fn extension(id: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(id)];
    if critical {
        parts.push(tlv(TAG_BOOLEAN, &[0xff]));
    }
    parts.push(octet_string(value));
    sequence(&parts)
}

/// `C=UT, CN=<cn>`: one attribute per RDN, country as PrintableString (X.520), the name as
/// UTF8String (RFC 5280 §4.1.2.6).
fn name(cn: &str) -> Vec<u8> {
    let rdn = |id: &[u64], tag: u8, value: &str| {
        tlv(TAG_SET, &sequence(&[oid(id), tlv(tag, value.as_bytes())]))
    };
    sequence(&[
        rdn(OID_COUNTRY_NAME, TAG_PRINTABLE_STRING, IACA_COUNTRY),
        rdn(OID_COMMON_NAME, TAG_UTF8_STRING, cn),
    ])
}

/// `GeneralNames` with one `uniformResourceIdentifier` (RFC 5280 §4.2.1.6, [6] IA5String).
fn issuer_alt_name(uri: &str) -> Result<Vec<u8>> {
    if !uri.is_ascii() || url::Url::parse(uri).is_err() {
        return Err(failed(
            "the credential issuer identifier is not an ASCII URI",
        ));
    }
    Ok(sequence(&[tlv(0x86, uri.as_bytes())]))
}

/// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (what ISO 18013-5
/// Annex B asks for the key identifiers).
fn key_identifier(point: &[u8; 65]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, point)
        .as_ref()
        .to_vec()
}

/// A 16-octet positive serial number, 126 random bits (Annex B: non-sequential, at least
/// 63 bits of entropy; RFC 5280 §4.1.2.2: at most 20 octets).
fn serial(rng: &dyn RandomSource) -> Result<Vec<u8>> {
    let mut s = vec![0u8; 16];
    rng.fill(&mut s).map_err(failed)?;
    if let Some(first) = s.first_mut() {
        *first = (*first & 0x7f) | 0x40;
    }
    Ok(integer(&s))
}

/// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
fn time(t: UnixTime) -> Result<Vec<u8>> {
    let secs = t.secs();
    if !(0..=MAX_CERT_TIME).contains(&secs) {
        return Err(failed("certificate time out of range"));
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let hms = format!("{:02}{:02}{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60);
    Ok(if y < 2050 {
        tlv(
            TAG_UTC_TIME,
            format!("{:02}{m:02}{d:02}{hms}", y % 100).as_bytes(),
        )
    } else {
        tlv(
            TAG_GENERALIZED_TIME,
            format!("{y:04}{m:02}{d:02}{hms}").as_bytes(),
        )
    })
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// TBSCertificate (RFC 5280 §4.1): v3, ecdsa-with-SHA256, a P-256 subject key.
fn tbs(
    serial: &[u8],
    issuer: &[u8],
    (not_before, not_after): (UnixTime, UnixTime),
    subject: &[u8],
    subject_point: &[u8; 65],
    extensions: &[Vec<u8>],
) -> Result<Vec<u8>> {
    let mut key_bits = Vec::with_capacity(66);
    key_bits.push(0);
    key_bits.extend_from_slice(subject_point);
    let spki = sequence(&[
        sequence(&[oid(OID_EC_PUBLIC_KEY), oid(OID_PRIME256V1)]),
        tlv(TAG_BIT_STRING, &key_bits),
    ]);
    Ok(sequence(&[
        tlv(0xa0, &integer(&[2])),
        serial.to_vec(),
        sequence(&[oid(OID_ECDSA_SHA256)]),
        issuer.to_vec(),
        sequence(&[time(not_before)?, time(not_after)?]),
        subject.to_vec(),
        spki,
        tlv(0xa3, &sequence(extensions)),
    ]))
}

/// `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }` with
/// the ECDSA signature as `Ecdsa-Sig-Value` (RFC 3279 §2.2.3).
fn sign(tbs: &[u8], key: &SigningKey) -> Result<Vec<u8>> {
    let fixed = key.sign_sync(tbs).map_err(failed)?;
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let mut bits = vec![0];
    bits.extend(sequence(&[integer(r), integer(s)]));
    Ok(sequence(&[
        tbs.to_vec(),
        sequence(&[oid(OID_ECDSA_SHA256)]),
        tlv(TAG_BIT_STRING, &bits),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::rng::SeededRandom;
    use vdc_core::x509::TrustAnchors;

    #[test]
    fn der_pieces_are_minimal() {
        assert_eq!(oid(OID_MDL_DS_EKU), [6, 7, 0x28, 0x81, 0x8c, 0x5d, 5, 1, 2]);
        assert_eq!(integer(&[0]), [2, 1, 0]);
        assert_eq!(integer(&[0, 0, 0x80]), [2, 2, 0, 0x80]);
        assert_eq!(integer(&[0, 0x7f]), [2, 1, 0x7f]);
        assert_eq!(
            time(UnixTime(0)).unwrap(),
            tlv(TAG_UTC_TIME, b"700101000000Z")
        );
        assert_eq!(
            time(UnixTime(2_524_608_000)).unwrap(),
            tlv(TAG_GENERALIZED_TIME, b"20500101000000Z")
        );
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(tlv(4, &[0; 200])[..3], [4, 0x81, 200]);
    }

    #[test]
    fn the_document_signer_chains_to_the_iaca_and_certifies_the_key() {
        let rng = SeededRandom::new(9);
        let now = UnixTime(1_800_000_000);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let chain = make_chain(
            &"a".repeat(63),
            "https://vdc.example/issuers/acme",
            key.public_key(),
            now,
            &rng,
        )
        .unwrap();
        let anchors = TrustAnchors::from_der_certs(vec![chain.iaca.clone()]).unwrap();
        let x5chain = vec![chain.document_signer.clone()];
        let leaf = x509::validate_x5c(&x5chain, &anchors, now).unwrap();
        assert_eq!(&leaf.public_key, key.public_key());
        assert!(x509::is_self_signed(&chain.iaca).unwrap());
        assert!(!x509::is_self_signed(&chain.document_signer).unwrap());
        // The DS certificate's validity ends inside the IACA's.
        assert!(x509::validate_x5c(&x5chain, &anchors, now.plus(DS_VALIDITY_SECS - 1)).is_ok());
        assert!(x509::validate_x5c(&x5chain, &anchors, now.plus(DS_VALIDITY_SECS + 1)).is_err());
        // An Ed25519 key cannot be a Document Signer here.
        let ed = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
        assert!(
            make_chain(
                "acme",
                "https://vdc.example/issuers/acme",
                ed.public_key(),
                now,
                &rng
            )
            .is_err()
        );
    }
}
