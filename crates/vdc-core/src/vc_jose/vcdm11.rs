//! W3C Verifiable Credentials Data Model **1.1** in its JWT encoding (VCDM 1.1 §6.3.1):
//! the credential sits in a `vc` claim, the presentation in a `vp` claim whose
//! `verifiableCredential` holds VC JWT strings, and registered JWT claims stand for some
//! data-model properties. OpenID4VP 1.0 Appendix B.1 (`jwt_vc_json`) references VCDM 1.1
//! and its examples use this encoding, so wallets send it.
//!
//! Spec: VCDM 1.1 §6.3.1.1 (JWT encoding): `exp` ↔ `expirationDate`, `iss` ↔ `issuer`,
//! `nbf` ↔ `issuanceDate`, `jti` ↔ `id`, `sub` ↔ `credentialSubject.id`, used "instead of
//! or in addition to" the properties. We issue both (readers of either find them) and, on
//! verification, fold the JWT claims back into the credential (§6.3.1.2, JWT decoding);
//! where both are present they must agree (a conflict is an error, not a guess).
//!
//! Times: `issuanceDate`/`expirationDate` are XML Schema dateTimes (§4.6, §4.7); we accept
//! them with a time zone only (`dateTimeStamp`, as VCDM 2.0): without one the instant is
//! ambiguous. Both the JWT claims and the properties are checked; the stricter wins.

use serde_json::{Map, Value, json};

use super::VerifiedVc;
use super::data_model::{
    self, BITSTRING_STATUS_LIST_ENTRY, VERIFIABLE_CREDENTIAL, VERIFIABLE_PRESENTATION,
};
use super::datetime::{format_date_time_stamp, parse_date_time_stamp};
use super::presentation::{VerifiedVp, check_vp_binding};
use crate::error::{Error, Result};
use crate::jose::alg::AlgorithmPolicy;
use crate::jose::jwk::PublicKey;
use crate::jose::jws::{self, TimeRules};
use crate::jose::signer::Signer;
use crate::time::UnixTime;

/// The base context of VCDM 1.1 (§4.1).
pub const CREDENTIALS_V1_CONTEXT: &str = "https://www.w3.org/2018/credentials/v1";
/// The `typ` VCDM 1.1 §6.3.1 allows ("if present, MUST be set to JWT").
pub const JWT_TYP: &str = "JWT";
/// Most credentials a presentation may carry: every one is verified, so the count is
/// bounded like any other input.
pub const MAX_CREDENTIALS_PER_VP: usize = 16;

fn err(msg: impl Into<String>) -> Error {
    Error::VcDataModel(msg.into())
}

/// Whether a JWT payload uses the VCDM 1.1 encoding (a `vc` or `vp` claim).
pub fn is_vcdm11(payload: &Map<String, Value>) -> bool {
    payload.contains_key("vc") || payload.contains_key("vp")
}

