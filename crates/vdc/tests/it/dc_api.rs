//! OpenID4VP over the Digital Credentials API (OID4VP 1.0 Appendix A; HAIP 1.0 §5.2) end to
//! end over HTTP, on SQLite and Postgres: the `dc_api_request` a created request carries
//! (unsigned, and signed with `expected_origins`), the page's answer posted to
//! `POST /api/v1/verifiers/{verifier}/requests/{id}/dc-api-response` for `dc_api` and
//! `dc_api.jwt` (SD-JWT VC, jwt_vc_json and mso_mdoc with the B.2.6.2 handover), and every
//! refusal with its exact status, `error` and reason.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Barrier;
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jwe::{self, ContentEncryption, JweHeaderParams, RecipientKey};
use vdc_core::jose::{AlgorithmPolicy, LocalSigner};
use vdc_core::mdoc::{Handover, SessionTranscript};
use vdc_core::rng::SystemRandom;
use vdc_core::sd_jwt::SdJwt;
use vdc_core::time::Clock as _;
use vdc_core::{base64url, x509};
use vdc_testkit::TestServer;

use crate::mdoc_presentation::{
    MDL, NS, device_response, document_signer, iaca, issue_mdoc, mdl_query, mdoc_verifier,
    valid_now,
};
use crate::presentation::{
    VCT, badge_query, holder, kb_presentation, request, result, verifier, vp, w3c_holder, w3c_query,
};

vdc_testkit::both_backends!(
    unsigned_dc_api_request_verifies_an_answer_bound_to_the_origin,
    signed_dc_api_request_carries_expected_origins_and_verifies,
    dc_api_jwt_answer_is_decrypted_with_the_requests_key,
    answer_bound_to_another_origin_or_to_the_client_id_is_rejected_as_audience,
    signed_request_answered_from_an_unexpected_origin_is_rejected_as_origin,
    wrong_nonce_is_rejected_as_nonce,
    non_web_origins_are_refused_and_change_nothing,
    expected_origins_are_refused_outside_signed_dc_api_requests,
    direct_post_request_is_not_answered_through_the_dc_api,
    malformed_answer_bodies_are_refused_and_change_nothing,
    wallet_error_rejects_the_request_with_that_error,
    odd_data_shapes_are_invalid_request,
    finished_expired_and_unknown_requests_take_no_answer,
    scoped_keys_of_another_verifier_or_scope_are_forbidden,
    jwt_vc_json_over_the_dc_api_binds_the_vp_to_the_origin,
    mdoc_over_the_dc_api_uses_the_dc_api_handover,
    haip_verifier_takes_dc_api_jwt_and_refuses_dc_api,
    racing_answers_to_one_request_process_exactly_one,
    transaction_data_over_the_dc_api_is_authorized_by_the_kb_jwt,
    dc_api_request_is_not_served_or_answered_over_redirects,
);

/// The page's origin in these tests.
const ORIGIN: &str = "https://rp.example";

/// `dc_api_request` of a created request (OID4VP 1.0 Appendix A.1, A.2).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DcApiRequest {
    protocol: String,
    data: Map<String, Value>,
}

/// An OAuth-style error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    error_description: String,
}

fn dc_api_request(created: &Value) -> DcApiRequest {
    serde_json::from_value(created["dc_api_request"].clone()).expect("a dc_api_request")
}

/// The request parameters the wallet reads: `data` (unsigned) or the payload of
/// `data.request` (signed).
fn params(dc: &DcApiRequest) -> Map<String, Value> {
    match dc.protocol.as_str() {
        "openid4vp-v1-unsigned" => dc.data.clone(),
        "openid4vp-v1-signed" => {
            let token = dc.data["request"].as_str().unwrap();
            vdc_core::jose::jws::decode(token).unwrap().payload.clone()
        }
        other => panic!("unknown protocol {other}"),
    }
}

fn nonce(dc: &DcApiRequest) -> String {
    params(dc)["nonce"].as_str().unwrap().to_owned()
}

fn id(created: &Value) -> &str {
    created["id"].as_str().unwrap()
}

/// What the wallet presents: the issued badge, the disclosures `badge_query` asks for and
/// the holder key.
struct Badge {
    sd: SdJwt,
    disclosures: Vec<String>,
    signer: LocalSigner,
}

async fn badge(server: &TestServer) -> Badge {
    let (wallet, _) = holder(server).await;
    let stored = wallet.list().await.unwrap().remove(0);
    let sd = SdJwt::parse(&stored.credential).unwrap();
    let paths = [
        ClaimPath::names(&["given_name"]).unwrap(),
        ClaimPath::names(&["employee_id"]).unwrap(),
    ];
    let disclosures = vdc_core::sd_jwt::select_disclosures(&sd, &paths).unwrap();
    let signer = stored.holder_private_jwk.unwrap().signer().unwrap();
    Badge {
        sd,
        disclosures,
        signer,
    }
}

impl Badge {
    /// The SD-JWT VC with a KB-JWT for `aud` and `nonce`.
    async fn present(&self, server: &TestServer, aud: &str, nonce: &str) -> String {
        kb_presentation(
            &self.sd,
            self.disclosures.clone(),
            &self.signer,
            aud,
            nonce,
            server.clock.now(),
        )
        .await
    }

    /// `data` of a `dc_api` answer: `{"vp_token": {"badge": [<presentation>]}}` with
    /// `aud = origin:<aud_origin>`.
    async fn data(&self, server: &TestServer, aud_origin: &str, nonce: &str) -> Value {
        let vp = self
            .present(server, &format!("origin:{aud_origin}"), nonce)
            .await;
        json!({"vp_token": {"badge": [vp]}})
    }
}

fn answer_path(verifier: &str, id: &str) -> String {
    format!("/api/v1/verifiers/{verifier}/requests/{id}/dc-api-response")
}

/// Posts `{origin, data}` with the admin key; status and body.
async fn answer(
    server: &TestServer,
    verifier: &str,
    id: &str,
    origin: &str,
    data: &Value,
) -> (u16, Value) {
    server
        .admin_post(
            &answer_path(verifier, id),
            &json!({"origin": origin, "data": data}),
        )
        .await
}

