//! The verifier's routers: [`wallet_routes`] (request objects and the response endpoint, at
//! the paths in [`paths`]) and [`management_routes`] (the contract's `/api/v1` verifier API,
//! behind the admin key). Handlers extract, call one service method, and map the result.
//! The one mapping from [`VerifierError`] to HTTP is here too (STYLE.md §4).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_access::{AuditTarget, Authenticator, Caller, management};
use vdc_http::haip::HaipReport;
use vdc_http::openapi::{ErrorBody, TAG_PRESENTATIONS, TAG_VERIFIERS};
use vdc_http::{ErrorResponse, ManagementJson, OAuthForm};
use vdc_store::StoreErrorKind;

use crate::error::{Result, VerifierError};
use crate::request::{CreateRequest, DcApiAnswer, RequestCreated, RequestResult};
use crate::service::Verifier;
use crate::tenant::{VerifierDefinition, VerifierList, VerifierObject};

/// Route paths, shared with tests and the test wallet.
pub mod paths {
    /// Management: create a verifier.
    pub const API_VERIFIERS: &str = "/api/v1/verifiers";
    /// Management: read a verifier.
    pub const API_VERIFIER: &str = "/api/v1/verifiers/{verifier}";
    /// Management: create a presentation request.
    pub const API_REQUESTS: &str = "/api/v1/verifiers/{verifier}/requests";
    /// Management: read a presentation request's result.
    pub const API_REQUEST: &str = "/api/v1/verifiers/{verifier}/requests/{id}";
    /// Management: the page posts what the Digital Credentials API returned
    /// (contract-next "Presentation requests").
    pub const API_DC_API_RESPONSE: &str =
        "/api/v1/verifiers/{verifier}/requests/{id}/dc-api-response";
    /// Management: the verifier's HAIP 1.0 rules (contract-next "HAIP mode").
    pub const API_VERIFIER_HAIP: &str = "/api/v1/verifiers/{verifier}/haip";
    /// Management: the verifier's request-signing keys (contract-next "Signing keys").
    pub const API_KEYS: &str = "/api/v1/verifiers/{verifier}/keys";
    /// Management: one request-signing key.
    pub const API_KEY: &str = "/api/v1/verifiers/{verifier}/keys/{kid}";
    /// Management: redeem a same-device response code (body `{"response_code",
    /// "request_id"?}`).
    pub const API_RESPONSE_CODE: &str = "/api/v1/verifiers/{verifier}/response-codes";
    /// Wallet: the request object (`request_uri`), GET or POST.
    pub const REQUEST_OBJECT: &str = "/verifiers/{verifier}/requests/{id}/request.jwt";
    /// Wallet: the response URI.
    pub const RESPONSE: &str = "/verifiers/{verifier}/response";
    /// Public: the verifier's trust anchor (its CA certificate) as a `.pem` download, for
    /// wallets' `--trust-anchor` (docs/API.md).
    pub const TRUST_ANCHOR: &str = "/verifiers/{verifier}/trust-anchor.pem";
}

/// Spec: RFC 9101 §10.2 / OID4VP 1.0 §5.10.1: the request object's media type.
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

