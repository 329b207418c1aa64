//! The deployment files and the docs agree with the binary: every `VDC_*` variable the
//! Dockerfile and docker-compose.yml set is one the server reads, every variable it reads is
//! documented in docs/CONFIG.md, and the container health check names a real subcommand.
//! (The images themselves are not built here: this machine has no Docker daemon.)

use std::collections::BTreeSet;
use std::path::PathBuf;

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `VDC_[A-Z0-9_]+` token in `text`.
fn env_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("VDC_") {
        let start = i + pos;
        let mut end = start + 4;
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        names.insert(text[start..end].to_owned());
        i = end;
    }
    names
}

#[test]
fn deployment_files_set_only_variables_the_server_reads() {
    for file in ["Dockerfile", "docker-compose.yml"] {
        let names = env_names(&repo_file(file));
        assert!(!names.is_empty(), "{file} sets no VDC_ variable");
        for name in names {
            assert!(
                vdc::config::KNOWN_ENV.contains(&name.as_str()),
                "{file} sets {name}, which vdc does not read"
            );
        }
    }
}

#[test]
fn every_variable_the_server_reads_is_documented() {
    let documented = env_names(&repo_file("docs/CONFIG.md"));
    for name in vdc::config::KNOWN_ENV {
        assert!(
            documented.contains(*name),
            "{name} is missing from docs/CONFIG.md"
        );
    }
}

#[test]
fn the_container_health_check_is_a_real_subcommand() {
    for file in ["Dockerfile", "docker-compose.yml"] {
        assert!(
            repo_file(file).contains("\"vdc\", \"health\""),
            "{file} has no `vdc health` check"
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["health", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // Nothing listens on port 9 (discard) of loopback: not ready, exit 1.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["health", "--url", "http://127.0.0.1:9/readyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}
