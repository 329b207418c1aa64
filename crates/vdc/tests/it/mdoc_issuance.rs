//! `mso_mdoc` issuance (OID4VCI 1.0 Appendix A.2) over HTTP: an issuer with an mdoc
//! configuration publishes A.2.2 metadata, gets an IACA root and a Document Signer
//! certificate for its key (ISO 18013-5 Annex B; `GET /api/v1/issuers/{issuer}/iaca.pem`),
//! and answers the pre-authorized flow with base64url `IssuerSigned` (A.2.4) whose MSO binds
//! the proof's key, carries the validity and the status list entry, digests every item, and
//! is signed by the DS key with the DS certificate in `x5chain`.
//!
//! The test wallet (vdc-holder) takes no mdocs, so the flow is driven with the shared
//! token, nonce, proof and credential helpers.

use serde_json::{Value, json};
use vdc_core::jose::{Algorithm, LocalSigner, PublicKey};
use vdc_core::mdoc::cbor::{self, Tagged24};
use vdc_core::mdoc::{IssuerSigned, MobileSecurityObject};
use vdc_core::time::Clock as _;
use vdc_core::x509::{self, TrustAnchors};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    an_mdoc_binds_the_proof_key_and_chains_to_the_exported_iaca,
    batch_of_two_proofs_yields_two_mdocs_with_distinct_device_keys,
    mdoc_configurations_and_offers_that_break_the_rules_are_refused,
    an_issuer_that_gains_an_mdoc_configuration_gets_an_iaca,
    an_operator_chain_is_the_x5chain_and_no_iaca_is_made,
    switching_into_haip_mode_makes_a_new_document_signer_for_the_new_key,
);

const NS: &str = "org.iso.18013.5.1";
const DOCTYPE: &str = "org.iso.18013.5.1.mDL";
const LIFETIME: i64 = 30 * 24 * 3600;

/// An mdoc configuration as the contract writes it (`cryptographic_binding_methods_supported`
/// left out: `cose_key` is the default for `mso_mdoc`).
fn mdl_configuration() -> Value {
    json!({"format": "mso_mdoc", "doctype": DOCTYPE,
        "claims": [
            {"path": [NS, "given_name"], "mandatory": true,
             "display": [{"name": "Given name", "locale": "en"}]},
            {"path": [NS, "family_name"]},
            {"path": [NS, "age_over_18"]}],
        "expires_in": LIFETIME})
}

pub(crate) fn mdl_issuer(id: &str) -> Value {
    json!({"id": id, "credential_configurations": {"mDL": mdl_configuration()}})
}

fn mdl_claims() -> Value {
    json!({NS: {"given_name": "Ada", "family_name": "Lovelace", "age_over_18": true}})
}

async fn create(server: &TestServer, body: &Value) -> (u16, Value) {
    server.admin_post("/api/v1/issuers", body).await
}

