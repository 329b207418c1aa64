//! OpenID4VP end to end over HTTP, on SQLite and Postgres: every client identifier prefix
//! and both response modes with the vdc-holder wallet, request URI method post, same-device
//! response codes, and every refusal the verifier issue lists, each with its exact outcome.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::Barrier;
use vdc_core::base64url;
use vdc_core::sd_jwt::{KeyBindingInput, SdJwt, present};
use vdc_core::time::{Clock as _, UnixTime};
use vdc_core::x509::TrustAnchors;
use vdc_holder::{PresentationRequest, VerifierTrust, Wallet};
use vdc_testkit::TestServer;

vdc_testkit::both_backends!(
    every_prefix_and_response_mode_verifies_with_minimal_disclosure,
    request_uri_method_post_returns_the_wallet_nonce,
    same_device_redirect_carries_a_single_use_response_code,
    wrong_kb_nonce_is_rejected_as_nonce,
    wrong_kb_aud_is_rejected_as_audience,
    stale_kb_iat_is_rejected_as_key_binding,
    tampered_disclosure_is_rejected_as_signature,
    extra_unreferenced_disclosure_is_rejected_as_signature,
    broken_issuer_signature_is_rejected_as_signature,
    untrusted_issuer_is_rejected_as_untrusted_issuer,
    revoked_and_suspended_credentials_are_rejected_as_status,
    vp_token_replayed_to_a_second_request_is_rejected_as_nonce,
    second_response_to_a_finished_request_is_refused,
    unsatisfied_dcql_query_is_rejected_as_dcql_unsatisfied,
    expired_request_becomes_expired_and_refuses_responses,
    wallet_error_response_rejects_with_that_error,
    response_naming_no_request_changes_nothing,
    plain_response_to_an_encrypted_request_is_rejected,
    invalid_dcql_queries_and_bodies_are_invalid_request,
    racing_responses_to_one_request_process_exactly_one,
    foreign_issuer_is_trusted_only_through_a_configured_x5c_anchor,
    foreign_x5c_certificate_of_another_tenant_on_the_host_is_rejected,
    expired_credential_is_rejected_as_expired,
    jwt_vc_json_presentations_verify_for_every_prefix_and_mode,
    jwt_vc_json_with_wrong_nonce_is_rejected_as_nonce,
    jwt_vc_json_with_wrong_aud_is_rejected_as_audience,
    jwt_vc_json_signed_by_another_key_is_rejected_as_key_binding,
    jwt_vc_json_with_tampered_credential_signature_is_rejected_as_signature,
    jwt_vc_json_revoked_and_suspended_are_rejected_as_status,
    jwt_vc_json_from_untrusted_issuer_is_rejected_as_untrusted_issuer,
    jwt_vc_json_unsatisfied_dcql_is_rejected_as_dcql_unsatisfied,
    configured_certificate_chain_from_an_operator_ca_works_end_to_end,
    configured_certificate_without_the_dns_san_or_for_another_key_is_refused,
);

pub(crate) const VCT: &str = "https://vdc.example/vct/employee-badge";

pub(crate) fn badge_query() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]})
}

/// A wallet holding one badge from the demo issuer, and the issuer's id for the credential.
pub(crate) async fn holder(server: &TestServer) -> (Wallet, String) {
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
    let (status, record) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    let id = record["credentials"][0]["id"].as_str().unwrap().to_owned();
    (wallet, id)
}

pub(crate) async fn verifier(
    server: &TestServer,
    id: &str,
    prefix: &str,
    trusted: Vec<String>,
) -> Value {
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": id, "client_id_prefix": prefix, "display": {"name": id},
                "trusted_issuers": trusted}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

pub(crate) fn trust_for(verifier: &Value) -> VerifierTrust {
    VerifierTrust {
        x509_anchors: verifier["trust_anchor"]
            .as_str()
            .map(|pem| TrustAnchors::from_pem(pem).unwrap()),
        accept_unanchored_x509: false,
    }
}

pub(crate) async fn request(server: &TestServer, verifier: &str, body: Value) -> Value {
    let (status, created) = server
        .admin_post(&format!("/api/v1/verifiers/{verifier}/requests"), &body)
        .await;
    assert_eq!(status, 201, "{created}");
    created
}

