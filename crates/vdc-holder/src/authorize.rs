//! The authorization code flow (OID4VCI 1.0 §3.4, §5, §6) as a public-client wallet runs
//! it: PKCE S256 (RFC 7636), pushed authorization requests (RFC 9126), DPoP-bound codes and
//! tokens with server nonces (RFC 9449), and the mix-up defence of RFC 9207.
//!
//! Two calls around the End-User's browser:
//! 1. [`Wallet::begin_authorization`] (an offer with the `authorization_code` grant) or
//!    [`Wallet::begin_wallet_initiated_authorization`] (no offer) discovers the metadata,
//!    makes the PKCE verifier, `state` and a fresh DPoP key, pushes the request and returns
//!    an [`AuthorizationSession`] whose [`AuthorizationSession::authorization_url`] the
//!    End-User opens.
//! 2. [`Wallet::finish_authorization`] takes the URL the browser was redirected to, checks
//!    `iss` and `state`, redeems the code (PKCE, DPoP) and requests the credentials as the
//!    pre-authorized path does, with DPoP proofs on every resource request.
//!
//! The session holds secrets (the PKCE verifier, the DPoP private key): it is serializable
//! so a wallet can keep it across an app restart, and its `Debug` prints none of them.

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::rng::{RandomSource, random_b64};
use vdc_core::time::Clock;

use crate::client::{
    AccessToken, IssuerClient, RefreshToken, TokenResponse, parse_token_response_with,
};
use crate::error::{AuthorizationResponseProblem, Endpoint, Error, ErrorCode, Result, bounded};
use crate::http::{Response, bounded_url};
use crate::metadata::{AuthorizationServerMetadata, CredentialIssuerMetadata, IssuerInfo};
use crate::offer::CredentialOffer;
use crate::options::WalletOptions;
use crate::store::PrivateJwk;
use crate::wallet::{AcceptedOffer, Issuance, Wallet, targets};

/// The DPoP algorithms this wallet can sign with, in preference order (RFC 9449 §5.1:
/// chosen from the server's `dpop_signing_alg_values_supported`).
pub const DPOP_ALGORITHMS: &[Algorithm] = &[Algorithm::Es256, Algorithm::EdDsa];
/// Longest `request_uri` accepted from a PAR response.
const MAX_REQUEST_URI: usize = 2048;

/// A DPoP key (RFC 9449) with the server nonce to use next, as kept between steps. The
/// private key is never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpopKey {
    /// The private key as a JWK (with `d`).
    pub key: PrivateJwk,
    /// The last `DPoP-Nonce` the server gave (RFC 9449 §8.2), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("key", &self.key)
            .field("nonce", &self.nonce.as_ref().map(|_| "[present]"))
            .finish()
    }
}

/// A DPoP key in use: signs proofs and tracks the server nonce.
pub(crate) struct DpopSession {
    signer: LocalSigner,
    nonce: Mutex<Option<String>>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
}

impl fmt::Debug for DpopSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DpopSession([redacted])")
    }
}

impl DpopSession {
    /// A fresh key of `alg` (one per authorization session).
    pub(crate) fn generate(alg: Algorithm, options: &WalletOptions) -> Result<Self> {
        let key = SigningKey::generate(alg, options.rng.as_ref())?;
        Ok(Self::with_signer(LocalSigner::new(key), None, options))
    }

    /// The session of a kept key.
    pub(crate) fn restore(key: &DpopKey, options: &WalletOptions) -> Result<Self> {
        Ok(Self::with_signer(
            key.key.signer()?,
            key.nonce.clone(),
            options,
        ))
    }

    fn with_signer(signer: LocalSigner, nonce: Option<String>, options: &WalletOptions) -> Self {
        Self {
            signer,
            nonce: Mutex::new(nonce),
            clock: options.clock.clone(),
            rng: options.rng.clone(),
        }
    }

