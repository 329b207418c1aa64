//! Digital Credentials Query Language (OID4VP 1.0 §6) and Claims Path Pointers (§7):
//! parsing with every structural rule checked ([`DcqlQuery::parse`]), and the verifier's
//! side of §6.4: whether verified presentations satisfy a query.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use vdc_core::claims_path::{ClaimPath, PathElement};

use crate::error::{Result, VerifierError};

/// `dc+sd-jwt` (OID4VP 1.0 Appendix B.3).
pub const FORMAT_DC_SD_JWT: &str = "dc+sd-jwt";
/// `jwt_vc_json` (OID4VP 1.0 Appendix B.1.3.1).
pub const FORMAT_JWT_VC_JSON: &str = "jwt_vc_json";
/// `mso_mdoc` (OID4VP 1.0 Appendix B.2: ISO/IEC 18013-5 mdocs).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";

/// Longest `meta.doctype_value` accepted (ISO 18013-5 docTypes are short reverse-domain names).
const MAX_DOCTYPE_LEN: usize = 256;

/// Most credential queries in one DCQL query (bounds work per request).
const MAX_CREDENTIAL_QUERIES: usize = 32;
/// Most claims queries per credential query.
const MAX_CLAIMS: usize = 128;

/// A validated DCQL query (§6).
#[derive(Debug, Clone, PartialEq)]
pub struct DcqlQuery {
    /// The Credential Queries (§6.1).
    pub credentials: Vec<CredentialQuery>,
    /// The Credential Set Queries (§6.2).
    pub credential_sets: Option<Vec<CredentialSetQuery>>,
}

/// A Credential Query (§6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialQuery {
    /// `id`.
    pub id: String,
    /// `format`.
    pub format: String,
    /// `multiple` (default false).
    pub multiple: bool,
    /// `meta.vct_values` (dc+sd-jwt).
    pub vct_values: Option<Vec<String>>,
    /// `meta.type_values` (jwt_vc_json).
    pub type_values: Option<Vec<Vec<String>>>,
    /// `meta.doctype_value` (mso_mdoc, where it is required: OID4VP 1.0 Appendix B.2.3).
    pub doctype_value: Option<String>,
    /// `claims`.
    pub claims: Option<Vec<ClaimsQuery>>,
    /// `claim_sets` (claim ids).
    pub claim_sets: Option<Vec<Vec<String>>>,
    /// `require_cryptographic_holder_binding` (default true).
    pub require_cryptographic_holder_binding: bool,
    /// `trusted_authorities` (§6.1.1); only the `aki` type is supported.
    pub trusted_authorities: Option<Vec<TrustedAuthoritiesQuery>>,
}

/// A Trusted Authorities Query (OID4VP 1.0 §6.1.1) of type `aki` (§6.1.1.1, which HAIP 1.0
/// §5 makes mandatory): the KeyIdentifiers of Authority Key Identifiers, one of which a
/// certificate of the credential's chain must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedAuthoritiesQuery {
    /// The `values`, base64url-decoded: raw KeyIdentifier bytes (RFC 5280 §4.2.1.1).
    pub aki: Vec<Vec<u8>>,
}

/// Most Trusted Authorities Queries, and values in one, per credential query.
const MAX_TRUSTED_AUTHORITIES: usize = 64;

/// A Claims Query (§6.3).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimsQuery {
    /// `id` (required with `claim_sets`).
    pub id: Option<String>,
    /// `path`.
    pub path: ClaimPath,
    /// `values`.
    pub values: Option<Vec<Value>>,
    /// `intent_to_retain` (mso_mdoc only, OID4VP 1.0 Appendix B.2.4); `None` when absent
    /// (the verifier "makes no statement on `IntentToRetain`").
    pub intent_to_retain: Option<bool>,
}

/// A Credential Set Query (§6.2).
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialSetQuery {
    /// `options`: each a list of Credential Query ids.
    pub options: Vec<Vec<String>>,
    /// `required` (default true).
    pub required: bool,
}

fn bad(msg: impl Into<String>) -> VerifierError {
    VerifierError::InvalidRequest(format!("dcql_query: {}", msg.into()))
}

/// Spec: OID4VP 1.0 §6.1: `id` "MUST be a non-empty string consisting of alphanumeric,
/// underscore (_), or hyphen (-) characters".
fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| bad(format!("{what} must be an object")))
}

fn non_empty_array<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>> {
    match v.as_array() {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(bad(format!("{what} must be a non-empty array"))),
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>> {
    non_empty_array(v, what)?
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("{what} must hold strings")))
        })
        .collect()
}

fn opt_bool(o: &Map<String, Value>, name: &str, default: bool) -> Result<bool> {
    match o.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad(format!("{name} must be a boolean"))),
    }
}

impl DcqlQuery {
    /// Parses and validates a DCQL query. Every violation is `invalid_request`.
    pub fn parse(value: &Value) -> Result<Self> {
        let o = obj(value, "the query")?;
        let creds = non_empty_array(o.get("credentials").unwrap_or(&Value::Null), "credentials")?;
        if creds.len() > MAX_CREDENTIAL_QUERIES {
            return Err(bad("too many credential queries"));
        }
        let credentials = creds
            .iter()
            .map(CredentialQuery::parse)
            .collect::<Result<Vec<_>>>()?;
        let mut ids = BTreeSet::new();
        for c in &credentials {
            // Spec: §6.1: "The value MUST be unique within the Authorization Request".
            if !ids.insert(c.id.as_str()) {
                return Err(bad(format!("duplicate credential query id {}", c.id)));
            }
        }
        let credential_sets = match o.get("credential_sets") {
            None => None,
            Some(v) => {
                let sets = non_empty_array(v, "credential_sets")?
                    .iter()
                    .map(|s| CredentialSetQuery::parse(s, &ids))
                    .collect::<Result<Vec<_>>>()?;
                Some(sets)
            }
        };
        Ok(Self {
            credentials,
            credential_sets,
        })
    }

