//! Encrypted Credential Requests and Responses (OID4VCI 1.0 §10) over HTTP: the metadata
//! objects (§12.2.4), `application/jwt` requests to the issuer's published key and answers
//! to the wallet's `credential_response_encryption` (§8.2, §9.1), and the refusals, which
//! are always plain JSON (§8.3.1.2).

use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::jose::jwe::{
    self, Compression, ContentEncryption, EcdhPrivateKey, JweHeaderParams, RecipientKey,
};
use vdc_core::rng::SystemRandom;
use vdc_testkit::TestServer;

use crate::support::*;

vdc_testkit::both_backends!(
    metadata_publishes_the_request_key_and_both_encryption_objects,
    encrypted_request_gets_an_encrypted_response_with_a128gcm_and_a256gcm,
    zip_def_compresses_the_request_and_the_response,
    encrypted_request_without_response_encryption_is_answered_in_clear,
    plain_request_with_response_encryption_is_refused_and_consumes_nothing,
    deferred_endpoint_encrypts_with_the_parameters_of_each_request,
    errors_are_never_encrypted,
    request_jwe_with_unknown_kid_enc_or_zip_is_invalid_encryption_parameters,
    unusable_response_encryption_parameters_are_invalid_encryption_parameters,
    encryption_required_refuses_plain_requests_and_plain_responses,
);

const ALL_ENC: &[ContentEncryption] = &[ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];
const ZIP: &[Compression] = &[Compression::Deflate];

async fn metadata(server: &TestServer, issuer: &str) -> Value {
    let r = server
        .http
        .get(server.url(&format!(
            "/.well-known/openid-credential-issuer/issuers/{issuer}"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The issuer's request encryption key from its metadata.
async fn issuer_key(server: &TestServer, issuer: &str) -> RecipientKey {
    let meta = metadata(server, issuer).await;
    RecipientKey::select(&meta["credential_request_encryption"]["jwks"]).unwrap()
}

/// A request JWE to the issuer's key (with its kid).
fn seal(
    to: &RecipientKey,
    body: &Value,
    enc: ContentEncryption,
    zip: Option<Compression>,
) -> String {
    jwe::encrypt(
        body.to_string().as_bytes(),
        &to.key,
        enc,
        JweHeaderParams {
            kid: to.kid.clone(),
            zip,
            ..JweHeaderParams::default()
        },
        &SystemRandom::new(),
    )
    .unwrap()
}

fn wallet_key() -> EcdhPrivateKey {
    EcdhPrivateKey::generate(&SystemRandom::new()).unwrap()
}

/// `credential_response_encryption` for `key` (kid "wallet-enc").
fn response_encryption(key: &EcdhPrivateKey, enc: &str, zip: Option<&str>) -> Value {
    let mut v = json!({"jwk": key.public_jwk_value(Some("wallet-enc")), "enc": enc});
    if let Some(z) = zip {
        v["zip"] = z.into();
    }
    v
}

/// What the endpoint answered: status, media type, body text.
struct Answer {
    status: u16,
    media: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        assert!(
            self.media.starts_with("application/json"),
            "{} {}",
            self.media,
            self.body
        );
        serde_json::from_str(&self.body).unwrap()
    }

    fn error(&self) -> (u16, String) {
        let v = self.json();
        assert!(v["error_description"].is_string(), "{v}");
        (self.status, v["error"].as_str().unwrap().to_owned())
    }

    /// Decrypts an `application/jwt` answer with the wallet's key; returns the header and
    /// the JSON payload.
    fn decrypt(&self, key: &EcdhPrivateKey) -> (serde_json::Map<String, Value>, Value) {
        assert_eq!(self.media, "application/jwt", "{}", self.body);
        let out = jwe::decrypt_with(&self.body, key, ALL_ENC, ZIP).unwrap();
        (out.header, serde_json::from_slice(&out.plaintext).unwrap())
    }
}

async fn post(
    server: &TestServer,
    issuer: &str,
    endpoint: &str,
    token: &str,
    media: &str,
    body: String,
) -> Answer {
    let r = server
        .http
        .post(server.url(&format!("/issuers/{issuer}/{endpoint}")))
        .bearer_auth(token)
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let media = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if status < 300 {
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    Answer {
        status,
        media,
        body: r.text().await.unwrap(),
    }
}

async fn post_jwt(
    server: &TestServer,
    issuer: &str,
    endpoint: &str,
    token: &str,
    jwe: String,
) -> Answer {
    post(server, issuer, endpoint, token, "application/jwt", jwe).await
}

async fn post_json(
    server: &TestServer,
    issuer: &str,
    endpoint: &str,
    token: &str,
    body: &Value,
) -> Answer {
    post(
        server,
        issuer,
        endpoint,
        token,
        "application/json",
        body.to_string(),
    )
    .await
}

/// A Credential Request body for the badge with a fresh key proof.
async fn badge_request(server: &TestServer, issuer: &str) -> Value {
    let n = nonce(server, issuer).await;
    let (p, _) = proof(server, &server.issuer_url(issuer), Some(&n)).await;
    json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]}})
}

