//! Randomness as an input (STYLE.md §7): salts, nonces and codes come from a
//! [`RandomSource`]; tests inject a seeded one, production uses the OS generator.

use std::sync::Mutex;

use ring::digest;
use ring::rand::SecureRandom as _;

use crate::error::{Error, Result};

/// A source of cryptographically strong random bytes.
pub trait RandomSource: Send + Sync + std::fmt::Debug {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<()>;
}

/// The operating system's CSPRNG (via ring's `SystemRandom`).
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

impl SystemRandom {
    /// The OS generator.
    pub fn new() -> Self {
        Self(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomSource for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        self.0
            .fill(buf)
            .map_err(|_| Error::Crypto("system RNG failed".into()))
    }
}

/// A deterministic generator for tests: SHA-256 in counter mode over a seed. The same seed
/// gives the same bytes; it is not for production use and no production path constructs it.
#[derive(Debug)]
pub struct SeededRandom {
    seed: [u8; 32],
    counter: Mutex<u64>,
}

impl SeededRandom {
    /// A generator whose output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        Self {
            seed: s,
            counter: Mutex::new(0),
        }
    }
}

impl RandomSource for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<()> {
        let mut counter = self
            .counter
            .lock()
            .map_err(|_| Error::Crypto("seeded RNG poisoned".into()))?;
        for chunk in buf.chunks_mut(32) {
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&self.seed);
            ctx.update(&counter.to_le_bytes());
            *counter += 1;
            let block = ctx.finish();
            chunk.copy_from_slice(&block.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

/// `n` random bytes encoded as base64url: the form of salts, nonces and codes.
pub fn random_b64(rng: &dyn RandomSource, n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    rng.fill(&mut buf)?;
    Ok(crate::base64url::encode(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_random_is_deterministic_and_seed_dependent() {
        let (a, b, c) = (
            SeededRandom::new(1),
            SeededRandom::new(1),
            SeededRandom::new(2),
        );
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        c.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
        let mut next = [0u8; 40];
        a.fill(&mut next).unwrap();
        assert_ne!(x, next);
    }
}
