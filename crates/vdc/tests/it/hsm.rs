//! Signing keys in an HSM (issue 17): a SoftHSM2 token (scripts/test.sh makes a private token
//! directory), the demo issuer rotated from its software key to a key generated in the token
//! through the keys API, then the whole OID4VCI flow run by a third-party wallet (npm
//! `@openid4vc/openid4vci`, the credential verified by `@sd-jwt/sd-jwt-vc`) with the
//! credential signed in the token; the credential of the software key still verifies; after a
//! restart the key is opened from its stored reference; and the operator's mistakes are 400s.
//! A verifier's request-signing key generated in the token signs requests a wallet completes,
//! before and after a restart; without the module both answer 503.

use serde_json::{Value, json};
use vdc_core::jose::jws;
use vdc_pkcs11::softhsm::{MODULE, PIN_ENV, new_token};
use vdc_testkit::{Backend, TestServer};

use crate::conformance::third_party_wallet;
use crate::support::{badge_offer, verify_sd_jwt_vc};

mod on {
    use vdc_testkit::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_issuance_with_a_key_in_the_hsm() {
        super::issuance_with_a_key_in_the_hsm(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_issuance_with_a_key_in_the_hsm() {
        super::issuance_with_a_key_in_the_hsm(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_mdocs_signed_in_the_hsm_carry_a_document_signer_certificate_of_its_key() {
        super::mdocs_signed_in_the_hsm(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_mdocs_signed_in_the_hsm_carry_a_document_signer_certificate_of_its_key() {
        super::mdocs_signed_in_the_hsm(Backend::Postgres).await;
    }
}

/// Keys in the token with certificates. An mdoc issuer (its Document Signer certificate and
/// IACA made by vdc) rotated to a generated token key: vdc certifies the token's public key,
/// the mdocs' `issuerAuth` is signed in the token, verifies with the DS certificate's key and
/// chains to the exported IACA; a scheduled rotation is refused (the certificate changes with
/// the key). A HAIP issuer gets a new leaf for its token key. An existing token key with the
/// operator's chain signs credentials carrying that chain; a chain of another key is refused.
async fn mdocs_signed_in_the_hsm(backend: Backend) {
    use crate::mdoc_issuance::{check_issuer_auth, issue_mdocs, mdl_issuer};
    let server = TestServer::start_with(backend, |c| c.pkcs11_modules = MODULE.to_owned()).await;
    let token = new_token("mdoc");
    let (status, body) = server
        .admin_post("/api/v1/issuers", &mdl_issuer("mdl-hsm"))
        .await;
    assert_eq!(status, 201, "{body}");
    let (software, _) = issue_mdocs(&server, "mdl-hsm", 1).await;
    let software_ds = check_issuer_auth(&server, "mdl-hsm", &software[0]).await;

    let keys = "/api/v1/issuers/mdl-hsm/keys";
    let mut scheduled = pkcs11(&token, "mdl-later", true);
    scheduled["activate"] = json!(false);
    scheduled["activate_at"] = json!(vdc_core::vc_jose::format_date_time_stamp(
        vdc_core::time::Clock::now(&server.clock).plus(3_600)
    ));
    let (status, answer) = server.admin_post(keys, &scheduled).await;
    assert_eq!(status, 400, "{answer}");

    let (status, created) = server
        .admin_post(keys, &pkcs11(&token, "mdl-hsm", true))
        .await;
    assert_eq!(status, 201, "{created}");
    let hsm_kid = created["kid"].as_str().unwrap();
    let (mdocs, _) = issue_mdocs(&server, "mdl-hsm", 1).await;
    let ds = check_issuer_auth(&server, "mdl-hsm", &mdocs[0]).await;
    assert_eq!(
        ds.thumbprint(),
        hsm_kid,
        "the DS certificate certifies the token's key"
    );
    assert_ne!(ds, software_ds);

    // A HAIP issuer (vdc's per-issuer CA and leaf): the new leaf certifies the token's key
    // and is what the published key carries.
    let (status, haip) = server
        .admin_post(
            "/api/v1/issuers",
            &crate::issuer_x5c::haip_issuer_body("haip-hsm"),
        )
        .await;
    assert_eq!(status, 201, "{haip}");
    let (status, created) = server
        .admin_post(
            "/api/v1/issuers/haip-hsm/keys",
            &pkcs11(&token, "haip-hsm", true),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, object) = server.admin_get("/api/v1/issuers/haip-hsm").await;
    assert_ne!(object["trust_anchor"], haip["trust_anchor"], "a new CA");
    let leaf = std_der(object["x5c"][0].as_str().unwrap());
    assert_eq!(
        vdc_core::x509::leaf_public_key(&leaf).unwrap().thumbprint(),
        created["kid"].as_str().unwrap()
    );

    // The operator's chain for an existing token key: pkcs11 (without generate) with x5c.
    use vdc_core::jose::{Algorithm, Signer as _, SigningKey};
    let in_token = vdc_pkcs11::Token::open(
        std::path::Path::new(MODULE),
        &token,
        &vdc_pkcs11::softhsm::user_pin(),
    )
    .unwrap()
    .generate(Algorithm::Es256, "operator-key")
    .unwrap();
    let rng = vdc_core::rng::SystemRandom::new();
    let now = vdc_core::time::Clock::now(&server.clock);
    let spec = |cn: &str| {
        vdc_core::x509::CertificateSpec::new(cn, now.plus(-60), now.plus(86_400), &rng).unwrap()
    };
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = vdc_core::x509::self_signed(&spec("Operator CA").ca(), &ca_key).unwrap();
    let leaf = vdc_core::x509::issue(
        &spec("demo issuer"),
        &in_token.public_jwk().key,
        &ca,
        &ca_key,
    )
    .unwrap();
    let mut body = pkcs11(&token, "operator-key", false);
    body["x5c"] = json!([std_b64(&leaf), std_b64(&ca)]);
    // A chain that certifies another key is refused.
    let other = vdc_core::x509::issue(
        &spec("other"),
        SigningKey::generate(Algorithm::Es256, &rng)
            .unwrap()
            .public_key(),
        &ca,
        &ca_key,
    )
    .unwrap();
    let mut wrong = body.clone();
    wrong["x5c"] = json!([std_b64(&other), std_b64(&ca)]);
    let (status, answer) = server.admin_post(KEYS, &wrong).await;
    assert_eq!(status, 400, "{answer}");
    let (status, created) = server.admin_post(KEYS, &body).await;
    assert_eq!(status, 201, "{created}");
    let credential = issue(&server).await;
    let header = jws::decode(credential.split('~').next().unwrap())
        .unwrap()
        .header
        .clone();
    assert_eq!(header["x5c"][0], std_b64(&leaf), "the operator's leaf");
    assert_eq!(kid_of(&credential), created["kid"].as_str().unwrap());
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", &credential).await["given_name"],
        "Ada"
    );
    server.stop().await;
}

fn std_b64(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn std_der(b64: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

const KEYS: &str = "/api/v1/issuers/demo/keys";

fn kid_of(credential: &str) -> String {
    let jwt = credential.split('~').next().unwrap();
    jws::decode(jwt).unwrap().kid().unwrap().to_owned()
}

async fn issue(server: &TestServer) -> String {
    let offer = server.offer("demo", &badge_offer(false)).await;
    server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap()
        .credentials[0]
        .credential
        .clone()
}

fn pkcs11(token: &str, key: &str, generate: bool) -> Value {
    json!({"pkcs11": {"module": MODULE, "token_label": token, "key_label": key,
        "pin_env": PIN_ENV, "generate": generate}})
}

async fn issuance_with_a_key_in_the_hsm(backend: Backend) {
    let mut server =
        TestServer::start_with(backend, |c| c.pkcs11_modules = MODULE.to_owned()).await;
    let token = new_token("it");
    let software = issue(&server).await;
    let software_kid = kid_of(&software);

    // Refusals first: nothing is added.
    let before = server.admin_get(KEYS).await.1["items"].clone();
    for (body, why) in [
        (pkcs11(&token, "absent", false), "no such key in the token"),
        (pkcs11("no-such-token", "k", true), "no such token"),
        (
            json!({"pkcs11": {"module": "/usr/lib/other/libpkcs11.so", "token_label": token,
                "key_label": "k", "pin_env": PIN_ENV, "generate": true}}),
            "module not in VDC_PKCS11_MODULES",
        ),
        (
            json!({"pkcs11": {"module": MODULE, "token_label": token, "key_label": "k",
                "pin_env": "VDC_KEK", "generate": true}}),
            "a PIN variable outside VDC_PKCS11_PIN*",
        ),
        (
            json!({"pkcs11": {"module": MODULE, "token_label": token, "key_label": "k",
                "pin_env": "VDC_PKCS11_PIN_UNSET", "generate": true}}),
            "an unset PIN variable",
        ),
        (
            json!({"pkcs11": {"module": MODULE, "token_label": token, "key_label": "k",
                "pin_env": PIN_ENV, "slot": 1}}),
            "an unknown member",
        ),
    ] {
        let (status, answer) = server.admin_post(KEYS, &body).await;
        assert_eq!(status, 400, "{why}: {answer}");
        assert!(answer["error_description"].is_string(), "{why}: {answer}");
        assert!(
            !answer
                .to_string()
                .contains(&vdc_pkcs11::softhsm::user_pin()),
            "the PIN never appears"
        );
    }
    assert_eq!(server.admin_get(KEYS).await.1["items"], before);

    // Rotation from the software key to a key generated in the token.
    let (status, created) = server
        .admin_post(KEYS, &pkcs11(&token, "demo-issuer", true))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "active");
    let hsm_kid = created["kid"].as_str().unwrap().to_owned();
    assert_ne!(hsm_kid, software_kid);
    // The same label again: the key exists (generate), so 400.
    let (status, _) = server
        .admin_post(KEYS, &pkcs11(&token, "demo-issuer", true))
        .await;
    assert_eq!(status, 400);

    // A third-party wallet runs the whole flow and verifies what the token signed.
    let offer = server.offer("demo", &badge_offer(false)).await;
    let out =
        third_party_wallet(json!({"offer_uri": offer["offer_uri"], "allow_http": true})).await;
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["steps"].as_array().unwrap().last().unwrap(), "verify");
    assert_eq!(out["claims"]["given_name"], "Ada");
    let credential = out["credentials"][0].as_str().unwrap();
    assert_eq!(kid_of(credential), hsm_kid, "signed in the token");
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", credential).await["given_name"],
        "Ada"
    );
    // What the software key signed still verifies (its key stays published).
    assert_eq!(
        verify_sd_jwt_vc(&server, "demo", &software).await["given_name"],
        "Ada"
    );
    let items = server.admin_get(KEYS).await.1["items"].clone();
    let state = |kid: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state(&hsm_kid), "active");
    assert_eq!(state(&software_kid), "retired");

    // After a restart the key is opened again from its stored reference (no private key in
    // the store), and /readyz asks the token.
    server.restart().await;
    let again = issue(&server).await;
    assert_eq!(kid_of(&again), hsm_kid);
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 200);

    // A verifier's request-signing key in the token: its requests are signed there and a
    // wallet completes one, before and after a restart.
    let (wallet, _) = crate::presentation::holder(&server).await;
    let v = crate::presentation::verifier(
        &server,
        "hsm-v",
        "x509_hash",
        vec![server.issuer_url("demo")],
    )
    .await;
    let verifier_keys = "/api/v1/verifiers/hsm-v/keys";
    let (status, answer) = server
        .admin_post(verifier_keys, &pkcs11(&token, "absent-verifier-key", false))
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, created) = server
        .admin_post(verifier_keys, &pkcs11(&token, "hsm-verifier", true))
        .await;
    assert_eq!(status, 201, "{created}");
    let verifier_kid = created["kid"].as_str().unwrap().to_owned();
    let (_, v2) = server.admin_get("/api/v1/verifiers/hsm-v").await;
    assert_ne!(
        v2["client_id"], v["client_id"],
        "x509_hash of the HSM key's certificate"
    );
    for round in ["before restart", "after restart"] {
        let r = crate::presentation::request(
            &server,
            "hsm-v",
            json!({"dcql_query": crate::presentation::badge_query()}),
        )
        .await;
        let id = r["id"].as_str().unwrap();
        let jwt = server
            .http
            .get(server.url(&format!("/verifiers/hsm-v/requests/{id}/request.jwt")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let leaf_der = {
            use base64::Engine as _;
            let header = jws::decode(&jwt).unwrap().header.clone();
            base64::engine::general_purpose::STANDARD
                .decode(header["x5c"][0].as_str().unwrap())
                .unwrap()
        };
        let leaf_key = vdc_core::x509::leaf_public_key(&leaf_der).unwrap();
        assert_eq!(leaf_key.thumbprint(), verifier_kid, "{round}");
        wallet
            .present(
                r["authorization_request"].as_str().unwrap(),
                &crate::presentation::trust_for(&v2),
            )
            .await
            .unwrap();
        let done = crate::presentation::result(&server, "hsm-v", id).await;
        assert_eq!(done["status"], "verified", "{round}: {done}");
        server.restart().await;
    }

    // Without the module allowed, the stored HSM key cannot sign: 503, not 500 or a panic.
    server
        .restart_with(|c| c.pkcs11_modules = String::new())
        .await;
    let offer = server.offer("demo", &badge_offer(false)).await;
    let refused = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await;
    let err = format!("{:?}", refused.unwrap_err());
    assert!(
        err.contains("503") || err.contains("temporarily_unavailable"),
        "{err}"
    );
    // Nor the verifier's: its request object is a 503 temporarily_unavailable.
    let r = crate::presentation::request(
        &server,
        "hsm-v",
        json!({"dcql_query": crate::presentation::badge_query()}),
    )
    .await;
    let answer = server
        .http
        .get(server.url(&format!(
            "/verifiers/hsm-v/requests/{}/request.jwt",
            r["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    server.stop().await;
}
