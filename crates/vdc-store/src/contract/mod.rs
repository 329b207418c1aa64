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
//! [`contract_suite!`](crate::contract_suite) lists every test, so a new test runs against
//! every backend without touching them. Tests run on a multi-thread runtime; the race
//! tests start [`RACERS`] tasks behind a barrier so they hit the database together (G2).
//! Expiry is tested by passing a later `now`, never by sleeping.
//!
//! Layout: one module per store trait (`issuance`, `authorization`, `keys`, `status`,
//! `presentation`, `access`, `webhook`) plus `outbox` (the transactional outbox, written through all of
//! them); this file holds the suite macro and the fixtures the modules share.

// This module is test code compiled into the library behind a feature: asserting is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod authorization;
mod issuance;
mod keys;
mod outbox;
mod presentation;
mod sealed;
mod status;
mod webhook;

pub use access::*;
pub use authorization::*;
pub use issuance::*;
pub use keys::*;
pub use outbox::*;
pub use presentation::*;
pub use sealed::*;
pub use status::*;
pub use webhook::*;

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
            issuer_pages_walk_every_tenant_once,
            signing_keys_round_trip,
            signing_key_rotation_adds_exactly_one_next_key,
            latest_credential_expiry_covers_the_window,
            kek_rotation_reseals_every_table_resumably,
            kek_rotation_refuses_a_value_no_kek_opens,
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
            verifier_pages_and_config_updates,
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
            authorization_advances_from_pushed_to_authorized,
            push_authorization_refuses_duplicates_and_unknown_issuers,
            authorization_lookup_honours_stage_expiry_and_tenant,
            race_advance_authorization_one_winner,
            redeem_authorization_code_stores_token_offer_and_refresh_token,
            redeem_authorization_code_refuses_expired_codes_and_foreign_records,
            race_redeem_authorization_code_one_winner,
            race_redeem_authorization_code_for_an_existing_offer,
            race_codes_for_one_existing_offer_one_winner,
            existing_offer_is_claimed_once_with_the_login_claims,
            pre_authorized_token_keeps_its_dpop_binding,
            refresh_token_rotates_once_and_extends_the_authorization,
            race_rotate_refresh_token_one_winner,
            revoke_authorization_removes_its_access_and_refresh_tokens,
            race_revoke_authorization_against_rotations,
            revoke_subject_authorizations_ends_every_grant_of_the_subject,
            race_revoke_subject_against_redemptions_and_rotations,
            dpop_proof_jti_is_used_once_until_purged,
            race_use_dpop_proof_one_winner,
            purge_expired_removes_expired_authorizations_and_refresh_tokens,
            authorization_records_are_isolated_between_tenants,
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
        dpop_jkt: None,
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

fn change(id: &str, status: CredentialStatus) -> StatusChange {
    StatusChange {
        credential_id: id.to_owned(),
        status,
    }
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