/// Posts a raw JSON text with the admin key; status and body.
async fn answer_raw(server: &TestServer, verifier: &str, id: &str, body: String) -> (u16, Value) {
    let r = server
        .admin(reqwest::Method::POST, &answer_path(verifier, id))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Asserts a 400 `invalid_request` whose description begins with `reason:`.
fn assert_refused(answer: &(u16, Value), reason: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    let body: ErrorBody = serde_json::from_value(answer.1.clone()).unwrap();
    assert_eq!(body.error, "invalid_request", "{}", answer.1);
    assert!(
        body.error_description.starts_with(&format!("{reason}:")),
        "expected {reason}: {}",
        body.error_description
    );
}

/// Asserts a 400 `invalid_request` (any description).
fn assert_invalid(answer: &(u16, Value)) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    let body: ErrorBody = serde_json::from_value(answer.1.clone()).unwrap();
    assert_eq!(body.error, "invalid_request", "{}", answer.1);
}

/// Asserts [`assert_refused`] and that the request is now rejected with that reason.
async fn assert_rejected(
    server: &TestServer,
    verifier: &str,
    created: &Value,
    answer: (u16, Value),
    reason: &str,
) {
    assert_refused(&answer, reason);
    let r = result(server, verifier, id(created)).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert_eq!(r["error"]["error"], "invalid_request", "{r}");
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{reason}:")),
        "{r}"
    );
    assert_eq!(r["presentation"], Value::Null);
}

async fn assert_pending(server: &TestServer, verifier: &str, created: &Value) {
    let r = result(server, verifier, id(created)).await;
    assert_eq!(r["status"], "pending", "{r}");
}

/// Asserts a 200 whose body is the verified result object (as `GET` shows it) with the
/// badge's disclosed claims.
async fn assert_verified_badge(
    server: &TestServer,
    verifier: &str,
    created: &Value,
    answer: (u16, Value),
) {
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["status"], "verified", "{}", answer.1);
    let p = &answer.1["presentation"]["badge"][0];
    assert_eq!(p["issuer"], server.issuer_url("demo"));
    assert_eq!(p["vct"], VCT);
    assert_eq!(p["status"], "valid");
    // Exactly the disclosed claims: family_name and department stayed with the holder.
    assert_eq!(
        p["claims"],
        json!({"given_name": "Ada", "employee_id": "E-1"})
    );
    assert_eq!(result(server, verifier, id(created)).await, answer.1);
}

/// Encrypts `payload` to the request's key in `client_metadata.jwks` (ECDH-ES, `enc`), as
/// a wallet does for `dc_api.jwt` (OID4VP 1.0 §8.3).
fn encrypt_to(params: &Map<String, Value>, payload: &Value, enc: ContentEncryption) -> String {
    let key = RecipientKey::select(&params["client_metadata"]["jwks"]).unwrap();
    jwe::encrypt(
        payload.to_string().as_bytes(),
        &key.key,
        enc,
        JweHeaderParams {
            kid: key.kid.clone(),
            ..JweHeaderParams::default()
        },
        &SystemRandom::new(),
    )
    .unwrap()
}

/// Verifies the signed request's JWS with its `x5c` leaf; the leaf.
fn verify_signed_request(dc: &DcApiRequest) -> Vec<u8> {
    let token = dc.data["request"].as_str().unwrap();
    let jws = vdc_core::jose::jws::decode(token).unwrap();
    // Spec: OID4VP 1.0 §5 (RFC 9101): a request object is typed oauth-authz-req+jwt.
    jws.expect_typ("oauth-authz-req+jwt").unwrap();
    let chain = x509::parse_x5c(&jws.header["x5c"]).unwrap();
    let leaf = chain[0].clone();
    let key = x509::leaf_public_key(&leaf).unwrap();
    jws.verify(&key, &AlgorithmPolicy::default()).unwrap();
    // Another payload under the same signature does not verify (the check above can fail).
    let (head, sig) = token.rsplit_once('.').unwrap();
    let h = head.split_once('.').unwrap().0;
    let mut payload = jws.payload.clone();
    payload.insert("nonce".into(), json!("forged"));
    let forged = format!(
        "{h}.{}.{sig}",
        base64url::encode(serde_json::to_vec(&payload).unwrap())
    );
    let forged = vdc_core::jose::jws::decode(&forged).unwrap();
    assert!(forged.verify(&key, &AlgorithmPolicy::default()).is_err());
    leaf
}

// ---------------------------------------------------------------------------------------

/// 1. Unsigned `dc_api`: the request parameters go to the API as they are, without
///    `client_id`, `state` or `response_uri`; the answer's KB-JWT is for `origin:<origin>`.
async fn unsigned_dc_api_request_verifies_an_answer_bound_to_the_origin(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let body = json!({"dcql_query": badge_query(), "response_mode": "dc_api"});
    let created = request(server, "v", body.clone()).await;
    let dc = dc_api_request(&created);
    // Spec: OID4VP 1.0 Appendix A.1: an unsigned request is `openid4vp-v1-unsigned`.
    assert_eq!(dc.protocol, "openid4vp-v1-unsigned");
    let data = &dc.data;
    assert_eq!(data["response_type"], "vp_token");
    assert_eq!(data["response_mode"], "dc_api");
    assert_eq!(data["dcql_query"], badge_query());
    assert!(!data["nonce"].as_str().unwrap().is_empty(), "{data:?}");
    assert!(
        data["client_metadata"]["vp_formats_supported"]["dc+sd-jwt"].is_object(),
        "{data:?}"
    );
    // An unencrypted answer: no encryption key is offered.
    assert!(data["client_metadata"].get("jwks").is_none(), "{data:?}");
    // Spec: OID4VP 1.0 Appendix A.2: "The client_id parameter MUST be omitted in unsigned
    // requests"; `state` is not defined for the DC API; the answer is not posted to a URI.
    for absent in [
        "client_id",
        "state",
        "response_uri",
        "redirect_uri",
        "request_uri",
    ] {
        assert!(!data.contains_key(absent), "{absent} in {data:?}");
    }
    // Every request has its own nonce.
    let other = dc_api_request(&request(server, "v", body).await);
    assert_ne!(nonce(&other), nonce(&dc));
    assert_pending(server, "v", &created).await;

    let data = badge.data(server, ORIGIN, &nonce(&dc)).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_verified_badge(server, "v", &created, got).await;
    // Spec: OID4VP 1.0 Appendix A.2 (`expected_origins`: http "for constrained scenarios
    // such as local development"): a loopback http origin is a web origin too.
    let local = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let origin = "http://127.0.0.1:3000";
    let data = badge
        .data(server, origin, &nonce(&dc_api_request(&local)))
        .await;
    let got = answer(server, "v", id(&local), origin, &data).await;
    assert_verified_badge(server, "v", &local, got).await;
}

