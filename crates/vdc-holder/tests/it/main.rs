//! The SDK against a mock OID4VCI 1.0 issuer over real HTTP on 127.0.0.1.

// Test code: helpers outside #[test] fns unwrap and panic too.
// Tests slice strings they built themselves (known ASCII), never untrusted input.
#![allow(clippy::unwrap_used, clippy::panic, clippy::string_slice)]

mod mock;

use std::sync::Arc;

use mock::{BATCH_SIZE, Mock, MockConfig, VCT, cnf_key};
use vdc_core::rng::SeededRandom;
use vdc_holder::{
    AccessToken, CredentialRequest, CredentialTarget, Endpoint, Error, ErrorCode, FileStore,
    MemoryStore, Wallet, WalletOptions,
};

fn options(mock: &Mock, seed: u64) -> WalletOptions {
    WalletOptions {
        allow_insecure_http: true,
        clock: Arc::new(mock.clock.clone()),
        rng: Arc::new(SeededRandom::new(seed)),
        ..WalletOptions::default()
    }
}

fn memory_wallet(mock: &Mock, seed: u64) -> Wallet {
    Wallet::new(MemoryStore::new(), options(mock, seed)).unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vdc-holder-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn tx_code_flow_stores_a_verified_sd_jwt_vc_bound_to_its_stored_key() {
    let mock = Mock::start(MockConfig::default()).await;
    let dir = temp_dir("txcode");
    let wallet = Wallet::new(FileStore::open(&dir).unwrap(), options(&mock, 1)).unwrap();
    let uri = mock.offer(Some("493536"), &["pid"]);

    let offer = wallet.resolve_offer(&uri).await.unwrap();
    let tx = offer
        .pre_authorized_grant()
        .unwrap()
        .tx_code
        .clone()
        .unwrap();
    assert_eq!(tx.length, Some(6));
    assert_eq!(tx.description.as_deref(), Some("Sent by SMS"));

    let accepted = wallet.accept(&offer, Some("493536"), 1).await.unwrap();
    assert!(accepted.deferred.is_empty());
    assert!(accepted.notification_errors.is_empty());
    let [c] = accepted.credentials.as_slice() else {
        panic!("one credential expected")
    };
    assert_eq!(c.format, "dc+sd-jwt");
    assert_eq!(c.vct.as_deref(), Some(VCT));
    assert_eq!(c.issuer, mock.issuer);
    assert_eq!(c.credential_issuer, mock.issuer);
    assert_eq!(c.credential_configuration_id, "pid");
    assert_eq!(c.received_at, mock::NOW);
    // cnf.jwk (checked independently with the issuer's pinned key) is the stored key.
    let stored_key = c.holder_private_jwk.as_ref().unwrap().public_key().unwrap();
    assert_eq!(cnf_key(&mock, &c.credential).await, stored_key);

    // Stored on disk, owner-only, and listed.
    let listed = wallet.list().await.unwrap();
    assert_eq!(listed, accepted.credentials);
    assert_eq!(wallet.get(&c.id).await.unwrap().as_ref(), Some(c));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(format!("{}.json", c.id)))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The issuer was told, with the response's notification_id.
    let nid = c.notification_id.clone().unwrap();
    assert_eq!(
        mock.notifications(),
        [(nid, "credential_accepted".to_owned())]
    );
    // Metadata: spec position first (404 here), then the appended form.
    assert!(
        mock.not_found()
            .contains(&"/.well-known/openid-credential-issuer/tenant".to_owned())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn wrong_tx_code_is_reported_as_typed_invalid_grant() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 2);
    let err = wallet
        .accept_offer(&mock.offer(Some("493536"), &["pid"]), Some("000000"), 1)
        .await
        .unwrap_err();
    assert_eq!(err.oauth_code(), Some(&ErrorCode::InvalidGrant));
    let Error::OAuth(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (e.endpoint, e.status, e.code.as_str()),
        (Endpoint::Token, 400, "invalid_grant")
    );
    assert!(wallet.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn missing_or_unexpected_tx_code_is_refused_before_the_code_is_spent() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 3);
    let err = wallet
        .accept_offer(&mock.offer(Some("1234"), &["pid"]), None, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TxCodeRequired), "{err:?}");
    let err = wallet
        .accept_offer(&mock.offer(None, &["pid"]), Some("1234"), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TxCodeNotExpected), "{err:?}");
    assert_eq!(mock.token_requests(), 0);
}

