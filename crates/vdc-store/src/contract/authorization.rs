//! [`AuthorizationStore`](crate::AuthorizationStore): a pushed request advancing through the
//! login to an authorization code, the code redeemed once for an access token (with a new or
//! an existing offer, R1), refresh tokens rotated once, revocation, DPoP `jti`s used once,
//! purging, tenant isolation (G6) and the single-use races (G2).

use serde_json::Value;

use super::*;
use crate::{
    AccessTokenRecord, AuditQuery, AuthorizationRecord, AuthorizationStage, AuthorizationStep,
    AuthorizedOffer, CodeOutcome, CodeRedemption, RefreshTokenRecord,
};

/// How many tasks race for one code or refresh token.
const CODE_RACERS: usize = 16;
/// How long a code lives in these tests.
const CODE_TTL: i64 = 60;
/// How long a refresh token lives in these tests.
const REFRESH_TTL: i64 = 86_400;

/// The outbox of a redemption that writes none.
static NO_OUTBOX: Outbox = Outbox::EMPTY;

/// The configurations a login's token authorizes.
fn login_ids() -> Vec<String> {
    vec!["pid_sd_jwt".to_owned()]
}

/// The claims a login found.
fn login_claims() -> Value {
    json!({ "pid_sd_jwt": { "given_name": "Erika", "family_name": "Mustermann" } })
}

/// A pushed authorization whose `request_uri` is `handle`, live for [`CODE_TTL`].
fn pushed(issuer: &str, id: &str, handle: &str) -> AuthorizationRecord {
    AuthorizationRecord {
        issuer_id: issuer.to_owned(),
        authorization_id: id.to_owned(),
        handle_hash: SecretHash::of(handle),
        stage: AuthorizationStage::Pushed,
        request: json!({
            "client_id": format!("wallet-{id}"),
            "redirect_uri": "https://wallet.example/cb",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "credential_configuration_ids": ["pid_sd_jwt"],
        }),
        subject: None,
        claims: None,
        created_at: T0,
        expires_at: later(CODE_TTL),
    }
}

/// An authorization whose login finished: `code` is live for [`CODE_TTL`].
fn authorized(issuer: &str, id: &str, code: &str) -> AuthorizationRecord {
    AuthorizationRecord {
        stage: AuthorizationStage::Authorized,
        subject: Some(format!("sub-{id}")),
        claims: Some(login_claims()),
        ..pushed(issuer, id, code)
    }
}

/// Stores [`authorized`].
async fn push_authorized(store: &Arc<dyn Store>, issuer: &str, id: &str, code: &str) {
    store
        .push_authorization(&authorized(issuer, id, code))
        .await
        .unwrap();
}

fn step(stage: AuthorizationStage, handle: &str, expires_at: UnixTime) -> AuthorizationStep {
    AuthorizationStep {
        stage,
        handle_hash: SecretHash::of(handle),
        expires_at,
        subject: None,
        claims: None,
    }
}

/// The offer row a login's token belongs to (redeemed from birth, its code never shown).
fn login_offer(issuer: &str, offer_id: &str) -> OfferRecord {
    OfferRecord {
        credential_configuration_ids: login_ids(),
        claims: Some(login_claims()),
        status: OfferStatus::TokenIssued,
        ..offer_record(issuer, offer_id, &format!("never-shown-{offer_id}"))
    }
}

/// An access token bound to the DPoP key `jkt`.
fn bound_token(name: &str, jkt: &str) -> NewAccessToken {
    NewAccessToken {
        dpop_jkt: Some(jkt.to_owned()),
        ..token(name)
    }
}

fn refresh_token(issuer: &str, name: &str, authorization_id: &str) -> RefreshTokenRecord {
    RefreshTokenRecord {
        issuer_id: issuer.to_owned(),
        token_hash: SecretHash::of(name),
        authorization_id: authorization_id.to_owned(),
        dpop_jkt: Some("jkt-1".to_owned()),
        expires_at: later(REFRESH_TTL),
    }
}

fn redemption<'a>(
    offer: AuthorizedOffer<'a>,
    token: &'a NewAccessToken,
    ids: &'a [String],
) -> CodeRedemption<'a> {
    CodeRedemption {
        offer,
        token,
        credential_configuration_ids: ids,
        authorization_details: true,
        outbox: &NO_OUTBOX,
    }
}

/// Redeems `code` of `issuer` for a new offer `offer_id`, the token `tok` and (with `rt`)
/// a refresh token, expecting it to be issued.
async fn redeem_new(
    store: &Arc<dyn Store>,
    issuer: &str,
    code: &str,
    authorization_id: &str,
    offer_id: &str,
    tok: &str,
    rt: Option<&str>,
) {
    let offer = login_offer(issuer, offer_id);
    let token = bound_token(tok, "jkt-1");
    let ids = login_ids();
    let refresh = rt.map(|rt| refresh_token(issuer, rt, authorization_id));
    let outcome = store
        .redeem_authorization_code(
            issuer,
            &SecretHash::of(code),
            later(1),
            &redemption(AuthorizedOffer::New(&offer), &token, &ids),
            refresh.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, CodeOutcome::Issued(offer_id.to_owned()), "setup");
}

/// Rotates `old` of `issuer` into `next`, with the new offer `offer_id` and token `tok`.
async fn rotate(
    store: &Arc<dyn Store>,
    issuer: &str,
    old: &str,
    next: &RefreshTokenRecord,
    offer_id: &str,
    tok: &str,
    now: UnixTime,
) -> Option<AuthorizationRecord> {
    let offer = login_offer(issuer, offer_id);
    let token = bound_token(tok, "jkt-1");
    let ids = login_ids();
    store
        .rotate_refresh_token(
            issuer,
            &SecretHash::of(old),
            now,
            next,
            &redemption(AuthorizedOffer::New(&offer), &token, &ids),
        )
        .await
        .unwrap()
}

async fn has_token(store: &Arc<dyn Store>, issuer: &str, tok: &str) -> bool {
    store
        .find_access_token(issuer, &SecretHash::of(tok), later(2))
        .await
        .unwrap()
        .is_some()
}

async fn has_refresh_token(store: &Arc<dyn Store>, issuer: &str, rt: &str) -> bool {
    store
        .find_refresh_token(issuer, &SecretHash::of(rt), later(2))
        .await
        .unwrap()
        .is_some()
}

async fn stage_of(
    store: &Arc<dyn Store>,
    issuer: &str,
    handle: &str,
) -> Option<AuthorizationStage> {
    for stage in [
        AuthorizationStage::Pushed,
        AuthorizationStage::LoggingIn,
        AuthorizationStage::Authorized,
        AuthorizationStage::Redeemed,
    ] {
        if store
            .find_authorization(issuer, &SecretHash::of(handle), stage, later(2))
            .await
            .unwrap()
            .is_some()
        {
            return Some(stage);
        }
    }
    None
}

