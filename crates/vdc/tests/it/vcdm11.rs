//! W3C VCDM 1.1 `jwt_vc_json` (OID4VP 1.0 Appendix B.1; VCDM 1.1 §6.3.1) beside VCDM 2.0,
//! end to end over HTTP on SQLite and Postgres: an issuer configured with `"vcdm": "1.1"`
//! issues the JWT encoding with a `vc` claim, the wallet accepts it and presents it in a
//! 1.1 VP (`vp` claim), the verifier checks it; one VP carrying several credentials answers
//! a `multiple: true` query (both encodings); and a VP of another holder is refused as
//! `key_binding`.

use serde_json::{Value, json};
use vdc_core::jose::{LocalSigner, Signer as _, jws};
use vdc_core::time::Clock as _;
use vdc_core::vc_jose::{self, vcdm11};
use vdc_holder::PresentationRequest;
use vdc_testkit::TestServer;

use crate::presentation::{post, request, result, trust_for, verifier, w3c_query};
use crate::support::{credential, fresh_token, nonce, proof};

vdc_testkit::both_backends!(
    a_vcdm_1_1_issuer_and_the_verifier_agree_end_to_end,
    one_vp_carries_several_credentials_for_a_multiple_query,
    a_vcdm_1_1_vp_of_another_holder_is_rejected_as_key_binding,
);

const CONFIG: &str = "EmployeeBadgeW3C";

/// The demo issuer's definition as `id`, issuing its W3C badge as VCDM 1.1.
async fn vcdm11_issuer(server: &TestServer, id: &str) -> Value {
    let mut body = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    body["id"] = id.into();
    body["credential_configurations"][CONFIG]["vcdm"] = "1.1".into();
    let (status, created) = server.admin_post("/api/v1/issuers", &body).await;
    assert_eq!(status, 201, "{created}");
    created
}

fn badge_offer(employee_id: &str) -> Value {
    json!({"credential_configuration_ids": [CONFIG],
        "claims": {CONFIG: {"given_name": "Grace", "employee_id": employee_id}}})
}

