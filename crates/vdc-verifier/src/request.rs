//! Presentation requests (contract: "Presentation requests"): creating them, the
//! authorization request (OID4VP 1.0 §5) and its signed request object (RFC 9101,
//! `oauth-authz-req+jwt`) fetched at `request_uri` (§5.10 `request_uri_method` get and
//! post), expiry, results and same-device `response_code`s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use vdc_core::jose::jwe::EcdhPrivateKey;
use vdc_core::jose::jws;
use vdc_core::rng::random_b64;
use vdc_core::x509;
use vdc_store::{PresentationRequestRecord, PresentationStatus, SecretHash};

use crate::dcql::DcqlQuery;
use crate::error::{RejectReason, Result, VerifierError};
use crate::presentation::PresentedCredential;
use crate::service::{Verifier, rfc3339};

/// Longest presentation request lifetime (contract: 1 s to 1 day).
pub const MAX_REQUEST_TTL: i64 = 24 * 3600;
/// Default presentation request lifetime.
pub const DEFAULT_REQUEST_TTL: i64 = 300;
/// Spec: OID4VP 1.0 §5.8: the static `aud` of a request object when the wallet's issuer is
/// not known.
pub const SELF_ISSUED_AUD: &str = "https://self-issued.me/v2";
/// Spec: RFC 9101 §10.8 / OID4VP 1.0 §5: the request object's `typ`.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";

/// `POST /api/v1/verifiers/{verifier}/requests`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://acme.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]},
    "response_mode": "direct_post",
    "expires_in": 300
}))]
pub struct CreateRequest {
    /// The DCQL query.
    pub dcql_query: Value,
    /// `direct_post` (default) or `direct_post.jwt`.
    #[serde(default)]
    pub response_mode: Option<String>,
    /// Lifetime in seconds (default 300, 1 s to 1 day).
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// Same-device flow: where the wallet sends the user after a verified response; the
    /// verifier appends `#response_code=…` (OID4VP 1.0 §8.2).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// `get` (default) or `post` (OID4VP 1.0 §5.10).
    #[serde(default)]
    pub request_uri_method: Option<String>,
    /// `dc_api` / `dc_api.jwt` only: the origins the page may call the Digital Credentials
    /// API from; given, the request is signed (`openid4vp-v1-signed`, OID4VP 1.0 Appendix
    /// A.3.2), else unsigned (`openid4vp-v1-unsigned`).
    #[serde(default)]
    pub expected_origins: Option<Vec<String>>,
    /// Transaction data (OID4VP 1.0 §5.1): base64url-encoded JSON objects of the types this
    /// verifier configures in `transaction_data_types`.
    #[serde(default)]
    pub transaction_data: Option<Vec<String>>,
}

/// What the page hands to `navigator.credentials.get({digital: {requests: [...]}})`
/// (OID4VP 1.0 Appendix A.1, A.2; contract-next "Presentation requests").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DcApiRequest {
    /// `openid4vp-v1-unsigned` or `openid4vp-v1-signed`.
    pub protocol: String,
    /// The request: its parameters (unsigned), or `{"request": "<JWS>"}` (signed).
    #[schema(value_type = Object)]
    pub data: Value,
}

/// `POST /api/v1/verifiers/{verifier}/requests/{id}/dc-api-response`: what the Digital
/// Credentials API returned to the page, and the origin the page runs at.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DcApiAnswer {
    /// The page's origin (as the browser gave it to the wallet), e.g. `https://rp.example`.
    pub origin: String,
    /// The `data` of the `DigitalCredential` the API returned: `{"vp_token": {...}}`
    /// (`dc_api`), `{"response": "<JWE>"}` (`dc_api.jwt`) or `{"error": ...}`.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

/// A created presentation request (contract: "Presentation requests").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "r-5tW1",
    "request_uri": "http://127.0.0.1:8080/verifiers/acme-verifier/requests/r-5tW1/request.jwt",
    "authorization_request": "openid4vp://?client_id=x509_san_dns%3A127.0.0.1&request_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fverifiers%2Facme-verifier%2Frequests%2Fr-5tW1%2Frequest.jwt",
    "expires_at": "2026-01-01T12:05:00Z"
}))]
pub struct RequestCreated {
    /// The request id.
    pub id: String,
    /// Where the wallet fetches the request object.
    pub request_uri: String,
    /// The `openid4vp://` link for a QR code or a same-device link.
    pub authorization_request: String,
    /// When the request expires (RFC 3339).
    pub expires_at: String,
    /// `dc_api` / `dc_api.jwt` requests: what to hand to the Digital Credentials API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dc_api_request: Option<DcApiRequest>,
}

/// A same-device `response_code` (OID4VP 1.0 §8.2): the single-use secret the wallet's
/// redirect carries and the relying party's back end redeems once. Text on the wire;
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ResponseCode(String);

impl ResponseCode {
    /// The code as received.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The code text (to hash it).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ResponseCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseCode([redacted])")
    }
}

