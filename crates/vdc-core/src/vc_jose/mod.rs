//! W3C Verifiable Credentials Data Model v2.0 secured with JOSE (`vc+jwt`, `vp+jwt`), per
//! W3C "Securing Verifiable Credentials using JOSE and COSE" (VC-JOSE-COSE).
//!
//! Layout:
//! - [`data_model`]: VCDM 2.0 structural checks and Bitstring Status List entries.
//! - [`datetime`]: the XML Schema `dateTimeStamp` values of `validFrom`/`validUntil`.
//! - this module: issuing and verifying `vc+jwt` credentials.
//! - [`presentation`]: holder-side `vp+jwt` presentations of enveloped `vc+jwt`
//!   credentials, bound to a verifier's `aud` and `nonce` as OpenID4VP 1.0 requires.
//! - [`vcdm11`]: the VCDM 1.1 JWT encoding (`vc`/`vp` claims) OpenID4VP 1.0 Appendix B.1
//!   still references, issued and verified beside VCDM 2.0.
//!
//! Spec: VC-JOSE-COSE §3.1.1 (Securing JSON-LD Verifiable Credentials with JOSE): the
//! unsecured credential *is* the JWS payload; there is no `vc` claim (that was the
//! VCDM 1.1 JWT encoding, and "JWT Format and Requirements" says the claim names `vc` and
//! `vp` MUST NOT be present).
//!
//! Trust: [`verify_vc_jwt`] verifies with the key the caller passes. Deciding that this key
//! belongs to the credential's issuer (JWT VC Issuer Metadata, DIDs, x5c) is the caller's
//! job (G5); so is checking the credential's status.

pub mod data_model;
pub mod datetime;
pub mod presentation;
pub mod vcdm11;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

pub use data_model::{CREDENTIALS_V2_CONTEXT, check_data_model, issuer_id, validity_period};
pub use datetime::{format_date_time_stamp, parse_date_time_stamp};
pub use presentation::{VerifiedVp, present_vp_jwt, verify_vp_jwt};

use crate::error::{Error, Result};
use crate::jose::alg::AlgorithmPolicy;
use crate::jose::jwk::PublicKey;
use crate::jose::jws::{self, TimeRules};
use crate::jose::signer::Signer;
use crate::time::UnixTime;

/// The `typ` of a credential secured with JOSE (VC-JOSE-COSE §3.1.1, §7.1.1).
pub const VC_JWT_TYP: &str = "vc+jwt";
/// The `cty` VC-JOSE-COSE §3.1.1 recommends when `cty` is present.
pub const VC_CTY: &str = "vc";

/// A verified `vc+jwt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedVc {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The credential (the JWT payload), data-model checked.
    pub credential: Map<String, Value>,
}

/// Signs `credential` as a `vc+jwt` after checking it against the data model.
///
/// The protected header carries `typ: vc+jwt`, `cty: vc`, `alg` and `kid` from the signer
/// and, if the signer has a certificate chain, `x5c` (standard base64 DER, RFC 7515
/// §4.1.6). The payload is the credential JSON itself; JWT claims the caller put into the
/// credential (`iat`, `exp`, `cnf`, ...) stay, but must agree with the credential (see
/// [`verify_vc_jwt`]).
pub async fn issue_vc_jwt(credential: &Map<String, Value>, signer: &dyn Signer) -> Result<String> {
    check_data_model(credential)?;
    check_jwt_claims(credential)?;
    let mut header = Map::new();
    header.insert("typ".into(), VC_JWT_TYP.into());
    // Spec: VC-JOSE-COSE §3.1.1: "When present, the cty header parameter SHOULD be vc."
    header.insert("cty".into(), VC_CTY.into());
    if let Some(chain) = signer.x5c() {
        header.insert("x5c".into(), x5c_value(chain));
    }
    jws::sign(header, credential, signer).await
}