    fn current_nonce(&self) -> Option<String> {
        self.nonce
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The key and the current nonce, to keep.
    pub(crate) fn to_key(&self) -> DpopKey {
        DpopKey {
            key: PrivateJwk::from_key(self.signer.key()),
            nonce: self.current_nonce(),
        }
    }

    /// The RFC 7638 thumbprint of the key (`dpop_jkt`, RFC 9449 §10).
    pub(crate) fn jkt(&self) -> String {
        self.signer.key().public_key().thumbprint()
    }

    /// A proof for `htm` at `url` (RFC 9449 §4.2: `htu` without query and fragment; `ath`
    /// for an access token, §7.1; the last server nonce, §8/§9).
    pub(crate) async fn proof(
        &self,
        htm: &str,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<String> {
        let mut htu = Url::parse(url).map_err(|_| Error::InsecureUrl(bounded_url(url)))?;
        htu.set_query(None);
        htu.set_fragment(None);
        let jti = random_b64(self.rng.as_ref(), 16)?;
        let nonce = self.current_nonce();
        Ok(vdc_core::dpop::create(
            &self.signer,
            vdc_core::dpop::DpopInput {
                htm,
                htu: htu.as_str(),
                jti: &jti,
                iat: self.clock.now(),
                nonce: nonce.as_deref(),
                access_token,
            },
        )
        .await?)
    }

    /// Keeps the `DPoP-Nonce` of a response (RFC 9449 §8.2: the nonce for the next proof).
    pub(crate) fn observe(&self, resp: &Response) {
        if let Some(n) = &resp.dpop_nonce {
            *self
                .nonce
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(n.clone());
        }
    }
}

/// A PKCE code verifier (RFC 7636 §4.1). A secret: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct CodeVerifier(String);

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

/// An authorization in progress: everything [`Wallet::finish_authorization`] needs once the
/// End-User's browser comes back. Serializable; `Debug` prints no secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationSession {
    /// The URL to open in the End-User's browser.
    pub authorization_url: String,
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The configurations asked for.
    pub credential_configuration_ids: Vec<String>,
    /// The wallet's `client_id` (a public client, RFC 6749 §2.1).
    pub client_id: String,
    /// Where the authorization server sends the browser back.
    pub redirect_uri: String,
    /// The `state` sent (RFC 6749 §10.12), compared with the response's.
    pub state: String,
    /// Seconds the pushed request stays usable (RFC 9126 §2.2 `expires_in`), when pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The Credential Issuer Metadata discovered.
    pub issuer: CredentialIssuerMetadata,
    /// The authorization server's metadata.
    pub authorization_server: AuthorizationServerMetadata,
    code_verifier: CodeVerifier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop: Option<DpopKey>,
}

/// The tokens an authorization code flow produced, kept so a caller can refresh
/// ([`Wallet::refresh`]) and request again. Holds secrets: `Debug` prints none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationTokens {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The authorization server's `token_endpoint`.
    pub token_endpoint: String,
    /// The wallet's `client_id`.
    pub client_id: String,
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// `expires_in` of the access token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// The refresh token, if the authorization server issued one (RFC 6749 §6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshToken>,
    /// The DPoP key the tokens are bound to (RFC 9449 §5), with the last server nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopKey>,
}

/// Checks a redirect URI for a native or CLI wallet: `https`, loopback `http` with an IP
/// literal (RFC 8252 §7.3, §8.3), or a private-use scheme with a dot (RFC 8252 §7.1); never
/// a fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(redirect_uri: &str) -> Result<Url> {
    let bad = |m: &str| Error::InvalidArgument(format!("redirect_uri: {m}"));
    let url = Url::parse(redirect_uri).map_err(|_| bad("not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment (RFC 6749 §3.1.2)"));
    }
    let ok = match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => matches!(url.host_str(), Some("127.0.0.1" | "[::1]")),
        "javascript" | "data" | "file" | "vbscript" | "blob" => false,
        other => other.contains('.'),
    };
    if ok {
        Ok(url)
    } else {
        Err(bad(
            "must be https, http://127.0.0.1:PORT/... (RFC 8252 §7.3) or a private-use scheme (RFC 8252 §7.1)",
        ))
    }
}

/// The PKCE S256 challenge of a verifier (RFC 7636 §4.2):
/// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))).
pub fn pkce_challenge(verifier: &str) -> String {
    vdc_core::base64url::encode(vdc_core::digest::sha256(verifier.as_bytes()))
}

