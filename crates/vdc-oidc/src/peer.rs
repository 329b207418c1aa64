//! A real OpenID Provider for tests: `conformance/idp/provider.mjs` (npm `oidc-provider`) as
//! a child process on 127.0.0.1, and `conformance/idp/login.mjs` as the browser.
//!
//! Test support: failures panic with the provider's stderr (feature `testing` only).
#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

/// How long the provider may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one scripted login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(60);
/// Most stderr kept for failure messages.
const MAX_STDERR: usize = 64 * 1024;

static CONFIG_COUNTER: AtomicU64 = AtomicU64::new(0);
static INSTALL: Mutex<()> = Mutex::new(());

/// A running `conformance/idp/provider.mjs`; killed on drop.
///
/// Users (password): `ada` (`lovelace-test`, sub `emp-1001`, Ada Lovelace, with
/// `employee_number` "1001" from UserInfo only, scope `employee`) and `bob` (`bob-test`, sub
/// `emp-1002`, Bob Builder). Scopes `profile` and `email` put their claims in the ID token.
pub struct IdpPeer {
    child: Child,
    issuer: String,
    port: u16,
    dir: PathBuf,
    config_path: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for IdpPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpPeer")
            .field("issuer", &self.issuer)
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

/// `conformance/` (or `VDC_CONFORMANCE_DIR`).
fn conformance_dir() -> PathBuf {
    std::env::var_os("VDC_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance"))
}

/// Runs `npm ci` in `conformance/` when `oidc-provider` is not installed yet.
fn ensure_installed(dir: &std::path::Path) {
    let _once = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return;
    }
    let out = Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(dir)
        .args([
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("IdpPeer: cannot run npm (node >= 20 and npm are needed): {e}"));
    assert!(
        out.status.success(),
        "IdpPeer: npm ci --prefix {} failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn collected(stderr: &Mutex<String>) -> String {
    stderr
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

impl IdpPeer {
    /// Starts the provider with `clients` (an array of `{client_id, client_secret,
    /// redirect_uris}`), signing ID tokens with `alg` (`RS256` or `ES256`); `extra_args` go
    /// to `provider.mjs` (`--fail-token`, `--port N`, `--forge-id-token key|aud|nonce`: ID
    /// tokens signed by a key outside the JWKS, or with another `aud` or `nonce`). Panics,
    /// with the provider's stderr,
    /// if it does not come up.
    pub async fn start(clients: Value, alg: &str, extra_args: &[&str]) -> IdpPeer {
        let dir = conformance_dir();
        let install_dir = dir.clone();
        tokio::task::spawn_blocking(move || ensure_installed(&install_dir))
            .await
            .expect("IdpPeer: npm ci task failed");

        let config_path = std::env::temp_dir().join(format!(
            "vdc-idp-{}-{}.json",
            std::process::id(),
            CONFIG_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(
            &config_path,
            json!({"clients": clients, "alg": alg}).to_string(),
        )
        .unwrap_or_else(|e| panic!("IdpPeer: cannot write {}: {e}", config_path.display()));

        let mut child = Command::new("node")
            .arg(dir.join("idp/provider.mjs"))
            .arg("--config")
            .arg(&config_path)
            .args(extra_args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("IdpPeer: cannot start node (node >= 20 is needed): {e}"));

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if s.len() < MAX_STDERR {
                    s.push_str(&String::from_utf8_lossy(buf.get(..n).unwrap_or_default()));
                }
            }
        });

        // The ready line, then keep draining stdout so the provider never blocks on it.
        let out_pipe = child.stdout.take().expect("stdout is piped");
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<(String, u16)>();
        std::thread::spawn(move || {
            let mut ready_tx = Some(ready_tx);
            for line in BufReader::new(out_pipe).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let (Some(issuer), Some(port)) = (v["issuer"].as_str(), v["port"].as_u64())
                    && let Some(tx) = ready_tx.take()
                {
                    let _ = tx.send((issuer.to_owned(), u16::try_from(port).unwrap_or(0)));
                }
            }
        });

        match tokio::time::timeout(READY_TIMEOUT, ready_rx).await {
            Ok(Ok((issuer, port))) => IdpPeer {
                child,
                issuer,
                port,
                dir,
                config_path,
                stderr,
            },
            outcome => {
                let _ = child.kill();
                let status = child.wait();
                let _ = stderr_reader.join();
                let _ = std::fs::remove_file(&config_path);
                let why = if outcome.is_err() {
                    format!("no ready line within {READY_TIMEOUT:?}")
                } else {
                    format!("exited ({status:?}) without a ready line")
                };
                panic!(
                    "IdpPeer: conformance/idp/provider.mjs did not start: {why}\n--- stderr ---\n{}",
                    collected(&stderr)
                );
            }
        }
    }

    /// The provider's Issuer Identifier, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port the provider listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the provider wrote to stderr so far.
    pub fn stderr(&self) -> String {
        collected(&self.stderr)
    }

    /// Logs `user` in through `authorize_url` like a browser (`login.mjs`) and returns the
    /// redirect to `redirect_prefix` (carrying `code` and `state`). Panics if the login does
    /// not end there (use [`IdpPeer::try_login`] to see a refusal).
    pub async fn login(
        &self,
        authorize_url: &str,
        redirect_prefix: &str,
        user: &str,
        password: &str,
    ) -> String {
        match self
            .try_login(authorize_url, redirect_prefix, user, password)
            .await
        {
            Ok(redirect) => redirect,
            Err(e) => panic!(
                "IdpPeer: login failed: {e}\n--- provider stderr ---\n{}",
                self.stderr()
            ),
        }
    }

    /// Like [`IdpPeer::login`], returning `login.mjs`'s message when the login does not end
    /// at `redirect_prefix` (a wrong password, an error page).
    pub async fn try_login(
        &self,
        authorize_url: &str,
        redirect_prefix: &str,
        user: &str,
        password: &str,
    ) -> Result<String, String> {
        let script = self.dir.join("idp/login.mjs");
        let args = [authorize_url, redirect_prefix, user, password].map(str::to_owned);
        let run = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(script)
                .args(args)
                .stdin(Stdio::null())
                .output()
        });
        let out = tokio::time::timeout(LOGIN_TIMEOUT, run)
            .await
            .map_err(|_| format!("login.mjs took longer than {LOGIN_TIMEOUT:?}"))?
            .expect("IdpPeer: login task failed")
            .map_err(|e| format!("cannot run node: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "login.mjs exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .and_then(|v| v["redirect"].as_str().map(str::to_owned))
            .ok_or_else(|| format!("login.mjs printed no redirect: {stdout}"))
    }
}

impl Drop for IdpPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}
