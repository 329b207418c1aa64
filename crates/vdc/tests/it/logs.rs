//! What the real `vdc serve` process logs (issue 10, item 14): no capability of a wallet's
//! flow — pre-authorized code, secret offer reference, `tx_code`, access token, `c_nonce`,
//! notification id — appears in any log line at any level, including the refused
//! `tx_code` path that used to log the (then secret) offer id (G10).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::files::{KillOnDrop, free_port, wait_healthy};

const PRE: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g10_no_capability_of_a_flow_appears_in_the_logs() {
    let dir = tempdir();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("VDC_DATABASE_URL")
        .env_remove("VDC_PUBLIC_URL")
        .env_remove("VDC_LISTEN")
        .env("VDC_DATA_DIR", &dir)
        .env("VDC_KEK", vdc_core::base64url::encode([7u8; 32]))
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        // Every level, so nothing hides below the default.
        .env("VDC_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    // Drain both pipes from the start: at trace level the server writes more than a pipe
    // buffer (64 KiB) before the test reads, and a full pipe blocks its logging (and so the
    // server).
    let drain = |pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            BufReader::new(pipe)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        })
    };
    let readers = [
        drain(Box::new(child.0.stderr.take().unwrap())),
        drain(Box::new(child.0.stdout.take().unwrap())),
    ];
    wait_healthy(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let offer: Value = http
        .post(format!("{base}/api/v1/issuers/demo/offers"))
        .bearer_auth(vdc_testkit::ADMIN_KEY)
        .json(&json!({
            "credential_configuration_ids": ["EmployeeBadge"],
            "claims": {"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}},
            // Text codes of 12 (no digits-only value a log timestamp could contain by chance).
            "tx_code": {"length": 12, "input_mode": "text"},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = offer["credential_offer"]["grants"][PRE]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let tx_code = offer["tx_code"].as_str().unwrap().to_owned();
    let reference = offer["credential_offer_uri"].as_str().unwrap().to_owned();
    let reference_tag = reference.rsplit_once('.').unwrap().1.to_owned();
    http.get(&reference).send().await.unwrap();
    let token_url = format!("{base}/issuers/demo/token");
    let wrong = "AAAAAAAAAAAA";
    assert_ne!(tx_code, wrong);
    let r = http
        .post(&token_url)
        .form(&[
            ("grant_type", PRE),
            ("pre-authorized_code", &code),
            ("tx_code", wrong),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let token: Value = http
        .post(&token_url)
        .form(&[
            ("grant_type", PRE),
            ("pre-authorized_code", &code),
            ("tx_code", &tx_code),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let nonce: Value = http
        .post(format!("{base}/issuers/demo/nonce"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c_nonce = nonce["c_nonce"].as_str().unwrap().to_owned();
    let key = vdc_core::jose::SigningKey::generate(
        vdc_core::jose::Algorithm::Es256,
        &vdc_core::rng::SystemRandom::new(),
    )
    .unwrap();
    let holder = vdc_core::jose::LocalSigner::new(key);
    let proof = vdc_core::key_proof::create(
        &holder,
        vdc_core::key_proof::ProofInput {
            audience: &format!("{base}/issuers/demo"),
            nonce: Some(&c_nonce),
            client_id: None,
            iat: vdc_core::time::Clock::now(&vdc_core::time::SystemClock),
        },
    )
    .await
    .unwrap();
    let issued: Value = http
        .post(format!("{base}/issuers/demo/credential"))
        .bearer_auth(&access_token)
        .json(&json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [proof]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let notification_id = issued["notification_id"].as_str().unwrap().to_owned();

    child.0.kill().unwrap();
    let mut lines = Vec::new();
    for reader in readers {
        lines.extend(reader.join().unwrap());
    }
    assert!(
        lines.iter().any(|l| l.contains("wrong tx_code")),
        "the refused tx_code is logged (so the check below sees that path): {lines:#?}"
    );
    for (what, secret) in [
        ("pre-authorized code", code.as_str()),
        ("offer reference tag", reference_tag.as_str()),
        ("tx_code", tx_code.as_str()),
        ("access token", access_token.as_str()),
        ("c_nonce", c_nonce.as_str()),
        ("notification id", notification_id.as_str()),
    ] {
        for line in &lines {
            assert!(!line.contains(secret), "the {what} is in the log: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-logs-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `vdc serve --demo` on a fresh data dir with the default log filter (no `VDC_LOG`) and
/// `extra` settings, both pipes drained into lines (stderr first).
fn spawn_default_logging(
    dir: &std::path::Path,
    port: u16,
    extra: &[(&str, &str)],
) -> (KillOnDrop, [std::thread::JoinHandle<Vec<String>>; 2]) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdc"));
    cmd.args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env_clear()
        .env("VDC_DATA_DIR", dir)
        .env("VDC_KEK", vdc_core::base64url::encode([7u8; 32]))
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    let drain = |pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            BufReader::new(pipe)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        })
    };
    let readers = [
        drain(Box::new(child.0.stderr.take().unwrap())),
        drain(Box::new(child.0.stdout.take().unwrap())),
    ];
    (child, readers)
}

/// Issue 18, item 8: the verifier logs each presentation outcome at `info` (verifier,
/// request id, verified or rejected with the error code, never claim values); the start is
/// logged on stderr too, not only printed on stdout; and logs written to a pipe carry no
/// ANSI colour codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presentation_outcomes_and_the_start_are_logged_without_colour_codes() {
    let dir = tempdir();
    let port = free_port();
    let (mut child, readers) = spawn_default_logging(&dir, port, &[]);
    wait_healthy(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    // Claim values no log line may contain.
    let (given, employee) = ("Adalbertina", "E-93qZx7");
    let offer: Value = http
        .post(format!("{base}/api/v1/issuers/demo/offers"))
        .bearer_auth(vdc_testkit::ADMIN_KEY)
        .json(&json!({
            "credential_configuration_ids": ["EmployeeBadge"],
            "claims": {"EmployeeBadge": {"given_name": given, "employee_id": employee}},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wallet = vdc_holder::Wallet::new(
        vdc_holder::MemoryStore::new(),
        vdc_holder::WalletOptions {
            allow_insecure_http: true,
            ..vdc_holder::WalletOptions::default()
        },
    )
    .unwrap();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let query = json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]});
    // The demo verifier trusts the demo issuer: verified. A verifier trusting nobody:
    // rejected as untrusted_issuer.
    let strict: Value = http
        .post(format!("{base}/api/v1/verifiers"))
        .bearer_auth(vdc_testkit::ADMIN_KEY)
        .json(&json!({"id": "strict", "client_id_prefix": "x509_san_dns", "trusted_issuers": []}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let demo: Value = http
        .get(format!("{base}/api/v1/verifiers/demo"))
        .bearer_auth(vdc_testkit::ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (verifier, object) in [("demo", &demo), ("strict", &strict)] {
        let created: Value = http
            .post(format!("{base}/api/v1/verifiers/{verifier}/requests"))
            .bearer_auth(vdc_testkit::ADMIN_KEY)
            .json(&json!({"dcql_query": query}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let trust = vdc_holder::VerifierTrust {
            x509_anchors: object["trust_anchor"]
                .as_str()
                .map(|pem| vdc_core::x509::TrustAnchors::from_pem(pem).unwrap()),
            accept_unanchored_x509: false,
        };
        let sent = wallet
            .present(created["authorization_request"].as_str().unwrap(), &trust)
            .await;
        assert_eq!(
            sent.is_ok(),
            verifier == "demo",
            "{verifier}: {:?}",
            sent.err()
        );
        ids.push(created["id"].as_str().unwrap().to_owned());
    }

    child.0.kill().unwrap();
    let [stderr, stdout] = readers;
    let stderr = stderr.join().unwrap();
    let stdout = stdout.join().unwrap();
    let logged = |what: &str, needles: &[&str]| {
        assert!(
            stderr
                .iter()
                .any(|l| l.contains(" INFO ") && needles.iter().all(|n| l.contains(n))),
            "no info line {what} with {needles:?}: {stderr:#?}"
        );
    };
    logged(
        "for the verified presentation",
        &[
            "presentation verified",
            "verifier=\"demo\"",
            &ids[0],
            "verified",
        ],
    );
    logged(
        "for the rejected presentation",
        &[
            "presentation rejected",
            "verifier=\"strict\"",
            &ids[1],
            "untrusted_issuer",
        ],
    );
    logged(
        "for the start",
        &["vdc listening", &format!("127.0.0.1:{port}")],
    );
    assert!(
        stdout.iter().any(|l| l.starts_with("vdc listening on")),
        "the banner is still printed: {stdout:#?}"
    );
    for line in stderr.iter().chain(&stdout) {
        assert!(
            !line.contains('\u{1b}'),
            "an ANSI escape in piped output: {line:?}"
        );
        assert!(
            !line.contains(given) && !line.contains(employee),
            "a claim value is logged: {line}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 18, item 8: a start on an existing Postgres database does not log Postgres'
/// `... already exists, skipping` NOTICEs (from the migration check) at `info`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_start_logs_no_already_exists_notice() {
    // Created and migrated already: this start finds the migration table there.
    let db = vdc_store_postgres::testing::create().await.unwrap();
    let dir = tempdir();
    let port = free_port();
    let (mut child, readers) =
        spawn_default_logging(&dir, port, &[("VDC_DATABASE_URL", db.url.as_str())]);
    wait_healthy(port).await;
    child.0.kill().unwrap();
    let [stderr, _stdout] = readers;
    let stderr = stderr.join().unwrap();
    assert!(
        stderr.iter().any(|l| l.contains("vdc listening")),
        "the server started on Postgres: {stderr:#?}"
    );
    for line in &stderr {
        assert!(
            !line.contains("already exists"),
            "a Postgres notice is logged at the default level: {line}"
        );
    }
    drop(child);
    db.drop_database().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