/// Checks a (decoded) credential against the VCDM 1.1 rules a processor can check without
/// JSON-LD: the base context, `id`, `type`, `credentialSubject`, `issuer`, `issuanceDate`
/// (required), `expirationDate`, `credentialStatus` (`id` and `type`), and the typed
/// extension points.
pub fn check_data_model_v11(credential: &Map<String, Value>) -> Result<()> {
    data_model::check_context(credential, CREDENTIALS_V1_CONTEXT)?;
    // Spec: VCDM 1.1 §4.2 (Identifiers): `id` MUST be a single URI.
    data_model::check_id(credential, "credential")?;
    // Spec: VCDM 1.1 §4.3 (Types): one of the types MUST be VerifiableCredential.
    data_model::check_type(credential, VERIFIABLE_CREDENTIAL, "credential")?;
    // Spec: VCDM 1.1 §4.5 (Issuer): a URI or an object with an `id` URI.
    match credential.get("issuer") {
        Some(Value::String(s)) if data_model::is_url(s) => {}
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) if data_model::is_url(s) => {}
            _ => return Err(err("issuer.id must be a URI")),
        },
        Some(_) => return Err(err("issuer must be a URI or an object with an id")),
        None => return Err(err("issuer is required")),
    }
    // Spec: VCDM 1.1 §4.4 (Credential Subject): required, objects with one or more claims.
    let subjects = data_model::one_or_many(credential, "credentialSubject")?
        .ok_or_else(|| err("credentialSubject is required"))?;
    for subject in subjects {
        let subject = subject
            .as_object()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("credentialSubject entries must be non-empty objects"))?;
        data_model::check_id(subject, "credentialSubject")?;
    }
    // Spec: VCDM 1.1 §4.6 (Issuance Date): "A credential MUST have an issuanceDate".
    let (issued, expires) = validity_v11(credential)?;
    if issued.is_none() {
        return Err(err("issuanceDate is required"));
    }
    if let (Some(from), Some(until)) = (issued, expires)
        && from > until
    {
        return Err(err("expirationDate is before issuanceDate"));
    }
    // Spec: VCDM 1.1 §4.9 (Status): each entry MUST have `id` and `type`.
    if let Some(entries) = data_model::one_or_many(credential, "credentialStatus")? {
        for entry in entries {
            let entry = data_model::typed_object(entry, "credentialStatus")?;
            if !entry.get("id").is_some_and(Value::is_string) {
                return Err(err("credentialStatus entries need an id (VCDM 1.1 §4.9)"));
            }
            if data_model::type_contains(entry, BITSTRING_STATUS_LIST_ENTRY) {
                data_model::check_bitstring_status_list_entry(entry)?;
            }
        }
    }
    // Spec: VCDM 1.1 §5.4 (credentialSchema: id and type), §5.6, §5.7, §5.8.
    for name in [
        "credentialSchema",
        "refreshService",
        "termsOfUse",
        "evidence",
    ] {
        if let Some(entries) = data_model::one_or_many(credential, name)? {
            for entry in entries {
                data_model::typed_object(entry, name)?;
            }
        }
    }
    Ok(())
}

/// `issuanceDate` and `expirationDate`, parsed when present.
fn validity_v11(credential: &Map<String, Value>) -> Result<(Option<UnixTime>, Option<UnixTime>)> {
    let read = |name: &str| -> Result<Option<UnixTime>> {
        match credential.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse_date_time_stamp(s)
                .map(Some)
                .map_err(|_| err(format!("{name} must be a dateTime with a time zone"))),
            Some(_) => Err(err(format!("{name} must be a string"))),
        }
    };
    Ok((read("issuanceDate")?, read("expirationDate")?))
}

/// Signs a VCDM 1.1 `credential` as a JWT (VCDM 1.1 §6.3.1): header `typ: JWT`; payload
/// `vc` (the credential) plus `iss`, `nbf`, `exp`, `jti`, `sub` from the properties they
/// stand for, and `extra` claims (e.g. `iat`).
pub async fn issue_vc_jwt_v11(
    credential: &Map<String, Value>,
    extra: &Map<String, Value>,
    signer: &dyn Signer,
) -> Result<String> {
    check_data_model_v11(credential)?;
    let mut payload = extra.clone();
    for name in ["vc", "vp", "iss", "nbf", "exp", "jti", "sub"] {
        if payload.contains_key(name) {
            return Err(Error::malformed(format!(
                "{name} is derived from the credential"
            )));
        }
    }
    let issuer = super::issuer_id(credential).ok_or_else(|| err("issuer is required"))?;
    payload.insert("iss".into(), issuer.into());
    let (issued, expires) = validity_v11(credential)?;
    if let Some(t) = issued {
        payload.insert("nbf".into(), t.secs().into());
    }
    if let Some(t) = expires {
        payload.insert("exp".into(), t.secs().into());
    }
    if let Some(id) = credential.get("id") {
        payload.insert("jti".into(), id.clone());
    }
    if let Some(sub) = credential
        .get("credentialSubject")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
    {
        payload.insert("sub".into(), sub.into());
    }
    payload.insert("vc".into(), Value::Object(credential.clone()));
    let mut header = Map::new();
    header.insert("typ".into(), JWT_TYP.into());
    if let Some(chain) = signer.x5c() {
        header.insert("x5c".into(), super::x5c_value(chain));
    }
    jws::sign(header, &payload, signer).await
}

