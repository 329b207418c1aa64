//! Every "MUST reject" of RFC 9901 §7 and RFC 8725 that applies to SD-JWTs, as negative
//! vectors built with our own keys (vectors from the RFC itself live in `rfc_examples`).

use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, Signer};
use vdc_core::sd_jwt::{self, Frame, KeyBindingInput, KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::time::UnixTime;
use vdc_core::{Error, ErrorKind};

use crate::support::*;

const AUD: &str = "x509_san_dns:verifier.example";
const NONCE: &str = "n-0S6_WzA2Mj";

fn policy() -> AlgorithmPolicy {
    AlgorithmPolicy::default()
}

fn opts<'a>(policy: &'a AlgorithmPolicy, kb: KeyBindingRequirement<'a>) -> VerifyOptions<'a> {
    VerifyOptions {
        policy,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: kb,
    }
}

fn required() -> KeyBindingRequirement<'static> {
    KeyBindingRequirement::Required {
        aud: AUD,
        nonce: NONCE,
        max_age_secs: 300,
    }
}

/// Verifies `text` against `issuer`'s key with key binding per `kb`.
fn verify(
    text: &str,
    issuer: &vdc_core::jose::LocalSigner,
    kb: KeyBindingRequirement<'_>,
) -> Result<sd_jwt::VerifiedSdJwt, Error> {
    let p = policy();
    let sd = SdJwt::parse(text)?;
    let jws = sd.issuer_jws()?;
    sd.verify(&jws, &issuer.public_jwk().key, &opts(&p, kb))
}

/// A disclosure and its digest from a JSON array.
fn disclosure(array: Value) -> (String, String) {
    let enc = base64url::encode(array.to_string());
    let digest = sd_jwt::sha256_b64(&enc);
    (enc, digest)
}

/// An SD-JWT over a hand-built payload, signed with `issuer`'s key.
fn hand_built(
    payload: Value,
    disclosures: &[&str],
    issuer: &vdc_core::jose::LocalSigner,
) -> String {
    let jwt = sign_raw(
        json!({"alg": "ES256", "typ": "dc+sd-jwt"}),
        payload,
        issuer.key(),
    );
    let mut s = jwt + "~";
    for d in disclosures {
        s.push_str(d);
        s.push('~');
    }
    s
}

fn kb_presentation(
    issued: &str,
    holder: &vdc_core::jose::LocalSigner,
    paths: &[ClaimPath],
    aud: &str,
    nonce: &str,
    iat: i64,
) -> String {
    let sd = SdJwt::parse(issued).unwrap();
    let chosen = sd_jwt::select_disclosures(&sd, paths).unwrap();
    block_on(sd_jwt::present(
        &sd,
        chosen,
        Some(KeyBindingInput {
            signer: holder,
            aud,
            nonce,
            iat: UnixTime(iat),
        }),
    ))
    .unwrap()
}

fn issued_with_cnf(
    issuer: &vdc_core::jose::LocalSigner,
    holder: &vdc_core::jose::LocalSigner,
) -> String {
    let mut payload = person_claims();
    payload.insert("iss".into(), ISSUER.into());
    payload.insert("cnf".into(), json!({"jwk": jwk_value(holder)}));
    issue_raw(payload, &person_frame(), issuer).compact
}

#[test]
fn issue_present_verify_discloses_exactly_the_selection() {
    let (issuer, holder) = (signer(Algorithm::Es256, 1), signer(Algorithm::Es256, 2));
    let issued = issued_with_cnf(&issuer, &holder);
    let paths = [
        ClaimPath::names(&["given_name"]).unwrap(),
        ClaimPath::names(&["address", "locality"]).unwrap(),
    ];
    let pres = kb_presentation(&issued, &holder, &paths, AUD, NONCE, NOW);
    let v = verify(&pres, &issuer, required()).unwrap();
    assert_eq!(v.claims["given_name"], "Ada");
    // The parent disclosure `address` is included; its non-SD member `country` comes with it.
    assert_eq!(
        v.claims["address"],
        json!({"locality": "London", "country": "GB"})
    );
    for hidden in ["family_name", "email", "employee_id", "nationalities"] {
        assert!(!v.claims.contains_key(hidden), "{hidden} leaked");
    }
    assert!(
        !v.claims.contains_key("employer"),
        "an undisclosed parent hides its children"
    );
    assert!(v.key_binding.is_some());
    assert_eq!(v.disclosed.len(), 3);
}

