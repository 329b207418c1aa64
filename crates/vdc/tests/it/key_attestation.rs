//! Key attestations at the credential endpoint (OID4VCI 1.0 Appendix D, F.1 `jwt` with
//! `key_attestation`, F.3 `attestation`; HAIP 1.0 §4.5.1), over HTTP against the real server.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use vdc_core::jose::{Algorithm, LocalSigner, PublicKey, Signer as _, SigningKey};
use vdc_core::key_attestation::{self, KeyAttestation};
use vdc_core::key_proof::{self, ProofInput};
use vdc_core::rng::SystemRandom;
use vdc_core::time::{Clock as _, UnixTime};
use vdc_core::x509::{self, CertificateSpec};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    attestation_proof_issues_one_credential_per_attested_key,
    jwt_proof_with_key_attestation_is_accepted_when_required,
    jwt_proof_without_key_attestation_is_refused_when_required,
    attestation_whose_nonce_is_not_the_c_nonce_is_refused,
    jwt_proof_whose_key_is_not_attested_is_refused,
    attestation_from_an_untrusted_anchor_is_refused,
    attestation_whose_x5c_includes_the_anchor_is_refused,
    attestation_signed_by_a_self_signed_certificate_is_refused,
    attestation_whose_key_storage_is_not_accepted_is_refused,
    attestation_with_more_keys_than_batch_size_is_refused,
    attestation_proof_at_an_issuer_without_anchors_is_refused,
    requiring_key_attestations_needs_anchors,
    metadata_shows_key_attestations_required_and_the_attestation_proof_type,
    concurrent_requests_with_one_attestation_yield_one_credential_response,
);

/// The test issuer: the demo issuer's configurations, with key attestations from [`Ca`]
/// required (`key_storage` one of `iso_18045_high`) for `EmployeeBadge` only.
const ISSUER: &str = "attested";

/// A key attestation CA: a self-signed root (the anchor the issuer is given) and a wallet
/// provider certificate it issued, whose key signs attestations.
struct Ca {
    root: Vec<u8>,
    leaf: Vec<u8>,
    signer: LocalSigner,
}

fn spec(server: &TestServer, cn: &str) -> CertificateSpec {
    let now = server.clock.now().secs();
    CertificateSpec::new(
        cn,
        UnixTime(now - 86_400),
        UnixTime(now + 365 * 86_400),
        &SystemRandom::new(),
    )
    .unwrap()
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Es256, &SystemRandom::new()).unwrap()
}

fn ca(server: &TestServer) -> Ca {
    let root_key = key();
    let root = x509::self_signed(&spec(server, "Key Attestation Root").ca(), &root_key).unwrap();
    let leaf_key = key();
    let leaf = x509::issue(
        &spec(server, "Wallet Provider"),
        leaf_key.public_key(),
        &root,
        &root_key,
    )
    .unwrap();
    Ca {
        root,
        leaf,
        signer: LocalSigner::new(leaf_key),
    }
}

/// Creates [`ISSUER`] trusting `ca`, with `batch_size` 3.
async fn attested_issuer(server: &TestServer, ca: &Ca) {
    let mut def = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    def["id"] = ISSUER.into();
    def["batch_size"] = 3.into();
    def["key_attestation_trust_anchors"] = json!([x509::to_pem(&ca.root)]);
    def["credential_configurations"]["EmployeeBadge"]["key_attestations_required"] =
        json!({"key_storage": ["iso_18045_high"]});
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 201, "{body}");
}

/// Holder keys.
fn holders(n: usize) -> Vec<LocalSigner> {
    (0..n).map(|_| LocalSigner::new(key())).collect()
}

fn public(holders: &[LocalSigner]) -> Vec<PublicKey> {
    holders.iter().map(|h| h.public_jwk().key.clone()).collect()
}

/// An attestation of `keys` with `nonce`, `key_storage: [iso_18045_high]`, valid for an hour.
fn attestation(server: &TestServer, keys: Vec<PublicKey>, nonce: Option<&str>) -> KeyAttestation {
    let now = server.clock.now().secs();
    KeyAttestation {
        iss: Some("https://wallet-provider.example".into()),
        iat: UnixTime(now - 5),
        exp: Some(UnixTime(now + 3600)),
        attested_keys: keys,
        key_storage: vec!["iso_18045_high".into()],
        user_authentication: vec!["iso_18045_moderate".into()],
        certification: None,
        nonce: nonce.map(str::to_owned),
        status: None,
    }
}

/// The attestation signed by `ca`'s provider certificate, x5c = [leaf].
async fn attest(ca: &Ca, a: &KeyAttestation) -> String {
    key_attestation::create(&ca.signer, std::slice::from_ref(&ca.leaf), a)
        .await
        .unwrap()
}