/// Re-encodes a JWE with a changed protected header (the AAD changes, so only checks made
/// before the tag can pass or fail on it).
fn with_header(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut h = Value::Object(jwe::protected_header(token).unwrap());
    change(&mut h);
    parts[0] = base64url::encode(h.to_string());
    parts.join(".")
}

async fn metadata_publishes_the_request_key_and_both_encryption_objects(server: &TestServer) {
    let meta = metadata(server, "demo").await;
    let req = &meta["credential_request_encryption"];
    let keys = req["jwks"]["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(
        (&jwk["kty"], &jwk["crv"], &jwk["alg"], &jwk["use"]),
        (
            &json!("EC"),
            &json!("P-256"),
            &json!("ECDH-ES"),
            &json!("enc")
        )
    );
    assert!(jwk.get("d").is_none());
    // The kid is the key's RFC 7638 thumbprint.
    let key = RecipientKey::from_jwk(jwk).unwrap();
    assert_eq!(jwk["kid"].as_str().unwrap(), key.key.thumbprint());
    assert_eq!(req["enc_values_supported"], json!(["A128GCM", "A256GCM"]));
    assert_eq!(req["zip_values_supported"], json!(["DEF"]));
    assert_eq!(req["encryption_required"], false);
    let resp = &meta["credential_response_encryption"];
    assert_eq!(resp["alg_values_supported"], json!(["ECDH-ES"]));
    assert_eq!(resp["enc_values_supported"], json!(["A128GCM", "A256GCM"]));
    assert_eq!(resp["zip_values_supported"], json!(["DEF"]));
    assert_eq!(resp["encryption_required"], false);

    // Derived, not random: the same key after a restart-free second read, and another
    // tenant has another key.
    assert_eq!(
        metadata(server, "demo").await["credential_request_encryption"],
        *req
    );
    let mut other = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    other["id"] = "other".into();
    let (status, body) = server.admin_post("/api/v1/issuers", &other).await;
    assert_eq!(status, 201, "{body}");
    let other_kid =
        metadata(server, "other").await["credential_request_encryption"]["jwks"]["keys"][0]["kid"]
            .clone();
    assert_ne!(other_kid, jwk["kid"]);
}