fn no_store(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The wallet-facing routes.
pub fn wallet_routes(verifier: Verifier) -> Router {
    use paths::*;
    Router::new()
        .route(
            REQUEST_OBJECT,
            get(request_object_get).post(request_object_post),
        )
        .route(RESPONSE, post(response))
        .route(TRUST_ANCHOR, get(trust_anchor))
        .with_state(verifier)
}

/// The management routes and their OpenAPI description, registered together so that
/// neither can drift from the other (one `routes!` per path).
fn management_api() -> OpenApiRouter<Verifier> {
    OpenApiRouter::new()
        .routes(routes!(list_verifiers, create_verifier))
        .routes(routes!(get_verifier, update_verifier))
        .routes(routes!(create_request))
        .routes(routes!(get_request))
        .routes(routes!(dc_api_response))
        .routes(routes!(redeem_response_code))
        .routes(routes!(get_haip_report))
        .routes(routes!(list_keys, create_key))
        .routes(routes!(delete_key))
}

/// The management routes (admin key or a scoped API key; see [`vdc_access`]).
pub fn management_routes(verifier: Verifier, auth: Authenticator) -> Router {
    let (router, _) = management_api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(verifier)
}

/// This crate's part of the management API's OpenAPI document (paths and schemas).
pub fn management_openapi() -> utoipa::openapi::OpenApi {
    management_api().into_openapi()
}

fn jwt(token: String) -> Response {
    let mut r = token.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(REQUEST_OBJECT_MEDIA_TYPE),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The verifier's trust anchor as a file. Public: it is a CA certificate, which wallets
/// need before they can check the verifier's signed requests; no private key is in it.
async fn trust_anchor(State(v): State<Verifier>, Path(verifier): Path<String>) -> Result<Response> {
    let object = v.get_verifier(&verifier).await?;
    if object.disabled {
        return Err(VerifierError::NotFound("no such verifier".into()));
    }
    let pem = object.trust_anchor.ok_or_else(|| {
        VerifierError::NotFound("this verifier has no trust anchor (not an x509 verifier)".into())
    })?;
    let disposition = format!("attachment; filename=\"vdc-verifier-{verifier}-ca.pem\"");
    let mut r = pem.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

async fn request_object_get(
    State(v): State<Verifier>,
    Path((verifier, id)): Path<(String, String)>,
) -> Result<Response> {
    v.request_object(&verifier, &id, None).await.map(jwt)
}

async fn request_object_post(
    State(v): State<Verifier>,
    Path((verifier, id)): Path<(String, String)>,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    let post = Some((
        form.get("wallet_metadata").map(String::as_str),
        form.get("wallet_nonce").map(String::as_str),
    ));
    v.request_object(&verifier, &id, post).await.map(jwt)
}

async fn response(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    OAuthForm(form): OAuthForm,
) -> Result<Response> {
    let form = form.into_iter().collect();
    v.respond(&verifier, &form)
        .await
        .map(|ack| no_store(StatusCode::OK, ack))
}

#[utoipa::path(
    get,
    path = paths::API_VERIFIERS,
    tag = TAG_VERIFIERS,
    operation_id = "list_verifiers",
    summary = "List verifiers",
    description = "A scoped key sees only its verifiers (and needs `read`).",
    params(
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)."),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page."),
    ),
    responses(
        (status = 200, description = "One page of the verifiers the key may read, by id.", body = VerifierList),
        (status = 400, description = "Malformed `limit` or `cursor`.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key lacks the `read` scope.", body = ErrorBody),
    ),
)]
async fn list_verifiers(
    State(v): State<Verifier>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<VerifierList>> {
    let page = vdc_access::page::parse_page_params(query.as_deref())
        .map_err(VerifierError::InvalidRequest)?;
    // A scoped key lists only the verifiers it may read.
    let only = match &caller {
        Caller::Admin => None,
        Caller::Key(k) if caller.has_scope(vdc_access::Scope::Read) => Some(k.verifiers.clone()),
        Caller::Key(_) => Some(Vec::new()),
    };
    v.list_verifiers_page(only.as_deref(), page.after.as_deref(), page.limit)
        .await
        .map(Json)
}

#[utoipa::path(
    post,
    path = paths::API_VERIFIERS,
    tag = TAG_VERIFIERS,
    operation_id = "create_verifier",
    summary = "Create a verifier",
    description = "Needs the admin key.",
    request_body = VerifierDefinition,
    responses(
        (status = 201, description = "The verifier was created.", body = VerifierObject),
        (status = 400, description = "Invalid definition (slug, prefix, certificates, keys).", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 409, description = "A verifier with this id exists.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_verifier(
    State(v): State<Verifier>,
    ManagementJson(def): ManagementJson<VerifierDefinition>,
) -> Result<Response> {
    v.create_verifier(def).await.map(|o| {
        let r = (StatusCode::CREATED, Json(&o)).into_response();
        created(r, &o.id)
    })
}

#[utoipa::path(
    get,
    path = paths::API_VERIFIER,
    tag = TAG_VERIFIERS,
    operation_id = "get_verifier",
    summary = "Read a verifier, including its client_id",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    responses(
        (status = 200, description = "The verifier.", body = VerifierObject),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
    ),
)]
async fn get_verifier(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
) -> Result<Json<VerifierObject>> {
    v.get_verifier(&verifier).await.map(Json)
}