/// Spec: VCDM 1.1 §6.3.1: `typ`, if present, MUST be `JWT`.
fn expect_jwt_typ(header: &Map<String, Value>) -> Result<()> {
    match header.get("typ") {
        None => Ok(()),
        Some(Value::String(t)) if jws::typ_matches(t, JWT_TYP) => Ok(()),
        Some(_) => Err(Error::UnexpectedType {
            expected: JWT_TYP.into(),
            found: "another typ".into(),
        }),
    }
}

/// Verifies a VCDM 1.1 VC JWT with `key`; the credential is returned decoded (the JWT
/// claims folded into it, §6.3.1.2) and data-model checked.
///
/// Order: structure, `typ`, the signature (only then is the payload read), a `vc` object
/// and no `vp`, decoding, the 1.1 data model, JWT `exp`/`nbf`/`iat`, and
/// `issuanceDate <= now + skew < expirationDate + 2·skew`.
pub fn verify_vc_jwt_v11(
    token: &str,
    key: &PublicKey,
    policy: &AlgorithmPolicy,
    now: UnixTime,
    skew: i64,
) -> Result<VerifiedVc> {
    let jws = jws::decode(token)?;
    expect_jwt_typ(&jws.header)?;
    jws.verify(key, policy)?;
    let credential = decode_credential(&jws.payload)?;
    check_data_model_v11(&credential)?;
    jws::check_times(
        &jws.payload,
        now,
        TimeRules {
            skew,
            ..TimeRules::default()
        },
    )?;
    let (issued, expires) = validity_v11(&credential)?;
    if let Some(from) = issued
        && from > now.plus(skew)
    {
        return Err(Error::Time(
            "credential not yet valid (issuanceDate)".into(),
        ));
    }
    if let Some(until) = expires
        && until <= now.plus(skew.saturating_neg())
    {
        return Err(Error::Time("credential expired (expirationDate)".into()));
    }
    Ok(VerifiedVc {
        header: jws.header,
        credential,
    })
}

