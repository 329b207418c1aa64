//! JWK and JWK Set (RFC 7517) as they arrive from outside: key proof and DPoP `jwk`
//! headers, `cnf.jwk`, issuer JWKS, OID4VP `client_metadata.jwks` (encryption keys).
//!
//! Input: a JSON document. Accepted keys must survive a round trip through their JSON
//! form with the same thumbprint (RFC 7638).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::jose::jwe::{EcdhPrivateKey, RecipientKey};
use vdc_core::jose::{Jwk, JwkSet, PublicKey};
use vdc_core::json;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = json::parse(data, json::DEFAULT_MAX_LEN) else {
        return;
    };
    if let Ok(jwk) = Jwk::from_value(&value) {
        let again = Jwk::from_value(&jwk.to_value());
        assert_eq!(
            again.as_ref().ok(),
            Some(&jwk),
            "JWK round trip changed the key"
        );
        assert_eq!(jwk.thumbprint(), jwk.key.thumbprint());
        let members = jwk.key.to_jwk_members();
        assert_eq!(
            PublicKey::from_jwk_members(&members).ok().as_ref(),
            Some(&jwk.key)
        );
    }
    if let Ok(set) = JwkSet::from_value(&value) {
        let again = JwkSet::from_value(&set.to_value());
        assert_eq!(
            again.ok(),
            Some(set.clone()),
            "JWK Set round trip changed it"
        );
        if let Some(first) = set.keys.first().and_then(|k| k.kid.as_deref()) {
            let _ = set.by_kid(first);
        }
    }
    let _ = RecipientKey::from_jwk(&value);
    let _ = RecipientKey::select(&value);
    let _ = EcdhPrivateKey::from_private_jwk(&value);
});