/// Pushed → LoggingIn → Authorized, each handle working once: a find reads without
/// consuming, a step replaces the handle (the old one finds nothing), and a step without a
/// subject or claims keeps the recorded ones.
pub async fn authorization_advances_from_pushed_to_authorized(store: Arc<dyn Store>) {
    use AuthorizationStage::{Authorized, LoggingIn, Pushed, Redeemed};
    new_issuer(&store, "acme").await;
    let record = pushed("acme", "a1", "uri-1");
    store.push_authorization(&record).await.unwrap();
    let uri = SecretHash::of("uri-1");
    for _ in 0..2 {
        assert_eq!(
            store
                .find_authorization("acme", &uri, Pushed, later(1))
                .await
                .unwrap(),
            Some(record.clone()),
            "a find consumes nothing"
        );
    }

    let login = step(LoggingIn, "state-1", later(120));
    let logging_in = store
        .advance_authorization("acme", &uri, Pushed, &login, later(1))
        .await
        .unwrap()
        .expect("the first step wins");
    assert_eq!(
        logging_in,
        AuthorizationRecord {
            stage: LoggingIn,
            handle_hash: SecretHash::of("state-1"),
            expires_at: later(120),
            ..record.clone()
        }
    );
    assert_eq!(
        store
            .advance_authorization("acme", &uri, Pushed, &login, later(2))
            .await
            .unwrap(),
        None,
        "the request_uri works once"
    );
    assert_eq!(stage_of(&store, "acme", "uri-1").await, None);
    let state = SecretHash::of("state-1");
    assert_eq!(
        store
            .find_authorization("acme", &state, LoggingIn, later(2))
            .await
            .unwrap(),
        Some(logging_in.clone())
    );
    assert_eq!(
        store
            .advance_authorization(
                "acme",
                &state,
                Pushed,
                &step(LoggingIn, "state-x", later(120)),
                later(2)
            )
            .await
            .unwrap(),
        None,
        "a step from the wrong stage moves nothing"
    );
    assert_eq!(stage_of(&store, "acme", "state-1").await, Some(LoggingIn));

    let code = AuthorizationStep {
        subject: Some("sub-1".to_owned()),
        claims: Some(login_claims()),
        ..step(Authorized, "code-1", later(150))
    };
    let authorized = store
        .advance_authorization("acme", &state, LoggingIn, &code, later(100))
        .await
        .unwrap()
        .expect("the login finishes once");
    assert_eq!(
        authorized,
        AuthorizationRecord {
            stage: Authorized,
            handle_hash: SecretHash::of("code-1"),
            subject: Some("sub-1".to_owned()),
            claims: Some(login_claims()),
            expires_at: later(150),
            ..record.clone()
        }
    );
    assert_eq!(stage_of(&store, "acme", "state-1").await, None);
    assert_eq!(stage_of(&store, "acme", "code-1").await, Some(Authorized));

    let ended = store
        .advance_authorization(
            "acme",
            &SecretHash::of("code-1"),
            Authorized,
            &step(Redeemed, "dead-1", later(160)),
            later(101),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ended,
        AuthorizationRecord {
            stage: Redeemed,
            handle_hash: SecretHash::of("dead-1"),
            expires_at: later(160),
            ..authorized
        },
        "a step without subject and claims keeps them"
    );
}

/// A clash of authorization id or handle is `Duplicate` (for a push and for a step onto a
/// taken handle, which then moves nothing); an unknown issuer is `NotFound`.
pub async fn push_authorization_refuses_duplicates_and_unknown_issuers(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .push_authorization(&pushed("acme", "a1", "uri-1"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .push_authorization(&pushed("acme", "a1", "uri-2"))
            .await,
        Err(StoreError::Duplicate("authorization"))
    ));
    assert!(matches!(
        store
            .push_authorization(&pushed("acme", "a2", "uri-1"))
            .await,
        Err(StoreError::Duplicate("authorization handle"))
    ));
    assert!(matches!(
        store
            .push_authorization(&pushed("nope", "a1", "uri-1"))
            .await,
        Err(StoreError::NotFound("issuer"))
    ));
    store
        .push_authorization(&pushed("acme", "a2", "uri-2"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .advance_authorization(
                "acme",
                &SecretHash::of("uri-2"),
                AuthorizationStage::Pushed,
                &step(AuthorizationStage::LoggingIn, "uri-1", later(120)),
                later(1),
            )
            .await,
        Err(StoreError::Duplicate("authorization handle"))
    ));
    assert_eq!(
        stage_of(&store, "acme", "uri-2").await,
        Some(AuthorizationStage::Pushed),
        "a refused step moves nothing"
    );
}

/// A handle is found and advanced only at its stage, before (not at) its expiry, and only
/// by its own tenant.
pub async fn authorization_lookup_honours_stage_expiry_and_tenant(store: Arc<dyn Store>) {
    use AuthorizationStage::{LoggingIn, Pushed};
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    let record = pushed("acme", "a1", "uri-1");
    store.push_authorization(&record).await.unwrap();
    let uri = SecretHash::of("uri-1");
    let find = |issuer: &'static str, stage, at| {
        let store = store.clone();
        async move {
            store
                .find_authorization(issuer, &SecretHash::of("uri-1"), stage, at)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        find("acme", Pushed, later(CODE_TTL - 1)).await,
        Some(record.clone())
    );
    assert_eq!(
        find("acme", Pushed, later(CODE_TTL)).await,
        None,
        "expired at exactly expires_at"
    );
    assert_eq!(find("acme", LoggingIn, later(1)).await, None);
    assert_eq!(find("beta", Pushed, later(1)).await, None);

    let login = step(LoggingIn, "state-1", later(120));
    assert_eq!(
        store
            .advance_authorization("beta", &uri, Pushed, &login, later(1))
            .await
            .unwrap(),
        None,
        "another tenant cannot advance it"
    );
    assert_eq!(
        store
            .advance_authorization("acme", &uri, Pushed, &login, later(CODE_TTL))
            .await
            .unwrap(),
        None,
        "an expired handle does not advance"
    );
    assert_eq!(
        find("acme", Pushed, later(1)).await,
        Some(record),
        "nothing moved"
    );
}

/// G2: of 50 concurrent steps with one handle exactly one moves the authorization, to its
/// own next handle.
pub async fn race_advance_authorization_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .push_authorization(&pushed("acme", "a1", "uri-1"))
        .await
        .unwrap();
    let results = race(|i| {
        let store = store.clone();
        async move {
            store
                .advance_authorization(
                    "acme",
                    &SecretHash::of("uri-1"),
                    AuthorizationStage::Pushed,
                    &step(
                        AuthorizationStage::LoggingIn,
                        &format!("state-{i}"),
                        later(120),
                    ),
                    later(1),
                )
                .await
                .unwrap()
        }
    })
    .await;
    let winners: Vec<usize> = (0..RACERS).filter(|&i| results[i].is_some()).collect();
    assert_eq!(winners.len(), 1, "exactly one step wins");
    for i in 0..RACERS {
        assert_eq!(
            stage_of(&store, "acme", &format!("state-{i}"))
                .await
                .is_some(),
            i == winners[0],
            "only the winner's handle exists"
        );
    }
}

