//! [`KeyRing`]: the tenants' signing keys as the services use them. Private keys are sealed
//! with the deployment's [`KeyEncryptionKey`] before they reach the [`KeyStore`] and opened
//! on first use; signers and published keys are cached in memory (and read again from the
//! store on a miss, so many instances can serve one deployment).
//!
//! One ring is shared by the issuer (credential signing, metadata), the status service (the
//! Status Issuer signs with the issuer's keys, draft-ietf-oauth-status-list §11.3) and the
//! verifier (this deployment's issuers' keys, and sealing its own secrets with the KEK), so
//! no service reaches into another for key material.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use vdc_core::jose::{Algorithm, Jwk, JwkSet, LocalSigner, Signer as _, SigningKey};
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;

use crate::keys::{KeyStore, SigningKeyRecord};
use crate::{Result, StoreError, UnixTime};

/// Seconds an instance serves a tenant's published keys without reading them again.
pub const PUBLISHED_KEYS_SECS: i64 = 60;

/// The AAD under which an issuer's private key is sealed: moving the ciphertext to another
/// issuer or `kid` makes it undecryptable.
fn context(issuer_id: &str, kid: &str) -> String {
    format!("vdc issuer signing key\0{issuer_id}\0{kid}")
}

/// One published verification key: the JWK and, when the key has one, its `x5c` chain as
/// stored (RFC 7517 §4.7).
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedKey {
    /// The public key with its `kid`.
    pub jwk: Jwk,
    /// The certificate chain, as published.
    pub x5c: Option<Value>,
}

/// A tenant's published verification keys: every key, retired ones too, so what they
/// signed stays verifiable (R3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PublishedKeys {
    /// The keys, oldest first.
    pub keys: Vec<PublishedKey>,
}