    /// The query as JSON (for the request object).
    pub fn to_value(&self) -> Value {
        let creds: Vec<Value> = self
            .credentials
            .iter()
            .map(CredentialQuery::to_value)
            .collect();
        let mut o = Map::new();
        o.insert("credentials".into(), Value::Array(creds));
        if let Some(sets) = &self.credential_sets {
            let sets = sets
                .iter()
                .map(|s| serde_json::json!({"options": s.options, "required": s.required}))
                .collect();
            o.insert("credential_sets".into(), Value::Array(sets));
        }
        Value::Object(o)
    }

    /// The credential query with this id.
    pub fn credential(&self, id: &str) -> Option<&CredentialQuery> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// Spec: OID4VP 1.0 §6.4.2: which credential query ids must be answered. Without
    /// `credential_sets` every query is required; with them, every required set needs one
    /// option whose ids all were answered. `answered` are the ids present in the response.
    pub fn satisfied_by(&self, answered: &BTreeSet<&str>) -> std::result::Result<(), String> {
        match &self.credential_sets {
            None => {
                for c in &self.credentials {
                    if !answered.contains(c.id.as_str()) {
                        return Err(format!("no presentation for credential query {}", c.id));
                    }
                }
            }
            Some(sets) => {
                for (i, set) in sets.iter().enumerate() {
                    let met = set
                        .options
                        .iter()
                        .any(|opt| opt.iter().all(|id| answered.contains(id.as_str())));
                    if set.required && !met {
                        return Err(format!("credential set {i} is not satisfied"));
                    }
                }
            }
        }
        // Spec: §8.1: no entry for queries that were not asked for.
        for id in answered {
            if self.credential(id).is_none() {
                return Err(format!("presentation for unknown credential query {id}"));
            }
        }
        Ok(())
    }
}

