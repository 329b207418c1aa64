//! COSE and the issuer side of mdoc as a verifier reads them: `CoseSign1::from_value` with
//! its header accessors and `verify` (RFC 9052 §4), `cose::public_key` (COSE_Key, RFC 9052
//! §7), `MobileSecurityObject::from_value` (ISO 18013-5 §9.1.2.4) and
//! `IssuerSigned::from_cbor` (§8.3.2.1.2.2).
//!
//! Input: the first byte picks the mode.
//! - 0: CBOR bytes, tried as COSE_Sign1, COSE_Key, MSO (plain or tag-24 wrapped) and
//!   IssuerSigned; whatever parses must survive re-encoding unchanged;
//! - 1: a payload the harness signs as a COSE_Sign1 with the fixed issuer key, which must
//!   verify, and which is then read as MobileSecurityObjectBytes (what issuerAuth carries).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vdc_core::jose::{LocalSigner, PublicKey};
use vdc_core::mdoc::cbor::{self, Tagged24, Value};
use vdc_core::mdoc::cose::{self, CoseSign1, Headers};
use vdc_core::mdoc::{IssuerSigned, MobileSecurityObject};
use vdc_fuzz_common as h;

fn signer() -> &'static LocalSigner {
    static SIGNER: OnceLock<LocalSigner> = OnceLock::new();
    SIGNER.get_or_init(|| LocalSigner::new(h::ed25519(h::ISSUER_SEED)))
}

fn key() -> &'static PublicKey {
    signer().key().public_key()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        parse(rest);
    } else {
        let headers = Headers {
            x5chain: Some(vec![rest.get(..8).unwrap_or(rest).to_vec()]),
            ..Headers::default()
        };
        let signed = match h::block_on(CoseSign1::sign(signer(), &headers, rest, false)) {
            Ok(s) => s,
            Err(e) => panic!("signing failed: {e}"),
        };
        let read =
            cbor::decode(&cbor::encode(&signed.to_value())).and_then(|v| CoseSign1::from_value(&v));
        match read {
            Ok(c) => {
                assert!(
                    c.verify(key(), None).is_ok(),
                    "own signature did not verify"
                );
                assert!(c.x5chain().is_ok());
            }
            Err(e) => panic!("own COSE_Sign1 did not parse: {e}"),
        }
        if let Ok(v) = cbor::decode(rest) {
            if let Ok(t) = Tagged24::from_value(&v) {
                mso(&t.value);
            }
        }
    }
});

fn parse(data: &[u8]) {
    if let Ok(signed) = IssuerSigned::from_cbor(data) {
        let again = IssuerSigned::from_cbor(&signed.to_cbor());
        assert_eq!(
            again.ok(),
            Some(signed.clone()),
            "IssuerSigned round trip changed it"
        );
        sign1(&signed.issuer_auth);
    }
    let Ok(value) = cbor::decode(data) else {
        return;
    };
    if let Ok(c) = CoseSign1::from_value(&value) {
        let again = CoseSign1::from_value(&c.to_value());
        assert_eq!(
            again.ok(),
            Some(c.clone()),
            "COSE_Sign1 round trip changed it"
        );
        sign1(&c);
    }
    if let Ok(k) = cose::public_key(&value) {
        assert_eq!(
            cose::public_key(&cose::cose_key(&k)).ok(),
            Some(k),
            "COSE_Key round trip changed the key"
        );
    }
    mso(&value);
    if let Ok(t) = Tagged24::from_value(&value) {
        mso(&t.value);
    }
}

fn sign1(c: &CoseSign1) {
    let _ = c.algorithm();
    let _ = c.x5chain();
    let _ = c.typ();
    let _ = c.verify(key(), None);
    let _ = c.verify(key(), Some(b"detached"));
    if let Some(payload) = &c.payload {
        if let Ok(v) = cbor::decode(payload) {
            if let Ok(t) = Tagged24::from_value(&v) {
                mso(&t.value);
            }
        }
    }
}

fn mso(value: &Value) {
    if let Ok(m) = MobileSecurityObject::from_value(value) {
        let again = MobileSecurityObject::from_value(&m.to_value());
        assert_eq!(again.ok(), Some(m), "MSO round trip changed it");
    }
}
