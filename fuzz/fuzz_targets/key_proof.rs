//! OID4VCI 1.0 `jwt` key proofs (Appendix F.1): `key_proof::verify` as the credential
//! endpoint calls it, with fixed expectations (audience, time, skew); the same input also
//! through `verify_with_key_attestation` (a `key_attestation` header) and
//! `verify_attestation_proof` (the `attestation` proof type, F.3), with the x5c test vector
//! CA as the only key attestation anchor.
//!
//! Input: first byte 0 → the rest is a proof as text. Otherwise the rest is
//! `header NUL payload` (raw JSON) signed by the harness with the fixed holder key; the
//! seeds carry that key as the header `jwk`, so mutations reach the claim checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vdc_core::key_attestation::KeyAttestationExpectations;
use vdc_core::key_proof::{self, ProofExpectations};
use vdc_core::x509::TrustAnchors;
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
    let proof = if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let parts = h::split(rest, 2);
        let [header, payload] = parts[..] else {
            return;
        };
        h::sign_compact(header, payload, h::holder_key())
    };
    let expect = ProofExpectations {
        policy: h::policy(),
        audience: h::ISSUER,
        now: h::NOW,
        max_age_secs: 300,
        skew: 60,
    };
    let attested = KeyAttestationExpectations {
        anchors: anchors(),
        policy: h::policy(),
        now: h::NOW,
        skew: 60,
        require_exp: true,
    };
    let _ = key_proof::verify_with_key_attestation(&proof, &expect, Some(&attested));
    let _ = key_proof::verify_attestation_proof(&proof, &attested);
    if let Ok(verified) = key_proof::verify(&proof, &expect) {
        // A proof is accepted only with the key that signed it.
        if mode != 0 {
            assert_eq!(&verified.holder_key, h::holder_key().public_key());
        }
    }
});
