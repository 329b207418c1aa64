//! Layers every vdc router gets: body limit, request ids, a request span, error logging and
//! request metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use std::any::Any;

use axum::response::{IntoResponse as _, Response};
use http::HeaderValue;
use http::StatusCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};

use tracing::Instrument as _;

use crate::MAX_BODY_BYTES;
use crate::error::{ErrorDetail, ErrorResponse};
use crate::metrics::Metrics;

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

/// Applies the standard layers: 1 MiB body limit, request id set and echoed, a request span
/// and error logging (requests are not counted; see [`standard_with_metrics`]).
pub fn standard<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    standard_with_metrics(router, None)
}

/// Like [`standard`], also counting every request and its latency in `metrics` under its
/// matched route.
pub fn standard_with_metrics<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    metrics: Option<Metrics>,
) -> Router<S> {
    let mut seed = [0u8; 4];
    use vdc_core::rng::RandomSource as _;
    let prefix = vdc_core::rng::SystemRandom::new()
        .fill(&mut seed)
        .map(|_| u32::from_le_bytes(seed))
        .unwrap_or(0);
    let header = http::HeaderName::from_static(REQUEST_ID_HEADER);
    let panics = metrics.clone();
    router
        // Innermost: a panic becomes a JSON 500 that the layers outside log and count like
        // any answer (G8: a dropped connection is never an answer).
        .layer(CatchPanicLayer::custom(
            move |panic: Box<dyn Any + Send>| panic_response(panic.as_ref(), panics.as_ref()),
        ))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let metrics = metrics.clone();
            async move { observe(request, next, metrics).await }
        }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, RequestIds { prefix }))
}

/// The answer to a handler that panicked: `500 server_error` in the OAuth error shape, the
/// panic message logged (it is ours, not the client's) and counted.
fn panic_response(panic: &(dyn Any + Send), metrics: Option<&Metrics>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    if let Some(m) = metrics {
        m.panicked();
    }
    ErrorResponse::server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        format!("handler panicked: {message}"),
    )
    .into_response()
}

/// Bounds each request to `limit` from the moment its headers are read to the answer
/// (issue 10, item 11), plus the `?wait=N` of a long-poll (at most
/// [`crate::longpoll::MAX_WAIT_SECS`]), which the client asked the server to hold. Past the
/// deadline the client gets `408 invalid_request` when its body had not fully arrived (a
/// slow sender), else `503 temporarily_unavailable` (the server was too slow, R2); either way
/// the work is dropped and the connection closed.
pub fn request_timeout<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limit: std::time::Duration,
) -> Router<S> {
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        bounded(request, next, limit)
    }))
}

async fn bounded(request: Request, next: Next, limit: std::time::Duration) -> Response {
    use axum::response::IntoResponse as _;
    use http_body::Body as _;
    let wait = request
        .uri()
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == "wait")
                .and_then(|(_, value)| crate::longpoll::parse_wait(Some(&value)).ok())
        })
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let received = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(body.is_end_stream()));
    let body = axum::body::Body::new(Tracked {
        inner: body,
        received: received.clone(),
    });
    let request = Request::from_parts(parts, body);
    match tokio::time::timeout(limit + wait, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response = if received.load(Ordering::Acquire) {
                crate::ErrorResponse::server(
                    http::StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    format!("no answer within {} s", limit.as_secs()),
                )
            } else {
                crate::ErrorResponse::client(
                    http::StatusCode::REQUEST_TIMEOUT,
                    "invalid_request",
                    format!(
                        "the request was not received within {} seconds",
                        limit.as_secs()
                    ),
                )
            }
            .into_response();
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// A request body that notes when it has been read to its end.
struct Tracked {
    inner: axum::body::Body,
    received: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, std::task::Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Sets the JSON answers for requests no route takes (contract: "Every error is JSON"):
/// `404 not_found` for an unknown path, `405 method_not_allowed` for a known path with
/// another method (axum keeps the `Allow` header listing the methods that path has). Call
/// it on the composed router, after every route is merged: the 405 answer reaches only the
/// routes registered before it.
pub fn json_fallbacks<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
}

async fn no_route() -> Response {
    use axum::response::IntoResponse as _;
    crate::ErrorResponse::not_found("no resource at this path").into_response()
}

async fn wrong_method(method: http::Method) -> Response {
    use axum::response::IntoResponse as _;
    crate::ErrorResponse::client(
        http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on this path; the Allow header lists what is"),
    )
    .into_response()
}

/// Runs the request inside a `request` span carrying `request_id`, `method` and the matched
/// `route` (so every log line of the request has them, in text and JSON logs), logs the
/// server-side detail of every error response once (STYLE.md §4): 5xx at error, 4xx at debug
/// (refused input is the client's problem, and logs must not become a DoS), and counts the
/// request in `metrics`.
async fn observe(request: Request, next: Next, metrics: Option<Metrics>) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    // Never the raw path: it may carry ids and codes.
    let route = request
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
    let span = tracing::info_span!("request", %request_id, %method, %route);
    async move {
        let response = next.run(request).await;
        let status = response.status().as_u16();
        if let Some(ErrorDetail(detail)) = response.extensions().get::<ErrorDetail>() {
            if status >= 500 {
                tracing::error!(status, detail = %detail, "request failed");
            } else {
                tracing::debug!(status, detail = %detail, "request refused");
            }
        }
        if let Some(m) = &metrics {
            m.observe_request(method.as_str(), &route, status, started.elapsed());
        }
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// G8: a handler that panics answers a JSON 500 `server_error` (never a dropped
    /// connection), counted in `/metrics`.
    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500_and_is_counted() {
        let metrics = Metrics::new();
        let router: Router = Router::new().route(
            "/boom",
            get(|| async {
                let s = "abcdefghijk\u{e9}x";
                // The shape of the `typ` bug: a byte offset inside a character.
                #[allow(clippy::string_slice)]
                let cut = &s[..12];
                cut.to_owned()
            }),
        );
        let app = standard_with_metrics(router, Some(metrics.clone()));
        let response = app
            .oneshot(http::Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "server_error");
        assert!(body["error_description"].is_string());
        let rendered = metrics.render();
        assert!(rendered.contains("vdc_http_panics_total 1"), "{rendered}");
        assert!(
            rendered
                .contains(r#"vdc_http_requests_total{route="/boom",method="GET",status="500"} 1"#),
            "{rendered}"
        );
    }
}
