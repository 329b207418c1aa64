//! Documentation-only schemas for the verifier part of the management API's OpenAPI
//! document: the handlers build these answers as JSON values (`service.rs`); these types
//! describe them for clients.

use std::collections::BTreeMap;

use serde_json::Value;
use utoipa::ToSchema;
use vdc_http::openapi::ErrorBody;

/// A verifier (contract: "Verifiers").
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "acme-verifier",
    "client_id_prefix": "x509_san_dns",
    "client_id": "x509_san_dns:127.0.0.1",
    "display": {"name": "ACME door"},
    "trusted_issuers": ["http://127.0.0.1:8080/issuers/acme"],
    "require_status": false,
    "trusted_issuer_anchors": [],
    "response_uri": "http://127.0.0.1:8080/verifiers/acme-verifier/response",
    "created_at": "2026-01-01T12:00:00Z"
}))]
pub struct VerifierObject {
    /// The slug.
    pub id: String,
    /// The client identifier prefix.
    pub client_id_prefix: String,
    /// The `client_id` wallets see (OID4VP 1.0 §5.9).
    pub client_id: String,
    /// Display information as created; null without it.
    pub display: Option<Value>,
    /// Credential issuer identifiers whose credentials are accepted.
    pub trusted_issuers: Vec<String>,
    /// Whether credentials without a `status` claim are refused.
    pub require_status: bool,
    /// PEM trust anchors for foreign issuers' `x5c` chains.
    pub trusted_issuer_anchors: Vec<String>,
    /// The response URI wallets post to.
    pub response_uri: String,
    /// When the verifier was created (RFC 3339).
    pub created_at: String,
    /// The request-signing leaf certificate (PEM), for the `x509_*` prefixes.
    pub certificate: Option<String>,
    /// The CA a wallet configures to trust this verifier's requests, when the server made
    /// the certificate.
    pub trust_anchor: Option<String>,
}

/// A created presentation request (contract: "Presentation requests").
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "r-5tW1",
    "request_uri": "http://127.0.0.1:8080/verifiers/acme-verifier/requests/r-5tW1/request.jwt",
    "authorization_request": "openid4vp://?client_id=x509_san_dns%3A127.0.0.1&request_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fverifiers%2Facme-verifier%2Frequests%2Fr-5tW1%2Frequest.jwt",
    "expires_at": "2026-01-01T12:05:00Z"
}))]
pub struct RequestCreated {
    /// The request id.
    pub id: String,
    /// Where the wallet fetches the request object.
    pub request_uri: String,
    /// The `openid4vp://` link for a QR code or a same-device link.
    pub authorization_request: String,
    /// When the request expires (RFC 3339).
    pub expires_at: String,
}

/// One presented credential.
#[derive(Debug, ToSchema)]
pub struct PresentedCredential {
    /// The credential issuer identifier.
    pub issuer: String,
    /// The credential type (`vct` for SD-JWT VC).
    pub vct: Option<String>,
    /// Exactly the disclosed claims, with their paths as nested objects.
    pub claims: Value,
    /// `valid`, `revoked` or `suspended`.
    pub status: Option<String>,
}

/// A presentation request's state and result.
#[derive(Debug, ToSchema)]
#[schema(example = json!({
    "id": "r-5tW1",
    "status": "verified",
    "presentation": {"badge": [{"issuer": "http://127.0.0.1:8080/issuers/acme",
        "vct": "https://acme.example/vct/employee-badge",
        "claims": {"given_name": "Ada", "employee_id": "E-1"}, "status": "valid"}]},
    "error": null,
    "created_at": "2026-01-01T12:00:00Z",
    "expires_at": "2026-01-01T12:05:00Z"
}))]
pub struct RequestResult {
    /// The request id.
    pub id: String,
    /// `pending`, `verified`, `rejected` or `expired`.
    #[schema(pattern = "^(pending|verified|rejected|expired)$")]
    pub status: String,
    /// The presented credentials by DCQL query id; null until verified.
    pub presentation: Option<BTreeMap<String, Vec<PresentedCredential>>>,
    /// Why the request was rejected; null otherwise.
    pub error: Option<ErrorBody>,
    /// When the request was created (RFC 3339).
    pub created_at: String,
    /// When it expires (RFC 3339).
    pub expires_at: String,
}

/// Every verifier the caller may read.
#[derive(Debug, ToSchema)]
pub struct VerifierList {
    /// The verifiers, by id.
    pub items: Vec<VerifierObject>,
}
