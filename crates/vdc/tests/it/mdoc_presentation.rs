//! `mso_mdoc` presentations over OID4VP 1.0 (Appendix B.2) end to end over HTTP, on SQLite
//! and Postgres: a verifier trusting an IACA made here, a DCQL query for an mDL, the test
//! playing issuer (an mdoc signed by a Document Signer under the IACA) and wallet (a
//! DeviceResponse over the B.2.6.1 session transcript), for `direct_post` and
//! `direct_post.jwt`, and each refusal with its reason.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::jose::jwe::{self, ContentEncryption, JweHeaderParams, RecipientKey};
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::mdoc::cbor::Value as Cbor;
use vdc_core::mdoc::device::present;
use vdc_core::mdoc::{
    DeviceResponse, Handover, IssuerSigned, MdocToIssue, SessionTranscript, StatusRef, Tagged24,
    ValidityInfo, issue,
};
use vdc_core::rng::SystemRandom;
use vdc_core::time::{Clock as _, UnixTime};
use vdc_core::x509::{self, CertificateSpec};
use vdc_testkit::TestServer;

use crate::presentation::{request, result};

vdc_testkit::both_backends!(
    mdoc_presentation_verifies_with_exactly_the_disclosed_elements,
    mdoc_presentation_over_direct_post_jwt_binds_the_key_thumbprint,
    trusted_iaca_is_validated_and_returned,
    document_signer_under_another_iaca_is_rejected_as_untrusted_issuer,
    device_signature_over_another_nonce_is_rejected_as_key_binding,
    wrong_doctype_is_rejected_as_dcql_unsatisfied,
    missing_requested_element_is_rejected_as_dcql_unsatisfied,
    tampered_element_value_is_rejected_as_signature,
    expired_mso_is_rejected_as_expired,
    mso_status_is_read_from_the_cwt_status_list,
);

pub(crate) const MDL: &str = "org.iso.18013.5.1.mDL";
pub(crate) const NS: &str = "org.iso.18013.5.1";

/// An IACA root and its key; its validity (a day back, ten years on) holds every DS here.
pub(crate) struct Iaca {
    cert: Vec<u8>,
    key: SigningKey,
}

pub(crate) fn iaca(name: &str, now: UnixTime) -> Iaca {
    let rng = SystemRandom::new();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let spec = CertificateSpec::new(name, now.plus(-86_400), now.plus(10 * 365 * 86_400), &rng)
        .unwrap()
        .ca();
    Iaca {
        cert: x509::self_signed(&spec, &key).unwrap(),
        key,
    }
}

/// A Document Signer under `iaca`, as a signer carrying `x5c = [DS]`.
pub(crate) fn document_signer(iaca: &Iaca, now: UnixTime) -> LocalSigner {
    let rng = SystemRandom::new();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let spec = CertificateSpec::new(
        "Test Document Signer",
        now.plus(-3600),
        now.plus(365 * 86_400),
        &rng,
    )
    .unwrap();
    let ds = x509::issue(&spec, key.public_key(), &iaca.cert, &iaca.key).unwrap();
    LocalSigner::new(key).with_x5c(vec![ds])
}

/// What the wallet holds: the issued mdoc and its device key.
pub(crate) struct Held {
    issued: IssuerSigned,
    doc_type: String,
    device: LocalSigner,
}

pub(crate) async fn issue_mdoc(ds: &LocalSigner, doc_type: &str, validity: ValidityInfo) -> Held {
    issue_mdoc_with(ds, doc_type, validity, None).await
}

async fn issue_mdoc_with(
    ds: &LocalSigner,
    doc_type: &str,
    validity: ValidityInfo,
    status: Option<StatusRef>,
) -> Held {
    let rng = SystemRandom::new();
    let device = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let namespaces = BTreeMap::from([(
        NS.to_owned(),
        vec![
            ("family_name".to_owned(), Cbor::Text("Lovelace".into())),
            ("given_name".to_owned(), Cbor::Text("Ada".into())),
            ("age_over_18".to_owned(), Cbor::Bool(true)),
            ("document_number".to_owned(), Cbor::Text("D-1815".into())),
        ],
    )]);
    let device_key = vdc_core::jose::Signer::public_jwk(&device).key.clone();
    let input = MdocToIssue {
        doc_type,
        namespaces: &namespaces,
        device_key: &device_key,
        validity,
        status,
    };
    Held {
        issued: issue(&input, ds, &rng).await.unwrap(),
        doc_type: doc_type.to_owned(),
        device,
    }
}

pub(crate) fn valid_now(now: UnixTime) -> ValidityInfo {
    ValidityInfo {
        signed: now.plus(-60),
        valid_from: now.plus(-60),
        valid_until: now.plus(30 * 86_400),
    }
}

