//! The verifier side of OpenID4VC HAIP 1.0 over HTTP, on SQLite and Postgres: HAIP mode's
//! refusals (§5 `x509_hash` with a CA-issued certificate and no anchor in `x5c`; §5.1
//! `direct_post.jwt` only), `GET /api/v1/verifiers/{verifier}/haip`, DCQL
//! `trusted_authorities` of type `aki` (OID4VP 1.0 §6.1.1.1) against an issuer's chain,
//! per-request encryption keys with both `enc` values (§5), and same-device session
//! binding of response codes (§5.1, OID4VP 1.0 §14.2).

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, SigningKey};
use vdc_core::time::Clock as _;
use vdc_core::x509::{self, CertificateSpec};
use vdc_holder::{Selection, Wallet};
use vdc_testkit::TestServer;

use crate::presentation::{request, result, trust_for};

vdc_testkit::both_backends!(
    haip_verifier_refuses_other_prefixes_and_chains_with_anchor_or_self_signed_leaf,
    haip_verifier_requests_are_direct_post_jwt_only,
    haip_report_lists_every_verifier_rule_met_or_not,
    trusted_authorities_aki_accepts_the_issuers_chain_and_rejects_another_authority,
    every_encrypted_request_carries_its_own_key_and_lists_both_enc_values,
    response_code_redeemed_in_another_session_is_refused,
);

const VCT: &str = "https://vdc.example/vct/employee-badge";
const CHAINED_VCT: &str = "https://vdc.example/vct/chained";

fn badge_query() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["given_name"]}]}]})
}

async fn create_verifier(server: &TestServer, body: Value) -> (u16, Value) {
    server.admin_post("/api/v1/verifiers", &body).await
}

/// A HAIP verifier `id` (x509_hash, server-made certificate) trusting `trusted`.
async fn haip_verifier(server: &TestServer, id: &str, trusted: Vec<String>) -> Value {
    let (status, v) = create_verifier(
        server,
        json!({"id": id, "client_id_prefix": "x509_hash", "haip": true,
            "trusted_issuers": trusted}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["haip"], true);
    v
}

/// A decoded request object.
struct RequestObject {
    header: Value,
    payload: Value,
}

/// The signed request object of a created request, decoded.
async fn request_object(server: &TestServer, created: &Value) -> RequestObject {
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.text().await.unwrap();
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    RequestObject {
        header: Value::Object(jws.header.clone()),
        payload: Value::Object(jws.payload.clone()),
    }
}

fn assert_invalid_request(answer: &(u16, Value), starts: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["error"], "invalid_request");
    let d = answer.1["error_description"].as_str().unwrap();
    assert!(d.starts_with(starts), "{d}");
}

/// A CA, a key and a leaf the CA issued for it (`uri`: the leaf's URI SAN).
fn operator_pki(server: &TestServer, uri: Option<&str>) -> (Vec<u8>, SigningKey, Vec<u8>) {
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(
        &CertificateSpec::new("Operator CA", now.plus(-60), now.plus(86_400), &rng)
            .unwrap()
            .ca(),
        &ca_key,
    )
    .unwrap();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let spec = CertificateSpec::new("operator leaf", now.plus(-60), now.plus(86_400), &rng)
        .unwrap()
        .with_dns_name("localhost");
    let spec = match uri {
        Some(u) => spec.with_uri(u),
        None => spec,
    };
    let leaf = x509::issue(&spec, key.public_key(), &ca, &ca_key).unwrap();
    (ca, key, leaf)
}

fn private_jwk(key: &SigningKey) -> Value {
    serde_json::from_str(&key.to_private_jwk()).unwrap()
}

