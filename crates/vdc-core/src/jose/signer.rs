//! Signing keys and the [`Signer`] trait every signature in vdc goes through.
//!
//! The trait exposes the public JWK and a `sign` method, never the private key, so an
//! implementation can keep keys encrypted in the store today and in a KMS/HSM later.

use std::fmt;

use async_trait::async_trait;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde_json::Value;
use zeroize::Zeroizing;

use super::alg::Algorithm;
use super::jwk::{Jwk, PublicKey};
use crate::base64url;
use crate::error::{Error, Result};
use crate::rng::RandomSource;

/// Produces JWS signatures with a key it does not reveal.
#[async_trait]
pub trait Signer: Send + Sync + fmt::Debug {
    /// The algorithm of the key (the JWS `alg`).
    fn algorithm(&self) -> Algorithm;
    /// The public key, with its `kid` when the key has one.
    fn public_jwk(&self) -> &Jwk;
    /// The DER certificate chain for the key (leaf first), when one is configured (x5c).
    fn x5c(&self) -> Option<&[Vec<u8>]> {
        None
    }
    /// Signs `message`; for ES256 the result is the 64-byte `r || s` (RFC 7518 §3.4).
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// A private key held in memory. `Debug` never prints key material.
pub struct SigningKey {
    inner: KeyPair,
    public: PublicKey,
    // ring's ECDSA signing mixes fresh randomness into the nonce; this is not one of the
    // protocol values (salts, nonces, codes) that STYLE.md §7 wants injectable.
    rng: ring::rand::SystemRandom,
}

enum KeyPair {
    P256 {
        pair: EcdsaKeyPair,
        d: Zeroizing<[u8; 32]>,
    },
    Ed25519 {
        pair: Ed25519KeyPair,
        seed: Zeroizing<[u8; 32]>,
    },
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, private part [redacted])", self.public)
    }
}

