//! Scoped API keys and the audit log over HTTP (contract: "API keys and tenants", "Webhooks
//! and audit"), on SQLite and Postgres.
//!
//! Invariants tried here: G6 (a key acts only on its tenants: every management route answers
//! 403 across tenants and across scopes, before any lookup, so a tenant outside the key's list
//! looks the same whether it exists or not; listings and audit queries show only the key's
//! tenants) and G10 (401/403 use the contract's codes; keys rest hashed; the audit log holds
//! no key, `tx_code`, code or claim value).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use vdc_holder::VerifierTrust;
use vdc_testkit::{ADMIN_KEY, TestServer};

use crate::support::*;

vdc_testkit::both_backends!(
    every_management_route_refuses_other_tenants_and_missing_scopes,
    admin_only_routes_refuse_scoped_keys,
    revoked_and_unknown_keys_are_unauthorized,
    api_keys_are_validated_listed_without_secrets_and_stored_hashed,
    scoped_keys_list_only_their_issuers,
    audit_records_management_calls_and_domain_events_without_secrets,
    audit_filters_and_cursor_walk,
    keys_cannot_name_tenants_that_do_not_exist,
    refused_calls_write_bounded_audit_entries_under_existing_tenants_only,
);

/// Creates an issuer and a verifier named `id` with the admin key.
async fn create_tenants(server: &TestServer, id: &str) {
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": id, "credential_configurations": {"B": {
                "format": "dc+sd-jwt", "vct": "https://tenant.example/b",
                "claims": [{"path": ["n"]}]}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": id, "client_id_prefix": "redirect_uri", "trusted_issuers": []}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

const ALL_SCOPES: [&str; 4] = [
    "read",
    "offers:write",
    "credentials:status",
    "presentations:write",
];

