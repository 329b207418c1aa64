//! A small OID4VCI 1.0 issuer for exercising the SDK over real HTTP on 127.0.0.1.
//! Test scaffolding only: it implements just enough of the issuer side (metadata, token
//! with tx_code, nonce, credential with key-proof checks and real SD-JWT VCs, deferred,
//! notification, JWT VC Issuer Metadata, offers by reference) to drive the wallet.

// Test scaffolding: a failure here is a failed test, so unwrap is the right tool.
#![allow(clippy::unwrap_used, clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use vdc_core::jose::{
    Algorithm, AlgorithmPolicy, JwkSet, LocalSigner, PublicKey, Signer, SigningKey,
};
use vdc_core::key_proof::{self, ProofExpectations};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::Frame;
use vdc_core::sd_jwt_vc::{self, SdJwtVcClaims};
use vdc_core::time::{Clock, FixedClock};

pub(crate) const VCT: &str = "urn:example:pid:1";
pub(crate) const BATCH_SIZE: usize = 3;
pub(crate) const NOW: i64 = 1_750_000_000;

/// Misbehaviours a test can switch on.
#[derive(Debug, Clone, Default)]
pub(crate) struct MockConfig {
    /// Metadata names a different `credential_issuer` than the one it is served for.
    pub(crate) wrong_metadata_issuer: bool,
    /// Credentials are signed with a key that is not in the JWT VC Issuer Metadata.
    pub(crate) sign_with_unlisted_key: bool,
    /// The first credential request is answered with `invalid_nonce`.
    pub(crate) reject_first_nonce: bool,
}

#[derive(Default)]
struct Inner {
    counter: u64,
    codes: HashMap<String, Option<String>>,
    tokens: HashSet<String>,
    nonces: HashSet<String>,
    rejected_nonce_once: bool,
    deferred: HashMap<String, (Vec<PublicKey>, u32)>,
    offers: HashMap<String, Value>,
    notifications: Vec<(String, String)>,
    not_found: Vec<String>,
    token_requests: usize,
    nonce_requests: usize,
    proof_batches: Vec<usize>,
}

struct St {
    cfg: MockConfig,
    base: String,
    issuer: String,
    signer: LocalSigner,
    rogue: LocalSigner,
    rng: SeededRandom,
    clock: FixedClock,
    inner: Mutex<Inner>,
}

/// A running mock issuer.
pub(crate) struct Mock {
    pub(crate) issuer: String,
    pub(crate) clock: FixedClock,
    st: Arc<St>,
}