impl CredentialQuery {
    fn parse(v: &Value) -> Result<Self> {
        let o = obj(v, "a credential query")?;
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| valid_id(s))
            .ok_or_else(|| bad("credential query id must be alphanumeric, _ or -"))?
            .to_owned();
        let format = o
            .get("format")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("format is required"))?
            .to_owned();
        if ![FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON, FORMAT_MSO_MDOC].contains(&format.as_str()) {
            return Err(bad(format!(
                "format must be {FORMAT_DC_SD_JWT}, {FORMAT_JWT_VC_JSON} or {FORMAT_MSO_MDOC}"
            )));
        }
        // Spec: §6.1: `meta` is REQUIRED (an object, possibly empty). Its members are
        // defined per format (Appendix B); one defined for another format, or by no
        // specification, is unknown here and ignored (§6: "Implementations MUST ignore any
        // unknown properties").
        let meta = obj(o.get("meta").unwrap_or(&Value::Null), "meta")?;
        let doctype_value = match (format.as_str(), meta.get("doctype_value")) {
            (FORMAT_MSO_MDOC, Some(Value::String(d)))
                if !d.is_empty() && d.len() <= MAX_DOCTYPE_LEN =>
            {
                Some(d.clone())
            }
            (FORMAT_MSO_MDOC, Some(_)) => {
                return Err(bad(format!(
                    "meta.doctype_value must be a string of 1 to {MAX_DOCTYPE_LEN} bytes"
                )));
            }
            // Spec: OID4VP 1.0 Appendix B.2.3: `doctype_value` is REQUIRED.
            (FORMAT_MSO_MDOC, None) => {
                return Err(bad("meta.doctype_value is required for mso_mdoc"));
            }
            _ => None,
        };
        // vdc accepts a `dc+sd-jwt` query without `vct_values` although Appendix B.3.5 makes
        // it REQUIRED: the query then places no constraint on the type (as npm `dcql` does;
        // docs/INTEROP.md, "DCQL").
        let vct_values = match (format.as_str(), meta.get("vct_values")) {
            (FORMAT_DC_SD_JWT, Some(v)) => Some(strings(v, "meta.vct_values")?),
            _ => None,
        };
        let type_values = match (format.as_str(), meta.get("type_values")) {
            (FORMAT_JWT_VC_JSON, Some(v)) => Some(
                non_empty_array(v, "meta.type_values")?
                    .iter()
                    .map(|t| strings(t, "meta.type_values[]"))
                    .collect::<Result<Vec<_>>>()?,
            ),
            // Spec: OID4VP 1.0 Appendix B.1.1: `type_values` is REQUIRED.
            (FORMAT_JWT_VC_JSON, None) => {
                return Err(bad("meta.type_values is required for jwt_vc_json"));
            }
            _ => None,
        };
        let claims = match o.get("claims") {
            None => None,
            Some(v) => {
                let arr = non_empty_array(v, "claims")?;
                if arr.len() > MAX_CLAIMS {
                    return Err(bad("too many claims"));
                }
                Some(
                    arr.iter()
                        .map(|c| ClaimsQuery::parse(c, &format))
                        .collect::<Result<Vec<_>>>()?,
                )
            }
        };
        let claim_sets = match o.get("claim_sets") {
            None => None,
            Some(v) => {
                // Spec: §6.1: claim_sets MUST NOT be present if claims is absent.
                let Some(claims) = &claims else {
                    return Err(bad("claim_sets without claims"));
                };
                let known: BTreeSet<&str> = claims.iter().filter_map(|c| c.id.as_deref()).collect();
                let sets = non_empty_array(v, "claim_sets")?
                    .iter()
                    .map(|s| {
                        let ids = strings(s, "claim_sets[]")?;
                        if let Some(unknown) = ids.iter().find(|i| !known.contains(i.as_str())) {
                            return Err(bad(format!("claim_sets names unknown claim {unknown}")));
                        }
                        Ok(ids)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Some(sets)
            }
        };
        if let Some(claims) = &claims {
            let mut ids = BTreeSet::new();
            for c in claims {
                if let Some(id) = &c.id
                    && !ids.insert(id.as_str())
                {
                    return Err(bad(format!("duplicate claim id {id}")));
                }
                // Spec: §6.3: id is REQUIRED if claim_sets is present.
                if claim_sets.is_some() && c.id.is_none() {
                    return Err(bad("claims need an id when claim_sets is present"));
                }
            }
        }
        let trusted_authorities = match o.get("trusted_authorities") {
            None => None,
            Some(v) => {
                // The chains vdc validates are those of SD-JWT VC issuers (the `x5c` header)
                // and of mdocs (the `x5chain` to an IACA); a `jwt_vc_json` credential's chain
                // is not checked, so the query could not be honoured.
                if format == FORMAT_JWT_VC_JSON {
                    return Err(bad(
                        "trusted_authorities is supported for dc+sd-jwt and mso_mdoc queries",
                    ));
                }
                Some(TrustedAuthoritiesQuery::parse_all(v)?)
            }
        };
        Ok(Self {
            id,
            format,
            multiple: opt_bool(o, "multiple", false)?,
            vct_values,
            type_values,
            doctype_value,
            claims,
            claim_sets,
            require_cryptographic_holder_binding: opt_bool(
                o,
                "require_cryptographic_holder_binding",
                true,
            )?,
            trusted_authorities,
        })
    }

    /// Spec: OID4VP 1.0 §6.1.1: a credential matches if it "matches with one of the provided
    /// values in one of the provided types"; for `aki` (§6.1.1.1) a value must equal the
    /// AuthorityKeyIdentifier of a certificate in the credential's chain (`chain_akis`). True
    /// without `trusted_authorities`.
    pub fn trusted_authorities_match(&self, chain_akis: &[Vec<u8>]) -> bool {
        match &self.trusted_authorities {
            None => true,
            Some(queries) => queries
                .iter()
                .any(|q| q.aki.iter().any(|v| chain_akis.contains(v))),
        }
    }

    /// Spec: OID4VP 1.0 Appendix B.3.5: the SD-JWT VC's `vct` is one of `vct_values`; true
    /// without them.
    pub fn vct_matches(&self, vct: &str) -> bool {
        self.vct_values
            .as_ref()
            .is_none_or(|vcts| vcts.iter().any(|v| v == vct))
    }

    /// Spec: OID4VP 1.0 Appendix B.1.1 (`type_values`): the credential's types include
    /// every type of at least one of the inner arrays; true without them.
    pub fn types_match(&self, types: &[String]) -> bool {
        self.type_values.as_ref().is_none_or(|wanted| {
            wanted
                .iter()
                .any(|set| set.iter().all(|t| types.iter().any(|have| have == t)))
        })
    }

    /// Spec: OID4VP 1.0 Appendix B.2.3: the mdoc's `docType` is `doctype_value`.
    pub fn doctype_matches(&self, doctype: &str) -> bool {
        self.doctype_value.as_deref() == Some(doctype)
    }

    /// Whether a presentation for this query must prove holder binding. Spec: §6.1
    /// `require_cryptographic_holder_binding` (default true). vdc honours `false` for
    /// `dc+sd-jwt` only: a `jwt_vc_json` credential is always taken from a holder-signed VP
    /// (presentation/jwt_vc_json.rs), and an mdoc always carries its device signature.
    pub fn holder_binding_required(&self) -> bool {
        self.require_cryptographic_holder_binding || self.format != FORMAT_DC_SD_JWT
    }

    fn to_value(&self) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), self.id.clone().into());
        o.insert("format".into(), self.format.clone().into());
        let mut meta = Map::new();
        if let Some(v) = &self.vct_values {
            meta.insert("vct_values".into(), serde_json::json!(v));
        }
        if let Some(v) = &self.type_values {
            meta.insert("type_values".into(), serde_json::json!(v));
        }
        if let Some(v) = &self.doctype_value {
            meta.insert("doctype_value".into(), v.clone().into());
        }
        o.insert("meta".into(), Value::Object(meta));
        if self.multiple {
            o.insert("multiple".into(), true.into());
        }
        if let Some(claims) = &self.claims {
            let claims = claims
                .iter()
                .map(|c| {
                    let mut m = Map::new();
                    if let Some(id) = &c.id {
                        m.insert("id".into(), id.clone().into());
                    }
                    m.insert("path".into(), c.path.to_value());
                    if let Some(values) = &c.values {
                        m.insert("values".into(), Value::Array(values.clone()));
                    }
                    if let Some(retain) = c.intent_to_retain {
                        m.insert("intent_to_retain".into(), retain.into());
                    }
                    Value::Object(m)
                })
                .collect();
            o.insert("claims".into(), Value::Array(claims));
        }
        if let Some(sets) = &self.claim_sets {
            o.insert("claim_sets".into(), serde_json::json!(sets));
        }
        if !self.require_cryptographic_holder_binding {
            o.insert("require_cryptographic_holder_binding".into(), false.into());
        }
        if let Some(queries) = &self.trusted_authorities {
            let queries = queries
                .iter()
                .map(|q| {
                    let values: Vec<String> =
                        q.aki.iter().map(vdc_core::base64url::encode).collect();
                    serde_json::json!({"type": "aki", "values": values})
                })
                .collect();
            o.insert("trusted_authorities".into(), Value::Array(queries));
        }
        Value::Object(o)
    }

    /// Spec: OID4VP 1.0 §6.4.1: the claims of a verified credential satisfy this query:
    /// with `claim_sets`, the first satisfiable set; otherwise every claims query. Returns
    /// the paths that were requested (and matched), or why not.
    pub fn match_claims(
        &self,
        claims: &Map<String, Value>,
    ) -> std::result::Result<Vec<ClaimPath>, String> {
        let Some(queries) = &self.claims else {
            return Ok(Vec::new());
        };
        let root = Value::Object(claims.clone());
        let matches = |q: &ClaimsQuery| claim_matches(&root, q);
        match &self.claim_sets {
            None => {
                for q in queries {
                    if !matches(q) {
                        return Err(format!("claim {} is missing or has another value", q.path));
                    }
                }
                Ok(queries.iter().map(|q| q.path.clone()).collect())
            }
            Some(sets) => {
                let by_id: BTreeMap<&str, &ClaimsQuery> = queries
                    .iter()
                    .filter_map(|q| q.id.as_deref().map(|id| (id, q)))
                    .collect();
                for set in sets {
                    let qs: Vec<&ClaimsQuery> = set
                        .iter()
                        .filter_map(|id| by_id.get(id.as_str()).copied())
                        .collect();
                    if qs.iter().all(|q| matches(q)) {
                        return Ok(qs.iter().map(|q| q.path.clone()).collect());
                    }
                }
                Err("no claim set is satisfied".into())
            }
        }
    }
}

