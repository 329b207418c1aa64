//! Issuer-key mechanisms of the SD-JWT VC trust policy: x5c to an anchor, DIDs, and JWT VC
//! Issuer Metadata over HTTP (a real local server), each with the attacks it must stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use vdc_core::did::{StandardResolver, did_key_from};
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::rng::SeededRandom;
use vdc_core::sd_jwt::{Frame, KeyBindingRequirement, VerifyOptions};
use vdc_core::sd_jwt_vc::{self, IssuerTrustPolicy, KeyMechanism, SdJwtVcClaims};
use vdc_core::time::{FixedClock, UnixTime};
use vdc_core::x509::{self, CertificateSpec, TrustAnchors};
use vdc_core::{Error, ErrorKind};

use crate::support::*;

fn claims(iss: Option<&str>) -> SdJwtVcClaims {
    SdJwtVcClaims {
        iss: iss.map(str::to_owned),
        vct: "https://acme.example/vct/badge".into(),
        iat: Some(UnixTime(NOW)),
        nbf: None,
        exp: Some(UnixTime(NOW + 3600)),
        holder_key: None,
        status: None,
        claims: obj(json!({"given_name": "Ada"})),
    }
}

fn issue(signer: &LocalSigner, iss: Option<&str>) -> String {
    block_on(sd_jwt_vc::issue(
        &claims(iss),
        &Frame::new().sd("given_name"),
        signer,
        &SeededRandom::new(5),
    ))
    .unwrap()
    .compact
}

async fn verify_with(
    policy: &IssuerTrustPolicy,
    sd_jwt: &str,
) -> Result<sd_jwt_vc::VerifiedSdJwtVc, Error> {
    let p = AlgorithmPolicy::default();
    let opts = VerifyOptions {
        policy: &p,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: KeyBindingRequirement::NotRequired,
    };
    sd_jwt_vc::verify(sd_jwt, policy, &opts).await
}

/// A CA and an issuer certificate for `key` naming `uri` and `dns`.
fn pki(key: &SigningKey, uri: &str, dns: &str, ca_seed: u64) -> (Vec<u8>, Vec<u8>) {
    let rng = SeededRandom::new(ca_seed);
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let ca_spec = CertificateSpec::new(
        "vdc test CA",
        UnixTime(NOW - 86400),
        UnixTime(NOW + 86400 * 365),
        &rng,
    )
    .unwrap()
    .ca();
    let ca = x509::self_signed(&ca_spec, &ca_key).unwrap();
    let leaf_spec = CertificateSpec::new(
        "issuer",
        UnixTime(NOW - 86400),
        UnixTime(NOW + 86400 * 30),
        &rng,
    )
    .unwrap()
    .with_uri(uri)
    .with_dns_name(dns);
    let leaf = x509::issue(&leaf_spec, key.public_key(), &ca, &ca_key).unwrap();
    (ca, leaf)
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::at(NOW))
}

#[test]
fn x5c_chain_to_a_configured_anchor_establishes_the_issuer() {
    let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(80)).unwrap();
    let (ca, leaf) = pki(&key, ISSUER, "issuer.example", 9);
    let signer = LocalSigner::new(key).with_x5c(vec![leaf]);
    let sd_jwt = issue(&signer, Some(ISSUER));
    let policy = IssuerTrustPolicy::new(vec![ISSUER.into()])
        .with_x509_anchors(TrustAnchors::from_der_certs(vec![ca]).unwrap())
        .with_clock(clock());
    let v = block_on(verify_with(&policy, &sd_jwt)).unwrap();
    assert_eq!(v.mechanism, KeyMechanism::X509);
    assert_eq!(v.issuer, ISSUER);
}

