//! The authorization code flow (OID4VCI 1.0 §5, §6; RFC 6749 §4.1, RFC 7636, RFC 9126,
//! RFC 9207, RFC 9449): a wallet pushes its authorization request, the user logs in at the
//! enterprise's OpenID Provider, the wallet redeems the code (with PKCE and, when bound, its
//! DPoP key) for an access token and a refresh token.
//!
//! Every step moves one store row on by the one secret the client holds at that step
//! (`vdc_store::authorization`), so each works once under races (G2). `issuer_state` only
//! pre-fills the configurations and ties the login to its offer; it never authorizes.
//!
//! Layout: [`request`] (the request's parameters and checks), `login` (the relying party
//! of the identity provider and the claim mapping), [`dpop`] (proofs and server nonces).

pub mod attestation;
pub(crate) mod claims;
pub mod dpop;
pub(crate) mod login;
pub mod request;
pub mod revoke;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use vdc_store::{
    AuthorizationRecord, AuthorizationStage, AuthorizationStep, AuthorizationStore,
    AuthorizedOffer, CodeOutcome, CodeRedemption, NewAccessToken, OfferRecord, OfferStatus,
    RefreshTokenRecord, SecretHash,
};

use crate::definition::IssuerDefinition;
use crate::error::{DpopSite, IssuerError, Result};
use crate::oid4vci::{TokenRequest, TokenResponse};
use crate::service::Issuer;
use crate::tokens::AccessToken;
use dpop::{DpopTarget, KeyBinding};
use request::{AuthorizationRequest, OPENID_CREDENTIAL, RawAuthorizationRequest};

/// The `request_uri` prefix of RFC 9126 §2.2.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// What the flow needs beyond the issuer's own state.
#[derive(Debug)]
pub struct AuthorizationDeps {
    pub(crate) store: Arc<dyn AuthorizationStore>,
    pub(crate) fetcher: vdc_core::fetch::Fetcher,
    pub(crate) relying_parties: login::RelyingParties,
    /// The client of claims endpoint calls, built on first use.
    claims_client: std::sync::OnceLock<reqwest::Client>,
    /// When deferred configurations may be asked of the claims endpoint again.
    pub(crate) retry_times: claims::RetryTimes,
}

impl AuthorizationDeps {
    pub(crate) fn new(
        store: Arc<dyn AuthorizationStore>,
        fetcher: vdc_core::fetch::Fetcher,
    ) -> Self {
        Self {
            store,
            fetcher,
            relying_parties: login::RelyingParties::default(),
            claims_client: std::sync::OnceLock::new(),
            retry_times: claims::RetryTimes::default(),
        }
    }

    /// The client of claims endpoint calls: the outbound policy's filtering resolver, no
    /// redirects, no proxy, `timeout` for the whole request (G7).
    pub(crate) fn claims_client(
        &self,
        timeout: std::time::Duration,
    ) -> vdc_core::Result<reqwest::Client> {
        if let Some(c) = self.claims_client.get() {
            return Ok(c.clone());
        }
        let client = self.fetcher.unredirected_client(timeout)?;
        Ok(self.claims_client.get_or_init(|| client).clone())
    }
}

/// The pushed authorization response (RFC 9126 §2.2).
#[derive(Clone, Serialize)]
pub struct PushedAuthorizationResponse {
    /// `urn:ietf:params:oauth:request_uri:<handle>`, single use.
    pub request_uri: String,
    /// Seconds it works.
    pub expires_in: i64,
}

impl std::fmt::Debug for PushedAuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushedAuthorizationResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// An `authorization_details` entry of a token response (OID4VCI 1.0 §6.2).
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationDetailsResponse {
    /// `openid_credential`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The configuration.
    pub credential_configuration_id: String,
    /// What the credential request names as `credential_identifier` (§8.2).
    pub credential_identifiers: Vec<String>,
}

/// Where the user agent goes next (`302 Found`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect(pub String);

