//! Managing tenants (contract-next "Managing tenants"): the issuer and verifier listings page
//! by `limit` + `cursor`, `PATCH` changes a tenant, and `"disabled": true` makes its wallet
//! endpoints answer 404 while the management API still reads it.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};
use vdc_core::time::Clock as _;
use vdc_store::IssuerRecord;
use vdc_testkit::{Backend, TestServer};

use crate::support::*;

vdc_testkit::both_backends!(
    issuer_listing_pages_by_cursor,
    verifier_listing_pages_by_cursor,
    issuers_are_patched_and_validated_as_created,
    patch_keeps_the_identity_providers_secret,
    disabled_issuer_is_not_found_to_wallets_until_enabled,
    verifiers_are_patched_and_disabled,
    verifier_trust_changes_apply_to_the_next_presentation,
);

/// An issuer create body with one SD-JWT VC configuration.
fn issuer_body(id: &str) -> Value {
    json!({ "id": id,
      "display": [{"name": format!("{id} Corp"), "locale": "en"}],
      "credential_configurations": {
        "EmployeeBadge": {
          "format": "dc+sd-jwt", "vct": format!("https://{id}.example/vct/badge"),
          "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "mandatory": true}],
          "cryptographic_binding_methods_supported": ["jwk"] } } })
}

