//! Start-up errors of the real `vdc serve` (issue 18, item 7): each bad setting stops the
//! process with exit code 1 before it binds or opens the store, and stderr names the setting,
//! says what is wrong with its value and how to fix it (instead of serde's "found unsigned
//! int", a bare "No such file or directory", "sqlite error code 14" or an accepted public URL
//! without a scheme that the pages then print as `vdc.example.com/`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::files::{KillOnDrop, free_port};

/// Runs `vdc serve` with `args` and `env` (nothing else of the test's `VDC_*` environment);
/// returns the exit code and stderr. A server that starts instead of refusing is killed after
/// a generous bound (a hang guard, not a timed assertion) and fails the test.
fn refused(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = data_dir();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdc"));
    cmd.env_clear()
        .env("VDC_DATA_DIR", &dir)
        .env("VDC_ADMIN_KEY", vdc_testkit::ADMIN_KEY)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = KillOnDrop(cmd.spawn().unwrap());
    // stderr reaches its end when the process exits; a server that keeps running instead
    // is caught by the bound and killed (on drop).
    let mut pipe = child.0.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stderr = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        let _ = tx.send(stderr);
    });
    let stderr = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("vdc {args:?} with {env:?} started instead of refusing"));
    let code = child.0.wait().unwrap().code();
    let _ = std::fs::remove_dir_all(&dir);
    (code, stderr)
}

fn data_dir() -> PathBuf {
    std::env::temp_dir().join(format!(
        "vdc-startup-{}-{}",
        std::process::id(),
        free_port()
    ))
}

fn assert_says(what: &str, (code, stderr): (Option<i32>, String), needles: &[&str]) {
    assert_eq!(code, Some(1), "{what}: exit code; stderr: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{what}: stderr lacks {needle:?}: {stderr}"
        );
    }
}

#[test]
fn a_public_url_without_a_scheme_is_refused_with_the_fix() {
    let listen = format!("127.0.0.1:{}", free_port());
    assert_says(
        "VDC_PUBLIC_URL without a scheme",
        refused(
            &["serve", "--listen", &listen],
            &[("VDC_PUBLIC_URL", "vdc.example.com")],
        ),
        &[
            "VDC_PUBLIC_URL",
            "vdc.example.com",
            "no scheme",
            "fix:",
            "https://",
        ],
    );
    assert_says(
        "--public-url with a query",
        refused(
            &[
                "serve",
                "--listen",
                &listen,
                "--public-url",
                "https://a.example/?x=1",
            ],
            &[],
        ),
        &["--public-url", "query", "fix:"],
    );
}

#[test]
fn a_listen_port_without_a_host_is_refused_with_the_fix() {
    assert_says(
        "VDC_LISTEN=8080",
        refused(&["serve"], &[("VDC_LISTEN", "8080")]),
        &[
            "VDC_LISTEN",
            "\"8080\"",
            "host:port",
            "fix:",
            "0.0.0.0:8080",
        ],
    );
}

#[test]
fn a_missing_config_file_is_named_with_the_fix() {
    assert_says(
        "--config nope.toml",
        refused(&["--config", "nope.toml", "serve"], &[]),
        &[
            "--config nope.toml",
            "No such file",
            "TOML file",
            "leave --config out",
        ],
    );
}

#[test]
fn a_bad_config_value_names_its_key_and_where_the_values_are() {
    let file = data_dir().with_extension("toml");
    std::fs::write(&file, "demo = \"yes please\"\n").unwrap();
    let out = refused(&["--config", file.to_str().unwrap(), "serve"], &[]);
    let _ = std::fs::remove_file(&file);
    assert_says(
        "demo = \"yes please\"",
        out,
        &["`demo` in ", "expected a boolean", "fix:", "docs/CONFIG.md"],
    );
    assert_says(
        "VDC_WEBHOOK_MAX_ATTEMPTS=many",
        refused(&["serve"], &[("VDC_WEBHOOK_MAX_ATTEMPTS", "many")]),
        &["VDC_WEBHOOK_MAX_ATTEMPTS", "fix:", "docs/CONFIG.md"],
    );
}

#[test]
fn a_data_dir_that_cannot_be_written_is_named_with_the_fix() {
    // Below a regular file: no user (root included) can create it, unlike a chmod'ed one.
    let file = data_dir().with_extension("file");
    std::fs::write(&file, "").unwrap();
    let dir = file.join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let out = refused(
        &["serve", "--listen", &listen],
        &[("VDC_DATA_DIR", dir.to_str().unwrap())],
    );
    let _ = std::fs::remove_file(&file);
    assert_says(
        "unwritable VDC_DATA_DIR",
        out,
        &[
            "VDC_DATA_DIR",
            dir.to_str().unwrap(),
            "cannot be created or written",
            "fix:",
        ],
    );
}

#[test]
fn a_short_kek_says_it_must_be_32_bytes() {
    let listen = format!("127.0.0.1:{}", free_port());
    let short = vdc_core::base64url::encode([7u8; 16]);
    let (code, stderr) = refused(&["serve", "--listen", &listen], &[("VDC_KEK", &short)]);
    assert!(!stderr.contains(&short), "the KEK is printed: {stderr}");
    assert_says(
        "a 16-byte VDC_KEK",
        (code, stderr),
        &[
            "VDC_KEK",
            "decodes to 16 bytes",
            "exactly 32 bytes",
            "fix:",
            "basenc",
        ],
    );
    assert_says(
        "a VDC_KEK that is not base64url",
        refused(
            &["serve", "--listen", &listen],
            &[("VDC_KEK", "not base64 at all!")],
        ),
        &["VDC_KEK", "not unpadded base64url", "fix:"],
    );
}
