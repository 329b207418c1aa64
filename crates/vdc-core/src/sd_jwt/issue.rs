//! Issuing an SD-JWT (RFC 9901 §4, §6.1).

use serde_json::{Map, Value};

use super::disclosure::Disclosure;
use super::frame::{Frame, Key};
use super::{SHA_256, sha256_b64};
use crate::base64url;
use crate::error::{Error, Result};
use crate::jose::{Signer, jws};
use crate::rng::RandomSource;

/// Salt length in bytes: RFC 9901 §9.3 recommends 128 bits.
const SALT_LEN: usize = 16;

/// An issued SD-JWT: the compact form (ending in `~`) and its Disclosures.
#[derive(Debug, Clone)]
pub struct IssuedSdJwt {
    /// `<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~`.
    pub compact: String,
    /// The Disclosures, in the order they appear in `compact`.
    pub disclosures: Vec<Disclosure>,
}

/// Issues an SD-JWT: replaces the claims `frame` selects by digests, signs the result with
/// `header` (whose `alg` and `kid` the signer sets) and appends the Disclosures.
pub async fn issue(
    payload: Map<String, Value>,
    frame: &Frame,
    header: Map<String, Value>,
    signer: &dyn Signer,
    rng: &dyn RandomSource,
) -> Result<IssuedSdJwt> {
    if payload.contains_key("_sd_alg") {
        return Err(Error::SdJwt(
            "the payload must not set _sd_alg itself".into(),
        ));
    }
    let mut salts = SaltSource::new(rng);
    let mut disclosures = Vec::new();
    let mut concealed = conceal_object(payload, frame, &mut salts, &mut disclosures)?;
    // Spec: RFC 9901 §4.1.1: `_sd_alg` names the hash; sha-256 is the default, we state it.
    concealed.insert("_sd_alg".into(), SHA_256.into());
    let jwt = jws::sign(header, &concealed, signer).await?;
    let mut compact = String::with_capacity(
        jwt.len()
            + disclosures
                .iter()
                .map(|d| d.encoded.len() + 1)
                .sum::<usize>()
            + 1,
    );
    compact.push_str(&jwt);
    compact.push('~');
    for d in &disclosures {
        compact.push_str(&d.encoded);
        compact.push('~');
    }
    Ok(IssuedSdJwt {
        compact,
        disclosures,
    })
}

fn conceal_object(
    object: Map<String, Value>,
    frame: &Frame,
    salts: &mut SaltSource<'_>,
    out: &mut Vec<Disclosure>,
) -> Result<Map<String, Value>> {
    if object.contains_key("_sd") {
        return Err(Error::SdJwt(
            "claims must not contain a member named _sd".into(),
        ));
    }
    let mut result = Map::new();
    let mut digests = Vec::new();
    for (name, value) in object {
        if name == "..." {
            return Err(Error::SdJwt("... cannot be a claim name".into()));
        }
        let key = Key::Name(name.clone());
        let value = conceal_value(value, frame.child_for(&key), salts, out)?;
        if frame.is_sd(&key) {
            let d = Disclosure::new_property(salts.next()?, &name, value);
            digests.push(Value::String(d.digest.clone()));
            out.push(d);
        } else {
            result.insert(name, value);
        }
    }
    for _ in 0..frame.decoys {
        digests.push(Value::String(decoy(salts)?));
    }
    if !digests.is_empty() {
        // Spec: RFC 9901 §4.2.4.1: the issuer MUST hide the original order of the claims;
        // sorting the digests does that.
        digests.sort_unstable_by(|a, b| a.as_str().cmp(&b.as_str()));
        result.insert("_sd".into(), Value::Array(digests));
    }
    Ok(result)
}

fn conceal_value(
    value: Value,
    frame: Option<&Frame>,
    salts: &mut SaltSource<'_>,
    out: &mut Vec<Disclosure>,
) -> Result<Value> {
    let Some(frame) = frame else {
        return Ok(value);
    };
    match value {
        Value::Object(o) => Ok(Value::Object(conceal_object(o, frame, salts, out)?)),
        Value::Array(items) => {
            let mut result = Vec::with_capacity(items.len() + frame.decoys);
            for (i, item) in items.into_iter().enumerate() {
                let key = Key::Index(i);
                let item = conceal_value(item, frame.child_for(&key), salts, out)?;
                if frame.is_sd(&key) {
                    let d = Disclosure::new_element(salts.next()?, item);
                    // Spec: RFC 9901 §4.2.4.2: an array element is replaced by
                    // `{"...": "<digest>"}`.
                    let mut m = Map::new();
                    m.insert("...".into(), Value::String(d.digest.clone()));
                    out.push(d);
                    result.push(Value::Object(m));
                } else {
                    result.push(item);
                }
            }
            for _ in 0..frame.decoys {
                let mut m = Map::new();
                m.insert("...".into(), Value::String(decoy(salts)?));
                result.push(Value::Object(m));
            }
            Ok(Value::Array(result))
        }
        other => Ok(other),
    }
}

/// Spec: RFC 9901 §4.2.5: a decoy digest is the hash of a random value, indistinguishable
/// from a real digest.
fn decoy(salts: &mut SaltSource<'_>) -> Result<String> {
    Ok(sha256_b64(&salts.next()?))
}

/// Draws salts from the RNG in blocks: one RNG call per 32 salts instead of one each.
struct SaltSource<'a> {
    rng: &'a dyn RandomSource,
    buf: [u8; SALT_LEN * 32],
    pos: usize,
}

impl<'a> SaltSource<'a> {
    fn new(rng: &'a dyn RandomSource) -> Self {
        Self {
            rng,
            buf: [0; SALT_LEN * 32],
            pos: SALT_LEN * 32,
        }
    }

    fn next(&mut self) -> Result<String> {
        if self.pos == self.buf.len() {
            self.rng.fill(&mut self.buf)?;
            self.pos = 0;
        }
        let salt = base64url::encode(&self.buf[self.pos..self.pos + SALT_LEN]);
        self.pos += SALT_LEN;
        Ok(salt)
    }
}
