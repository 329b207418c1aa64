//! Single use under concurrency (G2): N racing requests, exactly one success.

use std::sync::Arc;

use serde_json::json;
use tokio::task::JoinSet;
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    fifty_concurrent_token_requests_with_one_code_yield_one_token,
    fifty_concurrent_credential_requests_with_one_nonce_yield_one_credential
);

async fn fifty_concurrent_token_requests_with_one_code_yield_one_token(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let code = Arc::new(code_of(&offer));
    let url = server.url("/issuers/demo/token");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut set = JoinSet::new();
    for _ in 0..50 {
        let (http, url, code, barrier) = (
            server.http.clone(),
            url.clone(),
            code.clone(),
            barrier.clone(),
        );
        set.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .form(&[("grant_type", PRE), ("pre-authorized_code", code.as_str())])
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        });
    }
    let statuses = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        49,
        "{statuses:?}"
    );
}

async fn fifty_concurrent_credential_requests_with_one_nonce_yield_one_credential(
    server: &TestServer,
) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let (status, body, _) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let token = Arc::new(body["access_token"].as_str().unwrap().to_owned());
    let n = nonce(server, "demo").await;
    let aud = server.issuer_url("demo");
    let mut bodies = Vec::new();
    for _ in 0..50 {
        let (p, _) = proof(server, &aud, Some(&n)).await;
        bodies
            .push(json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}}));
    }
    let url = server.url("/issuers/demo/credential");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut set = JoinSet::new();
    for body in bodies {
        let (http, url, token, barrier) = (
            server.http.clone(),
            url.clone(),
            token.clone(),
            barrier.clone(),
        );
        set.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .bearer_auth(token.as_str())
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body["error"].as_str().map(str::to_owned))
        });
    }
    let results = set.join_all().await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s != 200)
            .all(|(s, e)| *s == 400 && e.as_deref() == Some("invalid_nonce")),
        "{results:?}"
    );
    // Exactly one durable record exists: the winner's (R1).
    let issued = server
        .store
        .credentials_for_offer("demo", offer["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(issued.len(), 1);
}
