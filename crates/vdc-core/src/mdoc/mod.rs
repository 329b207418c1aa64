//! ISO/IEC 18013-5 mobile documents (`mso_mdoc`, OID4VCI 1.0 Appendix A.2, OID4VP 1.0
//! Appendix B.2): CBOR, COSE, the Mobile Security Object, issuance, DeviceResponse,
//! OID4VP session transcripts and verification.
//!
//! Parsing is strict and bounded ([`cbor::decode`]); digests are always taken over the
//! bytes received inside tag-24 items ([`cbor::Tagged24`]), never over a re-encoding.

pub mod cbor;
pub mod cose;
pub mod device;
pub mod issue;
pub mod mso;
pub mod transcript;
pub mod verify;

pub use cbor::{Tagged24, Value};
pub use cose::CoseSign1;
pub use device::{DeviceResponse, Document};
pub use issue::{IssuerSigned, MdocToIssue, issue};
pub use mso::{MobileSecurityObject, StatusRef, ValidityInfo};
pub use transcript::{Handover, SessionTranscript};
pub use verify::{VerifiedMdoc, VerifyMdoc, verify_document};
