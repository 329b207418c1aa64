//! A third-party wallet (npm `@openid4vc/openid4vci` 0.4.6 + `@openid4vc/oauth2`, with
//! `@sd-jwt/sd-jwt-vc` 0.19.0 verifying the result) completes the pre-authorized flow against
//! the server. The driver lives in `conformance/openid4vci-js/` (contract in
//! `conformance/README.md`); missing node or packages fail the test, never skip it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    openid4vc_wallet_completes_the_pre_authorized_flow,
    openid4vp_wallet_presents_with_direct_post_and_direct_post_jwt,
);

/// The conformance directory, set up once per test binary (`conformance/setup.sh`).
pub(crate) fn conformance_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::var_os("VDC_CONFORMANCE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance"));
        let out = Command::new("bash").arg(dir.join("setup.sh")).output().expect("bash runs conformance/setup.sh");
        assert!(
            out.status.success(),
            "conformance/setup.sh failed (node >= 20 and npm are required; this test never skips):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Runs the third-party wallet in a blocking thread (it makes HTTP calls to our server, which
/// runs on this test's runtime).
pub(crate) async fn third_party_wallet(input: Value) -> Value {
    run_driver("openid4vci-js/wallet.mjs", input).await
}

/// Runs the third-party OpenID4VP wallet (`@openid4vc/openid4vp`, conformance/README.md for
/// the JSON contract) on one authorization request.
pub(crate) async fn third_party_presentation(input: Value) -> Value {
    run_driver("openid4vp-js/wallet.mjs", input).await
}

/// Runs a conformance driver (`conformance/<script>`) with `input` on stdin.
async fn run_driver(script: &'static str, input: Value) -> Value {
    let dir = conformance_dir().clone();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(dir.join(script))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node must be installed to run the conformance wallet");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "wallet.mjs crashed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("wallet.mjs printed non-JSON ({e}): {stdout}"))
    })
    .await
    .unwrap()
}

async fn openid4vc_wallet_completes_the_pre_authorized_flow(server: &TestServer) {
    let offer = server.offer("demo", &badge_offer(true)).await;
    let out = third_party_wallet(json!({
        "offer_uri": offer["offer_uri"], "tx_code": offer["tx_code"], "allow_http": true,
    }))
    .await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["format"], "dc+sd-jwt");
    assert_eq!(
        out["steps"],
        json!([
            "resolve_offer",
            "metadata",
            "token",
            "nonce",
            "credential",
            "verify"
        ])
    );
    assert_eq!(out["claims"]["given_name"], "Ada");
    assert_eq!(out["claims"]["employee_id"], "E-1");
    assert_eq!(out["claims"]["iss"], server.issuer_url("demo"));
    // What the third party received verifies with our verifier too.
    let claims = verify_sd_jwt_vc(server, "demo", out["credentials"][0].as_str().unwrap()).await;
    assert_eq!(claims["family_name"], "Lovelace");

    // A wrong tx_code is refused with invalid_grant, as the library reports it.
    let offer = server.offer("demo", &badge_offer(true)).await;
    let wrong = if offer["tx_code"] == "000000" {
        "111111"
    } else {
        "000000"
    };
    let out = third_party_wallet(
        json!({"offer_uri": offer["offer_uri"], "tx_code": wrong, "allow_http": true}),
    )
    .await;
    assert_eq!(
        (
            out["ok"].as_bool(),
            out["step"].as_str(),
            out["error_code"].as_str()
        ),
        (Some(false), Some("token"), Some("invalid_grant")),
        "{out}"
    );
}

/// The third-party OpenID4VP wallet (npm `@openid4vc/openid4vp` 0.4.6, presenting with
/// `@sd-jwt/sd-jwt-vc` 0.19.0) answers requests of `x509_hash` and `decentralized_identifier`
/// verifiers with `direct_post` and `direct_post.jwt`; vdc verifies each presentation, and
/// the result holds exactly the claims the query named.
async fn openid4vp_wallet_presents_with_direct_post_and_direct_post_jwt(server: &TestServer) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let wallet = server.wallet();
    let accepted = wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let credential = &accepted.credentials[0];
    let holder_jwk: Value = serde_json::from_str(
        &credential
            .holder_private_jwk
            .as_ref()
            .unwrap()
            .signing_key()
            .unwrap()
            .to_private_jwk(),
    )
    .unwrap();
    for prefix in ["x509_hash", "decentralized_identifier"] {
        let id = prefix.replace('_', "-");
        let (status, verifier) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": id, "client_id_prefix": prefix,
                    "trusted_issuers": [server.issuer_url("demo")]}),
            )
            .await;
        assert_eq!(status, 201, "{verifier}");
        for mode in ["direct_post", "direct_post.jwt"] {
            let (status, created) = server
                .admin_post(
                    &format!("/api/v1/verifiers/{id}/requests"),
                    &json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
                        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]},
                        "response_mode": mode}),
                )
                .await;
            assert_eq!(status, 201, "{created}");
            let answer = run_driver(
                "openid4vp-js/wallet.mjs",
                json!({"authorization_request": created["authorization_request"],
                    "trust_anchor_pem": verifier["trust_anchor"],
                    "credential": credential.credential,
                    "holder_private_jwk": holder_jwk,
                    "allow_http": true}),
            )
            .await;
            assert_eq!(answer["ok"], true, "{prefix} {mode}: {answer}");
            assert_eq!(answer["status"], 200, "{answer}");
            assert_eq!(answer["response_mode"], mode, "{answer}");
            assert_eq!(answer["client_id"], verifier["client_id"]);
            let (status, result) = server
                .admin_get(&format!(
                    "/api/v1/verifiers/{id}/requests/{}",
                    created["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(status, 200);
            assert_eq!(result["status"], "verified", "{prefix} {mode}: {result}");
            assert_eq!(
                result["presentation"]["badge"][0]["claims"],
                json!({"given_name": "Ada", "employee_id": "E-1"})
            );
        }
    }
}
