//! Transaction data end to end over HTTP (OID4VP 1.0 §5.1 `transaction_data`, §8.4,
//! Appendix B.3.3), on SQLite and Postgres: a verifier configured with
//! `transaction_data_types`, a request carrying typed entries in its signed request object,
//! a KB-JWT whose `transaction_data_hashes` authorize them (built here, as a wallet would),
//! the verified result showing them decoded; and every refusal with its exact outcome.

use serde_json::{Map, Value, json};
use vdc_core::base64url;
use vdc_core::jose::{LocalSigner, jws};
use vdc_core::sd_jwt::{KB_JWT_TYP, SdJwt, sha256_b64};
use vdc_core::time::Clock as _;
use vdc_holder::{PresentationRequest, Wallet};
use vdc_testkit::TestServer;

use crate::presentation::{holder, request, result, trust_for};

vdc_testkit::both_backends!(
    correct_hashes_verify_and_the_result_shows_the_transaction_data,
    missing_hashes_are_rejected_as_transaction_data,
    a_wrong_hash_is_rejected_as_transaction_data,
    a_hash_over_different_transaction_data_is_rejected_as_transaction_data,
    a_hash_algorithm_the_request_did_not_allow_is_rejected_as_transaction_data,
    hashes_when_the_request_has_no_transaction_data_are_rejected,
    requests_with_unconfigured_or_nonconforming_transaction_data_are_invalid_request,
    malformed_transaction_data_types_are_invalid_request,
);

const VCT: &str = "https://vdc.example/vct/employee-badge";
const PAYMENT: &str = "urn:vdc:test:payment";

fn badge_query() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]},
        "claims": [{"path": ["given_name"]}]}]})
}

/// The verifier's types: a payment (`amount` required, `payee`), and a QES type that
/// allows sha-384 only.
fn types() -> Value {
    json!({
        PAYMENT: {"members": {"amount": {"type": "string", "required": true},
            "payee": {"type": "string"}}},
        "urn:vdc:test:qes": {"members": {"document_digest": {"type": "string"}},
            "transaction_data_hashes_alg_values": ["sha-384"]}
    })
}

/// base64url (no padding) of an entry's JSON.
fn encode(entry: &Value) -> String {
    base64url::encode(entry.to_string())
}

fn payment(amount: &str) -> Value {
    json!({"type": PAYMENT, "credential_ids": ["badge"], "amount": amount, "payee": "Shop"})
}

fn sha256(text: &str) -> String {
    base64url::encode(vdc_core::digest::sha256(text.as_bytes()))
}

/// Verifier `td` (x509_san_dns, signed request objects) trusting the demo issuer, with the
/// transaction data types.
async fn verifier(server: &TestServer) -> Value {
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "td", "client_id_prefix": "x509_san_dns", "display": {"name": "td"},
                "trusted_issuers": [server.issuer_url("demo")],
                "transaction_data_types": types()}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// A pending request for the badge with these transaction data entries (as sent).
async fn create(server: &TestServer, transaction_data: &[String]) -> Value {
    let mut body = json!({"dcql_query": badge_query(), "response_mode": "direct_post"});
    if !transaction_data.is_empty() {
        body["transaction_data"] = json!(transaction_data);
    }
    request(server, "td", body).await
}

