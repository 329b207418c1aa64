//! The protocol steps of OID4VCI 1.0 as a wallet performs them, one method per endpoint.
//! [`crate::Wallet`] chains them; use [`IssuerClient`] directly to drive a flow yourself
//! (for example to show the issuer's display metadata before asking for a `tx_code`).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::authorize::DpopSession;
use crate::error::{Endpoint, Error, Result, bounded};
use crate::http::{Http, Response};
use crate::metadata::{
    AuthorizationServerMetadata, CredentialIssuerMetadata, IssuerInfo,
    authorization_server_metadata_urls, credential_issuer_metadata_urls,
};
use crate::offer::{CredentialOffer, OfferRef, PRE_AUTHORIZED_CODE_GRANT, parse_offer_uri};
use crate::options::WalletOptions;

/// An OAuth 2.0 access token (RFC 6749 §1.4). A bearer secret: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token value, for the `Authorization: Bearer` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// An OAuth 2.0 refresh token (RFC 6749 §1.5). A secret: `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Wraps a token value.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token value, for the `refresh_token` grant (RFC 6749 §6).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// A successful Token Response (RFC 6749 §5.1, OID4VCI 1.0 §6.2).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    /// `access_token`.
    pub access_token: AccessToken,
    /// `token_type`: `Bearer`, or `DPoP` when the request carried a DPoP proof (RFC 9449
    /// §5); other types are refused.
    pub token_type: String,
    /// `refresh_token` (RFC 6749 §5.1), if the authorization server issued one.
    pub refresh_token: Option<RefreshToken>,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// `authorization_details` entries of type `openid_credential` (§6.2).
    pub authorization_details: Vec<CredentialAuthorizationDetail>,
}

/// An `authorization_details` entry of type `openid_credential` in a Token Response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAuthorizationDetail {
    /// `credential_configuration_id`.
    pub credential_configuration_id: String,
    /// `credential_identifiers`: each to be requested with `credential_identifier`.
    pub credential_identifiers: Vec<String>,
}

/// What a Credential Request asks for (§8.2): exactly one of the two identifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialTarget {
    /// `credential_configuration_id` (when the token response had no `credential_identifiers`).
    ConfigurationId(String),
    /// `credential_identifier` from the token response's `authorization_details`.
    Identifier(String),
}

/// A Credential Request (§8.2) with `jwt` key proofs (Appendix F.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRequest {
    /// What is requested.
    pub target: CredentialTarget,
    /// The key proofs, one per credential instance; empty when the configuration has no
    /// `proof_types_supported`.
    pub jwt_proofs: Vec<String>,
}

impl CredentialRequest {
    /// The JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        match &self.target {
            CredentialTarget::ConfigurationId(id) => {
                body.insert("credential_configuration_id".into(), id.clone().into())
            }
            CredentialTarget::Identifier(id) => {
                body.insert("credential_identifier".into(), id.clone().into())
            }
        };
        if !self.jwt_proofs.is_empty() {
            // Spec: §8.2: `proofs` has exactly one member, named by the proof type, whose
            // value is a non-empty array.
            body.insert("proofs".into(), json!({ "jwt": self.jwt_proofs }));
        }
        Value::Object(body)
    }
}

/// A Credential Response (§8.3) or Deferred Credential Response (§9.2).
#[derive(Debug, Clone, PartialEq)]
pub enum CredentialResponse {
    /// HTTP 200: the credentials.
    Issued {
        /// Each `credentials[i].credential` (a string for `dc+sd-jwt` and `jwt_vc_json`).
        credentials: Vec<Value>,
        /// `notification_id`, for the Notification Endpoint.
        notification_id: Option<String>,
    },
    /// HTTP 202: issuance is deferred (§8.3) or still pending (§9.2).
    Deferred {
        /// `transaction_id` for the Deferred Credential Endpoint.
        transaction_id: String,
        /// `interval`: seconds to wait before polling.
        interval: u64,
    },
}

/// Notification events (§11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// The credentials were stored.
    CredentialAccepted,
    /// The End-User deleted or declined them.
    CredentialDeleted,
    /// Any other failure (including partial failure of a batch).
    CredentialFailure,
}

impl NotificationEvent {
    /// The `event` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CredentialAccepted => "credential_accepted",
            Self::CredentialDeleted => "credential_deleted",
            Self::CredentialFailure => "credential_failure",
        }
    }
}