/// R1: redeeming a code stores, in one transaction, the new offer (as `TokenIssued`), the
/// access token (bound, with `authorization_details` and its authorization), the refresh
/// token and the outbox, and keeps the code as `Redeemed` as long as the refresh token
/// lives. A second redemption is `Unknown` and writes nothing.
pub async fn redeem_authorization_code_stores_token_offer_and_refresh_token(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let record = authorized("acme", "a1", "code-1");
    store.push_authorization(&record).await.unwrap();
    let code = SecretHash::of("code-1");
    let acme = EventTenant::Issuer("acme".into());
    let offer = OfferRecord {
        status: OfferStatus::Offered,
        ..login_offer("acme", "lo-1")
    };
    let tok = bound_token("tok-1", "jkt-1");
    let ids = login_ids();
    let rt = refresh_token("acme", "rt-1", "a1");
    let outbox = Outbox::audit(audit(Some(acme.clone()), later(1), 1));
    let first = CodeRedemption {
        outbox: &outbox,
        ..redemption(AuthorizedOffer::New(&offer), &tok, &ids)
    };
    assert_eq!(
        store
            .redeem_authorization_code("acme", &code, later(1), &first, Some(&rt))
            .await
            .unwrap(),
        CodeOutcome::Issued("lo-1".into())
    );
    assert_eq!(
        store.get_offer("acme", "lo-1").await.unwrap(),
        Some(OfferRecord {
            status: OfferStatus::TokenIssued,
            ..offer
        }),
        "the new offer is stored as redeemed, whatever status it named"
    );
    let found = store
        .find_access_token("acme", &SecretHash::of("tok-1"), later(2))
        .await
        .unwrap();
    let expected = AccessTokenRecord {
        issuer_id: "acme".into(),
        token_hash: SecretHash::of("tok-1"),
        offer_id: "lo-1".into(),
        credential_configuration_ids: ids.clone(),
        expires_at: later(TTL),
        dpop_jkt: Some("jkt-1".into()),
        authorization_details: true,
        authorization_id: Some("a1".into()),
    };
    assert_eq!(found, Some(expected.clone()));
    let (token, token_offer) = store
        .find_token_offer("acme", &SecretHash::of("tok-1"), later(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token, expected);
    assert_eq!(token_offer.offer_id, "lo-1");

    assert_eq!(
        store
            .find_authorization("acme", &code, AuthorizationStage::Authorized, later(2))
            .await
            .unwrap(),
        None
    );
    let redeemed = AuthorizationRecord {
        stage: AuthorizationStage::Redeemed,
        expires_at: later(REFRESH_TTL),
        ..record
    };
    assert_eq!(
        store
            .find_authorization(
                "acme",
                &code,
                AuthorizationStage::Redeemed,
                later(REFRESH_TTL - 1)
            )
            .await
            .unwrap(),
        Some(redeemed.clone()),
        "the redeemed code is kept as long as its refresh token, so a replay is known"
    );
    assert_eq!(
        store
            .find_refresh_token("acme", &SecretHash::of("rt-1"), later(2))
            .await
            .unwrap(),
        Some((rt.clone(), redeemed))
    );
    assert_eq!(
        store
            .find_refresh_token("acme", &SecretHash::of("rt-1"), later(REFRESH_TTL))
            .await
            .unwrap(),
        None,
        "a refresh token expires at exactly expires_at"
    );
    let audit_log = |store: Arc<dyn Store>| async move {
        store
            .query_audit(&AuditQuery {
                limit: 100,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
            .len()
    };
    assert_eq!(
        audit_log(store.clone()).await,
        1,
        "the outbox commits with it"
    );

    let offer2 = login_offer("acme", "lo-2");
    let tok2 = bound_token("tok-2", "jkt-1");
    let outbox2 = Outbox::audit(audit(Some(acme), later(2), 2));
    let second = CodeRedemption {
        outbox: &outbox2,
        ..redemption(AuthorizedOffer::New(&offer2), &tok2, &ids)
    };
    let rt2 = refresh_token("acme", "rt-2", "a1");
    assert_eq!(
        store
            .redeem_authorization_code("acme", &code, later(2), &second, Some(&rt2))
            .await
            .unwrap(),
        CodeOutcome::Unknown,
        "a code works once"
    );
    assert_eq!(store.get_offer("acme", "lo-2").await.unwrap(), None);
    assert!(!has_token(&store, "acme", "tok-2").await);
    assert!(!has_refresh_token(&store, "acme", "rt-2").await);
    assert_eq!(
        audit_log(store.clone()).await,
        1,
        "a refused redemption writes no outbox"
    );
}

/// An expired code is `Unknown`; without a refresh token the code keeps its own expiry;
/// records of another tenant or authorization, or a taken offer id, are refused with nothing
/// written (the code stays redeemable).
pub async fn redeem_authorization_code_refuses_expired_codes_and_foreign_records(
    store: Arc<dyn Store>,
) {
    new_issuer(&store, "acme").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    let code = SecretHash::of("code-1");
    let ids = login_ids();
    let tok = token("tok-1");
    let offer = login_offer("acme", "lo-1");
    let r = redemption(AuthorizedOffer::New(&offer), &tok, &ids);
    assert_eq!(
        store
            .redeem_authorization_code("acme", &code, later(CODE_TTL), &r, None)
            .await
            .unwrap(),
        CodeOutcome::Unknown,
        "expired at exactly expires_at"
    );
    assert_eq!(store.get_offer("acme", "lo-1").await.unwrap(), None);

    let foreign_offer = login_offer("beta", "lo-1");
    let foreign = redemption(AuthorizedOffer::New(&foreign_offer), &tok, &ids);
    assert!(matches!(
        store
            .redeem_authorization_code("acme", &code, later(1), &foreign, None)
            .await,
        Err(StoreError::Invalid(_))
    ));
    for rt in [
        refresh_token("beta", "rt-1", "a1"),
        refresh_token("acme", "rt-1", "a-other"),
    ] {
        assert!(matches!(
            store
                .redeem_authorization_code("acme", &code, later(1), &r, Some(&rt))
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
    store
        .create_offer(&offer_record("acme", "o-taken", "code-pre"), &Outbox::EMPTY)
        .await
        .unwrap();
    let taken = login_offer("acme", "o-taken");
    assert!(matches!(
        store
            .redeem_authorization_code(
                "acme",
                &code,
                later(1),
                &redemption(AuthorizedOffer::New(&taken), &tok, &ids),
                None
            )
            .await,
        Err(StoreError::Duplicate("offer"))
    ));
    assert!(!has_token(&store, "acme", "tok-1").await);
    assert!(!has_refresh_token(&store, "acme", "rt-1").await);
    assert_eq!(
        stage_of(&store, "acme", "code-1").await,
        Some(AuthorizationStage::Authorized),
        "a refused redemption consumes nothing"
    );

    assert_eq!(
        store
            .redeem_authorization_code("acme", &code, later(1), &r, None)
            .await
            .unwrap(),
        CodeOutcome::Issued("lo-1".into())
    );
    let redeemed = store
        .find_authorization("acme", &code, AuthorizationStage::Redeemed, later(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        redeemed.expires_at,
        later(CODE_TTL),
        "without a refresh token the code keeps its expiry"
    );
}

/// G2, R1: of 16 concurrent redemptions of one code exactly one is `Issued` and the others
/// `Unknown` (never an error); only the winner's offer, token and refresh token exist.
pub async fn race_redeem_authorization_code_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    let results = race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            let offer = login_offer("acme", &format!("lo-{i}"));
            let tok = bound_token(&format!("tok-{i}"), "jkt-1");
            let ids = login_ids();
            let rt = refresh_token("acme", &format!("rt-{i}"), "a1");
            store
                .redeem_authorization_code(
                    "acme",
                    &SecretHash::of("code-1"),
                    later(1),
                    &redemption(AuthorizedOffer::New(&offer), &tok, &ids),
                    Some(&rt),
                )
                .await
                .expect("a racer that loses is not an error")
        }
    })
    .await;
    let winners: Vec<usize> = (0..CODE_RACERS)
        .filter(|&i| matches!(results[i], CodeOutcome::Issued(_)))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one redemption wins: {results:?}");
    let w = winners[0];
    assert_eq!(results[w], CodeOutcome::Issued(format!("lo-{w}")));
    for (i, outcome) in results.iter().enumerate() {
        if i != w {
            assert_eq!(*outcome, CodeOutcome::Unknown);
        }
        assert_eq!(
            store
                .get_offer("acme", &format!("lo-{i}"))
                .await
                .unwrap()
                .is_some(),
            i == w
        );
        assert_eq!(has_token(&store, "acme", &format!("tok-{i}")).await, i == w);
        assert_eq!(
            has_refresh_token(&store, "acme", &format!("rt-{i}")).await,
            i == w
        );
    }
}

/// G2: 16 concurrent redemptions of one code for one existing offer: exactly one `Issued`,
/// the others `Unknown` or `OfferUsed`, never an error.
pub async fn race_redeem_authorization_code_for_an_existing_offer(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-pre"), &Outbox::EMPTY)
        .await
        .unwrap();
    push_authorized(&store, "acme", "a1", "code-1").await;
    let results = race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            let tok = token(&format!("tok-{i}"));
            let ids = login_ids();
            let claims = login_claims();
            let offer = AuthorizedOffer::Existing {
                offer_id: "o1",
                claims: &claims,
            };
            store
                .redeem_authorization_code(
                    "acme",
                    &SecretHash::of("code-1"),
                    later(1),
                    &redemption(offer, &tok, &ids),
                    None,
                )
                .await
                .expect("a racer that loses is not an error")
        }
    })
    .await;
    let winners: Vec<usize> = (0..CODE_RACERS)
        .filter(|&i| results[i] == CodeOutcome::Issued("o1".into()))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one redemption wins: {results:?}");
    assert!(results.iter().all(|r| matches!(
        r,
        CodeOutcome::Issued(_) | CodeOutcome::Unknown | CodeOutcome::OfferUsed
    )));
    for i in 0..CODE_RACERS {
        assert_eq!(
            has_token(&store, "acme", &format!("tok-{i}")).await,
            i == winners[0]
        );
    }
}

