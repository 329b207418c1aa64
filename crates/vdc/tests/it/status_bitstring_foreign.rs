//! Foreign W3C Bitstring Status Lists (W3C Bitstring Status List v1.0 §3.2) checked by
//! this deployment's verifier, over HTTP, on SQLite and Postgres: a `jwt_vc_json`
//! credential of a foreign issuer (a small server in the test publishing JWT VC Issuer
//! Metadata and `BitstringStatusListCredential`s) whose `credentialStatus` points at that
//! issuer's lists. The list is fetched under the outbound policy (G7: the server allows the
//! test host's origin through `VDC_OUTBOUND_ALLOW`, nothing else on loopback or private
//! addresses), verified with the key trusted for the credential's issuer (G3, G5), bounded
//! in size and inflated length (G8), and cached per its `ttl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, Signer as _, SigningKey};
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;
use vdc_core::time::{Clock as _, UnixTime};
use vdc_core::vc_jose::{self, CREDENTIALS_V2_CONTEXT, format_date_time_stamp};
use vdc_status::{
    BitstringStatusList, BitstringStatusListCredential, BitstringStatusListEntry, CredentialState,
    DeploymentStatusChecker, MIN_BITSTRING_ENTRIES, StatusChecker, StatusPurpose, StatusService,
    StatusSettings,
};
use vdc_testkit::{Backend, TestServer};

use crate::presentation::{post, request, result, trust_for, verifier, vp, w3c_query};

vdc_testkit::both_backends_with!(
    setup,
    foreign_list_verifies_a_clear_bit_and_rejects_a_set_one_as_status,
    foreign_list_is_cached_for_its_ttl_then_read_again,
    foreign_list_outside_the_outbound_policy_is_rejected_as_status,
    oversized_and_non_gzip_foreign_lists_are_rejected_as_status,
    foreign_list_not_signed_for_the_credentials_issuer_is_rejected_as_status,
    checker_refuses_a_loopback_list_by_default_and_reads_it_when_allowed,
);

/// The credential type the test issuer issues (what `w3c_query` asks for).
const TYPE: &str = "EmployeeBadgeCredential";
/// Seconds the test issuer's lists may be cached (`credentialSubject.ttl`).
const TTL_SECS: i64 = 300;

