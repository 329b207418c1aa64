//! The management API's OpenAPI document and the docs UI: the committed snapshot, coverage
//! of every operation the contract names, and both served over HTTP without an API key.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;
use vdc::config::Role;
use vdc::docs::{self, DOCS_PATH, OPENAPI_PATH, SWAGGER_UI_VERSION};
use vdc_testkit::TestServer;

vdc_testkit::both_backends!(
    openapi_json_is_served_without_a_key_as_openapi_3_1,
    docs_page_and_assets_are_served_with_content_types_cache_headers_and_csp,
    every_documented_operation_is_served_and_refuses_a_missing_key,
);

/// Contract operations whose routes other work is adding now; the coordinator empties this
/// list as they land (the coverage test fails once one of them is documented, so that it
/// is removed from here).
const NOT_YET_DOCUMENTED: &[&str] = &[];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `METHOD /path` with every `{param}` as `{}` (the contract and the code name parameters
/// differently, e.g. `{credential_id}` and `{id}`).
fn operation(method: &str, path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    format!("{} {out}", method.to_ascii_uppercase())
}

fn documented(doc: &Value) -> BTreeSet<String> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch", "head"].contains(&method.as_str()) {
                ops.insert(operation(method, path));
            }
        }
    }
    ops
}

fn generated() -> Value {
    serde_json::from_str(&docs::openapi_json(Role::All)).unwrap()
}

#[test]
fn openapi_document_matches_the_committed_snapshot() {
    let path = workspace_root().join("docs/openapi.json");
    let now = docs::openapi_json(Role::All);
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == now,
        "docs/openapi.json differs from the document the code generates (or is missing). \
         If the change is intended, rewrite it with\n  \
         UPDATE_OPENAPI=1 cargo test -p vdc --test it openapi_document_matches_the_committed_snapshot\n\
         and commit the result."
    );
}

#[test]
fn every_contract_operation_is_documented() {
    // The repository keeps its own copy of the contract (a clone needs nothing beside it);
    // CI compares the copy with the shared one when that folder exists (.ci/run).
    let contract_path = workspace_root().join("docs/contract/management-api.md");
    let contract = std::fs::read_to_string(&contract_path).unwrap_or_else(|e| {
        panic!(
            "the management API contract must be at {}: {e}",
            contract_path.display()
        )
    });
    let mut named = BTreeSet::new();
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
        let needle = format!("{method} /api/v1/");
        for (at, _) in contract.match_indices(&needle) {
            let rest = &contract[at + method.len() + 1..];
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '`' || c == '?')
                .unwrap_or(rest.len());
            named.insert(operation(method, &rest[..end]));
        }
    }
    // "`DELETE` on the same path cancels an offer": named without the path.
    assert!(contract.contains("`DELETE` on the same path cancels"));
    named.insert("DELETE /api/v1/issuers/{}/offers/{}".to_owned());
    assert!(
        named.len() >= 15,
        "contract parsing found too little: {named:?}"
    );

    let doc = documented(&generated());
    let missing: Vec<_> = named
        .iter()
        .filter(|op| !doc.contains(*op) && !NOT_YET_DOCUMENTED.contains(&op.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "contract operations missing from the OpenAPI document: {missing:?}"
    );
    for op in NOT_YET_DOCUMENTED {
        assert!(
            named.contains(*op),
            "{op} is no longer in the contract: drop it from NOT_YET_DOCUMENTED"
        );
        assert!(
            !doc.contains(*op),
            "{op} is documented now: drop it from NOT_YET_DOCUMENTED"
        );
    }
}

