//! The high-level wallet: accept a Credential Offer end to end (OID4VCI 1.0 §3.5, the
//! pre-authorized code flow), verify and store what arrives, poll deferred issuance and
//! notify the issuer.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vdc_core::jose::{Algorithm, LocalSigner, PublicKey, SigningKey};
use vdc_core::key_proof::{self, ProofInput};
use vdc_core::rng::random_b64;

use crate::authorize::{AuthorizationTokens, DpopKey, DpopSession};
use crate::client::{
    AccessToken, CredentialRequest, CredentialResponse, CredentialTarget, IssuerClient,
    NotificationEvent, TokenResponse,
};
use crate::error::{Endpoint, Error, ErrorCode, Result, bounded};
use crate::metadata::{CredentialConfiguration, IssuerInfo};
use crate::offer::CredentialOffer;
use crate::store::{CredentialStore, PrivateJwk, StoredCredential};
use crate::verify::{FORMAT_MSO_MDOC, SUPPORTED_FORMATS, VerifyContext, verify_received};

pub use crate::options::{DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, WalletOptions};

/// What accepting an offer (or polling a deferred issuance) produced.
#[derive(Debug, Default)]
pub struct AcceptedOffer {
    /// The credentials received, verified and stored.
    pub credentials: Vec<StoredCredential>,
    /// Issuances the issuer deferred (OID4VCI 1.0 §9), one per Credential Request; poll
    /// each with [`Wallet::poll_deferred`] after its `interval`.
    pub deferred: Vec<DeferredHandle>,
    /// Notification Requests that failed. Notifications are best-effort (OID4VCI 1.0
    /// §11: "there are no guarantees"), so they never fail the acceptance.
    pub notification_errors: Vec<Error>,
    /// The tokens of an authorization code flow ([`Wallet::finish_authorization`]), with
    /// the refresh token when issued; `None` for the pre-authorized code flow.
    pub tokens: Option<AuthorizationTokens>,
}

/// A deferred issuance to poll later (OID4VCI 1.0 §9). It holds the access token and the
/// holder private keys: persist it only where the credentials themselves may be stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeferredHandle {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The configuration requested.
    pub credential_configuration_id: String,
    /// The `credential_identifier` requested, if any.
    pub credential_identifier: Option<String>,
    /// The configuration's metadata (format, `vct`), to verify what arrives.
    pub configuration: CredentialConfiguration,
    /// `deferred_credential_endpoint`.
    pub deferred_credential_endpoint: String,
    /// `notification_endpoint`, if the issuer has one.
    pub notification_endpoint: Option<String>,
    /// The access token the Credential Request used (§9: "MUST present ... an Access
    /// Token that is valid for the issuance").
    pub access_token: AccessToken,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `interval`: seconds to wait before polling.
    pub interval: u64,
    /// The holder keys proved in the Credential Request.
    pub holder_keys: Vec<PrivateJwk>,
    /// The DPoP key the access token is bound to (RFC 9449), for tokens of the
    /// authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopKey>,
}

/// One issuance in progress: what is being requested, from where, with which token.
pub(crate) struct Issuance<'a> {
    pub(crate) credential_issuer: &'a str,
    pub(crate) configuration_id: &'a str,
    pub(crate) identifier: Option<&'a str>,
    pub(crate) config: &'a CredentialConfiguration,
    pub(crate) notification_endpoint: Option<&'a str>,
    pub(crate) access_token: &'a AccessToken,
    /// The DPoP key of a DPoP-bound access token.
    pub(crate) dpop: Option<&'a DpopSession>,
    /// The key proofs' `iss` (OID4VCI 1.0 Appendix F.1; `None` for anonymous access).
    pub(crate) client_id: Option<&'a str>,
}

/// A wallet over a [`CredentialStore`]: accepts offers from any OID4VCI 1.0 issuer with
/// the pre-authorized code flow.
#[derive(Debug, Clone)]
pub struct Wallet {
    store: Arc<dyn CredentialStore>,
    client: IssuerClient,
    options: WalletOptions,
}

impl Wallet {
    /// A wallet storing into `store`.
    pub fn new(store: impl CredentialStore + 'static, options: WalletOptions) -> Result<Self> {
        Self::with_shared_store(Arc::new(store), options)
    }

    /// A wallet over a store shared with other code.
    pub fn with_shared_store(
        store: Arc<dyn CredentialStore>,
        options: WalletOptions,
    ) -> Result<Self> {
        Ok(Self {
            client: IssuerClient::new(&options)?,
            store,
            options,
        })
    }

