//! The management API against `docs/contract/management-api.md`, and the metadata
//! documents.

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    management_api_requires_the_admin_key,
    issuers_are_created_listed_and_validated,
    offers_are_validated_and_cancellable,
    metadata_is_served_at_both_well_known_positions,
);

async fn management_api_requires_the_admin_key(server: &TestServer) {
    for key in [None, Some("wrong-key-wrong-key")] {
        let mut r = server.http.get(server.url("/api/v1/issuers"));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "unauthorized");
    }
    let r = server
        .http
        .post(server.url("/api/v1/issuers/demo/offers"))
        .json(&badge_offer(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for path in [
        "/api/v1/issuers/demo/credentials/some-id/status",
        "/api/v1/issuers/demo/credentials/status",
    ] {
        let body = json!({"status": "revoked", "items": []});
        let r = server
            .http
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
}

async fn issuers_are_created_listed_and_validated(server: &TestServer) {
    let def = json!({ "id": "acme",
      "display": [{"name": "ACME Corp", "locale": "en"}],
      "signing_alg": "EdDSA",
      "credential_configurations": {
        "EmployeeBadge": {
          "format": "dc+sd-jwt", "vct": "https://acme.example/vct/employee-badge",
          "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "mandatory": true}],
          "cryptographic_binding_methods_supported": ["jwk"], "expires_in": 31536000 } } });
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["credential_issuer"], server.issuer_url("acme"));
    assert_eq!(body["display"], def["display"]);
    assert_eq!(
        body["credential_configurations_supported"]["EmployeeBadge"]["credential_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")));
    let (status, got) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(status, 200);
    let meta: Value = server
        .http
        .get(server.url("/.well-known/openid-credential-issuer/issuers/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        got["credential_configurations_supported"],
        meta["credential_configurations_supported"]
    );
    let (_, list) = server.admin_get("/api/v1/issuers").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(ids.contains(&"acme") && ids.contains(&"demo"), "{ids:?}");
    // A credential from the EdDSA issuer verifies with its published key.
    let offer = server.offer("acme", &json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "A-7"}}})).await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let claims =
        verify_sd_jwt_vc(server, "acme", accepted.credentials[0].credential.as_str()).await;
    assert_eq!(claims["employee_id"], "A-7");

    for (bad, why) in [
        (
            json!({"id": "Bad_Slug", "credential_configurations": def["credential_configurations"]}),
            "slug",
        ),
        (
            json!({"id": "x1", "signing_alg": "HS256", "credential_configurations": def["credential_configurations"]}),
            "alg",
        ),
        (
            json!({"id": "x2", "credential_configurations": {}}),
            "no configurations",
        ),
        (
            json!({"id": "x3", "credential_configurations": {"A": {"format": "mso_mdoc"}}}),
            "format",
        ),
        (
            json!({"id": "x4", "credential_configurations": {"A": {"format": "dc+sd-jwt"}}}),
            "no vct",
        ),
        (
            json!({"credential_configurations": def["credential_configurations"]}),
            "no id",
        ),
    ] {
        let (status, body) = server.admin_post("/api/v1/issuers", &bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{why}: {body}"
        );
    }
    let (status, body) = server.admin_get("/api/v1/issuers/nobody").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    let (status, _) = server.admin_get("/api/v1/issuers/NOT_A_SLUG").await;
    assert_eq!(status, 404);
}

