//! A fresh, migrated Postgres database per test (`vdc_test_<pid>_<n>_<random>`), created
//! through the admin connection and dropped afterwards.
//!
//! The admin URL is `VDC_PG_ADMIN_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`.

// Test support: failing loudly is its job.
#![allow(clippy::expect_used, clippy::panic)]

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use vdc_store::{IssuanceStore, PoolSettings};
use vdc_store_postgres::PostgresStore;

static COUNTER: AtomicU64 = AtomicU64::new(0);

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("VDC_PG_ADMIN_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// The URL of database `name` on the admin URL's server.
fn database_url(name: &str) -> String {
    let admin = admin_url();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    format!("{base}/{name}")
}

async fn admin() -> PgConnection {
    let url = admin_url();
    match PgConnection::connect(&url).await {
        Ok(conn) => conn,
        Err(e) => panic!(
            "Postgres is required for these tests and is unreachable at {url}: {e}. \
             Start it (e.g. `pg_ctlcluster --skip-systemctl-redirect 15 main start`) or set \
             VDC_PG_ADMIN_URL."
        ),
    }
}

/// A migrated store on its own database.
pub(crate) struct Fixture {
    store: PostgresStore,
    name: String,
}

/// Creates and migrates a new database.
pub(crate) async fn fresh() -> Fixture {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().hash_one(n) & 0xffff_ffff;
    let name = format!("vdc_test_{}_{n}_{random:08x}", std::process::id());
    let mut conn = admin().await;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    conn.close().await.ok();
    let settings = PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
    };
    let store = PostgresStore::connect(&database_url(&name), settings)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    Fixture { store, name }
}

impl Fixture {
    pub(crate) fn store(&self) -> Arc<dyn IssuanceStore> {
        Arc::new(self.store.clone())
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        let mut conn = admin().await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("drop test database");
        conn.close().await.ok();
    }
}

impl Fixture {
    /// The store itself, for backend-specific tests.
    pub(crate) fn postgres(&self) -> &PostgresStore {
        &self.store
    }
}
