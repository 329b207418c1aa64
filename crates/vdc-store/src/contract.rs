//! The backend contract suite (feature `contract-tests`): what every [`Store`]
//! ([`crate::IssuanceStore`], [`crate::StatusStore`] and [`crate::PresentationStore`]) must do, written once and run by every backend crate (STYLE.md §8).
//!
//! Each test is a `pub async fn name(store: Arc<dyn Store>)` taking a fresh, migrated,
//! empty store. A backend runs all of them with one line in its `tests/it/main.rs`:
//!
//! ```text
//! vdc_store::contract_suite!(fixture::fresh);
//! ```
//!
//! where `fixture::fresh()` is an `async fn` returning a value with `fn store(&self) ->
//! Arc<dyn Store>` and `async fn finish(self)` (dropping the test database).
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

use crate::access::audit_id;
use crate::events::{EventTenant, Outbox, OutboxEvent};
use crate::{
    ApiKeyRecord, AuditEntry, AuditQuery, CredentialStatus, DeferredOutcome, DeferredRecord,
    IssuedCredentialRecord, IssuerRecord, NewAccessToken, NonceUse, NotificationRecord,
    OfferRecord, OfferStatus, PresentationOutcome, PresentationRequestRecord, PresentationStatus,
    SecretHash, SigningKeyRecord, StatusChange, StatusChangeOutcome, StatusListEntry,
    StatusListRecord, Store, StoreError, UnixTime, VerifierRecord,
};
use crate::{
    AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryState, NewDelivery, WebhookRecord,
};

/// How many tasks race for one single-use artifact.
pub const RACERS: usize = 50;

/// The time every test starts at.
const T0: UnixTime = UnixTime(1_800_000_000);
/// How long offers, tokens and nonces live in these tests.
const TTL: i64 = 600;
/// The `tx_code` failure limit the tests pass.
const MAX_TX: u32 = 3;
/// The per-offer credential limit passed where a test is not about it.
const MAX_CREDENTIALS: u32 = 1000;
/// Entries per list in these tests.
const LIST_SIZE: u64 = 1024;

fn list_record(issuer: &str, list_id: &str) -> StatusListRecord {
    StatusListRecord {
        issuer_id: issuer.to_owned(),
        list_id: list_id.to_owned(),
        bits: 2,
        size: LIST_SIZE,
        created_at: T0,
        sealed_at: None,
        version: 0,
    }
}

/// Runs every contract test against a backend. `$fresh` is an `async fn()` returning a
/// fixture with `fn store(&self) -> Arc<dyn Store>` and `async fn finish(self)`;
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
            race_tx_code_reservations_stop_at_the_limit,
            redeem_with_a_reserved_attempt_gives_it_back,
            race_put_setting_if_absent_one_winner,
            race_consume_notification_one_winner,
            race_status_list_entry_allocated_once,
            status_lists_round_trip,
            free_status_indexes_are_unallocated_candidates_on_open_lists_only,
            issuance_allocates_entries_on_open_lists_only,
            issuance_stops_at_the_offer_limit,
            race_issuance_never_passes_the_offer_limit,
            status_changes_are_recorded_and_revoked_is_final,
            status_change_batches_are_all_or_nothing,
            status_list_at_rebuilds_the_past_from_the_change_log,
            status_lists_are_isolated_between_tenants,
            race_concurrent_revocations_on_one_list_lose_none,
            race_allocations_never_share_an_index,
            race_revocation_is_final_under_concurrent_changes,
            verifiers_round_trip_and_duplicates_are_refused,
            presentation_request_of_unknown_verifier_is_not_found,
            presentation_request_is_found_by_state_within_its_verifier_only,
            presentation_request_finishes_once_and_not_after_expiry,
            expired_presentation_request_is_marked_expired_once,
            response_code_is_redeemed_once,
            race_finish_presentation_request_one_winner,
            race_redeem_response_code_one_winner,
            api_keys_round_trip_and_are_found_by_hash_only,
            api_key_duplicates_are_refused,
            api_key_revocation_is_idempotent_and_unknown_is_false,
            audit_entries_filter_by_tenant_and_since,
            audit_cursor_walk_returns_every_entry_once,
            expiry_sweep_expires_due_pending_requests_once,
            webhooks_round_trip_and_delete_cascades,
            deliveries_are_claimed_attempted_and_listed,
            race_claim_due_deliveries_each_delivery_once,
            enqueue_deliveries_is_all_or_nothing,
            audit_retention_purges_entries_before_the_cutoff_only,
            presentation_retention_purges_finished_requests_never_pending,
            delivery_retention_purges_finished_deliveries_never_pending,
            outbox_commits_with_its_change,
            outbox_events_fan_out_to_matching_webhooks,
            outbox_of_finished_presentation_only_for_the_winner,
            expiry_sweep_writes_each_outbox,
            race_issue_credentials_with_one_nonce,
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

/// The use of the sealed `c_nonce` named `name`, valid for [`TTL`].
fn nonce_use(name: &str) -> NonceUse {
    NonceUse {
        hash: SecretHash::of(name),
        expires_at: later(TTL),
    }
}

/// The outbox of a redemption that writes nothing.
fn no_offer_outbox(_offer: &OfferRecord) -> Outbox {
    Outbox::EMPTY
}

/// The outbox of a sweep that writes nothing.
fn no_outbox(_verifier_id: &str, _request_id: &str) -> Outbox {
    Outbox::EMPTY
}

fn issuer_record(id: &str) -> IssuerRecord {
    IssuerRecord {
        id: id.to_owned(),
        config: json!({ "display": [{ "name": id, "locale": "en" }], "n": 1 }),
        created_at: T0,
    }
}

async fn new_issuer(store: &Arc<dyn Store>, id: &str) {
    store.create_issuer(&issuer_record(id)).await.unwrap();
}

/// An offer redeemable without a `tx_code`.
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
        tx_code_hash: None,
        tx_code_failures: 0,
        deferred: false,
        status: OfferStatus::Offered,
        created_at: T0,
        expires_at: later(TTL),
    }
}

/// An offer whose redemption needs the `tx_code` `493536`.
fn tx_offer_record(issuer: &str, offer_id: &str, code: &str) -> OfferRecord {
    OfferRecord {
        tx_code_hash: Some(SecretHash::of("493536")),
        ..offer_record(issuer, offer_id, code)
    }
}

fn deferred_offer_record(issuer: &str, offer_id: &str, code: &str) -> OfferRecord {
    OfferRecord {
        claims: None,
        deferred: true,
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
async fn redeemed_offer(store: &Arc<dyn Store>, issuer: &str, offer: OfferRecord) {
    new_issuer(store, issuer).await;
    // The records of `credential()` claim indexes on `list-1`; issuance allocates them.
    store
        .create_status_list(&list_record(issuer, "list-1"))
        .await
        .unwrap();
    let code = offer.pre_authorized_code_hash;
    let offer_id = offer.offer_id.clone();
    store.create_offer(&offer, &Outbox::EMPTY).await.unwrap();
    let redeemed = store
        .redeem_pre_authorized_code(
            issuer,
            &code,
            later(1),
            MAX_TX,
            &token(&format!("tok-{offer_id}")),
            false,
            &no_offer_outbox,
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
    race_n(RACERS, f).await
}

/// Runs `n` copies of `f(i)` at once (released together by a barrier) and returns their
/// results in task order.
async fn race_n<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let barrier = barrier.clone();
        let fut = f(i);
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            fut.await
        }));
    }
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.expect("racer panicked"));
    }
    out
}

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

/// Issues one credential per `(id, index)` on `list-1` of `issuer` (set up by
/// [`redeemed_offer`] for offer `o1`), each with its own nonce.
async fn issue_on_list(store: &Arc<dyn Store>, issuer: &str, creds: &[(&str, u64)]) {
    for (id, index) in creds {
        let nonce = nonce_use(&format!("nonce-{issuer}-{id}"));
        let records = vec![credential(issuer, "o1", id, *index)];
        assert!(
            store
                .issue_credentials(
                    issuer,
                    &nonce,
                    later(2),
                    "o1",
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &Outbox::EMPTY
                )
                .await
                .unwrap()
        );
    }
}

fn change(id: &str, status: CredentialStatus) -> StatusChange {
    StatusChange {
        credential_id: id.to_owned(),
        status,
    }
}

async fn entries_now(store: &Arc<dyn Store>, issuer: &str) -> Vec<(u64, CredentialStatus)> {
    store
        .status_list_snapshot(issuer, "list-1")
        .await
        .unwrap()
        .unwrap()
        .entries
}

