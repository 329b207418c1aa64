//! The answer schemas of the API key and audit routes, for the OpenAPI document.

use utoipa::ToSchema;

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