pub(crate) async fn result(server: &TestServer, verifier: &str, id: &str) -> Value {
    let (status, body) = server
        .admin_get(&format!("/api/v1/verifiers/{verifier}/requests/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A demo verifier `v` (x509_san_dns) trusting the demo issuer, and one pending request.
pub(crate) async fn setup(server: &TestServer, body: Value) -> (Value, Value) {
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(server, "v", body).await;
    (v, created)
}

/// Resolves the request as the wallet and returns it with the one selection's presentation
/// parts: the issued SD-JWT and the disclosures the query asks for.
pub(crate) async fn resolve(
    wallet: &Wallet,
    v: &Value,
    created: &Value,
) -> (
    PresentationRequest,
    SdJwt,
    Vec<String>,
    vdc_core::jose::LocalSigner,
) {
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(v),
        )
        .await
        .unwrap();
    let sel = wallet.select_credentials(&req).await.unwrap().remove(0);
    let sd = SdJwt::parse(&sel.credential.credential).unwrap();
    let disclosures = vdc_core::sd_jwt::select_disclosures(&sd, &sel.paths).unwrap();
    let signer = sel.credential.holder_private_jwk.unwrap().signer().unwrap();
    (req, sd, disclosures, signer)
}

pub(crate) async fn kb_presentation(
    sd: &SdJwt,
    disclosures: Vec<String>,
    signer: &vdc_core::jose::LocalSigner,
    aud: &str,
    nonce: &str,
    iat: UnixTime,
) -> String {
    present(
        sd,
        disclosures,
        Some(KeyBindingInput {
            signer,
            aud,
            nonce,
            iat,
        }),
    )
    .await
    .unwrap()
}

/// Posts a direct_post response; status and body.
pub(crate) async fn post(
    server: &TestServer,
    verifier: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = server
        .http
        .post(server.url(&format!("/verifiers/{verifier}/response")))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn respond(server: &TestServer, req: &PresentationRequest, vp: &str) -> (u16, Value) {
    let vp_token = json!({"badge": [vp]}).to_string();
    post(
        server,
        "v",
        &[("vp_token", &vp_token), ("state", req.state().unwrap())],
    )
    .await
}

/// Asserts a 400 invalid_request naming `reason`, and that the request is rejected with it.
pub(crate) async fn assert_rejected(
    server: &TestServer,
    created: &Value,
    answer: (u16, Value),
    reason: &str,
) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["error"], "invalid_request");
    let description = answer.1["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("{reason}:")),
        "{description}"
    );
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert_eq!(r["error"]["error"], "invalid_request");
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{reason}:")),
        "{r}"
    );
    assert_eq!(r["presentation"], Value::Null);
}

async fn every_prefix_and_response_mode_verifies_with_minimal_disclosure(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let prefixes = [
        "x509_san_dns",
        "x509_hash",
        "decentralized_identifier",
        "redirect_uri",
    ];
    for prefix in prefixes {
        let id = prefix.replace('_', "-");
        let v = verifier(server, &id, prefix, vec![server.issuer_url("demo")]).await;
        let client_id = v["client_id"].as_str().unwrap();
        assert!(client_id.starts_with(&format!("{prefix}:")), "{client_id}");
        for mode in ["direct_post", "direct_post.jwt"] {
            let created = request(
                server,
                &id,
                json!({"dcql_query": badge_query(), "response_mode": mode, "expires_in": 300}),
            )
            .await;
            let uri = created["authorization_request"].as_str().unwrap();
            assert!(uri.starts_with("openid4vp://?client_id="), "{uri}");
            assert_eq!(
                result(server, &id, created["id"].as_str().unwrap()).await["status"],
                "pending"
            );
            let sent = wallet.present(uri, &trust_for(&v)).await.unwrap();
            assert_eq!(sent.redirect_uri, None);
            let r = result(server, &id, created["id"].as_str().unwrap()).await;
            assert_eq!(r["status"], "verified", "{prefix} {mode}: {r}");
            assert_eq!(r["error"], Value::Null);
            let p = &r["presentation"]["badge"][0];
            assert_eq!(p["issuer"], server.issuer_url("demo"));
            assert_eq!(p["vct"], VCT);
            assert_eq!(p["status"], "valid");
            // Exactly the disclosed claims: family_name and department stayed with the holder.
            assert_eq!(
                p["claims"],
                json!({"given_name": "Ada", "employee_id": "E-1"})
            );
        }
    }
    // The signed prefixes serve oauth-authz-req+jwt request objects with x5c or a DID kid.
    let created = request(server, "x509-hash", json!({"dcql_query": badge_query()})).await;
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/oauth-authz-req+jwt"
    );
    let token = r.text().await.unwrap();
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    assert_eq!(jws.header["typ"], "oauth-authz-req+jwt");
    assert!(jws.header["x5c"].is_array());
    assert_eq!(jws.payload["response_type"], "vp_token");
    assert_eq!(jws.payload["response_mode"], "direct_post");
    assert_eq!(jws.payload["aud"], "https://self-issued.me/v2");
}

async fn request_uri_method_post_returns_the_wallet_nonce(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(
        server,
        json!({"dcql_query": badge_query(), "request_uri_method": "post",
            "response_mode": "direct_post.jwt"}),
    )
    .await;
    let uri = created["authorization_request"].as_str().unwrap();
    assert!(uri.contains("request_uri_method=post"));
    wallet.present(uri, &trust_for(&v)).await.unwrap();
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    // The POST answer carries the wallet_nonce in the signed object.
    let created = request(server, "v", json!({"dcql_query": badge_query()})).await;
    let r = server
        .http
        .post(created["request_uri"].as_str().unwrap())
        .form(&[
            ("wallet_nonce", "qPmxiNFCR3QTm19POc8u"),
            ("wallet_metadata", "{}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.text().await.unwrap();
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    assert_eq!(jws.payload["wallet_nonce"], "qPmxiNFCR3QTm19POc8u");
}

async fn same_device_redirect_carries_a_single_use_response_code(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(
        server,
        json!({"dcql_query": badge_query(), "redirect_uri": "https://rp.example/done"}),
    )
    .await;
    let sent = wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let redirect = sent.redirect_uri.unwrap();
    let code = redirect
        .strip_prefix("https://rp.example/done#response_code=")
        .unwrap();
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers/v/response-codes",
            &json!({"response_code": code}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], created["id"]);
    assert_eq!(body["status"], "verified");
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers/v/response-codes",
            &json!({"response_code": code}),
        )
        .await;
    assert_eq!(status, 404, "a response code is redeemed once");
}

async fn wrong_kb_nonce_is_rejected_as_nonce(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        "another-nonce",
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "nonce").await;
}

