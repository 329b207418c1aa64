//! Strict, bounded CBOR (RFC 8949) for mdoc: definite lengths only, no duplicate map keys,
//! bounded size and depth, no trailing bytes; tag-24 items keep the exact bytes received.
//!
//! Decoding runs in two passes. A small well-formedness scanner walks the raw bytes first
//! and enforces every structural rule (sizes, depth, definite lengths, simple values, UTF-8)
//! before anything is allocated: every claimed length is checked against the bytes that
//! remain, so a header claiming 2^64 bytes costs nothing. Only input that passes is handed
//! to ciborium to build the [`Value`] tree, on which duplicate map keys are then checked.

use std::collections::HashSet;

use crate::Result;
use crate::error::Error;
use crate::time::UnixTime;
use crate::vc_jose::datetime::{format_date_time_stamp, parse_date_time_stamp};

pub use ciborium::value::Value;

/// The largest CBOR item accepted (bytes).
pub const MAX_CBOR_BYTES: usize = 1 << 20;
/// The deepest nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// Tag 0: standard date/time string (RFC 8949 §3.4.1).
const TAG_TDATE: u64 = 0;
/// Tag 24: encoded CBOR data item (RFC 8949 §3.4.5.1).
const TAG_CBOR: u64 = 24;
/// Tag 1004: RFC 3339 full-date string (RFC 8943 §3).
const TAG_FULL_DATE: u64 = 1004;

/// Decodes one CBOR item strictly (see the module docs). Errors: `Malformed`, `TooLarge`.
pub fn decode(bytes: &[u8]) -> Result<Value> {
    if bytes.len() > MAX_CBOR_BYTES {
        return Err(Error::TooLarge(format!(
            "CBOR item of {} bytes exceeds {MAX_CBOR_BYTES}",
            bytes.len()
        )));
    }
    let mut scanner = Scanner { b: bytes, i: 0 };
    scanner.item(1)?;
    if scanner.i != bytes.len() {
        return Err(Error::malformed("trailing bytes after the CBOR item"));
    }
    let value: Value = ciborium::de::from_reader(bytes)
        .map_err(|e| Error::malformed(format!("invalid CBOR: {e}")))?;
    check_duplicate_keys(&value)?;
    Ok(value)
}

/// Encodes `value` (definite lengths, preferred serialization; map order as given).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // ciborium writes definite lengths and the shortest integer/float heads (RFC 8949
    // §4.2.1 preferred serialization). Writing a `Value` into a `Vec` has no failure mode
    // (the writer cannot fail and every `Value` is representable), so the error is unreachable.
    if ciborium::ser::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// The well-formedness scanner (RFC 8949 §3, Appendix C) with the mdoc restrictions.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn remaining(&self) -> usize {
        self.b.len().saturating_sub(self.i)
    }

    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if n > self.remaining() {
            return Err(Error::malformed("CBOR item truncated"));
        }
        let start = self.i;
        self.i += n;
        self.b
            .get(start..self.i)
            .ok_or_else(|| Error::malformed("CBOR item truncated"))
    }

    /// Reads an initial byte and its argument: (major type, additional info, argument).
    fn head(&mut self) -> Result<(u8, u8, u64)> {
        let initial = *self
            .take(1)?
            .first()
            .ok_or_else(|| Error::malformed("CBOR item truncated"))?;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let n = 1usize << (info - 24);
                self.take(n)?
                    .iter()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            }
            // RFC 8949 §3: 28..30 are reserved and not well-formed.
            28..=30 => return Err(Error::malformed("reserved CBOR additional information")),
            _ => {
                // Spec: ISO 18013-5 §8.1 and RFC 8949 §4.2.1 (deterministic encoding):
                // indefinite lengths are not allowed; a lone break is not well-formed.
                return Err(match major {
                    2..=5 => Error::malformed("indefinite-length CBOR items are not allowed"),
                    7 => Error::malformed("unexpected CBOR break"),
                    _ => Error::malformed("invalid CBOR additional information"),
                });
            }
        };
        Ok((major, info, arg))
    }

    /// A claimed length as `usize`, refused when it exceeds the bytes left (`per` bytes
    /// at least per element): nothing is ever sized by an unchecked length.
    fn bounded_len(&self, arg: u64, per: u64) -> Result<usize> {
        let need = arg.checked_mul(per);
        match need {
            Some(need) if need <= self.remaining() as u64 => {
                usize::try_from(arg).map_err(|_| Error::malformed("CBOR length exceeds input"))
            }
            _ => Err(Error::malformed("CBOR length exceeds input")),
        }
    }

    fn item(&mut self, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(Error::TooLarge(format!(
                "CBOR nesting deeper than {MAX_DEPTH}"
            )));
        }
        let (major, info, arg) = self.head()?;
        match major {
            0 | 1 => Ok(()),
            2 => {
                let n = self.bounded_len(arg, 1)?;
                self.take(n).map(|_| ())
            }
            3 => {
                let n = self.bounded_len(arg, 1)?;
                let text = self.take(n)?;
                std::str::from_utf8(text)
                    .map(|_| ())
                    .map_err(|_| Error::malformed("CBOR text string is not valid UTF-8"))
            }
            4 => {
                let n = self.bounded_len(arg, 1)?;
                (0..n).try_for_each(|_| self.item(depth + 1))
            }
            5 => {
                let n = self.bounded_len(arg, 2)?;
                (0..n).try_for_each(|_| {
                    self.item(depth + 1)?;
                    self.item(depth + 1)
                })
            }
            6 => self.item(depth + 1),
            _ => match info {
                // false, true, null; undefined and unassigned simple values have no
                // meaning in ISO 18013-5 structures and are refused.
                20..=22 => Ok(()),
                // half, single and double floats (their bytes were consumed by `head`).
                25..=27 => Ok(()),
                _ => Err(Error::malformed(format!(
                    "CBOR simple value {arg} is not allowed"
                ))),
            },
        }
    }
}

