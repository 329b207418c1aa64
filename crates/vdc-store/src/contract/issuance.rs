//! [`IssuanceStore`](crate::IssuanceStore): issuers, offers, `tx_code`s, access tokens,
//! nonces, issuance (with its per-offer limit), deferred issuance, notifications, settings,
//! purging, tenant isolation and the single-use races (G2).

use super::*;

/// `ping` answers on a healthy store.
pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
}

/// Issuers: create, get, list (by id), update config; unknown ones are `None`/`NotFound`.
pub async fn issuers_round_trip(store: Arc<dyn Store>) {
    assert_eq!(store.get_issuer("acme").await.unwrap(), None);
    assert!(store.list_issuers().await.unwrap().is_empty());
    new_issuer(&store, "zeta").await;
    new_issuer(&store, "acme").await;
    assert_eq!(
        store.get_issuer("acme").await.unwrap(),
        Some(issuer_record("acme"))
    );
    let ids: Vec<String> = store
        .list_issuers()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["acme", "zeta"]);

    let config =
        json!({ "credential_configurations_supported": { "x": { "format": "dc+sd-jwt" } } });
    store.update_issuer_config("acme", &config).await.unwrap();
    assert_eq!(
        store.get_issuer("acme").await.unwrap().unwrap().config,
        config
    );
    assert_eq!(
        store.get_issuer("zeta").await.unwrap(),
        Some(issuer_record("zeta"))
    );
    assert!(matches!(
        store.update_issuer_config("nobody", &config).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Issuer pages: by id, after the cursor id, at most `limit`; walking them returns every
/// tenant exactly once.
pub async fn issuer_pages_walk_every_tenant_once(store: Arc<dyn Store>) {
    assert!(store.list_issuers_page(None, 10).await.unwrap().is_empty());
    for id in ["d", "a", "c", "e", "b"] {
        new_issuer(&store, id).await;
    }
    let ids = |page: Vec<IssuerRecord>| page.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_issuers_page(None, 2).await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        ids(store.list_issuers_page(Some("b"), 2).await.unwrap()),
        ["c", "d"]
    );
    assert_eq!(
        ids(store.list_issuers_page(Some("d"), 2).await.unwrap()),
        ["e"]
    );
    assert!(
        store
            .list_issuers_page(Some("e"), 2)
            .await
            .unwrap()
            .is_empty()
    );
    // A cursor that is no tenant (one deleted meanwhile) still continues after it.
    assert_eq!(
        ids(store.list_issuers_page(Some("bb"), 10).await.unwrap()),
        ["c", "d", "e"]
    );
    assert_eq!(
        store.list_issuers_page(Some("a"), 1).await.unwrap(),
        vec![issuer_record("b")]
    );
}

/// Creating an issuer twice is `Duplicate` and keeps the first.
pub async fn duplicate_issuer_is_duplicate(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let mut again = issuer_record("acme");
    again.config = json!({ "other": true });
    assert!(matches!(
        store.create_issuer(&again).await,
        Err(StoreError::Duplicate("issuer"))
    ));
    assert_eq!(
        store.get_issuer("acme").await.unwrap(),
        Some(issuer_record("acme"))
    );
}

/// An offer comes back exactly as stored.
pub async fn offers_round_trip(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    assert_eq!(store.get_offer("acme", "o1").await.unwrap(), None);
    let offer = tx_offer_record("acme", "o1", "code-1");
    store.create_offer(&offer, &Outbox::EMPTY).await.unwrap();
    assert_eq!(store.get_offer("acme", "o1").await.unwrap(), Some(offer));
    let plain = offer_record("acme", "o3", "code-3");
    store.create_offer(&plain, &Outbox::EMPTY).await.unwrap();
    assert_eq!(store.get_offer("acme", "o3").await.unwrap(), Some(plain));
    let deferred = deferred_offer_record("acme", "o2", "code-2");
    store.create_offer(&deferred, &Outbox::EMPTY).await.unwrap();
    assert_eq!(store.get_offer("acme", "o2").await.unwrap(), Some(deferred));
}

/// Offer ids and code hashes are unique per issuer.
pub async fn duplicate_offer_id_or_code_is_duplicate(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_offer(&offer_record("acme", "o1", "code-2"), &Outbox::EMPTY)
            .await,
        Err(StoreError::Duplicate("offer"))
    ));
    assert!(matches!(
        store
            .create_offer(&offer_record("acme", "o2", "code-1"), &Outbox::EMPTY)
            .await,
        Err(StoreError::Duplicate("pre-authorized code"))
    ));
    // The same code under another tenant is another key.
    new_issuer(&store, "other").await;
    store
        .create_offer(&offer_record("other", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
}

/// Offers, nonces and notifications need an existing parent.
pub async fn offer_of_unknown_issuer_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(
        store
            .create_offer(&offer_record("nobody", "o1", "c"), &Outbox::EMPTY)
            .await,
        Err(StoreError::NotFound("issuer"))
    ));
    assert!(matches!(
        store
            .consume_nonce("nobody", &nonce_use("n"), later(1))
            .await,
        Err(StoreError::NotFound("issuer"))
    ));
    new_issuer(&store, "acme").await;
    assert!(matches!(
        store
            .create_notification(&notification("acme", "no-offer", "n1"))
            .await,
        Err(StoreError::NotFound("offer"))
    ));
}

