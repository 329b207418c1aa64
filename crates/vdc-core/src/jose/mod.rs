//! JOSE: algorithms, JWKs, signing keys, JWS and JWE.

pub mod alg;
pub mod jwe;
pub mod jwk;
pub mod jws;
pub mod signer;

pub use alg::{Algorithm, AlgorithmPolicy};
pub use jwk::{Jwk, JwkSet, PublicKey};
pub use signer::{LocalSigner, Signer, SigningKey};
