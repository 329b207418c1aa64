//! The holder's own status check of stored credentials, so a wallet does not present a
//! credential its issuer has revoked or suspended (the verifier would reject it anyway, and
//! a holder with a valid credential of the same type should present that one instead).
//!
//! Two mechanisms are read:
//! - the IETF Token Status List (draft-ietf-oauth-status-list §6.2, §8.3): the `status`
//!   claim's `status_list {idx, uri}` of an SD-JWT VC (or a JWT VC), and the MSO `status`
//!   of an mdoc (§6.3), whose list is fetched and verified in its CWT form (§5.2);
//! - the W3C Bitstring Status List v1.0 (§2.1, §3.2): the `credentialStatus` entries of a
//!   `jwt_vc_json` credential (VCDM 2.0, or inside `vc` for VCDM 1.1).
//!
//! Lists are fetched with the wallet's own HTTP client (so
//! [`crate::WalletOptions::allow_insecure_http`] applies) and verified with vdc-status's
//! verification (signature by the credential's issuer, `sub`/`id` binding, times), with the
//! issuer key found the way received credentials are verified. A check that cannot be made
//! (no answer, bad signature, malformed list) is [`CredentialState::Unknown`]: the holder
//! cannot tell, the verifier decides.

use serde_json::{Map, Value};
use vdc_core::jose::jws;
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_status::{
    BitstringStatusListEntry, MIN_BITSTRING_ENTRIES, STATUS_LIST_CWT_MEDIA_TYPE,
    STATUS_LIST_JWT_MEDIA_TYPE, StatusPurpose, StatusReference, VerifiedStatusList, VerifyOptions,
    verify_bitstring_status_list_credential, verify_status_list_cwt, verify_status_list_token,
};

use crate::error::{Endpoint, bounded};
use crate::present::full_claims;
use crate::store::StoredCredential;
use crate::verify::{
    FORMAT_JWT_VC_JSON, JwtVcIssuerMetadataResolver, VerifyContext, issuer_key_for_jwt,
};
use crate::wallet::Wallet;

/// Largest decompressed Token Status List accepted, bytes.
const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;
/// Most entries a bitstring status list may inflate to (16 times the herd-privacy minimum,
/// as the verifier allows).
const MAX_BITSTRING_ENTRIES: usize = 16 * MIN_BITSTRING_ENTRIES;
/// The media type of a `BitstringStatusListCredential` secured as a JWT (VC-JOSE-COSE).
const VC_JWT_MEDIA_TYPE: &str = "application/vc+jwt";

/// What a credential's status list says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialState {
    /// Not revoked and not suspended.
    Valid,
    /// Revoked: final, never valid again.
    Revoked,
    /// Suspended: may be reinstated by the issuer.
    Suspended,
    /// The credential names no status list: nothing can be checked.
    NoStatus,
    /// The status could not be established (the reason says why).
    Unknown(String),
}

impl CredentialState {
    /// A short name: `valid`, `revoked`, `suspended`, `none`, `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
            Self::NoStatus => "none",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Revoked or suspended: presenting it would be refused.
    pub fn is_unusable(&self) -> bool {
        matches!(self, Self::Revoked | Self::Suspended)
    }
}