pub(crate) fn mdl_query() -> Value {
    json!({"credentials": [{"id": "mdl", "format": "mso_mdoc",
        "meta": {"doctype_value": MDL},
        "claims": [{"path": [NS, "family_name"], "intent_to_retain": false},
            {"path": [NS, "age_over_18"], "values": [true]}]}]})
}

/// A verifier `v` (x509_san_dns) trusting `iaca`.
pub(crate) async fn mdoc_verifier(server: &TestServer, iaca: &Iaca) -> Value {
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "v", "client_id_prefix": "x509_san_dns",
                "trusted_iaca": [x509::to_pem(&iaca.cert)]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

/// The signed request object's claims, as a wallet reads them at `request_uri`.
async fn request_object(server: &TestServer, created: &Value) -> Value {
    let r = server
        .http
        .get(created["request_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = r.text().await.unwrap();
    Value::Object(vdc_core::jose::jws::decode(&token).unwrap().payload.clone())
}

/// The B.2.6.1 transcript for a request object, with `nonce` replacing its nonce if given.
fn transcript(
    claims: &Value,
    nonce: Option<&str>,
    thumbprint: Option<[u8; 32]>,
) -> SessionTranscript {
    SessionTranscript(Handover::Redirect {
        client_id: claims["client_id"].as_str().unwrap().to_owned(),
        nonce: nonce
            .unwrap_or_else(|| claims["nonce"].as_str().unwrap())
            .to_owned(),
        jwk_thumbprint: thumbprint,
        response_uri: claims["response_uri"].as_str().unwrap().to_owned(),
    })
}

/// The base64url DeviceResponse disclosing `elements` of NS.
pub(crate) async fn device_response(
    held: &Held,
    elements: &[&str],
    transcript: &SessionTranscript,
    tamper: bool,
) -> String {
    let disclose = BTreeMap::from([(
        NS.to_owned(),
        elements
            .iter()
            .map(|e| (*e).to_owned())
            .collect::<BTreeSet<_>>(),
    )]);
    let mut document = present(
        &held.issued,
        &held.doc_type,
        &disclose,
        transcript,
        &held.device,
    )
    .await
    .unwrap();
    if tamper {
        // Another elementValue under the same digestID: the item's bytes no longer hash to
        // the MSO's digest.
        let items = document.issuer_signed.namespaces.get_mut(NS).unwrap();
        let item = items.first_mut().unwrap();
        let Cbor::Map(mut entries) = item.value.clone() else {
            panic!("IssuerSignedItem is a map")
        };
        for (k, v) in &mut entries {
            if k.as_text() == Some("elementValue") {
                *v = match v {
                    Cbor::Bool(b) => Cbor::Bool(!*b),
                    _ => Cbor::Text("Byron".into()),
                };
            }
        }
        *item = Tagged24::wrap(Cbor::Map(entries));
    }
    let response = DeviceResponse {
        documents: vec![document],
        status: 0,
    };
    base64url::encode(response.to_cbor())
}

/// Posts `vp_token = {"mdl": [presentation]}` (direct_post) for the request object `claims`.
async fn respond(server: &TestServer, claims: &Value, presentation: &str) -> (u16, Value) {
    let vp_token = json!({"mdl": [presentation]}).to_string();
    let r = server
        .http
        .post(claims["response_uri"].as_str().unwrap())
        .form(&[
            ("vp_token", vp_token.as_str()),
            ("state", claims["state"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A verifier trusting a fresh IACA, one mDL request, its request object and a DS.
async fn setup(server: &TestServer) -> (Iaca, Value, Value, LocalSigner) {
    let now = server.clock.now();
    let root = iaca("Test IACA", now);
    mdoc_verifier(server, &root).await;
    let created = request(server, "v", json!({"dcql_query": mdl_query()})).await;
    let claims = request_object(server, &created).await;
    let ds = document_signer(&root, now);
    (root, created, claims, ds)
}

/// Asserts a 400 naming `reason` and the request rejected with it.
async fn assert_rejected(server: &TestServer, created: &Value, answer: (u16, Value), reason: &str) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert_eq!(answer.1["error"], "invalid_request");
    let description = answer.1["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("{reason}:")),
        "{description}"
    );
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "rejected", "{r}");
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{reason}:")),
        "{r}"
    );
    assert_eq!(r["presentation"], Value::Null);
}

async fn mdoc_presentation_verifies_with_exactly_the_disclosed_elements(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    // Spec: OID4VP 1.0 Appendix B.2.2: the request says which COSE algorithms it takes.
    assert_eq!(
        claims["client_metadata"]["vp_formats_supported"]["mso_mdoc"],
        json!({"issuerauth_alg_values": [-7, -8], "deviceauth_alg_values": [-7, -8]})
    );
    let query = &claims["dcql_query"]["credentials"][0];
    assert_eq!(query["meta"], json!({"doctype_value": MDL}));
    assert_eq!(query["claims"][0]["intent_to_retain"], false);
    let held = issue_mdoc(&ds, MDL, valid_now(server.clock.now())).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let (status, body) = respond(server, &claims, &vp).await;
    assert_eq!(status, 200, "{body}");
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    let p = &r["presentation"]["mdl"][0];
    assert_eq!(p["doctype"], MDL);
    assert_eq!(p["issuer"], "CN=Test IACA");
    assert_eq!(p["status"], "valid");
    assert_eq!(p.get("vct"), None);
    // Exactly the disclosed elements: given_name and document_number stayed in the wallet.
    assert_eq!(
        p["claims"],
        json!({NS: {"family_name": "Lovelace", "age_over_18": true}})
    );
}

async fn mdoc_presentation_over_direct_post_jwt_binds_the_key_thumbprint(server: &TestServer) {
    let now = server.clock.now();
    let root = iaca("Test IACA", now);
    mdoc_verifier(server, &root).await;
    let ds = document_signer(&root, now);
    let held = issue_mdoc(&ds, MDL, valid_now(now)).await;
    let send = |claims: Value, thumbprint: Option<[u8; 32]>| {
        let held = &held;
        async move {
            let key = RecipientKey::select(&claims["client_metadata"]["jwks"]).unwrap();
            let vp = device_response(
                held,
                &["family_name", "age_over_18"],
                &transcript(&claims, None, thumbprint),
                false,
            )
            .await;
            let payload = json!({"vp_token": {"mdl": [vp]}, "state": claims["state"]});
            let jwe = jwe::encrypt(
                payload.to_string().as_bytes(),
                &key.key,
                ContentEncryption::A128Gcm,
                JweHeaderParams {
                    kid: key.kid.clone(),
                    ..JweHeaderParams::default()
                },
                &SystemRandom::new(),
            )
            .unwrap();
            let r = server
                .http
                .post(claims["response_uri"].as_str().unwrap())
                .form(&[("response", jwe.as_str())])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
        }
    };
    let thumbprint_of = |claims: &Value| {
        let key = RecipientKey::select(&claims["client_metadata"]["jwks"]).unwrap();
        let raw = base64url::decode(&key.key.thumbprint()).unwrap();
        <[u8; 32]>::try_from(raw).unwrap()
    };
    // Spec: OID4VP 1.0 Appendix B.2.6.1: an encrypted response's transcript holds the
    // JWK SHA-256 thumbprint of the verifier's encryption key.
    let body = json!({"dcql_query": mdl_query(), "response_mode": "direct_post.jwt"});
    let created = request(server, "v", body.clone()).await;
    let claims = request_object(server, &created).await;
    let answer = send(claims.clone(), Some(thumbprint_of(&claims))).await;
    assert_eq!(answer.0, 200, "{}", answer.1);
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(
        r["presentation"]["mdl"][0]["claims"],
        json!({NS: {"family_name": "Lovelace", "age_over_18": true}})
    );
    // The same response with `null` in its place (a transcript for a plain response).
    let created = request(server, "v", body).await;
    let claims = request_object(server, &created).await;
    let answer = send(claims, None).await;
    assert_rejected(server, &created, answer, "key_binding").await;
}

async fn trusted_iaca_is_validated_and_returned(server: &TestServer) {
    let now = server.clock.now();
    let root = iaca("Test IACA", now);
    let pem = x509::to_pem(&root.cert);
    let v = mdoc_verifier(server, &root).await;
    assert_eq!(v["trusted_iaca"], json!([pem]));
    let (status, got) = server.admin_get("/api/v1/verifiers/v").await;
    assert_eq!(status, 200);
    assert_eq!(got["trusted_iaca"], json!([pem]));
    // A Document Signer (no CA), two certificates in one entry, garbage, too many: 400.
    let ds = document_signer(&root, now);
    let ds_pem = x509::to_pem(&vdc_core::jose::Signer::x5c(&ds).unwrap()[0]);
    let two = format!("{pem}{pem}");
    let many: Vec<String> = (0..17).map(|_| pem.clone()).collect();
    for bad in [
        json!([ds_pem]),
        json!([two]),
        json!(["not a pem"]),
        json!(many),
    ] {
        let (status, body) = server
            .admin_post(
                "/api/v1/verifiers",
                &json!({"id": "w", "client_id_prefix": "x509_san_dns", "trusted_iaca": bad}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "invalid_request");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("trusted_iaca"),
            "{body}"
        );
        let r = server
            .admin(reqwest::Method::PATCH, "/api/v1/verifiers/v")
            .json(&json!({"trusted_iaca": bad}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    // PATCH replaces the list; other members keep it.
    let other = x509::to_pem(&iaca("Other IACA", now).cert);
    let r = server
        .admin(reqwest::Method::PATCH, "/api/v1/verifiers/v")
        .json(&json!({"trusted_iaca": [other]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = server
        .admin(reqwest::Method::PATCH, "/api/v1/verifiers/v")
        .json(&json!({"require_status": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["trusted_iaca"], json!([other]));
    // mso_mdoc queries need a doctype_value (B.2.3) and [namespace, element] paths.
    for query in [
        json!({"credentials": [{"id": "mdl", "format": "mso_mdoc", "meta": {}}]}),
        json!({"credentials": [{"id": "mdl", "format": "mso_mdoc",
            "meta": {"doctype_value": MDL}, "claims": [{"path": ["family_name"]}]}]}),
    ] {
        let (status, body) = server
            .admin_post(
                "/api/v1/verifiers/v/requests",
                &json!({"dcql_query": query}),
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }
}

async fn document_signer_under_another_iaca_is_rejected_as_untrusted_issuer(server: &TestServer) {
    let (_, created, claims, _) = setup(server).await;
    let now = server.clock.now();
    let stranger = document_signer(&iaca("Test IACA", now), now);
    let held = issue_mdoc(&stranger, MDL, valid_now(now)).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "untrusted_issuer").await;
}

async fn device_signature_over_another_nonce_is_rejected_as_key_binding(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let held = issue_mdoc(&ds, MDL, valid_now(server.clock.now())).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, Some("another-nonce"), None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "key_binding").await;
}

async fn wrong_doctype_is_rejected_as_dcql_unsatisfied(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let held = issue_mdoc(&ds, "org.example.loyalty.1", valid_now(server.clock.now())).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}

async fn missing_requested_element_is_rejected_as_dcql_unsatisfied(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let held = issue_mdoc(&ds, MDL, valid_now(server.clock.now())).await;
    let vp = device_response(
        &held,
        &["family_name"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "dcql_unsatisfied").await;
}

async fn tampered_element_value_is_rejected_as_signature(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let held = issue_mdoc(&ds, MDL, valid_now(server.clock.now())).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        true,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "signature").await;
}

async fn expired_mso_is_rejected_as_expired(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let now = server.clock.now();
    let validity = ValidityInfo {
        signed: now.plus(-1800),
        valid_from: now.plus(-1800),
        valid_until: now.plus(-900),
    };
    let held = issue_mdoc(&ds, MDL, validity).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "expired").await;
}

/// A status list entry of this deployment's demo issuer (the one of a badge it issued) and
/// the issued credential's id, to revoke it through the management API.
async fn demo_status_entry(server: &TestServer) -> (StatusRef, String) {
    let (wallet, id) = crate::presentation::holder(server).await;
    let stored = wallet.list().await.unwrap().remove(0);
    let sd = vdc_core::sd_jwt::SdJwt::parse(&stored.credential).unwrap();
    let list = sd.issuer_jws().unwrap().payload["status"]["status_list"].clone();
    let reference = StatusRef {
        idx: list["idx"].as_u64().unwrap(),
        uri: list["uri"].as_str().unwrap().to_owned(),
    };
    (reference, id)
}

async fn mso_status_is_read_from_the_cwt_status_list(server: &TestServer) {
    let (_, created, claims, ds) = setup(server).await;
    let (reference, credential_id) = demo_status_entry(server).await;
    let held = issue_mdoc_with(&ds, MDL, valid_now(server.clock.now()), Some(reference)).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let (status, body) = respond(server, &claims, &vp).await;
    assert_eq!(status, 200, "{body}");
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert_eq!(r["status"], "verified", "{r}");
    assert_eq!(r["presentation"]["mdl"][0]["status"], "valid");
    // Revoked at its list: the next presentation of the mdoc is refused.
    let (code, body) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{credential_id}/status"),
            &json!({"status": "revoked"}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let created = request(server, "v", json!({"dcql_query": mdl_query()})).await;
    let claims = request_object(server, &created).await;
    let vp = device_response(
        &held,
        &["family_name", "age_over_18"],
        &transcript(&claims, None, None),
        false,
    )
    .await;
    let answer = respond(server, &claims, &vp).await;
    assert_rejected(server, &created, answer, "status").await;
    let r = result(server, "v", created["id"].as_str().unwrap()).await;
    assert!(
        r["error"]["error_description"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{r}"
    );
}