async fn wrong_kb_aud_is_rejected_as_audience(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    // The client id without its prefix is not the full client_id (OID4VP 1.0 §14.8).
    let bare = req.client_id.split_once(':').unwrap().1.to_owned();
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &bare,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "audience").await;
}

async fn stale_kb_iat_is_rejected_as_key_binding(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let stale = server.clock.now().plus(-3600);
    let vp = kb_presentation(&sd, d, &signer, &req.client_id, req.nonce().unwrap(), stale).await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "key_binding").await;
}

/// A disclosure `[salt, name, value]` with its value replaced.
fn with_value(disclosure: &str, value: Value) -> String {
    let raw = base64url::decode(disclosure).unwrap();
    let mut arr: Vec<Value> = serde_json::from_slice(&raw).unwrap();
    let last = arr.len() - 1;
    arr[last] = value;
    base64url::encode(serde_json::to_vec(&arr).unwrap())
}

async fn tampered_disclosure_is_rejected_as_signature(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, mut d, signer) = resolve(&wallet, &v, &created).await;
    d[0] = with_value(&d[0], json!("Mallory"));
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "signature").await;
}

async fn extra_unreferenced_disclosure_is_rejected_as_signature(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, mut d, signer) = resolve(&wallet, &v, &created).await;
    let extra = base64url::encode(
        serde_json::to_vec(&json!(["c2FsdHNhbHRzYWx0", "role", "admin"])).unwrap(),
    );
    d.push(extra);
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "signature").await;
}

async fn broken_issuer_signature_is_rejected_as_signature(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let jwt = sd.issuer_jwt();
    let (head, sig) = jwt.rsplit_once('.').unwrap();
    let mut sig = base64url::decode(sig).unwrap();
    sig[5] ^= 0x01;
    let broken = format!("{head}.{}", base64url::encode(&sig));
    let forged = SdJwt::from_parts(broken, Vec::new(), None);
    let vp = kb_presentation(
        &forged,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "signature").await;
}

async fn untrusted_issuer_is_rejected_as_untrusted_issuer(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let v = verifier(
        server,
        "v",
        "x509_san_dns",
        vec!["https://other.example/issuers/x".into()],
    )
    .await;
    let created = request(server, "v", json!({"dcql_query": badge_query()})).await;
    let err = wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("untrusted_issuer"), "{err}");
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected");
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .starts_with("untrusted_issuer:")
    );
}

async fn revoked_and_suspended_credentials_are_rejected_as_status(server: &TestServer) {
    for status in ["suspended", "revoked"] {
        let (wallet, credential_id) = holder(server).await;
        let verifier_id = format!("v-{status}");
        let v = verifier(
            server,
            &verifier_id,
            "x509_san_dns",
            vec![server.issuer_url("demo")],
        )
        .await;
        let (code, body) = server
            .admin_post(
                &format!("/api/v1/issuers/demo/credentials/{credential_id}/status"),
                &json!({"status": status}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        let created = request(server, &verifier_id, json!({"dcql_query": badge_query()})).await;
        let sent = wallet
            .present(
                created["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await;
        let r = result(server, &verifier_id, created["id"].as_str().unwrap()).await;
        let err = sent.expect_err(&r.to_string());
        assert!(
            err.to_string()
                .contains(&format!("the credential is {status}")),
            "{err}"
        );
        let r = result(server, &verifier_id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], "rejected");
        assert!(
            r["error"]["error_description"]
                .as_str()
                .unwrap()
                .starts_with("status:"),
            "{r}"
        );
    }
}

async fn vp_token_replayed_to_a_second_request_is_rejected_as_nonce(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, first) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &first).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    assert_eq!(respond(server, &req, &vp).await.0, 200);
    let second = request(server, "v", json!({"dcql_query": badge_query()})).await;
    let (req2, ..) = resolve(&wallet, &v, &second).await;
    let answer = respond(server, &req2, &vp).await;
    assert_rejected(server, &second, answer, "nonce").await;
    assert_eq!(
        result(server, "v", first["id"].as_str().unwrap()).await["status"],
        "verified"
    );
}

async fn second_response_to_a_finished_request_is_refused(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    assert_eq!(respond(server, &req, &vp).await.0, 200);
    let before = result(server, "v", created["id"].as_str().unwrap()).await;
    let (status, body) = respond(server, &req, &vp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(
        result(server, "v", created["id"].as_str().unwrap()).await,
        before
    );
    // A rejected request takes no further response either.
    let (v2, rejected) = (
        v,
        request(server, "v", json!({"dcql_query": badge_query()})).await,
    );
    let (req, sd, d, signer) = resolve(&wallet, &v2, &rejected).await;
    let bad = kb_presentation(
        &sd,
        d.clone(),
        &signer,
        &req.client_id,
        "x",
        server.clock.now(),
    )
    .await;
    assert_eq!(respond(server, &req, &bad).await.0, 400);
    let good = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    assert_eq!(respond(server, &req, &good).await.0, 400);
    assert_eq!(
        result(server, "v", rejected["id"].as_str().unwrap()).await["status"],
        "rejected"
    );
}

async fn unsatisfied_dcql_query_is_rejected_as_dcql_unsatisfied(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let query = json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "values": ["E-2"]}]}]});
    let (v, created) = setup(server, json!({"dcql_query": query})).await;
    let err = wallet
        .present(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, vdc_holder::Error::NoMatchingCredential(_)),
        "{err}"
    );
    // A wallet that answers anyway, with what it has, is refused.
    let other = request(server, "v", json!({"dcql_query": badge_query()})).await;
    let (_, sd, d, signer) = resolve(&wallet, &v, &other).await;
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}