#[test]
fn array_elements_are_disclosed_individually_and_undisclosed_ones_removed() {
    let (issuer, holder) = (signer(Algorithm::Es256, 1), signer(Algorithm::Es256, 2));
    let issued = issued_with_cnf(&issuer, &holder);
    let paths = [ClaimPath::from_value(&json!(["nationalities", 1])).unwrap()];
    let sd = SdJwt::parse(&issued).unwrap();
    let all = sd_jwt::select_disclosures(&sd, &paths).unwrap();
    // The array itself (an ancestor, made disclosable by the frame) and element 1.
    assert_eq!(all.len(), 2);
    let pres = block_on(sd_jwt::present(&sd, all, None)).unwrap();
    let v = verify(&pres, &issuer, KeyBindingRequirement::NotRequired).unwrap();
    assert_eq!(v.claims["nationalities"], json!(["IT"]));
}

#[test]
fn decoy_digests_are_ignored() {
    let issuer = signer(Algorithm::EdDsa, 3);
    let frame = Frame::new().sd("a").sd("b").decoys(5);
    let issued = issue_raw(obj(json!({"a": 1, "b": 2, "c": 3})), &frame, &issuer);
    let jws = SdJwt::parse(&issued.compact).unwrap();
    let payload = jws.issuer_jws().unwrap().payload;
    assert_eq!(payload["_sd"].as_array().unwrap().len(), 7);
    let v = verify(&issued.compact, &issuer, KeyBindingRequirement::NotRequired).unwrap();
    assert_eq!(v.claims, obj(json!({"a": 1, "b": 2, "c": 3})));
}

