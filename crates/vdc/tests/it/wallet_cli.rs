//! The `vdc wallet` command line against a real server: it checks status lists before it
//! presents (skipping revoked credentials, naming them), lets the user choose
//! (`--credential`) and delete (`remove`) credentials, shows each one's status in `list`,
//! keeps its store in a fixed place (`--wallet-dir`, `VDC_WALLET_DIR`, the XDG data
//! directory), names the flag that fixes an error, and never reads the server's
//! configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use vdc_testkit::{Backend, TestServer};

const VCT: &str = "https://vdc.example/vct/employee-badge";

fn badge_query() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]})
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-wallet-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What one `vdc` run printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            ok: o.status.success(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok {}\nstdout:\n{}\nstderr:\n{}",
            self.ok, self.stdout, self.stderr
        )
    }
}

/// Runs `vdc` with `args` (on a blocking thread: the server answers on this runtime).
async fn vdc(args: Vec<String>, envs: Vec<(&'static str, String)>) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdc"));
        cmd.args(&args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        Run::from(cmd.output().unwrap())
    })
    .await
    .unwrap()
}

/// `vdc wallet --wallet-dir DIR <args>`.
async fn wallet(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec![
        "wallet".to_owned(),
        "--wallet-dir".to_owned(),
        dir.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    vdc(all, Vec::new()).await
}

/// Accepts a fresh demo badge into `dir`; returns (wallet id, the issuer's credential id).
async fn accept_badge(server: &TestServer, dir: &Path) -> (String, String) {
    accept(server, dir, "EmployeeBadge").await
}

/// Accepts a fresh credential of `config` from the demo issuer into `dir`.
async fn accept(server: &TestServer, dir: &Path, config: &str) -> (String, String) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": [config],
                "claims": {config: {"given_name": "Ada", "employee_id": "E-1"}}}),
        )
        .await;
    let run = wallet(
        dir,
        &[
            "accept",
            offer["offer_uri"].as_str().unwrap(),
            "--insecure-http",
        ],
    )
    .await;
    assert!(run.ok, "{run:?}");
    let wallet_id = run
        .stdout
        .lines()
        .find_map(|l| l.split("(stored as ").nth(1))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no stored id in {run:?}"))
        .to_owned();
    // Ids are typed as arguments: one starting with `-` would be read as a flag (a CI run
    // failed on `--credential -Z…`), so the wallet makes them lead with a letter.
    assert!(wallet_id.starts_with('c'), "{wallet_id}");
    let (status, record) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "{record}");
    let issued = record["credentials"][0]["id"].as_str().unwrap().to_owned();
    (wallet_id, issued)
}

/// `wallet list` as (id, status) pairs, in the order the wallet tries them.
async fn listed(dir: &Path, args: &[&str]) -> Vec<(String, String)> {
    let mut all = vec!["list"];
    all.extend_from_slice(args);
    let run = wallet(dir, &all).await;
    assert!(run.ok, "{run:?}");
    run.stdout
        .lines()
        .filter(|l| !l.starts_with("no credentials"))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 5, "{l}");
            (cols[0].to_owned(), cols[4].to_owned())
        })
        .collect()
}

async fn revoke(server: &TestServer, issued: &str) {
    set_status(server, issued, "revoked").await;
}

async fn set_status(server: &TestServer, issued: &str, status: &str) {
    let (code, body) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{issued}/status"),
            &json!({ "status": status }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_reads_token_status_lists_and_w3c_bitstring_entries() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = temp("list");
    let (sd, sd_issued) = accept(&server, &dir, "EmployeeBadge").await;
    let (w3c, w3c_issued) = accept(&server, &dir, "EmployeeBadgeW3C").await;
    let status_of = |all: Vec<(String, String)>, id: &str| {
        all.into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, s)| s)
            .unwrap_or_else(|| panic!("{id} not listed"))
    };
    let all = listed(&dir, &["--insecure-http"]).await;
    assert_eq!(status_of(all.clone(), &sd), "valid");
    assert_eq!(status_of(all, &w3c), "valid");
    set_status(&server, &sd_issued, "suspended").await;
    set_status(&server, &w3c_issued, "suspended").await;
    let all = listed(&dir, &["--insecure-http"]).await;
    assert_eq!(status_of(all.clone(), &sd), "suspended");
    assert_eq!(status_of(all, &w3c), "suspended");
    set_status(&server, &w3c_issued, "revoked").await;
    let all = listed(&dir, &["--insecure-http"]).await;
    assert_eq!(status_of(all.clone(), &sd), "suspended");
    assert_eq!(status_of(all, &w3c), "revoked");
    // Without --insecure-http the http status lists cannot be read: unknown, with the hint.
    let run = wallet(&dir, &["list"]).await;
    assert!(run.ok, "{run:?}");
    assert!(
        run.stdout.lines().all(|l| l.ends_with("\tunknown")),
        "{run:?}"
    );
    assert!(run.stderr.contains("hint: pass --insecure-http"), "{run:?}");
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}