/// Why a presentation request was rejected (contract: "`rejected` carries the reason in
/// `error`"): a failed check is `invalid_request` with `"<reason>: <what failed>"`; a
/// wallet's error response is kept as the wallet sent it (bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresentationError {
    /// `invalid_request` for a failed check, else the wallet's error code.
    pub error: String,
    /// What failed; for a failed check it begins with the reason's name and `": "`. Null
    /// when a wallet's error response has none.
    pub error_description: Option<String>,
}

impl PresentationError {
    /// The error of a failed check.
    pub(crate) fn check(reason: RejectReason, description: &str) -> Self {
        Self {
            error: "invalid_request".into(),
            error_description: Some(format!("{}: {description}", reason.as_str())),
        }
    }

    /// The error of a wallet's error response.
    pub(crate) fn wallet(error: String, description: Option<String>) -> Self {
        Self {
            error,
            error_description: description,
        }
    }

    /// Why the request was rejected: the check [`Self::check`] names, else a wallet error.
    fn reason(&self) -> RejectReason {
        self.error_description
            .as_deref()
            .filter(|_| self.error == "invalid_request")
            .and_then(|d| d.split_once(": "))
            .and_then(|(name, _)| RejectReason::from_name(name))
            .unwrap_or(RejectReason::WalletError)
    }
}

/// A presentation request's state and result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "r-5tW1",
    "status": "verified",
    "presentation": {"badge": [{"issuer": "http://127.0.0.1:8080/issuers/acme",
        "vct": "https://acme.example/vct/employee-badge",
        "claims": {"given_name": "Ada", "employee_id": "E-1"}, "status": "valid"}]},
    "error": null,
    "created_at": "2026-01-01T12:00:00Z",
    "expires_at": "2026-01-01T12:05:00Z"
}))]
pub struct RequestResult {
    /// The request id.
    pub id: String,
    /// `pending`, `verified`, `rejected` or `expired`.
    #[schema(value_type = String, pattern = "^(pending|verified|rejected|expired)$")]
    pub status: &'static str,
    /// The presented credentials by DCQL query id; null until verified.
    pub presentation: Option<BTreeMap<String, Vec<PresentedCredential>>>,
    /// Why the request was rejected; null otherwise.
    pub error: Option<PresentationError>,
    /// When the request was created (RFC 3339).
    pub created_at: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
    /// The request's transaction data (decoded), once verified: each entry was authorized
    /// by a presentation's key binding (OID4VP 1.0 Appendix B.3.3). Absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub transaction_data: Option<Vec<Value>>,
    /// Why it was rejected (`None` unless rejected); on the wire only inside `error`.
    #[serde(skip)]
    pub reason: Option<RejectReason>,
}

impl vdc_http::longpoll::StatusObject for RequestResult {
    fn status(&self) -> &str {
        self.status
    }
}

/// The response mode of a request: `direct_post` or `direct_post.jwt` (the wallet posts to
/// the response URI), `dc_api` or `dc_api.jwt` (the answer comes back through the Digital
/// Credentials API and the page posts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Spec: OID4VP 1.0 §8.2.
    DirectPost,
    /// Spec: OID4VP 1.0 §8.3.1.
    DirectPostJwt,
    /// Spec: OID4VP 1.0 Appendix A.2 (`dc_api`).
    DcApi,
    /// Spec: OID4VP 1.0 Appendix A.2 (`dc_api.jwt`: encrypted as §8.3).
    DcApiJwt,
}

impl ResponseMode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPost => "direct_post",
            Self::DirectPostJwt => "direct_post.jwt",
            Self::DcApi => "dc_api",
            Self::DcApiJwt => "dc_api.jwt",
        }
    }

    /// Parses a mode name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "direct_post" => Ok(Self::DirectPost),
            "direct_post.jwt" => Ok(Self::DirectPostJwt),
            "dc_api" => Ok(Self::DcApi),
            "dc_api.jwt" => Ok(Self::DcApiJwt),
            _ => Err(VerifierError::InvalidRequest(
                "response_mode must be direct_post, direct_post.jwt, dc_api or dc_api.jwt".into(),
            )),
        }
    }

    /// Whether the answer comes through the Digital Credentials API.
    pub fn is_dc_api(self) -> bool {
        matches!(self, Self::DcApi | Self::DcApiJwt)
    }

    /// Whether the response is encrypted (a per-request ECDH-ES key, §8.3).
    pub fn is_encrypted(self) -> bool {
        matches!(self, Self::DirectPostJwt | Self::DcApiJwt)
    }
}

