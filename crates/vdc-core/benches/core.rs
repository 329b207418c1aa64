//! Criterion benchmarks for the credential core's hot paths (one core).
//!
//! Run: `cargo bench -p vdc-core --bench core`. The credential shape for the SD-JWT VC
//! benchmarks: 10 selectively disclosable leaf claims (8 top-level, 2 inside a nested
//! `address` object that is itself disclosable), a second nested object (`employer`) and an
//! array of 2 disclosable elements, `cnf` with a P-256 key, ES256 issuer key.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, LocalSigner, Signer, SigningKey};
use vdc_core::rng::SystemRandom;
use vdc_core::sd_jwt::{self, Frame, KeyBindingInput, KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::sd_jwt_vc::{self, SdJwtVcClaims};
use vdc_core::time::UnixTime;

/// Our signers never suspend, so one poll completes the future; a runtime would only add
/// its own overhead to what is measured.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

const NOW: i64 = 1_763_800_000;

fn bench_claims(holder: &LocalSigner) -> SdJwtVcClaims {
    let claims: Map<String, Value> = json!({
        "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.com",
        "phone_number": "+44 20 7946 0000", "birthdate": "1815-12-10", "employee_id": "E-1",
        "department": "Analytical Engines", "title": "Countess",
        "address": {"street_address": "12 St James's Square", "locality": "London", "country": "GB"},
        "employer": {"name": "ACME", "site": "London"},
        "nationalities": ["GB", "IT"]
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    SdJwtVcClaims {
        iss: Some("https://issuer.example/issuers/acme".into()),
        vct: "https://acme.example/vct/employee-badge".into(),
        iat: Some(UnixTime(NOW)),
        nbf: None,
        exp: Some(UnixTime(NOW + 31_536_000)),
        holder_key: Some(holder.public_jwk().key.clone()),
        status: Some(
            json!({"status_list": {"idx": 4711, "uri": "https://issuer.example/status/1"}}),
        ),
        claims,
    }
}

fn bench_frame() -> Frame {
    let paths: Vec<ClaimPath> = [
        json!(["given_name"]),
        json!(["family_name"]),
        json!(["email"]),
        json!(["phone_number"]),
        json!(["birthdate"]),
        json!(["employee_id"]),
        json!(["department"]),
        json!(["title"]),
        json!(["address", "street_address"]),
        json!(["address", "locality"]),
        json!(["nationalities", null]),
    ]
    .iter()
    .filter_map(|p| ClaimPath::from_value(p).ok())
    .collect();
    Frame::from_paths(&paths).unwrap_or_default()
}

fn benches(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let issuer = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let holder = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let ed = SigningKey::generate(Algorithm::EdDsa, &rng).unwrap();
    let msg = b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0";

    c.bench_function("es256_sign", |b| {
        b.iter(|| issuer.key().sign_sync(msg).unwrap())
    });
    let sig = issuer.key().sign_sync(msg).unwrap();
    let public = issuer.public_jwk().key.clone();
    c.bench_function("es256_verify", |b| {
        b.iter(|| public.verify(Algorithm::Es256, msg, &sig).unwrap())
    });
    let ed_sig = ed.sign_sync(msg).unwrap();
    c.bench_function("eddsa_verify", |b| {
        b.iter(|| {
            ed.public_key()
                .verify(Algorithm::EdDsa, msg, &ed_sig)
                .unwrap()
        })
    });

    let claims = bench_claims(&holder);
    let frame = bench_frame();
    c.bench_function("sd_jwt_vc_issue", |b| {
        b.iter(|| run(sd_jwt_vc::issue(&claims, &frame, &issuer, &rng)).unwrap())
    });

    let issued = run(sd_jwt_vc::issue(&claims, &frame, &issuer, &rng)).unwrap();
    let sd = SdJwt::parse(&issued.compact).unwrap();
    let wanted: Vec<ClaimPath> = [
        json!(["given_name"]),
        json!(["employee_id"]),
        json!(["address", "locality"]),
    ]
    .iter()
    .filter_map(|p| ClaimPath::from_value(p).ok())
    .collect();
    let kb = KeyBindingInput {
        signer: &holder,
        aud: "x509_san_dns:rp.example",
        nonce: "n-0S6_WzA2Mj",
        iat: UnixTime(NOW),
    };
    c.bench_function("sd_jwt_vc_present_kb", |b| {
        b.iter(|| {
            let chosen = sd_jwt::select_disclosures(&sd, &wanted).unwrap();
            run(sd_jwt::present(&sd, chosen, Some(kb))).unwrap()
        })
    });

    let chosen = sd_jwt::select_disclosures(&sd, &wanted).unwrap();
    let presentation = run(sd_jwt::present(&sd, chosen, Some(kb))).unwrap();
    let policy = AlgorithmPolicy::default();
    let trust =
        sd_jwt_vc::IssuerTrustPolicy::new(vec!["https://issuer.example/issuers/acme".into()]).pin(
            "https://issuer.example/issuers/acme",
            vdc_core::jose::JwkSet {
                keys: vec![issuer.public_jwk().clone()],
            },
        );
    let opts = VerifyOptions {
        policy: &policy,
        now: UnixTime(NOW),
        time_rules: TimeRules::default(),
        key_binding: KeyBindingRequirement::Required {
            aud: "x509_san_dns:rp.example",
            nonce: "n-0S6_WzA2Mj",
            max_age_secs: 300,
        },
    };
    c.bench_function("sd_jwt_vc_verify_kb", |b| {
        b.iter(|| run(sd_jwt_vc::verify(&presentation, &trust, &opts)).unwrap())
    });
}

criterion_group!(core, benches);
criterion_main!(core);
