//! Transaction data (OID4VP 1.0 §5.1 `transaction_data`, §8.4; Appendix B.3.3 "A Profile of
//! Transaction Data in SD-JWT VC"): the typed entries a request carries, checked on
//! creation against the verifier's configured types, and the KB-JWT's
//! `transaction_data_hashes` (+ `transaction_data_hashes_alg`) checked on response.
//!
//! vdc implements the Appendix B.3.3 profile for every configured type: an entry is
//! authorized by the KB-JWT of a `dc+sd-jwt` presentation (with holder binding) answering
//! one of its `credential_ids`, whose `transaction_data_hashes` hold the hash of the entry's
//! base64url string as sent.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vdc_core::{base64url, digest};

use crate::dcql::{DcqlQuery, FORMAT_DC_SD_JWT};
use crate::error::{RejectReason, Result, VerifierError};
use crate::presentation::Checked;
use crate::service::bounded;

/// One configured transaction data type (the value in the verifier's
/// `"transaction_data_types": {"<type>": {...}}`, contract-next "Presentation requests").
/// The members of an entry are `type`, `credential_ids`, `transaction_data_hashes_alg`
/// (OID4VP 1.0 §5.1, Appendix B.3.3) and exactly the ones named in `members`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionDataType {
    /// The type-specific members an entry may carry, by name, with their JSON type and
    /// whether each entry must carry it. Any other member is refused (OID4VP 1.0 §8.5
    /// `invalid_transaction_data`: "an object of a known type but containing unknown
    /// fields"). At most 64; not `type`, `credential_ids` or `transaction_data_hashes_alg`.
    #[serde(default)]
    pub members: BTreeMap<String, MemberRule>,
    /// The hash algorithms an entry of this type may name in `transaction_data_hashes_alg`
    /// (IANA Named Information names vdc supports: `sha-256`, `sha-384`, `sha-512`).
    /// Absent: any of them. An entry without `transaction_data_hashes_alg` means `sha-256`
    /// (Appendix B.3.3), so it is refused when `sha-256` is not listed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_data_hashes_alg_values: Option<Vec<String>>,
}

/// What one type-specific member of a transaction data entry must be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRule {
    /// The member's JSON type.
    #[serde(rename = "type")]
    pub json_type: JsonType,
    /// Whether every entry of the type carries it (default false; shown only when true).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
}

/// A JSON type (`integer`: a number without fraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A JSON string.
    String,
    /// Any JSON number.
    Number,
    /// A JSON number that is an integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A JSON object.
    Object,
    /// A JSON array.
    Array,
}

impl JsonType {
    fn matches(self, v: &Value) -> bool {
        match self {
            Self::String => v.is_string(),
            Self::Number => v.is_number(),
            Self::Integer => v.is_i64() || v.is_u64(),
            Self::Boolean => v.is_boolean(),
            Self::Object => v.is_object(),
            Self::Array => v.is_array(),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
        }
    }
}

/// The configured types by `type` value.
pub type TransactionDataTypes = BTreeMap<String, TransactionDataType>;

/// Most types a verifier configures.
const MAX_TYPES: usize = 32;
/// Most type-specific members a type names.
const MAX_MEMBERS: usize = 64;
/// Longest `type` value or member name.
const MAX_NAME_LEN: usize = 256;
/// Most entries a request carries.
const MAX_ENTRIES: usize = 16;
/// Longest entry (its base64url text).
const MAX_ENTRY_LEN: usize = 8192;
/// Most `credential_ids` of an entry.
const MAX_CREDENTIAL_IDS: usize = 16;

/// The members OID4VP 1.0 defines for every entry (§5.1, Appendix B.3.3); a type cannot
/// redefine them.
const RESERVED: [&str; 3] = ["type", "credential_ids", "transaction_data_hashes_alg"];

/// The default hash (Appendix B.3.3: "If this parameter is not present, a default value of
/// `sha-256` MUST be used").
const SHA_256: &str = "sha-256";

/// The hash algorithms vdc supports, by IANA Named Information "Hash Name String".
const SUPPORTED_ALGS: [&str; 3] = [SHA_256, "sha-384", "sha-512"];

/// base64url(hash(`alg`, `text`)), or `None` for an algorithm vdc does not support.
fn hash_b64(alg: &str, text: &str) -> Option<String> {
    let data = text.as_bytes();
    Some(match alg {
        "sha-256" => base64url::encode(digest::sha256(data)),
        "sha-384" => base64url::encode(digest::sha384(data)),
        "sha-512" => base64url::encode(digest::sha512(data)),
        _ => return None,
    })
}

/// A list of hash algorithm names: non-empty, supported, no repeats.
fn check_alg_list(algs: &[Value]) -> std::result::Result<Vec<String>, String> {
    if algs.is_empty() {
        return Err("must be a non-empty array".into());
    }
    let mut out: Vec<String> = Vec::with_capacity(algs.len());
    for a in algs {
        let Some(a) = a.as_str() else {
            return Err("must hold strings".into());
        };
        if !SUPPORTED_ALGS.contains(&a) {
            return Err(format!(
                "{} is not a supported hash algorithm (sha-256, sha-384, sha-512)",
                bounded(a)
            ));
        }
        if out.iter().any(|o| o == a) {
            return Err(format!("names {a} twice"));
        }
        out.push(a.to_owned());
    }
    Ok(out)
}

