//! `vdc serve --demo` across restarts and public URLs: the demo verifier follows the public
//! URL (trusted issuer, client_id, certificate), an IP-address public URL falls back to
//! `x509_hash`, the pages warn when their QR codes point at loopback, and `vdc doctor`
//! flags verifiers whose trusted issuers do not resolve.

use serde_json::{Value, json};
use vdc_core::x509::{TrustAnchors, leaf_has_dns_san, pem_to_der_certs};
use vdc_holder::VerifierTrust;
use vdc_testkit::{Backend, TestServer};

/// The demo verifier as the management API shows it.
async fn demo_verifier(server: &TestServer) -> Value {
    let (status, v) = server.admin_get("/api/v1/verifiers/demo").await;
    assert_eq!(status, 200, "{v}");
    v
}

/// Issues a demo badge (through the management API and the wallet) and presents it to the
/// demo verifier; returns the request's result status.
async fn present_to_demo_verifier(server: &TestServer) -> Value {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                    "claims": {"EmployeeBadge": {"employee_id": "E-1"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (status, request) = server
        .admin_post(
            "/api/v1/verifiers/demo/requests",
            &json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
                "claims": [{"path": ["employee_id"]}]}]}}),
        )
        .await;
    assert_eq!(status, 201, "{request}");
    let verifier = demo_verifier(server).await;
    let trust = VerifierTrust {
        x509_anchors: Some(
            TrustAnchors::from_pem(verifier["trust_anchor"].as_str().unwrap()).unwrap(),
        ),
        accept_unanchored_x509: false,
    };
    // A rejected presentation is an error here too; the result says why.
    let _ = wallet
        .present(request["authorization_request"].as_str().unwrap(), &trust)
        .await;
    let (_, result) = server
        .admin_get(&format!(
            "/api/v1/verifiers/demo/requests/{}",
            request["id"].as_str().unwrap()
        ))
        .await;
    result
}

fn leaf_names(verifier: &Value, host: &str) -> bool {
    let der = pem_to_der_certs(verifier["certificate"].as_str().unwrap()).unwrap();
    leaf_has_dns_san(&der[0], host).unwrap()
}

