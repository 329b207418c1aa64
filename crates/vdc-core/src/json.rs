//! Strict JSON parsing for everything that arrives from outside.
//!
//! `serde_json::Value` keeps the last of duplicate member names; a signed payload with two
//! `_sd` or two `cnf` members could then mean different things to two parsers. RFC 8259 §4
//! leaves duplicates undefined, RFC 7515 §5.2 and RFC 9901 §4 require rejecting them, so every
//! JWS header, payload and disclosure goes through [`parse`], which rejects duplicate names,
//! input over a size limit and nesting deeper than [`MAX_DEPTH`] (G8).

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Deepest nesting accepted in any JSON document we parse.
pub const MAX_DEPTH: usize = 32;

/// Largest JSON document accepted by default (a credential payload or header).
pub const DEFAULT_MAX_LEN: usize = 256 * 1024;

/// Parses JSON strictly: UTF-8 only, no duplicate member names, bounded size and depth.
pub fn parse(bytes: &[u8], max_len: usize) -> Result<Value> {
    if bytes.len() > max_len {
        return Err(Error::TooLarge(format!(
            "JSON document over {max_len} bytes"
        )));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| Error::malformed(format!("invalid JSON: {}", describe(&e))))?;
    de.end()
        .map_err(|_| Error::malformed("trailing characters after JSON value"))?;
    Ok(value)
}

/// Parses a JSON object strictly (see [`parse`]).
pub fn parse_object(bytes: &[u8], max_len: usize) -> Result<Map<String, Value>> {
    match parse(bytes, max_len)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::malformed("expected a JSON object")),
    }
}

// serde_json's messages carry line/column only; they never echo input, so they are safe to
// return. Custom messages from this module are already phrased for clients.
fn describe(e: &serde_json::Error) -> String {
    e.to_string()
}

struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue { depth })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter::<A::Error>()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let v = map.next_value_seed(StrictValue { depth })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

impl StrictValue {
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom("nesting too deep"));
        }
        Ok(self.depth + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_member_names_are_rejected() {
        let err = parse(br#"{"a":1,"a":2}"#, 1024).unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
        assert!(parse(br#"{"a":{"b":1,"b":1}}"#, 1024).is_err());
    }

    #[test]
    fn deep_nesting_is_rejected_without_stack_overflow() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(parse(deep.as_bytes(), 1 << 20).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes(), 1 << 20).is_ok());
        let over = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(over.as_bytes(), 1 << 20).is_err());
    }

    #[test]
    fn oversized_and_non_utf8_input_is_rejected() {
        assert!(matches!(parse(b"[1,2,3]", 3), Err(Error::TooLarge(_))));
        assert!(parse(b"\"\xff\"", 100).is_err());
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        assert!(parse(b"{} {}", 100).is_err());
        assert!(parse(b"{} ", 100).is_ok());
    }
}