/// G2: 16 different codes naming one existing offer (`issuer_state`) at once: the offer is
/// claimed once (`Issued`), every other redemption is `OfferUsed` and writes nothing (its
/// code stays `Authorized`).
pub async fn race_codes_for_one_existing_offer_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-pre"), &Outbox::EMPTY)
        .await
        .unwrap();
    for i in 0..CODE_RACERS {
        push_authorized(&store, "acme", &format!("a{i}"), &format!("code-{i}")).await;
    }
    let results = race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            let tok = token(&format!("tok-{i}"));
            let ids = login_ids();
            let claims = login_claims();
            let offer = AuthorizedOffer::Existing {
                offer_id: "o1",
                claims: &claims,
            };
            store
                .redeem_authorization_code(
                    "acme",
                    &SecretHash::of(&format!("code-{i}")),
                    later(1),
                    &redemption(offer, &tok, &ids),
                    None,
                )
                .await
                .expect("a racer that loses is not an error")
        }
    })
    .await;
    let winners: Vec<usize> = (0..CODE_RACERS)
        .filter(|&i| results[i] == CodeOutcome::Issued("o1".into()))
        .collect();
    assert_eq!(winners.len(), 1, "the offer is claimed once: {results:?}");
    for (i, outcome) in results.iter().enumerate() {
        let won = i == winners[0];
        if !won {
            assert_eq!(*outcome, CodeOutcome::OfferUsed);
        }
        assert_eq!(has_token(&store, "acme", &format!("tok-{i}")).await, won);
        assert_eq!(
            stage_of(&store, "acme", &format!("code-{i}")).await,
            Some(if won {
                AuthorizationStage::Redeemed
            } else {
                AuthorizationStage::Authorized
            })
        );
    }
}

