//! Structural checks of the W3C Verifiable Credentials Data Model v2.0 (VCDM 2.0) and of
//! `BitstringStatusListEntry` (W3C Bitstring Status List v1.0 §2.1).
//!
//! These are the checks a processor can make without JSON-LD expansion ("type-specific
//! credential processing", VCDM 2.0 §6.3): the base context, the types, URLs where the
//! model says URL, `dateTimeStamp` validity values and the shape of the extension points.
//! Every violation is [`Error::VcDataModel`].

use serde_json::{Map, Value};

use super::datetime::parse_date_time_stamp;
use crate::error::{Error, Result};
use crate::time::UnixTime;

/// The base context every VCDM 2.0 credential and presentation starts with.
pub const CREDENTIALS_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The `type` every verifiable credential has.
pub const VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";
/// The `type` every verifiable presentation has.
pub const VERIFIABLE_PRESENTATION: &str = "VerifiablePresentation";
/// The `type` of a status entry in a Bitstring Status List.
pub const BITSTRING_STATUS_LIST_ENTRY: &str = "BitstringStatusListEntry";

fn err(msg: impl Into<String>) -> Error {
    Error::VcDataModel(msg.into())
}

/// Checks a credential against the VCDM 2.0 rules (see the module docs).
pub fn check_data_model(credential: &Map<String, Value>) -> Result<()> {
    check_context(credential, CREDENTIALS_V2_CONTEXT)?;
    check_id(credential, "credential")?;
    check_type(credential, VERIFIABLE_CREDENTIAL, "credential")?;
    // Spec: VCDM 2.0 §4.7 (Issuer): `issuer` MUST be a URL or an object whose `id` is a URL.
    match credential.get("issuer") {
        Some(Value::String(s)) if is_url(s) => {}
        Some(Value::Object(o)) => match o.get("id") {
            Some(Value::String(s)) if is_url(s) => {}
            _ => return Err(err("issuer.id must be a URL")),
        },
        Some(_) => return Err(err("issuer must be a URL or an object with an id")),
        None => return Err(err("issuer is required")),
    }
    // Spec: VCDM 2.0 §4.8 (Credential Subject): required; a set of objects, each the
    // subject of one or more claims (the VCDM JSON Schema: minProperties 1).
    let subjects = one_or_many(credential, "credentialSubject")?
        .ok_or_else(|| err("credentialSubject is required"))?;
    for subject in subjects {
        let subject = subject
            .as_object()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("credentialSubject entries must be non-empty objects"))?;
        check_id(subject, "credentialSubject")?;
    }
    let (from, until) = validity_period(credential)?;
    // Spec: VCDM 2.0 §4.9 (Validity Period): validFrom MUST be temporally the same or
    // earlier than validUntil.
    if let (Some(from), Some(until)) = (from, until)
        && from > until
    {
        return Err(err("validUntil is before validFrom"));
    }
    // Spec: VCDM 2.0 §4.10 (Status): a single object or a set of objects, each with a
    // `type`; `id` follows §4.4. Entries of types we know are checked in depth; others are
    // ignored (VC-JOSE-COSE §6 (Validation): status mechanisms not understood MUST be
    // ignored).
    if let Some(entries) = one_or_many(credential, "credentialStatus")? {
        for entry in entries {
            let entry = typed_object(entry, "credentialStatus")?;
            if type_contains(entry, BITSTRING_STATUS_LIST_ENTRY) {
                check_bitstring_status_list_entry(entry)?;
            }
        }
    }
    // Spec: VCDM 2.0 §4.11, §5.4, §5.5, §5.6: the other extension points are objects
    // with a `type` (and an `id` URL where present).
    for name in [
        "credentialSchema",
        "refreshService",
        "termsOfUse",
        "evidence",
    ] {
        if let Some(entries) = one_or_many(credential, name)? {
            for entry in entries {
                typed_object(entry, name)?;
            }
        }
    }
    Ok(())
}

