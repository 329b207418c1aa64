//! `vdc`: issuer, verifier and status lists over one store.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use vdc::config::{Config, LogFormat, Role};

#[derive(Parser)]
#[command(
    name = "vdc",
    version,
    about = "Verifiable digital credentials over OpenID4VC"
)]
struct Cli {
    /// A TOML configuration file (keys as in docs/CONFIG.md; `vdc wallet` does not read it).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum KekCommand {
    /// Re-seals every stored secret (signing keys, response keys, webhook and identity
    /// provider secrets) under the new KEK, one transaction per batch; resumable and
    /// idempotent. The new KEK is --new-kek-file, else VDC_KEK (with the old one in
    /// VDC_KEK_PREVIOUS, as the running instances are configured during the rotation).
    Rotate {
        /// A file holding the new KEK (base64url, as data_dir/kek).
        #[arg(long)]
        new_kek_file: Option<std::path::PathBuf>,
        /// Database URL (overrides VDC_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
        /// Rows per transaction.
        #[arg(long, default_value_t = vdc::kek::DEFAULT_BATCH)]
        batch: u32,
        /// Milliseconds to pause after each batch (to spare a busy database).
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
    },
    /// Prints a fresh random KEK (base64url) for VDC_KEK or a --new-kek-file.
    Generate,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (migrates the store first).
    Serve {
        /// Address to bind (overrides VDC_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Public base URL (overrides VDC_PUBLIC_URL).
        #[arg(long)]
        public_url: Option<String>,
        /// Database URL (overrides VDC_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
        /// Seed the demo issuer and the demo verifier (as VDC_DEMO=true).
        #[arg(long)]
        demo: bool,
        /// Run only one part.
        #[arg(long, value_enum)]
        role: Option<Role>,
    },
    /// Applies the store's migrations and exits.
    Migrate {
        /// Database URL (overrides VDC_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Runs the operator self-checks (store, migrations, KEK and keys, public URL, x509
    /// verifiers, admin key); exits non-zero when one fails.
    Doctor {
        /// Database URL (overrides VDC_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
        /// A verifier whose x509_san_dns certificate to check (repeatable; default: demo).
        #[arg(long = "verifier")]
        verifiers: Vec<String>,
    },
    /// Probes a running server's `/readyz` (for container health checks: the image has no
    /// curl); exits 0 when it answers 200, 1 otherwise.
    Health {
        /// The URL to probe.
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
    /// A command-line wallet (a client: it never reads the server configuration).
    ///
    /// Credentials and their holder keys are kept in the wallet directory: --wallet-dir,
    /// else VDC_WALLET_DIR, else $XDG_DATA_HOME/vdc/wallet (~/.local/share/vdc/wallet when
    /// XDG_DATA_HOME is unset), wherever the command runs.
    Wallet {
        /// The wallet directory [default: $XDG_DATA_HOME/vdc/wallet, else
        /// ~/.local/share/vdc/wallet].
        #[arg(
            long = "wallet-dir",
            alias = "dir",
            env = "VDC_WALLET_DIR",
            global = true,
            value_name = "DIR"
        )]
        wallet_dir: Option<PathBuf>,
        #[command(subcommand)]
        command: WalletCommand,
    },
    /// Key-encryption key rotation (docs/DEPLOYMENT.md "Rotating the KEK").
    Kek {
        #[command(subcommand)]
        command: KekCommand,
    },
    /// Load generators.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// DCQL tools (conformance/dcql's differential test; reads no configuration).
    #[command(hide = true)]
    Dcql {
        #[command(subcommand)]
        command: DcqlCommand,
    },
}

#[derive(Subcommand)]
enum DcqlCommand {
    /// Evaluates a DCQL query against decoded credentials: reads `{query, credentials}`
    /// JSON, prints `{valid, error?, matches: {id: [indices]}, can_be_satisfied}`
    /// (`vdc_verifier::dcql::match_input`).
    Match {
        /// The input JSON file (`-`: standard input).
        #[arg(long)]
        input: PathBuf,
    },
}

