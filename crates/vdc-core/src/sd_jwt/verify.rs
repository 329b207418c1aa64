//! Verifying an SD-JWT and its Key Binding JWT (RFC 9901 §7.1, §7.3).

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::{KB_JWT_TYP, SHA_256, SdJwt, sha256_b64};
use crate::claims_path::PathElement;
use crate::error::{Error, Result};
use crate::jose::jws::{self, Jws, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey};
use crate::time::UnixTime;

/// How deep disclosures may nest inside disclosures (bounds recursion; G8).
const MAX_UNPACK_DEPTH: usize = 64;

/// Whether the verifier requires key binding. Spec: RFC 9901 §7.3 step 1: this is the
/// verifier's policy and MUST NOT depend on whether the holder sent a KB-JWT (G3).
#[derive(Debug, Clone, Copy)]
pub enum KeyBindingRequirement<'a> {
    /// Key binding is not checked; a KB-JWT, if sent, is ignored.
    NotRequired,
    /// A KB-JWT is required, signed by the `cnf` key, with these values.
    Required {
        /// The expected `aud` (the verifier's full client identifier).
        aud: &'a str,
        /// The expected `nonce` (this transaction's).
        nonce: &'a str,
        /// How old `iat` may be, in seconds (plus the clock skew).
        max_age_secs: i64,
    },
}

/// Options for [`SdJwt::verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Algorithms accepted for the issuer signature and the KB-JWT.
    pub policy: &'a AlgorithmPolicy,
    /// The current time.
    pub now: UnixTime,
    /// Rules for `exp`, `nbf`, `iat` of the processed payload.
    pub time_rules: TimeRules,
    /// Key binding policy.
    pub key_binding: KeyBindingRequirement<'a>,
}

/// A claim that was selectively disclosed, located in the processed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosedClaim {
    /// Where the disclosed claim sits in the processed payload.
    pub path: Vec<PathElement>,
    /// The index of its disclosure in the SD-JWT.
    pub disclosure_index: usize,
}

/// The result of a successful verification.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwt {
    /// The issuer-signed JWT's protected header.
    pub header: Map<String, Value>,
    /// The Processed SD-JWT Payload (RFC 9901 §7.1): disclosed claims in place, `_sd` and
    /// `_sd_alg` removed, undisclosed array elements dropped.
    pub claims: Map<String, Value>,
    /// The claims that came from disclosures, with their locations.
    pub disclosed: Vec<DisclosedClaim>,
    /// The holder key from `cnf.jwk`, when present.
    pub holder_key: Option<PublicKey>,
    /// The verified KB-JWT claims, when key binding was required.
    pub key_binding: Option<Map<String, Value>>,
}

impl SdJwt {
    /// Verifies this SD-JWT (RFC 9901 §7.1, and §7.3 when key binding is required).
    ///
    /// `issuer` must be the decoded issuer JWT of this SD-JWT ([`SdJwt::issuer_jws`]) and
    /// `issuer_key` the key the caller's trust policy found for its issuer (§7.1 step 2.3
    /// is the caller's: this function never takes a key from the token).
    pub fn verify(
        &self,
        issuer: &Jws<'_>,
        issuer_key: &PublicKey,
        opts: &VerifyOptions<'_>,
    ) -> Result<VerifiedSdJwt> {
        if !self.issuer_jwt().starts_with(issuer.signing_input()) {
            return Err(Error::malformed(
                "issuer JWS does not belong to this SD-JWT",
            ));
        }
        // Spec: RFC 9901 §7.1 step 2.1-2.2: secure algorithm (never none), valid signature.
        issuer.verify(issuer_key, opts.policy)?;
        let disclosures = self
            .disclosures()
            .iter()
            .map(|d| Disclosure::parse(d))
            .collect::<Result<Vec<_>>>()?;
        let (claims, disclosed) = unpack_payload(issuer.payload.clone(), &disclosures)?;
        // Spec: RFC 9901 §7.1 step 6: validity claims are checked on the processed payload.
        jws::check_times(&claims, opts.now, opts.time_rules)?;
        let holder_key = holder_key_from_cnf(&claims)?;
        let key_binding = match opts.key_binding {
            KeyBindingRequirement::NotRequired => None,
            KeyBindingRequirement::Required {
                aud,
                nonce,
                max_age_secs,
            } => {
                let key = holder_key.as_ref().ok_or_else(|| {
                    Error::KeyBinding(
                        "key binding required but the credential has no cnf key".into(),
                    )
                })?;
                Some(self.verify_key_binding(key, aud, nonce, max_age_secs, opts)?)
            }
        };
        Ok(VerifiedSdJwt {
            header: issuer.header.clone(),
            claims,
            disclosed,
            holder_key,
            key_binding,
        })
    }

