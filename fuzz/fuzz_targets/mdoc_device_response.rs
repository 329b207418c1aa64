//! mdoc presentations (ISO 18013-5 §8.3.2.1.2.2, OID4VP 1.0 Appendix B.2): a
//! `DeviceResponse` read strictly by `DeviceResponse::from_cbor`, then every document
//! verified by `mdoc::verify_document` against a fixed IACA anchor, session transcript and
//! time. Nothing may panic; whatever parses must survive re-encoding unchanged.
//!
//! Input: the CBOR bytes of a DeviceResponse. Seeds: ISO 18013-5 Annex D.4.1.2 as given
//! (refused at its deviceMac) and with `deviceMac` renamed `deviceSignature` (read, then
//! refused at the chain), and `vdc_presented_mdl`, an mDL whose Document Signer chains to
//! `CA` and whose device signature is over `transcript()` at `h::NOW`: it verifies, so
//! mutations of it reach the digest, validity and device authentication checks.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vdc_core::mdoc::{DeviceResponse, Handover, SessionTranscript, VerifyMdoc, verify_document};
use vdc_fuzz_common as h;

/// The root of crates/vdc-core/tests/vectors/x509 (valid 2025 to 2045), as the IACA.
const CA: &[u8] = include_bytes!("../../crates/vdc-core/tests/vectors/x509/ca.der");

fn transcript() -> &'static SessionTranscript {
    static TRANSCRIPT: OnceLock<SessionTranscript> = OnceLock::new();
    TRANSCRIPT.get_or_init(|| {
        SessionTranscript(Handover::Redirect {
            client_id: "x509_san_dns:verifier.example".into(),
            nonce: h::NONCE.into(),
            jwk_thumbprint: None,
            response_uri: "https://verifier.example/response".into(),
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(response) = DeviceResponse::from_cbor(data) else {
        return;
    };
    // Tag-24 items keep their bytes and the rest is re-encoded canonically, so what was
    // read once reads back the same.
    match DeviceResponse::from_cbor(&response.to_cbor()) {
        Ok(again) => assert_eq!(again, response, "DeviceResponse re-encoding changed it"),
        Err(e) => panic!("re-encoded DeviceResponse refused: {e}"),
    }
    let anchors = [CA.to_vec()];
    for document in &response.documents {
        for doc_type in [None, Some("org.iso.18013.5.1.mDL")] {
            let opts = VerifyMdoc {
                trust_anchors: &anchors,
                transcript: transcript(),
                now: h::NOW,
                skew_secs: 60,
                doc_type,
            };
            if let Ok(verified) = verify_document(document, &opts) {
                assert_eq!(verified.doc_type, document.doc_type);
            }
        }
    }
});
