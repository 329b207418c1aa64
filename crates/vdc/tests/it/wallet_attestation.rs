//! Wallet attestation as OAuth client authentication at the issuer (vdc issue 14, HAIP 1.0
//! §4.4.1, §4.3; OID4VCI 1.0 Appendix E; draft-ietf-oauth-attestation-based-client-auth),
//! over real HTTP: the `OAuth-Client-Attestation` / `-PoP` headers at the token and PAR
//! endpoints, the challenge endpoint, single use of the PoP `jti` and of the challenge under
//! racing requests, and the metadata.

use serde_json::{Value, json};
use tokio::task::JoinSet;
use vdc_core::client_attestation::{self, AttestationInput, PopInput, PopShape};
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::rng::SystemRandom;
use vdc_core::time::{Clock as _, UnixTime};
use vdc_core::x509::{self, CertificateSpec};
use vdc_testkit::{Backend, TestServer};

use crate::support::*;

vdc_testkit::both_backends_with!(
    start,
    haip_pre_authorized_flow_with_a_wallet_attestation_issues_a_credential,
    haip_token_request_without_attestation_is_invalid_client,
    untrusted_or_badly_chained_attestations_are_invalid_client,
    sub_other_than_client_id_is_invalid_client,
    an_expired_attestation_is_use_fresh_attestation,
    a_replayed_pop_is_invalid_client,
    wrong_aud_stale_iat_and_foreign_key_pops_are_invalid_client,
    haip_requires_a_fresh_unused_challenge,
    the_pre_06_pop_shape_of_openid4vc_oauth2_is_accepted,
    an_issuer_without_anchors_refuses_attestations,
    haip_par_requires_a_wallet_attestation_whose_sub_is_the_client_id,
    racing_token_requests_with_one_pop_jti_yield_one_token,
    racing_token_requests_with_one_challenge_yield_one_token,
);

/// The wallet's client_id (OID4VCI 1.0 §15.4.4: shared by every instance).
const CLIENT: &str = "https://wallet.example.org";
/// The HAIP-mode issuer.
const HAIP: &str = "haip";
/// An issuer outside HAIP mode that trusts the wallet provider.
const PLAIN: &str = "plain";

/// A wallet provider: its CA (the trust anchor) and the attester key certified by it.
struct Provider {
    root: Vec<u8>,
    leaf: Vec<u8>,
    attester: LocalSigner,
}

fn key() -> SigningKey {
    SigningKey::generate(Algorithm::Es256, &SystemRandom::new()).unwrap()
}

fn cert_spec(cn: &str, now: UnixTime) -> CertificateSpec {
    CertificateSpec::new(
        cn,
        now.plus(-86_400),
        now.plus(365 * 86_400),
        &SystemRandom::new(),
    )
    .unwrap()
}

