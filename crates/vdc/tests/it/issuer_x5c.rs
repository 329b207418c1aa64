//! x5c at the issuer (issue 14, HAIP 1.0 §6.1, §6.1.1, §4.1): a HAIP-mode issuer without an
//! operator chain gets a per-issuer CA and a leaf for its signing key; its SD-JWT VCs and
//! Status List Tokens carry `x5c = [leaf]` (anchor excluded, leaf not self-signed), the CA
//! is exported (`trust_anchor`, `GET /issuers/{issuer}/trust-anchor.pem`, the issuer page),
//! signed Credential Issuer Metadata (OID4VCI 1.0 §12.2.3) is signed with the same key and
//! chain, and switching an issuer into HAIP mode replaces its key without breaking what the
//! old key signed.
//!
//! Issuance here uses the test wallet's pre-authorized code flow, which makes no wallet
//! attestation; a HAIP-mode issuer requires one (HAIP 1.0 §4.4.1), so credentials are
//! issued after a `PATCH` out of HAIP mode. The chain is the signing key's, not the mode's:
//! leaving HAIP mode keeps it, which the tests check too.

use reqwest::Method;
use serde_json::{Map, Value, json};
use vdc_core::jose::jws::{self, Jws};
use vdc_core::jose::{AlgorithmPolicy, JwkSet};
use vdc_core::time::Clock as _;
use vdc_core::x509::{self, TrustAnchors};
use vdc_testkit::{ADMIN_KEY, TestServer};

vdc_testkit::both_backends!(
    haip_issuer_signs_credentials_and_status_lists_with_a_leaf_under_its_own_ca,
    trust_anchor_is_served_as_pem_and_shown_on_the_issuer_page,
    signed_metadata_is_signed_with_the_leaf_and_says_what_the_json_says,
    signed_metadata_without_a_chain_is_refused,
    patch_into_haip_mode_replaces_the_key_and_old_credentials_still_verify,
);

/// A create body that meets HAIP 1.0's configuration rules (an identity provider, PAR and
/// DPoP, a scope per configuration, a wallet provider's anchor, `cnf.jwk`, ES256) and has no
/// `x5c`.
pub(crate) fn haip_issuer_body(id: &str) -> Value {
    use vdc_core::jose::{Algorithm, SigningKey};
    let rng = vdc_core::rng::SystemRandom::new();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let now = vdc_core::time::UnixTime(1_700_000_000);
    let spec = x509::CertificateSpec::new("Wallet Provider CA", now, now.plus(1_000_000_000), &rng)
        .unwrap()
        .ca();
    let provider = x509::to_pem(&x509::self_signed(&spec, &key).unwrap());
    json!({ "id": id, "haip": true, "require_dpop": true,
      "wallet_attestation_trust_anchors": [provider],
      "identity_provider": {"issuer": "https://login.example.com", "client_id": "vdc",
          "client_secret": "secret", "scopes": ["openid"]},
      "credential_configurations": {
        "Badge": {"format": "dc+sd-jwt", "vct": "https://vdc.example/vct/badge",
          "scope": "badge", "claims": [{"path": ["given_name"]}],
          "cryptographic_binding_methods_supported": ["jwk"]}}})
}

