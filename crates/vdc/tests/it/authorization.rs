//! The authorization code flow end to end over HTTP (issue 13): a wallet pushes its request
//! (RFC 9126), the user logs in at a real OpenID Provider (npm `oidc-provider`, pinned in
//! `conformance/idp`), the wallet redeems the code with PKCE and DPoP (RFC 7636, RFC 9449)
//! and gets a credential whose claims come from the login.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::time::Clock as _;
use vdc_oidc::IdpPeer;
use vdc_testkit::{Backend, TestServer};

use crate::support::*;

vdc_testkit::both_backends_with!(
    start_flow,
    a_login_issues_a_dpop_bound_credential_with_the_login_claims,
    an_offer_with_issuer_state_is_redeemed_by_a_login_once,
    sixteen_racing_token_requests_with_one_code_yield_one_token,
    bad_authorization_requests_get_the_spec_errors,
    bad_token_requests_get_the_spec_errors,
    dpop_proofs_are_checked_at_every_endpoint,
    refresh_tokens_rotate_and_a_replayed_code_revokes,
    codes_and_requests_of_one_issuer_do_not_work_at_another,
    an_identity_provider_outage_is_temporarily_unavailable,
    revoking_a_token_ends_its_authorization,
    offboarding_a_subject_revokes_its_authorizations_at_one_issuer,
    stale_dpop_proofs_are_refused_at_the_token_and_credential_endpoints,
    a_forged_id_token_is_access_denied_and_issues_nothing
);

const CLIENT: &str = "wallet-1";
const REDIRECT: &str = "https://wallet.example/cb";
const IDP_CLIENT: &str = "vdc-issuer";
const IDP_SECRET: &str = "idp-secret-for-tests";

/// A server with issuers `acme` and `globex` logging in at a fresh provider (one per test).
struct Flow {
    server: TestServer,
    idp: IdpPeer,
    /// Redirects are the flow's answers: this client follows none.
    http: reqwest::Client,
}

