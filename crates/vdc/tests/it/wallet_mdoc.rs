//! `mso_mdoc` through the vdc-holder wallet and the `vdc wallet` command line against a real
//! server: an issuer with an mDL configuration (OID4VCI 1.0 Appendix A.2) issues a
//! base64url `IssuerSigned` bound to the wallet's key; the wallet checks and stores it with
//! its doctype; a verifier trusting the issuer's IACA asks for `given_name` only (OID4VP
//! 1.0 Appendix B.2) and receives exactly that element, device-signed over the B.2.6.1
//! session transcript, with `direct_post` and `direct_post.jwt`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use vdc_testkit::TestServer;

use crate::presentation::{request, result, trust_for};

vdc_testkit::both_backends!(
    the_sdk_accepts_an_mdoc_and_presents_only_the_requested_element,
    the_command_line_wallet_accepts_lists_and_presents_an_mdoc,
);

const DOCTYPE: &str = "org.iso.18013.5.1.mDL";
const NS: &str = "org.iso.18013.5.1";

/// Creates issuer `mdl` with one `mso_mdoc` configuration; returns its IACA (PEM).
async fn mdoc_issuer(server: &TestServer) -> String {
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "mdl", "credential_configurations": {"mDL": {
                "format": "mso_mdoc", "doctype": DOCTYPE,
                "claims": [{"path": [NS, "given_name"]}, {"path": [NS, "age_over_18"]}],
                "cryptographic_binding_methods_supported": ["cose_key"]}}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let r = server
        .admin(reqwest::Method::GET, "/api/v1/issuers/mdl/iaca.pem")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let pem = r.text().await.unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
    pem
}

/// A new offer of one mDL; (offer URI, offer id).
async fn mdl_offer(server: &TestServer) -> (String, String) {
    let offer = server
        .offer(
            "mdl",
            &json!({"credential_configuration_ids": ["mDL"],
                "claims": {"mDL": {NS: {"given_name": "Ada", "age_over_18": true}}}}),
        )
        .await;
    (
        offer["offer_uri"].as_str().unwrap().to_owned(),
        offer["id"].as_str().unwrap().to_owned(),
    )
}

