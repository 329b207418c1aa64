//! The transactional outbox (written through every store trait): audit entries and webhook
//! deliveries commit exactly with their change (R1).

use super::*;

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
