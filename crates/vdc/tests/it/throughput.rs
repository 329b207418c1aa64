//! Issue 11: sealed `c_nonce`s. What these tests count are rows, never time. (Transactions
//! per flow are counted by `tests/throughput.rs`, a test binary of its own.)

use serde_json::json;
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    the_nonce_endpoint_writes_nothing_and_the_credential_request_records_the_use,
    a_nonce_not_made_here_or_expired_is_invalid_nonce
);

/// Rows in `c_nonces` (the used nonces) of the server's database.
async fn used_nonces(server: &TestServer) -> i64 {
    let sql = "SELECT count(*) FROM c_nonces";
    if server.database_url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(&server.database_url).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::SqlitePool::connect(&server.database_url)
            .await
            .unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

/// A sealed c_nonce costs no write; its one use is recorded by the issuance transaction
/// (fails on the old code, which inserted a row per nonce).
async fn the_nonce_endpoint_writes_nothing_and_the_credential_request_records_the_use(
    server: &TestServer,
) {
    let before = used_nonces(server).await;
    let mut nonces = Vec::new();
    for _ in 0..10 {
        nonces.push(nonce(server, "demo").await);
    }
    assert_eq!(
        used_nonces(server).await,
        before,
        "the nonce endpoint wrote"
    );
    let distinct: std::collections::BTreeSet<_> = nonces.iter().collect();
    assert_eq!(distinct.len(), nonces.len());
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let aud = server.issuer_url("demo");
    let (p, _) = proof(server, &aud, Some(&nonces[3])).await;
    let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
    let (status, answer, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(used_nonces(server).await, before + 1);
    // Used once: the same nonce again is invalid_nonce (G2), and nothing more is written.
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let (p, _) = proof(server, &aud, Some(&nonces[3])).await;
    let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
    let (status, answer, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_nonce"))
    );
    assert_eq!(used_nonces(server).await, before + 1);
}

/// Spec: OID4VCI 1.0 §8.3.1.2: a c_nonce the issuer did not make, or one past its expiry,
/// is `invalid_nonce`.
async fn a_nonce_not_made_here_or_expired_is_invalid_nonce(server: &TestServer) {
    let aud = server.issuer_url("demo");
    let fresh = nonce(server, "demo").await;
    // Same length and alphabet as a real one, but not sealed by this deployment.
    let forged: String = fresh
        .chars()
        .map(|c| if c == 'A' { 'B' } else { 'A' })
        .collect();
    for n in [forged.as_str(), "not-a-nonce", ""] {
        let token = fresh_token(server, "demo", &badge_offer(false)).await;
        let (p, _) = proof(server, &aud, Some(n)).await;
        let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
        let (status, answer, _) = credential(server, "demo", &token, &body).await;
        assert_eq!(status, 400, "{n}: {answer}");
        assert!(
            matches!(
                answer["error"].as_str(),
                Some("invalid_nonce" | "invalid_proof")
            ),
            "{n}: {answer}"
        );
        if !n.is_empty() {
            assert_eq!(answer["error"], "invalid_nonce", "{n}: {answer}");
        }
    }
    // The default c_nonce lifetime is 300 s: past it, the nonce is dead without a lookup.
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    server.clock.advance(301);
    let (p, _) = proof(server, &aud, Some(&fresh)).await;
    let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
    let (status, answer, _) = credential(server, "demo", &token, &body).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_nonce"))
    );
}