/// 2. Signed (`expected_origins`): `data.request` is an oauth-authz-req+jwt signed with the
///    verifier's x5c key, carrying `client_id` and `expected_origins`; the answer is still
///    bound to the origin (A.4).
async fn signed_dc_api_request_carries_expected_origins_and_verifies(server: &TestServer) {
    let badge = badge(server).await;
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let origins = json!([ORIGIN, "https://other.example"]);
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": origins}),
    )
    .await;
    let dc = dc_api_request(&created);
    // Spec: OID4VP 1.0 Appendix A.1, A.3.1: a JWS Compact request is `openid4vp-v1-signed`,
    // sent as `{request: "<JWS>"}`.
    assert_eq!(dc.protocol, "openid4vp-v1-signed");
    assert_eq!(dc.data.keys().collect::<Vec<_>>(), ["request"]);
    let leaf = verify_signed_request(&dc);
    let client_id = v["client_id"].as_str().unwrap();
    let host = client_id.strip_prefix("x509_san_dns:").unwrap();
    assert!(x509::leaf_has_dns_san(&leaf, host).unwrap(), "{client_id}");
    let claims = params(&dc);
    // Spec: OID4VP 1.0 Appendix A.2: client_id "MUST be present in signed requests";
    // expected_origins is REQUIRED with signed requests.
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["expected_origins"], origins);
    assert_eq!(claims["response_type"], "vp_token");
    assert_eq!(claims["response_mode"], "dc_api");
    assert_eq!(claims["dcql_query"], badge_query());
    assert_eq!(claims["aud"], "https://self-issued.me/v2");
    assert!(!claims["nonce"].as_str().unwrap().is_empty());
    for absent in ["state", "response_uri", "redirect_uri"] {
        assert!(!claims.contains_key(absent), "{absent} in {claims:?}");
    }
    // The second expected origin answers as well as the first.
    let data = badge
        .data(server, "https://other.example", &nonce(&dc))
        .await;
    let got = answer(server, "v", id(&created), "https://other.example", &data).await;
    assert_verified_badge(server, "v", &created, got).await;
}

/// 3. `dc_api.jwt`: the request offers an ephemeral ECDH-ES key; the answer is
///    `{response: <JWE of {vp_token}>}`; a plain vp_token is refused as `decryption`.
async fn dc_api_jwt_answer_is_decrypted_with_the_requests_key(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let body = json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt"});
    for enc in [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm] {
        let created = request(server, "v", body.clone()).await;
        let dc = dc_api_request(&created);
        let p = params(&dc);
        assert_eq!(p["response_mode"], "dc_api.jwt");
        // Spec: OID4VP 1.0 §8.3: the verifier's key in client_metadata.jwks, with a kid,
        // and the enc values it takes.
        let jwk = &p["client_metadata"]["jwks"]["keys"][0];
        assert_eq!(jwk["alg"], "ECDH-ES", "{jwk}");
        assert!(jwk["kid"].is_string(), "{jwk}");
        assert!(jwk.get("d").is_none(), "{jwk}");
        assert_eq!(
            p["client_metadata"]["encrypted_response_enc_values_supported"],
            json!(["A128GCM", "A256GCM"])
        );
        let data = badge.data(server, ORIGIN, &nonce(&dc)).await;
        let jwe = encrypt_to(&p, &data, enc);
        let got = answer(server, "v", id(&created), ORIGIN, &json!({"response": jwe})).await;
        assert_verified_badge(server, "v", &created, got).await;
    }
    // A plaintext vp_token to a dc_api.jwt request.
    let created = request(server, "v", body.clone()).await;
    let dc = dc_api_request(&created);
    let data = badge.data(server, ORIGIN, &nonce(&dc)).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "v", &created, got, "decryption").await;
    // A JWE to another request's key.
    let created = request(server, "v", body.clone()).await;
    let other = request(server, "v", body).await;
    let dc = dc_api_request(&created);
    let data = badge.data(server, ORIGIN, &nonce(&dc)).await;
    let jwe = encrypt_to(
        &params(&dc_api_request(&other)),
        &data,
        ContentEncryption::A128Gcm,
    );
    let got = answer(server, "v", id(&created), ORIGIN, &json!({"response": jwe})).await;
    assert_rejected(server, "v", &created, got, "decryption").await;
    assert_pending(server, "v", &other).await;
}

/// 4. Spec: OID4VP 1.0 Appendix A.4: "The audience for the response ... MUST be the Origin,
///    prefixed with `origin:` ... This is the case even for signed requests."
async fn answer_bound_to_another_origin_or_to_the_client_id_is_rejected_as_audience(
    server: &TestServer,
) {
    let badge = badge(server).await;
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    // A presentation made for evil.example, relayed by the page at rp.example.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let dc = dc_api_request(&created);
    let data = badge
        .data(server, "https://evil.example", &nonce(&dc))
        .await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "v", &created, got, "audience").await;
    // The origin without its `origin:` prefix.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let vp = badge
        .present(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"badge": [vp]}}),
    )
    .await;
    assert_rejected(server, "v", &created, got, "audience").await;
    // A signed request: the KB-JWT for the verifier's client_id is not for the origin.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let vp = badge
        .present(
            server,
            v["client_id"].as_str().unwrap(),
            &nonce(&dc_api_request(&created)),
        )
        .await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"badge": [vp]}}),
    )
    .await;
    assert_rejected(server, "v", &created, got, "audience").await;
}