/// The response mode of a new request: as asked, by default `direct_post`; on a HAIP
/// verifier `direct_post.jwt` (the default) or `dc_api.jwt`, the encrypted modes.
fn request_mode(haip: bool, asked: Option<&str>) -> Result<ResponseMode> {
    if !haip {
        return ResponseMode::parse(asked.unwrap_or("direct_post"));
    }
    match asked {
        None | Some("direct_post.jwt") => Ok(ResponseMode::DirectPostJwt),
        // Spec: HAIP 1.0 §5.2: "the Verifier MUST use ... response mode `dc_api.jwt`".
        Some("dc_api.jwt") => Ok(ResponseMode::DcApiJwt),
        Some("dc_api") => Err(VerifierError::InvalidRequest(
            "HAIP 1.0 §5.2: a HAIP verifier's Digital Credentials API requests use \
             response_mode dc_api.jwt, not dc_api"
                .into(),
        )),
        // Spec: HAIP 1.0 §5.1: "Response encryption MUST be used by utilizing response mode
        // `direct_post.jwt`".
        Some(other) => Err(VerifierError::InvalidRequest(format!(
            "HAIP 1.0 §5.1: a HAIP verifier's requests use response_mode direct_post.jwt, not {}",
            crate::service::bounded(other)
        ))),
    }
}

/// Most `expected_origins` a request names.
const MAX_EXPECTED_ORIGINS: usize = 16;

/// Checks a web origin as the Digital Credentials API gives it to the wallet (an ASCII
/// serialization: `scheme://host[:port]`). Spec: OID4VP 1.0 Appendix A.2
/// (`expected_origins`): "Values using unsafe or unsupported URI schemes ... MUST NOT be
/// used. Values using the http scheme MUST NOT be used unless they are explicitly allowed
/// for constrained scenarios such as local development": https, or http for a loopback
/// host only. The text must be exactly its own serialization (no path, query, fragment,
/// credentials, default port or upper case), since the wallet compares it as a string.
pub(crate) fn check_origin(origin: &str) -> std::result::Result<(), String> {
    let bad = || format!("{} is not a web origin", crate::service::bounded(origin));
    if origin.len() > 256 {
        return Err("an origin is at most 256 characters".into());
    }
    let url = url::Url::parse(origin).map_err(|_| bad())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{}: http origins are allowed for loopback hosts only (OID4VP 1.0 Appendix A.2)",
                crate::service::bounded(origin)
            ));
        }
        _ => return Err(bad()),
    }
    if url.origin().ascii_serialization() != origin {
        return Err(bad());
    }
    Ok(())
}

/// The Digital Credentials API protocol of an unsigned request (OID4VP 1.0 Appendix A.1).
pub const DC_API_UNSIGNED: &str = "openid4vp-v1-unsigned";
/// The Digital Credentials API protocol of a signed request (JWS Compact Serialization).
pub const DC_API_SIGNED: &str = "openid4vp-v1-signed";

/// A loaded presentation request.
#[derive(Debug, Clone)]
pub(crate) struct LoadedRequest {
    pub(crate) record: PresentationRequestRecord,
    pub(crate) claims: Map<String, Value>,
    pub(crate) dcql: DcqlQuery,
    pub(crate) mode: ResponseMode,
}

fn response_key_context(verifier: &str, request: &str) -> String {
    vdc_store::sealed::context::response_key(verifier, request)
}

impl Verifier {
    /// Expires a pending request past its expiry, with its `presentation.expired` event in
    /// the same transaction; true if this call expired it.
    pub(crate) async fn expire(&self, verifier: &str, request_id: &str) -> Result<bool> {
        let events = [self.event(
            vdc_store::events::EventKind::PresentationExpired,
            verifier,
            request_id,
            "expired",
            "system",
        )];
        let expired = self
            .deps
            .store
            .expire_presentation_request(verifier, request_id, self.now(), &self.outbox(&events))
            .await?;
        if expired {
            self.ended(verifier, request_id);
            self.events.committed(&events);
        }
        Ok(expired)
    }