impl Mock {
    pub(crate) async fn start(cfg: MockConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}/tenant");
        let rng = SeededRandom::new(99);
        let signer = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
        let rogue = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap())
            .with_kid(signer.public_jwk().kid.clone().unwrap());
        let clock = FixedClock::at(NOW);
        let st = Arc::new(St {
            cfg,
            base: base.clone(),
            issuer: issuer.clone(),
            signer,
            rogue,
            rng,
            clock: clock.clone(),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            // Served only at the appended position: the SDK must fall back after the
            // spec position (`/.well-known/openid-credential-issuer/tenant`) answers 404.
            .route(
                "/tenant/.well-known/openid-credential-issuer",
                get(issuer_metadata),
            )
            .route(
                "/.well-known/oauth-authorization-server/tenant",
                get(as_metadata),
            )
            .route("/.well-known/jwt-vc-issuer/tenant", get(jwt_vc_issuer))
            .route("/tenant/offers/{id}", get(offer_by_ref))
            .route("/tenant/token", post(token))
            .route("/tenant/nonce", post(nonce))
            .route("/tenant/credential", post(credential))
            .route("/tenant/deferred", post(deferred))
            .route("/tenant/notification", post(notification))
            .fallback(not_found)
            .with_state(st.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { issuer, clock, st }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.st.inner.lock().unwrap()
    }

    /// Registers a fresh pre-authorized code and returns the offer object.
    pub(crate) fn offer_object(&self, tx_code: Option<&str>, configs: &[&str]) -> Value {
        let mut inner = self.lock();
        inner.counter += 1;
        let code = format!("pre-auth-{}", inner.counter);
        inner.codes.insert(code.clone(), tx_code.map(str::to_owned));
        let mut grant = json!({ "pre-authorized_code": code });
        if tx_code.is_some() {
            grant["tx_code"] =
                json!({"input_mode": "numeric", "length": 6, "description": "Sent by SMS"});
        }
        json!({
            "credential_issuer": self.issuer,
            "credential_configuration_ids": configs,
            "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": grant }
        })
    }

    /// An `openid-credential-offer://` URI carrying the offer by value.
    pub(crate) fn offer(&self, tx_code: Option<&str>, configs: &[&str]) -> String {
        let offer = self.offer_object(tx_code, configs).to_string();
        let q: String = url::form_urlencoded::byte_serialize(offer.as_bytes()).collect();
        format!("openid-credential-offer://?credential_offer={q}")
    }

    /// An `openid-credential-offer://` URI carrying the offer by reference.
    pub(crate) fn offer_by_reference(&self, tx_code: Option<&str>, configs: &[&str]) -> String {
        let offer = self.offer_object(tx_code, configs);
        let id = {
            let mut inner = self.lock();
            inner.counter += 1;
            let id = format!("offer-{}", inner.counter);
            inner.offers.insert(id.clone(), offer);
            id
        };
        let url = format!("{}/offers/{id}", self.issuer);
        let q: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
        format!("openid-credential-offer://?credential_offer_uri={q}")
    }

    pub(crate) fn issuer_jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.st.signer.public_jwk().clone()],
        }
    }
    pub(crate) fn notifications(&self) -> Vec<(String, String)> {
        self.lock().notifications.clone()
    }
    pub(crate) fn not_found(&self) -> Vec<String> {
        self.lock().not_found.clone()
    }
    pub(crate) fn token_requests(&self) -> usize {
        self.lock().token_requests
    }
    pub(crate) fn nonce_requests(&self) -> usize {
        self.lock().nonce_requests
    }
    pub(crate) fn proof_batches(&self) -> Vec<usize> {
        self.lock().proof_batches.clone()
    }
    pub(crate) fn credential_endpoint(&self) -> String {
        format!("{}/credential", self.issuer)
    }
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": code })),
    )
        .into_response()
}

fn bearer(st: &St, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match token {
        Some(t) if st.inner.lock().unwrap().tokens.contains(&t) => Ok(t),
        _ => Err((
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                r#"Bearer error="invalid_token", error_description="unknown access token""#,
            )],
        )
            .into_response()),
    }
}

async fn not_found(State(st): State<Arc<St>>, uri: Uri) -> Response {
    st.inner
        .lock()
        .unwrap()
        .not_found
        .push(uri.path().to_owned());
    StatusCode::NOT_FOUND.into_response()
}

fn config(format_vct: &str) -> Value {
    json!({
        "format": "dc+sd-jwt",
        "vct": format_vct,
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": ["ES256"],
        "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
        "credential_metadata": { "display": [{ "name": "Example PID", "locale": "en-US" }] }
    })
}

async fn issuer_metadata(State(st): State<Arc<St>>) -> Response {
    let claimed = if st.cfg.wrong_metadata_issuer {
        format!("{}/other", st.base)
    } else {
        st.issuer.clone()
    };
    axum::Json(json!({
        "credential_issuer": claimed,
        "credential_endpoint": format!("{}/credential", st.issuer),
        "nonce_endpoint": format!("{}/nonce", st.issuer),
        "deferred_credential_endpoint": format!("{}/deferred", st.issuer),
        "notification_endpoint": format!("{}/notification", st.issuer),
        "batch_credential_issuance": { "batch_size": BATCH_SIZE },
        "display": [{ "name": "Mock Issuer", "locale": "en-US" }],
        "credential_configurations_supported": {
            "pid": config(VCT),
            "deferred_pid": config(VCT),
            "vc_jwt": {
                "format": "jwt_vc_json",
                "credential_definition": { "type": ["VerifiableCredential", "ExampleCredential"] },
                "cryptographic_binding_methods_supported": ["jwk", "did:jwk"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } }
            }
        }
    }))
    .into_response()
}

