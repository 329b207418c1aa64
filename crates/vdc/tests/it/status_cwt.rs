//! The Token Status List in CWT format (draft-ietf-oauth-status-list §5.2) served beside the
//! JWT form by content negotiation (§8.1, §8.2), and the verifier's status check of COSE
//! Referenced Tokens (§6.3, an mdoc MSO's `status`) through `StatusChecker::check_cwt`, on
//! SQLite and Postgres.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::jose::{AlgorithmPolicy, JwkSet, PublicKey};
use vdc_core::mdoc::cbor::{self, Value};
use vdc_core::mdoc::cose::CoseSign1;
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;
use vdc_core::time::Clock as _;
use vdc_status::{
    CredentialState, DeploymentStatusChecker, MAX_LIST_BYTES, StatusChecker, StatusList,
    StatusService, StatusSettings, VerifyOptions, verify_status_list_cwt,
};
use vdc_testkit::TestServer;

const CWT: &str = "application/statuslist+cwt";
const JWT: &str = "application/statuslist+jwt";

vdc_testkit::both_backends!(
    cwt_list_verifies_with_the_published_key_and_tracks_revocation,
    cwt_has_its_own_etag_history_and_negotiation,
    check_cwt_reads_own_lists_in_process_and_foreign_ones_over_http,
);

/// One issued credential: its id and status reference.
struct Issued {
    id: String,
    uri: String,
    idx: u64,
}

async fn issue_one(server: &TestServer) -> Issued {
    let body = json!({
        "credential_configuration_ids": ["EmployeeBadge"],
        "claims": {"EmployeeBadge": {"given_name": "Ada", "employee_id": "E-1"}},
    });
    let offer = server.offer("demo", &body).await;
    server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let (status, record) = server
        .admin_get(&format!(
            "/api/v1/issuers/demo/offers/{}",
            offer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200, "{record}");
    let c = &record["credentials"][0];
    Issued {
        id: c["id"].as_str().unwrap().to_owned(),
        uri: c["status_list"]["uri"].as_str().unwrap().to_owned(),
        idx: c["status_list"]["idx"].as_u64().unwrap(),
    }
}

async fn set_status(server: &TestServer, id: &str, status: &str) {
    let (code, body) = server
        .admin_post(
            &format!("/api/v1/issuers/demo/credentials/{id}/status"),
            &json!({ "status": status }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

/// The demo issuer's published keys (JWT VC Issuer Metadata).
async fn published_keys(server: &TestServer) -> JwkSet {
    let meta: Json = server
        .http
        .get(server.url("/.well-known/jwt-vc-issuer/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    JwkSet::from_value(&meta["jwks"]).unwrap()
}

fn pinned(server: &TestServer, keys: JwkSet) -> IssuerTrustPolicy {
    let iss = server.issuer_url("demo");
    IssuerTrustPolicy::new(vec![iss.clone()]).pin(iss, keys)
}

fn get_int(map: &[(Value, Value)], key: i64) -> Option<&Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Integer(i) if i128::from(*i) == i128::from(key)))
        .map(|(_, v)| v)
}

fn get_text<'a>(map: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
        .map(|(_, v)| v)
}

fn int_of(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Integer(i)) => i64::try_from(i128::from(*i)).unwrap(),
        other => panic!("not an integer: {other:?}"),
    }
}

async fn get(server: &TestServer, url: &str, accept: Option<&str>) -> reqwest::Response {
    let mut r = server.http.get(url);
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    r.send().await.unwrap()
}

/// Fetches the CWT form and checks the response headers; returns the body and ETag.
async fn fetch_cwt(server: &TestServer, url: &str) -> (Vec<u8>, String) {
    let r = get(server, url, Some(CWT)).await;
    assert_eq!(r.status().as_u16(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], CWT);
    let vary: Vec<&str> = r
        .headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        vary.iter()
            .any(|v| v.to_ascii_lowercase().contains("accept")),
        "Vary: Accept ({vary:?})"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    (r.bytes().await.unwrap().to_vec(), etag)
}