async fn expired_request_becomes_expired_and_refuses_responses(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(
        server,
        json!({"dcql_query": badge_query(), "expires_in": 60}),
    )
    .await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    server.clock.advance(61);
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let (status, body) = respond(server, &req, &vp).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "expired");
    assert_eq!(r["presentation"], Value::Null);
}

async fn wallet_error_response_rejects_with_that_error(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, ..) = resolve(&wallet, &v, &created).await;
    let (status, _) = post(
        server,
        "v",
        &[
            ("error", "access_denied"),
            ("error_description", "user said no"),
            ("state", req.state().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected");
    assert_eq!(
        r["error"],
        json!({"error": "access_denied", "error_description": "user said no"})
    );
}

async fn response_naming_no_request_changes_nothing(server: &TestServer) {
    let (_, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    for form in [
        vec![("vp_token", "{}"), ("state", "no-such-state")],
        vec![("vp_token", "{}")],
        vec![("response", "a.b.c.d.e")],
    ] {
        let (status, body) = post(server, "v", &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{form:?}"
        );
    }
    assert_eq!(
        result(server, "v", created["id"].as_str().unwrap()).await["status"],
        "pending"
    );
}

async fn plain_response_to_an_encrypted_request_is_rejected(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(
        server,
        json!({"dcql_query": badge_query(), "response_mode": "direct_post.jwt"}),
    )
    .await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "decryption").await;
}

async fn invalid_dcql_queries_and_bodies_are_invalid_request(server: &TestServer) {
    verifier(server, "v", "x509_san_dns", vec![]).await;
    for body in [
        json!({"dcql_query": {"credentials": []}}),
        json!({"dcql_query": {"credentials": [{"id": "a", "format": "mso_mdoc", "meta": {}}]}}),
        json!({"dcql_query": badge_query(), "response_mode": "fragment"}),
        json!({"dcql_query": badge_query(), "expires_in": 0}),
        json!({"dcql_query": badge_query(), "expires_in": 86401}),
    ] {
        let (status, answer) = server
            .admin_post("/api/v1/verifiers/v/requests", &body)
            .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers/nope/requests",
            &json!({"dcql_query": badge_query()}),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "Bad Slug", "client_id_prefix": "x509_hash"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "v", "client_id_prefix": "x509_hash"}),
        )
        .await;
    assert_eq!(status, 409);
    let r = server
        .http
        .get(server.url("/api/v1/verifiers/v"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn racing_responses_to_one_request_process_exactly_one(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let vp_token = json!({"badge": [vp]}).to_string();
    let state = req.state().unwrap().to_owned();
    const N: usize = 16;
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let (barrier, http, url) = (
            barrier.clone(),
            server.http.clone(),
            server.url("/verifiers/v/response"),
        );
        let form: Map<String, Value> = Map::new();
        let _ = form;
        let (vp_token, state) = (vp_token.clone(), state.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            http.post(url)
                .form(&[("vp_token", vp_token.as_str()), ("state", state.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s == 200 || s == 400, "{s}");
        ok += usize::from(s == 200);
    }
    assert_eq!(ok, 1);
    assert_eq!(
        result(server, "v", created["id"].as_str().unwrap()).await["status"],
        "verified"
    );
}

/// A foreign issuer's SD-JWT VC signed with an `x5c` chain, its CA (PEM), and the holder key.
async fn foreign_credential(
    server: &TestServer,
    iss: &str,
) -> (SdJwt, String, vdc_core::jose::LocalSigner) {
    foreign_credential_with_sans(server, iss, &[iss], &[]).await
}

/// [`foreign_credential`] with a leaf certificate naming exactly these URI and DNS SANs.
async fn foreign_credential_with_sans(
    server: &TestServer,
    iss: &str,
    uris: &[&str],
    dns: &[&str],
) -> (SdJwt, String, vdc_core::jose::LocalSigner) {
    use vdc_core::jose::{Algorithm, LocalSigner, Signer as _, SigningKey};
    use vdc_core::x509::{self, CertificateSpec};
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(
        &CertificateSpec::new("Foreign CA", now.plus(-60), now.plus(3600), &rng)
            .unwrap()
            .ca(),
        &ca_key,
    )
    .unwrap();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let mut leaf_spec =
        CertificateSpec::new("Foreign issuer", now.plus(-60), now.plus(3600), &rng).unwrap();
    for uri in uris {
        leaf_spec = leaf_spec.with_uri(*uri);
    }
    for name in dns {
        leaf_spec = leaf_spec.with_dns_name(*name);
    }
    let leaf = x509::issue(&leaf_spec, key.public_key(), &ca, &ca_key).unwrap();
    let signer = LocalSigner::new(key).with_x5c(vec![leaf]);
    let holder = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let claims = vdc_core::sd_jwt_vc::SdJwtVcClaims {
        iss: Some(iss.into()),
        vct: VCT.into(),
        iat: Some(now),
        nbf: None,
        exp: Some(now.plus(3600)),
        holder_key: Some(holder.public_jwk().key.clone()),
        status: None,
        claims: json!({"given_name": "Grace", "employee_id": "E-9", "department": "Navy"})
            .as_object()
            .cloned()
            .unwrap(),
    };
    let paths: Vec<vdc_core::claims_path::ClaimPath> = ["given_name", "employee_id", "department"]
        .iter()
        .map(|n| vdc_core::claims_path::ClaimPath::names(&[n]).unwrap())
        .collect();
    let frame = vdc_core::sd_jwt::Frame::from_paths(&paths).unwrap();
    let issued = vdc_core::sd_jwt_vc::issue(&claims, &frame, &signer, &rng)
        .await
        .unwrap();
    (
        SdJwt::parse(&issued.compact).unwrap(),
        x509::to_pem(&ca),
        holder,
    )
}

/// G3, G6 (issue 10 item 16): a verifier trusting two issuers on one host
/// (`https://foreign.example/issuers/{a,b}`) and their CA: tenant a's certificate (URI SAN
/// a, DNS SAN the host) does not make a credential with `iss` b verify, nor does a
/// DNS-only certificate for the host; b's own certificate does.
async fn foreign_x5c_certificate_of_another_tenant_on_the_host_is_rejected(server: &TestServer) {
    let a = "https://foreign.example/issuers/a";
    let b = "https://foreign.example/issuers/b";
    let host = "foreign.example";
    let wanted = vec![
        vdc_core::claims_path::ClaimPath::names(&["given_name"]).unwrap(),
        vdc_core::claims_path::ClaimPath::names(&["employee_id"]).unwrap(),
    ];
    let wallet = server.wallet();
    let cases: [(&str, &[&str], &[&str], &str); 3] = [
        ("tenant-a-cert", &[a], &[host], "rejected"),
        ("dns-only-cert", &[], &[host], "rejected"),
        ("tenant-b-cert", &[b], &[host], "verified"),
    ];
    for (id, uris, dns, outcome) in cases {
        let (sd, ca_pem, holder) = foreign_credential_with_sans(server, b, uris, dns).await;
        let d = vdc_core::sd_jwt::select_disclosures(&sd, &wanted).unwrap();
        let (status, v) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": id, "client_id_prefix": "x509_hash",
                    "trusted_issuers": [a, b], "trusted_issuer_anchors": [ca_pem]}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let created = request(server, id, json!({"dcql_query": badge_query()})).await;
        let req = wallet
            .resolve_presentation_request(
                created["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await
            .unwrap();
        let vp = kb_presentation(
            &sd,
            d,
            &holder,
            &req.client_id,
            req.nonce().unwrap(),
            server.clock.now(),
        )
        .await;
        let vp_token = json!({"badge": [vp]}).to_string();
        let (code, body) = post(
            server,
            id,
            &[("vp_token", &vp_token), ("state", req.state().unwrap())],
        )
        .await;
        let r = result(server, id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], outcome, "{id}: {body} {r}");
        if outcome == "verified" {
            assert_eq!(code, 200);
            assert_eq!(r["presentation"]["badge"][0]["issuer"], b);
        } else {
            assert_eq!(code, 400, "{id}: {body}");
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .starts_with("untrusted_issuer:"),
                "{id}: {body}"
            );
        }
    }
}

async fn foreign_issuer_is_trusted_only_through_a_configured_x5c_anchor(server: &TestServer) {
    let iss = "https://foreign.example/issuers/navy";
    let (sd, ca_pem, holder) = foreign_credential(server, iss).await;
    let wanted = vec![
        vdc_core::claims_path::ClaimPath::names(&["given_name"]).unwrap(),
        vdc_core::claims_path::ClaimPath::names(&["employee_id"]).unwrap(),
    ];
    let d = vdc_core::sd_jwt::select_disclosures(&sd, &wanted).unwrap();
    let wallet = server.wallet();
    for (id, anchors, outcome) in [
        ("anchored", vec![ca_pem.clone()], "verified"),
        ("unanchored", vec![], "rejected"),
    ] {
        let (status, v) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": id, "client_id_prefix": "x509_hash",
                    "trusted_issuers": [iss], "trusted_issuer_anchors": anchors}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let created = request(server, id, json!({"dcql_query": badge_query()})).await;
        let req = wallet
            .resolve_presentation_request(
                created["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await
            .unwrap();
        let vp = kb_presentation(
            &sd,
            d.clone(),
            &holder,
            &req.client_id,
            req.nonce().unwrap(),
            server.clock.now(),
        )
        .await;
        let vp_token = json!({"badge": [vp]}).to_string();
        let (code, body) = post(
            server,
            id,
            &[("vp_token", &vp_token), ("state", req.state().unwrap())],
        )
        .await;
        let r = result(server, id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], outcome, "{id}: {body} {r}");
        if outcome == "verified" {
            assert_eq!(code, 200);
            assert_eq!(r["presentation"]["badge"][0]["issuer"], iss);
            assert_eq!(
                r["presentation"]["badge"][0]["claims"],
                json!({"given_name": "Grace", "employee_id": "E-9"})
            );
        } else {
            assert_eq!(code, 400);
            assert!(
                body["error_description"]
                    .as_str()
                    .unwrap()
                    .starts_with("untrusted_issuer:"),
                "{body}"
            );
        }
    }
    let (status, _) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "bad-anchor", "client_id_prefix": "x509_hash",
                "trusted_issuer_anchors": ["not a certificate"]}),
        )
        .await;
    assert_eq!(status, 400);
}

async fn expired_credential_is_rejected_as_expired(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    // The demo badge lives one year; two years later it is expired.
    server.clock.advance(2 * 365 * 24 * 3600);
    let (v, created) = setup(server, json!({"dcql_query": badge_query()})).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        d,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = respond(server, &req, &vp).await;
    assert_rejected(server, &created, answer, "expired").await;
}

// ---------------------------------------------------------------------------------------
// jwt_vc_json (OID4VP 1.0 Appendix B.1): a vp+jwt enveloping the vc+jwt.

const W3C_TYPE: &str = "EmployeeBadgeCredential";

pub(crate) fn w3c_query() -> Value {
    json!({"credentials": [{"id": "w3c", "format": "jwt_vc_json",
        "meta": {"type_values": [["VerifiableCredential", W3C_TYPE]]},
        "claims": [{"path": ["credentialSubject", "employee_id"], "values": ["E-7"]}]}]})
}

/// A wallet holding one W3C badge from the demo issuer, and the issuer's id for it.
pub(crate) async fn w3c_holder(server: &TestServer) -> (Wallet, String) {
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadgeW3C"],
                "claims": {"EmployeeBadgeW3C": {"given_name": "Grace", "employee_id": "E-7"}}}),
        )
        .await;
    let wallet = server.wallet();
    wallet
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (status, record) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    let id = record["credentials"][0]["id"].as_str().unwrap().to_owned();
    (wallet, id)
}