/// Contract-next ("HAIP mode").
#[utoipa::path(
    get,
    path = paths::API_VERIFIER_HAIP,
    tag = TAG_VERIFIERS,
    operation_id = "get_verifier_haip",
    summary = "Report the verifier's HAIP 1.0 rules, met or not",
    description = "Every verifier-side rule of OpenID4VC HAIP 1.0 (§5, §5.1) with its section and \
        whether this verifier meets it; in HAIP mode (`\"haip\": true`) a create or update that \
        would leave one unmet is refused.",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    responses(
        (status = 200, description = "The report.", body = HaipReport),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
    ),
)]
async fn get_haip_report(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
) -> Result<Json<HaipReport>> {
    v.haip_report(&verifier).await.map(Json)
}

/// Contract-next ("Signing keys").
#[utoipa::path(
    post,
    path = paths::API_KEYS,
    tag = TAG_VERIFIERS,
    operation_id = "create_verifier_key",
    summary = "Rotate a verifier's request-signing key",
    description = "Adds the verifier's next request-signing key (generated with a server-made \
        certificate, or an imported private JWK with its `x5c` chain), active at once or `next` \
        until `activate_at`. New requests are signed by it from then on; a request made \
        earlier keeps its `client_id` (for `x509_hash` and `decentralized_identifier` it names \
        the key) and is signed by its key until it expires. Admin key only.",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    request_body = vdc_http::keys::CreateKey,
    responses(
        (status = 201, description = "The key.", body = vdc_http::keys::KeyCreated),
        (status = 400, description = "A JWK that is not a signing key, an `x5c` whose leaf does not certify it (or lacks the `x509_san_dns` host), an operator-chain verifier without `x5c`, `activate_at` not in the future or over a year ahead, `pkcs11`, a `redirect_uri` verifier, a HAIP rule the key would break.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Not the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
        (status = 409, description = "A `next` key exists already, a concurrent rotation won, the key is one of the verifier's keys, or it holds 16 keys.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_key(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    ManagementJson(req): ManagementJson<vdc_http::keys::CreateKey>,
) -> Result<Response> {
    v.create_key(&verifier, req).await.map(|k| {
        let kid = k.kid.clone();
        created((StatusCode::CREATED, Json(k)).into_response(), &kid)
    })
}

/// Contract-next ("Signing keys").
#[utoipa::path(
    get,
    path = paths::API_KEYS,
    tag = TAG_VERIFIERS,
    operation_id = "list_verifier_keys",
    summary = "List a verifier's request-signing keys",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    responses(
        (status = 200, description = "The keys, in activation order (`published_until`: until when it may still sign requests made under it).", body = vdc_http::keys::KeyList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
    ),
)]
async fn list_keys(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
) -> Result<Json<vdc_http::keys::KeyList>> {
    v.list_keys(&verifier).await.map(Json)
}

/// Contract-next ("Signing keys").
#[utoipa::path(
    delete,
    path = paths::API_KEY,
    tag = TAG_VERIFIERS,
    operation_id = "delete_verifier_key",
    summary = "Delete a request-signing key no pending request depends on",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
        ("kid" = String, Path, description = "The key id."),
    ),
    responses(
        (status = 204, description = "The key was deleted."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Not the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown verifier or key.", body = ErrorBody),
        (status = 409, description = "The key is active, activates within a minute, or retired less than a day (the longest request lifetime) ago.", body = ErrorBody),
    ),
)]
async fn delete_key(
    State(v): State<Verifier>,
    Path((verifier, kid)): Path<(String, String)>,
) -> Result<StatusCode> {
    v.delete_key(&verifier, &kid)
        .await
        .map(|()| StatusCode::NO_CONTENT)
}

