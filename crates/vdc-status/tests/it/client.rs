//! The relying party's status check over real HTTP (draft-ietf-oauth-status-list §8).

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::jose::jws;
use vdc_core::jose::{LocalSigner, Signer};
use vdc_core::time::{FixedClock, UnixTime};
use vdc_status::{
    ClientConfig, ErrorKind, INVALID, MAX_LIST_BYTES, SUSPENDED, StatusList, StatusListClient,
    StatusReference, VALID, sign_status_list_token,
};

use crate::support::{Answer, Host, ISSUER, NOW, signer, trust};

/// A 2-bit list: 3 INVALID, 7 SUSPENDED, rest VALID.
fn list() -> StatusList {
    let mut l = StatusList::new(4096, 2).unwrap();
    l.set(3, INVALID).unwrap();
    l.set(7, SUSPENDED).unwrap();
    l
}

async fn token_for(
    list: &StatusList,
    uri: &str,
    iat: i64,
    exp: i64,
    ttl: i64,
    s: &LocalSigner,
) -> String {
    sign_status_list_token(
        list,
        uri,
        ISSUER,
        UnixTime(iat),
        UnixTime(exp),
        ttl,
        6,
        None,
        s,
    )
    .await
    .unwrap()
}

struct Rig {
    host: Host,
    origin: String,
    clock: FixedClock,
    client: StatusListClient,
    key: LocalSigner,
}

impl Rig {
    async fn new() -> Self {
        Self::with_config(ClientConfig::default()).await
    }

    async fn with_config(config: ClientConfig) -> Self {
        let host = Host::default();
        let origin = host.serve().await;
        let key = signer(1);
        let clock = FixedClock::at(NOW);
        let fetcher = Fetcher::new(FetchPolicy {
            allow_origins: vec![origin.clone()],
            ..FetchPolicy::default()
        })
        .unwrap();
        let client = StatusListClient::new(fetcher, Arc::new(trust(&key)), Arc::new(clock.clone()))
            .with_config(config);
        Self {
            host,
            origin,
            clock,
            client,
            key,
        }
    }

    fn uri(&self, path: &str) -> String {
        format!("{}/{path}", self.origin)
    }

    async fn publish(&self, path: &str, list: &StatusList, iat: i64, exp: i64, ttl: i64) {
        let token = token_for(list, &self.uri(path), iat, exp, ttl, &self.key).await;
        self.host.set(path, Answer::Token(token));
    }

    async fn status(&self, path: &str, idx: u64) -> vdc_status::Result<u8> {
        let r = StatusReference::new(idx, self.uri(path)).unwrap();
        self.client.status(&r, Some(ISSUER)).await
    }
}

#[tokio::test]
async fn valid_lookup_reads_each_status_and_sends_the_media_type() {
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW, NOW + 3600, 300).await;
    assert_eq!(rig.status("lists/1", 3).await.unwrap(), INVALID);
    assert_eq!(rig.status("lists/1", 7).await.unwrap(), SUSPENDED);
    assert_eq!(rig.status("lists/1", 0).await.unwrap(), VALID);
    assert_eq!(rig.status("lists/1", 4095).await.unwrap(), VALID);
    // Spec: §8.1: the request asks for the JWT form.
    assert_eq!(rig.host.accept_headers(), ["application/statuslist+jwt"]);
}

#[tokio::test]
async fn cache_hit_does_not_refetch() {
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW, NOW + 3600, 300).await;
    for idx in 0..50 {
        rig.status("lists/1", idx).await.unwrap();
    }
    assert_eq!(rig.host.requests(), 1);
    let snapshot = rig.client.cached(&rig.uri("lists/1")).unwrap();
    assert_eq!(snapshot.get(3).unwrap(), INVALID);
}