/// The resolved request, the stored vc+jwt and the holder's signer.
async fn w3c_resolve(
    wallet: &Wallet,
    v: &Value,
    created: &Value,
) -> (PresentationRequest, String, vdc_core::jose::LocalSigner) {
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(v),
        )
        .await
        .unwrap();
    let sel = wallet.select_credentials(&req).await.unwrap().remove(0);
    assert_eq!(sel.credential.format, "jwt_vc_json");
    let signer = sel.credential.holder_private_jwk.unwrap().signer().unwrap();
    (req, sel.credential.credential, signer)
}

async fn w3c_respond(server: &TestServer, req: &PresentationRequest, vp: &str) -> (u16, Value) {
    let vp_token = json!({"w3c": [vp]}).to_string();
    post(
        server,
        "v",
        &[("vp_token", &vp_token), ("state", req.state().unwrap())],
    )
    .await
}

pub(crate) async fn vp(
    vc: &str,
    signer: &vdc_core::jose::LocalSigner,
    aud: &str,
    nonce: &str,
    iat: UnixTime,
) -> String {
    vdc_core::vc_jose::present_vp_jwt(&[vc.to_owned()], signer, aud, nonce, iat, None)
        .await
        .unwrap()
}

async fn jwt_vc_json_presentations_verify_for_every_prefix_and_mode(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    for prefix in [
        "x509_san_dns",
        "redirect_uri",
        "x509_hash",
        "decentralized_identifier",
    ] {
        let id = format!("w3c-{}", prefix.replace('_', "-"));
        let v = verifier(server, &id, prefix, vec![server.issuer_url("demo")]).await;
        for mode in ["direct_post", "direct_post.jwt"] {
            let created = request(
                server,
                &id,
                json!({"dcql_query": w3c_query(), "response_mode": mode}),
            )
            .await;
            wallet
                .present(
                    created["authorization_request"].as_str().unwrap(),
                    &trust_for(&v),
                )
                .await
                .unwrap();
            let r = result(server, &id, created["id"].as_str().unwrap()).await;
            assert_eq!(r["status"], "verified", "{prefix} {mode}: {r}");
            let p = &r["presentation"]["w3c"][0];
            assert_eq!(p["issuer"], server.issuer_url("demo"));
            assert_eq!(p["type"], json!(["VerifiableCredential", W3C_TYPE]));
            assert_eq!(p["status"], "valid");
            // Exactly the requested claims: given_name and the subject's id are not returned.
            assert_eq!(
                p["claims"],
                json!({"credentialSubject": {"employee_id": "E-7"}})
            );
        }
    }
}

