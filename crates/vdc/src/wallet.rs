//! `vdc wallet`: a command-line wallet on top of vdc-holder.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use vdc_holder::{AcceptedOffer, AuthorizationSession, FileStore, Wallet, WalletOptions};

/// Default wallet directory.
pub fn default_dir() -> PathBuf {
    PathBuf::from("vdc-wallet")
}

fn open(dir: &std::path::Path, insecure_http: bool) -> anyhow::Result<Wallet> {
    let options = WalletOptions {
        allow_insecure_http: insecure_http,
        ..WalletOptions::default()
    };
    Ok(Wallet::new(FileStore::open(dir)?, options)?)
}

/// The `client_id` of the command-line wallet (a public client, RFC 6749 §2.1).
pub const DEFAULT_CLIENT_ID: &str = "vdc-cli";
/// How long `vdc wallet` waits for the browser to come back from the login by default.
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The path of the loopback redirect URI.
const CALLBACK_PATH: &str = "/callback";

/// How the command-line wallet runs the authorization code flow (a login in a browser).
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// Use the authorization code flow even when the offer also has a pre-authorized code.
    pub login: bool,
    /// The loopback port of the redirect URI; `None`: a free one.
    pub redirect_port: Option<u16>,
    /// The wallet's `client_id`.
    pub client_id: String,
    /// Open the login URL with `xdg-open` / `open`.
    pub open_browser: bool,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            login: false,
            redirect_port: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            open_browser: false,
            timeout: DEFAULT_LOGIN_TIMEOUT,
        }
    }
}

/// `vdc wallet accept '<offer uri>' [--tx-code N] [--batch N]`: prints one line per
/// credential. An offer with only the `authorization_code` grant (or `--login`) runs the
/// authorization code flow through a browser login.
pub async fn accept(
    dir: &std::path::Path,
    offer: &str,
    tx_code: Option<&str>,
    batch: usize,
    insecure_http: bool,
    login: &LoginOptions,
) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let offer = wallet.resolve_offer(offer).await?;
    // Spec: OID4VCI 1.0 §4.1.1: without a pre-authorized code (an `authorization_code`
    // grant, or no grants at all) the wallet logs in.
    let by_login = login.login || offer.grants.pre_authorized_code.is_none();
    let accepted = if by_login {
        if tx_code.is_some() {
            anyhow::bail!("--tx-code belongs to the pre-authorized code flow, not to a login");
        }
        let listener = Loopback::bind(login.redirect_port).await?;
        let session = wallet
            .begin_authorization(&offer, &listener.redirect_uri, &login.client_id)
            .await?;
        finish_login(&wallet, session, listener, login, batch).await?
    } else {
        wallet.accept(&offer, tx_code, batch).await?
    };
    print_accepted(&accepted);
    Ok(())
}

/// `vdc wallet request --issuer URL --configuration ID...`: wallet-initiated issuance
/// (OID4VCI 1.0 §3.4) through a browser login.
pub async fn request(
    dir: &std::path::Path,
    issuer: &str,
    configurations: &[String],
    batch: usize,
    insecure_http: bool,
    login: &LoginOptions,
) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let listener = Loopback::bind(login.redirect_port).await?;
    let session = wallet
        .begin_wallet_initiated_authorization(
            issuer,
            configurations,
            &listener.redirect_uri,
            &login.client_id,
        )
        .await?;
    let accepted = finish_login(&wallet, session, listener, login, batch).await?;
    print_accepted(&accepted);
    Ok(())
}

/// A one-shot HTTP listener on 127.0.0.1 for the redirect back from the login
/// (RFC 8252 §7.3: loopback interface redirection, an IP literal, any port).
struct Loopback {
    listener: tokio::net::TcpListener,
    redirect_uri: String,
}