/// Lists round-trip, ids are unique per issuer, bad shapes and unknown issuers are refused,
/// sealing happens once.
pub async fn status_lists_round_trip(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let first = list_record("acme", "1");
    store.create_status_list(&first).await.unwrap();
    let second = StatusListRecord {
        created_at: later(5),
        ..list_record("acme", "2")
    };
    store.create_status_list(&second).await.unwrap();
    assert!(matches!(
        store.create_status_list(&first).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        store.create_status_list(&list_record("nobody", "1")).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .create_status_list(&StatusListRecord {
                bits: 3,
                ..list_record("acme", "3")
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.get_status_list("acme", "1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_status_list("acme", "9").await.unwrap(), None);
    assert_eq!(
        store.status_lists("acme").await.unwrap(),
        vec![first.clone(), second]
    );
    assert_eq!(
        store.status_list_version("acme", "1").await.unwrap(),
        Some(0)
    );
    assert!(store.seal_status_list("acme", "1", later(9)).await.unwrap());
    assert!(
        !store
            .seal_status_list("acme", "1", later(10))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_status_list("acme", "1")
            .await
            .unwrap()
            .unwrap()
            .sealed_at,
        Some(later(9))
    );
}

/// Free indexes are the candidates inside an unsealed list that no credential holds; the
/// lookup writes nothing (G9: allocation happens in the issuance transaction).
pub async fn free_status_indexes_are_unallocated_candidates_on_open_lists_only(
    store: Arc<dyn Store>,
) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let free = |c: Vec<u64>| {
        let store = store.clone();
        async move {
            let mut f = store
                .free_status_indexes("acme", "list-1", &c)
                .await
                .unwrap();
            f.sort_unstable();
            f
        }
    };
    assert_eq!(free(vec![3, 4]).await, vec![3, 4]);
    assert_eq!(
        free(vec![3, 4]).await,
        vec![3, 4],
        "looking allocates nothing"
    );
    issue_on_list(&store, "acme", &[("cred-a", 3)]).await;
    assert_eq!(free(vec![3, 4]).await, vec![4]);
    assert_eq!(
        free(vec![LIST_SIZE, LIST_SIZE + 7]).await,
        Vec::<u64>::new()
    );
    assert_eq!(free(vec![LIST_SIZE - 1]).await, vec![LIST_SIZE - 1]);
    assert_eq!(
        store
            .free_status_indexes("acme", "unknown", &[1])
            .await
            .unwrap(),
        Vec::<u64>::new()
    );
    store
        .seal_status_list("acme", "list-1", later(2))
        .await
        .unwrap();
    assert_eq!(
        free(vec![5]).await,
        Vec::<u64>::new(),
        "sealed lists offer nothing"
    );
}

/// Issuance allocates each record's entry (R1, G9): an index outside the list, on an unknown
/// or a sealed list is `NotFound`, a taken one `Duplicate`; nothing is written then, not even
/// an entry, and the nonce stays usable.
pub async fn issuance_allocates_entries_on_open_lists_only(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let nonce = nonce_use("nonce-1");
    let issue = |records: Vec<IssuedCredentialRecord>| {
        let store = store.clone();
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
        }
    };
    let outside = vec![credential("acme", "o1", "cred-a", LIST_SIZE + 5)];
    assert!(matches!(
        issue(outside).await,
        Err(StoreError::NotFound("status list entry"))
    ));
    let mut other_list = credential("acme", "o1", "cred-b", 1);
    other_list.status_list = Some(StatusListEntry {
        list_id: "list-9".into(),
        index: 1,
    });
    assert!(matches!(
        issue(vec![other_list]).await,
        Err(StoreError::NotFound("status list entry"))
    ));
    // A batch whose second record's index is taken by the first: all or nothing.
    let twice = vec![
        credential("acme", "o1", "cred-c", 9),
        credential("acme", "o1", "cred-d", 9),
    ];
    assert!(matches!(
        issue(twice).await,
        Err(StoreError::Duplicate("status list entry"))
    ));
    assert_eq!(store.get_credential("acme", "cred-a").await.unwrap(), None);
    assert_eq!(store.get_credential("acme", "cred-c").await.unwrap(), None);
    assert_eq!(
        store
            .free_status_indexes("acme", "list-1", &[9])
            .await
            .unwrap(),
        vec![9],
        "a refused request leaves no entry behind"
    );
    store
        .seal_status_list("acme", "list-1", later(2))
        .await
        .unwrap();
    assert!(matches!(
        issue(vec![credential("acme", "o1", "cred-e", 10)]).await,
        Err(StoreError::NotFound("status list entry"))
    ));
    assert!(store.consume_nonce("acme", &nonce, later(3)).await.unwrap());
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

/// Each change is recorded with time and actor and bumps the list version; the list shows
/// the current statuses; an unchanged status records nothing; revoked is final.
pub async fn status_changes_are_recorded_and_revoked_is_final(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    issue_on_list(&store, "acme", &[("cred-a", 7), ("cred-b", 9)]).await;
    assert!(entries_now(&store, "acme").await.is_empty());
    let set = |id: &'static str, status, at| {
        let store = store.clone();
        async move {
            store
                .change_statuses(
                    "acme",
                    &[change(id, status)],
                    "admin",
                    later(at),
                    &Outbox::EMPTY,
                )
                .await
                .unwrap()
        }
    };
    let StatusChangeOutcome::Changed(after) = set("cred-a", CredentialStatus::Suspended, 10).await
    else {
        panic!("suspend must apply");
    };
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].status, CredentialStatus::Suspended);
    assert_eq!(
        store
            .get_credential("acme", "cred-a")
            .await
            .unwrap()
            .unwrap()
            .status,
        CredentialStatus::Suspended
    );
    assert_eq!(
        entries_now(&store, "acme").await,
        vec![(7, CredentialStatus::Suspended)]
    );
    assert_eq!(
        store.status_list_version("acme", "list-1").await.unwrap(),
        Some(1)
    );
    // The same status again: applied, nothing recorded.
    assert!(matches!(
        set("cred-a", CredentialStatus::Suspended, 11).await,
        StatusChangeOutcome::Changed(_)
    ));
    assert_eq!(
        store.status_list_version("acme", "list-1").await.unwrap(),
        Some(1)
    );
    set("cred-a", CredentialStatus::Valid, 12).await;
    assert!(entries_now(&store, "acme").await.is_empty());
    set("cred-a", CredentialStatus::Revoked, 13).await;
    set("cred-b", CredentialStatus::Suspended, 14).await;
    assert_eq!(
        entries_now(&store, "acme").await,
        vec![
            (7, CredentialStatus::Revoked),
            (9, CredentialStatus::Suspended)
        ]
    );
    for status in [
        CredentialStatus::Valid,
        CredentialStatus::Suspended,
        CredentialStatus::Revoked,
    ] {
        assert_eq!(
            set("cred-a", status, 15).await,
            StatusChangeOutcome::Revoked("cred-a".into())
        );
    }
    assert_eq!(
        store.status_list_version("acme", "list-1").await.unwrap(),
        Some(4)
    );
    let history = store.status_history("acme", "cred-a").await.unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| (h.version, h.index, h.status, h.at, h.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, 7, CredentialStatus::Suspended, later(10), "admin"),
            (2, 7, CredentialStatus::Valid, later(12), "admin"),
            (3, 7, CredentialStatus::Revoked, later(13), "admin"),
        ]
    );
    assert!(
        history
            .iter()
            .all(|h| h.list_id == "list-1" && h.issuer_id == "acme")
    );
}