async fn jwt_vc_json_with_wrong_nonce_is_rejected_as_nonce(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": w3c_query()})).await;
    let (req, vc, signer) = w3c_resolve(&wallet, &v, &created).await;
    let p = vp(
        &vc,
        &signer,
        &req.client_id,
        "another-nonce",
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "nonce").await;
}

async fn jwt_vc_json_with_wrong_aud_is_rejected_as_audience(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": w3c_query()})).await;
    let (req, vc, signer) = w3c_resolve(&wallet, &v, &created).await;
    // The client id without its prefix is not the full client_id.
    let bare = req.client_id.split_once(':').unwrap().1.to_owned();
    let p = vp(
        &vc,
        &signer,
        &bare,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "audience").await;
}

async fn jwt_vc_json_signed_by_another_key_is_rejected_as_key_binding(server: &TestServer) {
    use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
    let (wallet, _) = w3c_holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": w3c_query()})).await;
    let (req, vc, _) = w3c_resolve(&wallet, &v, &created).await;
    let rng = vdc_core::rng::SeededRandom::new(77);
    let other = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let p = vp(
        &vc,
        &other,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "key_binding").await;
}

async fn jwt_vc_json_with_tampered_credential_signature_is_rejected_as_signature(
    server: &TestServer,
) {
    let (wallet, _) = w3c_holder(server).await;
    let (v, created) = setup(server, json!({"dcql_query": w3c_query()})).await;
    let (req, vc, signer) = w3c_resolve(&wallet, &v, &created).await;
    let (head, sig) = vc.rsplit_once('.').unwrap();
    let mut sig = base64url::decode(sig).unwrap();
    sig[5] ^= 0x01;
    let tampered = format!("{head}.{}", base64url::encode(&sig));
    let p = vp(
        &tampered,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "signature").await;
}

