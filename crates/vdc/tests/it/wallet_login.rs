//! The holder SDK's and the `vdc wallet` CLI's authorization code flow end to end over real
//! HTTP: `Wallet::begin_authorization` pushes the request (RFC 9126, PKCE, DPoP), the user
//! logs in at a real OpenID Provider (npm `oidc-provider`, `conformance/idp`),
//! `Wallet::finish_authorization` checks the redirect (state, RFC 9207 iss), redeems the
//! code and stores a holder-bound credential carrying the login's claims.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use vdc_holder::{AuthorizationResponseProblem, Error, ErrorCode, Wallet};
use vdc_oidc::IdpPeer;
use vdc_testkit::{Backend, TestServer};

use crate::support::verify_sd_jwt_vc;

vdc_testkit::both_backends_with!(
    start_login,
    the_sdk_logs_in_and_stores_a_holder_bound_credential_with_the_login_claims,
    bad_redirects_are_refused_with_typed_errors_and_store_nothing,
    a_wallet_initiated_login_needs_no_offer
);

const CLIENT: &str = "sdk-wallet";
const REDIRECT: &str = "https://wallet.example/cb";
const IDP_CLIENT: &str = "vdc-issuer";
const IDP_SECRET: &str = "idp-secret-for-tests";
const BOUND: Duration = Duration::from_secs(90);

/// A server with issuer `acme` logging in at a fresh provider.
struct Login {
    server: TestServer,
    idp: IdpPeer,
}

impl Login {
    async fn stop(self) {
        let Login { server, idp } = self;
        drop(idp);
        server.stop().await;
    }
}

impl std::ops::Deref for Login {
    type Target = TestServer;
    fn deref(&self) -> &TestServer {
        &self.server
    }
}

fn free_port() -> u16 {
    crate::support::free_port()
}

async fn start_login(backend: Backend) -> Login {
    let port = free_port();
    let idp_origin = format!("http://127.0.0.1:{port}");
    let origin = idp_origin.clone();
    let server = TestServer::start_with(backend, move |c| c.outbound_allow = origin).await;
    let callback = server.url("/issuers/acme/authorize/callback");
    let clients = json!([{"client_id": IDP_CLIENT, "client_secret": IDP_SECRET, "redirect_uris": [callback]}]);
    let port_arg = port.to_string();
    let idp = IdpPeer::start(clients, "RS256", &["--port", &port_arg]).await;
    assert_eq!(idp.issuer(), idp_origin);
    let (status, body) = server
        .admin_post("/api/v1/issuers", &issuer_definition(idp.issuer()))
        .await;
    assert_eq!(status, 201, "{body}");
    Login { server, idp }
}

