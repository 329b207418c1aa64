//! Claims path pointers (OID4VCI 1.0 Appendix "Claims Path Pointer", OID4VP 1.0 §7
//! "Claims Path Pointer"): a non-empty array whose elements are a string (object member),
//! a non-negative integer (array index) or `null` (every element of an array).

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};

/// Longest claims path accepted (bounded like every other input; G8).
pub const MAX_PATH_LEN: usize = 16;

/// One step of a claims path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathElement {
    /// An object member name.
    Name(String),
    /// An array index.
    Index(usize),
    /// Every element of an array (`null` in JSON).
    AllElements,
}

/// A claims path pointer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClaimPath(Vec<PathElement>);

impl ClaimPath {
    /// A path from elements; must be non-empty and at most [`MAX_PATH_LEN`] long.
    pub fn new(elements: Vec<PathElement>) -> Result<Self> {
        if elements.is_empty() || elements.len() > MAX_PATH_LEN {
            return Err(Error::malformed("claims path must have 1 to 16 elements"));
        }
        Ok(Self(elements))
    }

    /// A path of object member names, e.g. `ClaimPath::names(&["address", "street"])`.
    pub fn names(names: &[&str]) -> Result<Self> {
        Self::new(
            names
                .iter()
                .map(|n| PathElement::Name((*n).into()))
                .collect(),
        )
    }

    /// Reads the JSON form: `["address", "street"]`, `["degrees", null, "type"]`, `["a", 0]`.
    pub fn from_value(value: &Value) -> Result<Self> {
        let arr = value
            .as_array()
            .ok_or_else(|| Error::malformed("claims path must be an array"))?;
        let elements = arr
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(PathElement::Name(s.clone())),
                Value::Null => Ok(PathElement::AllElements),
                Value::Number(n) => n
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .map(PathElement::Index)
                    .ok_or_else(|| {
                        Error::malformed("claims path index must be a non-negative integer")
                    }),
                _ => Err(Error::malformed(
                    "claims path elements are strings, integers or null",
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(elements)
    }

    /// The JSON form.
    pub fn to_value(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|e| match e {
                    PathElement::Name(n) => Value::String(n.clone()),
                    PathElement::Index(i) => Value::from(*i),
                    PathElement::AllElements => Value::Null,
                })
                .collect(),
        )
    }

    /// The elements.
    pub fn elements(&self) -> &[PathElement] {
        &self.0
    }

    /// Whether this pattern (which may contain `null`) matches the first `concrete.len()`
    /// steps of a concrete path, or all of them. `None` when they diverge; `Some(true)` when
    /// `concrete` is at or below this pattern, `Some(false)` when `concrete` is a strict
    /// ancestor of what this pattern selects.
    pub fn relation_to(&self, concrete: &[PathElement]) -> Option<bool> {
        for (p, c) in self.0.iter().zip(concrete) {
            let same = match (p, c) {
                (PathElement::AllElements, PathElement::Index(_)) => true,
                (a, b) => a == b,
            };
            if !same {
                return None;
            }
        }
        Some(concrete.len() >= self.0.len())
    }
}

impl fmt::Display for ClaimPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_form_round_trips_and_bad_elements_are_rejected() {
        let p = ClaimPath::from_value(&json!(["degrees", null, "type", 0])).unwrap();
        assert_eq!(p.to_value(), json!(["degrees", null, "type", 0]));
        assert!(ClaimPath::from_value(&json!([])).is_err());
        assert!(ClaimPath::from_value(&json!(["a", -1])).is_err());
        assert!(ClaimPath::from_value(&json!(["a", 1.5])).is_err());
        assert!(ClaimPath::from_value(&json!(["a", {}])).is_err());
        assert!(ClaimPath::from_value(&json!("a")).is_err());
        assert!(ClaimPath::from_value(&Value::Array(vec![json!("a"); 17])).is_err());
    }

    #[test]
    fn relation_distinguishes_ancestors_descendants_and_strangers() {
        let p = ClaimPath::from_value(&json!(["nationalities", null])).unwrap();
        let idx = |i| PathElement::Index(i);
        let name = |n: &str| PathElement::Name(n.into());
        assert_eq!(p.relation_to(&[name("nationalities")]), Some(false));
        assert_eq!(p.relation_to(&[name("nationalities"), idx(3)]), Some(true));
        assert_eq!(
            p.relation_to(&[name("nationalities"), idx(3), name("x")]),
            Some(true)
        );
        assert_eq!(p.relation_to(&[name("address")]), None);
    }
}