impl Loopback {
    async fn bind(port: Option<u16>) -> anyhow::Result<Self> {
        // Spec: RFC 8252 §8.3: bind the loopback IP literal, not `localhost`.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .await
            .context("cannot listen on 127.0.0.1 for the login redirect")?;
        let port = listener.local_addr()?.port();
        Ok(Self {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}{CALLBACK_PATH}"),
        })
    }

    /// Serves until the first request to the callback path; answers it with a small page
    /// and returns the full URL it was called with.
    async fn wait(self, timeout: Duration) -> anyhow::Result<String> {
        use axum::response::IntoResponse as _;
        let Loopback {
            listener,
            redirect_uri,
        } = self;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(1);
        let router = axum::Router::new().route(
            CALLBACK_PATH,
            axum::routing::get(move |uri: axum::http::Uri| {
                let tx = tx.clone();
                async move {
                    let _ = tx.try_send(uri.to_string());
                    (
                        [
                            (axum::http::header::CONNECTION, "close"),
                            (axum::http::header::CACHE_CONTROL, "no-store"),
                        ],
                        axum::response::Html(
                            "<!doctype html><meta charset=utf-8><title>vdc wallet</title>                             <p>Login complete: you can close this window and return to the terminal.</p>",
                        ),
                    )
                        .into_response()
                }
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
        });
        let got = tokio::time::timeout(timeout, rx.recv()).await;
        let _ = stop_tx.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        let target = match got {
            Ok(Some(t)) => t,
            Ok(None) => anyhow::bail!("the login redirect listener stopped"),
            Err(_) => anyhow::bail!(
                "no login completed within {} s (--login-timeout)",
                timeout.as_secs()
            ),
        };
        let base = redirect_uri
            .strip_suffix(CALLBACK_PATH)
            .unwrap_or(&redirect_uri);
        Ok(format!("{base}{target}"))
    }
}

async fn finish_login(
    wallet: &Wallet,
    session: AuthorizationSession,
    listener: Loopback,
    login: &LoginOptions,
    batch: usize,
) -> anyhow::Result<AcceptedOffer> {
    println!("open this URL to log in: {}", session.authorization_url);
    if login.open_browser {
        let opener = if cfg!(target_os = "macos") {
            "open"
        } else {
            "xdg-open"
        };
        if let Err(e) = std::process::Command::new(opener)
            .arg(&session.authorization_url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
        {
            eprintln!("warning: cannot run {opener}: {e}");
        }
    }
    let redirected = listener.wait(login.timeout).await?;
    Ok(wallet
        .finish_authorization(&session, &redirected, batch)
        .await?)
}

fn print_accepted(accepted: &AcceptedOffer) {
    for c in &accepted.credentials {
        println!(
            "credential issued: {} {} from {} (stored as {})",
            c.format,
            c.vct.as_deref().unwrap_or(&c.credential_configuration_id),
            c.issuer,
            c.id
        );
    }
    for d in &accepted.deferred {
        println!(
            "credential deferred: {} (poll again in {} s)",
            d.credential_configuration_id, d.interval
        );
    }
    for e in &accepted.notification_errors {
        eprintln!("warning: notification failed: {e}");
    }
}

/// `vdc wallet list`.
pub async fn list(dir: &std::path::Path) -> anyhow::Result<()> {
    let store = FileStore::open(dir)?;
    let wallet = Wallet::new(store, WalletOptions::default())?;
    let credentials = wallet.list().await?;
    if credentials.is_empty() {
        println!("no credentials in {}", dir.display());
    }
    for c in credentials {
        println!(
            "{}\t{}\t{}\t{}",
            c.id,
            c.format,
            c.vct.as_deref().unwrap_or(&c.credential_configuration_id),
            c.issuer
        );
    }
    Ok(())
}

/// `vdc wallet present '<openid4vp uri>'`: answers a presentation request with the stored
/// credentials, disclosing only what the DCQL query asks for.
pub async fn present(
    dir: &std::path::Path,
    uri: &str,
    trust_anchor: Option<&std::path::Path>,
    accept_unanchored_verifier: bool,
    insecure_http: bool,
) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let x509_anchors = match trust_anchor {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            Some(vdc_core::x509::TrustAnchors::from_pem(&pem)?)
        }
        None => None,
    };
    let trust = vdc_holder::VerifierTrust {
        x509_anchors,
        accept_unanchored_x509: accept_unanchored_verifier,
    };
    let request = wallet.resolve_presentation_request(uri, &trust).await?;
    let selections = wallet.select_credentials(&request).await?;
    let mut vp_token = serde_json::Map::new();
    for s in &selections {
        let presentation = wallet.presentation_for(&request, s).await?;
        let paths: Vec<String> = s.paths.iter().map(ToString::to_string).collect();
        println!(
            "presenting {} for {}: {}",
            s.credential.id,
            s.query_id,
            if paths.is_empty() {
                "(no claims)".to_owned()
            } else {
                paths.join(", ")
            }
        );
        vp_token.insert(
            s.query_id.clone(),
            serde_json::Value::Array(vec![presentation.into()]),
        );
    }
    let sent = wallet
        .send_presentation(&request, &serde_json::Value::Object(vp_token))
        .await?;
    println!("presentation accepted by {}", request.client_id);
    if let Some(r) = sent.redirect_uri {
        println!("continue at {r}");
    }
    Ok(())
}