/// Refuses maps with two keys of equal encoding (RFC 8949 §5.6; ISO 18013-5 §8.1).
fn check_duplicate_keys(value: &Value) -> Result<()> {
    match value {
        Value::Map(entries) => {
            let mut seen = HashSet::with_capacity(entries.len());
            for (k, v) in entries {
                if !seen.insert(encode(k)) {
                    return Err(Error::malformed("duplicate CBOR map key"));
                }
                check_duplicate_keys(k)?;
                check_duplicate_keys(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_duplicate_keys),
        Value::Tag(_, inner) => check_duplicate_keys(inner),
        _ => Ok(()),
    }
}

/// `#6.24(bstr .cbor X)`: the embedded bytes exactly as received, and their decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Tagged24 {
    /// The bytes inside the tag (digests are over `encode(Tag(24, Bytes(bytes)))`).
    pub bytes: Vec<u8>,
    /// `bytes` decoded strictly.
    pub value: Value,
}

impl Tagged24 {
    /// Reads a tag-24 item; the inner bytes are decoded strictly.
    pub fn from_value(value: &Value) -> Result<Self> {
        match value {
            Value::Tag(TAG_CBOR, inner) => match inner.as_ref() {
                Value::Bytes(bytes) => Ok(Self {
                    value: decode(bytes)?,
                    bytes: bytes.clone(),
                }),
                _ => Err(Error::malformed("tag 24 must wrap a byte string")),
            },
            _ => Err(Error::malformed("expected a tag-24 embedded CBOR item")),
        }
    }
    /// Wraps `value` (encodes it once).
    pub fn wrap(value: Value) -> Self {
        Self {
            bytes: encode(&value),
            value,
        }
    }
    /// `Tag(24, Bytes(bytes))`.
    pub fn to_value(&self) -> Value {
        Value::Tag(TAG_CBOR, Box::new(Value::Bytes(self.bytes.clone())))
    }
    /// The encoding of `Tag(24, Bytes(bytes))`: what ISO 18013-5 §9.1.2.5 digests.
    pub fn tagged_bytes(&self) -> Vec<u8> {
        encode(&self.to_value())
    }
}

/// `tdate` (`#6.0(tstr)`, RFC 3339 without fractions, `Z`; ISO 18013-5 §7.2.1).
pub fn tdate(t: UnixTime) -> Value {
    Value::Tag(TAG_TDATE, Box::new(Value::Text(format_date_time_stamp(t))))
}

/// Reads a `tdate` (`#6.0`) or `full-date` (`#6.1004`) value.
pub fn parse_tdate(value: &Value) -> Result<UnixTime> {
    let bad = || Error::malformed("expected a tdate (tag 0) or full-date (tag 1004)");
    let Value::Tag(tag, inner) = value else {
        return Err(bad());
    };
    let Value::Text(text) = inner.as_ref() else {
        return Err(bad());
    };
    let b = text.as_bytes();
    // RFC 3339 §5.6 is narrower than the XML Schema grammar the shared parser implements:
    // exactly four year digits, no sign, no `24:00:00`. Those are checked here first.
    let four_digit_year = b.len() >= 10 && b.iter().take(4).all(u8::is_ascii_digit);
    let four_digit_year = four_digit_year && b.get(4) == Some(&b'-');
    match *tag {
        TAG_TDATE => {
            if !four_digit_year || b.get(10) != Some(&b'T') || b.get(11..13) == Some(b"24") {
                return Err(Error::malformed("tdate is not an RFC 3339 date-time"));
            }
            parse_date_time_stamp(text)
                .map_err(|_| Error::malformed("tdate is not an RFC 3339 date-time"))
        }
        // Spec: RFC 8943 §3: full-date, read as midnight UTC of that day.
        TAG_FULL_DATE => {
            if !four_digit_year || b.len() != 10 {
                return Err(Error::malformed("full-date is not an RFC 3339 full-date"));
            }
            parse_date_time_stamp(&format!("{text}T00:00:00Z"))
                .map_err(|_| Error::malformed("full-date is not an RFC 3339 full-date"))
        }
        _ => Err(bad()),
    }
}

/// The value at text key `key` of a map (`None` when `value` is no map or lacks it).
pub fn map_get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Map(entries) => entries.iter().find_map(|(k, v)| match k {
            Value::Text(t) if t == key => Some(v),
            _ => None,
        }),
        _ => None,
    }
}