impl SigningKey {
    /// Generates a fresh key for `alg` from `rng`.
    pub fn generate(alg: Algorithm, rng: &dyn RandomSource) -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        match alg {
            Algorithm::Es256 => loop {
                rng.fill(bytes.as_mut())?;
                // A uniformly random 32-byte string is >= n with probability ~2^-32; retry.
                if let Ok(key) = Self::p256_from_scalar(bytes.as_ref()) {
                    return Ok(key);
                }
            },
            Algorithm::EdDsa => {
                rng.fill(bytes.as_mut())?;
                Self::ed25519_from_seed(bytes.as_ref())
            }
        }
    }

    /// A P-256 key from its private scalar `d` (32 bytes, big-endian).
    pub fn p256_from_scalar(d: &[u8]) -> Result<Self> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        // Spec: RFC 7518 §6.2.2.1: `d` is exactly the curve size; p256 would left-pad.
        if d.len() != 32 {
            return Err(Error::InvalidKey(
                "P-256 private scalar must be 32 bytes".into(),
            ));
        }
        let secret = p256::SecretKey::from_slice(d)
            .map_err(|_| Error::InvalidKey("P-256 private scalar out of range".into()))?;
        let point = secret.public_key().to_encoded_point(false);
        let public = PublicKey::p256_from_sec1(point.as_bytes())?;
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            d,
            point.as_bytes(),
            &rng,
        )
        .map_err(|e| Error::Crypto(format!("P-256 key rejected: {e}")))?;
        let mut scalar = Zeroizing::new([0u8; 32]);
        scalar.copy_from_slice(d);
        Ok(Self {
            inner: KeyPair::P256 { pair, d: scalar },
            public,
            rng,
        })
    }

    /// An Ed25519 key from its 32-byte seed.
    pub fn ed25519_from_seed(seed: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| Error::InvalidKey("Ed25519 seed must be 32 bytes".into()))?;
        let public = PublicKey::ed25519(pair.public_key().as_ref())?;
        let mut s = Zeroizing::new([0u8; 32]);
        s.copy_from_slice(seed);
        Ok(Self {
            inner: KeyPair::Ed25519 { pair, seed: s },
            public,
            rng: ring::rand::SystemRandom::new(),
        })
    }

    /// Reads a private JWK (with `d`); the public members must match the private key.
    pub fn from_private_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| Error::InvalidKey("JWK must be an object".into()))?;
        let d = obj
            .get("d")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::InvalidKey("private JWK needs d".into()))?;
        let d = Zeroizing::new(base64url::decode(d)?);
        let mut public_members = obj.clone();
        public_members.remove("d");
        let claimed = PublicKey::from_jwk_members(&public_members)?;
        let key = match claimed {
            PublicKey::P256(_) => Self::p256_from_scalar(&d)?,
            PublicKey::Ed25519(_) => Self::ed25519_from_seed(&d)?,
        };
        if key.public != claimed {
            return Err(Error::InvalidKey("public members do not match d".into()));
        }
        Ok(key)
    }

    /// The private JWK (for encrypted storage only; never log it). Wrapped so the copy is
    /// wiped when dropped.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let mut m = self.public.to_jwk_members();
        let d = match &self.inner {
            KeyPair::P256 { d, .. } => base64url::encode(d.as_ref()),
            KeyPair::Ed25519 { seed, .. } => base64url::encode(seed.as_ref()),
        };
        m.insert("d".into(), Value::String(d));
        Zeroizing::new(Value::Object(m).to_string())
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        self.public.algorithm()
    }

    /// Signs synchronously (the [`Signer`] impls call this).
    pub fn sign_sync(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            KeyPair::P256 { pair, .. } => pair
                .sign(&self.rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Crypto("ECDSA signing failed".into())),
            KeyPair::Ed25519 { pair, .. } => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

/// A [`Signer`] over an in-memory [`SigningKey`], with optional `kid` and `x5c`.
#[derive(Debug)]
pub struct LocalSigner {
    key: SigningKey,
    jwk: Jwk,
    x5c: Option<Vec<Vec<u8>>>,
}

impl LocalSigner {
    /// Wraps a key; `kid` defaults to the key's RFC 7638 thumbprint.
    pub fn new(key: SigningKey) -> Self {
        let jwk = Jwk::new(key.public_key().clone());
        let kid = jwk.thumbprint();
        Self {
            jwk: jwk.with_kid(kid),
            key,
            x5c: None,
        }
    }

    /// Sets the `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.jwk.kid = Some(kid.into());
        self
    }

    /// Sets the certificate chain (DER, leaf first) to send as `x5c`.
    pub fn with_x5c(mut self, chain: Vec<Vec<u8>>) -> Self {
        self.x5c = Some(chain);
        self
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

#[async_trait]
impl Signer for LocalSigner {
    fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }
    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }
    fn x5c(&self) -> Option<&[Vec<u8>]> {
        self.x5c.as_deref()
    }
    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.key.sign_sync(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRandom;

    #[test]
    fn generated_keys_sign_and_verify_and_debug_is_redacted() {
        let rng = SeededRandom::new(7);
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg, &rng).unwrap();
            let sig = key.sign_sync(b"msg").unwrap();
            assert_eq!(sig.len(), 64);
            key.public_key().verify(alg, b"msg", &sig).unwrap();
            assert!(key.public_key().verify(alg, b"other", &sig).is_err());
            let dbg = format!("{key:?}");
            let d = Value::from(key.to_private_jwk().as_str());
            assert!(dbg.contains("redacted"));
            assert!(!dbg.contains(d.as_str().unwrap()));
        }
    }

    #[test]
    fn private_jwk_round_trips_and_mismatched_public_part_is_rejected() {
        let rng = SeededRandom::new(8);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let jwk: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
        let back = SigningKey::from_private_jwk(&jwk).unwrap();
        assert_eq!(back.public_key(), key.public_key());

        let other = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let mut forged: Value = serde_json::from_str(&other.to_private_jwk()).unwrap();
        forged["d"] = jwk["d"].clone();
        assert!(SigningKey::from_private_jwk(&forged).is_err());
    }
}
