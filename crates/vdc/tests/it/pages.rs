//! The pages over plain HTTP (no browser): access with and without demo mode and the key
//! cookie, escaping of hostile values, the CSP, 404s, cross-site posts, and the live status
//! endpoints following a real issuance and presentation.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use vdc_core::x509::TrustAnchors;
use vdc_holder::VerifierTrust;
use vdc_testkit::{Backend, TestServer};

vdc_testkit::both_backends!(
    demo_start_page_links_the_demo_pages_with_a_strict_csp,
    offer_from_the_page_shows_qr_link_tx_code_and_live_status,
    offer_with_login_from_the_page_carries_issuer_state,
    verifier_page_request_follows_the_presentation,
    hostile_values_stay_text,
    demo_mode_opens_only_the_demo_tenants,
    unknown_pages_are_404_pages,
    cross_site_posts_are_refused,
    scoped_keys_reach_only_their_tenants_and_scopes,
    result_pages_are_post_redirect_get,
    hints_name_the_cli_flags_and_the_anchor_downloads,
);

/// A client that does not follow redirects (to see 303s and cookies).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut r = client().get(server.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap())
}

async fn post_form(
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut r = client().post(server.url(path)).form(form);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

/// Posts a page form, which answers 303 See Other (post/redirect/get), and GETs its
/// `Location` with the cookies the 303 set; returns the Location and the GET's answer.
async fn post_follow(
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> (String, reqwest::Response) {
    let resp = post_form(server, path, form, cookie).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{path}");
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let mut cookies: Vec<String> = cookie.into_iter().map(str::to_owned).collect();
    for set in resp.headers().get_all(SET_COOKIE) {
        cookies.push(set.to_str().unwrap().split(';').next().unwrap().to_owned());
    }
    let mut r = client().get(server.url(&location));
    if !cookies.is_empty() {
        r = r.header("cookie", cookies.join("; "));
    }
    (location, r.send().await.unwrap())
}

/// Rows in a table of the server's database (SQLite or Postgres).
async fn count_rows(server: &TestServer, table: &str) -> i64 {
    use sqlx::Connection as _;
    let query = match table {
        "credential_offers" => "SELECT COUNT(*) FROM credential_offers",
        "presentation_requests" => "SELECT COUNT(*) FROM presentation_requests",
        other => panic!("count_rows: {other}"),
    };
    if server.database_url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&server.database_url)
            .await
            .unwrap();
        let n = sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    } else {
        let mut conn = sqlx::PgConnection::connect(&server.database_url)
            .await
            .unwrap();
        let n = sqlx::query_scalar(query)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    }
}

/// Logs in with the admin key through the key form; returns the `Cookie` header value.
async fn login(server: &TestServer) -> String {
    login_with(server, vdc_testkit::ADMIN_KEY).await
}

