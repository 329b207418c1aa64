//! Issuer signing keys: generated or imported, encrypted at rest with the deployment's
//! key-encryption key, loaded into memory on first use.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;
use vdc_core::jose::{Algorithm, LocalSigner, Signer, SigningKey};
use vdc_core::rng::RandomSource;
use vdc_core::time::UnixTime;
use vdc_store::{IssuanceStore, SigningKeyRecord};
use zeroize::Zeroizing;

use crate::error::{IssuerError, Result};

/// The deployment's key-encryption key (32 bytes). Private keys are stored only as
/// AES-256-GCM ciphertext under it; `Debug` never prints it.
#[derive(Clone)]
pub struct KeyEncryptionKey(Arc<Zeroizing<[u8; 32]>>);

impl fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyEncryptionKey([redacted])")
    }
}

impl KeyEncryptionKey {
    /// A KEK from 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let k: [u8; 32] = bytes
            .try_into()
            .map_err(|_| IssuerError::Internal("the key-encryption key must be 32 bytes".into()))?;
        Ok(Self(Arc::new(Zeroizing::new(k))))
    }

    fn cipher(&self) -> Result<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.0[..])
            .map(LessSafeKey::new)
            .map_err(|_| IssuerError::Internal("bad key-encryption key".into()))
    }

    /// Encrypts `plaintext` bound to `context` (AAD): `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8], context: &str, rng: &dyn RandomSource) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut nonce)
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        let mut out = Zeroizing::new(plaintext.to_vec());
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut *out,
            )
            .map_err(|_| IssuerError::Internal("key encryption failed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// Decrypts what [`Self::seal`] produced for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(IssuerError::Internal("sealed key too short".into()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| IssuerError::Internal("bad nonce".into()))?;
        let mut buf = Zeroizing::new(body.to_vec());
        let len = self
            .cipher()?
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut buf)
            .map_err(|_| {
                IssuerError::Internal(
                    "stored key does not decrypt with this key-encryption key".into(),
                )
            })?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    /// A keyed hash for deriving per-offer secrets (HMAC-SHA-256 under a key derived from
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

fn context(issuer_id: &str, kid: &str) -> String {
    format!("vdc issuer signing key\0{issuer_id}\0{kid}")
}

/// Loads and caches issuers' signers.
#[derive(Debug, Clone)]
pub struct KeyRing {
    kek: KeyEncryptionKey,
    signers: Arc<RwLock<HashMap<String, Arc<LocalSigner>>>>,
}

impl KeyRing {
    /// A key ring over a KEK.
    pub fn new(kek: KeyEncryptionKey) -> Self {
        Self {
            kek,
            signers: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// The KEK.
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.kek
    }

    /// Stores `key` (with an optional x5c chain) for `issuer_id`, encrypted.
    pub async fn store_key(
        &self,
        store: &dyn IssuanceStore,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<LocalSigner>> {
        let mut signer = LocalSigner::new(key);
        if let Some(chain) = x5c.clone() {
            signer = signer.with_x5c(chain);
        }
        let jwk = signer.public_jwk().clone();
        let kid = jwk.kid.clone().unwrap_or_default();
        let mut public_jwk = jwk.to_value();
        if let Some(chain) = &x5c {
            public_jwk["x5c"] = vdc_core::x509::to_x5c(chain);
        }
        let private = signer.key().to_private_jwk();
        let sealed = self
            .kek
            .seal(private.as_bytes(), &context(issuer_id, &kid), rng)?;
        store
            .add_signing_key(&SigningKeyRecord {
                issuer_id: issuer_id.to_owned(),
                kid,
                alg: signer.algorithm().name().into(),
                public_jwk,
                encrypted_private_key: sealed,
                created_at: now,
                retired_at: None,
            })
            .await?;
        let signer = Arc::new(signer);
        self.cache().insert(issuer_id.to_owned(), signer.clone());
        Ok(signer)
    }

    /// Generates and stores a fresh key.
    pub async fn generate(
        &self,
        store: &dyn IssuanceStore,
        issuer_id: &str,
        alg: Algorithm,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<LocalSigner>> {
        let key = SigningKey::generate(alg, rng)?;
        self.store_key(store, issuer_id, key, None, now, rng).await
    }

    /// The issuer's signer if it is loaded already.
    pub fn cached(&self, issuer_id: &str) -> Option<Arc<LocalSigner>> {
        self.cache_read().get(issuer_id).cloned()
    }

    /// The issuer's current signer (its newest unretired key).
    pub async fn signer(
        &self,
        store: &dyn IssuanceStore,
        issuer_id: &str,
    ) -> Result<Arc<LocalSigner>> {
        if let Some(s) = self.cache_read().get(issuer_id) {
            return Ok(s.clone());
        }
        let records = store.signing_keys(issuer_id).await?;
        let record = records
            .iter()
            .rev()
            .find(|r| r.retired_at.is_none())
            .ok_or_else(|| {
                IssuerError::Internal(format!("issuer {issuer_id} has no signing key"))
            })?;
        let private = self.kek.open(
            &record.encrypted_private_key,
            &context(issuer_id, &record.kid),
        )?;
        let jwk: serde_json::Value = serde_json::from_slice(&private)
            .map_err(|_| IssuerError::Internal("stored key is not a JWK".into()))?;
        let key = SigningKey::from_private_jwk(&jwk)?;
        let mut signer = LocalSigner::new(key).with_kid(record.kid.clone());
        if let Some(x5c) = record.public_jwk.get("x5c") {
            signer = signer.with_x5c(vdc_core::x509::parse_x5c(x5c)?);
        }
        let signer = Arc::new(signer);
        self.cache().insert(issuer_id.to_owned(), signer.clone());
        Ok(signer)
    }

    fn cache(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<LocalSigner>>> {
        // The cache only holds keys that are also in the store; a poisoned lock keeps its data.
        self.signers.write().unwrap_or_else(|e| e.into_inner())
    }

    fn cache_read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<LocalSigner>>> {
        self.signers.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::rng::SeededRandom;

    #[test]
    fn sealed_keys_open_only_with_the_same_kek_and_context() {
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
        assert!(format!("{kek:?}").contains("redacted"));
    }
}

/// The signer of an issuer's status lists: its current credential key, through the key
/// ring (draft-ietf-oauth-status-list §11.3: the Status Issuer usually is the Issuer and uses
/// the same keys, so relying parties resolve them from the issuer's JWT VC Issuer Metadata).
#[derive(Debug, Clone)]
pub struct IssuerStatusSigner {
    keys: KeyRing,
    store: Arc<dyn IssuanceStore>,
}

#[async_trait::async_trait]
impl vdc_status::StatusSigner for IssuerStatusSigner {
    async fn signer(
        &self,
        issuer_id: &str,
    ) -> std::result::Result<Option<Arc<dyn Signer>>, vdc_status::ServiceError> {
        if let Some(s) = self.keys.cached(issuer_id) {
            return Ok(Some(s));
        }
        if !crate::config::is_slug(issuer_id) || self.store.get_issuer(issuer_id).await?.is_none() {
            return Ok(None);
        }
        let signer = self
            .keys
            .signer(self.store.as_ref(), issuer_id)
            .await
            .map_err(|e| vdc_status::ServiceError::Internal(e.to_string()))?;
        Ok(Some(signer))
    }
}

impl IssuerStatusSigner {
    /// A status signer over the issuer's key ring and store.
    pub fn new(keys: KeyRing, store: Arc<dyn IssuanceStore>) -> Self {
        Self { keys, store }
    }
}
