//! [`KeyStore`](crate::KeyStore): signing keys.

use super::*;

/// Signing keys: add, list in the order added, duplicate kid, unknown issuer, retire once; the
/// ciphertext comes back byte for byte.
pub async fn signing_keys_round_trip(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "other").await;
    let key = |kid: &str, at: i64| SigningKeyRecord {
        issuer_id: "acme".to_owned(),
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        public_jwk: json!({ "kty": "EC", "crv": "P-256", "x": kid, "y": "y", "kid": kid }),
        encrypted_private_key: vec![0, 1, 2, 255, 0, 42],
        created_at: later(at),
        activate_at: later(at),
        retired_at: None,
    };
    // In the order added, even where creation times say otherwise (a clock step back):
    // the order is the rotation order.
    store.add_signing_key(&key("k2", 10)).await.unwrap();
    store.add_signing_key(&key("k1", 5)).await.unwrap();
    assert_eq!(
        store.signing_keys("acme").await.unwrap(),
        vec![key("k2", 10), key("k1", 5)]
    );
    assert!(store.signing_keys("other").await.unwrap().is_empty());
    assert!(matches!(
        store.add_signing_key(&key("k1", 99)).await,
        Err(StoreError::Duplicate("signing key"))
    ));
    let mut orphan = key("k3", 1);
    orphan.issuer_id = "nobody".to_owned();
    assert!(matches!(
        store.add_signing_key(&orphan).await,
        Err(StoreError::NotFound("issuer"))
    ));

    assert!(
        !store
            .retire_signing_key("other", "k1", later(20))
            .await
            .unwrap()
    );
    assert!(
        store
            .retire_signing_key("acme", "k1", later(20))
            .await
            .unwrap()
    );
    assert!(
        !store
            .retire_signing_key("acme", "k1", later(30))
            .await
            .unwrap()
    );
    let keys = store.signing_keys("acme").await.unwrap();
    assert_eq!(keys[1].retired_at, Some(later(20)));
    assert_eq!(keys[0].retired_at, None);
}

/// Rotation: racing rotations that saw the same newest key add exactly one key (the others
/// conflict, none is a 5xx-class error); a stale expectation conflicts; a scheduled key's
/// `activate_at` comes back; delete removes one key once; an unknown issuer is not found.
pub async fn signing_key_rotation_adds_exactly_one_next_key(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let key = |kid: &str, at: i64, activate: i64| SigningKeyRecord {
        issuer_id: "acme".to_owned(),
        kid: kid.to_owned(),
        alg: "ES256".to_owned(),
        public_jwk: json!({ "kty": "EC", "crv": "P-256", "x": kid, "y": "y", "kid": kid }),
        encrypted_private_key: vec![9, 9],
        created_at: later(at),
        activate_at: later(activate),
        retired_at: None,
    };
    store.add_signing_key(&key("k1", 1, 1)).await.unwrap();
    // The racers' keys are made in the same second as k1: the order is kept anyway.
    let results = race(|i| {
        let store = store.clone();
        let record = key(&format!("r{i}"), 1, 1);
        async move { store.rotate_signing_key(&record, "k1").await }
    })
    .await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one rotation wins: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict(_)))),
        "losers conflict: {results:?}"
    );
    let keys = store.signing_keys("acme").await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].kid, "k1");
    assert_eq!(keys[1].activate_at, later(1));
    let next = keys[1].kid.clone();
    assert!(matches!(
        store.rotate_signing_key(&key("late", 11, 11), "k1").await,
        Err(StoreError::Conflict(_))
    ));
    store
        .rotate_signing_key(&key("k3", 12, 200), &next)
        .await
        .unwrap();
    let mut orphan = key("k4", 13, 13);
    orphan.issuer_id = "nobody".to_owned();
    assert!(matches!(
        store.rotate_signing_key(&orphan, "k3").await,
        Err(StoreError::NotFound("issuer"))
    ));
    assert!(store.delete_signing_key("acme", "k3").await.unwrap());
    assert!(!store.delete_signing_key("acme", "k3").await.unwrap());
    assert_eq!(store.signing_keys("acme").await.unwrap().len(), 2);
}

/// The latest expiry of credentials issued in a window (what a retired key may have
/// signed): bounds inclusive, a credential without expiry counts as never expiring.
pub async fn latest_credential_expiry_covers_the_window(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    assert_eq!(
        store
            .latest_credential_expiry("acme", later(0), later(100))
            .await
            .unwrap(),
        None
    );
    let mut a = credential("acme", "o1", "cred-a", 7);
    a.issued_at = later(5);
    a.expires_at = Some(later(500));
    let mut b = credential("acme", "o1", "cred-b", 8);
    b.issued_at = later(5);
    b.expires_at = Some(later(900));
    store
        .issue_credentials(
            "acme",
            &nonce_use("n-1"),
            later(5),
            "o1",
            &[a, b],
            None,
            MAX_CREDENTIALS,
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    let expiry = |from: i64, until: i64| {
        let store = store.clone();
        async move {
            store
                .latest_credential_expiry("acme", later(from), later(until))
                .await
                .unwrap()
        }
    };
    assert_eq!(expiry(0, 5).await, Some(later(900)));
    assert_eq!(expiry(5, 5).await, Some(later(900)));
    assert_eq!(expiry(6, 100).await, None);
    assert_eq!(expiry(0, 4).await, None);
    let mut c = credential("acme", "o1", "cred-c", 9);
    c.issued_at = later(7);
    c.expires_at = None;
    store
        .issue_credentials(
            "acme",
            &nonce_use("n-2"),
            later(7),
            "o1",
            &[c],
            None,
            MAX_CREDENTIALS,
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    assert_eq!(expiry(0, 10).await, Some(UnixTime(i64::MAX)));
    assert_eq!(
        store
            .latest_credential_expiry("other", later(0), later(100))
            .await
            .unwrap(),
        None
    );
}
