//! The pages in a real browser: Playwright (`playwright-core`, pinned in
//! `tests/browser/package-lock.json`) drives Debian's Chromium (`/usr/bin/chromium`) through
//! issuance to the real `vdc wallet` binary (reloading the offer page in between: same offer,
//! same code), verification with the trust anchor downloaded from the request page,
//! revocation and the rejection (`tests/browser/pages.mjs`); "Verify in this browser" over
//! the Digital Credentials API, with `navigator.credentials.get` stubbed and the wallet
//! played by the independent `@openid4vc/openid4vp` (`tests/browser/dcapi-wallet.mjs`):
//! verified, cancelled, an answer bound to another origin rejected, the button hidden
//! without the API. Screenshots of every step are kept under
//! `<target dir>/browser-artifacts/`. Missing node, packages or Chromium fail the test,
//! never skip it.
//!
//! SQLite only: the pages call the same services as the management API, whose behaviour on
//! both backends the other suites cover; one browser run keeps the suite light.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use vdc_core::time::{Clock as _, SystemClock};
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
    // The wallets (`vdc wallet`, the DC API test wallet) and Chromium run on the real clock
    // and the run takes minutes: keep the server's test clock with it, or KB-JWTs made late
    // in the run would be "iat in the future" for the server.
    let clock = server.clock.clone();
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            clock.set(SystemClock.now().secs());
        }
    });
    let out = drive(json!({
        "base": server.base,
        "vdc": env!("CARGO_BIN_EXE_vdc"),
        "chromium": std::env::var("VDC_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "wallet_dir": wallet_dir,
        "artifacts": artifacts_dir(),
        "hostile": hostile,
    }))
    .await;
    ticker.abort();
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
        json!(["credential status valid (not revoked or suspended): failed"]),
        "{out:#}"
    );
    assert!(r["reason"].as_str().unwrap().contains("revoked"), "{r}");

    // "Verify in this browser" (Digital Credentials API, OID4VP 1.0 Appendix A).
    let dc = &out["dc_api"];
    // A browser without the API: the button is there but hidden; the QR path is not.
    assert!(
        dc["without_api"]["buttons"].as_u64().unwrap() >= 1,
        "{dc:#}"
    );
    assert_eq!(dc["without_api"]["hidden"], true, "{dc:#}");
    assert_eq!(dc["without_api"]["create_visible"], true, "{dc:#}");
    // The wallet saw a request signed by the demo verifier (x509_hash on 127.0.0.1) for the
    // page's own origin, and the page's origin is the server's public origin.
    let origin = server.base.trim_end_matches('/').to_owned();
    let honest = &dc["wallet_saw"][0];
    assert_eq!(honest["protocol"], "openid4vp-v1-signed", "{dc:#}");
    assert_eq!(honest["signed"], true);
    assert_eq!(honest["response_mode"], "dc_api");
    assert_eq!(honest["origin"], origin.as_str());
    assert_eq!(honest["expected_origins"], json!([origin]));
    assert_eq!(honest["claims"], json!(["given_name", "employee_id"]));
    let v = &dc["verified"];
    assert_eq!(v["state"], "verified", "{dc:#}");
    assert_eq!(v["given_name"], hostile);
    assert_eq!(v["employee_id"], "E-1");
    assert_eq!(v["family_name_shown"], 0);
    assert_eq!(v["injected_elements"], 0);
    assert_eq!(v["checks"].as_array().unwrap().len(), 8, "{v}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.as_str().unwrap().ends_with(": passed")),
        "{v}"
    );
    // The user cancelled in the browser's dialog: shown as such, nothing verified.
    let c = &dc["cancelled"];
    assert_eq!(c["state"], "cancelled", "{dc:#}");
    assert!(
        c["reason"].as_str().unwrap().contains("NotAllowedError"),
        "{c}"
    );
    assert_eq!(c["checks"], json!([]));
    // An answer bound to another origin (a request relayed through another site): rejected,
    // the audience check failed.
    let o = &dc["other_origin"];
    assert_eq!(dc["wallet_saw"][2]["bound_to"], "https://evil.example");
    assert_eq!(o["state"], "rejected", "{dc:#}");
    assert_eq!(
        o["failed_checks"],
        json!(["audience is this verifier: failed"])
    );
    assert!(!o["reason"].as_str().unwrap().is_empty(), "{o}");
    // A post from another origin (same host and port, other scheme) is refused.
    assert_eq!(dc["foreign_origin"]["status"], 403, "{dc:#}");
    assert_eq!(dc["foreign_origin"]["body"]["error"], "access_denied");

    assert_eq!(out["script_errors"], json!([]), "the page script failed");
    for step in out["steps"].as_array().unwrap() {
        let shot = PathBuf::from(step["screenshot"].as_str().unwrap());
        assert!(shot.is_file(), "screenshot {} missing", shot.display());
    }
    let _ = std::fs::remove_dir_all(&wallet_dir);
    server.stop().await;
}
