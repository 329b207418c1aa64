//! Observability over HTTP: `/readyz`, `/metrics` (request and domain counters, nothing
//! secret or id-like in it) and `vdc doctor` run as a process.

use serde_json::{Value, json};
use vdc_holder::VerifierTrust;
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    readyz_answers_200_with_its_checks_on_a_healthy_server,
    metrics_count_routes_issuance_presentations_and_status_changes_without_ids_or_secrets,
);

async fn readyz_answers_200_with_its_checks_on_a_healthy_server(server: &TestServer) {
    let r = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(
        body["checks"],
        json!(["store", "migrations", "signing_keys"])
    );
}

async fn metrics(server: &TestServer) -> String {
    let r = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    r.text().await.unwrap()
}

async fn metrics_count_routes_issuance_presentations_and_status_changes_without_ids_or_secrets(
    server: &TestServer,
) {
    let before = metrics(server).await;
    assert!(
        before.contains("vdc_credentials_issued_total 0"),
        "{before}"
    );

    // Issue one badge over OID4VCI.
    let offer = server.offer("demo", &badge_offer(true)).await;
    let tx = offer["tx_code"].as_str().unwrap();
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), Some(tx), 1)
        .await
        .unwrap();
    let offer_id = offer["id"].as_str().unwrap();
    let (status, record) = server
        .admin_get(&format!("/api/v1/issuers/demo/offers/{offer_id}"))
        .await;
    assert_eq!(status, 200);
    let credential_id = record["credentials"][0]["id"].as_str().unwrap().to_owned();

    // Verify it over OID4VP, then reject a wallet error.
    let (status, v) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "v", "client_id_prefix": "redirect_uri", "display": {"name": "v"},
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let query = json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}]}]}});
    let (status, created) = server
        .admin_post("/api/v1/verifiers/v/requests", &query)
        .await;
    assert_eq!(status, 201, "{created}");
    let trust = VerifierTrust {
        x509_anchors: None,
        accept_unanchored_x509: false,
    };
    wallet
        .present(created["authorization_request"].as_str().unwrap(), &trust)
        .await
        .unwrap();

    // Revoke it.
    let (status, body) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{credential_id}/status"),
            &json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let text = metrics(server).await;
    assert!(text.contains("vdc_credentials_issued_total 1"), "{text}");
    assert!(
        text.contains("vdc_presentations_total{outcome=\"verified\",reason=\"\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("vdc_status_changes_total{status=\"revoked\"} 1"),
        "{text}"
    );
    // Requests are counted under their route template, never the raw path.
    assert!(
        text.contains(
            "vdc_http_requests_total{route=\"/api/v1/issuers/{issuer}/offers/{id}\",method=\"GET\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"/metrics\",method=\"GET\",status=\"200\"}"),
        "{text}"
    );
    assert!(
        text.contains("vdc_http_request_duration_seconds_bucket{route=\"/metrics\",le=\"+Inf\"}")
    );
    for secret_or_id in [
        offer_id,
        tx,
        &credential_id,
        created["id"].as_str().unwrap(),
        vdc_testkit::ADMIN_KEY,
    ] {
        assert!(
            !text.contains(secret_or_id),
            "metrics contain {secret_or_id}"
        );
    }
}

/// A SQLite data dir with the demo issuer and verifier, as `vdc serve --demo` leaves it.
async fn demo_data_dir(name: &str, kek: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-doctor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = vdc::config::Config {
        data_dir: dir.clone(),
        kek: Some(vdc::config::Secret(kek.into())),
        admin_key: Some(vdc::config::Secret(vdc_testkit::ADMIN_KEY.into())),
        demo: true,
        ..vdc::config::Config::default()
    };
    let app = vdc::build(&config, vdc::Deps::default()).await.unwrap();
    drop(app);
    dir
}

fn doctor(dir: &std::path::Path, kek: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vdc"))
        .arg("doctor")
        .env_remove("VDC_DATABASE_URL")
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        .env_remove("VDC_PUBLIC_URL")
        .env("VDC_DATA_DIR", dir)
        .env("VDC_KEK", kek)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_passes_on_a_healthy_sqlite_data_dir_and_fails_with_a_wrong_kek() {
    let kek = vdc_core::base64url::encode([7u8; 32]);
    let dir = demo_data_dir("ok", &kek).await;

    let out = doctor(&dir, &kek);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in [
        "[ok  ] store:",
        "[ok  ] migrations:",
        "[ok  ] kek:",
        "[ok  ] signing_keys:",
        "[ok  ] admin_key:",
        "[ok  ] verifier_x509: demo:",
        "[WARN] public_url:",
    ] {
        assert!(stdout.contains(check), "missing {check}: {stdout}");
    }
    assert!(!stdout.contains(&kek), "doctor printed the KEK");

    let wrong = vdc_core::base64url::encode([8u8; 32]);
    let out = doctor(&dir, &wrong);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("[FAIL] signing_keys:"), "{stdout}");
    assert!(!stdout.contains(&wrong), "doctor printed the KEK");

    let out = doctor(&dir, "not-base64url!");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("[FAIL] kek:"));
    let _ = std::fs::remove_dir_all(&dir);
}
