//! `x5c` chains (RFC 7515 §4.1.6) and certificates: `x509::parse_x5c` (the JOSE header
//! value), `validate_x5c` to a fixed trust anchor at a fixed time, `leaf_public_key`,
//! `leaf_has_dns_san`, `x509_hash`, PEM text and `TrustAnchors`.
//!
//! Input: the first byte picks the mode.
//! - 0: one DER certificate, validated alone and followed by the anchor;
//! - 1: a chain: repeated `len_hi len_lo der[len]` (the last certificate takes the rest);
//! - 2: JSON, read as an `x5c` header value;
//! - 3: PEM text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vdc_core::json;
use vdc_core::x509::{
    self, TrustAnchors, leaf_has_dns_san, leaf_public_key, validate_x5c, x509_hash,
};
use vdc_fuzz_common as h;

/// The root of crates/vdc-core/tests/vectors/x509 (valid 2025 to 2045).
const CA: &[u8] = include_bytes!("../../crates/vdc-core/tests/vectors/x509/ca.der");

fn anchors() -> &'static TrustAnchors {
    static ANCHORS: OnceLock<TrustAnchors> = OnceLock::new();
    ANCHORS.get_or_init(|| match TrustAnchors::from_der_certs(vec![CA.to_vec()]) {
        Ok(a) => a,
        Err(e) => panic!("test vector CA refused as anchor: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            leaf(rest);
            let _ = x509::is_self_signed(rest);
            chain(&[rest.to_vec()]);
            chain(&[rest.to_vec(), CA.to_vec()]);
        }
        1 => chain(&split_chain(rest)),
        2 => {
            let Ok(value) = json::parse(rest, json::DEFAULT_MAX_LEN) else {
                return;
            };
            if let Ok(certs) = x509::parse_x5c(&value) {
                assert_eq!(
                    x509::parse_x5c(&x509::to_x5c(&certs)).ok().as_ref(),
                    Some(&certs),
                    "x5c round trip changed the chain"
                );
                chain(&certs);
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(certs) = x509::pem_to_der_certs(text) {
                for c in &certs {
                    leaf(c);
                }
            }
            if let Ok(a) = TrustAnchors::from_pem(text) {
                let _ = a.len();
            }
        }
    }
});

fn leaf(der: &[u8]) {
    let _ = x509_hash(der);
    let _ = leaf_public_key(der);
    let _ = leaf_has_dns_san(der, "verifier.example.org");
    let _ = leaf_has_dns_san(der, "");
}

fn chain(certs: &[Vec<u8>]) {
    if let Ok(v) = validate_x5c(certs, anchors(), h::NOW) {
        let _ = v.has_dns_san("verifier.example.org");
        // A chain that validated has a leaf whose key can be read without validation too.
        if let Some(first) = certs.first() {
            assert_eq!(leaf_public_key(first).ok(), Some(v.public_key));
        }
    }
}

fn split_chain(mut rest: &[u8]) -> Vec<Vec<u8>> {
    let mut certs = Vec::new();
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(*hi) << 8 | usize::from(*lo);
        if len >= tail.len() || certs.len() == x509::MAX_X5C_CERTS {
            certs.push(tail.to_vec());
            return certs;
        }
        let (cert, more) = tail.split_at(len);
        certs.push(cert.to_vec());
        rest = more;
    }
    certs
}
