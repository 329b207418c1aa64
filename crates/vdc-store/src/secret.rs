//! [`SecretHash`]: how bearer secrets rest in the store.
//!
//! Pre-authorized codes, `tx_code`s, access tokens, `c_nonce`s, deferred `transaction_id`s
//! and notification ids are high-entropy random strings the server issued; they are looked
//! up by equality only, so an unsalted SHA-256 suffices and a leaked table does not hand
//! out live secrets. (`tx_code`s are short: their hash is guessable offline, which is why
//! redemption also bounds failed attempts online.)

use std::fmt;

use ring::digest;

use crate::StoreError;

/// The SHA-256 digest of a secret, the only form in which the store keeps it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    /// Hashes `secret` (its UTF-8 bytes) with SHA-256.
    pub fn of(secret: &str) -> Self {
        let d = digest::digest(&digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// Wraps a digest computed elsewhere.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads a digest back from a stored column; [`StoreError::Corrupt`] unless 32 bytes.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, StoreError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| StoreError::Corrupt(format!("secret hash of {} bytes", bytes.len())))
    }

    /// The 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    /// Prints the first four bytes only: enough to correlate log lines, never the digest
    /// (for short secrets such as `tx_code`s the full digest would be a brute-force target).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash(")?;
        for b in &self.0[..4] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_is_sha256_of_the_utf8_bytes() {
        // Spec: FIPS 180-4 / NIST example: SHA-256("abc").
        let h = SecretHash::of("abc");
        assert_eq!(
            h.as_bytes()[..8],
            [0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea]
        );
        assert_ne!(SecretHash::of("abc"), SecretHash::of("abd"));
    }

    #[test]
    fn debug_prints_a_short_prefix_only() {
        let h = SecretHash::of("abc");
        let s = format!("{h:?}");
        assert_eq!(s, "SecretHash(ba7816bf…)");
    }

    #[test]
    fn stored_hash_of_wrong_length_is_corrupt() {
        assert!(matches!(
            SecretHash::from_stored(&[0; 31]),
            Err(StoreError::Corrupt(_))
        ));
        let h = SecretHash::of("x");
        assert_eq!(SecretHash::from_stored(h.as_bytes()).unwrap(), h);
    }
}
