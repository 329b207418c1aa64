//! Shared fixtures: keys, a runtime, raw JWS forging for negative tests.

use serde_json::{Map, Value, json};
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, Jwk, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::{self, Frame, IssuedSdJwt};
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;

pub(crate) const ISSUER: &str = "https://issuer.example/issuers/acme";
pub(crate) const NOW: i64 = 1_763_800_000;

pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub(crate) fn signer(alg: Algorithm, seed: u64) -> LocalSigner {
    LocalSigner::new(SigningKey::generate(alg, &SeededRandom::new(seed)).unwrap())
}

pub(crate) fn policy_for(issuer: &LocalSigner) -> IssuerTrustPolicy {
    IssuerTrustPolicy::new(vec![ISSUER.into()]).pin(
        ISSUER,
        JwkSet {
            keys: vec![issuer.public_jwk().clone()],
        },
    )
}

pub(crate) fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// The claims used across tests: 10 selectively disclosable claims, 2 nested objects and an
/// array (the shape the benchmark also uses).
pub(crate) fn person_claims() -> Map<String, Value> {
    obj(json!({
        "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000", "birthdate": "1815-12-10",
        "employee_id": "E-1", "department": "Analytical Engines", "title": "Countess",
        "address": {"street_address": "12 St James's Square", "locality": "London", "country": "GB"},
        "employer": {"name": "ACME", "site": {"city": "London"}},
        "nationalities": ["GB", "IT"]
    }))
}

pub(crate) fn person_frame() -> Frame {
    use vdc_core::claims_path::ClaimPath;
    let paths: Vec<ClaimPath> = [
        json!(["given_name"]),
        json!(["family_name"]),
        json!(["email"]),
        json!(["phone_number"]),
        json!(["birthdate"]),
        json!(["employee_id"]),
        json!(["department"]),
        json!(["title"]),
        json!(["address", "street_address"]),
        json!(["address", "locality"]),
        json!(["employer", "name"]),
        json!(["nationalities", null]),
    ]
    .iter()
    .map(|p| ClaimPath::from_value(p).unwrap())
    .collect();
    Frame::from_paths(&paths).unwrap()
}

/// Issues a plain SD-JWT (not VC) over `payload` with `frame`.
pub(crate) fn issue_raw(
    payload: Map<String, Value>,
    frame: &Frame,
    signer: &LocalSigner,
) -> IssuedSdJwt {
    let mut header = Map::new();
    header.insert("typ".into(), "dc+sd-jwt".into());
    block_on(sd_jwt::issue(
        payload,
        frame,
        header,
        signer,
        &SeededRandom::new(99),
    ))
    .unwrap()
}

/// A compact JWS with any header, signed by `key` over exactly what it says.
pub(crate) fn sign_raw(header: Value, payload: Value, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        base64url::encode(header.to_string()),
        base64url::encode(payload.to_string())
    );
    let sig = key.sign_sync(input.as_bytes()).unwrap();
    format!("{input}.{}", base64url::encode(sig))
}

/// A compact JWS with an arbitrary signature.
pub(crate) fn forge(header: Value, payload: Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        base64url::encode(header.to_string()),
        base64url::encode(payload.to_string()),
        base64url::encode(sig)
    )
}

pub(crate) fn jwk_value(s: &LocalSigner) -> Value {
    Jwk::new(s.public_jwk().key.clone()).to_value()
}
