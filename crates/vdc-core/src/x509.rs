//! X.509 for JOSE: `x5c` chains (RFC 7515 §4.1.6) validated to configured trust anchors, the
//! OID4VP `x509_san_dns` / `x509_hash` client identifier checks, and certificate creation
//! with keys that never leave [`SigningKey`](crate::jose::SigningKey).
//!
//! Layout:
//! - this file: the `x5c` header parser, PEM text, and the size bounds every input obeys;
//! - `validate`: [`TrustAnchors`], [`validate_x5c`] (path validation by rustls-webpki),
//!   leaf key and SAN extraction (x509-cert), [`x509_hash`], [`leaf_has_dns_san`];
//! - `create`: [`CertificateSpec`], [`self_signed`] and [`issue`] (rcgen lays the
//!   certificate out, the `SigningKey` signs it);
//! - `der`: the few DER elements we split and write by hand.
//!
//! Trust (G5): a chain is trusted only because it ends at an anchor the operator configured;
//! nothing in the token itself can make it trusted.

mod create;
mod der;
mod validate;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

pub use create::{CertificateSpec, issue, self_signed};
pub use validate::{
    EkuPolicy, TrustAnchors, ValidatedLeaf, authority_key_identifier, leaf_has_dns_san,
    leaf_public_key, validate_x5c, x509_hash,
};

/// Whether a DER certificate is self-signed: its signature verifies with its own public
/// key. HAIP 1.0 (§4.4.1, §4.5.1, §5, §6.1) says the certificate signing an attestation,
/// request, metadata, credential or status list "MUST NOT be self-signed". The signature is
/// checked over the TBSCertificate bytes as received (ES256 and Ed25519, the keys vdc reads);
/// a certificate of another key type is not one vdc could have accepted, so it errs.
pub fn is_self_signed(cert_der: &[u8]) -> Result<bool> {
    use der::{TAG_BIT_STRING, TAG_SEQUENCE, read_elements, read_single};
    let cert = read_single(cert_der, TAG_SEQUENCE)?;
    let parts = read_elements(cert.content)?;
    let [tbs, _alg, sig] = parts.as_slice() else {
        return Err(Error::Certificate("bad DER: not a certificate".into()));
    };
    // BIT STRING content: the unused-bits octet (0 for signatures), then the signature.
    let sig = match sig.content.split_first() {
        Some((0, bits)) if sig.tag == TAG_BIT_STRING && tbs.tag == TAG_SEQUENCE => bits,
        _ => return Err(Error::Certificate("bad DER: signature".into())),
    };
    let ok = match validate::leaf_public_key(cert_der)? {
        crate::jose::PublicKey::P256(point) => ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &point[..],
        )
        .verify(tbs.full, sig)
        .is_ok(),
        crate::jose::PublicKey::Ed25519(key) => {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key[..])
                .verify(tbs.full, sig)
                .is_ok()
        }
    };
    Ok(ok)
}

/// The most certificates an `x5c` chain may hold (leaf, intermediates, optional anchor).
pub const MAX_X5C_CERTS: usize = 10;

/// The largest DER certificate accepted anywhere (x5c entry, PEM block, trust anchor).
pub const MAX_CERT_DER_LEN: usize = 16 * 1024;

/// The largest PEM text [`pem_to_der_certs`] reads (a trust-anchor bundle).
pub const MAX_PEM_LEN: usize = 1024 * 1024;

