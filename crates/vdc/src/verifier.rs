//! Wires the verifier to this deployment: its issuers' keys, its status lists and its
//! key-encryption key, all in process (contract: "Issuers of this deployment, their keys and
//! their status lists are resolved inside the server, without an HTTP round trip").

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::fetch::Fetcher;
use vdc_core::jose::AlgorithmPolicy;
use vdc_core::jose::JwkSet;
use vdc_core::jose::jws;
use vdc_core::rng::RandomSource;
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::Clock;
use vdc_issuer::{Issuer, KeyEncryptionKey};
use vdc_status::{
    BitstringStatusListEntry, StatusListClient, StatusListSource, StatusPurpose, StatusReference,
    StatusService, verify_bitstring_status_list_credential,
};
use vdc_verifier::VerifierError;
use vdc_verifier::trust::{
    CredentialState, DeploymentKeyResolver, KeyVault, LocalIssuers, StatusChecker,
};
use zeroize::Zeroizing;

/// The deployment's key-encryption key as the verifier's [`KeyVault`].
#[derive(Debug, Clone)]
pub struct KekVault {
    /// The KEK.
    pub kek: KeyEncryptionKey,
    /// Randomness for nonces.
    pub rng: Arc<dyn RandomSource>,
}

impl KeyVault for KekVault {
    fn seal(&self, plaintext: &[u8], context: &str) -> vdc_verifier::Result<Vec<u8>> {
        self.kek
            .seal(plaintext, context, self.rng.as_ref())
            .map_err(|e| VerifierError::Internal(e.to_string()))
    }

    fn open(&self, sealed: &[u8], context: &str) -> vdc_verifier::Result<Zeroizing<Vec<u8>>> {
        self.kek
            .open(sealed, context)
            .map_err(|e| VerifierError::Internal(e.to_string()))
    }
}

/// This deployment's issuers, by credential issuer identifier `{public_url}/issuers/{id}`.
#[derive(Debug, Clone)]
pub struct DeploymentIssuers {
    /// The issuer service.
    pub issuer: Issuer,
    /// The public base URL.
    pub public_url: String,
}

#[async_trait]
impl LocalIssuers for DeploymentIssuers {
    async fn keys(&self, iss: &str) -> Option<JwkSet> {
        let prefix = format!("{}/issuers/", self.public_url.trim_end_matches('/'));
        let id = iss.strip_prefix(&prefix)?;
        if id.contains('/') {
            return None;
        }
        let metadata = self.issuer.jwt_vc_issuer_metadata(id).await.ok()?;
        JwkSet::from_value(metadata.get("jwks")?).ok()
    }
}

/// This deployment's status lists as a local source of the status list client.
#[derive(Debug, Clone)]
pub struct DeploymentLists {
    /// The status service.
    pub status: StatusService,
    /// The public base URL.
    pub public_url: String,
}

#[async_trait]
impl StatusListSource for DeploymentLists {
    async fn token(&self, uri: &str) -> vdc_status::Result<Option<String>> {
        let prefix = format!("{}/issuers/", self.public_url.trim_end_matches('/'));
        let Some(rest) = uri.strip_prefix(&prefix) else {
            return Ok(None);
        };
        let Some((issuer, list)) = rest.split_once("/status-lists/") else {
            return Ok(None);
        };
        if list.contains('/') || list.contains('?') {
            return Ok(None);
        }
        match self.status.token(issuer, list, None).await {
            Ok(t) => Ok(Some(t.token.to_string())),
            Err(e) => Err(vdc_status::Error::Retrieval(e.to_string())),
        }
    }
}

/// Status checks through the status list client: foreign lists are cached per their `ttl`;
/// this deployment's lists are read fresh on every check (the status service keeps their
/// signed tokens per list version, so a revocation here takes effect at once).
#[derive(Debug)]
pub struct ClientStatusChecker {
    /// The client (with this deployment's lists as its local source).
    pub client: StatusListClient,
    /// `{public_url}/issuers/`: URIs under it are this deployment's lists.
    pub local_prefix: String,
    /// This deployment's status lists (for W3C Bitstring Status Lists, read in process).
    pub status: StatusService,
    /// Issuer keys of this deployment (verifies the `BitstringStatusListCredential`s).
    pub resolver: DeploymentKeyResolver,
    /// The clock (validity of the status list credential).
    pub clock: Arc<dyn Clock>,
}

/// Most entries a bitstring status list may inflate to (16 times the herd-privacy minimum).
const MAX_BITSTRING_ENTRIES: usize = 16 * vdc_status::MIN_BITSTRING_ENTRIES;

impl ClientStatusChecker {
    /// The list, issuer and purpose of a bitstring URL of this deployment
    /// (`{public_url}/issuers/{issuer}/status-lists/{list}/bitstring/{purpose}`).
    fn local_bitstring<'a>(&self, url: &'a str) -> Option<(&'a str, &'a str, StatusPurpose)> {
        let rest = url.strip_prefix(&self.local_prefix)?;
        let (issuer, rest) = rest.split_once("/status-lists/")?;
        let (list, purpose) = rest.split_once("/bitstring/")?;
        if [issuer, list, purpose]
            .iter()
            .any(|s| s.is_empty() || s.contains(['/', '?', '#']))
        {
            return None;
        }
        Some((issuer, list, StatusPurpose::parse(purpose).ok()?))
    }
}

