//! [`PresentationStore`](crate::PresentationStore): verifiers, presentation requests,
//! response codes, the expiry sweep and retention.

use super::*;

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

/// Verifier pages walk every verifier once, by id; a config update keeps the key and
/// touches only that verifier.
pub async fn verifier_pages_and_config_updates(store: Arc<dyn Store>) {
    assert!(
        store
            .list_verifiers_page(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    for id in ["v-c", "v-a", "v-b"] {
        store.create_verifier(&verifier_record(id)).await.unwrap();
    }
    let ids = |page: Vec<VerifierRecord>| page.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_verifiers_page(None, 2).await.unwrap()),
        ["v-a", "v-b"]
    );
    assert_eq!(
        ids(store.list_verifiers_page(Some("v-b"), 2).await.unwrap()),
        ["v-c"]
    );
    assert!(
        store
            .list_verifiers_page(Some("v-c"), 2)
            .await
            .unwrap()
            .is_empty()
    );

    let config = json!({"client_id": "x509_san_dns:changed.example", "disabled": true});
    store.update_verifier_config("v-b", &config).await.unwrap();
    let mut want = verifier_record("v-b");
    want.config = config.clone();
    assert_eq!(store.get_verifier("v-b").await.unwrap(), Some(want));
    assert_eq!(
        store.get_verifier("v-a").await.unwrap(),
        Some(verifier_record("v-a"))
    );
    assert!(matches!(
        store.update_verifier_config("nobody", &config).await,
        Err(StoreError::NotFound(_))
    ));
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