/// Cancelling works only while `Offered`, and a cancelled code no longer redeems.
pub async fn cancel_offer_only_while_offered(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(!store.cancel_offer("acme", "missing").await.unwrap());
    assert!(store.cancel_offer("acme", "o1").await.unwrap());
    assert!(!store.cancel_offer("acme", "o1").await.unwrap());
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::Cancelled
    );
    let code = SecretHash::of("code-1");
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &code, later(1), MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &code,
                later(1),
                MAX_TX,
                &token("t"),
                false,
                &no_offer_outbox
            )
            .await
            .unwrap(),
        None
    );

    redeemed_offer(&store, "beta", offer_record("beta", "o2", "code-2")).await;
    assert!(
        !store.cancel_offer("beta", "o2").await.unwrap(),
        "redeemed offers stay"
    );
}

/// The live lookup sees only `Offered`, unexpired offers below the failure limit.
pub async fn live_offer_lookup_honours_status_expiry_and_failures(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let offer = tx_offer_record("acme", "o1", "code-1");
    store.create_offer(&offer, &Outbox::EMPTY).await.unwrap();
    let code = SecretHash::of("code-1");
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &code, later(1), MAX_TX)
            .await
            .unwrap(),
        Some(offer)
    );
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &code, later(TTL), MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &SecretHash::of("code-2"), later(1), MAX_TX)
            .await
            .unwrap(),
        None
    );
    store
        .reserve_tx_code_attempt("acme", "o1", MAX_TX)
        .await
        .unwrap();
    assert!(
        store
            .find_live_offer_by_code("acme", &code, later(1), 2)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &code, later(1), 1)
            .await
            .unwrap(),
        None
    );
}

