//! The deployment's key-encryption key (KEK): every secret vdc keeps at rest (signing keys,
//! `direct_post.jwt` decryption keys, webhook secrets) is AES-256-GCM ciphertext under it,
//! bound to where it is kept (the AAD context), and per-purpose secrets (pre-authorized
//! codes, sealed `c_nonce`s) are HMAC-SHA-256 under keys derived from it.
//!
//! It lives in the core so that every service seals with the same type, without reaching
//! into another service for it.

use std::fmt;
use std::sync::Arc;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::rng::RandomSource;

/// Length of the AES-GCM tag appended to every sealed value.
const TAG_LEN: usize = 16;

/// The deployment's key-encryption key (32 bytes); `Debug` never prints it.
#[derive(Clone)]
pub struct KeyEncryptionKey(Arc<Zeroizing<[u8; 32]>>);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// A KEK from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey("the key-encryption key must be 32 bytes".into()))?;
        Ok(Self(Arc::new(Zeroizing::new(k))))
    }

    /// A fresh random KEK.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut())?;
        Self::from_bytes(bytes.as_ref())
    }

    /// The KEK's base64url text (how `VDC_KEK` and `data_dir/kek` hold it).
    pub fn to_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::base64url::encode(&self.0[..]))
    }

    /// Parses the base64url text of [`Self::to_base64url`].
    pub fn from_base64url(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(crate::base64url::decode(text.trim())?);
        Self::from_bytes(&bytes)
    }

    fn cipher(&self) -> Result<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.0[..])
            .map(LessSafeKey::new)
            .map_err(|_| Error::Crypto("bad key-encryption key".into()))
    }

    /// Encrypts `plaintext` bound to `context` (AAD): `nonce || ciphertext || tag`, with a
    /// random 96-bit nonce.
    pub fn seal(&self, plaintext: &[u8], context: &str, rng: &dyn RandomSource) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut out = Zeroizing::new(plaintext.to_vec());
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut *out,
            )
            .map_err(|_| Error::Crypto("key encryption failed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// Decrypts what [`Self::seal`] produced for the same `context`; [`Error::Decryption`]
    /// under another KEK, another context or after any change to the bytes.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Decryption);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::Decryption)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = self
            .cipher()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| Error::Decryption)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// A keyed hash for deriving per-purpose secrets (HMAC-SHA-256 under a key derived from
    /// the KEK for `purpose`), so derived codes need not be stored in clear.
    pub fn derive(&self, purpose: &str, input: &str) -> [u8; 32] {
        let base = hmac::Key::new(hmac::HMAC_SHA256, &self.0[..]);
        let sub = hmac::sign(&base, purpose.as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref());
        let tag = hmac::sign(&key, input.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRandom;

    #[test]
    fn sealed_values_open_only_with_the_same_kek_and_context() {
        let rng = SeededRandom::new(1);
        let kek = KeyEncryptionKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = kek.seal(b"secret jwk", "ctx-a", &rng).unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"secret jwk"));
        assert_eq!(&kek.open(&sealed, "ctx-a").unwrap()[..], b"secret jwk");
        assert!(
            kek.open(&sealed, "ctx-b").is_err(),
            "moved to another issuer/kid"
        );
        let other = KeyEncryptionKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(other.open(&sealed, "ctx-a").is_err());
        assert!(kek.open(&sealed[..20], "ctx-a").is_err(), "truncated");
        assert!(format!("{kek:?}").contains("redacted"));
    }

    #[test]
    fn base64url_text_round_trips_and_length_is_exact() {
        let kek = KeyEncryptionKey::generate(&SeededRandom::new(2)).unwrap();
        let again = KeyEncryptionKey::from_base64url(&kek.to_base64url()).unwrap();
        assert_eq!(again.derive("p", "x"), kek.derive("p", "x"));
        assert_ne!(
            kek.derive("p", "x"),
            kek.derive("q", "x"),
            "purposes separate"
        );
        let short = crate::base64url::encode([1u8; 31]);
        assert!(KeyEncryptionKey::from_base64url(&short).is_err());
    }
}
