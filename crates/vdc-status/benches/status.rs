//! Criterion benchmarks for status lists (one core).
//!
//! Run: `cargo bench -p vdc-status --bench status`. The issuer-side workload: a
//! 1,000,000-entry 1-bit Token Status List with 1% revoked (10,000 indexes drawn from a
//! seeded RNG, duplicates possible), built, compressed and signed (ES256) as a
//! `statuslist+jwt`, at the default level and at level 9. The relying-party workload:
//! reading statuses at random indexes from a cached, decompressed list, both from an
//! `Arc<StatusList>` snapshot and through `StatusListClient::status` on a cache hit.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vdc_core::fetch::{FetchPolicy, Fetcher};
use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, Signer, SigningKey};
use vdc_core::rng::{RandomSource, SeededRandom};
use vdc_core::sd_jwt_vc::IssuerTrustPolicy;
use vdc_core::time::{FixedClock, UnixTime};
use vdc_status::{
    BEST_LEVEL, DEFAULT_LEVEL, INVALID, StatusList, StatusListClient, StatusListSource,
    StatusReference, sign_status_list_token,
};

const ENTRIES: usize = 1_000_000;
const REVOKED: usize = ENTRIES / 100;
const NOW: i64 = 1_763_800_000;
const ISSUER: &str = "https://issuer.example";
const URI: &str = "https://issuer.example/statuslists/1";

/// The signer and the lookup path never suspend, so one poll completes the future; a
/// runtime would only add its own overhead to what is measured.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// `n` indexes below `bound` from a seeded RNG (the same draw as the size unit test in
/// `status_list.rs`: little-endian u32 modulo `bound`).
fn seeded_indexes(seed: u64, n: usize, bound: usize) -> Vec<usize> {
    let rng = SeededRandom::new(seed);
    let mut buf = vec![0u8; n * 4];
    rng.fill(&mut buf).unwrap_or_default();
    buf.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize % bound)
        .collect()
}

fn build(indexes: &[usize]) -> StatusList {
    let mut list = StatusList::new(ENTRIES, 1).unwrap_or_else(|_| unreachable!());
    for &i in indexes {
        let _ = list.set(i, INVALID);
    }
    list
}

fn signer() -> LocalSigner {
    let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(1));
    LocalSigner::new(key.unwrap_or_else(|_| unreachable!()))
}

async fn sign(list: &StatusList, level: u32, signer: &LocalSigner) -> String {
    sign_status_list_token(
        list,
        URI,
        ISSUER,
        UnixTime(NOW),
        UnixTime(NOW + 86_400),
        3600,
        level,
        None,
        signer,
    )
    .await
    .unwrap_or_default()
}

fn issuer(c: &mut Criterion) {
    let indexes = seeded_indexes(2024, REVOKED, ENTRIES);
    let signer = signer();
    let list = build(&indexes);
    for level in [DEFAULT_LEVEL, BEST_LEVEL] {
        let compressed = list.encode(level).map(|z| z.len()).unwrap_or(0);
        let token = run(sign(&list, level, &signer));
        println!(
            "status list 1,000,000 x 1 bit, 1% revoked, level {level}: {compressed} bytes \
             compressed, {} bytes token",
            token.len()
        );
    }
    let mut g = c.benchmark_group("issuer_1m_1pct");
    g.sample_size(20);
    for level in [DEFAULT_LEVEL, BEST_LEVEL] {
        g.bench_function(format!("build_compress_sign/level_{level}"), |b| {
            b.iter(|| {
                let list = build(black_box(&indexes));
                run(sign(&list, level, &signer))
            })
        });
    }
    g.bench_function("compress_only/level_default", |b| {
        b.iter(|| list.encode(DEFAULT_LEVEL))
    });
    g.finish();
}

#[derive(Debug)]
struct Local(String);

#[async_trait]
impl StatusListSource for Local {
    async fn token(&self, uri: &str) -> vdc_status::Result<Option<String>> {
        Ok((uri == URI).then(|| self.0.clone()))
    }
}

fn relying_party(c: &mut Criterion) {
    let signer = signer();
    let list = build(&seeded_indexes(2024, REVOKED, ENTRIES));
    let token = run(sign(&list, DEFAULT_LEVEL, &signer));
    let trust = IssuerTrustPolicy::new(vec![ISSUER.into()]).pin(
        ISSUER,
        JwkSet {
            keys: vec![signer.public_jwk().clone()],
        },
    );
    let Ok(fetcher) = Fetcher::new(FetchPolicy::default()) else {
        return;
    };
    let client = StatusListClient::new(fetcher, Arc::new(trust), Arc::new(FixedClock::at(NOW)))
        .with_local_source(Arc::new(Local(token)));
    // Fill the cache (verifies and inflates once).
    let Ok(snapshot) = run(client.list(URI, Some(ISSUER))) else {
        return;
    };
    let probes = seeded_indexes(7, 4096, ENTRIES);
    let references: Vec<StatusReference> = probes
        .iter()
        .filter_map(|&i| StatusReference::new(i as u64, URI).ok())
        .collect();

    let mut g = c.benchmark_group("relying_party_cached");
    g.throughput(Throughput::Elements(probes.len() as u64));
    g.bench_function("snapshot_get", |b| {
        b.iter(|| {
            let mut revoked = 0u32;
            for &i in black_box(&probes) {
                revoked += u32::from(snapshot.get(i).unwrap_or(1));
            }
            revoked
        })
    });
    g.bench_function("client_cached_then_get", |b| {
        b.iter(|| {
            let mut revoked = 0u32;
            for &i in black_box(&probes) {
                if let Some(l) = client.cached(URI) {
                    revoked += u32::from(l.get(i).unwrap_or(1));
                }
            }
            revoked
        })
    });
    g.bench_function("client_status_cache_hit", |b| {
        b.iter(|| {
            let mut revoked = 0u32;
            for r in black_box(&references) {
                revoked += u32::from(run(client.status(r, Some(ISSUER))).unwrap_or(1));
            }
            revoked
        })
    });
    g.finish();
}

criterion_group!(benches, issuer, relying_party);
criterion_main!(benches);