/// Contract-next ("Managing tenants"): any subset of the create body's members but `id`.
#[utoipa::path(
    patch,
    path = paths::API_VERIFIER,
    tag = TAG_VERIFIERS,
    operation_id = "update_verifier",
    summary = "Change or disable a verifier",
    description = "Needs the admin key. The members given replace the stored ones; the result \
        is validated as a create body. `client_id_prefix`, `certificate_chain` and \
        `signing_key` cannot change; `\"disabled\": true` makes every wallet-facing endpoint \
        of the verifier answer 404.",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    request_body(content = Object, description = "Members of the create body (not `id`)."),
    responses(
        (status = 200, description = "The verifier as changed.", body = VerifierObject),
        (status = 400, description = "`id`, an unknown member, or an invalid result.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn update_verifier(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    ManagementJson(patch): ManagementJson<serde_json::Value>,
) -> Result<Json<VerifierObject>> {
    let serde_json::Value::Object(patch) = patch else {
        return Err(VerifierError::InvalidRequest(
            "the body must be a JSON object".into(),
        ));
    };
    v.update_verifier(&verifier, patch).await.map(Json)
}

#[utoipa::path(
    post,
    path = paths::API_REQUESTS,
    tag = TAG_PRESENTATIONS,
    operation_id = "create_presentation_request",
    summary = "Create a presentation request",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "The request (`Cache-Control: no-store`).", body = RequestCreated),
        (status = 400, description = "Invalid DCQL query, response mode, or `expires_in` outside 1 s to 1 day.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_request(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    audit: Option<axum::Extension<vdc_access::CallAudit>>,
    ManagementJson(req): ManagementJson<CreateRequest>,
) -> Result<Response> {
    v.create_request(&verifier, req, audit.as_deref())
        .await
        .map(|o| {
            let id = o.id.clone();
            created(no_store(StatusCode::CREATED, o), &id)
        })
}

/// Request statuses that never change again (long-poll answers them at once).
const FINAL_REQUEST_STATUSES: &[&str] = &["verified", "rejected", "expired"];

/// `GET /api/v1/verifiers/{verifier}/requests/{id}[?wait=N]`: with `wait`, answers once the
/// status differs from the one at the call's start, or after N seconds (issue 6, long-poll).
#[utoipa::path(
    get,
    path = paths::API_REQUEST,
    tag = TAG_PRESENTATIONS,
    operation_id = "get_presentation_request",
    summary = "Read a presentation request's state and result",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
        ("id" = String, Path, description = "The request id."),
        ("wait" = Option<u32>, Query, description = "Long-poll: wait up to this many seconds (0 to 60) for the status to change from what it is when the call starts; a final status answers at once."),
    ),
    responses(
        (status = 200, description = "The request (`Cache-Control: no-store`).", body = RequestResult),
        (status = 400, description = "`wait` is not an integer from 0 to 60.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier or request.", body = ErrorBody),
    ),
)]
async fn get_request(
    State(v): State<Verifier>,
    Path((verifier, id)): Path<(String, String)>,
    vdc_http::longpoll::Wait(wait): vdc_http::longpoll::Wait,
) -> Result<Response> {
    let initial = v.result(&verifier, &id).await?;
    vdc_http::longpoll::wait_for_change(initial, wait, FINAL_REQUEST_STATUSES, || {
        v.result(&verifier, &id)
    })
    .await
    .map(|o| no_store(StatusCode::OK, o))
}