/// Spec: VCDM 1.1 §6.3.1.2 (JWT decoding): the `vc` object with `iss`, `nbf`, `exp`,
/// `jti`, `sub` set as `issuer`, `issuanceDate`, `expirationDate`, `id` and
/// `credentialSubject.id`. A property that is present must agree with its claim.
pub fn decode_credential(payload: &Map<String, Value>) -> Result<Map<String, Value>> {
    if payload.contains_key("vp") {
        return Err(err("a credential JWT must not carry a vp claim"));
    }
    let mut vc = match payload.get("vc") {
        Some(Value::Object(vc)) => vc.clone(),
        Some(_) => return Err(err("vc must be an object")),
        None => return Err(err("a VCDM 1.1 JWT carries the credential in vc")),
    };
    if let Some(iss) = payload.get("iss") {
        let iss = iss
            .as_str()
            .ok_or_else(|| Error::Claim("iss must be a string".into()))?;
        match super::issuer_id(&vc) {
            None if !vc.contains_key("issuer") => {
                vc.insert("issuer".into(), iss.into());
            }
            Some(i) if i == iss => {}
            _ => return Err(Error::Claim("iss does not match vc.issuer".into())),
        }
    }
    for (claim, property) in [("nbf", "issuanceDate"), ("exp", "expirationDate")] {
        let Some(secs) = jws::numeric_date(payload, claim)? else {
            continue;
        };
        let instant = UnixTime(secs);
        match vc.get(property) {
            None => {
                vc.insert(property.into(), format_date_time_stamp(instant).into());
            }
            Some(Value::String(s)) if parse_date_time_stamp(s).ok() == Some(instant) => {}
            // Sub-second precision is lost in NumericDate: the same second agrees too.
            Some(Value::String(s))
                if parse_date_time_stamp(s).is_ok_and(|t| t.secs() == instant.secs()) => {}
            Some(_) => {
                return Err(Error::Claim(format!(
                    "{claim} does not match vc.{property}"
                )));
            }
        }
    }
    if let Some(jti) = payload.get("jti") {
        match vc.get("id") {
            None => {
                vc.insert("id".into(), jti.clone());
            }
            Some(id) if id == jti => {}
            Some(_) => return Err(Error::Claim("jti does not match vc.id".into())),
        }
    }
    if let Some(sub) = payload.get("sub") {
        let sub = sub
            .as_str()
            .ok_or_else(|| Error::Claim("sub must be a string".into()))?;
        match vc.get_mut("credentialSubject") {
            Some(Value::Object(subject)) => match subject.get("id") {
                None => {
                    subject.insert("id".into(), sub.into());
                }
                Some(id) if id.as_str() == Some(sub) => {}
                Some(_) => {
                    return Err(Error::Claim(
                        "sub does not match credentialSubject.id".into(),
                    ));
                }
            },
            // Several subjects: `sub` names one of them (it cannot be placed otherwise).
            Some(Value::Array(subjects)) => {
                if !subjects
                    .iter()
                    .any(|s| s.get("id").and_then(Value::as_str) == Some(sub))
                {
                    return Err(Error::Claim(
                        "sub does not match any credentialSubject id".into(),
                    ));
                }
            }
            _ => return Err(err("credentialSubject is required")),
        }
    }
    Ok(vc)
}

/// Builds and signs a VCDM 1.1 VP JWT (VCDM 1.1 §6.3.1; OpenID4VP 1.0 Appendix B.1.3.1):
/// `vp` with the VC JWT strings, `aud`, `nonce`, `iat`, and `iss` = the holder when given.
pub async fn present_vp_jwt_v11(
    vc_jwts: &[String],
    holder: &dyn Signer,
    aud: &str,
    nonce: &str,
    iat: UnixTime,
    holder_id: Option<&str>,
) -> Result<String> {
    if vc_jwts.is_empty() || vc_jwts.len() > MAX_CREDENTIALS_PER_VP {
        return Err(Error::malformed(format!(
            "a presentation carries 1 to {MAX_CREDENTIALS_PER_VP} credentials"
        )));
    }
    if aud.is_empty() || nonce.is_empty() {
        return Err(Error::malformed("aud and nonce must not be empty"));
    }
    let mut vp = Map::new();
    vp.insert("@context".into(), json!([CREDENTIALS_V1_CONTEXT]));
    vp.insert("type".into(), json!([VERIFIABLE_PRESENTATION]));
    vp.insert("verifiableCredential".into(), json!(vc_jwts));
    let mut payload = Map::new();
    if let Some(h) = holder_id {
        if !data_model::is_url(h) {
            return Err(err("holder must be a URI"));
        }
        vp.insert("holder".into(), h.into());
        payload.insert("iss".into(), h.into());
    }
    payload.insert("vp".into(), Value::Object(vp));
    payload.insert("aud".into(), aud.into());
    payload.insert("nonce".into(), nonce.into());
    payload.insert("iat".into(), iat.secs().into());
    let mut header = Map::new();
    header.insert("typ".into(), JWT_TYP.into());
    jws::sign(header, &payload, holder).await
}

