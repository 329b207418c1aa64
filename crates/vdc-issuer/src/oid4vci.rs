//! The wallet-facing OID4VCI 1.0 endpoints as plain service methods: token (§6), nonce (§7),
//! credential (§8), deferred credential (§9) and notification (§11).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use vdc_core::jose::{AlgorithmPolicy, PublicKey, Signer};
use vdc_core::key_attestation::{KeyAttestation, KeyAttestationExpectations};
use vdc_core::key_proof::{self, ProofExpectations};
use vdc_core::sd_jwt_vc::{self, SdJwtVcClaims};
use vdc_core::time::UnixTime;
use vdc_core::vc_jose::{self, vcdm11};
use vdc_store::{
    AccessTokenRecord, CredentialStatus, DeferredOutcome, DeferredRecord, IssuedCredentialRecord,
    NonceUse, NotificationRecord, OfferRecord, SecretHash, StoreError,
};

use vdc_status::{BitstringStatusListEntry, StatusPurpose, StatusReference};
use vdc_store::events::EventKind;

use crate::authorization::dpop::{DpopTarget, PresentedToken, TokenScheme};
use crate::definition::{
    CredentialConfiguration, FORMAT_JWT_VC_JSON, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC,
    IssuerDefinition, VcdmVersion,
};
use crate::error::{DpopSite, IssuerError, Result};
use crate::metadata::PRE_AUTHORIZED_GRANT;
use crate::service::Issuer;

/// The `error_description` of a pre-authorized code locked by wrong `tx_code`s: retrying
/// cannot help, the holder needs a new offer.
const LOCKED: &str = "too many wrong transaction codes (tx_code): this offer is locked; \
                      ask the issuer for a new offer";

/// A status service failure during issuance: an outage stays an outage (503), anything
/// else is internal.
fn status_error(e: vdc_status::ServiceError) -> IssuerError {
    match e {
        vdc_status::ServiceError::Store(s) => IssuerError::Store(s),
        other => IssuerError::Internal(other.to_string()),
    }
}

/// The `credentialStatus` of a W3C credential: one `BitstringStatusListEntry` per purpose
/// (revocation and suspension) at the same index of the list's two bitstrings.
/// Spec: W3C Bitstring Status List v1.0 §2.1.
fn bitstring_entries(
    service: &vdc_status::StatusService,
    issuer_id: &str,
    entry: &vdc_store::StatusListEntry,
) -> Result<Value> {
    let mut entries = Vec::with_capacity(2);
    for purpose in [StatusPurpose::Revocation, StatusPurpose::Suspension] {
        let url = service.bitstring_uri(issuer_id, &entry.list_id, purpose);
        let value = BitstringStatusListEntry::new(purpose, entry.index, url.clone())
            .with_id(format!("{url}#{}", entry.index))
            .to_value()
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        entries.push(value);
    }
    Ok(Value::Array(entries))
}

/// Appends `key` unless it is already there (one credential per distinct key).
fn push_new(keys: &mut Vec<PublicKey>, key: PublicKey) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// Whether a verified key attestation meets the configuration's `key_attestations_required`
/// (OID4VCI 1.0 §12.2.4); the message says which list it failed.
fn meets_requirement(
    attestation: &KeyAttestation,
    required: Option<&crate::definition::KeyAttestationsRequired>,
) -> std::result::Result<(), String> {
    match required {
        None => Ok(()),
        Some(r) => attestation
            .meets(&r.key_storage, &r.user_authentication)
            .map_err(|e| e.to_string()),
    }
}

/// How many times a credential request signs again when its status indexes were taken
/// concurrently (each round picks new random indexes, so repeats are rare).
const ISSUE_ROUNDS: usize = 4;

pub use crate::tokens::{AccessToken, NotificationId, PreAuthorizedCode, TransactionId};

/// A token request (RFC 6749 §4.1.3 / OID4VCI 1.0 §6.1), read from the form. Members are
/// checked by [`Issuer::token`], in the order the errors are specified (the grant type,
/// then the code). `Debug` does not print the code or the `tx_code`.
#[derive(Clone, Default)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `pre-authorized_code` (OID4VCI 1.0 §6.1).
    pub pre_authorized_code: Option<PreAuthorizedCode>,
    /// `tx_code` (OID4VCI 1.0 §6.1).
    pub tx_code: Option<String>,
    /// `code` (RFC 6749 §4.1.3).
    pub code: Option<String>,
    /// `code_verifier` (RFC 7636 §4.5).
    pub code_verifier: Option<String>,
    /// `redirect_uri` (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// `client_id` (RFC 6749 §4.1.3, public clients).
    pub client_id: Option<String>,
    /// `refresh_token` (RFC 6749 §6).
    pub refresh_token: Option<String>,
}

impl TokenRequest {
    /// The token request of an `application/x-www-form-urlencoded` body; other parameters
    /// are ignored (RFC 6749 §3.2: unrecognized parameters MUST be ignored).
    pub fn from_form(mut form: HashMap<String, String>) -> Self {
        Self {
            grant_type: form.remove("grant_type"),
            pre_authorized_code: form
                .remove("pre-authorized_code")
                .map(PreAuthorizedCode::new),
            tx_code: form.remove("tx_code"),
            code: form.remove("code"),
            code_verifier: form.remove("code_verifier"),
            redirect_uri: form.remove("redirect_uri"),
            client_id: form.remove("client_id"),
            refresh_token: form.remove("refresh_token"),
        }
    }
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .finish_non_exhaustive()
    }
}

/// A successful token response (RFC 6749 §5.1, OID4VCI 1.0 §6.2). `Debug` hides the
/// tokens.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer` (RFC 6750) or `DPoP` (RFC 9449 §5).
    pub token_type: &'static str,
    /// The token's lifetime in seconds.
    pub expires_in: i64,
    /// A refresh token (authorization code flow; RFC 6749 §6), rotated on use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Present when the authorization request used `authorization_details` (OID4VCI 1.0
    /// §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_details: Option<Vec<crate::authorization::AuthorizationDetailsResponse>>,
    /// The scope granted, when the request named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A nonce response (OID4VCI 1.0 §7.2).
#[derive(Clone, Serialize)]
pub struct NonceResponse {
    /// A fresh `c_nonce` for key proofs.
    pub c_nonce: String,
}

impl std::fmt::Debug for NonceResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceResponse([redacted])")
    }
}

/// A credential offer (OID4VCI 1.0 §4.1.1), with the pre-authorized code grant or the
/// authorization code grant.
// `Debug` (below) does not print the code.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialOffer {
    /// The credential issuer identifier.
    pub credential_issuer: String,
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// The grants the wallet may use.
    pub grants: CredentialOfferGrants,
}

impl std::fmt::Debug for CredentialOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialOffer")
            .field("credential_issuer", &self.credential_issuer)
            .field(
                "credential_configuration_ids",
                &self.credential_configuration_ids,
            )
            .finish_non_exhaustive()
    }
}

