//! Every error of the token and credential endpoints, with its exact code and status.

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    token_endpoint_errors_use_the_oauth_codes,
    five_wrong_tx_codes_kill_the_code,
    credential_endpoint_errors_use_the_oid4vci_codes,
);

async fn token_endpoint_errors_use_the_oauth_codes(server: &TestServer) {
    let with_tx = server.offer("demo", &badge_offer(true)).await;
    let without_tx = server.offer("demo", &badge_offer(false)).await;
    let (code_tx, code) = (code_of(&with_tx), code_of(&without_tx));
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("pre-authorized_code", &code)], "invalid_request"),
        (
            vec![("grant_type", "authorization_code"), ("code", "x")],
            "unsupported_grant_type",
        ),
        (vec![("grant_type", PRE)], "invalid_request"),
        (
            vec![("grant_type", PRE), ("pre-authorized_code", "not-a-code")],
            "invalid_grant",
        ),
        (
            vec![("grant_type", PRE), ("pre-authorized_code", &code_tx)],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", PRE),
                ("pre-authorized_code", &code),
                ("tx_code", "123456"),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", PRE),
                ("pre-authorized_code", &code_tx),
                ("tx_code", "wrong"),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("grant_type", PRE),
                ("grant_type", PRE),
                ("pre-authorized_code", &code),
            ],
            "invalid_request",
        ),
    ];
    for (i, (form, expected)) in cases.into_iter().enumerate() {
        let (status, body, headers) = token(server, "demo", &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(expected)),
            "case {i}: {body}"
        );
        assert!(body["error_description"].is_string());
        assert_eq!(headers["cache-control"], "no-store", "case {i}");
    }
    // A JSON body is not a token request.
    let r = server
        .http
        .post(server.url("/issuers/demo/token"))
        .json(&json!({"grant_type": PRE}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Unknown issuer.
    let (status, _, _) = token(
        server,
        "nobody",
        &[("grant_type", PRE), ("pre-authorized_code", &code)],
    )
    .await;
    assert_eq!(status, 404);
    // After all that, the right tx_code still redeems the code (wrong ones do not use it up).
    let tx = with_tx["tx_code"].as_str().unwrap();
    let (status, body, headers) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_tx),
            ("tx_code", tx),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(headers["cache-control"], "no-store");
    // And it is single use.
    let (status, body, _) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_tx),
            ("tx_code", tx),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

async fn five_wrong_tx_codes_kill_the_code(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(true)).await;
    let code = code_of(&offer);
    let tx = offer["tx_code"].as_str().unwrap();
    let wrong = if tx == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (_, body, _) = token(
            server,
            "demo",
            &[
                ("grant_type", PRE),
                ("pre-authorized_code", &code),
                ("tx_code", wrong),
            ],
        )
        .await;
        assert_eq!(body["error"], "invalid_grant");
    }
    let (status, body, _) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code),
            ("tx_code", tx),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the code must be dead: {body}"
    );
}

async fn credential_endpoint_errors_use_the_oid4vci_codes(server: &TestServer) {
    let aud = server.issuer_url("demo");
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let req =
        |proofs: Value| json!({"credential_configuration_id": "EmployeeBadge", "proofs": proofs});

    // No or a bad access token: 401 with a Bearer challenge (RFC 6750 §3).
    let n = nonce(server, "demo").await;
    let (p, _) = proof(server, &aud, Some(&n)).await;
    let r = server
        .http
        .post(server.url("/issuers/demo/credential"))
        .json(&req(json!({"jwt": [p]})))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // RFC 6750 §3 and RFC 9449 §7.2: a challenge per scheme, neither naming an error.
    assert_eq!(
        r.headers()["www-authenticate"],
        "Bearer, DPoP algs=\"ES256 EdDSA\""
    );
    let (status, body, headers) =
        credential(server, "demo", "not-a-token", &req(json!({"jwt": [p]}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    let expect = |status: u16, body: &Value, code: &str, what: &str| {
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(code)),
            "{what}: {body}"
        );
    };
    let (s, b, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge"}),
    )
    .await;
    expect(s, &b, "invalid_proof", "no proofs");
    let (bad_aud, _) = proof(
        server,
        "https://other.example",
        Some(&nonce(server, "demo").await),
    )
    .await;
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": [bad_aud]}))).await;
    expect(s, &b, "invalid_proof", "wrong aud");
    let (no_nonce, _) = proof(server, &aud, None).await;
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": [no_nonce]}))).await;
    expect(s, &b, "invalid_proof", "no nonce");
    let (made_up, _) = proof(server, &aud, Some("made-up-nonce")).await;
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": [made_up]}))).await;
    expect(s, &b, "invalid_nonce", "unknown nonce");
    let none_alg = format!(
        "{}.{}.",
        vdc_core::base64url::encode(r#"{"alg":"none","typ":"openid4vci-proof+jwt"}"#),
        vdc_core::base64url::encode(json!({"aud": aud, "iat": 1, "nonce": "x"}).to_string())
    );
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": [none_alg]}))).await;
    expect(s, &b, "invalid_proof", "alg none");
    let (s, b, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "Nope", "proofs": {"jwt": [p]}}),
    )
    .await;
    expect(
        s,
        &b,
        "unknown_credential_configuration",
        "unknown configuration",
    );
    let (s, b, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadgeW3C", "proofs": {"jwt": [p]}}),
    )
    .await;
    expect(
        s,
        &b,
        "unknown_credential_configuration",
        "configuration not in the offer",
    );
    let (s, b, _) = credential(server, "demo", &token, &json!({"credential_configuration_id": "EmployeeBadge", "credential_identifier": "x", "proofs": {"jwt": [p]}})).await;
    expect(s, &b, "invalid_credential_request", "both identifiers");
    let (s, b, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_identifier": "x", "proofs": {"jwt": [p]}}),
    )
    .await;
    expect(
        s,
        &b,
        "unknown_credential_identifier",
        "credential identifier",
    );
    let n = nonce(server, "demo").await;
    let mut many = Vec::new();
    for _ in 0..11 {
        many.push(proof(server, &aud, Some(&n)).await.0);
    }
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": many}))).await;
    expect(s, &b, "invalid_credential_request", "over batch_size");
    let (same, _) = proof(server, &aud, Some(&n)).await;
    let (s, b, _) = credential(
        server,
        "demo",
        &token,
        &req(json!({"jwt": [same.clone(), same]})),
    )
    .await;
    expect(s, &b, "invalid_proof", "the same key twice");

    // The valid request succeeds once; the same nonce again is invalid_nonce.
    let (s, b, headers) =
        credential(server, "demo", &token, &req(json!({"jwt": [p.clone()]}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(headers["cache-control"], "no-store");
    let (p2, _) = proof(server, &aud, Some(&n)).await;
    let (s2, b2, _) = credential(server, "demo", &token, &req(json!({"jwt": [p2]}))).await;
    assert_eq!(
        s2, 200,
        "a fresh nonce (n was not consumed by failed requests): {b2}"
    );
    let (p3, _) = proof(server, &aud, Some(&n)).await;
    let (s, b, _) = credential(server, "demo", &token, &req(json!({"jwt": [p3]}))).await;
    expect(s, &b, "invalid_nonce", "reused nonce");

    // Body shape errors.
    let r = server
        .http
        .post(server.url("/issuers/demo/credential"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = server
        .http
        .post(server.url("/issuers/demo/credential"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"proofs\":")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // OID4VCI 1.0 §8.3.1.2 (issue 10, item 5; more cases in strictness.rs).
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "invalid_credential_request"
    );
}
