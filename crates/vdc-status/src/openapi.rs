//! Documentation-only schemas for the status part of the management API's OpenAPI document:
//! the handlers build these bodies as JSON values ([`crate::service::credential_object`]);
//! these types describe them.

use utoipa::ToSchema;

/// Where a credential's status sits: its status list and index (Token Status List §6.2).
#[derive(Debug, ToSchema)]
pub struct StatusListReference {
    /// The status list token URL (`{base}/issuers/{issuer}/status-lists/{list}`).
    pub uri: String,
    /// The credential's index in the list.
    pub idx: u64,
}

/// An issued credential and its status (contract: "Issued credentials and their status").
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "c-7Hq2",
    "status": "revoked",
    "status_list": {"uri": "http://127.0.0.1:8080/issuers/acme/status-lists/1", "idx": 4711},
    "credential_configuration_id": "EmployeeBadge",
    "offer_id": "o-3kP9",
    "issued_at": "2026-01-01T12:00:00Z",
    "expires_at": "2027-01-01T12:00:00Z"
}))]
pub struct CredentialObject {
    /// The credential id.
    pub id: String,
    /// `valid`, `revoked` or `suspended`.
    #[schema(pattern = "^(valid|revoked|suspended)$")]
    pub status: String,
    /// Its status list entry; null for a credential issued without one.
    pub status_list: Option<StatusListReference>,
    /// The credential configuration it was issued under.
    pub credential_configuration_id: String,
    /// The offer it was issued for.
    pub offer_id: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it expires (RFC 3339); null when it does not.
    pub expires_at: Option<String>,
}

/// The answer to a batch status change: every changed credential.
#[derive(Debug, ToSchema)]
pub struct CredentialItems {
    /// The credentials after the change, in request order.
    pub items: Vec<CredentialObject>,
}
