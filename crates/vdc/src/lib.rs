//! vdc: the binary's library half — configuration, store choice, key material, router
//! composition, the background loop and serving — so tests can start the same server on
//! `127.0.0.1:0`. It composes the feature crates (vdc-issuer, vdc-status, vdc-verifier,
//! vdc-access, vdc-webhooks) and is the only crate naming a store implementation.
//!
//! Layout:
//! - [`config`]: the typed configuration and its layering.
//! - this module: [`open_store`], [`services`] (key ring → status → issuer → verifier, in
//!   one straight line), [`build`] (store + KEK + services + routers) and [`serve`]
//!   (graceful shutdown).
//! - [`background`]: the loop beside the server (webhook dispatch, presentation expiry
//!   sweep, purges), composed from the services' public methods.
//! - [`retention`]: the purges of expired single-use artifacts and of rows past their
//!   retention period.
//! - [`demo`]: the `--demo` issuer and verifier.
//! - [`docs`]: the management API's OpenAPI document and the vendored Swagger UI (`/docs`).
//! - [`doctor`]: the `vdc doctor` self-checks.
//! - [`tls`]: serving over TLS.
//! - [`wallet`], [`mod@bench`]: the `vdc wallet` and `vdc bench` subcommands.

pub mod background;
pub mod bench;
pub mod config;
pub mod demo;
pub mod docs;
pub mod doctor;
pub mod hsm;
pub mod kek;
pub mod retention;
pub mod tls;
pub mod wallet;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::Router;
use vdc_access::{AdminKey, sha256};
use vdc_core::fetch::Fetcher;
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;
use vdc_core::time::Clock;
use vdc_http::health::{Probe, ProbeError};
use vdc_issuer::{Issuer, IssuerSettings};
use vdc_status::{DeploymentStatusChecker, StatusService, StatusSettings};
use vdc_store::{IssuanceStore, KeyRing, PoolSettings, Store};
use vdc_verifier::Verifier;
use vdc_verifier::trust::{DeploymentKeyResolver, KeyRingIssuers, LocalIssuers};
use vdc_webhooks::Webhooks;

use crate::config::{Config, Role};
use crate::retention::Retention;

/// The setting under which the admin key's SHA-256 is kept.
const ADMIN_KEY_SETTING: &str = "admin_key_sha256";

/// Connections one instance opens to Postgres.
pub const POSTGRES_POOL: u32 = 32;

/// Opens the store a database URL names and applies its migrations.
pub async fn open_store(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let settings = PoolSettings::default();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Commits, not CPU, bound a flow on Postgres (issue 11): connections waiting for
        // their commit's WAL flush are connections nobody else can use, and concurrent
        // commits share one flush (group commit). So the pool is larger than SQLite's,
        // whose writers take turns anyway; 32 per instance leaves room in Postgres' default
        // 100 for three instances and the operator.
        let settings = PoolSettings {
            max_connections: POSTGRES_POOL,
            ..settings
        };
        let store = vdc_store_postgres::PostgresStore::connect(url, settings)
            .await
            .context("cannot connect to Postgres (VDC_DATABASE_URL)")?;
        store
            .migrate()
            .await
            .context("applying Postgres migrations")?;
        Ok(Arc::new(store))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            create_private_dir(dir)?;
        }
        private_database_file(Path::new(path))?;
        let store = vdc_store_sqlite::SqliteStore::open(Path::new(path), settings)
            .await
            .with_context(|| {
                format!(
                    "cannot open the SQLite database {path} (VDC_DATABASE_URL; by default in \
                     VDC_DATA_DIR); fix: make its directory writable by the user running vdc"
                )
            })?;
        store
            .migrate()
            .await
            .context("applying SQLite migrations")?;
        Ok(Arc::new(store))
    } else {
        bail!("VDC_DATABASE_URL must start with sqlite:// or postgres://")
    }
}

