//! Scoped API keys and the audit log over HTTP (contract: "API keys and tenants",
//! "Webhooks and audit"), and [`AuditSink`], which writes every domain event to the log.
//!
//! Routes ([`routes()`], behind [`vdc_http::auth::management`] like every management router):
//! - `POST /api/v1/api-keys` (admin) → `201 {"id", "key", ...}`: the key is shown once; only
//!   its SHA-256 is stored.
//! - `GET /api/v1/api-keys` (admin; an addition) lists keys without secrets.
//! - `DELETE /api/v1/api-keys/{id}` (admin) → `204`; revoking a revoked key is `204` again,
//!   an unknown id `404`.
//! - `GET /api/v1/audit?issuer=&verifier=&since=&limit=&cursor=` → `{"items", "next"}`,
//!   newest first. The admin sees everything; a scoped key with `read` must name one issuer
//!   or verifier it holds (403 otherwise, G6).
//!
//! Handlers are thin; validation and paging are the plain functions below.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_core::rng::{RandomSource, random_b64};
use vdc_core::time::{Clock, UnixTime};
use vdc_core::vc_jose::{format_date_time_stamp, parse_date_time_stamp};
use vdc_http::auth::{AuditTarget, Authenticator, Caller, Scope, management};
use vdc_http::openapi::{ErrorBody, TAG_API_KEYS, TAG_AUDIT};
use vdc_http::{ErrorResponse, ManagementJson};
use vdc_store::access::MAX_AUDIT_PAGE;
use vdc_store::events::{DomainEvent, EventSink, EventTenant};
use vdc_store::{AccessStore, ApiKeyRecord, AuditEntry, AuditQuery, SecretHash, Store, StoreError};

/// Route paths.
pub mod paths {
    /// Create and list API keys.
    pub const API_KEYS: &str = "/api/v1/api-keys";
    /// Revoke one API key.
    pub const API_KEY: &str = "/api/v1/api-keys/{id}";
    /// The audit log.
    pub const AUDIT: &str = "/api/v1/audit";
}

/// The prefix of every key vdc issues (lets secret scanners recognise leaked keys).
pub const KEY_PREFIX: &str = "vdck_";
/// The longest key name.
pub const MAX_NAME_LEN: usize = 100;
/// The most issuers, and the most verifiers, one key may name.
pub const MAX_TENANTS: usize = 100;
/// The audit page size when `limit` is absent.
pub const DEFAULT_AUDIT_LIMIT: u32 = 100;

/// What the access routes share.
#[derive(Clone)]
pub struct AccessApi {
    store: Arc<dyn AccessStore>,
    /// The whole store, to check that the tenants a new key names exist.
    tenants: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    /// The group-commit writer of call entries: flushed before the log is read, so a caller
    /// reads its own calls' entries on this instance.
    log: Option<vdc_http::audit::AuditLog>,
}

impl AccessApi {
    /// Over `store`, with the server's clock and randomness.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, rng: Arc<dyn RandomSource>) -> Self {
        Self {
            store: store.clone(),
            tenants: store,
            clock,
            rng,
            log: None,
        }
    }

    /// Flushes `log` before every read of the audit log.
    pub fn with_audit_log(mut self, log: vdc_http::audit::AuditLog) -> Self {
        self.log = Some(log);
        self
    }
}

/// The most unknown tenants one error names.
const MAX_NAMED_TENANTS: usize = 10;

/// 404 `not_found` naming the tenants of `req` that do not exist (issue 10, item 15): a key
/// for a tenant that does not exist yet would silently gain it when someone creates it.
async fn require_tenants_exist(api: &AccessApi, req: &CreateApiKey) -> Result<(), ErrorResponse> {
    let mut missing = Vec::new();
    let mut count = 0usize;
    let tenants = req
        .issuers
        .iter()
        .map(|i| EventTenant::Issuer(i.clone()))
        .chain(
            req.verifiers
                .iter()
                .map(|v| EventTenant::Verifier(v.clone())),
        );
    for tenant in tenants {
        let exists = vdc_http::auth::tenant_exists(api.tenants.as_ref(), &tenant)
            .await
            .map_err(|e| store_error(&e))?;
        if !exists {
            count += 1;
            if missing.len() < MAX_NAMED_TENANTS {
                missing.push(match tenant {
                    EventTenant::Issuer(id) => format!("issuer {id}"),
                    EventTenant::Verifier(id) => format!("verifier {id}"),
                });
            }
        }
    }
    if count == 0 {
        return Ok(());
    }
    let more = if count > missing.len() {
        format!(" (and {} more)", count - missing.len())
    } else {
        String::new()
    };
    Err(ErrorResponse::not_found(format!(
        "no such {}{more}: create the tenant before a key for it",
        missing.join(", ")
    )))
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
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(api)
}