/// Creates a key with the admin key; returns (id, key).
async fn key(
    server: &TestServer,
    name: &str,
    issuers: &[&str],
    verifiers: &[&str],
    scopes: &[&str],
) -> (String, String) {
    let (status, body) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": name, "issuers": issuers, "verifiers": verifiers, "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

/// Sends a request with `bearer`; returns status and JSON body (Null if none).
async fn call(
    server: &TestServer,
    bearer: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut r = server
        .http
        .request(method, server.url(path))
        .bearer_auth(bearer);
    if let Some(b) = body {
        r = r.json(b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Every tenant route of the management API with the scope the contract requires.
/// `{t}` stands for the tenant (issuer or verifier) slug.
fn tenant_routes() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    let offer = badge_offer(false);
    vec![
        (Method::GET, "/api/v1/issuers/{t}", None, "read"),
        (
            Method::POST,
            "/api/v1/issuers/{t}/offers",
            Some(offer),
            "offers:write",
        ),
        (Method::GET, "/api/v1/issuers/{t}/offers/o-1", None, "read"),
        (
            Method::DELETE,
            "/api/v1/issuers/{t}/offers/o-1",
            None,
            "offers:write",
        ),
        (
            Method::PUT,
            "/api/v1/issuers/{t}/offers/o-1/claims",
            Some(json!({})),
            "offers:write",
        ),
        (
            Method::GET,
            "/api/v1/issuers/{t}/offers/o-1/qr.svg",
            None,
            "read",
        ),
        (
            Method::GET,
            "/api/v1/issuers/{t}/credentials/c-1",
            None,
            "read",
        ),
        (
            Method::POST,
            "/api/v1/issuers/{t}/credentials/c-1/status",
            Some(json!({"status": "revoked"})),
            "credentials:status",
        ),
        (
            Method::POST,
            "/api/v1/issuers/{t}/credentials/status",
            Some(json!({"items": []})),
            "credentials:status",
        ),
        (Method::GET, "/api/v1/verifiers/{t}", None, "read"),
        (
            Method::POST,
            "/api/v1/verifiers/{t}/requests",
            Some(json!({"dcql_query": {}})),
            "presentations:write",
        ),
        (
            Method::GET,
            "/api/v1/verifiers/{t}/requests/r-1",
            None,
            "read",
        ),
        (
            Method::POST,
            "/api/v1/verifiers/{t}/response-codes",
            Some(json!({"response_code": "x"})),
            "presentations:write",
        ),
        (
            Method::POST,
            "/api/v1/verifiers/{t}/requests/r-1/dc-api-response",
            Some(json!({"origin": "https://rp.example", "data": {"vp_token": {}}})),
            "presentations:write",
        ),
    ]
}

async fn every_management_route_refuses_other_tenants_and_missing_scopes(server: &TestServer) {
    // A key with every scope on other tenants: 403 on demo (which exists) and on ghost
    // (which does not): the answer does not reveal which tenants exist (G6).
    create_tenants(server, "other").await;
    let (_, other) = key(server, "other", &["other"], &["other"], &ALL_SCOPES).await;
    for (method, path, body, _) in tenant_routes() {
        for tenant in ["demo", "ghost"] {
            let p = path.replace("{t}", tenant);
            let (status, got) = call(server, &other, method.clone(), &p, body.as_ref()).await;
            assert_eq!(status, 403, "{method} {p}: {got}");
            assert_eq!(got["error"], "forbidden", "{method} {p}");
            assert!(got["error_description"].is_string());
        }
    }
    // An issuer key is not a verifier key for a verifier of the same name, and vice versa.
    let (_, issuer_only) = key(server, "issuer-only", &["demo"], &[], &ALL_SCOPES).await;
    let (_, verifier_only) = key(server, "verifier-only", &[], &["demo"], &ALL_SCOPES).await;
    for (method, path, body, _) in tenant_routes() {
        let p = path.replace("{t}", "demo");
        let wrong = if path.starts_with("/api/v1/issuers") {
            &verifier_only
        } else {
            &issuer_only
        };
        let (status, _) = call(server, wrong, method.clone(), &p, body.as_ref()).await;
        assert_eq!(status, 403, "{method} {p}");
    }
    // Each route: every scope but the required one is 403; the required one alone passes
    // authorization (whatever the handler then answers: 200, 201, 400, 404).
    for (method, path, body, scope) in tenant_routes() {
        let p = path.replace("{t}", "demo");
        let others: Vec<&str> = ALL_SCOPES.into_iter().filter(|s| *s != scope).collect();
        let (_, lacking) = key(server, "lacking", &["demo"], &["demo"], &others).await;
        let (status, got) = call(server, &lacking, method.clone(), &p, body.as_ref()).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {p} without {scope}"
        );
        let (_, only) = key(server, "only", &["demo"], &["demo"], &[scope]).await;
        let (status, got) = call(server, &only, method.clone(), &p, body.as_ref()).await;
        assert!(
            ![401, 403, 500].contains(&status),
            "{method} {p} with {scope}: {status} {got}"
        );
    }
    // The tenant-less read routes need `read` too.
    let (_, no_read) = key(server, "no-read", &["demo"], &["demo"], &["offers:write"]).await;
    for p in ["/api/v1/issuers", "/api/v1/audit?issuer=demo"] {
        let (status, _) = call(server, &no_read, Method::GET, p, None).await;
        assert_eq!(status, 403, "{p}");
    }
}

async fn admin_only_routes_refuse_scoped_keys(server: &TestServer) {
    let (id, all) = key(server, "all", &["demo"], &["demo"], &ALL_SCOPES).await;
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/v1/issuers".into(),
            Some(json!({"id": "new-one"})),
        ),
        (
            Method::POST,
            "/api/v1/verifiers".into(),
            Some(json!({"id": "new-one", "client_id_prefix": "redirect_uri"})),
        ),
        (
            Method::POST,
            "/api/v1/api-keys".into(),
            Some(json!({"name": "x", "scopes": ["read"]})),
        ),
        (Method::GET, "/api/v1/api-keys".into(), None),
        (Method::DELETE, format!("/api/v1/api-keys/{id}"), None),
    ];
    for (method, path, body) in routes {
        let (status, got) = call(server, &all, method.clone(), &path, body.as_ref()).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (403, Some("forbidden")),
            "{method} {path}"
        );
    }
    // The key still works: its own DELETE was refused.
    let (status, _) = call(server, &all, Method::GET, "/api/v1/issuers/demo", None).await;
    assert_eq!(status, 200);
    let (status, _) = server.admin_get("/api/v1/issuers/new-one").await;
    assert_eq!(status, 404, "the refused create changed nothing");
}