/// Checks a verifier's configured types (on create and PATCH).
pub(crate) fn check_types(types: &TransactionDataTypes) -> Result<()> {
    let bad = |m: String| VerifierError::InvalidRequest(format!("transaction_data_types: {m}"));
    if types.len() > MAX_TYPES {
        return Err(bad(format!("at most {MAX_TYPES} types")));
    }
    for (name, t) in types {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(bad(format!(
                "a type name is 1 to {MAX_NAME_LEN} characters"
            )));
        }
        let name = bounded(name);
        if t.members.len() > MAX_MEMBERS {
            return Err(bad(format!("{name}: at most {MAX_MEMBERS} members")));
        }
        for member in t.members.keys() {
            if member.is_empty() || member.len() > MAX_NAME_LEN {
                return Err(bad(format!(
                    "{name}: a member name is 1 to {MAX_NAME_LEN} characters"
                )));
            }
            // Spec: OID4VP 1.0 §5.1, Appendix B.3.3: these members mean the same for every
            // type.
            if RESERVED.contains(&member.as_str()) {
                return Err(bad(format!(
                    "{name}: {member} is defined by OID4VP 1.0 and cannot be a type's member"
                )));
            }
        }
        if let Some(algs) = &t.transaction_data_hashes_alg_values {
            let values: Vec<Value> = algs.iter().cloned().map(Value::String).collect();
            check_alg_list(&values)
                .map_err(|m| bad(format!("{name}: transaction_data_hashes_alg_values {m}")))?;
        }
    }
    Ok(())
}

/// One entry of a request's `transaction_data`: the base64url string as sent (what the
/// hashes are computed over, §B.3.3) and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionDataEntry {
    /// The base64url-encoded JSON object, exactly as sent.
    pub(crate) encoded: String,
    /// The decoded object.
    pub(crate) object: Map<String, Value>,
    /// `credential_ids`: the credential queries that may authorize it.
    pub(crate) credential_ids: Vec<String>,
    /// `transaction_data_hashes_alg` when given (else `sha-256` is the only one).
    pub(crate) hash_algs: Option<Vec<String>>,
}

impl TransactionDataEntry {
    /// The `type` value (checked present when decoded).
    fn type_name(&self) -> &str {
        self.object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn lists(&self, query_id: &str) -> bool {
        self.credential_ids.iter().any(|c| c == query_id)
    }

    /// Whether only a presentation for `query_id` can authorize it.
    fn only(&self, query_id: &str) -> bool {
        self.credential_ids.iter().all(|c| c == query_id)
    }
}

/// Decodes one entry and checks what OID4VP 1.0 defines for every type: base64url of a JSON
/// object, `type` a string, `credential_ids` a non-empty array of distinct strings,
/// `transaction_data_hashes_alg` a non-empty array of supported names.
fn decode_entry(encoded: &str) -> std::result::Result<TransactionDataEntry, String> {
    if encoded.len() > MAX_ENTRY_LEN {
        return Err(format!("an entry is at most {MAX_ENTRY_LEN} characters"));
    }
    // Spec: OID4VP 1.0 §5.1: "each string is a base64url-encoded JSON object".
    let bytes = base64url::decode(encoded).map_err(|_| "not base64url (without padding)")?;
    let object: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| "not the base64url of a JSON object")?;
    match object.get("type") {
        Some(Value::String(t)) if !t.is_empty() => {}
        _ => return Err("type is required (a non-empty string)".into()),
    }
    // Spec: OID4VP 1.0 §5.1: `credential_ids`: "REQUIRED. Non-empty array of strings".
    let credential_ids = match object.get("credential_ids") {
        Some(Value::Array(ids)) if !ids.is_empty() && ids.len() <= MAX_CREDENTIAL_IDS => {
            let mut out: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                let Some(id) = id.as_str() else {
                    return Err("credential_ids must hold strings".into());
                };
                if out.iter().any(|o| o == id) {
                    return Err(format!("credential_ids names {} twice", bounded(id)));
                }
                out.push(id.to_owned());
            }
            out
        }
        _ => {
            return Err(format!(
                "credential_ids is required (1 to {MAX_CREDENTIAL_IDS} strings)"
            ));
        }
    };
    // Spec: OID4VP 1.0 Appendix B.3.3: `transaction_data_hashes_alg`: "OPTIONAL. Non-empty
    // array of strings each representing a hash algorithm identifier".
    let hash_algs = match object.get("transaction_data_hashes_alg") {
        None => None,
        Some(Value::Array(algs)) => {
            Some(check_alg_list(algs).map_err(|m| format!("transaction_data_hashes_alg {m}"))?)
        }
        Some(_) => return Err("transaction_data_hashes_alg must be an array".into()),
    };
    Ok(TransactionDataEntry {
        encoded: encoded.to_owned(),
        object,
        credential_ids,
        hash_algs,
    })
}