impl ClaimsQuery {
    fn parse(v: &Value, format: &str) -> Result<Self> {
        let o = obj(v, "a claims query")?;
        let id = match o.get("id") {
            None => None,
            Some(Value::String(s)) if valid_id(s) => Some(s.clone()),
            Some(_) => return Err(bad("claim id must be alphanumeric, _ or -")),
        };
        let path = ClaimPath::from_value(o.get("path").unwrap_or(&Value::Null))
            .map_err(|e| bad(format!("claim path: {e}")))?;
        // Spec: OID4VP 1.0 §7.2: an mdoc claims path pointer "contains two elements of type
        // string": the namespace and the data element identifier.
        if format == FORMAT_MSO_MDOC
            && !matches!(
                path.elements(),
                [PathElement::Name(_), PathElement::Name(_)]
            )
        {
            return Err(bad(
                "an mso_mdoc claim path is [namespace, data element identifier] (two strings)",
            ));
        }
        // Spec: Appendix B.2.4 defines `intent_to_retain` for mso_mdoc; for other formats
        // it is an unknown property and ignored (§6).
        let intent_to_retain = match (format, o.get("intent_to_retain")) {
            (FORMAT_MSO_MDOC, Some(Value::Bool(b))) => Some(*b),
            (FORMAT_MSO_MDOC, Some(_)) => return Err(bad("intent_to_retain must be a boolean")),
            _ => None,
        };
        let values = match o.get("values") {
            None => None,
            Some(v) => {
                let arr = non_empty_array(v, "values")?;
                // Spec: §6.3: values are strings, integers or booleans.
                if !arr
                    .iter()
                    .all(|x| x.is_string() || x.is_i64() || x.is_u64() || x.is_boolean())
                {
                    return Err(bad("values must be strings, integers or booleans"));
                }
                Some(arr.clone())
            }
        };
        Ok(Self {
            id,
            path,
            values,
            intent_to_retain,
        })
    }
}

impl TrustedAuthoritiesQuery {
    /// Parses `trusted_authorities`: a non-empty array of `{"type", "values"}` objects.
    fn parse_all(v: &Value) -> Result<Vec<Self>> {
        let arr = non_empty_array(v, "trusted_authorities")?;
        if arr.len() > MAX_TRUSTED_AUTHORITIES {
            return Err(bad("too many trusted_authorities"));
        }
        arr.iter().map(Self::parse).collect()
    }

    fn parse(v: &Value) -> Result<Self> {
        // Members besides `type` and `values` are unknown and ignored (§6).
        let o = obj(v, "a trusted authorities query")?;
        // Spec: OID4VP 1.0 §6.1.1: `type` and `values` are REQUIRED, values a non-empty
        // array of strings.
        let kind = o
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("trusted_authorities type is required"))?;
        if kind != "aki" {
            // `etsi_tl` and `openid_federation` (§6.1.1.2, §6.1.1.3) need trust-list and
            // federation resolution vdc does not do: refused rather than ignored.
            return Err(bad(format!(
                "trusted_authorities type {} is not supported (only aki)",
                crate::service::bounded(kind)
            )));
        }
        let values = strings(
            o.get("values").unwrap_or(&Value::Null),
            "trusted_authorities values",
        )?;
        if values.len() > MAX_TRUSTED_AUTHORITIES {
            return Err(bad("too many trusted_authorities values"));
        }
        // Spec: §6.1.1.1: "the KeyIdentifier ... encoded as base64url".
        let aki = values
            .iter()
            .map(|s| match vdc_core::base64url::decode(s) {
                Ok(b) if !b.is_empty() && b.len() <= 64 => Ok(b),
                _ => Err(bad(
                    "an aki value must be a base64url KeyIdentifier (1 to 64 bytes)",
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { aki })
    }
}

impl CredentialSetQuery {
    fn parse(v: &Value, ids: &BTreeSet<&str>) -> Result<Self> {
        let o = obj(v, "a credential set query")?;
        let options = non_empty_array(o.get("options").unwrap_or(&Value::Null), "options")?
            .iter()
            .map(|opt| {
                let opt = strings(opt, "options[]")?;
                if let Some(unknown) = opt.iter().find(|i| !ids.contains(i.as_str())) {
                    return Err(bad(format!(
                        "options names unknown credential query {unknown}"
                    )));
                }
                Ok(opt)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            options,
            required: opt_bool(o, "required", true)?,
        })
    }
}

/// Spec: OID4VP 1.0 §7.1.1: the elements a claims path pointer selects; empty if the path
/// selects nothing (then the claim is absent).
pub fn select<'a>(root: &'a Value, path: &ClaimPath) -> Vec<&'a Value> {
    let mut current = vec![root];
    for element in path.elements() {
        let mut next = Vec::new();
        for v in current {
            match (element, v) {
                (PathElement::Name(n), Value::Object(o)) => next.extend(o.get(n)),
                (PathElement::Index(i), Value::Array(a)) => next.extend(a.get(*i)),
                (PathElement::AllElements, Value::Array(a)) => next.extend(a.iter()),
                _ => {}
            }
        }
        current = next;
    }
    current
}

/// Whether the claim exists and, with `values`, one selected value equals one of them
/// (§6.4.1).
fn claim_matches(root: &Value, q: &ClaimsQuery) -> bool {
    let selected = select(root, &q.path);
    match &q.values {
        None => !selected.is_empty(),
        Some(values) => selected.iter().any(|s| values.contains(s)),
    }
}

