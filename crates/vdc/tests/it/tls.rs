//! `VDC_TLS_CERT`/`VDC_TLS_KEY`: the server speaks HTTPS directly.

use std::sync::Arc;

use vdc::config::{Config, Secret};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_serves_https_with_the_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("vdc-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.key_pair.serialize_pem()).unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config {
        public_url: Some(format!("https://localhost:{port}")),
        admin_key: Some(Secret("tls-test-admin-key-0123".into())),
        kek: Some(Secret(vdc_core::base64url::encode([3u8; 32]))),
        data_dir: dir.clone(),
        demo: true,
        tls_cert: Some(cert.clone()),
        tls_key: Some(key.clone()),
        ..Config::default()
    };
    let store = vdc::open_store(&format!("sqlite://{}", dir.join("vdc.sqlite").display()))
        .await
        .unwrap();
    let app = vdc::build_with_store(&config, vdc::Deps::default(), Arc::clone(&store))
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (c, k) = (cert.clone(), key.clone());
    let server = tokio::spawn(async move {
        let limits = vdc::ConnectionLimits::default();
        vdc::tls::serve_tls(listener, app.router, &c, &k, limits, async {
            let _ = rx.await;
        })
        .await
    });

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let meta: serde_json::Value = client
        .get(format!(
            "https://localhost:{port}/.well-known/openid-credential-issuer/issuers/demo"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["credential_issuer"],
        format!("https://localhost:{port}/issuers/demo")
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::get(format!("http://localhost:{port}/healthz")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    // A client that does not trust the certificate refuses the connection.
    assert!(
        reqwest::get(format!("https://localhost:{port}/healthz"))
            .await
            .is_err()
    );
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
