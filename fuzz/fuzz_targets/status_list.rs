//! Status lists (draft-ietf-oauth-status-list, W3C Bitstring Status List v1.0) as a
//! relying party reads them: `verify_status_list_token`, `StatusList::decode` (ZLIB
//! inflation, bounded), the `status` claim of a Referenced Token, `BitstringStatusList` and
//! its entries, `verify_bitstring_status_list_credential`.
//!
//! Input: the first byte picks the mode.
//! - 0: a Status List Token as text;
//! - 1: a Status List Token payload (raw JSON) that the harness signs with the fixed
//!   issuer key, so `status_list` parsing and inflation are reached;
//! - 2: a compressed list (`lst` after base64url) with `bits` from the next byte; a list
//!   that decodes must survive encode/decode unchanged;
//! - 3: JSON: a `status` claim, a `credentialStatus` entry, or an `encodedList` string;
//! - 4: a `BitstringStatusListCredential` payload (raw JSON), signed as a `vc+jwt`;
//! - 5: a Status List Token in CWT form (§5.2) as bytes: `verify_status_list_cwt`;
//! - 6: a CWT claims set (raw CBOR) the harness signs as a COSE_Sign1 with the right `typ`,
//!   so the claim checks and the `status_list` (65533) reading are reached;
//! - 7: CBOR: an mdoc MSO `status` value for `reference_from_cbor`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vdc_core::jose::LocalSigner;
use vdc_core::json;
use vdc_core::mdoc::cbor::{self, Value as Cbor};
use vdc_core::mdoc::cose::{CoseSign1, Headers};
use vdc_fuzz_common as h;
use vdc_status::{
    BitstringStatusList, BitstringStatusListEntry, STATUS_LIST_CWT_MEDIA_TYPE, StatusList,
    StatusReference, VerifyOptions, reference_from_cbor, verify_bitstring_status_list_credential,
    verify_status_list_cwt, verify_status_list_token,
};

/// Bounds inflation the way the status client does by default, smaller so runs stay fast.
const MAX_LIST_BYTES: usize = 64 * 1024;
const TOKEN_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"statuslist+jwt","kid":"k1"}"#;
const VC_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"vc+jwt"}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 8 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                token(text);
            }
        }
        1 => token(&h::sign_compact(TOKEN_HEADER, rest, h::issuer_key())),
        2 => {
            let Some((&bits, lst)) = rest.split_first() else {
                return;
            };
            let bits = [1, 2, 4, 8, bits][usize::from(bits % 5)];
            if let Ok(list) = StatusList::decode(lst, bits, MAX_LIST_BYTES * 8) {
                let _ = list.get(0);
                let _ = list.get(list.len().saturating_sub(1));
                let _ = list.get(list.len());
                let encoded = match list.encode(6) {
                    Ok(e) => e,
                    Err(e) => panic!("a decoded list did not encode: {e}"),
                };
                let again = StatusList::decode(&encoded, bits, MAX_LIST_BYTES * 8);
                assert!(
                    again.ok() == Some(list),
                    "status list round trip changed it"
                );
            }
        }
        3 => {
            let Ok(value) = json::parse(rest, json::DEFAULT_MAX_LEN) else {
                return;
            };
            let _ = StatusReference::from_status_claim(&value);
            if let Value::Object(claims) = &value {
                let _ = StatusReference::from_claims(claims);
            }
            let _ = BitstringStatusListEntry::from_value(&value);
            if let Value::String(encoded) = &value {
                for size in [1, 2, 8, 3] {
                    let _ = BitstringStatusList::decode(encoded, size, MAX_LIST_BYTES * 8);
                }
            }
        }
        5 => cwt(rest),
        6 => {
            let signer = LocalSigner::new(h::ed25519(h::ISSUER_SEED));
            let headers = Headers {
                typ: Some(STATUS_LIST_CWT_MEDIA_TYPE.into()),
                kid: Some(b"k1".to_vec()),
                ..Headers::default()
            };
            if let Ok(sign1) = h::block_on(CoseSign1::sign(&signer, &headers, rest, false)) {
                // §5.2: the token is a COSE_Sign1_Tagged (tag 18).
                let tagged = Cbor::Tag(18, Box::new(sign1.to_value()));
                cwt(&cbor::encode(&tagged));
            }
        }
        7 => {
            if let Ok(value) = cbor::decode(rest) {
                let _ = reference_from_cbor(&value);
            }
        }
        _ => {
            let vc = h::sign_compact(VC_HEADER, rest, h::issuer_key());
            if let Ok(v) = verify_bitstring_status_list_credential(
                &vc,
                h::issuer_public(),
                h::policy(),
                h::NOW,
                60,
                MAX_LIST_BYTES * 8,
            ) {
                let entry = serde_json::json!({
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListIndex": "7",
                    "statusListCredential": "https://issuer.example/bitstring/1",
                });
                if let Ok(entry) = BitstringStatusListEntry::from_value(&entry) {
                    let _ = v.status(&entry);
                }
            }
        }
    }
});

fn cwt(bytes: &[u8]) {
    for expected_issuer in [Some(h::ISSUER), None] {
        let opts = VerifyOptions {
            uri: h::STATUS_URI,
            expected_issuer,
            now: h::NOW,
            skew: 60,
            policy: h::policy(),
            max_list_bytes: MAX_LIST_BYTES,
        };
        if let Ok(v) = h::block_on(verify_status_list_cwt(bytes, &h::FixedResolver, &opts)) {
            let _ = v.list.get(0);
            let _ = v.list.get(v.list.len());
        }
    }
}

fn token(text: &str) {
    for expected_issuer in [Some(h::ISSUER), None] {
        let opts = VerifyOptions {
            uri: h::STATUS_URI,
            expected_issuer,
            now: h::NOW,
            skew: 60,
            policy: h::policy(),
            max_list_bytes: MAX_LIST_BYTES,
        };
        let verified = h::block_on(verify_status_list_token(text, &h::FixedResolver, &opts));
        if let Ok(v) = verified {
            let _ = v.list.get(0);
            let _ = v.list.get(v.list.len());
        }
    }
}
