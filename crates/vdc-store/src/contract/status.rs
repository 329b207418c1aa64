//! [`StatusStore`](crate::StatusStore): status lists, entry allocation in the issuance
//! transaction (G9), status changes and their history.

use super::*;

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