/// The OpenAPI description of [`routes()`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    access_api().into_openapi()
}

/// An API key as listed (never the key itself).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"id": "key_9c1f0a2b3d4e5f60", "name": "hr-backend", "issuers": ["acme"],
    "verifiers": [], "scopes": ["offers:write", "read"], "created_at": "2026-01-01T12:00:00Z",
    "revoked_at": null}))]
pub struct ApiKeyObject {
    /// The key id (for `DELETE /api/v1/api-keys/{id}` and the audit log).
    pub id: String,
    /// Its name (the audit log's actor).
    pub name: String,
    /// The issuers it may act on.
    pub issuers: Vec<String>,
    /// The verifiers it may act on.
    pub verifiers: Vec<String>,
    /// Its scopes: `read`, `offers:write`, `credentials:status`, `presentations:write`.
    pub scopes: Vec<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked (RFC 3339), or null.
    pub revoked_at: Option<String>,
}

/// A created API key: the key object and, this once, the key.
#[derive(Debug, ToSchema)]
pub struct CreatedApiKey {
    /// The key object.
    #[schema(inline)]
    #[serde(flatten)]
    pub object: ApiKeyObject,
    /// The key (`vdck_...`): shown once, stored only as its SHA-256.
    pub key: String,
}

/// Every API key.
#[derive(Debug, ToSchema)]
pub struct ApiKeyList {
    /// The keys, oldest first.
    pub items: Vec<ApiKeyObject>,
}

/// One audit entry (ids and outcomes only; never claim values or secrets).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"at": "2026-01-01T12:00:00Z", "actor": "hr-backend",
    "action": "POST /api/v1/issuers/{issuer}/offers", "issuer": "acme", "target": "o-3kP9",
    "outcome": "201"}))]
pub struct AuditItem {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `admin`, an API key's name, `wallet` or `system`.
    pub actor: String,
    /// A management call (`METHOD /route/{template}`) or a domain event type
    /// (`credential.issued`, ...).
    pub action: String,
    /// The issuer, for issuer entries.
    pub issuer: Option<String>,
    /// The verifier, for verifier entries.
    pub verifier: Option<String>,
    /// The object: an offer, credential, request, issuer, verifier or key id.
    pub target: Option<String>,
    /// The HTTP status of a call, or the event's outcome.
    pub outcome: String,
}

/// One page of the audit log, newest first.
#[derive(Debug, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditItem>,
    /// The `cursor` for the next page; null on the last.
    pub next: Option<String>,
}

fn store_error(e: &StoreError) -> ErrorResponse {
    if e.kind() == vdc_store::StoreErrorKind::Unavailable {
        ErrorResponse::server(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            e.to_string(),
        )
    } else {
        ErrorResponse::server(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            e.to_string(),
        )
    }
}

/// The body of `POST /api/v1/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "hr-backend", "issuers": ["acme"], "verifiers": ["acme-verifier"],
    "scopes": ["offers:write", "credentials:status", "presentations:write", "read"]}))]
pub struct CreateApiKey {
    /// A name for people and the audit log.
    pub name: String,
    /// Issuer slugs.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Verifier slugs.
    #[serde(default)]
    pub verifiers: Vec<String>,
    /// Scope names.
    pub scopes: Vec<String>,
}

