//! The backend contract suite (feature `contract-tests`): what every [`IssuanceStore`]
//! must do, written once and run by every backend crate (STYLE.md §8).
//!
//! Each test is a `pub async fn name(store: Arc<dyn IssuanceStore>)` taking a fresh, migrated,
//! empty store. A backend runs all of them with one line in its `tests/it/main.rs`:
//!
//! ```ignore
//! vdc_store::contract_suite!(fixture::fresh);
//! ```
//!
//! where `fixture::fresh()` is an `async fn` returning a value with `fn store(&self) ->
//! Arc<dyn IssuanceStore>` and `async fn finish(self)` (dropping the test database).
//! [`contract_suite!`](crate::contract_suite) lists every test below, so a new test runs
//! against every backend without touching them. Tests run on a multi-thread runtime; the race
//! tests start [`RACERS`] tasks behind a barrier so they hit the database together (G2).
//! Expiry is tested by passing a later `now`, never by sleeping.

// This module is test code compiled into the library behind a feature: asserting is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::Barrier;

use crate::{
    CredentialStatus, DeferredOutcome, DeferredRecord, IssuanceStore, IssuedCredentialRecord,
    IssuerRecord, NewAccessToken, NotificationRecord, OfferRecord, OfferStatus, SecretHash,
    SigningKeyRecord, StatusListEntry, StoreError, UnixTime,
};

/// How many tasks race for one single-use artifact.
pub const RACERS: usize = 50;

/// The time every test starts at.
const T0: UnixTime = UnixTime(1_800_000_000);
/// How long offers, tokens and nonces live in these tests.
const TTL: i64 = 600;
/// The `tx_code` failure limit the tests pass.
const MAX_TX: u32 = 3;

/// Runs every contract test against a backend. `$fresh` is an `async fn()` returning a
/// fixture with `fn store(&self) -> Arc<dyn IssuanceStore>` and `async fn finish(self)`;
/// the fixture is finished even when the test fails.
#[macro_export]
macro_rules! contract_suite {
    ($fresh:path) => {
        $crate::contract_suite!(@tests $fresh;
            ping_answers,
            issuers_round_trip,
            duplicate_issuer_is_duplicate,
            signing_keys_round_trip,
            offers_round_trip,
            duplicate_offer_id_or_code_is_duplicate,
            offer_of_unknown_issuer_is_not_found,
            cancel_offer_only_while_offered,
            live_offer_lookup_honours_status_expiry_and_failures,
            tx_code_failures_count_and_block_redemption,
            redeem_pre_authorized_code_issues_a_token_once,
            access_token_expires,
            nonce_is_consumed_once_and_expires,
            issue_credentials_writes_records_and_consumes_the_nonce,
            issue_credentials_with_a_spent_nonce_writes_nothing,
            issue_credentials_refuses_records_of_another_tenant,
            status_list_entry_belongs_to_one_credential,
            deferred_issuance_pending_then_issued_once,
            set_offer_claims_only_for_deferred_offers,
            notification_is_consumed_once,
            settings_first_writer_wins,
            purge_expired_removes_only_expired_artifacts,
            tenants_are_isolated,
            race_redeem_pre_authorized_code_one_winner,
            race_issue_credentials_one_winner_and_only_its_records,
            race_consume_nonce_one_winner,
            race_redeem_deferred_one_winner,
            race_tx_code_failures_add_up,
            race_put_setting_if_absent_one_winner,
            race_consume_notification_one_winner,
            race_status_list_entry_allocated_once,
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let fixture = $fresh().await;
                let outcome = tokio::spawn($crate::contract::$name(fixture.store())).await;
                fixture.finish().await;
                if let Err(e) = outcome {
                    match e.try_into_panic() {
                        Ok(payload) => std::panic::resume_unwind(payload),
                        Err(e) => panic!("contract test task failed: {e}"),
                    }
                }
            }
        )*
    };
}

fn later(secs: i64) -> UnixTime {
    T0.plus(secs)
}

fn issuer_record(id: &str) -> IssuerRecord {
    IssuerRecord {
        id: id.to_owned(),
        config: json!({ "display": [{ "name": id, "locale": "en" }], "n": 1 }),
        created_at: T0,
    }
}

async fn new_issuer(store: &Arc<dyn IssuanceStore>, id: &str) {
    store.create_issuer(&issuer_record(id)).await.unwrap();
}