    /// Creates a presentation request (contract: "Presentation requests").
    /// `audit`: the management call's audit, whose entry is written with the request.
    pub async fn create_request(
        &self,
        verifier: &str,
        req: CreateRequest,
        audit: Option<&vdc_access::CallAudit>,
    ) -> Result<RequestCreated> {
        let (record, config) = self.load_verifier(verifier).await?;
        let dcql = DcqlQuery::parse(&req.dcql_query)?;
        let mode = request_mode(config.haip, req.response_mode.as_deref())?;
        let ttl = req.expires_in.unwrap_or(DEFAULT_REQUEST_TTL);
        if !(1..=MAX_REQUEST_TTL).contains(&ttl) {
            return Err(VerifierError::InvalidRequest(
                "expires_in must be 1 s to 1 day".into(),
            ));
        }
        let post = match req.request_uri_method.as_deref() {
            None | Some("get") => false,
            Some("post") if !mode.is_dc_api() => true,
            Some("post") => {
                return Err(VerifierError::InvalidRequest(
                    "request_uri_method is not used with the Digital Credentials API".into(),
                ));
            }
            Some(_) => {
                return Err(VerifierError::InvalidRequest(
                    "request_uri_method must be get or post".into(),
                ));
            }
        };
        if let Some(r) = &req.redirect_uri {
            if mode.is_dc_api() {
                // Spec: OID4VP 1.0 Appendix A: the session continues in the page that
                // called the API; there is no redirect back.
                return Err(VerifierError::InvalidRequest(
                    "redirect_uri is not used with the Digital Credentials API".into(),
                ));
            }
            match url::Url::parse(r) {
                Ok(u) if u.fragment().is_none() && matches!(u.scheme(), "https" | "http") => {}
                _ => {
                    return Err(VerifierError::InvalidRequest(
                        "redirect_uri must be an http(s) URL without fragment".into(),
                    ));
                }
            }
        }
        let expected_origins = match &req.expected_origins {
            None => None,
            Some(_) if !mode.is_dc_api() => {
                return Err(VerifierError::InvalidRequest(
                    "expected_origins is for dc_api and dc_api.jwt requests (OID4VP 1.0 \
                     Appendix A.2)"
                        .into(),
                ));
            }
            Some(_) if !config.prefix.signed() => {
                return Err(VerifierError::InvalidRequest(format!(
                    "expected_origins makes a signed request, which a {} verifier cannot make \
                     (OID4VP 1.0 §5.9.3)",
                    config.prefix.as_str()
                )));
            }
            Some(o) if o.is_empty() || o.len() > MAX_EXPECTED_ORIGINS => {
                return Err(VerifierError::InvalidRequest(format!(
                    "expected_origins must name 1 to {MAX_EXPECTED_ORIGINS} origins"
                )));
            }
            Some(o) => {
                for origin in o {
                    check_origin(origin).map_err(|m| {
                        VerifierError::InvalidRequest(format!("expected_origins: {m}"))
                    })?;
                }
                Some(o.clone())
            }
        };
        let transaction_data = crate::transaction_data::parse_request(
            req.transaction_data.as_deref().unwrap_or_default(),
            &dcql,
            &config.transaction_data_types,
        )?;
        if req.transaction_data.as_ref().is_some_and(Vec::is_empty) {
            // Spec: OID4VP 1.0 §5.1: "Non-empty array of strings".
            return Err(VerifierError::InvalidRequest(
                "transaction_data must be a non-empty array when given".into(),
            ));
        }
        let rng = self.deps.rng.as_ref();
        let id = random_b64(rng, 16)?;
        // Spec: OID4VP 1.0 §14.1: fresh, high-entropy nonce per transaction; state per
        // transaction (§13.3). (A DC API request sends no state, A.2; its hash is stored
        // all the same, naming nothing a wallet ever sees.)
        let nonce = random_b64(rng, 32)?;
        let state = random_b64(rng, 32)?;
        let now = self.now();
        let expires_at = now.plus(ttl);
        let mut client_metadata = json!({
            "vp_formats_supported": {
                "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"]},
                "jwt_vc_json": {"alg_values": ["ES256", "EdDSA"]}
            }
        });
        if dcql
            .credentials
            .iter()
            .any(|c| c.format == crate::dcql::FORMAT_MSO_MDOC)
        {
            // Spec: OID4VP 1.0 Appendix B.2.2: COSE algorithm identifiers for IssuerAuth and
            // DeviceSignature: ES256 (-7) and EdDSA (-8), what the mdoc checks verify
            // (DeviceMac is not accepted: OID4VP gives the wallet no reader key).
            client_metadata["vp_formats_supported"]["mso_mdoc"] =
                json!({"issuerauth_alg_values": [-7, -8], "deviceauth_alg_values": [-7, -8]});
        }
        let mut encrypted_response_key = None;
        if mode.is_encrypted() {
            // Spec: OID4VP 1.0 §8.3: a fresh ephemeral key per request; its kid names the
            // request so the response finds its key before decryption.
            let key = EcdhPrivateKey::generate(rng)?;
            client_metadata["jwks"] = json!({"keys": [key.public_jwk_value(Some(&id))]});
            client_metadata["encrypted_response_enc_values_supported"] =
                json!(["A128GCM", "A256GCM"]);
            encrypted_response_key = Some(self.seal(
                key.to_private_jwk().as_bytes(),
                &response_key_context(verifier, &id),
            )?);
        }
        let mut claims = Map::new();
        claims.insert("client_id".into(), config.client_id.clone().into());
        claims.insert("response_type".into(), "vp_token".into());
        claims.insert("response_mode".into(), mode.as_str().into());
        if !mode.is_dc_api() {
            claims.insert("response_uri".into(), self.response_uri(verifier).into());
        }
        claims.insert("nonce".into(), nonce.into());
        if !mode.is_dc_api() {
            claims.insert("state".into(), state.clone().into());
        }
        claims.insert("dcql_query".into(), dcql.to_value());
        claims.insert("client_metadata".into(), client_metadata);
        if !transaction_data.is_empty() {
            claims.insert(
                "transaction_data".into(),
                json!(
                    transaction_data
                        .iter()
                        .map(|t| t.encoded.as_str())
                        .collect::<Vec<_>>()
                ),
            );
        }
        let ids: Vec<&str> = dcql.credentials.iter().map(|c| c.id.as_str()).collect();
        let verifier_info = crate::tenant::request_verifier_info(&config.verifier_info, &ids);
        if !verifier_info.is_empty() {
            claims.insert("verifier_info".into(), json!(verifier_info));
        }
        if let Some(o) = &expected_origins {
            claims.insert("expected_origins".into(), json!(o));
        }
        let claims = Value::Object(claims);
        let record_row = PresentationRequestRecord {
            verifier_id: verifier.to_owned(),
            request_id: id.clone(),
            state_hash: SecretHash::of(&state),
            // `request_uri_method` is kept so the link can be made again (the pages' GET
            // after post/redirect/get); rows from before it mean `get`.
            request: json!({"claims": claims, "redirect_uri": req.redirect_uri,
                "request_uri_method": if post { "post" } else { "get" }}),
            encrypted_response_key,
            status: PresentationStatus::Pending,
            result: None,
            error: None,
            response_code_hash: None,
            response_code_used_at: None,
            created_at: now,
            expires_at,
            finished_at: None,
        };
        let dc_api_request = if mode.is_dc_api() {
            Some(
                self.dc_api_request(verifier, &record, &config, &claims, expires_at)
                    .await?,
            )
        } else {
            None
        };
        // The call's audit entry commits with the request (one transaction, issue 11).
        let outbox = audit
            .and_then(|a| a.take(&id, 201))
            .map(vdc_store::Outbox::audit)
            .unwrap_or_default();
        self.deps
            .store
            .create_presentation_request(&record_row, &outbox)
            .await?;
        self.pending().insert(&record_row, now);
        let request_uri = self.request_uri(verifier, &id);
        let authorization_request = authorization_link(
            &config.client_id,
            config.prefix.signed(),
            &request_uri,
            post,
            &claims,
        );
        Ok(RequestCreated {
            id,
            request_uri,
            authorization_request,
            expires_at: rfc3339(expires_at),
            dc_api_request,
        })
    }

    /// What the page hands to the Digital Credentials API for a request with `claims`
    /// (OID4VP 1.0 Appendix A.2, A.3): unsigned, its parameters without `client_id` ("MUST
    /// be omitted in unsigned requests"); signed (with `expected_origins`), a request
    /// object signed as the verifier's signed requests are.
    pub(crate) async fn dc_api_request(
        &self,
        verifier: &str,
        record: &vdc_store::VerifierRecord,
        config: &crate::tenant::VerifierConfig,
        claims: &Value,
        expires_at: vdc_core::time::UnixTime,
    ) -> Result<DcApiRequest> {
        let mut claims = claims.as_object().cloned().unwrap_or_default();
        if claims.contains_key("expected_origins") {
            claims.insert("aud".into(), SELF_ISSUED_AUD.into());
            claims.insert("iat".into(), self.now().secs().into());
            claims.insert("exp".into(), expires_at.secs().into());
            let jws = self
                .sign_request_object(verifier, record, config, &claims)
                .await?;
            return Ok(DcApiRequest {
                protocol: DC_API_SIGNED.into(),
                data: json!({"request": jws}),
            });
        }
        claims.remove("client_id");
        Ok(DcApiRequest {
            protocol: DC_API_UNSIGNED.into(),
            data: Value::Object(claims),
        })
    }

    /// The links of an existing request, made again as [`Self::create_request`] made them
    /// (the pages show them after post/redirect/get). Another verifier's or an unknown
    /// request is not found.
    pub async fn request_links(&self, verifier: &str, id: &str) -> Result<RequestCreated> {
        let (verifier_record, config) = self.load_verifier(verifier).await?;
        let record = self
            .deps
            .store
            .get_presentation_request(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        let request_uri = self.request_uri(verifier, id);
        let post = record.request["request_uri_method"] == "post";
        let claims = record.request["claims"].clone();
        let dc_api = claims["response_mode"]
            .as_str()
            .and_then(|m| ResponseMode::parse(m).ok())
            .is_some_and(ResponseMode::is_dc_api);
        let dc_api_request = if dc_api {
            Some(
                self.dc_api_request(
                    verifier,
                    &verifier_record,
                    &config,
                    &claims,
                    record.expires_at,
                )
                .await?,
            )
        } else {
            None
        };
        // The client_id the request was made with (a rotation since may have changed the
        // verifier's).
        let client_id = claims["client_id"]
            .as_str()
            .unwrap_or(&config.client_id)
            .to_owned();
        Ok(RequestCreated {
            id: id.to_owned(),
            authorization_request: authorization_link(
                &client_id,
                config.prefix.signed(),
                &request_uri,
                post,
                &claims,
            ),
            request_uri,
            expires_at: rfc3339(record.expires_at),
            dc_api_request,
        })
    }

    pub(crate) async fn load_request(&self, verifier: &str, id: &str) -> Result<LoadedRequest> {
        let record = self
            .deps
            .store
            .get_presentation_request(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        loaded(record)
    }

    /// The signed request object (OID4VP 1.0 §5, RFC 9101) of a pending request, for
    /// `request_uri_method` get (`post` = None) or post (`post` = the form's
    /// `wallet_metadata` and `wallet_nonce`).
    pub async fn request_object(
        &self,
        verifier: &str,
        id: &str,
        post: Option<(Option<&str>, Option<&str>)>,
    ) -> Result<String> {
        let (record, config) = self.wallet_verifier(verifier).await?;
        if !config.prefix.signed() {
            return Err(VerifierError::InvalidRequest(
                "this verifier passes its requests by value".into(),
            ));
        }
        let pending = self
            .pending_by_id(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        let req = loaded(pending)?;
        if req.record.status != PresentationStatus::Pending || req.record.expires_at <= self.now() {
            return Err(VerifierError::NotPending);
        }
        if req.mode.is_dc_api() {
            // Its request object travels through the Digital Credentials API, bound to the
            // page's origin; fetched here it would reach a wallet that cannot answer it.
            return Err(VerifierError::InvalidRequest(
                "this request is made over the Digital Credentials API".into(),
            ));
        }
        let mut claims = req.claims.clone();
        let mut aud = SELF_ISSUED_AUD.to_owned();
        if let Some((metadata, wallet_nonce)) = post {
            if let Some(m) = metadata {
                let m: Value = serde_json::from_str(m).map_err(|_| {
                    VerifierError::InvalidRequest("wallet_metadata must be a JSON object".into())
                })?;
                if !m.is_object() {
                    return Err(VerifierError::InvalidRequest(
                        "wallet_metadata must be a JSON object".into(),
                    ));
                }
                // Spec: OID4VP 1.0 §5.8: aud is the wallet's issuer when it is known.
                if let Some(iss) = m.get("issuer").and_then(Value::as_str) {
                    aud = iss.to_owned();
                }
            }
            // Spec: OID4VP 1.0 §5.10: "the Verifier MUST use it as the wallet_nonce value".
            if let Some(n) = wallet_nonce {
                claims.insert("wallet_nonce".into(), n.into());
            }
        }
        let now = self.now();
        claims.insert("aud".into(), aud.into());
        claims.insert("iat".into(), now.secs().into());
        claims.insert("exp".into(), req.record.expires_at.secs().into());
        self.sign_request_object(verifier, &record, &config, &claims)
            .await
    }

    /// Signs request object `claims` (RFC 9101, `oauth-authz-req+jwt`) with the key of the
    /// `client_id` they name (the active key, or the one a request made before a rotation
    /// was made under: see [`crate::keys`]), with its `x5c` or `kid`.
    async fn sign_request_object(
        &self,
        verifier: &str,
        record: &vdc_store::VerifierRecord,
        config: &crate::tenant::VerifierConfig,
        claims: &Map<String, Value>,
    ) -> Result<String> {
        let client_id = claims
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or(&config.client_id);
        let mut keys = self.keys_of(record, config)?;
        if keys.for_client_id(client_id, self.now()).is_err() {
            // Another instance rotated and made this request under its new key, which this
            // instance's cached record does not hold yet: read the record again.
            self.forget(verifier);
            let (record, config) = self.load_verifier(verifier).await?;
            keys = self.keys_of(&record, &config)?;
        }
        let stored = keys.for_client_id(client_id, self.now())?;
        let mut header = Map::new();
        header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
        let signer = self.signer_of(stored).await?;
        let sent = stored.sent_x5c()?;
        if !sent.is_empty() {
            // A server-made chain: the leaf only, the CA is the anchor the wallet holds. An
            // operator's chain is sent as configured (RFC 7515 §4.1.6).
            header.insert("x5c".into(), x509::to_x5c(&sent));
        }
        if let Some(kid) = stored.header_kid() {
            header.insert("kid".into(), kid.into());
        }
        Ok(jws::sign_with_options(header, claims, signer.as_ref(), false).await?)
    }

    /// `GET /api/v1/verifiers/{verifier}/requests/{id}`: the contract's result object; a
    /// pending request past its expiry becomes `expired`.
    pub async fn result(&self, verifier: &str, id: &str) -> Result<RequestResult> {
        let (_, config) = self.load_verifier(verifier).await?;
        let mut req = self.load_request(verifier, id).await?;
        let now = self.now();
        if req.record.status == PresentationStatus::Pending && req.record.expires_at <= now {
            self.expire(verifier, id).await?;
            req = self.load_request(verifier, id).await?;
        }
        let mut result = result_object(&req.record)?;
        // Spec: HAIP 1.0 §5.1: "Verifiers MUST reject presentations if Wallets do not follow
        // the redirect back or the redirect back arrives in a different user session". A
        // same-device request's presentation is handed out through its response_code
        // (redeemed with the request id); reading it here before that would give it to
        // whoever polls the request, such as an attacker's session whose request a victim
        // answered (OID4VP 1.0 §14.2).
        if config.haip
            && req
                .record
                .request
                .get("redirect_uri")
                .is_some_and(Value::is_string)
            && req.record.response_code_used_at.is_none()
        {
            result.presentation = None;
        }
        Ok(result)
    }

    /// The expiry sweep: marks up to `limit` pending requests past `expires_at` as expired
    /// and emits `presentation.expired` for each (issue 6: the event must not wait for
    /// someone to read the request). Returns how many expired.
    pub async fn expire_due(&self, limit: u32) -> Result<usize> {
        let event = |verifier: &str, id: &str| {
            self.event(
                vdc_store::events::EventKind::PresentationExpired,
                verifier,
                id,
                "expired",
                "system",
            )
        };
        // Each expired request's event commits with its expiry (the transactional outbox).
        let expired = self
            .deps
            .store
            .expire_due_presentation_requests(self.now(), limit, &|verifier, id| {
                self.outbox(&[event(verifier, id)])
            })
            .await?;
        let events: Vec<_> = expired.iter().map(|(v, id)| event(v, id)).collect();
        self.events.committed(&events);
        Ok(expired.len())
    }

    /// Redeems a same-device `response_code` once: the result of its verified request.
    pub async fn redeem_response_code(
        &self,
        verifier: &str,
        code: &ResponseCode,
    ) -> Result<RequestResult> {
        self.redeem_response_code_for(verifier, None, code).await
    }

    /// Redeems a same-device `response_code` once, for the request `request_id` names: the
    /// id the relying party keeps in the session that started the request. A code that is
    /// not that request's is refused and stays as it was: the redirect arrived in another
    /// session, e.g. an attacker's own code planted in a victim's browser, or a victim's
    /// code of a request an attacker started (OID4VP 1.0 §14.2 "Session Fixation", §13.3
    /// step 8). A HAIP verifier requires `request_id`.
    pub async fn redeem_response_code_for(
        &self,
        verifier: &str,
        request_id: Option<&str>,
        code: &ResponseCode,
    ) -> Result<RequestResult> {
        let (_, config) = self.load_verifier(verifier).await?;
        let hash = SecretHash::of(code.as_str());
        let foreign = || {
            VerifierError::InvalidRequest(
                "the response_code does not belong to this presentation request: the redirect \
                 arrived in another session (OID4VP 1.0 §14.2)"
                    .into(),
            )
        };
        match request_id {
            // Checked before redeeming: a code shown in the wrong session is not used up, so
            // it neither releases the presentation to the session that owns it (HAIP mode
            // withholds it until then) nor counts as that session's redemption.
            Some(id) => {
                let request = self
                    .deps
                    .store
                    .get_presentation_request(verifier, id)
                    .await?
                    .ok_or_else(|| {
                        VerifierError::NotFound("no such presentation request".into())
                    })?;
                if request.response_code_hash != Some(hash) {
                    return Err(foreign());
                }
            }
            // Spec: HAIP 1.0 §5.1: "Verifiers MUST reject presentations if ... the redirect
            // back arrives in a different user session to the one the request was initiated
            // in": without the session's request id that cannot be told.
            None if config.haip => {
                return Err(VerifierError::InvalidRequest(
                    "HAIP 1.0 §5.1: a HAIP verifier redeems a response_code only with the \
                     request_id of the session that started the request"
                        .into(),
                ));
            }
            None => {}
        }
        // One conditional update decides (G2).
        let record = self
            .deps
            .store
            .redeem_response_code(verifier, &hash, self.now())
            .await?
            .ok_or_else(|| VerifierError::NotFound("unknown or used response_code".into()))?;
        if request_id.is_some_and(|id| record.request_id != id) {
            return Err(foreign());
        }
        result_object(&record)
    }
}

/// The contract's result object of a stored request (whose `result` and `error` this crate
/// wrote: [`PresentedCredential`]s by query id, a [`PresentationError`]).
pub(crate) fn result_object(r: &PresentationRequestRecord) -> Result<RequestResult> {
    let corrupt = || VerifierError::Internal("stored presentation result unreadable".into());
    let presentation = r
        .result
        .clone()
        .filter(|v| !v.is_null())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|_| corrupt())?;
    let error: Option<PresentationError> = r
        .error
        .clone()
        .filter(|v| !v.is_null())
        .map(serde_json::from_value)
        .transpose()
        .map_err(|_| corrupt())?;
    let reason = error
        .as_ref()
        .filter(|_| r.status == PresentationStatus::Rejected)
        .map(PresentationError::reason);
    // A verified request's transaction data was authorized entry by entry (the response
    // checks refuse an answer that leaves one out): shown decoded, in request order.
    let transaction_data = match r.status {
        PresentationStatus::Verified => {
            let entries = stored_transaction_data(&r.request["claims"])?;
            (!entries.is_empty()).then(|| {
                entries
                    .into_iter()
                    .map(|e| Value::Object(e.object))
                    .collect()
            })
        }
        _ => None,
    };
    Ok(RequestResult {
        id: r.request_id.clone(),
        status: r.status.as_str(),
        presentation,
        error,
        created_at: rfc3339(r.created_at),
        expires_at: rfc3339(r.expires_at),
        transaction_data,
        reason,
    })
}

/// The `transaction_data` entries of stored request claims (none for rows before it).
pub(crate) fn stored_transaction_data(
    claims: &Value,
) -> Result<Vec<crate::transaction_data::TransactionDataEntry>> {
    let encoded: Vec<String> = match claims.get("transaction_data") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| VerifierError::Internal("stored transaction_data unreadable".into()))?,
    };
    crate::transaction_data::parse_stored(&encoded)
}

