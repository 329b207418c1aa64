//! The whole login over real HTTP against `conformance/idp` (npm oidc-provider): discovery,
//! the authentication request, the login form (login.mjs as the browser), the token request
//! with client_secret_basic and PKCE, ID token validation and UserInfo.

use serde_json::{Value, json};
use url::Url;
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::time::{Clock as _, SystemClock, UnixTime};
use vdc_oidc::{IdpPeer, Login, OidcError, ProviderConfig, RelyingParty};
use zeroize::Zeroizing;

const CLIENT_ID: &str = "vdc-issuer";
// Characters RFC 6749 §2.3.1 makes the client form-encode before base64 (`:` `+` `%` ` `).
const CLIENT_SECRET: &str = "s3cret:with+plus%and space";
const REDIRECT: &str = "https://issuer.vdc.example/acme/authorize/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const STATE: &str = "af0ifjsldkj";
const NONCE: &str = "n-0S6_WzA2Mj";

fn clients() -> Value {
    json!([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT]}])
}

/// A fetcher that may reach the peer's plain-http loopback origin (and nothing else
/// internal), like a deployment with `VDC_OUTBOUND_ALLOW`.
fn fetcher(peer: &IdpPeer) -> Fetcher {
    Fetcher::new(FetchPolicy {
        allow_origins: vec![peer.issuer().to_owned()],
        ..FetchPolicy::default()
    })
    .unwrap()
}

fn config(issuer: &str, secret: &str) -> ProviderConfig {
    ProviderConfig {
        issuer: issuer.to_owned(),
        client_id: CLIENT_ID.into(),
        client_secret: Zeroizing::new(secret.to_owned()),
        scopes: vec!["profile".into(), "email".into(), "employee".into()],
        redirect_uri: REDIRECT.into(),
    }
}

fn now() -> UnixTime {
    SystemClock.now()
}

async fn discover(peer: &IdpPeer) -> RelyingParty {
    RelyingParty::discover(&fetcher(peer), config(peer.issuer(), CLIENT_SECRET))
        .await
        .unwrap()
}

/// Logs `user` in and returns the authorization code from the redirect (checking `state`
/// and the RFC 9207 `iss` on the way).
async fn code_for(peer: &IdpPeer, rp: &RelyingParty, user: &str, password: &str) -> String {
    let url = rp.authorization_url(STATE, NONCE, VERIFIER);
    let redirect = Url::parse(&peer.login(&url, REDIRECT, user, password).await).unwrap();
    let param = |name: &str| {
        redirect
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some(STATE));
    assert_eq!(param("iss").as_deref(), Some(peer.issuer()));
    assert!(param("error").is_none(), "{redirect}");
    param("code").expect("the redirect carries a code")
}

async fn full_login(alg: &str) {
    let peer = IdpPeer::start(clients(), alg, &[]).await;
    let rp = discover(&peer).await;
    let shown = format!("{rp:?}");
    assert!(
        !shown.contains("s3cret"),
        "Debug prints the secret: {shown}"
    );

    // employee_number is not in the ID token: UserInfo is asked.
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let login: Login = rp
        .complete(
            &code,
            VERIFIER,
            NONCE,
            &["given_name", "employee_number"],
            now(),
        )
        .await
        .unwrap();
    assert_eq!(login.subject, "emp-1001");
    assert_eq!(login.claim("sub"), Some(&json!("emp-1001")));
    assert_eq!(login.claim("given_name"), Some(&json!("Ada")));
    assert_eq!(login.claim("family_name"), Some(&json!("Lovelace")));
    assert_eq!(login.claim("email"), Some(&json!("ada@example.com")));
    assert_eq!(login.claim("employee_number"), Some(&json!("1001")));
    assert_eq!(login.claim("iss"), Some(&json!(peer.issuer())));
    assert_eq!(login.claim("nonce"), Some(&json!(NONCE)));

    // Only ID token claims needed: no UserInfo call, so employee_number stays absent (the
    // provider keeps it out of the ID token).
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let login = rp
        .complete(&code, VERIFIER, NONCE, &["given_name", "email"], now())
        .await
        .unwrap();
    assert_eq!(login.subject, "emp-1001");
    assert_eq!(login.claim("given_name"), Some(&json!("Ada")));
    assert_eq!(login.claim("employee_number"), None);
}

#[tokio::test]
async fn ada_logs_in_with_rs256() {
    full_login("RS256").await;
}

#[tokio::test]
async fn ada_logs_in_with_es256() {
    full_login("ES256").await;
}

