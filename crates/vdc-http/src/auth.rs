//! Management API authentication: the admin key (contract: "Auth: `Authorization: Bearer
//! <admin api key>`. Missing/wrong key: `401` with `{"error":"unauthorized", ...}`").
//!
//! Only the SHA-256 of the key is held; presented keys are hashed and compared in constant
//! time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use ring::digest;

use crate::error::ErrorResponse;

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
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Middleware for management routers: 401 `unauthorized` unless the bearer is the admin key.
pub async fn require_admin(State(key): State<AdminKey>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match presented {
        Some(token) if key.matches(token) => next.run(request).await,
        _ => ErrorResponse::client(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid admin API key is required",
        )
        .with_www_authenticate("Bearer")
        .into_response(),
    }
}