/// The default `interval` assumed when a pre-1.0 `issuance_pending` error gives none.
pub const DEFAULT_DEFERRED_INTERVAL: u64 = 5;

/// Talks to one or more OID4VCI issuers over the wallet's HTTP client.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    http: Http,
}

impl IssuerClient {
    /// The HTTP transport (shared with the OpenID4VP holder side).
    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// A client with the options' timeout, size bound and scheme policy.
    pub fn new(options: &WalletOptions) -> Result<Self> {
        Ok(Self {
            http: Http::new(
                options.timeout,
                options.max_response_bytes,
                options.allow_insecure_http,
            )?,
        })
    }

    fn max(&self) -> usize {
        self.http.max_bytes()
    }

    /// Parses an offer URI and, for `credential_offer_uri`, fetches the offer (§4.1.3).
    pub async fn resolve_offer(&self, offer_uri: &str) -> Result<CredentialOffer> {
        match parse_offer_uri(offer_uri)? {
            OfferRef::ByValue(offer) => Ok(offer),
            OfferRef::ByReference(url) => self.fetch_offer(&url).await,
        }
    }

    /// GETs a Credential Offer by reference (§4.1.3: "the Wallet MUST send an HTTP GET
    /// request to the URI"; the response "MUST use the media type application/json").
    pub async fn fetch_offer(&self, url: &str) -> Result<CredentialOffer> {
        let endpoint = Endpoint::CredentialOffer;
        let resp = self.http.get(endpoint, url, "application/json").await?;
        if !resp.is_success() {
            return Err(resp.into_error(endpoint, self.max()));
        }
        expect_json_content(&resp, endpoint)?;
        CredentialOffer::from_json(&resp.body)
    }

    /// Discovers the issuer's metadata and its authorization server's (§12.2, §12.3,
    /// RFC 8414). `authorization_server_hint` is the offer grant's `authorization_server`.
    pub async fn discover(
        &self,
        credential_issuer: &str,
        authorization_server_hint: Option<&str>,
    ) -> Result<IssuerInfo> {
        self.discover_for(credential_issuer, authorization_server_hint, false)
            .await
    }

    /// Like [`IssuerClient::discover`], choosing an authorization server for the
    /// authorization code flow (OID4VCI 1.0 §3.4): one with an `authorization_endpoint` and
    /// a `token_endpoint` that does not exclude the `authorization_code` grant.
    pub async fn discover_for_authorization_code(
        &self,
        credential_issuer: &str,
        authorization_server_hint: Option<&str>,
    ) -> Result<IssuerInfo> {
        self.discover_for(credential_issuer, authorization_server_hint, true)
            .await
    }

    async fn discover_for(
        &self,
        credential_issuer: &str,
        authorization_server_hint: Option<&str>,
        authorization_code: bool,
    ) -> Result<IssuerInfo> {
        let issuer = self.credential_issuer_metadata(credential_issuer).await?;
        let candidates: Vec<String> = match (
            &issuer.authorization_servers,
            authorization_server_hint,
        ) {
            // Spec: §12.2.4: without `authorization_servers`, the issuer is its own AS.
            (None, None) => vec![issuer.credential_issuer.clone()],
            // Spec: §4.1.1 `authorization_server`: "It MUST NOT be used otherwise."
            (None, Some(_)) => {
                return Err(Error::Metadata(
                    "the offer names an authorization_server but the issuer lists none".into(),
                ));
            }
            (Some(list), Some(hint)) => {
                // Spec: §12.2.4: the Wallet "MUST NOT proceed with the flow if the
                // authorization_server Credential Offer parameter value does not match any
                // of the entries in the authorization_servers array".
                if !list.iter().any(|a| a == hint) {
                    return Err(Error::Metadata(
                        "the offer's authorization_server is not among the issuer's authorization_servers".into(),
                    ));
                }
                vec![hint.to_owned()]
            }
            (Some(list), None) => list.clone(),
        };
        let mut last_err = None;
        for candidate in &candidates {
            match self.authorization_server_metadata(candidate).await {
                Ok(m)
                    if m.token_endpoint.is_some()
                        && if authorization_code {
                            m.may_support_authorization_code() && m.authorization_endpoint.is_some()
                        } else {
                            m.may_support_pre_authorized_code()
                        } =>
                {
                    return Ok(IssuerInfo {
                        issuer,
                        authorization_server: m,
                    });
                }
                Ok(_) => {
                    last_err = Some(Error::Metadata(if authorization_code {
                        "no authorization server supports the authorization code grant".into()
                    } else {
                        "no authorization server supports the pre-authorized code grant".into()
                    }));
                }
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::Metadata("no authorization server".into())))
    }