/// A tenant slug (contract: `^[a-z0-9][a-z0-9-]{0,62}$`).
fn is_slug(s: &str) -> bool {
    vdc_issuer::definition::is_slug(s)
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Checks a create request: a name of 1 to [`MAX_NAME_LEN`] printable characters, slugs
/// for tenants (at most [`MAX_TENANTS`] of each), at least one scope, every scope from the
/// contract's fixed set. Returns the normalized (sorted, deduplicated) request.
pub fn validate(req: CreateApiKey) -> Result<CreateApiKey, ErrorResponse> {
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ErrorResponse::invalid_request(format!(
            "name must have 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ErrorResponse::invalid_request(
            "name must not contain control characters",
        ));
    }
    for (what, list) in [("issuers", &req.issuers), ("verifiers", &req.verifiers)] {
        if list.len() > MAX_TENANTS {
            return Err(ErrorResponse::invalid_request(format!(
                "at most {MAX_TENANTS} {what}"
            )));
        }
        if !list.iter().all(|s| is_slug(s)) {
            return Err(ErrorResponse::invalid_request(format!(
                "{what} must be slugs (^[a-z0-9][a-z0-9-]{{0,62}}$)"
            )));
        }
    }
    if req.scopes.is_empty() || req.scopes.len() > Scope::ALL.len() * 4 {
        return Err(ErrorResponse::invalid_request(
            "scopes must list at least one scope",
        ));
    }
    if let Some(bad) = req.scopes.iter().find(|s| Scope::parse(s).is_none()) {
        let bad: String = bad.chars().take(40).collect();
        return Err(ErrorResponse::invalid_request(format!(
            "unknown scope {bad:?}; scopes are read, offers:write, credentials:status, \
             presentations:write"
        )));
    }
    Ok(CreateApiKey {
        name,
        issuers: dedup(req.issuers),
        verifiers: dedup(req.verifiers),
        scopes: dedup(req.scopes),
    })
}

fn key_object(k: &ApiKeyRecord) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "issuers": k.issuers,
        "verifiers": k.verifiers,
        "scopes": k.scopes,
        "created_at": format_date_time_stamp(k.created_at),
        "revoked_at": k.revoked_at.map(format_date_time_stamp),
    })
}

/// Creates a key: the stored record and the clear key (to show once).
pub async fn create_api_key(
    api: &AccessApi,
    req: CreateApiKey,
) -> Result<(ApiKeyRecord, String), ErrorResponse> {
    let req = validate(req)?;
    require_tenants_exist(api, &req).await?;
    let random = |n| {
        random_b64(api.rng.as_ref(), n).map_err(|e| {
            ErrorResponse::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            )
        })
    };
    let id = format!("key_{}", random(12)?);
    let key = format!("{KEY_PREFIX}{}", random(32)?);
    let record = ApiKeyRecord {
        id,
        name: req.name,
        issuers: req.issuers,
        verifiers: req.verifiers,
        scopes: req.scopes,
        key_hash: SecretHash::of(&key),
        created_at: api.clock.now(),
        revoked_at: None,
    };
    api.store
        .create_api_key(&record)
        .await
        .map_err(|e| store_error(&e))?;
    Ok((record, key))
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
) -> Result<Response, ErrorResponse> {
    let (record, key) = create_api_key(&api, req).await?;
    let mut body = key_object(&record);
    body["key"] = key.into();
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r.extensions_mut().insert(AuditTarget(record.id));
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
async fn list_keys(State(api): State<AccessApi>) -> Result<Json<Value>, ErrorResponse> {
    let keys = api
        .store
        .list_api_keys()
        .await
        .map_err(|e| store_error(&e))?;
    let items: Vec<Value> = keys.iter().map(key_object).collect();
    Ok(Json(json!({ "items": items })))
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
) -> Result<StatusCode, ErrorResponse> {
    if id.len() > 64 {
        return Err(ErrorResponse::not_found("no such API key"));
    }
    let found = api
        .store
        .revoke_api_key(&id, api.clock.now())
        .await
        .map_err(|e| store_error(&e))?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ErrorResponse::not_found("no such API key"))
    }
}

