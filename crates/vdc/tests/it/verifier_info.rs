//! `verifier_info` (OID4VP 1.0 §5.1) configured per verifier and attached to its requests,
//! and the answer-level DCQL rules: the same presentation twice, `credential_sets`.

use serde_json::{Value, json};
use vdc_core::time::Clock as _;
use vdc_testkit::TestServer;

use super::presentation::{
    VCT, assert_rejected, holder, kb_presentation, post, request, resolve, setup,
};

vdc_testkit::both_backends!(
    verifier_info_is_checked_stored_and_attached_to_every_kind_of_request,
    the_same_presentation_twice_in_one_answer_is_rejected_as_dcql_unsatisfied,
    an_unsatisfied_required_credential_set_is_rejected_as_dcql_unsatisfied,
);

fn info() -> Value {
    json!([
        {"format": "jwt", "data": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ2aSJ9.c2ln",
            "credential_ids": ["badge", "passport"]},
        {"format": "registration_cert", "data": {"purpose": "door access"}},
        {"format": "jwt", "data": "eyJ.only-for-another-query", "credential_ids": ["passport"]}
    ])
}

fn badge_only() -> Value {
    json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": [VCT]}, "claims": [{"path": ["given_name"]}]}]})
}

fn decoded_request_object(token: &str) -> Value {
    Value::Object(vdc_core::jose::jws::decode(token).unwrap().payload)
}

async fn verifier_info_is_checked_stored_and_attached_to_every_kind_of_request(
    server: &TestServer,
) {
    // Refused shapes name verifier_info; nothing is created.
    let bad = [
        json!([{"format": "", "data": "x"}]),
        json!([{"format": "jwt", "data": 7}]),
        json!([{"format": "jwt", "data": ""}]),
        json!([{"format": "jwt", "data": "x", "credential_ids": []}]),
        json!([{"format": "jwt", "data": "x", "unknown": 1}]),
        json!([{"format": "jwt", "data": "x".repeat(17 * 1024)}]),
        Value::Array(vec![json!({"format": "jwt", "data": "x"}); 17]),
    ];
    for (i, verifier_info) in bad.into_iter().enumerate() {
        let (status, body) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": format!("bad-{i}"), "client_id_prefix": "x509_san_dns",
                    "verifier_info": verifier_info}),
            )
            .await;
        assert_eq!(status, 400, "{i}: {body}");
        assert_eq!(body["error"], "invalid_request");
        let d = body["error_description"].as_str().unwrap();
        assert!(
            d.contains("verifier_info") || (i == 4 && d.contains("unknown field `unknown`")),
            "{i}: {d}"
        );
        let (status, _) = server
            .admin_get(&format!("/api/v1/verifiers/bad-{i}"))
            .await;
        assert_eq!(status, 404);
    }
    let (status, v) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "vi", "client_id_prefix": "x509_san_dns",
                "trusted_issuers": [server.issuer_url("demo")], "verifier_info": info()}),
        )
        .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["verifier_info"], info());
    assert_eq!(v["transaction_data_types"], json!({}));
    let (_, read) = server.admin_get("/api/v1/verifiers/vi").await;
    assert_eq!(read["verifier_info"], info());

    // Spec: OID4VP 1.0 §5.1: credential_ids reference DCQL credential query ids: narrowed
    // to the query's, an entry naming none of them is left out.
    let expected = json!([
        {"format": "jwt", "data": "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ2aSJ9.c2ln",
            "credential_ids": ["badge"]},
        {"format": "registration_cert", "data": {"purpose": "door access"}}
    ]);
    // The signed request object (request_uri).
    let created = request(server, "vi", json!({"dcql_query": badge_only()})).await;
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let payload = decoded_request_object(&r.text().await.unwrap());
    assert_eq!(payload["verifier_info"], expected);
    // The unsigned and the signed Digital Credentials API request.
    let created = request(
        server,
        "vi",
        json!({"dcql_query": badge_only(), "response_mode": "dc_api"}),
    )
    .await;
    let dc = &created["dc_api_request"];
    assert_eq!(dc["protocol"], "openid4vp-v1-unsigned");
    assert_eq!(dc["data"]["verifier_info"], expected);
    assert!(dc["data"].get("client_id").is_none(), "{dc}");
    let created = request(
        server,
        "vi",
        json!({"dcql_query": badge_only(), "response_mode": "dc_api",
            "expected_origins": ["https://rp.example"]}),
    )
    .await;
    let dc = &created["dc_api_request"];
    assert_eq!(dc["protocol"], "openid4vp-v1-signed");
    let payload = decoded_request_object(dc["data"]["request"].as_str().unwrap());
    assert_eq!(payload["verifier_info"], expected);
    assert_eq!(payload["expected_origins"], json!(["https://rp.example"]));

    // PATCH replaces it; an empty list sends none.
    let (status, patched) = super::tenants::patch(
        server,
        "/api/v1/verifiers/vi",
        &json!({"verifier_info": []}),
    )
    .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["verifier_info"], json!([]));
    let created = request(
        server,
        "vi",
        json!({"dcql_query": badge_only(), "response_mode": "dc_api"}),
    )
    .await;
    assert!(
        created["dc_api_request"]["data"]
            .get("verifier_info")
            .is_none(),
        "{created}"
    );
    let (status, body) = super::tenants::patch(
        server,
        "/api/v1/verifiers/vi",
        &json!({"verifier_info": [{"format": "jwt"}]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

async fn the_same_presentation_twice_in_one_answer_is_rejected_as_dcql_unsatisfied(
    server: &TestServer,
) {
    let query = json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt", "multiple": true,
        "meta": {"vct_values": [VCT]}, "claims": [{"path": ["given_name"]}]}]});
    let (v, created) = setup(server, json!({"dcql_query": query})).await;
    let (wallet, _) = holder(server).await;
    let (req, sd, disclosures, signer) = resolve(&wallet, &v, &created).await;
    let vp = kb_presentation(
        &sd,
        disclosures,
        &signer,
        v["client_id"].as_str().unwrap(),
        req.nonce().unwrap(),
        server.clock.now(),
    )
    .await;
    let vp_token = json!({"badge": [vp, vp]}).to_string();
    let answer = post(
        server,
        "v",
        &[("vp_token", &vp_token), ("state", req.state().unwrap())],
    )
    .await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}