/// Reads the `x5c` JOSE header value: a non-empty array of standard base64 (not base64url)
/// DER certificates, leaf first. Bounds: [`MAX_X5C_CERTS`] entries of at most
/// [`MAX_CERT_DER_LEN`] bytes each. Nothing is trusted here; see [`validate_x5c`].
pub fn parse_x5c(value: &serde_json::Value) -> Result<Vec<Vec<u8>>> {
    // Spec: RFC 7515 §4.1.6: "a JSON array of certificate value strings. Each string in the
    // array is a base64-encoded (Section 4 of [RFC4648] -- not base64url-encoded) DER
    // [ITU.X690.2008] PKIX certificate value."
    let entries = value
        .as_array()
        .ok_or_else(|| Error::malformed("x5c must be an array"))?;
    if entries.is_empty() {
        return Err(Error::malformed("x5c must not be empty"));
    }
    if entries.len() > MAX_X5C_CERTS {
        return Err(Error::TooLarge(format!(
            "x5c has {} certificates, at most {MAX_X5C_CERTS} are accepted",
            entries.len()
        )));
    }
    // Four base64 characters per three bytes, rounded up: refuse before decoding.
    let max_text = MAX_CERT_DER_LEN.div_ceil(3) * 4;
    entries
        .iter()
        .map(|entry| {
            let text = entry
                .as_str()
                .ok_or_else(|| Error::malformed("x5c entries must be strings"))?;
            if text.len() > max_text {
                return Err(Error::TooLarge(format!(
                    "x5c certificate larger than {MAX_CERT_DER_LEN} bytes"
                )));
            }
            // The standard alphabet with canonical padding: base64url ('-', '_'), missing
            // padding, whitespace and non-zero trailing bits are all refused (G8).
            let der = STANDARD
                .decode(text)
                .map_err(|_| Error::malformed("x5c entry is not standard base64"))?;
            if der.is_empty() {
                return Err(Error::malformed("x5c entry is empty"));
            }
            if der.len() > MAX_CERT_DER_LEN {
                return Err(Error::TooLarge(format!(
                    "x5c certificate larger than {MAX_CERT_DER_LEN} bytes"
                )));
            }
            Ok(der)
        })
        .collect()
}

/// Encodes DER certificates as the `x5c` header value (standard base64, RFC 7515 §4.1.6).
pub fn to_x5c(chain: &[Vec<u8>]) -> serde_json::Value {
    serde_json::Value::Array(
        chain
            .iter()
            .map(|der| serde_json::Value::String(STANDARD.encode(der)))
            .collect(),
    )
}

const PEM_BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const PEM_END: &str = "-----END CERTIFICATE-----";

/// Encodes a DER certificate as a PEM `CERTIFICATE` block (RFC 7468 §5, 64-column lines).
pub fn to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str(PEM_BEGIN);
    out.push('\n');
    for line in b64.as_bytes().chunks(64) {
        // The base64 alphabet is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(PEM_END);
    out.push('\n');
    out
}

