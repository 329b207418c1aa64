//! HAIP 1.0 mode, the one switch (contract-next "HAIP mode", docs/HAIP.md): a HAIP-mode
//! issuer refuses settings that break the profile with 400 naming the section, reports each
//! rule at `GET /api/v1/issuers/{issuer}/haip`, and `VDC_HAIP` makes it the default.

use reqwest::Method;
use serde_json::{Value, json};
use vdc_core::jose::{Algorithm, SigningKey};
use vdc_core::rng::SystemRandom;
use vdc_core::time::UnixTime;
use vdc_core::x509::{self, CertificateSpec};
use vdc_testkit::{Backend, TestServer};

vdc_testkit::both_backends!(
    haip_issuer_refuses_each_setting_that_breaks_the_profile,
    haip_report_lists_every_rule_with_its_section,
    patch_into_haip_mode_is_checked_like_a_create,
);

/// A wallet provider's CA certificate (PEM), as an operator configures it.
fn provider_anchor() -> String {
    let rng = SystemRandom::new();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let now = UnixTime(1_700_000_000);
    let spec = CertificateSpec::new(
        "Test Wallet Provider CA",
        now,
        now.plus(1_000_000_000),
        &rng,
    )
    .unwrap()
    .ca();
    x509::to_pem(&x509::self_signed(&spec, &key).unwrap())
}

/// A create body that meets every HAIP configuration rule.
fn haip_issuer_body(id: &str) -> Value {
    json!({ "id": id, "haip": true, "require_dpop": true,
      "wallet_attestation_trust_anchors": [provider_anchor()],
      "identity_provider": {"issuer": "https://login.example.com", "client_id": "vdc",
          "client_secret": "secret", "scopes": ["openid"]},
      "credential_configurations": {
        "Badge": {"format": "dc+sd-jwt", "vct": "https://acme.example/vct/badge",
          "scope": "badge", "claims": [{"path": ["given_name"]}],
          "cryptographic_binding_methods_supported": ["jwk"]}}})
}

/// Sets `pointer` (parent must exist) in a copy of `body`.
fn with(body: &Value, pointer: &str, value: Value) -> Value {
    let mut v = body.clone();
    let (parent, name) = pointer.rsplit_once('/').unwrap();
    v.pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap()
        .insert(name.to_owned(), value);
    v
}

/// Spec: HAIP 1.0 §4 (authorization code flow, PAR, DPoP), §4.1 (a scope per
/// configuration), §4.4.1 (wallet attestation), §6 (formats), §6.1 (cnf.jwk), §7 (ES256):
/// each break is a 400 naming the section; nothing is created.
async fn haip_issuer_refuses_each_setting_that_breaks_the_profile(server: &TestServer) {
    let good = haip_issuer_body("acme");
    let breaks = [
        ("/identity_provider", json!(null), "§4 (authorization_code)"),
        (
            "/require_par",
            json!(false),
            "§4 (pushed_authorization_requests)",
        ),
        ("/require_dpop", json!(false), "§4 (dpop)"),
        (
            "/credential_configurations/Badge/scope",
            json!(null),
            "§4.1 (scope_per_configuration)",
        ),
        (
            "/wallet_attestation_trust_anchors",
            json!([]),
            "§4.4.1 (wallet_attestation)",
        ),
        (
            "/credential_configurations/Badge/cryptographic_binding_methods_supported",
            json!(["did:jwk"]),
            "§6.1 (cnf_jwk)",
        ),
        ("/signing_alg", json!("EdDSA"), "§7 (es256)"),
    ];
    for (pointer, value, section) in breaks {
        let (status, body) = server
            .admin_post("/api/v1/issuers", &with(&good, pointer, value))
            .await;
        assert_eq!(status, 400, "{pointer}: {body}");
        assert_eq!(body["error"], "invalid_request");
        let d = body["error_description"].as_str().unwrap();
        assert!(d.contains(&format!("HAIP 1.0 {section}")), "{pointer}: {d}");
    }
    let (status, _) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(status, 404, "no refused create left an issuer behind");
    // A second format in HAIP mode: §6.
    let w3c = json!({"format": "jwt_vc_json",
        "credential_definition": {"type": ["VerifiableCredential", "Badge"]},
        "scope": "w3c", "claims": [{"path": ["credentialSubject", "given_name"]}],
        "cryptographic_binding_methods_supported": ["jwk"]});
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &with(&good, "/credential_configurations/W3C", w3c),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("§6 (credential_format)")
    );
    // The same body outside HAIP mode is fine; the good one in HAIP mode too.
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &with(
                &with(&good, "/haip", json!(false)),
                "/require_dpop",
                json!(false),
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["haip"], false);
    let (status, body) = server
        .admin_post("/api/v1/issuers", &with(&good, "/id", json!("strict")))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["haip"], true);
}