    /// Spec: RFC 9901 §7.3 step 5.
    fn verify_key_binding(
        &self,
        holder_key: &PublicKey,
        aud: &str,
        nonce: &str,
        max_age_secs: i64,
        opts: &VerifyOptions<'_>,
    ) -> Result<Map<String, Value>> {
        // Step 2: key binding required but no KB-JWT sent.
        let kb = self.kb_jwt().ok_or_else(|| {
            Error::KeyBinding("key binding required but no KB-JWT present".into())
        })?;
        let kb = jws::decode(kb).map_err(|e| Error::KeyBinding(format!("KB-JWT: {e}")))?;
        // Steps 5.2-5.4.
        kb.expect_typ(KB_JWT_TYP)
            .map_err(|e| Error::KeyBinding(e.to_string()))?;
        kb.verify(holder_key, opts.policy)
            .map_err(|e| Error::KeyBinding(format!("KB-JWT signature: {e}")))?;
        // Step 5.5: iat within an acceptable window.
        let rules = TimeRules {
            skew: opts.time_rules.skew,
            require_exp: false,
            require_iat: true,
            max_iat_age: Some(max_age_secs),
        };
        jws::check_times(&kb.payload, opts.now, rules)
            .map_err(|e| Error::KeyBinding(format!("KB-JWT {e}")))?;
        // Step 5.6: nonce and aud bind it to this transaction and this verifier. §4.3: aud
        // is a single string.
        if kb.claim_str("nonce") != Some(nonce) {
            return Err(Error::KeyBinding("KB-JWT nonce does not match".into()));
        }
        if kb.claim_str("aud") != Some(aud) {
            return Err(Error::KeyBinding("KB-JWT aud does not match".into()));
        }
        // Step 5.7: sd_hash over the SD-JWT as received, with `_sd_alg`'s hash.
        if kb.claim_str("sd_hash") != Some(sha256_b64(&self.without_kb()).as_str()) {
            return Err(Error::KeyBinding("KB-JWT sd_hash does not match".into()));
        }
        Ok(kb.payload)
    }
}

/// Reads the holder key from `cnf.jwk` (RFC 7800 §3.2), if there is a `cnf`.
fn holder_key_from_cnf(claims: &Map<String, Value>) -> Result<Option<PublicKey>> {
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let jwk = cnf.get("jwk").ok_or_else(|| {
        Error::KeyBinding("cnf has no jwk (other confirmation methods are not supported)".into())
    })?;
    Ok(Some(Jwk::from_value(jwk)?.key))
}

/// Runs RFC 9901 §7.1 step 3-5 over an issuer payload: puts the disclosed claims in place,
/// removes `_sd`, `_sd_alg` and undisclosed array elements, and enforces that every digest
/// appears once and every disclosure is referenced exactly once.
pub fn unpack_payload(
    mut payload: Map<String, Value>,
    disclosures: &[Disclosure],
) -> Result<(Map<String, Value>, Vec<DisclosedClaim>)> {
    // Spec: RFC 9901 §7.1 step 2.5 / §4.1.1: `_sd_alg` must be understood and secure; when
    // absent, sha-256 is the default.
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == SHA_256 => {}
        Some(_) => return Err(Error::SdJwt("unsupported _sd_alg".into())),
    }
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (i, d) in disclosures.iter().enumerate() {
        // The same disclosure twice: the second copy could never be referenced (step 5).
        if by_digest.insert(d.digest.as_str(), i).is_some() {
            return Err(Error::SdJwt(
                "the same disclosure is included more than once".into(),
            ));
        }
    }
    let mut unpacker = Unpacker {
        disclosures,
        by_digest,
        used: vec![false; disclosures.len()],
        seen: HashSet::new(),
        disclosed: Vec::new(),
        path: Vec::new(),
    };
    let claims = unpacker.object(payload, 0)?;
    // Spec: RFC 9901 §7.1 step 5: every disclosure must be referenced.
    if unpacker.used.iter().any(|u| !u) {
        return Err(Error::SdJwt(
            "a disclosure is not referenced by any digest".into(),
        ));
    }
    Ok((claims, unpacker.disclosed))
}