#[test]
fn salts_are_at_least_128_bits_and_digests_sorted() {
    let issuer = signer(Algorithm::Es256, 4);
    let issued = issue_raw(person_claims(), &person_frame(), &issuer);
    for d in &issued.disclosures {
        assert!(base64url::decode(&d.salt).unwrap().len() >= 16);
    }
    let payload = SdJwt::parse(&issued.compact)
        .unwrap()
        .issuer_jws()
        .unwrap()
        .payload;
    let sd: Vec<&str> = payload["_sd"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let mut sorted = sd.clone();
    sorted.sort();
    assert_eq!(sd, sorted, "digest order must not reveal claim order");
    assert_eq!(payload["_sd_alg"], "sha-256");
}

#[test]
fn alg_none_is_rejected() {
    let t = forge(
        json!({"alg": "none", "typ": "dc+sd-jwt"}),
        json!({"iss": ISSUER}),
        b"",
    ) + "~";
    let sd = SdJwt::parse(&t).unwrap();
    assert!(matches!(
        sd.issuer_jws(),
        Err(Error::AlgorithmNotAllowed(_))
    ));
}

#[test]
fn hs256_with_the_public_key_as_secret_is_rejected() {
    let issuer = signer(Algorithm::Es256, 5);
    let secret = jwk_value(&issuer).to_string();
    let header = base64url::encode(json!({"alg": "HS256", "typ": "dc+sd-jwt"}).to_string());
    let payload = base64url::encode(json!({"iss": ISSUER, "vct": "x"}).to_string());
    let input = format!("{header}.{payload}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, input.as_bytes());
    let token = format!("{input}.{}~", base64url::encode(tag.as_ref()));
    let err = verify(&token, &issuer, KeyBindingRequirement::NotRequired).unwrap_err();
    assert!(matches!(err, Error::AlgorithmNotAllowed(_)), "{err}");
}

#[test]
fn algorithm_and_key_mismatch_is_rejected() {
    let p256 = signer(Algorithm::Es256, 6);
    let ed = signer(Algorithm::EdDsa, 7);
    // Header says EdDSA, signed by an Ed25519 key, but the trusted key is P-256.
    let t = sign_raw(json!({"alg": "EdDSA"}), json!({"iss": ISSUER}), ed.key()) + "~";
    assert!(matches!(
        verify(&t, &p256, KeyBindingRequirement::NotRequired),
        Err(Error::AlgorithmKeyMismatch { .. })
    ));
    // Header says ES256 but the trusted key is Ed25519.
    let t = sign_raw(json!({"alg": "ES256"}), json!({"iss": ISSUER}), ed.key()) + "~";
    assert!(matches!(
        verify(&t, &ed, KeyBindingRequirement::NotRequired),
        Err(Error::AlgorithmKeyMismatch { .. })
    ));
}

#[test]
fn algorithm_outside_the_allow_list_is_rejected() {
    let ed = signer(Algorithm::EdDsa, 7);
    let t = sign_raw(json!({"alg": "EdDSA"}), json!({"iss": ISSUER}), ed.key()) + "~";
    let es_only = AlgorithmPolicy::only(&[Algorithm::Es256]);
    let sd = SdJwt::parse(&t).unwrap();
    let jws = sd.issuer_jws().unwrap();
    let r = sd.verify(
        &jws,
        &ed.public_jwk().key,
        &opts(&es_only, KeyBindingRequirement::NotRequired),
    );
    assert!(matches!(r, Err(Error::AlgorithmNotAllowed(_))));
}

#[test]
fn ecdsa_signature_with_r_and_s_zero_is_rejected() {
    let issuer = signer(Algorithm::Es256, 8);
    let t = forge(json!({"alg": "ES256"}), json!({"iss": ISSUER}), &[0u8; 64]) + "~";
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::InvalidSignature)
    ));
}

#[test]
fn der_encoded_es256_signature_is_rejected() {
    let issuer = signer(Algorithm::Es256, 9);
    let good = sign_raw(
        json!({"alg": "ES256"}),
        json!({"iss": ISSUER}),
        issuer.key(),
    );
    let (input, sig) = good.rsplit_once('.').unwrap();
    let raw = base64url::decode(sig).unwrap();
    let der_int = |b: &[u8]| {
        let mut v = b.to_vec();
        while v.len() > 1 && v[0] == 0 && v[1] < 0x80 {
            v.remove(0);
        }
        if v[0] >= 0x80 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = (der_int(&raw[..32]), der_int(&raw[32..]));
    let mut der = vec![0x30, (r.len() + s.len()) as u8];
    der.extend(r);
    der.extend(s);
    let t = format!("{input}.{}~", base64url::encode(der));
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::InvalidSignature)
    ));
    verify(&(good + "~"), &issuer, KeyBindingRequirement::NotRequired).unwrap();
}

#[test]
fn tampered_disclosure_is_rejected() {
    let issuer = signer(Algorithm::Es256, 10);
    let issued = issue_raw(person_claims(), &person_frame(), &issuer);
    let given = issued
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("given_name"))
        .unwrap();
    let forged = base64url::encode(json!([given.salt, "given_name", "Eve"]).to_string());
    let tampered = issued.compact.replace(&given.encoded, &forged);
    let err = verify(&tampered, &issuer, KeyBindingRequirement::NotRequired).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SdJwt, "{err}");
}

#[test]
fn unreferenced_disclosure_is_rejected() {
    let issuer = signer(Algorithm::Es256, 11);
    let issued = issue_raw(person_claims(), &person_frame(), &issuer);
    let (extra, _) = disclosure(json!(["c2FsdHNhbHRzYWx0", "admin", true]));
    let t = format!("{}{extra}~", issued.compact);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
}

#[test]
fn the_same_disclosure_twice_is_rejected() {
    let issuer = signer(Algorithm::Es256, 12);
    let issued = issue_raw(person_claims(), &person_frame(), &issuer);
    let t = format!("{}{}~", issued.compact, issued.disclosures[0].encoded);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
}