/// Checks an entry against its configured type: members known, of their JSON type, the
/// required ones present; a hash algorithm the type allows.
fn check_against_type(
    entry: &TransactionDataEntry,
    t: &TransactionDataType,
) -> std::result::Result<(), String> {
    // Spec: OID4VP 1.0 §8.5 `invalid_transaction_data`: unknown fields, fields of the wrong
    // type, missing required fields.
    for (name, value) in &entry.object {
        if RESERVED.contains(&name.as_str()) {
            continue;
        }
        let Some(rule) = t.members.get(name) else {
            return Err(format!(
                "member {} is not one its type defines",
                bounded(name)
            ));
        };
        if !rule.json_type.matches(value) {
            return Err(format!(
                "member {} must be a JSON {}",
                bounded(name),
                rule.json_type.as_str()
            ));
        }
    }
    if let Some((name, _)) = t
        .members
        .iter()
        .find(|(n, r)| r.required && !entry.object.contains_key(n.as_str()))
    {
        return Err(format!("member {} is required by its type", bounded(name)));
    }
    if let Some(allowed) = &t.transaction_data_hashes_alg_values {
        match &entry.hash_algs {
            Some(algs) => {
                if let Some(a) = algs.iter().find(|a| !allowed.contains(a)) {
                    return Err(format!(
                        "transaction_data_hashes_alg {a} is not allowed for its type ({})",
                        allowed.join(", ")
                    ));
                }
            }
            None if !allowed.iter().any(|a| a == SHA_256) => {
                return Err(format!(
                    "transaction_data_hashes_alg is required: its type does not allow the \
                     default sha-256 ({})",
                    allowed.join(", ")
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// Checks a new request's `transaction_data` against its DCQL query and the verifier's
/// types; `VerifierError::InvalidRequest` names the failing entry.
pub(crate) fn parse_request(
    encoded: &[String],
    dcql: &DcqlQuery,
    types: &TransactionDataTypes,
) -> Result<Vec<TransactionDataEntry>> {
    if encoded.len() > MAX_ENTRIES {
        return Err(VerifierError::InvalidRequest(format!(
            "transaction_data: at most {MAX_ENTRIES} entries"
        )));
    }
    let mut out = Vec::with_capacity(encoded.len());
    for (i, text) in encoded.iter().enumerate() {
        let bad = |m: String| VerifierError::InvalidRequest(format!("transaction_data[{i}]: {m}"));
        if encoded[..i].contains(text) {
            // The same entry twice could be authorized by one hash only once.
            return Err(bad("repeats an earlier entry".into()));
        }
        let entry = decode_entry(text).map_err(bad)?;
        // Spec: OID4VP 1.0 §5.1: the wallet "MUST return an error if a request contains
        // even one unrecognized transaction data type": we send only types we configured.
        let t = types.get(entry.type_name()).ok_or_else(|| {
            bad(format!(
                "type {} is not configured on this verifier (transaction_data_types)",
                bounded(entry.type_name())
            ))
        })?;
        for id in &entry.credential_ids {
            // Spec: OID4VP 1.0 §5.1: "The string matches the `id` field in the DCQL
            // Credential Query."
            let query = dcql.credential(id).ok_or_else(|| {
                bad(format!(
                    "credential_ids names {}, which is no credential query of dcql_query",
                    bounded(id)
                ))
            })?;
            // Spec: OID4VP 1.0 Appendix B.3: "The transaction data mechanism requires the use
            // of an SD-JWT VC with Cryptographic Holder Binding" (the hashes travel in the
            // KB-JWT, Appendix B.3.3).
            if query.format != FORMAT_DC_SD_JWT {
                return Err(bad(format!(
                    "credential query {} is {}: transaction data is authorized by dc+sd-jwt \
                     presentations only",
                    bounded(id),
                    bounded(&query.format)
                )));
            }
            if !query.require_cryptographic_holder_binding {
                return Err(bad(format!(
                    "credential query {} sets require_cryptographic_holder_binding to false: \
                     transaction data needs holder binding",
                    bounded(id)
                )));
            }
        }
        check_against_type(&entry, t).map_err(bad)?;
        out.push(entry);
    }
    Ok(out)
}

/// The entries of a stored request (checked when it was created).
pub(crate) fn parse_stored(encoded: &[String]) -> Result<Vec<TransactionDataEntry>> {
    encoded
        .iter()
        .map(|e| {
            decode_entry(e)
                .map_err(|_| VerifierError::Internal("stored transaction_data unreadable".into()))
        })
        .collect()
}

/// The KB-JWT of the presentation answering credential query `query_id`: the indices
/// (into `entries`) of the entries its `transaction_data_hashes` authorize, or why not.
///
/// Spec: OID4VP 1.0 Appendix B.3.3. Each hash must be the hash (with the KB-JWT's
/// `transaction_data_hashes_alg`, by default `sha-256`) of the base64url string of an entry
/// listing `query_id`, once; the algorithm must be one the entry allows (`sha-256` when it
/// names none), and named when the entry named some. An entry that lists only `query_id`
/// can be authorized by no other presentation, so its hash must be there. Hashes without
/// an entry listing `query_id` are refused: the wallet signed something we did not ask.
pub(crate) fn check_key_binding(
    entries: &[TransactionDataEntry],
    query_id: &str,
    kb_claims: &Map<String, Value>,
) -> Checked<Vec<usize>> {
    let fail = |m: String| Err((RejectReason::TransactionData, m));
    let q = bounded(query_id);
    let alg = match kb_claims.get("transaction_data_hashes_alg") {
        None => None,
        Some(Value::String(a)) => Some(a.as_str()),
        Some(_) => return fail("the KB-JWT's transaction_data_hashes_alg must be a string".into()),
    };
    let hashes = match kb_claims.get("transaction_data_hashes") {
        None => {
            if alg.is_some() {
                return fail(
                    "the KB-JWT has transaction_data_hashes_alg but no transaction_data_hashes"
                        .into(),
                );
            }
            if let Some(i) = entries.iter().position(|e| e.only(query_id)) {
                return fail(format!(
                    "the KB-JWT of credential query {q} has no transaction_data_hashes, but \
                     transaction_data entry {i} can only be authorized by it"
                ));
            }
            return Ok(Vec::new());
        }
        // Spec: Appendix B.3.3: "A non-empty array of strings".
        Some(Value::Array(h)) if !h.is_empty() => h,
        Some(_) => {
            return fail("the KB-JWT's transaction_data_hashes must be a non-empty array".into());
        }
    };
    if !entries.iter().any(|e| e.lists(query_id)) {
        return fail(format!(
            "the KB-JWT of credential query {q} has transaction_data_hashes, but no \
             transaction_data entry lists that query"
        ));
    }
    if hashes.len() > entries.len() {
        return fail(
            "the KB-JWT has more transaction_data_hashes than the request has entries".into(),
        );
    }
    let name = alg.unwrap_or(SHA_256);
    let Some(computed) = entries
        .iter()
        .map(|e| hash_b64(name, &e.encoded))
        .collect::<Option<Vec<String>>>()
    else {
        return fail(format!(
            "transaction_data_hashes_alg {} is not a supported hash algorithm",
            bounded(name)
        ));
    };
    let mut authorized: Vec<usize> = Vec::with_capacity(hashes.len());
    for (k, h) in hashes.iter().enumerate() {
        let Some(h) = h.as_str() else {
            return fail("transaction_data_hashes must hold strings".into());
        };
        // Hashes of public data: a plain comparison leaks nothing.
        let Some(j) = computed.iter().position(|c| c == h) else {
            return fail(format!(
                "transaction_data_hashes[{k}] is the {name} hash of no transaction_data entry"
            ));
        };
        let entry = &entries[j];
        if !entry.lists(query_id) {
            return fail(format!(
                "transaction_data_hashes[{k}] is over transaction_data entry {j}, whose \
                 credential_ids do not list credential query {q}"
            ));
        }
        if authorized.contains(&j) {
            return fail(format!(
                "transaction_data_hashes[{k}] repeats the hash of transaction_data entry {j}"
            ));
        }
        match (&entry.hash_algs, alg) {
            // Spec: Appendix B.3.3: `transaction_data_hashes_alg` "REQUIRED when this
            // parameter was present in the `transaction_data` request parameter"; "the hash
            // function MUST be one of its values".
            (Some(_), None) => {
                return fail(format!(
                    "transaction_data entry {j} names transaction_data_hashes_alg, so the \
                     KB-JWT must name its hash algorithm"
                ));
            }
            (Some(allowed), Some(a)) if !allowed.iter().any(|x| x == a) => {
                return fail(format!(
                    "transaction_data_hashes_alg {} is not one transaction_data entry {j} \
                     allows ({})",
                    bounded(a),
                    allowed.join(", ")
                ));
            }
            // "If `transaction_data_hashes_alg` was not specified in the request, the hash
            // function MUST be `sha-256`."
            (None, Some(a)) if a != SHA_256 => {
                return fail(format!(
                    "transaction_data entry {j} names no transaction_data_hashes_alg, so its \
                     hash must be sha-256, not {}",
                    bounded(a)
                ));
            }
            _ => {}
        }
        authorized.push(j);
    }
    if let Some(i) =
        (0..entries.len()).find(|i| entries[*i].only(query_id) && !authorized.contains(i))
    {
        return fail(format!(
            "transaction_data entry {i} can only be authorized by credential query {q}, but \
             its KB-JWT's transaction_data_hashes leave it out"
        ));
    }
    Ok(authorized)
}

/// Every entry must be authorized by one presentation of the answer.
pub(crate) fn check_all_authorized(
    entries: &[TransactionDataEntry],
    authorized: &BTreeSet<usize>,
) -> Checked<()> {
    match (0..entries.len()).find(|i| !authorized.contains(i)) {
        None => Ok(()),
        Some(i) => Err((
            RejectReason::TransactionData,
            format!("transaction_data entry {i} is authorized by no presentation"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// An entry's base64url text.
    fn enc(v: Value) -> String {
        base64url::encode(v.to_string())
    }

    fn payment() -> Value {
        json!({"type": "payment", "credential_ids": ["badge"], "amount": "42.00 EUR",
            "payee": "Shop"})
    }

    /// `payment`: `amount` (required string), `payee` (string), `count` (integer);
    /// `qes`: no members, sha-384 or sha-512 only.
    fn types() -> TransactionDataTypes {
        serde_json::from_value(json!({
            "payment": {"members": {
                "amount": {"type": "string", "required": true},
                "payee": {"type": "string"},
                "count": {"type": "integer"}}},
            "qes": {"transaction_data_hashes_alg_values": ["sha-384", "sha-512"]}
        }))
        .unwrap()
    }

    fn dcql() -> DcqlQuery {
        DcqlQuery::parse(&json!({"credentials": [
            {"id": "badge", "format": "dc+sd-jwt", "meta": {}},
            {"id": "other", "format": "dc+sd-jwt", "meta": {}},
            {"id": "nohb", "format": "dc+sd-jwt", "meta": {},
                "require_cryptographic_holder_binding": false},
            {"id": "w3c", "format": "jwt_vc_json", "meta": {"type_values": [["VerifiableCredential"]]}},
            {"id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"}}
        ]}))
        .unwrap()
    }

    fn parse(entries: &[Value]) -> Result<Vec<TransactionDataEntry>> {
        let encoded: Vec<String> = entries.iter().cloned().map(enc).collect();
        parse_request(&encoded, &dcql(), &types())
    }

    /// The `InvalidRequest` message of a refused request.
    fn refused(entries: &[Value]) -> String {
        match parse(entries) {
            Err(VerifierError::InvalidRequest(m)) => m,
            other => panic!("expected invalid_request, got {other:?}"),
        }
    }

    fn with(mut v: Value, name: &str, member: Value) -> Value {
        v[name] = member;
        v
    }

    fn without(mut v: Value, name: &str) -> Value {
        v.as_object_mut().unwrap().remove(name);
        v
    }

    // --- configuration ---

    #[test]
    fn a_configuration_parses_and_checks() {
        let t = types();
        check_types(&t).unwrap();
        assert_eq!(t["payment"].members["amount"].json_type, JsonType::String);
        assert!(t["payment"].members["amount"].required);
        assert!(!t["payment"].members["payee"].required);
        // It serializes back as it was configured (the verifier object shows it).
        let back: TransactionDataTypes =
            serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn unknown_configuration_fields_and_json_types_do_not_parse() {
        for bad in [
            json!({"x": {"fields": {}}}),
            json!({"x": {"members": {"a": {"type": "date"}}}}),
            json!({"x": {"members": {"a": {"type": "string", "optional": true}}}}),
            json!({"x": {"members": {"a": {}}}}),
        ] {
            assert!(
                serde_json::from_value::<TransactionDataTypes>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn check_types_refuses_reserved_members_bad_algs_and_too_many() {
        let cases = [
            (
                json!({"x": {"members": {"type": {"type": "string"}}}}),
                "cannot be a type",
            ),
            (
                json!({"x": {"members": {"credential_ids": {"type": "array"}}}}),
                "cannot be a type",
            ),
            (
                json!({"x": {"transaction_data_hashes_alg_values": []}}),
                "non-empty",
            ),
            (
                json!({"x": {"transaction_data_hashes_alg_values": ["md5"]}}),
                "not a supported",
            ),
            (
                json!({"x": {"transaction_data_hashes_alg_values": ["sha-256", "sha-256"]}}),
                "twice",
            ),
            (json!({"": {}}), "type name"),
            (
                json!({"x": {"members": {"": {"type": "string"}}}}),
                "member name",
            ),
        ];
        for (config, why) in cases {
            let t: TransactionDataTypes = serde_json::from_value(config.clone()).unwrap();
            match check_types(&t) {
                Err(VerifierError::InvalidRequest(m)) => {
                    assert!(m.starts_with("transaction_data_types: "), "{m}");
                    assert!(m.contains(why), "{config}: {m}");
                }
                other => panic!("{config}: {other:?}"),
            }
        }
        let many: TransactionDataTypes = (0..=MAX_TYPES)
            .map(|i| (format!("t{i}"), TransactionDataType::default()))
            .collect();
        assert!(check_types(&many).is_err());
    }

    // --- request creation (OID4VP 1.0 §5.1, Appendix B.3.3) ---

    #[test]
    fn a_conforming_entry_is_kept_as_sent() {
        let text = enc(payment());
        let entries = parse_request(std::slice::from_ref(&text), &dcql(), &types()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].encoded, text);
        assert_eq!(entries[0].object, *payment().as_object().unwrap());
        assert_eq!(entries[0].credential_ids, ["badge"]);
        assert_eq!(entries[0].hash_algs, None);
        assert!(parse(&[]).unwrap().is_empty());
        // Stored and read back: the same entry.
        assert_eq!(parse_stored(&[text]).unwrap(), entries);
    }

    #[test]
    fn entries_that_are_not_base64url_json_objects_are_refused() {
        let encoded = |s: &str| parse_request(&[s.to_owned()], &dcql(), &types());
        let padded = format!("{}=", base64url::encode(b"{\"a\":1}x"));
        for (text, why) in [
            ("not base64url!".to_owned(), "not base64url"),
            (padded, "not base64url"),
            (base64url::encode("[1,2]"), "JSON object"),
            (base64url::encode("{\"type\":"), "JSON object"),
        ] {
            match encoded(&text) {
                Err(VerifierError::InvalidRequest(m)) => {
                    assert!(m.starts_with("transaction_data[0]: "), "{m}");
                    assert!(m.contains(why), "{text}: {m}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn type_must_be_present_and_configured() {
        // Spec: OID4VP 1.0 §5.1: `type` REQUIRED; the wallet MUST refuse an unrecognized
        // type, so we never send one we did not configure.
        assert!(refused(&[without(payment(), "type")]).contains("type is required"));
        assert!(refused(&[with(payment(), "type", json!(7))]).contains("type is required"));
        let m = refused(&[with(payment(), "type", json!("transfer"))]);
        assert!(m.contains("type transfer is not configured"), "{m}");
    }

    #[test]
    fn credential_ids_must_name_dc_sd_jwt_queries_with_holder_binding() {
        // Spec: OID4VP 1.0 §5.1: `credential_ids` REQUIRED, non-empty array of strings
        // matching DCQL credential query ids.
        for (ids, why) in [
            (None, "credential_ids is required"),
            (Some(json!([])), "credential_ids is required"),
            (Some(json!("badge")), "credential_ids is required"),
            (Some(json!([1])), "must hold strings"),
            (Some(json!(["badge", "badge"])), "twice"),
            (Some(json!(["nope"])), "nope, which is no credential query"),
            // Spec: Appendix B.3: "requires the use of an SD-JWT VC with Cryptographic
            // Holder Binding".
            (Some(json!(["w3c"])), "dc+sd-jwt presentations only"),
            (Some(json!(["mdl"])), "dc+sd-jwt presentations only"),
            (
                Some(json!(["badge", "nohb"])),
                "require_cryptographic_holder_binding",
            ),
        ] {
            let entry = match &ids {
                None => without(payment(), "credential_ids"),
                Some(v) => with(payment(), "credential_ids", v.clone()),
            };
            let m = refused(&[entry]);
            assert!(m.starts_with("transaction_data[0]: "), "{m}");
            assert!(m.contains(why), "{ids:?}: {m}");
        }
        // Several queries: fine.
        let two = with(payment(), "credential_ids", json!(["badge", "other"]));
        assert_eq!(parse(&[two]).unwrap()[0].credential_ids, ["badge", "other"]);
    }

    #[test]
    fn members_must_conform_to_the_type() {
        // Spec: OID4VP 1.0 §8.5 `invalid_transaction_data`: unknown fields, fields of the
        // wrong type, missing required fields.
        let m = refused(&[with(payment(), "iban", json!("DE00"))]);
        assert!(m.contains("member iban is not one its type defines"), "{m}");
        let m = refused(&[with(payment(), "amount", json!(42))]);
        assert!(m.contains("member amount must be a JSON string"), "{m}");
        let m = refused(&[with(payment(), "count", json!(1.5))]);
        assert!(m.contains("member count must be a JSON integer"), "{m}");
        let m = refused(&[without(payment(), "amount")]);
        assert!(m.contains("member amount is required"), "{m}");
        // Optional members may be left out; an integer is an integer.
        parse(&[with(without(payment(), "payee"), "count", json!(3))]).unwrap();
    }

    #[test]
    fn transaction_data_hashes_alg_must_be_supported_and_allowed() {
        // Spec: Appendix B.3.3: a non-empty array of hash algorithm identifiers.
        let algs = |v: Value| with(payment(), "transaction_data_hashes_alg", v);
        assert_eq!(
            parse(&[algs(json!(["sha-512", "sha-256"]))]).unwrap()[0].hash_algs,
            Some(vec!["sha-512".to_owned(), "sha-256".to_owned()])
        );
        for (v, why) in [
            (json!([]), "non-empty"),
            (json!("sha-256"), "must be an array"),
            (json!(["md5"]), "md5 is not a supported"),
            (json!(["sha-256", "sha-256"]), "twice"),
            (json!([256]), "strings"),
        ] {
            let m = refused(&[algs(v.clone())]);
            assert!(m.contains(why), "{v}: {m}");
        }
        let qes = json!({"type": "qes", "credential_ids": ["badge"]});
        // The type allows sha-384 and sha-512 only: the default sha-256 is not enough.
        let m = refused(std::slice::from_ref(&qes));
        assert!(m.contains("transaction_data_hashes_alg is required"), "{m}");
        let m = refused(&[with(
            qes.clone(),
            "transaction_data_hashes_alg",
            json!(["sha-256"]),
        )]);
        assert!(m.contains("sha-256 is not allowed for its type"), "{m}");
        parse(&[with(qes, "transaction_data_hashes_alg", json!(["sha-384"]))]).unwrap();
    }

    #[test]
    fn counts_sizes_and_repeats_are_bounded() {
        let many: Vec<Value> = (0..=MAX_ENTRIES)
            .map(|i| with(payment(), "count", json!(i)))
            .collect();
        assert!(refused(&many).contains("at most 16 entries"));
        let long = with(payment(), "payee", json!("x".repeat(MAX_ENTRY_LEN)));
        assert!(refused(&[long]).contains("at most 8192 characters"));
        let m = refused(&[payment(), payment()]);
        assert!(m.starts_with("transaction_data[1]: repeats"), "{m}");
    }

    #[test]
    fn the_failing_entry_is_named_by_its_index() {
        let m = refused(&[payment(), with(payment(), "type", json!("x"))]);
        assert!(m.starts_with("transaction_data[1]: type x"), "{m}");
    }

    #[test]
    fn unreadable_stored_entries_are_internal_errors() {
        assert!(matches!(
            parse_stored(&["%%".to_owned()]),
            Err(VerifierError::Internal(_))
        ));
    }

    // --- the KB-JWT (Appendix B.3.3) ---

    fn entries(list: &[Value]) -> Vec<TransactionDataEntry> {
        parse(list).unwrap()
    }

    fn kb(hashes: Option<Value>, alg: Option<&str>) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("nonce".into(), "n".into());
        if let Some(h) = hashes {
            m.insert("transaction_data_hashes".into(), h);
        }
        if let Some(a) = alg {
            m.insert("transaction_data_hashes_alg".into(), a.into());
        }
        m
    }

    fn h(alg: &str, e: &TransactionDataEntry) -> Value {
        hash_b64(alg, &e.encoded).unwrap().into()
    }

    /// The rejection message of a refused KB-JWT.
    fn kb_refused(e: &[TransactionDataEntry], query: &str, claims: &Map<String, Value>) -> String {
        match check_key_binding(e, query, claims) {
            Err((RejectReason::TransactionData, m)) => m,
            other => panic!("expected a transaction_data rejection, got {other:?}"),
        }
    }

    #[test]
    fn hashes_over_the_strings_as_sent_authorize_their_entries() {
        let e = entries(&[payment(), with(payment(), "count", json!(2))]);
        // Spec: Appendix B.3.3: "calculated using a hash function over the string received
        // in the `transaction_data` request parameter (base64url decoding is not performed
        // before hashing)"; sha-256 by default.
        let expected = base64url::encode(digest::sha256(e[1].encoded.as_bytes()));
        assert_eq!(h("sha-256", &e[1]), json!(expected));
        let claims = kb(
            Some(json!([h("sha-256", &e[1]), h("sha-256", &e[0])])),
            None,
        );
        assert_eq!(check_key_binding(&e, "badge", &claims).unwrap(), [1, 0]);
        // Naming the default explicitly is the same.
        let claims = kb(
            Some(json!([h("sha-256", &e[0]), h("sha-256", &e[1])])),
            Some("sha-256"),
        );
        assert_eq!(check_key_binding(&e, "badge", &claims).unwrap(), [0, 1]);
        // A hash over the decoded JSON is not the hash of the string as sent.
        let decoded = base64url::encode(digest::sha256(payment().to_string().as_bytes()));
        let m = kb_refused(&e, "badge", &kb(Some(json!([decoded])), None));
        assert!(
            m.contains("is the sha-256 hash of no transaction_data entry"),
            "{m}"
        );
    }

    #[test]
    fn missing_hashes_are_refused_when_only_this_query_can_authorize() {
        let e = entries(&[payment()]);
        let m = kb_refused(&e, "badge", &kb(None, None));
        assert!(m.contains("has no transaction_data_hashes"), "{m}");
        assert!(m.contains("entry 0"), "{m}");
        // An entry another query may authorize leaves this KB-JWT free (the response
        // checks that some presentation authorized it).
        let e = entries(&[with(payment(), "credential_ids", json!(["other", "badge"]))]);
        assert!(
            check_key_binding(&e, "badge", &kb(None, None))
                .unwrap()
                .is_empty()
        );
        // No transaction data at all: nothing to authorize.
        assert!(
            check_key_binding(&[], "badge", &kb(None, None))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn hashes_without_an_entry_for_this_query_are_refused() {
        let e = entries(&[payment()]);
        let claims = kb(Some(json!([h("sha-256", &e[0])])), None);
        let m = kb_refused(&e, "other", &claims);
        assert!(
            m.contains("no transaction_data entry lists that query"),
            "{m}"
        );
        let m = kb_refused(&[], "badge", &claims);
        assert!(
            m.contains("no transaction_data entry lists that query"),
            "{m}"
        );
        // An entry for another query: its hash does not belong in this KB-JWT.
        let e = entries(&[
            payment(),
            with(payment(), "credential_ids", json!(["other"])),
        ]);
        let claims = kb(
            Some(json!([h("sha-256", &e[0]), h("sha-256", &e[1])])),
            None,
        );
        let m = kb_refused(&e, "badge", &claims);
        assert!(
            m.contains("[1] is over transaction_data entry 1, whose credential_ids do not list"),
            "{m}"
        );
    }

    #[test]
    fn wrong_repeated_or_malformed_hashes_are_refused() {
        let e = entries(&[payment()]);
        let m = kb_refused(&e, "badge", &kb(Some(json!(["AAAA"])), None));
        assert!(
            m.contains("transaction_data_hashes[0] is the sha-256 hash of no"),
            "{m}"
        );
        let twice = kb(
            Some(json!([h("sha-256", &e[0]), h("sha-256", &e[0])])),
            None,
        );
        assert!(kb_refused(&e, "badge", &twice).contains("more transaction_data_hashes"));
        let e2 = entries(&[payment(), with(payment(), "count", json!(1))]);
        let twice = kb(
            Some(json!([h("sha-256", &e2[0]), h("sha-256", &e2[0])])),
            None,
        );
        let m = kb_refused(&e2, "badge", &twice);
        assert!(
            m.contains("repeats the hash of transaction_data entry 0"),
            "{m}"
        );
        for bad in [json!([]), json!("x"), json!([1])] {
            let m = kb_refused(&e, "badge", &kb(Some(bad.clone()), None));
            assert!(m.contains("transaction_data_hashes"), "{bad}: {m}");
        }
        let m = kb_refused(&e, "badge", &kb(None, Some("sha-256")));
        assert!(m.contains("but no transaction_data_hashes"), "{m}");
    }

    #[test]
    fn entries_only_this_query_can_authorize_must_all_be_hashed() {
        let e = entries(&[payment(), with(payment(), "count", json!(1))]);
        let claims = kb(Some(json!([h("sha-256", &e[0])])), None);
        let m = kb_refused(&e, "badge", &claims);
        assert!(
            m.contains("entry 1 can only be authorized by credential query badge"),
            "{m}"
        );
    }

    #[test]
    fn the_hash_algorithm_must_be_one_the_entry_allows() {
        // No transaction_data_hashes_alg in the request: "the hash function MUST be
        // sha-256" (Appendix B.3.3).
        let e = entries(&[payment()]);
        let claims = kb(Some(json!([h("sha-512", &e[0])])), Some("sha-512"));
        let m = kb_refused(&e, "badge", &claims);
        assert!(
            m.contains("so its hash must be sha-256, not sha-512"),
            "{m}"
        );
        let m = kb_refused(
            &e,
            "badge",
            &kb(Some(json!([h("sha-256", &e[0])])), Some("md5")),
        );
        assert!(m.contains("md5 is not a supported"), "{m}");
        let m = kb_refused(
            &e,
            "badge",
            &kb(Some(json!([h("sha-256", &e[0])])), Some("sha-512")),
        );
        assert!(
            m.contains("sha-512 hash of no transaction_data entry"),
            "{m}"
        );
        // With transaction_data_hashes_alg in the request: one of its values, named.
        let qes = json!({"type": "qes", "credential_ids": ["badge"],
            "transaction_data_hashes_alg": ["sha-384"]});
        let e = entries(&[qes]);
        let ok = kb(Some(json!([h("sha-384", &e[0])])), Some("sha-384"));
        assert_eq!(check_key_binding(&e, "badge", &ok).unwrap(), [0]);
        let m = kb_refused(&e, "badge", &kb(Some(json!([h("sha-256", &e[0])])), None));
        assert!(
            m.contains("so the KB-JWT must name its hash algorithm"),
            "{m}"
        );
        let m = kb_refused(
            &e,
            "badge",
            &kb(Some(json!([h("sha-512", &e[0])])), Some("sha-512")),
        );
        assert!(
            m.contains("sha-512 is not one transaction_data entry 0 allows (sha-384)"),
            "{m}"
        );
        let m = kb_refused(
            &e,
            "badge",
            &kb(Some(json!([h("sha-384", &e[0])])), Some("sha3-256")),
        );
        assert!(m.contains("not a supported"), "{m}");
        let mut numeric = ok.clone();
        numeric.insert("transaction_data_hashes_alg".into(), json!(384));
        assert!(kb_refused(&e, "badge", &numeric).contains("must be a string"));
    }

    #[test]
    fn every_entry_must_be_authorized_by_some_presentation() {
        let e = entries(&[payment(), with(payment(), "count", json!(1))]);
        check_all_authorized(&e, &BTreeSet::from([0, 1])).unwrap();
        let (reason, m) = check_all_authorized(&e, &BTreeSet::from([1])).unwrap_err();
        assert_eq!(reason, RejectReason::TransactionData);
        assert!(
            m.contains("entry 0 is authorized by no presentation"),
            "{m}"
        );
    }
}
