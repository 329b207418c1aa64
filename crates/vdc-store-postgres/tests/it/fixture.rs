//! A fresh, migrated Postgres database per test, through `vdc_store_postgres::testing`.

// Test support: failing loudly is its job.
#![allow(clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use vdc_store::Store;
use vdc_store_postgres::PostgresStore;
use vdc_store_postgres::testing::{self, TestDatabase};

/// A migrated store on its own database.
pub(crate) struct Fixture(TestDatabase);

/// Creates and migrates a new database.
pub(crate) async fn fresh() -> Fixture {
    Fixture(testing::create().await.unwrap_or_else(|e| panic!("{e}")))
}

impl Fixture {
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        Arc::new(self.0.store.clone())
    }

    pub(crate) async fn finish(self) {
        self.0
            .drop_database()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The store itself, for backend-specific tests.
    pub(crate) fn postgres(&self) -> &PostgresStore {
        &self.0.store
    }
}