async fn revoked_and_unknown_keys_are_unauthorized(server: &TestServer) {
    let (id, k) = key(server, "ops", &["demo"], &[], &["read"]).await;
    assert!(k.starts_with("vdck_"));
    let (status, _) = call(server, &k, Method::GET, "/api/v1/issuers/demo", None).await;
    assert_eq!(status, 200);
    let r = server
        .admin(Method::DELETE, &format!("/api/v1/api-keys/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for bearer in [
        k.as_str(),
        "vdck_unknown-key-unknown-key",
        "",
        &"x".repeat(5000),
    ] {
        let (status, got) = call(server, bearer, Method::GET, "/api/v1/issuers/demo", None).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (401, Some("unauthorized")),
            "{bearer:.20}"
        );
    }
    // Revoking again is 204 (idempotent); an unknown id is 404.
    let r = server
        .admin(Method::DELETE, &format!("/api/v1/api-keys/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = server
        .admin(Method::DELETE, "/api/v1/api-keys/key_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "not_found");
    // The admin key still works and the listing shows the revocation.
    let (status, list) = server.admin_get("/api/v1/api-keys").await;
    assert_eq!(status, 200);
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert!(item["revoked_at"].as_str().unwrap().ends_with('Z'));
}

async fn api_keys_are_validated_listed_without_secrets_and_stored_hashed(server: &TestServer) {
    for bad in [
        json!({"name": "x", "scopes": ["admin"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["read"], "issuers": ["Not A Slug"]}),
        json!({"name": "x", "scopes": ["read"], "verifiers": ["a".repeat(64)]}),
        json!({"name": "", "scopes": ["read"]}),
        json!({"name": "x".repeat(101), "scopes": ["read"]}),
        json!({"scopes": ["read"]}),
        json!({"name": "x", "scopes": "read"}),
    ] {
        let (status, got) = server.admin_post("/api/v1/api-keys", &bad).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let r = server
        .admin(Method::POST, "/api/v1/api-keys")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Unknown members are refused, naming the member (contract; issue 10, item 12).
    let (status, refused) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "backend", "scopes": ["read"], "extra": 1}),
        )
        .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("`extra`")
    );
    let (status, created) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "backend", "issuers": ["demo", "demo"], "verifiers": ["demo"], "scopes": ["read", "offers:write"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let k = created["key"].as_str().unwrap();
    assert_eq!(created["issuers"], json!(["demo"]));
    assert_eq!(created["scopes"], json!(["offers:write", "read"]));
    let (status, list) = server.admin_get("/api/v1/api-keys").await;
    assert_eq!(status, 200);
    let text = list.to_string();
    assert!(!text.contains(k), "the listing shows no key");
    assert!(!text.contains("key_hash"));
    assert_eq!(list["items"][0]["name"], "backend");
    assert_eq!(list["items"][0]["id"], created["id"]);
    // At rest: only the SHA-256 of the key; no stored field holds the key.
    let stored = server.store.list_api_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].key_hash, vdc_store::SecretHash::of(k));
    let rec = &stored[0];
    let fields = [&rec.id, &rec.name]
        .into_iter()
        .chain(&rec.issuers)
        .chain(&rec.verifiers)
        .chain(&rec.scopes);
    for f in fields {
        assert!(!f.contains(&k[5..]), "{f}");
    }
    assert!(!format!("{stored:?}").contains(&k[5..]));
    // And in the database itself: no byte of any file (SQLite) or row (Postgres) holds the
    // key, after it was used for a call that the audit log recorded.
    let (status, _) = call(server, k, Method::GET, "/api/v1/issuers/demo", None).await;
    assert_eq!(status, 200);
    // A read's entry is written by the audit log's next batch; reading the log flushes it.
    let (status, _) = call(
        server,
        ADMIN_KEY,
        Method::GET,
        "/api/v1/audit?limit=1",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let at_rest = database_text(server).await;
    assert!(
        at_rest.contains("GET /api/v1/issuers/{issuer}"),
        "the dump reads the audit log"
    );
    assert!(
        !at_rest.contains(&k[5..]),
        "the clear key rests in the database"
    );
}

/// Everything the server's database holds, as text: the SQLite files' bytes (lossy UTF-8), or
/// every row of the access tables and settings as Postgres renders them.
async fn database_text(server: &TestServer) -> String {
    if let Some(path) = server.database_url.strip_prefix("sqlite://") {
        let mut text = String::new();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        text
    } else {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&server.database_url)
            .await
            .unwrap();
        let mut text = String::new();
        for query in [
            "SELECT t::text FROM api_keys t",
            "SELECT t::text FROM audit_entries t",
            "SELECT t::text FROM settings t",
        ] {
            let rows: Vec<String> = sqlx::query_scalar(query)
                .fetch_all(&mut conn)
                .await
                .unwrap();
            text.push_str(&rows.join("\n"));
        }
        conn.close().await.unwrap();
        text
    }
}

