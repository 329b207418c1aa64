//! Management API authentication, authorization and the audit of every management call.
//!
//! Contract ("Auth", "API keys and tenants"): `Authorization: Bearer <key>` with the admin
//! key (`VDC_ADMIN_KEY`, which may do everything) or a scoped API key (its issuers, its
//! verifiers, its scopes). Missing, wrong, unknown or revoked key: `401 unauthorized`. A
//! scoped key used on another tenant or for a scope it lacks: `403 forbidden`.
//!
//! - [`Authenticator::authenticate`] turns a bearer string into a [`Caller`] (reused by
//!   server-rendered pages). The admin key is compared as SHA-256 digests in constant time;
//!   scoped keys are looked up by the SHA-256 of the presented key (a high-entropy secret:
//!   an index lookup on its digest reveals nothing usable) and the digest found is compared
//!   again in constant time.
//! - [`management`] is the one middleware of every management router: it authenticates,
//!   applies [`rule`] (the contract's scope table, by method and route template; routes it
//!   does not know are admin-only, so a new route fails closed), puts the [`Caller`] into the
//!   request extensions (handlers take it with the [`Caller`] extractor), and records one
//!   [`AuditEntry`] per call: actor, `METHOD /route/{template}`, the tenant and object id from
//!   the path, the HTTP status. Never bodies, claim values, keys or `tx_code`s (G10).
//!   Unauthenticated calls (401) are not recorded: anyone could fill the log with them.
//!   Every recorded field is bounded (issue 10, item 10): the tenant is recorded only when it
//!   is a slug and, for a call that did not succeed, only when that tenant exists (a refused
//!   call on a tenant that does not exist is recorded without a tenant, so no log entry
//!   appears under a tenant nobody created); an object id longer than
//!   [`MAX_AUDIT_ID_CHARS`] is cut on a character boundary and marked.
//! - Tenant checks come before any lookup, so a key learns nothing about tenants outside its
//!   list (G6: 403 whether or not the other tenant exists).

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{Method, StatusCode, header};
use ring::digest;
use vdc_core::rng::RandomSource;
use vdc_core::time::Clock;
use vdc_store::access::audit_id;
use vdc_store::events::EventTenant;
use vdc_store::{
    AccessStore, ApiKeyRecord, AuditEntry, SecretHash, Store, StoreError, StoreErrorKind,
};

use crate::audit::{AuditLog, CallAudit};
use crate::error::ErrorResponse;

/// The hash of the admin key.
#[derive(Clone)]
pub struct AdminKey(Arc<[u8; 32]>);

impl std::fmt::Debug for AdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKey([hash redacted])")
    }
}

impl AdminKey {
    /// From the key itself.
    pub fn from_key(key: &str) -> Self {
        Self::from_hash(&sha256(key))
    }

    /// From a stored SHA-256 of the key.
    pub fn from_hash(hash: &[u8; 32]) -> Self {
        Self(Arc::new(*hash))
    }

    /// Whether `presented` is the admin key (constant time in the key's content).
    pub fn matches(&self, presented: &str) -> bool {
        vdc_core::ct::eq(&sha256(presented), self.0.as_ref())
    }
}

/// SHA-256 of a secret, for storage.
pub fn sha256(secret: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The scopes of the contract ("API keys and tenants").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every GET on its issuers and verifiers.
    Read,
    /// Create and cancel offers, supply deferred claims.
    OffersWrite,
    /// Change credential statuses.
    CredentialsStatus,
    /// Create presentation requests (and redeem their response codes).
    PresentationsWrite,
}

impl Scope {
    /// Every scope, in contract order.
    pub const ALL: [Self; 4] = [
        Self::Read,
        Self::OffersWrite,
        Self::CredentialsStatus,
        Self::PresentationsWrite,
    ];

    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::OffersWrite => "offers:write",
            Self::CredentialsStatus => "credentials:status",
            Self::PresentationsWrite => "presentations:write",
        }
    }

    /// The scope a contract name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// A scoped API key, as a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCaller {
    /// The key's id.
    pub id: String,
    /// The key's name.
    pub name: String,
    /// The issuers it may act on.
    pub issuers: Vec<String>,
    /// The verifiers it may act on.
    pub verifiers: Vec<String>,
    /// Its scopes (unknown stored names are dropped: they grant nothing).
    pub scopes: Vec<Scope>,
}

/// Who is calling the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin key: everything.
    Admin,
    /// A scoped API key.
    Key(Arc<KeyCaller>),
}

