//! OID4VCI key proofs of type `jwt` (OID4VCI 1.0 Appendix F.1, "`jwt` Proof Type"): the
//! wallet creates them ([`create`]), the issuer checks them ([`verify`]).
//!
//! The proof carries the holder key in its `jwk` header. That is the designed holder-key
//! carrier (G5): the key is trusted only as "the key the credential will be bound to", and
//! only because the proof is signed by it.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jose::jws::{self, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey, Signer};
use crate::time::UnixTime;

/// Media type of a key proof JWT.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// What the wallet puts into a key proof.
#[derive(Debug, Clone, Copy)]
pub struct ProofInput<'a> {
    /// `aud`: the credential issuer identifier.
    pub audience: &'a str,
    /// `nonce`: the `c_nonce` from the issuer's nonce endpoint.
    pub nonce: Option<&'a str>,
    /// `iss`: the client id; omitted for anonymous pre-authorized code flows.
    pub client_id: Option<&'a str>,
    /// `iat`.
    pub iat: UnixTime,
}

/// Creates a key proof signed by `holder`, with the holder's public key as `jwk`.
pub async fn create(holder: &dyn Signer, input: ProofInput<'_>) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), PROOF_TYP.into());
    // Spec: OID4VCI 1.0 F.1: `jwk` MUST NOT be combined with `kid` or `x5c`.
    header.insert(
        "jwk".into(),
        Value::Object(holder.public_jwk().key.to_jwk_members()),
    );
    let mut claims = Map::new();
    claims.insert("aud".into(), input.audience.into());
    claims.insert("iat".into(), input.iat.secs().into());
    if let Some(n) = input.nonce {
        claims.insert("nonce".into(), n.into());
    }
    if let Some(c) = input.client_id {
        claims.insert("iss".into(), c.into());
    }
    jws::sign_with_options(header, &claims, holder, false).await
}

/// What the issuer expects of a key proof.
#[derive(Debug, Clone)]
pub struct ProofExpectations<'a> {
    /// The algorithms advertised in `proof_signing_alg_values_supported`.
    pub policy: &'a AlgorithmPolicy,
    /// This issuer's credential issuer identifier.
    pub audience: &'a str,
    /// Now.
    pub now: UnixTime,
    /// How old `iat` may be, seconds.
    pub max_age_secs: i64,
    /// Allowed clock skew, seconds.
    pub skew: i64,
}

/// A key proof that passed every stateless check. The caller must still consume `nonce`
/// in its store (single use, G1/G2) before issuing.
#[derive(Debug, Clone)]
pub struct VerifiedProof {
    /// The key the credential will be bound to.
    pub holder_key: PublicKey,
    /// The `nonce` claim, to be consumed by the caller.
    pub nonce: Option<String>,
    /// The `iss` claim (client id), if present.
    pub client_id: Option<String>,
}

/// Checks a key proof (OID4VCI 1.0 F.1 and §"Verifying Proof"): `typ`, `alg` allowed,
/// exactly one of `jwk`/`kid`/`x5c` with `jwk` supported, signature by that key, `aud`,
/// `iat` window. Every failure is an error of kind `Signature`, `Time` or `Claim`, which
/// the issuer reports as `invalid_proof`.
pub fn verify(proof: &str, expect: &ProofExpectations<'_>) -> Result<VerifiedProof> {
    let jws = jws::decode(proof)?;
    jws.expect_typ(PROOF_TYP)?;
    let carriers = ["jwk", "kid", "x5c"]
        .iter()
        .filter(|h| jws.header.contains_key(**h))
        .count();
    if carriers != 1 {
        return Err(Error::Claim(
            "a key proof names its key with exactly one of jwk, kid, x5c".into(),
        ));
    }
    let jwk = jws
        .header
        .get("jwk")
        .ok_or_else(|| Error::Claim("only jwk-bound key proofs are supported".into()))?;
    let holder_key = Jwk::from_value(jwk)?.key;
    jws.verify(&holder_key, expect.policy)?;
    if jws.claim_str("aud") != Some(expect.audience) {
        return Err(Error::Claim(
            "key proof aud is not this credential issuer".into(),
        ));
    }
    let rules = TimeRules {
        skew: expect.skew,
        require_exp: false,
        require_iat: true,
        max_iat_age: Some(expect.max_age_secs),
    };
    jws::check_times(&jws.payload, expect.now, rules)?;
    let nonce = match jws.payload.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(Error::Claim("nonce must be a string".into())),
    };
    let client_id = match jws.payload.get("iss") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(Error::Claim("iss must be a string".into())),
    };
    Ok(VerifiedProof {
        holder_key,
        nonce,
        client_id,
    })
}
