//! vdc-http: the axum glue every vdc router shares.
//!
//! Layout:
//! - [`error`]: [`ErrorResponse`], the OAuth-style error body (`error` +
//!   `error_description`) with `Cache-Control: no-store`, and [`ErrorDetail`], the
//!   server-side detail that travels as a response extension to the logging middleware.
//! - [`haip`]: [`haip::HaipReport`], the HAIP 1.0 rule report issuers and verifiers answer.
//! - [`health`]: `/healthz`, `/readyz` and `/metrics`, over the checks the binary passes
//!   ([`health::Probe`]).
//! - [`extract`]: [`AppJson`] (strict JSON bodies: 415 for other media types, 413 over the
//!   limit, 400 `invalid_request` for malformed input; unknown members ignored, as the
//!   protocols say), [`ManagementJson`] (the same, and unknown members are a 400 naming
//!   them, as the management contract says), [`OAuthForm`] (form bodies without
//!   repeated parameters), [`BearerToken`] (RFC 6750).
//! - [`layers`]: the body limit, request ids and the error-logging middleware every router
//!   gets through [`layers::standard`], plus the per-request span and request metrics.
//! - [`longpoll`]: `?wait=N` on status objects ([`longpoll::parse_wait`],
//!   [`longpoll::wait_for_change`]).
//! - [`metrics`]: [`metrics::Metrics`], the Prometheus registry the HTTP layer and the
//!   services count into.
//! - [`tenant_url`]: the layout of a tenant's public URLs (`{public_url}/issuers/{issuer}`),
//!   built and parsed in one place.
//! - [`openapi`]: the error body schema, security scheme name and tags the management
//!   routers' OpenAPI attributes share.

pub mod error;
pub mod extract;
pub mod haip;
pub mod health;
pub mod keys;
pub mod layers;
pub mod longpoll;
pub mod metrics;
pub mod openapi;
pub mod tenant_url;

pub use error::{ErrorDetail, ErrorResponse};
pub use extract::{AppJson, BearerToken, ManagementJson, OAuthForm};

/// The largest request body any endpoint accepts (contract: "a body over 1 MiB gets 413").
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