/// The `grants` of a credential offer (OID4VCI 1.0 §4.1.1): exactly one of the two.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialOfferGrants {
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code`.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    /// `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
}

/// The authorization code grant of a credential offer (OID4VCI 1.0 §4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorizationCodeGrant {
    /// Ties the wallet's authorization request to this offer (single use; it pre-fills the
    /// configurations, it does not authorize).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
}

/// The pre-authorized code grant of a credential offer (OID4VCI 1.0 §4.1.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreAuthorizedCodeGrant {
    /// The code the wallet redeems at the token endpoint.
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// Present when the token request needs a transaction code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
}

/// The `tx_code` object of a credential offer (OID4VCI 1.0 §4.1.1): what the wallet asks
/// the user for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxCode {
    /// The number of characters.
    pub length: usize,
    /// `numeric` or `text`.
    #[schema(pattern = "^(numeric|text)$")]
    pub input_mode: String,
    /// Guidance for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One issued credential of a credential response (OID4VCI 1.0 §8.3: an object of
/// `credentials`).
#[derive(Clone, Serialize)]
pub struct IssuedCredential {
    /// The credential: an SD-JWT VC, or a W3C VC as `vc+jwt`.
    pub credential: String,
}

/// A credential response with the credentials issued (OID4VCI 1.0 §8.3; §9.2 for the
/// deferred endpoint). `Debug` does not print them.
#[derive(Clone, Serialize)]
pub struct CredentialResponse {
    /// The credentials, one per key proof.
    pub credentials: Vec<IssuedCredential>,
    /// The id the wallet names in its notification (§11).
    pub notification_id: NotificationId,
}

impl std::fmt::Debug for CredentialResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialResponse")
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

/// The answer (HTTP 202) of the credential endpoint for a deferred offer, and of the
/// deferred credential endpoint while the claims are not supplied yet (OID4VCI 1.0 §8.3,
/// §9.2): where and how often to ask again. `Debug` does not print the transaction id.
#[derive(Clone, Serialize)]
pub struct DeferredCredentialResponse {
    /// The id the wallet presents to the deferred credential endpoint.
    pub transaction_id: TransactionId,
    /// Seconds the wallet should wait before asking.
    pub interval: i64,
}

impl std::fmt::Debug for DeferredCredentialResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeferredCredentialResponse")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The credential request body (OID4VCI 1.0 §8.2). Unknown members are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialRequest {
    /// The configuration requested.
    #[serde(default)]
    pub credential_configuration_id: Option<String>,
    /// A credential identifier from the token response (we issue none).
    #[serde(default)]
    pub credential_identifier: Option<String>,
    /// `{"jwt": [...]}`.
    #[serde(default)]
    pub proofs: Option<Value>,
    /// The single `proof` of OID4VCI drafts 13 to 15 (`{"proof_type": "jwt", "jwt": ...}`),
    /// read as a one-element `proofs` (docs/INTEROP.md).
    #[serde(default)]
    pub proof: Option<Value>,
    /// Response encryption parameters (§8.2). Taken out of the request and checked by
    /// [`crate::encryption`] before [`Issuer::credential`] runs (which refuses one that
    /// reaches it: only the encryption layer may answer encrypted).
    #[serde(default)]
    pub credential_response_encryption: Option<Value>,
}

/// What the credential and deferred endpoints answer.
#[derive(Debug, Clone)]
pub enum CredentialOutcome {
    /// 200 with the credentials.
    Issued(CredentialResponse),
    /// 202: issuance is deferred.
    Deferred(DeferredCredentialResponse),
}

/// The deferred credential request body (§9.1).
#[derive(Debug, Clone, Deserialize)]
pub struct DeferredRequest {
    /// The transaction id from the credential response.
    #[serde(default)]
    pub transaction_id: Option<TransactionId>,
}

/// The notification request body (§11.1).
#[derive(Debug, Clone, Deserialize)]
pub struct NotificationRequest {
    /// The notification id from the credential response.
    #[serde(default)]
    pub notification_id: Option<NotificationId>,
    /// `credential_accepted`, `credential_failure` or `credential_deleted`.
    #[serde(default)]
    pub event: Option<String>,
}

impl Issuer {
    /// Token endpoint (OID4VCI 1.0 §6): the pre-authorized code grant, and with an identity
    /// provider the `authorization_code` and `refresh_token` grants. `dpop_proof`: the
    /// request's `DPoP` header (RFC 9449 §5), which binds the token.
    pub async fn token(
        &self,
        issuer_id: &str,
        mut request: TokenRequest,
        dpop_proof: Option<&str>,
        client_attestation: &crate::authorization::attestation::ClientAttestationHeaders,
    ) -> Result<TokenResponse> {
        let def = self.wallet_definition(issuer_id).await?;
        // Spec: HAIP 1.0 §4.4.1, draft-ietf-oauth-attestation-based-client-auth: the wallet
        // attestation authenticates the client, for every grant.
        let client_id = &mut request.client_id;
        let attested = self
            .authenticate_token_client(issuer_id, &def, client_id, client_attestation, dpop_proof)
            .await?;
        let grant = request
            .grant_type
            .clone()
            .ok_or_else(|| IssuerError::InvalidRequest("grant_type is required".into()))?;
        let flow = def.identity_provider.is_some() && self.authorization.is_some();
        match grant.as_str() {
            PRE_AUTHORIZED_GRANT => {}
            "authorization_code" if flow => {
                return self
                    .token_authorization_code(
                        issuer_id,
                        &def,
                        &request,
                        dpop_proof,
                        attested.as_deref(),
                    )
                    .await;
            }
            "refresh_token" if flow => {
                return self
                    .token_refresh(issuer_id, &def, &request, dpop_proof, attested.as_deref())
                    .await;
            }
            _ => return Err(IssuerError::UnsupportedGrantType),
        }
        let code = request
            .pre_authorized_code
            .filter(|c| !c.as_str().is_empty())
            .ok_or_else(|| IssuerError::InvalidRequest("pre-authorized_code is required".into()))?;
        let now = self.now();
        let code_hash = SecretHash::of(code.as_str());
        let max = self.settings.max_tx_code_failures;
        // A proof binds the token to its key (RFC 9449 §5); without one the token is Bearer
        // unless the issuer requires DPoP. Checked before the code is spent.
        let jkt = if self.authorization.is_some() {
            self.token_dpop(issuer_id, &def, dpop_proof, None).await?
        } else {
            None
        };
        let dpop = jkt.is_some();
        let (token, new) = self.new_access_token(jkt)?;
        let tx_code = request.tx_code;
        // A redemption without a tx_code is one write and no read: the store redeems only an
        // offer that needs none. A tx_code is checked against the offer first.
        let refund = match tx_code {
            None => false,
            Some(given) => {
                self.check_tx_code(issuer_id, &code_hash, &given, now, max)
                    .await?;
                true
            }
        };
        // G2: exactly one of N racing redemptions gets Some. A correct tx_code gives its
        // reserved attempt back in the same statement: it was not a failure. The event's
        // audit entry and webhook deliveries commit with the token.
        let outbox =
            |offer: &OfferRecord| self.outbox(&[self.token_event(issuer_id, &offer.offer_id)]);
        let Some(offer) = self
            .store
            .redeem_pre_authorized_code(issuer_id, &code_hash, now, max, &new, refund, &outbox)
            .await?
        else {
            // Why not: a live offer that wants a tx_code is invalid_request (§6.3), a locked
            // one or anything else invalid_grant.
            if !refund {
                let live = self
                    .store
                    .find_live_offer_by_code(issuer_id, &code_hash, now, max)
                    .await?;
                if live.is_some_and(|o| o.tx_code_hash.is_some()) {
                    return Err(IssuerError::InvalidRequest("tx_code is required".into()));
                }
            }
            return Err(self
                .dead_code_error(issuer_id, &code_hash, now, max)
                .await?);
        };
        tracing::info!(issuer = issuer_id, offer = %offer.offer_id, "access token issued");
        self.events
            .committed(&[self.token_event(issuer_id, &offer.offer_id)]);
        Ok(TokenResponse {
            access_token: token,
            token_type: if dpop { "DPoP" } else { "Bearer" },
            expires_in: self.settings.access_token_ttl,
            refresh_token: None,
            authorization_details: None,
            scope: None,
        })
    }

