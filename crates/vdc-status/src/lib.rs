//! vdc-status: status lists for revocation and suspension, store-independent.
//!
//! Layout:
//! - [`status_list`]: the Token Status List byte array of draft-ietf-oauth-status-list
//!   §4 ([`StatusList`], `bits` 1/2/4/8, LSB-first) and its ZLIB encoding; Status Type
//!   values of §7.1.
//! - [`token`]: Status List Tokens in JWT format (§5.1): signing for issuers,
//!   verification for relying parties, and the Referenced Token's `status` claim (§6.2,
//!   [`StatusReference`]).
//! - [`cwt`]: Status List Tokens in CWT format (§5.2), COSE_Sign1_Tagged, and the CBOR
//!   `status` structure of COSE-based Referenced Tokens such as mdoc (§6.3).
//! - [`client`]: the relying party's status check (§8): local source first, then the
//!   hardened HTTP fetcher, verification, and a cache of decompressed lists.
//! - [`checker`]: the verifier's status check ([`StatusChecker`], [`CredentialState`]) over
//!   this deployment's lists in process and foreign lists through the client.
//! - [`bitstring`]: W3C Bitstring Status List v1.0: the MSB-first bitstring, the
//!   `BitstringStatusListCredential` secured as `vc+jwt`, and `BitstringStatusListEntry`.
//! - `compress`: bounded ZLIB/GZIP inflation (decompression-bomb guard) and deflation.
//! - [`service`]: the issuer side over a `vdc_store::StatusStore`: random index allocation,
//!   status changes (all or nothing, revoked is final), and publication of lists as signed
//!   tokens cached per list version ([`StatusService`]), signed with the issuer's current
//!   key from the shared `vdc_store::KeyRing`.
//! - [`http`]: the public routes (tokens with ETag/304, HEAD, gzip, CORS, `?time=`; W3C
//!   status list credentials; the aggregation) and the management routes (status changes),
//!   with their part of the management API's OpenAPI document ([`http::management_openapi`]);
//!   the answers are the service's types ([`CredentialObject`], [`StatusListAggregation`]).
//!
//! Errors are the one [`Error`] enum; time and keys are inputs (STYLE.md §7).

pub mod bitstring;
pub mod checker;
pub mod client;
mod compress;
pub mod cwt;
pub mod error;
pub mod http;
pub mod service;
pub mod status_list;
pub mod token;

pub use bitstring::{
    BitstringStatusList, BitstringStatusListCredential, BitstringStatusListEntry,
    MIN_BITSTRING_ENTRIES, StatusPurpose, VerifiedBitstringStatusList,
    verify_bitstring_status_list_credential,
};
pub use checker::{CredentialState, DeploymentStatusChecker, StatusChecker};
pub use client::{ClientConfig, StatusListClient, StatusListSource};
pub use compress::BEST_LEVEL;
pub use cwt::{
    STATUS_LIST_CWT_MEDIA_TYPE, reference_from_cbor, sign_status_list_cwt, verify_status_list_cwt,
};
pub use error::{Error, ErrorKind, Result};
pub use service::{
    CredentialItems, CredentialObject, LocalStatusUri, ServedCwt, ServedToken, ServiceError,
    StatusListAggregation, StatusListReference, StatusService, StatusSettings, aggregation_uri,
    bitstring_uri, list_uri, parse_local_uri,
};
pub use status_list::{
    DEFAULT_LEVEL, DEFAULT_LIST_LEN, INVALID, MAX_LIST_BYTES, SUSPENDED, StatusList, VALID,
};
pub use token::{
    STATUS_LIST_JWT_MEDIA_TYPE, STATUS_LIST_JWT_TYP, StatusReference, VerifiedStatusList,
    VerifyOptions, sign_status_list_token, verify_status_list_token,
};