/// An audit query as the URL gives it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AuditParams {
    /// `issuer=`.
    pub issuer: Option<String>,
    /// `verifier=`.
    pub verifier: Option<String>,
    /// `since=` (RFC 3339).
    pub since: Option<UnixTime>,
    /// `limit=` (1 to 1000, default 100).
    pub limit: u32,
    /// `cursor=` (the `next` of the previous page).
    pub cursor: Option<String>,
}

/// Parses the audit query string: each parameter at most once, `since` as RFC 3339, `limit`
/// 1 to [`MAX_AUDIT_PAGE`], `cursor` as a `next` this server handed out.
pub fn parse_audit_params(query: Option<&str>) -> Result<AuditParams, ErrorResponse> {
    let mut p = AuditParams {
        limit: DEFAULT_AUDIT_LIMIT,
        ..AuditParams::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let name = name.into_owned();
        if !matches!(
            name.as_str(),
            "issuer" | "verifier" | "since" | "limit" | "cursor"
        ) {
            continue;
        }
        if !seen.insert(name.clone()) {
            return Err(ErrorResponse::invalid_request(format!(
                "{name} is given twice"
            )));
        }
        match name.as_str() {
            "issuer" | "verifier" => {
                if !is_slug(&value) {
                    return Err(ErrorResponse::invalid_request(format!(
                        "{name} must be a slug"
                    )));
                }
                if name == "issuer" {
                    p.issuer = Some(value.into_owned());
                } else {
                    p.verifier = Some(value.into_owned());
                }
            }
            "since" => {
                let t = (value.len() <= 64)
                    .then(|| parse_date_time_stamp(&value).ok())
                    .flatten()
                    .ok_or_else(|| {
                        ErrorResponse::invalid_request("since must be an RFC 3339 date-time")
                    })?;
                p.since = Some(t);
            }
            "limit" => {
                p.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|l| (1..=MAX_AUDIT_PAGE).contains(l))
                    .ok_or_else(|| {
                        ErrorResponse::invalid_request(format!(
                            "limit must be an integer from 1 to {MAX_AUDIT_PAGE}"
                        ))
                    })?;
            }
            _ => {
                p.cursor = Some(decode_cursor(&value).ok_or_else(|| {
                    ErrorResponse::invalid_request("cursor is not one this server handed out")
                })?);
            }
        }
    }
    if p.issuer.is_some() && p.verifier.is_some() {
        return Err(ErrorResponse::invalid_request(
            "name an issuer or a verifier, not both",
        ));
    }
    Ok(p)
}

/// The opaque cursor for "entries below this id".
pub fn encode_cursor(id: &str) -> String {
    vdc_core::base64url::encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if cursor.len() > 64 {
        return None;
    }
    let bytes = vdc_core::base64url::decode(cursor).ok()?;
    let id = String::from_utf8(bytes).ok()?;
    (id.len() == 28
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(id)
}

/// The tenant the caller may read the log of (`None`: everything, admin only).
pub fn audit_scope(caller: &Caller, p: &AuditParams) -> Result<Option<EventTenant>, ErrorResponse> {
    let tenant = p
        .issuer
        .clone()
        .map(EventTenant::Issuer)
        .or_else(|| p.verifier.clone().map(EventTenant::Verifier));
    match (&tenant, caller.is_admin()) {
        (_, true) => Ok(tenant),
        (None, false) => Err(vdc_http::auth::forbidden(
            "an API key must name one of its issuers or verifiers",
        )),
        (Some(t), false) => caller.require(t, Scope::Read).map(|()| tenant),
    }
}

fn entry_object(e: &AuditEntry) -> Value {
    let mut v = json!({
        "id": e.id,
        "at": format_date_time_stamp(e.at),
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "outcome": e.outcome,
    });
    if let Some(k) = &e.actor_key_id {
        v["actor_key_id"] = k.clone().into();
    }
    match &e.tenant {
        Some(EventTenant::Issuer(id)) => v["issuer"] = id.clone().into(),
        Some(EventTenant::Verifier(id)) => v["verifier"] = id.clone().into(),
        None => {}
    }
    v
}

/// One page of the log: `{"items", "next"}`; `next` is null once a page comes back short.
pub async fn audit_page(
    store: &dyn AccessStore,
    tenant: Option<EventTenant>,
    p: &AuditParams,
) -> Result<Value, ErrorResponse> {
    let entries = store
        .query_audit(&AuditQuery {
            tenant,
            since: p.since,
            before: p.cursor.clone(),
            limit: p.limit,
        })
        .await
        .map_err(|e| store_error(&e))?;
    let full = u32::try_from(entries.len()).unwrap_or(u32::MAX) >= p.limit;
    let next = entries
        .last()
        .filter(|_| full)
        .map(|e| encode_cursor(&e.id));
    let items: Vec<Value> = entries.iter().map(entry_object).collect();
    Ok(json!({ "items": items, "next": next }))
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
) -> Result<Json<Value>, ErrorResponse> {
    let p = parse_audit_params(query.as_deref())?;
    let tenant = audit_scope(&caller, &p)?;
    if let Some(log) = &api.log {
        log.flush().await;
    }
    audit_page(api.store.as_ref(), tenant, &p).await.map(Json)
}

/// Stages an audit entry for every domain event (contract: "every issuance, status change and
/// verification outcome"). Events carry ids and statuses only (G10), and so do the entries.
#[derive(Clone)]
pub struct AuditSink {
    rng: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink").finish_non_exhaustive()
    }
}