    /// Fetches Credential Issuer Metadata (§12.2.2): the spec's well-known position first,
    /// the appended form only when that answers 404.
    pub async fn credential_issuer_metadata(
        &self,
        credential_issuer: &str,
    ) -> Result<CredentialIssuerMetadata> {
        let urls = credential_issuer_metadata_urls(credential_issuer)?;
        let object = self.get_metadata(Endpoint::IssuerMetadata, &urls).await?;
        CredentialIssuerMetadata::from_object(object, credential_issuer)
    }

    /// Fetches Authorization Server Metadata for `issuer` (RFC 8414 §3; see
    /// [`authorization_server_metadata_urls`] for the fallbacks, each tried only on 404).
    pub async fn authorization_server_metadata(
        &self,
        issuer: &str,
    ) -> Result<AuthorizationServerMetadata> {
        let urls = authorization_server_metadata_urls(issuer)?;
        let object = self
            .get_metadata(Endpoint::AuthorizationServerMetadata, &urls)
            .await?;
        AuthorizationServerMetadata::from_object(object, issuer)
    }

    async fn get_metadata(
        &self,
        endpoint: Endpoint,
        urls: &[String],
    ) -> Result<Map<String, Value>> {
        for (i, url) in urls.iter().enumerate() {
            let resp = self.http.get(endpoint, url, "application/json").await?;
            if resp.status == 404 && i + 1 < urls.len() {
                continue;
            }
            if resp.status != 200 {
                return Err(resp.into_error(endpoint, self.max()));
            }
            if resp
                .content_type
                .as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/jwt"))
            {
                // Spec: §12.2.3: signed metadata needs a trust decision on its signer that
                // is out of scope; we ask for JSON and refuse what we cannot check.
                return Err(Error::Unsupported(
                    "signed issuer metadata (application/jwt)".into(),
                ));
            }
            return resp.json_object(endpoint, self.max());
        }
        Err(Error::UnexpectedStatus {
            endpoint,
            status: 404,
        })
    }

    /// Token Request with the pre-authorized code grant (§6.1): form-encoded
    /// `grant_type`, `pre-authorized_code`, `tx_code` when given, and optionally
    /// `authorization_details` (RFC 9396). Errors carry the OAuth `error` code (§6.3).
    pub async fn token(
        &self,
        token_endpoint: &str,
        pre_authorized_code: &str,
        tx_code: Option<&str>,
        authorization_details: Option<&Value>,
    ) -> Result<TokenResponse> {
        let endpoint = Endpoint::Token;
        let details = authorization_details.map(Value::to_string);
        let mut form = vec![
            ("grant_type", PRE_AUTHORIZED_CODE_GRANT),
            ("pre-authorized_code", pre_authorized_code),
        ];
        if let Some(tx) = tx_code {
            form.push(("tx_code", tx));
        }
        if let Some(d) = details.as_deref() {
            form.push(("authorization_details", d));
        }
        let resp = self.http.post_form(endpoint, token_endpoint, &form).await?;
        if resp.status != 200 {
            return Err(resp.into_error(endpoint, self.max()));
        }
        let body = resp.json_object(endpoint, self.max())?;
        parse_token_response(&body)
    }

    /// Nonce Request (§7.1): an empty POST; returns `c_nonce` (§7.2).
    pub async fn nonce(&self, nonce_endpoint: &str) -> Result<String> {
        let endpoint = Endpoint::Nonce;
        let resp = self
            .http
            .post_json(endpoint, nonce_endpoint, None, None)
            .await?;
        if !resp.is_success() {
            return Err(resp.into_error(endpoint, self.max()));
        }
        let body = resp.json_object(endpoint, self.max())?;
        match body.get("c_nonce") {
            Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
            _ => Err(invalid(endpoint, "c_nonce missing or not a string")),
        }
    }

