//! OID4VCI key proofs (OID4VCI 1.0 Appendix F): the `jwt` proof type (F.1), which the wallet
//! creates ([`create`], [`create_with_key_attestation`]) and the issuer checks ([`verify`],
//! [`verify_with_key_attestation`]), and the `attestation` proof type (F.3), whose value is a
//! key attestation ([`verify_attestation_proof`]; made with
//! [`crate::key_attestation::create`]).
//!
//! A `jwt` proof carries the holder key in its `jwk` header. That is the designed holder-key
//! carrier (G5): the key is trusted only as "the key the credential will be bound to", and
//! only because the proof is signed by it. A key attestation (Appendix D) adds keys the
//! issuer trusts because a configured key attestation anchor vouches for them.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jose::jws::{self, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey, Signer};
use crate::key_attestation::{self, KeyAttestation, KeyAttestationExpectations};
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
    create_proof(holder, input, None).await
}

/// Creates a key proof like [`create`] that also carries `key_attestation` (a key attestation
/// JWT attesting `holder`'s key) in its JOSE header (OID4VCI 1.0 F.1).
pub async fn create_with_key_attestation(
    holder: &dyn Signer,
    input: ProofInput<'_>,
    key_attestation: &str,
) -> Result<String> {
    create_proof(holder, input, Some(key_attestation)).await
}

async fn create_proof(
    holder: &dyn Signer,
    input: ProofInput<'_>,
    key_attestation: Option<&str>,
) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), PROOF_TYP.into());
    if let Some(ka) = key_attestation {
        header.insert("key_attestation".into(), ka.into());
    }
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
    /// The `key_attestation` header, verified, when the issuer evaluates key attestations
    /// ([`verify_with_key_attestation`]) and the proof carries one; `holder_key` is among its
    /// `attested_keys`.
    pub key_attestation: Option<KeyAttestation>,
}

/// Checks a key proof (OID4VCI 1.0 F.1 and §"Verifying Proof"): `typ`, `alg` allowed,
/// exactly one of `jwk`/`kid`/`x5c` with `jwk` supported, signature by that key, `aud`,
/// `iat` window. Every failure is an error of kind `Signature`, `Time` or `Claim`, which
/// the issuer reports as `invalid_proof`. A `key_attestation` header is not evaluated here
/// (see [`verify_with_key_attestation`]).
pub fn verify(proof: &str, expect: &ProofExpectations<'_>) -> Result<VerifiedProof> {
    verify_with_key_attestation(proof, expect, None)
}

/// [`verify`], and when `attestations` is given (the issuer evaluates key attestations) and
/// the proof has a `key_attestation` header: that attestation is checked
/// ([`key_attestation::verify`], with `exp` required) and the proof's key must be one of its
/// `attested_keys` (Spec: OID4VCI 1.0 §D.1: "If used with the jwt proof type, the
/// Credential Issuer MUST validate that the JWT used as a proof is signed by a key contained
/// in the attestation in the JOSE Header."). Its `nonce` is returned for the caller to
/// compare with the proof's `c_nonce`. Whether an attestation is required is the caller's
/// decision.
pub fn verify_with_key_attestation(
    proof: &str,
    expect: &ProofExpectations<'_>,
    attestations: Option<&KeyAttestationExpectations<'_>>,
) -> Result<VerifiedProof> {
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
    let key_attestation = match (attestations, jws.header.get("key_attestation")) {
        (Some(ka_expect), Some(value)) => {
            let jwt = value
                .as_str()
                .ok_or_else(|| Error::Claim("key_attestation header must be a JWT".into()))?;
            let rules = KeyAttestationExpectations {
                require_exp: true,
                ..*ka_expect
            };
            let attestation = key_attestation::verify(jwt, &rules)?;
            if !attestation.attested_keys.contains(&holder_key) {
                return Err(Error::Claim(
                    "the proof key is not among the key attestation's attested_keys".into(),
                ));
            }
            Some(attestation)
        }
        // Spec: OID4VCI 1.0 §D: an issuer that does not evaluate key attestations has said so
        // in its metadata; the header is optional (F.1), so the proof stands on its own.
        _ => None,
    };
    Ok(VerifiedProof {
        holder_key,
        nonce,
        client_id,
        key_attestation,
    })
}

