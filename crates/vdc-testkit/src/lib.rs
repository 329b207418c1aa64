//! vdc-testkit: starts the real `vdc` server on `127.0.0.1:0` over a fresh SQLite file or a
//! fresh Postgres database, with a fixed clock tests can move, and gives tests an HTTP
//! client and a wallet (vdc-holder) that talk to it over real HTTP.

// Test support: failing loudly is its job.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use vdc::config::{Config, Secret};
use vdc_core::time::{Clock as _, FixedClock, SystemClock};
use vdc_holder::{MemoryStore, Wallet, WalletOptions};
use vdc_store::Store;

/// The admin key every test server uses.
pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Which store a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh Postgres database (Postgres must be running; the test fails otherwise).
    Postgres,
}

enum Cleanup {
    Sqlite(PathBuf),
    Postgres(Option<vdc_store_postgres::testing::TestDatabase>),
    /// A [`TestServer::sibling`]: the first instance owns the database.
    Sibling,
}

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The clock the server (and [`TestServer::wallet`]) use.
    pub clock: FixedClock,
    /// The store.
    pub store: Arc<dyn Store>,
    /// The URL of the server's database (`sqlite://PATH` or `postgres://...`), for tests that
    /// inspect what rests in it.
    pub database_url: String,
    /// An HTTP client.
    pub http: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    background: Option<vdc::background::Background>,
    config: Config,
    cleanup: Cleanup,
}

static N: AtomicU64 = AtomicU64::new(0);

impl TestServer {
    /// Starts a server on `backend` with the demo issuer seeded.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server whose configuration `adjust` may change first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Self {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("vdc-testkit-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (store, cleanup, database_url): (Arc<dyn Store>, Cleanup, String) = match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.join("vdc.sqlite").display());
                (
                    vdc::open_store(&url).await.unwrap(),
                    Cleanup::Sqlite(dir.clone()),
                    url,
                )
            }
            Backend::Postgres => {
                let db = vdc_store_postgres::testing::create()
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let url = db.url.clone();
                (Arc::new(db.store.clone()), Cleanup::Postgres(Some(db)), url)
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            public_url: Some(base.clone()),
            admin_key: Some(Secret(ADMIN_KEY.into())),
            kek: Some(Secret(vdc_core::base64url::encode([9u8; 32]))),
            data_dir: dir,
            demo: true,
            ..Config::default()
        };
        adjust(&mut config);
        let clock = FixedClock::at(SystemClock.now().secs());
        let mut server = Self {
            base,
            clock,
            store,
            database_url,
            http: reqwest::Client::new(),
            shutdown: None,
            task: None,
            background: None,
            config,
            cleanup,
        };
        server.serve(listener).await;
        server
    }

    /// Builds the app on this server's store, config and clock and serves it on `listener`
    /// with its background loop (webhook dispatch, expiry sweep).
    async fn serve(&mut self, listener: tokio::net::TcpListener) {
        let deps = vdc::Deps {
            clock: Arc::new(self.clock.clone()),
            ..vdc::Deps::default()
        };
        let app = vdc::build_with_store(&self.config, deps, self.store.clone())
            .await
            .unwrap();
        self.background = Some(app.start_background());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let limits = self.config.connection_limits().unwrap();
        let task = tokio::spawn(async move {
            vdc::serve_with(listener, app.router, limits, None, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        self.shutdown = Some(tx);
        self.task = Some(task);
    }

    /// Stops serving (HTTP and background loop) without touching the database.
    async fn halt(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        if let Some(b) = self.background.take() {
            b.stop().await;
        }
    }

    /// Stops the server and starts it again on the same store, configuration, clock and
    /// address, as an instance restart would (what is durable survives; nothing in memory
    /// does).
    pub async fn restart(&mut self) {
        self.halt().await;
        let addr = self.base.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        self.serve(listener).await;
    }

    /// [`Self::restart`] with the configuration changed by `adjust` first (another public
    /// URL, say); the server still listens on the same address.
    pub async fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        adjust(&mut self.config);
        self.restart().await;
    }

    /// A second instance of the same deployment: its own pool on the same database, the
    /// same configuration (KEK, public URL: identifiers name the first instance) and the
    /// same clock, its own caches and address. Stopping it leaves the database alone.
    pub async fn sibling(&self) -> Self {
        let store = vdc::open_store(&self.database_url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut server = Self {
            base: format!("http://{}", listener.local_addr().unwrap()),
            clock: self.clock.clone(),
            store,
            database_url: self.database_url.clone(),
            http: reqwest::Client::new(),
            shutdown: None,
            task: None,
            background: None,
            config: self.config.clone(),
            cleanup: Cleanup::Sibling,
        };
        server.serve(listener).await;
        server
    }

    /// A URL on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The credential issuer identifier of a tenant.
    pub fn issuer_url(&self, issuer: &str) -> String {
        self.url(&format!("/issuers/{issuer}"))
    }

    /// An admin request.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_KEY)
    }

    /// POSTs JSON with the admin key; returns status and body.
    pub async fn admin_post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .admin(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// GETs with the admin key; returns status and body.
    pub async fn admin_get(&self, path: &str) -> (u16, Value) {
        let r = self.admin(reqwest::Method::GET, path).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Creates an offer on the demo issuer (or any issuer) and returns the 201 body.
    pub async fn offer(&self, issuer: &str, body: &Value) -> Value {
        let (status, body) = self
            .admin_post(&format!("/api/v1/issuers/{issuer}/offers"), body)
            .await;
        assert_eq!(status, 201, "offer creation failed: {body}");
        body
    }

    /// A wallet with an in-memory store that uses the server's clock and allows http.
    pub fn wallet(&self) -> Wallet {
        let options = WalletOptions {
            allow_insecure_http: true,
            clock: Arc::new(self.clock.clone()),
            ..WalletOptions::default()
        };
        Wallet::new(MemoryStore::new(), options).unwrap()
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        self.halt().await;
        match &mut self.cleanup {
            Cleanup::Sqlite(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres(db) => {
                if let Some(db) = db.take() {
                    db.drop_database().await.unwrap_or_else(|e| panic!("{e}"));
                }
            }
            Cleanup::Sibling => {}
        }
    }
}

/// Like [`both_backends!`], with a fixture: `setup(Backend)` makes it, each test gets
/// `&fixture`, and `fixture.stop()` ends it.
#[macro_export]
macro_rules! both_backends_with {
    ($setup:ident, $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::$setup($crate::Backend::Sqlite).await;
                    super::$name(&fixture).await;
                    fixture.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fixture = super::$setup($crate::Backend::Postgres).await;
                    super::$name(&fixture).await;
                    fixture.stop().await;
                }
            )*
        }
    };
}

/// Runs `test` against a fresh server on each backend (one `#[tokio::test]` per backend is
/// generated by [`both_backends!`]).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::TestServer::start($crate::Backend::Sqlite).await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let server = $crate::TestServer::start($crate::Backend::Postgres).await;
                    super::$name(&server).await;
                    server.stop().await;
                }
            )*
        }
    };
}