async fn offers_are_validated_and_cancellable(server: &TestServer) {
    let cases = [
        (
            json!({"credential_configuration_ids": ["Nope"], "claims": {"Nope": {}}}),
            "unknown configuration",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"given_name": "Ada"}}}),
            "mandatory claim missing",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "E", "salary": 1}}}),
            "unknown claim",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"]}),
            "claims missing",
        ),
        (json!({"credential_configuration_ids": []}), "empty"),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "E"}}, "expires_in": 0}),
            "expires_in 0",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "E"}}, "expires_in": 2592001}),
            "expires_in > 30 days",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "E"}}, "grant": "authorization_code"}),
            "authorization code",
        ),
        (
            json!({"credential_configuration_ids": ["EmployeeBadge"], "claims": {"EmployeeBadge": {"employee_id": "E"}}, "tx_code": {"length": 2}}),
            "tx_code length",
        ),
    ];
    for (body, why) in cases {
        let (status, resp) = server
            .admin_post("/api/v1/issuers/demo/offers", &body)
            .await;
        assert_eq!(
            (status, resp["error"].as_str()),
            (400, Some("invalid_request")),
            "{why}: {resp}"
        );
    }
    let (status, _) = server
        .admin_post("/api/v1/issuers/nobody/offers", &badge_offer(false))
        .await;
    assert_eq!(status, 404);
    let r = server
        .admin(reqwest::Method::POST, "/api/v1/issuers/demo/offers")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    let huge =
        json!({"credential_configuration_ids": ["EmployeeBadge"], "pad": "x".repeat(1024 * 1024)});
    let r = server
        .admin(reqwest::Method::POST, "/api/v1/issuers/demo/offers")
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    let offer = server.offer("demo", &badge_offer(false)).await;
    let id = offer["id"].as_str().unwrap();
    let qr = server
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/issuers/demo/offers/{id}/qr.svg"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.unwrap().contains("<svg"));
    let (status, got) = server
        .admin_get(&format!("/api/v1/issuers/demo/offers/{id}"))
        .await;
    assert_eq!((status, got["status"].as_str()), (200, Some("offered")));
    let r = server
        .admin(
            reqwest::Method::DELETE,
            &format!("/api/v1/issuers/demo/offers/{id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let (status, _) = server
        .admin_get(&format!("/api/v1/issuers/demo/offers/{id}"))
        .await;
    assert_eq!(status, 404);
    let (status, body, _) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "a cancelled offer cannot be redeemed"
    );
    assert_eq!(
        server
            .http
            .get(offer["credential_offer_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    // A redeemed offer can no longer be cancelled.
    let redeemed = server.offer("demo", &badge_offer(false)).await;
    token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&redeemed)),
        ],
    )
    .await;
    let r = server
        .admin(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/issuers/demo/offers/{}",
                redeemed["id"].as_str().unwrap()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (status, _) = server
        .admin_get("/api/v1/issuers/demo/credentials/unknown")
        .await;
    assert_eq!(status, 404);
}

async fn metadata_is_served_at_both_well_known_positions(server: &TestServer) {
    let get = |path: String| async move {
        let r = server.http.get(server.url(&path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.json::<Value>().await.unwrap()
    };
    for kind in [
        "openid-credential-issuer",
        "oauth-authorization-server",
        "jwt-vc-issuer",
    ] {
        let inserted = get(format!("/.well-known/{kind}/issuers/demo")).await;
        let appended = get(format!("/issuers/demo/.well-known/{kind}")).await;
        assert_eq!(inserted, appended, "{kind}");
    }
    let m = get("/.well-known/openid-credential-issuer/issuers/demo".into()).await;
    let base = server.issuer_url("demo");
    assert_eq!(m["credential_issuer"], base);
    assert_eq!(m["credential_endpoint"], format!("{base}/credential"));
    assert_eq!(m["nonce_endpoint"], format!("{base}/nonce"));
    assert!(
        m["batch_credential_issuance"]["batch_size"]
            .as_u64()
            .unwrap()
            >= 2
    );
    let a = get("/.well-known/oauth-authorization-server/issuers/demo".into()).await;
    assert_eq!(a["issuer"], base);
    assert_eq!(a["pre-authorized_grant_anonymous_access_supported"], true);
    let j = get("/.well-known/jwt-vc-issuer/issuers/demo".into()).await;
    let keys = j["jwks"]["keys"].as_array().unwrap();
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.get("d").is_none()),
        "public keys only"
    );
    assert_eq!(
        server
            .http
            .get(server.url("/.well-known/openid-credential-issuer/issuers/nobody"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let h = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
    assert!(h.headers().contains_key("x-request-id"));
}