/// Checks the value of an `attestation` proof (OID4VCI 1.0 F.3): a key attestation JWT
/// ([`key_attestation::verify`]; `exp` optional) that must carry a `nonce` (Spec: F.3: "If
/// the Credential Issuer has a Nonce Endpoint ..., the c_nonce value provided by the
/// Credential Issuer MUST be provided in the key attestation's nonce parameter"). There is
/// no proof of possession: every attested key becomes a key credentials are bound to. The
/// caller checks and consumes the nonce (single use, G1/G2).
pub fn verify_attestation_proof(
    attestation: &str,
    expect: &KeyAttestationExpectations<'_>,
) -> Result<VerifiedAttestationProof> {
    let rules = KeyAttestationExpectations {
        require_exp: false,
        ..*expect
    };
    let attestation = key_attestation::verify(attestation, &rules)?;
    let nonce = attestation
        .nonce
        .clone()
        .ok_or_else(|| Error::Claim("the key attestation has no nonce (c_nonce)".into()))?;
    Ok(VerifiedAttestationProof { nonce, attestation })
}

/// An `attestation` proof that passed every stateless check.
#[derive(Debug, Clone)]
pub struct VerifiedAttestationProof {
    /// The `nonce` of the attestation, to be checked and consumed by the caller.
    pub nonce: String,
    /// The attestation; its `attested_keys` are the holder keys.
    pub attestation: KeyAttestation,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, LocalSigner, SigningKey};
    use crate::rng::SeededRandom;
    use crate::x509::{CertificateSpec, TrustAnchors, issue, self_signed};

    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600;
    const DAY: i64 = 86_400;
    const AUD: &str = "https://issuer.example/issuers/demo";

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// A key attestation CA: its root (the anchor), the signing certificate and its signer.
    struct Provider {
        anchors: TrustAnchors,
        leaf: Vec<u8>,
        signer: LocalSigner,
    }

    fn provider(seed: u64) -> Provider {
        let rng = SeededRandom::new(seed);
        let spec = |cn: &str| {
            CertificateSpec::new(cn, UnixTime(T0 - DAY), UnixTime(T0 + DAY), &rng).unwrap()
        };
        let root_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let root = self_signed(&spec("Root").ca(), &root_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(&spec("Provider"), leaf_key.public_key(), &root, &root_key).unwrap();
        Provider {
            anchors: TrustAnchors::from_der_certs(vec![root]).unwrap(),
            leaf,
            signer: LocalSigner::new(leaf_key),
        }
    }

    fn holder(seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
    }

    fn attestation_of(keys: &[&LocalSigner], nonce: Option<&str>, exp: bool) -> KeyAttestation {
        KeyAttestation {
            iss: None,
            iat: UnixTime(T0 - 10),
            exp: exp.then_some(UnixTime(T0 + 3600)),
            attested_keys: keys.iter().map(|k| k.public_jwk().key.clone()).collect(),
            key_storage: vec!["iso_18045_high".into()],
            user_authentication: Vec::new(),
            certification: None,
            nonce: nonce.map(str::to_owned),
            status: None,
        }
    }

    fn attest(p: &Provider, a: &KeyAttestation) -> String {
        block_on(key_attestation::create(
            &p.signer,
            std::slice::from_ref(&p.leaf),
            a,
        ))
        .unwrap()
    }

    fn input() -> ProofInput<'static> {
        ProofInput {
            audience: AUD,
            nonce: Some("c-nonce"),
            client_id: None,
            iat: UnixTime(T0),
        }
    }

    fn expect(policy: &AlgorithmPolicy) -> ProofExpectations<'_> {
        ProofExpectations {
            policy,
            audience: AUD,
            now: UnixTime(T0),
            max_age_secs: 300,
            skew: 30,
        }
    }

    fn ka_expect<'a>(
        anchors: &'a TrustAnchors,
        policy: &'a AlgorithmPolicy,
    ) -> KeyAttestationExpectations<'a> {
        KeyAttestationExpectations {
            anchors,
            policy,
            now: UnixTime(T0),
            skew: 30,
            require_exp: false,
        }
    }

    #[test]
    fn jwt_proof_with_key_attestation_yields_the_verified_attestation() {
        let (p, policy) = (provider(1), AlgorithmPolicy::default());
        let (h1, h2) = (holder(2), holder(3));
        let ka = attest(&p, &attestation_of(&[&h1, &h2], Some("c-nonce"), true));
        let proof = block_on(create_with_key_attestation(&h1, input(), &ka)).unwrap();
        let v = verify_with_key_attestation(
            &proof,
            &expect(&policy),
            Some(&ka_expect(&p.anchors, &policy)),
        )
        .unwrap();
        assert_eq!(v.holder_key, h1.public_jwk().key);
        let a = v.key_attestation.unwrap();
        assert_eq!(a.attested_keys.len(), 2);
        assert_eq!(a.nonce.as_deref(), Some("c-nonce"));
        // Without attestation expectations the header is not evaluated.
        let plain = verify(&proof, &expect(&policy)).unwrap();
        assert!(plain.key_attestation.is_none());
    }

    #[test]
    fn jwt_proof_by_a_key_not_attested_is_refused() {
        let (p, policy) = (provider(1), AlgorithmPolicy::default());
        let (h1, h2) = (holder(2), holder(3));
        let ka = attest(&p, &attestation_of(&[&h2], Some("c-nonce"), true));
        let proof = block_on(create_with_key_attestation(&h1, input(), &ka)).unwrap();
        let err = verify_with_key_attestation(
            &proof,
            &expect(&policy),
            Some(&ka_expect(&p.anchors, &policy)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("attested_keys"), "{err}");
    }

    #[test]
    fn key_attestation_in_a_jwt_proof_needs_exp_and_a_trusted_chain() {
        let (p, policy) = (provider(1), AlgorithmPolicy::default());
        let h = holder(2);
        let no_exp = attest(&p, &attestation_of(&[&h], Some("c-nonce"), false));
        let proof = block_on(create_with_key_attestation(&h, input(), &no_exp)).unwrap();
        let err = verify_with_key_attestation(
            &proof,
            &expect(&policy),
            Some(&ka_expect(&p.anchors, &policy)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("exp"), "{err}");
        let other = provider(9);
        let ka = attest(&p, &attestation_of(&[&h], Some("c-nonce"), true));
        let proof = block_on(create_with_key_attestation(&h, input(), &ka)).unwrap();
        let err = verify_with_key_attestation(
            &proof,
            &expect(&policy),
            Some(&ka_expect(&other.anchors, &policy)),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Certificate(_)), "{err:?}");
        // A key_attestation header that is not a string.
        let mut header = Map::new();
        header.insert("typ".into(), PROOF_TYP.into());
        header.insert(
            "jwk".into(),
            Value::Object(h.public_jwk().key.to_jwk_members()),
        );
        header.insert("key_attestation".into(), serde_json::json!({"jwt": ka}));
        let mut claims = Map::new();
        claims.insert("aud".into(), AUD.into());
        claims.insert("iat".into(), T0.into());
        let proof = block_on(jws::sign_with_options(header, &claims, &h, false)).unwrap();
        assert!(
            verify_with_key_attestation(
                &proof,
                &expect(&policy),
                Some(&ka_expect(&p.anchors, &policy)),
            )
            .is_err()
        );
    }

    #[test]
    fn attestation_proof_binds_every_attested_key_and_returns_its_nonce() {
        let (p, policy) = (provider(1), AlgorithmPolicy::only(&[Algorithm::Es256]));
        let (h1, h2, h3) = (holder(2), holder(3), holder(4));
        // exp is optional for the attestation proof type.
        let ka = attest(
            &p,
            &attestation_of(&[&h1, &h2, &h3], Some("c-nonce"), false),
        );
        let v = verify_attestation_proof(&ka, &ka_expect(&p.anchors, &policy)).unwrap();
        assert_eq!(v.nonce, "c-nonce");
        assert_eq!(
            v.attestation.attested_keys,
            vec![
                h1.public_jwk().key.clone(),
                h2.public_jwk().key.clone(),
                h3.public_jwk().key.clone()
            ]
        );
    }

    #[test]
    fn attestation_proof_without_nonce_or_of_the_wrong_type_is_refused() {
        let (p, policy) = (provider(1), AlgorithmPolicy::default());
        let h = holder(2);
        let ka = attest(&p, &attestation_of(&[&h], None, true));
        let err = verify_attestation_proof(&ka, &ka_expect(&p.anchors, &policy)).unwrap_err();
        assert!(err.to_string().contains("nonce"), "{err}");
        // A jwt key proof is not a key attestation.
        let proof = block_on(create(&h, input())).unwrap();
        let err = verify_attestation_proof(&proof, &ka_expect(&p.anchors, &policy)).unwrap_err();
        assert!(matches!(err, Error::UnexpectedType { .. }), "{err:?}");
        // The anchor in x5c is refused here too (HAIP 1.0 §4.5.1).
        let root = p.anchors.certificates()[0].clone();
        let with_anchor = block_on(key_attestation::create(
            &p.signer,
            &[p.leaf.clone(), root],
            &attestation_of(&[&h], Some("n"), true),
        ))
        .unwrap();
        assert!(verify_attestation_proof(&with_anchor, &ka_expect(&p.anchors, &policy)).is_err());
    }
}
