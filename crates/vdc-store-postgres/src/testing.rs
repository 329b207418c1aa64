//! Throwaway databases for tests (feature `testing`): a fresh, migrated database per test,
//! created through the admin connection and dropped afterwards. Postgres being unreachable
//! is a loud failure, never a skip.
//!
//! The admin URL is `VDC_PG_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use vdc_store::PoolSettings;

use crate::PostgresStore;

static COUNTER: AtomicU64 = AtomicU64::new(0);

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("VDC_PG_ADMIN_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// The URL of database `name` on the admin URL's server.
pub fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

async fn admin() -> Result<PgConnection, String> {
    let url = admin_url();
    PgConnection::connect(&url).await.map_err(|e| {
        format!(
            "Postgres is required for these tests and is unreachable at {url}: {e}. Start it \
             (`scripts/ensure-postgres.sh`, or `pg_ctlcluster --skip-systemctl-redirect 15 main start`) \
             or set VDC_PG_ADMIN_URL."
        )
    })
}

/// A migrated store on its own database; call [`TestDatabase::drop_database`] when done.
#[derive(Debug)]
pub struct TestDatabase {
    /// The store.
    pub store: PostgresStore,
    /// The database name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

/// Creates and migrates a new database `vdc_test_<pid>_<n>_<random>`.
pub async fn create() -> Result<TestDatabase, String> {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(n) & 0xffff_ffff;
    let name = format!("vdc_test_{}_{n}_{random:08x}", std::process::id());
    let mut conn = admin().await?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("create test database: {e}"))?;
    conn.close().await.ok();
    let settings = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
    };
    let url = database_url(&name);
    let store = PostgresStore::connect(&url, settings)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    store.migrate().await.map_err(|e| format!("migrate: {e}"))?;
    Ok(TestDatabase { store, name, url })
}

impl TestDatabase {
    /// Closes the pool and drops the database.
    pub async fn drop_database(self) -> Result<(), String> {
        self.store.close().await;
        let mut conn = admin().await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("drop test database: {e}"))?;
        conn.close().await.ok();
        Ok(())
    }
}