fn offer_record(issuer: &str, offer_id: &str, code: &str) -> OfferRecord {
    OfferRecord {
        issuer_id: issuer.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_ids: vec!["pid_sd_jwt".to_owned(), "mdl".to_owned()],
        claims: Some(json!({ "given_name": "Erika", "age": 42 })),
        credential_offer: json!({
            "credential_issuer": format!("https://issuer.example/{issuer}"),
            "credential_configuration_ids": ["pid_sd_jwt", "mdl"],
            "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                "pre-authorized_code": "shown-once" } }
        }),
        pre_authorized_code_hash: SecretHash::of(code),
        tx_code_hash: Some(SecretHash::of("493536")),
        tx_code_failures: 0,
        deferred: false,
        status: OfferStatus::Offered,
        created_at: T0,
        expires_at: later(TTL),
    }
}

fn deferred_offer_record(issuer: &str, offer_id: &str, code: &str) -> OfferRecord {
    OfferRecord {
        claims: None,
        deferred: true,
        tx_code_hash: None,
        ..offer_record(issuer, offer_id, code)
    }
}

fn token(name: &str) -> NewAccessToken {
    NewAccessToken {
        token_hash: SecretHash::of(name),
        expires_at: later(TTL),
    }
}

fn credential(issuer: &str, offer_id: &str, id: &str, index: u64) -> IssuedCredentialRecord {
    IssuedCredentialRecord {
        issuer_id: issuer.to_owned(),
        credential_id: id.to_owned(),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        holder_key_thumbprint: Some(format!("thumb-{id}")),
        status_list: Some(StatusListEntry {
            list_id: "list-1".to_owned(),
            index,
        }),
        status: CredentialStatus::Valid,
        issued_at: later(5),
        expires_at: Some(later(86_400)),
    }
}

fn notification(issuer: &str, offer_id: &str, id: &str) -> NotificationRecord {
    NotificationRecord {
        issuer_id: issuer.to_owned(),
        notification_id_hash: SecretHash::of(id),
        offer_id: offer_id.to_owned(),
        expires_at: later(TTL),
    }
}

fn deferred_record(issuer: &str, offer_id: &str, transaction_id: &str) -> DeferredRecord {
    DeferredRecord {
        issuer_id: issuer.to_owned(),
        transaction_id_hash: SecretHash::of(transaction_id),
        offer_id: offer_id.to_owned(),
        credential_configuration_id: "pid_sd_jwt".to_owned(),
        holder_keys: json!([{ "kty": "EC", "crv": "P-256", "x": "x", "y": "y" }]),
        created_at: later(2),
        expires_at: later(TTL),
    }
}

/// An issuer with an offer whose code was redeemed for an access token: ready to issue.
async fn redeemed_offer(store: &Arc<dyn IssuanceStore>, issuer: &str, offer: OfferRecord) {
    new_issuer(store, issuer).await;
    let code = offer.pre_authorized_code_hash;
    let offer_id = offer.offer_id.clone();
    store.create_offer(&offer).await.unwrap();
    let redeemed = store
        .redeem_pre_authorized_code(
            issuer,
            &code,
            later(1),
            MAX_TX,
            &token(&format!("tok-{offer_id}")),
        )
        .await
        .unwrap();
    assert!(redeemed.is_some(), "setup: the code must redeem");
}

