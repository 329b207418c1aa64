//! [`KeyRing`]: the tenants' signing keys as the services use them. Private keys are sealed
//! with the deployment's [`KeyEncryptionKey`] before they reach the [`KeyStore`] and opened
//! on first use; signers and published keys are cached in memory for a bounded time (and
//! read again from the store, so many instances can serve one deployment and see each
//! other's rotations).
//!
//! Rotation (R3): a tenant's keys form a timeline ordered by `activate_at`. A key whose
//! `activate_at` is ahead is `next` (published, so verifiers that cache the issuer's keys
//! know it before it signs); the newest key whose `activate_at` has passed is `active` and
//! signs; every key before it is `retired` from its successor's `activate_at` on (or from its
//! own `retired_at`). A retired key stays published until everything it may have signed has
//! expired ([`KeyInfo::published_until`]): the credentials issued while it could sign, and
//! the tokens (status list tokens, signed metadata) signed with it, whose lifetime is
//! bounded by [`KeyRingSettings::signed_lifetime_secs`].
//!
//! One ring is shared by the issuer (credential signing, metadata), the status service (the
//! Status Issuer signs with the issuer's keys, draft-ietf-oauth-status-list §11.3) and the
//! verifier (this deployment's issuers' keys, and sealing its own secrets with the KEK), so
//! no service reaches into another for key material.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use vdc_core::jose::{Algorithm, Jwk, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;
use vdc_core::time::{Clock, SystemClock};

use crate::keys::{KeyStore, SigningKeyRecord};
use crate::{Result, StoreError, UnixTime};

/// Seconds an instance serves a tenant's published keys without reading them again.
pub const PUBLISHED_KEYS_SECS: i64 = 60;

/// Seconds an instance signs with a tenant's key without reading the store again: a
/// rotation made on another instance takes effect here within this time (a scheduled one
/// exactly at its `activate_at`, which every instance knows in advance).
pub const SIGNER_CACHE_SECS: i64 = 30;

/// A `next` key may be deleted only while its activation is more than this far ahead, so
/// no instance can have signed with it (the caches switch at `activate_at`).
pub const NEXT_KEY_DELETE_MARGIN_SECS: i64 = 60;

/// Where a key is in its tenant's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, signs from its `activate_at` on.
    Next,
    /// Signs.
    Active,
    /// Signs nothing more; published until what it signed has expired.
    Retired,
}

impl KeyState {
    /// The contract's name (`next`, `active`, `retired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }
}

/// One key of a tenant as the keys API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    /// The key id.
    pub kid: String,
    /// The JWS algorithm.
    pub alg: String,
    /// Where the key is now.
    pub state: KeyState,
    /// When it was added.
    pub created_at: UnixTime,
    /// When it starts (or started) signing.
    pub activate_at: UnixTime,
    /// When it stops (or stopped) signing: its own `retired_at` or its successor's
    /// `activate_at`; `None` while no successor is scheduled.
    pub retired_at: Option<UnixTime>,
    /// Until when it stays published: `None` while it has no end; `UnixTime(i64::MAX)` if
    /// it signed a credential that never expires.
    pub published_until: Option<UnixTime>,
    /// Whether the key carries a certificate chain.
    pub has_x5c: bool,
}

/// Settings of a [`KeyRing`].
#[derive(Debug, Clone, Copy)]
pub struct KeyRingSettings {
    /// The longest lifetime (`exp - iat`) of anything other than credentials that tenants
    /// sign with these keys (status list tokens, signed metadata): how long a retired key
    /// stays published after it stopped signing, beyond the credentials it signed.
    pub signed_lifetime_secs: i64,
}

impl Default for KeyRingSettings {
    fn default() -> Self {
        Self {
            signed_lifetime_secs: 24 * 3600,
        }
    }
}

/// The tenant's keys in the order they were added, which is their activation order: a key
/// is added only while no key is `next`, and activates now or later.
fn timeline(records: Vec<SigningKeyRecord>) -> Vec<SigningKeyRecord> {
    records
}