async fn as_metadata(State(st): State<Arc<St>>) -> Response {
    axum::Json(json!({
        "issuer": st.issuer,
        "token_endpoint": format!("{}/token", st.issuer),
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        "pre-authorized_grant_anonymous_access_supported": true
    }))
    .into_response()
}

async fn jwt_vc_issuer(State(st): State<Arc<St>>) -> Response {
    axum::Json(json!({
        "issuer": st.issuer,
        "jwks": JwkSet { keys: vec![st.signer.public_jwk().clone()] }.to_value()
    }))
    .into_response()
}

async fn offer_by_ref(State(st): State<Arc<St>>, Path(id): Path<String>) -> Response {
    match st.inner.lock().unwrap().offers.get(&id) {
        Some(o) => axum::Json(o.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn token(State(st): State<Arc<St>>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let mut inner = st.inner.lock().unwrap();
    inner.token_requests += 1;
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:pre-authorized_code")
    {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let Some(code) = form.get("pre-authorized_code") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let Some(expected_tx) = inner.codes.get(code).cloned() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    // OID4VCI 1.0 §6.3: missing/unexpected tx_code is invalid_request, wrong is invalid_grant.
    match (expected_tx, form.get("tx_code")) {
        (Some(_), None) | (None, Some(_)) => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
        }
        (Some(want), Some(got)) if &want != got => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        _ => {}
    }
    inner.codes.remove(code);
    inner.counter += 1;
    let token = format!("access-token-{}", inner.counter);
    inner.tokens.insert(token.clone());
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "access_token": token, "token_type": "Bearer", "expires_in": 300 })),
    )
        .into_response()
}

async fn nonce(State(st): State<Arc<St>>) -> Response {
    let mut inner = st.inner.lock().unwrap();
    inner.nonce_requests += 1;
    inner.counter += 1;
    let n = format!("c-nonce-{}", inner.counter);
    inner.nonces.insert(n.clone());
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "c_nonce": n })),
    )
        .into_response()
}

async fn issue(st: &St, keys: &[PublicKey]) -> Vec<Value> {
    let signer = if st.cfg.sign_with_unlisted_key {
        &st.rogue
    } else {
        &st.signer
    };
    let mut out = Vec::new();
    for key in keys {
        let mut claims = Map::new();
        claims.insert("given_name".into(), "Erika".into());
        claims.insert("family_name".into(), "Mustermann".into());
        let vc = SdJwtVcClaims {
            iss: Some(st.issuer.clone()),
            vct: VCT.into(),
            iat: Some(st.clock.now()),
            nbf: None,
            exp: Some(st.clock.now().plus(3600)),
            holder_key: Some(key.clone()),
            status: None,
            claims,
        };
        let frame = Frame::new().sd("given_name").sd("family_name");
        let issued = sd_jwt_vc::issue(&vc, &frame, signer, &st.rng)
            .await
            .unwrap();
        out.push(json!({ "credential": issued.compact }));
    }
    out
}

/// W3C VCDM 2.0 `vc+jwt` credentials whose subject is the holder's did:jwk.
async fn issue_vc_jwt(st: &St, keys: &[PublicKey]) -> Vec<Value> {
    let mut out = Vec::new();
    for key in keys {
        let credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": st.issuer,
            "validFrom": "2025-01-01T00:00:00Z",
            "credentialSubject": { "id": vdc_core::did::did_jwk_from(key), "degree": "BSc" }
        });
        let Value::Object(credential) = credential else {
            unreachable!()
        };
        let jwt = vdc_core::vc_jose::issue_vc_jwt(&credential, &st.signer)
            .await
            .unwrap();
        out.push(json!({ "credential": jwt }));
    }
    out
}

