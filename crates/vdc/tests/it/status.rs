//! Status lists end to end: issue, revoke / suspend / reinstate through the management API,
//! and read the served lists back with vdc-status's verifier (and the independent
//! @sd-jwt/jwt-status-list), on SQLite and Postgres.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use tokio::task::JoinSet;
use vdc_core::jose::{AlgorithmPolicy, JwkSet};
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;
use vdc_core::time::{Clock as _, UnixTime};
use vdc_status::{
    BitstringStatusListEntry, MAX_LIST_BYTES, StatusList, VerifyOptions,
    verify_bitstring_status_list_credential, verify_status_list_token,
};
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    issued_credential_carries_its_entry_and_changes_show_in_the_list,
    revoked_is_final,
    history_by_time_shows_old_values_and_refuses_bad_times,
    etag_304_head_gzip_cors_and_no_resigning_of_unchanged_lists,
    fifty_concurrent_revocations_on_one_list_lose_none,
    batch_changes_are_all_or_nothing,
    tenants_cannot_touch_each_others_statuses_or_lists,
    w3c_credentials_carry_bitstring_entries_that_track_the_status,
    aggregation_lists_the_issuers_lists_and_is_advertised,
    independent_implementation_decodes_a_served_list,
    status_list_token_iss_is_the_credentials_iss,
    issuer_with_a_certificate_chain_signs_its_status_lists_with_x5c,
);

/// One issued credential as the management API shows it.
#[derive(Debug, Clone)]
struct Issued {
    id: String,
    uri: String,
    idx: u64,
    credential: String,
}

/// Issues `n` SD-JWT VCs on the demo issuer (batches of up to 10 per offer).
async fn issue(server: &TestServer, n: usize) -> Vec<Issued> {
    issue_config(server, n, "EmployeeBadge").await
}