impl Flow {
    async fn stop(self) {
        let Flow { server, idp, .. } = self;
        drop(idp);
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
    start_flow_with(backend, &[]).await
}

async fn start_flow_with(backend: Backend, idp_args: &[&str]) -> Flow {
    let port = free_port();
    let idp_origin = format!("http://127.0.0.1:{port}");
    let origin = idp_origin.clone();
    let server = TestServer::start_with(backend, move |c| c.outbound_allow = origin).await;
    let redirect_uris: Vec<String> = ["acme", "globex"]
        .iter()
        .map(|i| server.url(&format!("/issuers/{i}/authorize/callback")))
        .collect();
    let clients = json!([{"client_id": IDP_CLIENT, "client_secret": IDP_SECRET, "redirect_uris": redirect_uris}]);
    let port_arg = port.to_string();
    let mut args = vec!["--port", port_arg.as_str()];
    args.extend_from_slice(idp_args);
    let idp = IdpPeer::start(clients, "RS256", &args).await;
    assert_eq!(idp.issuer(), idp_origin);
    for id in ["acme", "globex"] {
        let (status, body) = server
            .admin_post("/api/v1/issuers", &issuer_definition(id, idp.issuer()))
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Flow { server, idp, http }
}

fn issuer_definition(id: &str, idp: &str) -> Value {
    json!({ "id": id,
      "signing_alg": "ES256",
      "credential_configurations": {
        "EmployeeBadge": {
          "format": "dc+sd-jwt", "vct": "https://acme.example/vct/employee-badge",
          "scope": "employee_badge",
          "claims": [{"path": ["given_name"]}, {"path": ["family_name"]},
                     {"path": ["employee_id"], "mandatory": true}],
          "cryptographic_binding_methods_supported": ["jwk"] } },
      "identity_provider": {
        "issuer": idp, "client_id": IDP_CLIENT, "client_secret": IDP_SECRET,
        "scopes": ["openid", "profile", "employee"],
        "claim_mapping": [{"path": ["given_name"], "from": "given_name"},
                          {"path": ["family_name"], "from": "family_name"},
                          {"path": ["employee_id"], "from": "employee_number"}] } })
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

    async fn proof(&self, flow: &Flow, method: &str, url: &str, token: Option<&str>) -> String {
        self.proof_at(flow.clock.now(), method, url, token).await
    }

    /// A proof with the given `iat`.
    async fn proof_at(
        &self,
        iat: vdc_core::time::UnixTime,
        method: &str,
        url: &str,
        token: Option<&str>,
    ) -> String {
        let jti = vdc_core::base64url::encode(rand_bytes(12));
        vdc_core::dpop::create(
            &self.key,
            vdc_core::dpop::DpopInput {
                htm: method,
                htu: url,
                jti: &jti,
                iat,
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
        body: Body<'_>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        for _ in 0..2 {
            let proof = self.proof(flow, "POST", url, auth).await;
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
            let headers = r.headers().clone();
            if let Some(n) = headers.get("dpop-nonce") {
                self.nonce = Some(n.to_str().unwrap().to_owned());
            }
            let value: Value = r.json().await.unwrap_or(Value::Null);
            if value["error"] == "use_dpop_nonce" {
                continue;
            }
            return (status, value, headers);
        }
        panic!("the server asked for a DPoP nonce twice");
    }
}

/// Form parameters to set (or, empty, to drop) in a pushed request.
type Params<'a> = Vec<(&'static str, &'a str)>;
/// A whole form.
type Form = Vec<(&'static str, String)>;

enum Body<'a> {
    Form(Vec<(&'a str, String)>),
    Json(Value),
}

fn rand_bytes(n: usize) -> Vec<u8> {
    use vdc_core::rng::RandomSource as _;
    let mut b = vec![0u8; n];
    vdc_core::rng::SystemRandom::new().fill(&mut b).unwrap();
    b
}

fn query_of(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn par_form(wallet: &Wallet, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut form = vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("code_challenge", wallet.challenge()),
        ("code_challenge_method", "S256".to_owned()),
        ("state", "wallet-state-1".to_owned()),
    ];
    for (k, v) in extra {
        form.retain(|(n, _)| n != k);
        if !v.is_empty() {
            form.push((k, (*v).to_owned()));
        }
    }
    form
}

fn details() -> String {
    json!([{"type": "openid_credential", "credential_configuration_id": "EmployeeBadge"}])
        .to_string()
}

impl Flow {
    /// PAR with a DPoP proof; returns the request_uri.
    async fn push(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        form: Vec<(&'static str, String)>,
    ) -> String {
        let url = self.url(&format!("/issuers/{issuer}/par"));
        let (status, body, headers) = wallet.post(self, &url, None, Body::Form(form)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(headers["cache-control"], "no-store");
        let expires = body["expires_in"].as_i64().unwrap();
        assert!(expires > 0 && expires < 600, "{body}");
        body["request_uri"].as_str().unwrap().to_owned()
    }

    /// GET /authorize; returns the status and the Location.
    async fn authorize(
        &self,
        issuer: &str,
        query: &[(&str, &str)],
    ) -> (u16, Option<String>, Value) {
        let r = self
            .http
            .get(self.url(&format!("/issuers/{issuer}/authorize")))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        (status, location, r.json().await.unwrap_or(Value::Null))
    }

    /// Logs `user` in at the provider from vdc's redirect, and follows the provider's
    /// redirect back to vdc; returns vdc's redirect to the wallet.
    async fn login(&self, issuer: &str, to_idp: &str, user: &str, password: &str) -> String {
        let callback = self.url(&format!("/issuers/{issuer}/authorize/callback"));
        let back = self.idp.login(to_idp, &callback, user, password).await;
        let r = self.http.get(&back).send().await.unwrap();
        assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
        r.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The whole front channel: PAR, authorize, login; returns the wallet's redirect.
    async fn front_channel(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        extra: &[(&'static str, &str)],
    ) -> String {
        self.front_channel_as(issuer, wallet, extra, ("ada", "lovelace-test"))
            .await
    }

    /// [`Self::front_channel`] logged in as `user` (login, password).
    async fn front_channel_as(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        extra: &[(&'static str, &str)],
        user: (&str, &str),
    ) -> String {
        let request_uri = self.push(issuer, wallet, par_form(wallet, extra)).await;
        let (status, location, body) = self
            .authorize(
                issuer,
                &[("client_id", CLIENT), ("request_uri", &request_uri)],
            )
            .await;
        assert_eq!(status, 302, "{body}");
        let to_idp = location.unwrap();
        assert!(to_idp.starts_with(self.idp.issuer()), "{to_idp}");
        self.login(issuer, &to_idp, user.0, user.1).await
    }

    /// A code for `issuer` (the wallet's redirect checked: code, state, iss).
    async fn code(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        extra: &[(&'static str, &str)],
    ) -> String {
        self.code_as(issuer, wallet, extra, ("ada", "lovelace-test"))
            .await
    }

    /// [`Self::code`] logged in as `user` (login, password).
    async fn code_as(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        extra: &[(&'static str, &str)],
        user: (&str, &str),
    ) -> String {
        let back = self.front_channel_as(issuer, wallet, extra, user).await;
        assert!(back.starts_with(REDIRECT), "{back}");
        let q = query_of(&back);
        assert_eq!(q["state"], "wallet-state-1");
        // Spec: RFC 9207 §2: iss in every authorization response.
        assert_eq!(q["iss"], self.issuer_url(issuer));
        q["code"].clone()
    }

    async fn redeem(&self, issuer: &str, wallet: &mut Wallet, code: &str) -> (u16, Value) {
        let url = self.url(&format!("/issuers/{issuer}/token"));
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", wallet.verifier.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", CLIENT.to_owned()),
        ];
        let (status, body, _) = wallet.post(self, &url, None, Body::Form(form)).await;
        (status, body)
    }

    async fn credential_request(
        &self,
        issuer: &str,
        wallet: &mut Wallet,
        token: &str,
        identifier: bool,
    ) -> (u16, Value) {
        let n = nonce(self, issuer).await;
        let (p, _) = proof(self, &self.issuer_url(issuer), Some(&n)).await;
        let body = if identifier {
            json!({"credential_identifier": "EmployeeBadge", "proofs": {"jwt": [p]}})
        } else {
            json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}})
        };
        let url = self.url(&format!("/issuers/{issuer}/credential"));
        let (status, body, _) = wallet.post(self, &url, Some(token), Body::Json(body)).await;
        (status, body)
    }
}

async fn a_login_issues_a_dpop_bound_credential_with_the_login_claims(flow: &Flow) {
    // Metadata (OID4VCI 1.0 §12.2.3, §12.3; RFC 8414).
    let meta: Value = flow
        .http
        .get(flow.url("/.well-known/oauth-authorization-server/issuers/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["authorization_endpoint"],
        flow.url("/issuers/acme/authorize")
    );
    assert_eq!(
        meta["pushed_authorization_request_endpoint"],
        flow.url("/issuers/acme/par")
    );
    assert_eq!(meta["require_pushed_authorization_requests"], true);
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        meta["authorization_details_types_supported"],
        json!(["openid_credential"])
    );
    let grants = meta["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("authorization_code")), "{meta}");
    assert!(grants.contains(&json!(PRE)), "{meta}");
    assert!(
        meta["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("ES256"))
    );
    let (_, issuer) = flow.admin_get("/api/v1/issuers/acme").await;
    assert_eq!(
        issuer["identity_provider"]["redirect_uri"],
        flow.url("/issuers/acme/authorize/callback")
    );
    assert!(
        issuer["identity_provider"].get("client_secret").is_none(),
        "{issuer}"
    );
    assert!(!issuer.to_string().contains(IDP_SECRET));

    let mut wallet = Wallet::new();
    let code = flow
        .code(
            "acme",
            &mut wallet,
            &[("authorization_details", &details())],
        )
        .await;
    let (status, token) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "DPoP");
    assert!(token["refresh_token"].is_string());
    assert_eq!(
        token["authorization_details"],
        json!([{"type": "openid_credential", "credential_configuration_id": "EmployeeBadge",
                "credential_identifiers": ["EmployeeBadge"]}])
    );
    let access = token["access_token"].as_str().unwrap().to_owned();
    let (status, body) = flow
        .credential_request("acme", &mut wallet, &access, true)
        .await;
    assert_eq!(status, 200, "{body}");
    let sd_jwt = body["credentials"][0]["credential"].as_str().unwrap();
    let claims = verify_sd_jwt_vc(flow, "acme", sd_jwt).await;
    // given_name from the ID token; employee_id from userinfo (employee_number).
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(claims["employee_id"], "1001");
    // Spec: OID4VCI 1.0 §8.2: with credential_identifiers, the configuration id is refused.
    let (status, body) = flow
        .credential_request("acme", &mut wallet, &access, false)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_credential_request", "{body}");
    // A DPoP-bound token sent as Bearer is refused (RFC 9449 §7.1).
    let (status, body, headers) = credential(
        flow,
        "acme",
        &access,
        &json!({"credential_identifier": "EmployeeBadge", "proofs": {"jwt": ["x"]}}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("DPoP")
    );
}

async fn an_offer_with_issuer_state_is_redeemed_by_a_login_once(flow: &Flow) {
    let (status, offer) = flow
        .admin_post(
            "/api/v1/issuers/acme/offers",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "grant": "authorization_code"}),
        )
        .await;
    assert_eq!(status, 201, "{offer}");
    let grants = &offer["credential_offer"]["grants"];
    assert!(grants.get(PRE).is_none(), "{offer}");
    let state = grants["authorization_code"]["issuer_state"]
        .as_str()
        .unwrap()
        .to_owned();
    // A forged issuer_state (the public offer id) names nothing.
    let mut wallet = Wallet::new();
    let url = flow.url("/issuers/acme/par");
    let form = par_form(&wallet, &[("issuer_state", offer["id"].as_str().unwrap())]);
    let (status, body, _) = wallet.post(flow, &url, None, Body::Form(form)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // The offer's issuer_state pre-fills the configuration (no scope, no details).
    let code = flow
        .code("acme", &mut wallet, &[("issuer_state", &state)])
        .await;
    let (status, token) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{token}");
    assert!(token.get("authorization_details").is_none(), "{token}");
    let access = token["access_token"].as_str().unwrap().to_owned();
    let (status, body) = flow
        .credential_request("acme", &mut wallet, &access, false)
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, status_body) = flow
        .admin_get(&format!(
            "/api/v1/issuers/acme/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status_body["status"], "credential_issued", "{status_body}");
    // The offer is used: a second login with its issuer_state is refused at PAR.
    let mut other = Wallet::new();
    let form = par_form(&other, &[("issuer_state", &state)]);
    let (status, body, _) = other.post(flow, &url, None, Body::Form(form)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // An authorization_code offer takes no claims or tx_code.
    let (status, body) = flow
        .admin_post(
            "/api/v1/issuers/acme/offers",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "grant": "authorization_code",
                    "tx_code": {"length": 6}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // The demo issuer has no identity provider.
    let (status, body) = flow
        .admin_post(
            "/api/v1/issuers/demo/offers",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "grant": "authorization_code"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

async fn sixteen_racing_token_requests_with_one_code_yield_one_token(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let url = flow.url("/issuers/acme/token");
    // Each racer has its own valid proof (distinct jti, the server's nonce).
    let mut requests = Vec::new();
    for _ in 0..16 {
        requests.push(wallet.proof(flow, "POST", &url, None).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let mut set = JoinSet::new();
    for proof in requests {
        let (http, url, barrier) = (flow.http.clone(), url.clone(), barrier.clone());
        let form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("code_verifier", wallet.verifier.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", CLIENT.to_owned()),
        ];
        set.spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .header("DPoP", proof)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body["error"].as_str().map(str::to_owned))
        });
    }
    let results = set.join_all().await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for (s, e) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*s, e.as_deref()),
            (400, Some("invalid_grant")),
            "{results:?}"
        );
    }
}

async fn bad_authorization_requests_get_the_spec_errors(flow: &Flow) {
    let url = flow.url("/issuers/acme/par");
    let mut wallet = Wallet::new();
    let cases: Vec<(&str, Params<'_>, &str)> = vec![
        (
            "plain PKCE",
            vec![("code_challenge_method", "plain")],
            "invalid_request",
        ),
        (
            "no PKCE",
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (
            "implicit",
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        ("unknown scope", vec![("scope", "payroll")], "invalid_scope"),
        ("nothing named", vec![], "invalid_request"),
        (
            "details of another issuer",
            vec![(
                "authorization_details",
                r#"[{"type":"openid_credential","credential_configuration_id":"EmployeeBadge","locations":["https://evil.example"]}]"#,
            )],
            "invalid_authorization_details",
        ),
        (
            "unknown configuration",
            vec![(
                "authorization_details",
                r#"[{"type":"openid_credential","credential_configuration_id":"Nope"}]"#,
            )],
            "invalid_authorization_details",
        ),
        (
            "details not JSON",
            vec![("authorization_details", "{")],
            "invalid_authorization_details",
        ),
        (
            "http redirect",
            vec![
                ("scope", "employee_badge"),
                ("redirect_uri", "http://wallet.example/cb"),
            ],
            "invalid_request",
        ),
        (
            "request object",
            vec![("scope", "employee_badge"), ("request", "e30.e30.")],
            "request_not_supported",
        ),
    ];
    for (why, extra, error) in cases {
        let form = par_form(&wallet, &extra);
        let (status, body, _) = wallet.post(flow, &url, None, Body::Form(form)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{why}: {body}"
        );
        assert!(body["error_description"].is_string(), "{why}: {body}");
    }
    // A repeated parameter (RFC 6749 §3.1).
    let r = flow
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("response_type=code&response_type=code")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // PAR is required by default: an unpushed request is refused.
    let challenge = wallet.challenge();
    let (status, location, body) = flow
        .authorize(
            "acme",
            &[
                ("client_id", CLIENT),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "employee_badge"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    assert!(location.is_none());
    // request_uri: single use, bound to its client, unknown ones refused.
    let badge_form = par_form(&wallet, &[("scope", "employee_badge")]);
    let request_uri = flow.push("acme", &mut wallet, badge_form.clone()).await;
    let (status, _, body) = flow
        .authorize(
            "acme",
            &[("client_id", "someone-else"), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // (The wrong client consumed it: a pushed request works once, whoever presents it.)
    let (status, _, body) = flow
        .authorize(
            "acme",
            &[("client_id", CLIENT), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let request_uri = flow.push("acme", &mut wallet, badge_form.clone()).await;
    let (status, _, _) = flow
        .authorize(
            "acme",
            &[("client_id", CLIENT), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(status, 302);
    let (status, _, body) = flow
        .authorize(
            "acme",
            &[("client_id", CLIENT), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    let (status, _, body) = flow
        .authorize(
            "acme",
            &[
                ("client_id", CLIENT),
                ("request_uri", "urn:ietf:params:oauth:request_uri:nope"),
            ],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // An expired request_uri (RFC 9126 §2.2: expires_in < 600).
    let request_uri = flow.push("acme", &mut wallet, badge_form.clone()).await;
    flow.clock.advance(120);
    let (status, _, body) = flow
        .authorize(
            "acme",
            &[("client_id", CLIENT), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // The callback with an unknown state, and the provider's error: no code.
    let r = flow
        .http
        .get(flow.url("/issuers/acme/authorize/callback?state=forged&code=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

async fn bad_token_requests_get_the_spec_errors(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let url = flow.url("/issuers/acme/token");
    let base = |code: &str, verifier: &str| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("code_verifier", verifier.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("client_id", CLIENT.to_owned()),
        ]
    };
    let verifier = wallet.verifier.clone();
    let cases: Vec<(&str, Form, &str)> = vec![
        (
            "wrong verifier",
            base(&code, &"x".repeat(43)),
            "invalid_grant",
        ),
        ("no verifier", base(&code, ""), "invalid_request"),
        ("unknown code", base("nope", &verifier), "invalid_grant"),
        (
            "other client",
            {
                let mut f = base(&code, &verifier);
                f[4].1 = "other".into();
                f
            },
            "invalid_grant",
        ),
        (
            "other redirect_uri",
            {
                let mut f = base(&code, &verifier);
                f[3].1 = "https://evil.example/cb".into();
                f
            },
            "invalid_grant",
        ),
    ];
    for (why, form, error) in cases {
        let (status, body, _) = wallet.post(flow, &url, None, Body::Form(form)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{why}: {body}"
        );
    }
    // The code still works after those refusals (none of them consumed it)...
    let (status, body) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{body}");
    // ...and an expired one does not (≤ 60 s).
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    flow.clock.advance(61);
    let (status, body) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Unknown grant type.
    let (status, body, _) = token(flow, "acme", &[("grant_type", "password")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{body}"
    );
    // The demo issuer has no identity provider: the grant is not offered there.
    let (status, body, _) = token(
        flow,
        "demo",
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type")),
        "{body}"
    );
}

async fn dpop_proofs_are_checked_at_every_endpoint(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let token_url = flow.url("/issuers/acme/token");
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.clone()),
        ("code_verifier", wallet.verifier.clone()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("client_id", CLIENT.to_owned()),
    ];
    // The code is bound to the PAR's DPoP key (RFC 9449 §10): no proof, or another key's,
    // is refused and does not consume the code.
    let (status, body, _) = token(
        flow,
        "acme",
        &form
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect::<Vec<_>>(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let mut thief = Wallet::new();
    thief.nonce = wallet.nonce.clone();
    let (status, body, _) = thief
        .post(flow, &token_url, None, Body::Form(form.clone()))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    // The code's binding is the authorization request's (RFC 9449 §10), not a token's.
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not the key the authorization request was bound to"),
        "{body}"
    );
    // Two DPoP headers.
    let p1 = wallet.proof(flow, "POST", &token_url, None).await;
    let p2 = wallet.proof(flow, "POST", &token_url, None).await;
    let r = flow
        .http
        .post(&token_url)
        .header("DPoP", p1)
        .header("DPoP", p2)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A proof for another URL or method, or a replayed one.
    let wrong_htu = wallet
        .proof(flow, "POST", &flow.url("/issuers/acme/par"), None)
        .await;
    let wrong_htm = wallet.proof(flow, "GET", &token_url, None).await;
    for p in [wrong_htu, wrong_htm] {
        let r = flow
            .http
            .post(&token_url)
            .header("DPoP", p)
            .form(&form)
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    }
    let good = wallet.proof(flow, "POST", &token_url, None).await;
    let r = flow
        .http
        .post(&token_url)
        .header("DPoP", &good)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap().to_owned();
    // A proof without a server nonce gets use_dpop_nonce with a DPoP-Nonce header.
    let fresh = Wallet::new();
    let offer = flow.offer("demo", &badge_offer(false)).await;
    let demo_token = flow.url("/issuers/demo/token");
    let p = fresh.proof(flow, "POST", &demo_token, None).await;
    let pre = [
        ("grant_type", PRE.to_owned()),
        ("pre-authorized_code", code_of(&offer)),
    ];
    let r = flow
        .http
        .post(&demo_token)
        .header("DPoP", p)
        .form(&pre)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("dpop-nonce").is_some());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "use_dpop_nonce", "{body}");
    // Resource side: ath must hash this token; the key must be the token's; replays fail.
    let cred_url = flow.url("/issuers/acme/credential");
    let n = nonce(flow, "acme").await;
    let (kp, _) = proof(flow, &flow.issuer_url("acme"), Some(&n)).await;
    let request = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [kp]}});
    let wrong_ath = wallet
        .proof(flow, "POST", &cred_url, Some("another-token"))
        .await;
    let r = flow
        .http
        .post(&cred_url)
        .header("DPoP", wrong_ath)
        .header("Authorization", format!("DPoP {access}"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("DPoP")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    let other_key = thief.proof(flow, "POST", &cred_url, Some(&access)).await;
    let r = flow
        .http
        .post(&cred_url)
        .header("DPoP", other_key)
        .header("Authorization", format!("DPoP {access}"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not the key the access token is bound to"),
        "{body}"
    );
    let ok = wallet.proof(flow, "POST", &cred_url, Some(&access)).await;
    let r = flow
        .http
        .post(&cred_url)
        .header("DPoP", &ok)
        .header("Authorization", format!("DPoP {access}"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // The same proof again: its jti is spent (G2).
    let n = nonce(flow, "acme").await;
    let (kp, _) = proof(flow, &flow.issuer_url("acme"), Some(&n)).await;
    let request = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [kp]}});
    let r = flow
        .http
        .post(&cred_url)
        .header("DPoP", &ok)
        .header("Authorization", format!("DPoP {access}"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Pre-authorized code with DPoP: the token is DPoP-bound too; Bearer keeps working
    // without a proof (the issuer does not require DPoP).
    let offer = flow.offer("demo", &badge_offer(false)).await;
    let demo_token = flow.url("/issuers/demo/token");
    let form = vec![
        ("grant_type", PRE.to_owned()),
        ("pre-authorized_code", code_of(&offer)),
    ];
    let mut w = Wallet::new();
    let (status, body, _) = w.post(flow, &demo_token, None, Body::Form(form)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let bearer = fresh_token(flow, "demo", &badge_offer(false)).await;
    assert!(!bearer.is_empty());
}

async fn refresh_tokens_rotate_and_a_replayed_code_revokes(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let (status, token) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["scope"], "employee_badge");
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    let url = flow.url("/issuers/acme/token");
    let form = |r: &str| {
        vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", r.to_owned()),
            ("client_id", CLIENT.to_owned()),
        ]
    };
    // Bound to the wallet's DPoP key.
    let mut thief = Wallet::new();
    let (status, body, _) = thief
        .post(flow, &url, None, Body::Form(form(&refresh)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("not the key the refresh token is bound to"),
        "{body}"
    );
    let (status, next, _) = wallet
        .post(flow, &url, None, Body::Form(form(&refresh)))
        .await;
    assert_eq!(status, 200, "{next}");
    let next_refresh = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next_refresh, refresh);
    let access = next["access_token"].as_str().unwrap().to_owned();
    let (status, body) = flow
        .credential_request("acme", &mut wallet, &access, false)
        .await;
    assert_eq!(status, 200, "{body}");
    // The old refresh token is spent.
    let (status, body, _) = wallet
        .post(flow, &url, None, Body::Form(form(&refresh)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Spec: RFC 6749 §4.1.2: replaying the code revokes what it gave.
    let (status, body) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body, _) = wallet
        .post(flow, &url, None, Body::Form(form(&next_refresh)))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

async fn codes_and_requests_of_one_issuer_do_not_work_at_another(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let (status, body) = flow.redeem("globex", &mut wallet, &code).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let badge_form = par_form(&wallet, &[("scope", "employee_badge")]);
    let request_uri = flow.push("acme", &mut wallet, badge_form.clone()).await;
    let (status, _, body) = flow
        .authorize(
            "globex",
            &[("client_id", CLIENT), ("request_uri", &request_uri)],
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
    // acme's code still works at acme.
    let (status, body) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = flow
        .credential_request("globex", &mut wallet, &access, false)
        .await;
    assert_eq!(status, 401, "{body}");
}

async fn an_identity_provider_outage_is_temporarily_unavailable(flow: &Flow) {
    // A provider that refuses the login (wrong password) never reaches vdc; one whose token
    // endpoint fails is answered to the wallet as temporarily_unavailable, with state and iss.
    let failing = start_flow_with(Backend::Sqlite, &["--fail-token"]).await;
    let mut wallet = Wallet::new();
    let back = failing
        .front_channel("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let q = query_of(&back);
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(q["error"], "temporarily_unavailable", "{back}");
    assert_eq!(q["state"], "wallet-state-1");
    assert_eq!(q["iss"], failing.issuer_url("acme"));
    assert!(!q.contains_key("code"));
    failing.stop().await;
    // The healthy flow still works.
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    assert!(!code.is_empty());
}

/// The backend `flow` runs on (for the extra flows a test starts).
fn backend_of(flow: &Flow) -> Backend {
    if flow.database_url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// A revocation request (RFC 7009 §2.1); returns status and body.
async fn revoke(flow: &Flow, issuer: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = flow
        .http
        .post(flow.url(&format!("/issuers/{issuer}/revoke")))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A login of `user` at `issuer` redeemed: (access token, refresh token).
async fn login_tokens(
    flow: &Flow,
    issuer: &str,
    wallet: &mut Wallet,
    user: (&str, &str),
) -> (String, String) {
    let code = flow
        .code_as(issuer, wallet, &[("scope", "employee_badge")], user)
        .await;
    let (status, token) = flow.redeem(issuer, wallet, &code).await;
    assert_eq!(status, 200, "{token}");
    (
        token["access_token"].as_str().unwrap().to_owned(),
        token["refresh_token"].as_str().unwrap().to_owned(),
    )
}

const ADA: (&str, &str) = ("ada", "lovelace-test");
const BOB: (&str, &str) = ("bob", "bob-test");

/// The `refresh_token` grant with the wallet's key; returns status and body.
async fn refresh(flow: &Flow, issuer: &str, wallet: &mut Wallet, rt: &str) -> (u16, Value) {
    let url = flow.url(&format!("/issuers/{issuer}/token"));
    let form = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", rt.to_owned()),
        ("client_id", CLIENT.to_owned()),
    ];
    let (status, body, _) = wallet.post(flow, &url, None, Body::Form(form)).await;
    (status, body)
}

async fn revoking_a_token_ends_its_authorization(flow: &Flow) {
    // Spec: RFC 8414 §2: the endpoint is advertised, for public clients.
    let meta: Value = flow
        .http
        .get(flow.url("/.well-known/oauth-authorization-server/issuers/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        meta["revocation_endpoint"],
        flow.url("/issuers/acme/revoke")
    );
    assert_eq!(
        meta["revocation_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    let mut a = Wallet::new();
    let (a_access, a_refresh) = login_tokens(flow, "acme", &mut a, ADA).await;
    let mut b = Wallet::new();
    let (b_access, b_refresh) = login_tokens(flow, "acme", &mut b, ADA).await;
    // Refused requests (RFC 7009 §2.2.1) revoke nothing.
    let cases: Vec<(&str, Params<'_>, &str)> = vec![
        ("no token", vec![("client_id", CLIENT)], "invalid_request"),
        (
            "empty token",
            vec![("token", ""), ("client_id", CLIENT)],
            "invalid_request",
        ),
        (
            "unknown hint",
            vec![
                ("token", &a_refresh),
                ("token_type_hint", "id_token"),
                ("client_id", CLIENT),
            ],
            "unsupported_token_type",
        ),
        (
            "no client_id",
            vec![("token", &a_refresh)],
            "invalid_request",
        ),
        (
            "another client",
            vec![("token", &a_refresh), ("client_id", "wallet-2")],
            "invalid_grant",
        ),
    ];
    for (why, form, error) in cases {
        let (status, body) = revoke(flow, "acme", &form).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some(error)),
            "{why}: {body}"
        );
    }
    let long = "x".repeat(5000);
    let (status, body) = revoke(flow, "acme", &[("token", &long), ("client_id", CLIENT)]).await;
    assert_eq!(status, 400, "{body}");
    // Spec: RFC 7009 §2.2: an unknown token is answered like a revoked one; acme's token is
    // unknown at globex, and revoking it there ends nothing.
    for issuer in ["acme", "globex"] {
        let (status, body) = revoke(
            flow,
            issuer,
            &[("token", "never-issued"), ("client_id", CLIENT)],
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, _) = revoke(
        flow,
        "globex",
        &[("token", &a_refresh), ("client_id", CLIENT)],
    )
    .await;
    assert_eq!(status, 200);
    // a's refresh token, with a wrong hint: RFC 7009 §2.1, the search extends.
    let (status, body) = revoke(
        flow,
        "acme",
        &[
            ("token", &a_refresh),
            ("token_type_hint", "access_token"),
            ("client_id", CLIENT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Spec: RFC 7009 §2.1: the access token of the same authorization is dead too.
    let (status, body) = refresh(flow, "acme", &mut a, &a_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = flow
        .credential_request("acme", &mut a, &a_access, false)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let (status, _) = revoke(
        flow,
        "acme",
        &[("token", &a_refresh), ("client_id", CLIENT)],
    )
    .await;
    assert_eq!(status, 200, "revoked again");
    // b's authorization is untouched; revoking its access token ends its refresh token.
    let (status, body) = flow
        .credential_request("acme", &mut b, &b_access, false)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = revoke(
        flow,
        "acme",
        &[
            ("token", &b_access),
            ("token_type_hint", "access_token"),
            ("client_id", CLIENT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(flow, "acme", &mut b, &b_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // A pre-authorized grant's access token has no authorization behind it.
    let pre = fresh_token(flow, "acme", &badge_offer(false)).await;
    let (status, body) = revoke(flow, "acme", &[("token", &pre), ("client_id", CLIENT)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_token_type")),
        "{body}"
    );
    // The demo issuer has no identity provider: no refresh tokens, no revocation.
    let (status, body) = revoke(flow, "demo", &[("token", "x"), ("client_id", CLIENT)]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request")),
        "{body}"
    );
}

async fn offboarding_a_subject_revokes_its_authorizations_at_one_issuer(flow: &Flow) {
    // ada (sub emp-1001): two redeemed logins and one unredeemed code at acme, one login at
    // globex; bob (emp-1002) at acme.
    let mut a1 = Wallet::new();
    let (a1_access, a1_refresh) = login_tokens(flow, "acme", &mut a1, ADA).await;
    let mut a2 = Wallet::new();
    let (_, a2_refresh) = login_tokens(flow, "acme", &mut a2, ADA).await;
    let mut a3 = Wallet::new();
    let pending = flow
        .code("acme", &mut a3, &[("scope", "employee_badge")])
        .await;
    let mut g = Wallet::new();
    let (g_access, g_refresh) = login_tokens(flow, "globex", &mut g, ADA).await;
    let mut bob = Wallet::new();
    let (_, bob_refresh) = login_tokens(flow, "acme", &mut bob, BOB).await;

    let path = "/api/v1/issuers/acme/authorizations?subject=emp-1001";
    let delete = |key: Option<&str>, path: &str| {
        let mut r = flow.http.delete(flow.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        r.send()
    };
    // Unauthenticated, a key without credentials:status, or a key of another issuer.
    let r = delete(None, path).await.unwrap();
    assert_eq!(r.status(), 401);
    let mut keys = Vec::new();
    for (name, issuers, scope) in [
        ("reader", "acme", "read"),
        ("globex-offboarding", "globex", "credentials:status"),
    ] {
        let (status, key) = flow
            .admin_post(
                "/api/v1/api-keys",
                &json!({"name": name, "issuers": [issuers], "verifiers": [], "scopes": [scope]}),
            )
            .await;
        assert_eq!(status, 201, "{key}");
        keys.push(key["key"].as_str().unwrap().to_owned());
    }
    for key in &keys {
        let r = delete(Some(key), path).await.unwrap();
        assert_eq!(r.status(), 403);
    }
    // Nothing was revoked by the refused calls.
    let (status, body) = flow
        .credential_request("acme", &mut a1, &a1_access, false)
        .await;
    assert_eq!(status, 200, "{body}");

    let r = flow
        .admin(reqwest::Method::DELETE, path)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"revoked": 3}), "two with tokens, one code");
    for (wallet, rt) in [(&mut a1, &a1_refresh), (&mut a2, &a2_refresh)] {
        let (status, body) = refresh(flow, "acme", wallet, rt).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
    }
    let (status, body) = flow
        .credential_request("acme", &mut a1, &a1_access, false)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token")),
        "{body}"
    );
    let (status, body) = flow.redeem("acme", &mut a3, &pending).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the unredeemed code is dead: {body}"
    );
    // Another issuer's authorizations of the same subject, and another subject's, stay.
    let (status, body) = flow
        .credential_request("globex", &mut g, &g_access, false)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(flow, "globex", &mut g, &g_refresh).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = refresh(flow, "acme", &mut bob, &bob_refresh).await;
    assert_eq!(status, 200, "{body}");
    // Again: nothing left.
    let (status, body) = {
        let r = flow
            .admin(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!((status, body), (200, json!({"revoked": 0})));
    // The scoped key of globex may offboard there.
    let r = delete(
        Some(&keys[1]),
        "/api/v1/issuers/globex/authorizations?subject=emp-1001",
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"revoked": 1}));
    // Bad input: 400 or 404, never 500.
    let long = format!(
        "/api/v1/issuers/acme/authorizations?subject={}",
        "x".repeat(256)
    );
    for (p, status) in [
        ("/api/v1/issuers/acme/authorizations", 400),
        ("/api/v1/issuers/acme/authorizations?subject=", 400),
        (
            "/api/v1/issuers/acme/authorizations?subject=a&subject=b",
            400,
        ),
        ("/api/v1/issuers/acme/authorizations?subject=a&sub=b", 400),
        (long.as_str(), 400),
        ("/api/v1/issuers/nope/authorizations?subject=a", 404),
    ] {
        let r = flow.admin(reqwest::Method::DELETE, p).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{p}");
    }
    // The call is audited (who, what, where, outcome), without the subject (G10).
    let (status, log) = flow.admin_get("/api/v1/audit?issuer=acme&limit=1000").await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "DELETE /api/v1/issuers/{issuer}/authorizations")
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["outcome"] == "200" && e["actor"] == "admin"),
        "{entries:?}"
    );
    assert!(entries.iter().any(|e| e["outcome"] == "403"), "{entries:?}");
    assert!(!log.to_string().contains("emp-1001"), "{log}");
}

async fn stale_dpop_proofs_are_refused_at_the_token_and_credential_endpoints(flow: &Flow) {
    let mut wallet = Wallet::new();
    let code = flow
        .code("acme", &mut wallet, &[("scope", "employee_badge")])
        .await;
    let token_url = flow.url("/issuers/acme/token");
    let form = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.clone()),
        ("code_verifier", wallet.verifier.clone()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("client_id", CLIENT.to_owned()),
    ];
    let now = flow.clock.now();
    // Spec: RFC 9449 §4.3 item 11, §11.1: iat within 300 s of now, either way.
    for iat in [now.plus(-600), now.plus(600)] {
        let stale = wallet.proof_at(iat, "POST", &token_url, None).await;
        let r = flow
            .http
            .post(&token_url)
            .header("DPoP", stale)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
        assert!(
            body["error_description"].as_str().unwrap().contains("iat"),
            "{body}"
        );
    }
    // The refusals did not consume the code.
    let (status, token) = flow.redeem("acme", &mut wallet, &code).await;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"].as_str().unwrap().to_owned();
    let cred_url = flow.url("/issuers/acme/credential");
    let n = nonce(flow, "acme").await;
    let (kp, _) = proof(flow, &flow.issuer_url("acme"), Some(&n)).await;
    let request = json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [kp]}});
    let send = |proof: String| {
        flow.http
            .post(&cred_url)
            .header("DPoP", proof)
            .header("Authorization", format!("DPoP {access}"))
            .json(&request)
            .send()
    };
    let stale = wallet
        .proof_at(now.plus(-600), "POST", &cred_url, Some(&access))
        .await;
    let r = send(stale).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("DPoP")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
    // 200 s old is inside the window.
    let recent = wallet
        .proof_at(now.plus(-200), "POST", &cred_url, Some(&access))
        .await;
    let r = send(recent).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn a_forged_id_token_is_access_denied_and_issues_nothing(flow: &Flow) {
    // The provider's token endpoint hands out an ID token signed by a key outside its JWKS,
    // or with another aud or nonce: vdc-oidc refuses it, and the wallet gets access_denied
    // with state and iss (RFC 6749 §4.1.2.1, RFC 9207 §2), no code.
    for forge in ["key", "aud", "nonce"] {
        let forged = start_flow_with(backend_of(flow), &["--forge-id-token", forge]).await;
        let mut wallet = Wallet::new();
        let form = par_form(&wallet, &[("scope", "employee_badge")]);
        let request_uri = forged.push("acme", &mut wallet, form).await;
        let (status, location, body) = forged
            .authorize(
                "acme",
                &[("client_id", CLIENT), ("request_uri", &request_uri)],
            )
            .await;
        assert_eq!(status, 302, "{body}");
        let callback = forged.url("/issuers/acme/authorize/callback");
        let back = forged
            .idp
            .login(&location.unwrap(), &callback, "ada", "lovelace-test")
            .await;
        let r = forged.http.get(&back).send().await.unwrap();
        assert_eq!(r.status(), 302, "{forge}");
        let to_wallet = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(to_wallet.starts_with(REDIRECT), "{forge}: {to_wallet}");
        let q = query_of(&to_wallet);
        assert_eq!(q["error"], "access_denied", "{forge}: {to_wallet}");
        assert_eq!(q["state"], "wallet-state-1");
        assert_eq!(q["iss"], forged.issuer_url("acme"));
        assert!(!q.contains_key("code"), "{forge}: {to_wallet}");
        // The login is over: the provider's redirect replayed finds nothing.
        let r = forged.http.get(&back).send().await.unwrap();
        assert_eq!(r.status(), 400, "{forge}");
        assert!(r.headers().get("location").is_none());
        forged.stop().await;
    }
}
