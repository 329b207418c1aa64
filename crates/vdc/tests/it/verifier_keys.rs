//! Verifier request-signing key rotation (issue 17, contract-next "Signing keys": the same
//! three calls under `/api/v1/verifiers/{verifier}/keys`) over real HTTP, on both stores and
//! across two instances: a request made under key 1 is still signed by key 1 and its
//! response checked against key 1's `client_id` after a rotation on the other instance;
//! new requests are signed by key 2 with its own `client_id` (`x509_hash` names the
//! certificate); a scheduled key takes over at `activate_at`; racing rotations add exactly
//! one key; an imported operator chain is used as given; bad rotations are refused.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Barrier;
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, SigningKey, jws};
use vdc_core::rng::SystemRandom;
use vdc_core::time::Clock as _;
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_core::x509::{self, CertificateSpec, TrustAnchors};
use vdc_holder::VerifierTrust;
use vdc_testkit::TestServer;

use crate::presentation::{badge_query, holder, request, result, trust_for, verifier};

vdc_testkit::both_backends!(
    requests_in_flight_survive_a_rotation_on_another_instance,
    scheduled_rotation_changes_the_did_client_id_at_activate_at,
    racing_verifier_rotations_add_exactly_one_key,
    a_third_party_wallet_answers_requests_on_both_sides_of_a_rotation,
    imported_operator_chains_are_used_as_given,
    bad_verifier_rotations_are_refused,
);

fn keys_path(verifier: &str) -> String {
    format!("/api/v1/verifiers/{verifier}/keys")
}

