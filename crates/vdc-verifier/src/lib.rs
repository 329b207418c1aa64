//! vdc-verifier: OpenID for Verifiable Presentations 1.0 with DCQL, as a multi-tenant
//! verifier service.
//!
//! Layout:
//! - [`dcql`]: the Digital Credentials Query Language (OID4VP 1.0 §6) and claims path
//!   pointers (§7): validation on creation, and whether presentations satisfy a query.
//! - [`service`]: [`Verifier`]: verifier tenants with their client identifier prefixes
//!   (§5.9.3: `x509_san_dns`, `x509_hash`, `decentralized_identifier`, `redirect_uri`),
//!   presentation requests, signed request objects (`oauth-authz-req+jwt`, §5.10
//!   `request_uri_method` get and post) and results; the management answers (which are the
//!   OpenAPI schemas).
//! - `response`: the response endpoint (§8.2 `direct_post`, §8.3.1 `direct_post.jwt`) and
//!   every check on a `vp_token`, each failure with its [`RejectReason`].
//! - `w3c`: `jwt_vc_json` presentations (OID4VP 1.0 Appendix B.1): a `vp+jwt` holding
//!   one enveloped `vc+jwt`, Bitstring Status List checks.
//! - [`trust`]: this deployment's issuers ([`trust::LocalIssuers`], by default over the
//!   shared key ring) and [`trust::DeploymentKeyResolver`], a verifier's issuer-key policy.
//!   Status checks come from `vdc_status::StatusChecker`.
//! - [`http`]: [`http::wallet_routes`] (request objects, response endpoint) and
//!   [`http::management_routes`] (the contract's verifier API), with its part of the
//!   management API's OpenAPI document ([`http::management_openapi`]).
//! - [`error`]: [`VerifierError`] and its one mapping to HTTP.
//!
//! Time, randomness and keys are inputs (STYLE.md §7).

pub mod dcql;
pub mod error;
pub mod http;
mod response;
pub mod service;
pub mod trust;
mod w3c;

pub use error::{RejectReason, Result, VerifierError};
pub use response::{PresentationCheck, PresentedCredential, ResponseAck, check_presentation};
pub use service::{
    ClientIdPrefix, CreateRequest, PresentationError, RequestCreated, RequestResult, ResponseMode,
    Verifier, VerifierDefinition, VerifierDeps, VerifierList, VerifierObject, VerifierSettings,
};
