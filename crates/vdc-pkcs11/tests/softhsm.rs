//! The PKCS#11 signer against a real SoftHSM2 token (scripts/ensure-softhsm.sh): keys made
//! in the token sign JWS that vdc-core and p256 verify, stay non-extractable, are found again
//! by a second login, and the errors an operator meets are named.

// Tests fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use vdc_core::jose::{Algorithm, Signer};
use vdc_pkcs11::softhsm::{MODULE, new_token, user_pin};
use vdc_pkcs11::{HsmError, Token};

fn open(label: &str) -> Token {
    Token::open(Path::new(MODULE), label, &user_pin()).unwrap()
}

fn verifies(signer: &dyn Signer, msg: &[u8], sig: &[u8]) -> bool {
    signer
        .public_jwk()
        .key
        .verify(signer.algorithm(), msg, sig)
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_keys_made_in_the_token_sign_verifiable_r_s() {
    let token = open(&new_token("es256"));
    let signer = token.generate(Algorithm::Es256, "issuer-key").unwrap();
    let msg = b"header.payload";
    let sig = signer.sign(msg).await.unwrap();
    assert_eq!(sig.len(), 64, "raw r || s");
    assert!(verifies(&signer, msg, &sig));
    assert!(!verifies(&signer, b"other", &sig));
    // An independent check: ring's fixed-length ECDSA P-256 verification of the point.
    let vdc_core::jose::PublicKey::P256(point) = signer.public_jwk().key else {
        panic!("not P-256")
    };
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, point);
    assert!(key.verify(msg, &sig).is_ok());
    assert!(token.is_non_extractable("issuer-key").unwrap());
    assert!(matches!(
        token.generate(Algorithm::Es256, "issuer-key"),
        Err(HsmError::KeyExists(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eddsa_keys_sign_where_the_token_supports_them() {
    let token = open(&new_token("eddsa"));
    match token.generate(Algorithm::EdDsa, "ed") {
        Ok(signer) => {
            let sig = signer.sign(b"m").await.unwrap();
            assert_eq!(sig.len(), 64);
            assert!(verifies(&signer, b"m", &sig));
        }
        // SoftHSM2 built without EdDSA: said so, not a panic.
        Err(HsmError::Unsupported(why)) => eprintln!("EdDSA unsupported by this token: {why}"),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_key_is_found_again_by_a_second_login() {
    let label = new_token("reopen");
    let made = open(&label).generate(Algorithm::Es256, "k").unwrap();
    let again = open(&label).signer("k").unwrap();
    assert_eq!(made.public_jwk(), again.public_jwk());
    let sig = again.sign(b"x").await.unwrap();
    assert!(verifies(&made, b"x", &sig));
}

#[test]
fn operator_mistakes_are_named_and_never_show_the_pin() {
    let label = new_token("errors");
    let wrong = Token::open(Path::new(MODULE), &label, "not-the-pin").unwrap_err();
    assert_eq!(wrong, HsmError::WrongPin);
    assert!(!wrong.to_string().contains("not-the-pin"));
    assert!(matches!(
        Token::open(Path::new(MODULE), "no-such-token", &user_pin()),
        Err(HsmError::TokenNotFound(_))
    ));
    assert!(matches!(
        Token::open(Path::new("/nonexistent/libpkcs11.so"), &label, &user_pin()),
        Err(HsmError::ModuleNotFound(_))
    ));
    assert!(matches!(
        open(&label).signer("missing"),
        Err(HsmError::KeyNotFound(_))
    ));
    let token = open(&label);
    assert!(!format!("{token:?}").contains(&user_pin()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_login_is_recovered_on_a_fresh_session() {
    let token = open(&new_token("lost"));
    let signer = token.generate(Algorithm::Es256, "k").unwrap();
    token.log_out().unwrap();
    // The pooled session lost its login: the call is retried once on a fresh session.
    let sig = signer.sign(b"after").await.unwrap();
    assert!(verifies(&signer, b"after", &sig));
    token.ping().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_signs_all_verify() {
    let token = open(&new_token("many"));
    let signer = token.generate(Algorithm::Es256, "k").unwrap();
    let mut tasks = Vec::new();
    for i in 0..16u8 {
        let s = signer.clone();
        tasks.push(tokio::spawn(
            async move { (i, s.sign(&[i; 40]).await.unwrap()) },
        ));
    }
    for t in tasks {
        let (i, sig) = t.await.unwrap();
        assert!(verifies(&signer, &[i; 40], &sig));
    }
}
