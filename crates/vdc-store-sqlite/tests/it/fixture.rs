//! A fresh, migrated SQLite database file per test, removed afterwards.

// Test support: failing loudly is its job.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vdc_store::{PoolSettings, Store};
use vdc_store_sqlite::SqliteStore;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A few connections per test keep parallel tests light while racing for real.
pub(crate) fn settings() -> PoolSettings {
    PoolSettings {
        max_connections: 4,
        acquire_timeout: Duration::from_secs(10),
    }
}

/// A path for a new database file, unique per process and call.
pub(crate) fn temp_db_path() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("vdc-store-test-{}-{n}.db", std::process::id()))
}

/// A migrated store on a new file.
pub(crate) struct Fixture {
    store: SqliteStore,
    path: PathBuf,
}

/// Opens and migrates a new database file.
pub(crate) async fn fresh() -> Fixture {
    let path = temp_db_path();
    let store = SqliteStore::open(&path, settings())
        .await
        .expect("open temp sqlite db");
    store.migrate().await.expect("migrate");
    Fixture { store, path }
}

impl Fixture {
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    pub(crate) async fn finish(self) {
        self.store.close().await;
        remove_db(&self.path);
    }
}

/// Removes a database file with its WAL and shared-memory files.
pub(crate) fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