#[tokio::test]
async fn cache_expires_at_iat_plus_ttl_and_picks_up_a_revocation() {
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW, NOW + 3600, 300).await;
    assert_eq!(rig.status("lists/1", 9).await.unwrap(), VALID);
    // The issuer revokes index 9 and republishes.
    let mut updated = list();
    updated.set(9, INVALID).unwrap();
    rig.publish("lists/1", &updated, NOW + 200, NOW + 3800, 300)
        .await;
    rig.clock.set(NOW + 299);
    assert_eq!(
        rig.status("lists/1", 9).await.unwrap(),
        VALID,
        "still cached"
    );
    assert_eq!(rig.host.requests(), 1);
    rig.clock.set(NOW + 300);
    assert_eq!(
        rig.status("lists/1", 9).await.unwrap(),
        INVALID,
        "refetched"
    );
    assert_eq!(rig.host.requests(), 2);
    // The new copy is cached until its own iat + ttl = NOW + 500.
    rig.clock.set(NOW + 499);
    rig.status("lists/1", 9).await.unwrap();
    assert_eq!(rig.host.requests(), 2);
}

#[tokio::test]
async fn cache_never_outlives_exp_or_max_cache() {
    let rig = Rig::with_config(ClientConfig {
        max_cache_secs: 100,
        ..ClientConfig::default()
    })
    .await;
    // ttl far longer than exp: exp bounds the cache; then the token itself is expired.
    rig.publish("short", &list(), NOW, NOW + 50, 86_400).await;
    rig.status("short", 0).await.unwrap();
    rig.clock.set(NOW + 49);
    rig.status("short", 0).await.unwrap();
    assert_eq!(rig.host.requests(), 1);
    rig.clock.set(NOW + 50 + 61);
    let err = rig.status("short", 0).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Verification, "{err}");
    assert_eq!(rig.host.requests(), 2);
    // Long ttl and exp: max_cache (100 s) bounds it.
    rig.clock.set(NOW);
    rig.publish("long", &list(), NOW, NOW + 86_400, 86_400)
        .await;
    rig.status("long", 0).await.unwrap();
    rig.clock.set(NOW + 100);
    rig.status("long", 0).await.unwrap();
    assert_eq!(rig.host.requests(), 4);
}

#[tokio::test]
async fn stale_ttl_still_caches_for_min_cache() {
    // iat + ttl already past when fetched: min_cache (10 s by default) keeps one fetch from
    // becoming one per check (§11.5).
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW - 1000, NOW + 3600, 60)
        .await;
    rig.status("lists/1", 0).await.unwrap();
    rig.clock.set(NOW + 9);
    rig.status("lists/1", 0).await.unwrap();
    assert_eq!(rig.host.requests(), 1);
    rig.clock.set(NOW + 10);
    rig.status("lists/1", 0).await.unwrap();
    assert_eq!(rig.host.requests(), 2);
}

#[tokio::test]
async fn wrong_sub_is_rejected() {
    let rig = Rig::new().await;
    // A valid token for list 2 served where list 1 is expected.
    let token = token_for(&list(), &rig.uri("lists/2"), NOW, NOW + 3600, 300, &rig.key).await;
    rig.host.set("lists/1", Answer::Token(token));
    let err = rig.status("lists/1", 0).await.unwrap_err();
    assert!(
        matches!(&err, vdc_status::Error::Verification(vdc_core::Error::Claim(m)) if m.contains("sub")),
        "{err}"
    );
}

#[tokio::test]
async fn expired_token_is_rejected() {
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW - 7200, NOW - 3600, 300)
        .await;
    let err = rig.status("lists/1", 0).await.unwrap_err();
    assert!(
        matches!(
            &err,
            vdc_status::Error::Verification(vdc_core::Error::Time(_))
        ),
        "{err}"
    );
    assert!(rig.client.cached(&rig.uri("lists/1")).is_none());
}