/// The VC JWT strings of a VCDM 1.1 VP JWT payload, unverified: for choosing the holder
/// key before the VP's signature can be checked.
pub fn vp_credentials(payload: &Map<String, Value>) -> Result<Vec<String>> {
    let vp = payload
        .get("vp")
        .and_then(Value::as_object)
        .ok_or_else(|| err("a VCDM 1.1 presentation JWT carries the presentation in vp"))?;
    let list = match vp.get("verifiableCredential") {
        Some(Value::Array(a)) if !a.is_empty() => a.as_slice(),
        Some(v @ Value::String(_)) => std::slice::from_ref(v),
        _ => return Err(err("the presentation carries no verifiableCredential")),
    };
    if list.len() > MAX_CREDENTIALS_PER_VP {
        return Err(Error::TooLarge(format!(
            "a presentation carries at most {MAX_CREDENTIALS_PER_VP} credentials"
        )));
    }
    list.iter()
        .map(|v| {
            // Spec: VCDM 1.1 §6.3.1: in the JWT encoding the presentation's credentials
            // are VC JWTs; embedded (LD-proof) credentials cannot be verified here.
            v.as_str()
                .filter(|s| s.split('.').count() == 3)
                .map(str::to_owned)
                .ok_or_else(|| err("verifiableCredential entries must be VC JWT strings"))
        })
        .collect()
}

