//! Helpers shared by the end-to-end tests.

use serde_json::{Value, json};
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{AlgorithmPolicy, JwkSet};
use vdc_core::sd_jwt::{KeyBindingRequirement, VerifyOptions};
use vdc_core::sd_jwt_vc::{self, IssuerTrustPolicy};
use vdc_core::time::Clock as _;
use vdc_testkit::TestServer;

/// An offer body for the demo issuer's SD-JWT VC configuration.
pub(crate) fn badge_offer(tx_code: bool) -> Value {
    let mut body = json!({
        "credential_configuration_ids": ["EmployeeBadge"],
        "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1"}},
    });
    if tx_code {
        body["tx_code"] =
            json!({"length": 6, "input_mode": "numeric", "description": "sent by SMS"});
    }
    body
}

/// The pre-authorized code inside an offer creation response.
pub(crate) fn code_of(offer: &Value) -> String {
    offer["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Verifies an SD-JWT VC issued by the server with the keys it publishes as JWT VC Issuer
/// Metadata (fetched over HTTP); returns the processed claims.
pub(crate) async fn verify_sd_jwt_vc(
    server: &TestServer,
    issuer: &str,
    credential: &str,
) -> serde_json::Map<String, Value> {
    verify_sd_jwt_vc_via(server, server, issuer, credential).await
}

/// [`verify_sd_jwt_vc`] with the metadata fetched from `instance`, another instance of the
/// deployment whose public URL is `public`'s.
pub(crate) async fn verify_sd_jwt_vc_via(
    instance: &TestServer,
    public: &TestServer,
    issuer: &str,
    credential: &str,
) -> serde_json::Map<String, Value> {
    let server = public;
    let iss = server.issuer_url(issuer);
    let meta: Value = instance
        .http
        .get(instance.url(&format!("/.well-known/jwt-vc-issuer/issuers/{issuer}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], iss.as_str());
    let keys = JwkSet::from_value(&meta["jwks"]).unwrap();
    let policy = IssuerTrustPolicy::new(vec![iss.clone()]).pin(iss, keys);
    let algs = AlgorithmPolicy::default();
    let opts = VerifyOptions {
        policy: &algs,
        now: server.clock.now(),
        time_rules: TimeRules::default(),
        key_binding: KeyBindingRequirement::NotRequired,
    };
    sd_jwt_vc::verify(credential, &policy, &opts)
        .await
        .unwrap()
        .sd_jwt
        .claims
}

/// Token request form; returns status and body.
pub(crate) async fn token(
    server: &TestServer,
    issuer: &str,
    form: &[(&str, &str)],
) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = server
        .http
        .post(server.url(&format!("/issuers/{issuer}/token")))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// A token for a fresh offer (no tx_code).
pub(crate) async fn fresh_token(server: &TestServer, issuer: &str, body: &Value) -> String {
    let offer = server.offer(issuer, body).await;
    let (status, body, _) = token(
        server,
        issuer,
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// A fresh c_nonce.
pub(crate) async fn nonce(server: &TestServer, issuer: &str) -> String {
    let r: Value = server
        .http
        .post(server.url(&format!("/issuers/{issuer}/nonce")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["c_nonce"].as_str().unwrap().to_owned()
}

/// A key proof for `issuer` with `nonce`, by a fresh holder key; returns (proof, signer).
pub(crate) async fn proof(
    server: &TestServer,
    aud: &str,
    nonce: Option<&str>,
) -> (String, vdc_core::jose::LocalSigner) {
    let key = vdc_core::jose::SigningKey::generate(
        vdc_core::jose::Algorithm::Es256,
        &vdc_core::rng::SystemRandom::new(),
    )
    .unwrap();
    let holder = vdc_core::jose::LocalSigner::new(key);
    let p = vdc_core::key_proof::create(
        &holder,
        vdc_core::key_proof::ProofInput {
            audience: aud,
            nonce,
            client_id: None,
            iat: server.clock.now(),
        },
    )
    .await
    .unwrap();
    (p, holder)
}

/// A credential request; returns status, body, headers.
pub(crate) async fn credential(
    server: &TestServer,
    issuer: &str,
    token: &str,
    body: &Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = server
        .http
        .post(server.url(&format!("/issuers/{issuer}/credential")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

/// The pre-authorized code grant type.
pub(crate) const PRE: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// A loopback port for a peer that binds it later (an identity provider, a `vdc serve`
/// child). Chosen below the kernel's ephemeral range (Linux default 32768–60999): a port
/// from `bind(0)` comes from that range, so between closing the probe and the peer's own
/// bind, any parallel test's listener or outgoing connection could take it (CI saw
/// `EADDRINUSE` from the IdP). Here nothing the kernel assigns can collide, and each port is
/// handed out at most once per test binary.
pub(crate) fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::Mutex;
    static HANDED_OUT: Mutex<std::collections::BTreeSet<u16>> =
        Mutex::new(std::collections::BTreeSet::new());
    loop {
        let r = RandomState::new().hash_one(std::time::Instant::now());
        let port = 20_000 + u16::try_from(r % 12_000).expect("below 12000");
        if !HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