/// The actor name of the admin key.
pub const ADMIN_ACTOR: &str = "admin";

/// 403 `forbidden` (contract: "API keys and tenants").
pub fn forbidden(description: impl Into<String>) -> ErrorResponse {
    ErrorResponse::client(StatusCode::FORBIDDEN, "forbidden", description)
}

fn unauthorized() -> ErrorResponse {
    ErrorResponse::client(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required",
    )
    .with_www_authenticate("Bearer")
}

impl Caller {
    /// From a stored key record (revocation is the authenticator's check).
    pub fn from_record(k: &ApiKeyRecord) -> Self {
        Self::Key(Arc::new(KeyCaller {
            id: k.id.clone(),
            name: k.name.clone(),
            issuers: k.issuers.clone(),
            verifiers: k.verifiers.clone(),
            scopes: k.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
        }))
    }

    /// The name the audit log and status history record.
    pub fn actor(&self) -> &str {
        match self {
            Self::Admin => ADMIN_ACTOR,
            Self::Key(k) => &k.name,
        }
    }

    /// The key id, for a scoped key.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            Self::Admin => None,
            Self::Key(k) => Some(&k.id),
        }
    }

    /// Whether this is the admin key.
    pub fn is_admin(&self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Whether the caller holds `scope` (the admin holds every scope).
    pub fn has_scope(&self, scope: Scope) -> bool {
        match self {
            Self::Admin => true,
            Self::Key(k) => k.scopes.contains(&scope),
        }
    }

    /// Whether the caller may act on this tenant at all.
    pub fn may_access(&self, tenant: &EventTenant) -> bool {
        match (self, tenant) {
            (Self::Admin, _) => true,
            (Self::Key(k), EventTenant::Issuer(id)) => k.issuers.iter().any(|i| i == id),
            (Self::Key(k), EventTenant::Verifier(id)) => k.verifiers.iter().any(|v| v == id),
        }
    }

    /// Whether the caller may see this verifier in a listing (`read` on it).
    pub fn may_read_verifier(&self, verifier: &str) -> bool {
        self.has_scope(Scope::Read) && self.may_access(&EventTenant::Verifier(verifier.to_owned()))
    }

    /// Whether the caller may see this issuer in a listing (`read` on it).
    pub fn may_read_issuer(&self, issuer: &str) -> bool {
        self.has_scope(Scope::Read) && self.may_access(&EventTenant::Issuer(issuer.to_owned()))
    }

    /// 403 unless the caller may act on `tenant` with `scope`. The tenant is checked first, so
    /// the answer for a tenant outside the key's list never depends on that tenant (G6).
    pub fn require(&self, tenant: &EventTenant, scope: Scope) -> Result<(), ErrorResponse> {
        if !self.may_access(tenant) {
            let what = match tenant {
                EventTenant::Issuer(_) => "issuer",
                EventTenant::Verifier(_) => "verifier",
            };
            return Err(forbidden(format!(
                "this API key may not act on this {what}"
            )));
        }
        if !self.has_scope(scope) {
            return Err(forbidden(format!(
                "this API key lacks the {} scope",
                scope.as_str()
            )));
        }
        Ok(())
    }

    /// 403 unless this is the admin key.
    pub fn require_admin(&self) -> Result<(), ErrorResponse> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(forbidden("this action needs the admin key"))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ErrorResponse;

    /// The caller [`management`] authenticated; 401 on a route without that middleware.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(unauthorized)
    }
}

/// What a handler may add to its response for the audit log: the id of what it created.
#[derive(Debug, Clone)]
pub struct AuditTarget(pub String);

/// Marks `response` with the `id` member of `body` (a created object) as its audit target.
pub fn with_created_id(mut response: Response, body: &serde_json::Value) -> Response {
    if let Some(id) = body.get("id").and_then(serde_json::Value::as_str) {
        response.extensions_mut().insert(AuditTarget(id.to_owned()));
    }
    response
}

/// Authenticates management callers and records the audit log.
#[derive(Clone)]
pub struct Authenticator {
    admin: AdminKey,
    store: Arc<dyn AccessStore>,
    /// The whole store, to ask whether a tenant named in a path exists.
    tenants: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    log: AuditLog,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// Why a bearer string is not a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// Unknown, revoked or malformed key: 401.
    Unauthorized,
    /// The store did not answer: 503 (R2).
    Unavailable,
    /// The store failed otherwise: 500.
    Internal,
}

