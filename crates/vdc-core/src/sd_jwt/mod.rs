//! Selective Disclosure for JWTs (SD-JWT), RFC 9901.
//!
//! Layout:
//! - `disclosure`: Disclosures (RFC 9901 §4.2) and their digests.
//! - `frame`: which claims an issuer makes selectively disclosable.
//! - `issue`: building an SD-JWT (§4, §6.1) with salts from an injected RNG and decoys (§4.2.5).
//! - `verify`: every rule of §7.1 (processing) and §7.3 (key binding).
//! - `present`: the holder's disclosure selection and Key Binding JWT (§4.3, §7.2).
//!
//! [`SdJwt`] is the parsed compact serialization (§4): it only ever exists after
//! [`SdJwt::parse`] accepted the structure, and it keeps the exact text of each part so that
//! `sd_hash` is computed over what was received.

mod disclosure;
mod frame;
mod issue;
mod present;
mod verify;

pub use disclosure::Disclosure;
pub use frame::Frame;
pub use issue::{IssuedSdJwt, issue};
pub use present::{KeyBindingInput, present, select_disclosures};
pub use verify::{
    DisclosedClaim, KeyBindingRequirement, VerifiedSdJwt, VerifyOptions, unpack_payload,
};

use crate::error::{Error, Result};
use crate::jose::jws::{self, Jws};

/// Media type of a Key Binding JWT (RFC 9901 §4.3).
pub const KB_JWT_TYP: &str = "kb+jwt";
/// The only hash algorithm we issue with and accept for `_sd_alg` (RFC 9901 §4.1.1).
pub const SHA_256: &str = "sha-256";
/// Most disclosures accepted in one SD-JWT (bounds work per presentation; G8).
pub const MAX_DISCLOSURES: usize = 512;
/// Largest SD-JWT accepted, in bytes.
pub const MAX_SD_JWT_LEN: usize = 1024 * 1024;

/// A parsed SD-JWT or SD-JWT+KB in compact serialization (RFC 9901 §4):
/// `<Issuer-signed JWT>~<Disclosure 1>~...~<Disclosure N>~[<KB-JWT>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwt {
    issuer_jwt: String,
    disclosures: Vec<String>,
    kb_jwt: Option<String>,
}

impl SdJwt {
    /// Parses the compact form. Checks structure only; nothing is trusted yet.
    pub fn parse(text: &str) -> Result<Self> {
        if text.len() > MAX_SD_JWT_LEN {
            return Err(Error::TooLarge(format!(
                "SD-JWT over {MAX_SD_JWT_LEN} bytes"
            )));
        }
        // Spec: RFC 9901 §4: an SD-JWT without key binding ends with `~`; with key binding
        // the last component is the KB-JWT. Either way there is at least one `~`.
        let Some((body, kb)) = text.rsplit_once('~') else {
            return Err(Error::malformed("an SD-JWT contains at least one '~'"));
        };
        let mut parts = body.split('~');
        let issuer_jwt = parts.next().unwrap_or_default();
        if issuer_jwt.is_empty() {
            return Err(Error::malformed("SD-JWT has no issuer-signed JWT"));
        }
        let mut disclosures = Vec::new();
        for d in parts {
            if d.is_empty() {
                return Err(Error::malformed("empty disclosure between '~' separators"));
            }
            if disclosures.len() == MAX_DISCLOSURES {
                return Err(Error::TooLarge(format!(
                    "more than {MAX_DISCLOSURES} disclosures"
                )));
            }
            disclosures.push(d.to_owned());
        }
        // Whatever follows the last `~` is a KB-JWT: it must at least look like a compact
        // JWS, so a presentation that lost its trailing `~` is refused instead of silently
        // dropping its last disclosure.
        if !kb.is_empty() && kb.split('.').count() != 3 {
            return Err(Error::malformed(
                "the part after the last '~' is not a KB-JWT",
            ));
        }
        Ok(Self {
            issuer_jwt: issuer_jwt.to_owned(),
            disclosures,
            kb_jwt: (!kb.is_empty()).then(|| kb.to_owned()),
        })
    }

    /// Assembles an SD-JWT from parts (the holder's presentation step).
    pub fn from_parts(
        issuer_jwt: String,
        disclosures: Vec<String>,
        kb_jwt: Option<String>,
    ) -> Self {
        Self {
            issuer_jwt,
            disclosures,
            kb_jwt,
        }
    }

    /// The issuer-signed JWT, decoded but not verified.
    pub fn issuer_jws(&self) -> Result<Jws<'_>> {
        jws::decode(&self.issuer_jwt)
    }

    /// The compact issuer-signed JWT.
    pub fn issuer_jwt(&self) -> &str {
        &self.issuer_jwt
    }

    /// The encoded disclosures, in the order received.
    pub fn disclosures(&self) -> &[String] {
        &self.disclosures
    }

    /// The Key Binding JWT, if present.
    pub fn kb_jwt(&self) -> Option<&str> {
        self.kb_jwt.as_deref()
    }

    /// The SD-JWT without its KB-JWT, ending in `~`: the input of `sd_hash` (RFC 9901 §4.3.1).
    pub fn without_kb(&self) -> String {
        let len =
            self.issuer_jwt.len() + self.disclosures.iter().map(|d| d.len() + 1).sum::<usize>() + 1;
        let mut out = String::with_capacity(len);
        out.push_str(&self.issuer_jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    /// The compact serialization.
    pub fn serialize(&self) -> String {
        let mut out = self.without_kb();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }
}

/// `sd_hash` / disclosure digest: base64url(SHA-256(ASCII(input))) (RFC 9901 §4.2.3, §4.3.1).
pub fn sha256_b64(input: &str) -> String {
    crate::base64url::encode(ring::digest::digest(
        &ring::digest::SHA256,
        input.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_splits_parts_and_serialize_round_trips() {
        let s = SdJwt::parse("a.b.c~d1~d2~").unwrap();
        assert_eq!(s.disclosures(), ["d1", "d2"]);
        assert_eq!(s.kb_jwt(), None);
        assert_eq!(s.serialize(), "a.b.c~d1~d2~");
        let kb = SdJwt::parse("a.b.c~d1~k.b.j").unwrap();
        assert_eq!(kb.kb_jwt(), Some("k.b.j"));
        assert_eq!(kb.without_kb(), "a.b.c~d1~");
        assert_eq!(kb.serialize(), "a.b.c~d1~k.b.j");
        assert_eq!(SdJwt::parse("a.b.c~").unwrap().disclosures().len(), 0);
    }

    #[test]
    fn parse_rejects_malformed_structures() {
        for bad in ["a.b.c", "~d1~", "a.b.c~~d~", "", "a.b.c~d1~d2"] {
            assert!(SdJwt::parse(bad).is_err(), "{bad}");
        }
        let many = format!("a.b.c~{}", "d~".repeat(MAX_DISCLOSURES + 1));
        assert!(matches!(SdJwt::parse(&many), Err(Error::TooLarge(_))));
    }
}
