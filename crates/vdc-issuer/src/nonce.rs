//! Sealed `c_nonce`s (OID4VCI 1.0 §7) and DPoP nonces (RFC 9449 §8): handing one out
//! writes nothing (issue 11).
//!
//! A nonce is `base64url(version ‖ expiry ‖ random ‖ tag)`: one version byte, the expiry as
//! 8 big-endian bytes of unix seconds, 16 random bytes, and a 16-byte HMAC-SHA-256 tag over
//! the issuer id and the rest under a key derived from the KEK. So any instance can tell a
//! nonce it (or a sibling) made for this issuer, and until when it is valid, without a
//! lookup. Single use (G2) is the store's: the issuance transaction inserts the nonce's hash
//! (`IssuanceStore::consume_nonce`), a second use conflicts and is `invalid_nonce`.

use vdc_core::base64url;
use vdc_core::time::UnixTime;

use vdc_core::kek::KeyEncryptionKey;

const VERSION: u8 = 1;
const RANDOM: usize = 16;
const TAG: usize = 16;
const BODY: usize = 1 + 8 + RANDOM;
/// The length of a nonce in characters (unpadded base64url of 41 bytes).
pub const NONCE_CHARS: usize = ((BODY + TAG) * 4).div_ceil(3);

/// What a sealed nonce is for: a nonce of one purpose never opens as another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A `c_nonce` for key proofs (OID4VCI 1.0 §7).
    CNonce,
    /// A server-provided DPoP nonce (RFC 9449 §8, §9).
    Dpop,
    /// A client attestation challenge (draft-ietf-oauth-attestation-based-client-auth
    /// §"Challenges").
    AttestationChallenge,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::CNonce => "c_nonce",
            Self::Dpop => "dpop_nonce",
            Self::AttestationChallenge => "attestation_challenge",
        }
    }
}

fn input(issuer_id: &str, body: &[u8]) -> String {
    format!("{issuer_id}\0{}", base64url::encode(body))
}

fn tag(kek: &KeyEncryptionKey, purpose: Purpose, issuer_id: &str, body: &[u8]) -> [u8; TAG] {
    let full = kek.derive(purpose.label(), &input(issuer_id, body));
    let mut out = [0u8; TAG];
    out.copy_from_slice(&full[..TAG]);
    out
}

/// A fresh nonce of `issuer_id`, valid until `expires_at`.
pub fn seal(
    kek: &KeyEncryptionKey,
    purpose: Purpose,
    issuer_id: &str,
    expires_at: UnixTime,
    random: [u8; RANDOM],
) -> String {
    let mut bytes = Vec::with_capacity(BODY + TAG);
    bytes.push(VERSION);
    bytes.extend_from_slice(&expires_at.0.to_be_bytes());
    bytes.extend_from_slice(&random);
    let t = tag(kek, purpose, issuer_id, &bytes);
    bytes.extend_from_slice(&t);
    base64url::encode(&bytes)
}

/// The expiry of a nonce this deployment made for `issuer_id`, if it is one and is still
/// valid at `now`; `None` for anything else (forged, another issuer's, expired, malformed).
pub fn open(
    kek: &KeyEncryptionKey,
    purpose: Purpose,
    issuer_id: &str,
    nonce: &str,
    now: UnixTime,
) -> Option<UnixTime> {
    if nonce.len() != NONCE_CHARS {
        return None;
    }
    let bytes = base64url::decode(nonce).ok()?;
    if bytes.len() != BODY + TAG || bytes[0] != VERSION {
        return None;
    }
    let (body, given) = bytes.split_at(BODY);
    // Under the current KEK, or a previous one during a KEK rotation (nonces handed out
    // before it stay good until they expire).
    let known = kek
        .derive_all(purpose.label(), &input(issuer_id, body))
        .iter()
        .any(|full| vdc_core::ct::eq(&full[..TAG], given));
    if !known {
        return None;
    }
    let mut exp = [0u8; 8];
    exp.copy_from_slice(&body[1..9]);
    let expires_at = UnixTime(i64::from_be_bytes(exp));
    (expires_at > now).then_some(expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Purpose = Purpose::CNonce;

    fn kek(b: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes(&[b; 32]).unwrap()
    }

    #[test]
    fn a_sealed_nonce_opens_for_its_issuer_until_it_expires() {
        let k = kek(1);
        let n = seal(&k, C, "acme", UnixTime(1000), [7; RANDOM]);
        assert_eq!(n.len(), NONCE_CHARS);
        assert_eq!(open(&k, C, "acme", &n, UnixTime(999)), Some(UnixTime(1000)));
        // Expired at its expiry second.
        assert_eq!(open(&k, C, "acme", &n, UnixTime(1000)), None);
        // Another issuer, another KEK.
        assert_eq!(open(&k, C, "beta", &n, UnixTime(1)), None);
        assert_eq!(open(&kek(2), C, "acme", &n, UnixTime(1)), None);
        // A nonce of another purpose does not open as this one.
        assert_eq!(open(&k, Purpose::Dpop, "acme", &n, UnixTime(1)), None);
        // Different randomness, different nonce.
        assert_ne!(n, seal(&k, C, "acme", UnixTime(1000), [8; RANDOM]));
    }

    #[test]
    fn a_tampered_or_malformed_nonce_does_not_open() {
        let k = kek(1);
        let n = seal(&k, C, "acme", UnixTime(1000), [7; RANDOM]);
        let mut bytes = base64url::decode(&n).unwrap();
        // A later expiry without the key.
        bytes[8] ^= 1;
        assert_eq!(
            open(&k, C, "acme", &base64url::encode(&bytes), UnixTime(1)),
            None
        );
        let short: String = n.chars().skip(1).collect();
        for bad in ["", "x", &short, &format!("{n}A"), "!!!!"] {
            assert_eq!(open(&k, C, "acme", bad, UnixTime(1)), None, "{bad}");
        }
    }
}
