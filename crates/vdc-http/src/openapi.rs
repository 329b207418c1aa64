//! Shared pieces of the management API's OpenAPI 3.1 document: the error body schema, the
//! name of the bearer security scheme and the tags, used by every crate's `#[utoipa::path]`
//! attributes so the merged document names each once.

use utoipa::ToSchema;

/// The name of the bearer security scheme (contract: `Authorization: Bearer <api key>`).
pub const SECURITY_SCHEME: &str = "bearer";

/// Tag: issuers (create, list, read).
pub const TAG_ISSUERS: &str = "issuers";
/// Tag: credential offers.
pub const TAG_OFFERS: &str = "offers";
/// Tag: issued credentials and their status.
pub const TAG_CREDENTIALS: &str = "credentials";
/// Tag: verifiers.
pub const TAG_VERIFIERS: &str = "verifiers";
/// Tag: presentation requests and their results.
pub const TAG_PRESENTATIONS: &str = "presentations";
/// Tag: scoped API keys.
pub const TAG_API_KEYS: &str = "api-keys";
/// Tag: the audit log.
pub const TAG_AUDIT: &str = "audit";
/// Tag: webhooks.
pub const TAG_WEBHOOKS: &str = "webhooks";

/// The error body every management error carries (contract: "Every error is JSON").
///
/// Documentation only: [`crate::ErrorResponse`] writes this shape.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"error": "not_found", "error_description": "no such offer"}))]
pub struct ErrorBody {
    /// A snake_case code: `invalid_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `temporarily_unavailable`, `server_error`.
    pub error: String,
    /// Human-readable text (generic for 5xx).
    pub error_description: String,
}