/// A decoded credential a DCQL query is evaluated against ([`evaluate`]): what the
/// verifier has of a credential once its presentation verified. The member names are
/// those of npm `dcql`'s `DcqlCredential` (conformance/dcql compares the two evaluators on
/// the same input).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateCredential {
    /// The Credential Format Identifier (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`).
    pub credential_format: String,
    /// `vct` (dc+sd-jwt).
    #[serde(default)]
    pub vct: Option<String>,
    /// `docType` (mso_mdoc).
    #[serde(default)]
    pub doctype: Option<String>,
    /// The credential's `type` values (jwt_vc_json).
    #[serde(default, rename = "type")]
    pub types: Option<Vec<String>>,
    /// The claims the paths select from: the SD-JWT VC's processed payload, the whole
    /// W3C credential (Appendix B.1.2).
    #[serde(default)]
    pub claims: Option<Map<String, Value>>,
    /// mso_mdoc: `{namespace: {data element identifier: value as JSON}}` (§7.2).
    #[serde(default)]
    pub namespaces: Option<Map<String, Value>>,
    /// Whether the presentation proves holder binding (a KB-JWT, a holder-signed VP, a
    /// device signature).
    pub cryptographic_holder_binding: bool,
    /// The authority the credential's chain carries (`{"type": "aki", "values": [...]}`):
    /// base64url KeyIdentifiers of AuthorityKeyIdentifiers in its X.509 chain.
    #[serde(default)]
    pub authority: Option<CandidateAuthority>,
}

/// [`CandidateCredential::authority`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateAuthority {
    /// Only `aki` ties a credential to an authority in vdc (§6.1.1.1).
    #[serde(rename = "type")]
    pub kind: String,
    /// base64url KeyIdentifiers.
    pub values: Vec<String>,
}