/// A token for a fresh `EmployeeBadge` offer at [`ISSUER`].
async fn badge_token(server: &TestServer) -> String {
    fresh_token(server, ISSUER, &badge_offer(false)).await
}

fn attestation_request(jwt: &str) -> Value {
    json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"attestation": [jwt]}})
}

fn jwt_request(proofs: &[String]) -> Value {
    json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": proofs}})
}

/// A `jwt` proof by `holder` for [`ISSUER`], with `key_attestation` when given.
async fn jwt_proof(
    server: &TestServer,
    holder: &LocalSigner,
    nonce: &str,
    key_attestation: Option<&str>,
) -> String {
    let aud = server.issuer_url(ISSUER);
    let input = ProofInput {
        audience: &aud,
        nonce: Some(nonce),
        client_id: None,
        iat: server.clock.now(),
    };
    match key_attestation {
        Some(ka) => key_proof::create_with_key_attestation(holder, input, ka)
            .await
            .unwrap(),
        None => key_proof::create(holder, input).await.unwrap(),
    }
}

/// The `cnf.jwk` keys of the credentials of a 200 response, verified against the issuer's
/// published keys.
async fn bound_keys(server: &TestServer, body: &Value) -> Vec<PublicKey> {
    let mut keys = Vec::new();
    for c in body["credentials"].as_array().unwrap() {
        let claims = verify_sd_jwt_vc(server, ISSUER, c["credential"].as_str().unwrap()).await;
        keys.push(
            vdc_core::jose::Jwk::from_value(&claims["cnf"]["jwk"])
                .unwrap()
                .key,
        );
    }
    keys
}

/// Asserts a 400 with `error` and an `error_description` containing `needle`.
fn assert_refused(status: u16, body: &Value, error: &str, needle: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], error, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.contains(needle),
        "expected {needle:?} in {description:?}"
    );
}

async fn attestation_proof_issues_one_credential_per_attested_key(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let keys = public(&holders(3));
    let jwt = attest(&ca, &attestation(server, keys.clone(), Some(&n))).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_eq!(status, 200, "{body}");
    // Spec: F.3: one credential per attested key, each bound to its key.
    assert_eq!(bound_keys(server, &body).await, keys);
    // The attestation's nonce was consumed: the same request again is refused.
    let token = badge_token(server).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_refused(status, &body, "invalid_nonce", "c_nonce");
    // A configuration that requires no attestation takes the attestation proof type too.
    let token = fresh_token(
        server,
        ISSUER,
        &json!({"credential_configuration_ids": ["EmployeeBadgeW3C"],
                "claims": {"EmployeeBadgeW3C": {"given_name": "Ada", "employee_id": "E-1"}}}),
    )
    .await;
    let n = nonce(server, ISSUER).await;
    let mut a = attestation(server, public(&holders(2)), Some(&n));
    a.key_storage.clear();
    let jwt = attest(&ca, &a).await;
    let (status, body, _) = credential(
        server,
        ISSUER,
        &token,
        &json!({"credential_configuration_id": "EmployeeBadgeW3C", "proofs": {"attestation": [jwt]}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 2);
    // proofs.attestation holds exactly one attestation (F).
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let one = attest(&ca, &attestation(server, public(&holders(1)), Some(&n))).await;
    let (status, body, _) = credential(
        server,
        ISSUER,
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge",
                "proofs": {"attestation": [one.clone(), one]}}),
    )
    .await;
    assert_refused(
        status,
        &body,
        "invalid_proof",
        "exactly one key attestation",
    );
}

async fn jwt_proof_with_key_attestation_is_accepted_when_required(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let hs = holders(2);
    let keys = public(&hs);
    let ka = attest(&ca, &attestation(server, keys.clone(), Some(&n))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_eq!(status, 200, "{body}");
    // Spec: F.1: a credential for each key in attested_keys, the proof's key first.
    assert_eq!(bound_keys(server, &body).await, keys);
    // The key attestation must carry the proof's c_nonce.
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let other = nonce(server, ISSUER).await;
    let ka = attest(&ca, &attestation(server, keys.clone(), Some(&other))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_nonce", "c_nonce");
    // And exp (D.1: "MUST be present if the attestation is used with the JWT proof type").
    let mut a = attestation(server, keys, Some(&n));
    a.exp = None;
    let ka = attest(&ca, &a).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_proof", "exp is required");
}

async fn jwt_proof_without_key_attestation_is_refused_when_required(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let proof = jwt_proof(server, &holders(1)[0], &n, None).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_proof", "requires a key attestation");
    // Nothing was issued, and the nonce is still unused: the same token and nonce work with
    // an attestation.
    let hs = holders(1);
    let ka = attest(&ca, &attestation(server, public(&hs), Some(&n))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_eq!(status, 200, "{body}");
}

async fn attestation_whose_nonce_is_not_the_c_nonce_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let keys = public(&holders(1));
    // A nonce this issuer never made.
    let forged = attest(
        &ca,
        &attestation(server, keys.clone(), Some("not-a-c-nonce")),
    )
    .await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&forged)).await;
    assert_refused(status, &body, "invalid_nonce", "c_nonce");
    // Another issuer's c_nonce.
    let demo_nonce = nonce(server, "demo").await;
    let foreign = attest(&ca, &attestation(server, keys.clone(), Some(&demo_nonce))).await;
    let (status, body, _) =
        credential(server, ISSUER, &token, &attestation_request(&foreign)).await;
    assert_refused(status, &body, "invalid_nonce", "c_nonce");
    // No nonce at all: invalid_proof (§8.3.1.2).
    let none = attest(&ca, &attestation(server, keys, None)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&none)).await;
    assert_refused(status, &body, "invalid_proof", "no nonce");
}

