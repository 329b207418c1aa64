//! `vdc wallet`: a command-line wallet on top of vdc-holder.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use vdc_holder::{
    AcceptedOffer, AuthorizationSession, CredentialState, FileStore, SelectOptions, Wallet,
    WalletOptions,
};

/// The directory the wallet used before it had a fixed default: relative to wherever the
/// command ran, so a wallet seemed to lose its credentials in another directory.
const OLD_DEFAULT_DIR: &str = "vdc-wallet";

/// The default wallet directory (XDG Base Directory Specification: user data files):
/// `$XDG_DATA_HOME/vdc/wallet`, else `$HOME/.local/share/vdc/wallet`; `None` without either.
pub fn default_dir() -> Option<PathBuf> {
    // Spec: XDG Base Directory: a relative XDG_DATA_HOME is invalid and ignored.
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let data = xdg.or_else(|| {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".local/share"))
    })?;
    Some(data.join("vdc").join("wallet"))
}

/// The wallet directory: the one given (`--wallet-dir` / `VDC_WALLET_DIR`), else
/// [`default_dir`]. A `./vdc-wallet` left by an older version is not used silently (the
/// point of the fixed default is that the current directory does not matter), but named.
pub fn resolve_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let dir = default_dir().ok_or_else(|| {
        anyhow::anyhow!(
            "no wallet directory: neither XDG_DATA_HOME nor HOME is set; pass --wallet-dir DIR (or set VDC_WALLET_DIR)"
        )
    })?;
    let old = std::path::Path::new(OLD_DEFAULT_DIR);
    if old.is_dir() && std::fs::canonicalize(old).ok() != std::fs::canonicalize(&dir).ok() {
        eprintln!(
            "note: using the wallet in {}; ./{OLD_DEFAULT_DIR} (the old default) is not read: pass --wallet-dir {OLD_DEFAULT_DIR} to use it",
            dir.display()
        );
    }
    Ok(dir)
}

/// Adds to a wallet error the option that fixes it, when there is one.
pub fn with_hint(e: anyhow::Error) -> anyhow::Error {
    let holder = e
        .chain()
        .find_map(|c| c.downcast_ref::<vdc_holder::Error>());
    let hint = match holder {
        Some(h) if h.is_plain_http_refused() => {
            "pass --insecure-http to talk to a local http:// server (testing only)"
        }
        Some(h) if h.is_unanchored_verifier() => {
            "pass --trust-anchor FILE with the verifier's CA certificate (PEM; the management API shows it as the verifier's trust_anchor), or --accept-unanchored-verifier for a local demo"
        }
        _ => return e,
    };
    anyhow::anyhow!("{e:#}\nhint: {hint}")
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

/// What `list` and `accept` show as a credential's type: the SD-JWT VC `vct`, the mdoc
/// `doctype`, else the configuration id.
fn type_of(c: &vdc_holder::StoredCredential) -> &str {
    c.vct
        .as_deref()
        .or(c.doctype.as_deref())
        .unwrap_or(&c.credential_configuration_id)
}

fn print_accepted(accepted: &AcceptedOffer) {
    for c in &accepted.credentials {
        println!(
            "credential issued: {} {} from {} (stored as {})",
            c.format,
            type_of(c),
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

/// `vdc wallet list`: one line per credential, tab-separated: id, format, type (`vct`,
/// mdoc `doctype`, or the configuration id), issuer, status (`valid`, `revoked`,
/// `suspended`, `none` without a status list, `unknown`).
pub async fn list(dir: &std::path::Path, offline: bool, insecure_http: bool) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let credentials = wallet.list().await?;
    if credentials.is_empty() {
        println!("no credentials in {}", dir.display());
    }
    for c in credentials {
        let state = if offline {
            CredentialState::Unknown("--offline".into())
        } else {
            wallet.credential_status(&c).await
        };
        if let (CredentialState::Unknown(reason), false) = (&state, offline) {
            eprintln!("warning: the status of {} is unknown: {reason}", c.id);
            if reason.contains("scheme http is not allowed") {
                eprintln!("hint: pass --insecure-http for status lists on a local http:// server");
            }
        }
        println!(
            "{}\t{}\t{}\t{}\t{}",
            c.id,
            c.format,
            type_of(&c),
            c.issuer,
            state.as_str()
        );
    }
    Ok(())
}

/// `vdc wallet remove ID`: deletes the credential and its holder key (one record).
pub async fn remove(dir: &std::path::Path, id: &str) -> anyhow::Result<()> {
    let wallet = open(dir, false)?;
    if !wallet.remove(id).await? {
        anyhow::bail!("no credential {id} in {}", dir.display());
    }
    println!("removed {id}");
    Ok(())
}

/// How `vdc wallet present` trusts the verifier and chooses credentials.
#[derive(Debug, Clone, Default)]
pub struct PresentOptions {
    /// PEM file with the CA of x509_san_dns / x509_hash verifiers.
    pub trust_anchor: Option<PathBuf>,
    /// Accept a verifier certificate without an anchor.
    pub accept_unanchored_verifier: bool,
    /// Allow http:// verifiers and status lists.
    pub insecure_http: bool,
    /// Stored credential ids to present (each must match the request).
    pub credentials: Vec<String>,
    /// Check status lists and skip revoked or suspended credentials.
    pub check_status: bool,
}

/// `vdc wallet present '<openid4vp uri>'`: answers a presentation request with the stored
/// credentials, disclosing only what the DCQL query asks for. Credentials whose status list
/// says revoked or suspended are skipped (and named), unless `check_status` is off.
pub async fn present(
    dir: &std::path::Path,
    uri: &str,
    options: &PresentOptions,
) -> anyhow::Result<()> {
    let wallet = open(dir, options.insecure_http)?;
    let x509_anchors = match &options.trust_anchor {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            Some(vdc_core::x509::TrustAnchors::from_pem(&pem)?)
        }
        None => None,
    };
    let trust = vdc_holder::VerifierTrust {
        x509_anchors,
        accept_unanchored_x509: options.accept_unanchored_verifier,
    };
    let request = wallet.resolve_presentation_request(uri, &trust).await?;
    let select = SelectOptions {
        check_status: options.check_status,
        only: options.credentials.clone(),
    };
    let outcome = wallet.select_credentials_with(&request, &select).await?;
    for c in &outcome.checked {
        match (&c.state, c.chosen) {
            (state, false) => println!("skipping {}: {state}", c.credential_id),
            (CredentialState::Unknown(reason), true) if options.check_status => eprintln!(
                "warning: cannot check the status of {}: {reason}; presenting it anyway",
                c.credential_id
            ),
            _ => {}
        }
    }
    let mut vp_token = serde_json::Map::new();
    for s in &outcome.selections {
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