impl PublishedKeys {
    /// The keys as a JWK Set (without certificates), for signature checks.
    pub fn jwk_set(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    /// The JWK Set as published (`{"keys": [...]}`, each key with its `x5c`).
    pub fn to_value(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                let mut v = k.jwk.to_value();
                if let Some(x5c) = &k.x5c {
                    v["x5c"] = x5c.clone();
                }
                v
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }
}

/// The tenants' signing keys, sealed in the store and cached open in memory. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

struct Inner {
    kek: KeyEncryptionKey,
    store: Arc<dyn KeyStore>,
    signers: RwLock<HashMap<String, Arc<LocalSigner>>>,
    published: RwLock<HashMap<String, (UnixTime, Arc<PublishedKeys>)>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A key ring over `store`, sealing with `kek`.
    pub fn new(kek: KeyEncryptionKey, store: Arc<dyn KeyStore>) -> Self {
        Self {
            inner: Arc::new(Inner {
                kek,
                store,
                signers: RwLock::new(HashMap::new()),
                published: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The deployment's key-encryption key (for the other secrets services seal).
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.inner.kek
    }

    /// Seals `key` (with an optional x5c chain) and stores it as `issuer_id`'s current
    /// signing key.
    pub async fn add(
        &self,
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
            .inner
            .kek
            .seal(private.as_bytes(), &context(issuer_id, &kid), rng)
            .map_err(|e| StoreError::Invalid(sealing_failed(&e)))?;
        self.inner
            .store
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
        write(&self.inner.signers).insert(issuer_id.to_owned(), signer.clone());
        write(&self.inner.published).remove(issuer_id);
        Ok(signer)
    }

    /// Makes `key` (with its chain) `issuer_id`'s current signing key and retires every
    /// other key: retired keys sign nothing more but stay published, so what they signed
    /// stays verifiable (R3). Another instance that has the old signer open keeps using it
    /// until it restarts (the signer cache has no lifetime yet; key rotation is a later
    /// issue); what it signs stays verifiable for the same reason.
    pub async fn replace(
        &self,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<LocalSigner>> {
        let old = self.inner.store.signing_keys(issuer_id).await?;
        let signer = self.add(issuer_id, key, x5c, now, rng).await?;
        for record in old.iter().filter(|r| r.retired_at.is_none()) {
            self.inner
                .store
                .retire_signing_key(issuer_id, &record.kid, now)
                .await?;
        }
        write(&self.inner.published).remove(issuer_id);
        Ok(signer)
    }

    /// Generates, seals and stores a fresh key for `issuer_id`.
    pub async fn generate(
        &self,
        issuer_id: &str,
        alg: Algorithm,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<LocalSigner>> {
        let key =
            SigningKey::generate(alg, rng).map_err(|e| StoreError::Invalid(sealing_failed(&e)))?;
        self.add(issuer_id, key, None, now, rng).await
    }

    /// The tenant's signer if this instance has it open already.
    pub fn cached(&self, issuer_id: &str) -> Option<Arc<LocalSigner>> {
        read(&self.inner.signers).get(issuer_id).cloned()
    }

    /// The tenant's current signer (its newest unretired key), opened with the KEK; `None`
    /// when the tenant has no such key (or does not exist). A key that does not open is
    /// [`StoreError::Corrupt`]: the KEK is not the one that sealed it.
    pub async fn signer(&self, issuer_id: &str) -> Result<Option<Arc<LocalSigner>>> {
        if let Some(s) = self.cached(issuer_id) {
            return Ok(Some(s));
        }
        let records = self.inner.store.signing_keys(issuer_id).await?;
        let Some(record) = records.iter().rev().find(|r| r.retired_at.is_none()) else {
            return Ok(None);
        };
        let private = self
            .inner
            .kek
            .open(
                &record.encrypted_private_key,
                &context(issuer_id, &record.kid),
            )
            .map_err(|_| {
                StoreError::Corrupt(format!(
                    "signing key {} of {issuer_id} does not decrypt with this key-encryption key",
                    record.kid
                ))
            })?;
        let corrupt = |what: &str| StoreError::Corrupt(format!("stored signing key: {what}"));
        let jwk: Value = serde_json::from_slice(&private).map_err(|_| corrupt("not a JWK"))?;
        let key = SigningKey::from_private_jwk(&jwk).map_err(|e| corrupt(&e.to_string()))?;
        let mut signer = LocalSigner::new(key).with_kid(record.kid.clone());
        if let Some(x5c) = record.public_jwk.get("x5c") {
            let chain = vdc_core::x509::parse_x5c(x5c).map_err(|e| corrupt(&e.to_string()))?;
            signer = signer.with_x5c(chain);
        }
        let signer = Arc::new(signer);
        write(&self.inner.signers).insert(issuer_id.to_owned(), signer.clone());
        Ok(Some(signer))
    }

    /// The tenant's published verification keys, read at most every
    /// [`PUBLISHED_KEYS_SECS`] (verifiers of this deployment read them on every
    /// presentation). Keys are only added today, and [`Self::add`] forgets this instance's
    /// copy; a key added on another instance is seen here within the cache's lifetime.
    pub async fn published(&self, issuer_id: &str, now: UnixTime) -> Result<Arc<PublishedKeys>> {
        if let Some((at, keys)) = read(&self.inner.published).get(issuer_id)
            && now.0 >= at.0
            && now.0 - at.0 < PUBLISHED_KEYS_SECS
        {
            return Ok(keys.clone());
        }
        let mut keys = Vec::new();
        for record in self.inner.store.signing_keys(issuer_id).await? {
            let mut public = record.public_jwk.clone();
            let x5c = public.as_object_mut().and_then(|o| o.remove("x5c"));
            let jwk = Jwk::from_value(&public)
                .map_err(|e| StoreError::Corrupt(format!("stored public key unreadable: {e}")))?;
            keys.push(PublishedKey { jwk, x5c });
        }
        let published = Arc::new(PublishedKeys { keys });
        // A tenant without keys makes its first on first use: not kept.
        if !published.keys.is_empty() {
            write(&self.inner.published).insert(issuer_id.to_owned(), (now, published.clone()));
        }
        Ok(published)
    }
}

fn sealing_failed(_: &vdc_core::Error) -> &'static str {
    "signing key could not be generated or sealed"
}

// The caches hold only what is also in the store; a poisoned lock keeps its data.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