#[test]
fn x5c_is_useless_without_a_matching_anchor_or_san() {
    let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(81)).unwrap();
    let (_, leaf) = pki(&key, ISSUER, "issuer.example", 9);
    let (other_ca, _) = pki(
        &SigningKey::generate(Algorithm::Es256, &SeededRandom::new(82)).unwrap(),
        ISSUER,
        "x",
        10,
    );
    let signer = LocalSigner::new(key).with_x5c(vec![leaf]);
    let sd_jwt = issue(&signer, Some(ISSUER));
    // Anchors that did not issue the chain.
    let policy = IssuerTrustPolicy::new(vec![ISSUER.into()])
        .with_x509_anchors(TrustAnchors::from_der_certs(vec![other_ca]).unwrap())
        .with_clock(clock());
    assert!(matches!(
        block_on(verify_with(&policy, &sd_jwt)),
        Err(Error::Certificate(_))
    ));
    // No x509 mechanism configured: the embedded chain is ignored and nothing else knows
    // this issuer (G5: keys are never trusted because the token carries them).
    let policy = IssuerTrustPolicy::new(vec![ISSUER.into()]).with_clock(clock());
    assert!(matches!(
        block_on(verify_with(&policy, &sd_jwt)),
        Err(Error::UntrustedKey(_))
    ));

    // A valid chain whose certificate does not name the iss.
    let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(83)).unwrap();
    let (ca, leaf) = pki(&key, "https://other.example/issuer", "other.example", 9);
    let signer = LocalSigner::new(key).with_x5c(vec![leaf]);
    let sd_jwt = issue(&signer, Some(ISSUER));
    let policy = IssuerTrustPolicy::new(vec![ISSUER.into()])
        .with_x509_anchors(TrustAnchors::from_der_certs(vec![ca]).unwrap())
        .with_clock(clock());
    assert!(matches!(
        block_on(verify_with(&policy, &sd_jwt)),
        Err(Error::UntrustedKey(_))
    ));
}

/// A CA and an issuer certificate for `key` with exactly these URI and DNS SANs.
fn pki_with_sans(key: &SigningKey, uris: &[&str], dns: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let rng = SeededRandom::new(11);
    let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
    let window = (UnixTime(NOW - 86400), UnixTime(NOW + 86400));
    let ca_spec = CertificateSpec::new("vdc test CA", window.0, window.1, &rng)
        .unwrap()
        .ca();
    let ca = x509::self_signed(&ca_spec, &ca_key).unwrap();
    let mut leaf_spec = CertificateSpec::new("issuer", window.0, window.1, &rng).unwrap();
    for u in uris {
        leaf_spec = leaf_spec.with_uri(*u);
    }
    for d in dns {
        leaf_spec = leaf_spec.with_dns_name(*d);
    }
    let leaf = x509::issue(&leaf_spec, key.public_key(), &ca, &ca_key).unwrap();
    (ca, leaf)
}

/// Verifies an SD-JWT VC with `iss`, signed with an x5c leaf of these SANs, by a verifier
/// trusting `iss` and the leaf's CA.
fn x5c_verdict(
    iss: &str,
    uris: &[&str],
    dns: &[&str],
) -> Result<sd_jwt_vc::VerifiedSdJwtVc, Error> {
    let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(90)).unwrap();
    let (ca, leaf) = pki_with_sans(&key, uris, dns);
    let sd_jwt = issue(&LocalSigner::new(key).with_x5c(vec![leaf]), Some(iss));
    let policy = IssuerTrustPolicy::new(vec![iss.into()])
        .with_x509_anchors(TrustAnchors::from_der_certs(vec![ca]).unwrap())
        .with_clock(clock());
    block_on(verify_with(&policy, &sd_jwt))
}

/// G3, G5, G6 (issue 10 item 16): on one host serving many issuer paths, the certificate of
/// `https://host/issuers/a` must not speak for `https://host/issuers/b`, although its DNS
/// SAN names the host. (The old rule, "the iss host is a DNS SAN", accepted it.)
#[test]
fn x5c_certificate_of_one_tenant_does_not_verify_another_tenant_on_the_same_host() {
    let a = "https://host.example/issuers/a";
    let b = "https://host.example/issuers/b";
    // Tenant a's own credential verifies with its certificate.
    let v = x5c_verdict(a, &[a], &["host.example"]).unwrap();
    assert_eq!((v.issuer.as_str(), v.mechanism), (a, KeyMechanism::X509));
    // Tenant b's iss with tenant a's certificate (URI SAN a, DNS SAN host): refused.
    let err = x5c_verdict(b, &[a], &["host.example"]).unwrap_err();
    assert!(
        matches!(&err, Error::UntrustedKey(m) if m.contains("uniformResourceIdentifier")),
        "{err:?}"
    );
    // A DNS-only certificate for the host speaks for no path under it.
    let err = x5c_verdict(b, &[], &["host.example"]).unwrap_err();
    assert!(
        matches!(&err, Error::UntrustedKey(m) if m.contains("only DNS SANs")),
        "{err:?}"
    );
}

