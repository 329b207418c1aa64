//! [`AccessStore`](crate::AccessStore): API keys, the audit log and its retention.

use super::*;

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