/// A credential of `issuer` bound to `holder` (the OID4VCI flow driven by hand, so that
/// several credentials share one holder key).
async fn issue_to(
    server: &TestServer,
    issuer: &str,
    holder: &LocalSigner,
    employee_id: &str,
) -> String {
    let token = fresh_token(server, issuer, &badge_offer(employee_id)).await;
    let n = nonce(server, issuer).await;
    let p = vdc_core::key_proof::create(
        holder,
        vdc_core::key_proof::ProofInput {
            audience: &server.issuer_url(issuer),
            nonce: Some(&n),
            client_id: None,
            iat: server.clock.now(),
        },
    )
    .await
    .unwrap();
    let (status, body, _) = credential(
        server,
        issuer,
        &token,
        &json!({"credential_configuration_id": CONFIG, "proofs": {"jwt": [p]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A verifier `id` trusting `issuers`, a request for `query`, and the request as a wallet
/// resolved it (for its client_id, nonce and state).
async fn ask(
    server: &TestServer,
    id: &str,
    issuers: &[&str],
    query: Value,
) -> (Value, PresentationRequest) {
    let trusted = issuers.iter().map(|i| server.issuer_url(i)).collect();
    let v = verifier(server, id, "x509_san_dns", trusted).await;
    let created = request(server, id, json!({"dcql_query": query})).await;
    let req = server
        .wallet()
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    (created, req)
}

async fn answer(
    server: &TestServer,
    verifier: &str,
    req: &PresentationRequest,
    vp: &str,
) -> (u16, Value) {
    let vp_token = json!({"w3c": [vp]}).to_string();
    post(
        server,
        verifier,
        &[("vp_token", &vp_token), ("state", req.state().unwrap())],
    )
    .await
}

/// A 400 naming `reason`, and the request rejected with it, nothing presented.
async fn rejected(
    server: &TestServer,
    verifier: &str,
    created: &Value,
    got: (u16, Value),
    reason: &str,
) {
    assert_eq!(got.0, 400, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_request");
    let description = got.1["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("{reason}:")),
        "{description}"
    );
    let r = result(server, verifier, created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert_eq!(r["presentation"], Value::Null);
}

/// A VP of `vcs` for `req` in the 1.1 or the 2.0 encoding.
async fn vp_of(
    server: &TestServer,
    v11: bool,
    vcs: &[String],
    holder: &LocalSigner,
    req: &PresentationRequest,
) -> String {
    let (aud, nonce, now) = (&req.client_id, req.nonce().unwrap(), server.clock.now());
    if v11 {
        vcdm11::present_vp_jwt_v11(vcs, holder, aud, nonce, now, None)
            .await
            .unwrap()
    } else {
        vc_jose::present_vp_jwt(vcs, holder, aud, nonce, now, None)
            .await
            .unwrap()
    }
}

fn multiple_query() -> Value {
    let mut q = w3c_query();
    q["credentials"][0]["multiple"] = true.into();
    q["credentials"][0]["claims"] = json!([{"path": ["credentialSubject", "employee_id"]}]);
    q
}

async fn a_vcdm_1_1_issuer_and_the_verifier_agree_end_to_end(server: &TestServer) {
    let created = vcdm11_issuer(server, "w11").await;
    assert_eq!(created["credential_configurations"][CONFIG]["vcdm"], "1.1");
    // The metadata says nothing about the data model (vdc's addition is internal).
    let meta: Value = server
        .http
        .get(server.url("/.well-known/openid-credential-issuer/issuers/w11"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        meta["credential_configurations_supported"][CONFIG]
            .get("vcdm")
            .is_none()
    );
    // `vcdm` is for jwt_vc_json only.
    let mut bad = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    bad["id"] = "w11-bad".into();
    bad["credential_configurations"]["EmployeeBadge"]["vcdm"] = "1.1".into();
    let (status, refused) = server.admin_post("/api/v1/issuers", &bad).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_request")),
        "{refused}"
    );
    bad["credential_configurations"]["EmployeeBadge"]
        .as_object_mut()
        .unwrap()
        .remove("vcdm");
    bad["credential_configurations"][CONFIG]["vcdm"] = "3.0".into();
    let (status, refused) = server.admin_post("/api/v1/issuers", &bad).await;
    assert_eq!(status, 400, "{refused}");

    // The wallet redeems the offer (checking the 1.1 credential) and keeps it.
    let offer = server.offer("w11", &badge_offer("E-11")).await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let v = verifier(
        server,
        "v11",
        "x509_san_dns",
        vec![server.issuer_url("w11")],
    )
    .await;
    let mut query = w3c_query();
    query["credentials"][0]["claims"] =
        json!([{"path": ["credentialSubject", "employee_id"], "values": ["E-11"]}]);
    let created = request(server, "v11", json!({"dcql_query": query})).await;
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let sel = wallet.select_credentials(&req).await.unwrap().remove(0);
    // Spec: VCDM 1.1 §6.3.1: the credential sits in `vc`, with iss/sub/nbf/exp.
    let issued = jws::decode(&sel.credential.credential).unwrap();
    assert_eq!(issued.header["typ"], "JWT");
    assert_eq!(issued.payload["iss"], server.issuer_url("w11"));
    assert!(
        issued.payload["sub"]
            .as_str()
            .unwrap()
            .starts_with("did:jwk:")
    );
    assert!(issued.payload["nbf"].is_i64() && issued.payload["exp"].is_i64());
    let vc = &issued.payload["vc"];
    assert_eq!(vc["@context"], json!([vcdm11::CREDENTIALS_V1_CONTEXT]));
    assert!(vc["issuanceDate"].is_string() && vc["expirationDate"].is_string());
    assert!(vc.get("validFrom").is_none());
    wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let r = result(server, "v11", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    let p = &r["presentation"]["w3c"][0];
    assert_eq!(p["issuer"], server.issuer_url("w11"));
    assert_eq!(
        p["type"],
        json!(["VerifiableCredential", "EmployeeBadgeCredential"])
    );
    assert_eq!(
        p["claims"],
        json!({"credentialSubject": {"employee_id": "E-11"}})
    );
}

async fn one_vp_carries_several_credentials_for_a_multiple_query(server: &TestServer) {
    vcdm11_issuer(server, "w11").await;
    let (_, holder) = proof(server, "unused", None).await;
    for (issuer, v11) in [("demo", false), ("w11", true)] {
        let a = issue_to(server, issuer, &holder, "E-1").await;
        let b = issue_to(server, issuer, &holder, "E-2").await;
        assert_eq!(vcdm11::is_vcdm11(&jws::decode(&a).unwrap().payload), v11);
        let id = format!("multi-{issuer}");
        let (created, req) = ask(server, &id, &[issuer], multiple_query()).await;
        let vp = vp_of(server, v11, &[a.clone(), b.clone()], &holder, &req).await;
        let (status, body) = answer(server, &id, &req, &vp).await;
        assert_eq!(status, 200, "{body}");
        let r = result(server, &id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], "verified", "{issuer}: {r}");
        let entries = r["presentation"]["w3c"].as_array().unwrap();
        let ids: Vec<&Value> = entries
            .iter()
            .map(|e| &e["claims"]["credentialSubject"]["employee_id"])
            .collect();
        assert_eq!(
            ids,
            [&json!("E-1"), &json!("E-2")],
            "{issuer}: one entry per credential, in order"
        );

        // Without `multiple`, the same VP is one credential too many (OID4VP 1.0 §6.1).
        let single = format!("single-{issuer}");
        let (created, req) = ask(server, &single, &[issuer], w3c_query()).await;
        let vp = vp_of(server, v11, &[a.clone(), b.clone()], &holder, &req).await;
        let got = answer(server, &single, &req, &vp).await;
        rejected(server, &single, &created, got, "dcql_unsatisfied").await;
        // One credential twice does not stand for two.
        let twice = format!("twice-{issuer}");
        let (created, req) = ask(server, &twice, &[issuer], multiple_query()).await;
        let vp = vp_of(server, v11, &[a.clone(), a.clone()], &holder, &req).await;
        let got = answer(server, &twice, &req, &vp).await;
        rejected(server, &twice, &created, got, "dcql_unsatisfied").await;
    }
}

async fn a_vcdm_1_1_vp_of_another_holder_is_rejected_as_key_binding(server: &TestServer) {
    vcdm11_issuer(server, "w11").await;
    let (_, holder) = proof(server, "unused", None).await;
    let (_, other) = proof(server, "unused", None).await;
    let mine = issue_to(server, "w11", &holder, "E-1").await;
    let theirs = issue_to(server, "w11", &other, "E-2").await;
    let now = server.clock.now();
    let other_did: String = vdc_core::did::did_jwk_from(&other.public_jwk().key);
    let cases: [(&str, Vec<String>, &LocalSigner, Option<&str>); 3] = [
        // Signed by a key the credential is not bound to.
        ("signed-by-another", vec![mine.clone()], &other, None),
        // Signed by the right key, but naming another holder (VCDM 1.1 §6.3.1.1 `iss`).
        (
            "names-another",
            vec![mine.clone()],
            &holder,
            Some(&other_did),
        ),
        // Two credentials of two holders in one VP.
        (
            "two-holders",
            vec![mine.clone(), theirs.clone()],
            &holder,
            None,
        ),
    ];
    for (name, vcs, signer, iss) in cases {
        let id = format!("kb-{name}");
        let (created, req) = ask(server, &id, &["w11"], multiple_query()).await;
        let vp = vcdm11::present_vp_jwt_v11(
            &vcs,
            signer,
            &req.client_id,
            req.nonce().unwrap(),
            now,
            iss,
        )
        .await
        .unwrap();
        let got = answer(server, &id, &req, &vp).await;
        rejected(server, &id, &created, got, "key_binding").await;
    }
    // A 1.1 VP around a VCDM 2.0 credential mixes encodings: refused as `signature`.
    let v2 = issue_to(server, "demo", &holder, "E-3").await;
    let (created, req) = ask(server, "mixed", &["demo"], multiple_query()).await;
    let vp = vcdm11::present_vp_jwt_v11(
        &[v2],
        &holder,
        &req.client_id,
        req.nonce().unwrap(),
        now,
        None,
    )
    .await
    .unwrap();
    let got = answer(server, "mixed", &req, &vp).await;
    rejected(server, "mixed", &created, got, "signature").await;
}