    /// The HTTP transport.
    pub(crate) fn http(&self) -> &crate::http::Http {
        self.client.http()
    }

    /// The options in force.
    pub(crate) fn options(&self) -> &WalletOptions {
        &self.options
    }

    /// The protocol client, for driving individual steps.
    pub fn client(&self) -> &IssuerClient {
        &self.client
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn CredentialStore> {
        &self.store
    }

    /// Every stored credential, oldest first.
    pub async fn list(&self) -> Result<Vec<StoredCredential>> {
        self.store.list().await
    }

    /// One stored credential.
    pub async fn get(&self, id: &str) -> Result<Option<StoredCredential>> {
        self.store.get(id).await
    }

    /// Deletes a stored credential and, with it, its holder key (both live in one record);
    /// true if it existed.
    pub async fn remove(&self, id: &str) -> Result<bool> {
        self.store.delete(id).await
    }

    /// Parses (and, by reference, fetches) an offer without acting on it: use it to show
    /// the End-User the issuer and the `tx_code` description before asking for the code.
    pub async fn resolve_offer(&self, offer_uri: &str) -> Result<CredentialOffer> {
        self.client.resolve_offer(offer_uri).await
    }

    /// Accepts an offer URI end to end: resolve the offer (§4.1), discover metadata
    /// (§12.2, RFC 8414), exchange the pre-authorized code (§6), then for each offered
    /// configuration request `batch` credentials, each bound to its own fresh holder key
    /// (§8), verify and store them, and notify the issuer (§11).
    pub async fn accept_offer(
        &self,
        offer_uri: &str,
        tx_code: Option<&str>,
        batch: usize,
    ) -> Result<AcceptedOffer> {
        let offer = self.resolve_offer(offer_uri).await?;
        self.accept(&offer, tx_code, batch).await
    }

    /// Accepts an already resolved offer (see [`Wallet::accept_offer`]).
    pub async fn accept(
        &self,
        offer: &CredentialOffer,
        tx_code: Option<&str>,
        batch: usize,
    ) -> Result<AcceptedOffer> {
        let grant = offer.pre_authorized_grant()?;
        // Spec: OID4VCI 1.0 §6.1 `tx_code`: "MUST be present if a tx_code object was present
        // in the Credential Offer (including if the object was empty)", and "MUST only be
        // used" with this grant when asked for; checked before the single-use code is spent.
        match (&grant.tx_code, tx_code) {
            (Some(_), None) => return Err(Error::TxCodeRequired),
            (None, Some(_)) => return Err(Error::TxCodeNotExpected),
            _ => {}
        }
        if batch == 0 {
            return Err(Error::BatchTooLarge {
                requested: 0,
                max: 1,
            });
        }
        let info = self
            .client
            .discover(
                &offer.credential_issuer,
                grant.authorization_server.as_deref(),
            )
            .await?;
        if info.issuer.requires_encryption() {
            return Err(Error::Unsupported(
                "the issuer requires encrypted credential requests/responses (§10)".into(),
            ));
        }
        for id in &offer.credential_configuration_ids {
            self.check_configuration(&info, info.issuer.configuration(id)?, batch)?;
        }
        let token = self
            .client
            .token(
                info.authorization_server.token_endpoint()?,
                &grant.pre_authorized_code,
                tx_code,
                None,
            )
            .await?;
        let targets = targets(&offer.credential_configuration_ids, &token, &info)?;
        let mut accepted = AcceptedOffer::default();
        for (config_id, identifier) in &targets {
            let config = info.issuer.configuration(config_id)?;
            self.check_configuration(&info, config, batch)?;
            let issuance = Issuance {
                credential_issuer: &info.issuer.credential_issuer,
                configuration_id: config_id,
                identifier: identifier.as_deref(),
                config,
                notification_endpoint: info.issuer.notification_endpoint.as_deref(),
                access_token: &token.access_token,
                dpop: None,
                client_id: None,
            };
            self.request(&info, &issuance, batch, &mut accepted).await?;
        }
        Ok(accepted)
    }

    /// Checks, before the pre-authorized code is spent, that a configuration can be
    /// requested and what arrives can be verified.
    pub(crate) fn check_configuration(
        &self,
        info: &IssuerInfo,
        config: &CredentialConfiguration,
        batch: usize,
    ) -> Result<()> {
        if !SUPPORTED_FORMATS.contains(&config.format.as_str()) {
            return Err(Error::Unsupported(format!(
                "credential format {} (supported: {})",
                bounded(&config.format),
                SUPPORTED_FORMATS.join(", ")
            )));
        }
        let is_mdoc = config.format == FORMAT_MSO_MDOC;
        // Spec: OID4VCI 1.0 A.2.2: `doctype` is REQUIRED; without it nothing received can be
        // checked for its type.
        if is_mdoc && config.doctype.is_none() {
            return Err(Error::Metadata(
                "the mso_mdoc configuration has no doctype".into(),
            ));
        }
        if !config.requires_proof() {
            if batch > 1 {
                return Err(Error::BatchTooLarge {
                    requested: batch,
                    max: 1,
                });
            }
            return Ok(());
        }
        let max = info.issuer.max_batch();
        if batch > max {
            return Err(Error::BatchTooLarge {
                requested: batch,
                max,
            });
        }
        // Spec: OID4VCI 1.0 §12.2.4: `cose_key` binds to a COSE_Key (ISO 18013-5's
        // deviceKey); the `jwt` proof still carries the key as `jwk` (Appendix F.1), which
        // the issuer puts into the MSO as a COSE_Key, so an mdoc configuration may name
        // either.
        if let Some(methods) = &config.cryptographic_binding_methods_supported
            && !methods
                .iter()
                .any(|m| m == "jwk" || (is_mdoc && m == "cose_key"))
        {
            return Err(Error::Unsupported(if is_mdoc {
                "the configuration binds to neither jwk nor cose_key keys".into()
            } else {
                "the configuration binds to no key representation other than jwk".into()
            }));
        }
        let jwt = config.jwt_proof().ok_or_else(|| {
            Error::Unsupported("the configuration supports no jwt proof type (Appendix F.1)".into())
        })?;
        if jwt.key_attestations_required.is_some() {
            return Err(Error::Unsupported("key attestations (Appendix D)".into()));
        }
        self.proof_algorithm(config).map(|_| ())
    }

    fn proof_algorithm(&self, config: &CredentialConfiguration) -> Result<Algorithm> {
        let offered = config
            .jwt_proof()
            .map(|p| p.proof_signing_alg_values_supported.as_slice())
            .unwrap_or_default();
        self.options
            .proof_algorithms
            .iter()
            .copied()
            .find(|alg| {
                offered
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|name| Algorithm::from_name(name).is_ok_and(|a| a == *alg))
            })
            .ok_or_else(|| {
                Error::Unsupported(
                    "none of the issuer's proof_signing_alg_values_supported is a wallet algorithm"
                        .into(),
                )
            })
    }