/// Redeems a fresh offer of `mDL` with `keys` jwt proofs (one shared `c_nonce`); answers the
/// decoded mdocs and the holder keys, in order.
pub(crate) async fn issue_mdocs(
    server: &TestServer,
    issuer: &str,
    keys: usize,
) -> (Vec<IssuerSigned>, Vec<LocalSigner>) {
    let token = fresh_token(
        server,
        issuer,
        &json!({"credential_configuration_ids": ["mDL"], "claims": {"mDL": mdl_claims()}}),
    )
    .await;
    let n = nonce(server, issuer).await;
    let mut proofs = Vec::new();
    let mut holders = Vec::new();
    for _ in 0..keys {
        let (p, holder) = proof(server, &server.issuer_url(issuer), Some(&n)).await;
        proofs.push(p);
        holders.push(holder);
    }
    let (status, body, _) = credential(
        server,
        issuer,
        &token,
        &json!({"credential_configuration_id": "mDL", "proofs": {"jwt": proofs}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let credentials = body["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), keys);
    let mdocs = credentials
        .iter()
        .map(|c| {
            // Spec: OID4VCI 1.0 A.2.4: base64url of the CBOR IssuerSigned.
            let bytes = vdc_core::base64url::decode(c["credential"].as_str().unwrap()).unwrap();
            IssuerSigned::from_cbor(&bytes).unwrap()
        })
        .collect();
    (mdocs, holders)
}

/// The MSO inside `issuerAuth` (`MobileSecurityObjectBytes`, tag 24).
fn mso_of(mdoc: &IssuerSigned) -> MobileSecurityObject {
    let payload = mdoc.issuer_auth.payload.as_deref().expect("attached MSO");
    let tagged = Tagged24::from_value(&cbor::decode(payload).unwrap()).unwrap();
    MobileSecurityObject::from_value(&tagged.value).unwrap()
}

/// Every item's digest is in the MSO under its digestID (ISO 18013-5 §9.1.2.5: SHA-256
/// over the tag-24 item bytes); answers the elements by namespace.
fn checked_elements(
    mdoc: &IssuerSigned,
    mso: &MobileSecurityObject,
) -> std::collections::BTreeMap<(String, String), cbor::Value> {
    let mut out = std::collections::BTreeMap::new();
    for (ns, items) in &mdoc.namespaces {
        let digests = &mso.value_digests[ns];
        assert_eq!(digests.len(), items.len(), "{ns}: one digest per item");
        for item in items {
            let id = match cbor::map_get(&item.value, "digestID").unwrap() {
                cbor::Value::Integer(i) => u64::try_from(*i).unwrap(),
                other => panic!("digestID {other:?}"),
            };
            assert_eq!(
                digests[&id].as_slice(),
                vdc_core::digest::sha256(&item.tagged_bytes()).as_slice(),
                "{ns} digest {id}"
            );
            match cbor::map_get(&item.value, "random") {
                Some(cbor::Value::Bytes(salt)) => assert!(salt.len() >= 16),
                other => panic!("random {other:?}"),
            }
            let name = match cbor::map_get(&item.value, "elementIdentifier") {
                Some(cbor::Value::Text(t)) => t.clone(),
                other => panic!("elementIdentifier {other:?}"),
            };
            let value = cbor::map_get(&item.value, "elementValue").unwrap().clone();
            out.insert((ns.clone(), name), value);
        }
    }
    out
}

async fn iaca(server: &TestServer, issuer: &str) -> (u16, String, Option<String>) {
    let r = server
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/issuers/{issuer}/iaca.pem"),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, r.text().await.unwrap(), content_type)
}

/// Checks `issuerAuth`: ES256, signed by the DS certificate's key, that certificate alone in
/// `x5chain` and chaining to the issuer's exported IACA; answers the DS key.
pub(crate) async fn check_issuer_auth(
    server: &TestServer,
    issuer: &str,
    mdoc: &IssuerSigned,
) -> PublicKey {
    let auth = &mdoc.issuer_auth;
    assert_eq!(auth.algorithm().unwrap(), Algorithm::Es256);
    let x5chain = auth.x5chain().unwrap();
    assert_eq!(
        x5chain.len(),
        1,
        "the DS certificate only, the IACA left out"
    );
    let ds_key = x509::leaf_public_key(&x5chain[0]).unwrap();
    auth.verify(&ds_key, None).unwrap();
    let (status, pem, content_type) = iaca(server, issuer).await;
    assert_eq!(status, 200, "{pem}");
    assert_eq!(content_type.as_deref(), Some("application/x-pem-file"));
    let anchors = TrustAnchors::from_pem(&pem).unwrap();
    let leaf = x509::validate_x5c(&x5chain, &anchors, server.clock.now()).unwrap();
    assert_eq!(leaf.public_key, ds_key);
    assert!(!anchors.contains(&x5chain[0]));
    ds_key
}

async fn an_mdoc_binds_the_proof_key_and_chains_to_the_exported_iaca(server: &TestServer) {
    let (status, object) = create(server, &mdl_issuer("dmv")).await;
    assert_eq!(status, 201, "{object}");
    // The configuration as stored: cose_key filled in for the absent binding methods.
    assert_eq!(
        object["credential_configurations"]["mDL"]["cryptographic_binding_methods_supported"],
        json!(["cose_key"])
    );
    // Spec: OID4VCI 1.0 A.2.2 and §12.2.4, in the Credential Issuer Metadata.
    let meta: Value = server
        .http
        .get(server.url("/.well-known/openid-credential-issuer/issuers/dmv"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let c = &meta["credential_configurations_supported"]["mDL"];
    assert_eq!(c["format"], "mso_mdoc");
    assert_eq!(c["doctype"], DOCTYPE);
    assert_eq!(c["credential_signing_alg_values_supported"], json!([-7]));
    assert_eq!(
        c["cryptographic_binding_methods_supported"],
        json!(["cose_key"])
    );
    assert!(
        c["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    assert_eq!(
        c["credential_metadata"]["claims"][0]["path"],
        json!([NS, "given_name"])
    );
    assert_eq!(
        c["credential_metadata"]["claims"][0]["display"][0]["name"],
        "Given name"
    );
    assert!(c.get("vct").is_none());

    let before = server.clock.now();
    let (mdocs, holders) = issue_mdocs(server, "dmv", 1).await;
    let mdoc = &mdocs[0];
    let mso = mso_of(mdoc);
    assert_eq!(mso.doc_type, DOCTYPE);
    assert_eq!(&mso.device_key, holders[0].key().public_key());
    // signed = validFrom = now, validUntil = now + expires_in.
    let v = mso.validity;
    assert_eq!(v.signed, v.valid_from);
    assert!(v.signed.secs() >= before.secs() && v.signed.secs() <= server.clock.now().secs());
    assert_eq!(v.valid_until.secs() - v.valid_from.secs(), LIFETIME);
    // The status list entry: the issuer's list, at an index.
    let status = mso.status.clone().expect("status list reference");
    assert!(
        status
            .uri
            .starts_with(&format!("{}/status-lists/", server.issuer_url("dmv"))),
        "{}",
        status.uri
    );
    // Every item digested; the elements are the offer's.
    let elements = checked_elements(mdoc, &mso);
    assert_eq!(elements.len(), 3);
    assert_eq!(
        elements[&(NS.to_owned(), "given_name".to_owned())],
        cbor::Value::Text("Ada".into())
    );
    assert_eq!(
        elements[&(NS.to_owned(), "age_over_18".to_owned())],
        cbor::Value::Bool(true)
    );
    // issuerAuth: the DS key is the issuer's signing key (the JWK it publishes).
    let ds_key = check_issuer_auth(server, "dmv", mdoc).await;
    let jwks: Value = server
        .http
        .get(server.url("/.well-known/jwt-vc-issuer/issuers/dmv"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published = vdc_core::jose::JwkSet::from_value(&jwks["jwks"]).unwrap();
    assert!(published.keys.iter().any(|k| k.key == ds_key));
}

async fn batch_of_two_proofs_yields_two_mdocs_with_distinct_device_keys(server: &TestServer) {
    let (status, object) = create(server, &mdl_issuer("dmv")).await;
    assert_eq!(status, 201, "{object}");
    let (mdocs, holders) = issue_mdocs(server, "dmv", 2).await;
    let msos: Vec<MobileSecurityObject> = mdocs.iter().map(mso_of).collect();
    assert_ne!(msos[0].device_key, msos[1].device_key);
    for (mso, holder) in msos.iter().zip(&holders) {
        assert_eq!(&mso.device_key, holder.key().public_key());
    }
    // Distinct status entries, one list.
    let (a, b) = (
        msos[0].status.clone().unwrap(),
        msos[1].status.clone().unwrap(),
    );
    assert_ne!(a.idx, b.idx);
    for (mdoc, mso) in mdocs.iter().zip(&msos) {
        checked_elements(mdoc, mso);
        check_issuer_auth(server, "dmv", mdoc).await;
    }
}

async fn mdoc_configurations_and_offers_that_break_the_rules_are_refused(server: &TestServer) {
    let refused = |(status, body): (u16, Value), what: &str| {
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"], "invalid_request", "{what}: {body}");
    };
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = mdl_issuer("bad");
        change(&mut body["credential_configurations"]["mDL"]);
        body
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "no doctype",
            with(&|c| {
                c.as_object_mut().unwrap().remove("doctype");
            }),
        ),
        ("empty doctype", with(&|c| c["doctype"] = json!(""))),
        (
            "one-element path",
            with(&|c| c["claims"][0]["path"] = json!(["given_name"])),
        ),
        (
            "three-element path",
            with(&|c| c["claims"][0]["path"] = json!([NS, "driving_privileges", 0])),
        ),
        (
            "non-string element",
            with(&|c| c["claims"][0]["path"] = json!([NS, 1])),
        ),
        (
            "vct",
            with(&|c| c["vct"] = json!("https://vdc.example/vct/mdl")),
        ),
        (
            "did:jwk binding",
            with(&|c| c["cryptographic_binding_methods_supported"] = json!(["did:jwk"])),
        ),
        ("no claims", with(&|c| c["claims"] = json!([]))),
    ];
    for (what, body) in cases {
        refused(create(server, &body).await, what);
    }
    let mut eddsa = mdl_issuer("bad");
    eddsa["signing_alg"] = json!("EdDSA");
    refused(create(server, &eddsa).await, "EdDSA");
    let mut sd_jwt_doctype = mdl_issuer("bad");
    sd_jwt_doctype["credential_configurations"]["Badge"] = json!({"format": "dc+sd-jwt",
        "vct": "https://vdc.example/vct/badge", "doctype": DOCTYPE});
    refused(
        create(server, &sd_jwt_doctype).await,
        "doctype on dc+sd-jwt",
    );
    // Nothing was created.
    assert_eq!(server.admin_get("/api/v1/issuers/bad").await.0, 404);

    let (status, object) = create(server, &mdl_issuer("dmv")).await;
    assert_eq!(status, 201, "{object}");
    let offer =
        |claims: Value| json!({"credential_configuration_ids": ["mDL"], "claims": {"mDL": claims}});
    for (what, claims) in [
        (
            "unknown element",
            json!({NS: {"given_name": "Ada", "portrait": "x"}}),
        ),
        (
            "namespace not configured",
            json!({NS: {"given_name": "Ada"}, "org.iso.18013.5.1.aamva": {"given_name": "A"}}),
        ),
        ("flat claims", json!({"given_name": "Ada"})),
        (
            "mandatory element missing",
            json!({NS: {"family_name": "L"}}),
        ),
        ("empty namespace", json!({NS: {}, "x": {}})),
        ("no elements", json!({})),
    ] {
        refused(
            server
                .admin_post("/api/v1/issuers/dmv/offers", &offer(claims))
                .await,
            what,
        );
    }
    // No IACA for an unknown issuer, nor for one without an mdoc configuration.
    assert_eq!(iaca(server, "nobody").await.0, 404);
    let (status, object) = create(
        server,
        &json!({"id": "badges", "credential_configurations": {"Badge": {"format": "dc+sd-jwt",
            "vct": "https://vdc.example/vct/badge", "claims": [{"path": ["given_name"]}]}}}),
    )
    .await;
    assert_eq!(status, 201, "{object}");
    let (status, body, _) = iaca(server, "badges").await;
    assert_eq!(status, 404);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["error"],
        "not_found"
    );
}

/// A `PATCH` that adds the first mdoc configuration makes the IACA and DS certificate for
/// the issuer's existing key; later changes keep them.
async fn an_issuer_that_gains_an_mdoc_configuration_gets_an_iaca(server: &TestServer) {
    let badge = json!({"format": "dc+sd-jwt", "vct": "https://vdc.example/vct/badge",
        "claims": [{"path": ["given_name"]}]});
    let (status, object) = create(
        server,
        &json!({"id": "dmv", "credential_configurations": {"Badge": badge}}),
    )
    .await;
    assert_eq!(status, 201, "{object}");
    assert_eq!(iaca(server, "dmv").await.0, 404);
    let patch = |body: Value| async move {
        let r = server
            .admin(reqwest::Method::PATCH, "/api/v1/issuers/dmv")
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, body) = patch(json!({"credential_configurations":
        {"Badge": badge, "mDL": mdl_configuration()}}))
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, first, _) = iaca(server, "dmv").await;
    assert_eq!(status, 200);
    let (mdocs, _) = issue_mdocs(server, "dmv", 1).await;
    check_issuer_auth(server, "dmv", &mdocs[0]).await;
    let (status, body) = patch(json!({"display": [{"name": "DMV"}]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(iaca(server, "dmv").await.1, first, "the IACA stays");
    // The stored certificates are not part of the API: neither can be set.
    let (status, body) = patch(json!({"iaca": first})).await;
    assert_eq!(status, 400, "{body}");
}

/// With the operator's chain (`x5c` with `signing_key`) the mdocs carry that chain, and vdc
/// makes no IACA: the operator's CA is the root relying parties trust.
async fn an_operator_chain_is_the_x5chain_and_no_iaca_is_made(server: &TestServer) {
    use vdc_core::jose::SigningKey;
    use vdc_core::x509::CertificateSpec;
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(
        &CertificateSpec::new("Operator IACA", now.plus(-60), now.plus(86_400), &rng)
            .unwrap()
            .ca(),
        &ca_key,
    )
    .unwrap();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let leaf = x509::issue(
        &CertificateSpec::new("Operator DS", now.plus(-60), now.plus(86_400), &rng).unwrap(),
        key.public_key(),
        &ca,
        &ca_key,
    )
    .unwrap();
    let private: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
    let mut body = mdl_issuer("dmv");
    body["signing_key"] = private;
    body["x5c"] = x509::to_x5c(std::slice::from_ref(&leaf));
    let (status, object) = create(server, &body).await;
    assert_eq!(status, 201, "{object}");
    assert_eq!(iaca(server, "dmv").await.0, 404);
    let (mdocs, _) = issue_mdocs(server, "dmv", 1).await;
    let auth = &mdocs[0].issuer_auth;
    let x5chain = auth.x5chain().unwrap();
    assert_eq!(x5chain, vec![leaf]);
    auth.verify(key.public_key(), None).unwrap();
    let anchors = TrustAnchors::from_der_certs(vec![ca]).unwrap();
    x509::validate_x5c(&x5chain, &anchors, now).unwrap();
}

/// HAIP 1.0 §6 allows `mso_mdoc`. The switch into HAIP mode replaces the signing key
/// (`crate::certificate` in vdc-issuer); the DS certificate certifies one key, so the new
/// key gets a new one, under a new IACA (the old IACA's key is gone).
async fn switching_into_haip_mode_makes_a_new_document_signer_for_the_new_key(server: &TestServer) {
    use vdc_core::jose::SigningKey;
    let rng = vdc_core::rng::SystemRandom::new();
    let provider_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let now = server.clock.now();
    let spec = x509::CertificateSpec::new("Wallet Provider CA", now, now.plus(86_400), &rng)
        .unwrap()
        .ca();
    let provider = x509::to_pem(&x509::self_signed(&spec, &provider_key).unwrap());
    let mut mdl = mdl_configuration();
    mdl["scope"] = json!("mdl");
    let body = json!({"id": "dmv",
        "wallet_attestation_trust_anchors": [provider],
        "identity_provider": {"issuer": "https://login.example.com", "client_id": "vdc",
            "client_secret": "secret", "scopes": ["openid"]},
        "credential_configurations": {"mDL": mdl}});
    let (status, object) = create(server, &body).await;
    assert_eq!(status, 201, "{object}");
    let (_, before, _) = iaca(server, "dmv").await;
    let patch = |body: Value| async move {
        let r = server
            .admin(reqwest::Method::PATCH, "/api/v1/issuers/dmv")
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, body) = patch(json!({"haip": true, "require_dpop": true})).await;
    assert_eq!(status, 200, "{body}");
    let (status, after, _) = iaca(server, "dmv").await;
    assert_eq!(status, 200);
    assert_ne!(before, after, "a new key comes with a new IACA");
    // The test wallet makes no wallet attestation: leave HAIP mode (the key stays) to issue.
    let (status, body) = patch(json!({"haip": false, "require_dpop": false})).await;
    assert_eq!(status, 200, "{body}");
    let (mdocs, _) = issue_mdocs(server, "dmv", 1).await;
    let ds_key = check_issuer_auth(server, "dmv", &mdocs[0]).await;
    let leaf = x509::parse_x5c(&body["x5c"]).unwrap();
    assert_eq!(
        x509::leaf_public_key(&leaf[0]).unwrap(),
        ds_key,
        "the new key signs"
    );
}
