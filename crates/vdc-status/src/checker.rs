//! The relying party's status check as the verifier runs it (draft-ietf-oauth-status-list
//! §8.3; W3C Bitstring Status List v1.0 §3.2): the [`StatusChecker`] the verifier asks, and
//! [`DeploymentStatusChecker`], which reads this deployment's lists in process (always
//! fresh, so a revocation here takes effect at once) and fetches foreign lists, Token
//! Status Lists (JWT or CWT) and W3C Bitstring Status Lists alike, through the hardened
//! [`StatusListClient`] (outbound policy G7, size and time bounds, cached per their `ttl`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::fetch::Fetcher;
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::Clock;

use crate::bitstring::{BitstringStatusListEntry, StatusPurpose};
use crate::client::{StatusListClient, StatusListSource};
use crate::error::{Error, Result};
use crate::service::{LocalStatusUri, StatusService, parse_local_uri};
use crate::token::StatusReference;

/// The status of a credential, as its status list says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialState {
    /// Status 0.
    Valid,
    /// Status 1 (invalid).
    Revoked,
    /// Status 2.
    Suspended,
}

impl CredentialState {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }
}

/// Checks a credential's status; an `Err` means no statement about the status can be made
/// (§8.3: the verifier then rejects).
#[async_trait]
pub trait StatusChecker: Send + Sync + std::fmt::Debug {
    /// The state of the credential whose `status` claim (§6.2) is `status`, issued by
    /// `issuer`.
    async fn check(&self, status: &Value, issuer: &str) -> Result<CredentialState>;

    /// The state one W3C `credentialStatus` entry (a `BitstringStatusListEntry`, W3C
    /// Bitstring Status List v1.0 §2.1) gives the credential issued by `issuer`: a set bit
    /// of purpose `revocation` is [`CredentialState::Revoked`], of `suspension`
    /// [`CredentialState::Suspended`]. The default establishes nothing.
    async fn check_bitstring(&self, entry: &Value, issuer: &str) -> Result<CredentialState> {
        let _ = (entry, issuer);
        Err(Error::Retrieval(
            "bitstring status lists are not supported by this checker".into(),
        ))
    }

    /// The state of a COSE-based Referenced Token (an mdoc MSO's `status`, whose
    /// `status_list` is `{"idx": idx, "uri": uri}`, draft-ietf-oauth-status-list §6.3)
    /// issued by `issuer`, read from the Status List Token in CWT format (§5.2). The
    /// default establishes nothing.
    ///
    /// `issuer` is the identifier the list's signing key must be trusted for (and the
    /// list's `iss`, if it has one, must equal). An mdoc carries no `iss`, so the caller
    /// names it: for this deployment's lists, the issuer URL of the list's tenant
    /// ([`parse_local_uri`] gives the tenant of a list URI); a foreign list verifies only
    /// if the key resolver trusts its key for `issuer` (pinned keys, JWT VC Issuer
    /// Metadata, or an `x5chain` to a configured anchor whose SAN names `issuer`), the same
    /// decision as for a foreign JWT list.
    async fn check_cwt(&self, idx: u64, uri: &str, issuer: &str) -> Result<CredentialState> {
        let _ = (idx, uri, issuer);
        Err(Error::Retrieval(
            "CWT status lists are not supported by this checker".into(),
        ))
    }
}

/// Spec: draft-ietf-oauth-status-list §7.1: 0 valid, 1 invalid, 2 suspended; any other
/// value is not a state vdc accepts.
fn state_of(value: u8) -> Result<CredentialState> {
    match value {
        0 => Ok(CredentialState::Valid),
        1 => Ok(CredentialState::Revoked),
        2 => Ok(CredentialState::Suspended),
        other => Err(Error::Malformed(format!(
            "status value {other} is not accepted"
        ))),
    }
}

/// This deployment's Token Status Lists as the client's local source: read in process, not
/// over HTTP.
#[async_trait]
impl StatusListSource for StatusService {
    async fn token(&self, uri: &str) -> Result<Option<String>> {
        let Some(LocalStatusUri::Token { issuer, list }) = parse_local_uri(self.public_url(), uri)
        else {
            return Ok(None);
        };
        match StatusService::token(self, issuer, list, None).await {
            Ok(t) => Ok(Some(t.token.to_string())),
            Err(e) => Err(Error::Retrieval(e.to_string())),
        }
    }

    async fn cwt(&self, uri: &str) -> Result<Option<Vec<u8>>> {
        let Some(LocalStatusUri::Token { issuer, list }) = parse_local_uri(self.public_url(), uri)
        else {
            return Ok(None);
        };
        match StatusService::cwt(self, issuer, list, None).await {
            Ok(t) => Ok(Some(t.cwt.to_vec())),
            Err(e) => Err(Error::Retrieval(e.to_string())),
        }
    }

