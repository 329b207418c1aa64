//! Signing-key rotation (issue 17, contract-next "Signing keys", R3) over real HTTP, on both
//! stores and across two instances of one deployment: a credential issued under key 1 still
//! verifies after the rotation (key 1 stays published), the next credentials and status list
//! tokens are signed by key 2 on every instance, a scheduled key is published before it
//! signs and takes over at `activate_at` everywhere, racing rotations add exactly one key,
//! and a key is deleted only once nothing it signed is valid.

use reqwest::Method;
use serde_json::{Value, json};
use vdc_core::jose::jws;
use vdc_core::time::Clock as _;
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_testkit::TestServer;

use crate::support::{badge_offer, verify_sd_jwt_vc, verify_sd_jwt_vc_via};

vdc_testkit::both_backends!(
    rotation_across_two_instances_keeps_old_credentials_verifiable,
    scheduled_rotation_is_published_first_and_switches_every_instance_at_activate_at,
    racing_rotations_add_exactly_one_key,
    bad_rotations_are_refused,
    retired_keys_are_deleted_only_after_what_they_signed_expired,
);

const KEYS: &str = "/api/v1/issuers/demo/keys";

/// Issues one demo badge; the SD-JWT VC.
async fn issue(server: &TestServer) -> String {
    let offer = server.offer("demo", &badge_offer(false)).await;
    let accepted = server
        .wallet()
        .accept_offer(offer["offer_uri"].as_str().unwrap(), None, 1)
        .await
        .unwrap();
    accepted.credentials[0].credential.clone()
}

/// The `kid` of the issuer-signed JWT of an SD-JWT VC or a status list token.
fn kid_of(token: &str) -> String {
    let jwt = token.split('~').next().unwrap();
    jws::decode(jwt).unwrap().kid().unwrap().to_owned()
}

/// The `kid` of the status list token `instance` serves for `credential`'s list: which key
/// that instance signs with now.
async fn status_kid(instance: &TestServer, first: &TestServer, credential: &str) -> String {
    let jwt = credential.split('~').next().unwrap();
    let payload = jws::decode(jwt).unwrap().payload;
    let uri = payload["status"]["status_list"]["uri"].as_str().unwrap();
    // Identifiers name the first instance (the deployment's public URL); ask this one.
    let url = uri.replacen(&first.base, &instance.base, 1);
    let r = instance.http.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    kid_of(&r.text().await.unwrap())
}