async fn jwt_proof_whose_key_is_not_attested_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let hs = holders(2);
    // The attestation names the second key; the proof is signed by the first.
    let ka = attest(&ca, &attestation(server, public(&hs[1..]), Some(&n))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(
        status,
        &body,
        "invalid_proof",
        "not among the key attestation",
    );
}

async fn attestation_from_an_untrusted_anchor_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let stranger = self::ca(server);
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let jwt = attest(
        &stranger,
        &attestation(server, public(&holders(1)), Some(&n)),
    )
    .await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_refused(status, &body, "invalid_proof", "certificate");
    // Over the jwt proof type as well.
    let hs = holders(1);
    let ka = attest(&stranger, &attestation(server, public(&hs), Some(&n))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_proof", "certificate");
}

async fn attestation_whose_x5c_includes_the_anchor_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let jwt = key_attestation::create(
        &ca.signer,
        &[ca.leaf.clone(), ca.root.clone()],
        &attestation(server, public(&holders(1)), Some(&n)),
    )
    .await
    .unwrap();
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    // Spec: HAIP 1.0 §4.5.1: the trust anchor MUST NOT be in x5c.
    assert_refused(status, &body, "invalid_proof", "includes the trust anchor");
}

async fn attestation_signed_by_a_self_signed_certificate_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let own_key = key();
    let own = x509::self_signed(&spec(server, "Self Signed Provider"), &own_key).unwrap();
    let jwt = key_attestation::create(
        &LocalSigner::new(own_key),
        &[own],
        &attestation(server, public(&holders(1)), Some(&n)),
    )
    .await
    .unwrap();
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    // Spec: HAIP 1.0 §4.5.1: the signing certificate MUST NOT be self-signed.
    assert_refused(status, &body, "invalid_proof", "self-signed");
}

async fn attestation_whose_key_storage_is_not_accepted_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let hs = holders(1);
    let mut a = attestation(server, public(&hs), Some(&n));
    a.key_storage = vec!["iso_18045_moderate".into(), "iso_18045_basic".into()];
    let jwt = attest(&ca, &a).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_refused(status, &body, "invalid_proof", "key_storage");
    // An attestation asserting no key_storage does not meet the requirement either, nor
    // does it in a jwt proof's header.
    a.key_storage.clear();
    let ka = attest(&ca, &a).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&ka)).await;
    assert_refused(status, &body, "invalid_proof", "key_storage");
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_proof", "key_storage");
}

async fn attestation_with_more_keys_than_batch_size_is_refused(server: &TestServer) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let token = badge_token(server).await;
    let n = nonce(server, ISSUER).await;
    let jwt = attest(&ca, &attestation(server, public(&holders(4)), Some(&n))).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_refused(status, &body, "invalid_credential_request", "batch_size");
    // A jwt proof whose attestation names four keys: the same bound.
    let hs = holders(4);
    let ka = attest(&ca, &attestation(server, public(&hs), Some(&n))).await;
    let proof = jwt_proof(server, &hs[0], &n, Some(&ka)).await;
    let (status, body, _) = credential(server, ISSUER, &token, &jwt_request(&[proof])).await;
    assert_refused(status, &body, "invalid_credential_request", "batch_size");
    // Three keys fit.
    let jwt = attest(&ca, &attestation(server, public(&holders(3)), Some(&n))).await;
    let (status, body, _) = credential(server, ISSUER, &token, &attestation_request(&jwt)).await;
    assert_eq!(status, 200, "{body}");
}