/// Spec: OID4VP 1.0 Appendix A.2 `expected_origins`: an answer from an origin the signed
/// request does not name comes from a page that replayed it.
async fn signed_request_answered_from_an_unexpected_origin_is_rejected_as_origin(
    server: &TestServer,
) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let evil = "https://evil.example";
    // The presentation is bound to the origin it came from: only expected_origins refuses.
    let data = badge
        .data(server, evil, &nonce(&dc_api_request(&created)))
        .await;
    let got = answer(server, "v", id(&created), evil, &data).await;
    assert_rejected(server, "v", &created, got, "origin").await;
    // Simple string comparison: another port of the expected host is another origin.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let port = "https://rp.example:8443";
    let data = badge
        .data(server, port, &nonce(&dc_api_request(&created)))
        .await;
    let got = answer(server, "v", id(&created), port, &data).await;
    assert_rejected(server, "v", &created, got, "origin").await;
}

async fn wrong_nonce_is_rejected_as_nonce(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let body = json!({"dcql_query": badge_query(), "response_mode": "dc_api"});
    let created = request(server, "v", body.clone()).await;
    let data = badge.data(server, ORIGIN, "another-nonce").await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "v", &created, got, "nonce").await;
    // The nonce of another request (a replayed presentation).
    let first = request(server, "v", body.clone()).await;
    let second = request(server, "v", body).await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&first)))
        .await;
    let got = answer(server, "v", id(&second), ORIGIN, &data).await;
    assert_rejected(server, "v", &second, got, "nonce").await;
    assert_pending(server, "v", &first).await;
}

/// The page's origin must be a web origin (https, or http on a loopback host) in its own
/// serialization; anything else is a malformed call that changes nothing (contract:
/// "a malformed origin or body (nothing changes)").
async fn non_web_origins_are_refused_and_change_nothing(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let n = nonce(&dc_api_request(&created));
    for origin in [
        "null",
        "https://rp.example/path",
        "https://rp.example/",
        "https://rp.example?q=1",
        "https://rp.example#f",
        "https://user@rp.example",
        "https://rp.example:443",
        "HTTPS://RP.EXAMPLE",
        "javascript:x",
        "ftp://x",
        "data:text/html,x",
        "wss://rp.example",
        "http://rp.example",
        "http://10.0.0.1",
        "",
        "rp.example",
    ] {
        // Even a presentation made for exactly that text is refused.
        let data = badge.data(server, origin, &n).await;
        let got = answer(server, "v", id(&created), origin, &data).await;
        assert_refused(&got, "origin");
        assert_pending(server, "v", &created).await;
    }
    let long = format!("https://{}.example", "a".repeat(300));
    let got = answer(server, "v", id(&created), &long, &json!({"vp_token": {}})).await;
    assert_refused(&got, "origin");
    // The request still takes its answer.
    let data = badge.data(server, ORIGIN, &n).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_verified_badge(server, "v", &created, got).await;
}

/// Spec: OID4VP 1.0 Appendix A.2: `expected_origins` is for signed DC API requests, and
/// values with unsafe schemes, or http outside local development, MUST NOT be used.
async fn expected_origins_are_refused_outside_signed_dc_api_requests(server: &TestServer) {
    verifier(server, "v", "x509_san_dns", vec![]).await;
    verifier(server, "r", "redirect_uri", vec![]).await;
    let cases = [
        (
            "v",
            json!({"dcql_query": badge_query(), "expected_origins": [ORIGIN]}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "direct_post.jwt",
                "expected_origins": [ORIGIN]}),
        ),
        // A redirect_uri client id cannot sign a request.
        (
            "r",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": [ORIGIN]}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": []}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": ["http://rp.example"]}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": ["javascript:alert(1)"]}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": ["https://rp.example/path"]}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "expected_origins": "https://rp.example"}),
        ),
        // Nothing is fetched from, or redirected to, over the DC API.
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "redirect_uri": "https://rp.example/done"}),
        ),
        (
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api",
                "request_uri_method": "post"}),
        ),
    ];
    for (verifier_id, body) in cases {
        let got = server
            .admin_post(&format!("/api/v1/verifiers/{verifier_id}/requests"), &body)
            .await;
        assert_invalid(&got);
        if body["expected_origins"] == json!([ORIGIN]) && body["response_mode"].is_null() {
            let d = got.1["error_description"].as_str().unwrap();
            assert!(d.contains("expected_origins"), "{d}");
        }
    }
    // An unsigned dc_api request on a redirect_uri verifier is fine, and a loopback http
    // expected origin on a signing verifier.
    let created = request(
        server,
        "r",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    assert_eq!(dc_api_request(&created).protocol, "openid4vp-v1-unsigned");
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": ["http://localhost:8080"]}),
    )
    .await;
    assert_eq!(
        params(&dc_api_request(&created))["expected_origins"],
        json!(["http://localhost:8080"])
    );
}

/// A request whose wallet posts to the response URI is not answered here; it stays pending.
async fn direct_post_request_is_not_answered_through_the_dc_api(server: &TestServer) {
    let badge = badge(server).await;
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    for mode in ["direct_post", "direct_post.jwt"] {
        let created = request(
            server,
            "v",
            json!({"dcql_query": badge_query(), "response_mode": mode}),
        )
        .await;
        assert_eq!(created.get("dc_api_request"), None, "{created}");
        let wallet = server.wallet();
        let req = wallet
            .resolve_presentation_request(
                created["authorization_request"].as_str().unwrap(),
                &crate::presentation::trust_for(&v),
            )
            .await
            .unwrap();
        let vp = badge
            .present(server, &format!("origin:{ORIGIN}"), req.nonce().unwrap())
            .await;
        let got = answer(
            server,
            "v",
            id(&created),
            ORIGIN,
            &json!({"vp_token": {"badge": [vp]}}),
        )
        .await;
        assert_invalid(&got);
        assert_pending(server, "v", &created).await;
    }
}

