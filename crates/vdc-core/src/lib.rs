//! vdc-core: the credential core of vdc.
//!
//! Layout:
//! - [`base64url`], [`json`]: strict decoders every external input goes through (G8).
//! - [`ct`]: constant-time comparison of secrets; [`digest`]: plain SHA-256.
//! - [`time`], [`rng`]: the clock and randomness, injected everywhere (STYLE.md §7).
//! - [`jose`]: algorithms and their allow-list, JWKs and thumbprints, signing keys behind
//!   the [`jose::Signer`] trait, JWS compact and JWE (ECDH-ES + AES-GCM).
//! - [`sd_jwt`]: Selective Disclosure for JWTs per RFC 9901: issuance, presentation with
//!   key binding, and verification with every rule of §7.
//! - [`sd_jwt_vc`]: SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): `dc+sd-jwt` credentials and the
//!   issuer-key resolution policies (JWT VC Issuer Metadata, x5c, DIDs).
//! - [`vc_jose`]: W3C VC Data Model 2.0 secured with JOSE (`vc+jwt`).
//! - [`did`]: did:key, did:jwk and did:web resolution behind the [`did::DidResolver`] trait.
//! - [`x509`]: x5c chain validation to configured trust anchors and certificate creation.
//! - [`fetch`]: the hardened outbound HTTP client (HTTPS only, no private addresses,
//!   bounded size and time; G7).
//! - [`kek`]: the key-encryption key that seals every secret kept at rest.
//! - [`key_proof`]: OID4VCI `jwt` key proofs, created by wallets and checked by issuers.
//! - [`claims_path`]: claims path pointers shared by OID4VCI configurations and DCQL.
//!
//! Holder-side operations live beside the verifier's: [`sd_jwt::select_disclosures`],
//! [`sd_jwt::present`] (KB-JWT) and [`key_proof::create`].
//!
//! Nothing here knows HTTP servers or SQL; errors are the one [`Error`] enum.

pub mod base64url;
pub mod claims_path;
pub mod client_attestation;
pub mod ct;
pub mod did;
pub mod digest;
pub mod dpop;
pub mod error;
pub mod fetch;
pub mod jose;
pub mod json;
pub mod kek;
pub mod key_attestation;
pub mod key_proof;
pub mod mdoc;
pub mod rng;
pub mod sd_jwt;
pub mod sd_jwt_vc;
pub mod time;
pub mod vc_jose;
pub mod x509;

pub use error::{Error, ErrorKind, Result};