/// The issuer URL: `issuer` when it is a string, else `issuer.id`.
pub fn issuer_id(credential: &Map<String, Value>) -> Option<&str> {
    match credential.get("issuer")? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

/// `validFrom` and `validUntil`, each parsed as a `dateTimeStamp` when present.
pub fn validity_period(
    credential: &Map<String, Value>,
) -> Result<(Option<UnixTime>, Option<UnixTime>)> {
    let read = |name: &str| -> Result<Option<UnixTime>> {
        match credential.get(name) {
            None => Ok(None),
            // Spec: VCDM 2.0 §4.9: "MUST be a [XMLSCHEMA11-2] dateTimeStamp string value".
            Some(Value::String(s)) => parse_date_time_stamp(s)
                .map(Some)
                .map_err(|_| err(format!("{name} must be an XML Schema dateTimeStamp"))),
            Some(_) => Err(err(format!("{name} must be a string"))),
        }
    };
    Ok((read("validFrom")?, read("validUntil")?))
}

/// Checks the parts of the data model a presentation shares with a credential: the base
/// context, `type` containing `VerifiablePresentation`, `id` and `holder` URLs
/// (VCDM 2.0 §4.13). Returns the `verifiableCredential` entries (possibly none).
pub(crate) fn check_presentation_model(vp: &Map<String, Value>) -> Result<Vec<&Value>> {
    check_context(vp, CREDENTIALS_V2_CONTEXT)?;
    check_id(vp, "presentation")?;
    check_type(vp, VERIFIABLE_PRESENTATION, "presentation")?;
    match vp.get("holder") {
        None => {}
        Some(Value::String(s)) if is_url(s) => {}
        Some(Value::Object(o)) => check_id(o, "holder")?,
        Some(_) => return Err(err("holder must be a URL or an object with an id")),
    }
    Ok(one_or_many(vp, "verifiableCredential")?.unwrap_or_default())
}

/// The holder URL: `holder` when it is a string, else `holder.id`.
pub(crate) fn holder_id(vp: &Map<String, Value>) -> Option<&str> {
    match vp.get("holder")? {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("id")?.as_str(),
        _ => None,
    }
}

/// Spec: VCDM 2.0 §4.3 (Contexts): `@context` MUST be an ordered set whose first item is
/// `https://www.w3.org/ns/credentials/v2` (VCDM 1.1 §4.1: `base` is
/// `https://www.w3.org/2018/credentials/v1`); later items are URLs or objects. The VCDM
/// JSON Schema makes it a JSON array of unique, non-empty items.
pub(crate) fn check_context(obj: &Map<String, Value>, base: &str) -> Result<()> {
    let items = obj
        .get("@context")
        .and_then(Value::as_array)
        .ok_or_else(|| err("@context must be an array"))?;
    match items.first() {
        Some(Value::String(first)) if first == base => {}
        _ => {
            return Err(err(format!("the first @context item must be {base}")));
        }
    }
    for (i, item) in items.iter().enumerate().skip(1) {
        match item {
            Value::String(s) if is_url(s) => {}
            Value::Object(o) if !o.is_empty() => {}
            _ => return Err(err("@context items must be URLs or context objects")),
        }
        if items[..i].contains(item) {
            return Err(err("@context items must be unique"));
        }
    }
    Ok(())
}

/// Spec: VCDM 2.0 §4.5 (Types): `type` is one or more terms or absolute URLs; for a
/// credential one of them MUST be `VerifiableCredential` (for a presentation,
/// `VerifiablePresentation`).
pub(crate) fn check_type(obj: &Map<String, Value>, required: &str, what: &str) -> Result<()> {
    let types =
        types_of(obj).ok_or_else(|| err(format!("{what} type must be one or more strings")))?;
    if !types.contains(&required) {
        return Err(err(format!("{what} type must include {required}")));
    }
    Ok(())
}

/// The `type` values of an object, if `type` is a non-empty string or a non-empty array
/// of non-empty strings.
fn types_of(obj: &Map<String, Value>) -> Option<Vec<&str>> {
    match obj.get("type")? {
        Value::String(s) if !s.is_empty() => Some(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|t| t.as_str().filter(|s| !s.is_empty()))
            .collect(),
        _ => None,
    }
}

pub(crate) fn type_contains(obj: &Map<String, Value>, wanted: &str) -> bool {
    types_of(obj).is_some_and(|t| t.contains(&wanted))
}

/// An extension-point object: an object with a valid `type` and an `id` URL if present.
pub(crate) fn typed_object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>> {
    let obj = value
        .as_object()
        .ok_or_else(|| err(format!("{name} entries must be objects")))?;
    if types_of(obj).is_none() {
        return Err(err(format!("{name} entries need a type")));
    }
    check_id(obj, name)?;
    Ok(obj)
}

/// A member that is a single value or a non-empty array of values.
pub(crate) fn one_or_many<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<Vec<&'a Value>>> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Err(err(format!("{name} must not be empty"))),
        Some(Value::Array(a)) => Ok(Some(a.iter().collect())),
        Some(v) => Ok(Some(vec![v])),
    }
}

