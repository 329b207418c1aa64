//! Layers every vdc router gets: body limit, request ids, error logging.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::HeaderValue;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

use crate::MAX_BODY_BYTES;
use crate::error::ErrorDetail;

/// The request id header, set on every response (and on requests that lack one).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Request ids: a per-process random prefix and a counter (unique, cheap, not secret).
#[derive(Clone, Debug)]
struct RequestIds {
    prefix: u32,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n:x}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Applies the standard layers: 1 MiB body limit, request id set and echoed, error logging.
pub fn standard<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let mut seed = [0u8; 4];
    use vdc_core::rng::RandomSource as _;
    let prefix = vdc_core::rng::SystemRandom::new()
        .fill(&mut seed)
        .map(|_| u32::from_le_bytes(seed))
        .unwrap_or(0);
    let header = http::HeaderName::from_static(REQUEST_ID_HEADER);
    router
        .layer(middleware::from_fn(log_errors))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, RequestIds { prefix }))
}

/// Logs the server-side detail of every error response once (STYLE.md §4): 5xx at error,
/// 4xx at debug (refused input is the client's problem, and logs must not become a DoS).
async fn log_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".into());
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let response = next.run(request).await;
    if let Some(ErrorDetail(detail)) = response.extensions().get::<ErrorDetail>() {
        let status = response.status().as_u16();
        if status >= 500 {
            tracing::error!(%method, %path, status, %request_id, detail = %detail, "request failed");
        } else {
            tracing::debug!(%method, %path, status, %request_id, detail = %detail, "request refused");
        }
    }
    response
}
