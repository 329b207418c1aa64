//! vdc-access: who may call the management API, and the audit log of what they did
//! (contract: "Auth", "API keys and tenants", "Webhooks and audit").
//!
//! Layout:
//! - [`auth`]: [`Authenticator`] (admin key or scoped API key → [`Caller`]), [`AdminKey`],
//!   and the audit entry of each call.
//! - [`scope`]: [`Scope`], [`Caller`] and its checks, and [`rule`], the contract's scope
//!   table of the management routes (unknown routes are admin-only).
//! - [`audit`]: where entries are written: [`AuditLog`] (group commit), [`CallAudit`] (an
//!   entry a change's own transaction writes), [`AuditSink`] (an entry per domain event).
//! - [`audit_query`]: reading the log (query string, who may read what, pages); its answers
//!   [`AuditPage`] and [`AuditItem`].
//! - [`api_keys`]: validating, creating and listing scoped keys ([`AccessApi`]); its answers
//!   [`ApiKeyObject`], [`CreatedApiKey`] and [`ApiKeyList`].
//! - [`http`]: the API key and audit routes, the [`management`] middleware every management
//!   router uses, and the one HTTP mapping of [`AccessError`].
//! - [`error`]: [`AccessError`], the one error of this crate.

pub mod api_keys;
pub mod audit;
pub mod audit_query;
pub mod auth;
pub mod error;
pub mod http;
pub mod page;
pub mod scope;

pub use api_keys::{AccessApi, ApiKeyList, ApiKeyObject, CreatedApiKey};
pub use audit::{AuditLog, AuditSink, AuditTarget, CallAudit};
pub use audit_query::{AuditItem, AuditPage};
pub use auth::{AdminKey, Authenticator, is_slug, sha256, tenant_exists};
pub use error::AccessError;
pub use http::{management, openapi, require_admin, routes};
pub use scope::{ADMIN_ACTOR, Caller, KeyCaller, Rule, Scope, rule};