async fn scoped_keys_list_only_their_issuers(server: &TestServer) {
    let def = json!({ "id": "acme", "display": [{"name": "ACME"}], "signing_alg": "ES256",
      "credential_configurations": { "B": { "format": "dc+sd-jwt", "vct": "https://acme.example/b",
        "claims": [{"path": ["n"]}], "cryptographic_binding_methods_supported": ["jwk"], "expires_in": 600 } } });
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 201, "{body}");
    let ids = |v: &Value| -> BTreeSet<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = server.admin_get("/api/v1/issuers").await;
    assert_eq!(
        ids(&all),
        BTreeSet::from(["acme".to_owned(), "demo".to_owned()])
    );
    let (_, acme) = key(server, "acme-reader", &["acme"], &["demo"], &["read"]).await;
    let (status, mine) = call(server, &acme, Method::GET, "/api/v1/issuers", None).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&mine), BTreeSet::from(["acme".to_owned()]));
    let (_, none) = key(server, "verifier-reader", &[], &["demo"], &["read"]).await;
    let (status, mine) = call(server, &none, Method::GET, "/api/v1/issuers", None).await;
    assert_eq!(status, 200);
    assert!(ids(&mine).is_empty());

    // The same for verifiers (GET /api/v1/verifiers, an addition to the contract).
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "door", "client_id_prefix": "redirect_uri",
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, all) = server.admin_get("/api/v1/verifiers").await;
    assert_eq!(status, 200);
    assert_eq!(
        ids(&all),
        BTreeSet::from(["demo".to_owned(), "door".to_owned()])
    );
    assert!(
        all["items"][0]["client_id"].is_string(),
        "listed like GET one: {all}"
    );
    let (status, mine) = call(server, &none, Method::GET, "/api/v1/verifiers", None).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&mine), BTreeSet::from(["demo".to_owned()]));
    let (status, mine) = call(server, &acme, Method::GET, "/api/v1/verifiers", None).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&mine), BTreeSet::from(["demo".to_owned()]));
    let (_, writer) = key(server, "no-read", &[], &["door"], &["presentations:write"]).await;
    let (status, body) = call(server, &writer, Method::GET, "/api/v1/verifiers", None).await;
    assert_eq!(status, 403, "listing needs read: {body}");
}