/// Reads every `CERTIFICATE` block of PEM text (RFC 7468), in order. Text between blocks is
/// ignored (RFC 7468 §2 allows explanatory text); a block with another label (a private key,
/// say), an unterminated block, bad base64 or no certificate at all is an error.
pub fn pem_to_der_certs(text: &str) -> Result<Vec<Vec<u8>>> {
    if text.len() > MAX_PEM_LEN {
        return Err(Error::TooLarge(format!(
            "PEM text larger than {MAX_PEM_LEN} bytes"
        )));
    }
    let mut certs = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        match block.as_mut() {
            None => {
                if line == PEM_BEGIN {
                    block = Some(String::new());
                } else if line.starts_with("-----BEGIN") {
                    return Err(Error::malformed(
                        "PEM block is not a CERTIFICATE (refusing other labels)",
                    ));
                }
            }
            Some(body) => {
                if line == PEM_END {
                    let der = STANDARD
                        .decode(body.as_bytes())
                        .map_err(|_| Error::malformed("PEM certificate is not valid base64"))?;
                    if der.is_empty() || der.len() > MAX_CERT_DER_LEN {
                        return Err(Error::TooLarge(format!(
                            "PEM certificate empty or larger than {MAX_CERT_DER_LEN} bytes"
                        )));
                    }
                    certs.push(der);
                    block = None;
                } else if line.starts_with("-----") {
                    return Err(Error::malformed("PEM CERTIFICATE block is not terminated"));
                } else {
                    // Spec: RFC 7468 §3: whitespace inside the base64 text is allowed.
                    body.extend(line.chars().filter(|c| !c.is_whitespace()));
                }
            }
        }
    }
    if block.is_some() {
        return Err(Error::malformed("PEM CERTIFICATE block is not terminated"));
    }
    if certs.is_empty() {
        return Err(Error::malformed("no PEM CERTIFICATE block found"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn x5c_standard_base64_entries_are_decoded_in_order() {
        let chain = parse_x5c(&json!(["AQID", "/+8="])).unwrap();
        assert_eq!(chain, vec![vec![1, 2, 3], vec![0xff, 0xef]]);
        assert_eq!(to_x5c(&chain), json!(["AQID", "/+8="]));
    }

    #[test]
    fn x5c_base64url_entries_are_rejected() {
        // "_-8" is the base64url spelling of the bytes "/+8=" encodes.
        let err = parse_x5c(&json!(["_-8"])).unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err:?}");
        // Missing padding is base64url habit too.
        assert!(parse_x5c(&json!(["/+8"])).is_err());
    }

    #[test]
    fn x5c_bad_base64_whitespace_and_trailing_bits_are_rejected() {
        for bad in ["AQ$D", "AQ ID", "AQID\n", "AR==", "====", ""] {
            assert!(parse_x5c(&json!([bad])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn x5c_that_is_not_a_non_empty_array_of_strings_is_rejected() {
        for bad in [
            json!([]),
            json!("AQID"),
            json!({"0": "AQID"}),
            json!([1]),
            json!(["AQID", null]),
            json!([["AQID"]]),
            json!(null),
        ] {
            let err = parse_x5c(&bad).unwrap_err();
            assert!(matches!(err, Error::Malformed(_)), "{bad}: {err:?}");
        }
    }

    #[test]
    fn x5c_with_too_many_certificates_is_rejected() {
        let ok = vec![json!("AQID"); MAX_X5C_CERTS];
        assert_eq!(parse_x5c(&json!(ok)).unwrap().len(), MAX_X5C_CERTS);
        let too_many = vec![json!("AQID"); MAX_X5C_CERTS + 1];
        let err = parse_x5c(&json!(too_many)).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    }

    #[test]
    fn x5c_with_oversized_certificate_is_rejected() {
        let at_limit = STANDARD.encode(vec![7u8; MAX_CERT_DER_LEN]);
        assert_eq!(
            parse_x5c(&json!([at_limit])).unwrap()[0].len(),
            MAX_CERT_DER_LEN
        );
        // One byte over still fits the same number of base64 characters: the decoded size
        // is what counts.
        let over = STANDARD.encode(vec![7u8; MAX_CERT_DER_LEN + 1]);
        assert!(matches!(parse_x5c(&json!([over])), Err(Error::TooLarge(_))));
        let far_over = STANDARD.encode(vec![7u8; 4 * MAX_CERT_DER_LEN]);
        assert!(matches!(
            parse_x5c(&json!([far_over])),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn pem_round_trips_and_ignores_explanatory_text() {
        let a = vec![0x30u8; 100];
        let b = vec![0x31u8; 3];
        let pem_a = to_pem(&a);
        assert!(pem_a.lines().all(|l| l.len() <= 64));
        let text = format!("Subject: a\n{pem_a}\r\nsome notes\n{}", to_pem(&b));
        assert_eq!(pem_to_der_certs(&text).unwrap(), vec![a, b]);
    }

    #[test]
    fn pem_without_certificates_or_with_other_blocks_is_rejected() {
        assert!(pem_to_der_certs("").is_err());
        assert!(pem_to_der_certs("hello").is_err());
        let key = "-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----\n";
        assert!(pem_to_der_certs(key).is_err());
        let unterminated = "-----BEGIN CERTIFICATE-----\nAQID\n";
        assert!(pem_to_der_certs(unterminated).is_err());
        let mismatched = "-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n";
        assert!(pem_to_der_certs(mismatched).is_err());
        let bad_b64 = "-----BEGIN CERTIFICATE-----\nA-_D\n-----END CERTIFICATE-----\n";
        assert!(pem_to_der_certs(bad_b64).is_err());
        let empty = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
        assert!(pem_to_der_certs(empty).is_err());
    }

    #[test]
    fn oversized_pem_text_is_rejected() {
        let text = "x".repeat(MAX_PEM_LEN + 1);
        assert!(matches!(
            pem_to_der_certs(&text).unwrap_err(),
            Error::TooLarge(_)
        ));
    }
}
