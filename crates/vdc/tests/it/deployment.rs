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

/// The items of every `ports:` list in docker-compose.yml (line-based: the file is plain
/// block YAML, and no YAML parser is a dependency).
fn published_ports(compose: &str) -> Vec<String> {
    let mut ports = Vec::new();
    let mut list_indent = None;
    for line in compose.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(base) = list_indent {
            if indent > base && trimmed.starts_with("- ") {
                let item = trimmed[2..].split('#').next().unwrap().trim();
                ports.push(item.trim_matches(|c| c == '"' || c == '\'').to_owned());
                continue;
            }
            list_indent = None;
        }
        if trimmed == "ports:" {
            list_indent = Some(indent);
        } else if let Some(rest) = trimmed.strip_prefix("ports:") {
            // A flow list (`ports: ["8080:8080"]`) counts as well.
            for item in rest.trim().trim_matches(['[', ']']).split(',') {
                ports.push(item.trim().trim_matches(['"', '\'']).to_owned());
            }
        }
    }
    ports
}

/// Issue 18, item 9: the compose file runs with `VDC_DEMO=true` and a public admin key, so
/// it publishes its port on loopback only (README: keep the demo on loopback).
#[test]
fn docker_compose_publishes_the_demo_on_loopback_only() {
    let compose = repo_file("docker-compose.yml");
    assert!(
        compose.contains("VDC_DEMO: \"true\""),
        "the check below assumes the demo"
    );
    let ports = published_ports(&compose);
    assert!(!ports.is_empty(), "docker-compose.yml publishes no port");
    for port in &ports {
        assert!(
            port.starts_with("127.0.0.1:") && port.split(':').count() == 3,
            "docker-compose.yml publishes {port:?} beyond loopback; use \"127.0.0.1:8080:8080\""
        );
    }
    // The parser sees a list that binds every interface (so the check above can fail).
    assert_eq!(
        published_ports(
            "  vdc:\n    ports:\n      - \"8080:8080\"\n    volumes:\n      - x:/data\n"
        ),
        ["8080:8080"]
    );
}

/// Issue 18, item 9: the Dockerfile compiles the dependencies in a layer before it copies the
/// sources, so a source change does not rebuild every dependency.
#[test]
fn the_dockerfile_builds_dependencies_before_copying_the_sources() {
    let dockerfile = repo_file("Dockerfile");
    // The stage that builds the binary, as its instruction lines.
    let stages: Vec<Vec<&str>> = dockerfile
        .split("\nFROM ")
        .map(|s| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .collect()
        })
        .collect();
    let build = stages
        .iter()
        .find(|s| s.iter().any(|l| l.contains("cargo build --release")))
        .expect("a stage runs cargo build --release");
    let position = |what: &dyn Fn(&str) -> bool| build.iter().position(|l| what(l));
    let copy_all =
        position(&|l| l.starts_with("COPY . ")).expect("the build stage copies the tree");
    let cook = position(&|l| l.starts_with("RUN cargo chef cook"))
        .expect("the build stage compiles the dependencies with `cargo chef cook`");
    let build_at = position(&|l| l.starts_with("RUN cargo build --release")).unwrap();
    assert!(
        cook < copy_all && copy_all < build_at,
        "dependencies (cook) must be built before `COPY . .`, the binary after: {build:#?}"
    );
    // What the cook step sees is the recipe only, not the sources.
    for line in &build[..cook] {
        assert!(
            !line.starts_with("COPY . ") && !line.starts_with("ADD "),
            "the tree is copied before the dependency layer: {line}"
        );
    }
    assert!(
        dockerfile.contains("cargo chef prepare --recipe-path recipe.json")
            && build[..cook].iter().any(|l| l.contains("recipe.json")),
        "the build stage cooks the recipe a planner stage prepared"
    );
}

/// Issue 18, item 9: the build context leaves out what .gitignore leaves out (node_modules of
/// the browser tests among them), so the copy of the tree stays small and its cache valid.
#[test]
fn the_dockerignore_excludes_what_git_ignores() {
    let ignore = repo_file(".dockerignore");
    let patterns: BTreeSet<&str> = ignore
        .lines()
        .map(|l| l.trim().trim_end_matches('/'))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for entry in repo_file(".gitignore").lines().map(str::trim) {
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let anchored = entry.starts_with('/');
        let path = entry.trim_matches('/');
        let last = path.rsplit('/').next().unwrap();
        let wildcard = format!("**/{last}");
        assert!(
            (anchored && patterns.contains(path)) || patterns.contains(wildcard.as_str()),
            ".dockerignore lacks {path:?} (ignored by .gitignore as {entry:?})"
        );
    }
    assert!(
        patterns.contains("tests/browser/node_modules") || patterns.contains("**/node_modules")
    );
}