impl Provider {
    fn new(name: &str, now: UnixTime) -> Self {
        let root_key = key();
        let root =
            x509::self_signed(&cert_spec(&format!("{name} Root"), now).ca(), &root_key).unwrap();
        let attester_key = key();
        let leaf = x509::issue(
            &cert_spec(&format!("{name} Attester"), now),
            attester_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        Self {
            root,
            leaf,
            attester: LocalSigner::new(attester_key),
        }
    }
}

/// A server with a HAIP issuer and a plain issuer trusting `provider`, plus a self-signed
/// attester certificate pinned as an anchor of the plain issuer (to show that HAIP 1.0
/// §4.4.1's "not self-signed" rule holds even then).
struct Fixture {
    server: TestServer,
    provider: Provider,
    stranger: Provider,
    pinned_key: LocalSigner,
    pinned: Vec<u8>,
}

impl std::ops::Deref for Fixture {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

impl Fixture {
    async fn stop(self) {
        self.server.stop().await;
    }
}

fn configurations() -> Value {
    json!({"EmployeeBadge": {
        "format": "dc+sd-jwt", "vct": "https://acme.example/vct/employee-badge",
        "scope": "employee_badge",
        "claims": [{"path": ["given_name"]}, {"path": ["family_name"]},
                   {"path": ["employee_id"], "mandatory": true}],
        "cryptographic_binding_methods_supported": ["jwk"]}})
}

async fn start(backend: Backend) -> Fixture {
    let server = TestServer::start(backend).await;
    let now = server.clock.now();
    let provider = Provider::new("Wallet Provider", now);
    let stranger = Provider::new("Stranger", now);
    let pinned_key = key();
    let pinned = x509::self_signed(&cert_spec("Self-Signed Attester", now), &pinned_key).unwrap();
    // HAIP mode needs its configuration rules met (HAIP 1.0 §4: authorization code flow,
    // PAR, DPoP; §4.1 scopes; §4.4.1 wallet attestation anchors); the identity provider
    // is never contacted by the pre-authorized flow or PAR.
    let haip = json!({"id": HAIP, "haip": true, "require_dpop": true,
        "identity_provider": {"issuer": "https://login.example", "client_id": "vdc",
            "client_secret": "idp-secret", "scopes": ["openid"]},
        "wallet_attestation_trust_anchors": [x509::to_pem(&provider.root)],
        "credential_configurations": configurations()});
    let (status, body) = server.admin_post("/api/v1/issuers", &haip).await;
    assert_eq!(status, 201, "{body}");
    let plain = json!({"id": PLAIN,
        "wallet_attestation_trust_anchors": [x509::to_pem(&provider.root), x509::to_pem(&pinned)],
        "credential_configurations": configurations()});
    let (status, body) = server.admin_post("/api/v1/issuers", &plain).await;
    assert_eq!(status, 201, "{body}");
    Fixture {
        server,
        provider,
        stranger,
        pinned_key: LocalSigner::new(pinned_key),
        pinned,
    }
}

/// A wallet instance: its attested key and its DPoP key with the server's last nonce.
struct Instance {
    key: LocalSigner,
    dpop: LocalSigner,
    dpop_nonce: Option<String>,
}

impl Instance {
    fn new() -> Self {
        Self {
            key: LocalSigner::new(key()),
            dpop: LocalSigner::new(key()),
            dpop_nonce: None,
        }
    }
}

/// A Client Attestation by `signer` over `chain` for `instance`, valid for an hour.
async fn attestation_by(
    fx: &Fixture,
    signer: &LocalSigner,
    chain: &[Vec<u8>],
    instance: &Instance,
    sub: &str,
    exp: UnixTime,
) -> String {
    let now = fx.clock.now();
    client_attestation::create_attestation(
        signer,
        AttestationInput {
            issuer: Some("https://provider.example"),
            client_id: sub,
            iat: now,
            exp,
            instance_key: instance.key.key().public_key(),
            x5c: chain,
        },
    )
    .await
    .unwrap()
}

/// The provider's attestation of `instance` for [`CLIENT`].
async fn attestation(fx: &Fixture, instance: &Instance) -> String {
    let exp = fx.clock.now().plus(3600);
    let chain = [fx.provider.leaf.clone()];
    attestation_by(fx, &fx.provider.attester, &chain, instance, CLIENT, exp).await
}

fn jti() -> String {
    use vdc_core::rng::RandomSource as _;
    let mut b = [0u8; 16];
    SystemRandom::new().fill(&mut b).unwrap();
    vdc_core::base64url::encode(b)
}

/// A current-draft PoP by `signer` for `issuer`.
async fn pop_by(
    signer: &LocalSigner,
    aud: &str,
    jti: &str,
    iat: UnixTime,
    challenge: Option<&str>,
) -> String {
    client_attestation::create_pop(
        signer,
        PopInput {
            audience: aud,
            jti,
            iat,
            challenge,
            shape: PopShape::Current,
            client_id: None,
        },
    )
    .await
    .unwrap()
}

/// A fresh PoP of `instance` for `issuer`.
async fn pop(fx: &Fixture, instance: &Instance, issuer: &str, challenge: Option<&str>) -> String {
    let aud = fx.issuer_url(issuer);
    pop_by(&instance.key, &aud, &jti(), fx.clock.now(), challenge).await
}

/// `POST /challenge`: the challenge (checked: 200, `no-store`).
async fn challenge(fx: &Fixture, issuer: &str) -> String {
    let r = fx
        .http
        .post(fx.url(&format!("/issuers/{issuer}/challenge")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    body["attestation_challenge"].as_str().unwrap().to_owned()
}

type Answer = (u16, Value, reqwest::header::HeaderMap);

/// A form POST with the attestation headers (`None`: left out) and, when `instance` has a
/// DPoP nonce, a DPoP proof of its DPoP key.
async fn post_form(
    fx: &Fixture,
    path: &str,
    form: &[(&str, &str)],
    attestation: Option<&str>,
    pop: Option<&str>,
    instance: Option<&Instance>,
) -> Answer {
    let url = fx.url(path);
    let mut r = fx.http.post(&url).form(form);
    if let Some(a) = attestation {
        r = r.header("OAuth-Client-Attestation", a);
    }
    if let Some(p) = pop {
        r = r.header("OAuth-Client-Attestation-PoP", p);
    }
    if let Some(i) = instance
        && i.dpop_nonce.is_some()
    {
        r = r.header("DPoP", dpop_proof(fx, i, &url, None).await);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap_or(Value::Null), headers)
}

async fn dpop_proof(fx: &Fixture, i: &Instance, url: &str, token: Option<&str>) -> String {
    vdc_core::dpop::create(
        &i.dpop,
        vdc_core::dpop::DpopInput {
            htm: "POST",
            htu: url,
            jti: &jti(),
            iat: fx.clock.now(),
            nonce: i.dpop_nonce.as_deref(),
            access_token: token,
        },
    )
    .await
    .unwrap()
}

/// The server's DPoP nonce, from the nonce endpoint's `use_dpop_nonce` answer.
async fn fetch_dpop_nonce(fx: &Fixture, issuer: &str, i: &mut Instance) {
    let url = fx.url(&format!("/issuers/{issuer}/nonce"));
    i.dpop_nonce = None;
    let proof = dpop_proof(fx, i, &url, None).await;
    let r = fx
        .http
        .post(&url)
        .header("DPoP", proof)
        .send()
        .await
        .unwrap();
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    i.dpop_nonce = Some(nonce);
}

/// A token request for a fresh offer of `issuer` with the given attestation headers.
async fn redeem(
    fx: &Fixture,
    issuer: &str,
    client_id: Option<&str>,
    attestation: Option<&str>,
    pop: Option<&str>,
    instance: Option<&Instance>,
) -> Answer {
    let offer = fx.offer(issuer, &badge_offer(false)).await;
    let code = code_of(&offer);
    let mut form = vec![("grant_type", PRE), ("pre-authorized_code", code.as_str())];
    if let Some(c) = client_id {
        form.push(("client_id", c));
    }
    let path = format!("/issuers/{issuer}/token");
    post_form(fx, &path, &form, attestation, pop, instance).await
}

fn assert_error(answer: &Answer, status: u16, code: &str, needle: &str) {
    let (s, body, _) = answer;
    assert_eq!(*s, status, "{body}");
    assert_eq!(body["error"], code, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(needle), "{needle:?} not in {body}");
}

async fn haip_pre_authorized_flow_with_a_wallet_attestation_issues_a_credential(fx: &Fixture) {
    // Spec: ABCA §"Authorization Server and Resource Server Metadata"; HAIP 1.0 §4.4.1.
    let meta: Value = fx
        .http
        .get(fx.url("/.well-known/oauth-authorization-server/issuers/haip"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["attest_jwt_client_auth"])
    );
    assert_eq!(
        meta["challenge_endpoint"],
        fx.url("/issuers/haip/challenge").as_str()
    );
    for member in [
        "client_attestation_signing_alg_values_supported",
        "client_attestation_pop_signing_alg_values_supported",
    ] {
        let algs = meta[member].as_array().unwrap();
        assert!(algs.contains(&json!("ES256")), "{meta}");
        assert!(!algs.contains(&json!("none")), "{meta}");
    }
    assert_eq!(
        meta["pre-authorized_grant_anonymous_access_supported"],
        false
    );

    let mut wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let ch = challenge(fx, HAIP).await;
    let p = pop(fx, &wallet, HAIP, Some(&ch)).await;
    let offer = fx.offer(HAIP, &badge_offer(false)).await;
    let code = code_of(&offer);
    let form = [("grant_type", PRE), ("pre-authorized_code", code.as_str())];
    // A DPoP proof without the server's nonce: use_dpop_nonce before the PoP's jti and
    // challenge are spent, so the same PoP works with the nonce.
    let url = fx.url("/issuers/haip/token");
    let r = fx
        .http
        .post(&url)
        .header("OAuth-Client-Attestation", &a)
        .header("OAuth-Client-Attestation-PoP", &p)
        .header("DPoP", dpop_proof(fx, &wallet, &url, None).await)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let dpop_nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce", "{body}");
    wallet.dpop_nonce = Some(dpop_nonce);
    let answer = post_form(
        fx,
        "/issuers/haip/token",
        &form,
        Some(&a),
        Some(&p),
        Some(&wallet),
    )
    .await;
    let (status, body, headers) = &answer;
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    // Spec: ABCA §"Providing Challenges on Previous Responses": the next challenge.
    let next = headers["oauth-client-attestation-challenge"]
        .to_str()
        .unwrap();
    assert_ne!(next, ch);
    let token = body["access_token"].as_str().unwrap();

    // The credential, with a DPoP proof bound to the token.
    let n = nonce(fx, HAIP).await;
    let (key_proof, _) = proof(fx, &fx.issuer_url(HAIP), Some(&n)).await;
    let url = fx.url("/issuers/haip/credential");
    let r = fx
        .http
        .post(&url)
        .header("Authorization", format!("DPoP {token}"))
        .header("DPoP", dpop_proof(fx, &wallet, &url, Some(token)).await)
        .json(&json!({"credential_configuration_id": "EmployeeBadge",
            "proofs": {"jwt": [key_proof]}}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let credential = body["credentials"][0]["credential"].as_str().unwrap();
    let claims = verify_sd_jwt_vc(fx, HAIP, credential).await;
    assert_eq!(claims["given_name"], "Ada");
}

async fn haip_token_request_without_attestation_is_invalid_client(fx: &Fixture) {
    let mut wallet = Instance::new();
    fetch_dpop_nonce(fx, HAIP, &mut wallet).await;
    let answer = redeem(fx, HAIP, Some(CLIENT), None, None, Some(&wallet)).await;
    assert_error(&answer, 401, "invalid_client", "HAIP 1.0 §4.4.1");
    // Without a client_id either (anonymous access is off in HAIP mode).
    let answer = redeem(fx, HAIP, None, None, None, Some(&wallet)).await;
    assert_error(&answer, 401, "invalid_client", "HAIP 1.0 §4.4.1");
    // One header without the other.
    let a = attestation(fx, &wallet).await;
    let answer = redeem(fx, HAIP, None, Some(&a), None, Some(&wallet)).await;
    assert_error(&answer, 401, "invalid_client", "both");
    let p = pop(fx, &wallet, HAIP, None).await;
    let answer = redeem(fx, HAIP, None, None, Some(&p), Some(&wallet)).await;
    assert_error(&answer, 401, "invalid_client", "both");
    // A repeated header (ABCA: precisely one).
    let offer = fx.offer(HAIP, &badge_offer(false)).await;
    let r = fx
        .http
        .post(fx.url("/issuers/haip/token"))
        .header("OAuth-Client-Attestation", &a)
        .header("OAuth-Client-Attestation", &a)
        .header("OAuth-Client-Attestation-PoP", &p)
        .form(&[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{body}");
    // An oversized header.
    let big = "a".repeat(9 * 1024);
    let answer = redeem(fx, PLAIN, None, Some(&big), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "longer");
}

async fn untrusted_or_badly_chained_attestations_are_invalid_client(fx: &Fixture) {
    let wallet = Instance::new();
    let exp = fx.clock.now().plus(3600);
    // A provider the issuer does not trust.
    let chain = [fx.stranger.leaf.clone()];
    let a = attestation_by(fx, &fx.stranger.attester, &chain, &wallet, CLIENT, exp).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "trusted wallet provider");
    // The chain with the trust anchor (HAIP 1.0 §4.4.1: excluding the trust anchor).
    let chain = [fx.provider.leaf.clone(), fx.provider.root.clone()];
    let a = attestation_by(fx, &fx.provider.attester, &chain, &wallet, CLIENT, exp).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "trust anchor");
    // A self-signed attester certificate, pinned as an anchor: sent as is it is the anchor;
    // re-signed (other bytes, same name and key) it is still self-signed.
    let chain = [fx.pinned.clone()];
    let a = attestation_by(fx, &fx.pinned_key, &chain, &wallet, CLIENT, exp).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "trust anchor");
    let mut spec = cert_spec("Self-Signed Attester", fx.clock.now());
    spec.serial_number = vec![0x42; 8];
    let twin = x509::self_signed(&spec, fx.pinned_key.key()).unwrap();
    let a = attestation_by(fx, &fx.pinned_key, &[twin], &wallet, CLIENT, exp).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "self-signed");
    // A signature by a key other than the certificate's.
    let chain = [fx.provider.leaf.clone()];
    let a = attestation_by(fx, &wallet.dpop, &chain, &wallet, CLIENT, exp).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "signature");
    // A good pair still works at the same issuer.
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let (status, body, _) = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_eq!(status, 200, "{body}");
}

async fn sub_other_than_client_id_is_invalid_client(fx: &Fixture) {
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(
        fx,
        PLAIN,
        Some("https://other-wallet.example"),
        Some(&a),
        Some(&p),
        None,
    )
    .await;
    assert_error(&answer, 401, "invalid_client", "sub");
    // The attested client_id itself is fine.
    let p = pop(fx, &wallet, PLAIN, None).await;
    let (status, body, _) = redeem(fx, PLAIN, Some(CLIENT), Some(&a), Some(&p), None).await;
    assert_eq!(status, 200, "{body}");
}

async fn an_expired_attestation_is_use_fresh_attestation(fx: &Fixture) {
    let wallet = Instance::new();
    let exp = fx.clock.now().plus(120);
    let chain = [fx.provider.leaf.clone()];
    let a = attestation_by(fx, &fx.provider.attester, &chain, &wallet, CLIENT, exp).await;
    // Past exp plus the clock skew (60 s).
    fx.clock.advance(181);
    let p = pop(fx, &wallet, PLAIN, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    // Spec: ABCA §"Errors": use_fresh_attestation when the attestation is not fresh enough.
    assert_error(&answer, 400, "use_fresh_attestation", "expired");
}

async fn a_replayed_pop_is_invalid_client(fx: &Fixture) {
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let (status, body, _) = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_eq!(status, 200, "{body}");
    // The same PoP with another offer.
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "used before");
    // The attestation itself may be reused with a fresh PoP (ABCA §"Reuse of a Client
    // Attestation JWT").
    let p = pop(fx, &wallet, PLAIN, None).await;
    let (status, body, _) = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_eq!(status, 200, "{body}");
}

async fn wrong_aud_stale_iat_and_foreign_key_pops_are_invalid_client(fx: &Fixture) {
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let now = fx.clock.now();
    // For the other issuer.
    let p = pop_by(&wallet.key, &fx.issuer_url(HAIP), &jti(), now, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "aud");
    // Older than 300 s plus the skew, and in the future.
    let aud = fx.issuer_url(PLAIN);
    for iat in [now.plus(-361), now.plus(120)] {
        let p = pop_by(&wallet.key, &aud, &jti(), iat, None).await;
        let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
        assert_error(&answer, 401, "invalid_client", "iat");
    }
    // Signed by a key other than the attested cnf key.
    let p = pop_by(&wallet.dpop, &aud, &jti(), now, None).await;
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "cnf key");
}

async fn haip_requires_a_fresh_unused_challenge(fx: &Fixture) {
    let mut wallet = Instance::new();
    fetch_dpop_nonce(fx, HAIP, &mut wallet).await;
    let a = attestation(fx, &wallet).await;
    // Without a challenge: use_attestation_challenge, with one in the header.
    let p = pop(fx, &wallet, HAIP, None).await;
    let answer = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
    assert_error(&answer, 400, "use_attestation_challenge", "challenge");
    let given = answer.2["oauth-client-attestation-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    // A forged one, and one of another issuer.
    let forged = "A".repeat(given.len());
    let other = challenge(fx, PLAIN).await;
    for c in [forged.as_str(), other.as_str()] {
        let p = pop(fx, &wallet, HAIP, Some(c)).await;
        let answer = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
        assert_error(
            &answer,
            400,
            "use_attestation_challenge",
            "unknown or expired",
        );
        assert!(answer.2.contains_key("oauth-client-attestation-challenge"));
    }
    // An expired one.
    let old = challenge(fx, HAIP).await;
    fx.clock.advance(301);
    fetch_dpop_nonce(fx, HAIP, &mut wallet).await;
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, HAIP, Some(&old)).await;
    let answer = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
    assert_error(
        &answer,
        400,
        "use_attestation_challenge",
        "unknown or expired",
    );
    // The challenge of the error answer works, once.
    let given = answer.2["oauth-client-attestation-challenge"]
        .to_str()
        .unwrap()
        .to_owned();
    let p = pop(fx, &wallet, HAIP, Some(&given)).await;
    let (status, body, _) = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
    assert_eq!(status, 200, "{body}");
    let p = pop(fx, &wallet, HAIP, Some(&given)).await;
    let answer = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
    assert_error(&answer, 400, "use_attestation_challenge", "used before");
}

/// A PoP in the shape npm `@openid4vc/oauth2` 0.4.6 sends (`createClientAttestationPopJwt`):
/// `iss` = the attestation's `sub`, `exp` = `iat` + 60, the challenge as `nonce`.
async fn pre06_pop(fx: &Fixture, instance: &Instance, issuer: &str, nonce: Option<&str>) -> String {
    client_attestation::create_pop(
        &instance.key,
        PopInput {
            audience: &fx.issuer_url(issuer),
            jti: &jti(),
            iat: fx.clock.now(),
            challenge: nonce,
            shape: PopShape::Pre06,
            client_id: Some(CLIENT),
        },
    )
    .await
    .unwrap()
}

async fn the_pre_06_pop_shape_of_openid4vc_oauth2_is_accepted(fx: &Fixture) {
    // Outside HAIP mode without a challenge (the library fetches none).
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let p = pre06_pop(fx, &wallet, PLAIN, None).await;
    let claims = vdc_core::jose::jws::decode(&p).unwrap().payload;
    assert_eq!(claims["iss"], CLIENT);
    assert!(claims.contains_key("exp"));
    let (status, body, _) = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_eq!(status, 200, "{body}");
    // In HAIP mode with the challenge as nonce.
    let mut wallet = Instance::new();
    fetch_dpop_nonce(fx, HAIP, &mut wallet).await;
    let a = attestation(fx, &wallet).await;
    let ch = challenge(fx, HAIP).await;
    let p = pre06_pop(fx, &wallet, HAIP, Some(&ch)).await;
    let (status, body, _) = redeem(fx, HAIP, None, Some(&a), Some(&p), Some(&wallet)).await;
    assert_eq!(status, 200, "{body}");
    // Its iss must be the attested client.
    let p = client_attestation::create_pop(
        &wallet.key,
        PopInput {
            audience: &fx.issuer_url(PLAIN),
            jti: &jti(),
            iat: fx.clock.now(),
            challenge: None,
            shape: PopShape::Pre06,
            client_id: Some("https://other-wallet.example"),
        },
    )
    .await
    .unwrap();
    let answer = redeem(fx, PLAIN, None, Some(&a), Some(&p), None).await;
    assert_error(&answer, 401, "invalid_client", "iss");
}

async fn an_issuer_without_anchors_refuses_attestations(fx: &Fixture) {
    // The demo issuer trusts no wallet provider.
    let meta: Value = fx
        .http
        .get(fx.url("/.well-known/oauth-authorization-server/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert!(meta.get("challenge_endpoint").is_none(), "{meta}");
    assert_eq!(
        meta["pre-authorized_grant_anonymous_access_supported"],
        true
    );
    let r = fx
        .http
        .post(fx.url("/issuers/demo/challenge"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, "demo", None).await;
    let answer = redeem(fx, "demo", None, Some(&a), Some(&p), None).await;
    assert_error(
        &answer,
        401,
        "invalid_client",
        "no wallet attestation trust anchors configured",
    );
    // Without headers the demo issuer's anonymous redemption still works.
    let (status, body, _) = redeem(fx, "demo", None, None, None, None).await;
    assert_eq!(status, 200, "{body}");
    // The plain issuer lists both methods and keeps anonymous access.
    let meta: Value = fx
        .http
        .get(fx.url("/.well-known/oauth-authorization-server/issuers/plain"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["attest_jwt_client_auth", "none"])
    );
    assert_eq!(
        meta["pre-authorized_grant_anonymous_access_supported"],
        true
    );
    let (status, body, _) = redeem(fx, PLAIN, None, None, None, None).await;
    assert_eq!(status, 200, "{body}");
}

/// A pushed authorization request of `instance` at the HAIP issuer.
async fn par(
    fx: &Fixture,
    instance: &Instance,
    form: Vec<(&'static str, String)>,
    attestation: Option<String>,
    pop: Option<String>,
) -> Answer {
    let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let path = "/issuers/haip/par";
    post_form(
        fx,
        path,
        &f,
        attestation.as_deref(),
        pop.as_deref(),
        Some(instance),
    )
    .await
}

async fn haip_par_requires_a_wallet_attestation_whose_sub_is_the_client_id(fx: &Fixture) {
    let mut wallet = Instance::new();
    fetch_dpop_nonce(fx, HAIP, &mut wallet).await;
    let verifier = format!("{}{}{}", jti(), jti(), jti());
    let pkce = vdc_core::base64url::encode(vdc_core::digest::sha256(verifier.as_bytes()));
    let form = |client_id: &'static str| {
        vec![
            ("response_type", "code".to_owned()),
            ("client_id", client_id.to_owned()),
            ("redirect_uri", "https://wallet.example.org/cb".to_owned()),
            ("code_challenge", pkce.clone()),
            ("code_challenge_method", "S256".to_owned()),
            ("scope", "employee_badge".to_owned()),
        ]
    };
    // Spec: HAIP 1.0 §4.3: wallets authenticate at PAR as at the token endpoint.
    let answer = par(fx, &wallet, form(CLIENT), None, None).await;
    assert_error(&answer, 401, "invalid_client", "HAIP 1.0 §4.4.1");
    // Spec: HAIP 1.0 §4.4.1: the PAR client_id MUST be the attestation's sub.
    let a = attestation(fx, &wallet).await;
    let ch = challenge(fx, HAIP).await;
    let p = pop(fx, &wallet, HAIP, Some(&ch)).await;
    let answer = par(
        fx,
        &wallet,
        form("another-wallet"),
        Some(a.clone()),
        Some(p),
    )
    .await;
    assert_error(&answer, 401, "invalid_client", "sub");
    let ch = challenge(fx, HAIP).await;
    let p = pop(fx, &wallet, HAIP, Some(&ch)).await;
    let (status, body, headers) = par(fx, &wallet, form(CLIENT), Some(a), Some(p)).await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body["request_uri"]
            .as_str()
            .unwrap()
            .starts_with("urn:ietf:params:oauth:request_uri:")
    );
    assert!(headers.contains_key("oauth-client-attestation-challenge"));
}

/// Runs `n` token requests at once; returns their statuses and error codes.
async fn race(fx: &Fixture, requests: Vec<(String, String, String)>) -> Vec<(u16, Value)> {
    let mut set = JoinSet::new();
    for (code, a, p) in requests {
        let http = fx.http.clone();
        let url = fx.url("/issuers/plain/token");
        set.spawn(async move {
            let r = http
                .post(url)
                .header("OAuth-Client-Attestation", a)
                .header("OAuth-Client-Attestation-PoP", p)
                .form(&[("grant_type", PRE), ("pre-authorized_code", code.as_str())])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

async fn codes(fx: &Fixture, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(code_of(&fx.offer(PLAIN, &badge_offer(false)).await));
    }
    out
}

/// G2: of 8 racing token requests with one PoP (one `jti`) and distinct valid offers,
/// exactly one gets a token; the others are `invalid_client`, never a 5xx.
async fn racing_token_requests_with_one_pop_jti_yield_one_token(fx: &Fixture) {
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let p = pop(fx, &wallet, PLAIN, None).await;
    let requests = codes(fx, 8)
        .await
        .into_iter()
        .map(|c| (c, a.clone(), p.clone()))
        .collect();
    let results = race(fx, requests).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{results:?}"
    );
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 401, "{body}");
        assert_eq!(body["error"], "invalid_client", "{body}");
    }
}

/// G2: of 8 racing token requests with distinct PoPs carrying one challenge, exactly one
/// gets a token; the others are `use_attestation_challenge`, never a 5xx.
async fn racing_token_requests_with_one_challenge_yield_one_token(fx: &Fixture) {
    let wallet = Instance::new();
    let a = attestation(fx, &wallet).await;
    let ch = challenge(fx, PLAIN).await;
    let mut requests = Vec::new();
    for c in codes(fx, 8).await {
        let p = pop(fx, &wallet, PLAIN, Some(&ch)).await;
        requests.push((c, a.clone(), p));
    }
    let results = race(fx, requests).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{results:?}"
    );
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 400, "{body}");
        assert_eq!(body["error"], "use_attestation_challenge", "{body}");
    }
}

/// The authorization code flow of a HAIP issuer logging users in at a real OpenID Provider
/// (npm `oidc-provider`, `conformance/idp`): the wallet authenticates with its attestation at
/// PAR (HAIP 1.0 §4.3) and at the token endpoint for the code and the refresh token (§4.4.1).
mod code_flow {
    use super::*;
    use vdc_oidc::IdpPeer;