/// The binding rules one by one: a URI SAN matches exactly; a DNS-only leaf names the
/// https origin of its host and nothing else.
#[test]
fn x5c_iss_binding_uri_san_exact_dns_san_origin_only() {
    let cases: &[(&str, &[&str], &[&str], bool)] = &[
        // URI SANs: exact string equality, whatever the DNS SANs say.
        (
            "https://host.example/issuers/a",
            &["https://host.example/issuers/a"],
            &[],
            true,
        ),
        (
            "https://host.example/issuers/a/",
            &["https://host.example/issuers/a"],
            &["host.example"],
            false,
        ),
        (
            "https://host.example/issuers/A",
            &["https://host.example/issuers/a"],
            &[],
            false,
        ),
        (
            "https://host.example",
            &["https://host.example/issuers/a"],
            &["host.example"],
            false,
        ),
        // DNS-only: the origin of a DNS SAN.
        ("https://host.example", &[], &["host.example"], true),
        (
            "https://host.example/",
            &[],
            &["other.example", "host.example"],
            true,
        ),
        ("https://HOST.example", &[], &["host.example"], true),
        ("https://other.example", &[], &["host.example"], false),
        ("https://host.example:8443", &[], &["host.example"], false),
        ("https://host.example/?q=1", &[], &["host.example"], false),
        ("https://user@host.example", &[], &["host.example"], false),
        ("http://host.example", &[], &["host.example"], false),
        ("did:web:host.example", &[], &["host.example"], false),
    ];
    for (iss, uris, dns, ok) in cases {
        let verdict = x5c_verdict(iss, uris, dns);
        assert_eq!(
            verdict.is_ok(),
            *ok,
            "iss {iss}, URI {uris:?}, DNS {dns:?}: {verdict:?}"
        );
        if let Err(e) = verdict {
            assert!(matches!(e, Error::UntrustedKey(_)), "{iss}: {e:?}");
        }
    }
}

#[test]
fn did_issuer_key_must_be_an_assertion_method_of_the_iss() {
    let signer = signer(Algorithm::EdDsa, 84);
    let did = did_key_from(&signer.public_jwk().key);
    let fragment = did.trim_start_matches("did:key:").to_owned();
    let signer =
        LocalSigner::new(SigningKey::generate(Algorithm::EdDsa, &SeededRandom::new(84)).unwrap())
            .with_kid(format!("{did}#{fragment}"));
    let sd_jwt = issue(&signer, Some(&did));
    let resolver = Arc::new(StandardResolver::new(None, clock()));
    let policy = IssuerTrustPolicy::new(vec![did.clone()]).with_did_resolver(resolver.clone());
    let v = block_on(verify_with(&policy, &sd_jwt)).unwrap();
    assert_eq!(v.mechanism, KeyMechanism::Did);

    // Another DID's key named in kid, for an iss whose DID is this one.
    let thief = signer_with_did(85);
    let forged = issue(&thief.0.with_kid(thief.1.clone()), Some(&did));
    let err = block_on(verify_with(&policy, &forged)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Trust, "{err}");
}

fn signer_with_did(seed: u64) -> (LocalSigner, String) {
    let key = SigningKey::generate(Algorithm::EdDsa, &SeededRandom::new(seed)).unwrap();
    let did = did_key_from(key.public_key());
    let kid = format!("{did}#{}", did.trim_start_matches("did:key:"));
    (LocalSigner::new(key), kid)
}

/// Serves `/.well-known/jwt-vc-issuer/issuers/acme` with `metadata(origin)` and counts hits.
async fn metadata_server(
    metadata: impl Fn(&str) -> Value + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let body = metadata(&origin);
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/.well-known/jwt-vc-issuer/issuers/acme",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move { axum::Json(body) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, hits)
}

