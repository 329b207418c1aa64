//! Interop: Status List Tokens signed here decode to the same statuses with the
//! independent @sd-jwt/jwt-status-list 0.19.0 (conformance/status-list-js/decode.mjs).
//!
//! Needs node ≥ 20 and npm (conformance/setup.sh installs the pinned packages). If they
//! are missing the test FAILS with a message saying so; it never skips.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use vdc_core::jose::Signer;
use vdc_core::time::UnixTime;
use vdc_status::{INVALID, SUSPENDED, StatusList, sign_status_list_token};

use crate::support::{NOW, signer};

fn conformance_dir() -> PathBuf {
    match std::env::var_os("VDC_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance"),
    }
}

/// Runs conformance/setup.sh once per test binary; panics with its output on failure.
fn setup() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = conformance_dir();
        let out = Command::new("bash")
            .arg(dir.join("setup.sh"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash conformance/setup.sh: {e}"));
        assert!(
            out.status.success(),
            "conformance/setup.sh failed (node >= 20, npm and python3 are required for the \
             interop tests; they are never skipped):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Feeds `request` to decode.mjs and returns its JSON answer and exit code.
fn js_decode(request: &Value) -> (Value, i32) {
    let dir = setup();
    let mut child = Command::new("node")
        .arg(dir.join("status-list-js/decode.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run node (Node.js >= 20 is required): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "decode.mjs printed no JSON; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (answer, out.status.code().unwrap_or(-1))
}

async fn signed(list: &StatusList, level: u32) -> (String, Value) {
    let key = signer(11);
    let token = sign_status_list_token(
        list,
        "https://issuer.example/statuslists/42",
        "https://issuer.example",
        UnixTime(NOW),
        UnixTime(NOW + 3600),
        600,
        level,
        None,
        &key,
    )
    .await
    .unwrap();
    (token, key.public_jwk().to_value())
}

#[tokio::test]
async fn sd_jwt_js_reads_our_lists_identically_for_every_bit_width() {
    for (bits, level) in [(1u8, 9u32), (2, 6), (4, 1), (8, 0)] {
        let mut list = StatusList::new(10_000, bits).unwrap();
        let max = ((1u16 << bits) - 1) as u8;
        let marked: Vec<(usize, u8)> = vec![
            (0, INVALID),
            (1, SUSPENDED.min(max)),
            (2, max),
            (7, INVALID),
            (8, SUSPENDED.min(max)),
            (1993, INVALID),
            (5000, max),
            (list.len() - 1, INVALID),
        ];
        for &(i, v) in &marked {
            list.set(i, v).unwrap();
        }
        let indexes: Vec<usize> = marked
            .iter()
            .map(|&(i, _)| i)
            .chain([3, 4, 9, 6000, 9998])
            .collect();
        let (token, jwk) = signed(&list, level).await;
        let (answer, code) = js_decode(&json!({"token": token, "indexes": indexes, "jwk": jwk}));
        assert_eq!(code, 0, "bits {bits}: {answer}");
        assert_eq!(answer["bits"], json!(bits));
        assert_eq!(answer["typ"], json!("statuslist+jwt"));
        assert_eq!(
            answer["sub"],
            json!("https://issuer.example/statuslists/42")
        );
        assert_eq!(answer["verified"], json!(true));
        let ours: Vec<u8> = indexes.iter().map(|&i| list.get(i).unwrap()).collect();
        assert_eq!(answer["statuses"], json!(ours), "bits {bits}");
        assert!(ours.iter().any(|&s| s != 0) && ours.contains(&0));
    }
}

#[tokio::test]
async fn sd_jwt_js_driver_rejects_a_tampered_signature() {
    let list = StatusList::new(1024, 1).unwrap();
    let (token, jwk) = signed(&list, 9).await;
    // Verification with another key fails in the driver (it checks ES256 itself).
    let other = signer(12).public_jwk().to_value();
    let (answer, code) = js_decode(&json!({"token": token, "indexes": [0], "jwk": other}));
    assert_eq!(code, 1, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("signature"));
    // And the right key is accepted, so the failure above is the key's.
    let (answer, code) = js_decode(&json!({"token": token, "indexes": [0], "jwk": jwk}));
    assert_eq!((code, &answer["statuses"]), (0, &json!([0])), "{answer}");
}
