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

/// What starts a sealed value that names its KEK: the magic, then the KEK's id.
const MAGIC: &[u8; 4] = b"vdk1";
const ID_LEN: usize = 8;
const HEADER_LEN: usize = MAGIC.len() + ID_LEN;

/// A KEK's public id: the first 8 bytes of an HMAC under it, so the store can say which
/// KEK sealed a value (rotation, `vdc doctor`) without holding any key. Hex in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekId(pub [u8; ID_LEN]);

impl fmt::Display for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: KekId,
}

impl Key {
    fn new(bytes: &[u8]) -> Result<Self> {
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey("the key-encryption key must be 32 bytes".into()))?;
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k), b"vdc kek id");
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&tag.as_ref()[..ID_LEN]);
        Ok(Self {
            bytes: Zeroizing::new(k),
            id: KekId(id),
        })
    }

    fn cipher(&self) -> Result<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.bytes[..])
            .map(LessSafeKey::new)
            .map_err(|_| Error::Crypto("bad key-encryption key".into()))
    }

    fn open(&self, nonce_and_body: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>> {
        if nonce_and_body.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Decryption);
        }
        let (nonce, body) = nonce_and_body.split_at(NONCE_LEN);
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

    fn derive(&self, purpose: &str, input: &str) -> [u8; 32] {
        let base = hmac::Key::new(hmac::HMAC_SHA256, &self.bytes[..]);
        let sub = hmac::sign(&base, purpose.as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref());
        let tag = hmac::sign(&key, input.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// The deployment's key-encryption key (32 bytes), with the previous KEKs it still accepts
/// during a rotation (docs/DEPLOYMENT.md "Rotating the KEK"): values are sealed and secrets
/// derived under the current KEK only; sealed values and derived secrets of a previous KEK
/// are still opened and recognised, until `vdc kek rotate` re-sealed the stored ones and the
/// derived ones (pre-authorized codes, nonces) expired. `Debug` never prints a key.
#[derive(Clone)]
pub struct KeyEncryptionKey {
    current: Arc<Key>,
    previous: Arc<Vec<Key>>,
}

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// A KEK from exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            current: Arc::new(Key::new(bytes)?),
            previous: Arc::new(Vec::new()),
        })
    }

    /// A fresh random KEK.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill(bytes.as_mut())?;
        Self::from_bytes(bytes.as_ref())
    }

    /// The KEK's base64url text (how `VDC_KEK` and `data_dir/kek` hold it).
    pub fn to_base64url(&self) -> Zeroizing<String> {
        Zeroizing::new(crate::base64url::encode(&self.current.bytes[..]))
    }

    /// Parses the base64url text of [`Self::to_base64url`].
    pub fn from_base64url(text: &str) -> Result<Self> {
        let bytes = Zeroizing::new(crate::base64url::decode(text.trim())?);
        Self::from_bytes(&bytes)
    }

    /// This KEK, still accepting what `previous` sealed and derived (each one's own current
    /// key; the same key twice, or this one among them, counts once).
    pub fn with_previous(self, previous: &[KeyEncryptionKey]) -> Self {
        let mut keys: Vec<Key> = Vec::new();
        for p in previous {
            let id = p.current.id;
            if id != self.current.id && keys.iter().all(|k| k.id != id) {
                keys.push(Key {
                    bytes: p.current.bytes.clone(),
                    id,
                });
            }
        }
        Self {
            current: self.current,
            previous: Arc::new(keys),
        }
    }

    /// The id of the current KEK.
    pub fn id(&self) -> KekId {
        self.current.id
    }

    /// The ids of the previous KEKs still accepted.
    pub fn previous_ids(&self) -> Vec<KekId> {
        self.previous.iter().map(|k| k.id).collect()
    }

    /// Which KEK sealed `sealed`, as its header says; `None` for a value sealed before
    /// values named their KEK (or not sealed by vdc at all).
    pub fn sealed_by(sealed: &[u8]) -> Option<KekId> {
        let rest = sealed.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < ID_LEN + NONCE_LEN + TAG_LEN {
            return None;
        }
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&rest[..ID_LEN]);
        Some(KekId(id))
    }

    /// Whether `sealed` is sealed under the current KEK (nothing to re-seal).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        Self::sealed_by(sealed) == Some(self.current.id)
    }

    /// Encrypts `plaintext` bound to `context` (AAD) under the current KEK:
    /// `"vdk1" || KEK id || nonce || ciphertext || tag`, with a random 96-bit nonce.
    pub fn seal(&self, plaintext: &[u8], context: &str, rng: &dyn RandomSource) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)?;
        let mut out = Zeroizing::new(plaintext.to_vec());
        self.current
            .cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut *out,
            )
            .map_err(|_| Error::Crypto("key encryption failed".into()))?;
        let mut sealed = Vec::with_capacity(HEADER_LEN + NONCE_LEN + out.len());
        sealed.extend_from_slice(MAGIC);
        sealed.extend_from_slice(&self.current.id.0);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(self.current.as_ref()).chain(self.previous.iter())
    }

    /// Decrypts what [`Self::seal`] produced for the same `context`, under the KEK its
    /// header names (current or previous); a value without a header (sealed before values
    /// named their KEK: `nonce || ciphertext || tag`) is tried under each. [`Error::Decryption`]
    /// under an unknown KEK, another context or after any change to the bytes.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>> {
        if let Some(id) = Self::sealed_by(sealed)
            && let Some(key) = self.keys().find(|k| k.id == id)
            && let Ok(plain) = key.open(&sealed[HEADER_LEN..], context)
        {
            return Ok(plain);
        }
        // Headerless (or a headerless value whose random nonce happens to look like a
        // header: 2^-32): each KEK in turn.
        for key in self.keys() {
            if let Ok(plain) = key.open(sealed, context) {
                return Ok(plain);
            }
        }
        Err(Error::Decryption)
    }

    /// A keyed hash for deriving per-purpose secrets (HMAC-SHA-256 under a key derived from
    /// the current KEK for `purpose`), so derived codes need not be stored in clear.
    pub fn derive(&self, purpose: &str, input: &str) -> [u8; 32] {
        self.current.derive(purpose, input)
    }

    /// [`Self::derive`] under the current KEK, then under each previous one: what a value
    /// derived before the rotation may be, for recognising it (pre-authorized codes of
    /// offers made before, nonces handed out before).
    pub fn derive_all(&self, purpose: &str, input: &str) -> Vec<[u8; 32]> {
        self.keys().map(|k| k.derive(purpose, input)).collect()
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
    fn a_rotation_opens_old_values_and_seals_under_the_new_kek() {
        let rng = SeededRandom::new(3);
        let old = KeyEncryptionKey::from_bytes(&[1u8; 32]).unwrap();
        let new = KeyEncryptionKey::from_bytes(&[2u8; 32]).unwrap();
        assert_ne!(old.id(), new.id());
        let by_old = old.seal(b"s", "ctx", &rng).unwrap();
        assert_eq!(KeyEncryptionKey::sealed_by(&by_old), Some(old.id()));
        assert!(
            new.open(&by_old, "ctx").is_err(),
            "new alone does not open it"
        );
        let both = new
            .clone()
            .with_previous(&[old.clone(), new.clone(), old.clone()]);
        assert_eq!(both.previous_ids(), vec![old.id()]);
        assert_eq!(&both.open(&by_old, "ctx").unwrap()[..], b"s");
        assert!(!both.is_current(&by_old));
        let resealed = both.seal(b"s", "ctx", &rng).unwrap();
        assert!(both.is_current(&resealed));
        assert!(
            old.open(&resealed, "ctx").is_err(),
            "old alone cannot open the new"
        );
        // A header naming a KEK nobody has: refused, not opened by another.
        let mut forged = resealed.clone();
        forged[4] ^= 1;
        assert!(both.open(&forged, "ctx").is_err());
        // Values sealed before values named their KEK (nonce || ciphertext || tag).
        let legacy = {
            let key = Key::new(&[1u8; 32]).unwrap();
            let nonce = [5u8; NONCE_LEN];
            let mut out = b"legacy".to_vec();
            key.cipher()
                .unwrap()
                .seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(b"ctx".as_slice()),
                    &mut out,
                )
                .unwrap();
            [nonce.to_vec(), out].concat()
        };
        assert_eq!(KeyEncryptionKey::sealed_by(&legacy), None);
        assert_eq!(&both.open(&legacy, "ctx").unwrap()[..], b"legacy");
        assert_eq!(&old.open(&legacy, "ctx").unwrap()[..], b"legacy");
        assert!(new.open(&legacy, "ctx").is_err());
        // Derived secrets: made under the new KEK, recognised under both.
        assert_eq!(both.derive("p", "x"), new.derive("p", "x"));
        assert_eq!(
            both.derive_all("p", "x"),
            vec![new.derive("p", "x"), old.derive("p", "x")]
        );
        assert_eq!(new.id().to_string().len(), 16);
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