/// The switch to HAIP mode is durable: after a restart (signers opened from the store
/// again) the new key signs, because the old one is retired in the store, not only
/// replaced in this instance's cache.
mod restart {
    use vdc_testkit::{Backend, TestServer};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_key_switch_survives_a_restart() {
        super::key_switch_survives_a_restart(TestServer::start(Backend::Sqlite).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_key_switch_survives_a_restart() {
        super::key_switch_survives_a_restart(TestServer::start(Backend::Postgres).await).await;
    }
}

async fn key_switch_survives_a_restart(mut server: TestServer) {
    let mut body = haip_issuer_body("acme");
    body["haip"] = json!(false);
    body["require_dpop"] = json!(false);
    let (status, created) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{created}");
    let old_kid = issuer_jws(&issue_badge(&server, "acme").await)
        .kid()
        .unwrap()
        .to_owned();
    let (status, switched) =
        patch(&server, "acme", json!({"haip": true, "require_dpop": true})).await;
    assert_eq!(status, 200, "{switched}");
    server.restart().await;
    let object = leave_haip_mode(&server, "acme").await;
    assert_eq!(object["x5c"], switched["x5c"]);
    // Several credentials: each is signed by the new key, never by the retired one.
    for _ in 0..3 {
        let vc = issue_badge(&server, "acme").await;
        let vc = issuer_jws(&vc);
        assert_ne!(
            vc.kid(),
            Some(old_kid.as_str()),
            "the retired key signs nothing"
        );
        assert_haip_x5c(&vc, &object, &server);
    }
    server.stop().await;
}

async fn patch(server: &TestServer, issuer: &str, body: Value) -> (u16, Value) {
    let r = server
        .admin(Method::PATCH, &format!("/api/v1/issuers/{issuer}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Leaves HAIP mode (and DPoP) so the test wallet, which makes no wallet attestation, can be
/// issued credentials; the signing key and its chain stay.
async fn leave_haip_mode(server: &TestServer, issuer: &str) -> Value {
    let (status, object) = patch(
        server,
        issuer,
        json!({"haip": false, "require_dpop": false}),
    )
    .await;
    assert_eq!(status, 200, "{object}");
    object
}

/// Issues one `Badge` credential through a pre-authorized offer; the issuer-signed JWT.
async fn issue_badge(server: &TestServer, issuer: &str) -> String {
    let offer = server
        .offer(
            issuer,
            &json!({"credential_configuration_ids": ["Badge"],
                "claims": {"Badge": {"given_name": "Ada"}}}),
        )
        .await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    accepted.credentials[0].credential.clone()
}

fn issuer_jws(credential: &str) -> Jws<'_> {
    let jwt = credential.split('~').next().unwrap();
    jws::decode(jwt).unwrap()
}

fn der_chain(x5c: &Value) -> Vec<Vec<u8>> {
    x509::parse_x5c(x5c).unwrap()
}

fn anchor_of(object: &Value) -> TrustAnchors {
    TrustAnchors::from_pem(object["trust_anchor"].as_str().expect("trust_anchor")).unwrap()
}

/// HAIP 1.0 §6.1.1 and §6.1 on one chain: `x5c` is exactly the leaf, it validates to the
/// exported anchor and certifies the key that signed, the anchor itself is not in it, and
/// the leaf is not self-signed (it is no anchor of its own).
fn assert_haip_x5c(jws: &Jws<'_>, object: &Value, server: &TestServer) {
    let x5c = &jws.header["x5c"];
    assert_eq!(
        x5c, &object["x5c"],
        "the key's chain as the issuer object shows it"
    );
    let chain = der_chain(x5c);
    assert_eq!(chain.len(), 1, "x5c is the leaf alone");
    let anchors = anchor_of(object);
    assert!(
        !anchors.contains(&chain[0]),
        "the trust anchor is not in x5c"
    );
    let now = server.clock.now();
    let leaf = x509::validate_x5c(&chain, &anchors, now).unwrap();
    jws.verify(&leaf.public_key, &AlgorithmPolicy::default())
        .expect("signed by the key the leaf certifies");
    let itself = TrustAnchors::from_der_certs(vec![chain[0].clone()]).unwrap();
    assert!(
        x509::validate_x5c(&chain, &itself, now).is_err(),
        "the leaf is not self-signed"
    );
    let iss = object["credential_issuer"].as_str().unwrap();
    assert_eq!(leaf.uris, vec![iss.to_owned()], "the leaf names the issuer");
    assert_eq!(
        object["certificate"].as_str().unwrap(),
        x509::to_pem(&chain[0]),
        "`certificate` is the leaf"
    );
}

async fn get(server: &TestServer, url: &str, accept: Option<&str>) -> reqwest::Response {
    let mut r = server.http.get(url);
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    r.send().await.unwrap()
}

/// A HAIP-mode issuer created without `x5c`: the object shows `x5c = [leaf]`, the leaf's
/// PEM and the CA; its credentials and its Status List Token carry that `x5c`, which
/// validates to the CA; the JWT VC Issuer Metadata publishes the key with it. A created
/// body cannot set `trust_anchor` itself.
async fn haip_issuer_signs_credentials_and_status_lists_with_a_leaf_under_its_own_ca(
    server: &TestServer,
) {
    let mut body = haip_issuer_body("strict");
    body["trust_anchor"] = json!("-----BEGIN CERTIFICATE-----");
    let (status, refused) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"], "invalid_request");
    body.as_object_mut().unwrap().remove("trust_anchor");
    let (status, created) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["haip"], true);
    assert_eq!(
        created["x5c"].as_array().map(Vec::len),
        Some(1),
        "{created}"
    );
    let anchor_pem = created["trust_anchor"].as_str().unwrap();
    assert!(anchor_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let (_, read) = server.admin_get("/api/v1/issuers/strict").await;
    assert_eq!(read["trust_anchor"], created["trust_anchor"], "stored");
    assert_eq!(read["x5c"], created["x5c"]);
    // The published key carries the chain.
    let meta: Value = get(
        server,
        &server.url("/.well-known/jwt-vc-issuer/issuers/strict"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let keys = meta["jwks"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["x5c"], created["x5c"]);

    let object = leave_haip_mode(server, "strict").await;
    assert_eq!(
        object["x5c"], created["x5c"],
        "leaving HAIP mode keeps the chain"
    );
    assert_eq!(object["trust_anchor"], created["trust_anchor"]);
    let credential = issue_badge(server, "strict").await;
    let vc = issuer_jws(&credential);
    assert_haip_x5c(&vc, &object, server);
    assert_eq!(vc.claim_str("iss"), object["credential_issuer"].as_str());

    let uri = vc.payload["status"]["status_list"]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = get(server, &uri, None).await.text().await.unwrap();
    let list = jws::decode(&token).unwrap();
    assert_eq!(list.header_str("typ"), Some("statuslist+jwt"));
    assert_haip_x5c(&list, &object, server);
}

/// `GET /issuers/{issuer}/trust-anchor.pem` (public): the issuer object's `trust_anchor`, as
/// a PEM file; 404 for an issuer without a chain made by vdc and for an unknown one. The
/// issuer page shows the same PEM.
async fn trust_anchor_is_served_as_pem_and_shown_on_the_issuer_page(server: &TestServer) {
    let (status, created) = server
        .admin_post("/api/v1/issuers", &haip_issuer_body("strict"))
        .await;
    assert_eq!(status, 201, "{created}");
    let r = get(
        server,
        &server.url("/issuers/strict/trust-anchor.pem"),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/x-pem-file"
    );
    let pem = r.text().await.unwrap();
    assert_eq!(pem, created["trust_anchor"].as_str().unwrap());
    let anchors = TrustAnchors::from_pem(&pem).unwrap();
    assert_eq!(anchors.len(), 1);
    for path in [
        "/issuers/demo/trust-anchor.pem",
        "/issuers/nope/trust-anchor.pem",
    ] {
        let r = get(server, &server.url(path), None).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    let (_, demo) = server.admin_get("/api/v1/issuers/demo").await;
    assert!(demo.get("trust_anchor").is_none(), "{demo}");

    let cookie = format!("vdc_ui_key={}", vdc_core::base64url::encode(ADMIN_KEY));
    let page = server
        .http
        .get(server.url("/ui/issuers/strict"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    let first_line = pem.lines().nth(1).unwrap();
    assert!(
        page.contains("id=\"issuer-trust-anchor\">-----BEGIN CERTIFICATE-----"),
        "the PEM is on the page"
    );
    assert!(page.contains(first_line));
    assert!(page.contains("href=\"/issuers/strict/trust-anchor.pem\""));
}

/// OID4VCI 1.0 §12.2.2, §12.2.3: with `signed_metadata`, a wallet that asks for
/// `application/jwt` gets the metadata as a JWT (`typ` `openidvci-issuer-metadata+jwt`,
/// `sub` the issuer, `iat`), signed by the issuer's key with `x5c = [leaf]` (HAIP 1.0 §4.1),
/// whose claims are the unsigned metadata's; a wallet asking for JSON gets JSON.
async fn signed_metadata_is_signed_with_the_leaf_and_says_what_the_json_says(server: &TestServer) {
    let mut body = haip_issuer_body("strict");
    body["signed_metadata"] = json!(true);
    let (status, object) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{object}");
    assert_eq!(object["signed_metadata"], true);
    let url = server.url("/.well-known/openid-credential-issuer/issuers/strict");

    let r = get(server, &url, Some("application/jwt")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/jwt"
    );
    assert_eq!(r.headers()["vary"].to_str().unwrap(), "accept");
    let jwt = r.text().await.unwrap();
    let signed = jws::decode(&jwt).unwrap();
    assert_eq!(
        signed.header_str("typ"),
        Some("openidvci-issuer-metadata+jwt")
    );
    assert_eq!(signed.header_str("alg"), Some("ES256"));
    assert_haip_x5c(&signed, &object, server);
    let iss = object["credential_issuer"].as_str().unwrap();
    assert_eq!(signed.claim_str("sub"), Some(iss));
    let iat = signed.payload["iat"].as_i64().unwrap();
    assert_eq!(iat, server.clock.now().secs());
    assert!(signed.payload["exp"].as_i64().unwrap() > iat);

    let r = get(server, &url, Some("application/json")).await;
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let unsigned: Map<String, Value> = r.json().await.unwrap();
    let mut claims = signed.payload.clone();
    for registered in ["sub", "iss", "iat", "exp"] {
        claims.remove(registered);
    }
    assert_eq!(
        claims, unsigned,
        "every metadata parameter, as top-level claims"
    );
    let r = get(server, &url, None).await;
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json",
        "no Accept: unsigned"
    );

    // Without signed_metadata the JWT is not offered: JSON even to a JWT-only Accept.
    let (status, _) = patch(server, "strict", json!({"signed_metadata": false})).await;
    assert_eq!(status, 200);
    let r = get(server, &url, Some("application/jwt")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
}

/// `signed_metadata` needs a chain (OID4VCI 1.0 §12.2.3: wallets must establish trust in the
/// signer; HAIP 1.0 §4.1: through `x5c`): refused with 400 on create and on `PATCH` for an
/// issuer without one.
async fn signed_metadata_without_a_chain_is_refused(server: &TestServer) {
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "plain", "signed_metadata": true, "haip": false,
                "credential_configurations": {"Badge": {"format": "dc+sd-jwt",
                    "vct": "https://vdc.example/vct/badge", "claims": [{"path": ["given_name"]}]}}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("signed_metadata needs a certificate chain"),
        "{body}"
    );
    let (status, _) = server.admin_get("/api/v1/issuers/plain").await;
    assert_eq!(status, 404, "nothing was created");
    let (status, body) = patch(server, "demo", json!({"signed_metadata": true})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    let (_, demo) = server.admin_get("/api/v1/issuers/demo").await;
    assert_eq!(
        demo["signed_metadata"], false,
        "a refused PATCH changes nothing"
    );
}

/// `PATCH {"haip": true}` on an issuer whose key has no chain: a new key with a chain made
/// by vdc becomes the signing key, the old one is retired but stays published, so a
/// credential it signed before the switch still verifies against the JWT VC Issuer
/// Metadata; new credentials are signed by the new key with `x5c = [leaf]`.
async fn patch_into_haip_mode_replaces_the_key_and_old_credentials_still_verify(
    server: &TestServer,
) {
    let mut body = haip_issuer_body("acme");
    body["haip"] = json!(false);
    body["require_dpop"] = json!(false);
    let (status, created) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{created}");
    assert!(created.get("x5c").is_none(), "{created}");
    assert!(created.get("trust_anchor").is_none());
    let old = issue_badge(server, "acme").await;
    let old_vc = issuer_jws(&old);
    assert!(old_vc.header.get("x5c").is_none());
    let old_kid = old_vc.kid().unwrap().to_owned();

    let (status, switched) = patch(
        server,
        "acme",
        json!({"haip": true, "require_dpop": true, "signed_metadata": true}),
    )
    .await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["haip"], true);
    assert_eq!(
        switched["x5c"].as_array().map(Vec::len),
        Some(1),
        "{switched}"
    );
    assert!(switched["trust_anchor"].is_string());

    // Both keys are published; the old one still verifies what it signed.
    let meta: Value = get(
        server,
        &server.url("/.well-known/jwt-vc-issuer/issuers/acme"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    let keys = JwkSet::from_value(&meta["jwks"]).unwrap();
    assert_eq!(keys.keys.len(), 2, "{meta}");
    let old_key = keys
        .by_kid(&old_kid)
        .expect("the old key is still published");
    old_vc
        .verify(&old_key.key, &AlgorithmPolicy::default())
        .expect("the credential signed before the switch still verifies");
    let new_published = meta["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] != old_kid.as_str())
        .unwrap();
    assert_eq!(new_published["x5c"], switched["x5c"]);

    // The signed metadata already uses the new key.
    let jwt = get(
        server,
        &server.url("/.well-known/openid-credential-issuer/issuers/acme"),
        Some("application/jwt"),
    )
    .await
    .text()
    .await
    .unwrap();
    let signed = jws::decode(&jwt).unwrap();
    assert_haip_x5c(&signed, &switched, server);
    assert_ne!(signed.kid(), Some(old_kid.as_str()));

    // A second PATCH makes no other key: the issuer has its chain now.
    let (status, again) = patch(server, "acme", json!({"display": [{"name": "ACME"}]})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["x5c"], switched["x5c"]);
    let object = leave_haip_mode(server, "acme").await;
    assert_eq!(object["x5c"], switched["x5c"]);
    let new = issue_badge(server, "acme").await;
    let new_vc = issuer_jws(&new);
    assert_haip_x5c(&new_vc, &object, server);
    assert_ne!(new_vc.kid(), Some(old_kid.as_str()), "the new key signs");
    let meta: Value = get(
        server,
        &server.url("/.well-known/jwt-vc-issuer/issuers/acme"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        meta["jwks"]["keys"].as_array().unwrap().len(),
        2,
        "leaving HAIP mode makes no key"
    );
}