fn issuer_definition(idp: &str) -> Value {
    json!({ "id": "acme",
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

/// An `authorization_code` offer of `acme`; returns (offer id, offer URI).
async fn login_offer(server: &TestServer) -> (String, String) {
    let offer = server
        .offer(
            "acme",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "grant": "authorization_code"}),
        )
        .await;
    assert!(
        offer["credential_offer"]["grants"]["authorization_code"]["issuer_state"].is_string(),
        "{offer}"
    );
    (
        offer["id"].as_str().unwrap().to_owned(),
        offer["offer_uri"].as_str().unwrap().to_owned(),
    )
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .filter(|(k, _)| k != name)
        .collect();
    u.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    u.into()
}

fn thumbprint_of_jwk(jwk: &Value) -> String {
    vdc_core::jose::Jwk::from_value(jwk)
        .unwrap()
        .key
        .thumbprint()
}

async fn the_sdk_logs_in_and_stores_a_holder_bound_credential_with_the_login_claims(l: &Login) {
    let (offer_id, offer_uri) = login_offer(l).await;
    let wallet = l.wallet();
    let offer = wallet.resolve_offer(&offer_uri).await.unwrap();
    // The pre-authorized path refuses this offer before spending anything.
    assert!(matches!(
        wallet.accept(&offer, None, 1).await,
        Err(Error::Unsupported(_))
    ));
    let session = wallet
        .begin_authorization(&offer, REDIRECT, CLIENT)
        .await
        .unwrap();
    // Spec: RFC 9126 §4: the browser gets only client_id and request_uri.
    let url = url::Url::parse(&session.authorization_url).unwrap();
    assert!(
        session
            .authorization_url
            .starts_with(&l.url("/issuers/acme/authorize?")),
        "{}",
        session.authorization_url
    );
    let mut keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    keys.sort();
    assert_eq!(keys, ["client_id", "request_uri"]);
    assert!(session.expires_in.is_some_and(|e| e > 0));
    // The session survives a round trip through JSON (a wallet may persist it) and its
    // Debug shows no secret.
    let json: Value = serde_json::to_value(&session).unwrap();
    let session: vdc_holder::AuthorizationSession = serde_json::from_value(json.clone()).unwrap();
    let debug = format!("{session:?}");
    let verifier = json["code_verifier"].as_str().unwrap();
    assert_eq!(verifier.len(), 43, "RFC 7636 §4.1");
    let dpop_d = json["dpop"]["key"]["d"].as_str().unwrap();
    assert!(!debug.contains(verifier), "{debug}");
    assert!(!debug.contains(dpop_d), "{debug}");

    let redirect = l
        .idp
        .login(&session.authorization_url, REDIRECT, "ada", "lovelace-test")
        .await;
    let accepted = wallet
        .finish_authorization(&session, &redirect, 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1, "{accepted:?}");
    assert!(accepted.deferred.is_empty());
    assert!(
        accepted.notification_errors.is_empty(),
        "{:?}",
        accepted.notification_errors
    );
    let c = &accepted.credentials[0];
    assert_eq!(c.credential_configuration_id, "EmployeeBadge");
    // Spec: OID4VCI 1.0 §8.2: authorization_details gave credential_identifiers, so the
    // request named one.
    assert_eq!(c.credential_identifier.as_deref(), Some("EmployeeBadge"));
    assert_eq!(c.credential_issuer, l.issuer_url("acme"));
    let holder = c.holder_private_jwk.as_ref().expect("holder-bound");
    let claims = verify_sd_jwt_vc(l, "acme", &c.credential).await;
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(claims["employee_id"], "1001");
    assert_eq!(
        thumbprint_of_jwk(&claims["cnf"]["jwk"]),
        holder.public_key().unwrap().thumbprint()
    );
    let stored = wallet.list().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, c.id);
    let (_, status) = l
        .admin_get(&format!("/api/v1/issuers/acme/offers/{offer_id}"))
        .await;
    assert_eq!(status["status"], "credential_issued", "{status}");

    // Spec: RFC 9449 §5: DPoP-bound tokens; the refresh token rotates with the same key.
    let tokens = accepted.tokens.expect("tokens of the authorization");
    assert_eq!(tokens.token_type, "DPoP");
    assert!(tokens.dpop.is_some());
    assert!(!format!("{tokens:?}").contains(tokens.access_token.as_str()));
    let refresh = tokens.refresh_token.clone().expect("a refresh token");
    let refreshed = wallet.refresh(&tokens).await.unwrap();
    assert_ne!(refreshed.access_token, tokens.access_token);
    assert_ne!(refreshed.refresh_token.as_ref(), Some(&refresh));
    // The rotated-out refresh token no longer works (RFC 9700 §4.14.2).
    let replay = wallet.refresh(&tokens).await.unwrap_err();
    assert_eq!(
        replay.oauth_code(),
        Some(&ErrorCode::InvalidGrant),
        "{replay}"
    );
}