async fn encrypted_request_gets_an_encrypted_response_with_a128gcm_and_a256gcm(
    server: &TestServer,
) {
    let to = issuer_key(server, "demo").await;
    for (enc, name) in [
        (ContentEncryption::A128Gcm, "A128GCM"),
        (ContentEncryption::A256Gcm, "A256GCM"),
    ] {
        let token = fresh_token(server, "demo", &badge_offer(false)).await;
        let wallet = wallet_key();
        let mut body = badge_request(server, "demo").await;
        body["credential_response_encryption"] = response_encryption(&wallet, name, None);
        let a = post_jwt(
            server,
            "demo",
            "credential",
            &token,
            seal(&to, &body, enc, None),
        )
        .await;
        assert_eq!(a.status, 200, "{}", a.body);
        // The response is a JWE to the wallet's key, with its kid, enc as asked, no zip.
        let (header, payload) = a.decrypt(&wallet);
        assert_eq!(header["alg"], "ECDH-ES");
        assert_eq!(header["enc"], name);
        assert_eq!(header["kid"], "wallet-enc");
        assert!(header.get("zip").is_none());
        // Another key cannot read it.
        assert!(jwe::decrypt(&a.body, &wallet_key(), ALL_ENC).is_err());
        assert!(payload["notification_id"].is_string());
        let credential = payload["credentials"][0]["credential"].as_str().unwrap();
        let claims = verify_sd_jwt_vc(server, "demo", credential).await;
        assert_eq!(claims["given_name"], "Ada");
    }
}

async fn zip_def_compresses_the_request_and_the_response(server: &TestServer) {
    let to = issuer_key(server, "demo").await;
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let wallet = wallet_key();
    let mut body = badge_request(server, "demo").await;
    body["credential_response_encryption"] = response_encryption(&wallet, "A256GCM", Some("DEF"));
    let sealed = seal(
        &to,
        &body,
        ContentEncryption::A128Gcm,
        Some(Compression::Deflate),
    );
    assert_eq!(jwe::protected_header(&sealed).unwrap()["zip"], "DEF");
    let a = post_jwt(server, "demo", "credential", &token, sealed).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let (header, payload) = a.decrypt(&wallet);
    assert_eq!(header["zip"], "DEF");
    // Without the zip allow-list the answer does not open: it really is compressed.
    assert!(jwe::decrypt(&a.body, &wallet, ALL_ENC).is_err());
    let credential = payload["credentials"][0]["credential"].as_str().unwrap();
    verify_sd_jwt_vc(server, "demo", credential).await;
}