    async fn bitstring(&self, uri: &str) -> Result<Option<String>> {
        let Some(LocalStatusUri::Bitstring {
            issuer,
            list,
            purpose,
        }) = parse_local_uri(self.public_url(), uri)
        else {
            return Ok(None);
        };
        match self.bitstring_credential(issuer, list, purpose).await {
            Ok(t) => Ok(Some(t.token.to_string())),
            Err(e) => Err(Error::Retrieval(e.to_string())),
        }
    }
}

/// Status checks for a verifier of this deployment.
#[derive(Debug)]
pub struct DeploymentStatusChecker {
    client: StatusListClient,
    status: StatusService,
}

impl DeploymentStatusChecker {
    /// A checker over this deployment's `status` service; `resolver` finds the keys of the
    /// lists' issuers, `fetcher` fetches foreign lists.
    pub fn new(
        status: StatusService,
        resolver: Arc<dyn IssuerKeyResolver>,
        fetcher: Fetcher,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let client = StatusListClient::new(fetcher, resolver, clock)
            .with_local_source(Arc::new(status.clone()));
        Self { client, status }
    }
}

#[async_trait]
impl StatusChecker for DeploymentStatusChecker {
    async fn check(&self, status: &Value, issuer: &str) -> Result<CredentialState> {
        let reference = StatusReference::from_status_claim(status)?;
        // This deployment's lists are read fresh on every check.
        if parse_local_uri(self.status.public_url(), &reference.uri).is_some() {
            self.client.invalidate(&reference.uri);
        }
        // Spec: draft-ietf-oauth-status-list §7.1: 0 valid, 1 invalid, 2 suspended; any
        // other value is not a state we accept.
        match self.client.status(&reference, Some(issuer)).await? {
            0 => Ok(CredentialState::Valid),
            1 => Ok(CredentialState::Revoked),
            2 => Ok(CredentialState::Suspended),
            other => Err(Error::Malformed(format!(
                "status value {other} is not accepted"
            ))),
        }
    }

    /// This deployment's lists are read in process (signed as CWT and verified like a
    /// foreign one, always fresh); foreign lists are fetched as CWT through the client, and
    /// their key is the one the resolver trusts for `issuer` (pinned keys, issuer metadata,
    /// or an `x5chain` validated to the configured anchors), as for the JWT form.
    async fn check_cwt(&self, idx: u64, uri: &str, issuer: &str) -> Result<CredentialState> {
        let reference = StatusReference::new(idx, uri)
            .map_err(|_| Error::malformed("status_list.uri must be an absolute URI"))?;
        if parse_local_uri(self.status.public_url(), &reference.uri).is_some() {
            self.client.invalidate(&reference.uri);
        }
        state_of(self.client.status_cwt(&reference, Some(issuer)).await?)
    }

    /// This deployment's lists are read in process (and always fresh); a foreign list is
    /// fetched through the client under the outbound policy (G7) and its bounds (response
    /// size, [`ClientConfig::max_bitstring_entries`](crate::ClientConfig), timeout), verified
    /// with the key the resolver trusts for `issuer` (as for the Token Status List forms),
    /// and cached per its `ttl` and `validUntil`.
    async fn check_bitstring(&self, entry: &Value, issuer: &str) -> Result<CredentialState> {
        let entry = BitstringStatusListEntry::from_value(entry)?;
        match parse_local_uri(self.status.public_url(), &entry.status_list_credential) {
            // Our own URL names the purpose; a mismatch is refused before anything is read.
            Some(LocalStatusUri::Bitstring { purpose, .. }) if purpose != entry.status_purpose => {
                return Err(Error::claim(
                    "the status list URL is for another statusPurpose",
                ));
            }
            // This deployment's lists are read fresh on every check.
            Some(LocalStatusUri::Bitstring { .. }) => {
                self.client.invalidate(&entry.status_list_credential);
            }
            // One of our URLs that is no bitstring list: nothing to fetch, not even from us.
            Some(_) => {
                return Err(Error::claim(
                    "the status list URL is not a bitstring status list of this deployment",
                ));
            }
            None => {}
        }
        // Spec: W3C Bitstring Status List v1.0 §3.2: a set bit means the purpose applies:
        // `revocation` revoked, `suspension` suspended.
        match (
            self.client.bitstring_status(&entry, issuer).await?,
            entry.status_purpose,
        ) {
            (0, _) => Ok(CredentialState::Valid),
            (_, StatusPurpose::Revocation) => Ok(CredentialState::Revoked),
            (_, StatusPurpose::Suspension) => Ok(CredentialState::Suspended),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_have_the_contract_names() {
        assert_eq!(CredentialState::Valid.as_str(), "valid");
        assert_eq!(CredentialState::Revoked.as_str(), "revoked");
        assert_eq!(CredentialState::Suspended.as_str(), "suspended");
    }
}