/// Spec: VCDM 2.0 §4.4 (Identifiers): `id` is optional; if present it MUST be a single URL.
pub(crate) fn check_id(obj: &Map<String, Value>, what: &str) -> Result<()> {
    match obj.get("id") {
        None => Ok(()),
        Some(Value::String(s)) if is_url(s) => Ok(()),
        Some(_) => Err(err(format!("{what} id must be a URL"))),
    }
}

/// A URL in the sense of VCDM 2.0 (an absolute URL: `https:`, `did:`, `urn:` ...): parses
/// as a WHATWG URL with a scheme and has no whitespace or control characters that the URL
/// parser would silently strip.
pub(crate) fn is_url(s: &str) -> bool {
    !s.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(s).is_ok()
}

/// Spec: Bitstring Status List v1.0 §2.1 (BitstringStatusListEntry).
pub(crate) fn check_bitstring_status_list_entry(entry: &Map<String, Value>) -> Result<()> {
    let e = |msg: &str| err(format!("BitstringStatusListEntry: {msg}"));
    // "The purpose of the status entry MUST be a string"; refresh, revocation, suspension
    // and message have fixed meanings, other values are allowed.
    match entry.get("statusPurpose") {
        Some(Value::String(p)) if !p.is_empty() => {}
        _ => return Err(e("statusPurpose must be a non-empty string")),
    }
    // "MUST be an arbitrary size integer greater than or equal to 0, expressed as a
    // string in base 10". We also refuse leading zeros (one index, one spelling; G8) and
    // values beyond u64, far past any status list a verifier could fetch.
    match entry.get("statusListIndex") {
        Some(Value::String(i)) if is_canonical_index(i) => {}
        _ => {
            return Err(e(
                "statusListIndex must be a base-10 non-negative integer string",
            ));
        }
    }
    // "The statusListCredential property MUST be a URL to a verifiable credential."
    let list = match entry.get("statusListCredential") {
        Some(Value::String(u)) if is_url(u) => u,
        _ => return Err(e("statusListCredential must be a URL")),
    };
    // `id`: "It MUST NOT be the URL for the status list."
    if entry.get("id").and_then(Value::as_str) == Some(list.as_str()) {
        return Err(e("id must not be the status list URL"));
    }
    // statusSize: "If present, MUST be an integer greater than zero"; if > 1,
    // statusMessage MUST be present; statusMessage, if present, has 2^statusSize entries
    // each with a `status` ("0x"-prefixed hex) and a `message` string.
    let size = match entry.get("statusSize") {
        None => 1,
        Some(v) => v
            .as_u64()
            .filter(|&n| n > 0)
            .ok_or_else(|| e("statusSize must be an integer greater than zero"))?,
    };
    match entry.get("statusMessage") {
        None if size > 1 => return Err(e("statusMessage is required when statusSize > 1")),
        None => {}
        Some(Value::Array(messages)) => {
            let expected = u32::try_from(size).ok().and_then(|s| 1u64.checked_shl(s));
            if expected != u64::try_from(messages.len()).ok() {
                return Err(e("statusMessage must have 2^statusSize entries"));
            }
            for m in messages {
                let ok = m.get("status").and_then(Value::as_str).is_some_and(|s| {
                    s.strip_prefix("0x").is_some_and(|hex| {
                        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
                    })
                }) && m.get("message").is_some_and(Value::is_string);
                if !ok {
                    return Err(e("statusMessage entries need a 0x status and a message"));
                }
            }
        }
        Some(_) => return Err(e("statusMessage must be an array")),
    }
    // statusReference: "If present, its value MUST be a URL or an array of URLs".
    match entry.get("statusReference") {
        None => {}
        Some(Value::String(u)) if is_url(u) => {}
        Some(Value::Array(a)) if a.iter().all(|u| u.as_str().is_some_and(is_url)) => {}
        Some(_) => return Err(e("statusReference must be a URL or an array of URLs")),
    }
    Ok(())
}

