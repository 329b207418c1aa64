//! Issuance flows end to end: the vdc-holder wallet against the server over HTTP.

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    pre_authorized_flow_with_tx_code_issues_a_verifiable_credential,
    pre_authorized_flow_without_tx_code_issues_w3c_and_sd_jwt,
    batch_of_three_binds_three_keys,
    deferred_issuance_completes_after_claims_are_supplied,
    notification_is_idempotent_for_its_first_event,
    offer_by_reference_is_fetchable_until_redeemed,
    tenants_are_isolated,
    expired_offer_cannot_be_redeemed,
    a_draft_singular_proof_is_read_as_proofs_and_counted,
    an_offer_locked_by_wrong_tx_codes_says_so_and_shows_locked,
);

async fn pre_authorized_flow_with_tx_code_issues_a_verifiable_credential(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(true)).await;
    let tx = offer["tx_code"].as_str().unwrap();
    assert_eq!(tx.len(), 6);
    assert!(tx.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(
        offer["credential_offer"]["grants"][PRE]["tx_code"]["description"],
        "sent by SMS"
    );
    let wallet = server.wallet();
    let accepted = wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), Some(tx), 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);
    let credential = &accepted.credentials[0].credential;
    let claims = verify_sd_jwt_vc(server, "demo", credential.as_str()).await;
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["employee_id"], "E-1");
    assert_eq!(claims["iss"], server.issuer_url("demo"));
    assert_eq!(claims["vct"], "https://vdc.example/vct/employee-badge");
    assert!(claims["cnf"]["jwk"].is_object());
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    // Every configured claim is selectively disclosable: none is in the signed payload.
    let sd = vdc_core::sd_jwt::SdJwt::parse(credential.as_str()).unwrap();
    let payload = sd.issuer_jws().unwrap().payload;
    for name in ["given_name", "family_name", "employee_id"] {
        assert!(
            !payload.contains_key(name),
            "{name} is not selectively disclosable"
        );
    }
    assert!(sd.issuer_jws().unwrap().kid().is_some());

    let (status, body) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "credential_issued");
    let record_id = body["credentials"][0]["id"].as_str().unwrap();
    let (status, record) = server
        .admin_get(&format!("/api/v1/issuers/demo/credentials/{record_id}"))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["status"], "valid");
    assert!(record["issued_at"].as_str().unwrap().ends_with('Z'));
}

async fn pre_authorized_flow_without_tx_code_issues_w3c_and_sd_jwt(server: &TestServer) {
    let body = json!({
        "credential_configuration_ids": ["EmployeeBadge", "EmployeeBadgeW3C"],
        "claims": {
            "EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"},
            "EmployeeBadgeW3C": {"given_name": "Ada", "employee_id": "E-1"}
        }
    });
    let offer = server.offer("demo", &body).await;
    assert!(offer["tx_code"].is_null());
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 2);
    let w3c = accepted
        .credentials
        .iter()
        .find(|c| c.format == "jwt_vc_json")
        .expect("a jwt_vc_json credential");
    let jws = vdc_core::jose::jws::decode(w3c.credential.as_str()).unwrap();
    assert_eq!(jws.header_str("typ"), Some("vc+jwt"));
    assert_eq!(jws.payload["credentialSubject"]["employee_id"], "E-1");
    assert!(
        jws.payload["credentialSubject"]["id"]
            .as_str()
            .unwrap()
            .starts_with("did:jwk:")
    );
    vdc_core::vc_jose::check_data_model(&jws.payload).unwrap();
}

async fn batch_of_three_binds_three_keys(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 3)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 3);
    let mut keys = Vec::new();
    for c in &accepted.credentials {
        let claims = verify_sd_jwt_vc(server, "demo", c.credential.as_str()).await;
        keys.push(claims["cnf"]["jwk"].clone());
    }
    keys.dedup();
    assert_eq!(keys.len(), 3, "each credential is bound to its own key");
    let (_, status) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status["credentials"].as_array().unwrap().len(), 3);
}