/// Verifies a VCDM 1.1 VP JWT signed by `holder_key` for this verifier and transaction:
/// `typ`, the signature, a `vp` object (1.1 context, `VerifiablePresentation`, VC JWT
/// strings) and no `vc` claim, `aud` is (or contains) `expected_aud`, `nonce` equals
/// `expected_nonce` (OpenID4VP 1.0 Appendix B.1.3.1), `iat` present and no older than
/// `max_age`, `exp`/`nbf` if present; `iss` and `vp.holder`, if both present, agree.
pub fn verify_vp_jwt_v11(
    token: &str,
    holder_key: &PublicKey,
    policy: &AlgorithmPolicy,
    expected_aud: &str,
    expected_nonce: &str,
    now: UnixTime,
    max_age: i64,
) -> Result<VerifiedVp> {
    let jws = jws::decode(token)?;
    expect_jwt_typ(&jws.header)?;
    jws.verify(holder_key, policy)?;
    let payload = &jws.payload;
    if payload.contains_key("vc") {
        return Err(err("a presentation JWT must not carry a vc claim"));
    }
    let vp = payload
        .get("vp")
        .and_then(Value::as_object)
        .ok_or_else(|| err("a VCDM 1.1 presentation JWT carries the presentation in vp"))?;
    // Spec: VCDM 1.1 §4.10 (Presentations): the 1.1 context and VerifiablePresentation.
    data_model::check_context(vp, CREDENTIALS_V1_CONTEXT)?;
    data_model::check_id(vp, "presentation")?;
    data_model::check_type(vp, VERIFIABLE_PRESENTATION, "presentation")?;
    let vc_jwts = vp_credentials(payload)?;
    check_vp_binding(payload, expected_aud, expected_nonce, now, max_age)?;
    let vp_holder = data_model::holder_id(vp);
    let iss = payload.get("iss").map(|v| v.as_str().unwrap_or_default());
    if let (Some(iss), Some(h)) = (iss, vp_holder)
        && iss != h
    {
        return Err(Error::Claim("iss does not match vp.holder".into()));
    }
    let holder = iss.or(vp_holder).map(str::to_owned);
    Ok(VerifiedVp { vc_jwts, holder })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vc_jose::tests::block_on;

    use crate::vc_jose::tests::signer;

    fn policy() -> AlgorithmPolicy {
        AlgorithmPolicy::default()
    }

    const NOW: i64 = 1_780_000_000;

    /// VCDM 1.1 §6.3.1 Example 30 (a credential in the JWT encoding), reduced.
    fn credential() -> Map<String, Value> {
        json!({
          "@context": [CREDENTIALS_V1_CONTEXT, "https://www.w3.org/2018/credentials/examples/v1"],
          "id": "http://example.edu/credentials/3732",
          "type": ["VerifiableCredential", "UniversityDegreeCredential"],
          "issuer": "https://example.edu/issuers/14",
          "issuanceDate": "2026-05-01T00:00:00Z",
          "expirationDate": "2027-05-01T00:00:00Z",
          "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {"type": "BachelorDegree", "name": "Bachelor of Science and Arts"}
          }
        })
        .as_object()
        .unwrap()
        .clone()
    }

    fn now() -> UnixTime {
        UnixTime(NOW)
    }

    #[test]
    fn a_credential_round_trips_with_its_jwt_claims() {
        let s = signer(1);
        let jwt = block_on(issue_vc_jwt_v11(&credential(), &Map::new(), &s)).unwrap();
        let d = jws::decode(&jwt).unwrap();
        assert_eq!(d.header["typ"], "JWT");
        assert_eq!(d.payload["iss"], "https://example.edu/issuers/14");
        assert_eq!(d.payload["sub"], "did:example:ebfeb1f712ebc6f1c276e12ec21");
        assert_eq!(d.payload["jti"], "http://example.edu/credentials/3732");
        assert!(d.payload["nbf"].is_i64() && d.payload["exp"].is_i64());
        let v = verify_vc_jwt_v11(&jwt, &s.public_jwk().key, &policy(), now(), 60).unwrap();
        assert_eq!(v.credential, credential());
    }

    #[test]
    fn decoding_fills_properties_from_claims_and_refuses_conflicts() {
        let mut vc = credential();
        for p in ["issuer", "issuanceDate", "id"] {
            vc.remove(p);
        }
        vc["credentialSubject"]
            .as_object_mut()
            .unwrap()
            .remove("id");
        let payload = json!({"vc": vc, "iss": "https://i.example", "nbf": NOW, "jti": "urn:uuid:1", "sub": "did:example:s"});
        let d = decode_credential(payload.as_object().unwrap()).unwrap();
        assert_eq!(d["issuer"], "https://i.example");
        assert_eq!(d["id"], "urn:uuid:1");
        assert_eq!(d["credentialSubject"]["id"], "did:example:s");
        assert_eq!(
            parse_date_time_stamp(d["issuanceDate"].as_str().unwrap()).unwrap(),
            now()
        );
        check_data_model_v11(&d).unwrap();
        for (claim, value) in [
            ("iss", json!("https://other.example")),
            ("sub", json!("did:example:other")),
            ("jti", json!("urn:uuid:2")),
            ("nbf", json!(NOW + 1)),
        ] {
            let mut p = json!({"vc": credential()});
            p[claim] = value;
            let e = decode_credential(p.as_object().unwrap()).unwrap_err();
            assert!(matches!(e, Error::Claim(_)), "{claim}: {e}");
        }
        let e = decode_credential(json!({"vc": credential(), "vp": {}}).as_object().unwrap());
        assert!(e.is_err());
    }

    #[test]
    fn the_data_model_checks_are_those_of_1_1() {
        check_data_model_v11(&credential()).unwrap();
        let broken: [(&str, Value); 6] = [
            ("@context", json!(["https://www.w3.org/ns/credentials/v2"])),
            ("type", json!(["UniversityDegreeCredential"])),
            ("issuer", json!("not a uri")),
            ("issuanceDate", json!("2026-05-01")),
            ("expirationDate", json!("2026-04-01T00:00:00Z")),
            (
                "credentialStatus",
                json!({"type": "BitstringStatusListEntry"}),
            ),
        ];
        for (name, value) in broken {
            let mut c = credential();
            c.insert(name.into(), value);
            assert!(check_data_model_v11(&c).is_err(), "{name}");
        }
        let mut c = credential();
        c.remove("issuanceDate");
        let e = check_data_model_v11(&c).unwrap_err();
        assert!(e.to_string().contains("issuanceDate is required"), "{e}");
    }

    #[test]
    fn times_and_signatures_are_checked() {
        let s = signer(2);
        let jwt = block_on(issue_vc_jwt_v11(&credential(), &Map::new(), &s)).unwrap();
        let late = parse_date_time_stamp("2027-06-01T00:00:00Z").unwrap();
        assert!(matches!(
            verify_vc_jwt_v11(&jwt, &s.public_jwk().key, &policy(), late, 60),
            Err(Error::Time(_))
        ));
        let early = parse_date_time_stamp("2026-04-01T00:00:00Z").unwrap();
        assert!(matches!(
            verify_vc_jwt_v11(&jwt, &s.public_jwk().key, &policy(), early, 60),
            Err(Error::Time(_))
        ));
        let other = signer(3);
        assert!(verify_vc_jwt_v11(&jwt, &other.public_jwk().key, &policy(), now(), 60).is_err());
        // A VCDM 2.0 vc+jwt is not a 1.1 credential.
        let mut v2 = credential();
        v2.insert(
            "@context".into(),
            json!([super::super::CREDENTIALS_V2_CONTEXT]),
        );
        let header = json!({"typ": "vc+jwt"}).as_object().unwrap().clone();
        let token = block_on(jws::sign(header, &v2, &s)).unwrap();
        assert!(verify_vc_jwt_v11(&token, &s.public_jwk().key, &policy(), now(), 60).is_err());
    }

    #[test]
    fn a_presentation_binds_aud_nonce_and_carries_several_credentials() {
        let issuer = signer(4);
        let holder = signer(5);
        let a = block_on(issue_vc_jwt_v11(&credential(), &Map::new(), &issuer)).unwrap();
        let mut c2 = credential();
        c2.insert("id".into(), "http://example.edu/credentials/3733".into());
        let b = block_on(issue_vc_jwt_v11(&c2, &Map::new(), &issuer)).unwrap();
        let vp = block_on(present_vp_jwt_v11(
            &[a.clone(), b.clone()],
            &holder,
            "x509_san_dns:rp.example",
            "n-1",
            now(),
            Some("did:example:ebfeb1f712ebc6f1c276e12ec21"),
        ))
        .unwrap();
        let k = &holder.public_jwk().key.clone();
        let k = &k;
        let v = verify_vp_jwt_v11(
            &vp,
            k,
            &policy(),
            "x509_san_dns:rp.example",
            "n-1",
            now(),
            300,
        )
        .unwrap();
        assert_eq!(v.vc_jwts, vec![a, b]);
        assert_eq!(
            v.holder.as_deref(),
            Some("did:example:ebfeb1f712ebc6f1c276e12ec21")
        );
        assert!(matches!(
            verify_vp_jwt_v11(&vp, k, &policy(), "x509_san_dns:other", "n-1", now(), 300),
            Err(Error::Claim(_))
        ));
        assert!(matches!(
            verify_vp_jwt_v11(
                &vp,
                k,
                &policy(),
                "x509_san_dns:rp.example",
                "n-2",
                now(),
                300
            ),
            Err(Error::Claim(_))
        ));
        let stale = now().plus(3600);
        assert!(matches!(
            verify_vp_jwt_v11(
                &vp,
                k,
                &policy(),
                "x509_san_dns:rp.example",
                "n-1",
                stale,
                300
            ),
            Err(Error::Time(_))
        ));
        assert!(
            verify_vp_jwt_v11(
                &vp,
                &issuer.public_jwk().key,
                &policy(),
                "x509_san_dns:rp.example",
                "n-1",
                now(),
                300
            )
            .is_err()
        );
        let too_many = vec!["a.b.c".to_owned(); MAX_CREDENTIALS_PER_VP + 1];
        assert!(
            block_on(present_vp_jwt_v11(
                &too_many,
                &holder,
                "a",
                "n",
                now(),
                None
            ))
            .is_err()
        );
    }
}
