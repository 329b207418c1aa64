//! Disclosures (RFC 9901 §4.2).

use serde_json::Value;

use super::sha256_b64;
use crate::base64url;
use crate::error::{Error, Result};
use crate::json;

/// Largest single disclosure accepted (decoded).
const MAX_DISCLOSURE_LEN: usize = 64 * 1024;

/// A decoded Disclosure: `[salt, claim_name, claim_value]` for an object property
/// (§4.2.1) or `[salt, value]` for an array element (§4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The base64url text exactly as issued or received; the digest is computed over it.
    pub encoded: String,
    /// base64url(SHA-256(encoded)) (§4.2.3).
    pub digest: String,
    /// The salt.
    pub salt: String,
    /// The claim name; `None` for an array element.
    pub name: Option<String>,
    /// The claim value.
    pub value: Value,
}

impl Disclosure {
    /// Builds a disclosure for an object property.
    pub(crate) fn new_property(salt: String, name: &str, value: Value) -> Self {
        let array = Value::Array(vec![
            Value::String(salt.clone()),
            name.into(),
            value.clone(),
        ]);
        Self::from_array_value(salt, Some(name.to_owned()), value, &array)
    }

    /// Builds a disclosure for an array element.
    pub(crate) fn new_element(salt: String, value: Value) -> Self {
        let array = Value::Array(vec![Value::String(salt.clone()), value.clone()]);
        Self::from_array_value(salt, None, value, &array)
    }

    fn from_array_value(salt: String, name: Option<String>, value: Value, array: &Value) -> Self {
        let encoded = base64url::encode(array.to_string());
        let digest = sha256_b64(&encoded);
        Self {
            encoded,
            digest,
            salt,
            name,
            value,
        }
    }

    /// Decodes a received disclosure, strictly (§4.2, §7.1 step 3.2).
    pub fn parse(encoded: &str) -> Result<Self> {
        if encoded.len() > MAX_DISCLOSURE_LEN * 4 / 3 + 4 {
            return Err(Error::TooLarge("disclosure too large".into()));
        }
        let bytes = base64url::decode(encoded)?;
        let array = match json::parse(&bytes, MAX_DISCLOSURE_LEN)? {
            Value::Array(a) => a,
            _ => return Err(Error::SdJwt("a disclosure must be a JSON array".into())),
        };
        let mut items = array.into_iter();
        let salt = match items.next() {
            Some(Value::String(s)) => s,
            _ => return Err(Error::SdJwt("disclosure salt must be a string".into())),
        };
        let (name, value) = match (items.next(), items.next(), items.next()) {
            (Some(value), None, None) => (None, value),
            (Some(Value::String(name)), Some(value), None) => {
                // Spec: RFC 9901 §7.1 step 3.2.3.2: the claim name MUST NOT be `_sd` or
                // `...`.
                if name == "_sd" || name == "..." {
                    return Err(Error::SdJwt(format!(
                        "reserved claim name {name} in disclosure"
                    )));
                }
                (Some(name), value)
            }
            (Some(_), Some(_), None) => {
                return Err(Error::SdJwt(
                    "disclosure claim name must be a string".into(),
                ));
            }
            _ => return Err(Error::SdJwt("a disclosure has 2 or 3 elements".into())),
        };
        Ok(Self {
            digest: sha256_b64(encoded),
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc9901_section_4_2_1_disclosure_digest() {
        // RFC 9901 §4.2.1/§4.2.3 example: ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
        let d = Disclosure::parse(
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0",
        )
        .unwrap();
        assert_eq!(d.name.as_deref(), Some("family_name"));
        assert_eq!(d.value, json!("Möbius"));
        assert_eq!(d.digest, "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0");
    }

    #[test]
    fn reserved_names_and_bad_shapes_are_rejected() {
        for bad in [
            json!(["s", "_sd", 1]),
            json!(["s", "...", 1]),
            json!(["s"]),
            json!(["s", 1, 2]),
            json!([1, "n", 2]),
            json!(["s", "n", 1, 2]),
            json!({"s": 1}),
        ] {
            let enc = base64url::encode(bad.to_string());
            assert!(Disclosure::parse(&enc).is_err(), "{bad}");
        }
    }

    #[test]
    fn built_disclosures_parse_back_identically() {
        let d = Disclosure::new_property("c2FsdA".into(), "given_name", json!("Ada"));
        assert_eq!(Disclosure::parse(&d.encoded).unwrap(), d);
        let e = Disclosure::new_element("c2FsdA".into(), json!({"a": [1]}));
        assert_eq!(Disclosure::parse(&e.encoded).unwrap(), e);
    }
}