async fn issue_config(server: &TestServer, n: usize, config: &str) -> Vec<Issued> {
    let mut out = Vec::new();
    while out.len() < n {
        let batch = (n - out.len()).min(10);
        let body = json!({
            "credential_configuration_ids": [config],
            "claims": {config: {"given_name": "Ada", "employee_id": "E-1"}},
        });
        let offer = server.offer("demo", &body).await;
        let accepted = server
            .wallet()
            .accept_offer(offer["offer_uri"].as_str().unwrap(), None, batch)
            .await
            .unwrap();
        let (status, record) = server
            .admin_get(&format!(
                "/api/v1/issuers/demo/offers/{}",
                offer["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 200);
        let creds = record["credentials"].as_array().unwrap();
        assert_eq!(creds.len(), batch);
        assert_eq!(accepted.credentials.len(), batch);
        for c in creds {
            let idx = c["status_list"]["idx"].as_u64().unwrap();
            let credential = accepted
                .credentials
                .iter()
                .map(|got| got.credential.as_str().to_owned())
                .find(|got| index_in(got) == idx)
                .expect("the wallet holds the credential with this index");
            out.push(Issued {
                id: c["id"].as_str().unwrap().to_owned(),
                uri: c["status_list"]["uri"].as_str().unwrap().to_owned(),
                idx,
                credential,
            });
        }
    }
    out
}

/// The status index a credential claims (SD-JWT VC `status`, or W3C `credentialStatus`).
fn index_in(credential: &str) -> u64 {
    if credential.contains('~') {
        let sd = vdc_core::sd_jwt::SdJwt::parse(credential).unwrap();
        let payload = sd.issuer_jws().unwrap().payload;
        payload["status"]["status_list"]["idx"].as_u64().unwrap()
    } else {
        let jws = vdc_core::jose::jws::decode(credential).unwrap();
        jws.payload["credentialStatus"][0]["statusListIndex"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// The demo issuer's published keys as a trust policy.
async fn trust(server: &TestServer) -> (IssuerTrustPolicy, JwkSet) {
    let iss = server.issuer_url("demo");
    let meta: Value = server
        .http
        .get(server.url("/.well-known/jwt-vc-issuer/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = JwkSet::from_value(&meta["jwks"]).unwrap();
    (
        IssuerTrustPolicy::new(vec![iss.clone()]).pin(iss, keys.clone()),
        keys,
    )
}

/// Fetches a status list token (optionally `?time=`), checks the response, verifies the
/// token as a relying party would (at `now`), and returns the list.
async fn fetch_list(server: &TestServer, uri: &str, time: Option<i64>) -> StatusList {
    let url = match time {
        Some(t) => format!("{uri}?time={t}"),
        None => uri.to_owned(),
    };
    let r = server.http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/statuslist+jwt"
    );
    let token = r.text().await.unwrap();
    let (policy, _) = trust(server).await;
    let now = time.map_or(server.clock.now(), UnixTime);
    let algs = AlgorithmPolicy::default();
    let iss = server.issuer_url("demo");
    let opts = VerifyOptions {
        uri,
        expected_issuer: Some(&iss),
        now,
        skew: 60,
        policy: &algs,
        max_list_bytes: MAX_LIST_BYTES,
    };
    let verified = verify_status_list_token(&token, &policy, &opts)
        .await
        .unwrap();
    if let Some(t) = time {
        // Spec: §8.4: the client rejects a token whose [iat, exp] misses the time.
        assert!(verified.iat.secs() <= t && verified.exp.unwrap().secs() >= t);
    }
    assert_eq!(verified.list.bits(), 2);
    assert!(verified.list.len() >= 131_072);
    verified.list
}

async fn status_of(server: &TestServer, c: &Issued) -> u8 {
    fetch_list(server, &c.uri, None)
        .await
        .get(c.idx as usize)
        .unwrap()
}

async fn set_status(server: &TestServer, issuer: &str, id: &str, status: &str) -> (u16, Value) {
    server
        .admin_post(
            &format!("/api/v1/issuers/{issuer}/credentials/{id}/status"),
            &json!({ "status": status }),
        )
        .await
}

async fn issued_credential_carries_its_entry_and_changes_show_in_the_list(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    // The SD-JWT VC carries the same reference the management API shows.
    let claims = verify_sd_jwt_vc(server, "demo", &c.credential).await;
    assert_eq!(
        claims["status"],
        json!({"status_list": {"idx": c.idx, "uri": c.uri}})
    );
    assert_eq!(
        c.uri,
        server.url("/issuers/demo/status-lists/1"),
        "the first list of the issuer"
    );
    let (status, record) = server
        .admin_get(&format!("/api/v1/issuers/demo/credentials/{}", c.id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(record["status_list"], json!({"uri": c.uri, "idx": c.idx}));
    assert_eq!(status_of(server, &c).await, 0, "issued: valid");

    let (code, body) = set_status(server, "demo", &c.id, "suspended").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["id"], c.id.as_str());
    assert_eq!(body["status"], "suspended");
    assert_eq!(body["status_list"], json!({"uri": c.uri, "idx": c.idx}));
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(status_of(server, &c).await, 2, "suspended");

    let (code, body) = set_status(server, "demo", &c.id, "valid").await;
    assert_eq!((code, body["status"].as_str()), (200, Some("valid")));
    assert_eq!(status_of(server, &c).await, 0, "reinstated");

    let (code, body) = set_status(server, "demo", &c.id, "revoked").await;
    assert_eq!((code, body["status"].as_str()), (200, Some("revoked")));
    assert_eq!(status_of(server, &c).await, 1, "revoked");
    let (_, record) = server
        .admin_get(&format!("/api/v1/issuers/demo/credentials/{}", c.id))
        .await;
    assert_eq!(record["status"], "revoked");

    let (code, body) = set_status(server, "demo", &c.id, "expired").await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (code, body) = set_status(server, "demo", "no-such-credential", "revoked").await;
    assert_eq!((code, body["error"].as_str()), (404, Some("not_found")));
    let r = server
        .http
        .post(server.url(&format!("/api/v1/issuers/demo/credentials/{}/status", c.id)))
        .json(&json!({"status": "valid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "the admin key is required");
}

async fn revoked_is_final(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    assert_eq!(status_of(server, &c).await, 0);
    let (code, _) = set_status(server, "demo", &c.id, "revoked").await;
    assert_eq!(code, 200);
    assert_eq!(status_of(server, &c).await, 1);
    for next in ["valid", "suspended", "revoked"] {
        let (code, body) = set_status(server, "demo", &c.id, next).await;
        assert_eq!(code, 409, "{next}: {body}");
        assert_eq!(body["error"], "conflict");
    }
    assert_eq!(status_of(server, &c).await, 1, "still revoked");
}

async fn history_by_time_shows_old_values_and_refuses_bad_times(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    let t0 = server.clock.now().secs();
    server.clock.advance(10);
    set_status(server, "demo", &c.id, "suspended").await;
    let t1 = server.clock.now().secs();
    server.clock.advance(10);
    set_status(server, "demo", &c.id, "valid").await;
    let t2 = server.clock.now().secs();
    server.clock.advance(10);
    set_status(server, "demo", &c.id, "revoked").await;
    server.clock.advance(10);
    let at = |t: i64| {
        let c = c.clone();
        async move {
            fetch_list(server, &c.uri, Some(t))
                .await
                .get(c.idx as usize)
                .unwrap()
        }
    };
    assert_eq!(at(t0).await, 0, "as issued");
    assert_eq!(at(t1).await, 2, "suspended then");
    assert_eq!(at(t1 + 5).await, 2);
    assert_eq!(at(t2).await, 0, "reinstated then");
    assert_eq!(status_of(server, &c).await, 1, "revoked now");

    let code = |q: String| {
        let url = format!("{}?{q}", c.uri);
        async move {
            let r = server.http.get(url).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, body) = code(format!("time={}", t0 - 3600)).await;
    assert_eq!(
        (s, body["error"].as_str()),
        (404, Some("not_found")),
        "before the list"
    );
    let now = server.clock.now().secs();
    assert_eq!(code(format!("time={}", now + 3600)).await.0, 404, "future");
    for bad in [
        "time=yesterday",
        "time=-1",
        "time=1.5",
        "time=",
        "time=1&time=2",
    ] {
        let (s, body) = code(bad.to_owned()).await;
        assert_eq!(
            (s, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
}

async fn etag_304_head_gzip_cors_and_no_resigning_of_unchanged_lists(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    let get = || server.http.get(&c.uri);
    let first = get().send().await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(first.headers()["cache-control"], "max-age=300");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let token = first.text().await.unwrap();
    // ES256 signatures are randomized: an identical body means it was not signed again.
    let again = get().send().await.unwrap();
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(again.text().await.unwrap(), token);

    let cached = get()
        .header("if-none-match", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status().as_u16(), 304);
    assert_eq!(cached.headers()["etag"].to_str().unwrap(), etag);
    assert!(cached.bytes().await.unwrap().is_empty());

    let head = server.http.head(&c.uri).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(head.headers()["content-type"], "application/statuslist+jwt");
    assert!(head.bytes().await.unwrap().is_empty());

    let gz = get()
        .header("accept-encoding", "gzip")
        .header("origin", "https://rp.example")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["access-control-allow-origin"], "*");
    let body = gz.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");

    // A change shows at once: new token, new ETag; the old ETag no longer matches.
    set_status(server, "demo", &c.id, "suspended").await;
    let changed = get()
        .header("if-none-match", etag.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status().as_u16(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);

    // Past its ttl an unchanged list is signed afresh (iat moves on).
    let before = fetch_list_token_iat(server, &c.uri).await;
    server.clock.advance(301);
    assert_eq!(fetch_list_token_iat(server, &c.uri).await, before + 301);

    let missing = server
        .http
        .get(server.url("/issuers/demo/status-lists/999"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

async fn fetch_list_token_iat(server: &TestServer, uri: &str) -> i64 {
    let token = server
        .http
        .get(uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    jws.payload["iat"].as_i64().unwrap()
}

async fn fifty_concurrent_revocations_on_one_list_lose_none(server: &TestServer) {
    let creds = issue(server, 50).await;
    let uri = creds[0].uri.clone();
    assert!(creds.iter().all(|c| c.uri == uri), "one list");
    let mut idxs: Vec<u64> = creds.iter().map(|c| c.idx).collect();
    idxs.sort_unstable();
    idxs.dedup();
    assert_eq!(idxs.len(), 50, "50 distinct indexes");
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut set = JoinSet::new();
    for c in &creds {
        let (http, url, barrier) = (
            server.http.clone(),
            server.url(&format!("/api/v1/issuers/demo/credentials/{}/status", c.id)),
            barrier.clone(),
        );
        set.spawn(async move {
            barrier.wait().await;
            http.post(url)
                .bearer_auth(vdc_testkit::ADMIN_KEY)
                .json(&json!({"status": "revoked"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        });
    }
    let statuses = set.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let list = fetch_list(server, &uri, None).await;
    for c in &creds {
        assert_eq!(list.get(c.idx as usize).unwrap(), 1, "index {} lost", c.idx);
    }
    let revoked = (0..list.len())
        .filter(|&i| list.get(i).unwrap() != 0)
        .count();
    assert_eq!(revoked, 50, "nothing else changed");
}

async fn batch_changes_are_all_or_nothing(server: &TestServer) {
    let creds = issue(server, 3).await;
    let path = "/api/v1/issuers/demo/credentials/status";
    let items = |extra: Option<(&str, &str)>| {
        let mut v: Vec<Value> = creds
            .iter()
            .map(|c| json!({"id": c.id, "status": "suspended"}))
            .collect();
        if let Some((id, status)) = extra {
            v.push(json!({"id": id, "status": status}));
        }
        json!({ "items": v })
    };
    let (code, body) = server
        .admin_post(path, &items(Some(("unknown-id", "revoked"))))
        .await;
    assert_eq!((code, body["error"].as_str()), (404, Some("not_found")));
    for c in &creds {
        assert_eq!(status_of(server, c).await, 0, "nothing changed");
    }
    let (code, body) = server.admin_post(path, &items(None)).await;
    assert_eq!(code, 200, "{body}");
    let got = body["items"].as_array().unwrap();
    assert_eq!(got.len(), 3);
    for (item, c) in got.iter().zip(&creds) {
        assert_eq!(item["id"], c.id.as_str());
        assert_eq!(item["status"], "suspended");
        assert_eq!(status_of(server, c).await, 2);
    }
    set_status(server, "demo", &creds[2].id, "revoked").await;
    let reinstate = json!({"items": [
        {"id": creds[0].id, "status": "valid"},
        {"id": creds[2].id, "status": "valid"},
    ]});
    let (code, body) = server.admin_post(path, &reinstate).await;
    assert_eq!((code, body["error"].as_str()), (409, Some("conflict")));
    assert_eq!(
        status_of(server, &creds[0]).await,
        2,
        "the valid item did not apply"
    );
    let twice = json!({"items": [
        {"id": creds[0].id, "status": "valid"},
        {"id": creds[0].id, "status": "revoked"},
    ]});
    assert_eq!(server.admin_post(path, &twice).await.0, 400);
    assert_eq!(server.admin_post(path, &json!({"items": []})).await.0, 400);
}

async fn tenants_cannot_touch_each_others_statuses_or_lists(server: &TestServer) {
    let def = json!({ "id": "acme", "signing_alg": "ES256",
        "credential_configurations": { "Badge": {
            "format": "dc+sd-jwt", "vct": "https://acme.example/vct/badge",
            "claims": [{"path": ["employee_id"], "mandatory": true}],
            "cryptographic_binding_methods_supported": ["jwk"] } } });
    let (status, _) = server.admin_post("/api/v1/issuers", &def).await;
    assert_eq!(status, 201);
    let c = issue(server, 1).await.remove(0);
    // acme cannot change demo's credential: it does not exist under acme.
    let (code, body) = set_status(server, "acme", &c.id, "revoked").await;
    assert_eq!((code, body["error"].as_str()), (404, Some("not_found")));
    let (code, _) = server
        .admin_post(
            "/api/v1/issuers/acme/credentials/status",
            &json!({"items": [{"id": c.id, "status": "revoked"}]}),
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(status_of(server, &c).await, 0, "untouched");
    // demo's list does not exist under acme (acme has issued nothing).
    let path = c
        .uri
        .trim_start_matches(&server.base)
        .replace("/demo/", "/acme/");
    let r = server.http.get(server.url(&path)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404, "{path}");
    let r = server
        .http
        .get(server.url("/issuers/nobody/status-lists/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let (code, _) = set_status(server, "nobody", &c.id, "revoked").await;
    assert_eq!(code, 404);
    let agg: Value = server
        .http
        .get(server.url("/issuers/acme/status-lists"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agg, json!({"status_lists": []}));
}

async fn w3c_credentials_carry_bitstring_entries_that_track_the_status(server: &TestServer) {
    let creds = issue_config(server, 2, "EmployeeBadgeW3C").await;
    let (_, keys) = trust(server).await;
    let c = &creds[0];
    let jws = vdc_core::jose::jws::decode(&c.credential).unwrap();
    let entries = jws.payload["credentialStatus"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    let entry = |purpose: &str| {
        let v = entries
            .iter()
            .find(|e| e["statusPurpose"] == purpose)
            .unwrap();
        BitstringStatusListEntry::from_value(v).unwrap()
    };
    let (revocation, suspension) = (entry("revocation"), entry("suspension"));
    assert_eq!(revocation.status_list_index, c.idx);
    assert_eq!(
        revocation.status_list_credential,
        format!("{}/bitstring/revocation", c.uri)
    );
    let kid = jws.header_str("kid").unwrap().to_owned();
    let key = keys.by_kid(&kid).unwrap().key.clone();
    let bit = |entry: BitstringStatusListEntry| {
        let key = key.clone();
        async move {
            let r = server
                .http
                .get(&entry.status_list_credential)
                .send()
                .await
                .unwrap();
            assert_eq!(r.headers()["content-type"], "application/vc+jwt");
            let token = r.text().await.unwrap();
            let verified = verify_bitstring_status_list_credential(
                &token,
                &key,
                &AlgorithmPolicy::default(),
                server.clock.now(),
                60,
                1 << 24,
            )
            .unwrap();
            assert_eq!(verified.issuer, server.issuer_url("demo"));
            verified.status(&entry).unwrap()
        }
    };
    assert_eq!(bit(revocation.clone()).await, 0);
    assert_eq!(bit(suspension.clone()).await, 0);
    set_status(server, "demo", &c.id, "suspended").await;
    assert_eq!(bit(revocation.clone()).await, 0);
    assert_eq!(bit(suspension.clone()).await, 1);
    set_status(server, "demo", &c.id, "revoked").await;
    assert_eq!(bit(revocation).await, 1);
    assert_eq!(bit(suspension).await, 0);
    assert_eq!(status_of(server, c).await, 1, "the token view agrees");
    let bad = server
        .http
        .get(format!("{}/bitstring/refresh", c.uri))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 404);
}

async fn aggregation_lists_the_issuers_lists_and_is_advertised(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    let meta: Value = server
        .http
        .get(server.url("/.well-known/oauth-authorization-server/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let endpoint = meta["status_list_aggregation_endpoint"].as_str().unwrap();
    assert_eq!(endpoint, server.url("/issuers/demo/status-lists"));
    let r = server.http.get(endpoint).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let agg: Value = r.json().await.unwrap();
    assert_eq!(agg, json!({"status_lists": [c.uri]}));
    let token = server
        .http
        .get(&c.uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    assert_eq!(jws.payload["status_list"]["aggregation_uri"], endpoint);
    assert_eq!(jws.payload["sub"], c.uri.as_str());
    assert_eq!(jws.header_str("typ"), Some("statuslist+jwt"));
    assert!(jws.payload["ttl"].as_i64().unwrap() > 0);
    assert!(jws.payload["exp"].as_i64().unwrap() > jws.payload["iat"].as_i64().unwrap());
}

fn conformance_setup() -> &'static std::path::PathBuf {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance");
        let out = Command::new("bash")
            .arg(dir.join("setup.sh"))
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash conformance/setup.sh: {e}"));
        assert!(
            out.status.success(),
            "conformance/setup.sh failed (node >= 20 and npm are required; the interop test \
             never skips):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

async fn independent_implementation_decodes_a_served_list(server: &TestServer) {
    let creds = issue(server, 3).await;
    set_status(server, "demo", &creds[0].id, "revoked").await;
    set_status(server, "demo", &creds[1].id, "suspended").await;
    let token = server
        .http
        .get(&creds[0].uri)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, keys) = trust(server).await;
    let kid = vdc_core::jose::jws::decode(&token)
        .unwrap()
        .header_str("kid")
        .unwrap()
        .to_owned();
    let jwk = keys.by_kid(&kid).unwrap().to_value();
    let mut indexes: Vec<u64> = creds.iter().map(|c| c.idx).collect();
    let untouched = (0..131_072u64).find(|i| !indexes.contains(i)).unwrap();
    indexes.push(untouched);
    let request = json!({"token": token, "indexes": indexes, "jwk": jwk});
    let dir = conformance_setup().clone();
    let answer = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg(dir.join("status-list-js/decode.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (Node.js >= 20 is required): {e}"));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "decode.mjs printed no JSON; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert_eq!(out.status.code(), Some(0), "{answer}");
        answer
    })
    .await
    .unwrap();
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["bits"], 2);
    assert_eq!(answer["sub"], creds[0].uri.as_str());
    assert_eq!(answer["typ"], "statuslist+jwt");
    assert_eq!(answer["statuses"], json!([1, 2, 0, 0]));
}

/// Issue 4: "1,000,000 must work": a server configured for 1,000,000-entry lists issues
/// into one, serves it, and a revocation shows at the credential's index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_entry_lists_work_end_to_end() {
    let server = TestServer::start_with(vdc_testkit::Backend::Sqlite, |c| {
        c.status_list_size = 1_000_000
    })
    .await;
    let issued = issue(&server, 3).await;
    let (status, _) = set_status(&server, "demo", &issued[1].id, "revoked").await;
    assert_eq!(status, 200);
    let list = fetch_list(&server, &issued[1].uri, None).await;
    assert!(list.len() >= 1_000_000, "{}", list.len());
    assert_eq!(list.get(issued[1].idx as usize).unwrap(), 1);
    assert_eq!(list.get(issued[0].idx as usize).unwrap(), 0);
    assert!(issued.iter().all(|c| c.idx < 1_000_000));
    server.stop().await;
}

/// Verifies a served Status List Token at `uri` with `policy` for `expected_issuer`.
async fn verify_token(
    server: &TestServer,
    token: &str,
    uri: &str,
    policy: &IssuerTrustPolicy,
    expected_issuer: Option<&str>,
) -> Result<vdc_status::VerifiedStatusList, vdc_status::Error> {
    let algs = AlgorithmPolicy::default();
    let opts = VerifyOptions {
        uri,
        expected_issuer,
        now: server.clock.now(),
        skew: 60,
        policy: &algs,
        max_list_bytes: MAX_LIST_BYTES,
    };
    verify_status_list_token(token, policy, &opts).await
}

async fn get_text(server: &TestServer, url: &str) -> String {
    let r = server.http.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.text().await.unwrap()
}

/// Issue 10 item 7: a Status List Token names its issuer in `iss`, the same `iss` as the
/// credentials pointing to it (draft-ietf-oauth-status-list §5.1 allows other claims;
/// relying parties resolve the list's key from it). A relying party that expects the
/// credential's issuer still accepts it, one that expects another refuses it, and the
/// token's own `iss` now suffices to find the key. The W3C Bitstring view names the same
/// issuer. (G9: the list a verifier checks is the issuer's.)
async fn status_list_token_iss_is_the_credentials_iss(server: &TestServer) {
    let c = issue(server, 1).await.remove(0);
    let sd = vdc_core::sd_jwt::SdJwt::parse(&c.credential).unwrap();
    let credential_iss = sd.issuer_jws().unwrap().payload["iss"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(credential_iss, server.issuer_url("demo"));
    let token = get_text(server, &c.uri).await;
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    assert_eq!(jws.claim_str("iss"), Some(credential_iss.as_str()));
    assert!(
        jws.header.get("x5c").is_none(),
        "the demo issuer has no certificate chain"
    );

    let (policy, _) = trust(server).await;
    let v = verify_token(server, &token, &c.uri, &policy, Some(&credential_iss))
        .await
        .unwrap();
    assert_eq!(v.issuer, credential_iss);
    assert_eq!(v.list.get(c.idx as usize).unwrap(), 0);
    let v = verify_token(server, &token, &c.uri, &policy, None)
        .await
        .unwrap();
    assert_eq!(
        v.issuer, credential_iss,
        "the token's own iss names the issuer"
    );
    let other = server.issuer_url("other");
    let err = verify_token(server, &token, &c.uri, &policy, Some(&other))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not the expected issuer"), "{err}");

    // W3C: the BitstringStatusListCredential's issuer is the credential's issuer too.
    let w3c = issue_config(server, 1, "EmployeeBadgeW3C").await.remove(0);
    let vc = vdc_core::jose::jws::decode(&w3c.credential).unwrap();
    let entry = BitstringStatusListEntry::from_value(&vc.payload["credentialStatus"][0]).unwrap();
    let list_vc = get_text(server, &entry.status_list_credential).await;
    let list_vc = vdc_core::jose::jws::decode(&list_vc).unwrap();
    assert_eq!(list_vc.payload["issuer"], vc.payload["issuer"]);
    assert_eq!(list_vc.payload["issuer"], credential_iss.as_str());
}

/// Issue 10 item 7, HAIP 1.0 §6.1: an issuer configured with a certificate chain signs its
/// Status List Tokens with the chain in `x5c` (as its credentials), and `iss` is the
/// credential's; a relying party that trusts the chain's CA verifies the list through the
/// x5c mechanism, the leaf's URI SAN naming `iss` (issue 10 item 16). (G5, G9.)
async fn issuer_with_a_certificate_chain_signs_its_status_lists_with_x5c(server: &TestServer) {
    use vdc_core::jose::{Algorithm, SigningKey};
    use vdc_core::x509::{self, CertificateSpec, TrustAnchors};
    let rng = vdc_core::rng::SystemRandom::new();
    let now = server.clock.now();
    let iss = server.issuer_url("chained");
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca = x509::self_signed(
        &CertificateSpec::new("Operator CA", now.plus(-60), now.plus(86_400), &rng)
            .unwrap()
            .ca(),
        &ca_key,
    )
    .unwrap();
    let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let leaf = x509::issue(
        &CertificateSpec::new("chained issuer", now.plus(-60), now.plus(86_400), &rng)
            .unwrap()
            .with_uri(iss.as_str()),
        key.public_key(),
        &ca,
        &ca_key,
    )
    .unwrap();
    // HAIP: the chain excludes the trust anchor.
    let chain = vec![leaf];
    let x5c = x509::to_x5c(&chain);
    let private: Value = serde_json::from_str(&key.to_private_jwk()).unwrap();
    let (status, created) = server
        .admin_post(
            "/api/v1/issuers",
            &json!({"id": "chained", "signing_key": private, "x5c": x5c,
                "credential_configurations": {"Badge": {"format": "dc+sd-jwt",
                    "vct": "https://vdc.example/vct/chained",
                    "claims": [{"path": ["given_name"]}]}}}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let offer = server
        .offer(
            "chained",
            &json!({"credential_configuration_ids": ["Badge"],
                "claims": {"Badge": {"given_name": "Ada"}}}),
        )
        .await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    let credential = accepted.credentials[0].credential.as_str();
    let sd = vdc_core::sd_jwt::SdJwt::parse(credential).unwrap();
    let issuer_jws = sd.issuer_jws().unwrap();
    assert_eq!(issuer_jws.header["x5c"], x5c);
    assert_eq!(issuer_jws.payload["iss"], iss.as_str());
    let uri = issuer_jws.payload["status"]["status_list"]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let idx = issuer_jws.payload["status"]["status_list"]["idx"]
        .as_u64()
        .unwrap();

    let token = get_text(server, &uri).await;
    let jws = vdc_core::jose::jws::decode(&token).unwrap();
    assert_eq!(jws.header["x5c"], x5c, "HAIP 1.0 §6.1: the key is in x5c");
    assert_eq!(jws.claim_str("iss"), Some(iss.as_str()));
    // A relying party with the CA as its anchor and no pinned keys: the x5c mechanism.
    let policy = IssuerTrustPolicy::new(vec![iss.clone()])
        .with_x509_anchors(TrustAnchors::from_der_certs(vec![ca]).unwrap())
        .with_clock(Arc::new(server.clock.clone()));
    let v = verify_token(server, &token, &uri, &policy, Some(&iss))
        .await
        .unwrap();
    assert_eq!(v.issuer, iss);
    assert_eq!(v.list.get(idx as usize).unwrap(), 0);
}
