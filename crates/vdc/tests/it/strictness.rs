//! Input strictness over HTTP (issue 10, items 5 and 12): the error code each endpoint owes
//! for a malformed body (G8, G10), JSON answers for unknown paths and methods (contract:
//! "Every error is JSON"), and management bodies refusing members they do not know
//! (contract: "Unknown members in request bodies get 400 invalid_request naming the member").

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    malformed_credential_bodies_are_invalid_credential_request,
    unknown_paths_and_methods_answer_json_errors,
    management_bodies_refuse_unknown_members,
);

/// POSTs raw bytes as JSON with a bearer token; returns status and the parsed body.
async fn post_raw(server: &TestServer, path: &str, bearer: &str, body: Vec<u8>) -> (u16, Value) {
    let r = server
        .http
        .post(server.url(path))
        .bearer_auth(bearer)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// G8, G10: OID4VCI 1.0 §8.3.1.2 names `invalid_credential_request` for a request that is
/// "otherwise malformed" (it takes precedence over RFC 6750's `invalid_request`), §9.3 the same
/// codes for the deferred endpoint, §11.3 `invalid_notification_request`. The description
/// keeps to the characters the spec allows (no `"` or `\`).
async fn malformed_credential_bodies_are_invalid_credential_request(server: &TestServer) {
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("truncated JSON", b"{\"proofs\":".to_vec()),
        (
            "duplicate member",
            br#"{"credential_configuration_id":"EmployeeBadge","credential_configuration_id":"EmployeeBadge"}"#
                .to_vec(),
        ),
        ("invalid UTF-8", b"{\"credential_configuration_id\":\"\xff\xfe\"}".to_vec()),
        ("too deep", format!("{{\"proofs\":{deep}}}").into_bytes()),
        ("not an object", b"[1,2]".to_vec()),
        (
            "wrong member type",
            br#"{"credential_configuration_id":7}"#.to_vec(),
        ),
    ];
    for (endpoint, code) in [
        ("/issuers/demo/credential", "invalid_credential_request"),
        (
            "/issuers/demo/deferred_credential",
            "invalid_credential_request",
        ),
        ("/issuers/demo/notification", "invalid_notification_request"),
    ] {
        for (what, body) in &malformed {
            let (status, b) = post_raw(server, endpoint, &token, body.clone()).await;
            assert_eq!(
                (status, b["error"].as_str()),
                (400, Some(code)),
                "{endpoint}, {what}: {b}"
            );
            let description = b["error_description"].as_str().unwrap();
            assert!(
                description
                    .bytes()
                    .all(|c| matches!(c, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)),
                "{endpoint}, {what}: error_description outside the allowed set: {description}"
            );
        }
    }
    // The token endpoint keeps OAuth's `invalid_request` (RFC 6749 §5.2), and a management
    // body keeps the contract's.
    let (status, b) = post_raw(
        server,
        "/api/v1/issuers/demo/offers",
        vdc_testkit::ADMIN_KEY,
        b"{\"claims\":".to_vec(),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // Unknown members of a wallet's request are ignored (OID4VCI 1.0 §8.2: "MUST ignore any
    // unrecognized parameters"): the answer is about the proof, not the extra member.
    let (status, b, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge", "future_member": 1}),
    )
    .await;
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_proof")),
        "{b}"
    );
}

/// Contract: "Every error is JSON": an unknown path is `404 not_found`, a known path with
/// another method `405` with the `Allow` header, under `/api/v1` and the protocol paths.
async fn unknown_paths_and_methods_answer_json_errors(server: &TestServer) {
    for path in [
        "/api/v1/nope",
        "/api/v1/issuers/demo/nope",
        "/issuers/demo/nope",
        "/verifiers/demo/nope",
        "/.well-known/nope",
        "/.well-known/openid-credential-issuer/issuers/demo/extra",
    ] {
        let r = server
            .admin(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "not_found", "{path}");
        assert!(b["error_description"].is_string(), "{path}");
    }
    for (method, path, allowed) in [
        (reqwest::Method::DELETE, "/api/v1/issuers", "GET,HEAD,POST"),
        (reqwest::Method::PUT, "/api/v1/api-keys", "GET,HEAD,POST"),
        (reqwest::Method::GET, "/issuers/demo/token", "POST"),
        (reqwest::Method::GET, "/issuers/demo/credential", "POST"),
        (
            reqwest::Method::POST,
            "/.well-known/openid-credential-issuer/issuers/demo",
            "GET,HEAD",
        ),
    ] {
        let r = server.admin(method.clone(), path).send().await.unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        let allow = r.headers()["allow"].to_str().unwrap().replace(' ', "");
        let mut got: Vec<&str> = allow.split(',').collect();
        got.sort_unstable();
        assert_eq!(got.join(","), allowed, "{method} {path}");
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"], "method_not_allowed", "{method} {path}");
        assert!(b["error_description"].is_string(), "{method} {path}");
    }
}