#[tokio::test]
async fn jwt_vc_issuer_metadata_is_fetched_validated_and_cached() {
    let signer = signer(Algorithm::Es256, 86);
    let jwks = JwkSet {
        keys: vec![signer.public_jwk().clone()],
    }
    .to_value();
    let (origin, hits) = metadata_server(
        move |origin| json!({"issuer": format!("{origin}/issuers/acme"), "jwks": jwks}),
    )
    .await;
    let iss = format!("{origin}/issuers/acme");
    let fetcher = Fetcher::new(FetchPolicy::from_allow_list(&origin).unwrap()).unwrap();
    let policy = IssuerTrustPolicy::new(vec![iss.clone()])
        .with_metadata_fetcher(fetcher)
        .with_clock(clock());
    let sd_jwt = {
        let claims = claims(Some(&iss));
        sd_jwt_vc::issue(&claims, &Frame::new(), &signer, &SeededRandom::new(1))
            .await
            .unwrap()
            .compact
    };
    let v = verify_with(&policy, &sd_jwt).await.unwrap();
    assert_eq!(v.mechanism, KeyMechanism::JwtVcIssuerMetadata);
    verify_with(&policy, &sd_jwt).await.unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "second verification uses the cache"
    );

    // An untrusted iss is never fetched.
    let policy = IssuerTrustPolicy::new(vec![]).with_metadata_fetcher(
        Fetcher::new(FetchPolicy::from_allow_list(&origin).unwrap()).unwrap(),
    );
    assert!(matches!(
        verify_with(&policy, &sd_jwt).await,
        Err(Error::UntrustedKey(_))
    ));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn issuer_metadata_naming_another_issuer_or_with_both_key_forms_is_refused() {
    let signer = signer(Algorithm::Es256, 87);
    let jwks = JwkSet {
        keys: vec![signer.public_jwk().clone()],
    }
    .to_value();
    for bad in [
        |_: &str, jwks: &Value| json!({"issuer": "https://evil.example", "jwks": jwks}),
        |o: &str, jwks: &Value| json!({"issuer": format!("{o}/issuers/acme"), "jwks": jwks, "jwks_uri": format!("{o}/jwks")}),
        |o: &str, _: &Value| json!({"issuer": format!("{o}/issuers/acme")}),
    ] {
        let j = jwks.clone();
        let (origin, _) = metadata_server(move |o| bad(o, &j)).await;
        let iss = format!("{origin}/issuers/acme");
        let policy = IssuerTrustPolicy::new(vec![iss.clone()]).with_metadata_fetcher(
            Fetcher::new(FetchPolicy::from_allow_list(&origin).unwrap()).unwrap(),
        );
        let sd_jwt = sd_jwt_vc::issue(
            &claims(Some(&iss)),
            &Frame::new(),
            &signer,
            &SeededRandom::new(1),
        )
        .await
        .unwrap()
        .compact;
        assert!(matches!(
            verify_with(&policy, &sd_jwt).await,
            Err(Error::UntrustedKey(_))
        ));
    }
}

#[tokio::test]
async fn issuer_metadata_on_loopback_is_refused_unless_allow_listed() {
    let signer = signer(Algorithm::Es256, 88);
    let jwks = JwkSet {
        keys: vec![signer.public_jwk().clone()],
    }
    .to_value();
    let (origin, hits) =
        metadata_server(move |o| json!({"issuer": format!("{o}/issuers/acme"), "jwks": jwks}))
            .await;
    let iss = format!("{origin}/issuers/acme");
    let policy = IssuerTrustPolicy::new(vec![iss.clone()])
        .with_metadata_fetcher(Fetcher::new(FetchPolicy::default()).unwrap());
    let sd_jwt = sd_jwt_vc::issue(
        &claims(Some(&iss)),
        &Frame::new(),
        &signer,
        &SeededRandom::new(1),
    )
    .await
    .unwrap()
    .compact;
    assert!(matches!(
        verify_with(&policy, &sd_jwt).await,
        Err(Error::Fetch(_))
    ));
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}