/// `AuthorizedOffer::Existing`: an `Offered`, unexpired offer of this tenant is claimed (it
/// becomes `TokenIssued` with the login's claims, so its pre-authorized code is dead); a
/// claimed, cancelled, expired or foreign offer is `OfferUsed` with nothing written.
pub async fn existing_offer_is_claimed_once_with_the_login_claims(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    let o1 = OfferRecord {
        claims: None,
        ..offer_record("acme", "o1", "code-pre-1")
    };
    store.create_offer(&o1, &Outbox::EMPTY).await.unwrap();
    push_authorized(&store, "acme", "a1", "code-1").await;
    push_authorized(&store, "acme", "a2", "code-2").await;
    let claims = login_claims();
    let ids = login_ids();
    let existing = |offer_id: &'static str| AuthorizedOffer::Existing {
        offer_id,
        claims: &claims,
    };
    let tok1 = token("tok-1");
    assert_eq!(
        store
            .redeem_authorization_code(
                "acme",
                &SecretHash::of("code-1"),
                later(1),
                &redemption(existing("o1"), &tok1, &ids),
                None
            )
            .await
            .unwrap(),
        CodeOutcome::Issued("o1".into())
    );
    assert_eq!(
        store.get_offer("acme", "o1").await.unwrap(),
        Some(OfferRecord {
            status: OfferStatus::TokenIssued,
            claims: Some(login_claims()),
            ..o1
        })
    );
    let found = store
        .find_access_token("acme", &SecretHash::of("tok-1"), later(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.offer_id, "o1");
    assert_eq!(found.credential_configuration_ids, ids);
    assert_eq!(found.authorization_id.as_deref(), Some("a1"));
    assert_eq!(found.dpop_jkt, None);
    assert!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &SecretHash::of("code-pre-1"),
                later(2),
                MAX_TX,
                &token("tok-pre"),
                false,
                &no_offer_outbox,
            )
            .await
            .unwrap()
            .is_none(),
        "the claimed offer's pre-authorized code is dead"
    );

    store
        .create_offer(&offer_record("acme", "o3", "code-pre-3"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(store.cancel_offer("acme", "o3").await.unwrap());
    store
        .create_offer(
            &OfferRecord {
                expires_at: later(30),
                ..offer_record("acme", "o4", "code-pre-4")
            },
            &Outbox::EMPTY,
        )
        .await
        .unwrap();
    store
        .create_offer(&offer_record("beta", "o5", "code-pre-5"), &Outbox::EMPTY)
        .await
        .unwrap();
    let tok2 = token("tok-2");
    for (offer_id, at) in [
        ("o1", later(2)),
        ("o3", later(2)),
        ("o4", later(30)),
        ("o5", later(2)),
        ("o-unknown", later(2)),
    ] {
        assert_eq!(
            store
                .redeem_authorization_code(
                    "acme",
                    &SecretHash::of("code-2"),
                    at,
                    &redemption(existing(offer_id), &tok2, &ids),
                    Some(&refresh_token("acme", "rt-2", "a2")),
                )
                .await
                .unwrap(),
            CodeOutcome::OfferUsed,
            "offer {offer_id}"
        );
    }
    assert!(!has_token(&store, "acme", "tok-2").await);
    assert!(!has_refresh_token(&store, "acme", "rt-2").await);
    assert_eq!(
        stage_of(&store, "acme", "code-2").await,
        Some(AuthorizationStage::Authorized),
        "OfferUsed consumes nothing"
    );
    assert_eq!(
        store.get_offer("beta", "o5").await.unwrap().unwrap().status,
        OfferStatus::Offered
    );
    assert_eq!(
        store.get_offer("acme", "o4").await.unwrap().unwrap().status,
        OfferStatus::Offered
    );
}

/// A pre-authorized code's token keeps its DPoP binding; it has no authorization and no
/// `authorization_details`.
pub async fn pre_authorized_token_keeps_its_dpop_binding(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    store
        .create_offer(&offer_record("acme", "o1", "code-1"), &Outbox::EMPTY)
        .await
        .unwrap();
    assert!(
        store
            .redeem_pre_authorized_code(
                "acme",
                &SecretHash::of("code-1"),
                later(1),
                MAX_TX,
                &bound_token("tok-1", "jkt-1"),
                false,
                &no_offer_outbox,
            )
            .await
            .unwrap()
            .is_some()
    );
    let expected = AccessTokenRecord {
        issuer_id: "acme".into(),
        token_hash: SecretHash::of("tok-1"),
        offer_id: "o1".into(),
        credential_configuration_ids: vec!["pid_sd_jwt".into(), "mdl".into()],
        expires_at: later(TTL),
        dpop_jkt: Some("jkt-1".into()),
        authorization_details: false,
        authorization_id: None,
    };
    assert_eq!(
        store
            .find_access_token("acme", &SecretHash::of("tok-1"), later(2))
            .await
            .unwrap(),
        Some(expected.clone())
    );
    let (token, _) = store
        .find_token_offer("acme", &SecretHash::of("tok-1"), later(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token, expected);
}

/// A refresh token rotates once while unexpired: the old one is gone, the next one, a new
/// offer and an access token (of the same authorization) are stored, and the authorization
/// lives as long as the next token. A used, expired or foreign rotation writes nothing.
pub async fn refresh_token_rotates_once_and_extends_the_authorization(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-0",
        "tok-0",
        Some("rt-0"),
    )
    .await;
    let next = RefreshTokenRecord {
        expires_at: later(2 * REFRESH_TTL),
        ..refresh_token("acme", "rt-1", "a1")
    };
    let continued = rotate(&store, "acme", "rt-0", &next, "lo-1", "tok-1", later(10))
        .await
        .expect("the first rotation wins");
    assert_eq!(continued.authorization_id, "a1");
    assert_eq!(continued.stage, AuthorizationStage::Redeemed);
    assert_eq!(continued.expires_at, later(2 * REFRESH_TTL));
    assert_eq!(continued.claims, Some(login_claims()));
    assert!(!has_refresh_token(&store, "acme", "rt-0").await);
    assert_eq!(
        store
            .find_refresh_token("acme", &SecretHash::of("rt-1"), later(REFRESH_TTL))
            .await
            .unwrap(),
        Some((next.clone(), continued.clone()))
    );
    let tok = store
        .find_access_token("acme", &SecretHash::of("tok-1"), later(11))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(tok.offer_id, "lo-1");
    assert_eq!(tok.authorization_id.as_deref(), Some("a1"));
    assert_eq!(tok.dpop_jkt.as_deref(), Some("jkt-1"));
    assert!(tok.authorization_details);
    assert_eq!(
        store
            .get_offer("acme", "lo-1")
            .await
            .unwrap()
            .unwrap()
            .status,
        OfferStatus::TokenIssued
    );
    assert_eq!(
        store
            .find_authorization(
                "acme",
                &SecretHash::of("code-1"),
                AuthorizationStage::Redeemed,
                later(2 * REFRESH_TTL - 1)
            )
            .await
            .unwrap(),
        Some(continued),
        "a replayed code is still recognised"
    );

    let again = refresh_token("acme", "rt-2", "a1");
    assert_eq!(
        rotate(&store, "acme", "rt-0", &again, "lo-2", "tok-2", later(11)).await,
        None,
        "a refresh token works once"
    );
    assert_eq!(
        rotate(
            &store,
            "acme",
            "rt-1",
            &again,
            "lo-2",
            "tok-2",
            later(2 * REFRESH_TTL)
        )
        .await,
        None,
        "expired at exactly expires_at"
    );
    let beta_next = refresh_token("beta", "rt-2", "a1");
    assert_eq!(
        rotate(
            &store,
            "beta",
            "rt-1",
            &beta_next,
            "lo-2",
            "tok-2",
            later(11)
        )
        .await,
        None,
        "another tenant's token is unknown"
    );

    let claims = login_claims();
    let ids = login_ids();
    let tok2 = token("tok-2");
    assert!(matches!(
        store
            .rotate_refresh_token(
                "acme",
                &SecretHash::of("rt-1"),
                later(11),
                &again,
                &redemption(
                    AuthorizedOffer::Existing {
                        offer_id: "lo-1",
                        claims: &claims
                    },
                    &tok2,
                    &ids
                ),
            )
            .await,
        Err(StoreError::Invalid(_))
    ));
    let offer2 = login_offer("acme", "lo-2");
    for next in [
        refresh_token("acme", "rt-2", "a-other"),
        refresh_token("beta", "rt-2", "a1"),
    ] {
        assert!(matches!(
            store
                .rotate_refresh_token(
                    "acme",
                    &SecretHash::of("rt-1"),
                    later(11),
                    &next,
                    &redemption(AuthorizedOffer::New(&offer2), &tok2, &ids),
                )
                .await,
            Err(StoreError::Invalid(_))
        ));
    }
    assert!(
        has_refresh_token(&store, "acme", "rt-1").await,
        "a refused rotation consumes nothing"
    );
    assert!(!has_refresh_token(&store, "acme", "rt-2").await);
    assert!(!has_token(&store, "acme", "tok-2").await);
    assert_eq!(store.get_offer("acme", "lo-2").await.unwrap(), None);
}

/// G2: of 16 concurrent rotations of one refresh token exactly one wins (the others get
/// `None`, never an error); the old token is gone and only the winner's token, offer and
/// next refresh token exist.
pub async fn race_rotate_refresh_token_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-0",
        "tok-0",
        Some("rt-0"),
    )
    .await;
    let results = race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            let next = refresh_token("acme", &format!("rt-next-{i}"), "a1");
            let offer = login_offer("acme", &format!("lo-next-{i}"));
            let tok = bound_token(&format!("tok-next-{i}"), "jkt-1");
            let ids = login_ids();
            store
                .rotate_refresh_token(
                    "acme",
                    &SecretHash::of("rt-0"),
                    later(10),
                    &next,
                    &redemption(AuthorizedOffer::New(&offer), &tok, &ids),
                )
                .await
                .expect("a racer that loses is not an error")
        }
    })
    .await;
    let winners: Vec<usize> = (0..CODE_RACERS).filter(|&i| results[i].is_some()).collect();
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert!(!has_refresh_token(&store, "acme", "rt-0").await);
    for i in 0..CODE_RACERS {
        let won = i == winners[0];
        assert_eq!(
            has_refresh_token(&store, "acme", &format!("rt-next-{i}")).await,
            won
        );
        assert_eq!(
            has_token(&store, "acme", &format!("tok-next-{i}")).await,
            won
        );
        assert_eq!(
            store
                .get_offer("acme", &format!("lo-next-{i}"))
                .await
                .unwrap()
                .is_some(),
            won
        );
    }
}