struct Unpacker<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<&'a str, usize>,
    used: Vec<bool>,
    seen: HashSet<String>,
    disclosed: Vec<DisclosedClaim>,
    path: Vec<PathElement>,
}

impl Unpacker<'_> {
    fn value(&mut self, value: Value, depth: usize) -> Result<Value> {
        if depth > MAX_UNPACK_DEPTH {
            return Err(Error::TooLarge("disclosures nested too deeply".into()));
        }
        match value {
            Value::Object(o) => Ok(Value::Object(self.object(o, depth + 1)?)),
            Value::Array(a) => Ok(Value::Array(self.array(a, depth + 1)?)),
            other => Ok(other),
        }
    }

    /// Finds the disclosure for an embedded digest; enforces step 4 (each digest once).
    fn lookup(&mut self, digest: String) -> Result<Option<usize>> {
        let found = self.by_digest.get(digest.as_str()).copied();
        if !self.seen.insert(digest) {
            return Err(Error::SdJwt("a digest appears more than once".into()));
        }
        if let Some(i) = found {
            self.used[i] = true;
        }
        Ok(found)
    }

    fn object(
        &mut self,
        mut object: Map<String, Value>,
        depth: usize,
    ) -> Result<Map<String, Value>> {
        let digests = match object.remove("_sd") {
            None => Vec::new(),
            // Spec: RFC 9901 §4.2.4.1: `_sd` is an array of digest strings.
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(Error::SdJwt("_sd must contain only strings".into())),
                })
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(Error::SdJwt("_sd must be an array".into())),
        };
        let mut out = Map::new();
        for (name, value) in object {
            self.path.push(PathElement::Name(name.clone()));
            let v = self.value(value, depth);
            self.path.pop();
            out.insert(name, v?);
        }
        for digest in digests {
            let Some(i) = self.lookup(digest)? else {
                continue; // Step 3.3.1: a decoy or an undisclosed claim.
            };
            let d = &self.disclosures[i];
            // Step 3.3.2.1: an object property disclosure has three elements.
            let Some(name) = d.name.clone() else {
                return Err(Error::SdJwt(
                    "array element disclosure referenced from _sd".into(),
                ));
            };
            // Step 3.3.2.3: the claim name must not already exist at this level.
            if out.contains_key(&name) {
                return Err(Error::SdJwt("disclosed claim name already present".into()));
            }
            self.path.push(PathElement::Name(name.clone()));
            self.disclosed.push(DisclosedClaim {
                path: self.path.clone(),
                disclosure_index: i,
            });
            let v = self.value(d.value.clone(), depth);
            self.path.pop();
            out.insert(name, v?);
        }
        Ok(out)
    }

    fn array(&mut self, items: Vec<Value>, depth: usize) -> Result<Vec<Value>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let index = PathElement::Index(out.len());
            match array_digest(item) {
                Ok(digest) => {
                    // Step 3.4: undisclosed elements are removed.
                    let Some(i) = self.lookup(digest)? else {
                        continue;
                    };
                    let d = &self.disclosures[i];
                    // Step 3.3.3.1: an array element disclosure has two elements.
                    if d.name.is_some() {
                        return Err(Error::SdJwt(
                            "object property disclosure used as array element".into(),
                        ));
                    }
                    self.path.push(index);
                    self.disclosed.push(DisclosedClaim {
                        path: self.path.clone(),
                        disclosure_index: i,
                    });
                    let v = self.value(d.value.clone(), depth);
                    self.path.pop();
                    out.push(v?);
                }
                Err(item) => {
                    self.path.push(index);
                    let v = self.value(item, depth);
                    self.path.pop();
                    out.push(v?);
                }
            }
        }
        Ok(out)
    }
}

/// Spec: RFC 9901 §7.1 step 3.2.2: an array element that is an object with exactly one key,
/// `...`, referring to a string is an embedded digest. Anything else is returned unchanged.
fn array_digest(item: Value) -> std::result::Result<String, Value> {
    match item {
        Value::Object(mut o) if o.len() == 1 && matches!(o.get("..."), Some(Value::String(_))) => {
            match o.remove("...") {
                Some(Value::String(s)) => Ok(s),
                _ => Err(Value::Object(o)),
            }
        }
        other => Err(other),
    }
}
