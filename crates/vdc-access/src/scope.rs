//! Authorization: the contract's scopes, who is calling ([`Caller`]) and the scope table of
//! the management routes ([`rule`]).
//!
//! Contract ("API keys and tenants"): a scoped key acts on its issuers and verifiers with its
//! scopes; a scoped key used on another tenant or for a scope it lacks is `403 forbidden`.
//! Tenant checks come before any lookup, so a key learns nothing about tenants outside its
//! list (G6: 403 whether or not the other tenant exists).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::Method;
use http::request::Parts;
use vdc_store::ApiKeyRecord;
use vdc_store::events::EventTenant;

use crate::AccessError;

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
    pub fn require(&self, tenant: &EventTenant, scope: Scope) -> Result<(), AccessError> {
        if !self.may_access(tenant) {
            let what = match tenant {
                EventTenant::Issuer(_) => "issuer",
                EventTenant::Verifier(_) => "verifier",
            };
            return Err(AccessError::Forbidden(format!(
                "this API key may not act on this {what}"
            )));
        }
        if !self.has_scope(scope) {
            return Err(AccessError::lacks_scope(scope));
        }
        Ok(())
    }

    /// 403 unless this is the admin key.
    pub fn require_admin(&self) -> Result<(), AccessError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AccessError::Forbidden(
                "this action needs the admin key".into(),
            ))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AccessError;

    /// The caller [`crate::management`] authenticated; 401 on a route without that middleware.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(AccessError::Unauthorized)
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
        // Offboarding a subject (RFC 7009 §2.1 for all its grants) goes with revoking its
        // credentials.
        ("POST", "/api/v1/issuers/{issuer}/credentials/{id}/status")
        | ("POST", "/api/v1/issuers/{issuer}/credentials/status")
        | ("DELETE", "/api/v1/issuers/{issuer}/authorizations") => Rule::Tenant(CredentialsStatus),
        // Redeeming a response code consumes a single-use artifact (G2), so it needs the
        // scope that created the request, not `read`; so does handing in a DC API answer,
        // which ends the request.
        ("POST", "/api/v1/verifiers/{verifier}/requests")
        | ("POST", "/api/v1/verifiers/{verifier}/requests/{id}/dc-api-response")
        | ("POST", "/api/v1/verifiers/{verifier}/response-codes") => {
            Rule::Tenant(PresentationsWrite)
        }
        _ => Rule::Admin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            rule(&Method::DELETE, "/api/v1/issuers/{issuer}/authorizations"),
            Rule::Tenant(Scope::CredentialsStatus)
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
