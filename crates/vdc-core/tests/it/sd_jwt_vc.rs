//! SD-JWT VC issuance and verification through the issuer-trust policy.

use serde_json::json;
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, Signer};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::{self, Frame, KeyBindingInput, KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::sd_jwt_vc::{self, IssuerTrustPolicy, KeyMechanism, SdJwtVcClaims};
use vdc_core::time::UnixTime;
use vdc_core::{Error, ErrorKind};

use crate::support::*;

const VCT: &str = "https://acme.example/vct/employee-badge";

fn claims(holder: &vdc_core::jose::LocalSigner) -> SdJwtVcClaims {
    SdJwtVcClaims {
        iss: Some(ISSUER.into()),
        vct: VCT.into(),
        iat: Some(UnixTime(NOW)),
        nbf: None,
        exp: Some(UnixTime(NOW + 86400)),
        holder_key: Some(holder.public_jwk().key.clone()),
        status: Some(json!({"status_list": {"idx": 7, "uri": "https://issuer.example/status/1"}})),
        claims: person_claims(),
    }
}

fn verify_opts<'a>(
    policy: &'a AlgorithmPolicy,
    kb: KeyBindingRequirement<'a>,
) -> VerifyOptions<'a> {
    VerifyOptions {
        policy,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: kb,
    }
}

const KB: KeyBindingRequirement<'static> = KeyBindingRequirement::Required {
    aud: "redirect_uri:https://rp.example/cb",
    nonce: "abc",
    max_age_secs: 300,
};

#[test]
fn dc_sd_jwt_round_trip_with_key_binding() {
    let (issuer, holder) = (signer(Algorithm::Es256, 40), signer(Algorithm::Es256, 41));
    let issued = block_on(sd_jwt_vc::issue(
        &claims(&holder),
        &person_frame(),
        &issuer,
        &SeededRandom::new(1),
    ))
    .unwrap();
    let sd = SdJwt::parse(&issued.compact).unwrap();
    let jws = sd.issuer_jws().unwrap();
    assert_eq!(jws.header_str("typ"), Some("dc+sd-jwt"));
    assert_eq!(jws.kid(), issuer.public_jwk().kid.as_deref());
    let chosen =
        sd_jwt::select_disclosures(&sd, &[ClaimPath::names(&["employee_id"]).unwrap()]).unwrap();
    let pres = block_on(sd_jwt::present(
        &sd,
        chosen,
        Some(KeyBindingInput {
            signer: &holder,
            aud: "redirect_uri:https://rp.example/cb",
            nonce: "abc",
            iat: UnixTime(NOW),
        }),
    ))
    .unwrap();
    let p = AlgorithmPolicy::default();
    let v = block_on(sd_jwt_vc::verify(
        &pres,
        &policy_for(&issuer),
        &verify_opts(&p, KB),
    ))
    .unwrap();
    assert_eq!(v.issuer, ISSUER);
    assert_eq!(v.mechanism, KeyMechanism::Pinned);
    assert_eq!(v.vct, VCT);
    assert_eq!(v.sd_jwt.claims["employee_id"], "E-1");
    assert!(!v.sd_jwt.claims.contains_key("given_name"));
    assert_eq!(v.status().unwrap()["status_list"]["idx"], 7);
}

#[test]
fn never_disclosable_claims_cannot_be_issued_or_accepted_as_disclosures() {
    let (issuer, holder) = (signer(Algorithm::Es256, 42), signer(Algorithm::Es256, 43));
    for name in ["iss", "vct", "cnf", "status", "exp", "nbf"] {
        let frame = Frame::new().sd(name);
        let r = block_on(sd_jwt_vc::issue(
            &claims(&holder),
            &frame,
            &issuer,
            &SeededRandom::new(1),
        ));
        assert!(matches!(r, Err(Error::SdJwt(_))), "{name}");
    }
    // A forged credential that carries `status` in a disclosure (signed by a trusted key).
    let mut payload = claims(&holder).to_payload().unwrap();
    payload.remove("status");
    let status_disclosure = vdc_core::base64url::encode(
        json!(["c2FsdA", "status", {"status_list": {"idx": 1, "uri": "https://x"}}]).to_string(),
    );
    payload.insert(
        "_sd".into(),
        json!([sd_jwt::sha256_b64(&status_disclosure)]),
    );
    let jwt = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": issuer.public_jwk().kid}),
        serde_json::Value::Object(payload),
        issuer.key(),
    );
    let t = format!("{jwt}~{status_disclosure}~");
    let p = AlgorithmPolicy::default();
    let r = block_on(sd_jwt_vc::verify(
        &t,
        &policy_for(&issuer),
        &verify_opts(&p, KeyBindingRequirement::NotRequired),
    ));
    assert!(
        matches!(r, Err(Error::SdJwt(ref m)) if m.contains("status")),
        "{r:?}"
    );
}