#[tokio::test]
async fn bob_logs_in_and_the_authorization_url_is_complete() {
    let peer = IdpPeer::start(clients(), "ES256", &[]).await;
    let rp = discover(&peer).await;
    let url = Url::parse(&rp.authorization_url(STATE, NONCE, VERIFIER)).unwrap();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(format!("{}/auth", peer.issuer()).as_str())
    );
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let expect = |k: &str, v: &str| {
        assert!(
            params.contains(&(k.into(), v.into())),
            "{k}={v} in {params:?}"
        )
    };
    expect("response_type", "code");
    expect("client_id", CLIENT_ID);
    expect("redirect_uri", REDIRECT);
    expect("scope", "openid profile email employee");
    expect("state", STATE);
    expect("nonce", NONCE);
    // RFC 7636 Appendix B: this verifier's S256 challenge.
    expect(
        "code_challenge",
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    );
    expect("code_challenge_method", "S256");

    let code = code_for(&peer, &rp, "bob", "bob-test").await;
    let login = rp
        .complete(&code, VERIFIER, NONCE, &["employee_number"], now())
        .await
        .unwrap();
    assert_eq!(login.subject, "emp-1002");
    assert_eq!(login.claim("given_name"), Some(&json!("Bob")));
    assert_eq!(login.claim("family_name"), Some(&json!("Builder")));
    assert_eq!(login.claim("employee_number"), Some(&json!("1002")));
}

#[tokio::test]
async fn wrong_password_stays_at_the_login_form() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    let rp = discover(&peer).await;
    let url = rp.authorization_url(STATE, NONCE, VERIFIER);
    let err = peer
        .try_login(&url, REDIRECT, "ada", "wrong")
        .await
        .unwrap_err();
    assert!(err.contains("Invalid login or password"), "{err}");
}

#[tokio::test]
async fn wrong_client_secret_is_rejected() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    let rp = RelyingParty::discover(&fetcher(&peer), config(peer.issuer(), "not-the-secret"))
        .await
        .unwrap();
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let err = rp
        .complete(&code, VERIFIER, NONCE, &[], now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Rejected(m) if m.contains("invalid_client")),
        "{err}"
    );
    assert!(!err.to_string().contains("not-the-secret"), "{err}");
}

#[tokio::test]
async fn a_code_is_redeemed_once_and_only_with_its_verifier() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    let rp = discover(&peer).await;
    // Wrong PKCE verifier (RFC 7636 §4.6): invalid_grant.
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let other_verifier = "x".repeat(43);
    let err = rp
        .complete(&code, &other_verifier, NONCE, &[], now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Rejected(m) if m.contains("invalid_grant")),
        "{err}"
    );
    // Replayed code (RFC 6749 §4.1.2): the second redemption fails.
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    rp.complete(&code, VERIFIER, NONCE, &[], now())
        .await
        .unwrap();
    let err = rp
        .complete(&code, VERIFIER, NONCE, &[], now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Rejected(m) if m.contains("invalid_grant")),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_nonce_is_invalid() {
    let peer = IdpPeer::start(clients(), "ES256", &[]).await;
    let rp = discover(&peer).await;
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let err = rp
        .complete(&code, VERIFIER, "another-nonce", &[], now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Invalid(m) if m.contains("nonce")),
        "{err}"
    );
}

#[tokio::test]
async fn expired_id_token_is_invalid() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    let rp = discover(&peer).await;
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    // The provider's ID tokens live 600 s; an hour later (beyond the 60 s skew) it is expired.
    let err = rp
        .complete(&code, VERIFIER, NONCE, &[], now().plus(3600))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Invalid(m) if m.contains("expired")),
        "{err}"
    );
}

#[tokio::test]
async fn token_endpoint_outage_is_unavailable() {
    let peer = IdpPeer::start(clients(), "RS256", &["--fail-token"]).await;
    let rp = discover(&peer).await;
    let code = code_for(&peer, &rp, "ada", "lovelace-test").await;
    let err = rp
        .complete(&code, VERIFIER, NONCE, &[], now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Unavailable(m) if m.contains("500")),
        "{err}"
    );
}

#[tokio::test]
async fn issuer_mismatch_at_discovery_is_invalid() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    let f = fetcher(&peer);
    // Same document (the terminating `/` is removed before the well-known suffix), but its
    // issuer is not the configured string (Discovery §4.3).
    let with_slash = format!("{}/", peer.issuer());
    let err = RelyingParty::discover(&f, config(&with_slash, CLIENT_SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Invalid(m) if m.contains("issuer")),
        "{err}"
    );
    // `localhost` names the same server, but is not the issuer either (and is not on the
    // allow-list, so the fetcher refuses it before asking).
    let port = peer.port();
    let err = RelyingParty::discover(
        &f,
        config(&format!("http://localhost:{port}"), CLIENT_SECRET),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, OidcError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn outbound_policy_applies_to_the_provider() {
    let peer = IdpPeer::start(clients(), "RS256", &[]).await;
    // Default policy: plain http to loopback is refused before connecting.
    let strict = Fetcher::new(FetchPolicy::default()).unwrap();
    let err = RelyingParty::discover(&strict, config(peer.issuer(), CLIENT_SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Invalid(m) if m.contains("plain http")),
        "{err}"
    );
    // A provider that is gone: unavailable.
    let f = fetcher(&peer);
    let issuer = peer.issuer().to_owned();
    drop(peer);
    let err = RelyingParty::discover(&f, config(&issuer, CLIENT_SECRET))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OidcError::Unavailable(m) if m.contains("connect")),
        "{err}"
    );
}