/// Verifies a `vc+jwt` with `key` and checks the credential.
///
/// In order: structure and header hygiene ([`jws::decode`]), `typ` is `vc+jwt`, the
/// signature with `key` under `policy` (only then is the payload looked at, VC-JOSE-COSE
/// §5), no `vc`/`vp` claim, the VCDM 2.0 data model, JWT claim consistency, and time.
///
/// Time: `validFrom <= now + skew` and `validUntil > now - skew` (VCDM 2.0 §4.9). JWT
/// `exp`/`nbf`/`iat`, when present, are checked too (RFC 7519 §4.1; VC-JOSE-COSE §3.1.3:
/// they are about the signature, `validFrom`/`validUntil` about the data). Both must hold:
/// when they disagree the stricter one wins, e.g. an `exp` before `validUntil` ends
/// acceptance at `exp`.
///
/// Claims: `iss`, when present, MUST equal the issuer URL (VC-JOSE-COSE §4.1.2). VC-JOSE-COSE
/// §3.1.3 asks issuers not to let `jti`/`id` and `sub`/`credentialSubject.id` conflict; we
/// treat such a conflict as an error (`Error::Claim`) rather than guess which one is meant.
pub fn verify_vc_jwt(
    token: &str,
    key: &PublicKey,
    policy: &AlgorithmPolicy,
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedVc> {
    let jws = jws::decode(token)?;
    jws.expect_typ(VC_JWT_TYP)?;
    jws.verify(key, policy)?;
    let credential = jws.payload;
    check_data_model(&credential)?;
    check_jwt_claims(&credential)?;
    jws::check_times(
        &credential,
        now,
        TimeRules {
            skew,
            ..TimeRules::default()
        },
    )?;
    check_validity_window(&credential, now, skew)?;
    Ok(VerifiedVc {
        header: jws.header,
        credential,
    })
}

/// Checks `validFrom <= now + skew` and `validUntil > now - skew`.
pub fn check_validity_window(
    credential: &Map<String, Value>,
    now: UnixTime,
    skew: i64,
) -> Result<()> {
    let (from, until) = validity_period(credential)?;
    if let Some(from) = from
        && from > now.plus(skew)
    {
        return Err(Error::Time("credential not yet valid (validFrom)".into()));
    }
    if let Some(until) = until
        && until <= now.plus(skew.saturating_neg())
    {
        return Err(Error::Time("credential expired (validUntil)".into()));
    }
    Ok(())
}

/// JWT claims in a `vc+jwt` payload must not contradict the credential.
fn check_jwt_claims(credential: &Map<String, Value>) -> Result<()> {
    check_jwt_vc_vp_claims_absent(credential)?;
    // Spec: VC-JOSE-COSE §4.1.2 (iss): when issuer is a string (or an object with id),
    // iss, if present, MUST match it.
    if let Some(iss) = credential.get("iss")
        && (iss.as_str().is_none() || iss.as_str() != issuer_id(credential))
    {
        return Err(Error::Claim(
            "iss does not match the credential issuer".into(),
        ));
    }
    // Spec: VC-JOSE-COSE §3.1.3: jti/id and sub/credentialSubject.id SHOULD NOT conflict.
    if let (Some(jti), Some(id)) = (credential.get("jti"), credential.get("id"))
        && jti != id
    {
        return Err(Error::Claim("jti does not match the credential id".into()));
    }
    if let Some(sub) = credential.get("sub") {
        let subject_ids: Vec<&Value> = match credential.get("credentialSubject") {
            Some(Value::Array(a)) => a.iter().filter_map(|s| s.get("id")).collect(),
            Some(s) => s.get("id").into_iter().collect(),
            None => Vec::new(),
        };
        if !subject_ids.is_empty() && !subject_ids.contains(&sub) {
            return Err(Error::Claim(
                "sub does not match any credentialSubject id".into(),
            ));
        }
    }
    Ok(())
}

/// Spec: VC-JOSE-COSE §1 "JWT Format and Requirements" and §3.1.3: "The JWT Claim Names
/// vc and vp MUST NOT be present" (they were the VCDM 1.1 JWT encoding).
pub(crate) fn check_jwt_vc_vp_claims_absent(claims: &Map<String, Value>) -> Result<()> {
    for name in ["vc", "vp"] {
        if claims.contains_key(name) {
            return Err(Error::VcDataModel(format!(
                "the JWT claim {name} must not be present (VCDM 1.1 encoding)"
            )));
        }
    }
    Ok(())
}

/// `x5c`: an array of standard (not URL-safe) base64 DER certificates (RFC 7515 §4.1.6).
fn x5c_value(chain: &[Vec<u8>]) -> Value {
    Value::Array(chain.iter().map(|c| STANDARD.encode(c).into()).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::base64url;
    use crate::jose::alg::Algorithm;
    use crate::jose::signer::{LocalSigner, SigningKey};
    use crate::rng::SeededRandom;
    use serde_json::json;

    pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    pub(crate) fn signer(seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
    }

    /// VC-JOSE-COSE §3.1.1, the example credential (Example 1, "A simple example of a
    /// verifiable credential secured with JOSE" payload).
    pub(crate) fn spec_credential() -> Map<String, Value> {
        json!({
          "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2"
          ],
          "id": "http://university.example/credentials/3732",
          "type": ["VerifiableCredential", "ExampleDegreeCredential", "ExamplePersonCredential"],
          "issuer": "https://university.example/issuers/14",
          "validFrom": "2010-01-01T19:23:24Z",
          "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {
              "type": "ExampleBachelorDegree",
              "name": "Bachelor of Science and Arts"
            },
            "alumniOf": {
              "name": "Example University"
            }
          },
          "credentialSchema": [{
            "id": "https://example.org/examples/degree.json",
            "type": "JsonSchema"
          },
          {
            "id": "https://example.org/examples/alumni.json",
            "type": "JsonSchema"
          }]
        })
        .as_object()
        .unwrap()
        .clone()
    }

    /// 2024-01-01T00:00:00Z.
    pub(crate) const NOW: UnixTime = UnixTime(1_704_067_200);

    fn issue(c: &Map<String, Value>, s: &LocalSigner) -> Result<String> {
        block_on(issue_vc_jwt(c, s))
    }

    fn verify(t: &str, s: &LocalSigner, now: UnixTime) -> Result<VerifiedVc> {
        verify_vc_jwt(t, &s.public_jwk().key, &AlgorithmPolicy::default(), now, 60)
    }

    /// Re-signs an arbitrary header/payload with `s` (to get past the signature check).
    fn forge(header: Value, payload: &Value, s: &LocalSigner) -> String {
        let input = format!(
            "{}.{}",
            base64url::encode(header.to_string()),
            base64url::encode(payload.to_string())
        );
        let sig = s.key().sign_sync(input.as_bytes()).unwrap();
        format!("{input}.{}", base64url::encode(sig))
    }

    #[test]
    fn vc_jose_cose_example_credential_issues_and_verifies() {
        let s = signer(1);
        let c = spec_credential();
        let token = issue(&c, &s).unwrap();
        let v = verify(&token, &s, NOW).unwrap();
        assert_eq!(v.credential, c, "the payload is the credential itself");
        assert!(!v.credential.contains_key("vc"));
        assert_eq!(v.header["typ"], "vc+jwt");
        assert_eq!(v.header["cty"], "vc");
        assert_eq!(v.header["alg"], "ES256");
        assert_eq!(v.header["kid"].as_str(), s.public_jwk().kid.as_deref());
        assert!(!v.header.contains_key("x5c"));
        assert_eq!(
            issuer_id(&v.credential),
            Some("https://university.example/issuers/14")
        );
    }

    #[test]
    fn vc_jose_cose_presentation_example_enveloped_payload_passes_the_data_model() {
        // VC-JOSE-COSE §3.1.2, Example "A simple example of a verifiable presentation
        // secured with JOSE": the payload of the enveloped (ES384) vc+jwt. We do not
        // verify ES384; the payload is a data-model vector written by the spec authors.
        let payload = "eyJAY29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvdjIiLCJodHRwczovL3d3dy53My5vcmcvbnMvY3JlZGVudGlhbHMvZXhhbXBsZXMvdjIiXSwiaWQiOiJodHRwOi8vdW5pdmVyc2l0eS5leGFtcGxlL2NyZWRlbnRpYWxzLzE4NzIiLCJ0eXBlIjpbIlZlcmlmaWFibGVDcmVkZW50aWFsIiwiRXhhbXBsZUFsdW1uaUNyZWRlbnRpYWwiXSwiaXNzdWVyIjoiaHR0cHM6Ly91bml2ZXJzaXR5LmV4YW1wbGUvaXNzdWVycy81NjUwNDkiLCJ2YWxpZEZyb20iOiIyMDEwLTAxLTAxVDE5OjIzOjI0WiIsImNyZWRlbnRpYWxTY2hlbWEiOnsiaWQiOiJodHRwczovL2V4YW1wbGUub3JnL2V4YW1wbGVzL2RlZ3JlZS5qc29uIiwidHlwZSI6Ikpzb25TY2hlbWEifSwiY3JlZGVudGlhbFN1YmplY3QiOnsiaWQiOiJkaWQ6ZXhhbXBsZToxMjMiLCJkZWdyZWUiOnsidHlwZSI6IkJhY2hlbG9yRGVncmVlIiwibmFtZSI6IkJhY2hlbG9yIG9mIFNjaWVuY2UgYW5kIEFydHMifX19";
        let c = crate::json::parse_object(&base64url::decode(payload).unwrap(), 4096).unwrap();
        check_data_model(&c).unwrap();
        assert_eq!(
            issuer_id(&c),
            Some("https://university.example/issuers/565049")
        );
    }

    #[test]
    fn x5c_is_standard_base64_der() {
        let s = signer(2).with_x5c(vec![vec![0xfb, 0xff, 0x00], vec![1, 2, 3]]);
        let token = issue(&spec_credential(), &s).unwrap();
        let v = verify(&token, &s, NOW).unwrap();
        assert_eq!(v.header["x5c"], json!(["+/8A", "AQID"]));
    }

    #[test]
    fn data_model_violations_are_refused_at_issuance() {
        let s = signer(3);
        let mut c = spec_credential();
        c.remove("@context");
        assert!(matches!(issue(&c, &s), Err(Error::VcDataModel(_))));
        let mut c = spec_credential();
        c.insert("vc".into(), json!({}));
        assert!(matches!(issue(&c, &s), Err(Error::VcDataModel(_))));
        let mut c = spec_credential();
        c.insert("iss".into(), "https://other.example".into());
        assert!(matches!(issue(&c, &s), Err(Error::Claim(_))));
    }

    #[test]
    fn data_model_violations_are_rejected_at_verification() {
        let s = signer(4);
        let h = json!({"alg":"ES256","typ":"vc+jwt"});
        type Mutation = Box<dyn Fn(&mut Map<String, Value>)>;
        let cases: Vec<(&str, Mutation)> = vec![
            (
                "missing @context",
                Box::new(|c| {
                    c.remove("@context");
                }),
            ),
            (
                "v1 @context",
                Box::new(|c| {
                    c["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
                }),
            ),
            (
                "no VerifiableCredential type",
                Box::new(|c| {
                    c["type"] = json!(["ExampleDegreeCredential"]);
                }),
            ),
            (
                "bad validFrom",
                Box::new(|c| {
                    c["validFrom"] = json!("2010-01-01 19:23:24");
                }),
            ),
            (
                "validUntil before validFrom",
                Box::new(|c| {
                    c.insert("validUntil".into(), json!("2009-01-01T00:00:00Z"));
                }),
            ),
            (
                "vc claim",
                Box::new(|c| {
                    c.insert("vc".into(), json!({}));
                }),
            ),
            (
                "vp claim",
                Box::new(|c| {
                    c.insert("vp".into(), json!({}));
                }),
            ),
            (
                "status index not a numeric string",
                Box::new(|c| {
                    c.insert("credentialStatus".into(), json!({"type":"BitstringStatusListEntry","statusPurpose":"revocation","statusListIndex":"abc","statusListCredential":"https://u.example/status/1"}));
                }),
            ),
            (
                "status without purpose",
                Box::new(|c| {
                    c.insert("credentialStatus".into(), json!({"type":"BitstringStatusListEntry","statusListIndex":"5","statusListCredential":"https://u.example/status/1"}));
                }),
            ),
        ];
        for (name, mutate) in cases {
            let mut c = spec_credential();
            mutate(&mut c);
            let t = forge(h.clone(), &Value::Object(c), &s);
            assert!(
                matches!(verify(&t, &s, NOW), Err(Error::VcDataModel(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn validity_window_is_enforced_with_skew() {
        let s = signer(5);
        let mut c = spec_credential();
        c.insert("validFrom".into(), "2024-01-01T00:10:00Z".into());
        c.insert("validUntil".into(), "2024-01-02T00:00:00Z".into());
        let t = issue(&c, &s).unwrap();
        // Not yet valid: 10 minutes early, beyond the 60 s skew.
        assert!(matches!(verify(&t, &s, NOW), Err(Error::Time(_))));
        // Within skew of validFrom.
        assert!(verify(&t, &s, NOW.plus(600 - 60)).is_ok());
        assert!(matches!(
            verify(&t, &s, NOW.plus(600 - 61)),
            Err(Error::Time(_))
        ));
        // Expired: validUntil + skew.
        assert!(verify(&t, &s, NOW.plus(86_400 + 59)).is_ok());
        assert!(matches!(
            verify(&t, &s, NOW.plus(86_400 + 60)),
            Err(Error::Time(_))
        ));
    }

    #[test]
    fn jwt_exp_nbf_and_iss_are_checked_consistently() {
        let s = signer(6);
        // exp earlier than validUntil: the stricter one wins.
        let mut c = spec_credential();
        c.insert("validUntil".into(), "2030-01-01T00:00:00Z".into());
        c.insert("exp".into(), json!(NOW.secs() + 3600));
        let t = issue(&c, &s).unwrap();
        assert!(verify(&t, &s, NOW).is_ok());
        assert!(matches!(
            verify(&t, &s, NOW.plus(3600 + 60)),
            Err(Error::Time(_))
        ));
        // nbf in the future.
        let mut c = spec_credential();
        c.insert("nbf".into(), json!(NOW.secs() + 3600));
        assert!(matches!(
            verify(&issue(&c, &s).unwrap(), &s, NOW),
            Err(Error::Time(_))
        ));
        // Malformed exp.
        let mut c = spec_credential();
        c.insert("exp".into(), "tomorrow".into());
        assert!(matches!(
            verify(&issue(&c, &s).unwrap(), &s, NOW),
            Err(Error::Malformed(_))
        ));
        // iss equal to the issuer is fine; a different iss is refused.
        let mut c = spec_credential();
        c.insert("iss".into(), "https://university.example/issuers/14".into());
        assert!(verify(&issue(&c, &s).unwrap(), &s, NOW).is_ok());
        let mut c = spec_credential();
        c.insert("iss".into(), "https://evil.example".into());
        let t = forge(json!({"alg":"ES256","typ":"vc+jwt"}), &Value::Object(c), &s);
        assert!(matches!(verify(&t, &s, NOW), Err(Error::Claim(_))));
        // jti and sub conflicts.
        let mut c = spec_credential();
        c.insert("jti".into(), "urn:uuid:other".into());
        let t = forge(json!({"alg":"ES256","typ":"vc+jwt"}), &Value::Object(c), &s);
        assert!(matches!(verify(&t, &s, NOW), Err(Error::Claim(_))));
        let mut c = spec_credential();
        c.insert("sub".into(), "did:example:someone-else".into());
        let t = forge(json!({"alg":"ES256","typ":"vc+jwt"}), &Value::Object(c), &s);
        assert!(matches!(verify(&t, &s, NOW), Err(Error::Claim(_))));
        let mut c = spec_credential();
        c.insert(
            "sub".into(),
            "did:example:ebfeb1f712ebc6f1c276e12ec21".into(),
        );
        assert!(verify(&issue(&c, &s).unwrap(), &s, NOW).is_ok());
    }

    #[test]
    fn wrong_typ_wrong_key_and_tampering_are_rejected() {
        let s = signer(7);
        let c = Value::Object(spec_credential());
        for typ in ["JWT", "vp+jwt", "dc+sd-jwt", "vc+sd-jwt"] {
            let t = forge(json!({"alg":"ES256","typ":typ}), &c, &s);
            assert!(
                matches!(verify(&t, &s, NOW), Err(Error::UnexpectedType { .. })),
                "{typ}"
            );
        }
        let t = forge(json!({"alg":"ES256"}), &c, &s);
        assert!(
            matches!(verify(&t, &s, NOW), Err(Error::UnexpectedType { .. })),
            "no typ"
        );
        // application/ prefix is accepted (RFC 7515 §4.1.9).
        let t = forge(json!({"alg":"ES256","typ":"application/vc+jwt"}), &c, &s);
        assert!(verify(&t, &s, NOW).is_ok());

        let token = issue(&spec_credential(), &s).unwrap();
        assert!(matches!(
            verify(&token, &signer(8), NOW),
            Err(Error::InvalidSignature)
        ));
        // Tampered payload: change the issuer and keep the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let mut c = spec_credential();
        c["issuer"] = "https://evil.example/issuers/1".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            base64url::encode(Value::Object(c).to_string()),
            parts[2]
        );
        assert!(matches!(
            verify(&tampered, &s, NOW),
            Err(Error::InvalidSignature)
        ));
        // An EdDSA-only policy refuses an ES256 credential.
        assert!(matches!(
            verify_vc_jwt(
                &token,
                &s.public_jwk().key,
                &AlgorithmPolicy::only(&[Algorithm::EdDsa]),
                NOW,
                60
            ),
            Err(Error::AlgorithmNotAllowed(_))
        ));
    }
}
