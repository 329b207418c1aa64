//! [`WebhookStore`](crate::WebhookStore): subscriptions, deliveries, attempts and retention.

use super::*;

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