impl CandidateCredential {
    /// The chain's AuthorityKeyIdentifiers as raw bytes (what the presentation checks hand
    /// to [`CredentialQuery::trusted_authorities_match`]); a value that is not base64url
    /// names no key identifier.
    fn chain_akis(&self) -> Vec<Vec<u8>> {
        match &self.authority {
            Some(a) if a.kind == "aki" => a
                .values
                .iter()
                .filter_map(|v| vdc_core::base64url::decode(v).ok())
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl CredentialQuery {
    /// Whether a verified credential satisfies this query: the checks the presentation
    /// modules make after the cryptography (format, holder binding, `meta` per Appendix B,
    /// claims and claim_sets per §6.4.1, trusted_authorities per §6.1.1), through the same
    /// functions.
    pub fn matches(&self, c: &CandidateCredential) -> bool {
        if c.credential_format != self.format {
            return false;
        }
        if self.holder_binding_required() && !c.cryptographic_holder_binding {
            return false;
        }
        let meta = match self.format.as_str() {
            FORMAT_DC_SD_JWT => c.vct.as_deref().is_some_and(|v| self.vct_matches(v)),
            FORMAT_JWT_VC_JSON => c.types.as_deref().is_some_and(|t| self.types_match(t)),
            FORMAT_MSO_MDOC => c
                .doctype
                .as_deref()
                .is_some_and(|d| self.doctype_matches(d)),
            _ => false,
        };
        let claims = if self.format == FORMAT_MSO_MDOC {
            &c.namespaces
        } else {
            &c.claims
        };
        let empty = Map::new();
        meta && self.match_claims(claims.as_ref().unwrap_or(&empty)).is_ok()
            && self.trusted_authorities_match(&c.chain_akis())
    }
}

/// What [`evaluate`] found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Evaluation {
    /// Per credential query id, the indices of the candidates that match it (possibly none).
    pub matches: BTreeMap<String, Vec<usize>>,
    /// Spec: §6.4.2: whether presentations of matching candidates could satisfy the query:
    /// every required credential set has an option whose queries all have a match; without
    /// credential_sets, every credential query has one.
    pub can_be_satisfied: bool,
}

/// Evaluates a DCQL query against decoded candidate credentials (the verifier's checks of
/// §6.4 without the cryptography), as a wallet would select credentials.
pub fn evaluate(query: &DcqlQuery, credentials: &[CandidateCredential]) -> Evaluation {
    let matches: BTreeMap<String, Vec<usize>> = query
        .credentials
        .iter()
        .map(|q| {
            let idx = credentials
                .iter()
                .enumerate()
                .filter(|(_, c)| q.matches(c))
                .map(|(i, _)| i)
                .collect();
            (q.id.clone(), idx)
        })
        .collect();
    let answerable: BTreeSet<&str> = matches
        .iter()
        .filter(|(_, m)| !m.is_empty())
        .map(|(id, _)| id.as_str())
        .collect();
    Evaluation {
        can_be_satisfied: query.satisfied_by(&answerable).is_ok(),
        matches,
    }
}

/// The answer of `vdc dcql match`: whether the query is valid (else why not), and if so
/// the [`Evaluation`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MatchReport {
    /// Whether [`DcqlQuery::parse`] accepted the query.
    pub valid: bool,
    /// Why it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// See [`Evaluation::matches`] (empty for an invalid query).
    pub matches: BTreeMap<String, Vec<usize>>,
    /// See [`Evaluation::can_be_satisfied`] (false for an invalid query).
    pub can_be_satisfied: bool,
}

/// `{"query": <DCQL>, "credentials": [<CandidateCredential>...]}` → [`MatchReport`]. An
/// invalid query is a report (`valid: false`), malformed input (no `query`, a candidate
/// that does not decode) an error.
pub fn match_input(input: &Value) -> std::result::Result<MatchReport, String> {
    let o = input
        .as_object()
        .ok_or("the input must be an object {query, credentials}")?;
    if let Some(unknown) = o.keys().find(|k| *k != "query" && *k != "credentials") {
        return Err(format!("unknown member {unknown} in the input"));
    }
    let query = o.get("query").ok_or("the input has no query")?;
    let credentials: Vec<CandidateCredential> = serde_json::from_value(
        o.get("credentials")
            .cloned()
            .unwrap_or(Value::Array(vec![])),
    )
    .map_err(|e| format!("credentials: {e}"))?;
    Ok(match DcqlQuery::parse(query) {
        Ok(q) => {
            let e = evaluate(&q, &credentials);
            MatchReport {
                valid: true,
                error: None,
                matches: e.matches,
                can_be_satisfied: e.can_be_satisfied,
            }
        }
        Err(e) => MatchReport {
            valid: false,
            error: Some(e.to_string()),
            matches: BTreeMap::new(),
            can_be_satisfied: false,
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn badge() -> Value {
        json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
            "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "values": ["E-1"]}]}]})
    }

    #[test]
    fn contract_example_query_parses_and_round_trips() {
        let q = DcqlQuery::parse(&badge()).unwrap();
        assert_eq!(q.credentials[0].id, "badge");
        assert!(q.credentials[0].require_cryptographic_holder_binding);
        assert_eq!(DcqlQuery::parse(&q.to_value()).unwrap(), q);
    }

    #[test]
    fn structural_violations_are_invalid_request() {
        let cases = [
            json!({}),
            json!({"credentials": []}),
            json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": {}}]}),
            json!({"credentials": [{"id": "a", "format": "mso_mdoc", "meta": {}}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt"}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}},
                                   {"id": "a", "format": "dc+sd-jwt", "meta": {}}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": []}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
                                    "claims": [{"path": []}]}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
                                    "claim_sets": [["x"]]}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
                                    "claims": [{"path": ["x"]}], "claim_sets": [["x"]]}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
                                    "claims": [{"path": ["x"], "values": [{"o": 1}]}]}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}],
                   "credential_sets": [{"options": [["b"]]}]}),
            json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": "x"}}]}),
        ];
        for c in cases {
            assert!(
                matches!(DcqlQuery::parse(&c), Err(VerifierError::InvalidRequest(_))),
                "{c}"
            );
        }
    }

    #[test]
    fn values_must_match_and_claim_sets_pick_the_first_satisfiable_set() {
        let q = DcqlQuery::parse(&badge()).unwrap();
        let ok = json!({"given_name": "Ada", "employee_id": "E-1"});
        let wrong = json!({"given_name": "Ada", "employee_id": "E-2"});
        assert!(
            q.credentials[0]
                .match_claims(ok.as_object().unwrap())
                .is_ok()
        );
        assert!(
            q.credentials[0]
                .match_claims(wrong.as_object().unwrap())
                .is_err()
        );
        let q = DcqlQuery::parse(&json!({"credentials": [{"id": "a", "format": "dc+sd-jwt",
            "meta": {}, "claims": [{"id": "x", "path": ["x"]}, {"id": "y", "path": ["y"]}],
            "claim_sets": [["x", "y"], ["y"]]}]}))
        .unwrap();
        let paths = q.credentials[0]
            .match_claims(json!({"y": 1}).as_object().unwrap())
            .unwrap();
        assert_eq!(paths, vec![ClaimPath::names(&["y"]).unwrap()]);
    }

    #[test]
    fn credential_sets_decide_which_queries_are_required() {
        let q = DcqlQuery::parse(&json!({"credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {}},
            {"id": "b", "format": "dc+sd-jwt", "meta": {}}],
            "credential_sets": [{"options": [["a"], ["b"]]}]}))
        .unwrap();
        assert!(q.satisfied_by(&BTreeSet::from(["b"])).is_ok());
        assert!(q.satisfied_by(&BTreeSet::new()).is_err());
        assert!(q.satisfied_by(&BTreeSet::from(["b", "c"])).is_err());
        let all = DcqlQuery::parse(&badge()).unwrap();
        assert!(all.satisfied_by(&BTreeSet::new()).is_err());
    }

    #[test]
    fn trusted_authorities_aki_parses_round_trips_and_matches_a_chain_aki() {
        let q = DcqlQuery::parse(&json!({"credentials": [{"id": "a", "format": "dc+sd-jwt",
            "meta": {}, "trusted_authorities": [
                {"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}]}]}))
        .unwrap();
        let c = &q.credentials[0];
        let want = vdc_core::base64url::decode("s9tIpPmhxdiuNkHMEWNpYim8S8Y").unwrap();
        assert_eq!(
            c.trusted_authorities.as_ref().unwrap()[0].aki,
            vec![want.clone()]
        );
        assert_eq!(DcqlQuery::parse(&q.to_value()).unwrap(), q);
        assert!(c.trusted_authorities_match(&[vec![1, 2], want]));
        assert!(!c.trusted_authorities_match(&[vec![1, 2]]));
        assert!(!c.trusted_authorities_match(&[]));
        let plain = DcqlQuery::parse(&badge()).unwrap();
        assert!(plain.credentials[0].trusted_authorities_match(&[]));
    }

    #[test]
    fn other_trusted_authorities_types_and_malformed_aki_are_invalid_request() {
        let with = |ta: Value, format: &str| {
            json!({"credentials": [{"id": "a", "format": format,
                "meta": {"type_values": [["VerifiableCredential"]]},
                "trusted_authorities": ta}]})
        };
        let cases = [
            with(
                json!([{"type": "etsi_tl", "values": ["https://tl.example"]}]),
                "dc+sd-jwt",
            ),
            with(
                json!([{"type": "openid_federation", "values": ["https://ta.example"]}]),
                "dc+sd-jwt",
            ),
            with(json!([]), "dc+sd-jwt"),
            with(json!([{"type": "aki"}]), "dc+sd-jwt"),
            with(json!([{"type": "aki", "values": []}]), "dc+sd-jwt"),
            with(
                json!([{"type": "aki", "values": ["not base64url!"]}]),
                "dc+sd-jwt",
            ),
            with(json!([{"type": "aki", "values": ["AQ=="]}]), "dc+sd-jwt"),
            with(json!({"type": "aki", "values": ["AQ"]}), "dc+sd-jwt"),
            with(json!([{"type": "aki", "values": ["AQ"]}]), "jwt_vc_json"),
        ];
        for c in cases {
            match DcqlQuery::parse(&c) {
                Err(VerifierError::InvalidRequest(m)) => {
                    assert!(
                        m.contains("trusted_authorities")
                            || m.contains("trusted authorities")
                            || m.contains("aki"),
                        "{m}"
                    )
                }
                other => panic!("{c}: {other:?}"),
            }
        }
        match DcqlQuery::parse(&with(
            json!([{"type": "etsi_tl", "values": ["x"]}]),
            "dc+sd-jwt",
        )) {
            Err(VerifierError::InvalidRequest(m)) => assert!(m.contains("only aki"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mso_mdoc_queries_need_a_doctype_and_namespace_element_paths() {
        let mdl = |meta: Value, claims: Value| {
            json!({"credentials": [{"id": "mdl", "format": "mso_mdoc", "meta": meta,
                "claims": claims}]})
        };
        let ok = mdl(
            json!({"doctype_value": "org.iso.18013.5.1.mDL"}),
            json!([{"path": ["org.iso.18013.5.1", "family_name"], "intent_to_retain": true},
                {"path": ["org.iso.18013.5.1", "age_over_18"], "values": [true]}]),
        );
        let q = DcqlQuery::parse(&ok).unwrap();
        let c = &q.credentials[0];
        assert_eq!(c.doctype_value.as_deref(), Some("org.iso.18013.5.1.mDL"));
        let claims = c.claims.as_ref().unwrap();
        assert_eq!(claims[0].intent_to_retain, Some(true));
        assert_eq!(claims[1].intent_to_retain, None);
        assert_eq!(DcqlQuery::parse(&q.to_value()).unwrap(), q);
        assert_eq!(
            q.to_value()["credentials"][0]["claims"][0]["intent_to_retain"],
            true
        );
        let elements = json!({"org.iso.18013.5.1": {"family_name": "Doe", "age_over_18": true}});
        assert!(c.match_claims(elements.as_object().unwrap()).is_ok());
        let wrong = json!({"org.iso.18013.5.1": {"family_name": "Doe", "age_over_18": false}});
        assert!(c.match_claims(wrong.as_object().unwrap()).is_err());
        let cases = [
            // Spec: B.2.3: doctype_value is REQUIRED.
            mdl(json!({}), json!([{"path": ["ns", "x"]}])),
            mdl(json!({"doctype_value": ""}), json!([{"path": ["ns", "x"]}])),
            mdl(json!({"doctype_value": 1}), json!([{"path": ["ns", "x"]}])),
            // Spec: §7.2: exactly two strings.
            mdl(json!({"doctype_value": "d"}), json!([{"path": ["ns"]}])),
            mdl(
                json!({"doctype_value": "d"}),
                json!([{"path": ["ns", "x", "y"]}]),
            ),
            mdl(json!({"doctype_value": "d"}), json!([{"path": ["ns", 0]}])),
            mdl(
                json!({"doctype_value": "d"}),
                json!([{"path": ["ns", null]}]),
            ),
            mdl(
                json!({"doctype_value": "d"}),
                json!([{"path": ["ns", "x"], "intent_to_retain": "yes"}]),
            ),
        ];
        for c in cases {
            assert!(
                matches!(DcqlQuery::parse(&c), Err(VerifierError::InvalidRequest(_))),
                "{c}"
            );
        }
    }

    #[test]
    fn unknown_and_other_format_members_are_ignored() {
        // Spec: §6: "Implementations MUST ignore any unknown properties".
        let cases = [
            (
                json!({"credentials": [{"id": "m", "format": "mso_mdoc",
                    "meta": {"doctype_value": "d", "vct_values": ["x"], "other": 1},
                    "claims": [{"path": ["ns", "e"]}]}]}),
                vec!["vct_values", "other"],
            ),
            (
                json!({"credentials": [{"id": "a", "format": "dc+sd-jwt",
                    "meta": {"doctype_value": "d", "type_values": [["T"]]},
                    "claims": [{"path": ["e"], "intent_to_retain": true, "purpose": "p"}],
                    "trusted_authorities": [{"type": "aki", "values": ["AQ"], "x": 1}]}],
                    "future": true}),
                vec![
                    "doctype_value",
                    "type_values",
                    "intent_to_retain",
                    "purpose",
                    "future",
                    "\"x\"",
                ],
            ),
        ];
        for (c, gone) in cases {
            let q = DcqlQuery::parse(&c).unwrap_or_else(|e| panic!("{c}: {e}"));
            let out = q.to_value().to_string();
            for g in gone {
                assert!(!out.contains(g), "{g} in {out}");
            }
        }
    }

    #[test]
    fn jwt_vc_json_queries_need_type_values() {
        // Spec: OID4VP 1.0 Appendix B.1.1: `type_values` is REQUIRED.
        let q = |meta: Value| json!({"credentials": [{"id": "w", "format": "jwt_vc_json", "meta": meta}]});
        for meta in [
            json!({}),
            json!({"type_values": []}),
            json!({"type_values": [[]]}),
        ] {
            assert!(
                matches!(
                    DcqlQuery::parse(&q(meta.clone())),
                    Err(VerifierError::InvalidRequest(_))
                ),
                "{meta}"
            );
        }
        assert!(DcqlQuery::parse(&q(json!({"type_values": [["A"], ["B", "C"]]}))).is_ok());
    }

    fn sd(vct: &str, claims: Value) -> CandidateCredential {
        CandidateCredential {
            credential_format: FORMAT_DC_SD_JWT.into(),
            vct: Some(vct.into()),
            doctype: None,
            types: None,
            claims: claims.as_object().cloned(),
            namespaces: None,
            cryptographic_holder_binding: true,
            authority: None,
        }
    }

    #[test]
    fn evaluate_checks_format_meta_binding_claims_and_authorities() {
        let q = DcqlQuery::parse(&json!({"credentials": [
            {"id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": ["V"]},
             "claims": [{"path": ["employee_id"], "values": ["E-1"]}]},
            {"id": "w3c", "format": "jwt_vc_json", "meta": {"type_values": [["VerifiableCredential", "Badge"]]},
             "claims": [{"path": ["credentialSubject", "given_name"]}]},
            {"id": "mdl", "format": "mso_mdoc", "meta": {"doctype_value": "org.iso.18013.5.1.mDL"},
             "claims": [{"path": ["org.iso.18013.5.1", "age_over_18"], "values": [true]}]},
            {"id": "nohb", "format": "dc+sd-jwt", "meta": {}, "require_cryptographic_holder_binding": false},
            {"id": "ta", "format": "dc+sd-jwt", "meta": {},
             "trusted_authorities": [{"type": "aki", "values": ["AQID"]}]}]}))
        .unwrap();
        let mut unbound = sd("V", json!({"employee_id": "E-1"}));
        unbound.cryptographic_holder_binding = false;
        let mut w3c = sd("", json!({"credentialSubject": {"given_name": "Ada"}}));
        w3c.credential_format = FORMAT_JWT_VC_JSON.into();
        w3c.vct = None;
        w3c.types = Some(vec![
            "Badge".into(),
            "VerifiableCredential".into(),
            "X".into(),
        ]);
        let mut w3c_other_type = w3c.clone();
        w3c_other_type.types = Some(vec!["VerifiableCredential".into()]);
        let mut mdl = sd("", json!({}));
        mdl.credential_format = FORMAT_MSO_MDOC.into();
        mdl.vct = None;
        mdl.doctype = Some("org.iso.18013.5.1.mDL".into());
        mdl.namespaces = json!({"org.iso.18013.5.1": {"age_over_18": true}})
            .as_object()
            .cloned();
        let mut mdl_false = mdl.clone();
        mdl_false.namespaces = json!({"org.iso.18013.5.1": {"age_over_18": false}})
            .as_object()
            .cloned();
        let mut with_aki = sd("Z", json!({}));
        with_aki.authority = Some(CandidateAuthority {
            kind: "aki".into(),
            values: vec!["BAU".into(), "AQID".into()],
        });
        let candidates = [
            sd("V", json!({"employee_id": "E-1"})), // 0
            sd("V", json!({"employee_id": "E-2"})), // 1: value mismatch
            sd("W", json!({"employee_id": "E-1"})), // 2: vct mismatch
            unbound,                                // 3: no holder binding
            w3c,                                    // 4
            w3c_other_type,                         // 5: type_values mismatch
            mdl,                                    // 6
            mdl_false,                              // 7
            with_aki,                               // 8
        ];
        let e = evaluate(&q, &candidates);
        let m = |id: &str| e.matches[id].clone();
        assert_eq!(m("badge"), vec![0]);
        assert_eq!(m("w3c"), vec![4]);
        assert_eq!(m("mdl"), vec![6]);
        // Every SD-JWT VC, bound or not; the namespaces of an mdoc are not SD-JWT claims.
        assert_eq!(m("nohb"), vec![0, 1, 2, 3, 8]);
        assert_eq!(m("ta"), vec![8]);
        assert!(e.can_be_satisfied);
        let e = evaluate(&q, &candidates[..6]);
        assert!(e.matches["mdl"].is_empty() && e.matches["ta"].is_empty());
        assert!(!e.can_be_satisfied);
    }

    #[test]
    fn evaluate_picks_claim_sets_and_credential_sets() {
        let q = DcqlQuery::parse(&json!({"credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {},
             "claims": [{"id": "x", "path": ["x"]}, {"id": "y", "path": ["y", null, "z"], "values": [2]}],
             "claim_sets": [["x"], ["y"]]},
            {"id": "b", "format": "dc+sd-jwt", "meta": {}, "claims": [{"path": ["b", 1]}]},
            {"id": "c", "format": "dc+sd-jwt", "meta": {}, "claims": [{"path": ["c"]}]}],
            "credential_sets": [{"options": [["a", "b"], ["c"]]}, {"options": [["b"]], "required": false}]}))
        .unwrap();
        let cands = [
            sd("V", json!({"y": [{"z": 1}, {"z": 2}]})),
            sd("V", json!({"b": [0, 1]})),
            sd("V", json!({"b": [0]})),
        ];
        let e = evaluate(&q, &cands);
        assert_eq!(e.matches["a"], vec![0]);
        assert_eq!(e.matches["b"], vec![1]);
        assert!(e.matches["c"].is_empty());
        assert!(e.can_be_satisfied, "option [a, b]");
        let e = evaluate(&q, &cands[..1]);
        assert!(!e.can_be_satisfied, "neither [a, b] nor [c]");
        let e = evaluate(&q, &[sd("V", json!({"c": null}))]);
        assert_eq!(e.matches["c"], vec![0], "a null claim exists (§7.1)");
        assert!(
            e.can_be_satisfied,
            "option [c]; the optional set need not be met"
        );
    }

    #[test]
    fn match_input_reports_invalid_queries_and_refuses_malformed_input() {
        let r = match_input(&json!({"query": {"credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {}}, {"id": "a", "format": "dc+sd-jwt", "meta": {}}]},
            "credentials": []})).unwrap();
        assert!(!r.valid && !r.can_be_satisfied && r.matches.is_empty());
        assert!(r.error.unwrap().contains("duplicate"));
        let r = match_input(
            &json!({"query": {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}]},
            "credentials": [{"credential_format": "dc+sd-jwt", "vct": "V", "claims": {},
                "cryptographic_holder_binding": true}]}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"valid": true, "matches": {"a": [0]}, "can_be_satisfied": true})
        );
        for bad_input in [
            json!([]),
            json!({"credentials": []}),
            json!({"query": {}, "credentials": [{"credential_format": "dc+sd-jwt"}]}),
            json!({"query": {}, "credentials": [], "x": 1}),
        ] {
            assert!(match_input(&bad_input).is_err(), "{bad_input}");
        }
    }

    #[test]
    fn claims_path_pointer_selects_array_elements() {
        let v = json!({"a": [{"b": 1}, {"b": 2}]});
        let p = ClaimPath::from_value(&json!(["a", null, "b"])).unwrap();
        assert_eq!(select(&v, &p), vec![&json!(1), &json!(2)]);
        let p = ClaimPath::from_value(&json!(["a", 1, "b"])).unwrap();
        assert_eq!(select(&v, &p), vec![&json!(2)]);
    }
}