async fn attestation_proof_at_an_issuer_without_anchors_is_refused(server: &TestServer) {
    let ca = ca(server);
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let n = nonce(server, "demo").await;
    let hs = holders(1);
    let jwt = attest(&ca, &attestation(server, public(&hs), Some(&n))).await;
    let (status, body, _) = credential(server, "demo", &token, &attestation_request(&jwt)).await;
    assert_refused(
        status,
        &body,
        "invalid_proof",
        "accepts no key attestations",
    );
    // A jwt proof with a key_attestation header is judged as a plain proof there: one
    // credential, for the proof's key.
    let aud = server.issuer_url("demo");
    let proof = key_proof::create_with_key_attestation(
        &hs[0],
        ProofInput {
            audience: &aud,
            nonce: Some(&n),
            client_id: None,
            iat: server.clock.now(),
        },
        &jwt,
    )
    .await
    .unwrap();
    let (status, body, _) = credential(server, "demo", &token, &jwt_request(&[proof])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["credentials"].as_array().unwrap().len(), 1);
    // An unknown proof type is refused by name.
    let (status, body, _) = credential(
        server,
        "demo",
        &token,
        &json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"di_vp": [{}]}}),
    )
    .await;
    assert_refused(status, &body, "invalid_proof", "unsupported proof type");
}

async fn requiring_key_attestations_needs_anchors(server: &TestServer) {
    let mut def = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    def["id"] = "no-anchors".into();
    def["credential_configurations"]["EmployeeBadge"]["key_attestations_required"] = json!({});
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("key_attestation_trust_anchors"),
        "{body}"
    );
    // Repeated or empty values are refused too.
    let ca = ca(server);
    def["key_attestation_trust_anchors"] = json!([x509::to_pem(&ca.root)]);
    for bad in [
        json!({"key_storage": ["iso_18045_high", "iso_18045_high"]}),
        json!({"user_authentication": [""]}),
        json!({"key_storage": ["iso_18045_high"], "other": []}),
    ] {
        def["credential_configurations"]["EmployeeBadge"]["key_attestations_required"] =
            bad.clone();
        let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // With anchors, an empty requirement (any attestation) is accepted.
    def["credential_configurations"]["EmployeeBadge"]["key_attestations_required"] = json!({});
    let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 201, "{body}");
}

async fn metadata_shows_key_attestations_required_and_the_attestation_proof_type(
    server: &TestServer,
) {
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    let meta: Value = server
        .http
        .get(server.url(&format!(
            "/.well-known/openid-credential-issuer/issuers/{ISSUER}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let configs = &meta["credential_configurations_supported"];
    let required = json!({"key_storage": ["iso_18045_high"]});
    assert_eq!(
        configs["EmployeeBadge"]["proof_types_supported"],
        json!({
            "jwt": {
                "proof_signing_alg_values_supported": ["ES256", "EdDSA"],
                "key_attestations_required": required
            },
            "attestation": {
                "proof_signing_alg_values_supported": ["ES256"],
                "key_attestations_required": required
            }
        })
    );
    // Spec: §12.2.4: key_attestations_required "MUST NOT be present" where none is required.
    assert_eq!(
        configs["EmployeeBadgeW3C"]["proof_types_supported"],
        json!({
            "jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]},
            "attestation": {"proof_signing_alg_values_supported": ["ES256"]}
        })
    );
    // An issuer without key attestation anchors offers the jwt proof type only.
    let demo: Value = server
        .http
        .get(server.url("/.well-known/openid-credential-issuer/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        demo["credential_configurations_supported"]["EmployeeBadge"]["proof_types_supported"],
        json!({"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}})
    );
}

async fn concurrent_requests_with_one_attestation_yield_one_credential_response(
    server: &TestServer,
) {
    const N: usize = 20;
    let ca = ca(server);
    attested_issuer(server, &ca).await;
    // One token per request, so only the attestation's nonce is shared.
    let mut tokens = Vec::with_capacity(N);
    for _ in 0..N {
        tokens.push(badge_token(server).await);
    }
    let n = nonce(server, ISSUER).await;
    let jwt = attest(&ca, &attestation(server, public(&holders(2)), Some(&n))).await;
    let body = Arc::new(attestation_request(&jwt));
    let url = server.url(&format!("/issuers/{ISSUER}/credential"));
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let mut set = JoinSet::new();
    for token in tokens {
        let (http, url, body, barrier) = (
            server.http.clone(),
            url.clone(),
            body.clone(),
            barrier.clone(),
        );
        set.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .bearer_auth(token)
                .json(body.as_ref())
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        });
    }
    let results = set.join_all().await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert_eq!(winners[0]["credentials"].as_array().unwrap().len(), 2);
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s != 200)
            .all(|(s, b)| *s == 400 && b["error"] == "invalid_nonce"),
        "{results:?}"
    );
}
