//! The API key and audit routes (contract: "API keys and tenants", "Webhooks and audit"),
//! and the middleware every management router uses.
//!
//! Routes ([`routes()`], behind [`management`] like every management router):
//! - `POST /api/v1/api-keys` (admin) → `201 {"id", "key", ...}`: the key is shown once; only
//!   its SHA-256 is stored.
//! - `GET /api/v1/api-keys` (admin; an addition) lists keys without secrets.
//! - `DELETE /api/v1/api-keys/{id}` (admin) → `204`; revoking a revoked key is `204` again,
//!   an unknown id `404`.
//! - `GET /api/v1/audit?issuer=&verifier=&since=&limit=&cursor=` → `{"items", "next"}`,
//!   newest first. The admin sees everything; a scoped key with `read` must name one issuer
//!   or verifier it holds (403 otherwise, G6).
//!
//! Handlers are thin; validation and paging live in [`crate::api_keys`] and
//! [`crate::audit_query`]. [`error`] maps [`AccessError`] to HTTP; [`middleware`] holds
//! [`management`] and [`require_admin`].

pub mod error;
pub mod middleware;

pub use middleware::{management, require_admin};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_http::ManagementJson;
use vdc_http::openapi::{ErrorBody, TAG_API_KEYS, TAG_AUDIT};

use crate::api_keys::{
    AccessApi, ApiKeyList, CreateApiKey, CreatedApiKey, create_api_key, list_api_keys,
};
use crate::audit::AuditTarget;
use crate::audit_query::{AuditPage, audit_page, audit_scope, parse_audit_params};
use crate::{AccessError, Authenticator, Caller};

/// Route paths.
pub mod paths {
    /// Create and list API keys.
    pub const API_KEYS: &str = "/api/v1/api-keys";
    /// Revoke one API key.
    pub const API_KEY: &str = "/api/v1/api-keys/{id}";
    /// The audit log.
    pub const AUDIT: &str = "/api/v1/audit";
}

/// The routes and their OpenAPI description, registered together (one `routes!` per path).
fn access_api() -> OpenApiRouter<AccessApi> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
        .routes(routes!(audit))
}

/// The API key and audit routes.
pub fn routes(api: AccessApi, auth: Authenticator) -> Router {
    let (router, _) = access_api().split_for_parts();
    router
        .route_layer(axum::middleware::from_fn_with_state(auth, management))
        .with_state(api)
}

/// The OpenAPI description of [`routes()`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    access_api().into_openapi()
}

#[utoipa::path(
    post,
    path = paths::API_KEYS,
    tag = TAG_API_KEYS,
    operation_id = "create_api_key",
    summary = "Create a scoped API key",
    description = "Needs the admin key. The key is in the answer once; only its SHA-256 is stored.",
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "The key was created.", body = CreatedApiKey),
        (status = 400, description = "Invalid name, tenant slug or scope.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "An issuer or verifier the key names does not exist.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
async fn create_key(
    State(api): State<AccessApi>,
    ManagementJson(req): ManagementJson<CreateApiKey>,
) -> Result<Response, AccessError> {
    let created = create_api_key(&api, req).await?;
    let mut r = (StatusCode::CREATED, Json(&created)).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r.extensions_mut().insert(AuditTarget(created.object.id));
    Ok(r)
}

#[utoipa::path(
    get,
    path = paths::API_KEYS,
    tag = TAG_API_KEYS,
    operation_id = "list_api_keys",
    summary = "List API keys (without the keys)",
    description = "Needs the admin key.",
    responses(
        (status = 200, description = "Every key, revoked ones included.", body = ApiKeyList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
    ),
)]
async fn list_keys(State(api): State<AccessApi>) -> Result<Json<ApiKeyList>, AccessError> {
    list_api_keys(&api).await.map(Json)
}

#[utoipa::path(
    delete,
    path = paths::API_KEY,
    tag = TAG_API_KEYS,
    operation_id = "revoke_api_key",
    summary = "Revoke an API key",
    description = "Needs the admin key. Revoking a revoked key answers 204 again.",
    params(
        ("id" = String, Path, description = "The key id."),
    ),
    responses(
        (status = 204, description = "The key is revoked."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown key id.", body = ErrorBody),
    ),
)]
async fn revoke_key(
    State(api): State<AccessApi>,
    Path(id): Path<String>,
) -> Result<StatusCode, AccessError> {
    if id.len() > 64 {
        return Err(AccessError::NotFound("no such API key".into()));
    }
    let found = api.store.revoke_api_key(&id, api.clock.now()).await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AccessError::NotFound("no such API key".into()))
    }
}

#[utoipa::path(
    get,
    path = paths::AUDIT,
    tag = TAG_AUDIT,
    operation_id = "read_audit_log",
    summary = "Read the audit log",
    description = "Every management call and every issuance, status change and verification \
        outcome, newest first. The admin key sees every tenant; a scoped key with `read` must \
        name one issuer or verifier it holds.",
    params(
        ("issuer" = Option<String>, Query, description = "Only this issuer's entries."),
        ("verifier" = Option<String>, Query, description = "Only this verifier's entries."),
        ("since" = Option<String>, Query, description = "Only entries at or after this time (RFC 3339)."),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)."),
        ("cursor" = Option<String>, Query, description = "The `next` of the previous page."),
    ),
    responses(
        (status = 200, description = "One page.", body = AuditPage),
        (status = 400, description = "A malformed or repeated parameter, or both issuer and verifier.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "The key may not read this tenant's log.", body = ErrorBody),
    ),
)]
async fn audit(
    State(api): State<AccessApi>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<AuditPage>, AccessError> {
    let p = parse_audit_params(query.as_deref())?;
    let tenant = audit_scope(&caller, &p)?;
    if let Some(log) = &api.log {
        log.flush().await;
    }
    audit_page(api.store.as_ref(), tenant, &p).await.map(Json)
}