/// Decodes a served CWT with vdc-core's CBOR/COSE and verifies its signature with the
/// published key its `kid` names; returns the claims.
fn open_cwt(bytes: &[u8], keys: &JwkSet) -> Vec<(Value, Value)> {
    let value = cbor::decode(bytes).unwrap();
    assert!(
        matches!(value, Value::Tag(18, _)),
        "§5.2: COSE_Sign1_Tagged, not the CWT tag"
    );
    let sign1 = CoseSign1::from_value(&value).unwrap();
    assert_eq!(sign1.typ().unwrap().as_deref(), Some(CWT));
    let Value::Map(protected) = cbor::decode(&sign1.protected).unwrap() else {
        panic!("protected header map")
    };
    let Some(Value::Bytes(kid)) = get_int(&protected, 4) else {
        panic!("kid")
    };
    let kid = String::from_utf8(kid.clone()).unwrap();
    let key: &PublicKey = &keys.by_kid(&kid).expect("a published key").key;
    sign1.verify(key, None).unwrap();
    match cbor::decode(sign1.payload.as_deref().unwrap()).unwrap() {
        Value::Map(m) => m,
        other => panic!("{other:?}"),
    }
}

/// The status list claim (65533): the decoded list and the raw `lst` bytes.
fn list_of(claims: &[(Value, Value)]) -> (StatusList, Vec<u8>) {
    let Some(Value::Map(sl)) = get_int(claims, 65533) else {
        panic!("status_list")
    };
    let bits = u8::try_from(int_of(get_text(sl, "bits"))).unwrap();
    let Some(Value::Bytes(lst)) = get_text(sl, "lst") else {
        panic!("lst is a bstr")
    };
    (
        StatusList::decode(lst, bits, MAX_LIST_BYTES * 8).unwrap(),
        lst.clone(),
    )
}

async fn cwt_list_verifies_with_the_published_key_and_tracks_revocation(server: &TestServer) {
    let c = issue_one(server).await;
    let keys = published_keys(server).await;
    let (bytes, _) = fetch_cwt(server, &c.uri).await;
    let claims = open_cwt(&bytes, &keys);
    let iss = server.issuer_url("demo");
    assert_eq!(
        get_int(&claims, 2),
        Some(&Value::Text(c.uri.clone())),
        "sub"
    );
    assert_eq!(get_int(&claims, 1), Some(&Value::Text(iss.clone())), "iss");
    let now = server.clock.now().secs();
    assert_eq!(int_of(get_int(&claims, 6)), now, "iat");
    assert!(int_of(get_int(&claims, 4)) > now, "exp");
    assert_eq!(int_of(get_int(&claims, 65534)), 300, "ttl");
    let (list, lst) = list_of(&claims);
    assert_eq!(list.bits(), 2);
    assert_eq!(list.get(c.idx as usize).unwrap(), 0);
    let Some(Value::Map(sl)) = get_int(&claims, 65533) else {
        panic!()
    };
    assert_eq!(
        get_text(sl, "aggregation_uri"),
        Some(&Value::Text(server.url("/issuers/demo/status-lists")))
    );

    // The same list version as JWT: the very bytes the JWT form base64url-encodes.
    let jwt = get(server, &c.uri, Some(JWT)).await.text().await.unwrap();
    let jws = vdc_core::jose::jws::decode(&jwt).unwrap();
    let jwt_lst =
        vdc_core::base64url::decode(jws.payload["status_list"]["lst"].as_str().unwrap()).unwrap();
    assert_eq!(jwt_lst, lst);
    assert_eq!(jws.payload["iat"], json!(int_of(get_int(&claims, 6))));
    assert_eq!(jws.payload["exp"], json!(int_of(get_int(&claims, 4))));

    // Revoked: the CWT shows it at once, and vdc-status's verifier agrees.
    set_status(server, &c.id, "revoked").await;
    let (bytes, _) = fetch_cwt(server, &c.uri).await;
    let (list, _) = list_of(&open_cwt(&bytes, &keys));
    assert_eq!(list.get(c.idx as usize).unwrap(), 1);
    let algs = AlgorithmPolicy::default();
    let v = verify_status_list_cwt(
        &bytes,
        &pinned(server, keys),
        &VerifyOptions {
            uri: &c.uri,
            expected_issuer: Some(&iss),
            now: server.clock.now(),
            skew: 60,
            policy: &algs,
            max_list_bytes: MAX_LIST_BYTES,
        },
    )
    .await
    .unwrap();
    assert_eq!(v.list.get(c.idx as usize).unwrap(), 1);
    assert_eq!(v.issuer, iss);
}