    /// The `offer.token_issued` event of an offer.
    pub(crate) fn token_event(
        &self,
        issuer_id: &str,
        offer_id: &str,
    ) -> vdc_store::events::DomainEvent {
        let mut data = serde_json::Map::new();
        data.insert("offer_id".into(), json!(offer_id));
        self.event(
            EventKind::OfferTokenIssued,
            issuer_id,
            offer_id,
            "token_issued",
            data,
        )
    }

    /// Why a pre-authorized code redeems nothing: locked by wrong `tx_code`s (still
    /// `offered`, unexpired, but out of attempts) or invalid, expired or used. Both are
    /// `invalid_grant` (OID4VCI 1.0 §6.3); the description tells the holder whether
    /// retrying can help.
    async fn dead_code_error(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        max: u32,
    ) -> Result<IssuerError> {
        // With no failure limit the lookup finds a live offer however many attempts failed.
        let locked = self
            .store
            .find_live_offer_by_code(issuer_id, code_hash, now, u32::MAX)
            .await?
            .is_some_and(|o| o.tx_code_hash.is_some() && o.tx_code_failures >= max);
        Ok(IssuerError::InvalidGrant(
            if locked {
                LOCKED
            } else {
                "the pre-authorized code is invalid, expired or used"
            }
            .into(),
        ))
    }

