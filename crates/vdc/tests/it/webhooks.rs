//! Webhooks and long-poll over HTTP, on SQLite and Postgres (issue 6 item 3): a receiver in
//! the test (axum on 127.0.0.1:0, allow-listed through `VDC_OUTBOUND_ALLOW`) records what it
//! gets and can be told to fail. Signatures are checked from first principles (HMAC-SHA256
//! over "{id}.{timestamp}.{body}") and with the reference `standardwebhooks` npm library;
//! retries are driven by moving the server's clock; waits are bounded polls, never sleeps.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use serde_json::{Value, json};
use vdc_holder::{VerifierTrust, Wallet};
use vdc_testkit::{Backend, TestServer};

/// One test per backend, each with its own receiver allow-listed on its server.
macro_rules! webhook_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(vdc_testkit::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(vdc_testkit::Backend::Postgres).await;
                }
            )*
        }
    };
}

webhook_tests!(
    registration_validates_and_never_shows_the_secret_again,
    deliveries_are_signed_verifiable_and_carry_no_claim_values,
    a_receiver_failing_twice_gets_the_event_on_the_third_attempt,
    deliveries_survive_a_restart,
    tenant_filters_and_delete_stop_deliveries,
    status_change_verified_rejected_and_expired_events_arrive,
    long_poll_answers_a_change_or_the_unchanged_state_at_the_deadline,
    retention_purges_each_kind_after_its_own_period,
);

