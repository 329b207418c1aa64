//! [`SealedStore`](crate::SealedStore) and the KEK rotation over it.

use super::*;
use crate::sealed::{self, SealedTable, context};
use vdc_core::base64url;
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::SeededRandom;

/// Every kind of sealed secret under an old KEK (one row each, the issuer definition with
/// both sealed members, a request without a response key); a rotation to a new KEK stopped
/// after its first batch, then resumed, re-seals each exactly once: afterwards every value
/// opens with the new KEK alone, to the same plaintext, and a second run writes nothing. A
/// value changed since it was read is not overwritten.
pub async fn kek_rotation_reseals_every_table_resumably(store: Arc<dyn Store>) {
    let rng = SeededRandom::new(17);
    let old = KeyEncryptionKey::from_bytes(&[1u8; 32]).unwrap();
    let new = KeyEncryptionKey::from_bytes(&[2u8; 32]).unwrap();
    let seal = |plain: &str, ctx: &str| old.seal(plain.as_bytes(), ctx, &rng).unwrap();

    let mut issuer = issuer_record("acme");
    issuer.config = json!({
        "display": [],
        "identity_provider": {"client_secret_sealed": base64url::encode(seal("idp", &context::idp_client_secret("acme")))},
        "claims_endpoint_secret_sealed": base64url::encode(seal("claims", &context::claims_endpoint_secret("acme"))),
    });
    store.create_issuer(&issuer).await.unwrap();
    new_issuer(&store, "plain").await;
    for kid in ["k1", "k2", "k3"] {
        store
            .add_signing_key(&SigningKeyRecord {
                issuer_id: "acme".into(),
                kid: kid.into(),
                alg: "ES256".into(),
                public_jwk: json!({"kid": kid}),
                encrypted_private_key: seal(kid, &context::issuer_signing_key("acme", kid)),
                created_at: T0,
                activate_at: T0,
                retired_at: None,
            })
            .await
            .unwrap();
    }
    let mut verifier = verifier_record("v");
    verifier.encrypted_signing_key = seal("vkey", &context::verifier_signing_key("v"));
    store.create_verifier(&verifier).await.unwrap();
    let mut request = request_record("v", "r1", "s1");
    request.encrypted_response_key = Some(seal("rkey", &context::response_key("v", "r1")));
    store
        .create_presentation_request(&request, &Outbox::EMPTY)
        .await
        .unwrap();
    let mut keyless = request_record("v", "r2", "s2");
    keyless.encrypted_response_key = None;
    store
        .create_presentation_request(&keyless, &Outbox::EMPTY)
        .await
        .unwrap();
    let mut hook = webhook_record("h1");
    hook.encrypted_secret = seal("hook", &context::webhook_secret("h1"));
    store.create_webhook(&hook).await.unwrap();

    let both = new.clone().with_previous(std::slice::from_ref(&old));
    let before = sealed::census(store.as_ref(), &both, 2).await.unwrap();
    let other: u64 = before.iter().map(|c| c.other).sum();
    // 3 keys, 1 verifier key, 1 response key, 1 webhook secret, 2 definition members.
    assert_eq!(other, 8, "{before:?}");

    // Interrupted after the first batch (two rows of issuer_signing_keys): committed whole.
    let first = sealed::rotate(
        store.as_ref(),
        &both,
        &rng,
        2,
        std::time::Duration::ZERO,
        |_, _| false,
    )
    .await
    .unwrap();
    assert_eq!(first.resealed, 2);
    assert_eq!(first.batches, 1);
    let mid = sealed::census(store.as_ref(), &both, 2).await.unwrap();
    assert_eq!(mid.iter().map(|c| c.other).sum::<u64>(), 6, "{mid:?}");
    assert_eq!(mid.iter().map(|c| c.current).sum::<u64>(), 2, "{mid:?}");

    // A row changed after the rotation read it is left as the writer left it.
    let stale = store
        .sealed_rows(SealedTable::WebhookSecrets, &[String::new()], 10)
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    let written = store
        .replace_sealed(
            SealedTable::WebhookSecrets,
            &[crate::SealedChange {
                key: stale[0].key.clone(),
                old: vec![0; 40],
                new: vec![1; 40],
            }],
        )
        .await
        .unwrap();
    assert_eq!(written, 0, "compare-and-swap: the old value does not match");

    let rest = sealed::rotate(
        store.as_ref(),
        &both,
        &rng,
        2,
        std::time::Duration::ZERO,
        |_, _| true,
    )
    .await
    .unwrap();
    // One key row left, then one row per other table (the issuer definition with its two
    // members is one row).
    assert_eq!(rest.resealed, 5, "{rest:?}");
    let after = sealed::census(store.as_ref(), &both, 2).await.unwrap();
    assert!(after.iter().all(|c| c.other == 0), "{after:?}");
    assert_eq!(after.iter().map(|c| c.current).sum::<u64>(), 8);
    let again = sealed::rotate(
        store.as_ref(),
        &both,
        &rng,
        2,
        std::time::Duration::ZERO,
        |_, _| true,
    )
    .await
    .unwrap();
    assert_eq!(again, sealed::Rotation::default(), "idempotent");

    // The new KEK alone opens everything, to what was sealed.
    let open = |sealed: &[u8], ctx: &str| {
        String::from_utf8(new.open(sealed, ctx).unwrap().to_vec()).unwrap()
    };
    for k in store.signing_keys("acme").await.unwrap() {
        assert_eq!(
            open(
                &k.encrypted_private_key,
                &context::issuer_signing_key("acme", &k.kid)
            ),
            k.kid
        );
    }
    let v = store.get_verifier("v").await.unwrap().unwrap();
    assert_eq!(
        open(
            &v.encrypted_signing_key,
            &context::verifier_signing_key("v")
        ),
        "vkey"
    );
    let r = store
        .get_presentation_request("v", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        open(
            &r.encrypted_response_key.unwrap(),
            &context::response_key("v", "r1")
        ),
        "rkey"
    );
    let r2 = store
        .get_presentation_request("v", "r2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r2.encrypted_response_key, None);
    let h = store.get_webhook("h1").await.unwrap().unwrap();
    assert_eq!(
        open(&h.encrypted_secret, &context::webhook_secret("h1")),
        "hook"
    );
    let config = store.get_issuer("acme").await.unwrap().unwrap().config;
    let member = |p: &str| base64url::decode(config.pointer(p).unwrap().as_str().unwrap()).unwrap();
    assert_eq!(
        open(
            &member("/identity_provider/client_secret_sealed"),
            &context::idp_client_secret("acme")
        ),
        "idp"
    );
    assert_eq!(
        open(
            &member("/claims_endpoint_secret_sealed"),
            &context::claims_endpoint_secret("acme")
        ),
        "claims"
    );
    assert_eq!(
        config["display"],
        json!([]),
        "the rest of the definition is kept"
    );
    let plain = store.get_issuer("plain").await.unwrap().unwrap();
    assert_eq!(
        plain.config,
        issuer_record("plain").config,
        "nothing sealed: untouched"
    );
}

/// A value no configured KEK opens stops the rotation with an error naming the row, and
/// nothing of its batch is written.
pub async fn kek_rotation_refuses_a_value_no_kek_opens(store: Arc<dyn Store>) {
    let rng = SeededRandom::new(18);
    let stranger = KeyEncryptionKey::from_bytes(&[3u8; 32]).unwrap();
    let both = KeyEncryptionKey::from_bytes(&[2u8; 32])
        .unwrap()
        .with_previous(&[KeyEncryptionKey::from_bytes(&[1u8; 32]).unwrap()]);
    let mut hook = webhook_record("h1");
    hook.encrypted_secret = stranger
        .seal(b"x", &context::webhook_secret("h1"), &rng)
        .unwrap();
    store.create_webhook(&hook).await.unwrap();
    let err = sealed::rotate(
        store.as_ref(),
        &both,
        &rng,
        10,
        std::time::Duration::ZERO,
        |_, _| true,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("webhooks h1")),
        "{err}"
    );
    assert_eq!(
        store
            .get_webhook("h1")
            .await
            .unwrap()
            .unwrap()
            .encrypted_secret,
        hook.encrypted_secret
    );
}