impl AuditSink {
    /// A sink whose entries the change's transaction writes (the transactional outbox).
    pub fn new(rng: Arc<dyn RandomSource>) -> Self {
        Self { rng }
    }
}

impl EventSink for AuditSink {
    fn stage(&self, event: &DomainEvent, outbox: &mut vdc_store::Outbox) {
        let mut random = [0u8; 8];
        if let Err(e) = self.rng.fill(&mut random) {
            tracing::error!(error = %e, "audit: no randomness; event not recorded");
            return;
        }
        outbox.audit.push(AuditEntry {
            id: vdc_store::access::audit_id(
                event.at,
                vdc_store::access::sequenced(u64::from_be_bytes(random)),
            ),
            at: event.at,
            actor: event.actor.clone(),
            actor_key_id: None,
            action: event.kind.as_str().to_owned(),
            tenant: Some(event.tenant.clone()),
            target: Some(event.target.clone()),
            outcome: event.outcome.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(scopes: &[&str]) -> CreateApiKey {
        CreateApiKey {
            name: " ops ".into(),
            issuers: vec!["b".into(), "a".into(), "a".into()],
            verifiers: vec![],
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn create_requests_are_validated_and_normalized() {
        let ok = validate(req(&["read", "read", "offers:write"])).unwrap();
        assert_eq!(ok.name, "ops");
        assert_eq!(ok.issuers, ["a", "b"]);
        assert_eq!(ok.scopes, ["offers:write", "read"]);
        assert!(validate(req(&["admin"])).is_err());
        assert!(validate(req(&[])).is_err());
        let mut bad = req(&["read"]);
        bad.issuers = vec!["Not A Slug".into()];
        assert!(validate(bad).is_err());
        let mut bad = req(&["read"]);
        bad.name = "x".repeat(MAX_NAME_LEN + 1);
        assert!(validate(bad).is_err());
        let mut bad = req(&["read"]);
        bad.name = "a\nb".into();
        assert!(validate(bad).is_err());
    }

    #[test]
    fn audit_params_parse_strictly() {
        let p = parse_audit_params(Some("issuer=acme&since=2026-01-01T00:00:00Z&limit=5")).unwrap();
        assert_eq!(p.issuer.as_deref(), Some("acme"));
        assert_eq!(p.limit, 5);
        assert_eq!(p.since, Some(UnixTime(1_767_225_600)));
        assert_eq!(parse_audit_params(None).unwrap().limit, 100);
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "since=yesterday",
            "issuer=a&verifier=b",
            "issuer=a&issuer=b",
            "issuer=UP",
            "cursor=zz",
        ] {
            assert!(parse_audit_params(Some(bad)).is_err(), "{bad}");
        }
        let id = vdc_store::access::audit_id(UnixTime(5), 9);
        let p = parse_audit_params(Some(&format!("cursor={}", encode_cursor(&id)))).unwrap();
        assert_eq!(p.cursor, Some(id));
    }
}