async fn jwt_vc_json_revoked_and_suspended_are_rejected_as_status(server: &TestServer) {
    for status in ["suspended", "revoked"] {
        let (wallet, credential_id) = w3c_holder(server).await;
        let verifier_id = format!("w3c-{status}");
        let v = verifier(
            server,
            &verifier_id,
            "x509_san_dns",
            vec![server.issuer_url("demo")],
        )
        .await;
        let (code, body) = server
            .admin_post(
                &format!("/api/v1/issuers/demo/credentials/{credential_id}/status"),
                &json!({"status": status}),
            )
            .await;
        assert_eq!(code, 200, "{body}");
        let created = request(server, &verifier_id, json!({"dcql_query": w3c_query()})).await;
        let err = wallet
            .present(
                created["authorization_request"].as_str().unwrap(),
                &trust_for(&v),
            )
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("the credential is {status}")),
            "{err}"
        );
        let r = result(server, &verifier_id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], "rejected");
        assert!(
            r["error"]["error_description"]
                .as_str()
                .unwrap()
                .starts_with("status:"),
            "{r}"
        );
    }
}

async fn jwt_vc_json_from_untrusted_issuer_is_rejected_as_untrusted_issuer(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    let v = verifier(
        server,
        "v",
        "x509_san_dns",
        vec!["https://other.example/issuers/x".into()],
    )
    .await;
    let created = request(server, "v", json!({"dcql_query": w3c_query()})).await;
    let (req, vc, signer) = w3c_resolve(&wallet, &v, &created).await;
    let p = vp(
        &vc,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "untrusted_issuer").await;
}