#[async_trait]
impl StatusChecker for ClientStatusChecker {
    async fn check(&self, status: &Value, issuer: &str) -> Result<CredentialState, String> {
        let reference = StatusReference::from_status_claim(status).map_err(|e| e.to_string())?;
        // Spec: draft-ietf-oauth-status-list §7.1: 0 valid, 1 invalid, 2 suspended; any
        // other value is not a state we accept.
        if reference.uri.starts_with(&self.local_prefix) {
            self.client.invalidate(&reference.uri);
        }
        match self.client.status(&reference, Some(issuer)).await {
            Ok(0) => Ok(CredentialState::Valid),
            Ok(1) => Ok(CredentialState::Revoked),
            Ok(2) => Ok(CredentialState::Suspended),
            Ok(other) => Err(format!("status value {other} is not accepted")),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn check_bitstring(
        &self,
        entry: &Value,
        issuer: &str,
    ) -> Result<CredentialState, String> {
        let entry = BitstringStatusListEntry::from_value(entry).map_err(|e| e.to_string())?;
        // Only this deployment's lists are read (in process, always fresh); a foreign
        // bitstring list cannot be established here, so the check fails closed.
        let (issuer_id, list, purpose) = self
            .local_bitstring(&entry.status_list_credential)
            .ok_or("only this deployment's bitstring status lists can be checked")?;
        if purpose != entry.status_purpose {
            return Err("the status list URL is for another statusPurpose".into());
        }
        let served = self
            .status
            .bitstring_credential(issuer_id, list, purpose)
            .await
            .map_err(|e| e.to_string())?;
        let decoded = jws::decode(&served.token).map_err(|e| e.to_string())?;
        let mut payload = decoded.payload.clone();
        // Spec: W3C Bitstring Status List v1.0 §3.2 step 4: the list's issuer must be the
        // credential's issuer; the policy resolves keys by `iss`.
        payload.insert("iss".into(), issuer.into());
        let key = self
            .resolver
            .resolve(&decoded.header, &payload)
            .await
            .map_err(|e| e.to_string())?;
        let verified = verify_bitstring_status_list_credential(
            &served.token,
            &key.key,
            &AlgorithmPolicy::default(),
            self.clock.now(),
            vdc_core::time::DEFAULT_SKEW_SECS,
            MAX_BITSTRING_ENTRIES,
        )
        .map_err(|e| e.to_string())?;
        if verified.issuer != issuer {
            return Err("the status list has another issuer".into());
        }
        match (verified.status(&entry).map_err(|e| e.to_string())?, purpose) {
            (0, _) => Ok(CredentialState::Valid),
            (_, StatusPurpose::Revocation) => Ok(CredentialState::Revoked),
            (_, StatusPurpose::Suspension) => Ok(CredentialState::Suspended),
        }
    }
}

/// The verifier service for this deployment.
pub fn verifier_service(
    store: Arc<dyn vdc_store::Store>,
    kek: KeyEncryptionKey,
    issuer: Issuer,
    status: StatusService,
    fetcher: Option<Fetcher>,
    deps: &crate::Deps,
    public_url: &str,
) -> vdc_verifier::Verifier {
    let (clock, rng) = (deps.clock.clone(), deps.rng.clone());
    let local: Arc<dyn LocalIssuers> = Arc::new(DeploymentIssuers {
        issuer,
        public_url: public_url.to_owned(),
    });
    let resolver = DeploymentKeyResolver::new(local.clone(), None, fetcher.clone(), clock.clone());
    let client_fetcher = fetcher
        .clone()
        .or_else(|| Fetcher::new(Default::default()).ok());
    let checker: Arc<dyn StatusChecker> = match client_fetcher {
        Some(f) => Arc::new(ClientStatusChecker {
            client: StatusListClient::new(f, Arc::new(resolver.clone()), clock.clone())
                .with_local_source(Arc::new(DeploymentLists {
                    status: status.clone(),
                    public_url: public_url.to_owned(),
                })),
            local_prefix: format!("{}/issuers/", public_url.trim_end_matches('/')),
            status,
            resolver: resolver.clone(),
            clock: clock.clone(),
        }),
        None => Arc::new(NoStatus),
    };
    vdc_verifier::Verifier::new(
        vdc_verifier::VerifierDeps {
            store,
            vault: Arc::new(KekVault {
                kek,
                rng: rng.clone(),
            }),
            local_issuers: local,
            status: checker,
            fetcher,
            clock,
            rng,
        },
        public_url,
        vdc_verifier::VerifierSettings::default(),
    )
}

/// Refuses every status check (no fetcher could be built).
#[derive(Debug)]
struct NoStatus;

#[async_trait]
impl StatusChecker for NoStatus {
    async fn check(&self, _: &Value, _: &str) -> Result<CredentialState, String> {
        Err("status lists cannot be fetched".into())
    }
}