/// RFC 6749 §4.1.2: revoking an authorization removes every access token (from the code and
/// from refreshes) and refresh token it gave, and nothing else.
pub async fn revoke_authorization_removes_its_access_and_refresh_tokens(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-pre")).await;
    new_issuer(&store, "beta").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    push_authorized(&store, "acme", "a2", "code-2").await;
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-1",
        "tok-1",
        Some("rt-1"),
    )
    .await;
    let rt2 = refresh_token("acme", "rt-2", "a1");
    assert!(
        rotate(&store, "acme", "rt-1", &rt2, "lo-2", "tok-2", later(1))
            .await
            .is_some()
    );
    redeem_new(
        &store,
        "acme",
        "code-2",
        "a2",
        "lo-3",
        "tok-3",
        Some("rt-3"),
    )
    .await;

    assert_eq!(
        store.revoke_authorization("beta", "a1").await.unwrap(),
        0,
        "another tenant revokes nothing"
    );
    assert_eq!(
        store.revoke_authorization("acme", "a1").await.unwrap(),
        3,
        "tok-1, tok-2 and rt-2"
    );
    assert!(!has_token(&store, "acme", "tok-1").await);
    assert!(!has_token(&store, "acme", "tok-2").await);
    assert!(!has_refresh_token(&store, "acme", "rt-2").await);
    let rt4 = refresh_token("acme", "rt-4", "a1");
    assert_eq!(
        rotate(&store, "acme", "rt-2", &rt4, "lo-4", "tok-4", later(2)).await,
        None,
        "a revoked refresh token does not rotate"
    );
    assert!(has_token(&store, "acme", "tok-3").await);
    assert!(has_refresh_token(&store, "acme", "rt-3").await);
    assert!(
        has_token(&store, "acme", "tok-o1").await,
        "a pre-authorized token has no authorization"
    );
    assert_eq!(store.revoke_authorization("acme", "a1").await.unwrap(), 0);
    assert_eq!(
        store.revoke_authorization("acme", "a-none").await.unwrap(),
        0
    );
}