#[test]
fn duplicate_digests_are_rejected() {
    let issuer = signer(Algorithm::Es256, 13);
    let (d, digest) = disclosure(json!(["c2FsdA", "name", "x"]));
    // Same digest twice in one _sd array.
    let t = hand_built(json!({"_sd": [digest, digest]}), &[&d], &issuer);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
    // Same digest at two levels.
    let t = hand_built(
        json!({"_sd": [digest], "o": {"_sd": [digest]}}),
        &[&d],
        &issuer,
    );
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
    // A decoy (no disclosure) digest repeated is rejected too: step 4 counts every digest.
    let t = hand_built(json!({"_sd": ["decoy", "decoy"]}), &[], &issuer);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
    // Array digests.
    let (e, edigest) = disclosure(json!(["c2FsdA", "x"]));
    let t = hand_built(
        json!({"a": [{"...": edigest}, {"...": edigest}]}),
        &[&e],
        &issuer,
    );
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
}

#[test]
fn sd_misuse_is_rejected() {
    let issuer = signer(Algorithm::Es256, 14);
    let nv = KeyBindingRequirement::NotRequired;
    // A disclosure that names `_sd` or `...`.
    for name in ["_sd", "..."] {
        let (d, digest) = disclosure(json!(["c2FsdA", name, ["x"]]));
        let t = hand_built(json!({"_sd": [digest]}), &[&d], &issuer);
        assert!(
            matches!(verify(&t, &issuer, nv), Err(Error::SdJwt(_))),
            "{name}"
        );
    }
    // `_sd` that is not an array of strings.
    for bad in [json!("abc"), json!([1]), json!({"a": 1}), json!([["x"]])] {
        let t = hand_built(json!({"_sd": bad}), &[], &issuer);
        assert!(
            matches!(verify(&t, &issuer, nv), Err(Error::SdJwt(_))),
            "{bad}"
        );
    }
    // Issuing a claim named _sd is refused.
    let err = vdc_core::rng::SeededRandom::new(1);
    let r = block_on(sd_jwt::issue(
        obj(json!({"_sd": 1})),
        &Frame::new(),
        Default::default(),
        &issuer,
        &err,
    ));
    assert!(r.is_err());
}

#[test]
fn disclosure_for_a_claim_already_present_is_rejected() {
    let issuer = signer(Algorithm::Es256, 15);
    let (d, digest) = disclosure(json!(["c2FsdA", "given_name", "Eve"]));
    let t = hand_built(
        json!({"given_name": "Ada", "_sd": [digest]}),
        &[&d],
        &issuer,
    );
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
}

#[test]
fn disclosure_kind_must_match_its_position() {
    let issuer = signer(Algorithm::Es256, 16);
    let nv = KeyBindingRequirement::NotRequired;
    let (element, edigest) = disclosure(json!(["c2FsdA", "x"]));
    let t = hand_built(json!({"_sd": [edigest]}), &[&element], &issuer);
    assert!(matches!(verify(&t, &issuer, nv), Err(Error::SdJwt(_))));
    let (prop, pdigest) = disclosure(json!(["c2FsdA", "n", "x"]));
    let t = hand_built(json!({"a": [{"...": pdigest}]}), &[&prop], &issuer);
    assert!(matches!(verify(&t, &issuer, nv), Err(Error::SdJwt(_))));
}

#[test]
fn unsupported_sd_alg_is_rejected() {
    let issuer = signer(Algorithm::Es256, 17);
    let t = hand_built(json!({"_sd_alg": "sha-1", "a": 1}), &[], &issuer);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
}

#[test]
fn expired_and_not_yet_valid_credentials_are_rejected() {
    let issuer = signer(Algorithm::Es256, 18);
    let t = hand_built(json!({"exp": NOW - 3600}), &[], &issuer);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::Time(_))
    ));
    let t = hand_built(json!({"nbf": NOW + 3600}), &[], &issuer);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::Time(_))
    ));
}

