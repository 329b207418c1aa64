//! Scoped API keys: validating and creating them (contract: "API keys and tenants").
//!
//! The key is shown once; only its SHA-256 is stored. A key may only name tenants that
//! exist (issue 10, item 15).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use vdc_core::rng::{RandomSource, random_b64};
use vdc_core::time::Clock;
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_store::events::EventTenant;
use vdc_store::{AccessStore, ApiKeyRecord, SecretHash, Store};

use crate::audit::AuditLog;
use crate::auth::{is_slug, tenant_exists};
use crate::{AccessError, Scope};

/// The prefix of every key vdc issues (lets secret scanners recognise leaked keys).
pub const KEY_PREFIX: &str = "vdck_";
/// The longest key name.
pub const MAX_NAME_LEN: usize = 100;
/// The most issuers, and the most verifiers, one key may name.
pub const MAX_TENANTS: usize = 100;

/// What the access routes share.
#[derive(Clone)]
pub struct AccessApi {
    pub(crate) store: Arc<dyn AccessStore>,
    /// The whole store, to check that the tenants a new key names exist.
    tenants: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    /// The group-commit writer of call entries: flushed before the log is read, so a caller
    /// reads its own calls' entries on this instance.
    pub(crate) log: Option<AuditLog>,
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
    pub fn with_audit_log(mut self, log: AuditLog) -> Self {
        self.log = Some(log);
        self
    }
}

/// The most unknown tenants one error names.
const MAX_NAMED_TENANTS: usize = 10;

/// 404 `not_found` naming the tenants of `req` that do not exist (issue 10, item 15): a key
/// for a tenant that does not exist yet would silently gain it when someone creates it.
async fn require_tenants_exist(api: &AccessApi, req: &CreateApiKey) -> Result<(), AccessError> {
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
        let exists = tenant_exists(api.tenants.as_ref(), &tenant).await?;
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
    Err(AccessError::NotFound(format!(
        "no such {}{more}: create the tenant before a key for it",
        missing.join(", ")
    )))
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

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Checks a create request: a name of 1 to [`MAX_NAME_LEN`] printable characters, slugs
/// for tenants (at most [`MAX_TENANTS`] of each), at least one scope, every scope from the
/// contract's fixed set. Returns the normalized (sorted, deduplicated) request.
pub fn validate(req: CreateApiKey) -> Result<CreateApiKey, AccessError> {
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(AccessError::InvalidRequest(format!(
            "name must have 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AccessError::InvalidRequest(
            "name must not contain control characters".into(),
        ));
    }
    for (what, list) in [("issuers", &req.issuers), ("verifiers", &req.verifiers)] {
        if list.len() > MAX_TENANTS {
            return Err(AccessError::InvalidRequest(format!(
                "at most {MAX_TENANTS} {what}"
            )));
        }
        if !list.iter().all(|s| is_slug(s)) {
            return Err(AccessError::InvalidRequest(format!(
                "{what} must be slugs (^[a-z0-9][a-z0-9-]{{0,62}}$)"
            )));
        }
    }
    if req.scopes.is_empty() || req.scopes.len() > Scope::ALL.len() * 4 {
        return Err(AccessError::InvalidRequest(
            "scopes must list at least one scope".into(),
        ));
    }
    if let Some(bad) = req.scopes.iter().find(|s| Scope::parse(s).is_none()) {
        let bad: String = bad.chars().take(40).collect();
        return Err(AccessError::InvalidRequest(format!(
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

/// An API key as listed (never the key itself).
#[derive(Debug, Clone, Serialize, ToSchema)]
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
    #[schema(required = true)]
    pub revoked_at: Option<String>,
}

impl ApiKeyObject {
    /// The listed form of `record`.
    pub fn new(record: &ApiKeyRecord) -> Self {
        Self {
            id: record.id.clone(),
            name: record.name.clone(),
            issuers: record.issuers.clone(),
            verifiers: record.verifiers.clone(),
            scopes: record.scopes.clone(),
            created_at: format_date_time_stamp(record.created_at),
            revoked_at: record.revoked_at.map(format_date_time_stamp),
        }
    }
}

/// A created API key: the key object and, this once, the key.
// `Debug` (below) hides the key.
#[derive(Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key object.
    #[schema(inline)]
    #[serde(flatten)]
    pub object: ApiKeyObject,
    /// The key (`vdck_...`): shown once, stored only as its SHA-256.
    pub key: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("object", &self.object)
            .field("key", &"[redacted]")
            .finish()
    }
}

/// Every API key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// The keys, oldest first.
    pub items: Vec<ApiKeyObject>,
}

/// Creates a key: the stored record's object and the clear key (to show once).
pub async fn create_api_key(
    api: &AccessApi,
    req: CreateApiKey,
) -> Result<CreatedApiKey, AccessError> {
    let req = validate(req)?;
    require_tenants_exist(api, &req).await?;
    let random =
        |n| random_b64(api.rng.as_ref(), n).map_err(|e| AccessError::Internal(e.to_string()));
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
    api.store.create_api_key(&record).await?;
    Ok(CreatedApiKey {
        object: ApiKeyObject::new(&record),
        key,
    })
}

/// Every key, revoked ones included, oldest first.
pub async fn list_api_keys(api: &AccessApi) -> Result<ApiKeyList, AccessError> {
    let keys = api.store.list_api_keys().await?;
    Ok(ApiKeyList {
        items: keys.iter().map(ApiKeyObject::new).collect(),
    })
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
    fn api_key_objects_carry_a_null_revoked_at_and_created_ones_hide_the_key_in_debug() {
        let mut record = ApiKeyRecord {
            id: "key_1".into(),
            name: "ops".into(),
            issuers: vec!["acme".into()],
            verifiers: vec![],
            scopes: vec!["read".into()],
            key_hash: SecretHash::of("vdck_secret"),
            created_at: vdc_core::time::UnixTime(0),
            revoked_at: None,
        };
        let created = CreatedApiKey {
            object: ApiKeyObject::new(&record),
            key: "vdck_secret".into(),
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            serde_json::json!({"id": "key_1", "name": "ops", "issuers": ["acme"],
                "verifiers": [], "scopes": ["read"], "created_at": "1970-01-01T00:00:00Z",
                "revoked_at": null, "key": "vdck_secret"})
        );
        assert!(!format!("{created:?}").contains("vdck_secret"));
        record.revoked_at = Some(vdc_core::time::UnixTime(60));
        assert_eq!(
            serde_json::to_value(ApiKeyObject::new(&record)).unwrap()["revoked_at"],
            "1970-01-01T00:01:00Z"
        );
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
}