/// Creates `dir` (and missing parents) readable by this user only (mode 0700): the data
/// directory holds the database with claim values and the KEK (issue 10, item 13). A
/// directory that exists keeps its mode.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Makes the SQLite database file mode 0600 before SQLite opens it: a new file is created
/// so, an existing one (and its `-wal`/`-shm` files) is narrowed to it. SQLite gives the
/// `-wal` and `-shm` files it creates the database file's mode.
fn private_database_file(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating {}", path.display()))?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .with_context(|| format!("making {} private (mode 0600)", file.display()))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Refuses a KEK file that users other than its owner may read or write: it decrypts every
/// signing key. The error says how to fix it.
fn check_kek_file(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!(
                "the key-encryption key file {p} is accessible to other users (mode {m:03o}); \
                 run `chmod 600 {p}` (or set VDC_KEK) and start again",
                p = path.display(),
                m = mode & 0o777
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The lock of a `vdc serve` on a SQLite database: `<database>.lock`, held with an OS file
/// lock for as long as the returned file lives (the OS releases it when the process dies,
/// so a crash never leaves a stale lock). A second `vdc serve` on the same database refuses
/// to start: SQLite has one writer, and two servers would each cache state the other
/// changes. `None` for Postgres, which many instances may share.
pub fn lock_database(config: &Config) -> anyhow::Result<Option<std::fs::File>> {
    use std::io::{Read as _, Seek as _, Write as _};
    let url = config.database_url();
    let Some(db) = url.strip_prefix("sqlite://") else {
        return Ok(None);
    };
    let lock_path = std::path::PathBuf::from(format!("{db}.lock"));
    if let Some(dir) = lock_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(&lock_path)
        .with_context(|| format!("opening the lock file {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let pid = if holder.is_empty() || holder.len() > 20 {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            bail!(
                "another vdc serve{pid} is using the SQLite database {db} (its lock {} is \
                 held); stop it first, or give this server its own VDC_DATA_DIR or \
                 VDC_DATABASE_URL (several instances need Postgres)",
                lock_path.display()
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", lock_path.display()));
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(Some(file))
}

/// Clock and randomness for the services (tests inject a fixed clock and seeded RNG).
#[derive(Debug, Clone)]
pub struct Deps {
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// The random source.
    pub rng: Arc<dyn RandomSource>,
}

impl Default for Deps {
    fn default() -> Self {
        Self {
            clock: Arc::new(vdc_core::time::SystemClock),
            rng: Arc::new(vdc_core::rng::SystemRandom::new()),
        }
    }
}

/// A built server: the router and what start-up decided.
pub struct App {
    /// The composed router.
    pub router: Router,
    /// The issuer service.
    pub issuer: Issuer,
    /// The admin key, when it was generated by this start (printed once, then only its hash
    /// is kept).
    pub generated_admin_key: Option<String>,
    /// The public base URL.
    pub public_url: String,
    /// The status service.
    pub status: StatusService,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The verifier service.
    pub verifier: vdc_verifier::Verifier,
    /// The metrics registry behind `/metrics`.
    pub metrics: vdc_http::metrics::Metrics,
    /// The management authenticator (admin key and scoped API keys), for routes composed
    /// outside [`build_with_store`] (server-rendered pages).
    pub auth: vdc_access::Authenticator,
    /// The webhook service (outbox and dispatcher).
    pub webhooks: Webhooks,
    /// The purges the background loop runs.
    pub retention: Retention,
    /// The clock the background loop schedules its purges on.
    pub clock: Arc<dyn Clock>,
    /// Whether this instance runs the verifier (and so the presentation expiry sweep).
    pub runs_verifier: bool,
}

impl App {
    /// Starts the background loop (webhook dispatch, presentation expiry sweep, purges);
    /// `vdc serve` and the testkit call it and stop it on shutdown.
    pub fn start_background(&self) -> background::Background {
        background::start(
            self.webhooks.clone(),
            self.retention.clone(),
            self.runs_verifier.then(|| self.verifier.clone()),
            self.clock.clone(),
        )
    }
}

/// Builds the server from configuration: store, key material, services, routers.
pub async fn build(config: &Config, deps: Deps) -> anyhow::Result<App> {
    let store = open_store(&config.database_url()).await?;
    build_with_store(config, deps, store).await
}

/// Like [`build`], with an already opened store.
pub async fn build_with_store(
    config: &Config,
    deps: Deps,
    store: Arc<dyn Store>,
) -> anyhow::Result<App> {
    let kek = key_encryption_key(config, deps.rng.as_ref())?;
    let (admin, generated_admin_key) = admin_key(config, store.as_ref(), deps.rng.as_ref()).await?;
    let public_url = config.public_url();
    let metrics = vdc_http::metrics::Metrics::new();
    // Every domain event (issuance, status change, presentation outcome) reaches each sink.
    let fetch_policy = vdc_core::fetch::FetchPolicy::from_allow_list(&config.outbound_allow)
        .map_err(|e| anyhow::anyhow!("VDC_OUTBOUND_ALLOW: {e}"))?;
    let fetcher = vdc_core::fetch::Fetcher::new(fetch_policy)
        .map_err(|e| anyhow::anyhow!("outbound fetcher: {e}"))?;
    let webhooks = Webhooks::new(
        store.clone(),
        kek.clone(),
        deps.clock.clone(),
        deps.rng.clone(),
        fetcher.clone(),
        config.webhook_settings()?,
        metrics.clone(),
    )?;
    let retention = Retention::new(store.clone(), config.retention_settings()?);
    let sinks: Vec<Arc<dyn vdc_store::events::EventSink>> = vec![
        Arc::new(vdc_access::AuditSink::new(deps.rng.clone())),
        Arc::new(webhooks.clone()),
    ];
    // Management routers authenticate the admin key or a scoped API key and audit each call.
    let auth =
        vdc_access::Authenticator::new(admin, store.clone(), deps.clock.clone(), deps.rng.clone());
    let events: vdc_store::events::Events = Arc::new(vdc_store::events::FanOut(sinks));
    let Services {
        keys,
        issuer,
        status,
        verifier,
    } = services(
        store.clone(),
        kek,
        &deps,
        &public_url,
        config.status_settings(),
        Some(fetcher),
        &Observers {
            metrics: metrics.clone(),
            events,
        },
    )?;
    let modules = config.pkcs11_modules()?;
    if !modules.is_empty() {
        keys.set_external_keys(Arc::new(hsm::HsmKeys::new(modules)));
    }
    let issuer = issuer
        .with_claims_endpoint_timeout(config.claims_endpoint_timeout()?)
        .with_haip_default(config.haip);
    let verifier = verifier.with_haip_default(config.haip);
    if config.demo {
        demo::seed(&issuer).await?;
        demo::seed_verifier(&verifier, &issuer).await?;
    }
    let probe = Arc::new(Readiness {
        store: store.clone(),
        issuer: issuer.clone(),
        keys: keys.clone(),
    });
    let mut router = vdc_http::health::routes(probe, metrics.clone());
    if matches!(config.role, Role::All | Role::Issuer) {
        router = router
            .merge(vdc_issuer::http::wallet_routes(issuer.clone()))
            .merge(vdc_issuer::http::management_routes(
                issuer.clone(),
                auth.clone(),
            ));
    }
    if matches!(config.role, Role::All | Role::Verifier) {
        router = router
            .merge(vdc_verifier::http::wallet_routes(verifier.clone()))
            .merge(vdc_verifier::http::management_routes(
                verifier.clone(),
                auth.clone(),
            ));
    }
    if matches!(config.role, Role::All | Role::Status | Role::Issuer) {
        router = router
            .merge(vdc_status::http::public_routes(status.clone()))
            .merge(vdc_status::http::management_routes(
                status.clone(),
                auth.clone(),
            ));
    }
    if config.role == Role::All {
        // The pages use issuer and verifier together, so only a full server has them.
        router = router.merge(vdc_pages::routes(vdc_pages::Pages::new(
            issuer.clone(),
            status.clone(),
            verifier.clone(),
            auth.clone(),
            config.demo.then(|| vdc_pages::Demo {
                issuer: demo::DEMO_ISSUER.to_owned(),
                verifier: demo::DEMO_VERIFIER.to_owned(),
            }),
            &public_url,
        )));
    }
    router = router.merge(vdc_access::routes(
        vdc_access::AccessApi::new(store.clone(), deps.clock.clone(), deps.rng.clone())
            .with_audit_log(auth.audit_log().clone()),
        auth.clone(),
    ));
    // Documentation, without an API key (it is the published contract, no secrets).
    router = router.merge(docs::routes(config.role));
    router = router.merge(vdc_webhooks::management_routes(
        webhooks.clone(),
        auth.clone(),
    ));
    // After every merge: unknown paths and methods answer the contract's JSON error body.
    let router = vdc_http::layers::json_fallbacks(router);
    let router = vdc_http::layers::request_timeout(router, config.request_timeout()?);
    let router = vdc_http::layers::standard_with_metrics(router, Some(metrics.clone()));
    Ok(App {
        router,
        issuer,
        generated_admin_key,
        public_url,
        status,
        store,
        verifier,
        metrics,
        auth,
        webhooks,
        retention,
        clock: deps.clock.clone(),
        runs_verifier: matches!(config.role, Role::All | Role::Verifier),
    })
}

/// The services of one deployment over its store.
#[derive(Debug, Clone)]
pub struct Services {
    /// The tenants' signing keys, shared by the other three.
    pub keys: KeyRing,
    /// Status lists (signed with the issuers' keys).
    pub status: StatusService,
    /// The issuer (allocates a status entry for every credential).
    pub issuer: Issuer,
    /// The verifier (this deployment's issuers' keys and status lists in process).
    pub verifier: Verifier,
}

/// Who hears of what the services do.
#[derive(Clone)]
pub struct Observers {
    /// The metrics registry.
    pub metrics: vdc_http::metrics::Metrics,
    /// Every domain event (issuance, status change, presentation outcome) reaches each sink.
    pub events: vdc_store::events::Events,
}

impl Default for Observers {
    fn default() -> Self {
        Self {
            metrics: vdc_http::metrics::Metrics::default(),
            events: Arc::new(vdc_store::events::NoEvents),
        }
    }
}

/// Builds the services in the order they depend on each other: the key ring, the status
/// service signing with it, the issuer allocating status entries through it, and the
/// verifier reading this deployment's issuers' keys and lists in process. `fetcher` reaches
/// foreign issuers and status lists (`None`: foreign issuers only by configured keys).
pub fn services(
    store: Arc<dyn Store>,
    kek: KeyEncryptionKey,
    deps: &Deps,
    public_url: &str,
    status_settings: StatusSettings,
    fetcher: Option<Fetcher>,
    observers: &Observers,
) -> anyhow::Result<Services> {
    let (clock, rng) = (deps.clock.clone(), deps.rng.clone());
    // A retired key stays published past the longest-lived token it could have signed
    // (status list tokens, signed Credential Issuer Metadata), beyond its credentials (R3).
    let signed_lifetime_secs = status_settings
        .token_lifetime
        .max(vdc_issuer::metadata::SIGNED_METADATA_LIFETIME_SECS);
    let keys = KeyRing::with_settings(
        kek,
        store.clone(),
        clock.clone(),
        vdc_store::KeyRingSettings {
            signed_lifetime_secs,
        },
    );
    let status = StatusService::new(
        store.clone(),
        keys.clone(),
        clock.clone(),
        rng.clone(),
        public_url,
        status_settings,
    )
    .map_err(|e| anyhow::anyhow!("status list settings: {e}"))?
    .with_metrics(observers.metrics.clone())
    .with_events(observers.events.clone());
    // One outbound client for foreign status lists and identity providers (G7 policy).
    let outbound = match &fetcher {
        Some(f) => f.clone(),
        None => Fetcher::new(Default::default())
            .map_err(|e| anyhow::anyhow!("outbound fetcher: {e}"))?,
    };
    let issuer = Issuer::new(
        store.clone(),
        keys.clone(),
        clock.clone(),
        rng.clone(),
        public_url,
        IssuerSettings::default(),
    )
    .with_status(status.clone())
    .with_authorization(store.clone(), outbound.clone())
    .with_metrics(observers.metrics.clone())
    .with_events(observers.events.clone());
    let local: Arc<dyn LocalIssuers> =
        Arc::new(KeyRingIssuers::new(keys.clone(), public_url, clock.clone()));
    // Status lists are checked for any issuer the verifier already trusts (the client pins
    // the list's issuer to the credential's).
    let resolver = DeploymentKeyResolver::new(local.clone(), None, fetcher.clone(), clock.clone());
    let checker =
        DeploymentStatusChecker::new(status.clone(), Arc::new(resolver), outbound, clock.clone());
    let verifier = Verifier::new(
        vdc_verifier::VerifierDeps {
            store,
            keys: keys.clone(),
            local_issuers: local,
            status: Arc::new(checker),
            fetcher,
            clock,
            rng,
        },
        public_url,
        vdc_verifier::VerifierSettings::default(),
    )
    .with_metrics(observers.metrics.clone())
    .with_events(observers.events.clone());
    Ok(Services {
        keys,
        status,
        issuer,
        verifier,
    })
}

/// What `/readyz` and `/healthz` check: the store answers (migrations are applied before
/// the server starts: [`open_store`] refuses to return otherwise) and every issuer's current
/// signing key decrypts with the KEK (decrypted signers are cached, so this is one query).
struct Readiness {
    store: Arc<dyn Store>,
    issuer: Issuer,
    keys: KeyRing,
}

#[async_trait::async_trait]
impl Probe for Readiness {
    async fn store(&self) -> Result<(), ProbeError> {
        Ok(IssuanceStore::ping(self.store.as_ref()).await?)
    }

    async fn signing_keys(&self) -> Result<(), ProbeError> {
        self.issuer.check_signing_keys().await?;
        // A cached HSM signer hides an unplugged token until it signs: ask the tokens.
        self.keys.ping_external().await?;
        Ok(())
    }
}

/// The KEK from configuration or `data_dir/kek`, never creating one (`None` when neither
/// exists).
pub fn existing_key_encryption_key(config: &Config) -> anyhow::Result<Option<KeyEncryptionKey>> {
    let (encoded, source) = match &config.kek {
        Some(k) => (
            zeroize::Zeroizing::new(k.0.trim().to_owned()),
            "VDC_KEK".to_owned(),
        ),
        None => {
            let path = config.data_dir.join("kek");
            if !path.exists() {
                return Ok(None);
            }
            check_kek_file(&path)?;
            (
                zeroize::Zeroizing::new(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                ),
                format!("the KEK file {} (in VDC_DATA_DIR)", path.display()),
            )
        }
    };
    // Names the source and says what is wrong (length or alphabet) and how to make one.
    config::check_kek(&encoded, &source)?;
    let kek = KeyEncryptionKey::from_base64url(&encoded).map_err(|_| {
        anyhow::anyhow!("{source} must be the base64url encoding of exactly 32 bytes")
    })?;
    Ok(Some(kek.with_previous(&previous_keks(config)?)))
}

/// The KEKs of `VDC_KEK_PREVIOUS` (a KEK rotation's window).
pub fn previous_keks(config: &Config) -> anyhow::Result<Vec<KeyEncryptionKey>> {
    config
        .previous_keks()
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let source = format!("VDC_KEK_PREVIOUS (entry {})", i + 1);
            config::check_kek(text, &source)?;
            KeyEncryptionKey::from_base64url(text)
                .map_err(|_| anyhow::anyhow!("{source} must be 32 bytes, base64url"))
        })
        .collect()
}

/// The KEK from configuration, or from `data_dir/kek` (created with mode 0600 on first
/// start). Deployments with several instances must set `VDC_KEK` on all of them.
fn key_encryption_key(config: &Config, rng: &dyn RandomSource) -> anyhow::Result<KeyEncryptionKey> {
    if let Some(kek) = existing_key_encryption_key(config)? {
        return Ok(kek);
    }
    let path = config.data_dir.join("kek");
    create_private_dir(&config.data_dir)?;
    let kek = KeyEncryptionKey::generate(rng)?;
    write_private(&path, &kek.to_base64url())?;
    tracing::warn!(path = %path.display(), "generated a key-encryption key; back it up, and set VDC_KEK when running several instances");
    Ok(kek)
}

fn write_private(path: &Path, content: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(content.as_bytes())?;
    Ok(())
}

/// The admin key: from configuration, else the stored hash, else generated now (the first
/// instance to store its hash wins; only it prints the key).
async fn admin_key(
    config: &Config,
    store: &dyn IssuanceStore,
    rng: &dyn RandomSource,
) -> anyhow::Result<(AdminKey, Option<String>)> {
    if let Some(k) = &config.admin_key {
        if k.0.len() < 16 {
            bail!("VDC_ADMIN_KEY must be at least 16 characters");
        }
        return Ok((AdminKey::from_key(&k.0), None));
    }
    if let Some(stored) = stored_admin_hash(store).await? {
        return Ok((AdminKey::from_hash(&stored), None));
    }
    let key = vdc_core::rng::random_b64(rng, 32)?;
    let hash = vdc_core::base64url::encode(sha256(&key));
    if store
        .put_setting_if_absent(ADMIN_KEY_SETTING, &hash)
        .await?
    {
        return Ok((AdminKey::from_key(&key), Some(key)));
    }
    let stored = stored_admin_hash(store)
        .await?
        .context("admin key hash vanished")?;
    Ok((AdminKey::from_hash(&stored), None))
}

/// Whether an admin key is configured or its hash stored.
pub async fn admin_key_present(config: &Config, store: &dyn IssuanceStore) -> anyhow::Result<bool> {
    Ok(config.admin_key.is_some() || stored_admin_hash(store).await?.is_some())
}

async fn stored_admin_hash(store: &dyn IssuanceStore) -> anyhow::Result<Option<[u8; 32]>> {
    let Some(text) = store.get_setting(ADMIN_KEY_SETTING).await? else {
        return Ok(None);
    };
    let bytes = vdc_core::base64url::decode(&text)?;
    let hash: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("stored admin key hash is corrupt"))?;
    Ok(Some(hash))
}

/// How [`serve_with`] treats connections (issue 10, item 11: 200 half-sent requests held
/// their connections open indefinitely).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a client has to send a request's headers (and to finish a TLS handshake); an
    /// idle keep-alive connection is closed after as long.
    pub header_read_timeout: std::time::Duration,
    /// Connections served at once. Further ones are not accepted until one closes: they wait
    /// in the kernel's listen backlog, which costs the server nothing.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` with the default [`ConnectionLimits`] until `shutdown`
/// resolves, finishing in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        router,
        ConnectionLimits::default(),
        None,
        shutdown,
    )
    .await
}

/// Serves `router` on `listener` (over TLS with `tls`) under `limits` until `shutdown`
/// resolves: then it stops accepting, closes idle connections and waits for the requests in
/// flight (hyper's graceful shutdown). HTTP/1.1 only, as the router is built for.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // The permit comes first: beyond the cap nothing is accepted.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let watcher = graceful.watcher();
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let served = match tls {
                None => {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    watcher.watch(http.serve_connection(io, service)).await
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream))
                            .await;
                    let Ok(Ok(stream)) = handshake else {
                        tracing::debug!("TLS handshake failed or timed out");
                        return;
                    };
                    let io = hyper_util::rt::TokioIo::new(stream);
                    watcher.watch(http.serve_connection(io, service)).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: a vanished peer is nothing; anything else (out of file
/// descriptors) is logged and followed by a short pause, so the loop does not spin.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    // A pause in the accept loop, not a test waiting on time (clippy.toml bans sleep there).
    #[allow(clippy::disallowed_methods)]
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