/// `GET /api/v1/issuers/{issuer}/haip`: every rule with a section, met or not; a HAIP-mode
/// issuer meets every configuration rule, and the deployment rule (https) shows unmet on
/// this plain-HTTP test server.
async fn haip_report_lists_every_rule_with_its_section(server: &TestServer) {
    let (status, _) = server
        .admin_post("/api/v1/issuers", &haip_issuer_body("acme"))
        .await;
    assert_eq!(status, 201);
    let (status, report) = server.admin_get("/api/v1/issuers/acme/haip").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["haip"], true);
    let rules = report["rules"].as_array().unwrap();
    let rule = |id: &str| {
        rules
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no rule {id}: {report}"))
    };
    for r in rules {
        assert!(r["section"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["detail"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["met"].is_boolean(), "{r}");
    }
    for id in [
        "authorization_code",
        "dpop",
        "scope_per_configuration",
        "wallet_attestation",
        "wallet_attestation_required",
        "cnf_jwk",
        "es256",
    ] {
        assert_eq!(rule(id)["met"], true, "{id}");
    }
    assert_eq!(rule("https")["met"], false, "the test server is plain HTTP");
    assert_eq!(rule("wallet_attestation")["section"], "4.4.1");
    // A plain issuer reports the rules it would break.
    let (status, _) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "plain", "credential_configurations": {"Badge": {
                "format": "dc+sd-jwt", "vct": "https://acme.example/vct/badge",
                "claims": [{"path": ["given_name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, report) = server.admin_get("/api/v1/issuers/plain/haip").await;
    assert_eq!(report["haip"], false);
    let unmet: Vec<&str> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["met"] == false)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    for id in [
        "authorization_code",
        "dpop",
        "scope_per_configuration",
        "wallet_attestation",
    ] {
        assert!(unmet.contains(&id), "{id} unmet: {unmet:?}");
    }
    let (status, _) = server.admin_get("/api/v1/issuers/nope/haip").await;
    assert_eq!(status, 404);
    let r = reqwest::Client::new()
        .get(server.url("/api/v1/issuers/acme/haip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the report needs a key");
}

/// A `PATCH` to `"haip": true` is validated as a HAIP create: refused while a rule is broken
/// (the issuer stays as it was), accepted once the settings are there.
async fn patch_into_haip_mode_is_checked_like_a_create(server: &TestServer) {
    let body = with(
        &with(&haip_issuer_body("acme"), "/haip", json!(false)),
        "/require_dpop",
        json!(false),
    );
    let (status, _) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201);
    let patch = |b: Value| async move {
        let r = server
            .admin(Method::PATCH, "/api/v1/issuers/acme")
            .json(&b)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, body) = patch(json!({"haip": true})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("HAIP 1.0 §4 (dpop)"),
        "{body}"
    );
    let (_, stored) = server.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(stored["haip"], false, "a refused PATCH changes nothing");
    let (status, body) = patch(json!({"haip": true, "require_dpop": true})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["haip"], true);
}

/// `VDC_HAIP=true`: an issuer created without `haip` is in HAIP mode (so a plain body is
/// refused), one that says `"haip": false` is not.
mod haip_by_default {
    use super::*;

    vdc_testkit::both_backends_with!(
        haip_server,
        vdc_haip_makes_new_issuers_haip_unless_they_say_otherwise
    );

    async fn haip_server(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |c| c.haip = true).await
    }

    async fn vdc_haip_makes_new_issuers_haip_unless_they_say_otherwise(server: &TestServer) {
        let plain = json!({"id": "plain", "credential_configurations": {"Badge": {
        "format": "dc+sd-jwt", "vct": "https://acme.example/vct/badge",
        "claims": [{"path": ["given_name"]}]}}});
        let (status, body) = server.admin_post("/api/v1/issuers", &plain).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("HAIP 1.0 §"),
            "{body}"
        );
        let (status, body) = server
            .admin_post("/api/v1/issuers", &with(&plain, "/haip", json!(false)))
            .await;
        assert_eq!(status, 201, "{body}");
        let mut haip = haip_issuer_body("strict");
        haip.as_object_mut().unwrap().remove("haip");
        let (status, body) = server.admin_post("/api/v1/issuers", &haip).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["haip"], true, "the server default applies");
    }
}