async fn an_unsatisfied_required_credential_set_is_rejected_as_dcql_unsatisfied(
    server: &TestServer,
) {
    // Spec: OID4VP 1.0 §6.2: a required credential set needs one of its options; the
    // badge alone does not satisfy [["badge", "passport"]].
    let query = json!({
        "credentials": [
            {"id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
                "claims": [{"path": ["given_name"]}]},
            {"id": "passport", "format": "dc+sd-jwt",
                "meta": {"vct_values": ["https://vdc.example/vct/passport"]}}
        ],
        "credential_sets": [{"options": [["badge", "passport"]]}]
    });
    // The wallet refuses such a request (it has no passport), so the badge's parts come
    // from a badge-only request and are bound to this request's nonce by hand.
    let (v, created) = setup(server, json!({"dcql_query": query})).await;
    let (wallet, _) = holder(server).await;
    let badge_request = request(server, "v", json!({"dcql_query": badge_only()})).await;
    let (_, sd, disclosures, signer) = resolve(&wallet, &v, &badge_request).await;
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let payload = decoded_request_object(&r.text().await.unwrap());
    let vp = kb_presentation(
        &sd,
        disclosures,
        &signer,
        v["client_id"].as_str().unwrap(),
        payload["nonce"].as_str().unwrap(),
        server.clock.now(),
    )
    .await;
    let vp_token = json!({"badge": [vp]}).to_string();
    let state = payload["state"].as_str().unwrap().to_owned();
    let answer = post(server, "v", &[("vp_token", &vp_token), ("state", &state)]).await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}