/// Stores issuer definitions directly (no signing key: listing reads none), so a test can
/// hold many tenants without one HTTP call each.
async fn store_issuers(server: &TestServer, ids: Vec<String>) {
    let mut tasks = tokio::task::JoinSet::new();
    let now = server.clock.now();
    for chunk in ids.chunks(ids.len().div_ceil(8).max(1)) {
        let store = server.store.clone();
        let chunk = chunk.to_vec();
        tasks.spawn(async move {
            for id in chunk {
                let record = IssuerRecord {
                    config: issuer_body(&id),
                    id,
                    created_at: now,
                };
                store.create_issuer(&record).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// PATCHes with the admin key; status and body.
pub(crate) async fn patch(server: &TestServer, path: &str, body: &Value) -> (u16, Value) {
    let r = server
        .admin(Method::PATCH, path)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Walks `path` (a listing) page by page with `limit`; every id in order, and the pages.
async fn walk(server: &TestServer, path: &str, limit: u32) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?limit={limit}&cursor={c}"),
            None => format!("{path}?limit={limit}"),
        };
        let (status, body) = server.admin_get(&url).await;
        assert_eq!(status, 200, "{body}");
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= limit as usize);
        pages += 1;
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match &body["next"] {
            Value::Null => return (ids, pages),
            Value::String(next) => {
                assert_eq!(items.len(), limit as usize, "only a full page has a next");
                cursor = Some(next.clone());
            }
            other => panic!("next is {other}"),
        }
    }
}

async fn status_of(server: &TestServer, method: Method, path: &str) -> u16 {
    server
        .http
        .request(method, server.url(path))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn issuer_listing_pages_by_cursor(server: &TestServer) {
    let (_, before) = server.admin_get("/api/v1/issuers?limit=1000").await;
    let mut want: BTreeSet<String> = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    let ids: Vec<String> = (0..130).map(|n| format!("t{n:04}")).collect();
    store_issuers(server, ids.clone()).await;
    want.extend(ids);

    // Without `limit`, 100; the answer is `{items, next}`.
    let (status, body) = server.admin_get("/api/v1/issuers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 100);
    assert!(body["next"].is_string(), "{}", body["next"]);
    assert!(body["items"][0]["credential_issuer"].is_string());

    // Every id exactly once, in id order, across pages of 7.
    let (walked, pages) = walk(server, "/api/v1/issuers", 7).await;
    assert_eq!(walked, want.iter().cloned().collect::<Vec<_>>());
    assert_eq!(pages, want.len().div_ceil(7));

    // One page holds them all: no next.
    let (_, all) = server.admin_get("/api/v1/issuers?limit=1000").await;
    assert_eq!(all["items"].as_array().unwrap().len(), want.len());
    assert_eq!(all["next"], Value::Null);

    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "limit=-5",
        "limit=1&limit=2",
        "cursor=not%20a%20cursor",
        "cursor=QUNNRQ",
    ] {
        let (status, body) = server.admin_get(&format!("/api/v1/issuers?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request", "{bad}");
        assert!(body["error_description"].is_string(), "{bad}");
    }

    // The start page lists the first page only, and says there are more.
    let cookie = format!(
        "vdc_ui_key={}",
        vdc_core::base64url::encode(vdc_testkit::ADMIN_KEY)
    );
    let page = server
        .http
        .get(server.url("/ui"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(page.matches("href=\"/ui/issuers/").count(), 100, "{page}");
    assert!(page.contains("id=\"more-tenants\""), "{page}");
    assert!(!page.contains("/ui/issuers/t0129"));

    // A scoped key pages through its own issuers only.
    let key = scoped_key(server, &["t0003", "t0001", "t0002"], &[], &["read"]).await;
    let r = server
        .http
        .get(server.url("/api/v1/issuers?limit=2"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first: Value = r.json().await.unwrap();
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t0001", "t0002"]);
    let next = first["next"].as_str().unwrap();
    let second: Value = server
        .http
        .get(server.url(&format!("/api/v1/issuers?limit=2&cursor={next}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0]["id"], "t0003");
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["next"], Value::Null);
}

async fn scoped_key(
    server: &TestServer,
    issuers: &[&str],
    verifiers: &[&str],
    scopes: &[&str],
) -> String {
    let (status, body) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "scoped", "issuers": issuers, "verifiers": verifiers,
                "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

async fn verifier_listing_pages_by_cursor(server: &TestServer) {
    let (_, before) = server.admin_get("/api/v1/verifiers?limit=1000").await;
    let mut want: BTreeSet<String> = before["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    for id in ["v-c", "v-a", "v-b", "v-d"] {
        let (status, body) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": id, "client_id_prefix": "redirect_uri"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        want.insert(id.to_owned());
    }
    let (walked, pages) = walk(server, "/api/v1/verifiers", 3).await;
    assert_eq!(walked, want.iter().cloned().collect::<Vec<_>>());
    assert_eq!(pages, want.len().div_ceil(3));
    let (status, body) = server.admin_get("/api/v1/verifiers").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"].as_array().unwrap().len(), want.len());
    assert_eq!(body["next"], Value::Null);
    for bad in ["limit=0", "limit=1001", "limit=x", "cursor=%2F%2F"] {
        let (status, body) = server.admin_get(&format!("/api/v1/verifiers?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "invalid_request");
    }
}

async fn issuers_are_patched_and_validated_as_created(server: &TestServer) {
    let (status, body) = server
        .admin_post("/api/v1/issuers", &issuer_body("acme"))
        .await;
    assert_eq!(status, 201, "{body}");

    // Display only: the configurations stay.
    let display = json!([{"name": "ACME Renamed", "locale": "en"}]);
    let (status, body) = patch(server, "/api/v1/issuers/acme", &json!({"display": display})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["display"], display);
    assert_eq!(body["disabled"], false);
    assert!(body["credential_configurations"]["EmployeeBadge"].is_object());
    let meta: Value = server
        .http
        .get(server.url("/.well-known/openid-credential-issuer/issuers/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["display"], display);

    // A configuration added: published and offerable.
    let mut configs = issuer_body("acme")["credential_configurations"].clone();
    configs["Visitor"] = json!({"format": "dc+sd-jwt", "vct": "https://acme.example/visitor",
        "claims": [{"path": ["name"]}]});
    let (status, body) = patch(
        server,
        "/api/v1/issuers/acme",
        &json!({"credential_configurations": configs}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["credential_configurations_supported"]["Visitor"].is_object());
    let (status, got) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(status, 200);
    assert_eq!(got["display"], display, "earlier PATCH kept");
    let offer = server
        .offer(
            "acme",
            &json!({"credential_configuration_ids": ["Visitor"],
                "claims": {"Visitor": {"name": "Grace"}}}),
        )
        .await;
    assert!(offer["offer_uri"].is_string());

    // Refused, and nothing changes.
    for (body, what) in [
        (json!({"id": "other"}), "id"),
        (json!({"credential_configurations": {}}), "configuration"),
        (json!({"batch_size": 1}), "batch_size"),
        (json!({"display": display, "colour": "red"}), "colour"),
        (json!({"signing_alg": "EdDSA"}), "signing_alg"),
        (json!({"signing_key": {"kty": "EC"}}), "signing_key"),
        (json!(["display"]), "object"),
    ] {
        let (status, answer) = patch(server, "/api/v1/issuers/acme", &body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "invalid_request");
        let text = answer["error_description"].as_str().unwrap();
        assert!(text.contains(what), "{text} should name {what}");
        let (_, now) = server.admin_get("/api/v1/issuers/acme").await;
        assert_eq!(now, got, "a refused PATCH changes nothing");
    }

    let (status, body) = patch(server, "/api/v1/issuers/nobody", &json!({"display": []})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    // Changing a tenant is the admin's: a key for another issuer, or even for this one,
    // is refused.
    for issuers in [vec!["demo"], vec!["acme"]] {
        let key = scoped_key(
            server,
            &issuers,
            &[],
            &["read", "offers:write", "credentials:status"],
        )
        .await;
        let r = server
            .http
            .patch(server.url("/api/v1/issuers/acme"))
            .bearer_auth(&key)
            .json(&json!({"disabled": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{issuers:?}");
    }
    let (_, now) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(now["disabled"], false);

    // Audited like a create: the method, the route, the tenant, the status.
    let (status, audit) = server.admin_get("/api/v1/audit?issuer=acme").await;
    assert_eq!(status, 200);
    let actions: Vec<(String, String)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].to_string(),
            )
        })
        .collect();
    let patches = actions
        .iter()
        .filter(|(a, _)| a == "PATCH /api/v1/issuers/{issuer}")
        .count();
    assert!(patches >= 2, "{actions:?}");
}

async fn patch_keeps_the_identity_providers_secret(server: &TestServer) {
    let mut body = issuer_body("sso");
    body["identity_provider"] = json!({"issuer": "https://login.sso.example",
        "client_id": "vdc", "client_secret": "s3cret", "scopes": ["openid"],
        "claim_mapping": [{"path": ["given_name"], "from": "given_name"}]});
    let (status, created) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{created}");
    let sealed = |config: &Value| config["identity_provider"]["client_secret_sealed"].clone();
    let before = sealed(
        &server
            .store
            .get_issuer("sso")
            .await
            .unwrap()
            .unwrap()
            .config,
    );
    assert!(before.is_string());

    // The provider object without its write-only secret: the stored secret stays.
    let idp = json!({"issuer": "https://login2.sso.example", "client_id": "vdc",
        "scopes": ["openid", "email"]});
    let (status, answer) = patch(
        server,
        "/api/v1/issuers/sso",
        &json!({"identity_provider": idp, "display": []}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["identity_provider"]["issuer"],
        "https://login2.sso.example"
    );
    assert!(answer["identity_provider"].get("client_secret").is_none());
    let stored = server
        .store
        .get_issuer("sso")
        .await
        .unwrap()
        .unwrap()
        .config;
    assert_eq!(sealed(&stored), before);
    assert!(!stored.to_string().contains("s3cret"));

    // A new secret is sealed anew; the answer never shows it.
    let mut idp = idp;
    idp["client_secret"] = json!("n3w-secret");
    let (status, answer) = patch(
        server,
        "/api/v1/issuers/sso",
        &json!({"identity_provider": idp}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(!answer.to_string().contains("n3w-secret"));
    let stored = server
        .store
        .get_issuer("sso")
        .await
        .unwrap()
        .unwrap()
        .config;
    assert!(sealed(&stored).is_string());
    assert_ne!(sealed(&stored), before);
    assert!(!stored.to_string().contains("n3w-secret"));

    // A sealed value is not the API's to set.
    let (status, _) = patch(
        server,
        "/api/v1/issuers/sso",
        &json!({"claims_endpoint_secret_sealed": "x"}),
    )
    .await;
    assert_eq!(status, 400);
}

async fn disabled_issuer_is_not_found_to_wallets_until_enabled(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let offer_path = offer["credential_offer_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&server.base)
        .to_owned();
    let wallet_gets = [
        "/.well-known/openid-credential-issuer/issuers/demo".to_owned(),
        "/issuers/demo/.well-known/openid-credential-issuer".to_owned(),
        "/.well-known/oauth-authorization-server/issuers/demo".to_owned(),
        "/.well-known/jwt-vc-issuer/issuers/demo".to_owned(),
        offer_path,
    ];
    for path in &wallet_gets {
        assert_eq!(status_of(server, Method::GET, path).await, 200, "{path}");
    }

    let (status, body) = patch(server, "/api/v1/issuers/demo", &json!({"disabled": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    for path in &wallet_gets {
        assert_eq!(status_of(server, Method::GET, path).await, 404, "{path}");
    }
    let code = code_of(&offer);
    let (status, body, _) = token(
        server,
        "demo",
        &[("grant_type", PRE), ("pre-authorized_code", &code)],
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        status_of(server, Method::POST, "/issuers/demo/nonce").await,
        404
    );
    let r = server
        .http
        .post(server.url("/issuers/demo/credential"))
        .bearer_auth("some-token")
        .json(&json!({"credential_configuration_id": "EmployeeBadge"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // The management API still reads it, and nothing was deleted.
    let (status, got) = server.admin_get("/api/v1/issuers/demo").await;
    assert_eq!(status, 200);
    assert_eq!(got["disabled"], true);
    let (status, listed) = server.admin_get("/api/v1/issuers").await;
    assert_eq!(status, 200);
    let demo = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "demo")
        .unwrap();
    assert_eq!(demo["disabled"], true);

    // Enabled again: everything works, the offer made before included.
    let (status, body) = patch(server, "/api/v1/issuers/demo", &json!({"disabled": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], false);
    for path in &wallet_gets {
        assert_eq!(status_of(server, Method::GET, path).await, 200, "{path}");
    }
    let (status, body, _) = token(
        server,
        "demo",
        &[("grant_type", PRE), ("pre-authorized_code", &code)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn verifiers_are_patched_and_disabled(server: &TestServer) {
    let (status, created) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "gate", "client_id_prefix": "x509_san_dns",
                "display": {"name": "Gate"}, "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");

    let (status, body) = patch(
        server,
        "/api/v1/verifiers/gate",
        &json!({"display": {"name": "Front gate"}, "require_status": true,
            "trusted_issuers": [server.issuer_url("demo"), server.issuer_url("other")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["display"]["name"], "Front gate");
    assert_eq!(body["require_status"], true);
    assert_eq!(body["trusted_issuers"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["client_id"], created["client_id"],
        "the client_id stays"
    );
    assert_eq!(body["certificate"], created["certificate"], "the key stays");
    let (_, got) = server.admin_get("/api/v1/verifiers/gate").await;
    assert_eq!(got, body);

    for (bad, what) in [
        (json!({"id": "x"}), "id"),
        (
            json!({"client_id_prefix": "redirect_uri"}),
            "client_id_prefix",
        ),
        (
            json!({"trusted_issuer_anchors": ["not a pem"]}),
            "trusted_issuer_anchors",
        ),
        (json!({"trusted_issuers": "one"}), "invalid type"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let (status, answer) = patch(server, "/api/v1/verifiers/gate", &bad).await;
        assert_eq!(status, 400, "{bad}: {answer}");
        let text = answer["error_description"].as_str().unwrap();
        assert!(text.contains(what), "{text} should name {what}");
        let (_, now) = server.admin_get("/api/v1/verifiers/gate").await;
        assert_eq!(now, got, "a refused PATCH changes nothing");
    }
    let (status, _) = patch(
        server,
        "/api/v1/verifiers/nobody",
        &json!({"disabled": true}),
    )
    .await;
    assert_eq!(status, 404);
    let key = scoped_key(server, &[], &["demo"], &["read", "presentations:write"]).await;
    let r = server
        .http
        .patch(server.url("/api/v1/verifiers/gate"))
        .bearer_auth(&key)
        .json(&json!({"disabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Disabled: the request object, the response endpoint and the trust anchor are 404.
    let (status, req) = server
        .admin_post(
            "/api/v1/verifiers/gate/requests",
            &json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://demo.example/vct/employee-badge"]}}]}}),
        )
        .await;
    assert_eq!(status, 201, "{req}");
    let request_path = req["request_uri"]
        .as_str()
        .unwrap()
        .trim_start_matches(&server.base)
        .to_owned();
    let anchor = "/verifiers/gate/trust-anchor.pem";
    assert_eq!(status_of(server, Method::GET, &request_path).await, 200);
    assert_eq!(status_of(server, Method::GET, anchor).await, 200);
    let respond = |server: &TestServer| {
        let url = server.url("/verifiers/gate/response");
        let http = server.http.clone();
        async move {
            http.post(url)
                .form(&[("vp_token", "{}"), ("state", "nope")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let enabled_answer = respond(server).await;
    assert_ne!(enabled_answer, 404);

    let (status, body) = patch(server, "/api/v1/verifiers/gate", &json!({"disabled": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true);
    assert_eq!(status_of(server, Method::GET, &request_path).await, 404);
    assert_eq!(status_of(server, Method::GET, anchor).await, 404);
    assert_eq!(respond(server).await, 404);
    let (status, got) = server.admin_get("/api/v1/verifiers/gate").await;
    assert_eq!((status, &got["disabled"]), (200, &json!(true)));

    let (status, _) = patch(
        server,
        "/api/v1/verifiers/gate",
        &json!({"disabled": false}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(status_of(server, Method::GET, &request_path).await, 200);
    assert_eq!(status_of(server, Method::GET, anchor).await, 200);
    assert_eq!(respond(server).await, enabled_answer);
}

/// Ten thousand issuers (issue 18, 6b): the listing pages through them in pages of 1000,
/// every id exactly once. SQLite only: Postgres would spend the test's time on inserts, and
/// the paging code is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_issuers_page_by_a_thousand() {
    let server = TestServer::start(Backend::Sqlite).await;
    let (_, before) = server.admin_get("/api/v1/issuers?limit=1000").await;
    let existing = before["items"].as_array().unwrap().len();
    let ids: Vec<String> = (0..10_000).map(|n| format!("tenant-{n:05}")).collect();
    store_issuers(&server, ids).await;
    let total = existing + 10_000;
    let (walked, pages) = walk(&server, "/api/v1/issuers", 1000).await;
    assert_eq!(walked.len(), total);
    assert_eq!(pages, total.div_ceil(1000));
    let unique: BTreeSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), total, "every id once");
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "in id order");
    server.stop().await;
}

/// A `PATCH` of `trusted_issuers` is what the next presentation is checked against (the
/// verifier's cached issuer-key policy is rebuilt, not kept).
async fn verifier_trust_changes_apply_to_the_next_presentation(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (status, v) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "door", "client_id_prefix": "x509_san_dns",
                "trusted_issuers": [server.issuer_url("other")]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let trust = vdc_holder::VerifierTrust {
        x509_anchors: Some(
            vdc_core::x509::TrustAnchors::from_pem(v["trust_anchor"].as_str().unwrap()).unwrap(),
        ),
        accept_unanchored_x509: false,
    };
    let present = async |want: &str| {
        let (status, created) = server
            .admin_post(
                "/api/v1/verifiers/door/requests",
                &json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                    "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
                    "claims": [{"path": ["given_name"]}]}]}}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        // A rejected presentation may be an error to the wallet; the result tells.
        let _ = wallet
            .present(created["authorization_request"].as_str().unwrap(), &trust)
            .await;
        let (_, result) = server
            .admin_get(&format!(
                "/api/v1/verifiers/door/requests/{}",
                created["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(result["status"], want, "{result}");
    };
    present("rejected").await;
    let (status, body) = patch(
        server,
        "/api/v1/verifiers/door",
        &json!({"trusted_issuers": [server.issuer_url("demo")]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    present("verified").await;
}