async fn cwt_has_its_own_etag_history_and_negotiation(server: &TestServer) {
    let c = issue_one(server).await;
    let keys = published_keys(server).await;
    let t0 = server.clock.now().secs();
    server.clock.advance(10);
    set_status(server, &c.id, "suspended").await;
    server.clock.advance(10);

    // ETag per representation (RFC 9110 §8.8.3), 304 on a match.
    let (body, etag) = fetch_cwt(server, &c.uri).await;
    let jwt = get(server, &c.uri, Some(JWT)).await;
    assert_eq!(jwt.headers()["content-type"], JWT);
    let jwt_etag = jwt.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag, jwt_etag, "distinct ETags for CWT and JWT");
    let (again, etag2) = fetch_cwt(server, &c.uri).await;
    assert_eq!((&again, &etag2), (&body, &etag), "not re-signed");
    let cached = server
        .http
        .get(&c.uri)
        .header("accept", CWT)
        .header("if-none-match", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status().as_u16(), 304);
    assert_eq!(cached.headers()["etag"].to_str().unwrap(), etag);
    assert!(cached.bytes().await.unwrap().is_empty());
    // The JWT's ETag does not validate the CWT representation, nor the other way round.
    let cross = server
        .http
        .get(&c.uri)
        .header("accept", CWT)
        .header("if-none-match", jwt_etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 200);
    let cross = server
        .http
        .get(&c.uri)
        .header("if-none-match", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status().as_u16(), 200);
    assert_eq!(cross.headers()["content-type"], JWT);
    // HEAD negotiates too.
    let head = server
        .http
        .head(&c.uri)
        .header("accept", CWT)
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-type"], CWT);
    assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);

    // §8.4 `?time=`: the CWT as the list was then, iat = time.
    let (old, old_etag) = fetch_cwt(server, &format!("{}?time={t0}", c.uri)).await;
    assert_ne!(old_etag, etag);
    let old_claims = open_cwt(&old, &keys);
    assert_eq!(int_of(get_int(&old_claims, 6)), t0);
    assert_eq!(list_of(&old_claims).0.get(c.idx as usize).unwrap(), 0);
    let now_claims = open_cwt(&body, &keys);
    assert_eq!(list_of(&now_claims).0.get(c.idx as usize).unwrap(), 2);
    let r = get(server, &format!("{}?time={}", c.uri, t0 - 3600), Some(CWT)).await;
    assert_eq!(r.status().as_u16(), 404, "before the list existed");

    // Negotiation: JWT stays the default; q-values pick; nothing acceptable is 406.
    for (accept, want) in [
        (None, JWT),
        (Some("*/*"), JWT),
        (Some(JWT), JWT),
        (
            Some("application/statuslist+jwt;q=0.4, application/statuslist+cwt"),
            CWT,
        ),
        (Some("application/*;q=0.5, application/statuslist+cwt"), CWT),
    ] {
        let r = get(server, &c.uri, accept).await;
        assert_eq!(r.status().as_u16(), 200, "{accept:?}");
        assert_eq!(r.headers()["content-type"], want, "{accept:?}");
    }
    let jwt_body = get(server, &c.uri, None).await.text().await.unwrap();
    assert_eq!(jwt_body.split('.').count(), 3, "a compact JWS");
    for accept in [
        "application/json",
        "text/html",
        "application/statuslist+cwt;q=0",
    ] {
        let r = get(server, &c.uri, Some(accept)).await;
        assert_eq!(r.status().as_u16(), 406, "{accept}");
        assert!(
            r.headers().get_all("vary").iter().any(|v| v
                .to_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("accept")),
            "Vary: Accept on 406"
        );
        let body: Json = r.json().await.unwrap();
        assert_eq!(body["error"], "not_acceptable", "{accept}");
    }
}