#[test]
fn key_binding_with_wrong_aud_nonce_or_stale_iat_is_rejected() {
    let (issuer, holder) = (signer(Algorithm::Es256, 19), signer(Algorithm::Es256, 20));
    let issued = issued_with_cnf(&issuer, &holder);
    let paths = [ClaimPath::names(&["given_name"]).unwrap()];
    for (aud, nonce, iat, what) in [
        ("x509_san_dns:evil.example", NONCE, NOW, "aud"),
        (AUD, "other-nonce", NOW, "nonce"),
        (AUD, NONCE, NOW - 3600, "stale iat"),
        (AUD, NONCE, NOW + 3600, "future iat"),
    ] {
        let pres = kb_presentation(&issued, &holder, &paths, aud, nonce, iat);
        let err = verify(&pres, &issuer, required()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyBinding, "{what}: {err}");
    }
    let ok = kb_presentation(&issued, &holder, &paths, AUD, NONCE, NOW - 10);
    verify(&ok, &issuer, required()).unwrap();
}

#[test]
fn key_binding_sd_hash_must_cover_exactly_the_sent_disclosures() {
    let (issuer, holder) = (signer(Algorithm::Es256, 21), signer(Algorithm::Es256, 22));
    let issued = issued_with_cnf(&issuer, &holder);
    let pres = kb_presentation(
        &issued,
        &holder,
        &[ClaimPath::names(&["given_name"]).unwrap()],
        AUD,
        NONCE,
        NOW,
    );
    // An attacker adds another disclosure (a valid one, from the issued SD-JWT) in front of
    // the KB-JWT: sd_hash no longer matches.
    let sd = SdJwt::parse(&issued).unwrap();
    let extra = sd
        .disclosures()
        .iter()
        .find(|d| sd_jwt::Disclosure::parse(d).unwrap().name.as_deref() == Some("family_name"))
        .unwrap();
    let (prefix, kb) = pres.rsplit_once('~').unwrap();
    let widened = format!("{prefix}~{extra}~{kb}");
    let err = verify(&widened, &issuer, required()).unwrap_err();
    assert!(
        matches!(err, Error::KeyBinding(ref m) if m.contains("sd_hash")),
        "{err}"
    );
}

#[test]
fn key_binding_signed_by_another_key_or_with_wrong_typ_is_rejected() {
    let (issuer, holder, thief) = (
        signer(Algorithm::Es256, 23),
        signer(Algorithm::Es256, 24),
        signer(Algorithm::Es256, 25),
    );
    let issued = issued_with_cnf(&issuer, &holder);
    let paths = [ClaimPath::names(&["given_name"]).unwrap()];
    let stolen = kb_presentation(&issued, &thief, &paths, AUD, NONCE, NOW);
    assert_eq!(
        verify(&stolen, &issuer, required()).unwrap_err().kind(),
        ErrorKind::KeyBinding
    );

    let pres = kb_presentation(&issued, &holder, &paths, AUD, NONCE, NOW);
    let (prefix, kb) = pres.rsplit_once('~').unwrap();
    let kb_payload = SdJwt::parse(&pres).unwrap();
    let claims = vdc_core::jose::jws::decode(kb_payload.kb_jwt().unwrap())
        .unwrap()
        .payload;
    assert!(kb.len() > 10);
    for header in [
        json!({"alg": "ES256", "typ": "JWT"}),
        json!({"alg": "ES256"}),
    ] {
        let bad_kb = sign_raw(
            header,
            serde_json::Value::Object(claims.clone()),
            holder.key(),
        );
        let t = format!("{prefix}~{bad_kb}");
        assert_eq!(
            verify(&t, &issuer, required()).unwrap_err().kind(),
            ErrorKind::KeyBinding
        );
    }
    let none_kb = forge(
        json!({"alg": "none", "typ": "kb+jwt"}),
        serde_json::Value::Object(claims),
        b"",
    );
    assert_eq!(
        verify(&format!("{prefix}~{none_kb}"), &issuer, required())
            .unwrap_err()
            .kind(),
        ErrorKind::KeyBinding
    );
}

