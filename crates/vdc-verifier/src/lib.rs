//! vdc-verifier: OpenID for Verifiable Presentations 1.0 with DCQL, as a multi-tenant
//! verifier service.
//!
//! Layout:
//! - [`dcql`]: the Digital Credentials Query Language (OID4VP 1.0 §6) and claims path
//!   pointers (§7): validation on creation, and whether presentations satisfy a query.
//! - [`service`]: [`Verifier`], its settings and dependencies, and the state and helpers
//!   the other parts share.
//! - [`tenant`]: verifier tenants ([`VerifierDefinition`], [`VerifierObject`]) with their
//!   client identifier prefixes (§5.9.3: `x509_san_dns`, `x509_hash`,
//!   `decentralized_identifier`, `redirect_uri`) and the x509 material signing their
//!   requests.
//! - [`request`]: presentation requests, signed request objects (`oauth-authz-req+jwt`, §5,
//!   §5.10 `request_uri_method` get and post) and results; with [`tenant`], the management
//!   answers (which are the OpenAPI schemas).
//! - `response`: the response endpoint (§8.2 `direct_post`, §8.3.1 `direct_post.jwt`):
//!   decoding, finding the request by `state`, the `vp_token` against the DCQL query, and
//!   [`check_presentation`] handing each presentation to its format; every failure with its
//!   [`RejectReason`].
//! - `presentation`: what one presentation is checked against ([`PresentationCheck`]) and
//!   yields ([`PresentedCredential`]); `presentation::dc_sd_jwt` (SD-JWT VC: RFC 9901 §7,
//!   the KB-JWT, token status list) and `presentation::jwt_vc_json` (OID4VP 1.0 Appendix
//!   B.1: a `vp+jwt` holding one enveloped `vc+jwt`, Bitstring Status List checks).
//! - `dc_api`: OpenID4VP over the Digital Credentials API (Appendix A): the answer a page
//!   posts back with its origin, checked as a response is and bound to that origin; the
//!   request side (`dc_api_request`, unsigned or signed with `expected_origins`) is made in
//!   [`request`].
//! - [`transaction_data`]: typed transaction data (§5.1, §8.4, Appendix B.3.3): checked on
//!   creation against the verifier's types, and the KB-JWT's `transaction_data_hashes`.
//! - [`trust`]: this deployment's issuers ([`trust::LocalIssuers`], by default over the
//!   shared key ring) and [`trust::DeploymentKeyResolver`], a verifier's issuer-key policy.
//!   Status checks come from `vdc_status::StatusChecker`.
//! - [`http`]: [`http::wallet_routes`] (request objects, response endpoint) and
//!   [`http::management_routes`] (the contract's verifier API), with its part of the
//!   management API's OpenAPI document ([`http::management_openapi`]).
//! - [`haip`]: the verifier's rules of OpenID4VC HAIP 1.0 (§5, §5.1), reported by
//!   `GET /api/v1/verifiers/{verifier}/haip` and enforced for verifiers in HAIP mode.
//! - [`error`]: [`VerifierError`] and its one mapping to HTTP.
//!
//! Time, randomness and keys are inputs (STYLE.md §7).

mod dc_api;
pub mod dcql;
pub mod error;
pub mod haip;
pub mod http;
pub mod keys;
mod presentation;
pub mod request;
mod response;
pub mod service;
pub mod tenant;
pub mod transaction_data;
pub mod trust;

pub use error::{RejectReason, Result, VerifierError};
pub use presentation::{PresentationCheck, PresentedCredential};
pub use request::{
    CreateRequest, DcApiAnswer, DcApiRequest, PresentationError, RequestCreated, RequestResult,
    ResponseCode, ResponseMode,
};
pub use response::{ResponseAck, check_presentation};
pub use service::{Verifier, VerifierDeps, VerifierSettings};
pub use tenant::{ClientIdPrefix, VerifierDefinition, VerifierList, VerifierObject};