#[tokio::test]
async fn token_signed_with_another_key_is_rejected() {
    let rig = Rig::new().await;
    let uri = rig.uri("lists/1");
    // Another key with its own kid: no trusted key matches.
    let stranger = signer(2);
    let token = token_for(&list(), &uri, NOW, NOW + 3600, 300, &stranger).await;
    rig.host.set("lists/1", Answer::Token(token));
    let err = rig.status("lists/1", 0).await.unwrap_err();
    assert!(
        matches!(
            &err,
            vdc_status::Error::Verification(vdc_core::Error::UntrustedKey(_))
        ),
        "{err}"
    );
    // Another key claiming the trusted kid: the signature fails.
    let kid = rig.key.public_jwk().kid.clone().unwrap();
    let impostor = signer(3).with_kid(kid);
    let token = token_for(&list(), &uri, NOW, NOW + 3600, 300, &impostor).await;
    rig.host.set("lists/1", Answer::Token(token));
    let err = rig.status("lists/1", 0).await.unwrap_err();
    assert!(
        matches!(
            &err,
            vdc_status::Error::Verification(vdc_core::Error::InvalidSignature)
        ),
        "{err}"
    );
    // A jwk in the header does not make a key trusted (G5).
    let mut header = Map::new();
    header.insert("typ".into(), "statuslist+jwt".into());
    header.insert("jwk".into(), impostor.public_jwk().to_value());
    let claims = claims_for(&uri);
    let token = jws::sign(header, &claims, &impostor).await.unwrap();
    rig.host.set("lists/1", Answer::Token(token));
    assert_eq!(
        rig.status("lists/1", 0).await.unwrap_err().kind(),
        ErrorKind::Verification
    );
}