async fn audit_records_management_calls_and_domain_events_without_secrets(server: &TestServer) {
    let (key_id, k) = key(server, "backend-svc", &["demo"], &["demo"], &ALL_SCOPES).await;
    // Issuance with a tx_code, driven by the scoped key and the testkit wallet.
    let (status, offer) = call(
        server,
        &k,
        Method::POST,
        "/api/v1/issuers/demo/offers",
        Some(&badge_offer(true)),
    )
    .await;
    assert_eq!(status, 201, "{offer}");
    let tx = offer["tx_code"].as_str().unwrap().to_owned();
    let code = code_of(&offer);
    let offer_id = offer["id"].as_str().unwrap().to_owned();
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), Some(&tx), 1)
        .await
        .unwrap();
    let (_, record) = call(
        server,
        &k,
        Method::GET,
        &format!("/api/v1/issuers/demo/offers/{offer_id}"),
        None,
    )
    .await;
    let credential_id = record["credentials"][0]["id"].as_str().unwrap().to_owned();
    // A verification with the demo verifier.
    let (status, v) = call(server, &k, Method::GET, "/api/v1/verifiers/demo", None).await;
    assert_eq!(status, 200, "{v}");
    let query = json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]});
    let (status, created) = call(
        server,
        &k,
        Method::POST,
        "/api/v1/verifiers/demo/requests",
        Some(&json!({"dcql_query": query})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let trust = VerifierTrust {
        x509_anchors: v["trust_anchor"]
            .as_str()
            .map(|pem| vdc_core::x509::TrustAnchors::from_pem(pem).unwrap()),
        accept_unanchored_x509: false,
    };
    wallet
        .present(created["authorization_request"].as_str().unwrap(), &trust)
        .await
        .unwrap();
    let request_id = created["id"].as_str().unwrap().to_owned();
    let (_, result) = call(
        server,
        &k,
        Method::GET,
        &format!("/api/v1/verifiers/demo/requests/{request_id}"),
        None,
    )
    .await;
    assert_eq!(result["status"], "verified", "{result}");
    // A status change by the key: the key's name is the actor.
    let (status, _) = call(
        server,
        &k,
        Method::POST,
        &format!("/api/v1/issuers/demo/credentials/{credential_id}/status"),
        Some(&json!({"status": "revoked"})),
    )
    .await;
    assert_eq!(status, 200);
    // A refused call is audited too.
    let (status, _) = call(
        server,
        &k,
        Method::POST,
        "/api/v1/issuers",
        Some(&json!({})),
    )
    .await;
    assert_eq!(status, 403);

    let (status, issuer_log) = call(
        server,
        &k,
        Method::GET,
        "/api/v1/audit?issuer=demo&limit=1000",
        None,
    )
    .await;
    assert_eq!(status, 200, "{issuer_log}");
    let items = issuer_log["items"].as_array().unwrap();
    let find = |items: &[Value], action: &str| -> Value {
        items
            .iter()
            .find(|i| i["action"] == action)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} in {items:?}"))
    };
    let created_offer = find(items, "POST /api/v1/issuers/{issuer}/offers");
    assert_eq!(created_offer["actor"], "backend-svc");
    assert_eq!(created_offer["actor_key_id"], key_id.as_str());
    assert_eq!(created_offer["issuer"], "demo");
    assert_eq!(created_offer["outcome"], "201");
    assert_eq!(created_offer["target"], offer_id.as_str());
    assert!(created_offer["at"].as_str().unwrap().ends_with('Z'));
    let token = find(items, "offer.token_issued");
    assert_eq!(token["target"], offer_id.as_str());
    let issued = find(items, "credential.issued");
    assert_eq!(issued["target"], credential_id.as_str());
    let changed = find(items, "credential.status_changed");
    assert_eq!(changed["actor"], "backend-svc");
    assert_eq!(changed["target"], credential_id.as_str());
    let change_call = find(
        items,
        "POST /api/v1/issuers/{issuer}/credentials/{id}/status",
    );
    assert_eq!(change_call["target"], credential_id.as_str());
    assert_eq!(change_call["outcome"], "200");
    assert!(
        items
            .iter()
            .all(|i| i["issuer"] == "demo" && i.get("verifier").is_none())
    );

    let (status, verifier_log) =
        call(server, &k, Method::GET, "/api/v1/audit?verifier=demo", None).await;
    assert_eq!(status, 200);
    let vitems = verifier_log["items"].as_array().unwrap();
    let verified = find(vitems, "presentation.verified");
    assert_eq!(verified["target"], request_id.as_str());
    assert_eq!(verified["verifier"], "demo");
    let request_call = find(vitems, "POST /api/v1/verifiers/{verifier}/requests");
    assert_eq!(request_call["outcome"], "201");
    assert_eq!(request_call["target"], request_id.as_str());

    let (status, everything) = server.admin_get("/api/v1/audit?limit=1000").await;
    assert_eq!(status, 200);
    let refused = find(
        everything["items"].as_array().unwrap(),
        "POST /api/v1/issuers",
    );
    assert_eq!(
        (refused["outcome"].as_str(), refused["actor"].as_str()),
        (Some("403"), Some("backend-svc"))
    );
    let key_created = find(
        everything["items"].as_array().unwrap(),
        "POST /api/v1/api-keys",
    );
    assert_eq!(key_created["target"], key_id.as_str());
    assert_eq!(key_created["actor"], "admin");
    // Never a secret or a claim value (G10).
    let text = everything.to_string();
    for secret in [
        k.as_str(),
        &k[5..],
        tx.as_str(),
        code.as_str(),
        ADMIN_KEY,
        "Ada",
        "Lovelace",
        "E-1",
    ] {
        assert!(!text.contains(secret), "audit log contains {secret:?}");
    }
}

