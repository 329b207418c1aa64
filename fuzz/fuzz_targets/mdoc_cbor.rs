//! Strict CBOR for mdoc (RFC 8949, ISO 18013-5 §8.1) as it arrives from wallets:
//! `cbor::decode` (bounded size and depth, definite lengths, no duplicate keys, no trailing
//! bytes), tag-24 embedded items, tdates, and the JSON view of decoded values.
//!
//! Input: CBOR bytes. Whatever decodes must re-encode to bytes that decode again to the
//! same encoding (so the strict decoder accepts everything the encoder writes from it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::mdoc::cbor::{self, Tagged24, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = cbor::decode(data) else {
        return;
    };
    let encoded = cbor::encode(&value);
    match cbor::decode(&encoded) {
        // Compared by encoding: NaN floats are not equal to themselves as values.
        Ok(again) => assert_eq!(cbor::encode(&again), encoded, "re-encoding changed it"),
        Err(e) => panic!("a decoded item did not decode after re-encoding: {e}"),
    }
    let _ = cbor::to_json(&value);
    let _ = cbor::parse_tdate(&value);
    walk(&value);
});

/// Reads every tag-24 item and tdate inside `value`, and their contents.
fn walk(value: &Value) {
    match value {
        Value::Tag(24, _) => {
            if let Ok(t) = Tagged24::from_value(value) {
                assert_eq!(t.to_value(), *value, "tag 24 did not keep its bytes");
                let _ = cbor::to_json(&t.value);
                walk(&t.value);
            }
        }
        Value::Tag(_, inner) => {
            let _ = cbor::parse_tdate(value);
            walk(inner);
        }
        Value::Array(items) => items.iter().for_each(walk),
        Value::Map(entries) => entries.iter().for_each(|(k, v)| {
            walk(k);
            walk(v);
        }),
        _ => {}
    }
}
