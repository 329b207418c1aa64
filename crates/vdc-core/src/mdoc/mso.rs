//! The Mobile Security Object (ISO 18013-5 §9.1.2.4).

use std::collections::BTreeMap;

use crate::Result;
use crate::error::Error;
use crate::jose::PublicKey;
use crate::mdoc::cbor::{self, Value};
use crate::mdoc::cose;
use crate::time::UnixTime;

/// `ValidityInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityInfo {
    /// `signed`.
    pub signed: UnixTime,
    /// `validFrom`.
    pub valid_from: UnixTime,
    /// `validUntil`.
    pub valid_until: UnixTime,
}

/// The MSO's `status` (ISO 18013-5 2nd ed.; draft-ietf-oauth-status-list §6.3 for CWT-based
/// tokens): `{"status_list": {"idx": uint, "uri": tstr}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// `idx`.
    pub idx: u64,
    /// `uri`.
    pub uri: String,
}

/// A Mobile Security Object.
#[derive(Debug, Clone, PartialEq)]
pub struct MobileSecurityObject {
    /// `docType`.
    pub doc_type: String,
    /// `valueDigests`: namespace → digestID → digest (SHA-256 only).
    pub value_digests: BTreeMap<String, BTreeMap<u64, Vec<u8>>>,
    /// `deviceKeyInfo.deviceKey`.
    pub device_key: PublicKey,
    /// `validityInfo`.
    pub validity: ValidityInfo,
    /// `status`, when the issuer references a status list.
    pub status: Option<StatusRef>,
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// The members of a CBOR map, or a `Malformed` naming `what`.
fn map<'a>(value: &'a Value, what: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(m) => Ok(m),
        _ => Err(Error::malformed(format!("{what} is not a map"))),
    }
}

/// The value of text key `key` of `members`, required.
fn required<'a>(members: &'a [(Value, Value)], key: &str, what: &str) -> Result<&'a Value> {
    members
        .iter()
        .find_map(|(k, v)| matches!(k, Value::Text(t) if t == key).then_some(v))
        .ok_or_else(|| Error::malformed(format!("{what} lacks {key}")))
}

/// Refuses members other than `allowed`: where ISO 18013-5 fixes a structure, an unknown
/// member is an error rather than something silently ignored.
fn only(members: &[(Value, Value)], allowed: &[&str], what: &str) -> Result<()> {
    for (k, _) in members {
        match k {
            Value::Text(t) if allowed.contains(&t.as_str()) => {}
            _ => return Err(Error::malformed(format!("unexpected member in {what}"))),
        }
    }
    Ok(())
}

fn text_of<'a>(value: &'a Value, what: &str) -> Result<&'a str> {
    match value {
        Value::Text(t) => Ok(t),
        _ => Err(Error::malformed(format!("{what} is not a text string"))),
    }
}

fn uint_of(value: &Value, what: &str) -> Result<u64> {
    match value {
        Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| Error::malformed(format!("{what} is not a uint")))
        }
        _ => Err(Error::malformed(format!("{what} is not a uint"))),
    }
}

/// The length of a SHA-256 digest.
const DIGEST_LEN: usize = 32;