/// HAIP 1.0 §5: a HAIP verifier uses `x509_hash`; its request-signing certificate is not
/// self-signed and its `x5c` omits the trust anchor. Creation and `PATCH` refuse otherwise
/// with `400 invalid_request` naming the section; a valid operator chain is accepted.
async fn haip_verifier_refuses_other_prefixes_and_chains_with_anchor_or_self_signed_leaf(
    server: &TestServer,
) {
    for prefix in ["x509_san_dns", "decentralized_identifier", "redirect_uri"] {
        let answer = create_verifier(
            server,
            json!({"id": "h", "client_id_prefix": prefix, "haip": true}),
        )
        .await;
        assert_invalid_request(&answer, "HAIP 1.0 §5:");
        assert!(
            answer.1["error_description"]
                .as_str()
                .unwrap()
                .contains("x509_hash"),
            "{}",
            answer.1
        );
    }
    // Nothing was created by a refused call.
    assert_eq!(server.admin_get("/api/v1/verifiers/h").await.0, 404);

    let (ca, key, leaf) = operator_pki(server, None);
    // The chain with its anchor.
    let answer = create_verifier(
        server,
        json!({"id": "h", "client_id_prefix": "x509_hash", "haip": true,
            "certificate_chain": x509::to_x5c(&[leaf.clone(), ca.clone()]),
            "signing_key": private_jwk(&key)}),
    )
    .await;
    assert_invalid_request(&answer, "HAIP 1.0 §5 (x5c_excludes_trust_anchor)");
    // A self-signed request-signing certificate.
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let own = x509::self_signed(
        &CertificateSpec::new("self-signed", now.plus(-60), now.plus(86_400), &rng).unwrap(),
        &key,
    )
    .unwrap();
    let answer = create_verifier(
        server,
        json!({"id": "h", "client_id_prefix": "x509_hash", "haip": true,
            "certificate_chain": x509::to_x5c(&[own]), "signing_key": private_jwk(&key)}),
    )
    .await;
    assert_invalid_request(&answer, "HAIP 1.0 §5 (signing_certificate_not_self_signed)");
    // The same operator chain without the anchor is a HAIP verifier; its request objects
    // carry exactly the leaf.
    let (status, v) = create_verifier(
        server,
        json!({"id": "h", "client_id_prefix": "x509_hash", "haip": true,
            "certificate_chain": x509::to_x5c(std::slice::from_ref(&leaf)),
            "signing_key": private_jwk(&key)}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["haip"], true);
    let created = request(server, "h", json!({"dcql_query": badge_query()})).await;
    let jws = request_object(server, &created).await;
    assert_eq!(jws.header["x5c"], x509::to_x5c(&[leaf]));
    assert_eq!(jws.payload["response_mode"], "direct_post.jwt");

    // Without `haip` (and no server default) a verifier is not in HAIP mode.
    let (status, plain) = create_verifier(
        server,
        json!({"id": "plain", "client_id_prefix": "x509_san_dns"}),
    )
    .await;
    assert_eq!(status, 201, "{plain}");
    assert_eq!(plain["haip"], false);
    // PATCH into HAIP mode is held to the same rules: x509_san_dns cannot be, x509_hash can.
    let patch = |id: &str, body: Value| {
        let path = format!("/api/v1/verifiers/{id}");
        async move {
            let r = server
                .admin(Method::PATCH, &path)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let answer = patch("plain", json!({"haip": true})).await;
    assert_invalid_request(&answer, "HAIP 1.0 §5 (x509_hash_client_id)");
    assert_eq!(
        server.admin_get("/api/v1/verifiers/plain").await.1["haip"],
        false
    );
    let (status, _) = create_verifier(
        server,
        json!({"id": "later", "client_id_prefix": "x509_hash"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, later) = patch("later", json!({"haip": true})).await;
    assert_eq!(status, 200, "{later}");
    assert_eq!(later["haip"], true);
    assert_eq!(
        server.admin_get("/api/v1/verifiers/later").await.1["haip"],
        true
    );
}

/// HAIP 1.0 §5.1: "Response encryption MUST be used by utilizing response mode
/// `direct_post.jwt`": the default on a HAIP verifier, every other mode refused with 400
/// naming §5.1 (`dc_api.jwt` is not served yet). A non-HAIP verifier keeps `direct_post`.
async fn haip_verifier_requests_are_direct_post_jwt_only(server: &TestServer) {
    haip_verifier(server, "h", vec![server.issuer_url("demo")]).await;
    // HAIP 1.0 §5.1 (redirects: direct_post.jwt) and §5.2 (DC API: signed dc_api.jwt).
    for (mode, section) in [
        ("direct_post", "§5.1"),
        ("dc_api", "§5.2"),
        ("query", "§5.1"),
    ] {
        let answer = server
            .admin_post(
                "/api/v1/verifiers/h/requests",
                &json!({"dcql_query": badge_query(), "response_mode": mode}),
            )
            .await;
        assert_invalid_request(&answer, &format!("HAIP 1.0 {section}:"));
    }
    let signed_dc_api = request(
        server,
        "h",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt",
            "expected_origins": ["https://rp.example"]}),
    )
    .await;
    assert_eq!(
        signed_dc_api["dc_api_request"]["protocol"],
        "openid4vp-v1-signed"
    );
    // Spec: HAIP 1.0 §5.2: "The Verifier MUST support at least one of these options"
    // (unsigned, signed, multi-signed): an unsigned dc_api.jwt request is HAIP too.
    let unsigned = request(
        server,
        "h",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt"}),
    )
    .await;
    assert_eq!(
        unsigned["dc_api_request"]["protocol"],
        "openid4vp-v1-unsigned"
    );
    assert_eq!(
        unsigned["dc_api_request"]["data"]["response_mode"],
        "dc_api.jwt"
    );
    let created = request(server, "h", json!({"dcql_query": badge_query()})).await;
    let jws = request_object(server, &created).await;
    assert_eq!(jws.payload["response_mode"], "direct_post.jwt");
    assert_eq!(jws.payload["response_type"], "vp_token");
    let created = request(
        server,
        "h",
        json!({"dcql_query": badge_query(), "response_mode": "direct_post.jwt"}),
    )
    .await;
    assert_eq!(
        request_object(server, &created).await.payload["response_mode"],
        "direct_post.jwt"
    );
    // The wallet answers encrypted and the presentation verifies.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (_, v) = server.admin_get("/api/v1/verifiers/h").await;
    wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let r = result(server, "h", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");

    let (status, _) = create_verifier(
        server,
        json!({"id": "plain", "client_id_prefix": "x509_hash"}),
    )
    .await;
    assert_eq!(status, 201);
    let created = request(server, "plain", json!({"dcql_query": badge_query()})).await;
    assert_eq!(
        request_object(server, &created).await.payload["response_mode"],
        "direct_post"
    );
}

fn rule<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id} in {report}"))
}

/// Contract-next "HAIP mode": `GET /api/v1/verifiers/{verifier}/haip` lists every
/// verifier-side rule with its section; a HAIP verifier meets them all, a `redirect_uri`
/// verifier outside HAIP mode does not. Unknown verifiers are 404, no key 401.
async fn haip_report_lists_every_verifier_rule_met_or_not(server: &TestServer) {
    haip_verifier(server, "h", Vec::new()).await;
    let (status, report) = server.admin_get("/api/v1/verifiers/h/haip").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["haip"], true);
    let ids: Vec<&str> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "x509_hash_client_id",
            "signed_request_by_reference",
            "x5c_excludes_trust_anchor",
            "signing_certificate_not_self_signed",
            "vp_token_with_dcql",
            "direct_post_jwt_only",
            "response_encryption_algorithms",
            "ephemeral_encryption_keys",
            "trusted_authorities_aki",
            "same_device_session_binding",
        ]
    );
    for r in report["rules"].as_array().unwrap() {
        assert_eq!(r["met"], true, "{r}");
        assert!(
            ["5", "5.1"].contains(&r["section"].as_str().unwrap()),
            "{r}"
        );
        assert!(!r["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(rule(&report, "direct_post_jwt_only")["section"], "5.1");
    assert_eq!(rule(&report, "x509_hash_client_id")["section"], "5");

    let (status, _) = create_verifier(
        server,
        json!({"id": "plain", "client_id_prefix": "redirect_uri"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, report) = server.admin_get("/api/v1/verifiers/plain/haip").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["haip"], false);
    for id in [
        "x509_hash_client_id",
        "signed_request_by_reference",
        "signing_certificate_not_self_signed",
        "direct_post_jwt_only",
        "same_device_session_binding",
    ] {
        assert_eq!(rule(&report, id)["met"], false, "{id}: {report}");
    }
    assert!(
        rule(&report, "x509_hash_client_id")["detail"]
            .as_str()
            .unwrap()
            .contains("redirect_uri")
    );
    assert_eq!(rule(&report, "trusted_authorities_aki")["met"], true);

    assert_eq!(server.admin_get("/api/v1/verifiers/nope/haip").await.0, 404);
    let r = server
        .http
        .get(server.url("/api/v1/verifiers/h/haip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// An issuer `chained` whose key is certified by an operator CA (the chain in `x5c` omits
/// the CA, HAIP 1.0 §6.1.1), and a wallet holding one of its credentials. Returns the wallet
/// and the base64url KeyIdentifier of the leaf's Authority Key Identifier (the CA's).
async fn chained_issuer_and_holder(server: &TestServer) -> (Wallet, String) {
    let iss = server.issuer_url("chained");
    let (_, key, leaf) = operator_pki(server, Some(&iss));
    let aki = x509::authority_key_identifier(&leaf).unwrap().unwrap();
    let (status, created) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "chained", "signing_key": private_jwk(&key),
                "x5c": x509::to_x5c(&[leaf]),
                "credential_configurations": {"Badge": {"format": "dc+sd-jwt",
                    "vct": CHAINED_VCT, "claims": [{"path": ["given_name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let offer = server
        .offer(
            "chained",
            &json!({"credential_configuration_ids": ["Badge"],
                "claims": {"Badge": {"given_name": "Ada"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    (wallet, base64url::encode(aki))
}

fn chained_query(aki: &str) -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [CHAINED_VCT]},
        "claims": [{"path": ["given_name"]}],
        "trusted_authorities": [{"type": "aki", "values": [aki]}]}]})
}

/// OID4VP 1.0 §6.1.1.1 (HAIP 1.0 §5: MUST be supported): a credential satisfies an `aki`
/// Trusted Authorities Query when a certificate of its `x5c` chain has that Authority Key
/// Identifier. The issuer's CA matches and verifies; another authority's identifier is
/// refused by the wallet's matching and, sent anyway, rejected by the verifier as
/// `dcql_unsatisfied`; so is a credential without a chain. Other types are `400`.
async fn trusted_authorities_aki_accepts_the_issuers_chain_and_rejects_another_authority(
    server: &TestServer,
) {
    let (wallet, aki) = chained_issuer_and_holder(server).await;
    let v = haip_verifier(
        server,
        "h",
        vec![server.issuer_url("chained"), server.issuer_url("demo")],
    )
    .await;
    // The matching authority, among others.
    let created = request(
        server,
        "h",
        json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
            "meta": {"vct_values": [CHAINED_VCT]}, "claims": [{"path": ["given_name"]}],
            "trusted_authorities": [{"type": "aki", "values": ["AAECAwQ", aki]}]}]}}),
    )
    .await;
    // The request object carries the query as given.
    let jws = request_object(server, &created).await;
    assert_eq!(
        jws.payload["dcql_query"]["credentials"][0]["trusted_authorities"],
        json!([{"type": "aki", "values": ["AAECAwQ", aki]}])
    );
    wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let r = result(server, "h", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(
        r["presentation"]["badge"][0]["issuer"],
        server.issuer_url("chained")
    );

    // Another authority: the wallet finds nothing to present.
    let other = base64url::encode([7u8; 20]);
    let created = request(server, "h", json!({"dcql_query": chained_query(&other)})).await;
    let uri = created["authorization_request"].as_str().unwrap();
    let err = wallet.present(uri, &trust_for(&v)).await.unwrap_err();
    assert!(
        matches!(err, vdc_holder::Error::NoMatchingCredential(_)),
        "{err}"
    );
    // Sent anyway, the verifier rejects it for the trusted_authorities constraint.
    let req = wallet
        .resolve_presentation_request(uri, &trust_for(&v))
        .await
        .unwrap();
    let stored = wallet.list().await.unwrap().remove(0);
    let selection = Selection {
        query_id: "badge".into(),
        credential: stored,
        paths: vec![vdc_core::claims_path::ClaimPath::names(&["given_name"]).unwrap()],
    };
    let vp = wallet.presentation_for(&req, &selection).await.unwrap();
    let err = wallet
        .send_presentation(&req, &json!({"badge": [vp]}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("trusted_authorities"), "{err}");
    let r = result(server, "h", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    let d = r["error"]["error_description"].as_str().unwrap();
    assert!(
        d.starts_with("dcql_unsatisfied: trusted_authorities:"),
        "{d}"
    );

    // A trusted issuer without a certificate chain cannot satisfy an aki query.
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let demo_wallet = server.wallet();
    demo_wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let created = request(
        server,
        "h",
        json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
            "meta": {"vct_values": [VCT]}, "claims": [{"path": ["given_name"]}],
            "trusted_authorities": [{"type": "aki", "values": [aki]}]}]}}),
    )
    .await;
    let uri = created["authorization_request"].as_str().unwrap();
    let req = demo_wallet
        .resolve_presentation_request(uri, &trust_for(&v))
        .await
        .unwrap();
    let selection = Selection {
        query_id: "badge".into(),
        credential: demo_wallet.list().await.unwrap().remove(0),
        paths: vec![vdc_core::claims_path::ClaimPath::names(&["given_name"]).unwrap()],
    };
    let vp = demo_wallet
        .presentation_for(&req, &selection)
        .await
        .unwrap();
    assert!(
        demo_wallet
            .send_presentation(&req, &json!({"badge": [vp]}))
            .await
            .is_err()
    );
    let r = result(server, "h", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .contains("not certified by an x5c chain"),
        "{r}"
    );

    // Types vdc does not implement are refused, not ignored.
    for ta in [
        json!([{"type": "etsi_tl", "values": ["https://tl.example/list.xml"]}]),
        json!([{"type": "openid_federation", "values": ["https://ta.example"]}]),
        json!([{"type": "aki", "values": ["not base64url!"]}]),
    ] {
        let answer = server
            .admin_post(
                "/api/v1/verifiers/h/requests",
                &json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
                    "meta": {}, "trusted_authorities": ta}]}}),
            )
            .await;
        assert_invalid_request(&answer, "dcql_query:");
    }
}