/// A CBOR value as JSON for the results API: text, numbers, bools, null, arrays and text-keyed
/// maps as themselves; byte strings as base64url; `tdate`/`full-date` as their text.
///
/// Integers beyond `i64`/`u64` become their decimal string; non-finite floats become `null`
/// (JSON has no such numbers); other tags become their content; non-text map keys become
/// their string form (integers in decimal, anything else as compact JSON).
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Integer(i) => {
            if let Ok(n) = i64::try_from(*i) {
                J::from(n)
            } else if let Ok(n) = u64::try_from(*i) {
                J::from(n)
            } else {
                J::String(i128::from(*i).to_string())
            }
        }
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Bytes(b) => J::String(crate::base64url::encode(b)),
        Value::Text(t) => J::String(t.clone()),
        Value::Bool(b) => J::Bool(*b),
        Value::Null => J::Null,
        Value::Tag(TAG_TDATE | TAG_FULL_DATE, inner) if matches!(**inner, Value::Text(_)) => {
            to_json(inner)
        }
        Value::Tag(_, inner) => to_json(inner),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| (key_string(k), to_json(v)))
                .collect(),
        ),
        // `Value` is non-exhaustive; nothing else is produced by the decoder.
        _ => J::Null,
    }
}

/// The string form of a map key for [`to_json`].
fn key_string(key: &Value) -> String {
    match key {
        Value::Text(t) => t.clone(),
        other => match to_json(other) {
            serde_json::Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// JSON offer values as CBOR element values (the inverse of [`to_json`] for JSON types).
///
/// Integral numbers (including floats with no fraction within ±2^53, where `f64` is exact)
/// become CBOR integers, other numbers floats.
pub fn from_json(value: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i.into())
            } else if let Some(u) = n.as_u64() {
                Value::Integer(u.into())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
                if f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT {
                    // Exact: |f| <= 2^53 and integral, so the cast loses nothing.
                    #[allow(clippy::cast_possible_truncation)]
                    Value::Integer((f as i64).into())
                } else {
                    Value::Float(f)
                }
            }
        }
        J::String(s) => Value::Text(s.clone()),
        J::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        J::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (Value::Text(k.clone()), from_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn hex(s: &str) -> Vec<u8> {
        s.as_bytes()
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    fn malformed(bytes: &[u8]) -> String {
        match decode(bytes) {
            Err(Error::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_through_encode_and_decode() {
        let v = Value::Map(vec![
            (Value::Text("a".into()), Value::Integer(1.into())),
            (
                Value::Integer((-5).into()),
                Value::Array(vec![
                    Value::Bytes(vec![1, 2, 3]),
                    Value::Bool(true),
                    Value::Null,
                    Value::Float(1.5),
                    tdate(UnixTime(0)),
                ]),
            ),
        ]);
        let bytes = encode(&v);
        assert_eq!(decode(&bytes).unwrap(), v);
        // RFC 8949 Appendix A examples of preferred serialization.
        assert_eq!(encode(&Value::Integer(1_000_000.into())), hex("1a000f4240"));
        assert_eq!(encode(&Value::Float(1.5)), hex("f93e00"));
        assert_eq!(encode(&Value::Array(vec![])), hex("80"));
    }

    #[test]
    fn indefinite_lengths_are_refused() {
        // RFC 8949 Appendix A: (_ 1, 2), {_ "a": 1}, (_ h'01', h'02'), (_ "a", "b").
        for h in ["9f0102ff", "bf616101ff", "5f41014102ff", "7f61616162ff"] {
            let m = malformed(&hex(h));
            assert!(m.contains("indefinite-length"), "{h}: {m}");
        }
        // A lone break is not an item either.
        assert!(decode(&hex("ff")).is_err());
    }

    #[test]
    fn duplicate_map_keys_are_refused_also_nested_and_by_value() {
        assert!(malformed(&hex("a2616101616102")).contains("duplicate"));
        // Nested in an array.
        assert!(malformed(&hex("81a201010102")).contains("duplicate"));
        // Same key value in a non-preferred encoding (0x01 and 0x18 0x01).
        assert!(malformed(&hex("a20101180102")).contains("duplicate"));
        // Distinct keys are fine.
        assert!(decode(&hex("a201010202")).is_ok());
    }

    #[test]
    fn long_strings_and_containers_decode() {
        // Longer than ciborium's 4 KiB scratch buffer.
        let long = Value::Array(vec![
            Value::Text("é".repeat(10_000)),
            Value::Bytes(vec![7; 100_000]),
            Value::Array(vec![Value::Null; 5_000]),
        ]);
        assert_eq!(decode(&encode(&long)).unwrap(), long);
    }

    #[test]
    fn trailing_bytes_are_refused() {
        assert!(malformed(&hex("0100")).contains("trailing"));
    }

    #[test]
    fn depth_is_bounded() {
        let mut ok = vec![0x81u8; MAX_DEPTH - 1];
        ok.push(0x80);
        assert!(decode(&ok).is_ok());
        let mut deep = vec![0x81u8; MAX_DEPTH];
        deep.push(0x80);
        assert!(matches!(decode(&deep), Err(Error::TooLarge(_))));
        // Tags nest as well.
        let mut tags = vec![0xc6u8; MAX_DEPTH];
        tags.push(0x00);
        assert!(matches!(decode(&tags), Err(Error::TooLarge(_))));
    }

    #[test]
    fn size_is_bounded() {
        let mut big = vec![0x5a, 0x00, 0x10, 0x00, 0x00];
        big.resize(MAX_CBOR_BYTES + 5, 0);
        assert!(matches!(decode(&big), Err(Error::TooLarge(_))));
    }

    #[test]
    fn huge_claimed_lengths_with_short_input_are_refused_without_allocating() {
        for h in [
            "5bffffffffffffffff00",
            "7bffffffffffffffff61",
            "9bffffffffffffffff01",
            "bbffffffffffffffff0101",
            "bb7fffffffffffffff0101",
            "5a0000000a0102",
        ] {
            assert!(malformed(&hex(h)).contains("exceeds input"), "{h}");
        }
        assert!(decode(&hex("1a0001")).is_err());
        assert!(decode(&[]).is_err());
    }

    #[test]
    fn simple_values_utf8_and_reserved_heads_are_checked() {
        // undefined, simple(16), simple(255), reserved additional info 28.
        for h in ["f7", "f0", "f8ff", "1c"] {
            assert!(decode(&hex(h)).is_err(), "{h}");
        }
        assert!(malformed(&hex("62c328")).contains("UTF-8"));
        assert_eq!(decode(&hex("f5")).unwrap(), Value::Bool(true));
        assert_eq!(decode(&hex("f6")).unwrap(), Value::Null);
    }

    #[test]
    fn tag24_keeps_the_bytes_received() {
        // {"a": 1} with the integer in a non-preferred two-byte form: the re-encoding differs.
        let inner = hex("a161611801");
        let tagged = Value::Tag(24, Box::new(Value::Bytes(inner.clone())));
        let t = Tagged24::from_value(&decode(&encode(&tagged)).unwrap()).unwrap();
        assert_eq!(t.bytes, inner);
        assert_ne!(encode(&t.value), inner);
        assert_eq!(map_get(&t.value, "a"), Some(&Value::Integer(1.into())));
        let mut expected = hex("d81845");
        expected.extend_from_slice(&inner);
        assert_eq!(t.tagged_bytes(), expected);
        assert_eq!(t.to_value(), tagged);

        let w = Tagged24::wrap(Value::Text("x".into()));
        assert_eq!(w.bytes, hex("6178"));
        assert_eq!(Tagged24::from_value(&w.to_value()).unwrap(), w);

        // Wrong tag, wrong content, strictness of the inner bytes.
        assert!(Tagged24::from_value(&Value::Tag(25, Box::new(Value::Bytes(inner)))).is_err());
        assert!(Tagged24::from_value(&Value::Tag(24, Box::new(Value::Text("a".into())))).is_err());
        assert!(
            Tagged24::from_value(&Value::Tag(24, Box::new(Value::Bytes(hex("9f01ff"))))).is_err()
        );
        assert!(Tagged24::from_value(&Value::Bytes(vec![0])).is_err());
    }

    #[test]
    fn tdates_format_and_parse() {
        let t = UnixTime(1_767_323_045); // 2026-01-02T03:04:05Z
        let v = tdate(t);
        assert_eq!(
            v,
            Value::Tag(0, Box::new(Value::Text("2026-01-02T03:04:05Z".into())))
        );
        assert_eq!(parse_tdate(&v).unwrap(), t);
        let text = |tag, s: &str| Value::Tag(tag, Box::new(Value::Text(s.into())));
        assert_eq!(
            parse_tdate(&text(0, "2026-01-02T05:04:05.25+02:00")).unwrap(),
            t
        );
        assert_eq!(
            parse_tdate(&text(1004, "2026-01-02")).unwrap(),
            UnixTime(1_767_312_000)
        );
        for bad in [
            text(0, "2026-01-02"),
            text(0, "12026-01-02T03:04:05Z"),
            text(0, "2026-01-02T24:00:00Z"),
            text(0, "2026-02-30T03:04:05Z"),
            text(0, "2026-01-02T03:04:05"),
            text(1004, "2026-01-02T00:00:00Z"),
            text(1004, "2026-13-02"),
            text(1, "2026-01-02T03:04:05Z"),
            Value::Text("2026-01-02T03:04:05Z".into()),
            Value::Tag(0, Box::new(Value::Integer(5.into()))),
        ] {
            assert!(parse_tdate(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn json_conversion() {
        let cbor = Value::Map(vec![
            (Value::Text("n".into()), Value::Integer((-3).into())),
            (Value::Text("u".into()), Value::Integer(u64::MAX.into())),
            (Value::Text("f".into()), Value::Float(2.5)),
            (Value::Text("b".into()), Value::Bytes(vec![0xfb, 0xff])),
            (Value::Text("d".into()), tdate(UnixTime(0))),
            (
                Value::Text("fd".into()),
                Value::Tag(1004, Box::new(Value::Text("2000-01-01".into()))),
            ),
            (
                Value::Text("t".into()),
                Value::Tag(99, Box::new(Value::Bool(false))),
            ),
            (Value::Integer(7.into()), Value::Null),
            (
                Value::Text("a".into()),
                Value::Array(vec![Value::Text("x".into())]),
            ),
        ]);
        assert_eq!(
            to_json(&cbor),
            serde_json::json!({
                "n": -3, "u": u64::MAX, "f": 2.5, "b": "-_8", "d": "1970-01-01T00:00:00Z",
                "fd": "2000-01-01", "t": false, "7": null, "a": ["x"]
            })
        );
        assert_eq!(
            to_json(&Value::Integer((-(1i128 << 64)).try_into().unwrap())),
            serde_json::json!("-18446744073709551616")
        );
        assert_eq!(to_json(&Value::Float(f64::NAN)), serde_json::Value::Null);

        let json = serde_json::json!({"s": "x", "i": 42, "f": 1.25, "g": 3.0, "l": [true, null], "o": {"k": -1}});
        let v = from_json(&json);
        assert_eq!(map_get(&v, "i"), Some(&Value::Integer(42.into())));
        assert_eq!(map_get(&v, "f"), Some(&Value::Float(1.25)));
        assert_eq!(map_get(&v, "g"), Some(&Value::Integer(3.into())));
        assert_eq!(map_get(&v, "s"), Some(&Value::Text("x".into())));
        assert_eq!(
            to_json(&v),
            serde_json::json!({"s": "x", "i": 42, "f": 1.25, "g": 3, "l": [true, null], "o": {"k": -1}})
        );
        assert_eq!(map_get(&Value::Null, "x"), None);
    }
}
