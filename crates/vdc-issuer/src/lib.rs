//! vdc-issuer: OpenID for Verifiable Credential Issuance 1.0, multi-tenant.
//!
//! Layout:
//! - [`definition`]: an issuer tenant's definition (the management API create body), its
//!   validation and the `credential_configurations_supported` it publishes.
//! - [`certificate`]: the per-issuer CA and leaf vdc makes for the signing key in HAIP mode
//!   (`x5c` is the leaf, the CA is the exported trust anchor).
//! - [`mdoc`]: the IACA root and Document Signer certificate vdc makes for an issuer with
//!   `mso_mdoc` configurations, and the signer that puts the DS certificate in `x5chain`.
//! - [`service`]: the [`Issuer`] service and its settings.
//! - [`metadata`]: Credential Issuer, Authorization Server and JWT VC Issuer metadata.
//! - [`management`]: the contract's issuer, offer and credential operations and their
//!   answers (which are the OpenAPI schemas).
//! - [`encryption`]: encrypted credential requests and responses (OID4VCI 1.0 §10): the
//!   derived request decryption key, the metadata objects, opening and answering.
//! - [`nonce`]: sealed `c_nonce`s (made without a write, used once in the store).
//! - [`oid4vci`]: token, nonce, credential, deferred credential and notification endpoints,
//!   with their requests and responses under the specs' names.
//! - [`http`]: the axum routers (thin handlers), the error → HTTP mapping, and the issuer
//!   part of the management API's OpenAPI document ([`http::management_openapi`]).
//! - [`haip`]: HAIP 1.0 mode: the profile's issuer rules, the report and the refusal.
//! - [`error`]: [`IssuerError`], named after the specs' error codes.

pub mod authorization;
pub mod certificate;
pub mod definition;
pub mod encryption;
pub mod error;
pub mod haip;
pub mod http;
pub mod keys;
pub mod management;
pub mod mdoc;
pub mod metadata;
pub mod nonce;
pub mod oid4vci;
pub mod service;
pub mod tokens;

pub use error::{IssuerError, Result};
pub use service::{Issuer, IssuerSettings};