impl AuthError {
    /// The HTTP answer.
    pub fn response(self) -> ErrorResponse {
        match self {
            Self::Unauthorized => unauthorized(),
            Self::Unavailable => ErrorResponse::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the API key store did not answer",
            ),
            Self::Internal => ErrorResponse::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "the API key lookup failed",
            ),
        }
    }
}

/// The longest bearer string looked up (keys vdc issues are far shorter).
const MAX_BEARER_LEN: usize = 512;

impl Authenticator {
    /// An authenticator for the admin key and the scoped keys in `store`.
    pub fn new(
        admin: AdminKey,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
    ) -> Self {
        Self {
            admin,
            log: AuditLog::new(store.clone()),
            store: store.clone(),
            tenants: store,
            clock,
            rng,
        }
    }

    /// The caller a bearer string names: the admin key, or an unrevoked scoped key.
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller, AuthError> {
        if bearer.is_empty() || bearer.len() > MAX_BEARER_LEN {
            return Err(AuthError::Unauthorized);
        }
        if self.admin.matches(bearer) {
            return Ok(Caller::Admin);
        }
        let hash = SecretHash::of(bearer);
        let found = self.store.find_api_key_by_hash(&hash).await.map_err(|e| {
            if e.kind() == StoreErrorKind::Unavailable {
                AuthError::Unavailable
            } else {
                tracing::error!(error = %e, "API key lookup failed");
                AuthError::Internal
            }
        })?;
        match found {
            Some(k)
                if k.revoked_at.is_none()
                    && vdc_core::ct::eq(k.key_hash.as_bytes(), hash.as_bytes()) =>
            {
                Ok(Caller::from_record(&k))
            }
            _ => Err(AuthError::Unauthorized),
        }
    }

    /// The clock audit entries are stamped with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The group-commit writer of entries that are not part of a change's transaction.
    pub fn audit_log(&self) -> &AuditLog {
        &self.log
    }

    /// The entry of one call, stamped now; `None` (logged) without randomness.
    fn entry(
        &self,
        caller: &Caller,
        action: String,
        tenant: Option<EventTenant>,
        target: Option<String>,
        outcome: String,
    ) -> Option<AuditEntry> {
        let at = self.clock.now();
        let mut random = [0u8; 8];
        if let Err(e) = self.rng.fill(&mut random) {
            tracing::error!(error = %e, "audit: no randomness; entry not recorded");
            return None;
        }
        Some(AuditEntry {
            id: audit_id(at, vdc_store::access::sequenced(u64::from_be_bytes(random))),
            at,
            actor: caller.actor().to_owned(),
            actor_key_id: caller.key_id().map(str::to_owned),
            action,
            tenant,
            target,
            outcome,
        })
    }

    /// Appends one audit entry through the [`AuditLog`]; with `wait`, once it is committed.
    /// A failure is logged, never the caller's (the action stands).
    pub async fn record(
        &self,
        caller: &Caller,
        action: String,
        tenant: Option<EventTenant>,
        target: Option<String>,
        outcome: String,
        wait: bool,
    ) {
        if let Some(entry) = self.entry(caller, action, tenant, target, outcome) {
            self.log.append(entry, wait).await;
        }
    }
}

/// Middleware for routes that only the admin key may use and that need no audit entry:
/// 401 `unauthorized` unless the bearer is the admin key. Management routers use
/// [`management`] instead (scoped keys, 403 rules, audit).
pub async fn require_admin(State(key): State<AdminKey>, request: Request, next: Next) -> Response {
    match bearer(&request) {
        Some(token) if key.matches(token) => next.run(request).await,
        _ => unauthorized().into_response(),
    }
}

/// What a management route needs beyond authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The admin key only.
    Admin,
    /// The tenant in the path (`{issuer}` or `{verifier}`) and this scope.
    Tenant(Scope),
    /// Any caller with this scope; the handler narrows to the caller's tenants.
    Scoped(Scope),
}

