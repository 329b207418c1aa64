//! The middleware of the management routers.
//!
//! [`management`] is the one middleware of every management router: it authenticates,
//! applies [`crate::rule`] (the contract's scope table, by method and route template; routes it
//! does not know are admin-only, so a new route fails closed), puts the [`crate::Caller`] into the
//! request extensions (handlers take it with the [`crate::Caller`] extractor), and records one
//! [`vdc_store::AuditEntry`] per call: actor, `METHOD /route/{template}`, the tenant and
//! object id from the path, the HTTP status. Never bodies, claim values, keys or `tx_code`s
//! (G10). Unauthenticated calls (401) are not recorded: anyone could fill the log with them.
//! Every recorded field is bounded (issue 10, item 10): the tenant is recorded only when it
//! is a slug and, for a call that did not succeed, only when that tenant exists (a refused
//! call on a tenant that does not exist is recorded without a tenant, so no log entry
//! appears under a tenant nobody created); an object id longer than
//! [`crate::audit::MAX_AUDIT_ID_CHARS`] is cut on a character boundary and marked.

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, header};
use vdc_store::events::EventTenant;

use crate::audit::{AuditTarget, CallAudit, bounded_audit_id};
use crate::auth::{is_slug, tenant_id};
use crate::scope::{Rule, rule};
use crate::{AccessError, AdminKey, Authenticator};

/// Middleware for routes that only the admin key may use and that need no audit entry:
/// 401 `unauthorized` unless the bearer is the admin key. Management routers use
/// [`management`] instead (scoped keys, 403 rules, audit).
pub async fn require_admin(State(key): State<AdminKey>, request: Request, next: Next) -> Response {
    match bearer(&request) {
        Some(token) if key.matches(token) => next.run(request).await,
        _ => AccessError::Unauthorized.into_response(),
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
/// template is known): authenticate, authorize by [`crate::rule`], run, audit.
pub async fn management(
    State(auth): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match bearer(&request) {
        None => return AccessError::Unauthorized.into_response(),
        Some(token) => match auth.authenticate(token).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
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
                Err(AccessError::lacks_scope(scope))
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
}