fn is_canonical_index(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.parse::<u64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// VCDM 2.0 §4.10 (Status), Example "Use of the status property" (the second status
    /// example, with a revocation and a suspension entry).
    fn vcdm_status_example() -> Value {
        json!({
          "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2"
          ],
          "id": "http://license.example/credentials/9837",
          "type": ["VerifiableCredential", "ExampleDrivingLicenseCredential"],
          "issuer": "https://license.example/issuers/48",
          "validFrom": "2020-03-14T12:10:42Z",
          "credentialSubject": {
            "id": "did:example:f1c276e12ec21ebfeb1f712ebc6",
            "license": {
              "type": "ExampleDrivingLicense",
              "name": "License to Drive a Car"
            }
          },
          "credentialStatus": [{
            "id": "https://license.example/credentials/status/84#14278",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "14278",
            "statusListCredential": "https://license.example/credentials/status/84"
          }, {
            "id": "https://license.example/credentials/status/84#82938",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": "82938",
            "statusListCredential": "https://license.example/credentials/status/84"
          }]
        })
    }

    fn rejected(v: Value) -> bool {
        matches!(check_data_model(&obj(v)), Err(Error::VcDataModel(_)))
    }

    #[test]
    fn vcdm_2_0_status_example_passes() {
        check_data_model(&obj(vcdm_status_example())).unwrap();
    }

    #[test]
    fn vc_jose_cose_appendix_a_credential_examples_pass() {
        // VC-JOSE-COSE Appendix A (Examples), Credentials: issuer object, subject array,
        // fractional seconds, a status type we do not understand (ignored, §6).
        let k9 = json!({
          "@context": ["https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2"],
          "id": "https://contoso.example/credentials/23894672394",
          "type": ["VerifiableCredential", "K9UnitCredential"],
          "issuer": {"id": "https://contoso.example"},
          "validFrom": "2015-04-16T05:11:32.432Z",
          "credentialStatus": {
            "id": "https://contoso.example/credentials/status/4#273762",
            "type": "StatusList2021Entry",
            "statusPurpose": "revocation",
            "statusListIndex": "273762",
            "statusListCredential": "https://contoso.example/credentials/status/4"
          },
          "credentialSubject": [{"id": "did:example:1312387641", "type": "Person"},
                                {"id": "did:example:63888231", "type": "Dog"}]
        });
        check_data_model(&obj(k9.clone())).unwrap();
        assert_eq!(issuer_id(&obj(k9)), Some("https://contoso.example"));
        let kyc = json!({
          "@context": ["https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2"],
          "id": "https://contoso.example/credentials/35327255",
          "type": ["VerifiableCredential", "KYCExample"],
          "issuer": "did:web:contoso.example",
          "validFrom": "2019-05-25T03:10:16.992Z",
          "validUntil": "2027-05-25T03:10:16.992Z",
          "credentialSchema": {
            "id": "https://contoso.example/bafybeigdyr...lqabf3oclgtqy55fbzdi",
            "type": "JsonSchema"
          },
          "credentialSubject": {"id": "did:example:1231588", "type": "Person"}
        });
        check_data_model(&obj(kyc.clone())).unwrap();
        assert_eq!(issuer_id(&obj(kyc)), Some("did:web:contoso.example"));
    }

    #[test]
    fn context_rules_are_enforced() {
        let mut v = vcdm_status_example();
        v.as_object_mut().unwrap().remove("@context");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["@context"] = json!("https://www.w3.org/ns/credentials/v2");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["@context"] = json!(["https://www.w3.org/2018/credentials/v1"]);
        assert!(rejected(v), "VCDM 1.1 context");
        let mut v = vcdm_status_example();
        v["@context"] = json!([
            "https://www.w3.org/ns/credentials/examples/v2",
            "https://www.w3.org/ns/credentials/v2"
        ]);
        assert!(rejected(v), "base context not first");
        let mut v = vcdm_status_example();
        v["@context"] = json!([]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["@context"] = json!(["https://www.w3.org/ns/credentials/v2", 5]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["@context"] = json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://x.example/c",
            "https://x.example/c"
        ]);
        assert!(rejected(v), "duplicate context");
        let mut v = vcdm_status_example();
        v["@context"] =
            json!(["https://www.w3.org/ns/credentials/v2", {"@vocab": "https://v.example/#"}]);
        assert!(!rejected(v), "inline context objects are allowed");
    }

    #[test]
    fn type_issuer_and_subject_rules_are_enforced() {
        let mut v = vcdm_status_example();
        v["type"] = json!(["ExampleDrivingLicenseCredential"]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["type"] = json!("VerifiableCredential");
        assert!(!rejected(v), "a single type string is allowed");
        let mut v = vcdm_status_example();
        v["type"] = json!(["VerifiableCredential", 7]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["issuer"] = json!("not a url");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["issuer"] = json!({"name": "no id"});
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v.as_object_mut().unwrap().remove("issuer");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v.as_object_mut().unwrap().remove("credentialSubject");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["credentialSubject"] = json!([]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["credentialSubject"] = json!({});
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["credentialSubject"] = json!(["did:example:123"]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["credentialSubject"]["id"] = json!("ebfeb1f712ebc6f1c276e12ec21");
        assert!(rejected(v), "relative subject id");
        let mut v = vcdm_status_example();
        v["id"] = json!(" http://license.example/credentials/9837");
        assert!(rejected(v), "whitespace in id");
        let mut v = vcdm_status_example();
        v["id"] = json!(42);
        assert!(rejected(v));
    }

    #[test]
    fn validity_values_must_be_date_time_stamps_in_order() {
        let mut v = vcdm_status_example();
        v["validFrom"] = json!("2020-03-14T12:10:42");
        assert!(rejected(v), "no time zone");
        let mut v = vcdm_status_example();
        v["validFrom"] = json!("2020-03-14");
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["validFrom"] = json!(1584187842);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["validUntil"] = json!("2020-03-14T12:10:41Z");
        assert!(rejected(v), "validUntil before validFrom");
        let mut v = vcdm_status_example();
        v["validUntil"] = json!("2020-03-14T13:10:42+01:00");
        assert!(!rejected(v), "the same instant is allowed (VCDM 2.0 §4.9)");
    }

    #[test]
    fn bad_bitstring_status_entries_are_rejected() {
        let mutate = |f: &dyn Fn(&mut Value)| {
            let mut v = vcdm_status_example();
            f(&mut v["credentialStatus"][0]);
            v
        };
        assert!(
            rejected(mutate(&|e| e["statusListIndex"] = json!(14278))),
            "number index"
        );
        assert!(rejected(mutate(&|e| e["statusListIndex"] = json!("-1"))));
        assert!(rejected(mutate(&|e| e["statusListIndex"] = json!("12a"))));
        assert!(rejected(mutate(&|e| e["statusListIndex"] = json!(""))));
        assert!(rejected(mutate(&|e| e["statusListIndex"] = json!("007"))));
        assert!(rejected(mutate(&|e| e["statusListIndex"] = json!(" 7"))));
        assert!(!rejected(mutate(&|e| e["statusListIndex"] = json!("0"))));
        assert!(
            rejected(mutate(&|e| {
                e.as_object_mut().unwrap().remove("statusPurpose");
            })),
            "missing purpose"
        );
        assert!(rejected(mutate(
            &|e| e["statusPurpose"] = json!(["revocation"])
        )));
        assert!(rejected(mutate(&|e| {
            e.as_object_mut().unwrap().remove("statusListCredential");
        })));
        assert!(rejected(mutate(
            &|e| e["statusListCredential"] = json!("status/84")
        )));
        assert!(
            rejected(mutate(&|e| e["id"] = e["statusListCredential"].clone())),
            "id = list URL"
        );
        assert!(rejected(mutate(&|e| e["statusSize"] = json!(0))));
        assert!(
            rejected(mutate(&|e| e["statusSize"] = json!(2))),
            "size 2 without messages"
        );
        assert!(!rejected(mutate(&|e| {
            e["statusPurpose"] = json!("message");
            e["statusSize"] = json!(2);
            e["statusMessage"] = json!([
                {"status":"0x0","message":"pending_review"},
                {"status":"0x1","message":"accepted"},
                {"status":"0x2","message":"rejected"},
                {"status":"0x3","message":"undefined"}
            ]);
        })));
        assert!(
            rejected(mutate(&|e| {
                e["statusSize"] = json!(2);
                e["statusMessage"] =
                    json!([{"status":"0x0","message":"a"},{"status":"0x1","message":"b"}]);
            })),
            "wrong number of messages"
        );
        assert!(rejected(mutate(&|e| e["statusReference"] = json!("nope"))));
        let mut v = vcdm_status_example();
        v["credentialStatus"] = json!([]);
        assert!(rejected(v));
        let mut v = vcdm_status_example();
        v["credentialStatus"] = json!({"statusPurpose": "revocation"});
        assert!(rejected(v), "status entry without type");
    }
}