/// RFC 7009 §2.1 for an offboarded subject: every authorization of the subject at this
/// issuer loses its access and refresh tokens and its unredeemed code; another subject's
/// and another tenant's same subject keep theirs; the count is of authorizations that had
/// something live, so a second call counts 0.
pub async fn revoke_subject_authorizations_ends_every_grant_of_the_subject(store: Arc<dyn Store>) {
    redeemed_offer(&store, "acme", offer_record("acme", "o1", "code-pre")).await;
    new_issuer(&store, "beta").await;
    let of = |issuer: &str, id: &str, code: &str, subject: &str| AuthorizationRecord {
        subject: Some(subject.to_owned()),
        ..authorized(issuer, id, code)
    };
    for (issuer, id, code, subject) in [
        ("acme", "a1", "code-1", "emp-1"),
        ("acme", "a2", "code-2", "emp-1"),
        ("acme", "a3", "code-3", "emp-1"),
        ("acme", "a4", "code-4", "emp-2"),
        ("beta", "a1", "code-b1", "emp-1"),
    ] {
        store
            .push_authorization(&of(issuer, id, code, subject))
            .await
            .unwrap();
    }
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-1",
        "tok-1",
        Some("rt-1"),
    )
    .await;
    redeem_new(
        &store,
        "acme",
        "code-2",
        "a2",
        "lo-2",
        "tok-2",
        Some("rt-2"),
    )
    .await;
    // a3 stays an unredeemed code.
    redeem_new(
        &store,
        "acme",
        "code-4",
        "a4",
        "lo-4",
        "tok-4",
        Some("rt-4"),
    )
    .await;
    redeem_new(
        &store,
        "beta",
        "code-b1",
        "a1",
        "lo-b1",
        "tok-b1",
        Some("rt-b1"),
    )
    .await;

    assert_eq!(
        store
            .revoke_subject_authorizations("acme", "emp-9", later(1))
            .await
            .unwrap(),
        0,
        "an unknown subject"
    );
    assert_eq!(
        store
            .revoke_subject_authorizations("acme", "emp-1", later(1))
            .await
            .unwrap(),
        3,
        "a1, a2 (tokens) and a3 (code)"
    );
    for (tok, rt) in [("tok-1", "rt-1"), ("tok-2", "rt-2")] {
        assert!(!has_token(&store, "acme", tok).await, "{tok}");
        assert!(!has_refresh_token(&store, "acme", rt).await, "{rt}");
    }
    assert_eq!(
        stage_of(&store, "acme", "code-3").await,
        Some(AuthorizationStage::Redeemed),
        "the unredeemed code is dead"
    );
    let offer = login_offer("acme", "lo-3");
    let token = bound_token("tok-3", "jkt-1");
    let ids = login_ids();
    let outcome = store
        .redeem_authorization_code(
            "acme",
            &SecretHash::of("code-3"),
            later(1),
            &redemption(AuthorizedOffer::New(&offer), &token, &ids),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CodeOutcome::Unknown,
        "a revoked code redeems nothing"
    );
    let next = refresh_token("acme", "rt-1b", "a1");
    assert_eq!(
        rotate(&store, "acme", "rt-1", &next, "lo-1b", "tok-1b", later(1)).await,
        None,
        "a revoked refresh token does not rotate"
    );
    assert!(has_token(&store, "acme", "tok-4").await, "another subject");
    assert!(has_refresh_token(&store, "acme", "rt-4").await);
    assert!(has_token(&store, "beta", "tok-b1").await, "another tenant");
    assert!(has_refresh_token(&store, "beta", "rt-b1").await);
    assert!(
        has_token(&store, "acme", "tok-o1").await,
        "a pre-authorized token has no subject"
    );
    assert_eq!(
        store
            .revoke_subject_authorizations("acme", "emp-1", later(1))
            .await
            .unwrap(),
        0,
        "nothing is left to revoke"
    );
    assert_eq!(
        store
            .revoke_subject_authorizations("beta", "emp-1", later(1))
            .await
            .unwrap(),
        1
    );
    assert!(!has_token(&store, "beta", "tok-b1").await);
}

/// RFC 7009 §2.1 under concurrency: revoking a subject while racers redeem its code and
/// rotate its refresh token leaves none of the subject's tokens, whichever commits first.
/// Nothing fails.
pub async fn race_revoke_subject_against_redemptions_and_rotations(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    for (id, code) in [("a1", "code-1"), ("a2", "code-2")] {
        let record = AuthorizationRecord {
            subject: Some("emp-1".to_owned()),
            ..authorized("acme", id, code)
        };
        store.push_authorization(&record).await.unwrap();
    }
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-0",
        "tok-0",
        Some("rt-0"),
    )
    .await;
    race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            if i == CODE_RACERS / 2 {
                store
                    .revoke_subject_authorizations("acme", "emp-1", later(1))
                    .await
                    .unwrap();
                return;
            }
            let offer = login_offer("acme", &format!("lo-next-{i}"));
            let tok = bound_token(&format!("tok-next-{i}"), "jkt-1");
            let ids = login_ids();
            let r = redemption(AuthorizedOffer::New(&offer), &tok, &ids);
            if i % 2 == 0 {
                let next = refresh_token("acme", &format!("rt-next-{i}"), "a1");
                store
                    .rotate_refresh_token("acme", &SecretHash::of("rt-0"), later(1), &next, &r)
                    .await
                    .expect("a racer that loses is not an error");
            } else {
                let next = refresh_token("acme", &format!("rt-next-{i}"), "a2");
                store
                    .redeem_authorization_code(
                        "acme",
                        &SecretHash::of("code-2"),
                        later(1),
                        &r,
                        Some(&next),
                    )
                    .await
                    .expect("a racer that loses is not an error");
            }
        }
    })
    .await;
    assert!(!has_token(&store, "acme", "tok-0").await);
    assert!(!has_refresh_token(&store, "acme", "rt-0").await);
    for i in 0..CODE_RACERS {
        assert!(
            !has_token(&store, "acme", &format!("tok-next-{i}")).await,
            "{i}"
        );
        assert!(
            !has_refresh_token(&store, "acme", &format!("rt-next-{i}")).await,
            "{i}"
        );
    }
}

/// RFC 6749 §4.1.2 under concurrency: a revocation racing rotations of the
/// authorization's refresh token leaves none of its tokens, whichever commits first (a
/// rotation that wins first is revoked with the rest; one that comes later finds its
/// refresh token gone). Nothing fails.
pub async fn race_revoke_authorization_against_rotations(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-0",
        "tok-0",
        Some("rt-0"),
    )
    .await;
    let results = race_n(CODE_RACERS, |i| {
        let store = store.clone();
        async move {
            if i == CODE_RACERS / 2 {
                store.revoke_authorization("acme", "a1").await.unwrap();
                return false;
            }
            let next = refresh_token("acme", &format!("rt-next-{i}"), "a1");
            let offer = login_offer("acme", &format!("lo-next-{i}"));
            let tok = bound_token(&format!("tok-next-{i}"), "jkt-1");
            let ids = login_ids();
            store
                .rotate_refresh_token(
                    "acme",
                    &SecretHash::of("rt-0"),
                    later(10),
                    &next,
                    &redemption(AuthorizedOffer::New(&offer), &tok, &ids),
                )
                .await
                .expect("a racer that loses is not an error")
                .is_some()
        }
    })
    .await;
    assert!(results.iter().filter(|won| **won).count() <= 1);
    assert!(!has_token(&store, "acme", "tok-0").await);
    assert!(!has_refresh_token(&store, "acme", "rt-0").await);
    for i in 0..CODE_RACERS {
        assert!(!has_token(&store, "acme", &format!("tok-next-{i}")).await);
        assert!(!has_refresh_token(&store, "acme", &format!("rt-next-{i}")).await);
    }
}

