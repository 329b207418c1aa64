//! The issuer's claims endpoint end to end over HTTP (contract-next "Issuer: login at the
//! enterprise's OpenID Provider, claims from the back end"): the user logs in at a real
//! OpenID Provider (npm `oidc-provider`), vdc POSTs the authenticated subject, signed with
//! the Standard Webhooks scheme, to a back end started here, and issues what it answers. The
//! back end checks every signature with the secret the issuer's creation answered, so a
//! wrong signature fails these tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::time::Clock as _;
use vdc_oidc::IdpPeer;
use vdc_testkit::{Backend, TestServer};

use crate::support::*;

vdc_testkit::both_backends_with!(
    start_flow,
    the_back_ends_claims_are_the_credentials_claims,
    an_operator_secret_signs_the_calls,
    a_deferral_makes_the_credential_deferred,
    a_refusal_is_access_denied,
    failures_and_hostile_answers_are_server_errors,
    the_definition_is_checked_and_the_secret_shown_once
);

const CLIENT: &str = "wallet-1";
const REDIRECT: &str = "https://wallet.example/cb";
const IDP_CLIENT: &str = "vdc-issuer";
const IDP_SECRET: &str = "idp-secret-for-tests";
/// The operator-chosen secret of `globex` (24 bytes).
const GLOBEX_SECRET: &str = "whsec_Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi";

/// What the back end answers next.
#[derive(Clone)]
enum Mode {
    Claims(Value),
    Defer(u64),
    Status(u16),
    /// Sleeps this long, then answers claims.
    Sleep(Duration),
    /// 200 with this body as `application/json`.
    Raw(Vec<u8>),
}

/// One call the back end received (with a good signature).
#[derive(Clone, Debug)]
struct Call {
    body: Value,
}

#[derive(Default)]
struct BackState {
    mode: Option<Mode>,
    secrets: HashMap<String, Vec<u8>>,
    calls: Vec<Call>,
    bad_signatures: usize,
}

/// The enterprise back end: checks the Standard Webhooks signature, answers by its mode.
#[derive(Clone, Default)]
struct BackEnd(Arc<Mutex<BackState>>);

impl BackEnd {
    fn set(&self, mode: Mode) {
        self.0.lock().unwrap().mode = Some(mode);
    }
    fn calls(&self) -> Vec<Call> {
        self.0.lock().unwrap().calls.clone()
    }
    fn bad_signatures(&self) -> usize {
        self.0.lock().unwrap().bad_signatures
    }
}

/// Standard Webhooks, "Verifying": HMAC-SHA256 of `{id}.{timestamp}.{body}` under the decoded
/// secret, as one of the space-separated `v1,<base64>` signatures.
fn signature_ok(secret: &[u8], headers: &HeaderMap, body: &str) -> bool {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(id), Some(ts), Some(sigs)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    if id.is_empty() || ts.parse::<i64>().is_err() {
        return false;
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    sigs.split(' ').any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|tag| {
                ring::hmac::verify(&key, format!("{id}.{ts}.{body}").as_bytes(), &tag).is_ok()
            })
    })
}

async fn back_end(State(b): State<BackEnd>, headers: HeaderMap, body: String) -> Response {
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let mode = {
        let mut s = b.0.lock().unwrap();
        let issuer = parsed["issuer"].as_str().unwrap_or_default();
        let ok = s
            .secrets
            .get(issuer)
            .is_some_and(|k| signature_ok(k, &headers, &body));
        if !ok {
            s.bad_signatures += 1;
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
        s.calls.push(Call { body: parsed });
        s.mode.clone()
    };
    let json = |status: u16, v: Value| {
        (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            v.to_string(),
        )
            .into_response()
    };
    match mode {
        None => json(500, json!({"error": "no mode"})),
        Some(Mode::Claims(c)) => json(200, json!({ "claims": c })),
        Some(Mode::Defer(n)) => json(202, json!({ "retry_after": n })),
        Some(Mode::Status(s)) => json(s, json!({"error": "nope"})),
        Some(Mode::Sleep(d)) => {
            // A slow back end in real time (the server's timeout is real time too), not an
            // expiry on the server's clock.
            #[allow(clippy::disallowed_methods)]
            tokio::time::sleep(d).await;
            json(200, json!({"claims": {"employee_id": "late"}}))
        }
        Some(Mode::Raw(bytes)) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            bytes,
        )
            .into_response(),
    }
}