async fn restart_on_another_public_url_realigns_the_demo_verifier(backend: Backend) {
    let mut server = TestServer::start(backend).await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let before = demo_verifier(&server).await;
    assert_eq!(
        before["trusted_issuers"],
        json!([server.issuer_url("demo")])
    );

    // The same server reached as `localhost`: the issuer URL changes (the client_id host
    // stays `localhost`, which loopback already maps to). Before the fix the verifier kept
    // trusting the 127.0.0.1 issuer URL and rejected every presentation.
    let localhost = format!("http://localhost:{port}");
    server
        .restart_with(|c| c.public_url = Some(localhost.clone()))
        .await;
    let v = demo_verifier(&server).await;
    assert_eq!(
        v["trusted_issuers"],
        json!([format!("{localhost}/issuers/demo")])
    );
    let result = present_to_demo_verifier(&server).await;
    assert_eq!(result["status"], "verified", "{result}");

    // Another DNS name: the client_id and the certificate's SAN follow it, with a new anchor.
    let named = format!("http://vdc.example.test:{port}");
    server
        .restart_with(|c| c.public_url = Some(named.clone()))
        .await;
    let v = demo_verifier(&server).await;
    assert_eq!(
        v["trusted_issuers"],
        json!([format!("{named}/issuers/demo")])
    );
    assert_eq!(v["client_id"], "x509_san_dns:vdc.example.test");
    assert!(leaf_names(&v, "vdc.example.test"), "{v}");
    assert!(!leaf_names(&v, "localhost"), "{v}");
    assert_ne!(v["trust_anchor"], before["trust_anchor"]);

    // An ordinary restart rewrites nothing: wallets keep the anchor they downloaded.
    server.restart().await;
    let again = demo_verifier(&server).await;
    assert_eq!(again["trust_anchor"], v["trust_anchor"]);
    assert_eq!(again["certificate"], v["certificate"]);

    // Back on localhost, presentations verify again.
    server
        .restart_with(|c| c.public_url = Some(localhost.clone()))
        .await;
    let v = demo_verifier(&server).await;
    assert_eq!(v["client_id"], "x509_san_dns:localhost");
    let result = present_to_demo_verifier(&server).await;
    assert_eq!(result["status"], "verified", "{result}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_on_another_public_url_realigns_the_demo_verifier() {
    restart_on_another_public_url_realigns_the_demo_verifier(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_on_another_public_url_realigns_the_demo_verifier() {
    restart_on_another_public_url_realigns_the_demo_verifier(Backend::Postgres).await;
}

/// A public URL with an IP address (a phone on the LAN) starts: the demo verifier uses
/// `x509_hash`, which needs no DNS name; the pages do not warn about loopback. A loopback
/// public URL's pages do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_public_url_starts_with_an_x509_hash_demo_verifier() {
    let server = TestServer::start_with(Backend::Sqlite, |c| {
        c.public_url = Some("http://192.168.1.10:8080".into());
    })
    .await;
    let v = demo_verifier(&server).await;
    assert_eq!(v["client_id_prefix"], "x509_hash", "{v}");
    assert!(
        v["client_id"].as_str().unwrap().starts_with("x509_hash:"),
        "{v}"
    );
    assert!(v["trust_anchor"].is_string(), "{v}");
    let page = offer_page(&server).await;
    assert!(page.contains("192.168.1.10"), "the QR code's URL");
    assert!(!page.contains("id=\"loopback-warning\""));

    // Restarted on a loopback URL, it is x509_san_dns again, and the pages warn.
    let mut server = server;
    let base = server.base.clone();
    server.restart_with(|c| c.public_url = Some(base)).await;
    let v = demo_verifier(&server).await;
    assert_eq!(v["client_id_prefix"], "x509_san_dns", "{v}");
    let page = offer_page(&server).await;
    assert!(page.contains("id=\"loopback-warning\""));
    assert!(page.contains("Phone wallets"));
    server.stop().await;
}

/// The demo offer page (post/redirect/get, followed).
async fn offer_page(server: &TestServer) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client
        .post(server.url("/ui/issuers/demo/offers"))
        .form(&[("configuration", "EmployeeBadge"), ("c2", "E-1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let resp = client.get(server.url(&location)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// `vdc doctor` fails a verifier trusting an issuer of this deployment that does not exist,
/// or a URL that does not parse, and warns on one that names a local issuer on another base
/// (a changed public URL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_that_trusted_issuers_resolve() {
    let server = TestServer::start(Backend::Sqlite).await;
    let config = vdc::config::Config {
        public_url: Some(server.base.clone()),
        database_url: Some(vdc::config::Secret(server.database_url.clone())),
        admin_key: Some(vdc::config::Secret(vdc_testkit::ADMIN_KEY.into())),
        kek: Some(vdc::config::Secret(vdc_core::base64url::encode([9u8; 32]))),
        ..vdc::config::Config::default()
    };
    let report = vdc::doctor::run(&config, &[]).await;
    let text = report.to_string();
    assert!(
        text.contains("[ok  ] trusted_issuers:"),
        "the demo verifier trusts the demo issuer: {text}"
    );

    let ghost = server.issuer_url("nope");
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "ghost", "client_id_prefix": "x509_san_dns",
                    "trusted_issuers": [ghost, "http://127.0.0.1:1/issuers/demo"]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let report = vdc::doctor::run(&config, &[]).await;
    let text = report.to_string();
    assert!(report.failed(), "{text}");
    assert!(
        text.contains(&format!(
            "[FAIL] trusted_issuers: verifier ghost trusts {ghost}"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "[WARN] trusted_issuers: verifier ghost trusts http://127.0.0.1:1/issuers/demo"
        ),
        "{text}"
    );
    assert!(!text.contains("[ok  ] trusted_issuers:"), "{text}");
    server.stop().await;
}

/// The real binary with `--demo` and a LAN address as public URL (listening on loopback):
/// it starts (it used to refuse: "x509_san_dns needs a DNS name") and logs why the demo
/// verifier uses `x509_hash`, pointing at the phone-wallet docs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_on_a_lan_address_starts_and_warns() {
    use std::io::{BufRead as _, BufReader};

    use crate::files::{KillOnDrop, free_port, wait_healthy};

    let port = free_port();
    let dir = std::env::temp_dir().join(format!("vdc-demo-lan-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_vdc"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("VDC_PUBLIC_URL", format!("http://192.168.1.10:{port}"))
            .env("VDC_DATA_DIR", &dir)
            .env("VDC_KEK", vdc_core::base64url::encode([7u8; 32]))
            .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    wait_healthy(port).await;
    let verifier: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/verifiers/demo"))
        .bearer_auth(vdc_testkit::ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verifier["client_id_prefix"], "x509_hash", "{verifier}");
    child.0.kill().unwrap();
    let _ = child.0.wait();
    let lines = reader.join().unwrap();
    let warning = lines
        .iter()
        .find(|l| l.contains("x509_hash") && l.contains("WARN"))
        .unwrap_or_else(|| panic!("no warning about x509_hash in {lines:#?}"));
    assert!(warning.contains("Phone wallets"), "{warning}");
    let _ = std::fs::remove_dir_all(&dir);
}