fn claims_for(uri: &str) -> Map<String, Value> {
    let lst = vdc_core::base64url::encode(list().encode(6).unwrap());
    json!({"sub": uri, "iat": NOW, "exp": NOW + 3600, "ttl": 300, "status_list": {"bits": 2, "lst": lst}})
        .as_object()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn wrong_typ_is_rejected() {
    let rig = Rig::new().await;
    let uri = rig.uri("lists/1");
    for typ in [Some("JWT"), Some("statuslist+cwt"), Some("dc+sd-jwt"), None] {
        let mut header = Map::new();
        if let Some(t) = typ {
            header.insert("typ".into(), t.into());
        }
        let token = jws::sign(header, &claims_for(&uri), &rig.key)
            .await
            .unwrap();
        rig.host.set("lists/1", Answer::Token(token));
        let err = rig.status("lists/1", 0).await.unwrap_err();
        assert!(
            matches!(
                &err,
                vdc_status::Error::Verification(vdc_core::Error::UnexpectedType { .. })
            ),
            "{typ:?}: {err}"
        );
    }
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let rig = Rig::with_config(ClientConfig {
        max_token_bytes: 64 * 1024,
        ..ClientConfig::default()
    })
    .await;
    // Over the fetcher's 1 MiB bound.
    rig.host
        .set("huge", Answer::Bytes(vec![b'a'; 2 * 1024 * 1024]));
    let err = rig.status("huge", 0).await.unwrap_err();
    assert!(matches!(err, vdc_status::Error::TooLarge(_)), "{err}");
    // Under the fetcher's bound but over the client's token bound.
    rig.host.set("big", Answer::Bytes(vec![b'a'; 100 * 1024]));
    let err = rig.status("big", 0).await.unwrap_err();
    assert!(matches!(err, vdc_status::Error::TooLarge(_)), "{err}");
}

#[tokio::test]
async fn decompression_bomb_is_refused() {
    // A properly signed token whose ~16 KiB `lst` inflates to 16 MiB, against a client
    // bound of 4 MiB: inflation stops at the bound.
    let rig = Rig::new().await;
    let bomb = StatusList::new(MAX_LIST_BYTES * 8, 1).unwrap();
    let token = token_for(&bomb, &rig.uri("bomb"), NOW, NOW + 3600, 300, &rig.key).await;
    assert!(token.len() < 64 * 1024, "{}", token.len());
    rig.host.set("bomb", Answer::Token(token));
    let err = rig.status("bomb", 0).await.unwrap_err();
    assert!(matches!(err, vdc_status::Error::TooLarge(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

#[tokio::test]
async fn unreachable_server_is_a_retrieval_error() {
    // Bind, note the port, close: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let origin = format!("http://{addr}");
    let key = signer(1);
    let fetcher = Fetcher::new(FetchPolicy {
        allow_origins: vec![origin.clone()],
        ..FetchPolicy::default()
    })
    .unwrap();
    let client = StatusListClient::new(
        fetcher,
        Arc::new(trust(&key)),
        Arc::new(FixedClock::at(NOW)),
    );
    let r = StatusReference::new(0, format!("{origin}/lists/1")).unwrap();
    let err = client.status(&r, Some(ISSUER)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retrieval, "{err}");
    assert_eq!(err.w3c_error_code(), Some("STATUS_RETRIEVAL_ERROR"));
}

#[tokio::test]
async fn http_errors_and_refused_origins_are_retrieval_errors() {
    let rig = Rig::new().await;
    rig.host.set("gone", Answer::Status(StatusCode::NOT_FOUND));
    rig.host
        .set("boom", Answer::Status(StatusCode::INTERNAL_SERVER_ERROR));
    for path in ["gone", "boom"] {
        assert_eq!(
            rig.status(path, 0).await.unwrap_err().kind(),
            ErrorKind::Retrieval
        );
    }
    // G7: a uri on a host outside the allow-list is refused before any connection.
    let r = StatusReference::new(0, "https://10.0.0.1/lists/1").unwrap();
    let err = rig.client.status(&r, Some(ISSUER)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Retrieval, "{err}");
}

#[tokio::test]
async fn index_out_of_range_is_rejected() {
    let rig = Rig::new().await;
    rig.publish("lists/1", &list(), NOW, NOW + 3600, 300).await;
    for idx in [4096, 4097, u64::from(u32::MAX), u64::MAX] {
        let err = rig.status("lists/1", idx).await.unwrap_err();
        assert!(
            matches!(err, vdc_status::Error::IndexOutOfRange { len: 4096, .. }),
            "{err}"
        );
    }
}

#[tokio::test]
async fn redirect_is_followed_and_sub_is_bound_to_the_referenced_uri() {
    // Spec: §8.2: clients SHOULD follow 3xx; the token's sub still names the uri in the
    // Referenced Token, not the location it was served from.
    let rig = Rig::new().await;
    let token = token_for(&list(), &rig.uri("moved"), NOW, NOW + 3600, 300, &rig.key).await;
    rig.host.set("moved", Answer::Redirect("/cdn/1".into()));
    rig.host.set("cdn/1", Answer::Token(token));
    assert_eq!(rig.status("moved", 3).await.unwrap(), INVALID);
    assert_eq!(rig.host.requests(), 2);
}

#[tokio::test]
async fn trailing_newline_from_a_static_host_is_tolerated() {
    let rig = Rig::new().await;
    let token = token_for(&list(), &rig.uri("file"), NOW, NOW + 3600, 300, &rig.key).await;
    rig.host
        .set("file", Answer::Bytes(format!("{token}\n").into_bytes()));
    assert_eq!(rig.status("file", 7).await.unwrap(), SUSPENDED);
    rig.host.set("junk", Answer::Bytes(vec![0xff, 0xfe]));
    assert_eq!(
        rig.status("junk", 0).await.unwrap_err().kind(),
        ErrorKind::Malformed
    );
}

#[tokio::test]
async fn cache_is_bounded_in_entries() {
    let rig = Rig::with_config(ClientConfig {
        max_cache_entries: 2,
        ..ClientConfig::default()
    })
    .await;
    for (i, ttl) in [(1, 100), (2, 200), (3, 300)] {
        rig.publish(&format!("l/{i}"), &list(), NOW, NOW + 3600, ttl)
            .await;
        rig.status(&format!("l/{i}"), 0).await.unwrap();
    }
    // The entry expiring first (l/1) was evicted for l/3.
    assert!(rig.client.cached(&rig.uri("l/1")).is_none());
    assert!(rig.client.cached(&rig.uri("l/2")).is_some());
    assert!(rig.client.cached(&rig.uri("l/3")).is_some());
}