/// A server with issuers `acme` (generated secret) and `globex` (operator secret) whose
/// claims come from the back end, and `initech` whose back end is down, logging in at a
/// fresh provider.
struct Flow {
    server: TestServer,
    idp: IdpPeer,
    back: BackEnd,
    back_task: tokio::task::JoinHandle<()>,
    back_url: String,
    /// The `acme` creation answer.
    created: Value,
    /// Redirects are the flow's answers: this client follows none.
    http: reqwest::Client,
}

impl Flow {
    async fn stop(self) {
        let Flow {
            server,
            idp,
            back_task,
            ..
        } = self;
        drop(idp);
        back_task.abort();
        server.stop().await;
    }
}

impl std::ops::Deref for Flow {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

fn free_port() -> u16 {
    crate::support::free_port()
}

async fn start_flow(backend: Backend) -> Flow {
    let back = BackEnd::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let back_origin = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/claims", axum::routing::post(back_end))
        .with_state(back.clone());
    let back_task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let port = free_port();
    let idp_origin = format!("http://127.0.0.1:{port}");
    // `initech`'s claims endpoint listens nowhere (allow-listed too): connection refused.
    let dead_origin = format!("http://127.0.0.1:{}", free_port());
    let allow = format!("{idp_origin},{back_origin},{dead_origin}");
    let server = TestServer::start_with(backend, move |c| {
        c.outbound_allow = allow;
        // The slow back end below sleeps longer than this.
        c.claims_endpoint_timeout = 1;
    })
    .await;
    let redirect_uris: Vec<String> = ["acme", "globex", "initech"]
        .iter()
        .map(|i| server.url(&format!("/issuers/{i}/authorize/callback")))
        .collect();
    let clients = json!([{"client_id": IDP_CLIENT, "client_secret": IDP_SECRET, "redirect_uris": redirect_uris}]);
    let port_arg = port.to_string();
    let idp = IdpPeer::start(clients, "RS256", &["--port", port_arg.as_str()]).await;
    assert_eq!(idp.issuer(), idp_origin);
    let back_url = format!("{back_origin}/claims");
    let (status, created) = server
        .admin_post(
            "/api/v1/issuers",
            &issuer_definition("acme", idp.issuer(), &back_url, None),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["claims_endpoint_secret"]
        .as_str()
        .expect("a generated secret is answered on creation")
        .to_owned();
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &issuer_definition("globex", idp.issuer(), &back_url, Some(GLOBEX_SECRET)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("claims_endpoint_secret").is_none(), "{body}");
    let (status, body) = server
        .admin_post(
            "/api/v1/issuers",
            &issuer_definition(
                "initech",
                idp.issuer(),
                &format!("{dead_origin}/claims"),
                None,
            ),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    {
        let mut s = back.0.lock().unwrap();
        s.secrets.insert("acme".into(), decode_secret(&secret));
        s.secrets
            .insert("globex".into(), decode_secret(GLOBEX_SECRET));
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Flow {
        server,
        idp,
        back,
        back_task,
        back_url,
        created,
        http,
    }
}

fn decode_secret(secret: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .unwrap()
}

fn issuer_definition(id: &str, idp: &str, endpoint: &str, secret: Option<&str>) -> Value {
    let mut def = json!({ "id": id,
      "signing_alg": "ES256",
      "credential_configurations": {
        "EmployeeBadge": {
          "format": "dc+sd-jwt", "vct": "https://acme.example/vct/employee-badge",
          "scope": "employee_badge",
          "claims": [{"path": ["given_name"]}, {"path": ["family_name"]},
                     {"path": ["employee_id"], "mandatory": true}],
          "cryptographic_binding_methods_supported": ["jwk"] } },
      // No claim mapping: the claims come from the back end.
      "identity_provider": {
        "issuer": idp, "client_id": IDP_CLIENT, "client_secret": IDP_SECRET,
        "scopes": ["openid", "profile"] },
      "claims_endpoint": endpoint });
    if let Some(s) = secret {
        def["claims_endpoint_secret"] = s.into();
    }
    def
}

/// A wallet: its DPoP key, PKCE verifier and the server's last DPoP nonce.
struct Wallet {
    key: LocalSigner,
    verifier: String,
    nonce: Option<String>,
}

impl Wallet {
    fn new() -> Self {
        let key =
            SigningKey::generate(Algorithm::Es256, &vdc_core::rng::SystemRandom::new()).unwrap();
        Self {
            key: LocalSigner::new(key),
            verifier: vdc_core::base64url::encode(rand_bytes(32)),
            nonce: None,
        }
    }

    fn challenge(&self) -> String {
        vdc_core::base64url::encode(vdc_core::digest::sha256(self.verifier.as_bytes()))
    }

    async fn proof(&self, flow: &Flow, url: &str, token: Option<&str>) -> String {
        let jti = vdc_core::base64url::encode(rand_bytes(12));
        vdc_core::dpop::create(
            &self.key,
            vdc_core::dpop::DpopInput {
                htm: "POST",
                htu: url,
                jti: &jti,
                iat: flow.clock.now(),
                nonce: self.nonce.as_deref(),
                access_token: token,
            },
        )
        .await
        .unwrap()
    }

    /// A POST with a DPoP proof, retried once with the server's nonce when it asks
    /// (RFC 9449 §8); `auth`: an access token sent as `DPoP`.
    async fn post(
        &mut self,
        flow: &Flow,
        url: &str,
        auth: Option<&str>,
        body: Body,
    ) -> (u16, Value) {
        for _ in 0..2 {
            let proof = self.proof(flow, url, auth).await;
            let mut r = flow.http.post(url).header("DPoP", proof);
            if let Some(t) = auth {
                r = r.header("Authorization", format!("DPoP {t}"));
            }
            r = match &body {
                Body::Form(f) => r.form(f),
                Body::Json(j) => r.json(j),
            };
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            if let Some(n) = r.headers().get("dpop-nonce") {
                self.nonce = Some(n.to_str().unwrap().to_owned());
            }
            let value: Value = r.json().await.unwrap_or(Value::Null);
            if value["error"] == "use_dpop_nonce" {
                continue;
            }
            return (status, value);
        }
        panic!("the server asked for a DPoP nonce twice");
    }
}

enum Body {
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

fn rand_bytes(n: usize) -> Vec<u8> {
    use vdc_core::rng::RandomSource as _;
    let mut b = vec![0u8; n];
    vdc_core::rng::SystemRandom::new().fill(&mut b).unwrap();
    b
}

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

impl Flow {
    /// PAR, authorize, login at the provider; returns vdc's redirect to the wallet.
    async fn front_channel(&self, issuer: &str, wallet: &mut Wallet) -> String {
        let form = vec![
            ("response_type", "code".to_owned()),
            ("client_id", CLIENT.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_challenge", wallet.challenge()),
            ("code_challenge_method", "S256".to_owned()),
            ("state", "wallet-state-1".to_owned()),
            ("scope", "employee_badge".to_owned()),
        ];
        let url = self.url(&format!("/issuers/{issuer}/par"));
        let (status, body) = wallet.post(self, &url, None, Body::Form(form)).await;
        assert_eq!(status, 201, "{body}");
        let request_uri = body["request_uri"].as_str().unwrap();
        let r = self
            .http
            .get(self.url(&format!("/issuers/{issuer}/authorize")))
            .query(&[("client_id", CLIENT), ("request_uri", request_uri)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let to_idp = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(to_idp.starts_with(self.idp.issuer()), "{to_idp}");
        let callback = self.url(&format!("/issuers/{issuer}/authorize/callback"));
        let back = self
            .idp
            .login(&to_idp, &callback, "ada", "lovelace-test")
            .await;
        let r = self.http.get(&back).send().await.unwrap();
        // Never a 5xx (or a hang) to the user agent: the answer is a redirect to the wallet.
        assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(REDIRECT), "{location}");
        let q = query_of(&location);
        // Spec: RFC 6749 §4.1.2, §4.1.2.1, RFC 9207 §2: state and iss on success and error.
        assert_eq!(q["state"], "wallet-state-1", "{location}");
        assert_eq!(q["iss"], self.issuer_url(issuer), "{location}");
        location
    }

    /// A login's error code (and that no code came with it).
    async fn login_error(&self, issuer: &str) -> String {
        let location = self.front_channel(issuer, &mut Wallet::new()).await;
        let q = query_of(&location);
        assert!(!q.contains_key("code"), "{location}");
        q.get("error").cloned().unwrap_or_default()
    }

    /// A login redeemed for an access token (DPoP-bound).
    async fn access_token(&self, issuer: &str, wallet: &mut Wallet) -> String {
        let location = self.front_channel(issuer, wallet).await;
        let q = query_of(&location);
        let code = q.get("code").unwrap_or_else(|| panic!("{location}"));
        let url = self.url(&format!("/issuers/{issuer}/token"));
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("code_verifier", wallet.verifier.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", CLIENT.to_owned()),
        ];
        let (status, token) = wallet.post(self, &url, None, Body::Form(form)).await;
        assert_eq!(status, 200, "{token}");
        token["access_token"].as_str().unwrap().to_owned()
    }

    async fn credential_request(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        token: &str,
    ) -> (u16, Value) {
        let n = nonce(self, issuer).await;
        let (p, _) = proof(self, &self.issuer_url(issuer), Some(&n)).await;
        let body = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}});
        let url = self.url(&format!("/issuers/{issuer}/credential"));
        wallet.post(self, &url, Some(token), Body::Json(body)).await
    }

    /// A deferred credential request (OID4VCI 1.0 §9.1).
    async fn deferred(&self, wallet: &mut Wallet, token: &str, tx: &str) -> (u16, Value) {
        let url = self.url("/issuers/acme/deferred_credential");
        wallet
            .post(
                self,
                &url,
                Some(token),
                Body::Json(json!({"transaction_id": tx})),
            )
            .await
    }

    /// Credentials this server issued (a fresh server per test).
    async fn issued_count(&self) -> u64 {
        let body = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        body.lines()
            .filter(|l| l.starts_with("vdc_credentials_issued_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .map(|v| v as u64)
            .sum()
    }
}

async fn the_back_ends_claims_are_the_credentials_claims(flow: &Flow) {
    flow.back.set(Mode::Claims(
        json!({"given_name": "Ada", "family_name": "Back-End", "employee_id": "E-77"}),
    ));
    let mut wallet = Wallet::new();
    let token = flow.access_token("acme", &mut wallet).await;
    let (status, body) = flow.credential_request("acme", &mut wallet, &token).await;
    assert_eq!(status, 200, "{body}");
    let sd_jwt = body["credentials"][0]["credential"].as_str().unwrap();
    let claims = verify_sd_jwt_vc(flow, "acme", sd_jwt).await;
    // The back end's values, not the provider's (its family_name is Lovelace).
    assert_eq!(claims["family_name"], "Back-End");
    assert_eq!(claims["employee_id"], "E-77");
    assert_eq!(claims["given_name"], "Ada");
    // One signed call with the contract's body.
    assert_eq!(flow.back.bad_signatures(), 0);
    let calls = flow.back.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0].body;
    assert_eq!(call["issuer"], "acme");
    assert_eq!(call["credential_configuration_id"], "EmployeeBadge");
    // The validated ID token claims of the login.
    assert_eq!(call["subject"]["sub"], "emp-1001");
    assert_eq!(call["subject"]["iss"], flow.idp.issuer());
    assert_eq!(call["subject"]["given_name"], "Ada");
    // vdc's login nonce is not the back end's business.
    assert!(call["subject"].get("nonce").is_none(), "{call}");
}

async fn an_operator_secret_signs_the_calls(flow: &Flow) {
    flow.back.set(Mode::Claims(
        json!({"employee_id": "G-1", "given_name": "Ada"}),
    ));
    let mut wallet = Wallet::new();
    let token = flow.access_token("globex", &mut wallet).await;
    let (status, body) = flow.credential_request("globex", &mut wallet, &token).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_sd_jwt_vc(
        flow,
        "globex",
        body["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["employee_id"], "G-1");
    assert_eq!(flow.back.bad_signatures(), 0);
    assert_eq!(flow.back.calls()[0].body["issuer"], "globex");
}

async fn a_deferral_makes_the_credential_deferred(flow: &Flow) {
    flow.back.set(Mode::Defer(7));
    let mut wallet = Wallet::new();
    let token = flow.access_token("acme", &mut wallet).await;
    // Spec: OID4VCI 1.0 §8.3: not ready yet: 202 with a transaction_id, and the back end's
    // retry_after as the interval.
    let (status, body) = flow.credential_request("acme", &mut wallet, &token).await;
    assert_eq!(status, 202, "{body}");
    let tx = body["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(body["interval"], 7, "{body}");
    assert!(body.get("credentials").is_none(), "{body}");
    // Spec: OID4VCI 1.0 §9.2: still pending at the deferred endpoint; the back end is not
    // asked again before its retry_after.
    let (status, body) = flow.deferred(&mut wallet, &token, &tx).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["transaction_id"], tx.as_str());
    assert!(body.get("credentials").is_none(), "{body}");
    assert_eq!(flow.back.calls().len(), 1);
    // After it, a failing back end keeps the credential pending (it is asked once).
    flow.clock.advance(8);
    flow.back.set(Mode::Status(500));
    let (status, body) = flow.deferred(&mut wallet, &token, &tx).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(flow.back.calls().len(), 2);
    // Once it answers the claims, the credential is issued from them.
    flow.clock.advance(10);
    flow.back.set(Mode::Claims(
        json!({"given_name": "Ada", "employee_id": "E-late"}),
    ));
    let (status, body) = flow.deferred(&mut wallet, &token, &tx).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_sd_jwt_vc(
        flow,
        "acme",
        body["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["employee_id"], "E-late");
    let calls = flow.back.calls();
    assert_eq!(calls.len(), 3);
    // The same subject each time.
    assert_eq!(calls[2].body["subject"]["sub"], "emp-1001");
    assert_eq!(
        calls[2].body["credential_configuration_id"],
        "EmployeeBadge"
    );
    // The transaction is spent.
    let (status, body) = flow.deferred(&mut wallet, &token, &tx).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_transaction_id", "{body}");

    // A back end that refuses the deferred credential: credential_request_denied
    // (OID4VCI 1.0 §8.3.1.2).
    flow.back.set(Mode::Defer(1));
    let mut wallet = Wallet::new();
    let token = flow.access_token("acme", &mut wallet).await;
    let (status, body) = flow.credential_request("acme", &mut wallet, &token).await;
    assert_eq!(status, 202, "{body}");
    let tx = body["transaction_id"].as_str().unwrap().to_owned();
    flow.clock.advance(2);
    flow.back.set(Mode::Status(403));
    let (status, body) = flow.deferred(&mut wallet, &token, &tx).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "credential_request_denied", "{body}");
    assert_eq!(flow.back.bad_signatures(), 0);
    assert_eq!(flow.issued_count().await, 1);
}

async fn a_refusal_is_access_denied(flow: &Flow) {
    for status in [403, 404] {
        flow.back.set(Mode::Status(status));
        // Spec: RFC 6749 §4.1.2.1: the resource owner or server denied the request.
        assert_eq!(flow.login_error("acme").await, "access_denied", "{status}");
    }
    assert_eq!(flow.back.bad_signatures(), 0);
    assert_eq!(flow.back.calls().len(), 2);
    assert_eq!(flow.issued_count().await, 0);
}

async fn failures_and_hostile_answers_are_server_errors(flow: &Flow) {
    let huge = {
        let mut b = br#"{"claims": {"employee_id": ""#.to_vec();
        b.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
        b.extend(br#""}}"#);
        b
    };
    let cases: Vec<(&str, Mode)> = vec![
        ("500", Mode::Status(500)),
        ("503", Mode::Status(503)),
        ("302", Mode::Status(302)),
        (
            "slower than the timeout",
            Mode::Sleep(Duration::from_secs(3)),
        ),
        ("not JSON", Mode::Raw(b"<html>claims</html>".to_vec())),
        (
            "claims not an object",
            Mode::Raw(br#"{"claims": ["x"]}"#.to_vec()),
        ),
        ("no claims", Mode::Raw(br#"{"given_name": "Ada"}"#.to_vec())),
        ("10 MiB", Mode::Raw(huge)),
        (
            "a claim the configuration lacks",
            Mode::Claims(json!({"employee_id": "E-1", "salary": 100})),
        ),
        (
            "the mandatory claim missing",
            Mode::Claims(json!({"given_name": "Ada"})),
        ),
        (
            "a claim the issuer sets",
            Mode::Claims(json!({"employee_id": "E-1", "iss": "https://evil.example"})),
        ),
        ("202 without retry_after", Mode::Status(202)),
        ("retry_after out of range", Mode::Defer(86_401)),
    ];
    let n = cases.len();
    for (what, mode) in cases {
        flow.back.set(mode);
        let started = std::time::Instant::now();
        // Spec: RFC 6749 §4.1.2.1: server_error, nothing issued.
        assert_eq!(flow.login_error("acme").await, "server_error", "{what}");
        assert!(started.elapsed() < Duration::from_secs(30), "{what}");
    }
    // Nothing listens at initech's endpoint.
    assert_eq!(flow.login_error("initech").await, "server_error");
    assert_eq!(flow.back.bad_signatures(), 0);
    assert_eq!(flow.back.calls().len(), n);
    assert_eq!(flow.issued_count().await, 0);
}

async fn the_definition_is_checked_and_the_secret_shown_once(flow: &Flow) {
    // Shown once, on creation: whsec_ + base64 of 32 bytes.
    let secret = flow.created["claims_endpoint_secret"].as_str().unwrap();
    assert_eq!(decode_secret(secret).len(), 32);
    assert_eq!(flow.created["claims_endpoint"], flow.back_url.as_str());
    // Never read back.
    for path in [
        "/api/v1/issuers/acme",
        "/api/v1/issuers/globex",
        "/api/v1/issuers",
    ] {
        let (status, body) = flow.admin_get(path).await;
        assert_eq!(status, 200, "{body}");
        let text = body.to_string();
        assert!(!text.contains("claims_endpoint_secret"), "{text}");
        assert!(!text.contains(&secret["whsec_".len()..]), "{text}");
        assert!(!text.contains(&GLOBEX_SECRET["whsec_".len()..]), "{text}");
    }
    let (_, acme) = flow.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(acme["claims_endpoint"], flow.back_url.as_str());
    // Bad definitions are 400 invalid_request.
    let idp = flow.idp.issuer();
    let mut no_idp = issuer_definition("bad-1", idp, &flow.back_url, None);
    no_idp.as_object_mut().unwrap().remove("identity_provider");
    let mut sealed = issuer_definition("bad-6", idp, &flow.back_url, None);
    sealed["claims_endpoint_secret_sealed"] = "AAAA".into();
    let mut secret_alone = issuer_definition("bad-7", idp, &flow.back_url, Some(GLOBEX_SECRET));
    secret_alone
        .as_object_mut()
        .unwrap()
        .remove("claims_endpoint");
    for (what, def) in [
        (
            "plain http, not allow-listed",
            issuer_definition("bad-2", idp, "http://backend.example/claims", None),
        ),
        (
            "a loopback address, not allow-listed",
            issuer_definition("bad-3", idp, "https://127.0.0.1:1/claims", None),
        ),
        ("not a URL", issuer_definition("bad-4", idp, "claims", None)),
        ("no identity provider", no_idp),
        (
            "a short secret",
            issuer_definition("bad-5", idp, &flow.back_url, Some("whsec_c2hvcnQ=")),
        ),
        (
            "a secret without the prefix",
            issuer_definition(
                "bad-8",
                idp,
                &flow.back_url,
                Some("Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi"),
            ),
        ),
        ("a sealed secret", sealed),
        ("a secret without an endpoint", secret_alone),
    ] {
        let (status, body) = flow.admin_post("/api/v1/issuers", &def).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"], "invalid_request", "{what}: {body}");
    }
    // A definition that failed created nothing.
    let (status, _) = flow.admin_get("/api/v1/issuers/bad-2").await;
    assert_eq!(status, 404);
}