#[test]
fn key_binding_requirement_comes_from_policy_not_from_the_holder() {
    let (issuer, holder) = (signer(Algorithm::Es256, 26), signer(Algorithm::Es256, 27));
    let issued = issued_with_cnf(&issuer, &holder);
    let sd = SdJwt::parse(&issued).unwrap();
    let chosen =
        sd_jwt::select_disclosures(&sd, &[ClaimPath::names(&["given_name"]).unwrap()]).unwrap();
    let without_kb = block_on(sd_jwt::present(&sd, chosen, None)).unwrap();
    let err = verify(&without_kb, &issuer, required()).unwrap_err();
    assert!(matches!(err, Error::KeyBinding(_)), "{err}");
    // A credential without cnf cannot satisfy a key binding requirement either.
    let no_cnf = issue_raw(person_claims(), &person_frame(), &issuer);
    assert_eq!(
        verify(&no_cnf.compact, &issuer, required())
            .unwrap_err()
            .kind(),
        ErrorKind::KeyBinding
    );
    verify(&without_kb, &issuer, KeyBindingRequirement::NotRequired).unwrap();
}

#[test]
fn holder_refuses_to_present_an_sd_jwt_that_already_has_a_kb_jwt() {
    let (issuer, holder) = (signer(Algorithm::Es256, 28), signer(Algorithm::Es256, 29));
    let issued = issued_with_cnf(&issuer, &holder);
    let pres = kb_presentation(&issued, &holder, &[], AUD, NONCE, NOW);
    let sd = SdJwt::parse(&pres).unwrap();
    assert!(block_on(sd_jwt::present(&sd, vec![], None)).is_err());
}

#[test]
fn recursive_disclosures_reveal_children_only_with_their_parent() {
    let issuer = signer(Algorithm::Es256, 30);
    let issued = issue_raw(person_claims(), &person_frame(), &issuer);
    let sd = SdJwt::parse(&issued.compact).unwrap();
    // Send the child disclosure without its parent: it is unreferenced.
    let street = issued
        .disclosures
        .iter()
        .find(|d| d.name.as_deref() == Some("street_address"))
        .unwrap();
    let t = format!("{}~{}~", sd.issuer_jwt(), street.encoded);
    assert!(matches!(
        verify(&t, &issuer, KeyBindingRequirement::NotRequired),
        Err(Error::SdJwt(_))
    ));
    // Selecting the child brings the parent.
    let chosen = sd_jwt::select_disclosures(
        &sd,
        &[ClaimPath::names(&["address", "street_address"]).unwrap()],
    )
    .unwrap();
    assert_eq!(chosen.len(), 2);
    let v = verify(
        &block_on(sd_jwt::present(&sd, chosen, None)).unwrap(),
        &issuer,
        KeyBindingRequirement::NotRequired,
    )
    .unwrap();
    assert_eq!(
        v.claims["address"],
        json!({"street_address": "12 St James's Square", "country": "GB"})
    );
}

#[test]
fn malformed_inputs_fail_with_errors_not_panics() {
    let issuer = signer(Algorithm::Es256, 31);
    let valid = issue_raw(person_claims(), &person_frame(), &issuer).compact;
    let mut cases = vec![
        String::new(),
        "~".into(),
        "~~~".into(),
        "a~".into(),
        "a.b~".into(),
        "a.b.c.d~".into(),
        "eyJ.eyJ.sig~".into(),
        format!("{valid}garbage"),
        valid.replace('~', "~~"),
        "x".repeat(2 * 1024 * 1024),
    ];
    // Every truncation of a valid SD-JWT.
    for cut in (0..valid.len()).step_by(37) {
        cases.push(valid[..cut].to_owned());
    }
    for case in cases {
        let _ = verify(&case, &issuer, required());
    }
}