/// Logs in with `key` through the key form; returns the `Cookie` header value.
async fn login_with(server: &TestServer, key: &str) -> String {
    let resp = post_form(server, "/ui/login", &[("key", key)], None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/ui");
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    assert!(!set.contains("Secure"), "the public URL is http");
    assert!(!set.contains(key), "the cookie carries the key encoded");
    set.split(';').next().unwrap().to_owned()
}

/// Pulls `id="name" ... value="..."` or the text of `id="name"` out of a page.
fn element_text(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[at..];
    if let Some(v) = rest
        .find("value=\"")
        .filter(|v| *v < rest.find('>').unwrap())
    {
        let s = &rest[v + 7..];
        return s[..s.find('"').unwrap()].replace("&amp;", "&");
    }
    let s = &rest[rest.find('>').unwrap() + 1..];
    s[..s.find('<').unwrap()].to_owned()
}

fn attr(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {page}"));
    let s = &page[at + name.len() + 2..];
    s[..s.find('"').unwrap()].to_owned()
}

async fn demo_start_page_links_the_demo_pages_with_a_strict_csp(server: &TestServer) {
    let resp = client().get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let page = resp.text().await.unwrap();
    assert!(page.contains("href=\"/ui/issuers/demo\""), "{page}");
    assert!(page.contains("href=\"/ui/verifiers/demo\""), "{page}");
    assert!(page.contains("href=\"/docs\""));
    assert!(
        page.contains("action=\"/ui/login\""),
        "the key form is offered"
    );
    // No inline script: the only script is the served file.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<script src=\"/ui/assets/pages.js\" defer></script>"));
    let js = client()
        .get(server.url("/ui/assets/pages.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(js.text().await.unwrap().contains("data-poll"));

    let (status, page) = get(server, "/ui/issuers/demo", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-configuration=\"EmployeeBadge\""));
    assert!(page.contains("data-claim=\"employee_id\""));
}

async fn offer_from_the_page_shows_qr_link_tx_code_and_live_status(server: &TestServer) {
    let (_, resp) = post_follow(
        server,
        "/ui/issuers/demo/offers",
        &[
            ("configuration", "EmployeeBadge"),
            ("c0", "Ada"),
            ("c2", "E-7"),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key(CONTENT_SECURITY_POLICY));
    let page = resp.text().await.unwrap();
    assert!(page.contains("<svg"), "QR code inline");
    assert!(!page.contains("<?xml"));
    let link = element_text(&page, "offer-link");
    assert!(
        link.starts_with("openid-credential-offer://?credential_offer_uri="),
        "{link}"
    );
    let tx = element_text(&page, "tx-code");
    assert!(
        tx.len() == 6 && tx.chars().all(|c| c.is_ascii_digit()),
        "{tx}"
    );
    let poll = attr(&page, "data-poll");

    let status: Value = server
        .http
        .get(server.url(&poll))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "offered");
    assert_eq!(status["final"], false);

    let accepted = server
        .wallet()
        .accept_offer(&link, Some(&tx), 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);
    let status: Value = server
        .http
        .get(server.url(&poll))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "credential_issued");
    assert_eq!(status["label"], "credential issued");
    assert_eq!(status["final"], true);

    // The offer page's revoke form revokes what was issued, once.
    assert!(page.contains("id=\"revoke\""));
    let revoke = poll.replace("/status", "/revoke");
    let resp = post_form(server, &revoke, &[], None).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("id=\"revoked\""));
    let status: Value = server
        .http
        .get(server.url(&poll))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["credentials"][0]["status"], "revoked");
    let resp = post_form(server, &revoke, &[], None).await;
    assert_eq!(resp.status(), 409);

    // A missing mandatory claim is a 400 page with the issuer's reason.
    let resp = post_form(
        server,
        "/ui/issuers/demo/offers",
        &[("configuration", "EmployeeBadge"), ("c0", "Ada")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("mandatory claim"));
    // An over-long claim value is refused.
    let long = "x".repeat(1025);
    let resp = post_form(
        server,
        "/ui/issuers/demo/offers",
        &[
            ("configuration", "EmployeeBadge"),
            ("c0", &long),
            ("c2", "E-1"),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
}

async fn offer_with_login_from_the_page_carries_issuer_state(server: &TestServer) {
    // An issuer whose holders log in at an identity provider (never contacted here: the
    // offer only names the grant).
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({ "id": "sso", "signing_alg": "ES256",
              "credential_configurations": { "EmployeeBadge": {
                  "format": "dc+sd-jwt", "vct": "https://sso.example/vct/badge",
                  "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "mandatory": true}],
                  "cryptographic_binding_methods_supported": ["jwk"] } },
              "identity_provider": {
                  "issuer": "https://idp.sso.example", "client_id": "vdc",
                  "client_secret": "idp-secret-for-tests", "scopes": ["openid"],
                  "claim_mapping": [{"path": ["employee_id"], "from": "employee_number"}] } }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let cookie = login(server).await;
    let (status, page) = get(server, "/ui/issuers/sso", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("data-login-offer=\"EmployeeBadge\""),
        "{page}"
    );
    assert!(page.contains("name=\"grant\" value=\"authorization_code\""));
    assert!(page.contains("https://idp.sso.example"), "{page}");
    let (_, resp) = post_follow(
        server,
        "/ui/issuers/sso/offers",
        &[
            ("configuration", "EmployeeBadge"),
            ("grant", "authorization_code"),
        ],
        Some(&cookie),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("<svg"), "QR code inline");
    assert!(page.contains("id=\"login-hint\""), "{page}");
    assert!(page.contains("log in"), "{page}");
    assert!(!page.contains("id=\"tx-code\""), "no tx_code: {page}");
    let link = element_text(&page, "offer-link");
    let offer_uri = url::Url::parse(&link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "credential_offer_uri")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{link}"));
    let offer: Value = server
        .http
        .get(&offer_uri)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let grants = &offer["grants"];
    let state = grants["authorization_code"]["issuer_state"]
        .as_str()
        .unwrap_or_else(|| panic!("{offer}"));
    assert!(state.len() > 16, "{offer}");
    assert!(
        grants
            .get("urn:ietf:params:oauth:grant-type:pre-authorized_code")
            .is_none(),
        "{offer}"
    );
    let poll = attr(&page, "data-poll");
    let status: Value = server
        .http
        .get(server.url(&poll))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["state"], "offered", "{status}");
    // A grant the page does not know is refused.
    let resp = post_form(
        server,
        "/ui/issuers/sso/offers",
        &[("configuration", "EmployeeBadge"), ("grant", "password")],
        Some(&cookie),
    )
    .await;
    assert_eq!(resp.status(), 400);

    // The demo issuer has no identity provider: no such option, and a forged post is
    // refused with the reason.
    let (status, page) = get(server, "/ui/issuers/demo", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-configuration=\"EmployeeBadge\""));
    assert!(!page.contains("data-login-offer"), "{page}");
    assert!(!page.contains("authorization_code"), "{page}");
    let resp = post_form(
        server,
        "/ui/issuers/demo/offers",
        &[
            ("configuration", "EmployeeBadge"),
            ("grant", "authorization_code"),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text().await.unwrap().contains("no identity provider"),
        "the reason is shown"
    );
}

async fn verifier_page_request_follows_the_presentation(server: &TestServer) {
    let (status, page) = get(server, "/ui/verifiers/demo", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"trust-anchor\">-----BEGIN CERTIFICATE-----"));
    // The demo issuer's configurations, trusted by the demo verifier.
    assert!(page.contains("data-configuration=\"EmployeeBadge\""));
    assert!(page.contains("data-configuration=\"EmployeeBadgeW3C\""));

    let resp = post_form(
        server,
        "/ui/verifiers/demo/requests",
        &[("issuer", "demo"), ("configuration", "EmployeeBadge")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400, "no claim picked");
    let resp = post_form(
        server,
        "/ui/verifiers/demo/requests",
        &[
            ("issuer", "demo"),
            ("configuration", "EmployeeBadge"),
            ("claim", "99"),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), 400, "unknown claim index");

    let (_, resp) = post_follow(
        server,
        "/ui/verifiers/demo/requests",
        &[
            ("issuer", "demo"),
            ("configuration", "EmployeeBadge"),
            ("claim", "0"),
            ("claim", "2"),
        ],
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("<svg"));
    let link = element_text(&page, "request-link");
    assert!(link.starts_with("openid4vp://?client_id="), "{link}");
    let poll = attr(&page, "data-poll");
    let view: Value = server
        .http
        .get(server.url(&poll))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["state"], "pending");
    assert_eq!(view["checks"], json!([]));

    // A wallet holding a badge answers; the status endpoint shows claims and checks.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                    "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "L", "employee_id": "E-1"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (_, verifier) = server.admin_get("/api/v1/verifiers/demo").await;
    let trust = VerifierTrust {
        x509_anchors: Some(
            TrustAnchors::from_pem(verifier["trust_anchor"].as_str().unwrap()).unwrap(),
        ),
        accept_unanchored_x509: false,
    };
    wallet.present(&link, &trust).await.unwrap();
    let view: Value = server
        .http
        .get(server.url(&poll))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["state"], "verified", "{view}");
    assert_eq!(view["final"], true);
    let claims = &view["presentation"]["credential"][0]["claims"];
    assert_eq!(claims, &json!({"given_name": "Ada", "employee_id": "E-1"}));
    assert_eq!(view["checks"].as_array().unwrap().len(), 8);
}