/// HAIP 1.0 §5: "Verifiers MUST supply ephemeral encryption public keys specific to each
/// Authorization Request" and "MUST list both `A128GCM` and `A256GCM` in
/// `encrypted_response_enc_values_supported`".
async fn every_encrypted_request_carries_its_own_key_and_lists_both_enc_values(
    server: &TestServer,
) {
    haip_verifier(server, "h", Vec::new()).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let created = request(server, "h", json!({"dcql_query": badge_query()})).await;
        let jws = request_object(server, &created).await;
        let metadata = &jws.payload["client_metadata"];
        assert_eq!(
            metadata["encrypted_response_enc_values_supported"],
            json!(["A128GCM", "A256GCM"])
        );
        let jwks = metadata["jwks"]["keys"].as_array().unwrap();
        assert_eq!(jwks.len(), 1, "{metadata}");
        let key = &jwks[0];
        assert_eq!(key["kty"], "EC");
        assert_eq!(key["crv"], "P-256");
        assert_eq!(key["alg"], "ECDH-ES");
        assert_eq!(key["use"], "enc");
        // The kid names the request, so the response finds its key.
        assert_eq!(key["kid"], created["id"]);
        assert!(key.get("d").is_none(), "no private part");
        keys.push((key["x"].clone(), key["y"].clone()));
    }
    for (i, a) in keys.iter().enumerate() {
        for b in keys.iter().skip(i + 1) {
            assert_ne!(a, b, "two requests share an encryption key");
        }
    }
}