#[test]
fn wrong_typ_is_rejected_and_legacy_typ_accepted() {
    let issuer = signer(Algorithm::Es256, 44);
    let payload = json!({"iss": ISSUER, "vct": VCT});
    let kid = issuer.public_jwk().kid.clone();
    let p = AlgorithmPolicy::default();
    let nr = verify_opts(&p, KeyBindingRequirement::NotRequired);
    for typ in [Some("JWT"), Some("sd-jwt"), None] {
        let mut h = json!({"alg": "ES256", "kid": kid});
        if let Some(t) = typ {
            h["typ"] = t.into();
        }
        let t = sign_raw(h, payload.clone(), issuer.key()) + "~";
        let r = block_on(sd_jwt_vc::verify(&t, &policy_for(&issuer), &nr));
        assert!(matches!(r, Err(Error::UnexpectedType { .. })), "{typ:?}");
    }
    let t = sign_raw(
        json!({"alg": "ES256", "kid": kid, "typ": "vc+sd-jwt"}),
        payload,
        issuer.key(),
    ) + "~";
    block_on(sd_jwt_vc::verify(&t, &policy_for(&issuer), &nr)).unwrap();
}

#[test]
fn untrusted_issuer_and_unknown_kid_are_rejected() {
    let (issuer, other) = (signer(Algorithm::Es256, 45), signer(Algorithm::Es256, 46));
    let p = AlgorithmPolicy::default();
    let nr = verify_opts(&p, KeyBindingRequirement::NotRequired);
    let kid = issuer.public_jwk().kid.clone();
    // An issuer not on the trusted list, even though its key would verify.
    let t = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": kid}),
        json!({"iss": "https://evil.example", "vct": VCT}),
        issuer.key(),
    ) + "~";
    let r = block_on(sd_jwt_vc::verify(&t, &policy_for(&issuer), &nr));
    assert!(matches!(r, Err(Error::UntrustedKey(_))));
    // The trusted iss, but signed by another key with a kid the policy does not know.
    let t = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": other.public_jwk().kid}),
        json!({"iss": ISSUER, "vct": VCT}),
        other.key(),
    ) + "~";
    assert_eq!(
        block_on(sd_jwt_vc::verify(&t, &policy_for(&issuer), &nr))
            .unwrap_err()
            .kind(),
        ErrorKind::Trust
    );
    // The trusted iss and kid, but signed by another key: the embedded jwk is never used.
    let t = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": kid, "jwk": jwk_value(&other)}),
        json!({"iss": ISSUER, "vct": VCT}),
        other.key(),
    ) + "~";
    assert!(matches!(
        block_on(sd_jwt_vc::verify(&t, &policy_for(&issuer), &nr)),
        Err(Error::InvalidSignature)
    ));
    // No trusted issuers at all.
    let r = block_on(sd_jwt_vc::verify(&t, &IssuerTrustPolicy::new(vec![]), &nr));
    assert!(matches!(r, Err(Error::UntrustedKey(_))));
}

#[test]
fn missing_vct_is_rejected() {
    let issuer = signer(Algorithm::Es256, 47);
    let t = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": issuer.public_jwk().kid}),
        json!({"iss": ISSUER}),
        issuer.key(),
    ) + "~";
    let p = AlgorithmPolicy::default();
    let r = block_on(sd_jwt_vc::verify(
        &t,
        &policy_for(&issuer),
        &verify_opts(&p, KeyBindingRequirement::NotRequired),
    ));
    assert!(matches!(r, Err(Error::Claim(_))));
}