/// A new request of verifier `cli`; returns (request id, authorization request URI).
async fn new_request(server: &TestServer) -> (String, String) {
    let (status, created) = server
        .admin_post(
            "/api/v1/verifiers/cli/requests",
            &json!({"dcql_query": badge_query()}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    (
        created["id"].as_str().unwrap().to_owned(),
        created["authorization_request"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

async fn request_status(server: &TestServer, id: &str) -> Value {
    let (status, body) = server
        .admin_get(&format!("/api/v1/verifiers/cli/requests/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn present_skips_revoked_credentials_and_list_remove_and_credential_work() {
    let server = TestServer::start(Backend::Sqlite).await;
    let dir = temp("present");
    let wallet_dir = dir.join("wallet");
    let (a, a_issued) = accept_badge(&server, &wallet_dir).await;
    let (b, b_issued) = accept_badge(&server, &wallet_dir).await;
    let offline = listed(&wallet_dir, &["--offline"]).await;
    assert_eq!(offline.len(), 2, "{offline:?}");
    assert!(offline.iter().all(|(_, s)| s == "unknown"), "{offline:?}");
    // Revoke the credential the wallet tries first, the one the old wallet presented.
    let (first, second, first_issued, second_issued) = if offline[0].0 == a {
        (a, b, a_issued, b_issued)
    } else {
        (b, a, b_issued, a_issued)
    };
    let both = listed(&wallet_dir, &["--insecure-http"]).await;
    assert!(both.iter().all(|(_, s)| s == "valid"), "{both:?}");
    revoke(&server, &first_issued).await;
    let after = listed(&wallet_dir, &["--insecure-http"]).await;
    assert_eq!(
        after,
        vec![
            (first.clone(), "revoked".to_owned()),
            (second.clone(), "valid".to_owned())
        ]
    );

    let (status, verifier) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "cli", "client_id_prefix": "x509_san_dns", "display": {"name": "cli"},
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{verifier}");
    let ca = dir.join("verifier-ca.pem");
    std::fs::write(&ca, verifier["trust_anchor"].as_str().unwrap()).unwrap();
    let ca = ca.display().to_string();

    // Without an anchor the error names the flags that supply one; plain http names its flag.
    let (request_id, uri) = new_request(&server).await;
    let run = wallet(&wallet_dir, &["present", &uri, "--insecure-http"]).await;
    assert!(!run.ok, "{run:?}");
    assert!(
        run.stderr
            .contains("no trust anchor for verifier certificates")
            && run.stderr.contains("--trust-anchor FILE")
            && run.stderr.contains("--accept-unanchored-verifier"),
        "{run:?}"
    );
    let run = wallet(&wallet_dir, &["present", &uri, "--trust-anchor", &ca]).await;
    assert!(!run.ok, "{run:?}");
    assert!(
        run.stderr.contains("scheme http is not allowed") && run.stderr.contains("--insecure-http"),
        "{run:?}"
    );

    // The revoked credential is skipped, the valid one presented, and the verifier agrees.
    let run = wallet(
        &wallet_dir,
        &["present", &uri, "--trust-anchor", &ca, "--insecure-http"],
    )
    .await;
    assert!(run.ok, "{run:?}");
    assert!(
        run.stdout.contains(&format!("skipping {first}: revoked")),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains(&format!("presenting {second} for badge")),
        "{run:?}"
    );
    let verified = request_status(&server, &request_id).await;
    assert_eq!(verified["status"], "verified", "{verified}");

    // Forcing the revoked one is refused before anything is sent.
    let (forced_id, forced_uri) = new_request(&server).await;
    let run = wallet(
        &wallet_dir,
        &[
            "present",
            &forced_uri,
            "--credential",
            &first,
            "--trust-anchor",
            &ca,
            "--insecure-http",
        ],
    )
    .await;
    assert!(!run.ok, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("is revoked or suspended: {first} (revoked)")),
        "{run:?}"
    );
    let untouched = request_status(&server, &forced_id).await;
    assert!(
        untouched["status"] != "verified" && untouched["status"] != "rejected",
        "{untouched}"
    );
    let run = wallet(
        &wallet_dir,
        &[
            "present",
            &forced_uri,
            "--credential",
            "no-such-credential",
            "--trust-anchor",
            &ca,
            "--insecure-http",
        ],
    )
    .await;
    assert!(
        !run.ok
            && run
                .stderr
                .contains("no stored credential has id no-such-credential"),
        "{run:?}"
    );
    // Forcing the valid one presents it.
    let run = wallet(
        &wallet_dir,
        &[
            "present",
            &forced_uri,
            "--credential",
            &second,
            "--trust-anchor",
            &ca,
            "--insecure-http",
        ],
    )
    .await;
    assert!(run.ok, "{run:?}");
    assert_eq!(
        request_status(&server, &forced_id).await["status"],
        "verified"
    );

    // remove deletes the credential (and its key, in the same file).
    let run = wallet(&wallet_dir, &["remove", &first]).await;
    assert!(
        run.ok && run.stdout.contains(&format!("removed {first}")),
        "{run:?}"
    );
    assert!(!wallet_dir.join(format!("{first}.json")).exists());
    assert_eq!(
        listed(&wallet_dir, &["--offline"]).await,
        vec![(second.clone(), "unknown".to_owned())]
    );
    let run = wallet(&wallet_dir, &["remove", &first]).await;
    assert!(!run.ok && run.stderr.contains("no credential"), "{run:?}");

    // With every match revoked the wallet refuses and names them; --no-status-check
    // presents anyway and the verifier rejects.
    revoke(&server, &second_issued).await;
    let (last_id, last_uri) = new_request(&server).await;
    let run = wallet(
        &wallet_dir,
        &[
            "present",
            &last_uri,
            "--trust-anchor",
            &ca,
            "--insecure-http",
        ],
    )
    .await;
    assert!(!run.ok, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "every credential matching credential query badge is revoked or suspended: {second} (revoked)"
        )),
        "{run:?}"
    );
    let run = wallet(
        &wallet_dir,
        &[
            "present",
            &last_uri,
            "--no-status-check",
            "--trust-anchor",
            &ca,
            "--insecure-http",
        ],
    )
    .await;
    assert!(!run.ok, "{run:?}");
    assert_eq!(
        request_status(&server, &last_id).await["status"],
        "rejected"
    );
    let _ = std::fs::remove_dir_all(&dir);
    server.stop().await;
}

#[tokio::test]
async fn the_wallet_ignores_the_server_configuration() {
    let dir = temp("config");
    let run = vdc(
        vec![
            "wallet".into(),
            "list".into(),
            "--wallet-dir".into(),
            dir.display().to_string(),
        ],
        vec![("VDC_DEMO", "yes".into())],
    )
    .await;
    assert!(run.ok, "{run:?}");
    assert!(run.stdout.starts_with("no credentials in"), "{run:?}");
    // Not even a missing configuration file stops it.
    let run = vdc(
        vec![
            "--config".into(),
            dir.join("missing.toml").display().to_string(),
            "wallet".into(),
            "--wallet-dir".into(),
            dir.display().to_string(),
            "list".into(),
        ],
        Vec::new(),
    )
    .await;
    assert!(run.ok, "{run:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_wallet_directory_does_not_depend_on_the_current_directory() {
    let root = temp("default-dir");
    let home = root.join("home");
    let cwd = root.join("elsewhere");
    std::fs::create_dir_all(&cwd).unwrap();
    // An old-style ./vdc-wallet is named, not used.
    std::fs::create_dir_all(cwd.join("vdc-wallet")).unwrap();
    let run_in = |envs: Vec<(&'static str, Option<String>)>, extra: Vec<&'static str>| {
        let cwd = cwd.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdc"));
                cmd.current_dir(&cwd)
                    .env_remove("XDG_DATA_HOME")
                    .env_remove("VDC_WALLET_DIR");
                for (k, v) in envs {
                    match v {
                        Some(v) => cmd.env(k, v),
                        None => cmd.env_remove(k),
                    };
                }
                cmd.arg("wallet").args(extra);
                Run::from(cmd.output().unwrap())
            })
            .await
            .unwrap()
        }
    };
    let home_s = home.display().to_string();
    let run = run_in(vec![("HOME", Some(home_s.clone()))], vec!["list"]).await;
    let expected = home.join(".local/share/vdc/wallet");
    assert!(run.ok, "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        format!("no credentials in {}", expected.display())
    );
    assert!(expected.is_dir());
    assert!(
        run.stderr.contains("--wallet-dir vdc-wallet"),
        "the old directory is named: {run:?}"
    );
    let xdg = root.join("xdg");
    let run = run_in(
        vec![
            ("HOME", Some(home_s.clone())),
            ("XDG_DATA_HOME", Some(xdg.display().to_string())),
        ],
        vec!["list"],
    )
    .await;
    assert_eq!(
        run.stdout.trim(),
        format!("no credentials in {}", xdg.join("vdc/wallet").display()),
        "{run:?}"
    );
    let chosen = root.join("chosen");
    let run = run_in(
        vec![
            ("HOME", Some(home_s.clone())),
            ("VDC_WALLET_DIR", Some(chosen.display().to_string())),
        ],
        vec!["list"],
    )
    .await;
    assert_eq!(
        run.stdout.trim(),
        format!("no credentials in {}", chosen.display()),
        "{run:?}"
    );
    let run = run_in(vec![("HOME", None)], vec!["list"]).await;
    assert!(
        !run.ok && run.stderr.contains("pass --wallet-dir DIR"),
        "{run:?}"
    );
    let run = run_in(vec![("HOME", Some(home_s))], vec!["--help"]).await;
    assert!(
        run.stdout.contains("--wallet-dir <DIR>")
            && run.stdout.contains("$XDG_DATA_HOME/vdc/wallet")
            && run.stdout.contains("~/.local/share/vdc/wallet")
            && run.stdout.contains("VDC_WALLET_DIR"),
        "{run:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_plain_http_offer_names_the_insecure_http_flag() {
    let dir = temp("http");
    let run = wallet(
        &dir.join("wallet"),
        &[
            "accept",
            "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A9%2Foffer",
        ],
    )
    .await;
    assert!(!run.ok, "{run:?}");
    assert!(
        run.stderr.contains("scheme http is not allowed")
            && run.stderr.contains("hint: pass --insecure-http"),
        "{run:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The SDK calls under the CLI: `select_credentials_with` passes over a revoked credential
/// and says so, `only` forces one, `credential_status` reads the list; the step-by-step
/// `select_credentials` stays status-blind (tests drive it to present anything).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_selects_past_revoked_credentials_and_names_them() {
    use vdc_holder::{CredentialState, Error, SelectOptions, VerifierTrust};
    let server = TestServer::start(Backend::Sqlite).await;
    let wallet = server.wallet();
    let mut issued = Vec::new();
    for _ in 0..2 {
        let offer = server
            .offer(
                "demo",
                &json!({"credential_configuration_ids": ["EmployeeBadge"],
                    "claims": {"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}}}),
            )
            .await;
        let accepted = wallet
            .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
            .await
            .unwrap();
        let (_, record) = server
            .admin_get(&format!(
                "/api/v1/issuers/demo/offers/{}",
                offer["id"].as_str().unwrap()
            ))
            .await;
        issued.push((
            accepted.credentials[0].id.clone(),
            record["credentials"][0]["id"].as_str().unwrap().to_owned(),
        ));
    }
    let stored = wallet.list().await.unwrap();
    let (first, second) = (stored[0].clone(), stored[1].clone());
    let first_issued = &issued.iter().find(|(w, _)| *w == first.id).unwrap().1;
    assert_eq!(
        wallet.credential_status(&first).await,
        CredentialState::Valid
    );
    revoke(&server, first_issued).await;
    assert_eq!(
        wallet.credential_status(&first).await,
        CredentialState::Revoked
    );

    let (status, verifier) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "cli", "client_id_prefix": "x509_san_dns", "display": {"name": "cli"},
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{verifier}");
    let trust = VerifierTrust {
        x509_anchors: Some(
            vdc_core::x509::TrustAnchors::from_pem(verifier["trust_anchor"].as_str().unwrap())
                .unwrap(),
        ),
        accept_unanchored_x509: false,
    };
    let (id, uri) = new_request(&server).await;
    let request = wallet
        .resolve_presentation_request(&uri, &trust)
        .await
        .unwrap();
    let blind = wallet.select_credentials(&request).await.unwrap();
    assert_eq!(blind[0].credential.id, first.id);
    let outcome = wallet
        .select_credentials_with(&request, &SelectOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.selections.len(), 1);
    assert_eq!(outcome.selections[0].credential.id, second.id);
    let seen: Vec<_> = outcome
        .checked
        .iter()
        .map(|c| (c.credential_id.clone(), c.state.clone(), c.chosen))
        .collect();
    assert_eq!(
        seen,
        vec![
            (first.id.clone(), CredentialState::Revoked, false),
            (second.id.clone(), CredentialState::Valid, true)
        ]
    );
    let forced = SelectOptions {
        only: vec![first.id.clone()],
        ..SelectOptions::default()
    };
    match wallet.select_credentials_with(&request, &forced).await {
        Err(Error::NoMatchingCredential(m)) => {
            assert!(m.contains(&format!("{} (revoked)", first.id)), "{m}")
        }
        other => panic!("{other:?}"),
    }
    wallet
        .present_with(&uri, &trust, &SelectOptions::default())
        .await
        .unwrap();
    assert_eq!(request_status(&server, &id).await["status"], "verified");
    assert!(wallet.remove(&first.id).await.unwrap());
    assert!(!wallet.remove(&first.id).await.unwrap());
    assert_eq!(wallet.list().await.unwrap(), vec![second]);
    server.stop().await;
}