/// The contract's rule for a management route ("API keys and tenants"), by method and
/// route template. Anything not listed is admin-only (creating or changing issuers,
/// verifiers, API keys, webhooks; routes added later fail closed).
pub fn rule(method: &Method, template: &str) -> Rule {
    use Scope::*;
    let m = method.as_str();
    match (m, template) {
        ("GET", "/api/v1/issuers" | "/api/v1/verifiers" | "/api/v1/audit") => Rule::Scoped(Read),
        ("GET" | "HEAD", t)
            if t.starts_with("/api/v1/issuers/{issuer}")
                || t.starts_with("/api/v1/verifiers/{verifier}") =>
        {
            Rule::Tenant(Read)
        }
        ("POST", "/api/v1/issuers/{issuer}/offers")
        | ("DELETE", "/api/v1/issuers/{issuer}/offers/{id}")
        | ("PUT", "/api/v1/issuers/{issuer}/offers/{id}/claims") => Rule::Tenant(OffersWrite),
        ("POST", "/api/v1/issuers/{issuer}/credentials/{id}/status")
        | ("POST", "/api/v1/issuers/{issuer}/credentials/status") => {
            Rule::Tenant(CredentialsStatus)
        }
        // Redeeming a response code consumes a single-use artifact (G2), so it needs the
        // scope that created the request, not `read`.
        ("POST", "/api/v1/verifiers/{verifier}/requests")
        | ("POST", "/api/v1/verifiers/{verifier}/response-codes") => {
            Rule::Tenant(PresentationsWrite)
        }
        _ => Rule::Admin,
    }
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

/// The longest object id an audit entry records, in characters (ids vdc makes are far
/// shorter; a longer one came from a path nobody answered).
pub const MAX_AUDIT_ID_CHARS: usize = 128;

/// `id` as an audit entry records it: unchanged up to [`MAX_AUDIT_ID_CHARS`], otherwise its
/// first characters (cut on a character boundary) and its length in bytes.
pub fn bounded_audit_id(id: String) -> String {
    if id.chars().nth(MAX_AUDIT_ID_CHARS).is_none() {
        return id;
    }
    let head: String = id.chars().take(MAX_AUDIT_ID_CHARS / 2).collect();
    format!("{head}...({} bytes)", id.len())
}

/// A tenant slug (contract: `^[a-z0-9][a-z0-9-]{0,62}$`); nothing else can name a tenant.
fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// Whether `tenant` exists in `store` (an issuer or a verifier of that id).
pub async fn tenant_exists(store: &dyn Store, tenant: &EventTenant) -> Result<bool, StoreError> {
    if !is_slug(tenant_id(tenant)) {
        return Ok(false);
    }
    Ok(match tenant {
        EventTenant::Issuer(id) => store.get_issuer(id).await?.is_some(),
        EventTenant::Verifier(id) => store.get_verifier(id).await?.is_some(),
    })
}

fn tenant_id(tenant: &EventTenant) -> &str {
    match tenant {
        EventTenant::Issuer(id) | EventTenant::Verifier(id) => id,
    }
}

impl Authenticator {
    /// The tenant an audit entry of a call answered with `status` records: a slug, and for
    /// a call that did not succeed, a tenant that exists (a failed lookup records none).
    async fn audit_tenant(
        &self,
        tenant: Option<EventTenant>,
        status: StatusCode,
    ) -> Option<EventTenant> {
        let tenant = tenant.filter(|t| is_slug(tenant_id(t)))?;
        if status.is_success() {
            return Some(tenant);
        }
        match tenant_exists(self.tenants.as_ref(), &tenant).await {
            Ok(true) => Some(tenant),
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(error = %e, "audit: tenant lookup failed; entry recorded without it");
                None
            }
        }
    }
}

/// What the path says: its tenant and the object id.
fn path_facts(params: Option<&RawPathParams>) -> (Option<EventTenant>, Option<String>) {
    let mut tenant = None;
    let mut target = None;
    for (name, value) in params.into_iter().flat_map(|p| p.iter()) {
        match name {
            "issuer" => tenant = Some(EventTenant::Issuer(value.to_owned())),
            "verifier" => tenant = Some(EventTenant::Verifier(value.to_owned())),
            "id" => target = Some(value.to_owned()),
            _ => {}
        }
    }
    (tenant, target)
}

