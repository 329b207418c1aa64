//! Criterion: the verifier's check of one SD-JWT VC presentation with KB-JWT (one core):
//! issuer key through the verifier's policy (this deployment's issuer, in process), every
//! RFC 9901 rule, the KB-JWT, DCQL `vct` and claims, status (an in-memory answer) and the
//! disclosed-claims result. Target (credential core issue): at least 5,200/s per core.
//!
//! Run: `cargo bench -p vdc-verifier --bench verify`.

// A benchmark that hits an error must stop loudly; unwrap is the point here.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::rng::SystemRandom;
use vdc_core::sd_jwt::{self, Frame, KeyBindingInput, SdJwt};
use vdc_core::sd_jwt_vc::{self, SdJwtVcClaims};
use vdc_core::time::{FixedClock, UnixTime};
use vdc_status::{CredentialState, StatusChecker};
use vdc_verifier::dcql::DcqlQuery;
use vdc_verifier::trust::{DeploymentKeyResolver, LocalIssuers};
use vdc_verifier::{PresentationCheck, VerifierSettings, check_presentation};

/// Nothing here suspends, so one poll completes the future.
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
const ISS: &str = "https://issuer.example/issuers/acme";
const AUD: &str = "x509_san_dns:rp.example";
const NONCE: &str = "n-0S6_WzA2Mj";

#[derive(Debug)]
struct Local(JwkSet);

#[async_trait]
impl LocalIssuers for Local {
    async fn keys(&self, iss: &str) -> Option<JwkSet> {
        (iss == ISS).then(|| self.0.clone())
    }
}

#[derive(Debug)]
struct AllValid;

#[async_trait]
impl StatusChecker for AllValid {
    async fn check(&self, _: &Value, _: &str) -> vdc_status::Result<CredentialState> {
        Ok(CredentialState::Valid)
    }
}

fn benches(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let issuer = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let holder = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
    let claims: Map<String, Value> = json!({
        "given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1",
        "department": "Analytical Engines", "email": "ada@example.com"
    })
    .as_object()
    .cloned()
    .unwrap();
    let vc = SdJwtVcClaims {
        iss: Some(ISS.into()),
        vct: "https://acme.example/vct/employee-badge".into(),
        iat: Some(UnixTime(NOW)),
        nbf: None,
        exp: Some(UnixTime(NOW + 31_536_000)),
        holder_key: Some(holder.public_jwk().key.clone()),
        status: Some(
            json!({"status_list": {"idx": 4711, "uri": "https://issuer.example/status/1"}}),
        ),
        claims,
    };
    let paths: Vec<ClaimPath> = [
        "given_name",
        "family_name",
        "employee_id",
        "department",
        "email",
    ]
    .iter()
    .map(|n| ClaimPath::names(&[n]).unwrap())
    .collect();
    let frame = Frame::from_paths(&paths).unwrap();
    let issued = run(sd_jwt_vc::issue(&vc, &frame, &issuer, &rng)).unwrap();
    let sd = SdJwt::parse(&issued.compact).unwrap();
    let wanted = vec![
        ClaimPath::names(&["given_name"]).unwrap(),
        ClaimPath::names(&["employee_id"]).unwrap(),
    ];
    let chosen = sd_jwt::select_disclosures(&sd, &wanted).unwrap();
    let kb = KeyBindingInput {
        signer: &holder,
        aud: AUD,
        nonce: NONCE,
        iat: UnixTime(NOW),
    };
    let presentation = run(sd_jwt::present(&sd, chosen, Some(kb))).unwrap();
    let query = DcqlQuery::parse(
        &json!({"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://acme.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]}),
    )
    .unwrap();
    let local: Arc<dyn LocalIssuers> = Arc::new(Local(JwkSet {
        keys: vec![issuer.public_jwk().clone()],
    }));
    let resolver = DeploymentKeyResolver::new(
        local,
        Some(vec![ISS.into()]),
        None,
        Arc::new(FixedClock::at(NOW)),
    );
    let settings = VerifierSettings::default();
    let check = PresentationCheck {
        client_id: AUD,
        nonce: NONCE,
        resolver: &resolver,
        issuer_chains: None,
        status: &AllValid,
        settings: &settings,
        now: UnixTime(NOW),
        require_status: false,
        transaction_data: &[],
    };
    let out = run(check_presentation(
        &check,
        &query.credentials[0],
        &presentation,
    ))
    .unwrap();
    assert_eq!(
        out.claims,
        json!({"given_name": "Ada", "employee_id": "E-1"})
    );
    c.bench_function("verifier_check_sd_jwt_vc_kb", |b| {
        b.iter(|| {
            run(check_presentation(
                &check,
                &query.credentials[0],
                &presentation,
            ))
            .unwrap()
        })
    });
}

criterion_group!(verify, benches);
criterion_main!(verify);