async fn encrypted_request_without_response_encryption_is_answered_in_clear(server: &TestServer) {
    let to = issuer_key(server, "demo").await;
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let body = badge_request(server, "demo").await;
    let a = post_jwt(
        server,
        "demo",
        "credential",
        &token,
        seal(&to, &body, ContentEncryption::A256Gcm, None),
    )
    .await;
    // Spec: §8.2: "If this request element is not present, the corresponding credential
    // response returned is not encrypted."
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    verify_sd_jwt_vc(
        server,
        "demo",
        v["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
}

async fn plain_request_with_response_encryption_is_refused_and_consumes_nothing(
    server: &TestServer,
) {
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let wallet = wallet_key();
    let mut body = badge_request(server, "demo").await;
    body["credential_response_encryption"] = response_encryption(&wallet, "A128GCM", None);
    // Spec: §8.2: "Credential Request encryption MUST be used if the
    // credential_response_encryption parameter is included, to prevent it being
    // substituted by an attacker."
    let a = post_json(server, "demo", "credential", &token, &body).await;
    assert_eq!(a.error(), (400, "invalid_encryption_parameters".into()));
    assert!(
        a.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("encrypted request")
    );
    // The refusal came before the proof was checked: the same body, encrypted, is issued.
    let to = issuer_key(server, "demo").await;
    let a = post_jwt(
        server,
        "demo",
        "credential",
        &token,
        seal(&to, &body, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.decrypt(&wallet);
}

async fn deferred_endpoint_encrypts_with_the_parameters_of_each_request(server: &TestServer) {
    let to = issuer_key(server, "demo").await;
    let offer = server
        .offer(
            "demo",
            &json!({"credential_configuration_ids": ["EmployeeBadge"], "deferred": true}),
        )
        .await;
    let (status, t, _) = token(
        server,
        "demo",
        &[
            ("grant_type", PRE),
            ("pre-authorized_code", &code_of(&offer)),
        ],
    )
    .await;
    assert_eq!(status, 200, "{t}");
    let access = t["access_token"].as_str().unwrap();

    // The 202 of the credential endpoint is encrypted too ("regardless of the content").
    let first = wallet_key();
    let mut body = badge_request(server, "demo").await;
    body["credential_response_encryption"] = response_encryption(&first, "A128GCM", None);
    let a = post_jwt(
        server,
        "demo",
        "credential",
        access,
        seal(&to, &body, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    let (_, deferred) = a.decrypt(&first);
    let tx = deferred["transaction_id"].as_str().unwrap().to_owned();
    assert!(deferred["interval"].as_i64().unwrap() > 0);

    // Still pending, asked with a second key: the 202 is encrypted to that key.
    let second = wallet_key();
    let req = json!({"transaction_id": tx,
        "credential_response_encryption": response_encryption(&second, "A256GCM", Some("DEF"))});
    let a = post_jwt(
        server,
        "demo",
        "deferred_credential",
        access,
        seal(&to, &req, ContentEncryption::A256Gcm, None),
    )
    .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert!(jwe::decrypt_with(&a.body, &first, ALL_ENC, ZIP).is_err());
    let (header, pending) = a.decrypt(&second);
    assert_eq!(
        (header["enc"].as_str(), header["zip"].as_str()),
        (Some("A256GCM"), Some("DEF"))
    );
    assert_eq!(pending["transaction_id"], tx.as_str());

    // A plain deferred request may not carry credential_response_encryption (§9.1).
    let a = post_json(server, "demo", "deferred_credential", access, &req).await;
    assert_eq!(a.error(), (400, "invalid_encryption_parameters".into()));

    let id = offer["id"].as_str().unwrap();
    let r = server
        .admin(
            reqwest::Method::PUT,
            &format!("/api/v1/issuers/demo/offers/{id}/claims"),
        )
        .json(&json!({"EmployeeBadge": {"given_name": "Grace", "employee_id": "E-2"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Issued, encrypted to a third key named in this request only (§9.2: "the Credential
    // Issuer MUST use the newly provided one").
    let third = wallet_key();
    let req = json!({"transaction_id": tx,
        "credential_response_encryption": response_encryption(&third, "A128GCM", None)});
    let a = post_jwt(
        server,
        "demo",
        "deferred_credential",
        access,
        seal(&to, &req, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let (_, issued) = a.decrypt(&third);
    let claims = verify_sd_jwt_vc(
        server,
        "demo",
        issued["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
    assert_eq!(claims["given_name"], "Grace");

    // The transaction is used: the error is plain JSON although encryption was asked for.
    let a = post_jwt(
        server,
        "demo",
        "deferred_credential",
        access,
        seal(&to, &req, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.error(), (400, "invalid_transaction_id".into()));
}

async fn errors_are_never_encrypted(server: &TestServer) {
    let to = issuer_key(server, "demo").await;
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let wallet = wallet_key();
    let rce = response_encryption(&wallet, "A128GCM", None);
    // Spec: §8.3.1.2: "Credential Error Responses are never encrypted, even if a valid
    // Credential Response would have been."
    let (p, _) = proof(server, &server.issuer_url("demo"), Some("forged-nonce")).await;
    let cases = [
        (
            json!({"credential_configuration_id": "EmployeeBadge", "proofs": {"jwt": [p]},
                "credential_response_encryption": rce}),
            "invalid_nonce",
        ),
        (
            json!({"credential_configuration_id": "Nope", "proofs": {"jwt": ["x"]},
                "credential_response_encryption": rce}),
            "unknown_credential_configuration",
        ),
        (
            json!({"credential_configuration_id": 7, "credential_response_encryption": rce}),
            "invalid_credential_request",
        ),
    ];
    for (body, code) in cases {
        let a = post_jwt(
            server,
            "demo",
            "credential",
            &token,
            seal(&to, &body, ContentEncryption::A128Gcm, None),
        )
        .await;
        assert_eq!(a.error(), (400, code.to_owned()), "{body}");
    }
    // A bad access token: 401 in JSON too.
    let body = json!({"credential_configuration_id": "EmployeeBadge",
        "credential_response_encryption": rce});
    let a = post_jwt(
        server,
        "demo",
        "credential",
        "wrong-token",
        seal(&to, &body, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.error(), (401, "invalid_token".into()));
    // A decrypted payload that is not JSON.
    let junk = jwe::encrypt(
        b"not json",
        &to.key,
        ContentEncryption::A128Gcm,
        JweHeaderParams {
            kid: to.kid.clone(),
            ..JweHeaderParams::default()
        },
        &SystemRandom::new(),
    )
    .unwrap();
    let a = post_jwt(server, "demo", "credential", &token, junk).await;
    assert_eq!(a.error(), (400, "invalid_credential_request".into()));
    // Neither JSON nor JWT.
    let a = post(
        server,
        "demo",
        "credential",
        &token,
        "text/plain",
        "hi".into(),
    )
    .await;
    assert_eq!(a.status, 415);
}

async fn request_jwe_with_unknown_kid_enc_or_zip_is_invalid_encryption_parameters(
    server: &TestServer,
) {
    let to = issuer_key(server, "demo").await;
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let body = badge_request(server, "demo").await;
    let good = seal(&to, &body, ContentEncryption::A128Gcm, None);
    let stranger = RecipientKey {
        key: wallet_key().public_key().clone(),
        kid: to.kid.clone(),
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown kid",
            with_header(&good, |h| h["kid"] = "someone-else".into()),
        ),
        (
            "no kid",
            with_header(&good, |h| {
                h.as_object_mut().unwrap().remove("kid");
            }),
        ),
        (
            "unsupported enc",
            with_header(&good, |h| h["enc"] = "A128CBC-HS256".into()),
        ),
        (
            "A192GCM",
            with_header(&good, |h| h["enc"] = "A192GCM".into()),
        ),
        (
            "zip not offered",
            with_header(&good, |h| h["zip"] = "GZIP".into()),
        ),
        (
            "key wrap alg",
            with_header(&good, |h| h["alg"] = "ECDH-ES+A128KW".into()),
        ),
        (
            "another key, our kid",
            seal(&stranger, &body, ContentEncryption::A128Gcm, None),
        ),
        ("tampered tag", {
            let mut p: Vec<String> = good.split('.').map(str::to_owned).collect();
            let mut tag = base64url::decode(&p[4]).unwrap();
            tag[0] ^= 1;
            p[4] = base64url::encode(tag);
            p.join(".")
        }),
        ("not a JWE", "eyJhbGciOiJub25lIn0.e30.".into()),
    ];
    for (what, jwe) in cases {
        let a = post_jwt(server, "demo", "credential", &token, jwe).await;
        assert_eq!(
            a.error(),
            (400, "invalid_encryption_parameters".into()),
            "{what}"
        );
    }
    // None of them consumed the nonce: the good one is issued.
    let a = post_jwt(server, "demo", "credential", &token, good).await;
    assert_eq!(a.status, 200, "{}", a.body);
}

async fn unusable_response_encryption_parameters_are_invalid_encryption_parameters(
    server: &TestServer,
) {
    let to = issuer_key(server, "demo").await;
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let wallet = wallet_key();
    let good = wallet.public_jwk_value(Some("w"));
    let mut no_alg = good.clone();
    no_alg.as_object_mut().unwrap().remove("alg");
    let mut es256 = good.clone();
    es256["alg"] = "ES256".into();
    let mut off_curve = good.clone();
    off_curve["y"] = base64url::encode([7u8; 32]).into();
    let mut private = good.clone();
    private["d"] = base64url::encode([1u8; 32]).into();
    let p384 = json!({"kty": "EC", "crv": "P-384", "alg": "ECDH-ES",
        "x": base64url::encode([1u8; 48]), "y": base64url::encode([2u8; 48])});
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "alg": "ECDH-ES",
        "x": "WPX7wnwq10hFNK9aDSyG1QlLswE_CJY14LdhcFUIVVc"});
    let rsa = json!({"kty": "RSA", "alg": "RSA-OAEP-256", "n": "sXch", "e": "AQAB"});
    let cases = [
        json!({"jwk": p384, "enc": "A128GCM"}),
        json!({"jwk": x25519, "enc": "A128GCM"}),
        json!({"jwk": rsa, "enc": "A128GCM"}),
        json!({"jwk": off_curve, "enc": "A128GCM"}),
        json!({"jwk": private, "enc": "A128GCM"}),
        json!({"jwk": no_alg, "enc": "A128GCM"}),
        json!({"jwk": es256, "enc": "A128GCM"}),
        json!({"jwk": good, "enc": "A192GCM"}),
        json!({"jwk": good, "enc": "A128CBC-HS256"}),
        json!({"jwk": good, "enc": "A128GCM", "zip": "GZIP"}),
        json!({"jwk": good}),
        json!({"enc": "A128GCM"}),
        json!(true),
    ];
    let mut body = badge_request(server, "demo").await;
    for rce in cases {
        body["credential_response_encryption"] = rce.clone();
        let a = post_jwt(
            server,
            "demo",
            "credential",
            &token,
            seal(&to, &body, ContentEncryption::A128Gcm, None),
        )
        .await;
        assert_eq!(
            a.error(),
            (400, "invalid_encryption_parameters".into()),
            "{rce}"
        );
    }
    body["credential_response_encryption"] = json!({"jwk": good, "enc": "A128GCM"});
    let a = post_jwt(
        server,
        "demo",
        "credential",
        &token,
        seal(&to, &body, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.decrypt(&wallet).0["kid"], "w");
}

async fn encryption_required_refuses_plain_requests_and_plain_responses(server: &TestServer) {
    let mut sealed = serde_json::to_value(vdc::demo::demo_issuer().unwrap()).unwrap();
    sealed["id"] = "sealed".into();
    sealed["require_credential_encryption"] = true.into();
    let (status, body) = server.admin_post("/api/v1/issuers", &sealed).await;
    assert_eq!(status, 201, "{body}");
    let meta = metadata(server, "sealed").await;
    assert_eq!(
        meta["credential_request_encryption"]["encryption_required"],
        true
    );
    assert_eq!(
        meta["credential_response_encryption"]["encryption_required"],
        true
    );
    let to = issuer_key(server, "sealed").await;

    let token = fresh_token(server, "sealed", &badge_offer(false)).await;
    let wallet = wallet_key();
    let plain = badge_request(server, "sealed").await;
    // A plain request: refused (§8.2 "MUST do so when encryption_required is true").
    let a = post_json(server, "sealed", "credential", &token, &plain).await;
    assert_eq!(a.error(), (400, "invalid_encryption_parameters".into()));
    // Encrypted but asking for a plain answer: refused (§8.3.1.2).
    let a = post_jwt(
        server,
        "sealed",
        "credential",
        &token,
        seal(&to, &plain, ContentEncryption::A128Gcm, None),
    )
    .await;
    assert_eq!(a.error(), (400, "invalid_encryption_parameters".into()));
    assert!(
        a.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("credential_response_encryption")
    );
    // Both encrypted: issued.
    let mut body = plain.clone();
    body["credential_response_encryption"] = response_encryption(&wallet, "A256GCM", None);
    let a = post_jwt(
        server,
        "sealed",
        "credential",
        &token,
        seal(&to, &body, ContentEncryption::A256Gcm, None),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let (_, payload) = a.decrypt(&wallet);
    verify_sd_jwt_vc(
        server,
        "sealed",
        payload["credentials"][0]["credential"].as_str().unwrap(),
    )
    .await;
    // The deferred endpoint follows the same rule.
    let a = post_json(
        server,
        "sealed",
        "deferred_credential",
        &token,
        &json!({"transaction_id": "x"}),
    )
    .await;
    assert_eq!(a.error(), (400, "invalid_encryption_parameters".into()));
    // The demo issuer (not required) still takes plain requests.
    let token = fresh_token(server, "demo", &badge_offer(false)).await;
    let a = post_json(
        server,
        "demo",
        "credential",
        &token,
        &badge_request(server, "demo").await,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
}