/// Strict bodies (G8): unknown members, duplicate keys, `state` in `data`, both an
/// encrypted and a plain answer, an oversized body: 4xx, never 5xx, and nothing changes.
async fn malformed_answer_bodies_are_refused_and_change_nothing(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let vp_token = data["vp_token"].to_string();
    let path = answer_path("v", id(&created));
    for body in [
        json!({"origin": ORIGIN, "data": data, "extra": 1}),
        json!({"origin": ORIGIN}),
        json!({"data": data}),
        json!({"origin": ORIGIN, "data": "vp_token"}),
        json!({"origin": ORIGIN, "data": [data]}),
        json!({"origin": 7, "data": data}),
        // Spec: OID4VP 1.0 Appendix A.2: no `state` over the DC API.
        json!({"origin": ORIGIN, "data": {"vp_token": data["vp_token"], "state": "s"}}),
        json!({"origin": ORIGIN, "data": {"vp_token": data["vp_token"], "x": 1}}),
        // Spec: OID4VP 1.0 §8.3: an encrypted answer is `response` alone.
        json!({"origin": ORIGIN, "data": {"vp_token": data["vp_token"], "response": "a.b.c.d.e"}}),
        json!({"origin": ORIGIN, "data": {"response": 5}}),
        json!([]),
    ] {
        let got = server.admin_post(&path, &body).await;
        assert_invalid(&got);
        assert_pending(server, "v", &created).await;
    }
    // Duplicate keys, at the top and inside data.
    for text in [
        format!(
            r#"{{"origin":"{ORIGIN}","data":{{"vp_token":{vp_token}}},"origin":"https://evil.example"}}"#
        ),
        format!(r#"{{"origin":"{ORIGIN}","data":{{"vp_token":{vp_token},"vp_token":{{}}}}}}"#),
        r#"{"origin":"https://rp.example","data":"#.to_owned(),
    ] {
        let got = answer_raw(server, "v", id(&created), text).await;
        assert_invalid(&got);
        assert_pending(server, "v", &created).await;
    }
    // Not JSON: 415.
    let r = server
        .admin(reqwest::Method::POST, &path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("origin={ORIGIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // A `response` over its bound (700 KiB) but within the body limit: 400.
    let big = "a".repeat(800 * 1024);
    let got = answer(server, "v", id(&created), ORIGIN, &json!({"response": big})).await;
    assert_invalid(&got);
    // A body over the management API's 1 MiB limit: 413 (contract), not a 5xx.
    let huge = "a".repeat(1024 * 1024 + 1);
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"badge": [huge]}}),
    )
    .await;
    assert_eq!(got.0, 413, "{}", got.1);
    assert_eq!(got.1["error"], "invalid_request");
    assert_pending(server, "v", &created).await;
    // The request still takes its answer.
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_verified_badge(server, "v", &created, got).await;
}

/// Spec: OID4VP 1.0 Appendix A.4: a wallet's protocol error comes back as `data` with
/// `error`; the request is rejected with it (200: the call succeeded). §8.3: "If a Wallet
/// is unable to generate an encrypted response, it MAY send an error response without
/// encryption", so a plain error answers a `dc_api.jwt` request too.
async fn wallet_error_rejects_the_request_with_that_error(server: &TestServer) {
    verifier(server, "v", "x509_san_dns", vec![]).await;
    let error = json!({"error": "access_denied"});
    let described = json!({"error": "access_denied", "error_description": "user said no"});
    // (mode, data, encrypt data into `response`)
    for (mode, data, encrypt) in [
        ("dc_api", &error, false),
        ("dc_api", &described, false),
        ("dc_api.jwt", &error, false),
        ("dc_api.jwt", &described, true),
    ] {
        let created = request(
            server,
            "v",
            json!({"dcql_query": badge_query(), "response_mode": mode}),
        )
        .await;
        let sent = if encrypt {
            let p = params(&dc_api_request(&created));
            json!({"response": encrypt_to(&p, data, ContentEncryption::A128Gcm)})
        } else {
            data.clone()
        };
        let got = answer(server, "v", id(&created), ORIGIN, &sent).await;
        assert_eq!(got.0, 200, "{mode} {sent}: {}", got.1);
        assert_eq!(got.1["status"], "rejected", "{}", got.1);
        assert_eq!(got.1["error"]["error"], "access_denied", "{}", got.1);
        assert_eq!(
            got.1["error"]["error_description"],
            data.get("error_description")
                .cloned()
                .unwrap_or(Value::Null),
            "{}",
            got.1
        );
        assert_eq!(got.1["presentation"], Value::Null);
        assert_eq!(result(server, "v", id(&created)).await, got.1);
    }
}

/// `data` shapes that are neither a presentation nor a wallet error: a 400, never a 5xx.
async fn odd_data_shapes_are_invalid_request(server: &TestServer) {
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    for data in [
        json!({}),
        json!({"vp_token": "not an object"}),
        json!({"vp_token": {}}),
        json!({"vp_token": {"badge": []}}),
        json!({"vp_token": {"badge": "x"}}),
        json!({"vp_token": {"badge": [7]}}),
        json!({"vp_token": {"nope": ["x"]}}),
        json!({"error": 5}),
        json!({"error_description": "no error"}),
        json!({"response": "not.a.jwe"}),
    ] {
        let created = request(
            server,
            "v",
            json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
        )
        .await;
        let got = answer(server, "v", id(&created), ORIGIN, &data).await;
        assert_invalid(&got);
        let status = result(server, "v", id(&created)).await["status"].clone();
        assert!(
            status == "pending" || status == "rejected",
            "{data}: {status}"
        );
    }
    // An error next to a vp_token (A.4: the error object "has a single property"): never
    // verified, whichever way it is read.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let data = json!({"error": "access_denied", "vp_token": {"badge": ["x"]}});
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert!(got.0 == 200 || got.0 == 400, "{}", got.1);
    assert_eq!(
        result(server, "v", id(&created)).await["status"],
        "rejected"
    );
    // Strict JSON inside the JWE too: duplicate keys in the plaintext do not decrypt to an
    // answer.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt"}),
    )
    .await;
    let key = RecipientKey::select(&params(&dc_api_request(&created))["client_metadata"]["jwks"])
        .unwrap();
    let jwe = jwe::encrypt(
        br#"{"vp_token":{"badge":["a"]},"vp_token":{"badge":["b"]}}"#,
        &key.key,
        ContentEncryption::A128Gcm,
        JweHeaderParams {
            kid: key.kid.clone(),
            ..JweHeaderParams::default()
        },
        &SystemRandom::new(),
    )
    .unwrap();
    let got = answer(server, "v", id(&created), ORIGIN, &json!({"response": jwe})).await;
    assert_rejected(server, "v", &created, got, "decryption").await;
}