async fn audit_filters_and_cursor_walk(server: &TestServer) {
    for _ in 0..12 {
        let (status, _) = server.admin_get("/api/v1/issuers/demo").await;
        assert_eq!(status, 200);
    }
    let (status, all) = server
        .admin_get("/api/v1/audit?issuer=demo&limit=1000")
        .await;
    assert_eq!(status, 200);
    assert_eq!(all["next"], Value::Null);
    let expected: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(expected.len() >= 12);
    // Walking pages of 5 returns every entry once, in the same order.
    let mut seen = Vec::new();
    let mut path = "/api/v1/audit?issuer=demo&limit=5".to_owned();
    for _ in 0..100 {
        let (status, page) = server.admin_get(&path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 5);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/audit?issuer=demo&limit=5&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    // since: the future is empty, the distant past is everything.
    let (_, future) = server
        .admin_get("/api/v1/audit?issuer=demo&since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future["items"], json!([]));
    let (_, past) = server
        .admin_get("/api/v1/audit?issuer=demo&since=2000-01-01T00:00:00Z&limit=1000")
        .await;
    assert_eq!(past["items"].as_array().unwrap().len(), expected.len());
    // Another tenant's log is empty for the admin.
    let (_, other) = server.admin_get("/api/v1/audit?issuer=other").await;
    assert_eq!(other["items"], json!([]));
    // Bad queries are 400.
    for q in [
        "limit=0",
        "limit=1001",
        "since=yesterday",
        "issuer=demo&verifier=demo",
        "cursor=%21%21",
        "issuer=demo&issuer=x",
    ] {
        let (status, got) = server.admin_get(&format!("/api/v1/audit?{q}")).await;
        assert_eq!(
            (status, got["error"].as_str()),
            (400, Some("invalid_request")),
            "{q}"
        );
    }
    // A scoped key with read must name a tenant it holds.
    let (_, reader) = key(server, "reader", &["demo"], &[], &["read"]).await;
    for (q, want) in [
        ("issuer=demo", 200),
        ("", 403),
        ("issuer=other", 403),
        ("verifier=demo", 403),
    ] {
        let (status, _) = call(
            server,
            &reader,
            Method::GET,
            &format!("/api/v1/audit?{q}"),
            None,
        )
        .await;
        assert_eq!(status, want, "{q}");
    }
}

/// G6 (issue 10, item 15): a key naming a tenant that does not exist would silently gain it
/// when someone creates that tenant later; key creation refuses it with 404 naming it, and
/// creates nothing.
async fn keys_cannot_name_tenants_that_do_not_exist(server: &TestServer) {
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "issuer-only", "credential_configurations": {"B": {
                "format": "dc+sd-jwt", "vct": "https://x.example/b"}}}),
        )
        .await;
    assert_eq!(status, 201);
    for (issuers, verifiers, named) in [
        (vec!["demo", "ghost"], vec![], "issuer ghost"),
        (vec![], vec!["demo", "phantom"], "verifier phantom"),
        // An issuer of that name does not make it a verifier.
        (vec![], vec!["issuer-only"], "verifier issuer-only"),
    ] {
        let (status, body) = server
            .admin_post(
                "/api/v1/api-keys",
                &json!({"name": "early", "issuers": issuers, "verifiers": verifiers,
                    "scopes": ["read"]}),
            )
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{body}"
        );
        let description = body["error_description"].as_str().unwrap();
        assert!(description.contains(named), "{description}");
    }
    let (_, keys) = server.admin_get("/api/v1/api-keys").await;
    assert_eq!(keys["items"], json!([]), "no key was created");
    // Once the tenant exists, the same key can be made.
    create_tenants(server, "ghost").await;
    key(server, "later", &["demo", "ghost"], &["ghost"], &["read"]).await;
}

