//! Behaviour specific to the SQLite backend.

use std::time::{Duration, Instant};

use sqlx::Connection;
use vdc_store::{
    IssuanceStore, IssuerRecord, NonceUse, Outbox, PoolSettings, SecretHash, StoreError, UnixTime,
};
use vdc_store_sqlite::SqliteStore;

use crate::fixture::{remove_db, temp_db_path};

#[tokio::test]
async fn migrate_is_idempotent_and_data_survives_reopening() {
    let path = temp_db_path();
    let store = SqliteStore::open(&path, PoolSettings::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    let issuer = IssuerRecord {
        id: "acme".into(),
        config: serde_json::json!({ "a": [1, 2] }),
        created_at: UnixTime(1),
    };
    store.create_issuer(&issuer).await.unwrap();
    store.close().await;

    let reopened = SqliteStore::open(&path, PoolSettings::default())
        .await
        .unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(reopened.get_issuer("acme").await.unwrap(), Some(issuer));
    reopened.close().await;
    remove_db(&path);
}

#[tokio::test]
async fn a_write_lock_held_elsewhere_answers_unavailable_after_the_busy_timeout() {
    let path = temp_db_path();
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(300),
    };
    let store = SqliteStore::open(&path, settings).await.unwrap();
    store.migrate().await.unwrap();
    store
        .create_issuer(&IssuerRecord {
            id: "acme".into(),
            config: serde_json::json!({}),
            created_at: UnixTime(1),
        })
        .await
        .unwrap();
    let nonce = NonceUse {
        hash: SecretHash::of("n"),
        expires_at: UnixTime(100),
    };

    // Another process-like connection holds the single write lock.
    let url = format!("sqlite://{}", path.display());
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();

    let started = Instant::now();
    let outcome = store.consume_nonce("acme", &nonce, UnixTime(2)).await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the busy timeout"
    );
    let outcome = store
        .issue_credentials(
            "acme",
            &nonce,
            UnixTime(2),
            "o",
            &[],
            None,
            1,
            &Outbox::EMPTY,
        )
        .await;
    assert!(
        matches!(outcome, Err(StoreError::Unavailable(_))),
        "{outcome:?}"
    );

    // R2: nothing changed; after the outage the same call succeeds once.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
    assert!(
        store
            .consume_nonce("acme", &nonce, UnixTime(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_nonce("acme", &nonce, UnixTime(3))
            .await
            .unwrap()
    );
    store.close().await;
    remove_db(&path);
}

#[tokio::test]
async fn unparsable_url_is_invalid() {
    assert!(matches!(
        SqliteStore::connect("postgres://nope", PoolSettings::default()).await,
        Err(StoreError::Invalid(_))
    ));
}
