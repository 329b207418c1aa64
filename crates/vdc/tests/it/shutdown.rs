//! Graceful shutdown of the real `vdc serve` process (issue 6, "Deployment"): on SIGTERM the
//! server stops accepting, lets the request in flight finish, then exits 0.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(60);

struct KillOnDrop(Option<std::process::Child>);

impl KillOnDrop {
    fn get(&mut self) -> &mut std::process::Child {
        self.0.as_mut().unwrap()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits (bounded) for a stderr line containing `needle`.
fn wait_for_line(lines: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        match lines.recv_timeout(BOUND) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => {}
            Err(e) => panic!("no log line containing {needle:?}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_then_exits_zero() {
    let dir = std::env::temp_dir().join(format!("vdc-shutdown-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("VDC_DATABASE_URL")
        .env_remove("VDC_PUBLIC_URL")
        .env_remove("VDC_LISTEN")
        .env("VDC_DATA_DIR", &dir)
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        .env("VDC_KEK", vdc_core::base64url::encode([5u8; 32]))
        .env("VDC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Killed on drop if an assertion fails first.
    let mut child = KillOnDrop(Some(child));
    let stderr = child.get().stderr.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let ready = tokio::time::timeout(BOUND, async {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            if let Ok(r) = http.get(format!("{base}/healthz")).send().await
                && r.status() == 200
            {
                break;
            }
        }
    })
    .await;
    assert!(ready.is_ok(), "server never became healthy");
    // The container health check (`vdc health`) agrees.
    let health = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["health", "--url", &format!("{base}/readyz")])
        .env("VDC_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(health.status.success(), "{health:?}");

    // A request whose body is only half sent: in flight when the signal arrives.
    let body = br#"{"credential_configuration_ids":["EmployeeBadge"],"claims":{"EmployeeBadge":{"given_name":"Ada","employee_id":"E-1"}}}"#;
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    let head = format!(
        "POST /api/v1/issuers/demo/offers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        vdc_testkit::ADMIN_KEY,
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first).unwrap();
    stream.flush().unwrap();

    let status = Command::new("kill")
        .args(["-TERM", &child.get().id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_line(&lines, "shutting down");
    assert!(
        child.get().try_wait().unwrap().is_none(),
        "the server exited with a request in flight"
    );

    stream.write_all(rest).unwrap();
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("no response to the request in flight");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight did not complete: {response}"
    );
    assert!(response.contains("\"offer_uri\""), "{response}");

    let mut child = child.0.take().unwrap();
    let exited = tokio::task::spawn_blocking(move || {
        let (done_tx, done_rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = done_tx.send(());
            status
        });
        done_rx
            .recv_timeout(BOUND)
            .expect("the server did not exit");
        waiter.join().unwrap().unwrap()
    })
    .await
    .unwrap();
    assert!(exited.success(), "exit status {exited}");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "still accepting after shutdown"
    );
    let health = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["health", "--url", &format!("{base}/readyz")])
        .env("VDC_DATA_DIR", &dir)
        .output()
        .unwrap();
    assert!(!health.status.success(), "healthy after exit: {health:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