/// When the `i`th key of a [`timeline`] stops signing.
fn end_of(keys: &[SigningKeyRecord], i: usize) -> Option<UnixTime> {
    let successor = keys.get(i + 1).map(|k| k.activate_at);
    match (keys[i].retired_at, successor) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn state_of(keys: &[SigningKeyRecord], i: usize, now: UnixTime) -> KeyState {
    if keys[i].activate_at > now {
        KeyState::Next
    } else if end_of(keys, i).is_some_and(|e| e <= now) {
        KeyState::Retired
    } else {
        KeyState::Active
    }
}

/// The AAD under which an issuer's private key is sealed: moving the ciphertext to another
/// issuer or `kid` makes it undecryptable.
fn context(issuer_id: &str, kid: &str) -> String {
    crate::sealed::context::issuer_signing_key(issuer_id, kid)
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

/// Keys held outside the store, in an HSM (PKCS#11): the key ring keeps their public key and,
/// sealed like a private key, only a reference to them (`{"pkcs11": {...}}`, never a PIN).
/// The deployment composes the implementation (`vdc`); a ring without one refuses such keys.
#[async_trait::async_trait]
pub trait ExternalKeys: Send + Sync + std::fmt::Debug {
    /// A signer for the existing key `reference` names, signing as `kid` with `x5c`.
    async fn open(
        &self,
        reference: &Value,
        kid: Option<&str>,
        x5c: Option<Vec<Vec<u8>>>,
    ) -> std::result::Result<Arc<dyn Signer>, ExternalKeyError>;
    /// Generates a non-extractable key of `alg` where `reference` says and opens it.
    async fn generate(
        &self,
        reference: &Value,
        alg: Algorithm,
    ) -> std::result::Result<Arc<dyn Signer>, ExternalKeyError>;
    /// Whether every token in use answers (`/readyz`).
    async fn ping(&self) -> std::result::Result<(), ExternalKeyError>;
}

/// Why an external key could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalKeyError {
    /// The reference is wrong (unknown module, token, key label, PIN variable): the
    /// caller's mistake, answered 400 at rotation.
    Invalid(String),
    /// The device does not answer (token absent, session lost): 503, retry later.
    Unavailable(String),
}

impl std::fmt::Display for ExternalKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Invalid(m) | Self::Unavailable(m) => f.write_str(m),
        }
    }
}

/// The tenants' signing keys, sealed in the store and cached open in memory. Cheap to clone.
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<Inner>,
}

/// A tenant's open signer and until when it may be used without a store read.
type CachedSigner = (UnixTime, Arc<dyn Signer>);

struct Inner {
    kek: KeyEncryptionKey,
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    settings: KeyRingSettings,
    /// The active signer per tenant and until when it may be used without a store read.
    signers: RwLock<HashMap<String, CachedSigner>>,
    external: std::sync::OnceLock<Arc<dyn ExternalKeys>>,
    published: RwLock<HashMap<String, (UnixTime, Arc<PublishedKeys>)>>,
    /// `published_until` of retired keys past their signing window: it cannot change.
    settled: RwLock<HashMap<(String, String), Option<UnixTime>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A key ring over `store`, sealing with `kek`, on the system clock.
    pub fn new(kek: KeyEncryptionKey, store: Arc<dyn KeyStore>) -> Self {
        Self::with_settings(
            kek,
            store,
            Arc::new(SystemClock),
            KeyRingSettings::default(),
        )
    }