async fn deferred_issuance_completes_after_claims_are_supplied(server: &TestServer) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "deferred": true}),
        )
        .await;
    let wallet = server.wallet();
    let accepted = wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    assert!(accepted.credentials.is_empty());
    assert_eq!(accepted.deferred.len(), 1);
    let handle = &accepted.deferred[0];
    // Still pending: the back end has not supplied the claims.
    let again = wallet.poll_deferred(handle).await.unwrap();
    assert!(again.credentials.is_empty() && again.deferred.len() == 1);
    let id = offer["id"].as_str().unwrap();
    // Claims that break the configuration are refused.
    let r = server
        .admin(
            reqwest::Method::PUT,
            &format!("/api/v1/issuers/demo/offers/{id}/claims"),
        )
        .json(&json!({"EmployeeBadge": {"given_name": "Ada"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = server
        .admin(
            reqwest::Method::PUT,
            &format!("/api/v1/issuers/demo/offers/{id}/claims"),
        )
        .json(&json!({"EmployeeBadge": {"given_name": "Grace", "employee_id": "E-2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done = wallet.poll_deferred(handle).await.unwrap();
    assert_eq!(done.credentials.len(), 1);
    let claims = verify_sd_jwt_vc(server, "demo", done.credentials[0].credential.as_str()).await;
    assert_eq!(claims["given_name"], "Grace");
    // The transaction id is single use.
    let err = wallet.poll_deferred(handle).await.unwrap_err();
    assert_eq!(
        err.oauth_code().map(|c| c.as_str().to_owned()).as_deref(),
        Some("invalid_transaction_id")
    );
}

async fn notification_is_idempotent_for_its_first_event(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let token = {
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
        body["access_token"].as_str().unwrap().to_owned()
    };
    let n = nonce(server, "demo").await;
    let (p, _) = proof(server, &server.issuer_url("demo"), Some(&n)).await;
    let (status, body, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let notification_id = body["notification_id"].as_str().unwrap();
    let send = |event: &str| {
        let body = json!({"notification_id": notification_id, "event": event});
        server
            .http
            .post(server.url("/issuers/demo/notification"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    assert_eq!(send("credential_accepted").await.unwrap().status(), 204);
    // Spec: OID4VCI 1.0 §11: identical repeats succeed (notifications are idempotent) ...
    assert_eq!(send("credential_accepted").await.unwrap().status(), 204);
    // ... but the id records one event: a different one later is refused.
    let other = send("credential_deleted").await.unwrap();
    assert_eq!(other.status(), 400);
    assert_eq!(
        other.json::<Value>().await.unwrap()["error"],
        "invalid_notification_id"
    );
    let bad = send("credential_lost").await.unwrap();
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"],
        "invalid_notification_request"
    );
    let unknown = server
        .http
        .post(server.url("/issuers/demo/notification"))
        .bearer_auth(&token)
        .json(&json!({"notification_id": "never-issued", "event": "credential_accepted"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.json::<Value>().await.unwrap()["error"],
        "invalid_notification_id"
    );
}

async fn offer_by_reference_is_fetchable_until_redeemed(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let uri = offer["credential_offer_uri"].as_str().unwrap();
    let first: Value = server
        .http
        .get(uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = server.http.get(uri).send().await.unwrap();
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["cache-control"], "no-store");
    assert_eq!(first, second.json::<Value>().await.unwrap());
    assert_eq!(first, offer["credential_offer"]);
    server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    assert_eq!(server.http.get(uri).send().await.unwrap().status(), 404);
}

async fn tenants_are_isolated(server: &TestServer) {
    let mut other = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    other["id"] = "other".into();
    let (status, body) = server.admin_post("/api/v1/issuers", &other).await;
    assert_eq!(status, 201, "{body}");
    // Issuer A's pre-authorized code is unknown at issuer B.
    let offer = server.offer("demo", &badge_offer(false)).await;
    let (status, body, _) = token(
        server,
        "other",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Issuer A's access token is useless at issuer B.
    let token_a = fresh_token(server, "demo", &badge_offer(false)).await;
    let n = nonce(server, "other").await;
    let (p, _) = proof(server, &server.issuer_url("other"), Some(&n)).await;
    let (status, body, headers) = credential(
        server,
        "other",
        &token_a,
        &json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    // Issuer A's nonce is unknown at issuer B.
    let token_b = fresh_token(server, "other", &badge_offer(false)).await;
    let nonce_a = nonce(server, "demo").await;
    let (p, _) = proof(server, &server.issuer_url("other"), Some(&nonce_a)).await;
    let (status, body, _) = credential(
        server,
        "other",
        &token_b,
        &json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}}),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_nonce"))
    );
    // A's offers are not visible through B.
    let (status, body) = server
        .admin_get(&format!(
            "/api/v1/issuers/other/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
}

async fn expired_offer_cannot_be_redeemed(server: &TestServer) {
    let mut body = badge_offer(false);
    body["expires_in"] = 60.into();
    let offer = server.offer("demo", &body).await;
    server.clock.advance(61);
    let (status, resp, headers) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(
        (status, resp["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(headers["cache-control"], "no-store");
    let (_, status) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status["status"], "expired");
}

/// Issue 13: wallets on OID4VCI drafts 13 to 15 send `proof` (one object) instead of
/// `proofs`; it is read as a one-element `proofs` and counted in `/metrics`.
async fn a_draft_singular_proof_is_read_as_proofs_and_counted(server: &TestServer) {
    let counter = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("vdc_credential_requests_legacy_proof_total "))
            .map(|n| n.trim().parse::<u64>().unwrap())
            .unwrap()
    };
    let metrics = || async {
        let r = server
            .http
            .get(server.url("/metrics"))
            .send()
            .await
            .unwrap();
        r.text().await.unwrap()
    };
    let before = counter(&metrics().await);
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let n = nonce(server, "demo").await;
    let (p, _) = proof(server, &server.issuer_url("demo"), Some(&n)).await;
    let (status, body, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge",
                "proof": {"proof_type": "jwt", "jwt": p}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    verify_sd_jwt_vc(
        server,
        "demo",
        body["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
    assert_eq!(counter(&metrics().await), before + 1);
    // Both forms at once, or another proof type, are refused.
    let (p, _) = proof(
        server,
        &server.issuer_url("demo"),
        Some(&nonce(server, "demo").await),
    )
    .await;
    for bad in [
        json!({"credential_configuration_id": "EmployeeBadge",
               "proof": {"proof_type": "jwt", "jwt": p}, "proofs": {"jwt": [p]}}),
        json!({"credential_configuration_id": "EmployeeBadge",
               "proof": {"proof_type": "ldp_vp", "jwt": p}}),
    ] {
        let (status, body, _) = credential(server, "demo", &token, &bad).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

/// Issue 18: after the allowed wrong `tx_code`s (5) the right one is refused with an
/// `error_description` that says the offer is locked (not "invalid, expired or used"), and
/// the offer's management view says `locked` (its status stays `offered`: contract value).
async fn an_offer_locked_by_wrong_tx_codes_says_so_and_shows_locked(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(true)).await;
    let code = code_of(&offer);
    let right = offer["tx_code"].as_str().unwrap().to_owned();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let path = format!(
        "/api/v1/issuers/demo/offers/{}",
        offer["id"].as_str().unwrap()
    );
    let http = reqwest::Client::new();
    let token = |tx: String| {
        let http = http.clone();
        let code = code.clone();
        let url = server.url("/issuers/demo/token");
        async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", PRE),
                    ("pre-authorized_code", code.as_str()),
                    ("tx_code", tx.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    for attempt in 1..=5 {
        let (status, body) = token(wrong.to_owned()).await;
        assert_eq!(status, 400, "attempt {attempt}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{body}");
        if attempt < 5 {
            let (_, view) = server.admin_get(&path).await;
            assert_eq!(view["locked"], false, "attempt {attempt}: {view}");
        }
    }
    let (status, body) = token(right).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("too many wrong transaction codes") && description.contains("locked"),
        "{body}"
    );
    let (status, view) = server.admin_get(&path).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "offered", "{view}");
    assert_eq!(view["locked"], true, "{view}");
    // A code that never existed still reads as invalid, not locked.
    let (status, body) = server_token_unknown(server).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error_description"],
        "the pre-authorized code is invalid, expired or used"
    );
}

async fn server_token_unknown(server: &TestServer) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(server.url("/issuers/demo/token"))
        .form(&[
            ("grant_type", PRE),
            ("pre-authorized_code", "no-such-code"),
            ("tx_code", "123456"),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}