/// Runs `RACERS` copies of `f(i)` at once (released together by a barrier) and returns
/// their results in task order.
async fn race<T, F, Fut>(f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut handles = Vec::with_capacity(RACERS);
    for i in 0..RACERS {
        let barrier = barrier.clone();
        let fut = f(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(RACERS);
    for h in handles {
        out.push(h.await.expect("racer panicked"));
    }
    out
}

/// `ping` answers on a healthy store.
pub async fn ping_answers(store: Arc<dyn IssuanceStore>) {
    store.ping().await.unwrap();
}

/// Issuers: create, get, list (by id), update config; unknown ones are `None`/`NotFound`.
pub async fn issuers_round_trip(store: Arc<dyn IssuanceStore>) {
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

/// Creating an issuer twice is `Duplicate` and keeps the first.
pub async fn duplicate_issuer_is_duplicate(store: Arc<dyn IssuanceStore>) {
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

/// Signing keys: add, list oldest first, duplicate kid, unknown issuer, retire once; the
/// ciphertext comes back byte for byte.
pub async fn signing_keys_round_trip(store: Arc<dyn IssuanceStore>) {
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

/// An offer comes back exactly as stored.
pub async fn offers_round_trip(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    assert_eq!(store.get_offer("acme", "o1").await.unwrap(), None);
    let offer = offer_record("acme", "o1", "code-1");
    store.create_offer(&offer).await.unwrap();
    assert_eq!(store.get_offer("acme", "o1").await.unwrap(), Some(offer));
    let deferred = deferred_offer_record("acme", "o2", "code-2");
    store.create_offer(&deferred).await.unwrap();
    assert_eq!(store.get_offer("acme", "o2").await.unwrap(), Some(deferred));
}

/// Offer ids and code hashes are unique per issuer.
pub async fn duplicate_offer_id_or_code_is_duplicate(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_offer(&offer_record("acme", "o1", "code-2"))
            .await,
        Err(StoreError::Duplicate("offer"))
    ));
    assert!(matches!(
        store
            .create_offer(&offer_record("acme", "o2", "code-1"))
            .await,
        Err(StoreError::Duplicate("pre-authorized code"))
    ));
    // The same code under another tenant is another key.
    new_issuer(&store, "other").await;
    store
        .create_offer(&offer_record("other", "o1", "code-1"))
        .await
        .unwrap();
}

/// Offers, nonces and notifications need an existing parent.
pub async fn offer_of_unknown_issuer_is_not_found(store: Arc<dyn IssuanceStore>) {
    assert!(matches!(
        store.create_offer(&offer_record("nobody", "o1", "c")).await,
        Err(StoreError::NotFound("issuer"))
    ));
    assert!(matches!(
        store
            .create_nonce("nobody", &SecretHash::of("n"), later(TTL))
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
pub async fn cancel_offer_only_while_offered(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
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
            .redeem_pre_authorized_code("acme", &code, later(1), MAX_TX, &token("t"))
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
pub async fn live_offer_lookup_honours_status_expiry_and_failures(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    let offer = offer_record("acme", "o1", "code-1");
    store.create_offer(&offer).await.unwrap();
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
    store.record_tx_code_failure("acme", "o1").await.unwrap();
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

/// Failures count one by one; at the limit the code no longer redeems.
pub async fn tx_code_failures_count_and_block_redemption(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    for expected in 1..=MAX_TX {
        assert_eq!(
            store.record_tx_code_failure("acme", "o1").await.unwrap(),
            expected
        );
    }
    assert_eq!(
        store
            .get_offer("acme", "o1")
            .await
            .unwrap()
            .unwrap()
            .tx_code_failures,
        MAX_TX
    );
    let code = SecretHash::of("code-1");
    assert_eq!(
        store
            .redeem_pre_authorized_code("acme", &code, later(1), MAX_TX, &token("t"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .find_access_token("acme", &SecretHash::of("t"), later(1))
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.record_tx_code_failure("acme", "missing").await,
        Err(StoreError::NotFound(_))
    ));
    // A higher limit (configuration change) lets it through.
    assert!(
        store
            .redeem_pre_authorized_code("acme", &code, later(1), MAX_TX + 1, &token("t"))
            .await
            .unwrap()
            .is_some()
    );
}

/// Redemption flips the offer, stores the token for the offer's configurations, and happens
/// once; an expired code does not redeem.
pub async fn redeem_pre_authorized_code_issues_a_token_once(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    let offer = offer_record("acme", "o1", "code-1");
    store.create_offer(&offer).await.unwrap();
    let code = SecretHash::of("code-1");
    let redeemed = store
        .redeem_pre_authorized_code("acme", &code, later(1), MAX_TX, &token("tok-1"))
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
            .redeem_pre_authorized_code("acme", &code, later(2), MAX_TX, &token("tok-2"))
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
        .create_offer(&offer_record("acme", "o2", "code-2"))
        .await
        .unwrap();
    assert_eq!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &SecretHash::of("code-2"),
                later(TTL),
                MAX_TX,
                &token("tok-3")
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
pub async fn access_token_expires(store: Arc<dyn IssuanceStore>) {
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
}

/// A nonce is consumed once, never after expiry; creating it twice is `Duplicate`.
pub async fn nonce_is_consumed_once_and_expires(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    let n1 = SecretHash::of("nonce-1");
    store.create_nonce("acme", &n1, later(TTL)).await.unwrap();
    assert!(matches!(
        store.create_nonce("acme", &n1, later(TTL)).await,
        Err(StoreError::Duplicate("nonce"))
    ));
    assert!(
        !store
            .consume_nonce("acme", &SecretHash::of("unknown"), later(1))
            .await
            .unwrap()
    );
    assert!(store.consume_nonce("acme", &n1, later(1)).await.unwrap());
    assert!(!store.consume_nonce("acme", &n1, later(2)).await.unwrap());

    let n2 = SecretHash::of("nonce-2");
    store.create_nonce("acme", &n2, later(TTL)).await.unwrap();
    assert!(!store.consume_nonce("acme", &n2, later(TTL)).await.unwrap());
    assert!(
        !store
            .consume_nonce("acme", &n2, later(TTL + 100))
            .await
            .unwrap()
    );
}

/// Issuance writes every record and the notification, sets the offer `CredentialIssued`,
/// and consumes the nonce.
pub async fn issue_credentials_writes_records_and_consumes_the_nonce(
    store: Arc<dyn IssuanceStore>,
) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
    let mut unbound = credential("acme", "o1", "cred-b", 8);
    unbound.holder_key_thumbprint = None;
    unbound.status_list = None;
    unbound.expires_at = None;
    let records = vec![credential("acme", "o1", "cred-a", 7), unbound];
    let n = notification("acme", "o1", "notif-1");
    assert!(
        store
            .issue_credentials("acme", &nonce, later(5), "o1", &records, Some(&n))
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
                &SecretHash::of("notif-1"),
                "credential_accepted",
                later(7)
            )
            .await
            .unwrap()
    );

    // A second request (another nonce) for the same offer is fine: batch / several configs.
    let nonce2 = SecretHash::of("nonce-2");
    store
        .create_nonce("acme", &nonce2, later(TTL))
        .await
        .unwrap();
    let more = vec![credential("acme", "o1", "cred-c", 9)];
    assert!(
        store
            .issue_credentials("acme", &nonce2, later(8), "o1", &more, None)
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

/// A spent, expired or unknown nonce issues nothing.
pub async fn issue_credentials_with_a_spent_nonce_writes_nothing(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
    assert!(store.consume_nonce("acme", &nonce, later(2)).await.unwrap());
    let records = vec![credential("acme", "o1", "cred-a", 1)];
    assert!(
        !store
            .issue_credentials("acme", &nonce, later(3), "o1", &records, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .issue_credentials(
                "acme",
                &SecretHash::of("unknown"),
                later(3),
                "o1",
                &records,
                None
            )
            .await
            .unwrap()
    );
    let expiring = SecretHash::of("nonce-2");
    store
        .create_nonce("acme", &expiring, later(TTL))
        .await
        .unwrap();
    assert!(
        !store
            .issue_credentials("acme", &expiring, later(TTL), "o1", &records, None)
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
pub async fn issue_credentials_refuses_records_of_another_tenant(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
    let foreign = vec![credential("other", "o1", "cred-a", 1)];
    assert!(matches!(
        store
            .issue_credentials("acme", &nonce, later(2), "o1", &foreign, None)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let wrong_offer = vec![credential("acme", "o2", "cred-a", 1)];
    assert!(matches!(
        store
            .issue_credentials("acme", &nonce, later(2), "o1", &wrong_offer, None)
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
pub async fn status_list_entry_belongs_to_one_credential(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let n1 = SecretHash::of("nonce-1");
    let n2 = SecretHash::of("nonce-2");
    store.create_nonce("acme", &n1, later(TTL)).await.unwrap();
    store.create_nonce("acme", &n2, later(TTL)).await.unwrap();
    let first = vec![credential("acme", "o1", "cred-a", 5)];
    assert!(
        store
            .issue_credentials("acme", &n1, later(2), "o1", &first, None)
            .await
            .unwrap()
    );
    let clash = vec![
        credential("acme", "o1", "cred-z", 6),
        credential("acme", "o1", "cred-b", 5),
    ];
    assert!(matches!(
        store
            .issue_credentials("acme", &n2, later(3), "o1", &clash, None)
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
    let n3 = SecretHash::of("nonce-3");
    store.create_nonce("beta", &n3, later(TTL)).await.unwrap();
    let same_entry = vec![credential("beta", "o1", "cred-a", 5)];
    assert!(
        store
            .issue_credentials("beta", &n3, later(2), "o1", &same_entry, None)
            .await
            .unwrap()
    );
}

/// Deferred issuance: the nonce is consumed when deferring; redemption is `Pending` until the
/// claims arrive, then `Issued` exactly once; expired ids are `Unknown`.
pub async fn deferred_issuance_pending_then_issued_once(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(
        &store,
        "acme",
        deferred_offer_record("acme", "o1", "code-1"),
    )
    .await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
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
            .redeem_deferred("acme", &tx, later(4), &records, None)
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
            .redeem_deferred("acme", &tx, later(5), &records, Some(&n))
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
                &SecretHash::of("notif-1"),
                "credential_accepted",
                later(6)
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .redeem_deferred("acme", &tx, later(6), &records, None)
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
            .redeem_deferred("acme", &SecretHash::of("nope"), later(6), &records, None)
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );

    // Expiry: a second deferral, redeemed too late.
    let nonce2 = SecretHash::of("nonce-2");
    store
        .create_nonce("acme", &nonce2, later(TTL))
        .await
        .unwrap();
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
            .redeem_deferred("acme", &SecretHash::of("tx-3"), later(TTL), &more, None)
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );
    assert_eq!(store.get_credential("acme", "cred-b").await.unwrap(), None);
}

/// Claims can be set on deferred offers only.
pub async fn set_offer_claims_only_for_deferred_offers(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    store
        .create_offer(&deferred_offer_record("acme", "o2", "code-2"))
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

/// A notification id is consumed once, with its event, and not after expiry.
pub async fn notification_is_consumed_once(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    let n = notification("acme", "o1", "notif-1");
    store.create_notification(&n).await.unwrap();
    assert!(matches!(
        store.create_notification(&n).await,
        Err(StoreError::Duplicate("notification id"))
    ));
    let h = SecretHash::of("notif-1");
    assert!(
        store
            .consume_notification("acme", &h, "credential_deleted", later(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .consume_notification("acme", &h, "credential_accepted", later(2))
            .await
            .unwrap()
    );
    store
        .create_notification(&notification("acme", "o1", "notif-2"))
        .await
        .unwrap();
    assert!(
        !store
            .consume_notification(
                "acme",
                &SecretHash::of("notif-2"),
                "credential_accepted",
                later(TTL)
            )
            .await
            .unwrap()
    );
}

/// Settings: absent, first writer wins, later writers change nothing.
pub async fn settings_first_writer_wins(store: Arc<dyn IssuanceStore>) {
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

/// Purging removes expired nonces, tokens and notification ids of that issuer only.
pub async fn purge_expired_removes_only_expired_artifacts(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    new_issuer(&store, "beta").await;
    store
        .create_nonce("acme", &SecretHash::of("short"), later(10))
        .await
        .unwrap();
    store
        .create_nonce("acme", &SecretHash::of("long"), later(10_000))
        .await
        .unwrap();
    store
        .create_nonce("beta", &SecretHash::of("short"), later(10))
        .await
        .unwrap();
    store
        .create_notification(&notification("acme", "o1", "n1"))
        .await
        .unwrap();
    assert_eq!(store.purge_expired("acme", later(5)).await.unwrap(), 0);
    // Expired at TTL: the short nonce, the access token (TTL) and the notification (TTL).
    assert_eq!(store.purge_expired("acme", later(TTL)).await.unwrap(), 3);
    assert!(
        store
            .consume_nonce("acme", &SecretHash::of("long"), later(TTL))
            .await
            .unwrap()
    );
    assert!(
        store
            .consume_nonce("beta", &SecretHash::of("short"), later(1))
            .await
            .unwrap()
    );
}

/// G6: nothing of issuer A is visible or usable through issuer B.
pub async fn tenants_are_isolated(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    new_issuer(&store, "beta").await;
    store
        .create_offer(&offer_record("acme", "o2", "code-2"))
        .await
        .unwrap();
    store
        .create_offer(&deferred_offer_record("acme", "o3", "code-3"))
        .await
        .unwrap();
    let code = SecretHash::of("code-2");
    let tok = SecretHash::of("tok-o1");
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();

    assert_eq!(store.get_offer("beta", "o2").await.unwrap(), None);
    assert_eq!(
        store
            .find_live_offer_by_code("beta", &code, later(1), MAX_TX)
            .await
            .unwrap(),
        None
    );
    assert!(!store.cancel_offer("beta", "o2").await.unwrap());
    assert!(matches!(
        store.record_tx_code_failure("beta", "o2").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        !store
            .set_offer_claims("beta", "o3", &json!({}))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .redeem_pre_authorized_code("beta", &code, later(1), MAX_TX, &token("t"))
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
    assert!(!store.consume_nonce("beta", &nonce, later(1)).await.unwrap());
    let beta_records = vec![credential("beta", "o1", "cred-x", 1)];
    assert!(
        !store
            .issue_credentials("beta", &nonce, later(1), "o1", &beta_records, None)
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
            .issue_credentials("beta", &nonce, later(1), "o1", &acme_records, None)
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
                Some(&notification("acme", "o1", "n"))
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

    let n2 = SecretHash::of("nonce-2");
    store.create_nonce("acme", &n2, later(TTL)).await.unwrap();
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
            .redeem_deferred("beta", &tx, later(3), &[], None)
            .await
            .unwrap(),
        DeferredOutcome::Unknown
    );
    assert!(store.signing_keys("beta").await.unwrap().is_empty());
}

/// G2: of 50 concurrent redemptions of one code exactly one gets the offer, and exactly one
/// access token exists.
pub async fn race_redeem_pre_authorized_code_one_winner(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
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
pub async fn race_issue_credentials_one_winner_and_only_its_records(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
    let records_of = |i: usize| {
        vec![
            credential("acme", "o1", &format!("cred-{i}-a"), (2 * i) as u64),
            credential("acme", "o1", &format!("cred-{i}-b"), (2 * i + 1) as u64),
        ]
    };
    let results = race(|i| {
        let store = store.clone();
        let records = records_of(i);
        async move {
            store
                .issue_credentials("acme", &nonce, later(2), "o1", &records, None)
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
pub async fn race_consume_nonce_one_winner(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move { store.consume_nonce("acme", &nonce, later(1)).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|&&won| won).count(), 1);
}

/// G2, R1: of 50 concurrent deferred redemptions exactly one is `Issued` (the rest
/// `Unknown`), and exactly its records are stored.
pub async fn race_redeem_deferred_one_winner(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(
        &store,
        "acme",
        deferred_offer_record("acme", "o1", "code-1"),
    )
    .await;
    let nonce = SecretHash::of("nonce-1");
    store
        .create_nonce("acme", &nonce, later(TTL))
        .await
        .unwrap();
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
                .redeem_deferred("acme", &SecretHash::of("tx-1"), later(3), &records, None)
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

/// Concurrent `tx_code` failures never lose an increment: the returned counts are exactly
/// 1..=50 and the stored count is 50.
pub async fn race_tx_code_failures_add_up(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move { store.record_tx_code_failure("acme", "o1").await.unwrap() }
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

/// Of 50 concurrent first writers of a setting exactly one wins, and its value is stored.
pub async fn race_put_setting_if_absent_one_winner(store: Arc<dyn IssuanceStore>) {
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

/// G2: of 50 concurrent notifications with one id exactly one is accepted.
pub async fn race_consume_notification_one_winner(store: Arc<dyn IssuanceStore>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"))
        .await
        .unwrap();
    store
        .create_notification(&notification("acme", "o1", "notif-1"))
        .await
        .unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move {
            store
                .consume_notification(
                    "acme",
                    &SecretHash::of("notif-1"),
                    "credential_accepted",
                    later(1),
                )
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(results.iter().filter(|&&won| won).count(), 1);
}

/// G9: 50 concurrent issuances (each with its own nonce) claiming the same status list
/// entry: exactly one is stored, the others fail `Duplicate` and keep their nonce.
pub async fn race_status_list_entry_allocated_once(store: Arc<dyn IssuanceStore>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    for i in 0..RACERS {
        store
            .create_nonce("acme", &SecretHash::of(&format!("n{i}")), later(TTL))
            .await
            .unwrap();
    }
    let results = race(|i| {
        let store = store.clone();
        let records = vec![credential("acme", "o1", &format!("cred-{i}"), 77)];
        async move {
            store
                .issue_credentials(
                    "acme",
                    &SecretHash::of(&format!("n{i}")),
                    later(2),
                    "o1",
                    &records,
                    None,
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
                    .consume_nonce("acme", &SecretHash::of(&format!("n{i}")), later(3))
                    .await
                    .unwrap()
            );
        }
    }
    let stored = store.credentials_for_offer("acme", "o1").await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, format!("cred-{}", winners[0]));
}