/// What the test issuer answers at `/lists/{name}`.
#[derive(Clone)]
enum Answer {
    /// 200 `application/vc+jwt`.
    Credential(String),
    /// 200 with these bytes.
    Bytes(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
}

#[derive(Clone, Default)]
struct Lists {
    answers: Arc<Mutex<HashMap<String, Answer>>>,
    requests: Arc<Mutex<HashMap<String, usize>>>,
    metadata: Arc<Mutex<Value>>,
}

/// A foreign issuer on loopback: one router on two ports, `origin` (allow-listed by the
/// server) and `unlisted` (not allow-listed), with a signing key published as JWT VC
/// Issuer Metadata for `iss` = `{origin}/issuers/ext`.
struct ForeignIssuer {
    origin: String,
    unlisted: String,
    iss: String,
    key: LocalSigner,
    lists: Lists,
}

impl ForeignIssuer {
    async fn start() -> Self {
        async fn metadata(State(lists): State<Lists>) -> Response {
            axum::Json(lists.metadata.lock().unwrap().clone()).into_response()
        }
        async fn list(State(lists): State<Lists>, Path(name): Path<String>) -> Response {
            *lists
                .requests
                .lock()
                .unwrap()
                .entry(name.clone())
                .or_default() += 1;
            let answer = lists.answers.lock().unwrap().get(&name).cloned();
            match answer {
                Some(Answer::Credential(t)) => {
                    ([(header::CONTENT_TYPE, "application/vc+jwt")], t).into_response()
                }
                Some(Answer::Bytes(b)) => b.into_response(),
                Some(Answer::Redirect(to)) => {
                    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
                }
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }
        let rng = vdc_core::rng::SystemRandom::new();
        let key = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
        let lists = Lists::default();
        let listed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let unlisted = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listed.local_addr().unwrap());
        let unlisted_origin = format!("http://{}", unlisted.local_addr().unwrap());
        let iss = format!("{origin}/issuers/ext");
        // Spec: SD-JWT VC "JWT VC Issuer Metadata": `issuer` is the `iss`, keys inline.
        *lists.metadata.lock().unwrap() = json!({
            "issuer": iss,
            "jwks": JwkSet { keys: vec![key.public_jwk().clone()] }.to_value(),
        });
        let router = Router::new()
            .route("/.well-known/jwt-vc-issuer/issuers/ext", get(metadata))
            .route("/lists/{name}", get(list))
            .with_state(lists.clone());
        for listener in [listed, unlisted] {
            let router = router.clone();
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
        }
        Self {
            origin,
            unlisted: unlisted_origin,
            iss,
            key,
            lists,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/lists/{name}", self.origin)
    }

    fn set(&self, name: &str, answer: Answer) {
        self.lists
            .answers
            .lock()
            .unwrap()
            .insert(name.to_owned(), answer);
    }

    fn requests(&self, name: &str) -> usize {
        self.lists
            .requests
            .lock()
            .unwrap()
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    /// The list credential for `url` as this issuer signs it (`validFrom` a minute ago,
    /// valid for an hour, `ttl` [`TTL_SECS`]).
    fn list_credential(
        &self,
        url: &str,
        purpose: StatusPurpose,
        now: UnixTime,
    ) -> BitstringStatusListCredential {
        BitstringStatusListCredential {
            id: url.to_owned(),
            issuer: self.iss.clone(),
            valid_from: now.plus(-60),
            valid_until: Some(now.plus(3600)),
            subject_id: None,
            status_purpose: purpose,
            ttl_ms: Some(u64::try_from(TTL_SECS).unwrap() * 1000),
        }
    }

    /// Publishes at `/lists/{name}` a signed `purpose` list of the minimum length with
    /// the bits at `set` set.
    async fn publish(&self, name: &str, purpose: StatusPurpose, set: &[usize], now: UnixTime) {
        let mut bits = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
        for &i in set {
            bits.set(i, 1).unwrap();
        }
        let token = self
            .list_credential(&self.url(name), purpose, now)
            .sign(&bits, 9, &self.key)
            .await
            .unwrap();
        self.set(name, Answer::Credential(token));
    }

    /// A `jwt_vc_json` credential of this issuer for `holder` whose status is `entry`.
    async fn credential(
        &self,
        holder: &LocalSigner,
        entry: &BitstringStatusListEntry,
        now: UnixTime,
    ) -> String {
        let mut vc = Map::new();
        vc.insert("@context".into(), json!([CREDENTIALS_V2_CONTEXT]));
        vc.insert("type".into(), json!(["VerifiableCredential", TYPE]));
        vc.insert("issuer".into(), self.iss.clone().into());
        vc.insert(
            "validFrom".into(),
            format_date_time_stamp(now.plus(-60)).into(),
        );
        vc.insert(
            "validUntil".into(),
            format_date_time_stamp(now.plus(30 * 24 * 3600)).into(),
        );
        vc.insert(
            "credentialSubject".into(),
            json!({
                "id": vdc_core::did::did_jwk_from(&holder.public_jwk().key),
                "given_name": "Grace",
                "employee_id": "E-7",
            }),
        );
        vc.insert("credentialStatus".into(), entry.to_value().unwrap());
        vc_jose::issue_vc_jwt(&vc, &self.key).await.unwrap()
    }
}

struct Fixture {
    server: TestServer,
    issuer: ForeignIssuer,
    /// The verifier `ext` trusting the foreign issuer, as the server answered its creation.
    verifier: Value,
}

impl Fixture {
    async fn stop(self) {
        self.server.stop().await;
    }

    fn now(&self) -> UnixTime {
        self.server.clock.now()
    }

    /// Presents a fresh credential of the foreign issuer with status `entry` to the
    /// verifier `ext`: the HTTP answer to the response and the request's result.
    async fn present(&self, entry: &BitstringStatusListEntry) -> ((u16, Value), Value) {
        let rng = vdc_core::rng::SystemRandom::new();
        let holder = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
        let vc = self.issuer.credential(&holder, entry, self.now()).await;
        let server = &self.server;
        let created = request(server, "ext", json!({"dcql_query": w3c_query()})).await;
        let req = server
            .wallet()
            .resolve_presentation_request(
                created["authorization_request"].as_str().unwrap(),
                &trust_for(&self.verifier),
            )
            .await
            .unwrap();
        let p = vp(
            &vc,
            &holder,
            &req.client_id,
            req.nonce().unwrap(),
            server.clock.now(),
        )
        .await;
        let vp_token = json!({"w3c": [p]}).to_string();
        let answer = post(
            server,
            "ext",
            &[("vp_token", &vp_token), ("state", req.state().unwrap())],
        )
        .await;
        let r = result(server, "ext", created["id"].as_str().unwrap()).await;
        (answer, r)
    }

    /// Asserts the presentation with `entry` verified with status `valid`.
    async fn assert_verified(&self, entry: &BitstringStatusListEntry) {
        let ((code, body), r) = self.present(entry).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(r["status"], "verified", "{r}");
        let p = &r["presentation"]["w3c"][0];
        assert_eq!(p["issuer"], self.issuer.iss.as_str());
        assert_eq!(p["status"], "valid");
        assert_eq!(
            p["claims"],
            json!({"credentialSubject": {"employee_id": "E-7"}})
        );
    }

    /// Asserts the presentation with `entry` is rejected with reason `status` and a
    /// description containing `why`, in the answer and in the stored result.
    async fn assert_status_rejected(&self, entry: &BitstringStatusListEntry, why: &str) {
        let ((code, body), r) = self.present(entry).await;
        assert_eq!(code, 400, "{body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(description.starts_with("status:"), "{description}");
        assert!(description.contains(why), "wanted {why:?}: {description}");
        assert_eq!(r["status"], "rejected", "{r}");
        assert_eq!(r["error"]["error_description"], description, "{r}");
        assert_eq!(r["presentation"], Value::Null);
    }
}

async fn setup(backend: Backend) -> Fixture {
    let issuer = ForeignIssuer::start().await;
    let allow = issuer.origin.clone();
    let server = TestServer::start_with(backend, |c| c.outbound_allow = allow).await;
    let verifier = verifier(&server, "ext", "x509_san_dns", vec![issuer.iss.clone()]).await;
    Fixture {
        server,
        issuer,
        verifier,
    }
}

fn entry(purpose: StatusPurpose, idx: u64, url: &str) -> BitstringStatusListEntry {
    BitstringStatusListEntry::new(purpose, idx, url)
}

/// §3.2: a clear bit is valid; a set `revocation` bit revokes, a set `suspension` bit
/// suspends; an index past the list is a RANGE_ERROR. All reasons are `status`.
async fn foreign_list_verifies_a_clear_bit_and_rejects_a_set_one_as_status(fx: &Fixture) {
    let now = fx.now();
    let i = &fx.issuer;
    i.publish("rev", StatusPurpose::Revocation, &[9, 131_071], now)
        .await;
    i.publish("susp", StatusPurpose::Suspension, &[5], now)
        .await;
    let rev = |idx| entry(StatusPurpose::Revocation, idx, &i.url("rev"));
    let susp = |idx| entry(StatusPurpose::Suspension, idx, &i.url("susp"));
    fx.assert_verified(&rev(7)).await;
    fx.assert_verified(&susp(9)).await;
    fx.assert_status_rejected(&rev(9), "the credential is revoked")
        .await;
    fx.assert_status_rejected(&rev(131_071), "the credential is revoked")
        .await;
    fx.assert_status_rejected(&susp(5), "the credential is suspended")
        .await;
    fx.assert_status_rejected(&rev(131_072), "out of range")
        .await;
    // A list of another purpose than the entry's (STATUS_VERIFICATION_ERROR).
    fx.assert_status_rejected(
        &entry(StatusPurpose::Suspension, 9, &i.url("rev")),
        "statusPurpose suspension",
    )
    .await;
    // No list at the URL (STATUS_RETRIEVAL_ERROR).
    fx.assert_status_rejected(
        &entry(StatusPurpose::Revocation, 0, &i.url("missing")),
        "HTTP status 404",
    )
    .await;
    // Every check of one list was served by one fetch (§3.2: verifiers SHOULD cache).
    assert_eq!(i.requests("rev"), 1);
    assert_eq!(i.requests("susp"), 1);
}

/// The cache lasts `ttl` (never past `validUntil`): a revocation published meanwhile is
/// seen once the list is read again.
async fn foreign_list_is_cached_for_its_ttl_then_read_again(fx: &Fixture) {
    let i = &fx.issuer;
    i.publish("flip", StatusPurpose::Revocation, &[], fx.now())
        .await;
    let e = entry(StatusPurpose::Revocation, 3, &i.url("flip"));
    fx.assert_verified(&e).await;
    i.publish("flip", StatusPurpose::Revocation, &[3], fx.now())
        .await;
    fx.server.clock.advance(TTL_SECS - 10);
    fx.assert_verified(&e).await;
    assert_eq!(i.requests("flip"), 1, "still within ttl: the cached list");
    fx.server.clock.advance(11);
    fx.assert_status_rejected(&e, "the credential is revoked")
        .await;
    assert_eq!(i.requests("flip"), 2);
}

/// G7: the list is fetched only where the outbound policy permits: plain http and
/// loopback, private or link-local addresses are refused unless their origin is
/// allow-listed, also after DNS resolution and on a redirect. The same list on the
/// allow-listed origin verifies.
async fn foreign_list_outside_the_outbound_policy_is_rejected_as_status(fx: &Fixture) {
    let i = &fx.issuer;
    i.publish("good", StatusPurpose::Revocation, &[], fx.now())
        .await;
    let at = |url: String| entry(StatusPurpose::Revocation, 1, &url);
    let port = i.unlisted.rsplit_once(':').unwrap().1;
    // Served by the same host, on the port that is not allow-listed.
    fx.assert_status_rejected(
        &at(format!("{}/lists/good", i.unlisted)),
        "plain http is not allowed",
    )
    .await;
    for (url, why) in [
        (format!("https://127.0.0.1:{port}/lists/good"), "loopback"),
        ("https://10.20.30.40/lists/good".to_owned(), "private"),
        ("https://192.168.1.1/lists/good".to_owned(), "private"),
        (
            "https://169.254.169.254/lists/good".to_owned(),
            "link-local",
        ),
        ("https://[::1]/lists/good".to_owned(), "loopback"),
        (format!("https://localhost:{port}/lists/good"), "refused"),
    ] {
        fx.assert_status_rejected(&at(url), why).await;
    }
    // An allow-listed URL redirecting to a loopback address: the hop is refused.
    i.set(
        "bounce",
        Answer::Redirect(format!("https://127.0.0.1:{port}/lists/good")),
    );
    fx.assert_status_rejected(&at(i.url("bounce")), "loopback")
        .await;
    assert_eq!(i.requests("good"), 0, "nothing reached the refused origins");
    // The allow-listed origin (the test's VDC_OUTBOUND_ALLOW) is fetched.
    fx.assert_verified(&at(i.url("good"))).await;
    assert_eq!(i.requests("good"), 1);
}

/// G8: the response body is bounded (the client's 512 KiB token bound below the
/// fetcher's 1 MiB), the inflated bitstring too (16 times the minimum), and
/// `encodedList` must be GZIP (§2.2).
async fn oversized_and_non_gzip_foreign_lists_are_rejected_as_status(fx: &Fixture) {
    let i = &fx.issuer;
    let now = fx.now();
    let at = |name: &str| entry(StatusPurpose::Revocation, 1, &i.url(name));
    i.set("big", Answer::Bytes(vec![b'a'; 600 * 1024]));
    fx.assert_status_rejected(&at("big"), "exceeds limit").await;
    i.set("huge", Answer::Bytes(vec![b'a'; 2 * 1024 * 1024]));
    fx.assert_status_rejected(&at("huge"), "exceeds limit")
        .await;
    // A signed list of 17 times the minimum: a few hundred bytes of GZIP that would
    // inflate past the bound.
    let bomb = BitstringStatusList::new(17 * MIN_BITSTRING_ENTRIES, 1).unwrap();
    let token = i
        .list_credential(&i.url("bomb"), StatusPurpose::Revocation, now)
        .sign(&bomb, 9, &i.key)
        .await
        .unwrap();
    assert!(token.len() < 8 * 1024, "{}", token.len());
    i.set("bomb", Answer::Credential(token));
    fx.assert_status_rejected(&at("bomb"), "inflates beyond")
        .await;
    // A signed list whose encodedList is the raw bitstring, not GZIP.
    let plain = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
    let mut vc = i
        .list_credential(&i.url("plain"), StatusPurpose::Revocation, now)
        .to_credential(&plain, 9)
        .unwrap();
    vc["credentialSubject"]["encodedList"] =
        format!("u{}", vdc_core::base64url::encode(plain.bytes())).into();
    let token = vc_jose::issue_vc_jwt(&vc, &i.key).await.unwrap();
    i.set("plain", Answer::Credential(token));
    fx.assert_status_rejected(&at("plain"), "invalid GZIP stream")
        .await;
    // Not multibase base64url ('u'), and not a vc+jwt at all.
    let mut vc = i
        .list_credential(&i.url("base58"), StatusPurpose::Revocation, now)
        .to_credential(&plain, 9)
        .unwrap();
    let encoded = vc["credentialSubject"]["encodedList"]
        .as_str()
        .unwrap()
        .to_owned();
    vc["credentialSubject"]["encodedList"] = format!("z{}", &encoded[1..]).into();
    let token = vc_jose::issue_vc_jwt(&vc, &i.key).await.unwrap();
    i.set("base58", Answer::Credential(token));
    fx.assert_status_rejected(&at("base58"), "multibase").await;
    i.set(
        "junk",
        Answer::Bytes(b"<html>not a credential</html>".to_vec()),
    );
    fx.assert_status_rejected(&at("junk"), "status").await;
}

/// G3, G5 and §3.2: the list's key is the one trusted for the credential's issuer (its
/// published metadata here); a list signed by another key (even one it carries in its
/// header), naming another issuer, or outside its validity period establishes nothing.
async fn foreign_list_not_signed_for_the_credentials_issuer_is_rejected_as_status(fx: &Fixture) {
    let i = &fx.issuer;
    let now = fx.now();
    let bits = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
    let at = |name: &str| entry(StatusPurpose::Revocation, 1, &i.url(name));
    let rng = vdc_core::rng::SystemRandom::new();
    // Another key under the issuer's kid.
    let kid = i.key.public_jwk().kid.clone().unwrap();
    let impostor =
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap()).with_kid(kid);
    let token = i
        .list_credential(&i.url("impostor"), StatusPurpose::Revocation, now)
        .sign(&bits, 9, &impostor)
        .await
        .unwrap();
    i.set("impostor", Answer::Credential(token));
    fx.assert_status_rejected(&at("impostor"), "signature")
        .await;
    // Another key carried as a `jwk` header: never trusted because it is there.
    let stranger = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let vc = i
        .list_credential(&i.url("embedded"), StatusPurpose::Revocation, now)
        .to_credential(&bits, 9)
        .unwrap();
    let mut header = Map::new();
    header.insert("typ".into(), "vc+jwt".into());
    header.insert("jwk".into(), stranger.public_jwk().to_value());
    let token = vdc_core::jose::jws::sign(header, &vc, &stranger)
        .await
        .unwrap();
    i.set("embedded", Answer::Credential(token));
    fx.assert_status_rejected(&at("embedded"), "status list verification failed")
        .await;
    // Signed by the issuer's key, but naming another issuer.
    let mut other = i.list_credential(&i.url("other"), StatusPurpose::Revocation, now);
    other.issuer = "https://other.example/issuers/x".into();
    let token = other.sign(&bits, 9, &i.key).await.unwrap();
    i.set("other", Answer::Credential(token));
    fx.assert_status_rejected(&at("other"), "another issuer")
        .await;
    // Expired (validUntil an hour ago).
    let mut stale = i.list_credential(&i.url("stale"), StatusPurpose::Revocation, now);
    stale.valid_from = now.plus(-7200);
    stale.valid_until = Some(now.plus(-3600));
    let token = stale.sign(&bits, 9, &i.key).await.unwrap();
    i.set("stale", Answer::Credential(token));
    fx.assert_status_rejected(&at("stale"), "status list verification failed")
        .await;
    // Published for another URL than the entry's (the list's `id`).
    let token = i
        .list_credential(&i.url("elsewhere"), StatusPurpose::Revocation, now)
        .sign(&bits, 9, &i.key)
        .await
        .unwrap();
    i.set("moved", Answer::Credential(token));
    fx.assert_status_rejected(&at("moved"), "statusListCredential")
        .await;
}

/// A status service over the server's store; `public_url` decides which lists count as
/// this deployment's own.
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

/// G7 at the checker: the same foreign list is refused by the default outbound policy
/// (loopback, plain http) and read when its origin is allow-listed, with the issuer's key
/// pinned; the check establishes nothing for an issuer the list is not signed for.
async fn checker_refuses_a_loopback_list_by_default_and_reads_it_when_allowed(fx: &Fixture) {
    let i = &fx.issuer;
    i.publish("pinned", StatusPurpose::Suspension, &[4], fx.now())
        .await;
    let trust = Arc::new(IssuerTrustPolicy::new(vec![i.iss.clone()]).pin(
        i.iss.clone(),
        JwkSet {
            keys: vec![i.key.public_jwk().clone()],
        },
    ));
    let checker = |policy: FetchPolicy| {
        DeploymentStatusChecker::new(
            status_service(&fx.server, &fx.server.base),
            trust.clone(),
            Fetcher::new(policy).unwrap(),
            Arc::new(fx.server.clock.clone()),
        )
    };
    let e = |idx| {
        entry(StatusPurpose::Suspension, idx, &i.url("pinned"))
            .to_value()
            .unwrap()
    };
    let refused = checker(FetchPolicy::default());
    let err = refused.check_bitstring(&e(4), &i.iss).await.unwrap_err();
    assert_eq!(err.kind(), vdc_status::ErrorKind::Retrieval, "{err}");
    assert!(
        err.to_string().contains("plain http is not allowed"),
        "{err}"
    );
    assert_eq!(i.requests("pinned"), 0);
    let allowed = checker(FetchPolicy {
        allow_origins: vec![i.origin.clone()],
        ..FetchPolicy::default()
    });
    assert_eq!(
        allowed.check_bitstring(&e(4), &i.iss).await.unwrap(),
        CredentialState::Suspended
    );
    assert_eq!(
        allowed.check_bitstring(&e(3), &i.iss).await.unwrap(),
        CredentialState::Valid
    );
    assert_eq!(i.requests("pinned"), 1, "cached");
    let err = allowed
        .check_bitstring(&e(4), "https://other.example/issuers/x")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), vdc_status::ErrorKind::Verification, "{err}");
    // The unlisted port of the same host stays refused.
    let unlisted = entry(
        StatusPurpose::Suspension,
        4,
        &format!("{}/lists/pinned", i.unlisted),
    )
    .to_value()
    .unwrap();
    let err = allowed
        .check_bitstring(&unlisted, &i.iss)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), vdc_status::ErrorKind::Retrieval, "{err}");
}