/// True when the redirect reached `expected`: same scheme, host, port and path.
fn same_endpoint(got: &Url, expected: &Url) -> bool {
    got.scheme() == expected.scheme()
        && got.host_str() == expected.host_str()
        && got.port_or_known_default() == expected.port_or_known_default()
        && got.path() == expected.path()
}

impl IssuerClient {
    /// Pushed Authorization Request (RFC 9126 §2.1): the authorization request's parameters
    /// as a form, with a DPoP proof when `dpop` is given (RFC 9449 §10.1: the code is bound
    /// to its key). Returns `request_uri` and `expires_in` (§2.2).
    pub(crate) async fn push_authorization_request(
        &self,
        par_endpoint: &str,
        params: &[(&str, &str)],
        dpop: Option<&DpopSession>,
    ) -> Result<(String, u64)> {
        let endpoint = Endpoint::PushedAuthorization;
        let max = self.http().max_bytes();
        let resp = self
            .dpop_form_post(endpoint, par_endpoint, params, dpop)
            .await?;
        // Spec: RFC 9126 §2.2: "201 Created"; 200 is tolerated.
        if resp.status != 201 && resp.status != 200 {
            return Err(resp.into_error(endpoint, max));
        }
        let body = resp.json_object(endpoint, max)?;
        let request_uri = body
            .get("request_uri")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty() && u.len() <= MAX_REQUEST_URI)
            .ok_or_else(|| Error::InvalidResponse {
                endpoint,
                reason: "request_uri missing or not a string".into(),
            })?
            .to_owned();
        let expires_in = body
            .get("expires_in")
            .and_then(Value::as_u64)
            .filter(|e| *e > 0)
            .ok_or_else(|| Error::InvalidResponse {
                endpoint,
                reason: "expires_in must be a positive integer".into(),
            })?;
        Ok((request_uri, expires_in))
    }

    /// A Token Request to the authorization server with `form` (authorization code,
    /// RFC 6749 §4.1.3, or refresh, §6), with DPoP when given (RFC 9449 §5, nonce retry §8).
    pub(crate) async fn token_with(
        &self,
        token_endpoint: &str,
        form: &[(&str, &str)],
        dpop: Option<&DpopSession>,
    ) -> Result<TokenResponse> {
        let endpoint = Endpoint::Token;
        let max = self.http().max_bytes();
        let resp = self
            .dpop_form_post(endpoint, token_endpoint, form, dpop)
            .await?;
        if resp.status != 200 {
            return Err(resp.into_error(endpoint, max));
        }
        let body = resp.json_object(endpoint, max)?;
        parse_token_response_with(&body, dpop.is_some())
    }
}

impl Wallet {
    /// Starts the authorization code flow for an offer (OID4VCI 1.0 §3.4, §4.1.1): its
    /// `authorization_code` grant's `issuer_state` goes back in the request, and its
    /// `authorization_server` chooses the authorization server. Offers without grants are
    /// accepted too (§4.1.1: the wallet then uses what the metadata supports).
    pub async fn begin_authorization(
        &self,
        offer: &CredentialOffer,
        redirect_uri: &str,
        client_id: &str,
    ) -> Result<AuthorizationSession> {
        let grant = offer.grants.authorization_code.as_ref();
        self.begin(
            &offer.credential_issuer,
            &offer.credential_configuration_ids,
            grant.and_then(|g| g.issuer_state.as_deref()),
            grant.and_then(|g| g.authorization_server.as_deref()),
            redirect_uri,
            client_id,
        )
        .await
    }

    /// Starts a wallet-initiated authorization code flow (OID4VCI 1.0 §3.4, no offer) for
    /// `configuration_ids` of `credential_issuer`.
    pub async fn begin_wallet_initiated_authorization(
        &self,
        credential_issuer: &str,
        configuration_ids: &[String],
        redirect_uri: &str,
        client_id: &str,
    ) -> Result<AuthorizationSession> {
        crate::offer::check_issuer_identifier(credential_issuer).map_err(Error::InvalidArgument)?;
        if configuration_ids.is_empty() {
            return Err(Error::InvalidArgument(
                "name at least one credential configuration".into(),
            ));
        }
        self.begin(
            credential_issuer,
            configuration_ids,
            None,
            None,
            redirect_uri,
            client_id,
        )
        .await
    }