async fn keys(server: &TestServer, verifier: &str) -> Vec<Value> {
    let (status, body) = server.admin_get(&keys_path(verifier)).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn delete(server: &TestServer, verifier: &str, kid: &str) -> (u16, Value) {
    let r = server
        .admin(Method::DELETE, &format!("{}/{kid}", keys_path(verifier)))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The request object `instance` serves for request `id`, decoded: its header and claims.
async fn request_object(instance: &TestServer, verifier: &str, id: &str) -> (Value, Value) {
    let r = instance
        .http
        .get(instance.url(&format!("/verifiers/{verifier}/requests/{id}/request.jwt")))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    let decoded = jws::decode(&text).unwrap();
    (
        Value::Object(decoded.header.clone()),
        Value::Object(decoded.payload.clone()),
    )
}

/// The `x509_hash` client_id the leaf of a request object's `x5c` gives.
fn x5c_client_id(header: &Value) -> String {
    let leaf = base64url::decode(header["x5c"][0].as_str().unwrap())
        .or_else(|_| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(header["x5c"][0].as_str().unwrap())
        })
        .unwrap();
    format!("x509_hash:{}", x509::x509_hash(&leaf))
}

/// Request 1 is made on A under key 1; B rotates (x509_hash: the client_id changes with the
/// certificate). A wallet trusting key 1's anchor then completes request 1 through A (signed
/// by key 1, its response checked against key 1's client_id); request 2, made on B, names key
/// 2's client_id, is signed by key 2 on either instance and verifies with the new anchor,
/// not the old. Key 1 is retired and deletable only after the longest request lifetime.
async fn requests_in_flight_survive_a_rotation_on_another_instance(a: &TestServer) {
    let b = a.sibling().await;
    let (wallet, _) = holder(a).await;
    let v1 = verifier(a, "rot", "x509_hash", vec![a.issuer_url("demo")]).await;
    let client_id1 = v1["client_id"].as_str().unwrap().to_owned();
    let before = keys(a, "rot").await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0]["state"], "active");
    let kid1 = before[0]["kid"].as_str().unwrap().to_owned();

    let r1 = request(a, "rot", json!({"dcql_query": badge_query()})).await;
    let r1_id = r1["id"].as_str().unwrap();
    // A reads (and caches) the verifier's keys before B rotates.
    let (h, _) = request_object(a, "rot", r1_id).await;
    assert_eq!(x5c_client_id(&h), client_id1);

    let (status, created) = b
        .admin_post(&keys_path("rot"), &json!({"activate": true}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "active");
    let kid2 = created["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid2, kid1);
    let (status, v2) = b.admin_get("/api/v1/verifiers/rot").await;
    assert_eq!(status, 200);
    let client_id2 = v2["client_id"].as_str().unwrap().to_owned();
    assert!(client_id2.starts_with("x509_hash:"), "{client_id2}");
    assert_ne!(
        client_id2, client_id1,
        "x509_hash names the new certificate"
    );
    assert_ne!(v2["trust_anchor"], v1["trust_anchor"]);

    // Request 1, on either instance: still key 1's client_id and certificate.
    for instance in [a, &b] {
        let (h, claims) = request_object(instance, "rot", r1_id).await;
        assert_eq!(claims["client_id"], client_id1.as_str());
        assert_eq!(x5c_client_id(&h), client_id1);
    }
    let sent = wallet
        .present(
            r1["authorization_request"].as_str().unwrap(),
            &trust_for(&v1),
        )
        .await
        .unwrap();
    assert_eq!(sent.redirect_uri, None);
    let r = result(&b, "rot", r1_id).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(r["presentation"]["badge"][0]["claims"]["given_name"], "Ada");

    // Request 2, made on B: key 2, on both instances (A's cached keys are older).
    let r2 = request(&b, "rot", json!({"dcql_query": badge_query()})).await;
    let r2_id = r2["id"].as_str().unwrap();
    let link = r2["authorization_request"].as_str().unwrap();
    assert!(
        link.contains(&urlencode(&client_id2)),
        "{link} names {client_id2}"
    );
    for instance in [a, &b] {
        let (h, claims) = request_object(instance, "rot", r2_id).await;
        assert_eq!(claims["client_id"], client_id2.as_str());
        assert_eq!(x5c_client_id(&h), client_id2);
    }
    // Key 2's certificate does not chain to key 1's anchor: the wallet refuses it.
    assert!(
        wallet
            .resolve_presentation_request(link, &trust_for(&v1))
            .await
            .is_err()
    );
    wallet.present(link, &trust_for(&v2)).await.unwrap();
    let r = result(a, "rot", r2_id).await;
    assert_eq!(r["status"], "verified", "{r}");

    // Key 1 retired; deletable once no request made under it can be pending (a day).
    let items = keys(&b, "rot").await;
    let state = |kid: &str| {
        items.iter().find(|k| k["kid"] == kid).unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(state(&kid1), "retired");
    assert_eq!(state(&kid2), "active");
    assert!(items[0]["retired_at"].is_string(), "{items:?}");
    assert!(items[0]["published_until"].is_string(), "{items:?}");
    assert_eq!(delete(a, "rot", &kid1).await.0, 409);
    assert_eq!(delete(a, "rot", &kid2).await.0, 409, "the active key");
    a.clock.advance(86_400 + 1);
    let (status, body) = delete(a, "rot", &kid1).await;
    assert_eq!(status, 204, "{body}");
    let left = keys(&b, "rot").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["kid"], kid2.as_str());
    // Request 1 is long gone; new requests still work after the deletion.
    let r3 = request(&b, "rot", json!({"dcql_query": badge_query()})).await;
    let (h, _) = request_object(a, "rot", r3["id"].as_str().unwrap()).await;
    assert_eq!(x5c_client_id(&h), client_id2);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A decentralized_identifier verifier schedules its next key: it is `next` (requests keep
/// key 1's did:jwk) until `activate_at`, then the verifier's client_id and the request
/// objects' `kid` are key 2's DID on both instances.
async fn scheduled_rotation_changes_the_did_client_id_at_activate_at(a: &TestServer) {
    let b = a.sibling().await;
    let v1 = verifier(
        a,
        "did-rot",
        "decentralized_identifier",
        vec![a.issuer_url("demo")],
    )
    .await;
    let did1 = v1["client_id"].as_str().unwrap().to_owned();
    let at = a.clock.now().plus(3_600);
    let (status, created) = a
        .admin_post(
            &keys_path("did-rot"),
            &json!({"activate": false, "activate_at": format_date_time_stamp(at)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "next");
    let kid2 = created["kid"].as_str().unwrap().to_owned();
    // A second next key is refused while one is scheduled.
    let (status, _) = b.admin_post(&keys_path("did-rot"), &json!({})).await;
    assert_eq!(status, 409);

    let r1 = request(
        &b,
        "did-rot",
        json!({"dcql_query": badge_query(), "expires_in": 86_400}),
    )
    .await;
    let (h, claims) = request_object(a, "did-rot", r1["id"].as_str().unwrap()).await;
    assert_eq!(claims["client_id"], did1.as_str());
    assert!(
        h["kid"]
            .as_str()
            .unwrap()
            .starts_with(did1.trim_start_matches("decentralized_identifier:"))
    );

    a.clock.advance(3_601);
    let (_, v2) = b.admin_get("/api/v1/verifiers/did-rot").await;
    let did2 = v2["client_id"].as_str().unwrap().to_owned();
    assert_ne!(did2, did1);
    let items = keys(&b, "did-rot").await;
    assert_eq!(items[1]["kid"], kid2.as_str());
    assert_eq!(items[1]["state"], "active");
    assert_eq!(items[0]["state"], "retired");
    for instance in [a, &b] {
        let r2 = request(instance, "did-rot", json!({"dcql_query": badge_query()})).await;
        let (h, claims) = request_object(instance, "did-rot", r2["id"].as_str().unwrap()).await;
        assert_eq!(claims["client_id"], did2.as_str());
        let did = did2.trim_start_matches("decentralized_identifier:");
        assert_eq!(h["kid"], format!("{did}#0"));
    }
    // Request 1 (made under key 1, not yet expired: a day at most) is still key 1's.
    let (_, claims) = request_object(&b, "did-rot", r1["id"].as_str().unwrap()).await;
    assert_eq!(claims["client_id"], did1.as_str());
}

/// N rotations racing on two instances, each scheduling the next key: exactly one 201 (the
/// others read the same keys and lose the compare-and-set, or see its next key), the rest
/// 409, never a 5xx.
async fn racing_verifier_rotations_add_exactly_one_key(a: &TestServer) {
    let b = a.sibling().await;
    verifier(a, "race", "x509_hash", vec![]).await;
    let at = format_date_time_stamp(a.clock.now().plus(3_600));
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for i in 0..N {
        let instance = if i % 2 == 0 { a } else { &b };
        let req = instance
            .admin(Method::POST, &keys_path("race"))
            .json(&json!({"activate": false, "activate_at": at}));
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            req.send().await.unwrap().status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(keys(a, "race").await.len(), 2);
}

fn base64_std(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// An operator's CA and a P-256 leaf key it certified; PEM of the CA.
fn operator_chain(cn: &str) -> (SigningKey, Vec<Vec<u8>>, String) {
    let rng = SystemRandom::new();
    let now = vdc_core::time::SystemClock.now();
    let spec = |name: &str| {
        CertificateSpec::new(name, now.plus(-60), now.plus(86_400 * 30), &rng).unwrap()
    };
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(&spec(&format!("{cn} CA")).ca(), &ca_key).unwrap();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let leaf = x509::issue(&spec(cn), key.public_key(), &ca, &ca_key).unwrap();
    let pem = x509::to_pem(&ca);
    (key, vec![leaf, ca], pem)
}

fn jwk_of(key: &SigningKey) -> Value {
    serde_json::from_str(&key.to_private_jwk()).unwrap()
}

/// Import a key with the operator's chain: requests carry that chain whole, a wallet
/// trusting the operator's CA completes one, and the verifier then refuses a generated key
/// (its keys carry the operator's chain from now on).
async fn imported_operator_chains_are_used_as_given(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    verifier(server, "imp", "x509_hash", vec![server.issuer_url("demo")]).await;
    let (key, chain, ca_pem) = operator_chain("imp verifier");
    let x5c: Vec<String> = chain.iter().map(|c| base64_std(c)).collect();
    let (status, created) = server
        .admin_post(&keys_path("imp"), &json!({"jwk": jwk_of(&key), "x5c": x5c}))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["kid"], key.public_key().thumbprint());
    let (_, v) = server.admin_get("/api/v1/verifiers/imp").await;
    assert_eq!(
        v["client_id"],
        format!("x509_hash:{}", x509::x509_hash(&chain[0]))
    );
    assert_eq!(
        v["trust_anchor"],
        Value::Null,
        "an operator chain's anchor is the operator's"
    );
    let r = request(server, "imp", json!({"dcql_query": badge_query()})).await;
    let (h, _) = request_object(server, "imp", r["id"].as_str().unwrap()).await;
    assert_eq!(h["x5c"].as_array().unwrap().len(), 2, "the chain as given");
    let trust = VerifierTrust {
        x509_anchors: Some(TrustAnchors::from_pem(&ca_pem).unwrap()),
        accept_unanchored_x509: false,
    };
    wallet
        .present(r["authorization_request"].as_str().unwrap(), &trust)
        .await
        .unwrap();
    assert_eq!(
        result(server, "imp", r["id"].as_str().unwrap()).await["status"],
        "verified"
    );
    let (status, body) = server.admin_post(&keys_path("imp"), &json!({})).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("operator's certificate chain"),
        "{body}"
    );
}

async fn bad_verifier_rotations_are_refused(server: &TestServer) {
    verifier(server, "bad-x", "x509_hash", vec![]).await;
    verifier(server, "bad-did", "decentralized_identifier", vec![]).await;
    verifier(server, "bad-redirect", "redirect_uri", vec![]).await;
    let (key, chain, _) = operator_chain("bad");
    let (other, _, _) = operator_chain("other");
    let x5c: Vec<String> = chain.iter().map(|c| base64_std(c)).collect();
    let now = server.clock.now();
    let cases = [
        (
            "bad-x",
            json!({"jwk": jwk_of(&other), "x5c": x5c}),
            "does not certify",
        ),
        ("bad-x", json!({"x5c": x5c}), "needs the key"),
        (
            "bad-x",
            json!({"jwk": {"kty": "EC", "crv": "P-256"}}),
            "jwk",
        ),
        (
            "bad-x",
            json!({"jwk": jwk_of(&key), "x5c": ["not base64!"]}),
            "x5c",
        ),
        (
            "bad-did",
            json!({"jwk": jwk_of(&key), "x5c": x5c}),
            "x509_san_dns and x509_hash",
        ),
        ("bad-redirect", json!({}), "redirect_uri"),
        (
            "bad-x",
            json!({"pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "t",
                "key_label": "k", "pin_env": "VDC_PKCS11_PIN"}}),
            "pkcs11",
        ),
        (
            "bad-x",
            json!({"activate": false, "activate_at": format_date_time_stamp(now.plus(-5))}),
            "not in the future",
        ),
        ("bad-x", json!({"activate": false}), "activate_at"),
        ("bad-x", json!({"rotate": true}), "rotate"),
    ];
    for (verifier, body, needle) in cases {
        let (status, answer) = server.admin_post(&keys_path(verifier), &body).await;
        assert_eq!(status, 400, "{verifier} {body}: {answer}");
        assert_eq!(answer["error"], "invalid_request", "{answer}");
        let d = answer["error_description"].as_str().unwrap();
        assert!(d.contains(needle), "{body}: {d}");
    }
    assert_eq!(keys(server, "bad-x").await.len(), 1, "nothing was added");
    // Unknown verifier, unknown kid.
    let (status, _) = server.admin_post(&keys_path("nobody"), &json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(delete(server, "bad-x", "no-such-kid").await.0, 404);
    // A scoped key with read on the verifier lists its keys but may not rotate (admin only).
    let (status, k) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "reader", "issuers": [], "verifiers": ["bad-x"],
                "scopes": ["read", "presentations:write"]}),
        )
        .await;
    assert_eq!(status, 201, "{k}");
    let bearer = k["key"].as_str().unwrap();
    let r = server
        .http
        .get(server.url(&keys_path("bad-x")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = server
        .http
        .post(server.url(&keys_path("bad-x")))
        .bearer_auth(bearer)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(keys(server, "bad-x").await.len(), 1);
}

/// The independent wallet (`@openid4vc/openid4vp` 0.4.6, KB-JWT by `@sd-jwt/sd-jwt-vc`)
/// answers a request made before a rotation (it checks key 1's chain against key 1's anchor
/// and binds to key 1's client_id) and one made after it (key 2, the new anchor); vdc
/// verifies both. With the old anchor the new request's chain is refused.
async fn a_third_party_wallet_answers_requests_on_both_sides_of_a_rotation(server: &TestServer) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace",
                    "employee_id": "E-1", "department": "R&D"}}}),
        )
        .await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let credential = accepted.credentials[0].credential.clone();
    let holder_jwk: Value = serde_json::from_str(
        &accepted.credentials[0]
            .holder_private_jwk
            .as_ref()
            .unwrap()
            .signing_key()
            .unwrap()
            .to_private_jwk(),
    )
    .unwrap();
    let v1 = verifier(
        server,
        "tp-rot",
        "x509_hash",
        vec![server.issuer_url("demo")],
    )
    .await;
    let before = request(
        server,
        "tp-rot",
        json!({"dcql_query": badge_query(), "response_mode": "direct_post.jwt"}),
    )
    .await;
    let (status, created) = server
        .admin_post(&keys_path("tp-rot"), &json!({"activate": true}))
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, v2) = server.admin_get("/api/v1/verifiers/tp-rot").await;
    let after = request(server, "tp-rot", json!({"dcql_query": badge_query()})).await;
    let present = |created: &Value, anchor: &Value| {
        crate::conformance::third_party_presentation(json!({
            "authorization_request": created["authorization_request"],
            "trust_anchor_pem": anchor,
            "credential": credential,
            "holder_private_jwk": holder_jwk,
            "allow_http": true}))
    };
    let refused = present(&after, &v1["trust_anchor"]).await;
    assert_eq!(
        refused["ok"], false,
        "key 2's chain under key 1's anchor: {refused}"
    );
    // The library's request-object check (x5c against the anchor) is what refuses it.
    assert_eq!(refused["step"], "library", "{refused}");
    for (created, v) in [(&before, &v1), (&after, &v2)] {
        let answer = present(created, &v["trust_anchor"]).await;
        assert_eq!(answer["ok"], true, "{answer}");
        assert_eq!(answer["status"], 200, "{answer}");
        assert_eq!(answer["client_id"], v["client_id"], "{answer}");
        let r = result(server, "tp-rot", created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], "verified", "{r}");
        assert_eq!(
            r["presentation"]["badge"][0]["claims"],
            json!({"given_name": "Ada", "employee_id": "E-1"})
        );
    }
}
