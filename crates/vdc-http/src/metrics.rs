//! A small Prometheus registry: request counters and latency histograms per matched route,
//! and the domain counters the services increment (credentials issued, presentations by
//! outcome and reason, status changes).
//!
//! Every value is an atomic; a map lock is taken for writing only the first time a label set
//! is seen (label values come from fixed sets: matched route templates, status codes,
//! `&'static str` reasons), so no request waits on another. Labels never carry raw paths,
//! ids, claim values or secrets.
//!
//! Spec: Prometheus text exposition format 0.0.4.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A latency histogram (cumulative buckets are computed when rendering).
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(b) = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .and_then(|i| self.buckets.get(i))
        {
            b.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// A family of series keyed by label values.
#[derive(Debug)]
struct Family<K, V> {
    series: RwLock<BTreeMap<K, Arc<V>>>,
}

impl<K, V> Default for Family<K, V> {
    fn default() -> Self {
        Self {
            series: RwLock::new(BTreeMap::new()),
        }
    }
}

impl<K: Ord + Clone, V: Default> Family<K, V> {
    fn get(&self, key: &K) -> Arc<V> {
        // A poisoned map holds only counters; keep using it.
        if let Some(v) = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return v.clone();
        }
        self.series
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn snapshot(&self) -> Vec<(K, Arc<V>)> {
        self.series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[derive(Debug, Default)]
struct Registry {
    requests: Family<(String, String, u16), AtomicU64>,
    latency: Family<String, Histogram>,
    credentials_issued: AtomicU64,
    legacy_proofs: AtomicU64,
    presentations: Family<(&'static str, &'static str), AtomicU64>,
    status_changes: Family<&'static str, AtomicU64>,
    webhook_deliveries: Family<&'static str, AtomicU64>,
    panics: AtomicU64,
}

/// The metrics handle: cheap to clone, shared by the HTTP layer and the services.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    inner: Arc<Registry>,
}

impl Metrics {
    /// A fresh registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one answered request: `route` is the matched route template (never a raw
    /// path).
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.inner
            .requests
            .get(&(route.to_owned(), method.to_owned(), status))
            .fetch_add(1, Ordering::Relaxed);
        self.inner.latency.get(&route.to_owned()).observe(elapsed);
    }

    /// Records one request whose handler panicked (answered 500 by the panic layer).
    pub fn panicked(&self) {
        self.inner.panics.fetch_add(1, Ordering::Relaxed);
    }

    /// Records `n` credentials issued.
    pub fn credentials_issued(&self, n: u64) {
        self.inner
            .credentials_issued
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Records a credential request that sent the draft 13–15 singular `proof`.
    pub fn legacy_proof(&self) {
        self.inner.legacy_proofs.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a verified presentation.
    pub fn presentation_verified(&self) {
        self.inner
            .presentations
            .get(&("verified", ""))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records a rejected presentation and why (a fixed reason name).
    pub fn presentation_rejected(&self, reason: &'static str) {
        self.inner
            .presentations
            .get(&("rejected", reason))
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records one credential's status change to `status` (`valid`, `suspended`, `revoked`).
    pub fn status_changed(&self, status: &'static str) {
        self.inner
            .status_changes
            .get(&status)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Records one webhook delivery attempt and its outcome (`delivered`, `retry`,
    /// `failed`: a fixed set).
    pub fn webhook_delivery(&self, outcome: &'static str) {
        self.inner
            .webhook_deliveries
            .get(&outcome)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let r = &self.inner;
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored.
        let _ = writeln!(
            out,
            "# HELP vdc_http_requests_total HTTP requests answered, by matched route, method and status.\n# TYPE vdc_http_requests_total counter"
        );
        for ((route, method, status), v) in r.requests.snapshot() {
            let _ = writeln!(
                out,
                "vdc_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {}",
                escape(&route),
                escape(&method),
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vdc_http_request_duration_seconds Time to answer HTTP requests, by matched route.\n# TYPE vdc_http_request_duration_seconds histogram"
        );
        for (route, h) in r.latency.snapshot() {
            let route = escape(&route);
            let mut cumulative = 0;
            for (bound, b) in BUCKETS.iter().zip(h.buckets.iter()) {
                cumulative += b.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "vdc_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "vdc_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "vdc_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}\nvdc_http_request_duration_seconds_count{{route=\"{route}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP vdc_http_panics_total Requests whose handler panicked (answered 500).\n# TYPE vdc_http_panics_total counter\nvdc_http_panics_total {}",
            r.panics.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP vdc_credentials_issued_total Credentials issued.\n# TYPE vdc_credentials_issued_total counter\nvdc_credentials_issued_total {}",
            r.credentials_issued.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP vdc_credential_requests_legacy_proof_total Credential requests with the singular proof of OID4VCI drafts 13 to 15 (read as proofs).\n# TYPE vdc_credential_requests_legacy_proof_total counter\nvdc_credential_requests_legacy_proof_total {}",
            r.legacy_proofs.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP vdc_presentations_total Presentations answered, by outcome and rejection reason.\n# TYPE vdc_presentations_total counter"
        );
        for ((outcome, reason), v) in r.presentations.snapshot() {
            let _ = writeln!(
                out,
                "vdc_presentations_total{{outcome=\"{outcome}\",reason=\"{}\"}} {}",
                escape(reason),
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vdc_status_changes_total Credential status changes, by new status.\n# TYPE vdc_status_changes_total counter"
        );
        for (status, v) in r.status_changes.snapshot() {
            let _ = writeln!(
                out,
                "vdc_status_changes_total{{status=\"{}\"}} {}",
                escape(status),
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vdc_webhook_deliveries_total Webhook delivery attempts, by outcome.\n# TYPE vdc_webhook_deliveries_total counter"
        );
        for (outcome, v) in r.webhook_deliveries.snapshot() {
            let _ = writeln!(
                out,
                "vdc_webhook_deliveries_total{{outcome=\"{}\"}} {}",
                escape(outcome),
                v.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Spec: Prometheus text format: label values escape `\`, `"` and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_histograms_render_per_route() {
        let m = Metrics::new();
        m.observe_request("GET", "/a/{id}", 200, Duration::from_millis(3));
        m.observe_request("GET", "/a/{id}", 200, Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains(
            "vdc_http_requests_total{route=\"/a/{id}\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "vdc_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"0.005\"} 1"
        ));
        assert!(
            text.contains(
                "vdc_http_request_duration_seconds_bucket{route=\"/a/{id}\",le=\"+Inf\"} 2"
            )
        );
        assert!(text.contains("vdc_http_request_duration_seconds_count{route=\"/a/{id}\"} 2"));
    }

    #[test]
    fn domain_counters_render() {
        let m = Metrics::new();
        m.credentials_issued(2);
        m.presentation_verified();
        m.presentation_rejected("signature");
        m.status_changed("revoked");
        let text = m.render();
        assert!(text.contains("vdc_credentials_issued_total 2"));
        assert!(text.contains("vdc_presentations_total{outcome=\"verified\",reason=\"\"} 1"));
        assert!(
            text.contains("vdc_presentations_total{outcome=\"rejected\",reason=\"signature\"} 1")
        );
        assert!(text.contains("vdc_status_changes_total{status=\"revoked\"} 1"));
        m.webhook_delivery("retry");
        m.webhook_delivery("delivered");
        m.webhook_delivery("retry");
        let text = m.render();
        assert!(text.contains("vdc_webhook_deliveries_total{outcome=\"retry\"} 2"));
        assert!(text.contains("vdc_webhook_deliveries_total{outcome=\"delivered\"} 1"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