impl MobileSecurityObject {
    /// The CBOR map (`version` "1.0", `digestAlgorithm` "SHA-256", …).
    pub fn to_value(&self) -> Value {
        let value_digests = self
            .value_digests
            .iter()
            .map(|(ns, digests)| {
                let digests = digests
                    .iter()
                    .map(|(id, d)| (Value::Integer((*id).into()), Value::Bytes(d.clone())))
                    .collect();
                (text(ns), Value::Map(digests))
            })
            .collect();
        let mut members = vec![
            (text("version"), text("1.0")),
            (text("digestAlgorithm"), text("SHA-256")),
            (text("valueDigests"), Value::Map(value_digests)),
            (
                text("deviceKeyInfo"),
                Value::Map(vec![(text("deviceKey"), cose::cose_key(&self.device_key))]),
            ),
            (text("docType"), text(&self.doc_type)),
            (
                text("validityInfo"),
                Value::Map(vec![
                    (text("signed"), cbor::tdate(self.validity.signed)),
                    (text("validFrom"), cbor::tdate(self.validity.valid_from)),
                    (text("validUntil"), cbor::tdate(self.validity.valid_until)),
                ]),
            ),
        ];
        if let Some(status) = &self.status {
            // Spec: draft-ietf-oauth-status-list "Referenced Token in COSE": Status is a map
            // keyed by mechanism; StatusListInfo = {"idx": uint, "uri": tstr}.
            members.push((
                text("status"),
                Value::Map(vec![(
                    text("status_list"),
                    Value::Map(vec![
                        (text("idx"), Value::Integer(status.idx.into())),
                        (text("uri"), text(&status.uri)),
                    ]),
                )]),
            ));
        }
        Value::Map(members)
    }
    /// Reads an MSO; unknown digest algorithms and malformed members are refused.
    pub fn from_value(value: &Value) -> Result<Self> {
        // Spec: ISO 18013-5 §9.1.2.4 (MobileSecurityObject CDDL). Unknown top-level
        // members are tolerated (issuers add some) and never read.
        let mso = map(value, "MSO")?;
        let version = text_of(required(mso, "version", "MSO")?, "MSO version")?;
        if version != "1.0" {
            return Err(Error::Mdoc(format!(
                "unsupported MSO version {}",
                printable(version)
            )));
        }
        let alg = text_of(
            required(mso, "digestAlgorithm", "MSO")?,
            "MSO digestAlgorithm",
        )?;
        // SHA-384 and SHA-512 are also defined by ISO 18013-5; vdc issues and accepts
        // SHA-256 only.
        if alg != "SHA-256" {
            return Err(Error::Mdoc(format!(
                "unsupported digest algorithm {}",
                printable(alg)
            )));
        }
        let mut value_digests = BTreeMap::new();
        for (ns, digests) in map(required(mso, "valueDigests", "MSO")?, "valueDigests")? {
            let ns = text_of(ns, "valueDigests namespace")?;
            let mut ids = BTreeMap::new();
            for (id, digest) in map(digests, "DigestIDs")? {
                let id = uint_of(id, "digestID")?;
                let Value::Bytes(digest) = digest else {
                    return Err(Error::malformed("digest is not a bstr"));
                };
                if digest.len() != DIGEST_LEN {
                    return Err(Error::Mdoc(format!(
                        "SHA-256 digest must be {DIGEST_LEN} bytes"
                    )));
                }
                if ids.insert(id, digest.clone()).is_some() {
                    return Err(Error::Mdoc(format!("digestID {id} repeated")));
                }
            }
            if value_digests.insert(ns.to_owned(), ids).is_some() {
                return Err(Error::Mdoc("valueDigests namespace repeated".into()));
            }
        }
        let dki = map(required(mso, "deviceKeyInfo", "MSO")?, "deviceKeyInfo")?;
        only(
            dki,
            &["deviceKey", "keyAuthorizations", "keyInfo"],
            "deviceKeyInfo",
        )?;
        let device_key = cose::public_key(required(dki, "deviceKey", "deviceKeyInfo")?)?;
        let doc_type = text_of(required(mso, "docType", "MSO")?, "docType")?.to_owned();
        let vi = map(required(mso, "validityInfo", "MSO")?, "validityInfo")?;
        only(
            vi,
            &["signed", "validFrom", "validUntil", "expectedUpdate"],
            "validityInfo",
        )?;
        let validity = ValidityInfo {
            signed: cbor::parse_tdate(required(vi, "signed", "validityInfo")?)?,
            valid_from: cbor::parse_tdate(required(vi, "validFrom", "validityInfo")?)?,
            valid_until: cbor::parse_tdate(required(vi, "validUntil", "validityInfo")?)?,
        };
        if let Some(expected) = vi
            .iter()
            .find_map(|(k, v)| matches!(k, Value::Text(t) if t == "expectedUpdate").then_some(v))
        {
            cbor::parse_tdate(expected)?;
        }
        if validity.valid_from > validity.valid_until {
            return Err(Error::Mdoc("validFrom is after validUntil".into()));
        }
        let status = match cbor::map_get(value, "status") {
            None => None,
            Some(status) => {
                let status = map(status, "status")?;
                // Other status mechanisms may sit beside status_list; only it is read.
                match status.iter().find_map(|(k, v)| {
                    matches!(k, Value::Text(t) if t == "status_list").then_some(v)
                }) {
                    None => None,
                    Some(list) => {
                        let list = map(list, "status_list")?;
                        Some(StatusRef {
                            idx: uint_of(required(list, "idx", "status_list")?, "idx")?,
                            uri: text_of(required(list, "uri", "status_list")?, "uri")?.to_owned(),
                        })
                    }
                }
            }
        };
        Ok(Self {
            doc_type,
            value_digests,
            device_key,
            validity,
            status,
        })
    }
}