    async fn begin(
        &self,
        credential_issuer: &str,
        configuration_ids: &[String],
        issuer_state: Option<&str>,
        authorization_server_hint: Option<&str>,
        redirect_uri: &str,
        client_id: &str,
    ) -> Result<AuthorizationSession> {
        check_redirect_uri(redirect_uri)?;
        if client_id.is_empty() || client_id.len() > 256 {
            return Err(Error::InvalidArgument(
                "client_id must be 1 to 256 characters".into(),
            ));
        }
        let info = self
            .client()
            .discover_for_authorization_code(credential_issuer, authorization_server_hint)
            .await?;
        if info.issuer.requires_encryption() {
            return Err(Error::Unsupported(
                "the issuer requires encrypted credential requests/responses (§10)".into(),
            ));
        }
        for id in configuration_ids {
            self.check_configuration(&info, info.issuer.configuration(id)?, 1)?;
        }
        let as_meta = &info.authorization_server;
        let authorization_endpoint =
            as_meta.authorization_endpoint.as_deref().ok_or_else(|| {
                Error::Metadata("authorization server has no authorization_endpoint".into())
            })?;
        let authorization_endpoint = self.http().check_url(authorization_endpoint)?;
        // Spec: RFC 7636 §4.2, OID4VCI 1.0 §5.1: S256; a server listing methods must list it.
        if let Some(methods) = &as_meta.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(Error::Unsupported(
                "the authorization server does not support PKCE S256".into(),
            ));
        }
        // Spec: RFC 9449 §5.1: a server announcing DPoP lists its algorithms; use the first
        // one both sides have. Without the member the tokens are Bearer tokens.
        let dpop = match &as_meta.dpop_signing_alg_values_supported {
            Some(algs) => DPOP_ALGORITHMS
                .iter()
                .copied()
                .find(|a| algs.iter().any(|n| n == a.name()))
                .map(|alg| DpopSession::generate(alg, self.options()))
                .transpose()?,
            None => None,
        };
        let rng = self.options().rng.as_ref();
        // Spec: RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~]; 32 random bytes
        // base64url-encoded are 43.
        let verifier = random_b64(rng, 32)?;
        let challenge = pkce_challenge(&verifier);
        let state = random_b64(rng, 16)?;
        // Spec: OID4VCI 1.0 §5.1.1: one `openid_credential` entry per configuration.
        let details = Value::Array(
            configuration_ids
                .iter()
                .map(|id| json!({"type": "openid_credential", "credential_configuration_id": id}))
                .collect(),
        )
        .to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", &state),
            ("authorization_details", &details),
        ];
        // Spec: OID4VCI 1.0 §5.1.3: `issuer_state` from the offer goes back unchanged.
        if let Some(s) = issuer_state {
            params.push(("issuer_state", s));
        }
        let mut url = authorization_endpoint;
        let expires_in = match as_meta.pushed_authorization_request_endpoint.as_deref() {
            Some(par) => {
                // Spec: RFC 9126 §2: the parameters go to the PAR endpoint; the browser gets
                // only `client_id` and `request_uri` (§4).
                let (request_uri, expires_in) = self
                    .client()
                    .push_authorization_request(par, &params, dpop.as_ref())
                    .await?;
                url.query_pairs_mut()
                    .append_pair("client_id", client_id)
                    .append_pair("request_uri", &request_uri);
                Some(expires_in)
            }
            None if as_meta.require_pushed_authorization_requests == Some(true) => {
                return Err(Error::Metadata(
                    "the authorization server requires PAR but has no pushed_authorization_request_endpoint".into(),
                ));
            }
            None => {
                // Spec: RFC 9449 §10: without PAR, `dpop_jkt` binds the code to the key.
                let jkt = dpop.as_ref().map(DpopSession::jkt);
                let mut q = url.query_pairs_mut();
                q.extend_pairs(&params);
                if let Some(j) = &jkt {
                    q.append_pair("dpop_jkt", j);
                }
                drop(q);
                None
            }
        };
        Ok(AuthorizationSession {
            authorization_url: url.into(),
            credential_issuer: info.issuer.credential_issuer.clone(),
            credential_configuration_ids: configuration_ids.to_vec(),
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            state,
            expires_in,
            issuer: info.issuer,
            authorization_server: info.authorization_server,
            code_verifier: CodeVerifier(verifier),
            dpop: dpop.as_ref().map(DpopSession::to_key),
        })
    }

    /// Checks the redirect back to the wallet (RFC 6749 §4.1.2; RFC 9207 §2.4) and returns
    /// the code. Nothing is sent anywhere.
    fn authorization_code(session: &AuthorizationSession, redirected: &str) -> Result<String> {
        let problem = |p| Err(Error::InvalidAuthorizationResponse(p));
        let expected = check_redirect_uri(&session.redirect_uri)?;
        let Ok(got) = Url::parse(redirected.trim()) else {
            return problem(AuthorizationResponseProblem::NotTheRedirectUri);
        };
        if !same_endpoint(&got, &expected) {
            return problem(AuthorizationResponseProblem::NotTheRedirectUri);
        }
        let mut code = None;
        let mut state = None;
        let mut iss = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in got.query_pairs() {
            let slot = match k.as_ref() {
                "code" => &mut code,
                "state" => &mut state,
                "iss" => &mut iss,
                "error" => &mut error,
                "error_description" => &mut description,
                _ => continue,
            };
            // A repeated parameter is ambiguous (RFC 6749 §3.1): refused as not ours.
            if slot.is_some() {
                return problem(AuthorizationResponseProblem::NotTheRedirectUri);
            }
            *slot = Some(v.into_owned());
        }
        // Spec: RFC 9207 §2.4: compare `iss` with the issuer of the authorization server the
        // request went to (simple string comparison) before anything else; when its
        // metadata promises `iss`, a response without it is rejected.
        match iss.as_deref() {
            Some(i) if i == session.authorization_server.issuer => {}
            Some(_) => return problem(AuthorizationResponseProblem::IssuerMismatch),
            None if session
                .authorization_server
                .authorization_response_iss_parameter_supported
                == Some(true) =>
            {
                return problem(AuthorizationResponseProblem::IssuerMissing);
            }
            None => {}
        }
        // Spec: RFC 6749 §10.12: `state` binds the response to this session (CSRF).
        if !state
            .as_deref()
            .is_some_and(|s| vdc_core::ct::eq(s.as_bytes(), session.state.as_bytes()))
        {
            return problem(AuthorizationResponseProblem::StateMismatch);
        }
        if let Some(e) = error {
            return Err(Error::AuthorizationRefused {
                code: ErrorCode::parse(&e),
                description: description.as_deref().map(bounded),
            });
        }
        match code {
            Some(c) if !c.is_empty() => Ok(c),
            _ => problem(AuthorizationResponseProblem::CodeMissing),
        }
    }

    /// Finishes an authorization: checks the URL the browser was redirected to (`iss`,
    /// RFC 9207 §2.4; `state`, RFC 6749 §10.12; `error`, §4.1.2.1), redeems the code with the
    /// PKCE verifier and the session's DPoP key (RFC 7636 §4.5, RFC 9449 §5), then requests
    /// `batch` credentials per configuration (or per `credential_identifier` of the token
    /// response, OID4VCI 1.0 §8.2) exactly as [`Wallet::accept`] does, with DPoP proofs on
    /// every resource request. The result keeps the tokens ([`AcceptedOffer::tokens`]).
    pub async fn finish_authorization(
        &self,
        session: &AuthorizationSession,
        redirected_url: &str,
        batch: usize,
    ) -> Result<AcceptedOffer> {
        let code = Self::authorization_code(session, redirected_url)?;
        if batch == 0 {
            return Err(Error::BatchTooLarge {
                requested: 0,
                max: 1,
            });
        }
        let info = IssuerInfo {
            issuer: session.issuer.clone(),
            authorization_server: session.authorization_server.clone(),
        };
        for id in &session.credential_configuration_ids {
            self.check_configuration(&info, info.issuer.configuration(id)?, batch)?;
        }
        let dpop = session
            .dpop
            .as_ref()
            .map(|k| DpopSession::restore(k, self.options()))
            .transpose()?;
        let token_endpoint = info.authorization_server.token_endpoint()?;
        // Spec: OID4VCI 1.0 §6.1, RFC 6749 §4.1.3 (a public client sends `client_id`),
        // RFC 7636 §4.5 `code_verifier`.
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", session.redirect_uri.as_str()),
            ("client_id", session.client_id.as_str()),
            ("code_verifier", session.code_verifier.0.as_str()),
        ];
        let token = self
            .client()
            .token_with(token_endpoint, &form, dpop.as_ref())
            .await?;
        self.issue_with_token(&info, session, &token, dpop.as_ref(), batch)
            .await
    }

    async fn issue_with_token(
        &self,
        info: &IssuerInfo,
        session: &AuthorizationSession,
        token: &TokenResponse,
        dpop: Option<&DpopSession>,
        batch: usize,
    ) -> Result<AcceptedOffer> {
        // Spec: RFC 9449 §5: a `Bearer` answer to a DPoP request is used as a Bearer token.
        let dpop = dpop.filter(|_| token.token_type.eq_ignore_ascii_case("dpop"));
        let targets = targets(&session.credential_configuration_ids, token, info)?;
        let mut accepted = AcceptedOffer::default();
        for (config_id, identifier) in &targets {
            let config = info.issuer.configuration(config_id)?;
            self.check_configuration(info, config, batch)?;
            let issuance = Issuance {
                credential_issuer: &info.issuer.credential_issuer,
                configuration_id: config_id,
                identifier: identifier.as_deref(),
                config,
                notification_endpoint: info.issuer.notification_endpoint.as_deref(),
                access_token: &token.access_token,
                dpop,
                // Spec: OID4VCI 1.0 Appendix F.1: `iss` is the client_id outside the
                // anonymous pre-authorized code flow.
                client_id: Some(&session.client_id),
            };
            self.request(info, &issuance, batch, &mut accepted).await?;
        }
        accepted.tokens = Some(AuthorizationTokens {
            credential_issuer: info.issuer.credential_issuer.clone(),
            token_endpoint: info.authorization_server.token_endpoint()?.to_owned(),
            client_id: session.client_id.clone(),
            access_token: token.access_token.clone(),
            token_type: token.token_type.clone(),
            expires_in: token.expires_in,
            refresh_token: token.refresh_token.clone(),
            dpop: dpop.map(DpopSession::to_key),
        });
        Ok(accepted)
    }

    /// Refreshes the tokens of an authorization (RFC 6749 §6), with the same DPoP key
    /// (RFC 9449 §5: a refresh token of a public client is bound to it). Returns the new
    /// tokens; the old refresh token is kept when the server does not rotate it.
    pub async fn refresh(&self, tokens: &AuthorizationTokens) -> Result<AuthorizationTokens> {
        let refresh = tokens.refresh_token.as_ref().ok_or_else(|| {
            Error::InvalidArgument("the authorization has no refresh token".into())
        })?;
        let dpop = tokens
            .dpop
            .as_ref()
            .map(|k| DpopSession::restore(k, self.options()))
            .transpose()?;
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", tokens.client_id.as_str()),
        ];
        let token = self
            .client()
            .token_with(&tokens.token_endpoint, &form, dpop.as_ref())
            .await?;
        Ok(AuthorizationTokens {
            access_token: token.access_token,
            token_type: token.token_type,
            expires_in: token.expires_in,
            refresh_token: token.refresh_token.or_else(|| tokens.refresh_token.clone()),
            dpop: dpop.as_ref().map(DpopSession::to_key),
            ..tokens.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_pkce_s256_challenge() {
        // Spec example: RFC 7636 Appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn redirect_uris_follow_rfc8252() {
        for ok in [
            "https://wallet.example/cb",
            "http://127.0.0.1:8123/callback",
            "http://[::1]:8123/callback",
            "com.example.wallet:/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://wallet.example/cb",
            "http://localhost:8123/cb",
            "https://wallet.example/cb#frag",
            "javascript:alert(1)",
            "wallet:/cb",
            "not a uri",
        ] {
            assert!(
                matches!(check_redirect_uri(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    fn session(iss_supported: Option<bool>) -> AuthorizationSession {
        let issuer: CredentialIssuerMetadata = serde_json::from_value(json!({
            "credential_issuer": "https://i.example",
            "credential_endpoint": "https://i.example/credential",
            "credential_configurations_supported": {}
        }))
        .unwrap();
        let authorization_server: AuthorizationServerMetadata = serde_json::from_value(json!({
            "issuer": "https://i.example",
            "token_endpoint": "https://i.example/token",
            "authorization_response_iss_parameter_supported": iss_supported,
        }))
        .unwrap();
        AuthorizationSession {
            authorization_url: "https://i.example/authorize?request_uri=x".into(),
            credential_issuer: "https://i.example".into(),
            credential_configuration_ids: vec!["a".into()],
            client_id: "wallet".into(),
            redirect_uri: "http://127.0.0.1:9/callback".into(),
            state: "S-1".into(),
            expires_in: Some(60),
            issuer,
            authorization_server,
            code_verifier: CodeVerifier("VERIFIER-SECRET".into()),
            dpop: None,
        }
    }

    fn problem(s: &AuthorizationSession, url: &str) -> Option<AuthorizationResponseProblem> {
        match Wallet::authorization_code(s, url) {
            Err(Error::InvalidAuthorizationResponse(p)) => Some(p),
            _ => None,
        }
    }

    #[test]
    fn redirects_are_checked_for_iss_state_and_errors() {
        let s = session(Some(true));
        let base = "http://127.0.0.1:9/callback";
        assert_eq!(
            Wallet::authorization_code(
                &s,
                &format!("{base}?code=C&state=S-1&iss=https%3A%2F%2Fi.example")
            )
            .unwrap(),
            "C"
        );
        use AuthorizationResponseProblem as P;
        assert_eq!(
            problem(
                &s,
                &format!("{base}?code=C&state=S-2&iss=https%3A%2F%2Fi.example")
            ),
            Some(P::StateMismatch)
        );
        assert_eq!(
            problem(&s, &format!("{base}?code=C&iss=https%3A%2F%2Fi.example")),
            Some(P::StateMismatch)
        );
        assert_eq!(
            problem(
                &s,
                &format!("{base}?code=C&state=S-1&iss=https%3A%2F%2Fevil.example")
            ),
            Some(P::IssuerMismatch)
        );
        assert_eq!(
            problem(&s, &format!("{base}?code=C&state=S-1")),
            Some(P::IssuerMissing)
        );
        assert_eq!(
            problem(&s, "http://127.0.0.1:10/callback?code=C&state=S-1"),
            Some(P::NotTheRedirectUri)
        );
        assert_eq!(
            problem(
                &s,
                &format!("{base}?code=C&code=D&state=S-1&iss=https%3A%2F%2Fi.example")
            ),
            Some(P::NotTheRedirectUri)
        );
        assert_eq!(
            problem(&s, &format!("{base}?state=S-1&iss=https%3A%2F%2Fi.example")),
            Some(P::CodeMissing)
        );
        match Wallet::authorization_code(
            &s,
            &format!(
                "{base}?error=access_denied&error_description=no%0Athanks&state=S-1&iss=https%3A%2F%2Fi.example"
            ),
        ) {
            Err(Error::AuthorizationRefused { code, description }) => {
                assert_eq!(code, ErrorCode::AccessDenied);
                assert_eq!(description.as_deref(), Some("nothanks"));
            }
            other => panic!("unexpected {other:?}"),
        }
        // Without the metadata promise, a missing iss is tolerated (RFC 9207 §2.4).
        let lax = session(None);
        assert_eq!(
            Wallet::authorization_code(&lax, &format!("{base}?code=C&state=S-1")).unwrap(),
            "C"
        );
    }

    #[test]
    fn session_debug_and_json_keep_secrets_out_of_debug() {
        let s = session(Some(true));
        let debug = format!("{s:?}");
        assert!(!debug.contains("VERIFIER-SECRET"), "{debug}");
        let json = serde_json::to_string(&s).unwrap();
        let back: AuthorizationSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }
}