async fn redeem(server: &TestServer, verifier: &str, body: Value) -> (u16, Value) {
    server
        .admin_post(
            &format!("/api/v1/verifiers/{verifier}/response-codes"),
            &body,
        )
        .await
}

/// HAIP 1.0 §5.1: "Verifiers MUST reject presentations if ... the redirect back arrives in
/// a different user session"; OID4VP 1.0 §14.2. The relying party redeems the code with
/// the request id its session started: a code of another request (an attacker's own code
/// planted in a victim's session) is refused and left as it was; a HAIP verifier requires
/// the id and hands a same-device presentation out only through its code; the right pair
/// redeems once, also under racing redemptions.
async fn response_code_redeemed_in_another_session_is_refused(server: &TestServer) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let v = haip_verifier(server, "h", vec![server.issuer_url("demo")]).await;
    let same_device =
        json!({"dcql_query": badge_query(), "redirect_uri": "https://rp.example/done"});
    // The attacker's session and the victim's.
    let attacker = request(server, "h", same_device.clone()).await;
    let victim = request(server, "h", same_device.clone()).await;
    let code_of = |sent: vdc_holder::PresentationSent| {
        sent.redirect_uri
            .unwrap()
            .strip_prefix("https://rp.example/done#response_code=")
            .unwrap()
            .to_owned()
    };
    let attacker_code = code_of(
        wallet
            .present(
                attacker["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await
            .unwrap(),
    );
    // Verified, but a HAIP verifier hands the presentation out only through the code.
    let attacker_id = attacker["id"].as_str().unwrap();
    let r = result(server, "h", attacker_id).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(r["presentation"], Value::Null, "{r}");
    // The attacker's code arrives in the victim's session: refused, nothing changes.
    let answer = redeem(
        server,
        "h",
        json!({"response_code": attacker_code, "request_id": victim["id"]}),
    )
    .await;
    assert_invalid_request(
        &answer,
        "the response_code does not belong to this presentation request",
    );
    assert_eq!(
        result(server, "h", victim["id"].as_str().unwrap()).await["status"],
        "pending"
    );
    assert_eq!(
        result(server, "h", attacker_id).await["presentation"],
        Value::Null
    );
    // An unknown request id is not found.
    let (status, _) = redeem(
        server,
        "h",
        json!({"response_code": attacker_code, "request_id": "no-such-request"}),
    )
    .await;
    assert_eq!(status, 404);
    // In its own session the code redeems once, and the result then shows the presentation.
    let (status, body) = redeem(
        server,
        "h",
        json!({"response_code": attacker_code, "request_id": attacker_id}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["presentation"]["badge"][0]["claims"]["given_name"],
        "Ada"
    );
    assert_eq!(
        result(server, "h", attacker_id).await["presentation"]["badge"][0]["claims"]["given_name"],
        "Ada"
    );

    let victim_code = code_of(
        wallet
            .present(
                victim["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await
            .unwrap(),
    );
    // A HAIP verifier does not redeem a code without the session's request id.
    let answer = redeem(server, "h", json!({"response_code": victim_code})).await;
    assert_invalid_request(&answer, "HAIP 1.0 §5.1:");
    // N racing redemptions in the right session: exactly one result, the rest 404, no 5xx.
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let body = json!({"response_code": victim_code, "request_id": victim["id"]});
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let barrier = barrier.clone();
            let request = server
                .admin(Method::POST, "/api/v1/verifiers/h/response-codes")
                .json(&body);
            tokio::spawn(async move {
                barrier.wait().await;
                let r = request.send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => won.push(body),
            404 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one redemption wins");
    assert_eq!(won[0]["id"], victim["id"]);
    assert_eq!(won[0]["status"], "verified");

    // Outside HAIP mode the request id is optional (the contract's body) but, given, binds.
    let (status, plain) = create_verifier(
        server,
        json!({"id": "plain", "client_id_prefix": "x509_san_dns",
            "trusted_issuers": [server.issuer_url("demo")]}),
    )
    .await;
    assert_eq!(status, 201, "{plain}");
    let one = request(server, "plain", same_device.clone()).await;
    let two = request(server, "plain", same_device).await;
    let code_one = code_of(
        wallet
            .present(
                one["authorization_request"].as_str().unwrap(),
                &trust_for(&plain),
            )
            .await
            .unwrap(),
    );
    let answer = redeem(
        server,
        "plain",
        json!({"response_code": code_one, "request_id": two["id"]}),
    )
    .await;
    assert_invalid_request(
        &answer,
        "the response_code does not belong to this presentation request",
    );
    // Outside HAIP mode the result shows the presentation without the code (the contract).
    assert_eq!(
        result(server, "plain", one["id"].as_str().unwrap()).await["presentation"]["badge"][0]["claims"]
            ["given_name"],
        "Ada"
    );
    let code_two = code_of(
        wallet
            .present(
                two["authorization_request"].as_str().unwrap(),
                &trust_for(&plain),
            )
            .await
            .unwrap(),
    );
    let (status, body) = redeem(server, "plain", json!({"response_code": code_two})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], two["id"]);
}