async fn hostile_values_stay_text(server: &TestServer) {
    let evil = "<script>alert(1)</script>";
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({
                "id": "evil",
                "display": [{"name": evil}],
                "credential_configurations": {"Badge": {
                    "format": "dc+sd-jwt",
                    "vct": "https://evil.example/\"><img src=x onerror=alert(1)>",
                    "display": [{"name": "<img src=x onerror=alert(2)>"}],
                    "claims": [{"path": ["\"><svg onload=alert(3)>"]}]
                }}
            }),
        )
        .await;
    assert_eq!(status, 201);
    let cookie = login(server).await;
    let (status, page) = get(server, "/ui/issuers/evil", Some(&cookie)).await;
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains(evil), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img"), "{page}");
    assert!(!page.contains("<svg onload"), "{page}");
    assert!(
        page.contains("&quot;&gt;&lt;svg onload=alert(3)&gt;"),
        "{page}"
    );

    // Echoed input on error pages is text too.
    let resp = post_form(
        server,
        "/ui/issuers/evil/offers",
        &[("configuration", "<script>alert(4)</script>")],
        Some(&cookie),
    )
    .await;
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.unwrap();
    assert!(!page.contains("<script>alert(4)"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(4)"), "{page}");
}

async fn demo_mode_opens_only_the_demo_tenants(server: &TestServer) {
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "acme", "credential_configurations": {"Badge": {
                "format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                "claims": [{"path": ["name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, page) = get(server, "/ui/issuers/acme", None).await;
    assert_eq!(status, 401);
    assert!(page.contains("action=\"/ui/login\""));
    let resp = post_form(
        server,
        "/ui/issuers/acme/offers",
        &[("configuration", "Badge"), ("c0", "x")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 401);
    // An acme offer is neither reachable through acme's pages without a key nor through
    // the demo issuer's pages (G6).
    let acme_offer = server
        .offer(
            "acme",
            &json!({"credential_configuration_ids": ["Badge"], "claims": {"Badge": {"name": "x"}}}),
        )
        .await;
    let acme_id = acme_offer["id"].as_str().unwrap();
    let (status, _) = get(
        server,
        &format!("/ui/issuers/acme/offers/{acme_id}/status"),
        None,
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = get(
        server,
        &format!("/ui/issuers/demo/offers/{acme_id}/status"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let resp = post_form(
        server,
        &format!("/ui/issuers/demo/offers/{acme_id}/revoke"),
        &[],
        None,
    )
    .await;
    assert_eq!(resp.status(), 404);
    // Form bytes that are not UTF-8 are refused.
    let resp = client()
        .post(server.url("/ui/issuers/demo/offers"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("configuration=EmployeeBadge&c0=%FF%FE&c2=E-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let cookie = login(server).await;
    let (status, page) = get(server, "/ui/issuers/acme", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(page.contains("data-configuration=\"Badge\""));
    // With the key, the start page lists every issuer.
    let (_, page) = get(server, "/ui", Some(&cookie)).await;
    assert!(page.contains("href=\"/ui/issuers/acme\""), "{page}");
    assert!(page.contains("href=\"/ui/verifiers/demo\""), "{page}");
    assert!(page.contains("action=\"/ui/logout\""));
}

async fn unknown_pages_are_404_pages(server: &TestServer) {
    let cookie = login(server).await;
    for path in ["/ui/issuers/nope", "/ui/verifiers/nope", "/ui/nothing-here"] {
        let resp = client()
            .get(server.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(resp.headers().contains_key(CONTENT_SECURITY_POLICY));
        assert!(resp.text().await.unwrap().contains("<h1>Not Found</h1>"));
    }
    let (status, _) = get(server, "/ui/issuers/demo/offers/nope/status", None).await;
    assert_eq!(status, 404);
}

async fn cross_site_posts_are_refused(server: &TestServer) {
    let resp = client()
        .post(server.url("/ui/issuers/demo/offers"))
        .header("origin", "https://attacker.example")
        .form(&[("configuration", "EmployeeBadge"), ("c2", "E-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = client()
        .post(server.url("/ui/login"))
        .header("origin", "https://attacker.example")
        .form(&[("key", vdc_testkit::ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(!resp.headers().contains_key(SET_COOKIE));
}

/// Outside demo mode every page but the start page needs the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_demo_mode_pages_need_the_key() {
    let server = TestServer::start_with(Backend::Sqlite, |c| c.demo = false).await;
    let (status, page) = get(&server, "/", None).await;
    assert_eq!(status, 200);
    assert!(page.contains("action=\"/ui/login\""));
    assert!(!page.contains("/ui/issuers/"), "{page}");
    let (status, page) = get(&server, "/ui", None).await;
    assert_eq!(status, 200);
    assert!(!page.contains("/ui/issuers/"), "{page}");

    for path in [
        "/ui/issuers/demo",
        "/ui/verifiers/demo",
        "/ui/issuers/anything",
    ] {
        let (status, page) = get(&server, path, None).await;
        assert_eq!(status, 401, "{path}");
        assert!(page.contains("action=\"/ui/login\""), "{path}");
    }
    let (status, _) = get(&server, "/ui/issuers/demo/offers/x/status", None).await;
    assert_eq!(status, 401);
    let resp = post_form(
        &server,
        "/ui/verifiers/demo/requests",
        &[("claim", "0")],
        None,
    )
    .await;
    assert_eq!(resp.status(), 401);
    let resp = post_form(&server, "/ui/issuers/demo/offers/x/revoke", &[], None).await;
    assert_eq!(resp.status(), 401);

    // A wrong key, and a wrong cookie, are refused.
    let resp = post_form(&server, "/ui/login", &[("key", "not-the-admin-key")], None).await;
    assert_eq!(resp.status(), 401);
    assert!(!resp.headers().contains_key(SET_COOKIE));
    let forged = format!(
        "vdc_ui_key={}",
        vdc_core::base64url::encode("not-the-admin-key")
    );
    let (status, _) = get(&server, "/ui/issuers/demo", Some(&forged)).await;
    assert_eq!(status, 401);
    // The admin key as a cookie is accepted (no issuer exists outside demo mode: 404).
    let cookie = login(&server).await;
    let (status, _) = get(&server, "/ui/issuers/demo", Some(&cookie)).await;
    assert_eq!(status, 404);
    server.stop().await;
}

/// A scoped API key in the cookie reaches only its issuers' pages, and only for its scopes
/// (contract "API keys and tenants"; G6); a revoked key reaches nothing.
async fn scoped_keys_reach_only_their_tenants_and_scopes(server: &TestServer) {
    for id in ["acme", "other"] {
        let (status, _) = server
            .admin_post(
                "/api/v1/issuers",
                &json!({"id": id, "credential_configurations": {"Badge": {
                    "format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                    "claims": [{"path": ["name"]}]}}}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let key = |scopes: Value| async move {
        let (status, created) = server
            .admin_post(
                "/api/v1/api-keys",
                &json!({"name": "pages-test", "issuers": ["acme"], "verifiers": [], "scopes": scopes}),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        (
            created["id"].as_str().unwrap().to_owned(),
            created["key"].as_str().unwrap().to_owned(),
        )
    };
    let (_, reader) = key(json!(["read"])).await;
    let cookie = login_with(server, &reader).await;
    let (status, _) = get(server, "/ui/issuers/acme", Some(&cookie)).await;
    assert_eq!(status, 200);
    let (status, _) = get(server, "/ui/issuers/other", Some(&cookie)).await;
    assert_eq!(status, 401, "another tenant's page");
    let resp = post_form(
        server,
        "/ui/issuers/acme/offers",
        &[("configuration", "Badge"), ("c0", "x")],
        Some(&cookie),
    )
    .await;
    assert_eq!(resp.status(), 401, "offers:write is missing");
    let (_, page) = get(server, "/ui", Some(&cookie)).await;
    assert!(page.contains("href=\"/ui/issuers/acme\""), "{page}");
    assert!(!page.contains("href=\"/ui/issuers/other\""), "{page}");
    // Its key names no verifier: none is listed, not even the demo one.
    assert!(!page.contains("href=\"/ui/verifiers/"), "{page}");

    let (writer_id, writer) = key(json!(["read", "offers:write"])).await;
    let cookie = login_with(server, &writer).await;
    let (location, resp) = post_follow(
        server,
        "/ui/issuers/acme/offers",
        &[("configuration", "Badge"), ("c0", "x")],
        Some(&cookie),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("openid-credential-offer://")
    );
    // The result page shows the offer link (what redeems the offer): `read` is not enough.
    let reader_cookie = login_with(server, &reader).await;
    let (status, _) = get(server, &location, Some(&reader_cookie)).await;
    assert_eq!(status, 401, "a read-only key on {location}");

    let resp = server
        .admin(
            reqwest::Method::DELETE,
            &format!("/api/v1/api-keys/{writer_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _) = get(server, "/ui/issuers/acme", Some(&cookie)).await;
    assert_eq!(status, 401, "a revoked key");
}

/// The offer and request forms answer 303 to a page of their own (post/redirect/get):
/// reloading it shows the same offer and creates nothing; the tx_code is shown only to the
/// browser that created the offer (a sealed cookie for that page, never in the URL); an
/// unknown or another tenant's id is a 404 page.
async fn result_pages_are_post_redirect_get(server: &TestServer) {
    let offers_before = count_rows(server, "credential_offers").await;
    let resp = post_form(
        server,
        "/ui/issuers/demo/offers",
        &[("configuration", "EmployeeBadge"), ("c2", "E-9")],
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    let id = location
        .strip_prefix("/ui/issuers/demo/offers/")
        .unwrap_or_else(|| panic!("{location}"))
        .to_owned();
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        &format!("Path={location}"),
        "Max-Age=",
    ] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }
    let tx_cookie = set.split(';').next().unwrap().to_owned();
    assert!(
        !location.contains('?'),
        "nothing secret in the URL: {location}"
    );
    assert_eq!(
        count_rows(server, "credential_offers").await,
        offers_before + 1
    );

    let (status, first) = get(server, &location, Some(&tx_cookie)).await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = get(server, &location, Some(&tx_cookie)).await;
    assert_eq!(status, 200);
    let link = element_text(&first, "offer-link");
    assert_eq!(element_text(&again, "offer-link"), link, "the same offer");
    let tx = element_text(&first, "tx-code");
    assert_eq!(element_text(&again, "tx-code"), tx);
    assert_eq!(
        count_rows(server, "credential_offers").await,
        offers_before + 1,
        "reloading created no offer"
    );
    assert_eq!(attr(&first, "data-poll"), format!("{location}/status"));

    // Without the cookie (another browser, a bookmark elsewhere) the page shows the offer
    // but not the code; a forged or another offer's cookie shows nothing either.
    let (status, page) = get(server, &location, None).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"tx-code\""), "{page}");
    assert!(page.contains("id=\"tx-code-unavailable\""), "{page}");
    assert!(!page.contains(&tx), "{page}");
    let (status, page) = get(
        server,
        &location,
        Some("vdc_tx_code=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"tx-code\""), "{page}");
    let other = post_form(
        server,
        "/ui/issuers/demo/offers",
        &[("configuration", "EmployeeBadge"), ("c2", "E-10")],
        None,
    )
    .await;
    let other_cookie = other.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, page) = get(server, &location, Some(&other_cookie)).await;
    assert!(
        !page.contains("id=\"tx-code\""),
        "another offer's code: {page}"
    );

    // The code the page showed redeems the offer.
    let accepted = server
        .wallet()
        .accept_offer(&link, Some(&tx), 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);

    // Unknown ids and another tenant's offers are 404 pages.
    let (status, page) = get(server, "/ui/issuers/demo/offers/nope", None).await;
    assert_eq!(status, 404);
    assert!(page.contains("<h1>Not Found</h1>"), "{page}");
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "acme", "credential_configurations": {"Badge": {
                "format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                "claims": [{"path": ["name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201);
    let acme = server
        .offer(
            "acme",
            &json!({"credential_configuration_ids": ["Badge"], "claims": {"Badge": {"name": "x"}}}),
        )
        .await;
    let acme_id = acme["id"].as_str().unwrap();
    let (status, _) = get(server, &format!("/ui/issuers/demo/offers/{acme_id}"), None).await;
    assert_eq!(status, 404, "another issuer's offer");
    let (status, _) = get(server, &format!("/ui/issuers/acme/offers/{acme_id}"), None).await;
    assert_eq!(status, 401, "a non-demo tenant needs the key");
    let cookie = login(server).await;
    let (status, page) = get(
        server,
        &format!("/ui/issuers/acme/offers/{acme_id}"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"tx-code-unavailable\"") || !page.contains("tx-code"));
    assert_ne!(id, acme_id);

    // Presentation requests: the same.
    let requests_before = count_rows(server, "presentation_requests").await;
    let form = [
        ("issuer", "demo"),
        ("configuration", "EmployeeBadge"),
        ("claim", "2"),
    ];
    let resp = post_form(server, "/ui/verifiers/demo/requests", &form, None).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let location = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/ui/verifiers/demo/requests/"),
        "{location}"
    );
    let (status, first) = get(server, &location, None).await;
    assert_eq!(status, 200, "{first}");
    let (_, again) = get(server, &location, None).await;
    let link = element_text(&first, "request-link");
    assert_eq!(element_text(&again, "request-link"), link);
    assert_eq!(
        count_rows(server, "presentation_requests").await,
        requests_before + 1,
        "reloading created no request"
    );
    // The link of the GET page is the request's: a wallet answers it.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                    "claims": {"EmployeeBadge": {"employee_id": "E-2"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (_, verifier) = server.admin_get("/api/v1/verifiers/demo").await;
    let trust = VerifierTrust {
        x509_anchors: Some(
            TrustAnchors::from_pem(verifier["trust_anchor"].as_str().unwrap()).unwrap(),
        ),
        accept_unanchored_x509: false,
    };
    wallet.present(&link, &trust).await.unwrap();
    let (status, view) = server
        .admin_get(&format!(
            "/api/v1/verifiers/demo/requests/{}",
            location.rsplit('/').next().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(view["status"], "verified", "{view}");
    let (status, _) = get(server, "/ui/verifiers/demo/requests/nope", None).await;
    assert_eq!(status, 404);
}

/// The CLI hints carry the flags a plain-http deployment needs; the request page names the
/// verifier's trust anchor, which downloads (unauthenticated: a CA certificate) as a file.
async fn hints_name_the_cli_flags_and_the_anchor_downloads(server: &TestServer) {
    let (_, resp) = post_follow(
        server,
        "/ui/issuers/demo/offers",
        &[("configuration", "EmployeeBadge"), ("c2", "E-3")],
        None,
    )
    .await;
    let page = resp.text().await.unwrap();
    let at = page.find("id=\"cli-hint\"").unwrap();
    let hint_html = &page[at..at + page[at..].find("</p>").unwrap()];
    assert!(
        hint_html.contains("vdc wallet accept 'openid-credential-offer://"),
        "{hint_html}"
    );
    assert!(hint_html.contains("--tx-code"), "{hint_html}");
    assert!(
        hint_html.contains("--insecure-http"),
        "the public URL is http: {hint_html}"
    );

    let (_, resp) = post_follow(
        server,
        "/ui/verifiers/demo/requests",
        &[
            ("issuer", "demo"),
            ("configuration", "EmployeeBadge"),
            ("claim", "2"),
        ],
        None,
    )
    .await;
    let page = resp.text().await.unwrap();
    let at = page
        .find("id=\"cli-hint\"")
        .unwrap_or_else(|| panic!("{page}"));
    let hint_html = &page[at..at + page[at..].find("</p>").unwrap()];
    assert!(hint_html.contains("vdc wallet present"), "{hint_html}");
    assert!(
        hint_html.contains("--trust-anchor vdc-verifier-demo-ca.pem"),
        "{hint_html}"
    );
    assert!(hint_html.contains("--insecure-http"), "{hint_html}");
    let download = attr(hint_html, "href");
    assert_eq!(download, "/verifiers/demo/trust-anchor.pem");

    // No key, no cookie: the anchor is public material.
    let resp = client().get(server.url(&download)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-pem-file");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"vdc-verifier-demo-ca.pem\""
    );
    let pem = resp.text().await.unwrap();
    let (_, verifier) = server.admin_get("/api/v1/verifiers/demo").await;
    assert_eq!(pem, verifier["trust_anchor"].as_str().unwrap());
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"));
    let resp = client()
        .get(server.url("/verifiers/nope/trust-anchor.pem"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    // A verifier whose requests are not x509-signed has no anchor to download.
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "did-verifier", "client_id_prefix": "decentralized_identifier",
                    "trusted_issuers": []}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let resp = client()
        .get(server.url("/verifiers/did-verifier/trust-anchor.pem"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");

    // The test server's public URL is 127.0.0.1: the pages warn that a phone cannot reach it.
    assert!(page.contains("id=\"loopback-warning\""), "{page}");
}
