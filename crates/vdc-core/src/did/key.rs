//! did:key (W3C CCG did-method-key, v0.7).
//!
//! `did:key:<multibase(base58btc, multicodec(type, raw key))>`. We support `ed25519-pub`
//! (0xed, 32 bytes) and `p256-pub` (0x1200, 33-byte compressed point); other codecs are
//! refused. The document has one verification method, `did:key:z...#z...`, listed under
//! `assertionMethod` and `authentication`.

use super::multibase::{self, Multikey};
use super::{DidDocument, did_err, parse_did};
use crate::error::Result;
use crate::jose::PublicKey;

/// The did:key for `key` (P-256 keys are encoded compressed).
pub fn did_key_from(key: &PublicKey) -> String {
    format!("did:key:{}", multibase::encode_multikey(key))
}

/// Expands a did:key into its document.
pub fn resolve(did: &str) -> Result<DidDocument> {
    let (method, msi) = parse_did(did)?;
    if method != "key" {
        return Err(did_err("not a did:key"));
    }
    // Spec: did:key §"Document Creation Algorithm": with four components the third is a
    // version, which must be a positive integer; `1` is the only version defined.
    let multibase_value = match msi.split_once(':') {
        None => msi,
        Some(("1", rest)) if !rest.contains(':') => rest,
        Some(_) => return Err(did_err("invalid did:key (unsupported version or form)")),
    };
    // Spec: ibid.: "The multibaseValue MUST be a string and begin with the letter z"
    // (invalidDid).
    if !multibase_value.starts_with('z') {
        return Err(did_err("did:key value must be base58btc (start with z)"));
    }
    let key = match multibase::decode_multikey(multibase_value)
        .map_err(|e| did_err(format!("invalid did:key: {e}")))?
    {
        Multikey::Key(key) => key,
        Multikey::Unsupported(codec) => {
            return Err(did_err(format!(
                "did:key with unsupported multicodec 0x{codec:x}"
            )));
        }
    };
    // Spec: ibid. "Signature Method Creation Algorithm": the method id is the identifier,
    // '#', and the multibase value.
    Ok(DidDocument::single_key(did, multibase_value, key, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Relationship;
    use crate::did::multibase::base58btc_decode;
    use crate::error::Error;

    // Vectors from w3c-ccg/did-method-key, test-vectors/ed25519-x25519.json (the
    // `publicKeyBase58` of the verification key pair).
    const ED25519_VECTORS: [(&str, &str); 3] = [
        (
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
        ),
        (
            "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
            "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
        ),
        (
            "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
            "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
        ),
    ];

    // Vectors from w3c-ccg/did-method-key, test-vectors/nist-curves.json (P-256 entries,
    // `publicKeyJwk` x and y).
    const P256_VECTORS: [(&str, &str, &str); 2] = [
        (
            "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv",
            "igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns",
            "efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM",
        ),
        (
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
            "fyNYMN0976ci7xqiSdag3buk-ZCwgXU4kz9XNkBlNUI",
            "hW2ojTNfH7Jbi8--CJUo3OCbH3y5n91g-IMA9MLMbTU",
        ),
    ];

    #[test]
    fn did_method_key_test_vectors_ed25519() {
        for (did, b58) in ED25519_VECTORS {
            let doc = resolve(did).unwrap();
            let expected = PublicKey::ed25519(&base58btc_decode(b58).unwrap()).unwrap();
            let fragment = did.strip_prefix("did:key:").unwrap();
            let kid = format!("{did}#{fragment}");
            assert_eq!(doc.id, did);
            assert_eq!(doc.verification_methods.len(), 1);
            assert_eq!(doc.verification_methods[0].id, kid);
            assert_eq!(doc.verification_methods[0].controller, did);
            assert_eq!(doc.assertion_method, vec![kid.clone()]);
            assert_eq!(doc.authentication, vec![kid.clone()]);
            assert_eq!(
                doc.key_for(&kid, Relationship::AssertionMethod).unwrap(),
                &expected
            );
            assert_eq!(did_key_from(&expected), did);
        }
    }

    #[test]
    fn did_method_key_test_vectors_p256() {
        for (did, x, y) in P256_VECTORS {
            let doc = resolve(did).unwrap();
            let expected = PublicKey::p256_from_coordinates(
                &crate::base64url::decode(x).unwrap(),
                &crate::base64url::decode(y).unwrap(),
            )
            .unwrap();
            let fragment = did.strip_prefix("did:key:").unwrap();
            assert_eq!(
                doc.key_for(&format!("#{fragment}"), Relationship::Authentication)
                    .unwrap(),
                &expected
            );
            assert_eq!(did_key_from(&expected), did);
        }
    }

    #[test]
    fn did_method_key_p384_vector_is_an_unsupported_codec() {
        // test-vectors/nist-curves.json, P-384 entry (multicodec 0x1201).
        let err = resolve(
            "did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9",
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::DidResolution(m) if m.contains("0x1201")),
            "{err}"
        );
    }

    #[test]
    fn version_one_form_is_accepted() {
        let (did, _) = ED25519_VECTORS[0];
        let versioned = did.replace("did:key:", "did:key:1:");
        assert_eq!(resolve(&versioned).unwrap().id, versioned);
        assert!(resolve(&did.replace("did:key:", "did:key:2:")).is_err());
    }

    #[test]
    fn malformed_did_keys_are_rejected_without_panicking() {
        let x25519 = format!(
            "did:key:z{}",
            multibase::base58btc_encode(&[&[0xecu8, 0x01][..], &[9u8; 32]].concat())
        );
        let short_ed = format!(
            "did:key:z{}",
            multibase::base58btc_encode(&[&[0xedu8, 0x01][..], &[9u8; 31]].concat())
        );
        let bad_point = format!(
            "did:key:z{}",
            multibase::base58btc_encode(&[&[0x80u8, 0x24, 0x02][..], &[0xffu8; 32]].concat())
        );
        let overlong = format!("did:key:z{}", "6".repeat(300));
        for did in [
            "did:key:",
            "did:key:z",
            "did:key:u6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpp",
            "did:key:z6Mk",
            "did:key:z1",
            "did:jwk:z6Mk",
            &x25519,
            &short_ed,
            &bad_point,
            &overlong,
        ] {
            let err = resolve(did).unwrap_err();
            assert!(matches!(err, Error::DidResolution(_)), "{did}: {err}");
        }
    }
}