#[utoipa::path(
    post,
    path = paths::API_DC_API_RESPONSE,
    tag = TAG_PRESENTATIONS,
    operation_id = "post_dc_api_response",
    summary = "Hand in what the Digital Credentials API returned",
    description = "OID4VP 1.0 Appendix A: for a `dc_api` / `dc_api.jwt` request, the page passes `dc_api_request` to `navigator.credentials.get` and posts the returned `DigitalCredential`'s `data` here with the page's origin. The answer is checked as a `direct_post` response is, bound to the origin (`aud` = `origin:<origin>`; for mdoc the B.2.6.2 handover) and, for a signed request, to its `expected_origins`.",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
        ("id" = String, Path, description = "The request id."),
    ),
    request_body = DcApiAnswer,
    responses(
        (status = 200, description = "The request after the answer (`Cache-Control: no-store`): `verified`, or `rejected` with the wallet's error.", body = RequestResult),
        (status = 400, description = "A failed check (`error_description` begins with the reason; the request is `rejected`); or not a DC API request, not pending, a malformed origin or body (nothing changes).", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier or request.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn dc_api_response(
    State(v): State<Verifier>,
    Path((verifier, id)): Path<(String, String)>,
    ManagementJson(answer): ManagementJson<DcApiAnswer>,
) -> Result<Response> {
    v.dc_api_respond(&verifier, &id, answer)
        .await
        .map(|o| no_store(StatusCode::OK, o))
}

/// `{"response_code", "request_id"?}`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[schema(as = RedeemResponseCode, example = json!({"response_code": "…", "request_id": "r-5tW1"}))]
struct RedeemBody {
    /// The `response_code` the wallet's redirect carried.
    #[schema(value_type = String)]
    response_code: crate::request::ResponseCode,
    /// The id of the request the relying party's session started: a code of another
    /// request is refused (session binding, OID4VP 1.0 §14.2). Required on a HAIP verifier
    /// (HAIP 1.0 §5.1).
    #[serde(default)]
    request_id: Option<String>,
}

#[utoipa::path(
    post,
    path = paths::API_RESPONSE_CODE,
    tag = TAG_PRESENTATIONS,
    operation_id = "redeem_response_code",
    summary = "Redeem a same-device response code, once",
    description = "OID4VP 1.0 §8.2: the wallet sends the user to the `redirect_uri` with `#response_code=…`; the back end redeems it here, with the `request_id` its session started (§14.2: a code arriving in another session is refused).",
    params(
        ("verifier" = String, Path, description = "The verifier's slug."),
    ),
    request_body = RedeemBody,
    responses(
        (status = 200, description = "The result of the verified request (`Cache-Control: no-store`).", body = RequestResult),
        (status = 400, description = "Malformed body; a code of another request than `request_id` (it is used up); no `request_id` on a HAIP verifier.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not act on this verifier.", body = ErrorBody),
        (status = 404, description = "Unknown verifier, or an unknown or used response code.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn redeem_response_code(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    ManagementJson(body): ManagementJson<RedeemBody>,
) -> Result<Response> {
    v.redeem_response_code_for(&verifier, body.request_id.as_deref(), &body.response_code)
        .await
        .map(|o| no_store(StatusCode::OK, o))
}

/// Names the created object's `id` as the call's audit target.
fn created(mut response: Response, id: &str) -> Response {
    response.extensions_mut().insert(AuditTarget(id.to_owned()));
    response
}

impl VerifierError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::InvalidRequest(_) | Self::Rejected { .. } | Self::NotPending => {
                (S::BAD_REQUEST, "invalid_request")
            }
            Self::NotFound(_) => (S::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (S::CONFLICT, "conflict"),
            // R2: an outage is a fast 503 the client may retry.
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => {
                (S::SERVICE_UNAVAILABLE, "temporarily_unavailable")
            }
            Self::Store(_) | Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "server_error"),
        }
    }

    fn description(&self) -> String {
        match self {
            Self::InvalidRequest(m) | Self::NotFound(m) | Self::Conflict(m) => m.clone(),
            Self::Rejected {
                reason,
                description,
            } => format!("{}: {description}", reason.as_str()),
            Self::NotPending => "the presentation request is no longer pending".into(),
            Self::Store(_) | Self::Internal(_) => String::new(),
        }
    }
}

impl IntoResponse for VerifierError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if status.is_server_error() {
            ErrorResponse::server(status, code, self.to_string()).into_response()
        } else {
            ErrorResponse::client(status, code, self.description()).into_response()
        }
    }
}