/// A finished request takes no second answer and stays as it was; an expired one becomes
/// `expired`; an unknown request or verifier is 404.
async fn finished_expired_and_unknown_requests_take_no_answer(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api", "expires_in": 60}),
    )
    .await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_verified_badge(server, "v", &created, got).await;
    let before = result(server, "v", id(&created)).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_invalid(&got);
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"error": "access_denied"}),
    )
    .await;
    assert_invalid(&got);
    assert_eq!(result(server, "v", id(&created)).await, before);
    // A rejected request stays rejected.
    let rejected = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let n = nonce(&dc_api_request(&rejected));
    let bad = badge.data(server, ORIGIN, "x").await;
    assert_refused(
        &answer(server, "v", id(&rejected), ORIGIN, &bad).await,
        "nonce",
    );
    let good = badge.data(server, ORIGIN, &n).await;
    assert_invalid(&answer(server, "v", id(&rejected), ORIGIN, &good).await);
    assert_eq!(
        result(server, "v", id(&rejected)).await["status"],
        "rejected"
    );
    // Expired.
    let late = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api", "expires_in": 60}),
    )
    .await;
    let n = nonce(&dc_api_request(&late));
    server.clock.advance(61);
    let data = badge.data(server, ORIGIN, &n).await;
    assert_invalid(&answer(server, "v", id(&late), ORIGIN, &data).await);
    let r = result(server, "v", id(&late)).await;
    assert_eq!(r["status"], "expired", "{r}");
    assert_eq!(r["presentation"], Value::Null);
    // Unknown request, unknown verifier.
    let got = answer(server, "v", "r-nope", ORIGIN, &data).await;
    assert_eq!(got.0, 404, "{}", got.1);
    let got = answer(server, "nope", id(&created), ORIGIN, &data).await;
    assert_eq!(got.0, 404, "{}", got.1);
}

/// Creates an API key with the admin key; the key.
async fn api_key(server: &TestServer, verifiers: &[&str], scopes: &[&str]) -> String {
    let (status, body) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "k", "issuers": [], "verifiers": verifiers, "scopes": scopes}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["key"].as_str().unwrap().to_owned()
}

/// The answer ends the request, so it needs `presentations:write` on this verifier (as
/// creating the request does).
async fn scoped_keys_of_another_verifier_or_scope_are_forbidden(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    verifier(server, "w", "x509_san_dns", vec![]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let body = json!({"origin": ORIGIN, "data": data});
    let send = |key: Option<String>| {
        let r = server
            .http
            .post(server.url(&answer_path("v", id(&created))))
            .json(&body);
        let r = match key {
            Some(k) => r.bearer_auth(k),
            None => r,
        };
        async move {
            let r = r.send().await.unwrap();
            (
                r.status().as_u16(),
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let other = api_key(server, &["w"], &["presentations:write", "read"]).await;
    assert_eq!(send(Some(other)).await.0, 403);
    let read_only = api_key(server, &["v"], &["read"]).await;
    assert_eq!(send(Some(read_only)).await.0, 403);
    assert_eq!(send(None).await.0, 401);
    assert_eq!(send(Some("not-a-key".into())).await.0, 401);
    assert_pending(server, "v", &created).await;
    let own = api_key(server, &["v"], &["presentations:write"]).await;
    let got = send(Some(own)).await;
    assert_verified_badge(server, "v", &created, got).await;
}

/// Spec: OID4VP 1.0 Appendix B.1.3.1: over the DC API the VP's `aud` is `origin:<origin>`.
async fn jwt_vc_json_over_the_dc_api_binds_the_vp_to_the_origin(server: &TestServer) {
    let (wallet, _) = w3c_holder(server).await;
    let stored = wallet.list().await.unwrap().remove(0);
    assert_eq!(stored.format, "jwt_vc_json");
    let signer = stored.holder_private_jwk.unwrap().signer().unwrap();
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let body = json!({"dcql_query": w3c_query(), "response_mode": "dc_api"});
    let created = request(server, "v", body.clone()).await;
    let n = nonce(&dc_api_request(&created));
    let p = vp(
        &stored.credential,
        &signer,
        &format!("origin:{ORIGIN}"),
        &n,
        server.clock.now(),
    )
    .await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"w3c": [p]}}),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["status"], "verified", "{}", got.1);
    assert_eq!(
        got.1["presentation"]["w3c"][0]["claims"],
        json!({"credentialSubject": {"employee_id": "E-7"}})
    );
    // The VP for the client id.
    let created = request(server, "v", body).await;
    let n = nonce(&dc_api_request(&created));
    let p = vp(
        &stored.credential,
        &signer,
        v["client_id"].as_str().unwrap(),
        &n,
        server.clock.now(),
    )
    .await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"w3c": [p]}}),
    )
    .await;
    assert_rejected(server, "v", &created, got, "audience").await;
}