/// At most 64 characters of untrusted text, control characters replaced, for messages.
fn printable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, SigningKey};
    use crate::rng::SeededRandom;

    fn sample() -> MobileSecurityObject {
        let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(1)).unwrap();
        let mut digests = BTreeMap::new();
        digests.insert(
            "org.iso.18013.5.1".to_owned(),
            BTreeMap::from([(0u64, vec![1u8; 32]), (7, vec![2u8; 32])]),
        );
        MobileSecurityObject {
            doc_type: "org.iso.18013.5.1.mDL".into(),
            value_digests: digests,
            device_key: key.public_key().clone(),
            validity: ValidityInfo {
                signed: UnixTime(1_767_323_045),
                valid_from: UnixTime(1_767_323_045),
                valid_until: UnixTime(1_798_859_045),
            },
            status: Some(StatusRef {
                idx: 412,
                uri: "https://issuer.example/statuslists/1".into(),
            }),
        }
    }

    /// `value` with member `key` of map path `path` replaced (or added) by `new`, or removed.
    fn edit(value: &Value, path: &[&str], key: &str, new: Option<Value>) -> Value {
        let Value::Map(members) = value else {
            panic!("not a map")
        };
        let mut members = members.clone();
        if let Some((first, rest)) = path.split_first() {
            for (k, v) in members.iter_mut() {
                if matches!(k, Value::Text(t) if t == first) {
                    *v = edit(v, rest, key, new.clone());
                }
            }
        } else {
            let pos = members
                .iter()
                .position(|(k, _)| matches!(k, Value::Text(t) if t == key));
            match (pos, new) {
                (Some(i), Some(n)) => members[i].1 = n,
                (Some(i), None) => {
                    members.remove(i);
                }
                (None, Some(n)) => members.push((Value::Text(key.into()), n)),
                (None, None) => {}
            }
        }
        Value::Map(members)
    }

    #[test]
    fn round_trips_through_cbor() {
        let mso = sample();
        let v = mso.to_value();
        let bytes = cbor::encode(&v);
        let back = MobileSecurityObject::from_value(&cbor::decode(&bytes).unwrap()).unwrap();
        assert_eq!(back, mso);
        assert_eq!(cbor::map_get(&v, "version"), Some(&text("1.0")));
        assert_eq!(
            cbor::map_get(cbor::map_get(&v, "validityInfo").unwrap(), "signed"),
            Some(&cbor::tdate(UnixTime(1_767_323_045)))
        );
        let mut no_status = mso.clone();
        no_status.status = None;
        let v = no_status.to_value();
        assert!(cbor::map_get(&v, "status").is_none());
        assert_eq!(MobileSecurityObject::from_value(&v).unwrap(), no_status);
        // An Ed25519 device key works too.
        let mut ed = mso;
        ed.device_key = SigningKey::generate(Algorithm::EdDsa, &SeededRandom::new(2))
            .unwrap()
            .public_key()
            .clone();
        assert_eq!(
            MobileSecurityObject::from_value(&ed.to_value()).unwrap(),
            ed
        );
    }

    #[test]
    fn defined_extras_and_unknown_top_level_members_are_tolerated() {
        let v = sample().to_value();
        let v = edit(&v, &[], "x-vendor", Some(text("anything")));
        let v = edit(
            &v,
            &["deviceKeyInfo"],
            "keyAuthorizations",
            Some(Value::Map(vec![])),
        );
        let v = edit(&v, &["deviceKeyInfo"], "keyInfo", Some(Value::Map(vec![])));
        let v = edit(
            &v,
            &["validityInfo"],
            "expectedUpdate",
            Some(cbor::tdate(UnixTime(1_780_000_000))),
        );
        // Another status mechanism beside status_list.
        let v = edit(&v, &["status"], "other_mechanism", Some(Value::Null));
        assert_eq!(MobileSecurityObject::from_value(&v).unwrap(), sample());
        let only_other = edit(&v, &["status"], "status_list", None);
        assert_eq!(
            MobileSecurityObject::from_value(&only_other)
                .unwrap()
                .status,
            None
        );
    }

    #[test]
    fn bad_msos_are_refused() {
        let v = sample().to_value();
        let cases = [
            edit(&v, &[], "version", Some(text("2.0"))),
            edit(&v, &[], "version", None),
            edit(&v, &[], "digestAlgorithm", Some(text("SHA-512"))),
            edit(&v, &[], "digestAlgorithm", Some(text("MD5"))),
            edit(&v, &[], "docType", Some(Value::Integer(1.into()))),
            edit(&v, &[], "docType", None),
            edit(&v, &[], "valueDigests", None),
            edit(
                &v,
                &["valueDigests"],
                "org.iso.18013.5.1",
                Some(Value::Map(vec![(
                    Value::Integer(0.into()),
                    Value::Bytes(vec![0; 31]),
                )])),
            ),
            edit(
                &v,
                &["valueDigests"],
                "org.iso.18013.5.1",
                Some(Value::Map(vec![(
                    Value::Integer((-1).into()),
                    Value::Bytes(vec![0; 32]),
                )])),
            ),
            edit(
                &v,
                &["valueDigests"],
                "org.iso.18013.5.1",
                Some(Value::Array(vec![])),
            ),
            edit(
                &v,
                &["deviceKeyInfo"],
                "deviceKey",
                Some(Value::Map(vec![])),
            ),
            edit(&v, &["deviceKeyInfo"], "deviceKey", None),
            edit(&v, &["deviceKeyInfo"], "unknown", Some(Value::Null)),
            edit(&v, &["validityInfo"], "unknown", Some(Value::Null)),
            edit(
                &v,
                &["validityInfo"],
                "validUntil",
                Some(cbor::tdate(UnixTime(1_767_323_044))),
            ),
            edit(
                &v,
                &["validityInfo"],
                "signed",
                Some(text("2026-01-02T03:04:05Z")),
            ),
            edit(&v, &["validityInfo"], "validFrom", None),
            edit(
                &v,
                &["status", "status_list"],
                "idx",
                Some(Value::Integer((-1).into())),
            ),
            edit(&v, &["status", "status_list"], "uri", None),
            edit(&v, &[], "status", Some(Value::Null)),
            Value::Array(vec![]),
        ];
        for (i, bad) in cases.iter().enumerate() {
            assert!(MobileSecurityObject::from_value(bad).is_err(), "case {i}");
        }
        let Err(Error::Mdoc(why)) = MobileSecurityObject::from_value(&cases[2]) else {
            panic!("expected an mdoc error")
        };
        assert!(why.contains("SHA-512"));
    }
}
