//! The defects an adversarial review reproduced over HTTP (issue "Hardening"), each with the
//! invariant it broke. Every test here failed on the code before its fix.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use vdc_core::base64url;
use vdc_core::time::Clock as _;
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    g8_a_typ_cut_inside_a_character_is_refused_not_a_panic,
    g1_g3_a_small_order_ed25519_key_proof_is_refused,
    g2_two_correct_tx_code_redemptions_racing_yield_one_token,
    g2_five_correct_tx_code_redemptions_racing_yield_one_token,
    g2_fifty_correct_tx_code_redemptions_racing_yield_one_token,
    g9_refused_credential_requests_leave_no_status_entry,
    g1_an_offer_yields_at_most_its_limit_of_credentials,
    g6_a_notification_id_of_another_offer_is_refused,
    g10_the_offer_id_does_not_fetch_the_offer,
);

/// A compact JWS with any header and payload and a raw signature (for forged proofs).
fn compact(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        base64url::encode(header.to_string()),
        base64url::encode(payload.to_string()),
        base64url::encode(signature)
    )
}

/// A token for a fresh demo offer without tx_code.
async fn demo_token(server: &TestServer) -> String {
    fresh_token(server, "demo", &badge_offer(false)).await
}

async fn g8_a_typ_cut_inside_a_character_is_refused_not_a_panic(server: &TestServer) {
    let token = demo_token(server).await;
    let n = nonce(server, "demo").await;
    let (good, holder) = proof(server, &server.issuer_url("demo"), Some(&n)).await;
    // Re-sign the same claims under a header whose `typ` has its 12th byte inside `é`:
    // `typ_matches` used to cut it at byte 12 and panic, which reset the connection.
    let (header, payload) = {
        let mut parts = good.split('.');
        let h: Value =
            serde_json::from_slice(&base64url::decode(parts.next().unwrap()).unwrap()).unwrap();
        let p: Value =
            serde_json::from_slice(&base64url::decode(parts.next().unwrap()).unwrap()).unwrap();
        (h, p)
    };
    let mut header = header.as_object().unwrap().clone();
    header.insert("typ".into(), "abcdefghijk\u{e9}x".into());
    let bad = vdc_core::jose::jws::sign_with_options(
        header,
        payload.as_object().unwrap(),
        &holder,
        false,
    )
    .await
    .unwrap();
    let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [bad]}});
    let (status, body, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_proof", "{body}");
}

/// The identity point (order 1): with it, R = identity and S = 0 verify any message.
const IDENTITY: [u8; 32] = {
    let mut p = [0u8; 32];
    p[0] = 1;
    p
};

async fn g1_g3_a_small_order_ed25519_key_proof_is_refused(server: &TestServer) {
    let token = demo_token(server).await;
    let n = nonce(server, "demo").await;
    let header = json!({
        "typ": "openid4vci-proof+jwt",
        "alg": "EdDSA",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": base64url::encode(IDENTITY)},
    });
    let payload = json!({
        "aud": server.issuer_url("demo"),
        "iat": server.clock.now().secs(),
        "nonce": n,
    });
    // The forged signature: R = the identity's encoding, S = 0. Nobody holds this key.
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&IDENTITY);
    let forged = compact(&header, &payload, &signature);
    let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [forged]}});
    let (status, body, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(
        status, 400,
        "a credential bound to a key nobody holds: {body}"
    );
    assert_eq!(body["error"], "invalid_proof", "{body}");
}