/// 5. Spec: OID4VP 1.0 Appendix B.2.6.2: over the DC API the session transcript's handover
///    is `OpenID4VPDCAPIHandover` over [origin, nonce, jwk_thumbprint or null].
async fn mdoc_over_the_dc_api_uses_the_dc_api_handover(server: &TestServer) {
    let now = server.clock.now();
    let root = iaca("Test IACA", now);
    let v = mdoc_verifier(server, &root).await;
    let ds = document_signer(&root, now);
    let held = issue_mdoc(&ds, MDL, valid_now(now)).await;
    let elements = ["family_name", "age_over_18"];
    let dc_api = |nonce: &str, origin: &str, thumbprint: Option<[u8; 32]>| {
        SessionTranscript(Handover::DcApi {
            origin: origin.to_owned(),
            nonce: nonce.to_owned(),
            jwk_thumbprint: thumbprint,
        })
    };
    let body = json!({"dcql_query": mdl_query(), "response_mode": "dc_api"});
    let created = request(server, "v", body.clone()).await;
    let n = nonce(&dc_api_request(&created));
    let vp = device_response(&held, &elements, &dc_api(&n, ORIGIN, None), false).await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"mdl": [vp]}}),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["status"], "verified", "{}", got.1);
    assert_eq!(
        got.1["presentation"]["mdl"][0]["claims"],
        json!({NS: {"family_name": "Lovelace", "age_over_18": true}})
    );
    // The B.2.6.1 redirect handover (client_id, nonce, null, response_uri) a wallet would
    // sign for a redirect request of this verifier.
    let created = request(server, "v", body.clone()).await;
    let n = nonce(&dc_api_request(&created));
    let redirect = SessionTranscript(Handover::Redirect {
        client_id: v["client_id"].as_str().unwrap().to_owned(),
        nonce: n,
        jwk_thumbprint: None,
        response_uri: server.url("/verifiers/v/response"),
    });
    let vp = device_response(&held, &elements, &redirect, false).await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"mdl": [vp]}}),
    )
    .await;
    assert_rejected(server, "v", &created, got, "key_binding").await;
    // The DC API handover for another origin.
    let created = request(server, "v", body).await;
    let n = nonce(&dc_api_request(&created));
    let vp = device_response(
        &held,
        &elements,
        &dc_api(&n, "https://evil.example", None),
        false,
    )
    .await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"mdl": [vp]}}),
    )
    .await;
    assert_rejected(server, "v", &created, got, "key_binding").await;
    // A signed request: the handover still names the origin, not the client id (A.4).
    let created = request(
        server,
        "v",
        json!({"dcql_query": mdl_query(), "response_mode": "dc_api",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let n = nonce(&dc_api_request(&created));
    let vp = device_response(&held, &elements, &dc_api(&n, ORIGIN, None), false).await;
    let got = answer(
        server,
        "v",
        id(&created),
        ORIGIN,
        &json!({"vp_token": {"mdl": [vp]}}),
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["status"], "verified", "{}", got.1);
    // dc_api.jwt: the transcript holds the thumbprint of the request's encryption key.
    let body = json!({"dcql_query": mdl_query(), "response_mode": "dc_api.jwt"});
    for (thumbprint, outcome) in [(true, "verified"), (false, "rejected")] {
        let created = request(server, "v", body.clone()).await;
        let dc = dc_api_request(&created);
        let p = params(&dc);
        let key = RecipientKey::select(&p["client_metadata"]["jwks"]).unwrap();
        let raw = base64url::decode(&key.key.thumbprint()).unwrap();
        let t = thumbprint.then(|| <[u8; 32]>::try_from(raw).unwrap());
        let vp = device_response(&held, &elements, &dc_api(&nonce(&dc), ORIGIN, t), false).await;
        let jwe = encrypt_to(
            &p,
            &json!({"vp_token": {"mdl": [vp]}}),
            ContentEncryption::A128Gcm,
        );
        let got = answer(server, "v", id(&created), ORIGIN, &json!({"response": jwe})).await;
        if outcome == "verified" {
            assert_eq!(got.0, 200, "{}", got.1);
            assert_eq!(got.1["status"], "verified", "{}", got.1);
        } else {
            assert_rejected(server, "v", &created, got, "key_binding").await;
        }
    }
}

/// 6. Spec: HAIP 1.0 §5.2: over the DC API a HAIP verifier uses encrypted responses
///    (`dc_api.jwt`); §5.1/§5.2 refuse the unencrypted `dc_api`.
async fn haip_verifier_takes_dc_api_jwt_and_refuses_dc_api(server: &TestServer) {
    let badge = badge(server).await;
    let (status, v) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "h", "client_id_prefix": "x509_hash", "haip": true,
                "trusted_issuers": [server.issuer_url("demo")]}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    for body in [
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "expected_origins": [ORIGIN]}),
    ] {
        let got = server
            .admin_post("/api/v1/verifiers/h/requests", &body)
            .await;
        assert_invalid(&got);
        let d = got.1["error_description"].as_str().unwrap();
        assert!(
            d.starts_with("HAIP 1.0 §5.2") || d.starts_with("HAIP 1.0 §5.1"),
            "{d}"
        );
    }
    let created = request(
        server,
        "h",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let dc = dc_api_request(&created);
    assert_eq!(dc.protocol, "openid4vp-v1-signed");
    let leaf = verify_signed_request(&dc);
    let p = params(&dc);
    // Spec: HAIP 1.0 §5: x509_hash: the client id is the hash of the signing certificate.
    assert_eq!(
        p["client_id"],
        format!("x509_hash:{}", x509::x509_hash(&leaf))
    );
    assert_eq!(p["client_id"], v["client_id"]);
    assert_eq!(p["response_mode"], "dc_api.jwt");
    assert_eq!(p["expected_origins"], json!([ORIGIN]));
    let data = badge.data(server, ORIGIN, &nonce(&dc)).await;
    let jwe = encrypt_to(&p, &data, ContentEncryption::A256Gcm);
    let got = answer(server, "h", id(&created), ORIGIN, &json!({"response": jwe})).await;
    assert_verified_badge(server, "h", &created, got).await;
    // The plaintext answer to it.
    let created = request(
        server,
        "h",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt",
            "expected_origins": [ORIGIN]}),
    )
    .await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let got = answer(server, "h", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "h", &created, got, "decryption").await;
}