/// Sends `body` with the admin key; asserts `400 invalid_request` naming `member`.
async fn refused(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    body: Value,
    member: &str,
) {
    let r = server
        .admin(method.clone(), path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let b: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, b["error"].as_str()),
        (400, Some("invalid_request")),
        "{method} {path} with {member}: {b}"
    );
    let description = b["error_description"].as_str().unwrap();
    assert!(
        description.contains(member),
        "{method} {path}: the error does not name {member}: {description}"
    );
}

/// Contract: unknown members in management bodies are `400 invalid_request` naming the
/// member, at any depth, on every management POST/PUT; the typo `txcode` no longer creates
/// an offer without a tx_code.
async fn management_bodies_refuse_unknown_members(server: &TestServer) {
    use reqwest::Method as M;
    let mut typo = badge_offer(false);
    typo["txcode"] = json!({"length": 6});
    refused(
        server,
        M::POST,
        "/api/v1/issuers/demo/offers",
        typo,
        "txcode",
    )
    .await;
    let mut nested = badge_offer(true);
    nested["tx_code"]["lenght"] = json!(8);
    refused(
        server,
        M::POST,
        "/api/v1/issuers/demo/offers",
        nested,
        "tx_code.lenght",
    )
    .await;

    let issuer = json!({"id": "strict", "credential_configurations": {"B": {
        "format": "dc+sd-jwt", "vct": "https://strict.example/b",
        "claims": [{"path": ["a"], "mandatroy": true}]}}});
    refused(server, M::POST, "/api/v1/issuers", issuer, "mandatroy").await;
    let issuer = json!({"id": "strict", "signing_algo": "EdDSA", "credential_configurations": {"B": {
        "format": "dc+sd-jwt", "vct": "https://strict.example/b"}}});
    refused(server, M::POST, "/api/v1/issuers", issuer, "signing_algo").await;
    let (status, _) = server.admin_get("/api/v1/issuers/strict").await;
    assert_eq!(status, 404, "a refused definition created nothing");

    // A deferred offer's claims: the body is claims by configuration id, whose values are
    // free-form claim objects; an unknown configuration id is the service's 400 already.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "deferred": true}),
        )
        .await;
    let id = offer["id"].as_str().unwrap();
    let r = server
        .admin(M::PUT, &format!("/api/v1/issuers/demo/offers/{id}/claims"))
        .json(&json!({"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}, "Nope": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    refused(
        server,
        M::POST,
        "/api/v1/issuers/demo/credentials/some-id/status",
        json!({"status": "revoked", "reason": "lost"}),
        "reason",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/issuers/demo/credentials/status",
        json!({"items": [{"id": "x", "status": "revoked", "stauts": "valid"}]}),
        "items[0].stauts",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/verifiers",
        json!({"id": "strict-v", "client_id_prefix": "redirect_uri", "trusted_issuer": []}),
        "trusted_issuer",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/verifiers/demo/requests",
        json!({"dcql_query": {"credentials": [{"id": "b", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["x"]}}]}, "respons_mode": "direct_post.jwt"}),
        "respons_mode",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/verifiers/demo/response-codes",
        json!({"response_code": "x", "extra": true}),
        "extra",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/api-keys",
        json!({"name": "k", "issuers": ["demo"], "scope": ["read"], "scopes": ["read"]}),
        "scope",
    )
    .await;
    refused(
        server,
        M::POST,
        "/api/v1/webhooks",
        json!({"url": "https://hooks.example/x", "events": ["credential.issued"], "issuer": ["demo"]}),
        "issuer",
    )
    .await;
    let (_, keys) = server.admin_get("/api/v1/api-keys").await;
    assert_eq!(
        keys["items"],
        json!([]),
        "a refused key body created no key"
    );
}