impl std::fmt::Display for CredentialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(reason) => write!(f, "unknown ({reason})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Where a credential's status is recorded.
enum Mechanism {
    Token(StatusReference),
    /// A Token Status List in CWT form (draft-ietf-oauth-status-list §5.2), as an mdoc's
    /// MSO references it (§6.3).
    Cwt(StatusReference),
    Bitstring(Vec<BitstringStatusListEntry>),
}

impl Wallet {
    /// The status of a stored credential, fetching its status list(s) now. Never fails: a
    /// status that cannot be established is [`CredentialState::Unknown`].
    pub async fn credential_status(&self, credential: &StoredCredential) -> CredentialState {
        match mechanism(credential) {
            Ok(None) => CredentialState::NoStatus,
            Err(reason) => CredentialState::Unknown(reason),
            Ok(Some(Mechanism::Token(reference))) => self
                .token_status(credential, &reference)
                .await
                .unwrap_or_else(CredentialState::Unknown),
            Ok(Some(Mechanism::Cwt(reference))) => self
                .cwt_status(credential, &reference)
                .await
                .unwrap_or_else(CredentialState::Unknown),
            Ok(Some(Mechanism::Bitstring(entries))) => {
                // A revocation bit outranks a suspension bit; any failure leaves the whole
                // answer unknown unless a set revocation bit already settled it.
                let mut state = CredentialState::Valid;
                for entry in &entries {
                    match self.bitstring_status(credential, entry).await {
                        Ok(CredentialState::Revoked) => return CredentialState::Revoked,
                        Ok(CredentialState::Valid) => {}
                        Ok(s) => {
                            if !matches!(state, CredentialState::Unknown(_)) {
                                state = s;
                            }
                        }
                        Err(reason) => state = CredentialState::Unknown(reason),
                    }
                }
                state
            }
        }
    }

    fn status_resolver(&self) -> Box<dyn IssuerKeyResolver> {
        match &self.options().issuer_key_resolver {
            Some(r) => Box::new(ArcResolver(r.clone())),
            None => Box::new(JwtVcIssuerMetadataResolver::new(self.client().clone())),
        }
    }

    async fn fetch_text(&self, uri: &str, accept: &str) -> Result<String, String> {
        let http = self.http();
        let response = http
            .get(Endpoint::StatusList, uri, accept)
            .await
            .map_err(|e| e.to_string())?;
        if !response.is_success() {
            return Err(response
                .into_error(Endpoint::StatusList, http.max_bytes())
                .to_string());
        }
        String::from_utf8(response.body)
            .map(|t| t.trim_ascii().to_owned())
            .map_err(|_| "the status list is not text".to_owned())
    }

    async fn token_status(
        &self,
        credential: &StoredCredential,
        reference: &StatusReference,
    ) -> Result<CredentialState, String> {
        let token = self
            .fetch_text(&reference.uri, STATUS_LIST_JWT_MEDIA_TYPE)
            .await?;
        let resolver = self.status_resolver();
        let verified = verify_status_list_token(
            &token,
            resolver.as_ref(),
            &VerifyOptions {
                uri: &reference.uri,
                // Spec: draft-ietf-oauth-status-list §11.3: the list is signed by the
                // credential's issuer.
                expected_issuer: Some(&credential.issuer),
                now: self.options().clock.now(),
                skew: self.options().skew_secs,
                policy: &self.options().credential_algorithms,
                max_list_bytes: MAX_LIST_BYTES,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        state_at(&verified, reference)
    }

    /// The CWT form (draft-ietf-oauth-status-list §5.2, §8.3), verified like the JWT form:
    /// signed by the credential's issuer, `sub` the referenced URI, times.
    async fn cwt_status(
        &self,
        credential: &StoredCredential,
        reference: &StatusReference,
    ) -> Result<CredentialState, String> {
        let http = self.http();
        let response = http
            .get(
                Endpoint::StatusList,
                &reference.uri,
                STATUS_LIST_CWT_MEDIA_TYPE,
            )
            .await
            .map_err(|e| e.to_string())?;
        if !response.is_success() {
            return Err(response
                .into_error(Endpoint::StatusList, http.max_bytes())
                .to_string());
        }
        let resolver = self.status_resolver();
        let verified = verify_status_list_cwt(
            &response.body,
            resolver.as_ref(),
            &VerifyOptions {
                uri: &reference.uri,
                // Spec: draft-ietf-oauth-status-list §11.3: the list is signed by the
                // credential's issuer (for an mdoc, the Credential Issuer it came from).
                expected_issuer: Some(&credential.issuer),
                now: self.options().clock.now(),
                skew: self.options().skew_secs,
                policy: &self.options().credential_algorithms,
                max_list_bytes: MAX_LIST_BYTES,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        state_at(&verified, reference)
    }

    async fn bitstring_status(
        &self,
        credential: &StoredCredential,
        entry: &BitstringStatusListEntry,
    ) -> Result<CredentialState, String> {
        let token = self
            .fetch_text(&entry.status_list_credential, VC_JWT_MEDIA_TYPE)
            .await?;
        let decoded = jws::decode(&token).map_err(|e| e.to_string())?;
        let ctx = VerifyContext {
            client: self.client(),
            resolver: self.options().issuer_key_resolver.as_deref(),
            policy: &self.options().credential_algorithms,
            now: self.options().clock.now(),
            skew: self.options().skew_secs,
        };
        // Spec: W3C Bitstring Status List v1.0 §3.2 step 4: the list's issuer is the
        // credential's issuer, so its key is found as for the credential.
        let key = issuer_key_for_jwt(&ctx, &credential.issuer, &decoded.header, &decoded.payload)
            .await
            .map_err(|e| e.to_string())?;
        let verified = verify_bitstring_status_list_credential(
            &token,
            &key,
            &self.options().credential_algorithms,
            ctx.now,
            ctx.skew,
            MAX_BITSTRING_ENTRIES,
        )
        .map_err(|e| e.to_string())?;
        if verified.issuer != credential.issuer {
            return Err("the status list has another issuer".into());
        }
        Ok(
            match (
                verified.status(entry).map_err(|e| e.to_string())?,
                entry.status_purpose,
            ) {
                (0, _) => CredentialState::Valid,
                (_, StatusPurpose::Revocation) => CredentialState::Revoked,
                (_, StatusPurpose::Suspension) => CredentialState::Suspended,
            },
        )
    }
}

/// The state at the reference's index. Spec: draft-ietf-oauth-status-list §7.1: 0 VALID,
/// 1 INVALID, 2 SUSPENDED; other values say nothing we know.
fn state_at(
    verified: &VerifiedStatusList,
    reference: &StatusReference,
) -> Result<CredentialState, String> {
    let idx = usize::try_from(reference.idx).map_err(|_| "index out of range".to_owned())?;
    match verified.list.get(idx).map_err(|e| e.to_string())? {
        0 => Ok(CredentialState::Valid),
        1 => Ok(CredentialState::Revoked),
        2 => Ok(CredentialState::Suspended),
        other => Err(format!("status value {other} is not understood")),
    }
}

/// An `Arc` resolver as a boxed one.
struct ArcResolver(std::sync::Arc<dyn IssuerKeyResolver>);

impl std::fmt::Debug for ArcResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArcResolver")
    }
}

#[async_trait::async_trait]
impl IssuerKeyResolver for ArcResolver {
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> vdc_core::Result<vdc_core::sd_jwt_vc::ResolvedIssuerKey> {
        self.0.resolve(header, payload).await
    }
}

/// The status mechanism a credential names; `Err` when it names one we cannot read.
fn mechanism(credential: &StoredCredential) -> Result<Option<Mechanism>, String> {
    if credential.format == crate::mdoc::FORMAT_MSO_MDOC {
        // An mdoc's status is the MSO's `status` (ISO 18013-5 2nd ed.), a reference to a
        // CWT Status List Token (draft-ietf-oauth-status-list §6.3).
        let mso = crate::mdoc::decode_issuer_signed(&credential.credential)
            .and_then(|i| crate::mdoc::mso_of(&i))
            .map_err(|e| bounded(&e.to_string()))?;
        return match mso.status {
            None => Ok(None),
            Some(s) => StatusReference::new(s.idx, s.uri)
                .map(|r| Some(Mechanism::Cwt(r)))
                .map_err(|e| bounded(&e.to_string())),
        };
    }
    let claims = if credential.format == FORMAT_JWT_VC_JSON {
        jws::decode(&credential.credential)
            .map(|d| Value::Object(d.payload))
            .map_err(|e| e.to_string())?
    } else {
        full_claims(&credential.credential).map_err(|e| e.to_string())?
    };
    if let Some(status) = claims.get("status") {
        return StatusReference::from_status_claim(status)
            .map(|r| Some(Mechanism::Token(r)))
            .map_err(|e| e.to_string());
    }
    // VCDM 2.0 has `credentialStatus` at the top; a VCDM 1.1 JWT inside `vc`.
    let entries = claims
        .get("credentialStatus")
        .or_else(|| claims.get("vc").and_then(|vc| vc.get("credentialStatus")));
    let entries: Vec<&Value> = match entries {
        None => return Ok(None),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
    };
    let parsed: Vec<BitstringStatusListEntry> = entries
        .into_iter()
        .map(BitstringStatusListEntry::from_value)
        .collect::<Result<_, _>>()
        .map_err(|e| bounded(&e.to_string()))?;
    if parsed.is_empty() {
        return Ok(None);
    }
    Ok(Some(Mechanism::Bitstring(parsed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::base64url;

    fn stored(format: &str, credential: String) -> StoredCredential {
        StoredCredential {
            id: "c".into(),
            credential,
            format: format.into(),
            credential_configuration_id: "x".into(),
            credential_identifier: None,
            credential_issuer: "https://issuer.example".into(),
            issuer: "https://issuer.example".into(),
            vct: None,
            doctype: None,
            holder_private_jwk: None,
            notification_id: None,
            received_at: 0,
        }
    }

    fn jwt(payload: &Value) -> String {
        format!(
            "{}.{}.c2ln",
            base64url::encode(br#"{"alg":"ES256"}"#),
            base64url::encode(payload.to_string().as_bytes())
        )
    }

    #[test]
    fn the_status_mechanism_is_read_from_either_claim() {
        let none = stored("jwt_vc_json", jwt(&serde_json::json!({"issuer": "x"})));
        assert!(matches!(mechanism(&none), Ok(None)));
        let token = stored(
            "jwt_vc_json",
            jwt(
                &serde_json::json!({"status": {"status_list": {"idx": 7, "uri": "https://s.example/1"}}}),
            ),
        );
        match mechanism(&token) {
            Ok(Some(Mechanism::Token(r))) => {
                assert_eq!((r.idx, r.uri.as_str()), (7, "https://s.example/1"))
            }
            _ => panic!("token status list expected"),
        }
        let w3c = stored(
            "jwt_vc_json",
            jwt(
                &serde_json::json!({"credentialStatus": [{"type": "BitstringStatusListEntry",
                "statusPurpose": "revocation", "statusListIndex": "3",
                "statusListCredential": "https://s.example/r"}]}),
            ),
        );
        match mechanism(&w3c) {
            Ok(Some(Mechanism::Bitstring(e))) => assert_eq!(e[0].status_list_index, 3),
            _ => panic!("bitstring entry expected"),
        }
        let broken = stored(
            "jwt_vc_json",
            jwt(&serde_json::json!({"status": {"status_list": {"idx": -1, "uri": "x"}}})),
        );
        assert!(mechanism(&broken).is_err());
    }

    #[tokio::test]
    async fn an_mdoc_status_is_the_cwt_list_its_mso_references() {
        use crate::mdoc::fixture::{DOCTYPE, issue, issue_with_status};
        let mut plain = stored("mso_mdoc", issue(DOCTYPE, 5).await.credential);
        assert!(matches!(mechanism(&plain), Ok(None)));
        let status = vdc_core::mdoc::StatusRef {
            idx: 9,
            uri: "https://s.example/lists/1".into(),
        };
        plain.credential = issue_with_status(DOCTYPE, 6, Some(status)).await.credential;
        match mechanism(&plain) {
            Ok(Some(Mechanism::Cwt(r))) => {
                assert_eq!((r.idx, r.uri.as_str()), (9, "https://s.example/lists/1"))
            }
            _ => panic!("a CWT status list reference expected"),
        }
        plain.credential = "not-an-mdoc".into();
        assert!(mechanism(&plain).is_err());
    }

    #[test]
    fn only_revoked_and_suspended_are_unusable() {
        assert!(CredentialState::Revoked.is_unusable());
        assert!(CredentialState::Suspended.is_unusable());
        assert!(!CredentialState::Valid.is_unusable());
        assert!(!CredentialState::NoStatus.is_unusable());
        assert!(!CredentialState::Unknown("x".into()).is_unusable());
        assert_eq!(
            CredentialState::Unknown("down".into()).to_string(),
            "unknown (down)"
        );
    }
}