async fn jwt_vc_json_unsatisfied_dcql_is_rejected_as_dcql_unsatisfied(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    // The wallet's credential is presented to a query asking for a value it does not hold.
    let (v, created) = setup(
        server,
        json!({"dcql_query": {"credentials": [{"id": "w3c", "format": "jwt_vc_json",
            "meta": {"type_values": [["VerifiableCredential", W3C_TYPE]]},
            "claims": [{"path": ["credentialSubject", "employee_id"], "values": ["E-999"]}]}]}}),
    )
    .await;
    let other = request(server, "v", json!({"dcql_query": w3c_query()})).await;
    let (_, vc, signer) = w3c_resolve(&wallet, &v, &other).await;
    let req = wallet
        .resolve_presentation_request(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
        )
        .await
        .unwrap();
    // The wallet itself finds nothing to present.
    assert!(wallet.select_credentials(&req).await.is_err());
    let p = vp(
        &vc,
        &signer,
        &req.client_id,
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let answer = w3c_respond(server, &req, &p).await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}

// ---------------------------------------------------------------------------------------
// Configured verifier certificates (an operator CA instead of the server-made one).

/// An operator CA (DER) and its key; a leaf for `key` with `dns` as DNS SAN (if any).
fn operator_ca(
    server: &TestServer,
) -> (
    Vec<u8>,
    vdc_core::jose::SigningKey,
    vdc_core::rng::SystemRandom,
) {
    use vdc_core::jose::{Algorithm, SigningKey};
    use vdc_core::x509::{self, CertificateSpec};
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(
        &CertificateSpec::new("Operator CA", now.plus(-60), now.plus(3600), &rng)
            .unwrap()
            .ca(),
        &ca_key,
    )
    .unwrap();
    (ca, ca_key, rng)
}

fn operator_leaf(
    server: &TestServer,
    (ca, ca_key, rng): &(
        Vec<u8>,
        vdc_core::jose::SigningKey,
        vdc_core::rng::SystemRandom,
    ),
    key: &vdc_core::jose::SigningKey,
    dns: Option<&str>,
) -> Vec<u8> {
    use vdc_core::x509::{self, CertificateSpec};
    let now = server.clock.now();
    let spec =
        CertificateSpec::new("Operator verifier", now.plus(-60), now.plus(3600), rng).unwrap();
    let spec = match dns {
        Some(d) => spec.with_dns_name(d),
        None => spec,
    };
    x509::issue(&spec, key.public_key(), ca, ca_key).unwrap()
}

fn private_jwk(key: &vdc_core::jose::SigningKey) -> Value {
    serde_json::from_str(&key.to_private_jwk()).unwrap()
}

/// The host the server's x509_san_dns client ids name (`localhost` for a loopback URL).
fn public_host(server: &TestServer) -> String {
    let url = url::Url::parse(&server.url("/")).unwrap();
    match url.host_str().unwrap() {
        "127.0.0.1" | "[::1]" => "localhost".into(),
        h => h.to_owned(),
    }
}

async fn configured_certificate_chain_from_an_operator_ca_works_end_to_end(server: &TestServer) {
    use vdc_core::jose::{Algorithm, SigningKey};
    let (wallet, _) = holder(server).await;
    let ca = operator_ca(server);
    let host = public_host(server);
    let trust = VerifierTrust {
        x509_anchors: Some(TrustAnchors::from_pem(&vdc_core::x509::to_pem(&ca.0)).unwrap()),
        accept_unanchored_x509: false,
    };
    for (id, prefix, as_pem) in [
        ("op-dns", "x509_san_dns", true),
        ("op-hash", "x509_hash", false),
    ] {
        let key = SigningKey::generate(Algorithm::Es256, &ca.2).unwrap();
        let leaf = operator_leaf(server, &ca, &key, Some(&host));
        let chain = if as_pem {
            Value::String(format!(
                "{}{}",
                vdc_core::x509::to_pem(&leaf),
                vdc_core::x509::to_pem(&ca.0)
            ))
        } else {
            vdc_core::x509::to_x5c(std::slice::from_ref(&leaf))
        };
        let (status, v) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": id, "client_id_prefix": prefix,
                    "trusted_issuers": [server.issuer_url("demo")],
                    "certificate_chain": chain, "signing_key": private_jwk(&key)}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        // The private key never comes back; no server-made anchor is offered.
        assert!(v.get("signing_key").is_none(), "{v}");
        assert!(!v.to_string().contains("\"d\""), "{v}");
        assert_eq!(v["trust_anchor"], Value::Null);
        assert_eq!(
            v["certificate"].as_str().unwrap(),
            vdc_core::x509::to_pem(&leaf)
        );
        if prefix == "x509_san_dns" {
            assert_eq!(v["client_id"], format!("x509_san_dns:{host}"));
        } else {
            assert_eq!(
                v["client_id"],
                format!("x509_hash:{}", vdc_core::x509::x509_hash(&leaf))
            );
        }
        let created = request(server, id, json!({"dcql_query": badge_query()})).await;
        let uri = created["authorization_request"].as_str().unwrap();
        // The server-made anchor of another verifier does not vouch for this one.
        let other = verifier(server, &format!("{id}-gen"), prefix, vec![]).await;
        assert!(wallet.present(uri, &trust_for(&other)).await.is_err());
        wallet.present(uri, &trust).await.unwrap();
        let r = result(server, id, created["id"].as_str().unwrap()).await;
        assert_eq!(r["status"], "verified", "{prefix}: {r}");
    }
}

async fn configured_certificate_without_the_dns_san_or_for_another_key_is_refused(
    server: &TestServer,
) {
    use vdc_core::jose::{Algorithm, SigningKey};
    let ca = operator_ca(server);
    let host = public_host(server);
    let key = SigningKey::generate(Algorithm::Es256, &ca.2).unwrap();
    let other_key = SigningKey::generate(Algorithm::Es256, &ca.2).unwrap();
    let good = operator_leaf(server, &ca, &key, Some(&host));
    let wrong_host = operator_leaf(server, &ca, &key, Some("rp.example.org"));
    let no_san = operator_leaf(server, &ca, &key, None);
    let x5c = |leaf: &Vec<u8>| vdc_core::x509::to_x5c(std::slice::from_ref(leaf));
    let cases = [
        (
            "x509_san_dns",
            x5c(&wrong_host),
            private_jwk(&key),
            "DNS SAN",
        ),
        ("x509_san_dns", x5c(&no_san), private_jwk(&key), "DNS SAN"),
        (
            "x509_san_dns",
            x5c(&good),
            private_jwk(&other_key),
            "does not certify",
        ),
        (
            "x509_hash",
            x5c(&good),
            private_jwk(&other_key),
            "does not certify",
        ),
        (
            "x509_san_dns",
            json!("not a certificate"),
            private_jwk(&key),
            "certificate_chain",
        ),
        (
            "decentralized_identifier",
            x5c(&good),
            private_jwk(&key),
            "x509_san_dns and x509_hash",
        ),
    ];
    for (i, (prefix, chain, jwk, message)) in cases.into_iter().enumerate() {
        let (status, body) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": format!("bad-{i}"), "client_id_prefix": prefix,
                    "certificate_chain": chain, "signing_key": jwk}),
            )
            .await;
        assert_eq!(status, 400, "{i}: {body}");
        assert_eq!(body["error"], "invalid_request");
        let d = body["error_description"].as_str().unwrap();
        assert!(d.contains(message), "{i}: {d}");
        assert!(!d.contains(jwk["d"].as_str().unwrap()), "{i}: {d}");
        let (status, _) = server
            .admin_get(&format!("/api/v1/verifiers/bad-{i}"))
            .await;
        assert_eq!(status, 404, "{i}");
    }
    // A chain without its key is refused too.
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "bad-nokey", "client_id_prefix": "x509_hash",
                "certificate_chain": x5c(&good)}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}