/// The middleware of every management router (use with `route_layer`, so the route
/// template is known): authenticate, authorize by [`rule`], run, audit.
pub async fn management(
    State(auth): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match bearer(&request) {
        None => return unauthorized().into_response(),
        Some(token) => match auth.authenticate(token).await {
            Ok(c) => c,
            Err(e) => return e.response().into_response(),
        },
    };
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let method = request.method().clone();
    let (parts, body) = request.into_parts();
    let mut parts = parts;
    let params = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok();
    let (tenant, path_target) = path_facts(params.as_ref());
    request = Request::from_parts(parts, body);
    let allowed = match (rule(&method, &template), &tenant) {
        (Rule::Admin, _) => caller.require_admin(),
        (Rule::Tenant(scope), Some(t)) => caller.require(t, scope),
        (Rule::Tenant(_), None) => caller.require_admin(),
        (Rule::Scoped(scope), _) => {
            if caller.has_scope(scope) {
                Ok(())
            } else {
                Err(forbidden(format!(
                    "this API key lacks the {} scope",
                    scope.as_str()
                )))
            }
        }
    };
    let action = format!("{method} {template}");
    let call_audit = {
        let auth = auth.clone();
        let caller = caller.clone();
        let action = action.clone();
        // A successful call records its tenant when it is a slug (`audit_tenant`).
        let tenant = tenant.clone().filter(|t| is_slug(tenant_id(t)));
        CallAudit::new(move |target, status| {
            auth.entry(
                &caller,
                action.clone(),
                tenant.clone(),
                Some(bounded_audit_id(target.to_owned())),
                status.to_string(),
            )
        })
    };
    let response = match allowed {
        Ok(()) => {
            request.extensions_mut().insert(caller.clone());
            request.extensions_mut().insert(call_audit.clone());
            next.run(request).await
        }
        Err(e) => e.into_response(),
    };
    let status = response.status();
    if call_audit.taken_status() == Some(status.as_u16()) {
        // The change's transaction wrote this call's entry.
        return response;
    }
    let target = response
        .extensions()
        .get::<AuditTarget>()
        .map(|t| t.0.clone())
        .or(path_target)
        .map(bounded_audit_id);
    let tenant = auth.audit_tenant(tenant, status).await;
    // A call that changed something answers once its entry is durable; a read or a refused
    // call does not wait (its entry shares a later commit).
    let changed = status.is_success() && !matches!(method, Method::GET | Method::HEAD);
    auth.record(
        &caller,
        action,
        tenant,
        target,
        status.as_u16().to_string(),
        changed,
    )
    .await;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn require_admin_accepts_only_the_admin_key() {
        use tower::ServiceExt as _;
        let app = axum::Router::new()
            .route("/", axum::routing::get(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn_with_state(
                AdminKey::from_key("k-0123456789abcdef"),
                require_admin,
            ));
        for (auth, want) in [
            (Some("Bearer k-0123456789abcdef"), 200),
            (Some("bearer k-0123456789abcdef"), 200),
            (Some("Bearer k-0123456789abcdeF"), 401),
            (Some("Basic k-0123456789abcdef"), 401),
            (None, 401),
        ] {
            let mut req = http::Request::get("/");
            if let Some(a) = auth {
                req = req.header(header::AUTHORIZATION, a);
            }
            let r = app
                .clone()
                .oneshot(req.body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), want, "{auth:?}");
        }
    }

    #[test]
    fn scope_names_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
        }
        assert_eq!(Scope::parse("admin"), None);
        assert_eq!(Scope::parse("READ"), None);
    }

    #[test]
    fn unknown_routes_are_admin_only() {
        assert_eq!(rule(&Method::POST, "/api/v1/issuers"), Rule::Admin);
        assert_eq!(rule(&Method::POST, "/api/v1/webhooks"), Rule::Admin);
        assert_eq!(rule(&Method::PUT, "/api/v1/issuers/{issuer}"), Rule::Admin);
        assert_eq!(rule(&Method::GET, "/api/v1/api-keys"), Rule::Admin);
        assert_eq!(
            rule(&Method::GET, "/api/v1/issuers/{issuer}/offers/{id}"),
            Rule::Tenant(Scope::Read)
        );
    }

    #[test]
    fn keys_act_only_on_their_tenants_with_their_scopes() {
        let c = Caller::Key(Arc::new(KeyCaller {
            id: "k".into(),
            name: "n".into(),
            issuers: vec!["acme".into()],
            verifiers: vec![],
            scopes: vec![Scope::Read],
        }));
        let acme = EventTenant::Issuer("acme".into());
        assert!(c.require(&acme, Scope::Read).is_ok());
        assert!(c.require(&acme, Scope::OffersWrite).is_err());
        assert!(
            c.require(&EventTenant::Verifier("acme".into()), Scope::Read)
                .is_err()
        );
        assert!(c.require_admin().is_err());
        assert!(Caller::Admin.require(&acme, Scope::OffersWrite).is_ok());
        assert_eq!(c.actor(), "n");
        assert_eq!(Caller::Admin.actor(), "admin");
    }
}