pub(crate) fn loaded(record: PresentationRequestRecord) -> Result<LoadedRequest> {
    let corrupt = || VerifierError::Internal("stored presentation request unreadable".into());
    let claims = record
        .request
        .get("claims")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(corrupt)?;
    let dcql = DcqlQuery::parse(claims.get("dcql_query").unwrap_or(&Value::Null))
        .map_err(|_| corrupt())?;
    let mode = ResponseMode::parse(
        claims
            .get("response_mode")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .map_err(|_| corrupt())?;
    Ok(LoadedRequest {
        record,
        claims,
        dcql,
        mode,
    })
}

pub(crate) fn response_key(
    v: &Verifier,
    verifier: &str,
    req: &LoadedRequest,
) -> Result<Option<EcdhPrivateKey>> {
    let Some(sealed) = &req.record.encrypted_response_key else {
        return Ok(None);
    };
    let jwk = v.open(
        sealed,
        &response_key_context(verifier, &req.record.request_id),
    )?;
    let jwk: Value = serde_json::from_slice(&jwk)
        .map_err(|_| VerifierError::Internal("stored response key unreadable".into()))?;
    Ok(Some(EcdhPrivateKey::from_private_jwk(&jwk)?))
}

/// The `openid4vp://` link of a request: by reference for a signed request, else by value.
fn authorization_link(
    client_id: &str,
    signed: bool,
    request_uri: &str,
    post: bool,
    claims: &Value,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", client_id);
    if signed {
        q.append_pair("request_uri", request_uri);
        if post {
            q.append_pair("request_uri_method", "post");
        }
    } else if let Some(o) = claims.as_object() {
        // Spec: OID4VP 1.0 §5.9.3: redirect_uri requests cannot be signed: by value.
        for (k, v) in o.iter() {
            if k == "client_id" {
                continue;
            }
            match v {
                Value::String(s) => q.append_pair(k, s),
                other => q.append_pair(k, &other.to_string()),
            };
        }
    }
    format!("openid4vp://?{}", q.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haip_requests_default_to_direct_post_jwt_and_refuse_other_modes_naming_5_1() {
        assert_eq!(
            request_mode(true, None).unwrap(),
            ResponseMode::DirectPostJwt
        );
        assert_eq!(
            request_mode(true, Some("direct_post.jwt")).unwrap(),
            ResponseMode::DirectPostJwt
        );
        assert_eq!(
            request_mode(true, Some("dc_api.jwt")).unwrap(),
            ResponseMode::DcApiJwt
        );
        for (mode, section) in [
            ("direct_post", "§5.1"),
            ("dc_api", "§5.2"),
            ("fragment", "§5.1"),
        ] {
            match request_mode(true, Some(mode)) {
                Err(VerifierError::InvalidRequest(m)) => {
                    assert!(m.starts_with(&format!("HAIP 1.0 {section}:")), "{m}");
                }
                other => panic!("{mode}: {other:?}"),
            }
        }
        assert_eq!(
            request_mode(false, Some("dc_api")).unwrap(),
            ResponseMode::DcApi
        );
        assert_eq!(request_mode(false, None).unwrap(), ResponseMode::DirectPost);
        assert_eq!(
            request_mode(false, Some("direct_post")).unwrap(),
            ResponseMode::DirectPost
        );
    }

    #[test]
    fn origins_are_exact_https_serializations_or_loopback_http() {
        for ok in [
            "https://rp.example",
            "https://rp.example:8443",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
        ] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for bad in [
            "null",
            "",
            "https://rp.example/",
            "https://rp.example/path",
            "https://rp.example?q",
            "https://rp.example#f",
            "https://u@rp.example",
            "https://RP.example",
            "https://rp.example:443",
            "http://rp.example",
            "http://10.0.0.1",
            "javascript:alert(1)",
            "data:text/plain,x",
            "ftp://rp.example",
            "ws://localhost",
            "wss://rp.example",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stored_check_error_names_its_reason_and_a_wallet_error_is_a_wallet_error() {
        for reason in RejectReason::ALL {
            let e = PresentationError::check(reason, "what failed: in detail");
            assert_eq!(
                e.error_description.as_deref(),
                Some(format!("{}: what failed: in detail", reason.as_str()).as_str())
            );
            assert_eq!(e.reason(), reason);
        }
        let wallet = PresentationError::wallet("access_denied".into(), Some("status: no".into()));
        assert_eq!(wallet.reason(), RejectReason::WalletError);
        let wallet = PresentationError::wallet("access_denied".into(), None);
        assert_eq!(wallet.reason(), RejectReason::WalletError);
        assert_eq!(
            serde_json::to_value(&wallet).unwrap(),
            json!({"error": "access_denied", "error_description": null})
        );
    }
}