/// N parallel token requests with the right code and the right tx_code: exactly one token,
/// every loser `400 invalid_grant`, never a 5xx; the offer ends `token_issued`.
async fn racing_correct_tx_codes(server: &TestServer, n: usize) {
    let offer = server.offer("demo", &badge_offer(true)).await;
    let code = Arc::new(code_of(&offer));
    let tx_code = Arc::new(offer["tx_code"].as_str().unwrap().to_owned());
    let url = server.url("/issuers/demo/token");
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let mut set = JoinSet::new();
    for _ in 0..n {
        let (http, url, code, tx_code, barrier) = (
            server.http.clone(),
            url.clone(),
            code.clone(),
            tx_code.clone(),
            barrier.clone(),
        );
        set.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", PRE),
                    ("pre-authorized_code", code.as_str()),
                    ("tx_code", tx_code.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        });
    }
    let answers = set.join_all().await;
    let wins = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(wins, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
    }
    let id = offer["id"].as_str().unwrap();
    let (status, state) = server
        .admin_get(&format!("/api/v1/issuers/demo/offers/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(state["status"], "token_issued", "{state}");
}

async fn g2_two_correct_tx_code_redemptions_racing_yield_one_token(server: &TestServer) {
    racing_correct_tx_codes(server, 2).await;
}

async fn g2_five_correct_tx_code_redemptions_racing_yield_one_token(server: &TestServer) {
    racing_correct_tx_codes(server, 5).await;
}

async fn g2_fifty_correct_tx_code_redemptions_racing_yield_one_token(server: &TestServer) {
    racing_correct_tx_codes(server, 50).await;
}

/// Rows of `table` (a name from this file, never input) for the demo issuer, whatever the
/// backend.
async fn demo_rows(server: &TestServer, table: &'static str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE issuer_id = 'demo'");
    if let Some(path) = server.database_url.strip_prefix("sqlite://") {
        use sqlx::Connection as _;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}?mode=ro"))
            .await
            .unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    } else {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&server.database_url)
            .await
            .unwrap();
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

async fn g9_refused_credential_requests_leave_no_status_entry(server: &TestServer) {
    let token = demo_token(server).await;
    let before = demo_rows(server, "status_entries").await;
    let aud = server.issuer_url("demo");
    // Twenty requests, each with ten valid proofs over a nonce the server never issued.
    for _ in 0..20 {
        let mut proofs = Vec::new();
        for _ in 0..10 {
            proofs.push(proof(server, &aud, Some("never-issued-nonce")).await.0);
        }
        let body =
            json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": proofs}});
        let (status, body, _) = credential(server, "demo", &token, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_nonce", "{body}");
    }
    assert_eq!(
        demo_rows(server, "status_entries").await,
        before,
        "refused requests allocated status entries"
    );
    // A granted request allocates exactly its entries.
    let n = nonce(server, "demo").await;
    let body = json!({"credential_configuration_id": "EmployeeBadge",
        "proofs": {"jwt": [proof(server, &aud, Some(&n)).await.0, proof(server, &aud, Some(&n)).await.0]}});
    let (status, body, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(demo_rows(server, "status_entries").await, before + 2);
}

async fn g1_an_offer_yields_at_most_its_limit_of_credentials(server: &TestServer) {
    // The demo issuer's batch_size is the default, 10, and the offer has one configuration.
    let token = demo_token(server).await;
    let aud = server.issuer_url("demo");
    for i in 0..10 {
        let n = nonce(server, "demo").await;
        let body = json!({"credential_configuration_id": "EmployeeBadge",
            "proofs": {"jwt": [proof(server, &aud, Some(&n)).await.0]}});
        let (status, body, _) = credential(server, "demo", &token, &body).await;
        assert_eq!(status, 200, "credential {i}: {body}");
    }
    let n = nonce(server, "demo").await;
    let body = json!({"credential_configuration_id": "EmployeeBadge",
        "proofs": {"jwt": [proof(server, &aud, Some(&n)).await.0]}});
    let (status, body, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "credential_request_denied", "{body}");
    // Nothing was written for the refused one.
    let credentials = demo_rows(server, "issued_credentials").await;
    assert_eq!(credentials, 10);
}

/// Issues one credential for a fresh offer; returns its access token and notification id.
async fn issued(server: &TestServer) -> (String, String) {
    let token = demo_token(server).await;
    let n = nonce(server, "demo").await;
    let body = json!({"credential_configuration_id": "EmployeeBadge",
        "proofs": {"jwt": [proof(server, &server.issuer_url("demo"), Some(&n)).await.0]}});
    let (status, body, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(status, 200, "{body}");
    (token, body["notification_id"].as_str().unwrap().to_owned())
}

async fn g6_a_notification_id_of_another_offer_is_refused(server: &TestServer) {
    let (token_a, _) = issued(server).await;
    let (token_b, notification_b) = issued(server).await;
    let notify = |token: String| {
        let body = json!({"notification_id": notification_b, "event": "credential_accepted"});
        let request = server
            .http
            .post(server.url("/issuers/demo/notification"))
            .bearer_auth(token)
            .json(&body);
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, body) = notify(token_a).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_notification_id", "{body}");
    let (status, body) = notify(token_b).await;
    assert_eq!(status, 204, "{body}");
}

async fn g10_the_offer_id_does_not_fetch_the_offer(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let id = offer["id"].as_str().unwrap();
    let reference = offer["credential_offer_uri"].as_str().unwrap();
    assert!(
        !reference.ends_with(&format!("/offers/{id}")),
        "the reference must not be the public id: {reference}"
    );
    // The public id (management API, audit log, webhooks) fetches nothing.
    let r = server
        .http
        .get(server.url(&format!("/issuers/demo/offers/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "not_found", "{body}");
    // A forged tag fetches nothing either.
    let r = server
        .http
        .get(server.url(&format!("/issuers/demo/offers/{id}.AAAAAAAAAAAAAAAAAAAAAA")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The reference serves the offer with its code.
    let served: Value = server
        .http
        .get(reference)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, offer["credential_offer"]);
}