    vdc_testkit::both_backends_with!(
        start_with_idp,
        haip_code_flow_authenticates_the_wallet_at_par_and_at_the_token_endpoint,
        code_and_refresh_token_are_bound_to_the_attested_instance_key,
    );

    const ISSUER: &str = "sso";
    const REDIRECT: &str = "https://wallet.example.org/cb";

    struct IdpFixture {
        fx: Fixture,
        idp: IdpPeer,
        /// Follows no redirects: they are the flow's answers.
        http: reqwest::Client,
    }

    impl IdpFixture {
        async fn stop(self) {
            let IdpFixture { fx, idp, .. } = self;
            drop(idp);
            fx.stop().await;
        }
    }

    async fn start_with_idp(backend: Backend) -> IdpFixture {
        let port = free_port();
        let origin = format!("http://127.0.0.1:{port}");
        let allow = origin.clone();
        let server = TestServer::start_with(backend, move |c| c.outbound_allow = allow).await;
        let callback = server.url(&format!("/issuers/{ISSUER}/authorize/callback"));
        let clients = json!([{"client_id": "vdc-issuer", "client_secret": "idp-secret-for-tests",
            "redirect_uris": [callback]}]);
        let port_arg = port.to_string();
        let idp = IdpPeer::start(clients, "RS256", &["--port", port_arg.as_str()]).await;
        assert_eq!(idp.issuer(), origin);
        let now = server.clock.now();
        let provider = Provider::new("Wallet Provider", now);
        let def = json!({"id": ISSUER, "haip": true, "require_dpop": true,
            "identity_provider": {"issuer": idp.issuer(), "client_id": "vdc-issuer",
                "client_secret": "idp-secret-for-tests",
                "scopes": ["openid", "profile", "employee"],
                "claim_mapping": [{"path": ["given_name"], "from": "given_name"},
                                  {"path": ["family_name"], "from": "family_name"},
                                  {"path": ["employee_id"], "from": "employee_number"}]},
            "wallet_attestation_trust_anchors": [x509::to_pem(&provider.root)],
            "credential_configurations": configurations()});
        let (status, body) = server.admin_post("/api/v1/issuers", &def).await;
        assert_eq!(status, 201, "{body}");
        let pinned_key = key();
        let pinned = x509::self_signed(&cert_spec("Unused", now), &pinned_key).unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        IdpFixture {
            fx: Fixture {
                server,
                stranger: Provider::new("Stranger", now),
                provider,
                pinned_key: LocalSigner::new(pinned_key),
                pinned,
            },
            idp,
            http,
        }
    }

