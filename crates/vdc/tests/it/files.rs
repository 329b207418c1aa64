//! Files of the real `vdc serve` process (issue 10, item 13): the SQLite database holds claim
//! values and the KEK decrypts every signing key, so both are private to the server's user
//! (G10: no PII or secret leaks to other local users), a world-readable KEK file is refused
//! with the fix in the message, and a second server on the same SQLite database refuses to
//! start (R1: one writer, no two caches of one database).

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);

pub(crate) struct KillOnDrop(pub(crate) Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    crate::support::free_port()
}

/// `vdc serve` on `dir` and `port`, without VDC_KEK (so the KEK file is used), stderr piped
/// into a channel of lines.
fn spawn(dir: &Path, port: u16) -> (KillOnDrop, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("VDC_DATABASE_URL")
        .env_remove("VDC_PUBLIC_URL")
        .env_remove("VDC_LISTEN")
        .env_remove("VDC_KEK")
        .env("VDC_DATA_DIR", dir)
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        .env("VDC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (KillOnDrop(child), lines)
}

pub(crate) async fn wait_healthy(port: u16) {
    let http = reqwest::Client::new();
    let ready = tokio::time::timeout(BOUND, async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Ok(r) = http
                .get(format!("http://127.0.0.1:{port}/healthz"))
                .send()
                .await
                && r.status() == 200
            {
                break;
            }
        }
    })
    .await;
    assert!(ready.is_ok(), "server on {port} never became healthy");
}

/// Waits (bounded) for the process to exit; its status and everything it wrote to stderr.
fn wait_exit(mut child: KillOnDrop, lines: &mpsc::Receiver<String>) -> (bool, String) {
    let deadline = std::time::Instant::now() + BOUND;
    let mut text = String::new();
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the process did not exit"
        );
        // Collecting output while polling the exit (a bounded wait, not a timing assertion).
        if let Ok(l) = lines.recv_timeout(Duration::from_millis(50)) {
            text.push_str(&l);
            text.push('\n');
        }
    };
    while let Ok(l) = lines.recv_timeout(Duration::from_millis(200)) {
        text.push_str(&l);
        text.push('\n');
    }
    (status.success(), text)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_private_and_a_second_server_on_one_database_refuses() {
    let dir = fresh_dir("private");
    let port = free_port();
    let (first, _first_lines) = spawn(&dir, port);
    wait_healthy(port).await;
    assert_eq!(mode(&dir), 0o700, "data dir");
    for name in [
        "vdc.sqlite",
        "vdc.sqlite-wal",
        "vdc.sqlite-shm",
        "kek",
        "vdc.sqlite.lock",
    ] {
        let path = dir.join(name);
        if name.ends_with("-wal") || name.ends_with("-shm") {
            // WAL mode: both exist while the database is open.
            assert!(path.exists(), "{name} missing");
        }
        assert_eq!(mode(&path), 0o600, "{name}");
    }

    let (second, lines) = spawn(&dir, free_port());
    let (ok, stderr) = wait_exit(second, &lines);
    assert!(
        !ok,
        "a second server on the same database started: {stderr}"
    );
    assert!(
        stderr.contains("another vdc serve")
            && stderr.contains(&format!("pid {}", first.0.id()))
            && stderr.contains("vdc.sqlite"),
        "{stderr}"
    );
    // The first one is unharmed.
    wait_healthy(port).await;
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kek_file_other_users_can_read_is_refused_with_the_fix() {
    let dir = fresh_dir("kek");
    std::fs::create_dir_all(&dir).unwrap();
    let kek = dir.join("kek");
    std::fs::write(&kek, vdc_core::base64url::encode([7u8; 32])).unwrap();
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (child, lines) = spawn(&dir, free_port());
    let (ok, stderr) = wait_exit(child, &lines);
    assert!(!ok, "started with a world-readable KEK: {stderr}");
    assert!(
        stderr.contains(&format!("chmod 600 {}", kek.display())),
        "{stderr}"
    );
    // With the fix applied it starts.
    std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let (child, _lines) = spawn(&dir, port);
    wait_healthy(port).await;
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
