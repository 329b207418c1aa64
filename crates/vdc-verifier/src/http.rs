//! The verifier's routers: [`wallet_routes`] (request objects and the response endpoint, at
//! the paths in [`paths`]) and [`management_routes`] (the contract's `/api/v1` verifier API,
//! behind the admin key). Handlers extract, call one service method, and map the result.
//! The one mapping from [`VerifierError`] to HTTP is here too (STYLE.md §4).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use serde_json::Value;
use vdc_http::auth::{AdminKey, require_admin};
use vdc_http::{AppJson, ErrorResponse, OAuthForm};
use vdc_store::StoreErrorKind;

use crate::error::{Result, VerifierError};
use crate::service::{CreateRequest, Verifier, VerifierDefinition};

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
    /// Management: redeem a same-device response code (body `{"response_code"}`).
    pub const API_RESPONSE_CODE: &str = "/api/v1/verifiers/{verifier}/response-codes";
    /// Wallet: the request object (`request_uri`), GET or POST.
    pub const REQUEST_OBJECT: &str = "/verifiers/{verifier}/requests/{id}/request.jwt";
    /// Wallet: the response URI.
    pub const RESPONSE: &str = "/verifiers/{verifier}/response";
}

/// Spec: RFC 9101 §10.2 / OID4VP 1.0 §5.10.1: the request object's media type.
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";

fn no_store(status: StatusCode, body: Value) -> Response {
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
        .with_state(verifier)
}

/// The management routes (admin key required).
pub fn management_routes(verifier: Verifier, admin: AdminKey) -> Router {
    use paths::*;
    Router::new()
        .route(API_VERIFIERS, post(create_verifier))
        .route(API_VERIFIER, get(get_verifier))
        .route(API_REQUESTS, post(create_request))
        .route(API_REQUEST, get(get_request))
        .route(API_RESPONSE_CODE, post(redeem_response_code))
        .route_layer(middleware::from_fn_with_state(admin, require_admin))
        .with_state(verifier)
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
        .map(|ack| no_store(StatusCode::OK, ack.0))
}

async fn create_verifier(
    State(v): State<Verifier>,
    AppJson(def): AppJson<VerifierDefinition>,
) -> Result<Response> {
    v.create_verifier(def)
        .await
        .map(|o| (StatusCode::CREATED, Json(o)).into_response())
}

async fn get_verifier(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
) -> Result<Json<Value>> {
    v.get_verifier(&verifier).await.map(Json)
}

async fn create_request(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    AppJson(req): AppJson<CreateRequest>,
) -> Result<Response> {
    v.create_request(&verifier, req)
        .await
        .map(|o| no_store(StatusCode::CREATED, o))
}

/// `?wait=N` of the status route.
#[derive(serde::Deserialize)]
struct WaitQuery {
    wait: Option<String>,
}

/// Request statuses that never change again (long-poll answers them at once).
const FINAL_REQUEST_STATUSES: &[&str] = &["verified", "rejected", "expired"];

/// `GET /api/v1/verifiers/{verifier}/requests/{id}[?wait=N]`: with `wait`, answers once the
/// status differs from the one at the call's start, or after N seconds (issue 6, long-poll).
async fn get_request(
    State(v): State<Verifier>,
    Path((verifier, id)): Path<(String, String)>,
    Query(q): Query<WaitQuery>,
) -> Result<Response> {
    let wait = vdc_http::longpoll::parse_wait(q.wait.as_deref())
        .map_err(|e| VerifierError::InvalidRequest(e.description))?;
    let initial = v.result(&verifier, &id).await?;
    vdc_http::longpoll::wait_for_change(initial, wait, FINAL_REQUEST_STATUSES, || {
        v.result(&verifier, &id)
    })
    .await
    .map(|o| no_store(StatusCode::OK, o))
}

#[derive(serde::Deserialize)]
struct RedeemBody {
    response_code: String,
}

async fn redeem_response_code(
    State(v): State<Verifier>,
    Path(verifier): Path<String>,
    AppJson(body): AppJson<RedeemBody>,
) -> Result<Response> {
    v.redeem_response_code(&verifier, &body.response_code)
        .await
        .map(|o| no_store(StatusCode::OK, o))
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