/// Failures count one by one; at the limit no comparison is reserved, so the code no longer
/// redeems. An offer needing a `tx_code` never redeems without a reservation given back.
pub async fn tx_code_failures_count_and_block_redemption(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&tx_offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let code = SecretHash::of("code-1");
    let redeem = |max: u32, refund: bool| {
        let store = store.clone();
        async move {
            store
                .redeem_pre_authorized_code(
                    "acme",
                    &code,
                    later(1),
                    max,
                    &token("t"),
                    refund,
                    &no_offer_outbox,
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(redeem(MAX_TX, false).await, None, "a tx_code is needed");
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::Offered
    );
    for expected in 1..=MAX_TX {
        assert_eq!(
            store
                .reserve_tx_code_attempt("acme", "o1", MAX_TX)
                .await
                .unwrap(),
            Some(expected)
        );
    }
    // At the limit nothing more is reserved (and nothing written).
    assert_eq!(
        store
            .reserve_tx_code_attempt("acme", "o1", MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get_offer("acme", "o1")
            .await
            .unwrap()
            .unwrap()
            .tx_code_failures,
        MAX_TX
    );
    assert_eq!(redeem(MAX_TX, false).await, None);
    assert_eq!(
        store
            .find_live_offer_by_code("acme", &code, later(1), MAX_TX)
            .await
            .unwrap(),
        None,
        "blocked at the limit"
    );
    assert_eq!(
        store
            .find_access_token("acme", &SecretHash::of("t"), later(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .reserve_tx_code_attempt("acme", "missing", MAX_TX)
            .await
            .unwrap(),
        None
    );
    // A higher limit (configuration change) lets one more comparison through, and a correct
    // code then redeems.
    assert_eq!(
        store
            .reserve_tx_code_attempt("acme", "o1", MAX_TX + 1)
            .await
            .unwrap(),
        Some(MAX_TX + 1)
    );
    let redeemed = redeem(MAX_TX + 1, true)
        .await
        .expect("a reserved correct code redeems");
    assert_eq!(redeemed.tx_code_failures, MAX_TX);
    assert!(
        store
            .find_access_token("acme", &SecretHash::of("t"), later(1))
            .await
            .unwrap()
            .is_some()
    );
}

/// Redemption flips the offer, stores the token for the offer's configurations, and happens
/// once; an expired code does not redeem.
pub async fn redeem_pre_authorized_code_issues_a_token_once(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let offer = offer_record("acme", "o1", "code-1");
    store.create_offer(&offer, &Outbox::EMPTY).await.unwrap();
    let code = SecretHash::of("code-1");
    let redeemed = store
        .redeem_pre_authorized_code(
            "acme",
            &code,
            later(1),
            MAX_TX,
            &token("tok-1"),
            false,
            &no_offer_outbox,
        )
        .await
        .unwrap()
        .expect("first redemption wins");
    assert_eq!(
        redeemed,
        OfferRecord {
            status: OfferStatus::TokenIssued,
            ..offer
        }
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::TokenIssued
    );
    let found = store
        .find_access_token("acme", &SecretHash::of("tok-1"), later(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.issuer_id, "acme");
    assert_eq!(found.offer_id, "o1");
    assert_eq!(found.credential_configuration_ids, ["pid_sd_jwt", "mdl"]);
    assert_eq!(found.token_hash, SecretHash::of("tok-1"));
    assert_eq!(found.expires_at, later(TTL));

    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &code,
                later(2),
                MAX_TX,
                &token("tok-2"),
                false,
                &no_offer_outbox
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_access_token("acme", &SecretHash::of("tok-2"), later(2))
            .await
            .unwrap(),
        None
    );

    store
        .create_offer(&offer_record("acme", "o2", "code-2"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &SecretHash::of("code-2"),
                later(TTL),
                MAX_TX,
                &token("tok-3"),
                false,
                &no_offer_outbox
            )
            .await
            .unwrap(),
        None,
        "expired at exactly expires_at"
    );
    assert_eq!(
        store.get_offer("acme", "o2").await.unwrap().unwrap().status,
        OfferStatus::Offered
    );
}

/// An access token is found until (not at) its expiry.
pub async fn access_token_expires(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let h = SecretHash::of("tok-o1");
    assert!(
        store
            .find_access_token("acme", &h, later(TTL - 1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .find_access_token("acme", &h, later(TTL))
            .await
            .unwrap(),
        None
    );
    // The token with its offer, in one read: the same records, the same expiry.
    let (token, offer) = store
        .find_token_offer("acme", &h, later(TTL - 1))
        .await
        .unwrap()
        .expect("a live token is found with its offer");
    assert_eq!(
        Some(token),
        store
            .find_access_token("acme", &h, later(TTL - 1))
            .await
            .unwrap()
    );
    assert_eq!(Some(offer), store.get_offer("acme", "o1").await.unwrap());
    assert_eq!(
        store
            .find_token_offer("acme", &h, later(TTL))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_token_offer("acme", &SecretHash::of("tok-nope"), later(1))
            .await
            .unwrap(),
        None
    );
}

/// A sealed nonce is consumed once while unexpired: the store knows only used nonces, so any
/// hash is consumable exactly once before its `expires_at` (the issuer sealed it), a second use
/// is refused whatever expiry it names, an expired one is refused, and uses are per issuer.
pub async fn nonce_is_consumed_once_and_expires(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    let n1 = nonce_use("nonce-1");
    assert!(store.consume_nonce("acme", &n1, later(1)).await.unwrap());
    assert!(!store.consume_nonce("acme", &n1, later(2)).await.unwrap());
    let longer = NonceUse {
        expires_at: later(10 * TTL),
        ..n1.clone()
    };
    assert!(
        !store
            .consume_nonce("acme", &longer, later(3))
            .await
            .unwrap(),
        "a use is keyed by the hash alone"
    );
    assert!(
        !store
            .consume_nonce("acme", &n1, later(TTL + 100))
            .await
            .unwrap()
    );
    // A hash never seen before is a first use.
    assert!(
        store
            .consume_nonce("acme", &nonce_use("never-seen"), later(1))
            .await
            .unwrap()
    );
    // Expiry is exclusive: usable one second before `expires_at`, not at it or after.
    let n2 = nonce_use("nonce-2");
    assert!(!store.consume_nonce("acme", &n2, later(TTL)).await.unwrap());
    assert!(
        !store
            .consume_nonce("acme", &n2, later(TTL + 100))
            .await
            .unwrap()
    );
    assert!(
        store
            .consume_nonce("acme", &n2, later(TTL - 1))
            .await
            .unwrap(),
        "refusing the expired use recorded nothing"
    );
    // Nonces are sealed per issuer: the same hash under another issuer is its first use there.
    assert!(store.consume_nonce("beta", &n1, later(1)).await.unwrap());
    assert!(!store.consume_nonce("beta", &n1, later(2)).await.unwrap());
}

/// Issuance writes every record and the notification, sets the offer `CredentialIssued`,
/// and consumes the nonce.
pub async fn issue_credentials_writes_records_and_consumes_the_nonce(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = nonce_use("nonce-1");
    let mut unbound = credential("acme", "o1", "cred-b", 8);
    unbound.holder_key_thumbprint = None;
    unbound.status_list = None;
    unbound.expires_at = None;
    let records = vec![credential("acme", "o1", "cred-a", 7), unbound];
    let n = notification("acme", "o1", "notif-1");
    assert!(
        store
            .issue_credentials(
                "acme",
                &nonce,
                later(5),
                "o1",
                &records,
                Some(&n),
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert!(!store.consume_nonce("acme", &nonce, later(6)).await.unwrap());
    assert_eq!(
        store.get_credential("acme", "cred-a").await.unwrap(),
        Some(records[0].clone())
    );
    assert_eq!(
        store.get_credential("acme", "cred-b").await.unwrap(),
        Some(records[1].clone())
    );
    assert_eq!(store.get_credential("acme", "cred-c").await.unwrap(), None);
    assert_eq!(
        store.credentials_for_offer("acme", "o1").await.unwrap(),
        records
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::CredentialIssued
    );
    assert!(
        store
            .consume_notification(
                "acme",
                "o1",
                &SecretHash::of("notif-1"),
                "credential_accepted",
                later(7)
            )
            .await
            .unwrap()
    );

    // A second request (another nonce) for the same offer is fine: batch / several configs.
    let nonce2 = nonce_use("nonce-2");
    let more = vec![credential("acme", "o1", "cred-c", 9)];
    assert!(
        store
            .issue_credentials(
                "acme",
                &nonce2,
                later(8),
                "o1",
                &more,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .len(),
        3
    );
}

/// A spent or expired nonce issues nothing.
pub async fn issue_credentials_with_a_spent_nonce_writes_nothing(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = nonce_use("nonce-1");
    assert!(store.consume_nonce("acme", &nonce, later(2)).await.unwrap());
    let records = vec![credential("acme", "o1", "cred-a", 1)];
    assert!(
        !store
            .issue_credentials(
                "acme",
                &nonce,
                later(3),
                "o1",
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .issue_credentials(
                "acme",
                &NonceUse {
                    hash: SecretHash::of("stale"),
                    expires_at: later(1),
                },
                later(3),
                "o1",
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    let expiring = nonce_use("nonce-2");
    assert!(
        !store
            .issue_credentials(
                "acme",
                &expiring,
                later(TTL),
                "o1",
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::TokenIssued
    );
}

/// Records naming another tenant or offer are refused before anything is written, and the
/// nonce stays usable.
pub async fn issue_credentials_refuses_records_of_another_tenant(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = nonce_use("nonce-1");
    let foreign = vec![credential("other", "o1", "cred-a", 1)];
    assert!(matches!(
        store
            .issue_credentials(
                "acme",
                &nonce,
                later(2),
                "o1",
                &foreign,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let wrong_offer = vec![credential("acme", "o2", "cred-a", 1)];
    assert!(matches!(
        store
            .issue_credentials(
                "acme",
                &nonce,
                later(2),
                "o1",
                &wrong_offer,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.consume_nonce("acme", &nonce, later(3)).await.unwrap());
}

/// One (list, index) per issuer belongs to one credential (G9); a clash writes nothing and
/// leaves the nonce usable. Another issuer may use the same list id and index.
pub async fn status_list_entry_belongs_to_one_credential(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let n1 = nonce_use("nonce-1");
    let n2 = nonce_use("nonce-2");
    let first = vec![credential("acme", "o1", "cred-a", 5)];
    assert!(
        store
            .issue_credentials(
                "acme",
                &n1,
                later(2),
                "o1",
                &first,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    let clash = vec![
        credential("acme", "o1", "cred-z", 6),
        credential("acme", "o1", "cred-b", 5),
    ];
    assert!(matches!(
        store
            .issue_credentials(
                "acme",
                &n2,
                later(3),
                "o1",
                &clash,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await,
        Err(StoreError::Duplicate("status list entry"))
    ));
    assert_eq!(
        store.get_credential("acme", "cred-z").await.unwrap(),
        None,
        "rolled back"
    );
    assert!(
        store.consume_nonce("acme", &n2, later(4)).await.unwrap(),
        "nonce not consumed"
    );

    redeemed_offer(&store, "beta", offer_record("beta", "o1", "code-1")).await;
    let n3 = nonce_use("nonce-3");
    let same_entry = vec![credential("beta", "o1", "cred-a", 5)];
    assert!(
        store
            .issue_credentials(
                "beta",
                &n3,
                later(2),
                "o1",
                &same_entry,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
}

/// Deferred issuance: the nonce is consumed when deferring; redemption is `Pending` until the
/// claims arrive, then `Issued` exactly once; expired ids are `Unknown`.
pub async fn deferred_issuance_pending_then_issued_once(store: Arc<dyn Store>) {
    redeemed_offer(
        &store,
        "acme",
        deferred_offer_record("acme", "o1", "code-1"),
    )
    .await;
    let nonce = nonce_use("nonce-1");
    let deferred = deferred_record("acme", "o1", "tx-1");
    let tx = SecretHash::of("tx-1");
    assert!(
        store
            .defer_issuance("acme", &nonce, later(2), &deferred)
            .await
            .unwrap()
    );
    assert!(!store.consume_nonce("acme", &nonce, later(3)).await.unwrap());
    assert!(
        !store
            .defer_issuance(
                "acme",
                &nonce,
                later(3),
                &deferred_record("acme", "o1", "tx-2")
            )
            .await
            .unwrap(),
        "a spent nonce defers nothing"
    );
    assert_eq!(
        store
            .get_deferred("acme", &SecretHash::of("tx-2"), later(3))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_deferred("acme", &tx, later(3)).await.unwrap(),
        Some(deferred.clone())
    );

    let records = vec![credential("acme", "o1", "cred-a", 1)];
    assert_eq!(
        store
            .redeem_deferred(
                "acme",
                &tx,
                later(4),
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Pending
    );
    assert!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .set_offer_claims("acme", "o1", &json!({ "given_name": "Erika" }))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().claims,
        Some(json!({ "given_name": "Erika" }))
    );
    let n = notification("acme", "o1", "notif-1");
    assert_eq!(
        store
            .redeem_deferred(
                "acme",
                &tx,
                later(5),
                &records,
                Some(&n),
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Issued
    );
    assert_eq!(
        store.credentials_for_offer("acme", "o1").await.unwrap(),
        records
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().status,
        OfferStatus::CredentialIssued
    );
    assert!(
        store
            .consume_notification(
                "acme",
                "o1",
                &SecretHash::of("notif-1"),
                "credential_accepted",
                later(6)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .redeem_deferred(
                "acme",
                &tx,
                later(6),
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );
    assert_eq!(
        store.get_deferred("acme", &tx, later(6)).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_deferred(
                "acme",
                &SecretHash::of("nope"),
                later(6),
                &records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );

    // Expiry: a second deferral, redeemed too late.
    let nonce2 = nonce_use("nonce-2");
    let late = deferred_record("acme", "o1", "tx-3");
    assert!(
        store
            .defer_issuance("acme", &nonce2, later(7), &late)
            .await
            .unwrap()
    );
    let more = vec![credential("acme", "o1", "cred-b", 2)];
    assert_eq!(
        store
            .get_deferred("acme", &SecretHash::of("tx-3"), later(TTL))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_deferred(
                "acme",
                &SecretHash::of("tx-3"),
                later(TTL),
                &more,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );
    assert_eq!(store.get_credential("acme", "cred-b").await.unwrap(), None);
}

/// Claims can be set on deferred offers only.
pub async fn set_offer_claims_only_for_deferred_offers(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .create_offer(
            &deferred_offer_record("acme", "o2", "code-2"),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    assert!(
        !store
            .set_offer_claims("acme", "o1", &json!({ "a": 1 }))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_offer_claims("acme", "missing", &json!({ "a": 1 }))
            .await
            .unwrap()
    );
    assert!(
        store
            .set_offer_claims("acme", "o2", &json!({ "a": 1 }))
            .await
            .unwrap()
    );
    assert!(store.cancel_offer("acme", "o2").await.unwrap());
    assert!(
        !store
            .set_offer_claims("acme", "o2", &json!({ "a": 2 }))
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap().unwrap().claims,
        offer_record("acme", "o1", "code-1").claims
    );
}

/// A notification id records its first event; identical repeats succeed, other events and
/// expired ids do not.
pub async fn notification_is_consumed_once(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let n = notification("acme", "o1", "notif-1");
    store.create_notification(&n).await.unwrap();
    assert!(matches!(
        store.create_notification(&n).await,
        Err(StoreError::Duplicate("notification id"))
    ));
    let h = SecretHash::of("notif-1");
    // Bound to its offer (G6): another offer's access token cannot use it.
    assert!(
        !store
            .consume_notification("acme", "o2", &h, "credential_accepted", later(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .consume_notification("acme", "o1", &h, "credential_deleted", later(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_notification("acme", "o1", &h, "credential_accepted", later(2))
            .await
            .unwrap(),
        "a different event after the first is refused"
    );
    assert!(
        store
            .consume_notification("acme", "o1", &h, "credential_deleted", later(3))
            .await
            .unwrap(),
        "an identical repeat succeeds (OID4VCI 1.0 §11: notifications are idempotent)"
    );
    store
        .create_notification(&notification("acme", "o1", "notif-2"))
        .await
        .unwrap();
    assert!(
        !store
            .consume_notification(
                "acme",
                "o1",
                &SecretHash::of("notif-2"),
                "credential_accepted",
                later(TTL)
            )
            .await
            .unwrap()
    );
}

/// Settings: absent, first writer wins, later writers change nothing.
pub async fn settings_first_writer_wins(store: Arc<dyn Store>) {
    assert_eq!(store.get_setting("admin_key_hash").await.unwrap(), None);
    assert!(
        store
            .put_setting_if_absent("admin_key_hash", "h1")
            .await
            .unwrap()
    );
    assert!(
        !store
            .put_setting_if_absent("admin_key_hash", "h2")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_setting("admin_key_hash")
            .await
            .unwrap()
            .as_deref(),
        Some("h1")
    );
    assert_eq!(store.get_setting("other").await.unwrap(), None);
}

/// Purging removes expired used nonces, tokens and notification ids of that issuer only; a
/// used nonce that is not purged stays used.
pub async fn purge_expired_removes_only_expired_artifacts(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    new_issuer(&store, "beta").await;
    let short = NonceUse {
        hash: SecretHash::of("short"),
        expires_at: later(10),
    };
    let long = NonceUse {
        hash: SecretHash::of("long"),
        expires_at: later(10_000),
    };
    for (issuer, nonce) in [("acme", &short), ("acme", &long), ("beta", &short)] {
        assert!(store.consume_nonce(issuer, nonce, later(1)).await.unwrap());
    }
    store
        .create_notification(&notification("acme", "o1", "n1"))
        .await
        .unwrap();
    assert_eq!(store.purge_expired("acme", later(5)).await.unwrap(), 0);
    // Expired at TTL: the short nonce, the access token (TTL) and the notification (TTL).
    assert_eq!(store.purge_expired("acme", later(TTL)).await.unwrap(), 3);
    assert!(
        !store
            .consume_nonce("acme", &long, later(TTL))
            .await
            .unwrap(),
        "an unexpired used nonce is kept, so it stays used"
    );
    assert!(
        !store.consume_nonce("beta", &short, later(2)).await.unwrap(),
        "another issuer's used nonce is kept"
    );
    assert_eq!(store.purge_expired("beta", later(TTL)).await.unwrap(), 1);
    assert_eq!(store.purge_expired("acme", later(TTL)).await.unwrap(), 0);
}

/// G6: nothing of issuer A is visible or usable through issuer B.
pub async fn tenants_are_isolated(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    new_issuer(&store, "beta").await;
    store
        .create_offer(&offer_record("acme", "o2", "code-2"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .create_offer(
            &deferred_offer_record("acme", "o3", "code-3"),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    let code = SecretHash::of("code-2");
    let tok = SecretHash::of("tok-o1");
    let nonce = nonce_use("nonce-1");

    assert_eq!(store.get_offer("beta", "o2").await.unwrap(), None);
    assert_eq!(
        store
            .find_live_offer_by_code("beta", &code, later(1), MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert!(!store.cancel_offer("beta", "o2").await.unwrap());
    assert_eq!(
        store
            .reserve_tx_code_attempt("beta", "o2", MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .set_offer_claims("beta", "o3", &json!({}))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "beta",
                &code,
                later(1),
                MAX_TX,
                &token("t"),
                false,
                &no_offer_outbox
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_access_token("beta", &tok, later(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_token_offer("beta", &tok, later(1))
            .await
            .unwrap(),
        None
    );
    // Nonces are sealed per issuer: beta's use of the hash is beta's own first use, and it
    // leaves acme's nonce unused (acme issues with it below).
    assert!(store.consume_nonce("beta", &nonce, later(1)).await.unwrap());
    let beta_records = vec![credential("beta", "o1", "cred-x", 1)];
    assert!(
        !store
            .issue_credentials(
                "beta",
                &nonce,
                later(1),
                "o1",
                &beta_records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .defer_issuance(
                "beta",
                &nonce,
                later(1),
                &deferred_record("beta", "o3", "tx")
            )
            .await
            .unwrap()
    );
    // An acme record presented under beta is refused.
    let acme_records = vec![credential("acme", "o1", "cred-a", 1)];
    assert!(matches!(
        store
            .issue_credentials(
                "beta",
                &nonce,
                later(1),
                "o1",
                &acme_records,
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .defer_issuance(
                "beta",
                &nonce,
                later(1),
                &deferred_record("acme", "o3", "tx")
            )
            .await,
        Err(StoreError::Invalid(_))
    ));

    // acme's own artifacts still work, and acme's results stay invisible to beta.
    assert!(
        store
            .issue_credentials(
                "acme",
                &nonce,
                later(2),
                "o1",
                &acme_records,
                Some(&notification("acme", "o1", "n")),
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert_eq!(store.get_credential("beta", "cred-a").await.unwrap(), None);
    assert!(
        store
            .credentials_for_offer("beta", "o1")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .consume_notification(
                "beta",
                "o1",
                &SecretHash::of("n"),
                "credential_accepted",
                later(3)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .find_live_offer_by_code("acme", &code, later(1), MAX_TX)
            .await
            .unwrap()
            .is_some()
    );

    let n2 = nonce_use("nonce-2");
    let tx = SecretHash::of("tx-a");
    assert!(
        store
            .defer_issuance(
                "acme",
                &n2,
                later(2),
                &deferred_record("acme", "o3", "tx-a")
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_deferred("beta", &tx, later(3)).await.unwrap(),
        None
    );
    assert!(
        store
            .set_offer_claims("acme", "o3", &json!({ "a": 1 }))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .redeem_deferred(
                "beta",
                &tx,
                later(3),
                &[],
                None,
                MAX_CREDENTIALS,
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );
    assert!(store.signing_keys("beta").await.unwrap().is_empty());
}

/// G2: of 50 concurrent redemptions of one code exactly one gets the offer, and exactly one
/// access token exists.
pub async fn race_redeem_pre_authorized_code_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let results = race(|i| {
        let store = store.clone();
        async move {
            store
                .redeem_pre_authorized_code(
                    "acme",
                    &SecretHash::of("code-1"),
                    later(1),
                    MAX_TX,
                    &token(&format!("tok-{i}")),
                    false,
                    &no_offer_outbox,
                )
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|&i| results[i].is_some()).collect();
    assert_eq!(winners.len(), 1, "exactly one redemption wins");
    for i in 0..RACERS {
        let found = store
            .find_access_token("acme", &SecretHash::of(&format!("tok-{i}")), later(2))
            .await
            .unwrap();
        assert_eq!(
            found.is_some(),
            i == winners[0],
            "only the winner's token exists"
        );
    }
}

/// G2, R1: of 50 concurrent issuances with one nonce exactly one succeeds, and exactly its
/// records are stored.
pub async fn race_issue_credentials_one_winner_and_only_its_records(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = nonce_use("nonce-1");
    let records_of = |i: usize| {
        vec![
            credential("acme", "o1", &format!("cred-{i}-a"), (2 * i) as u64),
            credential("acme", "o1", &format!("cred-{i}-b"), (2 * i + 1) as u64),
        ]
    };
    let results = race(|i| {
        let store = store.clone();
        let records = records_of(i);
        let nonce = nonce.clone();
        async move {
            store
                .issue_credentials(
                    "acme",
                    &nonce,
                    later(2),
                    "o1",
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &Outbox::EMPTY,
                )
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|&i| results[i]).collect();
    assert_eq!(winners.len(), 1, "exactly one issuance wins");
    assert_eq!(
        store.credentials_for_offer("acme", "o1").await.unwrap(),
        records_of(winners[0])
    );
}

/// G2: of 50 concurrent consumptions of one nonce exactly one succeeds.
pub async fn race_consume_nonce_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let nonce = nonce_use("nonce-1");
    let results = race(|_| {
        let store = store.clone();
        let nonce = nonce.clone();
        async move { store.consume_nonce("acme", &nonce, later(1)).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|&&won| won).count(), 1);
}

/// G2, R1: of 50 concurrent deferred redemptions exactly one is `Issued` (the rest
/// `Unknown`), and exactly its records are stored.
pub async fn race_redeem_deferred_one_winner(store: Arc<dyn Store>) {
    redeemed_offer(
        &store,
        "acme",
        deferred_offer_record("acme", "o1", "code-1"),
    )
    .await;
    let nonce = nonce_use("nonce-1");
    assert!(
        store
            .defer_issuance(
                "acme",
                &nonce,
                later(2),
                &deferred_record("acme", "o1", "tx-1")
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .set_offer_claims("acme", "o1", &json!({ "given_name": "Erika" }))
            .await
            .unwrap()
    );
    let records_of = |i: usize| vec![credential("acme", "o1", &format!("cred-{i}"), i as u64)];
    let results = race(|i| {
        let store = store.clone();
        let records = records_of(i);
        async move {
            store
                .redeem_deferred(
                    "acme",
                    &SecretHash::of("tx-1"),
                    later(3),
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &Outbox::EMPTY,
                )
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS)
        .filter(|&i| results[i] == DeferredOutcome::Issued)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one deferred redemption wins");
    assert!(results.iter().all(|r| *r != DeferredOutcome::Pending));
    assert_eq!(
        store.credentials_for_offer("acme", "o1").await.unwrap(),
        records_of(winners[0])
    );
}

/// Concurrent `tx_code` reservations never lose an increment: the returned counts are
/// exactly 1..=50 and the stored count is 50.
pub async fn race_tx_code_failures_add_up(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&tx_offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move {
            store
                .reserve_tx_code_attempt("acme", "o1", u32::MAX)
                .await
                .unwrap()
                .unwrap()
        }
    })
    .await;
    let counts: BTreeSet<u32> = results.into_iter().collect();
    let expected: BTreeSet<u32> = (1..=RACERS as u32).collect();
    assert_eq!(counts, expected);
    assert_eq!(
        store
            .get_offer("acme", "o1")
            .await
            .unwrap()
            .unwrap()
            .tx_code_failures,
        RACERS as u32
    );
}

/// G2: of 50 concurrent reservations under a limit of `MAX_TX`, exactly `MAX_TX` get one.
pub async fn race_tx_code_reservations_stop_at_the_limit(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&tx_offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move {
            store
                .reserve_tx_code_attempt("acme", "o1", MAX_TX)
                .await
                .unwrap()
        }
    })
    .await;
    let granted: BTreeSet<u32> = results.iter().flatten().copied().collect();
    assert_eq!(granted, (1..=MAX_TX).collect::<BTreeSet<u32>>());
    assert_eq!(
        results.iter().filter(|r| r.is_none()).count(),
        RACERS - MAX_TX as usize
    );
}

/// A correct `tx_code` redeems with its reservation given back: the attempt is not counted,
/// and the redemption works even when the reservations fill the limit.
pub async fn redeem_with_a_reserved_attempt_gives_it_back(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&tx_offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    for _ in 0..MAX_TX {
        store
            .reserve_tx_code_attempt("acme", "o1", MAX_TX)
            .await
            .unwrap()
            .unwrap();
    }
    let code = SecretHash::of("code-1");
    let redeemed = store
        .redeem_pre_authorized_code(
            "acme",
            &code,
            later(1),
            MAX_TX,
            &token("t"),
            true,
            &no_offer_outbox,
        )
        .await
        .unwrap()
        .expect("a reserved correct attempt redeems");
    assert_eq!(redeemed.tx_code_failures, MAX_TX - 1);
    assert_eq!(
        store
            .get_offer("acme", "o1")
            .await
            .unwrap()
            .unwrap()
            .tx_code_failures,
        MAX_TX - 1
    );
    // Without a reservation to give back, a refund is refused rather than going negative.
    store
        .create_offer(&tx_offer_record("acme", "o2", "code-2"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &SecretHash::of("code-2"),
                later(1),
                MAX_TX,
                &token("t2"),
                true,
                &no_offer_outbox
            )
            .await
            .unwrap(),
        None
    );
}

/// Of 50 concurrent first writers of a setting exactly one wins, and its value is stored.
pub async fn race_put_setting_if_absent_one_winner(store: Arc<dyn Store>) {
    let results = race(|i| {
        let store = store.clone();
        async move {
            store
                .put_setting_if_absent("admin_key_hash", &format!("v{i}"))
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|&i| results[i]).collect();
    assert_eq!(winners.len(), 1);
    assert_eq!(
        store.get_setting("admin_key_hash").await.unwrap(),
        Some(format!("v{}", winners[0]))
    );
}

/// G2: of 50 concurrent notifications with one id and alternating events, exactly one event
/// is recorded: every caller sending it succeeds (idempotent repeats), every other fails.
pub async fn race_consume_notification_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .create_notification(&notification("acme", "o1", "notif-1"))
        .await
        .unwrap();
    let events = ["credential_accepted", "credential_failure"];
    let results = race(|i| {
        let store = store.clone();
        async move {
            let event = events[i % 2];
            let ok = store
                .consume_notification("acme", "o1", &SecretHash::of("notif-1"), event, later(1))
                .await
                .unwrap();
            (event, ok)
        }
    })
    .await;
    let winners: std::collections::BTreeSet<&str> = results
        .iter()
        .filter(|(_, ok)| *ok)
        .map(|(e, _)| *e)
        .collect();
    assert_eq!(winners.len(), 1, "one event wins: {results:?}");
    let winner = winners.into_iter().next().unwrap();
    assert!(
        results.iter().all(|(e, ok)| *ok == (*e == winner)),
        "{results:?}"
    );
}

/// G9: 50 concurrent issuances (each with its own nonce) claiming the same status list
/// entry: exactly one is stored, the others fail `Duplicate` and keep their nonce.
pub async fn race_status_list_entry_allocated_once(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let results = race(|i| {
        let store = store.clone();
        let records = vec![credential("acme", "o1", &format!("cred-{i}"), 77)];
        async move {
            store
                .issue_credentials(
                    "acme",
                    &nonce_use(&format!("n{i}")),
                    later(2),
                    "o1",
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &Outbox::EMPTY,
                )
                .await
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS)
        .filter(|&i| matches!(results[i], Ok(true)))
        .collect();
    assert_eq!(winners.len(), 1);
    for (i, r) in results.iter().enumerate() {
        if i != winners[0] {
            assert!(
                matches!(r, Err(StoreError::Duplicate("status list entry"))),
                "racer {i}: {r:?}"
            );
            assert!(
                store
                    .consume_nonce("acme", &nonce_use(&format!("n{i}")), later(3))
                    .await
                    .unwrap()
            );
        }
    }
    let stored = store.credentials_for_offer("acme", "o1").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, format!("cred-{}", winners[0]));
}

/// An offer yields at most `max_credentials` credentials in all; past the limit nothing is
/// written and the nonce stays usable (item: one offer minted 200 credentials).
pub async fn issuance_stops_at_the_offer_limit(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    for (i, index) in [(1, 11), (2, 12)] {
        let nonce = nonce_use(&format!("n{i}"));
        let records = vec![credential("acme", "o1", &format!("cred-{i}"), index)];
        assert!(
            store
                .issue_credentials(
                    "acme",
                    &nonce,
                    later(2),
                    "o1",
                    &records,
                    None,
                    2,
                    &Outbox::EMPTY
                )
                .await
                .unwrap()
        );
    }
    let nonce = nonce_use("n3");
    let records = vec![credential("acme", "o1", "cred-3", 13)];
    assert!(matches!(
        store
            .issue_credentials(
                "acme",
                &nonce,
                later(2),
                "o1",
                &records,
                None,
                2,
                &Outbox::EMPTY
            )
            .await,
        Err(StoreError::Exhausted("credentials per offer"))
    ));
    assert_eq!(store.get_credential("acme", "cred-3").await.unwrap(), None);
    assert_eq!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(store.consume_nonce("acme", &nonce, later(3)).await.unwrap());
}

/// G2 under concurrency: 50 racing issuances for one offer with a limit of 5, each with its
/// own nonce and index, store exactly 5 credentials.
pub async fn race_issuance_never_passes_the_offer_limit(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let results = race(|i| {
        let store = store.clone();
        let records = vec![credential(
            "acme",
            "o1",
            &format!("cred-{i}"),
            100 + i as u64,
        )];
        async move {
            store
                .issue_credentials(
                    "acme",
                    &nonce_use(&format!("n{i}")),
                    later(2),
                    "o1",
                    &records,
                    None,
                    5,
                    &Outbox::EMPTY,
                )
                .await
        }
    })
    .await;
    let won = results.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(won, 5, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(true) | Err(StoreError::Exhausted(_)))),
        "{results:?}"
    );
    assert_eq!(
        store
            .credentials_for_offer("acme", "o1")
            .await
            .unwrap()
            .len(),
        5
    );
}
