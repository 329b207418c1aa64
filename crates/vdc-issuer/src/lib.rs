//! vdc-issuer: OpenID for Verifiable Credential Issuance 1.0, multi-tenant.
//!
//! Layout:
//! - [`definition`]: an issuer tenant's definition (the management API create body), its
//!   validation and the `credential_configurations_supported` it publishes.
//! - [`service`]: the [`Issuer`] service and its settings.
//! - [`metadata`]: Credential Issuer, Authorization Server and JWT VC Issuer metadata.
//! - [`management`]: the contract's issuer, offer and credential operations and their
//!   answers (which are the OpenAPI schemas).
//! - [`nonce`]: sealed `c_nonce`s (made without a write, used once in the store).
//! - [`oid4vci`]: token, nonce, credential, deferred credential and notification endpoints,
//!   with their requests and responses under the specs' names.
//! - [`http`]: the axum routers (thin handlers), the error → HTTP mapping, and the issuer
//!   part of the management API's OpenAPI document ([`http::management_openapi`]).
//! - [`error`]: [`IssuerError`], named after the specs' error codes.

pub mod authorization;
pub mod definition;
pub mod error;
pub mod http;
pub mod management;
pub mod metadata;
pub mod nonce;
pub mod oid4vci;
pub mod service;
pub mod tokens;

pub use error::{IssuerError, Result};
pub use service::{Issuer, IssuerSettings};