    /// A key ring with its clock (rotations take effect by it) and settings.
    pub fn with_settings(
        kek: KeyEncryptionKey,
        store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        settings: KeyRingSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                kek,
                store,
                clock,
                settings,
                signers: RwLock::new(HashMap::new()),
                external: std::sync::OnceLock::new(),
                published: RwLock::new(HashMap::new()),
                settled: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Lets the ring use keys held in an HSM (once, at composition; later calls are ignored).
    pub fn set_external_keys(&self, external: Arc<dyn ExternalKeys>) {
        let _ = self.inner.external.set(external);
    }

    /// Whether the HSM tokens in use answer; `Ok` without an HSM.
    pub async fn ping_external(&self) -> Result<()> {
        match self.inner.external.get() {
            Some(e) => e
                .ping()
                .await
                .map_err(|e| StoreError::Unavailable(format!("HSM: {e}"))),
            None => Ok(()),
        }
    }

    fn external(&self) -> std::result::Result<&Arc<dyn ExternalKeys>, ExternalKeyError> {
        self.inner.external.get().ok_or_else(|| {
            ExternalKeyError::Invalid(
                "this deployment has no PKCS#11 module configured (VDC_PKCS11_MODULES)".into(),
            )
        })
    }

    /// A signer for a key held in an HSM that is not an issuer key (a verifier's
    /// request-signing key, sealed by its owner): the key `reference` names, or a new
    /// non-extractable one there when `generate`.
    pub async fn external_signer(
        &self,
        reference: &Value,
        generate: Option<Algorithm>,
    ) -> std::result::Result<Arc<dyn Signer>, ExternalKeyError> {
        let external = self.external()?;
        match generate {
            Some(alg) => external.generate(reference, alg).await,
            None => external.open(reference, None, None).await,
        }
    }

    /// Adds a key held in an HSM as `issuer_id`'s next key (as [`Self::rotate`]): `signer`,
    /// opened or generated through [`Self::external_signer`] from `reference`, with the
    /// certificate chain `x5c` that certifies it, if any. Only the reference is stored
    /// (sealed), with the public key (and its `x5c`).
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate_external(
        &self,
        issuer_id: &str,
        reference: &Value,
        signer: &dyn Signer,
        x5c: Option<&[Vec<u8>]>,
        activate_at: UnixTime,
        expected_newest: &str,
        rng: &dyn RandomSource,
    ) -> Result<KeyInfo> {
        let now = self.inner.clock.now();
        let jwk = signer.public_jwk().clone();
        let kid = jwk.kid.clone().unwrap_or_else(|| jwk.thumbprint());
        let mut public_jwk = jwk.with_kid(kid.clone()).to_value();
        if let Some(chain) = x5c {
            public_jwk["x5c"] = vdc_core::x509::to_x5c(chain);
        }
        let stored = serde_json::json!({ "pkcs11": reference }).to_string();
        let sealed = self
            .inner
            .kek
            .seal(stored.as_bytes(), &context(issuer_id, &kid), rng)
            .map_err(|e| StoreError::Invalid(sealing_failed(&e)))?;
        let record = SigningKeyRecord {
            issuer_id: issuer_id.to_owned(),
            kid: kid.clone(),
            alg: signer.algorithm().name().into(),
            public_jwk,
            encrypted_private_key: sealed,
            created_at: now,
            activate_at: activate_at.max(now),
            retired_at: None,
        };
        self.inner
            .store
            .rotate_signing_key(&record, expected_newest)
            .await?;
        self.forget(issuer_id);
        self.keys(issuer_id).await.and_then(|keys| {
            keys.into_iter()
                .find(|k| k.kid == kid)
                .ok_or(StoreError::NotFound("signing key"))
        })
    }

    /// The deployment's key-encryption key (for the other secrets services seal).
    pub fn kek(&self) -> &KeyEncryptionKey {
        &self.inner.kek
    }

    fn seal_record(
        &self,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        now: UnixTime,
        activate_at: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<(SigningKeyRecord, LocalSigner)> {
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
        let record = SigningKeyRecord {
            issuer_id: issuer_id.to_owned(),
            kid,
            alg: signer.algorithm().name().into(),
            public_jwk,
            encrypted_private_key: sealed,
            created_at: now,
            activate_at,
            retired_at: None,
        };
        Ok((record, signer))
    }

    fn forget(&self, issuer_id: &str) {
        write(&self.inner.signers).remove(issuer_id);
        write(&self.inner.published).remove(issuer_id);
    }

    /// Seals `key` (with an optional x5c chain) and stores it as `issuer_id`'s signing key,
    /// active from `now` (a tenant's first key).
    pub async fn add(
        &self,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<dyn Signer>> {
        let (record, signer) = self.seal_record(issuer_id, key, x5c, now, now, rng)?;
        self.inner.store.add_signing_key(&record).await?;
        self.forget(issuer_id);
        Ok(Arc::new(signer))
    }

    /// Makes `key` (with its chain) `issuer_id`'s current signing key and retires every
    /// other key now: retired keys sign nothing more but stay published, so what they
    /// signed stays verifiable (R3). Another instance that has the old signer open keeps
    /// using it for at most [`SIGNER_CACHE_SECS`]; what it signs stays verifiable.
    pub async fn replace(
        &self,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<dyn Signer>> {
        let old = self.inner.store.signing_keys(issuer_id).await?;
        let signer = self.add(issuer_id, key, x5c, now, rng).await?;
        for record in old.iter().filter(|r| r.retired_at.is_none()) {
            self.inner
                .store
                .retire_signing_key(issuer_id, &record.kid, now)
                .await?;
        }
        self.forget(issuer_id);
        Ok(signer)
    }

    /// Generates, seals and stores a fresh key for `issuer_id`, active from `now`.
    pub async fn generate(
        &self,
        issuer_id: &str,
        alg: Algorithm,
        now: UnixTime,
        rng: &dyn RandomSource,
    ) -> Result<Arc<dyn Signer>> {
        let key =
            SigningKey::generate(alg, rng).map_err(|e| StoreError::Invalid(sealing_failed(&e)))?;
        self.add(issuer_id, key, None, now, rng).await
    }

    /// Adds `key` as `issuer_id`'s next key, signing from `activate_at` (`now` or later),
    /// provided the tenant's newest key is still `expected_newest` (what the caller checked:
    /// racing rotations add exactly one key, the others get [`StoreError::Conflict`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn rotate(
        &self,
        issuer_id: &str,
        key: SigningKey,
        x5c: Option<Vec<Vec<u8>>>,
        activate_at: UnixTime,
        expected_newest: &str,
        rng: &dyn RandomSource,
    ) -> Result<KeyInfo> {
        let now = self.inner.clock.now();
        let activate_at = activate_at.max(now);
        let (record, _) = self.seal_record(issuer_id, key, x5c, now, activate_at, rng)?;
        self.inner
            .store
            .rotate_signing_key(&record, expected_newest)
            .await?;
        self.forget(issuer_id);
        let kid = record.kid.clone();
        self.keys(issuer_id)
            .await?
            .into_iter()
            .find(|k| k.kid == kid)
            .ok_or(StoreError::NotFound("signing key"))
    }

    /// The tenant's keys in activation order, with their state now and how long each stays
    /// published.
    pub async fn keys(&self, issuer_id: &str) -> Result<Vec<KeyInfo>> {
        let now = self.inner.clock.now();
        let keys = timeline(self.inner.store.signing_keys(issuer_id).await?);
        let mut out = Vec::with_capacity(keys.len());
        for i in 0..keys.len() {
            let end = end_of(&keys, i);
            out.push(KeyInfo {
                kid: keys[i].kid.clone(),
                alg: keys[i].alg.clone(),
                state: state_of(&keys, i, now),
                created_at: keys[i].created_at,
                activate_at: keys[i].activate_at,
                retired_at: end,
                published_until: self.published_until(&keys[i], end, now).await?,
                has_x5c: keys[i].public_jwk.get("x5c").is_some(),
            });
        }
        Ok(out)
    }

    /// Until when a key that stops signing at `end` stays published: past the last
    /// credential issued while it could sign (its window widened by [`SIGNER_CACHE_SECS`],
    /// for instances that had it open) and past the longest-lived token it could have
    /// signed at the window's end.
    async fn published_until(
        &self,
        key: &SigningKeyRecord,
        end: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<Option<UnixTime>> {
        let Some(end) = end else { return Ok(None) };
        let slot = (key.issuer_id.clone(), key.kid.clone());
        if let Some(until) = read(&self.inner.settled).get(&slot) {
            return Ok(*until);
        }
        let window_end = end.plus(SIGNER_CACHE_SECS);
        let tokens = window_end.plus(self.inner.settings.signed_lifetime_secs);
        let credentials = self
            .inner
            .store
            .latest_credential_expiry(&key.issuer_id, key.created_at, window_end)
            .await?;
        let until = Some(credentials.map_or(tokens, |c| c.max(tokens)));
        if now > window_end {
            write(&self.inner.settled).insert(slot, until);
        }
        Ok(until)
    }

    /// Deletes a key; the caller has checked it may go. Forgets this instance's caches.
    pub async fn delete(&self, issuer_id: &str, kid: &str) -> Result<bool> {
        let deleted = self.inner.store.delete_signing_key(issuer_id, kid).await?;
        self.forget(issuer_id);
        write(&self.inner.settled).remove(&(issuer_id.to_owned(), kid.to_owned()));
        Ok(deleted)
    }

    /// The tenant's active signer, opened with the KEK; `None` when the tenant has no
    /// active key (or does not exist). A key that does not open is [`StoreError::Corrupt`]:
    /// the KEK is not the one that sealed it.
    pub async fn signer(&self, issuer_id: &str) -> Result<Option<Arc<dyn Signer>>> {
        let now = self.inner.clock.now();
        if let Some((until, s)) = read(&self.inner.signers).get(issuer_id)
            && now < *until
        {
            return Ok(Some(s.clone()));
        }
        let keys = timeline(self.inner.store.signing_keys(issuer_id).await?);
        let Some(i) = (0..keys.len())
            .rev()
            .find(|&i| state_of(&keys, i, now) == KeyState::Active)
        else {
            return Ok(None);
        };
        let record = &keys[i];
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
        let chain = match record.public_jwk.get("x5c") {
            Some(x5c) => Some(vdc_core::x509::parse_x5c(x5c).map_err(|e| corrupt(&e.to_string()))?),
            None => None,
        };
        let signer: Arc<dyn Signer> = match jwk.get("pkcs11") {
            // A key in an HSM: an unreachable token is an outage (503), not corruption.
            Some(reference) => {
                let external = self
                    .external()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?;
                external
                    .open(reference, Some(&record.kid), chain)
                    .await
                    .map_err(|e| StoreError::Unavailable(format!("HSM key {}: {e}", record.kid)))?
            }
            None => {
                let key =
                    SigningKey::from_private_jwk(&jwk).map_err(|e| corrupt(&e.to_string()))?;
                let mut signer = LocalSigner::new(key).with_kid(record.kid.clone());
                if let Some(chain) = chain {
                    signer = signer.with_x5c(chain);
                }
                Arc::new(signer)
            }
        };
        // Until the cache's lifetime, but never past the moment the next key takes over.
        let mut until = now.plus(SIGNER_CACHE_SECS);
        if let Some(end) = end_of(&keys, i) {
            until = until.min(end);
        }
        let previous =
            write(&self.inner.signers).insert(issuer_id.to_owned(), (until, signer.clone()));
        // Another instance rotated: this one must not sign with a key its published copy
        // lacks (a wallet verifying against this instance's metadata would not find it).
        if previous.is_none_or(|(_, p)| p.public_jwk().kid != signer.public_jwk().kid) {
            write(&self.inner.published).remove(issuer_id);
        }
        Ok(Some(signer))
    }

    /// The tenant's published verification keys, read at most every
    /// [`PUBLISHED_KEYS_SECS`] (verifiers of this deployment read them on every
    /// presentation): the next, active and retired keys whose `published_until` is ahead.
    /// A change made on this instance forgets its copy; one made on another instance is
    /// seen here within the cache's lifetime (a `next` key is published from its creation,
    /// well before it signs, when it is scheduled ahead).
    pub async fn published(&self, issuer_id: &str, now: UnixTime) -> Result<Arc<PublishedKeys>> {
        if let Some((at, keys)) = read(&self.inner.published).get(issuer_id)
            && now.0 >= at.0
            && now.0 - at.0 < PUBLISHED_KEYS_SECS
        {
            return Ok(keys.clone());
        }
        let records = timeline(self.inner.store.signing_keys(issuer_id).await?);
        let mut keys = Vec::new();
        for i in 0..records.len() {
            let record = &records[i];
            let until = self
                .published_until(record, end_of(&records, i), now)
                .await?;
            if until.is_some_and(|u| u <= now) {
                continue;
            }
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