#[tokio::test]
async fn batch_of_three_binds_each_credential_to_its_own_stored_key() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 4);
    let accepted = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, 3)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 3);
    // One Credential Request carried three proofs.
    assert_eq!(mock.proof_batches(), [3]);
    let mut cnf_keys = Vec::new();
    for c in &accepted.credentials {
        let cnf = cnf_key(&mock, &c.credential).await;
        assert_eq!(
            cnf,
            c.holder_private_jwk.as_ref().unwrap().public_key().unwrap()
        );
        assert!(!cnf_keys.contains(&cnf), "holder keys must be distinct");
        cnf_keys.push(cnf);
    }
    // One notification for the one response.
    assert_eq!(mock.notifications().len(), 1);
}

#[tokio::test]
async fn batch_above_the_issuer_batch_size_is_refused_locally() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 5);
    let err = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, BATCH_SIZE + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BatchTooLarge {
                requested: 4,
                max: 3
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.token_requests(), 0);
}

#[tokio::test]
async fn deferred_issuance_is_polled_until_issued_then_notified() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 6);
    let accepted = wallet
        .accept_offer(&mock.offer(None, &["deferred_pid"]), None, 2)
        .await
        .unwrap();
    assert!(accepted.credentials.is_empty());
    let [handle] = accepted.deferred.as_slice() else {
        panic!("one deferred expected")
    };
    assert_eq!(handle.interval, 1);
    assert_eq!(handle.holder_keys.len(), 2);
    // The handle can be persisted and restored (e.g. across app restarts).
    let handle: vdc_holder::DeferredHandle =
        serde_json::from_str(&serde_json::to_string(handle).unwrap()).unwrap();
    assert!(!format!("{handle:?}").contains("access-token"));

    let first = wallet.poll_deferred(&handle).await.unwrap();
    assert!(first.credentials.is_empty());
    assert_eq!(first.deferred.len(), 1, "still pending");
    assert!(mock.notifications().is_empty());

    let second = wallet.poll_deferred(&first.deferred[0]).await.unwrap();
    assert!(second.deferred.is_empty());
    assert_eq!(second.credentials.len(), 2);
    for c in &second.credentials {
        assert_eq!(
            cnf_key(&mock, &c.credential).await,
            c.holder_private_jwk.as_ref().unwrap().public_key().unwrap()
        );
    }
    assert_eq!(wallet.list().await.unwrap().len(), 2);
    assert_eq!(mock.notifications().len(), 1);
    assert_eq!(mock.notifications()[0].1, "credential_accepted");
    // The transaction is finished: polling again is the typed invalid_transaction_id.
    let err = wallet.poll_deferred(&handle).await.unwrap_err();
    assert_eq!(err.oauth_code(), Some(&ErrorCode::InvalidTransactionId));
}

#[tokio::test]
async fn offer_by_reference_is_fetched_and_accepted() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 7);
    let uri = mock.offer_by_reference(Some("777"), &["pid"]);
    assert!(uri.contains("credential_offer_uri="));
    let accepted = wallet.accept_offer(&uri, Some("777"), 1).await.unwrap();
    assert_eq!(accepted.credentials.len(), 1);
}

#[tokio::test]
async fn invalid_nonce_is_retried_once_with_a_fresh_nonce() {
    let mock = Mock::start(MockConfig {
        reject_first_nonce: true,
        ..MockConfig::default()
    })
    .await;
    let wallet = memory_wallet(&mock, 8);
    let accepted = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, 1)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 1);
    assert_eq!(mock.nonce_requests(), 2);
}

