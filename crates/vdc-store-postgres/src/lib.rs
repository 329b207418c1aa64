//! vdc-store-postgres: the production store, on Postgres through sqlx.
//!
//! Layout (the same files as `vdc-store-sqlite`, so a diff of the two shows the dialect):
//! - this file: [`PostgresStore`] (pool, migrations) and the helpers every module uses.
//! - `issuance`, `authorization`, `keys`, `status`, `presentation`, `access`, `webhook`: one
//!   store trait each (`IssuanceStore`, `AuthorizationStore`, `KeyStore`, …), with its queries.
//! - `outbox`: the audit and webhook rows a write commits with (R1).
//! - `error`: sqlx errors → [`StoreError`] (constraints by name, outages → `Unavailable`).
//! - `testing` (feature `testing`): throwaway databases for tests.
//!
//! Every query is `sqlx::query!`/`query_as!`, checked at build time against the database in
//! `VDC_PG_URL` (see `sqlx.toml`) or, with `SQLX_OFFLINE=true`, against the committed `.sqlx/`.
//! Single use (G2) is a conditional `UPDATE … WHERE consumed_at IS NULL AND expires_at > $now`
//! (Postgres re-checks the condition after waiting for a concurrent writer's row lock, so
//! exactly one racer matches); multi-statement writes run in one transaction.

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

#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use vdc_store::{IssuanceStore, PoolSettings, Result, StoreError, UnixTime};

use crate::error::db_err;

/// The migrations of `migrations/postgres`, embedded at build time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// The Postgres store. Cheap to clone (a pool handle).
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl std::fmt::Debug for PostgresStore {
    /// The pool's connect options hold the database password: print sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("connections", &self.pool.size())
            .field("idle", &self.pool.num_idle())
            .finish_non_exhaustive()
    }
}

/// How long a pooled connection (and the query plans it cached) lives.
pub const PLAN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`), opening one connection now so a
    /// wrong URL fails at startup; [`StoreError::Unavailable`] if unreachable within
    /// `settings.acquire_timeout`.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Self> {
        let store = Self::connect_lazy(url, settings)?;
        store.ping().await?;
        Ok(store)
    }

    /// Builds the pool without connecting (connections open on first use).
    /// [`StoreError::Invalid`] if the URL does not parse.
    pub fn connect_lazy(url: &str, settings: PoolSettings) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| StoreError::Invalid("database URL does not parse"))?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // A connection keeps the generic plans of its prepared statements until it
            // closes. Made while a table was still small (a new database) or without
            // statistics (autovacuum off), a plan can read every row of a tenant instead of
            // one (issue 11: 8,000 index tuples per offer lookup after 60,000 flows). A new
            // connection plans again with the tables as they are now.
            .max_lifetime(PLAN_LIFETIME)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies the pending migrations of `migrations/postgres` (idempotent; concurrent
    /// instances serialize on sqlx's advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(error::migrate_err)
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a write transaction (row locks are taken by its statements).
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        self.pool.begin().await.map_err(db_err)
    }
}

fn t(at: UnixTime) -> i64 {
    at.secs()
}
