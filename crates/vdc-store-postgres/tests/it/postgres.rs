//! Behaviour specific to the Postgres backend: outages answer fast (R2), migrations.

use std::time::{Duration, Instant};

use vdc_store::{
    IssuanceStore, NewAccessToken, NonceUse, OfferRecord, Outbox, PoolSettings, SecretHash,
    StoreError, UnixTime,
};
use vdc_store_postgres::PostgresStore;

use crate::fixture::fresh;

/// Nothing listens on port 1: the store answers `Unavailable`, bounded by the acquire
/// timeout, for readiness and for single-use operations alike.
#[tokio::test]
async fn unreachable_postgres_answers_unavailable_quickly() {
    let settings = PoolSettings {
        max_connections: 2,
        acquire_timeout: Duration::from_millis(500),
    };
    let url = "postgres://postgres@127.0.0.1:1/vdc";

    let started = Instant::now();
    let connected = PostgresStore::connect(url, settings).await;
    assert!(
        matches!(connected, Err(StoreError::Unavailable(_))),
        "{connected:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    let store = PostgresStore::connect_lazy(url, settings).unwrap();
    let started = Instant::now();
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));
    let redeemed = store
        .redeem_pre_authorized_code(
            "acme",
            &SecretHash::of("code"),
            UnixTime(1),
            3,
            &NewAccessToken {
                token_hash: SecretHash::of("t"),
                expires_at: UnixTime(9),
                dpop_jkt: None,
            },
            false,
            &|_: &OfferRecord| Outbox::EMPTY,
        )
        .await;
    assert!(
        matches!(redeemed, Err(StoreError::Unavailable(_))),
        "{redeemed:?}"
    );
    assert!(matches!(
        store
            .consume_nonce(
                "acme",
                &NonceUse {
                    hash: SecretHash::of("n"),
                    expires_at: UnixTime(9),
                },
                UnixTime(1),
            )
            .await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(StoreError::Unavailable(String::new()).is_transient());
}

#[tokio::test]
async fn unparsable_url_is_invalid() {
    assert!(matches!(
        PostgresStore::connect_lazy("not a url", PoolSettings::default()),
        Err(StoreError::Invalid(_))
    ));
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let fixture = fresh().await;
    let outcome = fixture.postgres().migrate().await;
    let pinged = fixture.postgres().ping().await;
    fixture.finish().await;
    outcome.unwrap();
    pinged.unwrap();
}

#[tokio::test]
async fn debug_output_does_not_show_the_database_password() {
    let store = PostgresStore::connect_lazy(
        "postgres://vdc:s3cret-pw@127.0.0.1:1/vdc",
        PoolSettings::default(),
    )
    .unwrap();
    let printed = format!("{store:?}");
    assert!(printed.starts_with("PostgresStore"), "{printed}");
    assert!(!printed.contains("s3cret-pw"), "{printed}");
}
