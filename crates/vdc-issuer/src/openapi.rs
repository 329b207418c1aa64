//! Documentation-only schemas for the issuer part of the management API's OpenAPI document:
//! the handlers build these answers as JSON values (`management.rs`); these types describe
//! them for clients.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;
use vdc_status::openapi::StatusListReference;

use crate::config::CredentialConfiguration;

/// An issuer: its create body as stored, plus its identifier and published configurations.
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "acme",
    "display": [{"name": "ACME Corp", "locale": "en"}],
    "signing_alg": "ES256",
    "credential_configurations": {"EmployeeBadge": {"format": "dc+sd-jwt",
        "vct": "https://acme.example/vct/employee-badge",
        "claims": [{"path": ["employee_id"], "mandatory": true}],
        "cryptographic_binding_methods_supported": ["jwk"]}},
    "credential_issuer": "http://127.0.0.1:8080/issuers/acme",
    "credential_configurations_supported": {"EmployeeBadge": {"format": "dc+sd-jwt",
        "vct": "https://acme.example/vct/employee-badge"}}
}))]
pub struct IssuerObject {
    /// The slug.
    pub id: String,
    /// Issuer display objects (omitted when empty).
    pub display: Option<Vec<Value>>,
    /// The credential signing algorithm.
    pub signing_alg: String,
    /// The credential configurations by id, as created.
    pub credential_configurations: BTreeMap<String, CredentialConfiguration>,
    /// The largest number of key proofs in one credential request, when set.
    pub batch_size: Option<usize>,
    /// The signing key's certificate chain, when configured.
    pub x5c: Option<Vec<String>>,
    /// The credential issuer identifier (`{base}/issuers/{issuer}`).
    pub credential_issuer: String,
    /// Exactly what the issuer's OID4VCI metadata publishes (OID4VCI 1.0 §12.2.4).
    pub credential_configurations_supported: BTreeMap<String, Value>,
}

/// Every issuer.
#[derive(Debug, ToSchema)]
pub struct IssuerList {
    /// The issuers.
    pub items: Vec<IssuerObject>,
}

/// A created credential offer (contract: "Credential offers").
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "o-3kP9",
    "credential_offer": {"credential_issuer": "http://127.0.0.1:8080/issuers/acme",
        "credential_configuration_ids": ["EmployeeBadge"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code":
            {"pre-authorized_code": "…", "tx_code": {"length": 6, "input_mode": "numeric"}}}},
    "credential_offer_uri": "http://127.0.0.1:8080/issuers/acme/offers/o-3kP9",
    "offer_uri": "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fissuers%2Facme%2Foffers%2Fo-3kP9",
    "tx_code": "493027",
    "expires_at": "2026-01-01T12:10:00Z"
}))]
pub struct OfferCreated {
    /// The offer id.
    pub id: String,
    /// The OID4VCI credential offer object (OID4VCI 1.0 §4.1.1).
    pub credential_offer: Value,
    /// Where wallets fetch the offer by reference.
    pub credential_offer_uri: String,
    /// The `openid-credential-offer://` link (for a QR code or a same-device link).
    pub offer_uri: String,
    /// The transaction code to give the holder out of band; null without one. Shown once.
    pub tx_code: Option<String>,
    /// When the offer expires (RFC 3339).
    pub expires_at: String,
}

/// A credential issued for an offer.
#[derive(Debug, ToSchema)]
pub struct OfferCredential {
    /// The credential id.
    pub id: String,
    /// The configuration it was issued under.
    pub credential_configuration_id: String,
    /// `valid`, `revoked` or `suspended`.
    #[schema(pattern = "^(valid|revoked|suspended)$")]
    pub status: String,
    /// Its status list entry; null without one.
    pub status_list: Option<StatusListReference>,
}

/// An offer's state and the credentials issued for it.
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "o-3kP9",
    "status": "credential_issued",
    "deferred": false,
    "credential_configuration_ids": ["EmployeeBadge"],
    "expires_at": "2026-01-01T12:10:00Z",
    "credentials": [{"id": "c-7Hq2", "credential_configuration_id": "EmployeeBadge",
        "status": "valid",
        "status_list": {"uri": "http://127.0.0.1:8080/issuers/acme/status-lists/1", "idx": 4711}}]
}))]
pub struct OfferStatus {
    /// The offer id.
    pub id: String,
    /// `offered`, `token_issued`, `credential_issued` or `expired`.
    #[schema(pattern = "^(offered|token_issued|credential_issued|expired)$")]
    pub status: String,
    /// Whether issuance waits for claims supplied later.
    pub deferred: bool,
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// When the offer expires (RFC 3339).
    pub expires_at: String,
    /// The credentials issued for the offer.
    pub credentials: Vec<OfferCredential>,
}
