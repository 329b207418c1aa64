//! vdc-store-sqlite: the zero-setup store, an embedded SQLite file through sqlx.
//!
//! Layout (the same files as `vdc-store-postgres`, so a diff of the two shows the dialect):
//! - this file: [`SqliteStore`] (pool, pragmas, migrations) and the helpers every module uses.
//! - `issuance`, `authorization`, `keys`, `status`, `presentation`, `access`, `webhook`: one
//!   store trait each (`IssuanceStore`, `AuthorizationStore`, `KeyStore`, …), with its queries.
//! - `outbox`: the audit and webhook rows a write commits with (R1).
//! - `error`: sqlx errors → [`StoreError`] (constraints by their column lists, `BUSY` and
//!   I/O failures → `Unavailable`).
//!
//! Every query is `sqlx::query!`/`query_as!`, checked at build time against the database in
//! `VDC_SQLITE_URL` (see `sqlx.toml`) or, with `SQLX_OFFLINE=true`, against the committed
//! `.sqlx/`. JSON columns are TEXT (serialized here), booleans INTEGER 0/1.
//!
//! Concurrency: WAL journal (readers never block the writer), a busy timeout equal to the
//! acquire timeout, and every write transaction opened with `BEGIN IMMEDIATE`, which takes
//! the single write lock up front (waiting under the busy timeout). A deferred `BEGIN` that
//! reads first would fail with `SQLITE_BUSY_SNAPSHOT` when another connection commits in
//! between, whatever the timeout. Single-statement writes take the lock when they start.
//! Single use (G2) is a conditional `UPDATE … WHERE consumed_at IS NULL AND expires_at > $now`:
//! writers are serialized, so exactly one racer matches.

mod access;
mod authorization;
mod error;
mod issuance;
mod keys;
mod outbox;
mod presentation;
mod sealed;
mod status;
mod webhook;

use std::path::Path;
use std::str::FromStr;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use vdc_store::{PoolSettings, Result, StoreError, UnixTime};

use crate::error::db_err;

/// The migrations of `migrations/sqlite`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// The statement every write transaction starts with (see the crate docs).
pub(crate) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The SQLite store. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl std::fmt::Debug for SqliteStore {
    /// The pool's connect options hold the database password: print sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path`.
    pub async fn open(path: &Path, settings: PoolSettings) -> Result<Self> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options, settings).await
    }

    /// Opens (creating if missing) the database named by a `sqlite:` URL.
    /// [`StoreError::Invalid`] if the URL does not parse.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Invalid(
                "database URL does not start with sqlite:",
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| StoreError::Invalid("database URL does not parse"))?;
        Self::with_options(options, settings).await
    }

    async fn with_options(options: SqliteConnectOptions, settings: PoolSettings) -> Result<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // R1: a commit that answered must survive power loss too (WAL with NORMAL could
            // lose the last commits on an OS crash), so every commit syncs the WAL.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(settings.acquire_timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool (it should carry the pragmas [`SqliteStore::open`] sets).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Applies the pending migrations of `migrations/sqlite` (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(error::migrate_err)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction with `BEGIN IMMEDIATE` (see the crate docs).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with(BEGIN_WRITE).await.map_err(db_err)
    }
}

fn t(at: UnixTime) -> i64 {
    at.secs()
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|_| StoreError::Invalid("value does not serialize"))
}