#[tokio::test]
async fn credential_endpoint_errors_are_typed_with_their_spec_codes() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 9);
    let client = wallet.client();
    let request = CredentialRequest {
        target: CredentialTarget::ConfigurationId("pid".into()),
        jwt_proofs: vec!["x.y.z".into()],
    };
    // Unknown access token: RFC 6750 §3 challenge in WWW-Authenticate.
    let err = client
        .credential(
            &mock.credential_endpoint(),
            &AccessToken::new("bogus"),
            &request,
        )
        .await
        .unwrap_err();
    let Error::OAuth(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((e.status, &e.code), (401, &ErrorCode::InvalidToken));
    assert!(e.www_authenticate.as_deref().unwrap().starts_with("Bearer"));

    // A valid token, then a proof addressed to another issuer: invalid_proof.
    let info = client.discover(&mock.issuer, None).await.unwrap();
    let offer = mock.offer_object(None, &["pid"]);
    let code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
        .as_str()
        .unwrap();
    let token = client
        .token(
            info.authorization_server.token_endpoint().unwrap(),
            code,
            None,
            None,
        )
        .await
        .unwrap();
    let nonce = client
        .nonce(info.issuer.nonce_endpoint.as_deref().unwrap())
        .await
        .unwrap();
    let key = vdc_core::jose::LocalSigner::new(
        vdc_core::jose::SigningKey::generate(
            vdc_core::jose::Algorithm::Es256,
            &SeededRandom::new(1),
        )
        .unwrap(),
    );
    let wrong_aud = vdc_core::key_proof::create(
        &key,
        vdc_core::key_proof::ProofInput {
            audience: "https://someone-else.example",
            nonce: Some(&nonce),
            client_id: None,
            iat: vdc_core::time::UnixTime(mock::NOW),
        },
    )
    .await
    .unwrap();
    let err = client
        .credential(
            &info.issuer.credential_endpoint,
            &token.access_token,
            &CredentialRequest {
                jwt_proofs: vec![wrong_aud],
                ..request.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.oauth_code(), Some(&ErrorCode::InvalidProof));

    let err = client
        .credential(
            &info.issuer.credential_endpoint,
            &token.access_token,
            &CredentialRequest {
                target: CredentialTarget::ConfigurationId("nope".into()),
                ..request
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.oauth_code(),
        Some(&ErrorCode::UnknownCredentialConfiguration)
    );
}

#[tokio::test]
async fn credential_signed_by_an_unpublished_key_is_rejected_and_reported_as_failure() {
    let mock = Mock::start(MockConfig {
        sign_with_unlisted_key: true,
        ..MockConfig::default()
    })
    .await;
    let wallet = memory_wallet(&mock, 10);
    let err = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, 2)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCredential(_)), "{err:?}");
    assert!(
        wallet.list().await.unwrap().is_empty(),
        "nothing of a failed batch is kept"
    );
    let events: Vec<_> = mock.notifications().into_iter().map(|(_, e)| e).collect();
    assert_eq!(events, ["credential_failure"]);
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_not_used() {
    let mock = Mock::start(MockConfig {
        wrong_metadata_issuer: true,
        ..MockConfig::default()
    })
    .await;
    let wallet = memory_wallet(&mock, 11);
    let err = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Metadata(_)), "{err:?}");
    assert_eq!(mock.token_requests(), 0);
}

#[tokio::test]
async fn unknown_configuration_in_offer_is_refused_before_the_token_request() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 12);
    let err = wallet
        .accept_offer(&mock.offer(None, &["not-offered"]), None, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Metadata(_)), "{err:?}");
    assert_eq!(mock.token_requests(), 0);
}

#[tokio::test]
async fn plain_http_issuers_are_refused_unless_allowed() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = Wallet::new(
        MemoryStore::new(),
        WalletOptions {
            allow_insecure_http: false,
            ..options(&mock, 13)
        },
    )
    .unwrap();
    let err = wallet
        .accept_offer(&mock.offer(None, &["pid"]), None, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureUrl(_)), "{err:?}");
    let err = wallet
        .accept_offer(&mock.offer_by_reference(None, &["pid"]), None, 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InsecureUrl(_)), "{err:?}");
}

#[tokio::test]
async fn jwt_vc_json_credentials_are_verified_and_bound_through_the_subject_did() {
    let mock = Mock::start(MockConfig::default()).await;
    let wallet = memory_wallet(&mock, 14);
    let accepted = wallet
        .accept_offer(&mock.offer(None, &["vc_jwt"]), None, 2)
        .await
        .unwrap();
    assert_eq!(accepted.credentials.len(), 2);
    for c in &accepted.credentials {
        assert_eq!(c.format, "jwt_vc_json");
        assert_eq!(c.issuer, mock.issuer);
        let key = c.holder_private_jwk.as_ref().unwrap().public_key().unwrap();
        // The stored key is the one named by the credential's subject did:jwk.
        let payload = vdc_core::jose::jws::decode(&c.credential).unwrap().payload;
        assert_eq!(
            payload["credentialSubject"]["id"].as_str().unwrap(),
            vdc_core::did::did_jwk_from(&key)
        );
    }
}
