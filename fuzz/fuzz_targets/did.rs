//! DIDs and DID documents: `parse_did`, `did_from_url`, did:key and did:jwk resolution
//! (the document is derived from the DID itself), `did_web_url`, multibase/multikey, and
//! `DidDocument::from_json` (the did:web document body) with `key_for` / `sole_key_for`.
//!
//! Input: first byte 0 → the rest is a DID or DID URL as text. Otherwise the rest is a DID
//! document (JSON) followed by `NUL kid` (optional).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::did::{self, DidDocument, Relationship, multibase};
use vdc_core::jose::PublicKey;
use vdc_core::json;
use vdc_fuzz_common as h;

const BOTH: [Relationship; 2] = [Relationship::AssertionMethod, Relationship::Authentication];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        did_text(text);
        return;
    }
    let parts = h::split(rest, 2);
    let Ok(value) = json::parse(parts[0], json::DEFAULT_MAX_LEN) else {
        return;
    };
    let Ok(doc) = DidDocument::from_json(&value) else {
        return;
    };
    let kid = parts.get(1).and_then(|k| std::str::from_utf8(k).ok());
    lookups(&doc, kid);
});

fn did_text(text: &str) {
    let did = did::did_from_url(text);
    let _ = did::parse_did(text);
    let _ = did::did_web_url(did);
    for resolved in [did::key::resolve(did), did::jwk::resolve(did)] {
        if let Ok(doc) = resolved {
            assert_eq!(doc.id, did, "resolved document names another DID");
            lookups(&doc, Some(text));
            // A key a DID resolves to makes the same DID again.
            if let Ok(key) = doc.sole_key_for(Relationship::AssertionMethod) {
                let again = if did.starts_with("did:key:") {
                    did::did_key_from(key)
                } else {
                    did::did_jwk_from(key)
                };
                check_same_key(&again, key);
            }
        }
    }
    if let Ok(bytes) = multibase::base58btc_decode(text) {
        assert_eq!(
            multibase::base58btc_decode(&multibase::base58btc_encode(&bytes)).ok(),
            Some(bytes),
            "base58btc round trip changed the bytes"
        );
    }
    if let Ok(multibase::Multikey::Key(key)) = multibase::decode_multikey(text) {
        let again = multibase::encode_multikey(&key);
        assert!(
            matches!(multibase::decode_multikey(&again), Ok(multibase::Multikey::Key(k)) if k == key),
            "multikey round trip changed the key"
        );
    }
}

fn check_same_key(did: &str, key: &PublicKey) {
    let doc = if did.starts_with("did:key:") {
        did::key::resolve(did)
    } else {
        did::jwk::resolve(did)
    };
    match doc
        .as_ref()
        .map(|d| d.sole_key_for(Relationship::AssertionMethod))
    {
        Ok(Ok(k)) => assert_eq!(k, key, "DID round trip changed the key"),
        other => panic!("a DID vdc made does not resolve: {did}: {other:?}"),
    }
}

fn lookups(doc: &DidDocument, kid: Option<&str>) {
    for relationship in BOTH {
        let _ = doc.sole_key_for(relationship);
        if let Some(kid) = kid {
            let _ = doc.key_for(kid, relationship);
        }
        for id in doc.relationship(relationship) {
            let _ = doc.key_for(id, relationship);
        }
        let _ = doc.key_for("#key-1", relationship);
        let _ = doc.key_for("#", relationship);
    }
}
