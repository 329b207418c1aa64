//! [`KeyStore`]: the signing keys of every tenant, as opaque ciphertext (the caller seals and
//! opens them with the deployment's key-encryption key).

use async_trait::async_trait;
use serde_json::Value;

#[allow(unused_imports)] // doc links
use crate::StoreError;
use crate::{Result, UnixTime};

/// One signing key of an issuer. The private key is opaque ciphertext: the caller encrypts
/// it before it reaches the store and decrypts it after.
#[derive(Clone, PartialEq)]
pub struct SigningKeyRecord {
    /// The tenant.
    pub issuer_id: String,
    /// The key id (JWS `kid`), unique per issuer.
    pub kid: String,
    /// The JWS algorithm (`ES256`, `EdDSA`).
    pub alg: String,
    /// The public key as a JWK (published in the issuer's JWKS).
    pub public_jwk: Value,
    /// The private key, encrypted by the caller.
    pub encrypted_private_key: Vec<u8>,
    /// When the key was added.
    pub created_at: UnixTime,
    /// When the key starts signing (it is the issuer's `next` key until then, published
    /// but signing nothing); at the latest, the previous key stops signing then.
    pub activate_at: UnixTime,
    /// When the key stopped signing (it stays published until what it signed expired, R3).
    pub retired_at: Option<UnixTime>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("issuer_id", &self.issuer_id)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("public_jwk", &self.public_jwk)
            .field("encrypted_private_key", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("activate_at", &self.activate_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

/// The tenants' signing keys. Object-safe: services hold an `Arc<dyn KeyStore>`.
#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Adds a signing key; [`StoreError::Duplicate`] if the `kid` exists for this issuer,
    /// [`StoreError::NotFound`] if the issuer does not exist.
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> Result<()>;
    /// The issuer's signing keys (retired ones included) in the order they were added.
    async fn signing_keys(&self, issuer_id: &str) -> Result<Vec<SigningKeyRecord>>;
    /// Marks a key retired at `at`; false if unknown or already retired.
    async fn retire_signing_key(&self, issuer_id: &str, kid: &str, at: UnixTime) -> Result<bool>;
    /// Adds `key` as the issuer's next key if the issuer's newest key (the last added) is
    /// still `expected_newest`, in one transaction that holds the issuer's row: of racing
    /// rotations that saw the same newest key exactly one is added, the others get
    /// [`StoreError::Conflict`]. [`StoreError::NotFound`] if the issuer does not exist.
    async fn rotate_signing_key(&self, key: &SigningKeyRecord, expected_newest: &str)
    -> Result<()>;
    /// Deletes a key; false if unknown. The caller decides whether it may go (R3).
    async fn delete_signing_key(&self, issuer_id: &str, kid: &str) -> Result<bool>;
    /// The latest `expires_at` of the issuer's credentials issued in `[from, until]`
    /// ([`UnixTime`]`(i64::MAX)` if one of them never expires); `None` if there are none.
    async fn latest_credential_expiry(
        &self,
        issuer_id: &str,
        from: UnixTime,
        until: UnixTime,
    ) -> Result<Option<UnixTime>>;
}