    /// Credential Request (§8.2) with `Authorization: Bearer` (RFC 6750 §2.1).
    pub async fn credential(
        &self,
        credential_endpoint: &str,
        access_token: &AccessToken,
        request: &CredentialRequest,
    ) -> Result<CredentialResponse> {
        self.credential_as(credential_endpoint, access_token, None, request)
            .await
    }

    /// Credential Request (§8.2) with a Bearer token, or with a DPoP-bound one and a proof
    /// (RFC 9449 §7.1) when `dpop` is given.
    pub(crate) async fn credential_as(
        &self,
        credential_endpoint: &str,
        access_token: &AccessToken,
        dpop: Option<&DpopSession>,
        request: &CredentialRequest,
    ) -> Result<CredentialResponse> {
        let endpoint = Endpoint::Credential;
        let resp = self
            .resource_post(
                endpoint,
                credential_endpoint,
                access_token,
                dpop,
                &request.to_json(),
            )
            .await?;
        self.credential_response(endpoint, resp)
    }

    /// A resource request (§8, §9, §11): `Authorization: Bearer`, or `Authorization: DPoP`
    /// with a proof carrying `ath` and the server nonce, retried once when the server asks
    /// for a fresh nonce (RFC 9449 §7.1, §9).
    pub(crate) async fn resource_post(
        &self,
        endpoint: Endpoint,
        url: &str,
        access_token: &AccessToken,
        dpop: Option<&DpopSession>,
        body: &Value,
    ) -> Result<Response> {
        let Some(dpop) = dpop else {
            return self
                .http
                .post_json(endpoint, url, Some(access_token.as_str()), Some(body))
                .await;
        };
        let authorization = format!("DPoP {}", access_token.as_str());
        let mut retried = false;
        loop {
            let proof = dpop.proof("POST", url, Some(access_token.as_str())).await?;
            let resp = self
                .http
                .post_json_auth(
                    endpoint,
                    url,
                    Some(&authorization),
                    Some(&proof),
                    Some(body),
                )
                .await?;
            dpop.observe(&resp);
            if !retried && resp.asks_for_dpop_nonce(self.max()) {
                retried = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// A form POST to the authorization server (PAR, token) with a DPoP proof, retried once
    /// when it answers `use_dpop_nonce` (RFC 9449 §8).
    pub(crate) async fn dpop_form_post(
        &self,
        endpoint: Endpoint,
        url: &str,
        form: &[(&str, &str)],
        dpop: Option<&DpopSession>,
    ) -> Result<Response> {
        let Some(dpop) = dpop else {
            return self.http.post_form(endpoint, url, form).await;
        };
        let mut retried = false;
        loop {
            let proof = dpop.proof("POST", url, None).await?;
            let resp = self
                .http
                .post_form_dpop(endpoint, url, form, Some(&proof))
                .await?;
            dpop.observe(&resp);
            if !retried && resp.asks_for_dpop_nonce(self.max()) {
                retried = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Deferred Credential Request (§9.1): `{"transaction_id": ...}`. A pending answer is
    /// [`CredentialResponse::Deferred`] (HTTP 202, §9.2, or the pre-1.0 `issuance_pending`
    /// error).
    pub async fn deferred_credential(
        &self,
        deferred_endpoint: &str,
        access_token: &AccessToken,
        transaction_id: &str,
    ) -> Result<CredentialResponse> {
        self.deferred_credential_as(deferred_endpoint, access_token, None, transaction_id)
            .await
    }

    /// [`IssuerClient::deferred_credential`] with a DPoP-bound token when `dpop` is given.
    pub(crate) async fn deferred_credential_as(
        &self,
        deferred_endpoint: &str,
        access_token: &AccessToken,
        dpop: Option<&DpopSession>,
        transaction_id: &str,
    ) -> Result<CredentialResponse> {
        let endpoint = Endpoint::DeferredCredential;
        let body = json!({ "transaction_id": transaction_id });
        let resp = self
            .resource_post(endpoint, deferred_endpoint, access_token, dpop, &body)
            .await?;
        if resp.status == 400 {
            let max = self.max();
            if let Ok(b) = resp.json_object(endpoint, max)
                && b.get("error").and_then(Value::as_str) == Some("issuance_pending")
            {
                let interval = b
                    .get("interval")
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULT_DEFERRED_INTERVAL);
                return Ok(CredentialResponse::Deferred {
                    transaction_id: transaction_id.to_owned(),
                    interval,
                });
            }
        }
        self.credential_response(endpoint, resp)
    }

    fn credential_response(
        &self,
        endpoint: Endpoint,
        resp: Response,
    ) -> Result<CredentialResponse> {
        if resp.status != 200 && resp.status != 202 {
            return Err(resp.into_error(endpoint, self.max()));
        }
        expect_json_content(&resp, endpoint)?;
        let body = resp.json_object(endpoint, self.max())?;
        parse_credential_response(endpoint, resp.status, &body)
    }

    /// Notification Request (§11.1); success is any 2xx (§11.2).
    pub async fn notify(
        &self,
        notification_endpoint: &str,
        access_token: &AccessToken,
        notification_id: &str,
        event: NotificationEvent,
        event_description: Option<&str>,
    ) -> Result<()> {
        self.notify_as(
            notification_endpoint,
            access_token,
            None,
            notification_id,
            event,
            event_description,
        )
        .await
    }

    /// [`IssuerClient::notify`] with a DPoP-bound token when `dpop` is given.
    pub(crate) async fn notify_as(
        &self,
        notification_endpoint: &str,
        access_token: &AccessToken,
        dpop: Option<&DpopSession>,
        notification_id: &str,
        event: NotificationEvent,
        event_description: Option<&str>,
    ) -> Result<()> {
        let endpoint = Endpoint::Notification;
        let mut body = json!({ "notification_id": notification_id, "event": event.as_str() });
        if let Some(d) = event_description {
            // Spec: §11.1: `event_description` is ASCII %x20-21 / %x23-5B / %x5D-7E.
            let clean: String = d
                .chars()
                .filter(|c| matches!(*c as u32, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
                .take(300)
                .collect();
            body["event_description"] = clean.into();
        }
        let resp = self
            .resource_post(endpoint, notification_endpoint, access_token, dpop, &body)
            .await?;
        if resp.is_success() {
            Ok(())
        } else {
            Err(resp.into_error(endpoint, self.max()))
        }
    }

    /// Fetches the `jwks` of JWT VC Issuer Metadata for `iss` (SD-JWT VC §"JWT VC Issuer
    /// Metadata": `{origin}/.well-known/jwt-vc-issuer{path}`; the `issuer` member MUST be
    /// identical to `iss`; exactly one of `jwks` and `jwks_uri`).
    pub async fn jwt_vc_issuer_keys(&self, iss: &str) -> Result<vdc_core::jose::JwkSet> {
        let endpoint = Endpoint::JwtVcIssuerMetadata;
        let url = vdc_core::sd_jwt_vc::jwt_vc_issuer_metadata_url(iss)
            .map_err(Error::InvalidCredential)?;
        let resp = self.http.get(endpoint, &url, "application/json").await?;
        if resp.status != 200 {
            return Err(resp.into_error(endpoint, self.max()));
        }
        let body = resp.json_object(endpoint, self.max())?;
        if body.get("issuer").and_then(Value::as_str) != Some(iss) {
            return Err(invalid(
                endpoint,
                "issuer does not equal the credential's iss",
            ));
        }
        let jwks = match (
            body.get("jwks"),
            body.get("jwks_uri").and_then(Value::as_str),
        ) {
            (Some(jwks), None) => jwks.clone(),
            (None, Some(uri)) => {
                let resp = self.http.get(endpoint, uri, "application/json").await?;
                if resp.status != 200 {
                    return Err(resp.into_error(endpoint, self.max()));
                }
                Value::Object(resp.json_object(endpoint, self.max())?)
            }
            _ => {
                return Err(invalid(
                    endpoint,
                    "exactly one of jwks and jwks_uri is required",
                ));
            }
        };
        vdc_core::jose::JwkSet::from_value(&jwks)
            .map_err(|e| invalid(endpoint, &format!("jwks: {e}")))
    }
}

fn invalid(endpoint: Endpoint, reason: &str) -> Error {
    Error::InvalidResponse {
        endpoint,
        reason: reason.to_owned(),
    }
}

fn expect_json_content(resp: &Response, endpoint: Endpoint) -> Result<()> {
    match resp.content_type.as_deref() {
        Some(ct) if ct.to_ascii_lowercase().starts_with("application/jwt") => {
            Err(Error::Unsupported(format!(
                "{endpoint}: encrypted or signed responses (application/jwt)"
            )))
        }
        _ => Ok(()),
    }
}

/// Parses a Token Response (RFC 6749 §5.1; OID4VCI 1.0 §6.2) to a request without a DPoP
/// proof: only `Bearer` tokens.
pub(crate) fn parse_token_response(body: &Map<String, Value>) -> Result<TokenResponse> {
    parse_token_response_with(body, false)
}

/// Parses a Token Response; `dpop_sent`: the request carried a DPoP proof, so a `DPoP`
/// token type is expected too (RFC 9449 §5).
pub(crate) fn parse_token_response_with(
    body: &Map<String, Value>,
    dpop_sent: bool,
) -> Result<TokenResponse> {
    let endpoint = Endpoint::Token;
    let access_token = match body.get("access_token") {
        Some(Value::String(t)) if !t.is_empty() => AccessToken::new(t.clone()),
        _ => return Err(invalid(endpoint, "access_token missing or not a string")),
    };
    let token_type = body
        .get("token_type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(endpoint, "token_type missing"))?;
    // Spec: RFC 6749 §7.1 / RFC 6750: the type is case-insensitive. RFC 9449 §5: a `DPoP`
    // token answers a request with a DPoP proof; without one there is no key to prove.
    let dpop_type = token_type.eq_ignore_ascii_case("dpop");
    let accepted = token_type.eq_ignore_ascii_case("bearer") || (dpop_sent && dpop_type);
    if !accepted {
        return Err(Error::Unsupported(format!(
            "token_type {} (only Bearer{})",
            bounded(token_type),
            if dpop_sent { " and DPoP" } else { "" }
        )));
    }
    let refresh_token = match body.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() => Some(RefreshToken::new(t.clone())),
        Some(_) => {
            return Err(invalid(
                endpoint,
                "refresh_token must be a non-empty string",
            ));
        }
    };
    let expires_in = match body.get("expires_in") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| invalid(endpoint, "expires_in must be a non-negative integer"))?,
        ),
    };
    let mut authorization_details = Vec::new();
    if let Some(details) = body.get("authorization_details") {
        let arr = details
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid(endpoint, "authorization_details must be a non-empty array"))?;
        for d in arr {
            // Spec: §6.2: unknown types and fields are ignored.
            if d.get("type").and_then(Value::as_str) != Some("openid_credential") {
                continue;
            }
            let config = d
                .get("credential_configuration_id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    invalid(
                        endpoint,
                        "authorization_details entry lacks credential_configuration_id",
                    )
                })?;
            let ids = d
                .get("credential_identifiers")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    invalid(endpoint, "credential_identifiers must be a non-empty array")
                })?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(endpoint, "credential_identifiers must be strings"))
                })
                .collect::<Result<Vec<_>>>()?;
            authorization_details.push(CredentialAuthorizationDetail {
                credential_configuration_id: config.to_owned(),
                credential_identifiers: ids,
            });
        }
    }
    Ok(TokenResponse {
        access_token,
        token_type: token_type.to_owned(),
        refresh_token,
        expires_in,
        authorization_details,
    })
}