    fn location(r: &reqwest::Response) -> String {
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    fn next_challenge(headers: &reqwest::header::HeaderMap) -> String {
        headers["oauth-client-attestation-challenge"]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The wallet opens the authorization endpoint with its `request_uri`, the user logs in
    /// at the IdP, and the wallet reads its code from the redirect.
    async fn log_in(f: &IdpFixture, request_uri: &str) -> String {
        let fx = &f.fx;
        let r = f
            .http
            .get(fx.url(&format!("/issuers/{ISSUER}/authorize")))
            .query(&[("client_id", CLIENT), ("request_uri", request_uri)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let to_idp = location(&r);
        let callback = fx.url(&format!("/issuers/{ISSUER}/authorize/callback"));
        let back = f
            .idp
            .login(&to_idp, &callback, "ada", "lovelace-test")
            .await;
        let r = f.http.get(&back).send().await.unwrap();
        assert_eq!(r.status(), 302);
        url::Url::parse(&location(&r))
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    async fn haip_code_flow_authenticates_the_wallet_at_par_and_at_the_token_endpoint(
        f: &IdpFixture,
    ) {
        let fx = &f.fx;
        let mut wallet = Instance::new();
        fetch_dpop_nonce(fx, ISSUER, &mut wallet).await;
        let verifier = format!("{}{}{}", jti(), jti(), jti());
        let pkce = vdc_core::base64url::encode(vdc_core::digest::sha256(verifier.as_bytes()));
        let a = attestation(fx, &wallet).await;

        // PAR: client_id left out, the attestation's sub is the client (HAIP 1.0 §4.4.1).
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let form = [
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", pkce.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "employee_badge"),
            ("state", "s-1"),
        ];
        let path = format!("/issuers/{ISSUER}/par");
        let (status, body, headers) =
            post_form(fx, &path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 201, "{body}");
        let request_uri = body["request_uri"].as_str().unwrap().to_owned();
        let ch = next_challenge(&headers);

        // The user logs in; the wallet gets its code.
        let code = log_in(f, &request_uri).await;

        // The token request without the attestation: invalid_client, and the code survives.
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
        ];
        let path = format!("/issuers/{ISSUER}/token");
        let answer = post_form(fx, &path, &form, None, None, Some(&wallet)).await;
        assert_error(&answer, 401, "invalid_client", "HAIP 1.0 §4.4.1");
        // With it (the PoP on the challenge of the PAR answer): a DPoP token and a refresh
        // token.
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let (status, body, headers) =
            post_form(fx, &path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "DPoP");
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();
        let ch = next_challenge(&headers);

        // The refresh token grant authenticates the wallet too.
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let answer = post_form(fx, &path, &form, None, None, Some(&wallet)).await;
        assert_error(&answer, 401, "invalid_client", "HAIP 1.0 §4.4.1");
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let (status, body, _) =
            post_form(fx, &path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["refresh_token"].is_string(), "{body}");
    }

    /// Spec: draft-ietf-oauth-attestation-based-client-auth, "Refresh token binding" (MUST)
    /// and "Binding of OAuth protocol artifacts": a flow whose PAR was attested is bound to
    /// that instance key. Another instance of the same wallet (same provider, same `sub`,
    /// same DPoP key) can redeem neither its code nor its refresh token; the instance that
    /// pushed it can. Fails on the code before the binding (both were accepted).
    async fn code_and_refresh_token_are_bound_to_the_attested_instance_key(f: &IdpFixture) {
        let fx = &f.fx;
        let mut wallet = Instance::new();
        fetch_dpop_nonce(fx, ISSUER, &mut wallet).await;
        let verifier = format!("{}{}{}", jti(), jti(), jti());
        let pkce = vdc_core::base64url::encode(vdc_core::digest::sha256(verifier.as_bytes()));
        let a = attestation(fx, &wallet).await;
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let form = [
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", pkce.as_str()),
            ("code_challenge_method", "S256"),
            ("scope", "employee_badge"),
        ];
        let path = format!("/issuers/{ISSUER}/par");
        let (status, body, _) =
            post_form(fx, &path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 201, "{body}");
        let request_uri = body["request_uri"].as_str().unwrap().to_owned();
        let code = log_in(f, &request_uri).await;

        // Another instance: its own attestation (new cnf key), the same DPoP key.
        let own_key = std::mem::replace(&mut wallet.key, LocalSigner::new(key()));
        let other = attestation(fx, &wallet).await;
        let token_path = format!("/issuers/{ISSUER}/token");
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT),
        ];
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let answer = post_form(
            fx,
            &token_path,
            &form,
            Some(&other),
            Some(&p),
            Some(&wallet),
        )
        .await;
        assert_error(
            &answer,
            400,
            "invalid_grant",
            "bound to the wallet instance",
        );
        // The instance that pushed the request redeems it (the code was not spent).
        let other_key = std::mem::replace(&mut wallet.key, own_key);
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let (status, body, _) =
            post_form(fx, &token_path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 200, "{body}");
        let refresh = body["refresh_token"].as_str().unwrap().to_owned();

        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let own_key = std::mem::replace(&mut wallet.key, other_key);
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let answer = post_form(
            fx,
            &token_path,
            &form,
            Some(&other),
            Some(&p),
            Some(&wallet),
        )
        .await;
        assert_error(&answer, 400, "invalid_grant", "refresh token is bound");
        wallet.key = own_key;
        let ch = challenge(fx, ISSUER).await;
        let p = pop(fx, &wallet, ISSUER, Some(&ch)).await;
        let (status, body, _) =
            post_form(fx, &token_path, &form, Some(&a), Some(&p), Some(&wallet)).await;
        assert_eq!(status, 200, "{body}");
    }
}
