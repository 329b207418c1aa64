//! Creating, editing, disabling and enabling issuers and verifiers through the pages' forms
//! over plain HTTP: what a form does shows in the management API and in what wallets read;
//! refused input is a 400 page with the service's reason and changes nothing; only the
//! admin key's session sees and may post the forms.

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use vdc_testkit::TestServer;

vdc_testkit::both_backends!(
    issuer_forms_create_edit_disable_and_enable,
    verifier_forms_create_edit_disable_and_enable,
    scoped_keys_neither_see_nor_post_the_tenant_forms,
);

/// A client that does not follow redirects (to see the 303s).
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

/// Posts a form; returns the status, the `Location` (if any) and the body.
async fn post(
    server: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut r = client().post(server.url(path)).form(form);
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let location = resp
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, resp.text().await.unwrap())
}

/// Logs in with `key` through the key form; returns the `Cookie` header value.
async fn login_with(server: &TestServer, key: &str) -> String {
    let resp = client()
        .post(server.url("/ui/login"))
        .form(&[("key", key)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let set = resp.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// The text of the first `<textarea name="{name}">` of a page, unescaped.
fn textarea(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("<textarea name=\"{name}\""))
        .unwrap_or_else(|| panic!("no textarea {name} in {page}"));
    let rest = &page[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find("</textarea>").unwrap();
    rest[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The reason a refused form's page shows (`#error`), not the form's echo of the input.
fn error_text(page: &str) -> &str {
    let at = page
        .find("id=\"error\">")
        .unwrap_or_else(|| panic!("no #error in {page}"));
    let rest = &page[at + 11..];
    &rest[..rest.find("</p>").unwrap()]
}

async fn metadata(server: &TestServer, issuer: &str) -> (StatusCode, String) {
    get(
        server,
        &format!("/.well-known/openid-credential-issuer/issuers/{issuer}"),
        None,
    )
    .await
}

async fn issuer_forms_create_edit_disable_and_enable(server: &TestServer) {
    let admin = login_with(server, vdc_testkit::ADMIN_KEY).await;
    let (status, start) = get(server, "/ui", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(start.contains("id=\"new-issuer\""), "{start}");
    let example = textarea(&start, "credential_configurations");
    assert!(example.contains("dc+sd-jwt"), "{example}");

    // Refused: not JSON, then JSON the service refuses. A 400 page with the reason and the
    // form again with what was typed; nothing is created.
    let (status, _, page) = post(
        server,
        "/ui/issuers",
        &[
            ("id", "formco"),
            ("display_name", "Form Co"),
            ("credential_configurations", "{\"Badge\": "),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        error_text(&page).contains("credential_configurations is not valid JSON"),
        "{page}"
    );
    assert!(page.contains("value=\"formco\""), "the form again: {page}");
    let (status, _, page) = post(
        server,
        "/ui/issuers",
        &[
            ("id", "formco"),
            (
                "credential_configurations",
                r#"{"Badge": {"format": "dc+sd-jwt", "colour": 1}}"#,
            ),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(
        error_text(&page).contains("colour"),
        "the service's reason: {page}"
    );
    let (status, _) = server.admin_get("/api/v1/issuers/formco").await;
    assert_eq!(status, 404, "nothing created");

    // The prefilled example, submitted as is, makes a working issuer.
    let (status, location, page) = post(
        server,
        "/ui/issuers",
        &[
            ("id", "formco"),
            ("display_name", "Form Co"),
            ("credential_configurations", &example),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location.as_deref(), Some("/ui/issuers/formco"));
    let (status, created) = server.admin_get("/api/v1/issuers/formco").await;
    assert_eq!(status, 200);
    assert_eq!(created["display"][0]["name"], "Form Co");
    assert!(created["credential_configurations"]["EmployeeBadge"].is_object());
    let (status, meta) = metadata(server, "formco").await;
    assert_eq!(status, 200);
    assert!(meta.contains("Form Co"), "{meta}");
    let (status, _, page) = post(
        server,
        "/ui/issuers",
        &[("id", "formco"), ("credential_configurations", &example)],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 409, "a second formco: {page}");

    // Edit: the display name, the configurations as shown on the page.
    let (status, page) = get(server, "/ui/issuers/formco", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"manage\""), "{page}");
    assert!(page.contains("data-disabled=\"false\""), "{page}");
    let shown = textarea(&page, "credential_configurations");
    let (status, location, page) = post(
        server,
        "/ui/issuers/formco/edit",
        &[
            ("display_name", "Form Inc"),
            ("credential_configurations", &shown),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location.as_deref(), Some("/ui/issuers/formco"));
    let (_, meta) = metadata(server, "formco").await;
    assert!(
        meta.contains("Form Inc") && !meta.contains("Form Co"),
        "{meta}"
    );
    let (status, _, page) = post(
        server,
        "/ui/issuers/formco/edit",
        &[
            ("display_name", "Broken"),
            ("credential_configurations", "[1, 2]"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    let (_, meta) = metadata(server, "formco").await;
    assert!(
        !meta.contains("Broken"),
        "a refused edit changes nothing: {meta}"
    );

    // Disable: wallets get 404; enable: 200 again.
    let (status, location, _) = post(
        server,
        "/ui/issuers/formco/disabled",
        &[("disabled", "true")],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(location.as_deref(), Some("/ui/issuers/formco"));
    assert_eq!(metadata(server, "formco").await.0, 404);
    let (_, page) = get(server, "/ui/issuers/formco", Some(&admin)).await;
    assert!(page.contains("disabled: wallets get 404"), "{page}");
    assert!(page.contains("data-disabled=\"true\""), "{page}");
    assert!(page.contains(">Enable</button>"), "{page}");
    let (status, _, _) = post(
        server,
        "/ui/issuers/formco/disabled",
        &[("disabled", "false")],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(metadata(server, "formco").await.0, 200);
    let (status, _, _) = post(
        server,
        "/ui/issuers/formco/disabled",
        &[("disabled", "maybe")],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 400);
}

async fn verifier_forms_create_edit_disable_and_enable(server: &TestServer) {
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "acme", "credential_configurations": {"Badge": {
                "format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                "claims": [{"path": ["name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201);
    let acme = server.issuer_url("acme");
    let admin = login_with(server, vdc_testkit::ADMIN_KEY).await;
    let (_, start) = get(server, "/ui", Some(&admin)).await;
    assert!(start.contains("id=\"new-verifier\""), "{start}");
    assert!(
        start.contains(&format!("name=\"trusted_issuer\" value=\"{acme}\"")),
        "the local issuers are offered: {start}"
    );

    let (status, _, page) = post(
        server,
        "/ui/verifiers",
        &[
            ("id", "formgate"),
            ("client_id_prefix", "bogus"),
            ("trusted_issuer", &acme),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 400, "{page}");
    assert!(error_text(&page).contains("bogus"), "the reason: {page}");
    assert_eq!(server.admin_get("/api/v1/verifiers/formgate").await.0, 404);

    let (status, location, page) = post(
        server,
        "/ui/verifiers",
        &[
            ("id", "formgate"),
            ("display_name", "Gate"),
            ("client_id_prefix", "x509_san_dns"),
            ("trusted_issuer", &acme),
            ("trusted_issuers", "https://other.example/issuer\r\n\r\n"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    assert_eq!(location.as_deref(), Some("/ui/verifiers/formgate"));
    let (status, created) = server.admin_get("/api/v1/verifiers/formgate").await;
    assert_eq!(status, 200);
    assert_eq!(created["display"]["name"], "Gate");
    assert_eq!(created["client_id_prefix"], "x509_san_dns");
    assert_eq!(
        created["trusted_issuers"],
        json!([acme, "https://other.example/issuer"])
    );
    let anchor = "/verifiers/formgate/trust-anchor.pem";
    assert_eq!(get(server, anchor, None).await.0, 200);

    let (status, page) = get(server, "/ui/verifiers/formgate", Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"manage\""), "{page}");
    let (status, _, page) = post(
        server,
        "/ui/verifiers/formgate/edit",
        &[("display_name", "Gate 2"), ("trusted_issuer", &acme)],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303, "{page}");
    let (_, edited) = server.admin_get("/api/v1/verifiers/formgate").await;
    assert_eq!(edited["display"]["name"], "Gate 2");
    assert_eq!(edited["trusted_issuers"], json!([acme]));
    assert_eq!(edited["client_id"], created["client_id"]);

    let (status, _, _) = post(
        server,
        "/ui/verifiers/formgate/disabled",
        &[("disabled", "true")],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(get(server, anchor, None).await.0, 404);
    let (_, page) = get(server, "/ui/verifiers/formgate", Some(&admin)).await;
    assert!(page.contains("disabled: wallets get 404"), "{page}");
    let (status, _, _) = post(
        server,
        "/ui/verifiers/formgate/disabled",
        &[("disabled", "false")],
        Some(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(get(server, anchor, None).await.0, 200);
}

async fn scoped_keys_neither_see_nor_post_the_tenant_forms(server: &TestServer) {
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "acme", "credential_configurations": {"Badge": {
                "format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                "claims": [{"path": ["name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "gate", "client_id_prefix": "x509_san_dns"}),
        )
        .await;
    assert_eq!(status, 201);
    // Every scope on its tenants: still not the admin key.
    let (status, created) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "pages-tenants", "issuers": ["acme"], "verifiers": ["gate"],
                    "scopes": ["read", "offers:write", "credentials:status", "presentations:write"]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let scoped = login_with(server, created["key"].as_str().unwrap()).await;

    let (_, start) = get(server, "/ui", Some(&scoped)).await;
    assert!(start.contains("href=\"/ui/issuers/acme\""), "{start}");
    assert!(
        !start.contains("new-issuer") && !start.contains("new-verifier"),
        "{start}"
    );
    let (status, page) = get(server, "/ui/issuers/acme", Some(&scoped)).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"manage\""), "{page}");
    let (status, page) = get(server, "/ui/verifiers/gate", Some(&scoped)).await;
    assert_eq!(status, 200);
    assert!(!page.contains("id=\"manage\""), "{page}");

    let configurations = r#"{"Badge": {"format": "dc+sd-jwt", "vct": "https://x.example/b"}}"#;
    let posts: [(&str, Vec<(&str, &str)>); 6] = [
        (
            "/ui/issuers",
            vec![
                ("id", "sneaky"),
                ("credential_configurations", configurations),
            ],
        ),
        (
            "/ui/issuers/acme/edit",
            vec![
                ("display_name", "Sneaky"),
                ("credential_configurations", configurations),
            ],
        ),
        ("/ui/issuers/acme/disabled", vec![("disabled", "true")]),
        (
            "/ui/verifiers",
            vec![("id", "sneaky"), ("client_id_prefix", "x509_san_dns")],
        ),
        ("/ui/verifiers/gate/edit", vec![("display_name", "Sneaky")]),
        ("/ui/verifiers/gate/disabled", vec![("disabled", "true")]),
    ];
    for (path, form) in &posts {
        let (status, _, page) = post(server, path, form, Some(&scoped)).await;
        assert_eq!(status, 403, "{path}: {page}");
        assert!(page.contains("needs the admin key"), "{page}");
        let (status, _, _) = post(server, path, form, None).await;
        assert_eq!(status, 401, "{path} without a key");
    }
    let (_, acme) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(
        (acme["disabled"].clone(), acme.get("display")),
        (json!(false), None)
    );
    let (_, gate) = server.admin_get("/api/v1/verifiers/gate").await;
    assert_eq!(
        (gate["disabled"].clone(), gate["display"].clone()),
        (json!(false), Value::Null)
    );
    assert_eq!(server.admin_get("/api/v1/issuers/sneaky").await.0, 404);
    assert_eq!(server.admin_get("/api/v1/verifiers/sneaky").await.0, 404);
}
