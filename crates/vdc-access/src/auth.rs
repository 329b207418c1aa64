//! Authentication: the admin key and scoped API keys → [`Caller`], and the audit entry of
//! each management call.
//!
//! Contract ("Auth", "API keys and tenants"): `Authorization: Bearer <key>` with the admin
//! key (`VDC_ADMIN_KEY`, which may do everything) or a scoped API key (its issuers, its
//! verifiers, its scopes). Missing, wrong, unknown or revoked key: `401 unauthorized`.
//!
//! [`Authenticator::authenticate`] turns a bearer string into a [`Caller`] (reused by
//! server-rendered pages). The admin key is compared as SHA-256 digests in constant time;
//! scoped keys are looked up by the SHA-256 of the presented key (a high-entropy secret: an
//! index lookup on its digest reveals nothing usable) and the digest found is compared again
//! in constant time.

use std::sync::Arc;

use http::StatusCode;
use vdc_core::rng::RandomSource;
use vdc_core::time::Clock;
use vdc_store::access::audit_id;
use vdc_store::events::EventTenant;
use vdc_store::{AccessStore, AuditEntry, SecretHash, Store, StoreError, StoreErrorKind};

use crate::audit::AuditLog;
use crate::{AccessError, Caller};

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
    vdc_core::digest::sha256(secret.as_bytes())
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
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller, AccessError> {
        if bearer.is_empty() || bearer.len() > MAX_BEARER_LEN {
            return Err(AccessError::Unauthorized);
        }
        if self.admin.matches(bearer) {
            return Ok(Caller::Admin);
        }
        let hash = SecretHash::of(bearer);
        let found = self.store.find_api_key_by_hash(&hash).await.map_err(|e| {
            if e.kind() != StoreErrorKind::Unavailable {
                tracing::error!(error = %e, "API key lookup failed");
            }
            AccessError::Store(e)
        })?;
        match found {
            Some(k)
                if k.revoked_at.is_none()
                    && vdc_core::ct::eq(k.key_hash.as_bytes(), hash.as_bytes()) =>
            {
                Ok(Caller::from_record(&k))
            }
            _ => Err(AccessError::Unauthorized),
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
    pub(crate) fn entry(
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

pub use vdc_http::tenant_url::is_slug;

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

pub(crate) fn tenant_id(tenant: &EventTenant) -> &str {
    match tenant {
        EventTenant::Issuer(id) | EventTenant::Verifier(id) => id,
    }
}

impl Authenticator {
    /// The tenant an audit entry of a call answered with `status` records: a slug, and for
    /// a call that did not succeed, a tenant that exists (a failed lookup records none).
    pub(crate) async fn audit_tenant(
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