    pub(crate) async fn request(
        &self,
        info: &IssuerInfo,
        issuance: &Issuance<'_>,
        batch: usize,
        accepted: &mut AcceptedOffer,
    ) -> Result<()> {
        let config = issuance.config;
        let keys = if config.requires_proof() {
            let alg = self.proof_algorithm(config)?;
            (0..batch)
                .map(|_| SigningKey::generate(alg, self.options.rng.as_ref()).map(LocalSigner::new))
                .collect::<vdc_core::Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        let target = match issuance.identifier {
            Some(id) => CredentialTarget::Identifier(id.to_owned()),
            None => CredentialTarget::ConfigurationId(issuance.configuration_id.to_owned()),
        };
        let nonce_endpoint = info.issuer.nonce_endpoint.as_deref();
        let mut retried = false;
        let response = loop {
            let request = CredentialRequest {
                target: target.clone(),
                jwt_proofs: self
                    .proofs(
                        &keys,
                        issuance.credential_issuer,
                        nonce_endpoint,
                        issuance.client_id,
                    )
                    .await?,
            };
            match self
                .client
                .credential_as(
                    &info.issuer.credential_endpoint,
                    issuance.access_token,
                    issuance.dpop,
                    &request,
                )
                .await
            {
                // Spec: §8.3.1.2 `invalid_nonce`: "The wallet should retrieve a new c_nonce
                // value"; one retry with fresh proofs.
                Err(e)
                    if !retried
                        && nonce_endpoint.is_some()
                        && e.oauth_code() == Some(&ErrorCode::InvalidNonce) =>
                {
                    retried = true;
                }
                other => break other?,
            }
        };
        match response {
            CredentialResponse::Issued {
                credentials,
                notification_id,
            } => {
                let holder: Vec<PrivateJwk> =
                    keys.iter().map(|k| PrivateJwk::from_key(k.key())).collect();
                self.receive(issuance, &holder, credentials, notification_id, accepted)
                    .await
            }
            CredentialResponse::Deferred {
                transaction_id,
                interval,
            } => {
                let endpoint = info
                    .issuer
                    .deferred_credential_endpoint
                    .clone()
                    .ok_or_else(|| Error::InvalidResponse {
                        endpoint: Endpoint::Credential,
                        reason: "deferred issuance but no deferred_credential_endpoint in metadata"
                            .into(),
                    })?;
                accepted.deferred.push(DeferredHandle {
                    credential_issuer: issuance.credential_issuer.to_owned(),
                    credential_configuration_id: issuance.configuration_id.to_owned(),
                    credential_identifier: issuance.identifier.map(str::to_owned),
                    configuration: config.clone(),
                    deferred_credential_endpoint: endpoint,
                    notification_endpoint: issuance.notification_endpoint.map(str::to_owned),
                    access_token: issuance.access_token.clone(),
                    transaction_id,
                    interval,
                    holder_keys: keys.iter().map(|k| PrivateJwk::from_key(k.key())).collect(),
                    dpop: issuance.dpop.map(DpopSession::to_key),
                });
                Ok(())
            }
        }
    }

    /// One `jwt` key proof per key (Appendix F.1): `aud` = the Credential Issuer
    /// Identifier, `nonce` = a fresh `c_nonce` when the issuer has a Nonce Endpoint (§7),
    /// `iss` = the client id, omitted in the anonymous pre-authorized code flow.
    async fn proofs(
        &self,
        keys: &[LocalSigner],
        credential_issuer: &str,
        nonce_endpoint: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<Vec<String>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let nonce = match nonce_endpoint {
            Some(url) => Some(self.client.nonce(url).await?),
            None => None,
        };
        let iat = self.options.clock.now();
        let mut proofs = Vec::with_capacity(keys.len());
        for key in keys {
            proofs.push(
                key_proof::create(
                    key,
                    ProofInput {
                        audience: credential_issuer,
                        nonce: nonce.as_deref(),
                        client_id,
                        iat,
                    },
                )
                .await?,
            );
        }
        Ok(proofs)
    }

    /// Verifies, stores and acknowledges the credentials of one response.
    async fn receive(
        &self,
        issuance: &Issuance<'_>,
        holder_keys: &[PrivateJwk],
        credentials: Vec<Value>,
        notification_id: Option<String>,
        accepted: &mut AcceptedOffer,
    ) -> Result<()> {
        let result = self
            .verify_and_store(
                issuance,
                holder_keys,
                &credentials,
                notification_id.as_deref(),
            )
            .await;
        let (event, description) = match &result {
            Ok(_) => (NotificationEvent::CredentialAccepted, None),
            Err(_) => (
                NotificationEvent::CredentialFailure,
                Some("the wallet could not verify or store the credentials"),
            ),
        };
        if let (Some(id), Some(endpoint), true) = (
            notification_id.as_deref(),
            issuance.notification_endpoint,
            self.options.send_notifications,
        ) && let Err(e) = self
            .client
            .notify_as(
                endpoint,
                issuance.access_token,
                issuance.dpop,
                id,
                event,
                description,
            )
            .await
        {
            accepted.notification_errors.push(e);
        }
        accepted.credentials.extend(result?);
        Ok(())
    }

    async fn verify_and_store(
        &self,
        issuance: &Issuance<'_>,
        holder_keys: &[PrivateJwk],
        credentials: &[Value],
        notification_id: Option<&str>,
    ) -> Result<Vec<StoredCredential>> {
        let public: Vec<PublicKey> = holder_keys
            .iter()
            .map(PrivateJwk::public_key)
            .collect::<Result<_>>()?;
        // Spec: §8.3: "Each key provided by the Wallet is used to bind to, at most, one
        // Credential."
        if !public.is_empty() && credentials.len() > public.len() {
            return Err(Error::InvalidResponse {
                endpoint: Endpoint::Credential,
                reason: "more credentials than holder keys".into(),
            });
        }
        let ctx = VerifyContext {
            client: &self.client,
            resolver: self.options.issuer_key_resolver.as_deref(),
            policy: &self.options.credential_algorithms,
            now: self.options.clock.now(),
            skew: self.options.skew_secs,
        };
        let mut used = vec![false; public.len()];
        let mut stored = Vec::with_capacity(credentials.len());
        for credential in credentials {
            let received = verify_received(
                &ctx,
                issuance.credential_issuer,
                issuance.config,
                credential,
                &public,
            )
            .await?;
            let holder_private_jwk = match received.holder_key_index {
                Some(i) => {
                    if used.get(i).copied().unwrap_or(true) {
                        return Err(Error::InvalidCredential(vdc_core::Error::Claim(
                            "two credentials are bound to the same holder key".into(),
                        )));
                    }
                    used[i] = true;
                    holder_keys.get(i).cloned()
                }
                None => None,
            };
            stored.push(StoredCredential {
                // Ids are typed on command lines (`vdc wallet remove ID`, `--credential
                // ID`): one starting with `-` (1 in 64 of random base64url) would be read as
                // a flag, so every id leads with a letter.
                id: format!("c{}", random_b64(self.options.rng.as_ref(), 16)?),
                credential: received.credential,
                format: issuance.config.format.clone(),
                credential_configuration_id: issuance.configuration_id.to_owned(),
                credential_identifier: issuance.identifier.map(str::to_owned),
                credential_issuer: issuance.credential_issuer.to_owned(),
                issuer: received.issuer,
                vct: received.vct,
                doctype: received.doctype,
                holder_private_jwk,
                notification_id: notification_id.map(str::to_owned),
                received_at: self.options.clock.now().secs(),
            });
        }
        // Spec: §11.1: partial failure of a batch is the whole flow failing, so nothing is
        // kept unless everything verified; a failed save removes what was saved before it.
        for (i, c) in stored.iter().enumerate() {
            if let Err(e) = self.store.save(c).await {
                for earlier in &stored[..i] {
                    let _ = self.store.delete(&earlier.id).await;
                }
                return Err(e);
            }
        }
        Ok(stored)
    }

    /// Polls a deferred issuance once (§9). The result has the credentials when issued,
    /// or the handle again (with the new `interval`) while still pending.
    pub async fn poll_deferred(&self, handle: &DeferredHandle) -> Result<AcceptedOffer> {
        let dpop = handle
            .dpop
            .as_ref()
            .map(|k| DpopSession::restore(k, &self.options))
            .transpose()?;
        let response = self
            .client
            .deferred_credential_as(
                &handle.deferred_credential_endpoint,
                &handle.access_token,
                dpop.as_ref(),
                &handle.transaction_id,
            )
            .await?;
        let mut accepted = AcceptedOffer::default();
        match response {
            CredentialResponse::Deferred { interval, .. } => {
                accepted.deferred.push(DeferredHandle {
                    interval,
                    dpop: dpop.as_ref().map(DpopSession::to_key),
                    ..handle.clone()
                });
            }
            CredentialResponse::Issued {
                credentials,
                notification_id,
            } => {
                let issuance = Issuance {
                    credential_issuer: &handle.credential_issuer,
                    configuration_id: &handle.credential_configuration_id,
                    identifier: handle.credential_identifier.as_deref(),
                    config: &handle.configuration,
                    notification_endpoint: handle.notification_endpoint.as_deref(),
                    access_token: &handle.access_token,
                    dpop: dpop.as_ref(),
                    client_id: None,
                };
                self.receive(
                    &issuance,
                    &handle.holder_keys,
                    credentials,
                    notification_id,
                    &mut accepted,
                )
                .await?;
            }
        }
        Ok(accepted)
    }

    /// Sends a Notification Request (§11), e.g. `credential_deleted` when the End-User
    /// deletes credentials. It needs a still-valid access token (§11), so it is for callers
    /// that kept theirs (a [`DeferredHandle`] has one).
    pub async fn notify(
        &self,
        notification_endpoint: &str,
        access_token: &AccessToken,
        notification_id: &str,
        event: NotificationEvent,
    ) -> Result<()> {
        self.client
            .notify(
                notification_endpoint,
                access_token,
                notification_id,
                event,
                None,
            )
            .await
    }
}

/// The Credential Requests to make: with `credential_identifiers` in the token response,
/// one per identifier (§8.2: then `credential_identifier` is REQUIRED); otherwise one per
/// offered (or requested) configuration.
pub(crate) fn targets(
    configuration_ids: &[String],
    token: &TokenResponse,
    info: &IssuerInfo,
) -> Result<Vec<(String, Option<String>)>> {
    if token.authorization_details.is_empty() {
        return Ok(configuration_ids
            .iter()
            .map(|id| (id.clone(), None))
            .collect());
    }
    let mut out = Vec::new();
    for detail in &token.authorization_details {
        info.issuer
            .configuration(&detail.credential_configuration_id)?;
        for id in &detail.credential_identifiers {
            out.push((detail.credential_configuration_id.clone(), Some(id.clone())));
        }
    }
    Ok(out)
}