/// An independent validator (`@apidevtools/swagger-parser`, pinned in `conformance/`) accepts
/// the document: OpenAPI 3.1 JSON Schema, every `$ref` resolves, unique operation ids,
/// declared path parameters. Missing node fails the test, never skips it.
#[test]
fn independent_validator_accepts_the_document() {
    let dir = crate::conformance::conformance_dir();
    let validate = |doc: &str| {
        let mut child = Command::new("node")
            .arg(dir.join("openapi-js/validate.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed to validate the OpenAPI document");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(doc.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let answer: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "validate.mjs printed non-JSON ({e}): {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.success(), answer)
    };
    let doc = docs::openapi_json(Role::All);
    let (ok, answer) = validate(&doc);
    assert!(ok && answer["ok"] == true, "{answer}");
    assert_eq!(answer["openapi"], "3.1.0");
    // The validator does reject: a dangling reference.
    let broken = doc.replace(
        "#/components/schemas/ErrorBody",
        "#/components/schemas/Nope",
    );
    let (ok, answer) = validate(&broken);
    assert!(!ok && answer["ok"] == false, "{answer}");
}

#[test]
fn every_operation_documents_its_errors_with_the_error_body() {
    let doc = generated();
    let error_ref = "#/components/schemas/ErrorBody";
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        serde_json::json!(["error", "error_description"])
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for code in ["401", "403"] {
                assert!(responses.contains_key(code), "{method} {path} lacks {code}");
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} lacks 404");
            }
            let success: Vec<_> = responses.keys().filter(|c| c.starts_with('2')).collect();
            assert_eq!(success.len(), 1, "{method} {path}: {success:?}");
            for (code, r) in responses {
                if code.starts_with('4') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"], error_ref,
                        "{method} {path} {code}"
                    );
                }
            }
            if method == "post" || method == "put" {
                assert!(op["requestBody"]["content"]["application/json"].is_object());
                assert!(responses.contains_key("400") && responses.contains_key("415"));
            }
            assert!(
                op["tags"].as_array().is_some_and(|t| t.len() == 1),
                "{method} {path}"
            );
        }
    }
    // Contract status codes where they are specific.
    let ops = &doc["paths"];
    assert!(ops["/api/v1/issuers"]["post"]["responses"]["201"].is_object());
    assert!(ops["/api/v1/issuers/{issuer}/offers"]["post"]["responses"]["201"].is_object());
    assert!(ops["/api/v1/verifiers"]["post"]["responses"]["201"].is_object());
    assert!(ops["/api/v1/verifiers/{verifier}/requests"]["post"]["responses"]["201"].is_object());
    assert!(ops["/api/v1/issuers/{issuer}/offers/{id}"]["delete"]["responses"]["204"].is_object());
    assert!(
        ops["/api/v1/issuers/{issuer}/credentials/{id}/status"]["post"]["responses"]["409"]
            .is_object()
    );
    assert_eq!(doc["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

async fn openapi_json_is_served_without_a_key_as_openapi_3_1(server: &TestServer) {
    let r = server
        .http
        .get(server.url(OPENAPI_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "vdc management API");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc, generated());
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    server.http.get(server.url(path)).send().await.unwrap()
}

async fn docs_page_and_assets_are_served_with_content_types_cache_headers_and_csp(
    server: &TestServer,
) {
    let base = format!("{DOCS_PATH}/swagger-ui-{SWAGGER_UI_VERSION}");
    let cases = [
        (DOCS_PATH.to_owned(), "text/html; charset=utf-8", "no-cache"),
        (
            format!("{DOCS_PATH}/docs-init.js"),
            "text/javascript; charset=utf-8",
            "no-cache",
        ),
        (
            format!("{base}/swagger-ui-bundle.js"),
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            format!("{base}/swagger-ui.css"),
            "text/css; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            format!("{base}/LICENSE"),
            "text/plain; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
    ];
    for (path, content_type, cache) in cases {
        let r = get(server, &path).await;
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], content_type, "{path}");
        assert_eq!(r.headers()["cache-control"], cache, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script_src, "script-src 'self'", "{path}");
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let body = r.text().await.unwrap();
        assert!(body.len() > 100, "{path}");
        if path == DOCS_PATH {
            assert!(body.contains(&format!("{base}/swagger-ui-bundle.js")));
            assert!(!body.contains("<script>"), "no inline script");
        }
        if path.ends_with("docs-init.js") {
            assert!(body.contains(OPENAPI_PATH));
        }
        if path.ends_with("swagger-ui-bundle.js") {
            assert!(body.contains("SwaggerUIBundle"));
        }
        if path.ends_with("LICENSE") {
            assert!(body.contains("Apache License"));
        }
    }
    // Only the vendored files: nothing else under /docs, no other version.
    for path in [
        format!("{DOCS_PATH}/swagger-ui-0.0.0/swagger-ui-bundle.js"),
        format!("{base}/swagger-ui-bundle.js.map"),
        format!("{DOCS_PATH}/index.html"),
    ] {
        assert_eq!(get(server, &path).await.status(), 404, "{path}");
    }
}

async fn every_documented_operation_is_served_and_refuses_a_missing_key(server: &TestServer) {
    let doc = generated();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let r = server
                .http
                .request(m, server.url(&concrete))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            // A route that is documented but not served would be 404 or 405.
            assert_eq!(r.status(), 401, "{method} {concrete}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "unauthorized", "{method} {concrete}");
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked}");
}

/// The README's sample output of `vdc serve --demo` (issue 18, item 10) is what the real
/// binary prints on a fresh start, line for line: the port is 8080 there and the generated
/// admin key `<key>`.
#[test]
fn readme_banner_is_what_serve_demo_prints() {
    use std::io::{BufRead as _, BufReader};
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let after = readme
        .split_once("It prints the page URLs")
        .expect("README introduces the banner with 'It prints the page URLs'")
        .1;
    let block = after
        .split_once("```\n")
        .unwrap()
        .1
        .split_once("```")
        .unwrap()
        .0;
    let documented: Vec<&str> = block.lines().collect();

    let dir = std::env::temp_dir().join(format!(
        "vdc-banner-{}-{}",
        std::process::id(),
        crate::files::free_port()
    ));
    let port = crate::files::free_port();
    let mut child = crate::files::KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_vdc"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            // A fresh start as the README's reader has it: nothing configured.
            .env_clear()
            .env("VDC_DATA_DIR", &dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut printed = Vec::new();
    // The admin key line ends the banner; a server that exits early ends the lines.
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        let line = line.replace(&format!("127.0.0.1:{port}"), "127.0.0.1:8080");
        let last = line.starts_with("admin key");
        printed.push(match line.split_once("stored hashed): ") {
            Some((head, _key)) => format!("{head}stored hashed): <key>"),
            None => line,
        });
        if last {
            break;
        }
    }
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        documented, printed,
        "README.md's sample output differs from what `vdc serve --demo` prints"
    );
}

/// The workspace says `license = "Apache-2.0"`; the repository carries that license's text.
#[test]
fn the_license_file_is_the_apache_2_0_text() {
    let text = std::fs::read_to_string(workspace_root().join("LICENSE")).unwrap();
    assert!(text.trim_start().starts_with("Apache License"), "LICENSE");
    assert!(text.contains("Version 2.0, January 2004"));
    assert!(text.contains("END OF TERMS AND CONDITIONS"));
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"Apache-2.0\""));
}
