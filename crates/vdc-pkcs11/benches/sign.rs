//! ES256 signing throughput: a key in SoftHSM2 (through this crate, on tokio's blocking
//! pool as the server signs) beside the in-memory software signer, over one 200-byte
//! message. Needs SOFTHSM2_CONF and VDC_PKCS11_PIN_TEST as scripts/test.sh sets them:
//!
//!   cargo bench -p vdc-pkcs11 --bench sign

// Tests fail loudly by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use vdc_core::jose::{Algorithm, LocalSigner, Signer, SigningKey};
use vdc_pkcs11::Token;
use vdc_pkcs11::softhsm::{MODULE, new_token, user_pin};

fn sign(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let message = [7u8; 200];
    let token = Token::open(Path::new(MODULE), &new_token("bench"), &user_pin()).expect("token");
    let hsm = token.generate(Algorithm::Es256, "bench").expect("key");
    let software = LocalSigner::new(
        SigningKey::generate(Algorithm::Es256, &vdc_core::rng::SystemRandom::new()).expect("key"),
    );
    let mut group = c.benchmark_group("es256_sign");
    group.bench_function("softhsm2", |b| {
        b.iter(|| rt.block_on(hsm.sign(&message)).expect("sign"))
    });
    group.bench_function("software", |b| {
        b.iter(|| rt.block_on(software.sign(&message)).expect("sign"))
    });
    group.finish();
}

criterion_group!(benches, sign);
criterion_main!(benches);
