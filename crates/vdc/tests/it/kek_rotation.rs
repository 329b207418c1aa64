//! KEK rotation (issue 17, docs/DEPLOYMENT.md "Rotating the KEK") over real HTTP and the
//! real `vdc kek rotate` process, on both stores: secrets sealed under the old KEK, the
//! server restarted with the new KEK and the old one as previous, `vdc kek rotate` killed
//! with SIGKILL after its first batch and run again while the server serves, then an offer
//! made before the switch redeemed (its pre-authorized code and offer reference derived
//! under the old KEK), `vdc doctor` reporting nothing left, and after a restart with the new
//! KEK alone every stored secret still opens (issuer and verifier signing keys, a
//! `direct_post.jwt` request's key).

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use serde_json::json;
use vdc_testkit::TestServer;

use crate::presentation::badge_query;
use crate::support::{badge_offer, verify_sd_jwt_vc};

mod on {
    use vdc_testkit::{Backend, TestServer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_kek_rotation_keeps_everything_readable() {
        super::kek_rotation_keeps_everything_readable(TestServer::start(Backend::Sqlite).await)
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_kek_rotation_keeps_everything_readable() {
        super::kek_rotation_keeps_everything_readable(TestServer::start(Backend::Postgres).await)
            .await;
    }
}

fn kek_text(byte: u8) -> String {
    vdc_core::base64url::encode([byte; 32])
}

/// `vdc` with only what `kek` needs: the database, the KEKs, a scratch data directory.
fn vdc(server: &TestServer, kek: &str, previous: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdc"));
    for (k, _) in std::env::vars() {
        if k.starts_with("VDC_") {
            cmd.env_remove(k);
        }
    }
    let dir = std::env::temp_dir().join(format!("vdc-kek-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    cmd.env("VDC_DATABASE_URL", &server.database_url)
        .env("VDC_KEK", kek)
        .env("VDC_DATA_DIR", &dir)
        .env("VDC_PUBLIC_URL", &server.base)
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY);
    if let Some(p) = previous {
        cmd.env("VDC_KEK_PREVIOUS", p);
    }
    cmd
}

async fn redeem(server: &TestServer, offer_uri: &str) -> String {
    let accepted = server
        .wallet()
        .accept_offer(offer_uri, None, 1)
        .await
        .unwrap();
    accepted.credentials[0].credential.clone()
}

/// A `direct_post.jwt` request of the demo verifier and its signed request object (the
/// verifier's signing key opened).
async fn signed_request(server: &TestServer) -> String {
    let (status, created) = server
        .admin_post(
            "/api/v1/verifiers/demo/requests",
            &json!({"dcql_query": badge_query(), "response_mode": "direct_post.jwt"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    created["id"].as_str().unwrap().to_owned()
}

async fn kek_rotation_keeps_everything_readable(mut server: TestServer) {
    let (old, new) = (kek_text(9), kek_text(4));
    // Under the old KEK: the demo issuer's and verifier's keys (seeded), an offer, a
    // webhook secret, a request's response key.
    let before = server.offer("demo", &badge_offer(false)).await;
    let before_uri = before["offer_uri"].as_str().unwrap().to_owned();
    let (status, hook) = server
        .admin_post(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/vdc", "events": ["credential.issued"]}),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    signed_request(&server).await;

    // Every instance switches first: the new KEK seals, the old one still opens.
    let (o, n) = (old.clone(), new.clone());
    server
        .restart_with(move |c| {
            c.kek = Some(vdc::config::Secret(n));
            c.kek_previous = Some(vdc::config::Secret(o));
        })
        .await;
    let during = server.offer("demo", &badge_offer(false)).await;

    // Killed with SIGKILL after its first batch (one row per batch, a pause after each).
    let mut child = vdc(&server, &new, Some(&old))
        .args(["kek", "rotate", "--batch", "1", "--pause-ms", "2000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        let line = lines.next().expect("rotate ended before a batch").unwrap();
        seen.push(line.clone());
        if line.contains("re-sealed so far") {
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed: {status:?} {seen:?}");
    // The server kept serving meanwhile, with a mix of old and new rows.
    let credential = redeem(&server, during["offer_uri"].as_str().unwrap()).await;
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", &credential).await["given_name"],
        "Ada"
    );
    let doctor = vdc(&server, &new, Some(&old))
        .arg("doctor")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report
            .lines()
            .any(|l| l.contains("kek_rotation") && l.contains("not under the current KEK")),
        "{report}"
    );

    // Resumed: finishes, and says so.
    let out = vdc(&server, &new, Some(&old))
        .args(["kek", "rotate"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("every sealed value is under KEK"),
        "{stdout}"
    );
    let again = vdc(&server, &new, Some(&old))
        .args(["kek", "rotate"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 row(s) re-sealed"),
        "idempotent"
    );
    let doctor = vdc(&server, &new, Some(&old))
        .arg("doctor")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.lines().any(|l| l.contains("kek_rotation")
            && l.contains("under the current KEK")
            && !l.contains("not under")),
        "{report}"
    );

    // The offer made under the old KEK still redeems (code and reference derived under it).
    let credential = redeem(&server, &before_uri).await;
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", &credential).await["given_name"],
        "Ada"
    );

    // The new KEK alone: every stored secret opens.
    server.restart_with(|c| c.kek_previous = None).await;
    let after = server.offer("demo", &badge_offer(false)).await;
    let credential = redeem(&server, after["offer_uri"].as_str().unwrap()).await;
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", &credential).await["given_name"],
        "Ada"
    );
    signed_request(&server).await;
    let (status, _) = server
        .admin_get(&format!(
            "/api/v1/webhooks/{}",
            hook["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);

    // Nothing to rotate from, a bad previous KEK: clear errors.
    let out = vdc(&server, &new, None)
        .args(["kek", "rotate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to rotate from"));
    let out = vdc(&server, &new, Some("short"))
        .args(["kek", "rotate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("VDC_KEK_PREVIOUS (entry 1)"));
    server.stop().await;
}
