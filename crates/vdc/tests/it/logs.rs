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