/// Appends query parameters to a URI that may have a query already (RFC 6749 §3.1.2).
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = match url::Url::parse(base) {
        Ok(u) => u,
        Err(_) => return base.to_owned(),
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

impl Issuer {
    /// The authorization response of an error, sent back to the wallet with `state` and
    /// `iss` (RFC 6749 §4.1.2.1, RFC 9207 §2).
    fn error_redirect(
        &self,
        issuer_id: &str,
        request: &AuthorizationRequest,
        error: &IssuerError,
    ) -> Redirect {
        let (_, code) = error.status_and_code();
        let description = error.description();
        let iss = self.issuer_url(issuer_id);
        let mut params = vec![("error", code), ("iss", iss.as_str())];
        if !description.is_empty() {
            params.push(("error_description", description.as_str()));
        }
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        Redirect(with_query(&request.redirect_uri, &params))
    }

    async fn flow_definition(&self, issuer_id: &str) -> Result<Arc<IssuerDefinition>> {
        let def = self.wallet_definition(issuer_id).await?;
        if def.identity_provider.is_none() {
            return Err(IssuerError::InvalidRequest(
                "this issuer has no identity provider: only the pre-authorized code grant is offered".into(),
            ));
        }
        self.authorizations()?;
        Ok(def)
    }

    /// The offer `issuer_state` names, if it is an unredeemed authorization code offer.
    async fn issuer_state_offer(&self, issuer_id: &str, state: &str) -> Result<OfferRecord> {
        let unknown =
            || IssuerError::InvalidRequest("issuer_state is unknown, used or expired".into());
        let offer_id = self
            .offer_id_of_reference(issuer_id, state)
            .ok_or_else(unknown)?;
        self.store
            .get_offer(issuer_id, offer_id)
            .await?
            .filter(|o| {
                o.status == OfferStatus::Offered
                    && o.expires_at > self.now()
                    && o.credential_offer
                        .pointer("/grants/authorization_code")
                        .is_some()
            })
            .ok_or_else(unknown)
    }

    /// Checks an authorization request (pushed or not) and its DPoP binding.
    async fn checked_request(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        raw: &RawAuthorizationRequest,
        dpop_proof: Option<&str>,
    ) -> Result<AuthorizationRequest> {
        let offer = match raw.issuer_state() {
            Some(s) => Some(self.issuer_state_offer(issuer_id, s).await?),
            None => None,
        };
        let mut req = raw.check(
            def,
            &self.issuer_url(issuer_id),
            offer
                .as_ref()
                .map(|o| o.credential_configuration_ids.as_slice()),
        )?;
        req.offer_id = offer.map(|o| o.offer_id);
        // Spec: RFC 9449 §10: a DPoP proof at the PAR endpoint binds the code to its key;
        // with `dpop_jkt` too, they must agree.
        if let Some(proof) = dpop_proof {
            let target = DpopTarget {
                site: DpopSite::AuthorizationServer,
                path: "/par",
                method: "POST",
            };
            let bound = req
                .dpop_jkt
                .as_deref()
                .map(|j| (j, KeyBinding::AuthorizationRequest));
            let v = self
                .check_dpop_bound(issuer_id, proof, target, None, bound)
                .await?;
            req.dpop_jkt = Some(v.jkt);
        }
        Ok(req)
    }

    fn new_authorization(
        &self,
        issuer_id: &str,
        req: &AuthorizationRequest,
        handle: &str,
        stage: AuthorizationStage,
        ttl: i64,
    ) -> Result<AuthorizationRecord> {
        let now = self.now();
        Ok(AuthorizationRecord {
            issuer_id: issuer_id.to_owned(),
            authorization_id: self.random_b64(16)?,
            handle_hash: SecretHash::of(handle),
            stage,
            request: serde_json::to_value(req).map_err(|e| IssuerError::Internal(e.to_string()))?,
            subject: None,
            claims: None,
            created_at: now,
            expires_at: now.plus(ttl),
        })
    }

    /// Pushed authorization request endpoint (RFC 9126 §2).
    pub async fn push_authorization(
        &self,
        issuer_id: &str,
        mut params: HashMap<String, String>,
        dpop_proof: Option<&str>,
        client_attestation: &attestation::ClientAttestationHeaders,
    ) -> Result<PushedAuthorizationResponse> {
        let def = self.flow_definition(issuer_id).await?;
        let instance = self
            .authenticate_par_client(issuer_id, &def, &mut params, client_attestation, dpop_proof)
            .await?;
        let raw = RawAuthorizationRequest::new(params);
        let mut req = self
            .checked_request(issuer_id, &def, &raw, dpop_proof)
            .await?;
        req.client_instance_jkt = instance;
        let handle = self.random_b64(32)?;
        let ttl = self.settings.par_ttl;
        let record =
            self.new_authorization(issuer_id, &req, &handle, AuthorizationStage::Pushed, ttl)?;
        self.authorizations()?.push_authorization(&record).await?;
        Ok(PushedAuthorizationResponse {
            request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
            expires_in: ttl,
        })
    }

    /// Authorization endpoint (RFC 6749 §4.1.1, RFC 9126 §4): takes the pushed request (or,
    /// where PAR is not required, the request itself) and sends the user to the identity
    /// provider. An `Err` is answered to the user agent (nothing trustworthy to redirect
    /// to); errors after the redirect URI is known are redirects to the wallet.
    pub async fn authorize(
        &self,
        issuer_id: &str,
        params: HashMap<String, String>,
    ) -> Result<Redirect> {
        let def = self.flow_definition(issuer_id).await?;
        let raw = RawAuthorizationRequest::new(params);
        let login_state = self.random_b64(32)?;
        let now = self.now();
        let step = AuthorizationStep {
            stage: AuthorizationStage::LoggingIn,
            handle_hash: SecretHash::of(&login_state),
            expires_at: now.plus(self.settings.login_ttl),
            subject: None,
            claims: None,
        };
        let store = self.authorizations()?;
        let client_id = raw
            .get("client_id")
            .ok_or_else(|| IssuerError::InvalidRequest("client_id is required".into()))?;
        let req = match raw.get("request_uri") {
            Some(uri) => {
                let handle = uri.strip_prefix(REQUEST_URI_PREFIX).ok_or_else(|| {
                    IssuerError::InvalidRequest("request_uri is not one this issuer made".into())
                })?;
                // G2: the request_uri is consumed here, once.
                let record = store
                    .advance_authorization(
                        issuer_id,
                        &SecretHash::of(handle),
                        AuthorizationStage::Pushed,
                        &step,
                        now,
                    )
                    .await?
                    .ok_or_else(|| {
                        IssuerError::InvalidRequest(
                            "request_uri is unknown, expired or used (RFC 9126 §4)".into(),
                        )
                    })?;
                let req: AuthorizationRequest = serde_json::from_value(record.request)
                    .map_err(|e| IssuerError::Internal(format!("stored request: {e}")))?;
                // Spec: RFC 9126 §4: the client_id must be the pushing client's.
                if req.client_id != client_id {
                    return Err(IssuerError::InvalidRequest(
                        "client_id is not the one that pushed the request".into(),
                    ));
                }
                req
            }
            None if def.requires_par() => {
                return Err(IssuerError::InvalidRequest(
                    "this issuer requires pushed authorization requests (RFC 9126 §5)".into(),
                ));
            }
            None => {
                let req = self.checked_request(issuer_id, &def, &raw, None).await?;
                let mut record = self.new_authorization(
                    issuer_id,
                    &req,
                    &login_state,
                    AuthorizationStage::LoggingIn,
                    self.settings.login_ttl,
                )?;
                record.handle_hash = step.handle_hash;
                store.push_authorization(&record).await?;
                req
            }
        };
        let rp = match self.relying_party(&def).await {
            Ok(rp) => rp,
            Err(e) => return Ok(self.error_redirect(issuer_id, &req, &e)),
        };
        let (nonce, verifier) = self.login_secrets(issuer_id, &login_state);
        Ok(Redirect(rp.authorization_url(
            &login_state,
            &nonce,
            &verifier,
        )))
    }

    /// The identity provider's redirect back to vdc: finishes the login (code exchange, ID
    /// token validation, userinfo), maps the claims, and sends the wallet its code.
    pub async fn login_callback(
        &self,
        issuer_id: &str,
        params: HashMap<String, String>,
    ) -> Result<Redirect> {
        let def = self.flow_definition(issuer_id).await?;
        let state = params
            .get("state")
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or_else(|| IssuerError::InvalidRequest("state is required".into()))?;
        let store = self.authorizations()?;
        let state_hash = SecretHash::of(state);
        let now = self.now();
        let record = store
            .find_authorization(issuer_id, &state_hash, AuthorizationStage::LoggingIn, now)
            .await?
            .ok_or_else(|| {
                IssuerError::InvalidRequest("the login is unknown, expired or finished".into())
            })?;
        let req: AuthorizationRequest = serde_json::from_value(record.request.clone())
            .map_err(|e| IssuerError::Internal(format!("stored request: {e}")))?;
        match self
            .finish_login(issuer_id, &def, state, &req, &params)
            .await
        {
            Ok((subject, claims)) => {
                let code = self.random_b64(32)?;
                let step = AuthorizationStep {
                    stage: AuthorizationStage::Authorized,
                    handle_hash: SecretHash::of(&code),
                    expires_at: now.plus(self.settings.authorization_code_ttl.min(60)),
                    subject: Some(subject),
                    claims: Some(claims),
                };
                // G2: the login state works once (a second callback finds nothing).
                store
                    .advance_authorization(
                        issuer_id,
                        &state_hash,
                        AuthorizationStage::LoggingIn,
                        &step,
                        now,
                    )
                    .await?
                    .ok_or_else(|| {
                        IssuerError::InvalidRequest("the login was finished already".into())
                    })?;
                tracing::info!(
                    issuer = issuer_id,
                    "login finished, authorization code issued"
                );
                let iss = self.issuer_url(issuer_id);
                let mut p = vec![("code", code.as_str()), ("iss", iss.as_str())];
                if let Some(s) = &req.state {
                    p.push(("state", s));
                }
                Ok(Redirect(with_query(&req.redirect_uri, &p)))
            }
            Err(e) => {
                // The login is over either way: its state stops working.
                let dead = AuthorizationStep {
                    stage: AuthorizationStage::Redeemed,
                    handle_hash: SecretHash::of(&self.random_b64(32)?),
                    expires_at: now,
                    subject: None,
                    claims: None,
                };
                store
                    .advance_authorization(
                        issuer_id,
                        &state_hash,
                        AuthorizationStage::LoggingIn,
                        &dead,
                        now,
                    )
                    .await?;
                Ok(self.error_redirect(issuer_id, &req, &e))
            }
        }
    }

    async fn finish_login(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        state: &str,
        req: &AuthorizationRequest,
        params: &HashMap<String, String>,
    ) -> Result<(String, Value)> {
        if let Some(error) = params.get("error") {
            tracing::info!(issuer = issuer_id, error = %error.chars().take(64).collect::<String>(), "identity provider answered an error");
            return Err(IssuerError::AccessDenied(
                "the login at the identity provider did not succeed".into(),
            ));
        }
        let code = params
            .get("code")
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| {
                IssuerError::AccessDenied("the identity provider sent no code".into())
            })?;
        let rp = self.relying_party(def).await?;
        let (nonce, verifier) = self.login_secrets(issuer_id, state);
        let needed = login::needed_claims(def);
        let login = rp
            .complete(code, &verifier, &nonce, &needed, self.now())
            .await
            .map_err(login::provider_error)?;
        // With a claims endpoint, the enterprise back end answers the claims of the
        // authenticated subject; otherwise the claim mapping reads them from the login.
        let claims = if def.claims_endpoint.is_some() {
            let subject = claims::subject_of(&login);
            self.claims_from_endpoint(def, &req.credential_configuration_ids, &subject)
                .await?
        } else {
            login::map_claims(def, &req.credential_configuration_ids, &login)?
        };
        Ok((login.subject, claims))
    }

    /// The token endpoint's `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.5,
    /// RFC 9449 §5, §10, OID4VCI 1.0 §6).
    pub(crate) async fn token_authorization_code(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        request: &TokenRequest,
        dpop_proof: Option<&str>,
        attested: Option<&str>,
    ) -> Result<TokenResponse> {
        let store = self.authorizations()?;
        let code = request
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| IssuerError::InvalidRequest("code is required".into()))?;
        let verifier = request
            .code_verifier
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                IssuerError::InvalidRequest("code_verifier is required (PKCE)".into())
            })?;
        let now = self.now();
        let code_hash = SecretHash::of(code);
        let invalid = || IssuerError::InvalidGrant("the code is invalid, expired or used".into());
        let Some(record) = store
            .find_authorization(issuer_id, &code_hash, AuthorizationStage::Authorized, now)
            .await?
        else {
            // Spec: RFC 6749 §4.1.2: a code used twice revokes the tokens it gave.
            if let Some(used) = store
                .find_authorization(issuer_id, &code_hash, AuthorizationStage::Redeemed, now)
                .await?
            {
                let n = store
                    .revoke_authorization(issuer_id, &used.authorization_id)
                    .await?;
                tracing::warn!(
                    issuer = issuer_id,
                    revoked = n,
                    "authorization code replayed; its tokens are revoked"
                );
            }
            return Err(invalid());
        };
        let req: AuthorizationRequest = serde_json::from_value(record.request.clone())
            .map_err(|e| IssuerError::Internal(format!("stored request: {e}")))?;
        Self::check_instance_binding(
            req.client_instance_jkt.as_deref(),
            attested,
            "authorization code",
        )?;
        let client_id = request
            .client_id
            .as_deref()
            .ok_or_else(|| IssuerError::InvalidRequest("client_id is required".into()))?;
        if client_id != req.client_id {
            return Err(IssuerError::InvalidGrant(
                "the code was issued to another client".into(),
            ));
        }
        match request.redirect_uri.as_deref() {
            Some(r) if r == req.redirect_uri => {}
            Some(_) => {
                return Err(IssuerError::InvalidGrant(
                    "redirect_uri is not the authorization request's".into(),
                ));
            }
            None => {
                return Err(IssuerError::InvalidRequest(
                    "redirect_uri is required".into(),
                ));
            }
        }
        if !request::pkce_matches(verifier, &req.code_challenge) {
            return Err(IssuerError::InvalidGrant(
                "code_verifier does not match the code_challenge".into(),
            ));
        }
        let bound = req
            .dpop_jkt
            .as_deref()
            .map(|j| (j, KeyBinding::AuthorizationRequest));
        let jkt = self.token_dpop(issuer_id, def, dpop_proof, bound).await?;
        let claims = record
            .claims
            .clone()
            .ok_or_else(|| IssuerError::Internal("authorized without claims".into()))?;
        let ids = req.credential_configuration_ids.clone();
        let new_offer;
        let offer = match &req.offer_id {
            Some(offer_id) => AuthorizedOffer::Existing {
                offer_id,
                claims: &claims,
            },
            None => {
                new_offer = self.login_offer(issuer_id, &ids, &claims)?;
                AuthorizedOffer::New(&new_offer)
            }
        };
        let offer_id = match offer {
            AuthorizedOffer::Existing { offer_id, .. } => offer_id.to_owned(),
            AuthorizedOffer::New(o) => o.offer_id.clone(),
        };
        let (token, new_token) = self.new_access_token(jkt.clone())?;
        let (refresh, refresh_record) =
            self.new_refresh_token(issuer_id, &record.authorization_id, jkt.clone())?;
        let events = [self.token_event(issuer_id, &offer_id)];
        let outbox = self.outbox(&events);
        let redemption = CodeRedemption {
            offer,
            token: &new_token,
            credential_configuration_ids: &ids,
            authorization_details: req.authorization_details,
            outbox: &outbox,
        };
        match store
            .redeem_authorization_code(
                issuer_id,
                &code_hash,
                now,
                &redemption,
                Some(&refresh_record),
            )
            .await?
        {
            CodeOutcome::Issued(_) => {}
            CodeOutcome::Unknown => return Err(invalid()),
            CodeOutcome::OfferUsed => {
                return Err(IssuerError::InvalidGrant(
                    "the offer issuer_state names was redeemed, cancelled or expired".into(),
                ));
            }
        }
        self.events.committed(&events);
        tracing::info!(issuer = issuer_id, offer = %offer_id, dpop = jkt.is_some(), "access token issued for an authorization code");
        Ok(self.token_response(token, jkt.is_some(), Some(refresh), &req))
    }

    /// The token endpoint's `refresh_token` grant (RFC 6749 §6): rotated on use, bound to
    /// the DPoP key it was issued for (RFC 9449 §5); a fresh offer with the login's claims.
    pub(crate) async fn token_refresh(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        request: &TokenRequest,
        dpop_proof: Option<&str>,
        attested: Option<&str>,
    ) -> Result<TokenResponse> {
        let store = self.authorizations()?;
        let given = request
            .refresh_token
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| IssuerError::InvalidRequest("refresh_token is required".into()))?;
        let now = self.now();
        let old_hash = SecretHash::of(given);
        let invalid =
            || IssuerError::InvalidGrant("the refresh token is invalid, expired or used".into());
        let (old, record) = store
            .find_refresh_token(issuer_id, &old_hash, now)
            .await?
            .ok_or_else(invalid)?;
        let req: AuthorizationRequest = serde_json::from_value(record.request.clone())
            .map_err(|e| IssuerError::Internal(format!("stored request: {e}")))?;
        Self::check_instance_binding(
            req.client_instance_jkt.as_deref(),
            attested,
            "refresh token",
        )?;
        if request
            .client_id
            .as_deref()
            .is_some_and(|c| c != req.client_id)
        {
            return Err(IssuerError::InvalidGrant(
                "the refresh token was issued to another client".into(),
            ));
        }
        let bound = old
            .dpop_jkt
            .as_deref()
            .map(|j| (j, KeyBinding::RefreshToken));
        let jkt = self.token_dpop(issuer_id, def, dpop_proof, bound).await?;
        let claims = record
            .claims
            .clone()
            .ok_or_else(|| IssuerError::Internal("authorization without claims".into()))?;
        let ids = req.credential_configuration_ids.clone();
        let offer = self.login_offer(issuer_id, &ids, &claims)?;
        let (token, new_token) = self.new_access_token(jkt.clone())?;
        let (refresh, next) =
            self.new_refresh_token(issuer_id, &record.authorization_id, jkt.clone())?;
        let events = [self.token_event(issuer_id, &offer.offer_id)];
        let outbox = self.outbox(&events);
        let redemption = CodeRedemption {
            offer: AuthorizedOffer::New(&offer),
            token: &new_token,
            credential_configuration_ids: &ids,
            authorization_details: req.authorization_details,
            outbox: &outbox,
        };
        store
            .rotate_refresh_token(issuer_id, &old_hash, now, &next, &redemption)
            .await?
            .ok_or_else(invalid)?;
        self.events.committed(&events);
        Ok(self.token_response(token, jkt.is_some(), Some(refresh), &req))
    }

    /// The DPoP key a token request binds its token to: the proof's (which must be
    /// `bound_to` when the grant is bound), or none for a Bearer token where allowed.
    pub(crate) async fn token_dpop(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        proof: Option<&str>,
        bound_to: Option<(&str, KeyBinding)>,
    ) -> Result<Option<String>> {
        let site = DpopSite::AuthorizationServer;
        match proof {
            Some(p) => {
                let target = DpopTarget {
                    site,
                    path: "/token",
                    method: "POST",
                };
                let v = self
                    .check_dpop_bound(issuer_id, p, target, None, bound_to)
                    .await?;
                Ok(Some(v.jkt))
            }
            None if bound_to.is_some() => Err(IssuerError::InvalidDpopProof {
                site,
                message: "this grant is bound to a DPoP key: send a DPoP proof".into(),
            }),
            None if def.require_dpop => Err(IssuerError::InvalidDpopProof {
                site,
                message: "this issuer requires DPoP (RFC 9449): send a DPoP proof".into(),
            }),
            None => Ok(None),
        }
    }

    /// The offer row a login's access token belongs to: redeemed from birth, with the
    /// login's claims and a pre-authorized code nobody ever sees (the column is unique).
    fn login_offer(&self, issuer_id: &str, ids: &[String], claims: &Value) -> Result<OfferRecord> {
        let now = self.now();
        Ok(OfferRecord {
            issuer_id: issuer_id.to_owned(),
            offer_id: self.random_b64(16)?,
            credential_configuration_ids: ids.to_vec(),
            claims: Some(claims.clone()),
            credential_offer: json!({
                "credential_issuer": self.issuer_url(issuer_id),
                "credential_configuration_ids": ids,
                "grants": {"authorization_code": {}},
            }),
            pre_authorized_code_hash: SecretHash::of(&self.random_b64(32)?),
            tx_code_hash: None,
            tx_code_failures: 0,
            deferred: false,
            status: OfferStatus::TokenIssued,
            created_at: now,
            expires_at: now.plus(self.settings.access_token_ttl),
        })
    }

    pub(crate) fn new_access_token(
        &self,
        dpop_jkt: Option<String>,
    ) -> Result<(AccessToken, NewAccessToken)> {
        let token = AccessToken::new(self.random_b64(32)?);
        let record = NewAccessToken {
            token_hash: SecretHash::of(token.as_str()),
            expires_at: self.now().plus(self.settings.access_token_ttl),
            dpop_jkt,
        };
        Ok((token, record))
    }

    fn new_refresh_token(
        &self,
        issuer_id: &str,
        authorization_id: &str,
        dpop_jkt: Option<String>,
    ) -> Result<(String, RefreshTokenRecord)> {
        let token = self.random_b64(32)?;
        let record = RefreshTokenRecord {
            issuer_id: issuer_id.to_owned(),
            token_hash: SecretHash::of(&token),
            authorization_id: authorization_id.to_owned(),
            dpop_jkt,
            expires_at: self.now().plus(self.settings.refresh_token_ttl),
        };
        Ok((token, record))
    }

    fn token_response(
        &self,
        token: AccessToken,
        dpop: bool,
        refresh_token: Option<String>,
        req: &AuthorizationRequest,
    ) -> TokenResponse {
        // Spec: OID4VCI 1.0 §6.2: authorization_details with credential_identifiers when
        // the request used them; the identifier is the configuration id (one dataset each).
        let authorization_details = req.authorization_details.then(|| {
            req.credential_configuration_ids
                .iter()
                .map(|id| AuthorizationDetailsResponse {
                    kind: OPENID_CREDENTIAL,
                    credential_configuration_id: id.clone(),
                    credential_identifiers: vec![id.clone()],
                })
                .collect()
        });
        TokenResponse {
            access_token: token,
            token_type: if dpop { "DPoP" } else { "Bearer" },
            expires_in: self.settings.access_token_ttl,
            refresh_token,
            authorization_details,
            scope: req.scope.clone(),
        }
    }
}
