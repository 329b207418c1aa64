//! did:jwk (quartzjer/did-jwk spec).
//!
//! `did:jwk:<base64url(UTF-8 JSON of a public JWK)>`. The document has one
//! verification method, `#0`. A JWK with `"use": "enc"` is listed only under
//! `keyAgreement`, which this crate does not model: its document has the method but no
//! `assertionMethod` or `authentication`, so it can never verify a signature.

use serde_json::Value;

use super::{DidDocument, did_err, parse_did};
use crate::base64url;
use crate::error::Result;
use crate::jose::PublicKey;
use crate::json;

/// Largest decoded JWK accepted in a did:jwk.
const MAX_JWK_LEN: usize = 1024;

/// The did:jwk for `key`: the JWK's required members in lexicographic order (the same
/// serialisation as the RFC 7638 thumbprint input), base64url-encoded.
pub fn did_jwk_from(key: &PublicKey) -> String {
    let json = match key {
        PublicKey::P256(p) => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            base64url::encode(&p[1..33]),
            base64url::encode(&p[33..])
        ),
        PublicKey::Ed25519(x) => format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            base64url::encode(x)
        ),
    };
    format!("did:jwk:{}", base64url::encode(json))
}

/// Expands a did:jwk into its document.
pub fn resolve(did: &str) -> Result<DidDocument> {
    let (method, value) = parse_did(did)?;
    if method != "jwk" {
        return Err(did_err("not a did:jwk"));
    }
    // Spec: did:jwk §"DID Format": base64url-value := [A-Za-z0-9_-]+
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(did_err("did:jwk value must be base64url"));
    }
    // Spec: did:jwk §"Read": decode base64url, parse as UTF-8 JSON, validate the JWK.
    let bytes =
        base64url::decode(value).map_err(|_| did_err("did:jwk value is not valid base64url"))?;
    let jwk = json::parse_object(&bytes, MAX_JWK_LEN)
        .map_err(|e| did_err(format!("did:jwk JSON: {e}")))?;
    // Spec: did:jwk §"Security": a JWK with private key material must be rejected
    // (`from_jwk_members` refuses `d`; it also refuses an `alg` that does not fit the key).
    let key =
        PublicKey::from_jwk_members(&jwk).map_err(|e| did_err(format!("did:jwk key: {e}")))?;
    // Spec: did:jwk §"To create the DID Document": `use: enc` keeps only keyAgreement;
    // `use: sig` drops keyAgreement. Other values do not restrict the document.
    let signing = match jwk.get("use") {
        None => true,
        Some(Value::String(u)) => u != "enc",
        Some(_) => return Err(did_err("did:jwk JWK use must be a string")),
    };
    // Spec: did:jwk §"To create the DID URL": the fragment is always `0`.
    Ok(DidDocument::single_key(did, "0", key, signing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Relationship;
    use crate::error::Error;

    // Spec example: did:jwk spec §"Examples" / "P-256".
    const P256_DID: &str = "did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9";
    // Spec example: did:jwk spec §"Examples" / "X25519" (`use: enc`).
    const X25519_DID: &str = "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJYMjU1MTkiLCJ1c2UiOiJlbmMiLCJ4IjoiM3A3YmZYdDl3YlRUVzJIQzdPUTFOei1EUThoYmVHZE5yZngtRkctSUswOCJ9";

    fn jwk_did(json: &str) -> String {
        format!("did:jwk:{}", base64url::encode(json))
    }

    #[test]
    fn did_jwk_spec_example_p256() {
        let doc = resolve(P256_DID).unwrap();
        let expected = PublicKey::p256_from_coordinates(
            &base64url::decode("acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0").unwrap(),
            &base64url::decode("_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE").unwrap(),
        )
        .unwrap();
        let kid = format!("{P256_DID}#0");
        assert_eq!(doc.id, P256_DID);
        assert_eq!(doc.verification_methods[0].id, kid);
        assert_eq!(doc.verification_methods[0].controller, P256_DID);
        assert_eq!(doc.assertion_method, vec![kid.clone()]);
        assert_eq!(doc.authentication, vec![kid.clone()]);
        assert_eq!(
            doc.key_for("#0", Relationship::AssertionMethod).unwrap(),
            &expected
        );
        // The spec's serialisation is the lexicographic one we produce.
        assert_eq!(did_jwk_from(&expected), P256_DID);
    }

    #[test]
    fn did_jwk_spec_example_x25519_is_not_a_signing_key() {
        assert!(matches!(resolve(X25519_DID), Err(Error::DidResolution(_))));
    }

    #[test]
    fn encryption_only_jwk_is_not_usable_for_signatures() {
        let doc = resolve(P256_DID).unwrap();
        let key = &doc.verification_methods[0].public_key;
        let PublicKey::P256(p) = key else {
            panic!("P-256 expected")
        };
        let did = jwk_did(&format!(
            r#"{{"kty":"EC","crv":"P-256","use":"enc","x":"{}","y":"{}"}}"#,
            base64url::encode(&p[1..33]),
            base64url::encode(&p[33..])
        ));
        let doc = resolve(&did).unwrap();
        assert!(doc.assertion_method.is_empty() && doc.authentication.is_empty());
        for r in [Relationship::AssertionMethod, Relationship::Authentication] {
            assert!(matches!(doc.key_for("#0", r), Err(Error::UntrustedKey(_))));
        }
        let sig = did.replace(
            did.strip_prefix("did:jwk:").unwrap(),
            &base64url::encode(format!(
                r#"{{"kty":"EC","crv":"P-256","use":"sig","x":"{}","y":"{}"}}"#,
                base64url::encode(&p[1..33]),
                base64url::encode(&p[33..])
            )),
        );
        assert!(
            resolve(&sig)
                .unwrap()
                .key_for("#0", Relationship::Authentication)
                .is_ok()
        );
    }

    #[test]
    fn kid_other_than_zero_is_unknown() {
        let doc = resolve(P256_DID).unwrap();
        assert!(doc.key_for("#1", Relationship::AssertionMethod).is_err());
    }

    #[test]
    fn ed25519_round_trip() {
        // Any 32 bytes are not a key (G1): a real one, from a seed.
        let key = crate::jose::SigningKey::ed25519_from_seed(&[7u8; 32])
            .unwrap()
            .public_key()
            .clone();
        let did = did_jwk_from(&key);
        let doc = resolve(&did).unwrap();
        assert_eq!(
            doc.key_for(&format!("{did}#0"), Relationship::Authentication)
                .unwrap(),
            &key
        );
    }

    #[test]
    fn malformed_did_jwks_are_rejected() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let cases = [
            "did:jwk:".to_string(),
            "did:jwk:!!!".to_string(),
            "did:jwk:eyJ9".to_string(),
            format!("{P256_DID}="),
            format!("{P256_DID}.x"),
            jwk_did("[]"),
            jwk_did("{\"kty\":\"OKP\"}"),
            jwk_did(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","x":"{x}"}}"#
            )),
            jwk_did(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}"}}"#
            )),
            jwk_did(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"{x}"}}"#
            )),
            jwk_did(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","use":1,"x":"{x}"}}"#
            )),
            jwk_did(r#"{"kty":"oct","k":"AAAA"}"#),
            jwk_did(&format!(
                r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","pad":"{}"}}"#,
                "a".repeat(1200)
            )),
        ];
        for did in &cases {
            let err = resolve(did).unwrap_err();
            assert!(matches!(err, Error::DidResolution(_)), "{did}: {err}");
        }
    }
}