/// G2, RFC 9449 §11.1: a `jti` is used once per issuer, whatever expiry a later use names,
/// until it is purged after its expiry; an already expired proof is refused and writes
/// nothing.
pub async fn dpop_proof_jti_is_used_once_until_purged(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    let j1 = SecretHash::of("jkt-1\0jti-1");
    let j2 = SecretHash::of("jkt-1\0jti-2");
    assert!(
        store
            .use_dpop_proof("acme", &j1, later(300), later(1))
            .await
            .unwrap()
    );
    for (until, at) in [(later(300), later(2)), (later(900), later(2))] {
        assert!(!store.use_dpop_proof("acme", &j1, until, at).await.unwrap());
    }
    assert!(
        store
            .use_dpop_proof("beta", &j1, later(300), later(1))
            .await
            .unwrap(),
        "jtis are per issuer"
    );
    assert!(
        !store
            .use_dpop_proof("acme", &j2, later(5), later(5))
            .await
            .unwrap(),
        "a proof too old at now is refused"
    );
    assert!(
        store
            .use_dpop_proof("acme", &j2, later(5), later(1))
            .await
            .unwrap(),
        "the refused use wrote nothing"
    );
    assert!(
        !store
            .use_dpop_proof("acme", &j1, later(900), later(301))
            .await
            .unwrap(),
        "an expired jti stays used until it is purged"
    );
    assert_eq!(store.purge_expired("acme", later(301)).await.unwrap(), 2);
    assert!(
        store
            .use_dpop_proof("acme", &j1, later(900), later(301))
            .await
            .unwrap(),
        "a purged jti can be used again"
    );
    assert!(
        !store
            .use_dpop_proof("beta", &j1, later(900), later(301))
            .await
            .unwrap(),
        "another issuer's purge keeps this issuer's jtis"
    );
    assert!(matches!(
        store
            .use_dpop_proof("nope", &j1, later(300), later(1))
            .await,
        Err(StoreError::NotFound("issuer"))
    ));
}

/// G2: of 50 concurrent uses of one `jti` exactly one is true.
pub async fn race_use_dpop_proof_one_winner(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    let results = race(|_| {
        let store = store.clone();
        async move {
            store
                .use_dpop_proof("acme", &SecretHash::of("jti-1"), later(300), later(1))
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(results.iter().filter(|used| **used).count(), 1);
}

/// `purge_expired` removes expired authorizations (at whatever stage), refresh tokens and
/// DPoP proofs of its issuer; an authorization lives as long as its refresh token.
pub async fn purge_expired_removes_expired_authorizations_and_refresh_tokens(
    store: Arc<dyn Store>,
) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    store
        .push_authorization(&pushed("acme", "a1", "uri-1"))
        .await
        .unwrap();
    store
        .push_authorization(&pushed("beta", "b1", "uri-1"))
        .await
        .unwrap();
    push_authorized(&store, "acme", "a2", "code-2").await;
    redeem_new(
        &store,
        "acme",
        "code-2",
        "a2",
        "lo-2",
        "tok-2",
        Some("rt-2"),
    )
    .await;
    push_authorized(&store, "acme", "a3", "code-3").await;
    redeem_new(&store, "acme", "code-3", "a3", "lo-3", "tok-3", None).await;

    assert_eq!(
        store
            .purge_expired("acme", later(CODE_TTL - 1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.purge_expired("acme", later(CODE_TTL)).await.unwrap(),
        2,
        "the pushed a1 and the redeemed a3 without a refresh token"
    );
    assert_eq!(stage_of(&store, "acme", "code-3").await, None);
    assert_eq!(
        store.purge_expired("acme", later(TTL)).await.unwrap(),
        2,
        "the access tokens tok-2 and tok-3"
    );
    assert!(
        store
            .find_refresh_token("acme", &SecretHash::of("rt-2"), later(TTL))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .find_authorization(
                "acme",
                &SecretHash::of("code-2"),
                AuthorizationStage::Redeemed,
                later(TTL)
            )
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .purge_expired("acme", later(REFRESH_TTL))
            .await
            .unwrap(),
        2,
        "rt-2 and then its authorization a2"
    );
    assert_eq!(
        store
            .purge_expired("acme", later(REFRESH_TTL))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.purge_expired("beta", later(CODE_TTL)).await.unwrap(),
        1,
        "another issuer's purge kept b1"
    );
}

/// G6: issuer B cannot find, advance, redeem, rotate or revoke issuer A's records, even
/// under the same ids and hashes, which each tenant may use independently.
pub async fn authorization_records_are_isolated_between_tenants(store: Arc<dyn Store>) {
    new_issuer(&store, "acme").await;
    new_issuer(&store, "beta").await;
    push_authorized(&store, "acme", "a1", "code-1").await;
    let code = SecretHash::of("code-1");
    assert_eq!(stage_of(&store, "beta", "code-1").await, None);
    assert_eq!(
        store
            .advance_authorization(
                "beta",
                &code,
                AuthorizationStage::Authorized,
                &step(AuthorizationStage::Redeemed, "x", later(10)),
                later(1)
            )
            .await
            .unwrap(),
        None
    );
    let beta_offer = login_offer("beta", "lo-1");
    let tok = token("tok-1");
    let ids = login_ids();
    assert_eq!(
        store
            .redeem_authorization_code(
                "beta",
                &code,
                later(1),
                &redemption(AuthorizedOffer::New(&beta_offer), &tok, &ids),
                None
            )
            .await
            .unwrap(),
        CodeOutcome::Unknown
    );
    assert_eq!(store.get_offer("beta", "lo-1").await.unwrap(), None);
    assert_eq!(
        stage_of(&store, "acme", "code-1").await,
        Some(AuthorizationStage::Authorized)
    );

    // The same authorization id, code, offer id, token and refresh token hashes in both.
    push_authorized(&store, "beta", "a1", "code-1").await;
    redeem_new(
        &store,
        "acme",
        "code-1",
        "a1",
        "lo-1",
        "tok-1",
        Some("rt-1"),
    )
    .await;
    redeem_new(
        &store,
        "beta",
        "code-1",
        "a1",
        "lo-1",
        "tok-1",
        Some("rt-1"),
    )
    .await;
    for issuer in ["acme", "beta"] {
        let found = store
            .find_access_token(issuer, &SecretHash::of("tok-1"), later(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.issuer_id, issuer);
        let (rt, authorization) = store
            .find_refresh_token(issuer, &SecretHash::of("rt-1"), later(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rt.issuer_id, issuer);
        assert_eq!(authorization.issuer_id, issuer);
    }
    let next = refresh_token("beta", "rt-2", "a1");
    let rotated = rotate(&store, "beta", "rt-1", &next, "lo-2", "tok-2", later(2))
        .await
        .unwrap();
    assert_eq!(rotated.issuer_id, "beta");
    assert!(has_refresh_token(&store, "acme", "rt-1").await);
    assert!(!has_refresh_token(&store, "acme", "rt-2").await);
    assert_eq!(
        store.revoke_authorization("beta", "a1").await.unwrap(),
        3,
        "beta's tok-1, tok-2 and rt-2"
    );
    assert!(has_token(&store, "acme", "tok-1").await);
    assert!(has_refresh_token(&store, "acme", "rt-1").await);
    assert!(!has_token(&store, "beta", "tok-1").await);
    let j = SecretHash::of("jti-1");
    assert!(
        store
            .use_dpop_proof("acme", &j, later(300), later(1))
            .await
            .unwrap()
    );
    assert!(
        store
            .use_dpop_proof("beta", &j, later(300), later(1))
            .await
            .unwrap()
    );
}
