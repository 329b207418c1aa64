//! Checking one presentation against one credential query (OID4VP 1.0 §8.6): what both
//! credential formats share. Each format has its module, named as OID4VP 1.0 Appendix B
//! names it: [`dc_sd_jwt`] (IETF SD-JWT VC), [`jwt_vc_json`] (B.1, W3C VCs as JWTs) and
//! [`mso_mdoc`] (B.2, ISO/IEC 18013-5 mdocs).

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::UnixTime;

use crate::error::RejectReason;
use crate::service::VerifierSettings;
use vdc_status::StatusChecker;

pub(crate) mod dc_sd_jwt;
pub(crate) mod jwt_vc_json;
pub(crate) mod mso_mdoc;

pub(crate) use mso_mdoc::MdocCheck;

/// One presented credential.
// Contract ("Presentation requests"): the issuer, `vct` (SD-JWT VC) or `type`
// (`jwt_vc_json`), the claims and the status; `doctype` (mso_mdoc) is vdc's addition.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PresentedCredential {
    /// The credential issuer identifier; for an mdoc the issuer Distinguished Name of its
    /// Document Signer certificate (RFC 4514: the IACA that issued it).
    pub issuer: String,
    /// The credential type (`vct` for SD-JWT VC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// The credential types of a `jwt_vc_json` credential.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub types: Option<Vec<String>>,
    /// The `docType` of an `mso_mdoc` credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// SD-JWT VC: exactly the disclosed claims, with their paths as nested objects;
    /// `jwt_vc_json`: exactly the requested claims; `mso_mdoc`: exactly the disclosed data
    /// elements as `{namespace: {element identifier: value}}` (byte strings base64url,
    /// dates as their text).
    #[schema(value_type = Object)]
    pub claims: Value,
    /// `valid`, `revoked` or `suspended`.
    #[schema(pattern = "^(valid|revoked|suspended)$")]
    pub status: String,
}

/// The verified presentations of a response, by credential query id.
pub(crate) type Presentations = BTreeMap<String, Vec<PresentedCredential>>;

/// What one presentation is checked against.
#[derive(Debug, Clone, Copy)]
pub struct PresentationCheck<'a> {
    /// The audience the presentation must be bound to (the KB-JWT or VP `aud`): this
    /// verifier's full client identifier, or over the Digital Credentials API the origin
    /// prefixed with `origin:` (OID4VP 1.0 Appendix A.4).
    pub client_id: &'a str,
    /// This request's `nonce`.
    pub nonce: &'a str,
    /// The verifier's issuer-key policy.
    pub resolver: &'a dyn IssuerKeyResolver,
    /// The issuer chains the policy vouches for (DCQL `trusted_authorities`); `None`: no
    /// chain is vouched for, so no credential satisfies a `trusted_authorities` query.
    pub issuer_chains: Option<&'a dyn crate::trust::IssuerChains>,
    /// Credential status.
    pub status: &'a dyn StatusChecker,
    /// Algorithms and KB-JWT age.
    pub settings: &'a VerifierSettings,
    /// The current time.
    pub now: UnixTime,
    /// Whether a credential without `status` is refused.
    pub require_status: bool,
    /// The request's `transaction_data` (OID4VP 1.0 §5.1), empty without it.
    pub transaction_data: &'a [crate::transaction_data::TransactionDataEntry],
}

/// A check's result, or the failed check and why.
pub(crate) type Checked<T> = std::result::Result<T, (RejectReason, String)>;

/// Puts `value` at `names` in `out`, creating objects on the way; an existing value wins.
pub(crate) fn insert_path(out: &mut Map<String, Value>, names: &[&str], value: Value) {
    let Some((first, rest)) = names.split_first() else {
        return;
    };
    if rest.is_empty() {
        out.entry((*first).to_owned()).or_insert(value);
        return;
    }
    let entry = out
        .entry((*first).to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(o) = entry {
        insert_path(o, rest, value);
    }
}