/// A batch with an unknown or revoked credential changes nothing; repeated ids are invalid.
pub async fn status_change_batches_are_all_or_nothing(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    issue_on_list(
        &store,
        "acme",
        &[("cred-a", 1), ("cred-b", 2), ("cred-c", 3)],
    )
    .await;
    let outcome = store
        .change_statuses(
            "acme",
            &[
                change("cred-a", CredentialStatus::Revoked),
                change("cred-zzz", CredentialStatus::Revoked),
            ],
            "admin",
            later(10),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        StatusChangeOutcome::UnknownCredential("cred-zzz".into())
    );
    assert!(entries_now(&store, "acme").await.is_empty());
    store
        .change_statuses(
            "acme",
            &[change("cred-c", CredentialStatus::Revoked)],
            "admin",
            later(11),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    let outcome = store
        .change_statuses(
            "acme",
            &[
                change("cred-a", CredentialStatus::Suspended),
                change("cred-b", CredentialStatus::Suspended),
                change("cred-c", CredentialStatus::Valid),
            ],
            "admin",
            later(12),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    assert_eq!(outcome, StatusChangeOutcome::Revoked("cred-c".into()));
    assert_eq!(
        entries_now(&store, "acme").await,
        vec![(3, CredentialStatus::Revoked)]
    );
    assert!(matches!(
        store
            .change_statuses(
                "acme",
                &[
                    change("cred-a", CredentialStatus::Suspended),
                    change("cred-a", CredentialStatus::Valid),
                ],
                "admin",
                later(13),
                &Outbox::EMPTY,
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let StatusChangeOutcome::Changed(changed) = store
        .change_statuses(
            "acme",
            &[
                change("cred-b", CredentialStatus::Suspended),
                change("cred-a", CredentialStatus::Revoked),
            ],
            "ops",
            later(14),
            &Outbox::EMPTY,
        )
        .await
        .unwrap()
    else {
        panic!("the batch must apply");
    };
    let ids: Vec<_> = changed.iter().map(|c| c.credential_id.as_str()).collect();
    assert_eq!(ids, vec!["cred-b", "cred-a"], "request order");
    assert_eq!(
        entries_now(&store, "acme").await,
        vec![
            (1, CredentialStatus::Revoked),
            (2, CredentialStatus::Suspended),
            (3, CredentialStatus::Revoked)
        ]
    );
}

/// The list as of a time is rebuilt from the changes made at or before it.
pub async fn status_list_at_rebuilds_the_past_from_the_change_log(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    issue_on_list(&store, "acme", &[("cred-a", 4), ("cred-b", 5)]).await;
    let steps = [
        (100, "cred-a", CredentialStatus::Suspended),
        (200, "cred-b", CredentialStatus::Revoked),
        (300, "cred-a", CredentialStatus::Valid),
        (400, "cred-a", CredentialStatus::Revoked),
    ];
    for (at, id, status) in steps {
        store
            .change_statuses(
                "acme",
                &[change(id, status)],
                "admin",
                later(at),
                &Outbox::EMPTY,
            )
            .await
            .unwrap();
    }
    let at = |secs: i64| {
        let store = store.clone();
        async move {
            store
                .status_list_at("acme", "list-1", later(secs))
                .await
                .unwrap()
                .unwrap()
                .entries
        }
    };
    use CredentialStatus::{Revoked, Suspended};
    assert_eq!(at(99).await, vec![]);
    assert_eq!(at(100).await, vec![(4, Suspended)]);
    assert_eq!(at(250).await, vec![(4, Suspended), (5, Revoked)]);
    assert_eq!(at(300).await, vec![(5, Revoked)]);
    assert_eq!(at(10_000).await, vec![(4, Revoked), (5, Revoked)]);
    assert_eq!(at(10_000).await, entries_now(&store, "acme").await);
    assert_eq!(
        store
            .status_list_at("acme", "nope", later(1))
            .await
            .unwrap(),
        None
    );
}

/// G6: one tenant can neither see nor change another's lists and credentials, even with
/// the same list id.
pub async fn status_lists_are_isolated_between_tenants(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    redeemed_offer(&store, "beta", offer_record("beta", "o1", "code-1")).await;
    issue_on_list(&store, "acme", &[("cred-a", 4)]).await;
    assert_eq!(
        store
            .change_statuses(
                "beta",
                &[change("cred-a", CredentialStatus::Revoked)],
                "admin",
                later(5),
                &Outbox::EMPTY
            )
            .await
            .unwrap(),
        StatusChangeOutcome::UnknownCredential("cred-a".into())
    );
    store
        .change_statuses(
            "acme",
            &[change("cred-a", CredentialStatus::Revoked)],
            "admin",
            later(6),
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    assert!(entries_now(&store, "beta").await.is_empty());
    assert_eq!(
        store.status_list_version("beta", "list-1").await.unwrap(),
        Some(0)
    );
    assert!(
        store
            .status_history("beta", "cred-a")
            .await
            .unwrap()
            .is_empty()
    );
    store
        .create_status_list(&list_record("acme", "only-acme"))
        .await
        .unwrap();
    assert_eq!(
        store.get_status_list("beta", "only-acme").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .free_status_indexes("beta", "only-acme", &[1])
            .await
            .unwrap(),
        Vec::<u64>::new()
    );
    assert!(
        !store
            .seal_status_list("beta", "only-acme", later(1))
            .await
            .unwrap()
    );
}

/// G9: 50 concurrent revocations of 50 credentials on one list: none is lost, each got its
/// own version.
pub async fn race_concurrent_revocations_on_one_list_lose_none(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    let ids: Vec<String> = (0..RACERS).map(|i| format!("cred-{i}")).collect();
    let creds: Vec<(&str, u64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u64))
        .collect();
    issue_on_list(&store, "acme", &creds).await;
    let results = race(|i| {
        let store = store.clone();
        async move {
            store
                .change_statuses(
                    "acme",
                    &[change(&format!("cred-{i}"), CredentialStatus::Revoked)],
                    &format!("actor-{i}"),
                    later(10),
                    &Outbox::EMPTY,
                )
                .await
        }
    })
    .await;
    for (i, r) in results.iter().enumerate() {
        assert!(
            matches!(r, Ok(StatusChangeOutcome::Changed(_))),
            "racer {i}: {r:?}"
        );
    }
    let entries = entries_now(&store, "acme").await;
    assert_eq!(entries.len(), RACERS);
    assert!(entries.iter().all(|(_, s)| *s == CredentialStatus::Revoked));
    assert_eq!(
        store.status_list_version("acme", "list-1").await.unwrap(),
        Some(RACERS as u64)
    );
    let mut versions = BTreeSet::new();
    for id in &ids {
        let h = store.status_history("acme", id).await.unwrap();
        assert_eq!(h.len(), 1);
        versions.insert(h[0].version);
    }
    assert_eq!(versions, (1..=RACERS as u64).collect::<BTreeSet<_>>());
}

/// G9: 50 concurrent allocations from the same candidates never share an index.
pub async fn race_allocations_never_share_an_index(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    // Fifty racers over ten indexes: each index goes to exactly one credential (G9).
    let results = race(|i| {
        let store = store.clone();
        let records = vec![credential(
            "acme",
            "o1",
            &format!("cred-{i}"),
            10 + (i % 10) as u64,
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
                    MAX_CREDENTIALS,
                    &Outbox::EMPTY,
                )
                .await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 10);
    assert!(
        results.iter().all(|r| matches!(
            r,
            Ok(true) | Err(StoreError::Duplicate("status list entry"))
        )),
        "{results:?}"
    );
    let held: BTreeSet<u64> = store
        .credentials_for_offer("acme", "o1")
        .await
        .unwrap()
        .iter()
        .map(|c| c.status_list.as_ref().unwrap().index)
        .collect();
    assert_eq!(held, (10..20).collect::<BTreeSet<u64>>());
}

/// Revoked is final under concurrency: racing revoke / suspend / reinstate on one credential
/// leave no recorded change after the revocation.
pub async fn race_revocation_is_final_under_concurrent_changes(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-1")).await;
    issue_on_list(&store, "acme", &[("cred-a", 3)]).await;
    let results = race(|i| {
        let store = store.clone();
        let status = match i % 3 {
            0 => CredentialStatus::Revoked,
            1 => CredentialStatus::Suspended,
            _ => CredentialStatus::Valid,
        };
        async move {
            store
                .change_statuses(
                    "acme",
                    &[change("cred-a", status)],
                    "admin",
                    later(10),
                    &Outbox::EMPTY,
                )
                .await
                .unwrap()
        }
    })
    .await;
    let revoked_ok = results
        .iter()
        .enumerate()
        .filter(|(i, r)| i % 3 == 0 && matches!(r, StatusChangeOutcome::Changed(_)))
        .count();
    assert_eq!(revoked_ok, 1, "exactly one revocation applies");
    let history = store.status_history("acme", "cred-a").await.unwrap();
    assert_eq!(
        history.last().map(|h| h.status),
        Some(CredentialStatus::Revoked),
        "nothing is recorded after the revocation"
    );
    assert_eq!(
        history
            .iter()
            .filter(|h| h.status == CredentialStatus::Revoked)
            .count(),
        1
    );
    assert_eq!(
        entries_now(&store, "acme").await,
        vec![(3, CredentialStatus::Revoked)]
    );
}

fn verifier_record(id: &str) -> VerifierRecord {
    VerifierRecord {
        id: id.to_owned(),
        config: json!({"client_id": format!("x509_san_dns:{id}.example")}),
        encrypted_signing_key: vec![1, 2, 3],
        created_at: T0,
    }
}

fn request_record(verifier: &str, id: &str, state: &str) -> PresentationRequestRecord {
    PresentationRequestRecord {
        verifier_id: verifier.to_owned(),
        request_id: id.to_owned(),
        state_hash: SecretHash::of(state),
        request: json!({"nonce": format!("n-{id}"), "state": state}),
        encrypted_response_key: Some(vec![9; 40]),
        status: PresentationStatus::Pending,
        result: None,
        error: None,
        response_code_hash: None,
        response_code_used_at: None,
        created_at: T0,
        expires_at: T0.plus(TTL),
        finished_at: None,
    }
}

fn verified_with_code(code: &str) -> PresentationOutcome {
    PresentationOutcome {
        status: PresentationStatus::Verified,
        result: Some(json!({"badge": [{"claims": {"given_name": "Ada"}}]})),
        error: None,
        response_code_hash: Some(SecretHash::of(code)),
    }
}

fn rejected() -> PresentationOutcome {
    PresentationOutcome {
        status: PresentationStatus::Rejected,
        result: None,
        error: Some(json!({"error": "invalid_request", "error_description": "nonce"})),
        response_code_hash: None,
    }
}

/// Verifiers round-trip; a second verifier with the same id is a duplicate.
pub async fn verifiers_round_trip_and_duplicates_are_refused(store: Arc<dyn Store>) {
    let v = verifier_record("acme-verifier");
    store.create_verifier(&v).await.unwrap();
    assert_eq!(
        store.get_verifier("acme-verifier").await.unwrap(),
        Some(v.clone())
    );
    assert_eq!(store.get_verifier("other").await.unwrap(), None);
    assert!(matches!(
        store.create_verifier(&v).await,
        Err(StoreError::Duplicate("verifier"))
    ));
    let b = verifier_record("b-door");
    store.create_verifier(&b).await.unwrap();
    assert_eq!(store.list_verifiers().await.unwrap(), vec![v, b], "by id");
}

/// A request names an existing verifier.
pub async fn presentation_request_of_unknown_verifier_is_not_found(store: Arc<dyn Store>) {
    let r = request_record("nobody", "r1", "s1");
    assert!(matches!(
        store.create_presentation_request(&r, &Outbox::EMPTY).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Requests are found by id and by state hash, only through their own verifier (G6);
/// a second request with the same state is a duplicate.
pub async fn presentation_request_is_found_by_state_within_its_verifier_only(
    store: Arc<dyn Store>,
) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store.create_verifier(&verifier_record("b")).await.unwrap();
    let r = request_record("a", "r1", "state-1");
    store
        .create_presentation_request(&r, &Outbox::EMPTY)
        .await
        .unwrap();
    assert_eq!(
        store.get_presentation_request("a", "r1").await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(
        store
            .find_presentation_request_by_state("a", &SecretHash::of("state-1"))
            .await
            .unwrap()
            .map(|r| r.request_id),
        Some("r1".to_owned())
    );
    assert_eq!(
        store.get_presentation_request("b", "r1").await.unwrap(),
        None
    );
    assert_eq!(
        store
            .find_presentation_request_by_state("b", &SecretHash::of("state-1"))
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .finish_presentation_request("b", "r1", &rejected(), T0, &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .create_presentation_request(&request_record("a", "r2", "state-1"), &Outbox::EMPTY)
            .await,
        Err(StoreError::Duplicate(_))
    ));
}

/// A pending request ends once; later outcomes change nothing; an expired one cannot end.
pub async fn presentation_request_finishes_once_and_not_after_expiry(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .create_presentation_request(&request_record("a", "r2", "s2"), &Outbox::EMPTY)
        .await
        .unwrap();
    let outcome = verified_with_code("code-1");
    assert!(
        store
            .finish_presentation_request("a", "r1", &outcome, T0.plus(1), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_presentation_request("a", "r1", &rejected(), T0.plus(2), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    let r1 = store
        .get_presentation_request("a", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r1.status, PresentationStatus::Verified);
    assert_eq!(r1.result, outcome.result);
    assert_eq!(r1.finished_at, Some(T0.plus(1)));
    assert!(
        !store
            .finish_presentation_request("a", "r2", &rejected(), T0.plus(TTL), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    let pending = PresentationOutcome {
        status: PresentationStatus::Pending,
        ..rejected()
    };
    assert!(matches!(
        store
            .finish_presentation_request("a", "r2", &pending, T0, &Outbox::EMPTY)
            .await,
        Err(StoreError::Invalid(_))
    ));
}

/// Expiry applies to pending requests past `expires_at` only, once.
pub async fn expired_presentation_request_is_marked_expired_once(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(
        !store
            .expire_presentation_request("a", "r1", T0.plus(TTL - 1), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(
        store
            .expire_presentation_request("a", "r1", T0.plus(TTL), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(
        !store
            .expire_presentation_request("a", "r1", T0.plus(TTL + 1), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    let r = store
        .get_presentation_request("a", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, PresentationStatus::Expired);
}

/// A response code is redeemed once, within its verifier.
pub async fn response_code_is_redeemed_once(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store.create_verifier(&verifier_record("b")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(
        store
            .finish_presentation_request("a", "r1", &verified_with_code("c1"), T0, &Outbox::EMPTY)
            .await
            .unwrap()
    );
    let code = SecretHash::of("c1");
    assert_eq!(
        store.redeem_response_code("b", &code, T0).await.unwrap(),
        None
    );
    let r = store
        .redeem_response_code("a", &code, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.request_id, "r1");
    assert_eq!(r.response_code_used_at, Some(T0));
    assert_eq!(
        store.redeem_response_code("a", &code, T0).await.unwrap(),
        None
    );
}

/// Of N concurrent responses to one request exactly one is processed (G2).
pub async fn race_finish_presentation_request_one_winner(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = if i % 2 == 0 {
                verified_with_code(&format!("code-{i}"))
            } else {
                rejected()
            };
            barrier.wait().await;
            let won = store
                .finish_presentation_request("a", "r1", &outcome, T0, &Outbox::EMPTY)
                .await
                .unwrap();
            won.then_some(outcome)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        if let Some(o) = t.await.unwrap() {
            winners.push(o);
        }
    }
    assert_eq!(winners.len(), 1);
    let r = store
        .get_presentation_request("a", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, winners[0].status);
    assert_eq!(r.response_code_hash, winners[0].response_code_hash);
}

/// Of N concurrent redemptions of one response code exactly one wins (G2).
pub async fn race_redeem_response_code_one_winner(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .finish_presentation_request("a", "r1", &verified_with_code("c1"), T0, &Outbox::EMPTY)
        .await
        .unwrap();
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .redeem_response_code("a", &SecretHash::of("c1"), T0)
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

fn api_key(id: &str, secret: &str) -> ApiKeyRecord {
    ApiKeyRecord {
        id: id.to_owned(),
        name: format!("key {id}"),
        issuers: vec!["acme".into(), "beta".into()],
        verifiers: vec!["door".into()],
        scopes: vec!["read".into(), "offers:write".into()],
        key_hash: SecretHash::of(secret),
        created_at: T0,
        revoked_at: None,
    }
}

/// Keys round-trip (lists in order), are found by the hash of the key and by id, never by
/// anything else, and list oldest first.
pub async fn api_keys_round_trip_and_are_found_by_hash_only(store: Arc<dyn Store>) {
    let a = api_key("k1", "secret-1");
    let mut b = api_key("k2", "secret-2");
    b.created_at = T0.plus(5);
    b.issuers = Vec::new();
    store.create_api_key(&b).await.unwrap();
    store.create_api_key(&a).await.unwrap();
    assert_eq!(
        store
            .find_api_key_by_hash(&SecretHash::of("secret-1"))
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        store
            .find_api_key_by_hash(&SecretHash::of("secret-3"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get_api_key("k2").await.unwrap(), Some(b.clone()));
    assert_eq!(store.get_api_key("k3").await.unwrap(), None);
    assert_eq!(store.list_api_keys().await.unwrap(), vec![a, b]);
}

/// A second key with the same id or the same hash is a duplicate.
pub async fn api_key_duplicates_are_refused(store: Arc<dyn Store>) {
    store.create_api_key(&api_key("k1", "s1")).await.unwrap();
    for dup in [api_key("k1", "s2"), api_key("k2", "s1")] {
        let err = store.create_api_key(&dup).await.unwrap_err();
        assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    }
    assert_eq!(store.list_api_keys().await.unwrap().len(), 1);
}

/// Revoking stamps `revoked_at` once (a second revoke keeps the first time and answers true);
/// an unknown id answers false.
pub async fn api_key_revocation_is_idempotent_and_unknown_is_false(store: Arc<dyn Store>) {
    store.create_api_key(&api_key("k1", "s1")).await.unwrap();
    store.create_api_key(&api_key("k2", "s2")).await.unwrap();
    assert!(store.revoke_api_key("k1", T0.plus(10)).await.unwrap());
    assert!(store.revoke_api_key("k1", T0.plus(20)).await.unwrap());
    assert!(!store.revoke_api_key("nope", T0).await.unwrap());
    let k1 = store
        .find_api_key_by_hash(&SecretHash::of("s1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(k1.revoked_at, Some(T0.plus(10)));
    let k2 = store.get_api_key("k2").await.unwrap().unwrap();
    assert_eq!(k2.revoked_at, None);
}

fn audit(tenant: Option<EventTenant>, at: UnixTime, n: u64) -> AuditEntry {
    AuditEntry {
        id: audit_id(at, n),
        at,
        actor: "admin".into(),
        actor_key_id: n.is_multiple_of(2).then(|| format!("k{n}")),
        action: "POST /api/v1/issuers/{issuer}/offers".into(),
        tenant,
        target: n.is_multiple_of(3).then(|| format!("o{n}")),
        outcome: "201".into(),
    }
}

/// Tenant filters see only that tenant's entries (G6), `since` drops older ones, results
/// come newest first and respect the limit.
pub async fn audit_entries_filter_by_tenant_and_since(store: Arc<dyn Store>) {
    let acme = Some(EventTenant::Issuer("acme".into()));
    let door = Some(EventTenant::Verifier("acme".into()));
    let entries = [
        audit(acme.clone(), T0, 1),
        audit(door.clone(), T0.plus(1), 2),
        audit(None, T0.plus(2), 3),
        audit(acme.clone(), T0.plus(3), 4),
        audit(Some(EventTenant::Issuer("beta".into())), T0.plus(4), 5),
    ];
    for e in &entries {
        store.append_audit(e).await.unwrap();
    }
    let err = store.append_audit(&entries[0]).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(_)), "{err:?}");
    let q = |tenant: Option<EventTenant>, since: Option<UnixTime>, limit: u32| AuditQuery {
        tenant,
        since,
        before: None,
        limit,
    };
    let all = store.query_audit(&q(None, None, 100)).await.unwrap();
    let want: Vec<AuditEntry> = entries.iter().rev().cloned().collect();
    assert_eq!(all, want);
    let acme_only = store
        .query_audit(&q(acme.clone(), None, 100))
        .await
        .unwrap();
    assert_eq!(acme_only, vec![entries[3].clone(), entries[0].clone()]);
    // A verifier named like an issuer is another tenant.
    let door_only = store.query_audit(&q(door, None, 100)).await.unwrap();
    assert_eq!(door_only, vec![entries[1].clone()]);
    let recent = store
        .query_audit(&q(acme.clone(), Some(T0.plus(1)), 100))
        .await
        .unwrap();
    assert_eq!(recent, vec![entries[3].clone()]);
    let recent_all = store
        .query_audit(&q(None, Some(T0.plus(3)), 100))
        .await
        .unwrap();
    assert_eq!(recent_all, vec![entries[4].clone(), entries[3].clone()]);
    let limited = store.query_audit(&q(None, None, 2)).await.unwrap();
    assert_eq!(limited, want[..2].to_vec());
}

/// Walking pages with `before` = the last id seen returns every entry exactly once, in
/// order, also when many share one second.
pub async fn audit_cursor_walk_returns_every_entry_once(store: Arc<dyn Store>) {
    let acme = Some(EventTenant::Issuer("acme".into()));
    let mut ids = BTreeSet::new();
    for n in 0..23u64 {
        let e = audit(
            acme.clone(),
            T0.plus(i64::try_from(n / 4).unwrap()),
            n * 7919 + 1,
        );
        ids.insert(e.id.clone());
        store.append_audit(&e).await.unwrap();
        store
            .append_audit(&audit(None, T0, n * 7919 + 2))
            .await
            .unwrap();
    }
    for tenant in [acme.clone(), None] {
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = store
                .query_audit(&AuditQuery {
                    tenant: tenant.clone(),
                    since: None,
                    before: before.clone(),
                    limit: 5,
                })
                .await
                .unwrap();
            assert!(page.len() <= 5);
            let Some(last) = page.last() else { break };
            before = Some(last.id.clone());
            seen.extend(page.into_iter().map(|e| e.id));
        }
        let mut sorted = seen.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest first");
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no entry twice");
        if tenant.is_some() {
            assert_eq!(unique, ids);
        } else {
            assert_eq!(unique.len(), 46);
        }
    }
}

/// The sweep expires pending requests past `expires_at` (and only those), each once.
pub async fn expiry_sweep_expires_due_pending_requests_once(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store.create_verifier(&verifier_record("b")).await.unwrap();
    store
        .create_presentation_request(&request_record("a", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .create_presentation_request(&request_record("b", "r2", "s2"), &Outbox::EMPTY)
        .await
        .unwrap();
    let mut late = request_record("a", "r3", "s3");
    late.expires_at = T0.plus(TTL * 2);
    store
        .create_presentation_request(&late, &Outbox::EMPTY)
        .await
        .unwrap();
    store
        .finish_presentation_request("b", "r2", &rejected(), T0, &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(
        store
            .expire_due_presentation_requests(T0.plus(TTL - 1), 10, &no_outbox)
            .await
            .unwrap()
            .is_empty()
    );
    let expired = store
        .expire_due_presentation_requests(T0.plus(TTL), 10, &no_outbox)
        .await
        .unwrap();
    assert_eq!(expired, vec![("a".to_owned(), "r1".to_owned())]);
    assert!(
        store
            .expire_due_presentation_requests(T0.plus(TTL), 10, &no_outbox)
            .await
            .unwrap()
            .is_empty()
    );
    let r1 = store
        .get_presentation_request("a", "r1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r1.status, PresentationStatus::Expired);
    let r2 = store
        .get_presentation_request("b", "r2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r2.status, PresentationStatus::Rejected);
}

fn webhook_record(id: &str) -> WebhookRecord {
    WebhookRecord {
        id: id.to_owned(),
        url: format!("https://{id}.example/hook"),
        events: vec!["credential.issued".into()],
        issuers: Some(vec!["acme".into()]),
        verifiers: None,
        encrypted_secret: vec![7; 60],
        created_at: T0,
    }
}

fn delivery(webhook: &str, id: &str, at: UnixTime) -> NewDelivery {
    NewDelivery {
        webhook_id: webhook.to_owned(),
        delivery_id: id.to_owned(),
        event_id: format!("evt-{id}"),
        event_type: "credential.issued".into(),
        payload: format!("{{\"id\":\"evt-{id}\"}}"),
        created_at: at,
    }
}

/// Webhooks round-trip; deleting one removes it with its deliveries; deliveries for a
/// missing webhook are skipped.
pub async fn webhooks_round_trip_and_delete_cascades(store: Arc<dyn Store>) {
    let a = webhook_record("wh-a");
    let mut b = webhook_record("wh-b");
    b.issuers = None;
    b.verifiers = Some(vec!["v1".into(), "v2".into()]);
    b.created_at = T0.plus(1);
    store.create_webhook(&a).await.unwrap();
    store.create_webhook(&b).await.unwrap();
    assert!(matches!(
        store.create_webhook(&a).await,
        Err(StoreError::Duplicate("webhook"))
    ));
    assert_eq!(store.get_webhook("wh-a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.list_webhooks().await.unwrap(), vec![a, b]);
    let n = store
        .enqueue_deliveries(&[
            delivery("wh-a", "d1", T0),
            delivery("wh-b", "d2", T0),
            delivery("gone", "d3", T0),
        ])
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(store.list_deliveries("wh-a", 10).await.unwrap().len(), 1);
    assert!(store.delete_webhook("wh-a").await.unwrap());
    assert!(!store.delete_webhook("wh-a").await.unwrap());
    assert_eq!(store.get_webhook("wh-a").await.unwrap(), None);
    assert!(store.list_deliveries("wh-a", 10).await.unwrap().is_empty());
    let claimed = store
        .claim_due_deliveries(T0, T0.plus(60), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|d| d.delivery_id.as_str())
            .collect::<Vec<_>>(),
        vec!["d2"]
    );
}

/// A due delivery is claimed under a lease, its attempts are recorded once each, a retry is
/// due at its time, and the listing shows every attempt.
pub async fn deliveries_are_claimed_attempted_and_listed(store: Arc<dyn Store>) {
    store.create_webhook(&webhook_record("wh")).await.unwrap();
    store
        .enqueue_deliveries(&[delivery("wh", "d1", T0), delivery("wh", "d2", T0.plus(5))])
        .await
        .unwrap();
    let claimed = store
        .claim_due_deliveries(T0, T0.plus(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "only d1 is due");
    assert_eq!(claimed[0].delivery_id, "d1");
    assert_eq!(claimed[0].attempts, 0);
    assert_eq!(claimed[0].payload, "{\"id\":\"evt-d1\"}");
    // Leased: not claimed again until the lease ends.
    assert!(
        store
            .claim_due_deliveries(T0.plus(5), T0.plus(65), 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.delivery_id != "d1")
    );
    let retry = AttemptRecord {
        attempt: 1,
        at: T0,
        http_status: Some(500),
        error: Some("http_status".into()),
        outcome: AttemptOutcome::Retry,
        next_attempt_at: Some(T0.plus(100)),
    };
    assert!(store.record_attempt("wh", "d1", &retry).await.unwrap());
    assert!(
        !store.record_attempt("wh", "d1", &retry).await.unwrap(),
        "attempt 1 twice"
    );
    // d2 was leased at T0+5 until T0+65: claimable again; d1 is not due before T0+100.
    assert!(
        store
            .claim_due_deliveries(T0.plus(99), T0.plus(160), 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.delivery_id != "d1")
    );
    let again = store
        .claim_due_deliveries(T0.plus(100), T0.plus(160), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    let done = AttemptRecord {
        attempt: 2,
        at: T0.plus(100),
        http_status: Some(204),
        error: None,
        outcome: AttemptOutcome::Delivered,
        next_attempt_at: None,
    };
    assert!(store.record_attempt("wh", "d1", &done).await.unwrap());
    assert!(
        store
            .claim_due_deliveries(T0.plus(10_000), T0.plus(10_060), 10)
            .await
            .unwrap()
            .iter()
            .all(|d| d.delivery_id != "d1")
    );
    let listed = store.list_deliveries("wh", 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].delivery_id, "d2", "newest first");
    let d1 = &listed[1];
    assert_eq!(d1.state, DeliveryState::Delivered);
    assert_eq!(d1.attempts, 2);
    assert_eq!(d1.history, vec![retry, done]);
    assert!(
        !store
            .record_attempt(
                "wh",
                "missing",
                &AttemptRecord {
                    attempt: 1,
                    ..d1.history[0].clone()
                }
            )
            .await
            .unwrap()
    );
}

/// Of many dispatchers claiming at once, each due delivery goes to exactly one.
pub async fn race_claim_due_deliveries_each_delivery_once(store: Arc<dyn Store>) {
    store.create_webhook(&webhook_record("wh")).await.unwrap();
    let batch: Vec<NewDelivery> = (0..20)
        .map(|i| delivery("wh", &format!("d{i:02}"), T0))
        .collect();
    store.enqueue_deliveries(&batch).await.unwrap();
    let results = race(|_| {
        let store = store.clone();
        async move {
            store
                .claim_due_deliveries(T0, T0.plus(60), 3)
                .await
                .unwrap()
        }
    })
    .await;
    let mut seen = BTreeSet::new();
    for d in results.into_iter().flatten() {
        assert!(
            seen.insert(d.delivery_id.clone()),
            "{} claimed twice",
            d.delivery_id
        );
    }
    assert_eq!(seen.len(), 20);
}

/// The deliveries of one event are inserted in one transaction: a failing row (here a
/// duplicate delivery id) leaves none of them behind.
pub async fn enqueue_deliveries_is_all_or_nothing(store: Arc<dyn Store>) {
    store.create_webhook(&webhook_record("wh")).await.unwrap();
    store
        .enqueue_deliveries(&[delivery("wh", "taken", T0)])
        .await
        .unwrap();
    let batch = [delivery("wh", "new-1", T0), delivery("wh", "taken", T0)];
    assert!(matches!(
        store.enqueue_deliveries(&batch).await,
        Err(StoreError::Duplicate("webhook delivery"))
    ));
    let listed = store.list_deliveries("wh", 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|d| d.delivery_id.as_str())
            .collect::<Vec<_>>(),
        vec!["taken"]
    );
}

/// Calls `purge` with `limit` until it answers less than `limit`; the count of each call.
async fn purge_batches<F, Fut>(limit: u32, mut purge: F) -> Vec<u64>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = crate::Result<u64>>,
{
    let mut counts = Vec::new();
    loop {
        let n = purge(limit).await.unwrap();
        counts.push(n);
        if n < u64::from(limit) {
            return counts;
        }
        assert!(counts.len() < 100, "the purge never ends: {counts:?}");
    }
}

/// Audit retention (R4: the cutoff is the caller's clock): entries recorded before the cutoff
/// go, of every tenant; an entry exactly at the cutoff and younger ones stay; a backlog goes
/// in batches of at most `limit`, oldest first.
pub async fn audit_retention_purges_entries_before_the_cutoff_only(store: Arc<dyn Store>) {
    let acme = Some(EventTenant::Issuer("acme".into()));
    let door = Some(EventTenant::Verifier("door".into()));
    let old = [
        audit(acme.clone(), T0.plus(-10), 1),
        audit(door.clone(), T0.plus(-1), 2),
        audit(None, T0.plus(-1), 3),
    ];
    let kept = [
        audit(acme.clone(), T0, 4),
        audit(door.clone(), T0, 5),
        audit(None, T0.plus(1), 6),
    ];
    for e in old.iter().chain(&kept) {
        store.append_audit(e).await.unwrap();
    }
    let all = |store: Arc<dyn Store>| async move {
        store
            .query_audit(&AuditQuery {
                limit: 1000,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
    };
    // Nothing is older than T0 - 10.
    assert_eq!(
        store.purge_audit_entries(T0.plus(-10), 100).await.unwrap(),
        0
    );
    assert_eq!(store.purge_audit_entries(T0, 100).await.unwrap(), 3);
    assert_eq!(store.purge_audit_entries(T0, 100).await.unwrap(), 0);
    let want: Vec<AuditEntry> = kept.iter().rev().cloned().collect();
    assert_eq!(all(store.clone()).await, want);
    // A backlog of 7 (several in one second) goes 3 + 3 + 1, oldest first.
    for n in 0..7u64 {
        let at = T0.plus(-100 + i64::try_from(n / 2).unwrap());
        store
            .append_audit(&audit(acme.clone(), at, 100 + n))
            .await
            .unwrap();
    }
    assert_eq!(store.purge_audit_entries(T0, 3).await.unwrap(), 3);
    let left = all(store.clone()).await;
    assert_eq!(left.len(), 7, "3 of the backlog are gone: {left:?}");
    assert!(
        left[3..].iter().all(|e| e.at >= T0.plus(-99)),
        "the oldest went first: {left:?}"
    );
    let counts = purge_batches(3, |limit| {
        let store = store.clone();
        async move { store.purge_audit_entries(T0, limit).await }
    })
    .await;
    assert_eq!(counts, vec![3, 1]);
    assert_eq!(all(store.clone()).await, want);
}

/// Presentation retention: verified, rejected and expired requests of every verifier go once
/// `finished_at` is before the cutoff (one finished exactly at the cutoff stays); a pending
/// request is never purged, however old, even past `expires_at` before the sweep ended it. A
/// purged request's `state` and `response_code` match nothing afterwards (G2).
pub async fn presentation_retention_purges_finished_requests_never_pending(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store.create_verifier(&verifier_record("b")).await.unwrap();
    for (v, id) in [
        ("a", "verified"),
        ("b", "rejected"),
        ("a", "expired"),
        ("a", "pending"),
        ("b", "young"),
    ] {
        let mut r = request_record(v, id, &format!("s-{id}"));
        if id == "young" {
            r.expires_at = T0.plus(TTL * 2);
        }
        store
            .create_presentation_request(&r, &Outbox::EMPTY)
            .await
            .unwrap();
    }
    assert!(
        store
            .finish_presentation_request(
                "a",
                "verified",
                &verified_with_code("c1"),
                T0.plus(1),
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_presentation_request("b", "rejected", &rejected(), T0.plus(2), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(
        store
            .expire_presentation_request("a", "expired", T0.plus(TTL), &Outbox::EMPTY)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_presentation_request(
                "b",
                "young",
                &rejected(),
                T0.plus(TTL + 5),
                &Outbox::EMPTY
            )
            .await
            .unwrap()
    );
    let exists = |v: &'static str, id: &'static str| {
        let store = store.clone();
        async move {
            store
                .get_presentation_request(v, id)
                .await
                .unwrap()
                .is_some()
        }
    };
    // Boundaries: finished at T0+1 stays for a cutoff of T0+1 and goes for T0+2.
    assert_eq!(
        store
            .purge_finished_presentation_requests(T0.plus(1), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_finished_presentation_requests(T0.plus(2), 100)
            .await
            .unwrap(),
        1
    );
    assert!(!exists("a", "verified").await);
    assert!(exists("b", "rejected").await);
    assert_eq!(
        store
            .purge_finished_presentation_requests(T0.plus(TTL + 5), 100)
            .await
            .unwrap(),
        2,
        "the rejected and the expired request"
    );
    assert!(exists("b", "young").await);
    // Far in the future: every finished request is gone, the pending one (past its
    // `expires_at`, never swept) stays as it was.
    assert_eq!(
        store
            .purge_finished_presentation_requests(T0.plus(100 * 86_400), 100)
            .await
            .unwrap(),
        1
    );
    let pending = store
        .get_presentation_request("a", "pending")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.status, PresentationStatus::Pending);
    assert_eq!(pending, request_record("a", "pending", "s-pending"));
    for (v, id) in [
        ("a", "verified"),
        ("b", "rejected"),
        ("a", "expired"),
        ("b", "young"),
    ] {
        assert!(!exists(v, id).await, "{v}/{id} was purged");
    }
    // G2: nothing of a purged request is usable.
    assert_eq!(
        store
            .find_presentation_request_by_state("a", &SecretHash::of("s-verified"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .redeem_response_code("a", &SecretHash::of("c1"), T0.plus(3))
            .await
            .unwrap(),
        None
    );
    // A backlog of 5 goes in batches of 2.
    for n in 0..5 {
        let id = format!("old-{n}");
        store
            .create_presentation_request(
                &request_record("a", &id, &format!("s-{id}")),
                &Outbox::EMPTY,
            )
            .await
            .unwrap();
        assert!(
            store
                .finish_presentation_request("a", &id, &rejected(), T0.plus(n), &Outbox::EMPTY)
                .await
                .unwrap()
        );
    }
    let counts = purge_batches(2, |limit| {
        let store = store.clone();
        async move {
            store
                .purge_finished_presentation_requests(T0.plus(TTL), limit)
                .await
        }
    })
    .await;
    assert_eq!(counts, vec![2, 2, 1]);
    assert!(exists("a", "pending").await);
}

fn attempt(n: u32, at: UnixTime, outcome: AttemptOutcome) -> AttemptRecord {
    AttemptRecord {
        attempt: n,
        at,
        http_status: Some(if outcome == AttemptOutcome::Delivered {
            204
        } else {
            500
        }),
        error: (outcome != AttemptOutcome::Delivered).then(|| "http_status".into()),
        outcome,
        next_attempt_at: (outcome == AttemptOutcome::Retry).then(|| at.plus(10_000)),
    }
}

/// Delivery retention: a delivered or failed delivery goes, with its attempts, once its last
/// attempt is before the cutoff (one that finished exactly at the cutoff stays; an early
/// retry before the cutoff does not make a late finish old); a pending delivery is never
/// purged however old, attempted or not.
pub async fn delivery_retention_purges_finished_deliveries_never_pending(store: Arc<dyn Store>) {
    store.create_webhook(&webhook_record("wh")).await.unwrap();
    store
        .enqueue_deliveries(&[
            delivery("wh", "delivered", T0),
            delivery("wh", "failed", T0),
            delivery("wh", "retrying", T0),
            delivery("wh", "untried", T0),
            delivery("wh", "young", T0.plus(20)),
        ])
        .await
        .unwrap();
    let record = |id: &'static str, a: AttemptRecord| {
        let store = store.clone();
        async move { assert!(store.record_attempt("wh", id, &a).await.unwrap()) }
    };
    record(
        "delivered",
        attempt(1, T0.plus(1), AttemptOutcome::Delivered),
    )
    .await;
    record("failed", attempt(1, T0.plus(1), AttemptOutcome::Retry)).await;
    record("failed", attempt(2, T0.plus(10), AttemptOutcome::Failed)).await;
    record("retrying", attempt(1, T0.plus(1), AttemptOutcome::Retry)).await;
    record("young", attempt(1, T0.plus(30), AttemptOutcome::Delivered)).await;
    let listed = |store: Arc<dyn Store>| async move {
        let mut ids: Vec<String> = store
            .list_deliveries("wh", 100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.delivery_id)
            .collect();
        ids.sort();
        ids
    };
    let purge = |before: UnixTime| {
        let store = store.clone();
        async move { store.purge_finished_deliveries(before, 100).await.unwrap() }
    };
    assert_eq!(purge(T0.plus(1)).await, 0, "delivered at the cutoff stays");
    assert_eq!(purge(T0.plus(2)).await, 1);
    assert_eq!(
        listed(store.clone()).await,
        ["failed", "retrying", "untried", "young"]
    );
    assert_eq!(purge(T0.plus(10)).await, 0, "failed at the cutoff stays");
    assert_eq!(purge(T0.plus(11)).await, 1);
    assert_eq!(
        purge(T0.plus(100 * 86_400)).await,
        1,
        "the young one, later"
    );
    assert_eq!(listed(store.clone()).await, ["retrying", "untried"]);
    let pending = store.list_deliveries("wh", 100).await.unwrap();
    assert!(
        pending.iter().all(|d| d.state == DeliveryState::Pending),
        "{pending:?}"
    );
    // The attempts went with their delivery: the same ids start over from attempt 1.
    store
        .enqueue_deliveries(&[delivery("wh", "delivered", T0.plus(50))])
        .await
        .unwrap();
    record(
        "delivered",
        attempt(1, T0.plus(51), AttemptOutcome::Delivered),
    )
    .await;
    let again = store.list_deliveries("wh", 100).await.unwrap();
    let d = again.iter().find(|d| d.delivery_id == "delivered").unwrap();
    assert_eq!(
        d.history,
        vec![attempt(1, T0.plus(51), AttemptOutcome::Delivered)]
    );
    // A backlog of 5 goes in batches of 2; the pending deliveries stay.
    let backlog: Vec<NewDelivery> = (0..5)
        .map(|n| delivery("wh", &format!("old-{n}"), T0.plus(60 + n)))
        .collect();
    store.enqueue_deliveries(&backlog).await.unwrap();
    for n in 0..5 {
        let id = format!("old-{n}");
        assert!(
            store
                .record_attempt("wh", &id, &attempt(1, T0.plus(70), AttemptOutcome::Failed))
                .await
                .unwrap()
        );
    }
    let counts = purge_batches(2, |limit| {
        let store = store.clone();
        async move { store.purge_finished_deliveries(T0.plus(100), limit).await }
    })
    .await;
    assert_eq!(counts, vec![2, 2, 2, 0]);
    assert_eq!(listed(store.clone()).await, ["retrying", "untried"]);
}

/// The whole audit log, oldest (lowest id) first.
async fn audit_log(store: &Arc<dyn Store>) -> Vec<AuditEntry> {
    let mut all = store
        .query_audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    all.reverse();
    all
}

/// The delivery ids of a webhook's deliveries, sorted.
async fn delivery_ids(store: &Arc<dyn Store>, webhook_id: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_deliveries(webhook_id, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.delivery_id)
        .collect();
    ids.sort();
    ids
}

fn subscription(
    id: &str,
    events: &[&str],
    issuers: Option<&[&str]>,
    verifiers: Option<&[&str]>,
) -> WebhookRecord {
    let owned = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    WebhookRecord {
        events: owned(events),
        issuers: issuers.map(owned),
        verifiers: verifiers.map(owned),
        ..webhook_record(id)
    }
}

fn outbox_event(
    delivery_id: &str,
    event_type: &str,
    tenant: EventTenant,
    at: UnixTime,
) -> OutboxEvent {
    OutboxEvent {
        event_id: format!("evt-{delivery_id}"),
        delivery_id: delivery_id.to_owned(),
        event_type: event_type.to_owned(),
        tenant,
        payload: format!("{{\"id\":\"evt-{delivery_id}\",\"type\":\"{event_type}\"}}"),
        created_at: at,
    }
}

/// An outbox of one audit entry (of `tenant`, number `n`) and optionally one event.
fn outbox_of(tenant: &EventTenant, n: u64, event: Option<OutboxEvent>) -> Outbox {
    Outbox {
        audit: vec![audit(Some(tenant.clone()), later(1), n)],
        events: event.into_iter().collect(),
    }
}

/// The transactional outbox: a change's audit entries and webhook deliveries are written
/// exactly when the change commits. A refused or failing change writes none of its outbox,
/// and a failing outbox undoes its change.
pub async fn outbox_commits_with_its_change(store: Arc<dyn Store>) {
    let acme = EventTenant::Issuer("acme".into());
    let entry = |n: u64| audit(Some(acme.clone()), later(1), n);
    let event = |d: &str, kind: &str| Some(outbox_event(d, kind, acme.clone(), later(1)));
    new_issuer(&store, "acme").await;
    store
        .create_status_list(&list_record("acme", "list-1"))
        .await
        .unwrap();
    store
        .create_webhook(&subscription(
            "wh",
            &[
                "offer.token_issued",
                "credential.issued",
                "credential.status_changed",
            ],
            None,
            None,
        ))
        .await
        .unwrap();

    // create_offer: written with the offer; a duplicate offer writes nothing.
    store
        .create_offer(
            &offer_record("acme", "o1", "code-1"),
            &outbox_of(&acme, 1, None),
        )
        .await
        .unwrap();
    assert_eq!(audit_log(&store).await, vec![entry(1)]);
    assert!(matches!(
        store
            .create_offer(
                &offer_record("acme", "o1", "code-9"),
                &outbox_of(&acme, 2, None)
            )
            .await,
        Err(StoreError::Duplicate("offer"))
    ));
    assert_eq!(
        audit_log(&store).await,
        vec![entry(1)],
        "a refused offer writes no outbox"
    );
    // A failing outbox (an audit id taken) undoes the offer it came with.
    assert!(
        store
            .create_offer(
                &offer_record("acme", "o2", "code-2"),
                &outbox_of(&acme, 1, None)
            )
            .await
            .is_err()
    );
    assert_eq!(store.get_offer("acme", "o2").await.unwrap(), None);
    assert_eq!(audit_log(&store).await, vec![entry(1)]);

    // redeem_pre_authorized_code: the winner writes the outbox it makes from the redeemed
    // offer, the second redemption none.
    let code = SecretHash::of("code-1");
    let redemption_outbox = |n: u64| {
        let acme = acme.clone();
        move |offer: &OfferRecord| {
            let mut e = audit(Some(acme.clone()), later(1), n);
            e.target = Some(format!("{}:{}", offer.offer_id, offer.status.as_str()));
            Outbox {
                audit: vec![e],
                events: vec![outbox_event(
                    &format!("d{n}"),
                    "offer.token_issued",
                    acme.clone(),
                    later(1),
                )],
            }
        }
    };
    let redeemed_entry = {
        let mut e = entry(3);
        e.target = Some("o1:token_issued".into());
        e
    };
    assert!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &code,
                later(1),
                MAX_TX,
                &token("tok-1"),
                false,
                &redemption_outbox(3),
            )
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &code,
                later(2),
                MAX_TX,
                &token("tok-2"),
                false,
                &redemption_outbox(4),
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        audit_log(&store).await,
        vec![entry(1), redeemed_entry.clone()]
    );
    assert_eq!(delivery_ids(&store, "wh").await, ["d3"]);

    // issue_credentials: a used nonce writes nothing; a refused record (its entry taken)
    // writes nothing; a successful issuance writes its outbox.
    let used = nonce_use("used");
    assert!(store.consume_nonce("acme", &used, later(2)).await.unwrap());
    let issue = |nonce: &str, id: &str, index: u64, n: u64| {
        let store = store.clone();
        let nonce = nonce_use(nonce);
        let records = vec![credential("acme", "o1", id, index)];
        let outbox = outbox_of(&acme, n, event(&format!("d{n}"), "credential.issued"));
        async move {
            store
                .issue_credentials(
                    "acme",
                    &nonce,
                    later(3),
                    "o1",
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &outbox,
                )
                .await
        }
    };
    assert!(!issue("used", "cred-a", 1, 5).await.unwrap());
    assert!(issue("n6", "cred-b", 2, 6).await.unwrap());
    assert!(matches!(
        issue("n7", "cred-c", 2, 7).await,
        Err(StoreError::Duplicate("status list entry"))
    ));
    assert!(issue("n8", "cred-d", 3, 8).await.unwrap());
    assert_eq!(
        audit_log(&store).await,
        vec![entry(1), redeemed_entry.clone(), entry(6), entry(8)]
    );
    assert_eq!(delivery_ids(&store, "wh").await, ["d3", "d6", "d8"]);
    assert_eq!(store.get_credential("acme", "cred-a").await.unwrap(), None);
    assert_eq!(store.get_credential("acme", "cred-c").await.unwrap(), None);

    // change_statuses: written only when the outcome is `Changed`.
    assert_eq!(
        store
            .change_statuses(
                "acme",
                &[change("cred-zzz", CredentialStatus::Revoked)],
                "admin",
                later(4),
                &outbox_of(&acme, 9, event("d9", "credential.status_changed")),
            )
            .await
            .unwrap(),
        StatusChangeOutcome::UnknownCredential("cred-zzz".into())
    );
    assert!(matches!(
        store
            .change_statuses(
                "acme",
                &[change("cred-b", CredentialStatus::Revoked)],
                "admin",
                later(5),
                &outbox_of(&acme, 10, event("d10", "credential.status_changed")),
            )
            .await
            .unwrap(),
        StatusChangeOutcome::Changed(_)
    ));
    assert_eq!(
        store
            .change_statuses(
                "acme",
                &[change("cred-b", CredentialStatus::Valid)],
                "admin",
                later(6),
                &outbox_of(&acme, 11, None),
            )
            .await
            .unwrap(),
        StatusChangeOutcome::Revoked("cred-b".into())
    );
    assert_eq!(
        audit_log(&store).await,
        vec![entry(1), redeemed_entry, entry(6), entry(8), entry(10)]
    );
    assert_eq!(delivery_ids(&store, "wh").await, ["d10", "d3", "d6", "d8"]);

    // Presentation requests: a duplicate request writes nothing, an unexpired one does not
    // expire (nothing written), an expired one does, once.
    let door = EventTenant::Verifier("door".into());
    let door_entry = |n: u64| audit(Some(door.clone()), later(1), n);
    store
        .create_verifier(&verifier_record("door"))
        .await
        .unwrap();
    store
        .create_presentation_request(
            &request_record("door", "r1", "s1"),
            &outbox_of(&door, 20, None),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_presentation_request(
                &request_record("door", "r1", "s2"),
                &outbox_of(&door, 21, None),
            )
            .await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(
        !store
            .expire_presentation_request(
                "door",
                "r1",
                T0.plus(TTL - 1),
                &outbox_of(&door, 22, None)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .expire_presentation_request("door", "r1", T0.plus(TTL), &outbox_of(&door, 23, None))
            .await
            .unwrap()
    );
    assert!(
        !store
            .expire_presentation_request("door", "r1", T0.plus(TTL), &outbox_of(&door, 24, None))
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_presentation_request(
                "door",
                "r1",
                &rejected(),
                T0.plus(TTL),
                &outbox_of(&door, 25, None),
            )
            .await
            .unwrap()
    );
    let door_log = store
        .query_audit(&AuditQuery {
            tenant: Some(door.clone()),
            limit: 100,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(door_log, vec![door_entry(23), door_entry(20)]);
}

/// An outbox event becomes one pending delivery, due at once, for each subscription whose
/// events and tenant filters want it (the rule of [`OutboxEvent::matches`], which the store
/// must agree with), and for no other. `write_outbox` is all or nothing.
pub async fn outbox_events_fan_out_to_matching_webhooks(store: Arc<dyn Store>) {
    const ISSUED: &str = "credential.issued";
    const VERIFIED: &str = "presentation.verified";
    let hooks = [
        subscription("all", &[ISSUED], None, None),
        subscription("acme", &[ISSUED], Some(&["acme"]), None),
        subscription("beta", &[ISSUED], Some(&["beta"]), None),
        subscription("pv-all", &[VERIFIED], None, None),
        subscription("door", &[ISSUED, VERIFIED], None, Some(&["door"])),
        subscription(
            "both",
            &[ISSUED, VERIFIED],
            Some(&["acme"]),
            Some(&["door"]),
        ),
        subscription("pv-issuer-acme", &[VERIFIED], Some(&["acme"]), None),
    ];
    for h in &hooks {
        store.create_webhook(h).await.unwrap();
    }
    let issued = outbox_event("d1", ISSUED, EventTenant::Issuer("acme".into()), later(3));
    store
        .write_outbox(&Outbox {
            audit: Vec::new(),
            events: vec![issued.clone()],
        })
        .await
        .unwrap();
    let expected_delivery = |h: &WebhookRecord, e: &OutboxEvent| DeliveryRecord {
        webhook_id: h.id.clone(),
        delivery_id: e.delivery_id.clone(),
        event_id: e.event_id.clone(),
        event_type: e.event_type.clone(),
        payload: e.payload.clone(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_at: Some(e.created_at),
        created_at: e.created_at,
        history: Vec::new(),
    };
    for h in &hooks {
        let want: Vec<DeliveryRecord> = issued
            .matches(&h.events, h.issuers.as_deref(), h.verifiers.as_deref())
            .then(|| expected_delivery(h, &issued))
            .into_iter()
            .collect();
        assert_eq!(
            store.list_deliveries(&h.id, 10).await.unwrap(),
            want,
            "{}",
            h.id
        );
    }
    for (id, want) in [
        ("all", vec!["d1"]),
        ("acme", vec!["d1"]),
        ("beta", vec![]),
        ("pv-all", vec![]),
        ("door", vec![]),
        ("both", vec!["d1"]),
        ("pv-issuer-acme", vec![]),
    ] {
        assert_eq!(delivery_ids(&store, id).await, want, "{id}");
    }

    // Verifier events, with an audit entry, in one outbox: a verifier filter takes only its
    // verifiers, an issuer filter no verifier (not even one named like a filtered issuer).
    let door_verified = outbox_event(
        "d2",
        VERIFIED,
        EventTenant::Verifier("door".into()),
        later(4),
    );
    let acme_verified = outbox_event(
        "d3",
        VERIFIED,
        EventTenant::Verifier("acme".into()),
        later(4),
    );
    let entry = audit(Some(EventTenant::Verifier("door".into())), later(4), 1);
    store
        .write_outbox(&Outbox {
            audit: vec![entry.clone()],
            events: vec![door_verified.clone(), acme_verified.clone()],
        })
        .await
        .unwrap();
    assert_eq!(audit_log(&store).await, vec![entry.clone()]);
    for h in &hooks {
        let want: Vec<String> = [&issued, &door_verified, &acme_verified]
            .into_iter()
            .filter(|e| e.matches(&h.events, h.issuers.as_deref(), h.verifiers.as_deref()))
            .map(|e| e.delivery_id.clone())
            .collect();
        assert_eq!(delivery_ids(&store, &h.id).await, want, "{}", h.id);
    }
    for (id, want) in [
        ("all", vec!["d1"]),
        ("acme", vec!["d1"]),
        ("beta", vec![]),
        ("pv-all", vec!["d2", "d3"]),
        ("door", vec!["d2"]),
        ("both", vec!["d1", "d2"]),
        ("pv-issuer-acme", vec![]),
    ] {
        assert_eq!(delivery_ids(&store, id).await, want, "{id}");
    }
    let door_deliveries = store.list_deliveries("door", 10).await.unwrap();
    assert_eq!(
        door_deliveries,
        vec![expected_delivery(&hooks[4], &door_verified)]
    );

    // The deliveries are due at their event's time, like enqueued ones.
    assert!(
        store
            .claim_due_deliveries(later(2), later(60), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .claim_due_deliveries(later(3), later(60), 100)
            .await
            .unwrap()
            .len(),
        3,
        "the three deliveries of d1"
    );

    // All or nothing: a taken audit id fails the outbox, and its other entry and its event
    // are not written.
    let fresh = audit(Some(EventTenant::Verifier("door".into())), later(5), 2);
    let again = outbox_event(
        "d4",
        VERIFIED,
        EventTenant::Verifier("door".into()),
        later(5),
    );
    assert!(
        store
            .write_outbox(&Outbox {
                audit: vec![fresh, entry.clone()],
                events: vec![again],
            })
            .await
            .is_err()
    );
    assert_eq!(audit_log(&store).await, vec![entry]);
    assert_eq!(delivery_ids(&store, "pv-all").await, ["d2", "d3"]);
    // An empty outbox writes nothing and succeeds.
    store.write_outbox(&Outbox::EMPTY).await.unwrap();
}

/// G2 with its outbox: of many concurrent responses to one request, only the winner's
/// outbox is written.
pub async fn outbox_of_finished_presentation_only_for_the_winner(store: Arc<dyn Store>) {
    let door = EventTenant::Verifier("door".into());
    store
        .create_verifier(&verifier_record("door"))
        .await
        .unwrap();
    store
        .create_webhook(&subscription(
            "wh",
            &["presentation.verified", "presentation.rejected"],
            None,
            None,
        ))
        .await
        .unwrap();
    store
        .create_presentation_request(&request_record("door", "r1", "s1"), &Outbox::EMPTY)
        .await
        .unwrap();
    let results = race(|i| {
        let store = store.clone();
        let (outcome, kind) = if i % 2 == 0 {
            (
                verified_with_code(&format!("code-{i}")),
                "presentation.verified",
            )
        } else {
            (rejected(), "presentation.rejected")
        };
        let outbox = outbox_of(
            &door,
            i as u64,
            Some(outbox_event(
                &format!("d{i:02}"),
                kind,
                door.clone(),
                T0.plus(1),
            )),
        );
        async move {
            store
                .finish_presentation_request("door", "r1", &outcome, T0.plus(1), &outbox)
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|&i| results[i]).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let w = winners[0];
    assert_eq!(
        audit_log(&store).await,
        vec![audit(Some(door.clone()), later(1), w as u64)]
    );
    assert_eq!(delivery_ids(&store, "wh").await, [format!("d{w:02}")]);
}

/// The expiry sweep writes the outbox of each request it expires, in its transaction, and
/// nothing for requests it does not expire.
pub async fn expiry_sweep_writes_each_outbox(store: Arc<dyn Store>) {
    store.create_verifier(&verifier_record("a")).await.unwrap();
    store.create_verifier(&verifier_record("b")).await.unwrap();
    store
        .create_webhook(&subscription("wh", &["presentation.expired"], None, None))
        .await
        .unwrap();
    for (v, id, expires_at) in [
        ("a", "r1", T0.plus(TTL)),
        ("b", "r2", T0.plus(TTL - 5)),
        ("a", "r3", T0.plus(TTL * 2)),
    ] {
        let r = PresentationRequestRecord {
            expires_at,
            ..request_record(v, id, &format!("s-{id}"))
        };
        store
            .create_presentation_request(&r, &Outbox::EMPTY)
            .await
            .unwrap();
    }
    let at = T0.plus(TTL);
    let outbox = |verifier: &str, request: &str| {
        let tenant = EventTenant::Verifier(verifier.to_owned());
        let n: u64 = request.trim_start_matches('r').parse().unwrap();
        Outbox {
            audit: vec![AuditEntry {
                id: audit_id(at, n),
                at,
                actor: "system".into(),
                actor_key_id: None,
                action: "presentation.expired".into(),
                tenant: Some(tenant.clone()),
                target: Some(request.to_owned()),
                outcome: "expired".into(),
            }],
            events: vec![outbox_event(
                &format!("exp-{request}"),
                "presentation.expired",
                tenant,
                at,
            )],
        }
    };
    let mut expired = store
        .expire_due_presentation_requests(at, 10, &outbox)
        .await
        .unwrap();
    expired.sort();
    assert_eq!(
        expired,
        vec![
            ("a".to_owned(), "r1".to_owned()),
            ("b".to_owned(), "r2".to_owned())
        ]
    );
    let written: Vec<(Option<EventTenant>, Option<String>)> = audit_log(&store)
        .await
        .into_iter()
        .map(|e| (e.tenant, e.target))
        .collect();
    assert_eq!(
        written,
        vec![
            (Some(EventTenant::Verifier("a".into())), Some("r1".into())),
            (Some(EventTenant::Verifier("b".into())), Some("r2".into())),
        ]
    );
    assert_eq!(delivery_ids(&store, "wh").await, ["exp-r1", "exp-r2"]);
    // A sweep that expires nothing writes nothing.
    assert!(
        store
            .expire_due_presentation_requests(at, 10, &outbox)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(audit_log(&store).await.len(), 2);
    assert_eq!(delivery_ids(&store, "wh").await, ["exp-r1", "exp-r2"]);
}

/// G2, R1 across offers: 16 concurrent issuances for 16 offers with one sealed nonce: exactly
/// one succeeds, the others answer false (never an error), and only the winner's credential
/// and outbox are stored.
pub async fn race_issue_credentials_with_one_nonce(store: Arc<dyn Store>) {
    const N: usize = 16;
    let acme = EventTenant::Issuer("acme".into());
    new_issuer(&store, "acme").await;
    store
        .create_status_list(&list_record("acme", "list-1"))
        .await
        .unwrap();
    for i in 0..N {
        let offer = offer_record("acme", &format!("o{i}"), &format!("code-{i}"));
        store.create_offer(&offer, &Outbox::EMPTY).await.unwrap();
        assert!(
            store
                .redeem_pre_authorized_code(
                    "acme",
                    &offer.pre_authorized_code_hash,
                    later(1),
                    MAX_TX,
                    &token(&format!("tok-{i}")),
                    false,
                    &no_offer_outbox,
                )
                .await
                .unwrap()
                .is_some()
        );
    }
    let nonce = nonce_use("shared");
    let results = race_n(N, |i| {
        let store = store.clone();
        let nonce = nonce.clone();
        let offer_id = format!("o{i}");
        let records = vec![credential(
            "acme",
            &offer_id,
            &format!("cred-{i}"),
            i as u64,
        )];
        let outbox = outbox_of(&acme, i as u64, None);
        async move {
            store
                .issue_credentials(
                    "acme",
                    &nonce,
                    later(2),
                    &offer_id,
                    &records,
                    None,
                    MAX_CREDENTIALS,
                    &outbox,
                )
                .await
        }
    })
    .await;
    assert!(
        results.iter().all(Result::is_ok),
        "never an error: {results:?}"
    );
    let winners: Vec<usize> = (0..N).filter(|&i| matches!(results[i], Ok(true))).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let w = winners[0];
    for i in 0..N {
        let offer_id = format!("o{i}");
        let stored = store
            .credentials_for_offer("acme", &offer_id)
            .await
            .unwrap();
        let status = store
            .get_offer("acme", &offer_id)
            .await
            .unwrap()
            .unwrap()
            .status;
        if i == w {
            assert_eq!(
                stored,
                vec![credential(
                    "acme",
                    &offer_id,
                    &format!("cred-{i}"),
                    i as u64
                )]
            );
            assert_eq!(status, OfferStatus::CredentialIssued);
        } else {
            assert!(stored.is_empty(), "offer {i}: {stored:?}");
            assert_eq!(status, OfferStatus::TokenIssued);
        }
    }
    assert_eq!(
        audit_log(&store).await,
        vec![audit(Some(acme), later(1), w as u64)]
    );
    assert!(!store.consume_nonce("acme", &nonce, later(3)).await.unwrap());
}