/// Resolves the request as the wallet; the issued SD-JWT, the disclosures asked for, the
/// holder key.
async fn resolve(
    wallet: &Wallet,
    v: &Value,
    created: &Value,
) -> (PresentationRequest, SdJwt, Vec<String>, LocalSigner) {
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

/// The presentation with a KB-JWT (RFC 9901 §4.3) for `req` carrying `extra` claims
/// (`transaction_data_hashes`, `transaction_data_hashes_alg`) beside iat, aud, nonce and
/// sd_hash.
async fn present(
    server: &TestServer,
    req: &PresentationRequest,
    sd: &SdJwt,
    disclosures: Vec<String>,
    signer: &LocalSigner,
    extra: Value,
) -> String {
    let prefix = SdJwt::from_parts(sd.issuer_jwt().to_owned(), disclosures, None).serialize();
    let mut header = Map::new();
    header.insert("typ".into(), KB_JWT_TYP.into());
    let mut claims = Map::new();
    claims.insert("iat".into(), server.clock.now().secs().into());
    claims.insert("aud".into(), req.client_id.clone().into());
    claims.insert("nonce".into(), req.nonce().unwrap().into());
    claims.insert("sd_hash".into(), sha256_b64(&prefix).into());
    if let Value::Object(extra) = extra {
        claims.extend(extra);
    }
    let kb = jws::sign_with_options(header, &claims, signer, false)
        .await
        .unwrap();
    prefix + &kb
}

/// Posts the direct_post response; status and body.
async fn respond(server: &TestServer, req: &PresentationRequest, vp: &str) -> (u16, Value) {
    let vp_token = json!({"badge": [vp]}).to_string();
    let r = server
        .http
        .post(server.url("/verifiers/td/response"))
        .form(&[
            ("vp_token", vp_token.as_str()),
            ("state", req.state().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// The whole exchange: a request with `transaction_data`, answered with a KB-JWT carrying
/// `extra`; the created request and the answer.
async fn exchange(
    server: &TestServer,
    transaction_data: &[String],
    extra: Value,
) -> (Value, (u16, Value)) {
    let (wallet, _) = holder(server).await;
    let v = verifier(server).await;
    let created = create(server, transaction_data).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let vp = present(server, &req, &sd, d, &signer, extra).await;
    let answer = respond(server, &req, &vp).await;
    (created, answer)
}

/// A 400 invalid_request whose description is `transaction_data: <starting with why>`, and
/// the request rejected with it and without presentation or transaction data.
async fn assert_rejected(server: &TestServer, created: &Value, answer: (u16, Value), why: &str) {
    let expected = format!("transaction_data: {why}");
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["error"], "invalid_request");
    let description = answer.1["error_description"].as_str().unwrap();
    assert!(description.starts_with(&expected), "{description}");
    let r = result(server, "td", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert_eq!(r["error"]["error"], "invalid_request");
    let stored = r["error"]["error_description"].as_str().unwrap();
    assert!(stored.starts_with(&expected), "{r}");
    assert_eq!(r["presentation"], Value::Null);
    assert_eq!(r["transaction_data"], Value::Null);
}

/// A refused request creation: 400 invalid_request, the description starting with `why`.
async fn assert_invalid(server: &TestServer, body: Value, why: &str) {
    let (status, answer) = server
        .admin_post("/api/v1/verifiers/td/requests", &body)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_request");
    let description = answer["error_description"].as_str().unwrap();
    assert!(description.starts_with(why), "{body}: {description}");
}

async fn correct_hashes_verify_and_the_result_shows_the_transaction_data(server: &TestServer) {
    let (wallet, _) = holder(server).await;
    let v = verifier(server).await;
    // The verifier object shows its types as configured.
    assert_eq!(v["transaction_data_types"], types(), "{v}");
    let entries = [payment("42.00 EUR"), payment("7.00 EUR")];
    let sent: Vec<String> = entries.iter().map(encode).collect();
    let created = create(server, &sent).await;
    // Spec: OID4VP 1.0 §5.1: the entries travel in the (signed) request object, as sent.
    let object = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let object = jws::decode(&object).unwrap();
    assert_eq!(object.payload["transaction_data"], json!(sent));
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    // Spec: Appendix B.3.3: hashes over the base64url strings as received, sha-256 by
    // default; in any order.
    let vp = present(
        server,
        &req,
        &sd,
        d,
        &signer,
        json!({"transaction_data_hashes": [sha256(&sent[1]), sha256(&sent[0])]}),
    )
    .await;
    let (status, body) = respond(server, &req, &vp).await;
    assert_eq!(status, 200, "{body}");
    let r = result(server, "td", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(
        r["presentation"]["badge"][0]["claims"],
        json!({"given_name": "Ada"})
    );
    // The result carries the verified entries decoded, in request order.
    assert_eq!(r["transaction_data"], json!(entries), "{r}");

    // A type that allows sha-384 only: the request names it, the KB-JWT names and uses it.
    let qes = json!({"type": "urn:vdc:test:qes", "credential_ids": ["badge"],
        "transaction_data_hashes_alg": ["sha-384"], "document_digest": "abc"});
    let sent = [encode(&qes)];
    let created = create(server, &sent).await;
    let (req, sd, d, signer) = resolve(&wallet, &v, &created).await;
    let hash = base64url::encode(vdc_core::digest::sha384(sent[0].as_bytes()));
    let vp = present(
        server,
        &req,
        &sd,
        d,
        &signer,
        json!({"transaction_data_hashes": [hash], "transaction_data_hashes_alg": "sha-384"}),
    )
    .await;
    let (status, body) = respond(server, &req, &vp).await;
    assert_eq!(status, 200, "{body}");
    let r = result(server, "td", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(r["transaction_data"], json!([qes]), "{r}");
}

async fn missing_hashes_are_rejected_as_transaction_data(server: &TestServer) {
    let (created, answer) = exchange(server, &[encode(&payment("42.00 EUR"))], json!({})).await;
    assert_rejected(
        server,
        &created,
        answer,
        "the KB-JWT of credential query badge has no transaction_data_hashes, but \
         transaction_data entry 0 can only be authorized by it",
    )
    .await;
}

async fn a_wrong_hash_is_rejected_as_transaction_data(server: &TestServer) {
    let sent = [encode(&payment("42.00 EUR"))];
    // Over the decoded JSON instead of the string as sent (Appendix B.3.3: "base64url
    // decoding is not performed before hashing").
    let decoded = sha256(&payment("42.00 EUR").to_string());
    let (created, answer) =
        exchange(server, &sent, json!({"transaction_data_hashes": [decoded]})).await;
    assert_rejected(
        server,
        &created,
        answer,
        "transaction_data_hashes[0] is the sha-256 hash of no transaction_data entry",
    )
    .await;
}

async fn a_hash_over_different_transaction_data_is_rejected_as_transaction_data(
    server: &TestServer,
) {
    // The wallet signed another amount than the one the verifier asked to authorize.
    let sent = [encode(&payment("42.00 EUR"))];
    let other = sha256(&encode(&payment("4200.00 EUR")));
    let (created, answer) =
        exchange(server, &sent, json!({"transaction_data_hashes": [other]})).await;
    assert_rejected(
        server,
        &created,
        answer,
        "transaction_data_hashes[0] is the sha-256 hash of no transaction_data entry",
    )
    .await;
}

async fn a_hash_algorithm_the_request_did_not_allow_is_rejected_as_transaction_data(
    server: &TestServer,
) {
    // No transaction_data_hashes_alg in the request: "the hash function MUST be sha-256"
    // (Appendix B.3.3), even when the hash is right for the algorithm the KB-JWT names.
    let sent = [encode(&payment("42.00 EUR"))];
    let hash = base64url::encode(vdc_core::digest::sha512(sent[0].as_bytes()));
    let (created, answer) = exchange(
        server,
        &sent,
        json!({"transaction_data_hashes": [hash], "transaction_data_hashes_alg": "sha-512"}),
    )
    .await;
    assert_rejected(
        server,
        &created,
        answer,
        "transaction_data entry 0 names no transaction_data_hashes_alg, so its hash must be \
         sha-256, not sha-512",
    )
    .await;
}

async fn hashes_when_the_request_has_no_transaction_data_are_rejected(server: &TestServer) {
    let hash = sha256(&encode(&payment("42.00 EUR")));
    let (created, answer) = exchange(server, &[], json!({"transaction_data_hashes": [hash]})).await;
    assert_rejected(
        server,
        &created,
        answer,
        "the KB-JWT of credential query badge has transaction_data_hashes, but no \
         transaction_data entry lists that query",
    )
    .await;
}

async fn requests_with_unconfigured_or_nonconforming_transaction_data_are_invalid_request(
    server: &TestServer,
) {
    verifier(server).await;
    let with = |entry: Value| json!({"dcql_query": badge_query(), "transaction_data": [encode(&payment("1 EUR")), encode(&entry)]});
    // Spec: OID4VP 1.0 §5.1: the wallet must refuse a request with an unrecognized type.
    let mut unconfigured = payment("1 EUR");
    unconfigured["type"] = json!("urn:vdc:test:transfer");
    assert_invalid(
        server,
        with(unconfigured),
        "transaction_data[1]: type urn:vdc:test:transfer is not configured on this verifier",
    )
    .await;
    // credential_ids must match DCQL credential query ids.
    let mut unknown = payment("1 EUR");
    unknown["credential_ids"] = json!(["passport"]);
    assert_invalid(
        server,
        with(unknown),
        "transaction_data[1]: credential_ids names passport, which is no credential query",
    )
    .await;
    // Spec: Appendix B.3: holder binding is required.
    let unbound = json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
            "meta": {"vct_values": [VCT]}, "require_cryptographic_holder_binding": false}]},
        "transaction_data": [encode(&payment("1 EUR"))]});
    assert_invalid(
        server,
        unbound,
        "transaction_data[0]: credential query badge sets require_cryptographic_holder_binding \
         to false",
    )
    .await;
    // Members of the type: unknown, of the wrong type, missing.
    let mut extra = payment("1 EUR");
    extra["iban"] = json!("DE00");
    assert_invalid(
        server,
        with(extra),
        "transaction_data[1]: member iban is not one its type defines",
    )
    .await;
    let mut numeric = payment("1 EUR");
    numeric["amount"] = json!(1);
    assert_invalid(
        server,
        with(numeric),
        "transaction_data[1]: member amount must be a JSON string",
    )
    .await;
    // Not base64url of a JSON object; an unsupported hash algorithm.
    assert_invalid(
        server,
        json!({"dcql_query": badge_query(), "transaction_data": ["eyJ0eXBlIjoi="]}),
        "transaction_data[0]: not base64url",
    )
    .await;
    let mut md5 = payment("1 EUR");
    md5["transaction_data_hashes_alg"] = json!(["md5"]);
    assert_invalid(
        server,
        with(md5),
        "transaction_data[1]: transaction_data_hashes_alg md5 is not a supported hash algorithm",
    )
    .await;
}

async fn malformed_transaction_data_types_are_invalid_request(server: &TestServer) {
    let def = |id: &str, t: Value| {
        json!({"id": id, "client_id_prefix": "x509_san_dns", "display": {"name": id},
            "trusted_issuers": [], "transaction_data_types": t})
    };
    for (t, why) in [
        // Unknown members of the configuration (strict bodies, contract "Conventions").
        (json!({"t": {"fields": {}}}), "invalid request body"),
        (
            json!({"t": {"members": {"a": {"type": "date"}}}}),
            "invalid request body",
        ),
        (
            json!({"t": {"members": {"credential_ids": {"type": "array"}}}}),
            "transaction_data_types: t: credential_ids is defined by OID4VP 1.0",
        ),
        (
            json!({"t": {"transaction_data_hashes_alg_values": ["md5"]}}),
            "transaction_data_types: t: transaction_data_hashes_alg_values md5 is not a \
             supported hash algorithm",
        ),
        (
            json!({"t": {"transaction_data_hashes_alg_values": []}}),
            "transaction_data_types: t: transaction_data_hashes_alg_values must be a non-empty",
        ),
    ] {
        let (status, body) = server
            .admin_post("/api/v1/verifiers", &def("bad", t.clone()))
            .await;
        assert_eq!(status, 400, "{t}: {body}");
        assert_eq!(body["error"], "invalid_request");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with(why), "{t}: {description}");
        let (status, _) = server.admin_get("/api/v1/verifiers/bad").await;
        assert_eq!(status, 404, "{t}: a refused definition creates nothing");
    }
    // PATCH checks the same way and leaves the types as they were.
    verifier(server).await;
    let r = server
        .admin(reqwest::Method::PATCH, "/api/v1/verifiers/td")
        .json(&json!({"transaction_data_types": {"t": {"members": {"type": {"type": "string"}}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("transaction_data_types: t: type is defined by OID4VP 1.0"),
        "{body}"
    );
    let (status, v) = server.admin_get("/api/v1/verifiers/td").await;
    assert_eq!(status, 200);
    assert_eq!(v["transaction_data_types"], types(), "{v}");
}