async fn credential(State(st): State<Arc<St>>, headers: HeaderMap, body: String) -> Response {
    if let Err(r) = bearer(&st, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_str::<Value>(&body) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_credential_request");
    };
    let config_id = req["credential_configuration_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !["pid", "deferred_pid", "vc_jwt"].contains(&config_id.as_str()) {
        return oauth_error(StatusCode::BAD_REQUEST, "unknown_credential_configuration");
    }
    let Some(proofs) = req["proofs"]["jwt"].as_array() else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof");
    };
    if proofs.is_empty() || proofs.len() > BATCH_SIZE {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_credential_request");
    }
    let policy = AlgorithmPolicy::only(&[Algorithm::Es256]);
    let expect = ProofExpectations {
        policy: &policy,
        audience: &st.issuer,
        now: st.clock.now(),
        max_age_secs: 300,
        skew: 60,
    };
    let mut keys = Vec::new();
    let mut nonces = HashSet::new();
    for p in proofs {
        let Some(verified) = p.as_str().and_then(|p| key_proof::verify(p, &expect).ok()) else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof");
        };
        let Some(n) = verified.nonce else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof");
        };
        if keys.contains(&verified.holder_key) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_proof");
        }
        keys.push(verified.holder_key);
        nonces.insert(n);
    }
    {
        let mut inner = st.inner.lock().unwrap();
        if st.cfg.reject_first_nonce && !inner.rejected_nonce_once {
            inner.rejected_nonce_once = true;
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_nonce");
        }
        if !nonces.iter().all(|n| inner.nonces.contains(n)) {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_nonce");
        }
        for n in &nonces {
            inner.nonces.remove(n);
        }
        inner.proof_batches.push(keys.len());
        if config_id == "deferred_pid" {
            inner.counter += 1;
            let tx = format!("tx-{}", inner.counter);
            inner.deferred.insert(tx.clone(), (keys, 0));
            return (
                StatusCode::ACCEPTED,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(json!({ "transaction_id": tx, "interval": 1 })),
            )
                .into_response();
        }
    }
    let credentials = if config_id == "vc_jwt" {
        issue_vc_jwt(&st, &keys).await
    } else {
        issue(&st, &keys).await
    };
    let nid = {
        let mut inner = st.inner.lock().unwrap();
        inner.counter += 1;
        format!("notif-{}", inner.counter)
    };
    axum::Json(json!({ "credentials": credentials, "notification_id": nid })).into_response()
}

async fn deferred(State(st): State<Arc<St>>, headers: HeaderMap, body: String) -> Response {
    if let Err(r) = bearer(&st, &headers) {
        return r;
    }
    let req: Value = serde_json::from_str(&body).unwrap_or_default();
    let tx = req["transaction_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let keys = {
        let mut inner = st.inner.lock().unwrap();
        let Some((keys, polls)) = inner.deferred.get_mut(&tx) else {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_transaction_id");
        };
        if *polls == 0 {
            *polls += 1;
            return (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "transaction_id": tx, "interval": 1 })),
            )
                .into_response();
        }
        let keys = keys.clone();
        inner.deferred.remove(&tx);
        keys
    };
    let credentials = issue(&st, &keys).await;
    axum::Json(json!({ "credentials": credentials, "notification_id": format!("notif-{tx}") }))
        .into_response()
}

async fn notification(State(st): State<Arc<St>>, headers: HeaderMap, body: String) -> Response {
    if let Err(r) = bearer(&st, &headers) {
        return r;
    }
    let req: Value = serde_json::from_str(&body).unwrap_or_default();
    let (Some(id), Some(event)) = (req["notification_id"].as_str(), req["event"].as_str()) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_notification_request");
    };
    st.inner
        .lock()
        .unwrap()
        .notifications
        .push((id.to_owned(), event.to_owned()));
    StatusCode::NO_CONTENT.into_response()
}

/// The SD-JWT VC's `cnf` key, checked with the mock's published key (independently of the
/// SDK's own verification).
pub(crate) async fn cnf_key(mock: &Mock, credential: &str) -> PublicKey {
    let policy = vdc_core::sd_jwt_vc::IssuerTrustPolicy::new(vec![mock.issuer.clone()])
        .pin(mock.issuer.clone(), mock.issuer_jwks());
    let opts = vdc_core::sd_jwt::VerifyOptions {
        policy: &AlgorithmPolicy::default(),
        now: mock.clock.now(),
        time_rules: Default::default(),
        key_binding: vdc_core::sd_jwt::KeyBindingRequirement::NotRequired,
    };
    let v = sd_jwt_vc::verify(credential, &policy, &opts).await.unwrap();
    v.sd_jwt.holder_key.unwrap()
}
