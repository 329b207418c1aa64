//! [`KeyStore`](crate::KeyStore): signing keys.

use super::*;

/// Signing keys: add, list oldest first, duplicate kid, unknown issuer, retire once; the
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
        retired_at: None,
    };
    store.add_signing_key(&key("k2", 10)).await.unwrap();
    store.add_signing_key(&key("k1", 5)).await.unwrap();
    assert_eq!(
        store.signing_keys("acme").await.unwrap(),
        vec![key("k1", 5), key("k2", 10)]
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
    assert_eq!(keys[0].retired_at, Some(later(20)));
    assert_eq!(keys[1].retired_at, None);
}