/// Sets the status of what offer `offer_id` issued (`revoked`, `suspended`, `valid`).
async fn set_status(server: &TestServer, offer_id: &str, status: &str) {
    let (code, record) = server
        .admin_get(&format!("/api/v1/issuers/mdl/offers/{offer_id}"))
        .await;
    assert_eq!(code, 200, "{record}");
    let issued = record["credentials"][0]["id"].as_str().unwrap();
    let (code, body) = server
        .admin_post(
            &format!("/api/v1/issuers/mdl/credentials/{issued}/status"),
            &json!({ "status": status }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

/// Verifier `mv` (x509_san_dns) trusting `iaca`.
async fn mdoc_verifier(server: &TestServer, iaca: &str) -> Value {
    let (status, body) = server
        .admin_post(
            "/api/v1/verifiers",
            &json!({"id": "mv", "client_id_prefix": "x509_san_dns", "display": {"name": "mv"},
                "trusted_issuers": [], "trusted_iaca": [iaca]}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

fn given_name_query(doctype: &str) -> Value {
    json!({"credentials": [{"id": "mdl", "format": "mso_mdoc",
        "meta": {"doctype_value": doctype},
        "claims": [{"path": [NS, "given_name"]}]}]})
}

/// The verified result of request `id`: exactly `given_name` of the mDL namespace.
async fn assert_only_given_name(server: &TestServer, id: &str) {
    let r = result(server, "mv", id).await;
    assert_eq!(r["status"], "verified", "{r}");
    let p = &r["presentation"]["mdl"][0];
    assert_eq!(p["doctype"], DOCTYPE, "{r}");
    assert_eq!(p["claims"], json!({NS: {"given_name": "Ada"}}), "{r}");
    assert!(!r.to_string().contains("age_over_18"), "{r}");
}

async fn the_sdk_accepts_an_mdoc_and_presents_only_the_requested_element(server: &TestServer) {
    let iaca = mdoc_issuer(server).await;
    let wallet = server.wallet();
    let (offer_uri, offer_id) = mdl_offer(server).await;
    let accepted = wallet.accept_offer(&offer_uri, None, 1).await.unwrap();
    let [stored] = accepted.credentials.as_slice() else {
        panic!("one credential expected: {accepted:?}");
    };
    assert_eq!(stored.format, "mso_mdoc");
    assert_eq!(stored.doctype.as_deref(), Some(DOCTYPE));
    assert_eq!(stored.vct, None);
    assert_eq!(stored.issuer, server.issuer_url("mdl"));
    assert!(stored.holder_private_jwk.is_some());
    // The credential is the base64url IssuerSigned (OID4VCI 1.0 A.2.4), kept as received.
    let bytes = vdc_core::base64url::decode(&stored.credential).unwrap();
    vdc_core::mdoc::IssuerSigned::from_cbor(&bytes).unwrap();

    let v = mdoc_verifier(server, &iaca).await;
    for mode in ["direct_post", "direct_post.jwt"] {
        let created = request(
            server,
            "mv",
            json!({"dcql_query": given_name_query(DOCTYPE), "response_mode": mode}),
        )
        .await;
        let uri = created["authorization_request"].as_str().unwrap();
        wallet.present(uri, &trust_for(&v)).await.unwrap();
        assert_only_given_name(server, created["id"].as_str().unwrap()).await;
    }

    // A query for another doctype finds nothing to present; nothing is sent.
    let created = request(
        server,
        "mv",
        json!({"dcql_query": given_name_query("org.example.other")}),
    )
    .await;
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
    assert_eq!(
        result(server, "mv", created["id"].as_str().unwrap()).await["status"],
        "pending"
    );

    // The MSO's status references the issuer's list, read in its CWT form
    // (draft-ietf-oauth-status-list §6.3): the wallet sees a revocation and passes the
    // mdoc over.
    assert_eq!(
        wallet.credential_status(stored).await,
        vdc_holder::CredentialState::Valid
    );
    set_status(server, &offer_id, "revoked").await;
    assert_eq!(
        wallet.credential_status(stored).await,
        vdc_holder::CredentialState::Revoked
    );
    let created = request(
        server,
        "mv",
        json!({"dcql_query": given_name_query(DOCTYPE)}),
    )
    .await;
    let err = wallet
        .present_with(
            created["authorization_request"].as_str().unwrap(),
            &trust_for(&v),
            &vdc_holder::SelectOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("revoked or suspended"), "{err}");
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-wallet-mdoc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `vdc wallet --wallet-dir DIR <args>` (on a blocking thread: the server answers on this
/// runtime); (success, stdout, stderr).
async fn wallet_cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec![
        "wallet".to_owned(),
        "--wallet-dir".to_owned(),
        dir.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    tokio::task::spawn_blocking(move || {
        let o = Command::new(env!("CARGO_BIN_EXE_vdc"))
            .args(&all)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

async fn the_command_line_wallet_accepts_lists_and_presents_an_mdoc(server: &TestServer) {
    let iaca = mdoc_issuer(server).await;
    let dir = temp(&server.base.replace([':', '/', '.'], "-"));
    let wallet_dir = dir.join("wallet");
    let (offer, _) = mdl_offer(server).await;
    let (ok, out, err) = wallet_cli(&wallet_dir, &["accept", &offer, "--insecure-http"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&format!("credential issued: mso_mdoc {DOCTYPE} from")),
        "{out}"
    );
    let (ok, out, err) = wallet_cli(&wallet_dir, &["list", "--offline"]).await;
    assert!(ok, "{out}\n{err}");
    let cols: Vec<&str> = out.trim_end().split('\t').collect();
    assert_eq!(cols.len(), 5, "{out}");
    assert_eq!(
        &cols[1..4],
        ["mso_mdoc", DOCTYPE, &server.issuer_url("mdl")]
    );
    let id = cols[0].to_owned();
    let (ok, out, err) = wallet_cli(&wallet_dir, &["list", "--insecure-http"]).await;
    assert!(ok, "{out}\n{err}");
    assert!(out.trim_end().ends_with("\tvalid"), "{out}\n{err}");

    let v = mdoc_verifier(server, &iaca).await;
    let ca = dir.join("verifier-ca.pem");
    std::fs::write(&ca, v["trust_anchor"].as_str().unwrap()).unwrap();
    let created = request(
        server,
        "mv",
        json!({"dcql_query": given_name_query(DOCTYPE), "response_mode": "direct_post.jwt"}),
    )
    .await;
    let (ok, out, err) = wallet_cli(
        &wallet_dir,
        &[
            "present",
            created["authorization_request"].as_str().unwrap(),
            "--trust-anchor",
            &ca.display().to_string(),
            "--insecure-http",
        ],
    )
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains(&format!("presenting {id} for mdl")), "{out}");
    assert_only_given_name(server, created["id"].as_str().unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
}