/// 7. Single use under concurrency (G2): of N identical answers exactly one is processed.
async fn racing_answers_to_one_request_process_exactly_one(server: &TestServer) {
    let badge = badge(server).await;
    verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api"}),
    )
    .await;
    let data = badge
        .data(server, ORIGIN, &nonce(&dc_api_request(&created)))
        .await;
    let body = json!({"origin": ORIGIN, "data": data});
    const N: usize = 8;
    let barrier = Arc::new(Barrier::new(N));
    let mut tasks = Vec::new();
    for _ in 0..N {
        let builder = server
            .admin(reqwest::Method::POST, &answer_path("v", id(&created)))
            .json(&body);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = builder.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        N - 1,
        "{answers:?}"
    );
    for (status, body) in &answers {
        if *status == 200 {
            assert_eq!(body["status"], "verified", "{body}");
        } else {
            assert_eq!(body["error"], "invalid_request", "{body}");
        }
    }
    assert_eq!(
        result(server, "v", id(&created)).await["status"],
        "verified"
    );
}

/// Spec: OID4VP 1.0 §5.1 `transaction_data` (A.2 lists it among the DC API parameters) and
/// Appendix B.3.3: the entries travel in `data`; the KB-JWT (for `origin:<origin>`)
/// authorizes them with `transaction_data_hashes`.
async fn transaction_data_over_the_dc_api_is_authorized_by_the_kb_jwt(server: &TestServer) {
    use vdc_core::jose::jws;
    use vdc_core::sd_jwt::{KB_JWT_TYP, sha256_b64};
    let badge = badge(server).await;
    let payment = "urn:vdc:test:payment";
    let (status, v) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "v", "client_id_prefix": "x509_san_dns",
                "trusted_issuers": [server.issuer_url("demo")],
                "transaction_data_types": {payment: {"members": {
                    "amount": {"type": "string", "required": true}}}}}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    let entry = json!({"type": payment, "credential_ids": ["badge"], "amount": "42.00 EUR"});
    let sent = base64url::encode(entry.to_string());
    let hash = base64url::encode(vdc_core::digest::sha256(sent.as_bytes()));
    // The KB-JWT over the disclosed SD-JWT with `extra` claims.
    let kb = |nonce: String, extra: Value| {
        let badge = &badge;
        async move {
            let prefix = SdJwt::from_parts(
                badge.sd.issuer_jwt().to_owned(),
                badge.disclosures.clone(),
                None,
            )
            .serialize();
            let mut header = Map::new();
            header.insert("typ".into(), KB_JWT_TYP.into());
            let mut claims = Map::new();
            claims.insert("iat".into(), server.clock.now().secs().into());
            claims.insert("aud".into(), format!("origin:{ORIGIN}").into());
            claims.insert("nonce".into(), nonce.into());
            claims.insert("sd_hash".into(), sha256_b64(&prefix).into());
            if let Value::Object(extra) = extra {
                claims.extend(extra);
            }
            let kb = jws::sign_with_options(header, &claims, &badge.signer, false)
                .await
                .unwrap();
            json!({"vp_token": {"badge": [prefix + &kb]}})
        }
    };
    let body = json!({"dcql_query": badge_query(), "response_mode": "dc_api",
        "transaction_data": [sent]});
    let created = request(server, "v", body.clone()).await;
    let dc = dc_api_request(&created);
    assert_eq!(dc.data["transaction_data"], json!([sent]));
    let data = kb(nonce(&dc), json!({"transaction_data_hashes": [hash]})).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["status"], "verified", "{}", got.1);
    assert_eq!(got.1["transaction_data"], json!([entry]), "{}", got.1);
    // Without the hashes the entries are not authorized.
    let created = request(server, "v", body.clone()).await;
    let data = kb(nonce(&dc_api_request(&created)), json!({})).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "v", &created, got, "transaction_data").await;
    // A hash over other data.
    let created = request(server, "v", body).await;
    let other = base64url::encode(vdc_core::digest::sha256(b"other"));
    let data = kb(
        nonce(&dc_api_request(&created)),
        json!({"transaction_data_hashes": [other]}),
    )
    .await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_rejected(server, "v", &created, got, "transaction_data").await;
    // The signed request carries them in its payload.
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api",
            "transaction_data": [sent], "expected_origins": [ORIGIN]}),
    )
    .await;
    let dc = dc_api_request(&created);
    assert_eq!(params(&dc)["transaction_data"], json!([sent]));
    let data = kb(nonce(&dc), json!({"transaction_data_hashes": [hash]})).await;
    let got = answer(server, "v", id(&created), ORIGIN, &data).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["transaction_data"], json!([entry]), "{}", got.1);
}

/// Spec: OID4VP 1.0 Appendix A.4: a DC API request's answer is bound to the page's origin
/// and comes back through the API: its request object is not served at `request_uri`, and
/// an answer posted to the response URI (here encrypted to the request's own key, which the
/// response endpoint finds by `kid`) is refused and changes nothing.
async fn dc_api_request_is_not_served_or_answered_over_redirects(server: &TestServer) {
    let badge = badge(server).await;
    let v = verifier(server, "v", "x509_san_dns", vec![server.issuer_url("demo")]).await;
    for mode in ["dc_api", "dc_api.jwt"] {
        let created = request(
            server,
            "v",
            json!({"dcql_query": badge_query(), "response_mode": mode}),
        )
        .await;
        let r = server
            .http
            .get(created["request_uri"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{mode}");
        let r = server
            .http
            .post(created["request_uri"].as_str().unwrap())
            .form(&[("wallet_nonce", "n")])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{mode}: {}", r.status());
        assert_pending(server, "v", &created).await;
    }
    let created = request(
        server,
        "v",
        json!({"dcql_query": badge_query(), "response_mode": "dc_api.jwt"}),
    )
    .await;
    let dc = dc_api_request(&created);
    // A presentation for the redirect flow's audience, and one for the origin.
    for aud in [
        v["client_id"].as_str().unwrap().to_owned(),
        format!("origin:{ORIGIN}"),
    ] {
        let vp = badge.present(server, &aud, &nonce(&dc)).await;
        let jwe = encrypt_to(
            &params(&dc),
            &json!({"vp_token": {"badge": [vp]}}),
            ContentEncryption::A128Gcm,
        );
        let (status, body) =
            crate::presentation::post(server, "v", &[("response", jwe.as_str())]).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
        assert_pending(server, "v", &created).await;
    }
}
