//! OID4VCI key proofs.

use serde_json::json;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, Signer};
use vdc_core::key_proof::{self, ProofExpectations, ProofInput};
use vdc_core::time::UnixTime;
use vdc_core::{Error, ErrorKind};

use crate::support::*;

fn expect(policy: &AlgorithmPolicy) -> ProofExpectations<'_> {
    ProofExpectations {
        policy,
        audience: ISSUER,
        now: UnixTime(NOW),
        max_age_secs: 300,
        skew: 60,
    }
}

fn input(nonce: &str) -> ProofInput<'_> {
    ProofInput {
        audience: ISSUER,
        nonce: Some(nonce),
        client_id: None,
        iat: UnixTime(NOW),
    }
}

#[test]
fn proof_round_trip_yields_the_holder_key_and_nonce() {
    let p = AlgorithmPolicy::default();
    for alg in [Algorithm::Es256, Algorithm::EdDsa] {
        let holder = signer(alg, 60);
        let proof = block_on(key_proof::create(&holder, input("c-nonce-1"))).unwrap();
        let v = key_proof::verify(&proof, &expect(&p)).unwrap();
        assert_eq!(v.holder_key, holder.public_jwk().key);
        assert_eq!(v.nonce.as_deref(), Some("c-nonce-1"));
    }
}

#[test]
fn proof_with_wrong_aud_typ_iat_or_key_is_rejected() {
    let p = AlgorithmPolicy::default();
    let holder = signer(Algorithm::Es256, 61);
    let other = signer(Algorithm::Es256, 62);
    let jwk = jwk_value(&holder);
    let claims = json!({"aud": ISSUER, "iat": NOW, "nonce": "n"});
    let cases = [
        (
            json!({"alg": "ES256", "typ": "JWT", "jwk": jwk}),
            claims.clone(),
            holder.key(),
            ErrorKind::Signature,
        ),
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}),
            json!({"aud": "https://other.example", "iat": NOW}),
            holder.key(),
            ErrorKind::Claim,
        ),
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}),
            json!({"aud": ISSUER, "iat": NOW - 3600}),
            holder.key(),
            ErrorKind::Time,
        ),
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}),
            json!({"aud": ISSUER}),
            holder.key(),
            ErrorKind::Malformed,
        ),
        // Signed by another key than the one in `jwk`.
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk}),
            claims.clone(),
            other.key(),
            ErrorKind::Signature,
        ),
        // jwk and kid together.
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk, "kid": "k"}),
            claims.clone(),
            holder.key(),
            ErrorKind::Claim,
        ),
        // A private key in jwk.
        (
            json!({"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": serde_json::from_str::<serde_json::Value>(&holder.key().to_private_jwk()).unwrap()}),
            claims.clone(),
            holder.key(),
            ErrorKind::Signature,
        ),
    ];
    for (i, (h, c, key, kind)) in cases.into_iter().enumerate() {
        let proof = sign_raw(h, c, key);
        let err = key_proof::verify(&proof, &expect(&p)).unwrap_err();
        assert_eq!(err.kind(), kind, "case {i}: {err}");
    }
    let none = forge(
        json!({"alg": "none", "typ": "openid4vci-proof+jwt", "jwk": jwk}),
        claims,
        b"",
    );
    assert!(matches!(
        key_proof::verify(&none, &expect(&p)),
        Err(Error::AlgorithmNotAllowed(_))
    ));
}