/// How `vdc wallet` logs in for the authorization code flow.
#[derive(Args)]
struct LoginArgs {
    /// The loopback port of the redirect URI http://127.0.0.1:PORT/callback (default: a free one).
    #[arg(long)]
    redirect_port: Option<u16>,
    /// The wallet's client_id (a public client).
    #[arg(long, default_value = vdc::wallet::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Open the login URL in the browser (xdg-open / open).
    #[arg(long)]
    open: bool,
    /// Seconds to wait for the browser to come back from the login.
    #[arg(long, default_value_t = vdc::wallet::DEFAULT_LOGIN_TIMEOUT.as_secs())]
    login_timeout: u64,
}

impl LoginArgs {
    fn options(self, login: bool) -> vdc::wallet::LoginOptions {
        vdc::wallet::LoginOptions {
            login,
            redirect_port: self.redirect_port,
            client_id: self.client_id,
            open_browser: self.open,
            timeout: Duration::from_secs(self.login_timeout),
        }
    }
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Redeems a credential offer: the pre-authorized code flow, or a login in the browser
    /// (authorization code flow) when the offer has only the authorization_code grant.
    Accept {
        /// The offer URI (openid-credential-offer://...).
        offer: String,
        /// The transaction code, when the offer asks for one.
        #[arg(long)]
        tx_code: Option<String>,
        /// How many credential instances (one key each).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Allow http:// issuers (local testing only).
        #[arg(long)]
        insecure_http: bool,
        /// Log in (authorization code flow) even when the offer has a pre-authorized code.
        #[arg(long)]
        login: bool,
        #[command(flatten)]
        login_args: LoginArgs,
    },
    /// Requests credentials without an offer (wallet-initiated), logging in in the browser.
    Request {
        /// The credential issuer identifier (https://.../issuers/ID).
        #[arg(long)]
        issuer: String,
        /// A credential configuration id (repeat for several).
        #[arg(long = "configuration", required = true)]
        configurations: Vec<String>,
        /// How many credential instances (one key each).
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// Allow http:// issuers (local testing only).
        #[arg(long)]
        insecure_http: bool,
        #[command(flatten)]
        login_args: LoginArgs,
    },
    /// Answers an OpenID4VP presentation request (openid4vp://...) with stored credentials,
    /// first checking their status lists and skipping revoked or suspended ones.
    Present {
        /// The authorization request URI.
        request: String,
        /// Present this stored credential (an id from `vdc wallet list`; repeat for several
        /// credential queries); it must match the request.
        #[arg(long = "credential", value_name = "ID")]
        credentials: Vec<String>,
        /// Do not check status lists: present even a revoked or suspended credential (to see
        /// the verifier refuse it).
        #[arg(long)]
        no_status_check: bool,
        /// PEM file with the CA that certifies x509_san_dns / x509_hash verifiers.
        #[arg(long)]
        trust_anchor: Option<PathBuf>,
        /// Accept a verifier certificate without a trust anchor (local demos only).
        #[arg(long)]
        accept_unanchored_verifier: bool,
        /// Allow http:// verifiers (local testing only).
        #[arg(long)]
        insecure_http: bool,
    },
    /// Lists stored credentials with their status (fetched from their status lists).
    List {
        /// Do not fetch status lists (the status column shows `unknown`).
        #[arg(long)]
        offline: bool,
        /// Allow http:// status lists (local testing only).
        #[arg(long)]
        insecure_http: bool,
    },
    /// Deletes a stored credential and its holder key.
    Remove {
        /// The credential's id (from `vdc wallet list`).
        id: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Full pre-authorized issuance flows with N concurrent holders.
    Issuance {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The admin key.
        #[arg(long, env = "VDC_ADMIN_KEY", hide_env_values = true)]
        admin_key: String,
        /// Issuer slug.
        #[arg(long, default_value = "demo")]
        issuer: String,
        /// Credential configuration.
        #[arg(long, default_value = "EmployeeBadge")]
        configuration: String,
        /// Concurrent holders.
        #[arg(long, default_value_t = 64)]
        holders: usize,
        /// Total flows.
        #[arg(long, default_value_t = 2000)]
        flows: usize,
        /// Start no flow after this many seconds (flows under way finish).
        #[arg(long)]
        duration: Option<f64>,
        /// Seconds to wait for one HTTP answer; a longer wait is recorded as a timeout.
        #[arg(long, default_value_t = 30.0)]
        request_timeout: f64,
        /// Seconds to retry a step that failed transiently (5xx, no answer) with the same
        /// code or proof (R2); 0: a transient failure fails the flow.
        #[arg(long, default_value_t = 0.0)]
        retry_for: f64,
        /// Write one JSON line per HTTP request (what the client received) to this file.
        #[arg(long)]
        record: Option<PathBuf>,
        #[command(flatten)]
        probe: ProbeArgs,
    },
    /// Full OpenID4VP presentations with N concurrent holders (create request → fetch
    /// request object → respond → verified).
    Presentation {
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The admin key.
        #[arg(long, env = "VDC_ADMIN_KEY", hide_env_values = true)]
        admin_key: String,
        /// Issuer slug (holders get one badge each first).
        #[arg(long, default_value = "demo")]
        issuer: String,
        /// Verifier slug.
        #[arg(long, default_value = "demo")]
        verifier: String,
        /// `direct_post` or `direct_post.jwt`.
        #[arg(long, default_value = "direct_post")]
        response_mode: String,
        /// Concurrent holders.
        #[arg(long, default_value_t = 64)]
        holders: usize,
        /// Total presentations.
        #[arg(long, default_value_t = 2000)]
        presentations: usize,
        #[command(flatten)]
        probe: ProbeArgs,
    },
}

/// What `vdc bench` measures on the server's side.
#[derive(clap::Args, Debug)]
struct ProbeArgs {
    /// The server's Postgres database URL: print transactions per flow (writing, from the
    /// growth of `txid_current()`, and all, from `pg_stat_database.xact_commit`).
    #[arg(long)]
    db_url: Option<String>,
    /// The server's process id: print the CPU time it used.
    #[arg(long)]
    server_pid: Option<u32>,
}

impl From<ProbeArgs> for vdc::bench::ProbeTargets {
    fn from(p: ProbeArgs) -> Self {
        Self {
            db_url: p.db_url,
            server_pid: p.server_pid,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The wallet is a client of any issuer and verifier: the server's configuration (file
    // and VDC_* variables) is neither read nor validated for it.
    if let Command::Wallet {
        wallet_dir,
        command,
    } = cli.command
    {
        init_logging(LogFormat::Text);
        return wallet(wallet_dir, command).await;
    }
    if let Command::Dcql {
        command: DcqlCommand::Match { input },
    } = &cli.command
    {
        return dcql_match(input);
    }
    let mut config = Config::load(cli.config.as_deref()).context("invalid configuration")?;
    init_logging(config.log_format);
    for name in Config::unknown_env() {
        tracing::warn!(variable = %name, "unknown VDC_ environment variable ignored");
    }
    match cli.command {
        Command::Serve {
            listen,
            public_url,
            database_url,
            demo,
            role,
        } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if public_url.is_some() {
                config.public_url = public_url;
            }
            if let Some(d) = database_url {
                config.database_url = Some(vdc::config::Secret(d));
            }
            config.demo |= demo;
            if let Some(r) = role {
                config.role = r;
            }
            serve(config).await
        }
        Command::Migrate { database_url } => {
            if let Some(d) = database_url {
                config.database_url = Some(vdc::config::Secret(d));
            }
            vdc::open_store(&config.database_url()).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Doctor {
            database_url,
            verifiers,
        } => {
            if let Some(d) = database_url {
                config.database_url = Some(vdc::config::Secret(d));
            }
            let report = vdc::doctor::run(&config, &verifiers).await;
            print!("{report}");
            if report.failed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Kek {
            command:
                KekCommand::Rotate {
                    new_kek_file,
                    database_url,
                    batch,
                    pause_ms,
                },
        } => {
            if let Some(d) = database_url {
                config.database_url = Some(vdc::config::Secret(d));
            }
            let kek = vdc::kek::rotation_keks(&config, new_kek_file.as_deref())?;
            vdc::kek::rotate(&config, &kek, batch, pause_ms, &mut std::io::stdout()).await?;
            Ok(())
        }
        Command::Kek {
            command: KekCommand::Generate,
        } => {
            let kek =
                vdc_core::kek::KeyEncryptionKey::generate(&vdc_core::rng::SystemRandom::new())?;
            println!("{}", kek.to_base64url().as_str());
            Ok(())
        }
        Command::Health { url } => {
            let ok = vdc::doctor::probe(&url).await;
            println!("{url}: {}", if ok { "ready" } else { "not ready" });
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Wallet { .. } => unreachable!("the wallet returned above"),
        Command::Dcql { .. } => unreachable!("dcql returned above"),
        Command::Bench {
            command:
                BenchCommand::Presentation {
                    url,
                    admin_key,
                    issuer,
                    verifier,
                    response_mode,
                    holders,
                    presentations,
                    probe,
                },
        } => {
            let report = vdc::bench::presentation(vdc::bench::PresentationBench {
                url,
                admin_key,
                issuer,
                verifier,
                response_mode,
                holders,
                presentations,
                probe: probe.into(),
            })
            .await?;
            println!("{report}");
            Ok(())
        }
        Command::Bench {
            command:
                BenchCommand::Issuance {
                    url,
                    admin_key,
                    issuer,
                    configuration,
                    holders,
                    flows,
                    duration,
                    request_timeout,
                    retry_for,
                    record,
                    probe,
                },
        } => {
            let secs = |s: f64, what: &str| {
                Duration::try_from_secs_f64(s).map_err(|_| {
                    anyhow::anyhow!("--{what} must be a non-negative number of seconds")
                })
            };
            let report = vdc::bench::issuance(vdc::bench::IssuanceBench {
                url,
                admin_key,
                issuer,
                configuration,
                claims: serde_json::json!({"given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1"}),
                holders,
                flows,
                duration: duration.map(|d| secs(d, "duration")).transpose()?,
                request_timeout: secs(request_timeout, "request-timeout")?,
                retry_for: secs(retry_for, "retry-for")?,
                record,
                probe: probe.into(),
            })
            .await?;
            println!("{report}");
            Ok(())
        }
    }
}

/// `vdc wallet ...`: errors get a hint naming the option that fixes them.
async fn wallet(wallet_dir: Option<PathBuf>, command: WalletCommand) -> anyhow::Result<()> {
    let dir = vdc::wallet::resolve_dir(wallet_dir)?;
    let run = async {
        match command {
            WalletCommand::Accept {
                offer,
                tx_code,
                batch,
                insecure_http,
                login,
                login_args,
            } => {
                vdc::wallet::accept(
                    &dir,
                    &offer,
                    tx_code.as_deref(),
                    batch,
                    insecure_http,
                    &login_args.options(login),
                )
                .await
            }
            WalletCommand::Request {
                issuer,
                configurations,
                batch,
                insecure_http,
                login_args,
            } => {
                vdc::wallet::request(
                    &dir,
                    &issuer,
                    &configurations,
                    batch,
                    insecure_http,
                    &login_args.options(true),
                )
                .await
            }
            WalletCommand::Present {
                request,
                credentials,
                no_status_check,
                trust_anchor,
                accept_unanchored_verifier,
                insecure_http,
            } => {
                vdc::wallet::present(
                    &dir,
                    &request,
                    &vdc::wallet::PresentOptions {
                        trust_anchor,
                        accept_unanchored_verifier,
                        insecure_http,
                        credentials,
                        check_status: !no_status_check,
                    },
                )
                .await
            }
            WalletCommand::List {
                offline,
                insecure_http,
            } => vdc::wallet::list(&dir, offline, insecure_http).await,
            WalletCommand::Remove { id } => vdc::wallet::remove(&dir, &id).await,
        }
    };
    run.await.map_err(vdc::wallet::with_hint)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_serve()?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        (None, None) => None,
        _ => anyhow::bail!("VDC_TLS_CERT and VDC_TLS_KEY must be set together"),
    };
    let limits = config.connection_limits()?;
    // Held until the process ends: a second `vdc serve` on this SQLite database refuses.
    let _lock = vdc::lock_database(&config)?;
    let app = vdc::build(&config, vdc::Deps::default()).await?;
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("cannot bind {}", config.listen))?;
    let base = &app.public_url;
    // The banner below is for the person at the terminal (stdout); log collectors read
    // stderr, so the start is logged there too (without the admin key).
    tracing::info!(
        listen = %config.listen,
        public_url = %base,
        role = ?config.role,
        demo = config.demo,
        "vdc listening"
    );
    println!("vdc listening on {} (public URL {base})", config.listen);
    if config.role == Role::All {
        if config.demo {
            println!("start page:    {base}/   (open it in a browser)");
            println!(
                "  issue:       {base}/ui/issuers/{}",
                vdc::demo::DEMO_ISSUER
            );
            println!(
                "  verify:      {base}/ui/verifiers/{}",
                vdc::demo::DEMO_VERIFIER
            );
        } else {
            println!("start page:    {base}/   (asks for the admin key)");
        }
    }
    if config.demo {
        println!("demo issuer:   {base}/issuers/{}", vdc::demo::DEMO_ISSUER);
        println!(
            "  metadata:    {base}/.well-known/openid-credential-issuer/issuers/{}",
            vdc::demo::DEMO_ISSUER
        );
        println!(
            "  new offer:   curl -X POST {base}/api/v1/issuers/demo/offers -H 'Authorization: Bearer <admin key>' \\"
        );
        println!("                 -H 'Content-Type: application/json' \\");
        println!(
            "                 -d '{{\"credential_configuration_ids\":[\"EmployeeBadge\"],\"claims\":{{\"EmployeeBadge\":{{\"given_name\":\"Ada\",\"employee_id\":\"E-1\"}}}}}}'"
        );
        println!(
            "demo verifier: {base}/api/v1/verifiers/{} (requests: POST .../requests with a dcql_query)",
            vdc::demo::DEMO_VERIFIER
        );
    }
    match &app.generated_admin_key {
        Some(key) => println!("admin key (shown once, stored hashed): {key}"),
        None => println!("admin key: as configured (VDC_ADMIN_KEY) or generated on first start"),
    }
    // Webhook dispatch and the presentation expiry sweep run beside the server and stop
    // after it.
    let background = app.start_background();
    let audit_log = app.auth.audit_log().clone();
    let served = match tls {
        Some((cert, key)) => {
            vdc::tls::serve_tls(listener, app.router, &cert, &key, limits, shutdown_signal()).await
        }
        None => {
            listener.set_nonblocking(true)?;
            let listener = tokio::net::TcpListener::from_std(listener)?;
            vdc::serve_with(listener, app.router, limits, None, shutdown_signal())
                .await
                .map_err(anyhow::Error::from)
        }
    };
    background.stop().await;
    // Entries of the last calls that changed nothing may still be queued.
    audit_log.flush().await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// `vdc dcql match --input FILE`: an invalid query is a report (`valid: false`, exit 0);
/// unreadable or malformed input is an error.
fn dcql_match(input: &std::path::Path) -> anyhow::Result<()> {
    let text = if input.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))?
    };
    let value: serde_json::Value = serde_json::from_str(&text).context("the input is not JSON")?;
    let report = vdc_verifier::dcql::match_input(&value).map_err(anyhow::Error::msg)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    let directives = std::env::var("VDC_LOG").unwrap_or_else(|_| "info".to_owned());
    // Postgres NOTICEs (sqlx logs them at INFO: "relation ... already exists, skipping" on
    // every start's migration check) are not events of vdc; a filter that names sqlx itself
    // decides for them.
    let directives = if directives.contains("sqlx") {
        directives
    } else {
        format!("{directives},sqlx::postgres::notice=warn")
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only for a person at a terminal: escape codes in a file or a log pipe
        // are noise to every reader and parser.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