async fn bad_redirects_are_refused_with_typed_errors_and_store_nothing(l: &Login) {
    let (_, offer_uri) = login_offer(l).await;
    let wallet: Wallet = l.wallet();
    let offer = wallet.resolve_offer(&offer_uri).await.unwrap();
    let session = wallet
        .begin_authorization(&offer, REDIRECT, CLIENT)
        .await
        .unwrap();
    let redirect = l
        .idp
        .login(&session.authorization_url, REDIRECT, "ada", "lovelace-test")
        .await;
    let iss = l.issuer_url("acme");

    let forged_state = with_param(&redirect, "state", "not-the-session-state");
    match wallet
        .finish_authorization(&session, &forged_state, 1)
        .await
    {
        Err(Error::InvalidAuthorizationResponse(AuthorizationResponseProblem::StateMismatch)) => {}
        other => panic!("wrong state: {other:?}"),
    }
    // Spec: RFC 9207 §2.4: a response naming another issuer is a mix-up.
    let foreign_iss = with_param(&redirect, "iss", "https://evil.example");
    match wallet.finish_authorization(&session, &foreign_iss, 1).await {
        Err(Error::InvalidAuthorizationResponse(AuthorizationResponseProblem::IssuerMismatch)) => {}
        other => panic!("foreign iss: {other:?}"),
    }
    // The server promises iss (authorization_response_iss_parameter_supported): a response
    // without it is refused too.
    let mut no_iss = url::Url::parse(&redirect).unwrap();
    let kept: Vec<(String, String)> = no_iss
        .query_pairs()
        .filter(|(k, _)| k != "iss")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    no_iss.query_pairs_mut().clear().extend_pairs(kept);
    match wallet
        .finish_authorization(&session, no_iss.as_str(), 1)
        .await
    {
        Err(Error::InvalidAuthorizationResponse(AuthorizationResponseProblem::IssuerMissing)) => {}
        other => panic!("missing iss: {other:?}"),
    }
    // Spec: RFC 6749 §4.1.2.1: an error response becomes a typed error.
    let denied = url::Url::parse_with_params(
        REDIRECT,
        &[
            ("error", "access_denied"),
            ("error_description", "the user declined"),
            ("state", session.state.as_str()),
            ("iss", iss.as_str()),
        ],
    )
    .unwrap();
    match wallet
        .finish_authorization(&session, denied.as_str(), 1)
        .await
    {
        Err(Error::AuthorizationRefused { code, description }) => {
            assert_eq!(code, ErrorCode::AccessDenied);
            assert_eq!(description.as_deref(), Some("the user declined"));
        }
        other => panic!("access_denied: {other:?}"),
    }
    // A redirect to somewhere else is not this session's.
    let elsewhere = redirect.replacen(REDIRECT, "https://attacker.example/cb", 1);
    match wallet.finish_authorization(&session, &elsewhere, 1).await {
        Err(Error::InvalidAuthorizationResponse(
            AuthorizationResponseProblem::NotTheRedirectUri,
        )) => {}
        other => panic!("other redirect: {other:?}"),
    }
    assert!(wallet.list().await.unwrap().is_empty());
    // Nothing was redeemed by the refusals: the genuine redirect still works, once.
    let accepted = wallet
        .finish_authorization(&session, &redirect, 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);
    let again = wallet
        .finish_authorization(&session, &redirect, 1)
        .await
        .unwrap_err();
    assert_eq!(
        again.oauth_code(),
        Some(&ErrorCode::InvalidGrant),
        "{again}"
    );
    assert_eq!(wallet.list().await.unwrap().len(), 1);
}

async fn a_wallet_initiated_login_needs_no_offer(l: &Login) {
    let wallet = l.wallet();
    let issuer = l.issuer_url("acme");
    // An unknown configuration is refused before anything is pushed.
    match wallet
        .begin_wallet_initiated_authorization(&issuer, &["Nope".to_owned()], REDIRECT, CLIENT)
        .await
    {
        Err(Error::Metadata(m)) => assert!(m.contains("Nope"), "{m}"),
        other => panic!("unknown configuration: {other:?}"),
    }
    // Spec: RFC 8252 §7.3: loopback redirects use an IP literal, never `localhost`.
    assert!(matches!(
        wallet
            .begin_wallet_initiated_authorization(
                &issuer,
                &["EmployeeBadge".to_owned()],
                "http://localhost:8123/cb",
                CLIENT
            )
            .await,
        Err(Error::InvalidArgument(_))
    ));
    let session = wallet
        .begin_wallet_initiated_authorization(
            &issuer,
            &["EmployeeBadge".to_owned()],
            REDIRECT,
            CLIENT,
        )
        .await
        .unwrap();
    let redirect = l
        .idp
        .login(&session.authorization_url, REDIRECT, "bob", "bob-test")
        .await;
    let accepted = wallet
        .finish_authorization(&session, &redirect, 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);
    let claims = verify_sd_jwt_vc(l, "acme", &accepted.credentials[0].credential).await;
    assert_eq!(claims["given_name"], "Bob");
    assert_eq!(claims["family_name"], "Builder");
}