/// What the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: String,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// How many of the next requests are answered 500.
    fail_next: Arc<AtomicU32>,
    origin: String,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let me = Self {
            origin,
            ..Self::default()
        };
        let app = axum::Router::new().fallback(record).with_state(me.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        me
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn at(&self, path: &str) -> Vec<Received> {
        self.got().into_iter().filter(|r| r.path == path).collect()
    }

    /// Waits (bounded) until `path` got at least `n` requests.
    async fn wait_for(&self, path: &str, n: usize) -> Vec<Received> {
        eventually(&format!("{n} deliveries to {path}"), || async {
            let got = self.at(path);
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

async fn record(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    r.got.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let failing = r
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

/// Polls `check` every 25 ms until it answers `Some`, failing after 30 s.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let mut ticks = tokio::time::interval(Duration::from_millis(25));
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            ticks.tick().await;
            if let Some(v) = check().await {
                return v;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

async fn start(backend: Backend) -> (TestServer, Receiver) {
    let receiver = Receiver::start().await;
    let origin = receiver.origin.clone();
    let server = TestServer::start_with(backend, move |c| c.outbound_allow = origin).await;
    (server, receiver)
}

/// Registers a webhook; its id and secret.
async fn register(server: &TestServer, body: Value) -> (String, String) {
    let (status, created) = server.admin_post("/api/v1/webhooks", &body).await;
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

async fn deliveries(server: &TestServer, id: &str) -> Vec<Value> {
    let (status, body) = server
        .admin_get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// Waits until the webhook's (only) delivery has `n` attempts recorded; that delivery.
async fn wait_attempts(server: &TestServer, id: &str, n: usize) -> Value {
    eventually(&format!("{n} attempts"), || async {
        let items = deliveries(server, id).await;
        items
            .first()
            .filter(|d| d["attempts"].as_array().unwrap().len() >= n)
            .cloned()
    })
    .await
}

const CLAIMS: &[&str] = &["Ada", "Lovelace", "E-1", "R&D"];

/// Issues one badge from the demo issuer to a new wallet; the wallet and the offer.
async fn issue(server: &TestServer) -> (Wallet, Value) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    (wallet, offer)
}

/// Checks `webhook-signature` from first principles: base64 HMAC-SHA256 keyed by the
/// decoded secret over "{webhook-id}.{webhook-timestamp}.{body}" (Standard Webhooks).
fn assert_signed(secret: &str, r: &Received) {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap();
    assert_eq!(key.len(), 32);
    let id = r.headers["webhook-id"].to_str().unwrap();
    let ts = r.headers["webhook-timestamp"].to_str().unwrap();
    assert!(ts.parse::<i64>().is_ok(), "{ts}");
    let signed = format!("{id}.{ts}.{}", r.body);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let sig = r.headers["webhook-signature"].to_str().unwrap();
    let b64 = sig.strip_prefix("v1,").expect("v1, prefix");
    let tag = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    ring::hmac::verify(&key, signed.as_bytes(), &tag).expect("signature verifies");
    assert_eq!(r.headers["content-type"], "application/json");
}

fn conformance_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance");
        let out = Command::new("bash")
            .arg(dir.join("setup.sh"))
            .output()
            .expect("bash runs conformance/setup.sh");
        assert!(
            out.status.success(),
            "conformance/setup.sh failed (node >= 20 and npm are required; this test never skips):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .clone()
}

/// Verifies messages with the reference `standardwebhooks` npm library.
async fn verify_with_reference_library(secret: &str, messages: &[Received]) -> Vec<Value> {
    let input = json!({
        "secret": secret,
        "messages": messages.iter().map(|m| json!({
            "headers": {
                "webhook-id": m.headers["webhook-id"].to_str().unwrap(),
                "webhook-timestamp": m.headers["webhook-timestamp"].to_str().unwrap(),
                "webhook-signature": m.headers["webhook-signature"].to_str().unwrap(),
            },
            "body": m.body,
        })).collect::<Vec<_>>(),
    });
    let dir = conformance_dir();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(dir.join("standardwebhooks-js/verify.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "verify.mjs crashed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_str(stdout.trim()).unwrap();
        v["results"].as_array().unwrap().clone()
    })
    .await
    .unwrap()
}

async fn registration_validates_and_never_shows_the_secret_again(backend: Backend) {
    let (server, receiver) = start(backend).await;
    let url = receiver.url("/hook");
    for (body, what) in [
        (
            json!({"url": "http://example.com/hook", "events": ["credential.issued"]}),
            "plain http",
        ),
        (
            json!({"url": "ftp://example.com/hook", "events": ["credential.issued"]}),
            "ftp",
        ),
        (
            json!({"url": "/hook", "events": ["credential.issued"]}),
            "relative",
        ),
        (
            json!({"url": "https://u:p@example.com/", "events": ["credential.issued"]}),
            "credentials",
        ),
        (
            json!({"url": format!("https://example.com/{}", "a".repeat(3000)), "events": ["credential.issued"]}),
            "long",
        ),
        (
            json!({"url": "https://127.0.0.1/hook", "events": ["credential.issued"]}),
            "loopback",
        ),
        (
            json!({"url": "https://10.1.2.3/hook", "events": ["credential.issued"]}),
            "private",
        ),
        (
            json!({"url": "https://[::1]:8443/hook", "events": ["credential.issued"]}),
            "loopback v6",
        ),
        (json!({"url": url, "events": []}), "no events"),
        (
            json!({"url": url, "events": ["credential.revoked"]}),
            "unknown event",
        ),
        (
            json!({"url": url, "events": ["credential.issued"], "issuers": ["Bad Slug"]}),
            "slug",
        ),
        (
            json!({"url": url, "events": ["credential.issued"], "issuers": []}),
            "empty filter",
        ),
        (
            json!({"url": url, "events": ["credential.issued"], "extra": 1}),
            "unknown field",
        ),
        (json!({"url": 5, "events": ["credential.issued"]}), "type"),
    ] {
        let (status, err) = server.admin_post("/api/v1/webhooks", &body).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_request")),
            "{what}: {err}"
        );
    }
    let anonymous = server
        .http
        .post(server.url("/api/v1/webhooks"))
        .json(&json!({"url": url, "events": ["credential.issued"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let (id, secret) = register(
        &server,
        json!({"url": url, "events": ["credential.issued", "credential.issued"], "verifiers": ["v"]}),
    )
    .await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let (status, https) = server
        .admin_post(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example/x", "events": ["presentation.expired"]}),
        )
        .await;
    assert_eq!(status, 201, "{https}");
    let (status, one) = server.admin_get(&format!("/api/v1/webhooks/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(one["url"], url);
    assert_eq!(one["events"], json!(["credential.issued"]));
    assert_eq!(one["verifiers"], json!(["v"]));
    assert_eq!(one.get("secret"), None);
    let (_, all) = server.admin_get("/api/v1/webhooks").await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(!all.to_string().contains(&secret[6..]), "secret listed");
    let (status, _) = server.admin_get("/api/v1/webhooks/wh_nope").await;
    assert_eq!(status, 404);
    let (status, _) = server
        .admin_get("/api/v1/webhooks/wh_nope/deliveries")
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}

async fn deliveries_are_signed_verifiable_and_carry_no_claim_values(backend: Backend) {
    let (server, receiver) = start(backend).await;
    let (id, secret) = register(
        &server,
        json!({"url": receiver.url("/all"), "events": ["offer.token_issued", "credential.issued"]}),
    )
    .await;
    let (_, offer) = issue(&server).await;
    let got = receiver.wait_for("/all", 2).await;
    let mut types = Vec::new();
    for r in &got {
        assert_signed(&secret, r);
        for claim in CLAIMS {
            assert!(!r.body.contains(claim), "claim value {claim} in {}", r.body);
        }
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert!(body["created_at"].is_string());
        assert_eq!(body["data"]["issuer"], "demo", "{body}");
        types.push(body["type"].as_str().unwrap().to_owned());
    }
    types.sort();
    assert_eq!(types, vec!["credential.issued", "offer.token_issued"]);
    let issued: Value = got
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .find(|b| b["type"] == "credential.issued")
        .unwrap();
    assert_eq!(issued["data"]["offer_id"], offer["id"], "{issued}");
    assert_eq!(
        issued["data"]["credential_configuration_id"],
        "EmployeeBadge"
    );
    assert_eq!(issued["data"]["status"], "valid");
    assert!(issued["data"]["credential_id"].is_string());
    // The reference library accepts every delivery and refuses a tampered body.
    let mut tampered = got[0].clone();
    tampered.body = tampered.body.replace("demo", "dem0");
    let mut messages = got.clone();
    messages.push(tampered);
    let results = verify_with_reference_library(&secret, &messages).await;
    assert_eq!(results.len(), 3);
    for (r, m) in results.iter().zip(&got) {
        assert_eq!(r["ok"], true, "{r}");
        assert_eq!(
            r["payload"],
            serde_json::from_str::<Value>(&m.body).unwrap()
        );
    }
    assert_eq!(results[2]["ok"], false, "tampered body accepted");
    // Each delivery is listed with its one successful attempt.
    let listed = eventually("both delivered", || async {
        let items = deliveries(&server, &id).await;
        (items.len() == 2 && items.iter().all(|d| d["state"] == "delivered")).then_some(items)
    })
    .await;
    for d in &listed {
        assert_eq!(d["attempts"][0]["attempt"], 1);
        assert_eq!(d["attempts"][0]["http_status"], 204);
        assert_eq!(d["attempts"][0]["outcome"], "delivered");
        assert!(
            got.iter()
                .any(|r| r.headers["webhook-id"] == d["id"].as_str().unwrap())
        );
    }
    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vdc_webhook_deliveries_total{outcome=\"delivered\"} 2"),
        "{metrics}"
    );
    server.stop().await;
}

async fn a_receiver_failing_twice_gets_the_event_on_the_third_attempt(backend: Backend) {
    let (server, receiver) = start(backend).await;
    receiver.fail_next.store(2, Ordering::SeqCst);
    let (id, secret) = register(
        &server,
        json!({"url": receiver.url("/flaky"), "events": ["credential.issued"]}),
    )
    .await;
    issue(&server).await;
    let d = wait_attempts(&server, &id, 1).await;
    assert_eq!(d["state"], "pending");
    assert_eq!(d["type"], "credential.issued");
    assert_eq!(d["attempts"][0]["http_status"], 500);
    assert_eq!(d["attempts"][0]["outcome"], "retry");
    assert!(d["attempts"][0]["next_attempt_at"].is_string());
    // Not due yet: nothing more happens until the clock reaches the backoff (5 s).
    server.clock.advance(4);
    server.clock.advance(1);
    let d = wait_attempts(&server, &id, 2).await;
    assert_eq!(d["attempts"][1]["outcome"], "retry");
    server.clock.advance(10);
    let d = eventually("delivered", || async {
        let d = deliveries(&server, &id).await.remove(0);
        (d["state"] == "delivered").then_some(d)
    })
    .await;
    let attempts = d["attempts"].as_array().unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (
                a["attempt"].as_u64().unwrap(),
                a["http_status"].as_u64().unwrap(),
                a["outcome"].as_str().unwrap().to_owned()
            ))
            .collect::<Vec<_>>(),
        vec![
            (1, 500, "retry".to_owned()),
            (2, 500, "retry".to_owned()),
            (3, 204, "delivered".to_owned())
        ]
    );
    let got = receiver.at("/flaky");
    assert_eq!(got.len(), 3);
    // The same message id on every retry, a fresh timestamp and signature each time.
    assert!(
        got.iter()
            .all(|r| r.headers["webhook-id"] == got[0].headers["webhook-id"])
    );
    assert_ne!(
        got[0].headers["webhook-timestamp"],
        got[2].headers["webhook-timestamp"]
    );
    for r in &got {
        assert_signed(&secret, r);
    }
    let metrics = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vdc_webhook_deliveries_total{outcome=\"retry\"} 2"),
        "{metrics}"
    );
    server.stop().await;
}

async fn deliveries_survive_a_restart(backend: Backend) {
    let (mut server, receiver) = start(backend).await;
    receiver.fail_next.store(1, Ordering::SeqCst);
    let (id, secret) = register(
        &server,
        json!({"url": receiver.url("/durable"), "events": ["credential.issued"]}),
    )
    .await;
    issue(&server).await;
    wait_attempts(&server, &id, 1).await;
    // The receiver was down for the first attempt; the instance restarts before the retry.
    server.restart().await;
    server.clock.advance(5);
    let d = eventually("delivered after restart", || async {
        let d = deliveries(&server, &id).await.remove(0);
        (d["state"] == "delivered").then_some(d)
    })
    .await;
    assert_eq!(d["attempts"].as_array().unwrap().len(), 2);
    let got = receiver.at("/durable");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    assert_signed(&secret, &got[1]);
    server.stop().await;
}

async fn tenant_filters_and_delete_stop_deliveries(backend: Backend) {
    let (server, receiver) = start(backend).await;
    let events = json!(["credential.issued", "presentation.rejected"]);
    let (a, _) = register(
        &server,
        json!({"url": receiver.url("/demo"), "events": events, "issuers": ["demo"]}),
    )
    .await;
    register(
        &server,
        json!({"url": receiver.url("/other"), "events": events, "issuers": ["other"]}),
    )
    .await;
    register(
        &server,
        json!({"url": receiver.url("/v"), "events": events, "verifiers": ["v"]}),
    )
    .await;
    register(
        &server,
        json!({"url": receiver.url("/any"), "events": events}),
    )
    .await;
    let (wallet, _) = issue(&server).await;
    receiver.wait_for("/any", 1).await;
    receiver.wait_for("/demo", 1).await;
    // A rejected presentation of verifier `v` reaches `/v` and `/any` only.
    let v = verifier_v(&server).await;
    reject_one(&server, &wallet, &v).await;
    receiver.wait_for("/any", 2).await;
    let v = receiver.wait_for("/v", 1).await;
    assert!(v[0].body.contains("presentation.rejected"));
    wait_attempts(&server, &a, 1).await;
    assert_eq!(
        receiver.at("/demo").len(),
        1,
        "issuer filter let a verifier event through"
    );
    assert!(
        receiver.at("/other").is_empty(),
        "another issuer's webhook got demo's event"
    );
    // Delete: gone from the API, and nothing more is sent to it.
    let del = server
        .admin(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let again = server
        .admin(reqwest::Method::DELETE, &format!("/api/v1/webhooks/{a}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(
        server.admin_get(&format!("/api/v1/webhooks/{a}")).await.0,
        404
    );
    // A pending retry of a deleted webhook is never sent.
    receiver.fail_next.store(1, Ordering::SeqCst);
    let (doomed, _) = register(
        &server,
        json!({"url": receiver.url("/doomed"), "events": ["credential.issued"]}),
    )
    .await;
    issue(&server).await;
    wait_attempts(&server, &doomed, 1).await;
    let del = server
        .admin(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{doomed}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    server.clock.advance(60);
    issue(&server).await;
    // `/any` got the fourth event: the dispatcher ran after the deletes.
    receiver.wait_for("/any", 4).await;
    let any_done = eventually("the control delivery recorded", || async {
        let (_, all) = server.admin_get("/api/v1/webhooks").await;
        let ids: Vec<String> = all["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_owned())
            .collect();
        let mut done = true;
        for id in &ids {
            for d in deliveries(&server, id).await {
                done &= d["state"] != "pending";
            }
        }
        done.then_some(())
    })
    .await;
    let () = any_done;
    assert_eq!(
        receiver.at("/demo").len(),
        1,
        "a deleted webhook got a delivery"
    );
    assert_eq!(
        receiver.at("/doomed").len(),
        1,
        "a deleted webhook's retry was sent"
    );
    server.stop().await;
}

/// A demo verifier `v` trusting the demo issuer.
async fn verifier_v(server: &TestServer) -> Value {
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "v", "client_id_prefix": "x509_san_dns", "display": {"name": "v"},
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

fn trust(v: &Value) -> VerifierTrust {
    VerifierTrust {
        x509_anchors: v["trust_anchor"]
            .as_str()
            .map(|pem| vdc_core::x509::TrustAnchors::from_pem(pem).unwrap()),
        accept_unanchored_x509: false,
    }
}

fn badge_query() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]})
}

async fn new_request(server: &TestServer, body: Value) -> Value {
    let (status, created) = server
        .admin_post("/api/v1/verifiers/v/requests", &body)
        .await;
    assert_eq!(status, 201, "{created}");
    created
}

/// Has the wallet answer a new request of `v` with an error: the request is rejected.
async fn reject_one(server: &TestServer, wallet: &Wallet, v: &Value) -> Value {
    let created = new_request(server, json!({"dcql_query": badge_query()})).await;
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust(v),
        )
        .await
        .unwrap();
    let r = server
        .http
        .post(server.url("/verifiers/v/response"))
        .form(&[("error", "access_denied"), ("state", req.state().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    created
}

async fn status_change_verified_rejected_and_expired_events_arrive(backend: Backend) {
    let (server, receiver) = start(backend).await;
    let (id, secret) = register(
        &server,
        json!({"url": receiver.url("/events"), "events": ["credential.status_changed",
            "presentation.verified", "presentation.rejected", "presentation.expired"]}),
    )
    .await;
    let (wallet, offer) = issue(&server).await;
    let (_, record) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    let credential = record["credentials"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{credential}/status"),
            &json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(status, 200);
    receiver.wait_for("/events", 1).await;
    // Verified.
    let v = verifier_v(&server).await;
    let created = new_request(&server, json!({"dcql_query": badge_query()})).await;
    // A suspended credential is rejected; reinstate first so the presentation verifies.
    let (status, _) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{credential}/status"),
            &json!({"status": "valid"}),
        )
        .await;
    assert_eq!(status, 200);
    wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust(&v),
        )
        .await
        .unwrap();
    // Rejected.
    reject_one(&server, &wallet, &v).await;
    // Expired: no one reads the request; the sweep expires it once the clock passes.
    let short = new_request(
        &server,
        json!({"dcql_query": badge_query(), "expires_in": 30}),
    )
    .await;
    server.clock.advance(31);
    let got = receiver.wait_for("/events", 5).await;
    let bodies: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    // Deliveries of one dispatcher round run concurrently: compare as a multiset.
    let mut types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(
        types,
        vec![
            "credential.status_changed",
            "credential.status_changed",
            "presentation.expired",
            "presentation.rejected",
            "presentation.verified",
        ],
        "{bodies:?}"
    );
    for (r, b) in got.iter().zip(&bodies) {
        assert_signed(&secret, r);
        for claim in CLAIMS {
            assert!(!r.body.contains(claim), "claim value {claim} in {b}");
        }
    }
    let of = |kind: &str| -> Vec<&Value> { bodies.iter().filter(|b| b["type"] == kind).collect() };
    let changes = of("credential.status_changed");
    let mut statuses = Vec::new();
    for c in &changes {
        assert_eq!(c["data"]["issuer"], "demo");
        assert!(c["data"].to_string().contains(&credential), "{c}");
        statuses.push(c["data"]["status"].as_str().unwrap_or_default().to_owned());
    }
    statuses.sort();
    assert_eq!(statuses, vec!["suspended", "valid"], "{changes:?}");
    let verified = of("presentation.verified")[0];
    assert_eq!(verified["data"]["verifier"], "v");
    assert_eq!(verified["data"]["request_id"], created["id"]);
    let rejected = of("presentation.rejected")[0];
    assert_eq!(rejected["data"]["verifier"], "v");
    assert_ne!(rejected["data"]["request_id"], created["id"]);
    let expired = of("presentation.expired")[0];
    assert_eq!(expired["data"]["request_id"], short["id"]);
    assert_eq!(expired["data"]["status"], "expired");
    let (_, r) = server
        .admin_get(&format!(
            "/api/v1/verifiers/v/requests/{}",
            short["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r["status"], "expired");
    assert!(deliveries(&server, &id).await.len() >= 5);
    server.stop().await;
}

async fn long_poll_answers_a_change_or_the_unchanged_state_at_the_deadline(backend: Backend) {
    let (server, _receiver) = start(backend).await;
    let wallet = server.wallet();
    let v = verifier_v(&server).await;
    let created = new_request(&server, json!({"dcql_query": badge_query()})).await;
    let path = format!(
        "/api/v1/verifiers/v/requests/{}",
        created["id"].as_str().unwrap()
    );
    // Bad waits on both long-poll routes.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
            "claims": {"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}}}),
        )
        .await;
    let offer_path = format!(
        "/api/v1/issuers/demo/offers/{}",
        offer["id"].as_str().unwrap()
    );
    for p in [&path, &offer_path] {
        // `1&wait=2`: given twice, still the JSON error, not a plain-text rejection.
        for bad in ["61", "abc", "-1", "1.5", "1&wait=2"] {
            let (status, body) = server.admin_get(&format!("{p}?wait={bad}")).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_request")),
                "{p} wait={bad}"
            );
        }
    }
    // Unchanged until the deadline: the same pending object.
    let (status, body) = server.admin_get(&format!("{path}?wait=1")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "pending");
    let (status, body) = server.admin_get(&format!("{offer_path}?wait=1")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "offered");
    // A change made while the call waits is answered.
    let waiting = {
        let url = server.url(&format!("{path}?wait=30"));
        let http = server.http.clone();
        tokio::spawn(async move {
            let r = http
                .get(url)
                .bearer_auth(vdc_testkit::ADMIN_KEY)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    let offer_waiting = {
        let url = server.url(&format!("{offer_path}?wait=30"));
        let http = server.http.clone();
        tokio::spawn(async move {
            let r = http
                .get(url)
                .bearer_auth(vdc_testkit::ADMIN_KEY)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust(&v),
        )
        .await
        .unwrap();
    let r = server
        .http
        .post(server.url("/verifiers/v/response"))
        .form(&[("error", "access_denied"), ("state", req.state().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, body) = waiting.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["status"], "rejected", "{body}");
    assert_eq!(body["error"]["error"], "access_denied");
    let (status, body) = offer_waiting.await.unwrap();
    assert_eq!(status, 200);
    assert_ne!(body["status"], "offered", "{body}");
    // Already final: answered at once with the same object.
    let (status, body) = server.admin_get(&format!("{path}?wait=60")).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("rejected")));
    server.stop().await;
}

/// The background loop purges the records of used `c_nonce`s once the nonces expired (every
/// credential request would otherwise grow the table forever) and keeps unexpired ones.
/// Nonces are sealed, not stored (issue 11): only a use writes a row. Postgres: the rows are
/// counted in SQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_loop_purges_expired_nonces() {
    use crate::support::{badge_offer, credential, fresh_token, nonce, proof};
    let server = TestServer::start(Backend::Postgres).await;
    let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
    let count = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM c_nonces WHERE issuer_id = 'demo'")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let issue = || async {
        let token = fresh_token(&server, "demo", &badge_offer(false)).await;
        let n = nonce(&server, "demo").await;
        let (p, _) = proof(&server, &server.issuer_url("demo"), Some(&n)).await;
        let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
        let (status, answer, _) = credential(&server, "demo", &token, &body).await;
        assert_eq!(status, 200, "{answer}");
    };
    for _ in 0..3 {
        issue().await;
    }
    assert_eq!(count(pool.clone()).await, 3);
    // Past the nonces' lifetime (300 s) and the purge interval; one fresh use must stay.
    server
        .clock
        .advance(vdc::background::PURGE_INTERVAL_SECS.max(300) + 1);
    issue().await;
    eventually("the expired nonces to be purged", || {
        let pool = pool.clone();
        async move { (count(pool).await == 1).then_some(()) }
    })
    .await;
    pool.close().await;
    server.stop().await;
}

/// Retention, end to end on the injected clock (R4): with presentations kept 1 day, webhook
/// deliveries 2 days and audit entries 3 days, the background loop removes each kind once
/// its own period has passed since the row finished, and nothing earlier: a request the
/// sweep expired late is kept from when it expired, not from when it was created. What
/// remains is observed through the management API.
async fn retention_purges_each_kind_after_its_own_period(backend: Backend) {
    const DAY: i64 = 86_400;
    let receiver = Receiver::start().await;
    let origin = receiver.origin.clone();
    let server = TestServer::start_with(backend, move |c| {
        c.outbound_allow = origin;
        c.presentation_retention_days = 1;
        c.webhook_retention_days = 2;
        c.audit_retention_days = 3;
    })
    .await;
    let (hook, _) = register(
        &server,
        json!({"url": receiver.url("/events"), "events": ["presentation.rejected"]}),
    )
    .await;
    let (wallet, _) = issue(&server).await;
    let v = verifier_v(&server).await;
    let rejected = reject_one(&server, &wallet, &v).await;
    let rejected = format!(
        "/api/v1/verifiers/v/requests/{}",
        rejected["id"].as_str().unwrap()
    );
    // The attempt row can be visible a moment before the delivery's state: wait for the
    // state itself (a delivery that never succeeds still fails the test by timing out).
    let delivered = eventually("the delivery delivered", || async {
        deliveries(&server, &hook)
            .await
            .first()
            .filter(|d| d["state"] == "delivered")
            .cloned()
    })
    .await;
    assert_eq!(delivered["state"], "delivered", "{delivered}");
    let late = new_request(
        &server,
        json!({"dcql_query": badge_query(), "expires_in": 60}),
    )
    .await;
    let late = format!(
        "/api/v1/verifiers/v/requests/{}",
        late["id"].as_str().unwrap()
    );
    let audit_has = |action: &'static str| {
        let server = &server;
        async move {
            let (status, body) = server.admin_get("/api/v1/audit?limit=1000").await;
            assert_eq!(status, 200, "{body}");
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action)
        }
    };
    assert!(audit_has("POST /api/v1/webhooks").await);

    // Day 1 (+1 s): the rejected request goes; the late one was expired by the sweep just
    // now, so it stays; the delivery and the audit log stay.
    server.clock.advance(DAY + 1);
    eventually("the rejected request to be purged", || async {
        (server.admin_get(&rejected).await.0 == 404).then_some(())
    })
    .await;
    let (status, body) = server.admin_get(&late).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("expired")),
        "{body}"
    );
    assert_eq!(deliveries(&server, &hook).await.len(), 1);
    assert!(audit_has("POST /api/v1/webhooks").await);

    // Day 2: the delivered delivery (and the late request, expired a day ago) go; the audit
    // log stays.
    server.clock.advance(DAY + 1);
    eventually("the delivery to be purged", || async {
        deliveries(&server, &hook).await.is_empty().then_some(())
    })
    .await;
    eventually("the late request to be purged", || async {
        (server.admin_get(&late).await.0 == 404).then_some(())
    })
    .await;
    assert!(audit_has("POST /api/v1/webhooks").await);

    // Day 3: the first day's audit entries go; entries written since stay.
    server.clock.advance(DAY + 1);
    eventually("the first day's audit entries to be purged", || async {
        (!audit_has("POST /api/v1/webhooks").await).then_some(())
    })
    .await;
    assert!(audit_has("presentation.expired").await, "written on day 1");
    // The webhook itself is configuration, never purged.
    assert_eq!(
        server
            .admin_get(&format!("/api/v1/webhooks/{hook}"))
            .await
            .0,
        200
    );
    server.stop().await;
}