/// A status service over the server's store, for a checker built beside the server;
/// `public_url` decides which lists count as this deployment's own.
fn status_service(server: &TestServer, public_url: &str) -> StatusService {
    let kek = vdc_core::kek::KeyEncryptionKey::from_bytes(&[9u8; 32]).unwrap();
    let keys = vdc_store::KeyRing::new(kek, server.store.clone());
    StatusService::new(
        server.store.clone(),
        keys,
        Arc::new(server.clock.clone()),
        Arc::new(vdc_core::rng::SystemRandom::new()),
        public_url,
        StatusSettings::default(),
    )
    .unwrap()
}

async fn check_cwt_reads_own_lists_in_process_and_foreign_ones_over_http(server: &TestServer) {
    let c = issue_one(server).await;
    let iss = server.issuer_url("demo");
    let trust = Arc::new(pinned(server, published_keys(server).await));
    let clock = Arc::new(server.clock.clone());

    // Own list: read in process (the fetcher allows nothing, so no HTTP could succeed).
    let own = DeploymentStatusChecker::new(
        status_service(server, &server.base),
        trust.clone(),
        Fetcher::new(FetchPolicy::default()).unwrap(),
        clock.clone(),
    );
    assert_eq!(
        own.check_cwt(c.idx, &c.uri, &iss).await.unwrap(),
        CredentialState::Valid
    );
    set_status(server, &c.id, "suspended").await;
    assert_eq!(
        own.check_cwt(c.idx, &c.uri, &iss).await.unwrap(),
        CredentialState::Suspended,
        "own lists are always fresh"
    );
    // Another issuer expected: the list's key and iss are not that issuer's.
    assert!(
        own.check_cwt(c.idx, &c.uri, "https://other.example")
            .await
            .is_err()
    );
    assert!(own.check_cwt(c.idx, "not a uri", &iss).await.is_err());

    // Foreign list (another deployment's public URL): fetched as CWT over HTTP under the
    // outbound policy, verified with the issuer's trusted key.
    let refused = DeploymentStatusChecker::new(
        status_service(server, "https://elsewhere.example"),
        trust.clone(),
        Fetcher::new(FetchPolicy::default()).unwrap(),
        clock.clone(),
    );
    let err = refused.check_cwt(c.idx, &c.uri, &iss).await.unwrap_err();
    assert_eq!(
        err.kind(),
        vdc_status::ErrorKind::Retrieval,
        "G7: loopback refused: {err}"
    );
    let allowed = FetchPolicy {
        allow_origins: vec![server.base.trim_end_matches('/').to_owned()],
        ..FetchPolicy::default()
    };
    let foreign = DeploymentStatusChecker::new(
        status_service(server, "https://elsewhere.example"),
        trust,
        Fetcher::new(allowed).unwrap(),
        clock,
    );
    set_status(server, &c.id, "revoked").await;
    assert_eq!(
        foreign.check_cwt(c.idx, &c.uri, &iss).await.unwrap(),
        CredentialState::Revoked
    );
    // Out of range: no statement can be made (§8.3 step 6).
    assert!(foreign.check_cwt(1 << 40, &c.uri, &iss).await.is_err());
}