/// Kills the child on drop (a failed assertion must not leave it running).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `vdc wallet --dir DIR <args> --insecure-http --redirect-port P`, logs in as ada
/// through the URL it prints, sends the browser to its loopback listener, and returns the
/// CLI's stdout lines after it exited 0.
async fn cli_login(l: &Login, dir: &std::path::Path, args: &[&str]) -> Vec<String> {
    let port = free_port();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_vdc"))
            .args(["wallet", "--dir"])
            .arg(dir)
            .args(args)
            .args([
                "--insecure-http",
                "--redirect-port",
                &port.to_string(),
                "--login-timeout",
                "120",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let prefix = "open this URL to log in: ";
    let first = lines
        .recv_timeout(BOUND)
        .expect("the CLI printed the login URL");
    let login_url = first
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(
        login_url.starts_with(&l.url("/issuers/acme/authorize?")),
        "{login_url}"
    );
    // Spec: RFC 8252 §7.3: the redirect goes to the loopback listener of the CLI.
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let redirect = l
        .idp
        .login(&login_url, &redirect_uri, "ada", "lovelace-test")
        .await;
    let page = l.http.get(&redirect).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("close this window"),
        "the browser is told it is done"
    );
    let (exit, mut child) = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                return (s, child);
            }
            assert!(started.elapsed() < BOUND, "the CLI did not exit");
            // A blocking thread, not the runtime: polling a child process's exit.
            std::thread::park_timeout(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let mut rest = Vec::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        rest.push(line);
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    assert!(
        exit.success(),
        "exit {exit:?}; stdout {rest:?}; stderr {stderr}"
    );
    rest
}

fn assert_issued(l: &Login, dir: &std::path::Path, out: &[String]) {
    let issued = out
        .iter()
        .find(|l| {
            l.starts_with("credential issued: dc+sd-jwt https://acme.example/vct/employee-badge")
        })
        .unwrap_or_else(|| panic!("no credential line in {out:?}"));
    assert!(issued.contains(&l.issuer_url("acme")), "{issued}");
    // The credential is in the wallet directory.
    let list = Command::new(env!("CARGO_BIN_EXE_vdc"))
        .args(["wallet", "--dir"])
        .arg(dir)
        .arg("list")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains("https://acme.example/vct/employee-badge"),
        "{listed}"
    );
}

fn wallet_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-wallet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vdc_wallet_accept_logs_in_through_a_loopback_redirect() {
    let l = start_login(Backend::Sqlite).await;
    let (_, offer_uri) = login_offer(&l).await;
    let dir = wallet_dir("accept");
    let out = cli_login(&l, &dir, &["accept", &offer_uri]).await;
    assert_issued(&l, &dir, &out);
    let _ = std::fs::remove_dir_all(&dir);
    l.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vdc_wallet_request_logs_in_without_an_offer() {
    let l = start_login(Backend::Sqlite).await;
    let dir = wallet_dir("request");
    let issuer = l.issuer_url("acme");
    let out = cli_login(
        &l,
        &dir,
        &[
            "request",
            "--issuer",
            &issuer,
            "--configuration",
            "EmployeeBadge",
        ],
    )
    .await;
    assert_issued(&l, &dir, &out);
    let _ = std::fs::remove_dir_all(&dir);
    l.stop().await;
}