/// The `kid`s an instance publishes in JWT VC Issuer Metadata.
async fn published(instance: &TestServer) -> Vec<String> {
    let meta: Value = instance
        .http
        .get(instance.url("/.well-known/jwt-vc-issuer/issuers/demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    meta["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

async fn keys(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.admin_get(KEYS).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

fn state_of(items: &[Value], kid: &str) -> String {
    items
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no key {kid} in {items:?}"))["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn delete(server: &TestServer, kid: &str) -> (u16, Value) {
    let r = server
        .admin(Method::DELETE, &format!("{KEYS}/{kid}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Issue under key 1 on instance A, rotate on instance B, verify the old credential with
/// what instance B publishes, and issue under key 2. Instance A had key 1 open: it switches
/// within the signer cache's lifetime (30 s), and is never left signing with a key that is
/// not published.
async fn rotation_across_two_instances_keeps_old_credentials_verifiable(a: &TestServer) {
    let b = a.sibling().await;
    let old = issue(a).await;
    let key1 = kid_of(&old);
    assert_eq!(status_kid(a, a, &old).await, key1);
    assert_eq!(status_kid(&b, a, &old).await, key1);
    assert_eq!(state_of(&keys(a).await, &key1), "active");

    let (status, created) = b.admin_post(KEYS, &json!({"activate": true})).await;
    assert_eq!(status, 201, "{created}");
    let key2 = created["kid"].as_str().unwrap().to_owned();
    assert_ne!(key2, key1);
    assert_eq!(created["state"], "active");

    // B rotated: it signs with key 2 at once (its status list token is re-signed, not
    // served from key 1's cached copy) and publishes both keys.
    assert_eq!(status_kid(&b, a, &old).await, key2);
    let on_b = published(&b).await;
    assert!(
        on_b.contains(&key1) && on_b.contains(&key2),
        "B publishes both keys: {on_b:?}"
    );
    // The old credential verifies against B's published keys.
    let claims = verify_sd_jwt_vc_via(&b, a, "demo", &old).await;
    assert_eq!(claims["given_name"], "Ada");

    // A switches once its signer cache lapses; what it published meanwhile includes key 1.
    a.clock.advance(31);
    assert_eq!(status_kid(a, a, &old).await, key2);
    let new = issue(a).await;
    assert_eq!(kid_of(&new), key2, "A issues under key 2");
    assert_eq!(verify_sd_jwt_vc(a, "demo", &new).await["given_name"], "Ada");
    assert_eq!(verify_sd_jwt_vc(a, "demo", &old).await["given_name"], "Ada");

    let items = keys(&b).await;
    assert_eq!(state_of(&items, &key1), "retired");
    assert_eq!(state_of(&items, &key2), "active");
    let retired = items.iter().find(|k| k["kid"] == key1.as_str()).unwrap();
    assert!(retired["retired_at"].is_string(), "{retired}");
    // Key 1 signed a credential valid for a year: published at least that long.
    let until =
        vdc_core::vc_jose::parse_date_time_stamp(retired["published_until"].as_str().unwrap())
            .unwrap();
    assert!(
        until.secs() >= a.clock.now().secs() + 364 * 86_400,
        "{retired}"
    );
    b.stop().await;
}

/// A key scheduled an hour ahead is `next`: published by every instance (once their
/// published-keys cache lapses) while the active key still signs; at `activate_at` both
/// instances sign with it without waiting for any cache.
async fn scheduled_rotation_is_published_first_and_switches_every_instance_at_activate_at(
    a: &TestServer,
) {
    let b = a.sibling().await;
    let old = issue(a).await;
    let key1 = kid_of(&old);
    assert_eq!(status_kid(&b, a, &old).await, key1);
    let at = a.clock.now().plus(3_600);
    let (status, created) = a
        .admin_post(
            KEYS,
            &json!({"activate": false, "activate_at": format_date_time_stamp(at)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "next");
    let key2 = created["kid"].as_str().unwrap().to_owned();
    assert!(
        published(a).await.contains(&key2),
        "A publishes the next key"
    );
    a.clock.advance(61);
    assert!(
        published(&b).await.contains(&key2),
        "B publishes the next key"
    );
    // Still key 1 everywhere, past the signer caches' lifetime too.
    assert_eq!(status_kid(a, a, &old).await, key1);
    assert_eq!(status_kid(&b, a, &old).await, key1);
    assert_eq!(kid_of(&issue(a).await), key1);
    let items = keys(&b).await;
    assert_eq!(state_of(&items, &key1), "active");
    assert_eq!(state_of(&items, &key2), "next");
    // Another rotation while one is scheduled: 409.
    let (status, body) = b.admin_post(KEYS, &json!({})).await;
    assert_eq!(status, 409, "{body}");

    // At activate_at (the caches opened just before it expire exactly then).
    let now = a.clock.now();
    a.clock.advance(at.secs() - now.secs() - 1);
    assert_eq!(status_kid(&b, a, &old).await, key1, "one second before");
    a.clock.advance(1);
    assert_eq!(status_kid(a, a, &old).await, key2);
    assert_eq!(status_kid(&b, a, &old).await, key2);
    assert_eq!(kid_of(&issue(a).await), key2);
    assert_eq!(
        verify_sd_jwt_vc_via(&b, a, "demo", &old).await["given_name"],
        "Ada"
    );
    let items = keys(a).await;
    assert_eq!(state_of(&items, &key1), "retired");
    assert_eq!(state_of(&items, &key2), "active");
    b.stop().await;
}

/// Eight rotations at once, four on each instance, `racers(body)` → their statuses.
async fn race_rotations(a: &TestServer, b: &TestServer, body: Value) -> Vec<u16> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let url = if i % 2 == 0 { a.url(KEYS) } else { b.url(KEYS) };
        let http = a.http.clone();
        let barrier = barrier.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = http
                .post(url)
                .bearer_auth(vdc_testkit::ADMIN_KEY)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "201 or 409, never a 5xx: {statuses:?}"
    );
    statuses
}

/// Racing scheduled rotations add exactly one `next` key (the others get 409); racing
/// immediate rotations each either win in turn or get 409, and exactly one key is active.
async fn racing_rotations_add_exactly_one_key(a: &TestServer) {
    let b = a.sibling().await;
    let before = keys(a).await.len();
    let at = format_date_time_stamp(a.clock.now().plus(3_600));
    let statuses = race_rotations(a, &b, json!({"activate": false, "activate_at": at})).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    let after = keys(&b).await;
    assert_eq!(after.len(), before + 1);
    let next: Vec<&Value> = after.iter().filter(|k| k["state"] == "next").collect();
    assert_eq!(next.len(), 1, "{after:?}");
    let next = next[0]["kid"].as_str().unwrap().to_owned();
    assert_eq!(delete(a, &next).await.0, 204);

    let statuses = race_rotations(a, &b, json!({"activate": true})).await;
    let won = statuses.iter().filter(|s| **s == 201).count();
    assert!(won >= 1, "{statuses:?}");
    let after = keys(a).await;
    assert_eq!(after.len(), before + won, "one key per 201: {after:?}");
    assert_eq!(
        after.iter().filter(|k| k["state"] == "active").count(),
        1,
        "{after:?}"
    );
    b.stop().await;
}

/// Refusals: each a 4xx with `error` and `error_description`, and no key added.
async fn bad_rotations_are_refused(server: &TestServer) {
    use vdc_core::jose::{Algorithm, SigningKey};
    let rng = vdc_core::rng::SystemRandom::new();
    let before = keys(server).await;
    let ed25519 = SigningKey::generate(Algorithm::EdDsa, &rng)
        .unwrap()
        .to_private_jwk();
    let p256 = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let other = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let now = server.clock.now();
    let spec = vdc_core::x509::CertificateSpec::new("other", now, now.plus(86_400), &rng).unwrap();
    let other_cert = vdc_core::x509::self_signed(&spec, &other).unwrap();
    let other_x5c = vec![base64_std(&other_cert)];
    let p256_jwk: Value = serde_json::from_str(&p256.to_private_jwk()).unwrap();
    let mut wrong_d = p256_jwk.clone();
    wrong_d["d"] = json!(vdc_core::base64url::encode([7u8; 32]));
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"jwk": serde_json::from_str::<Value>(&ed25519).unwrap()}),
            400,
            "wrong algorithm",
        ),
        (json!({"jwk": wrong_d}), 400, "d does not match x/y"),
        (
            json!({"jwk": p256_jwk, "x5c": other_x5c}),
            400,
            "x5c certifies another key",
        ),
        (json!({"x5c": ["MIIB"]}), 400, "x5c without jwk"),
        (
            json!({"jwk": {"kty": "oct", "k": "AAAA"}}),
            400,
            "symmetric key",
        ),
        (
            json!({"jwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA", "d": "AA"}}),
            400,
            "wrong curve",
        ),
        (
            json!({"activate": false, "activate_at": format_date_time_stamp(now.plus(-10))}),
            400,
            "past activation",
        ),
        (json!({"activate": false}), 400, "no activation time"),
        (
            json!({"activate": true, "activate_at": format_date_time_stamp(now.plus(600))}),
            400,
            "both",
        ),
        (json!({"activate_at": "next week"}), 400, "not a date-time"),
        (json!({"rotate": true}), 400, "unknown member"),
        (
            json!({"pkcs11": {"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "t", "key_label": "k", "pin_env": "PIN"}}),
            400,
            "pkcs11 not offered yet",
        ),
    ];
    for (body, want, why) in cases {
        let (status, answer) = server.admin_post(KEYS, &body).await;
        assert_eq!(status, want, "{why}: {answer}");
        assert!(answer["error"].is_string(), "{why}: {answer}");
        assert!(answer["error_description"].is_string(), "{why}: {answer}");
    }
    let (status, _) = server
        .admin_post("/api/v1/issuers/nobody/keys", &json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, answer) = delete(server, "no-such-kid").await;
    assert_eq!(status, 404, "{answer}");
    // A scoped key that may read the issuer may list its keys, never rotate or delete.
    let (s, created) = server
        .admin_post(
            "/api/v1/api-keys",
            &json!({"name": "ops", "issuers": ["demo"], "verifiers": [], "scopes": ["read", "offers:write"]}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let scoped = created["key"].as_str().unwrap();
    let r = server
        .http
        .get(server.url(KEYS))
        .bearer_auth(scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = server
        .http
        .post(server.url(KEYS))
        .bearer_auth(scoped)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let active = before[0]["kid"].as_str().unwrap();
    let r = server
        .http
        .delete(server.url(&format!("{KEYS}/{active}")))
        .bearer_auth(scoped)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(keys(server).await, before, "nothing was added");

    // An imported key (with no chain: the demo issuer has none) rotates in.
    let (status, created) = server
        .admin_post(
            KEYS,
            &json!({"jwk": serde_json::from_str::<Value>(&p256.to_private_jwk()).unwrap()}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    // The same key again: 409 (it is one of the issuer's keys).
    let (status, answer) = server
        .admin_post(
            KEYS,
            &json!({"jwk": serde_json::from_str::<Value>(&p256.to_private_jwk()).unwrap()}),
        )
        .await;
    assert_eq!(status, 409, "{answer}");
}

fn base64_std(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// DELETE: the active key 409; a retired key that signed a credential 409 until the
/// credential expired, then 204 and no longer published; a `next` key far ahead 204.
async fn retired_keys_are_deleted_only_after_what_they_signed_expired(server: &TestServer) {
    let old = issue(server).await;
    let key1 = kid_of(&old);
    let (status, answer) = delete(server, &key1).await;
    assert_eq!(status, 409, "the active key: {answer}");
    assert_eq!(answer["error"], "conflict");

    let (status, created) = server.admin_post(KEYS, &json!({})).await;
    assert_eq!(status, 201, "{created}");
    let key2 = created["kid"].as_str().unwrap().to_owned();
    let (status, answer) = delete(server, &key1).await;
    assert_eq!(status, 409, "key 1 signed a valid credential: {answer}");
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap()
            .contains("valid until"),
        "{answer}"
    );

    // A next key far ahead signed nothing: it may go (cancelling the rotation).
    let at = server.clock.now().plus(7_200);
    let (status, created) = server
        .admin_post(
            KEYS,
            &json!({"activate": false, "activate_at": format_date_time_stamp(at)}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let key3 = created["kid"].as_str().unwrap().to_owned();
    assert_eq!(delete(server, &key3).await.0, 204);
    assert!(!published(server).await.contains(&key3));

    // The demo credential lives a year; the status list tokens key 1 signed a day.
    server.clock.advance(366 * 86_400);
    let items = keys(server).await;
    assert_eq!(state_of(&items, &key1), "retired");
    assert!(
        !published(server).await.contains(&key1),
        "past published_until key 1 is no longer published"
    );
    let (status, answer) = delete(server, &key1).await;
    assert_eq!(status, 204, "{answer}");
    let items = keys(server).await;
    assert!(items.iter().all(|k| k["kid"] != key1.as_str()), "{items:?}");
    assert_eq!(state_of(&items, &key2), "active");
    assert_eq!(delete(server, &key1).await.0, 404);
}
