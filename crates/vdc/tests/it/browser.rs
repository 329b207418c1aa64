//! The pages in a real browser: Playwright (`playwright-core`, pinned in
//! `tests/browser/package-lock.json`) drives Debian's Chromium (`/usr/bin/chromium`) through
//! issuance to the real `vdc wallet` binary (reloading the offer page in between: same offer,
//! same code), verification with the trust anchor downloaded from the request page,
//! revocation and the rejection (`tests/browser/pages.mjs`). Screenshots of every step are kept under
//! `<target dir>/browser-artifacts/`. Missing node, packages or Chromium fail the test,
//! never skip it.
//!
//! SQLite only: the pages call the same services as the management API, whose behaviour on
//! both backends the other suites cover; one browser run keeps the suite light.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use vdc_testkit::{Backend, TestServer};

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// `<target dir>/browser-artifacts`: the binary is `<target dir>/<profile>/vdc`.
fn artifacts_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_vdc"));
    let target = bin
        .parent()
        .and_then(|profile| profile.parent())
        .expect("the vdc binary sits in <target>/<profile>/");
    target.join("browser-artifacts")
}

fn setup() {
    let out = Command::new("bash")
        .arg(browser_dir().join("setup.sh"))
        .output()
        .expect("bash runs tests/browser/setup.sh");
    assert!(
        out.status.success(),
        "tests/browser/setup.sh failed (node >= 20, npm and /usr/bin/chromium are required; \
         scripts/ensure-chromium.sh installs Chromium; this test never skips):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the driver in a blocking thread (it calls our server, which runs on this runtime).
async fn drive(input: Value) -> Value {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(browser_dir().join("pages.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed to run the browser test");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "pages.mjs crashed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("pages.mjs printed non-JSON ({e}): {stdout}"))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomer_issues_verifies_and_sees_the_revocation_in_chromium() {
    setup();
    let server = TestServer::start(Backend::Sqlite).await;
    let wallet_dir =
        std::env::temp_dir().join(format!("vdc-browser-wallet-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&wallet_dir);
    std::fs::create_dir_all(&wallet_dir).unwrap();
    // Only this run's screenshots are kept.
    let _ = std::fs::remove_dir_all(artifacts_dir());
    let hostile = "Ada <b>bold</b><img src=x onerror=alert(1)><script>alert(2)</script>";
    let out = drive(json!({
        "base": server.base,
        "vdc": env!("CARGO_BIN_EXE_vdc"),
        "chromium": std::env::var("VDC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "wallet_dir": wallet_dir,
        "artifacts": artifacts_dir(),
        "hostile": hostile,
    }))
    .await;
    assert_eq!(out["ok"], true, "browser run failed: {out:#}");

    // Issuance: the link and code came from the page; the page saw the credential issued.
    assert!(
        out["offer"]
            .as_str()
            .unwrap()
            .starts_with("openid-credential-offer://")
    );
    assert_eq!(out["tx_code"].as_str().unwrap().len(), 6);
    assert_eq!(out["issued"], "credential issued");

    // Verification: the disclosed claims, hostile markup shown as text, nothing injected.
    let v = &out["verified"];
    assert_eq!(v["state"], "verified", "{out:#}");
    assert_eq!(v["given_name"], hostile);
    assert_eq!(v["employee_id"], "E-1");
    assert_eq!(v["family_name_shown"], 0, "family_name was not asked for");
    assert_eq!(v["injected_elements"], 0);
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(checks.len(), 8, "{checks:?}");
    assert!(checks.iter().all(|c| c.ends_with(": passed")), "{checks:?}");

    // After revocation the same wallet is rejected, and the page names the status check.
    let r = &out["rejected"];
    assert_eq!(r["state"], "rejected", "{out:#}");
    assert_eq!(
        r["failed_checks"],
        json!(["credential status valid (not revoked or suspended): failed"])
    );
    assert!(r["reason"].as_str().unwrap().contains("revoked"), "{r}");

    assert_eq!(out["script_errors"], json!([]), "the page script failed");
    for step in out["steps"].as_array().unwrap() {
        let shot = PathBuf::from(step["screenshot"].as_str().unwrap());
        assert!(shot.is_file(), "screenshot {} missing", shot.display());
    }
    let _ = std::fs::remove_dir_all(&wallet_dir);
    server.stop().await;
}
