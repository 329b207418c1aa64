//! JWS algorithms we sign and verify with, and the local allow-list (G4).

use std::fmt;

use crate::error::{Error, Result};

/// An asymmetric JWS algorithm (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// There is deliberately no variant for `none` or any MAC algorithm: they cannot be
/// expressed, so no code path can verify with them (RFC 8725 §3.1, §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256, signatures as the 64-byte `r || s` of RFC 7518 §3.4.
    Es256,
    /// EdDSA with Ed25519 (RFC 8037 §3.1).
    EdDsa,
}

impl Algorithm {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Reads an `alg` header value. `none`, `HS*` and anything unknown are refused here,
    /// before any key is looked at.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "ES256" => Ok(Self::Es256),
            // RFC 9864 fully-specified name for the same algorithm.
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            other => Err(Error::AlgorithmNotAllowed(printable(other))),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The algorithms a verifier accepts, decided locally (configuration), never by the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgorithmPolicy {
    allowed: Vec<Algorithm>,
}

impl AlgorithmPolicy {
    /// Accepts exactly the listed algorithms.
    pub fn only(allowed: &[Algorithm]) -> Self {
        Self {
            allowed: allowed.to_vec(),
        }
    }

    /// Checks a header `alg` against the allow-list.
    pub fn check(&self, header_alg: &str) -> Result<Algorithm> {
        let alg = Algorithm::from_name(header_alg)?;
        if self.allowed.contains(&alg) {
            Ok(alg)
        } else {
            Err(Error::AlgorithmNotAllowed(alg.name().into()))
        }
    }

    /// The allowed algorithms, in preference order.
    pub fn allowed(&self) -> &[Algorithm] {
        &self.allowed
    }
}

impl Default for AlgorithmPolicy {
    /// ES256 and EdDSA: what HAIP and our issuers use.
    fn default() -> Self {
        Self::only(&[Algorithm::Es256, Algorithm::EdDsa])
    }
}

/// Bounds attacker-supplied text before it goes into an error message.
pub(crate) fn printable(s: &str) -> String {
    s.chars().take(32).filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_and_mac_algorithms_are_never_accepted() {
        for alg in [
            "none", "None", "NONE", "HS256", "HS384", "HS512", "RS256", "", "es256",
        ] {
            assert!(Algorithm::from_name(alg).is_err(), "{alg}");
            assert!(AlgorithmPolicy::default().check(alg).is_err(), "{alg}");
        }
    }

    #[test]
    fn policy_restricts_to_configured_algorithms() {
        let es_only = AlgorithmPolicy::only(&[Algorithm::Es256]);
        assert_eq!(es_only.check("ES256").unwrap(), Algorithm::Es256);
        assert!(es_only.check("EdDSA").is_err());
    }
}