/// Parses a (Deferred) Credential Response body (§8.3, §9.2).
pub(crate) fn parse_credential_response(
    endpoint: Endpoint,
    status: u16,
    body: &Map<String, Value>,
) -> Result<CredentialResponse> {
    let credentials = body.get("credentials");
    let transaction_id = body.get("transaction_id");
    match (credentials, transaction_id) {
        // Spec: §8.3: `credentials` "MUST NOT be used if the transaction_id parameter is
        // present".
        (Some(_), Some(_)) => Err(invalid(endpoint, "both credentials and transaction_id")),
        (Some(list), None) => {
            if status != 200 {
                return Err(invalid(
                    endpoint,
                    "credentials with a status other than 200",
                ));
            }
            let list = list
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| invalid(endpoint, "credentials must be a non-empty array"))?;
            let credentials = list
                .iter()
                .map(|c| {
                    c.as_object()
                        .and_then(|o| o.get("credential"))
                        .cloned()
                        .ok_or_else(|| {
                            invalid(
                                endpoint,
                                "each credentials entry is an object with credential",
                            )
                        })
                })
                .collect::<Result<Vec<_>>>()?;
            let notification_id = match body.get("notification_id") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(invalid(endpoint, "notification_id must be a string")),
            };
            Ok(CredentialResponse::Issued {
                credentials,
                notification_id,
            })
        }
        (None, Some(tx)) => {
            let transaction_id = tx
                .as_str()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| invalid(endpoint, "transaction_id must be a string"))?
                .to_owned();
            // Spec: §8.3: `interval` is "REQUIRED if transaction_id is present" and positive.
            let interval = body
                .get("interval")
                .and_then(Value::as_u64)
                .filter(|i| *i > 0)
                .ok_or_else(|| invalid(endpoint, "interval must be a positive integer"))?;
            Ok(CredentialResponse::Deferred {
                transaction_id,
                interval,
            })
        }
        (None, None) => Err(invalid(endpoint, "neither credentials nor transaction_id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn spec_example_token_response_with_credential_identifiers_parses() {
        // Spec example: OID4VCI 1.0 §6.2.
        let t = parse_token_response(&obj(json!({
            "access_token": "eyJhbGciOiJSUzI1NiIsInR5cCI6Ikp..sHQ",
            "token_type": "Bearer",
            "expires_in": 86400,
            "authorization_details": [{
                "type": "openid_credential",
                "credential_configuration_id": "UniversityDegreeCredential",
                "credential_identifiers": ["CivilEngineeringDegree-2023", "ElectricalEngineeringDegree-2023"]
            }]
        })))
        .unwrap();
        assert_eq!(t.expires_in, Some(86400));
        assert_eq!(t.authorization_details[0].credential_identifiers.len(), 2);
        assert!(!format!("{t:?}").contains("eyJhbGci"));
    }

    #[test]
    fn token_responses_without_bearer_or_token_are_rejected() {
        assert!(matches!(
            parse_token_response(&obj(json!({"access_token": "a", "token_type": "DPoP"}))),
            Err(Error::Unsupported(_))
        ));
        assert!(parse_token_response(&obj(json!({"token_type": "Bearer"}))).is_err());
        assert!(
            parse_token_response(&obj(json!({"access_token": "a", "token_type": "bearer"})))
                .is_ok()
        );
    }

    #[test]
    fn spec_example_credential_responses_parse() {
        // Spec examples: OID4VCI 1.0 §8.3 (immediate with notification_id, and deferred).
        let issued = parse_credential_response(
            Endpoint::Credential,
            200,
            &obj(json!({"credentials": [{"credential": "a"}, {"credential": "b"}], "notification_id": "3fwe98js"})),
        )
        .unwrap();
        assert_eq!(
            issued,
            CredentialResponse::Issued {
                credentials: vec!["a".into(), "b".into()],
                notification_id: Some("3fwe98js".into())
            }
        );
        let deferred = parse_credential_response(
            Endpoint::Credential,
            202,
            &obj(json!({"transaction_id": "8xLOxBtZp8", "interval": 3600})),
        )
        .unwrap();
        assert_eq!(
            deferred,
            CredentialResponse::Deferred {
                transaction_id: "8xLOxBtZp8".into(),
                interval: 3600
            }
        );
    }

    #[test]
    fn inconsistent_credential_responses_are_rejected() {
        for body in [
            json!({"credentials": [{"credential": "a"}], "transaction_id": "t", "interval": 1}),
            json!({"credentials": []}),
            json!({"credentials": ["not-an-object"]}),
            json!({"transaction_id": "t"}),
            json!({"transaction_id": "t", "interval": 0}),
            json!({}),
        ] {
            assert!(
                parse_credential_response(Endpoint::Credential, 200, &obj(body.clone())).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn credential_request_json_has_exactly_one_identifier_and_jwt_proofs() {
        let r = CredentialRequest {
            target: CredentialTarget::Identifier("CivilEngineeringDegree-2023".into()),
            jwt_proofs: vec!["p1".into(), "p2".into()],
        };
        assert_eq!(
            r.to_json(),
            json!({"credential_identifier": "CivilEngineeringDegree-2023", "proofs": {"jwt": ["p1", "p2"]}})
        );
        let r = CredentialRequest {
            target: CredentialTarget::ConfigurationId("pid".into()),
            jwt_proofs: vec![],
        };
        assert_eq!(r.to_json(), json!({"credential_configuration_id": "pid"}));
    }
}