/// G10 (issue 10, item 10): a refused call's audit entry is bounded, and no entry appears
/// under a tenant that does not exist. A read-only key hitting a 60,000-byte tenant path and
/// a 60,000-byte object id writes no 60 KB row; its 403 on a tenant that does not exist is
/// recorded without a tenant (so the log of a tenant created later starts empty); its 403 on
/// an existing tenant stays under that tenant.
async fn refused_calls_write_bounded_audit_entries_under_existing_tenants_only(
    server: &TestServer,
) {
    let (_, reader) = key(server, "reader", &["demo"], &["demo"], &["read"]).await;
    let long = "a".repeat(60_000);
    // 18,000 bytes (the URL, percent-encoded, stays under the 64 KiB a URI may have).
    let long_utf8 = "\u{e9}".repeat(9_000);
    for path in [
        format!("/api/v1/issuers/{long}/offers"),
        format!("/api/v1/issuers/{long}/offers/x"),
        format!("/api/v1/issuers/demo/offers/{long_utf8}"),
        format!("/api/v1/verifiers/{long}/requests"),
        "/api/v1/issuers/not-yet/offers".to_owned(),
        "/api/v1/issuers/demo/offers".to_owned(),
    ] {
        let method = if path.ends_with("/x") || path.contains('\u{e9}') {
            Method::DELETE
        } else {
            Method::POST
        };
        let (status, _) = call(server, &reader, method, &path, Some(&badge_offer(false))).await;
        assert_eq!(status, 403, "{}", path.chars().take(40).collect::<String>());
    }
    // And a 404 under a tenant that does not exist, with the admin key.
    let (status, _) = server
        .admin_get(&format!("/api/v1/issuers/also-not-yet/offers/{long}"))
        .await;
    assert_eq!(status, 404);

    let (status, page) = server.admin_get("/api/v1/audit?limit=1000").await;
    assert_eq!(status, 200);
    let items = page["items"].as_array().unwrap();
    let refused: Vec<&Value> = items
        .iter()
        .filter(|e| e["outcome"] == "403" || e["outcome"] == "404")
        .collect();
    assert_eq!(
        refused.len(),
        7,
        "every refused call is recorded: {refused:?}"
    );
    for e in items {
        let row = e.to_string();
        assert!(row.len() < 1_000, "an audit entry of {} bytes", row.len());
        for field in ["issuer", "verifier"] {
            if let Some(t) = e[field].as_str() {
                assert_eq!(
                    t, "demo",
                    "an entry under a tenant that does not exist: {row}"
                );
            }
        }
    }
    let under_demo = refused.iter().filter(|e| e["issuer"] == "demo").count();
    assert_eq!(
        under_demo, 2,
        "refusals on demo stay under demo: {refused:?}"
    );
    let cut = refused
        .iter()
        .find(|e| e["issuer"] == "demo" && e["target"].is_string())
        .unwrap();
    let target = cut["target"].as_str().unwrap();
    assert!(target.starts_with(&"\u{e9}".repeat(64)), "{target}");
    assert!(target.ends_with("...(18000 bytes)"), "{target}");
    // The tenants created now have an empty log: nothing was recorded under them before.
    create_tenants(server, "not-yet").await;
    create_tenants(server, "also-not-yet").await;
    for q in ["issuer=not-yet", "issuer=also-not-yet", "verifier=not-yet"] {
        let (_, log) = server.admin_get(&format!("/api/v1/audit?{q}")).await;
        let before: Vec<&Value> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] != "201")
            .collect();
        assert!(before.is_empty(), "{q}: {before:?}");
    }
}
