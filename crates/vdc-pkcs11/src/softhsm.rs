//! SoftHSM2 tokens for tests (this crate's and the server's): every token lives in the
//! private directory `SOFTHSM2_CONF` names (scripts/test.sh makes it), never in the system
//! token directory. Missing SoftHSM2 or configuration fails loudly, naming what to run.

// Test support: failing loudly (and early) is its job, as in vdc-testkit.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Debian's SoftHSM2 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The variable holding the user PIN of every test token (scripts/test.sh sets it, as an
/// operator sets a `VDC_PKCS11_PIN*` variable for vdc).
pub const PIN_ENV: &str = "VDC_PKCS11_PIN_TEST";

/// The user PIN of the test tokens ([`PIN_ENV`]).
pub fn user_pin() -> String {
    std::env::var(PIN_ENV)
        .unwrap_or_else(|_| panic!("{PIN_ENV} is not set: run the tests through scripts/test.sh"))
}
const SO_PIN: &str = "4711-so";

fn conf() -> &'static Path {
    static CONF: OnceLock<PathBuf> = OnceLock::new();
    CONF.get_or_init(|| {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE} missing): run scripts/ensure-softhsm.sh (the HSM tests never skip)"
        );
        // The module reads its configuration from the environment when it is loaded, so the
        // test command (scripts/test.sh) points it at a private token directory; this code
        // cannot set it (no unsafe `set_var`), and must never use the system tokens.
        let conf = std::env::var_os("SOFTHSM2_CONF").map(PathBuf::from).unwrap_or_else(|| {
            panic!(
                "SOFTHSM2_CONF is not set: run the tests through scripts/test.sh, which makes a private SoftHSM2 token directory"
            )
        });
        assert!(
            conf.exists() && !conf.starts_with("/etc"),
            "SOFTHSM2_CONF={} must be a private configuration (scripts/test.sh makes one), not the system one",
            conf.display()
        );
        conf
    })
}

/// Tokens made per test process, before any test loads the module: SoftHSM2 reads its
/// token directory once, at `C_Initialize`, so a token made later is invisible to it.
pub const TOKENS: u32 = 16;

/// A fresh token (user PIN from [`PIN_ENV`]) of this process; its label. At most [`TOKENS`]
/// per process.
pub fn new_token(_prefix: &str) -> String {
    static MADE: OnceLock<()> = OnceLock::new();
    static N: AtomicU32 = AtomicU32::new(0);
    MADE.get_or_init(|| {
        for i in 0..TOKENS {
            init_token(&label(i));
        }
    });
    let n = N.fetch_add(1, Ordering::Relaxed);
    assert!(
        n < TOKENS,
        "more than {TOKENS} SoftHSM2 tokens in one test process"
    );
    label(n)
}

/// Test binaries share the directory: the process id keeps their labels apart.
fn label(i: u32) -> String {
    format!("vdc-{}-{i}", std::process::id())
}

fn init_token(label: &str) {
    let conf = conf();
    let out = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            &user_pin(),
            "--so-pin",
            SO_PIN,
        ])
        .output()
        .expect("softhsm2-util runs (scripts/ensure-softhsm.sh installs it)");
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