    /// Checks a presented `tx_code` against the live offer of `code_hash` (Spec: OID4VCI 1.0
    /// §6.3: an offer without one is invalid_request, a wrong one invalid_grant), holding a
    /// reserved attempt that the redemption gives back.
    async fn check_tx_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        given: &str,
        now: UnixTime,
        max: u32,
    ) -> Result<()> {
        let Some(offer) = self
            .store
            .find_live_offer_by_code(issuer_id, code_hash, now, max)
            .await?
        else {
            return Err(self.dead_code_error(issuer_id, code_hash, now, max).await?);
        };
        let Some(expected) = &offer.tx_code_hash else {
            return Err(IssuerError::InvalidRequest(
                "this offer has no tx_code".into(),
            ));
        };
        // Reserve the attempt before comparing: N concurrent guesses still get at most `max`
        // comparisons in total (G2). A request that finds no attempt left (the code is dead,
        // or concurrent attempts hold them all) is refused without a comparison.
        if self
            .store
            .reserve_tx_code_attempt(issuer_id, &offer.offer_id, max)
            .await?
            .is_none()
        {
            return Err(IssuerError::InvalidGrant(LOCKED.into()));
        }
        // Constant-time comparison of the hashes (no timing oracle on the code).
        if !vdc_core::ct::eq(expected.as_bytes(), SecretHash::of(given).as_bytes()) {
            // No offer id here: it is a capability (G10).
            tracing::info!(issuer = issuer_id, "wrong tx_code");
            return Err(IssuerError::InvalidGrant("the tx_code is wrong".into()));
        }
        Ok(())
    }

    /// Nonce endpoint (§7): a fresh, single-use `c_nonce`, sealed ([`crate::nonce`]): no
    /// write here; the issuance transaction records its one use.
    /// A DPoP proof, when the wallet sends one, is checked like at the other resources.
    pub async fn nonce(&self, issuer_id: &str, dpop_proof: Option<&str>) -> Result<NonceResponse> {
        self.wallet_definition(issuer_id).await?;
        if let Some(proof) = dpop_proof {
            let target = DpopTarget {
                site: DpopSite::Resource,
                path: "/nonce",
                method: "POST",
            };
            self.check_dpop(issuer_id, proof, target, None, None)
                .await?;
        }
        let mut random = [0u8; 16];
        self.rng
            .fill(&mut random)
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        let expires = self.now().plus(self.settings.c_nonce_ttl);
        let nonce = crate::nonce::seal(
            self.keys.kek(),
            crate::nonce::Purpose::CNonce,
            issuer_id,
            expires,
            random,
        );
        Ok(NonceResponse { c_nonce: nonce })
    }

    /// The use of a proof's `c_nonce`, if this issuer made it and it is unexpired (Spec:
    /// OID4VCI 1.0 §8.3.1.2: otherwise `invalid_nonce`).
    fn nonce_use(&self, issuer_id: &str, nonce: &str) -> Result<NonceUse> {
        let expires_at = crate::nonce::open(
            self.keys.kek(),
            crate::nonce::Purpose::CNonce,
            issuer_id,
            nonce,
            self.now(),
        )
        .ok_or(IssuerError::InvalidNonce)?;
        Ok(NonceUse {
            hash: SecretHash::of(nonce),
            expires_at,
        })
    }

    /// The access token's record and its offer, in one read; a DPoP-bound token needs the
    /// `DPoP` scheme and a proof by its key for this endpoint (RFC 9449 §7.1), a Bearer
    /// token the `Bearer` scheme.
    async fn resource_access(
        &self,
        issuer_id: &str,
        presented: &PresentedToken,
        path: &str,
    ) -> Result<(AccessTokenRecord, OfferRecord)> {
        let token = presented.token.as_str();
        let (access, offer) = self
            .store
            .find_token_offer(issuer_id, &SecretHash::of(token), self.now())
            .await?
            .ok_or_else(|| {
                IssuerError::InvalidToken("the access token is invalid or expired".into())
            })?;
        match (&access.dpop_jkt, presented.scheme) {
            (Some(jkt), TokenScheme::Dpop) => {
                let proof =
                    presented
                        .proof
                        .as_deref()
                        .ok_or_else(|| IssuerError::InvalidDpopProof {
                            site: DpopSite::Resource,
                            message: "a DPoP proof is required with a DPoP-bound token".into(),
                        })?;
                let target = DpopTarget {
                    site: DpopSite::Resource,
                    path,
                    method: "POST",
                };
                self.check_dpop(issuer_id, proof, target, Some(token), Some(jkt))
                    .await?;
            }
            (Some(_), TokenScheme::Bearer) => {
                return Err(IssuerError::InvalidToken(
                    "this access token is DPoP-bound: present it with the DPoP scheme and a proof"
                        .into(),
                ));
            }
            (None, TokenScheme::Dpop) => {
                return Err(IssuerError::InvalidToken(
                    "this access token is a Bearer token".into(),
                ));
            }
            (None, TokenScheme::Bearer) => {}
        }
        Ok((access, offer))
    }

    /// Credential endpoint (§8).
    pub async fn credential(
        &self,
        issuer_id: &str,
        token: &PresentedToken,
        req: CredentialRequest,
    ) -> Result<CredentialOutcome> {
        let def = self.wallet_definition(issuer_id).await?;
        let (access, offer) = self
            .resource_access(issuer_id, token, "/credential")
            .await?;
        if req.credential_response_encryption.is_some() {
            return Err(IssuerError::InvalidCredentialRequest(
                "credential response encryption is not supported".into(),
            ));
        }
        // Spec: §8.2: credential_identifier when the token response returned
        // authorization_details (our identifiers are the configuration ids), else
        // credential_configuration_id; never both.
        let config_id = match (&req.credential_configuration_id, &req.credential_identifier) {
            (Some(_), None) if access.authorization_details => {
                return Err(IssuerError::InvalidCredentialRequest(
                    "this token came with authorization_details: name a credential_identifier"
                        .into(),
                ));
            }
            (Some(id), None) => id.clone(),
            (None, Some(id)) if access.authorization_details => {
                if !access.credential_configuration_ids.contains(id) {
                    return Err(IssuerError::UnknownCredentialIdentifier);
                }
                id.clone()
            }
            (None, Some(_)) => return Err(IssuerError::UnknownCredentialIdentifier),
            _ => {
                return Err(IssuerError::InvalidCredentialRequest(
                    "exactly one of credential_configuration_id and credential_identifier is required".into(),
                ));
            }
        };
        let config = def
            .credential_configurations
            .get(&config_id)
            .ok_or(IssuerError::UnknownCredentialConfiguration)?;
        if !access.credential_configuration_ids.contains(&config_id) {
            return Err(IssuerError::UnknownCredentialConfiguration);
        }
        let proofs = self.proofs_of(&req)?;
        let (holder_keys, nonce) = self.check_proofs(issuer_id, &def, config, proofs.as_ref())?;
        let nonce = self.nonce_use(issuer_id, &nonce)?;
        let now = self.now();
        // A deferred offer always answers 202; the credential is issued at the deferred
        // endpoint once the back end has supplied the claims.
        let claims = (!offer.deferred)
            .then(|| {
                offer
                    .claims
                    .as_ref()
                    .and_then(|c| c.get(&config_id))
                    .cloned()
            })
            .flatten();
        let Some(claims) = claims else {
            let transaction_id = self.random_b64(32)?;
            let record = DeferredRecord {
                issuer_id: issuer_id.to_owned(),
                transaction_id_hash: SecretHash::of(&transaction_id),
                offer_id: offer.offer_id.clone(),
                credential_configuration_id: config_id.clone(),
                holder_keys: Value::Array(
                    holder_keys
                        .iter()
                        .map(|k| Value::Object(k.to_jwk_members()))
                        .collect(),
                ),
                created_at: now,
                expires_at: now.plus(self.settings.deferred_ttl),
            };
            if !self
                .store
                .defer_issuance(issuer_id, &nonce, now, &record)
                .await?
            {
                return Err(IssuerError::InvalidNonce);
            }
            return Ok(CredentialOutcome::Deferred(DeferredCredentialResponse {
                transaction_id: TransactionId::new(transaction_id),
                // The claims endpoint's retry_after, when it deferred this configuration.
                interval: self.deferral_interval(offer.claims.as_ref(), &config_id),
            }));
        };
        let max_credentials = self.offer_credential_limit(&def, &offer);
        let mut round = 0;
        let (credentials, records, notification_id) = loop {
            round += 1;
            let (credentials, records) = self
                .sign_credentials(
                    issuer_id,
                    &offer.offer_id,
                    &config_id,
                    config,
                    &claims,
                    &holder_keys,
                )
                .await?;
            let (notification_id, notification) =
                self.new_notification(issuer_id, &offer.offer_id)?;
            let events = self.issued_events(issuer_id, &records);
            // G1/G2/R1: one transaction consumes the nonce, counts the credentials against
            // the offer's limit, allocates their status entries and stores the records and
            // their events' outbox, before anything is sent; if any of it fails, nothing is
            // stored or sent.
            let issued = self
                .store
                .issue_credentials(
                    issuer_id,
                    &nonce,
                    now,
                    &offer.offer_id,
                    &records,
                    Some(&notification),
                    max_credentials,
                    &self.outbox(&events),
                )
                .await;
            match self.issuance_result(issuer_id, issued, round)? {
                Some(true) => {
                    self.events.committed(&events);
                    break (credentials, records, notification_id);
                }
                Some(false) => return Err(IssuerError::InvalidNonce),
                // A concurrent issuance took a picked status index: sign with fresh ones.
                None => continue,
            }
        };
        tracing::info!(issuer = issuer_id, offer = %offer.offer_id, count = records.len(), "credentials issued");
        self.metrics
            .credentials_issued(u64::try_from(records.len()).unwrap_or(u64::MAX));
        Ok(CredentialOutcome::Issued(CredentialResponse {
            credentials,
            notification_id: NotificationId::new(notification_id),
        }))
    }

    /// The request's `proofs`; a draft 13–15 singular `proof` (`{"proof_type": "jwt",
    /// "jwt": "..."}`) becomes a one-element `proofs` and is counted (docs/INTEROP.md).
    fn proofs_of(&self, req: &CredentialRequest) -> Result<Option<Value>> {
        match (&req.proofs, &req.proof) {
            (Some(_), Some(_)) => Err(IssuerError::InvalidCredentialRequest(
                "send proofs or proof, not both".into(),
            )),
            (p, None) => Ok(p.clone()),
            (None, Some(single)) => {
                let obj = single
                    .as_object()
                    .ok_or_else(|| IssuerError::InvalidProof("proof must be an object".into()))?;
                if obj.get("proof_type").and_then(Value::as_str) != Some("jwt") {
                    return Err(IssuerError::InvalidProof(
                        "only the jwt proof type is supported".into(),
                    ));
                }
                let jwt = obj.get("jwt").filter(|j| j.is_string()).ok_or_else(|| {
                    IssuerError::InvalidProof("proof.jwt must be a string".into())
                })?;
                if let Some(extra) = obj.keys().find(|k| *k != "proof_type" && *k != "jwt") {
                    return Err(IssuerError::InvalidProof(format!(
                        "unsupported proof member {extra}"
                    )));
                }
                self.metrics.legacy_proof();
                Ok(Some(json!({"jwt": [jwt]})))
            }
        }
    }

    /// How many credentials one offer may yield: `batch_size` per offered configuration (one
    /// full batch each), so an access token cannot mint credentials without bound.
    fn offer_credential_limit(&self, def: &IssuerDefinition, offer: &OfferRecord) -> u32 {
        let per_configuration = u32::try_from(def.batch_size()).unwrap_or(u32::MAX);
        let configurations = u32::try_from(offer.credential_configuration_ids.len()).unwrap_or(1);
        per_configuration.saturating_mul(configurations.max(1))
    }

    /// What an issuance transaction's result means: `Some(value)` to answer with, `None` to
    /// sign again with fresh status indexes (a concurrent issuance took one, or another
    /// instance sealed the list), at most [`ISSUE_ROUNDS`] times.
    fn issuance_result<T>(
        &self,
        issuer_id: &str,
        result: std::result::Result<T, StoreError>,
        round: usize,
    ) -> Result<Option<T>> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(StoreError::Exhausted(_)) => Err(IssuerError::CredentialRequestDenied(
                "this offer has yielded every credential it may".into(),
            )),
            Err(
                StoreError::Duplicate("status list entry")
                | StoreError::NotFound("status list entry"),
            ) if round < ISSUE_ROUNDS => {
                if let Some(status) = &self.status {
                    status.forget_open_list(issuer_id);
                }
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One `credential.issued` event per credential: ids, configuration and status entry,
    /// never claims.
    fn issued_events(
        &self,
        issuer_id: &str,
        records: &[IssuedCredentialRecord],
    ) -> Vec<vdc_store::events::DomainEvent> {
        records
            .iter()
            .map(|r| {
                let mut data = Map::new();
                data.insert("credential_id".into(), json!(r.credential_id));
                data.insert("offer_id".into(), json!(r.offer_id));
                data.insert(
                    "credential_configuration_id".into(),
                    json!(r.credential_configuration_id),
                );
                data.insert("status".into(), json!(r.status.as_str()));
                self.event(
                    EventKind::CredentialIssued,
                    issuer_id,
                    &r.credential_id,
                    "issued",
                    data,
                )
            })
            .collect()
    }

    /// Checks the request's `proofs` (OID4VCI 1.0 §8.2): exactly one proof type, `jwt`
    /// (Appendix F.1) or `attestation` (F.3). Answers the keys to bind, one credential each,
    /// and the one `c_nonce` they share, which the caller consumes in the issuance
    /// transaction (single use, G2) whichever proof type carried it.
    fn check_proofs(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        config: &CredentialConfiguration,
        proofs: Option<&Value>,
    ) -> Result<(Vec<PublicKey>, String)> {
        let proofs = proofs
            .and_then(Value::as_object)
            .ok_or_else(|| IssuerError::InvalidProof("proofs is required".into()))?;
        // Spec: §8.2: "The proofs parameter contains exactly one parameter named as the proof
        // type".
        let (proof_type, values) = match proofs.iter().next() {
            Some(only) if proofs.len() == 1 => only,
            _ => {
                return Err(IssuerError::InvalidProof(
                    "proofs must contain exactly one proof type".into(),
                ));
            }
        };
        let values = values.as_array().ok_or_else(|| {
            IssuerError::InvalidProof(format!("proofs.{proof_type} must be an array"))
        })?;
        if values.is_empty() {
            return Err(IssuerError::InvalidProof(format!(
                "proofs.{proof_type} must not be empty"
            )));
        }
        let anchors = if def.key_attestation_trust_anchors.is_empty() {
            None
        } else {
            Some(crate::definition::trust_anchors(
                &def.key_attestation_trust_anchors,
            )?)
        };
        let (keys, nonce) = match proof_type.as_str() {
            "jwt" => self.check_jwt_proofs(issuer_id, def, config, anchors.as_ref(), values)?,
            "attestation" => self.check_attestation_proof(config, anchors.as_ref(), values)?,
            _ => {
                return Err(IssuerError::InvalidProof(
                    "unsupported proof type: jwt and attestation are supported".into(),
                ));
            }
        };
        if keys.len() > def.batch_size() {
            return Err(IssuerError::InvalidCredentialRequest(format!(
                "at most {} keys per request (batch_size)",
                def.batch_size()
            )));
        }
        Ok((keys, nonce))
    }

    /// The `key_attestation` checks every proof type shares: the anchors and the clock.
    fn key_attestation_expectations<'a>(
        &self,
        anchors: &'a vdc_core::x509::TrustAnchors,
        policy: &'a AlgorithmPolicy,
    ) -> KeyAttestationExpectations<'a> {
        KeyAttestationExpectations {
            anchors,
            policy,
            now: self.now(),
            skew: self.settings.skew,
            require_exp: false,
        }
    }

    /// Checks the `jwt` proofs (Appendix F.1): at most `batch_size`, all valid, all with the
    /// same fresh `c_nonce`, distinct keys. When the configuration requires key attestations,
    /// each proof carries one in `key_attestation` that meets the requirement; an evaluated
    /// attestation must carry the proof's `c_nonce`, and each of its `attested_keys` gets a
    /// credential (Spec: F.1: the issuer "SHOULD issue a Credential for each cryptographic
    /// public key specified in the attested_keys claim").
    fn check_jwt_proofs(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        config: &CredentialConfiguration,
        anchors: Option<&vdc_core::x509::TrustAnchors>,
        jwts: &[Value],
    ) -> Result<(Vec<PublicKey>, String)> {
        if jwts.len() > def.batch_size() {
            return Err(IssuerError::InvalidCredentialRequest(format!(
                "at most {} proofs per request (batch_size)",
                def.batch_size()
            )));
        }
        // Spec: F.1: the alg of the proof and of key_attestation must be among the jwt proof
        // type's proof_signing_alg_values_supported.
        let policy = AlgorithmPolicy::default();
        let audience = self.issuer_url(issuer_id);
        let expect = ProofExpectations {
            policy: &policy,
            audience: &audience,
            now: self.now(),
            max_age_secs: self.settings.proof_max_age,
            skew: self.settings.skew,
        };
        let ka_expect = anchors.map(|a| self.key_attestation_expectations(a, &policy));
        let mut proof_keys: Vec<PublicKey> = Vec::with_capacity(jwts.len());
        let mut keys: Vec<PublicKey> = Vec::with_capacity(jwts.len());
        let mut nonce: Option<String> = None;
        for (i, jwt) in jwts.iter().enumerate() {
            let jwt = jwt
                .as_str()
                .ok_or_else(|| IssuerError::InvalidProof(format!("proof {i} is not a string")))?;
            let proof = key_proof::verify_with_key_attestation(jwt, &expect, ka_expect.as_ref())
                .map_err(|e| IssuerError::InvalidProof(format!("proof {i}: {e}")))?;
            // Spec: §8.3.1.2: a proof without c_nonce is invalid_proof; a wrong one
            // invalid_nonce.
            let n = proof
                .nonce
                .ok_or_else(|| IssuerError::InvalidProof(format!("proof {i} has no nonce")))?;
            match &nonce {
                None => nonce = Some(n.clone()),
                Some(first) if *first == n => {}
                Some(_) => return Err(IssuerError::InvalidNonce),
            }
            if proof_keys.contains(&proof.holder_key) {
                return Err(IssuerError::InvalidProof(
                    "each proof must be for a different key".into(),
                ));
            }
            proof_keys.push(proof.holder_key.clone());
            match (&proof.key_attestation, &config.key_attestations_required) {
                (None, Some(_)) => {
                    return Err(IssuerError::InvalidProof(format!(
                        "proof {i}: this credential configuration requires a key attestation \
                         (key_attestation header)"
                    )));
                }
                (None, None) => push_new(&mut keys, proof.holder_key),
                (Some(attestation), required) => {
                    meets_requirement(attestation, required.as_ref())
                        .map_err(|m| IssuerError::InvalidProof(format!("proof {i}: {m}")))?;
                    // Spec: F.1: "the nonce claim in the key attestation MUST be set to a
                    // server-provided c_nonce": the proof's, so that one use consumes both.
                    match attestation.nonce.as_deref() {
                        None => {
                            return Err(IssuerError::InvalidProof(format!(
                                "proof {i}: the key attestation has no nonce (c_nonce)"
                            )));
                        }
                        Some(ka_nonce) if ka_nonce != n => return Err(IssuerError::InvalidNonce),
                        Some(_) => {}
                    }
                    for k in &attestation.attested_keys {
                        push_new(&mut keys, k.clone());
                    }
                }
            }
        }
        let nonce = nonce.ok_or_else(|| IssuerError::InvalidProof("no proof".into()))?;
        Ok((keys, nonce))
    }

    /// Checks an `attestation` proof (Appendix F.3): exactly one key attestation, trusted
    /// (this issuer has key attestation anchors), signed with ES256 (the algorithm the
    /// metadata lists for it), meeting the configuration's requirement, with a `nonce`.
    /// Every attested key gets a credential.
    fn check_attestation_proof(
        &self,
        config: &CredentialConfiguration,
        anchors: Option<&vdc_core::x509::TrustAnchors>,
        values: &[Value],
    ) -> Result<(Vec<PublicKey>, String)> {
        let anchors = anchors.ok_or_else(|| {
            IssuerError::InvalidProof(
                "this issuer accepts no key attestations: the attestation proof type is not supported"
                    .into(),
            )
        })?;
        // Spec: F: "an array that contains exactly one JWT".
        let [value] = values else {
            return Err(IssuerError::InvalidProof(
                "proofs.attestation must contain exactly one key attestation".into(),
            ));
        };
        let jwt = value.as_str().ok_or_else(|| {
            IssuerError::InvalidProof("proofs.attestation[0] is not a string".into())
        })?;
        let policy = AlgorithmPolicy::only(&[vdc_core::jose::Algorithm::Es256]);
        let expect = self.key_attestation_expectations(anchors, &policy);
        let verified = key_proof::verify_attestation_proof(jwt, &expect)
            .map_err(|e| IssuerError::InvalidProof(format!("attestation: {e}")))?;
        meets_requirement(
            &verified.attestation,
            config.key_attestations_required.as_ref(),
        )
        .map_err(|m| IssuerError::InvalidProof(format!("attestation: {m}")))?;
        Ok((verified.attestation.attested_keys, verified.nonce))
    }

    fn new_notification(
        &self,
        issuer_id: &str,
        offer_id: &str,
    ) -> Result<(String, NotificationRecord)> {
        let id = self.random_b64(16)?;
        let record = NotificationRecord {
            issuer_id: issuer_id.to_owned(),
            notification_id_hash: SecretHash::of(&id),
            offer_id: offer_id.to_owned(),
            expires_at: self.now().plus(self.settings.notification_ttl),
        };
        Ok((id, record))
    }

    /// Signs one credential per holder key and builds their durable records.
    async fn sign_credentials(
        &self,
        issuer_id: &str,
        offer_id: &str,
        config_id: &str,
        config: &CredentialConfiguration,
        claims: &Value,
        holder_keys: &[PublicKey],
    ) -> Result<(Vec<IssuedCredential>, Vec<IssuedCredentialRecord>)> {
        let signer = self.signer(issuer_id).await?;
        // mdocs are signed by the same key with its Document Signer certificate as x5chain.
        let mdoc_signer = if config.format == FORMAT_MSO_MDOC {
            let def = self.wallet_definition(issuer_id).await?;
            Some(self.mdoc_signer(&def, issuer_id).await?)
        } else {
            None
        };
        let now = self.now();
        let exp = now.plus(config.lifetime());
        let mut credentials = Vec::with_capacity(holder_keys.len());
        let mut records = Vec::with_capacity(holder_keys.len());
        // R1, G9: free indexes are picked (nothing written) and signed in; the issuance
        // transaction allocates them for these credentials, so a refused request leaves no
        // entry, and no credential claims an index another one holds.
        let mut entries = match &self.status {
            Some(status) => status
                .pick(issuer_id, holder_keys.len())
                .await
                .map_err(status_error)?
                .into_iter()
                .map(Some)
                .collect::<Vec<_>>(),
            None => vec![None; holder_keys.len()],
        }
        .into_iter();
        for key in holder_keys {
            let entry = entries.next().flatten();
            let status = entry.as_ref().map(|e| (e, self.status.as_ref()));
            let credential = match config.format.as_str() {
                FORMAT_SD_JWT_VC => {
                    let status_claim = match status {
                        Some((e, Some(service))) => Some(
                            StatusReference::new(e.index, service.list_uri(issuer_id, &e.list_id))
                                .map_err(|e| IssuerError::Internal(e.to_string()))?
                                .to_status_claim(),
                        ),
                        _ => None,
                    };
                    self.sd_jwt_vc(
                        issuer_id,
                        config,
                        claims,
                        key,
                        (now, exp),
                        status_claim,
                        signer.as_ref(),
                    )
                    .await?
                }
                FORMAT_JWT_VC_JSON => {
                    let credential_status = match status {
                        Some((e, Some(service))) => Some(bitstring_entries(service, issuer_id, e)?),
                        _ => None,
                    };
                    self.w3c_vc(
                        issuer_id,
                        config,
                        claims,
                        key,
                        (now, exp),
                        credential_status,
                        signer.as_ref(),
                    )
                    .await?
                }
                FORMAT_MSO_MDOC => {
                    // Spec: draft-ietf-oauth-status-list §6.3: the MSO's `status.status_list`
                    // references the same list (served as a CWT on request).
                    let status_ref = match status {
                        Some((e, Some(service))) => Some(vdc_core::mdoc::StatusRef {
                            idx: e.index,
                            uri: service.list_uri(issuer_id, &e.list_id),
                        }),
                        _ => None,
                    };
                    let signer = mdoc_signer.as_ref().ok_or_else(|| {
                        IssuerError::Internal("no mdoc signer for an mso_mdoc configuration".into())
                    })?;
                    self.mdoc(config, claims, key, (now, exp), status_ref, signer)
                        .await?
                }
                other => return Err(IssuerError::Internal(format!("unsupported format {other}"))),
            };
            credentials.push(IssuedCredential { credential });
            records.push(IssuedCredentialRecord {
                issuer_id: issuer_id.to_owned(),
                credential_id: self.random_b64(16)?,
                offer_id: offer_id.to_owned(),
                credential_configuration_id: config_id.to_owned(),
                holder_key_thumbprint: Some(key.thumbprint()),
                status_list: entry,
                status: CredentialStatus::Valid,
                issued_at: now,
                expires_at: Some(exp),
            });
        }
        Ok((credentials, records))
    }

    #[allow(clippy::too_many_arguments)]
    async fn sd_jwt_vc(
        &self,
        issuer_id: &str,
        config: &CredentialConfiguration,
        claims: &Value,
        holder: &PublicKey,
        (now, exp): (UnixTime, UnixTime),
        status: Option<Value>,
        signer: &dyn Signer,
    ) -> Result<String> {
        let vc = SdJwtVcClaims {
            iss: Some(self.issuer_url(issuer_id)),
            vct: config.vct.clone().unwrap_or_default(),
            iat: Some(now),
            nbf: None,
            exp: Some(exp),
            holder_key: Some(holder.clone()),
            // Spec: draft-ietf-oauth-status-list §6.2: `status.status_list {idx, uri}`.
            status,
            claims: claims.as_object().cloned().unwrap_or_default(),
        };
        let issued = sd_jwt_vc::issue(&vc, &config.frame()?, signer, self.rng.as_ref()).await?;
        Ok(issued.compact)
    }

    /// An mdoc (OID4VCI 1.0 A.2.4): the offer's `{namespace: {element: value}}` as
    /// `IssuerSignedItem`s, the proof's key as `deviceKey`, valid from now until `exp`; the
    /// credential is the base64url of the CBOR `IssuerSigned`.
    async fn mdoc(
        &self,
        config: &CredentialConfiguration,
        claims: &Value,
        holder: &PublicKey,
        (now, exp): (UnixTime, UnixTime),
        status: Option<vdc_core::mdoc::StatusRef>,
        signer: &dyn Signer,
    ) -> Result<String> {
        let doc_type = config.doctype.as_deref().ok_or_else(|| {
            IssuerError::Internal("mso_mdoc configuration without doctype".into())
        })?;
        // The claims were checked when they were stored; checked again because a `PATCH`
        // may have changed the configuration since, and an empty or flat claims object
        // would make an mdoc without items (ISO 18013-5 §8.3.2.1.2.2 needs at least one).
        config.check_claims("the offer", claims).map_err(|e| {
            IssuerError::Internal(format!("stored claims do not fit the configuration: {e}"))
        })?;
        let mut namespaces = std::collections::BTreeMap::new();
        for (ns, elements) in claims.as_object().into_iter().flatten() {
            let items: Vec<(String, vdc_core::mdoc::Value)> = elements
                .as_object()
                .into_iter()
                .flatten()
                .map(|(element, value)| (element.clone(), vdc_core::mdoc::cbor::from_json(value)))
                .collect();
            namespaces.insert(ns.clone(), items);
        }
        let input = vdc_core::mdoc::MdocToIssue {
            doc_type,
            namespaces: &namespaces,
            device_key: holder,
            validity: vdc_core::mdoc::ValidityInfo {
                signed: now,
                valid_from: now,
                valid_until: exp,
            },
            status,
        };
        let issued = vdc_core::mdoc::issue(&input, signer, self.rng.as_ref()).await?;
        Ok(vdc_core::base64url::encode(issued.to_cbor()))
    }

    #[allow(clippy::too_many_arguments)]
    async fn w3c_vc(
        &self,
        issuer_id: &str,
        config: &CredentialConfiguration,
        claims: &Value,
        holder: &PublicKey,
        (now, exp): (UnixTime, UnixTime),
        credential_status: Option<Value>,
        signer: &dyn Signer,
    ) -> Result<String> {
        let types = config
            .credential_definition
            .as_ref()
            .and_then(|d| d.get("type"))
            .cloned()
            .unwrap_or_else(|| json!(["VerifiableCredential"]));
        let mut subject: Map<String, Value> = claims.as_object().cloned().unwrap_or_default();
        // Holder binding for jwt_vc_json: the subject is the holder's did:jwk.
        subject.insert("id".into(), vdc_core::did::did_jwk_from(holder).into());
        let v11 = config.vcdm == Some(VcdmVersion::V1_1);
        let (context, from, until) = if v11 {
            // Spec: VCDM 1.1 §4.1, §4.6, §4.7.
            (
                vcdm11::CREDENTIALS_V1_CONTEXT,
                "issuanceDate",
                "expirationDate",
            )
        } else {
            // Spec: VCDM 2.0 §4.3, §4.9.
            (vc_jose::CREDENTIALS_V2_CONTEXT, "validFrom", "validUntil")
        };
        let mut vc = Map::new();
        vc.insert("@context".into(), json!([context]));
        vc.insert("type".into(), types);
        vc.insert("issuer".into(), self.issuer_url(issuer_id).into());
        vc.insert(from.into(), vc_jose::format_date_time_stamp(now).into());
        vc.insert(until.into(), vc_jose::format_date_time_stamp(exp).into());
        vc.insert("credentialSubject".into(), Value::Object(subject));
        if let Some(status) = credential_status {
            vc.insert("credentialStatus".into(), status);
        }
        if v11 {
            // `iat` beside the derived `nbf`/`exp`: when it was signed (RFC 7519 §4.1.6).
            let mut extra = Map::new();
            extra.insert("iat".into(), now.secs().into());
            return Ok(vcdm11::issue_vc_jwt_v11(&vc, &extra, signer).await?);
        }
        Ok(vc_jose::issue_vc_jwt(&vc, signer).await?)
    }

    /// Deferred credential endpoint (§9).
    pub async fn deferred_credential(
        &self,
        issuer_id: &str,
        token: &PresentedToken,
        req: DeferredRequest,
    ) -> Result<CredentialOutcome> {
        let def = self.wallet_definition(issuer_id).await?;
        let (access, offer) = self
            .resource_access(issuer_id, token, "/deferred_credential")
            .await?;
        let transaction_id = req
            .transaction_id
            .filter(|t| !t.as_str().is_empty())
            .ok_or_else(|| {
                IssuerError::InvalidCredentialRequest("transaction_id is required".into())
            })?;
        let tx_hash = SecretHash::of(transaction_id.as_str());
        let now = self.now();
        let deferred = self
            .store
            .get_deferred(issuer_id, &tx_hash, now)
            .await?
            .filter(|d| d.offer_id == access.offer_id)
            .ok_or(IssuerError::InvalidTransactionId)?;
        let pending = || {
            CredentialOutcome::Deferred(DeferredCredentialResponse {
                transaction_id: transaction_id.clone(),
                interval: self.settings.deferred_interval,
            })
        };
        let config_id = &deferred.credential_configuration_id;
        let claims = match offer.claims.as_ref().and_then(|c| c.get(config_id)) {
            Some(c) => c.clone(),
            // A login whose back end deferred the claims: ask it again (once its
            // retry_after has passed).
            None if def.claims_endpoint.is_some() => match self
                .deferred_claims(&def, &offer.offer_id, offer.claims.as_ref(), config_id)
                .await?
            {
                crate::authorization::claims::DeferredClaims::Ready(c) => c,
                crate::authorization::claims::DeferredClaims::Pending(interval) => {
                    return Ok(CredentialOutcome::Deferred(DeferredCredentialResponse {
                        transaction_id: transaction_id.clone(),
                        interval,
                    }));
                }
            },
            None => return Ok(pending()),
        };
        let config = def
            .credential_configurations
            .get(&deferred.credential_configuration_id)
            .ok_or(IssuerError::UnknownCredentialConfiguration)?;
        let keys = deferred
            .holder_keys
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|k| vdc_core::jose::Jwk::from_value(k).map(|j| j.key))
                    .collect::<vdc_core::Result<Vec<_>>>()
            })
            .transpose()?
            .unwrap_or_default();
        let max_credentials = self.offer_credential_limit(&def, &offer);
        let mut round = 0;
        loop {
            round += 1;
            let (credentials, records) = self
                .sign_credentials(
                    issuer_id,
                    &offer.offer_id,
                    &deferred.credential_configuration_id,
                    config,
                    &claims,
                    &keys,
                )
                .await?;
            let (notification_id, notification) =
                self.new_notification(issuer_id, &offer.offer_id)?;
            let events = self.issued_events(issuer_id, &records);
            let redeemed = self
                .store
                .redeem_deferred(
                    issuer_id,
                    &tx_hash,
                    now,
                    &records,
                    Some(&notification),
                    max_credentials,
                    &self.outbox(&events),
                )
                .await;
            let Some(outcome) = self.issuance_result(issuer_id, redeemed, round)? else {
                continue;
            };
            return match outcome {
                DeferredOutcome::Issued => {
                    self.metrics
                        .credentials_issued(u64::try_from(records.len()).unwrap_or(u64::MAX));
                    self.events.committed(&events);
                    Ok(CredentialOutcome::Issued(CredentialResponse {
                        credentials,
                        notification_id: NotificationId::new(notification_id),
                    }))
                }
                DeferredOutcome::Pending => Ok(pending()),
                DeferredOutcome::Unknown => Err(IssuerError::InvalidTransactionId),
            };
        }
    }

    /// Notification endpoint (§11).
    pub async fn notification(
        &self,
        issuer_id: &str,
        token: &PresentedToken,
        req: NotificationRequest,
    ) -> Result<()> {
        self.wallet_definition(issuer_id).await?;
        let (access, _) = self
            .resource_access(issuer_id, token, "/notification")
            .await?;
        let id = req
            .notification_id
            .filter(|n| !n.as_str().is_empty())
            .ok_or_else(|| {
                IssuerError::InvalidNotificationRequest("notification_id is required".into())
            })?;
        let event = req
            .event
            .filter(|e| {
                matches!(
                    e.as_str(),
                    "credential_accepted" | "credential_failure" | "credential_deleted"
                )
            })
            .ok_or_else(|| {
                IssuerError::InvalidNotificationRequest(
                    "event must be credential_accepted, credential_failure or credential_deleted"
                        .into(),
                )
            })?;
        if self
            .store
            .consume_notification(
                issuer_id,
                &access.offer_id,
                &SecretHash::of(id.as_str()),
                &event,
                self.now(),
            )
            .await?
        {
            tracing::info!(issuer = issuer_id, event = %event, "wallet notification");
            Ok(())
        } else {
            Err(IssuerError::InvalidNotificationId)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_response_is_rfc6749_json_and_debug_hides_the_token() {
        let t = TokenResponse {
            access_token: AccessToken::new("tok-secret"),
            token_type: "Bearer",
            expires_in: 600,
            refresh_token: None,
            authorization_details: None,
            scope: None,
        };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"access_token": "tok-secret", "token_type": "Bearer", "expires_in": 600})
        );
        assert!(!format!("{t:?}").contains("tok-secret"));
    }

    #[test]
    fn token_request_reads_its_three_parameters_from_the_form() {
        let form: HashMap<String, String> = [
            ("grant_type", PRE_AUTHORIZED_GRANT),
            ("pre-authorized_code", "code-secret"),
            ("tx_code", "123456"),
            ("other", "ignored"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let r = TokenRequest::from_form(form);
        assert_eq!(r.grant_type.as_deref(), Some(PRE_AUTHORIZED_GRANT));
        assert_eq!(
            r.pre_authorized_code
                .as_ref()
                .map(PreAuthorizedCode::as_str),
            Some("code-secret")
        );
        assert_eq!(r.tx_code.as_deref(), Some("123456"));
        assert!(!format!("{r:?}").contains("code-secret"));
    }

    #[test]
    fn credential_offer_round_trips_with_and_without_tx_code() {
        for offer in [
            json!({"credential_issuer": "https://i.example", "credential_configuration_ids": ["B"],
                "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "c",
                    "tx_code": {"length": 6, "input_mode": "numeric"}}}}),
            json!({"credential_issuer": "https://i.example", "credential_configuration_ids": ["B"],
                "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "c"}}}),
        ] {
            let typed: CredentialOffer = serde_json::from_value(offer.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), offer);
        }
    }
}
