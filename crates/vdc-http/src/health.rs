//! `GET /healthz`, `GET /readyz` and `GET /metrics`, over checks the binary supplies
//! ([`Probe`]), so this crate needs no store.
//!
//! - `/healthz`: 200 once the store answers.
//! - `/readyz`: 200 when the store answers and every issuer's current signing key decrypts;
//!   503 with the failed checks otherwise. Causes are logged, not sent.
//! - `/metrics`: the [`Metrics`] registry in Prometheus text format.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};

use crate::metrics::{CONTENT_TYPE, Metrics};

/// The health route.
pub const HEALTHZ: &str = "/healthz";
/// The readiness route.
pub const READYZ: &str = "/readyz";
/// The Prometheus metrics route.
pub const METRICS: &str = "/metrics";

/// Why a check failed (logged, never sent).
pub type ProbeError = Box<dyn std::error::Error + Send + Sync>;

/// What health and readiness check, supplied by the binary.
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    /// Whether the store answers (migrations are applied before the server starts).
    async fn store(&self) -> Result<(), ProbeError>;
    /// Whether every issuer's current signing key decrypts with the KEK.
    async fn signing_keys(&self) -> Result<(), ProbeError>;
}

/// The three routes over `probe` and `metrics`.
pub fn routes(probe: Arc<dyn Probe>, metrics: Metrics) -> Router {
    Router::new()
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz))
        .with_state(probe)
        .merge(
            Router::new()
                .route(METRICS, get(metrics_text))
                .with_state(metrics),
        )
}

/// `GET /readyz`: 200 when the store answers and the signing keys are usable; 503 with the
/// failed checks otherwise.
async fn readyz(State(probe): State<Arc<dyn Probe>>) -> impl IntoResponse {
    let mut failed = Vec::new();
    match probe.store().await {
        Ok(()) => {
            if let Err(e) = probe.signing_keys().await {
                tracing::error!(error = %e, "readiness: signing keys unusable");
                failed.push("signing_keys");
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "readiness: store unreachable");
            failed.extend(["store", "migrations", "signing_keys"]);
        }
    }
    if failed.is_empty() {
        (
            StatusCode::OK,
            axum::Json(
                serde_json::json!({"status": "ready", "checks": ["store", "migrations", "signing_keys"]}),
            ),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "unavailable", "failed": failed})),
        )
    }
}

/// `GET /metrics`: the registry in Prometheus text format.
async fn metrics_text(State(metrics): State<Metrics>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render())
}

/// `GET /healthz`: 200 once the store answers.
async fn healthz(State(probe): State<Arc<dyn Probe>>) -> impl IntoResponse {
    match probe.store().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ok"})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable"})),
            )
        }
    }
}
