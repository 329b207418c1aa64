//! What the fuzz targets share, and what the seed writer uses to make their seeds.
//!
//! Determinism: nothing here reads the clock, the network or the OS RNG on the paths the
//! targets call. Time is [`NOW`]; keys come from fixed seeds; Ed25519 signatures are
//! deterministic (RFC 8032), so a seed written by `write_seeds` is the same on every run.
//!
//! Signed inputs: a mutated token almost never carries a valid signature, so libFuzzer
//! would only ever see the signature check. Each target that verifies a signature also has a
//! "re-signed" mode: the input holds the raw header and payload bytes, the harness signs
//! them with a fixed key the target then trusts, and the fuzzer reaches every check behind
//! the signature (claims, disclosures, key binding, status list inflation).

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, PublicKey, SigningKey};
use vdc_core::sd_jwt_vc::{IssuerKeyResolver, KeyMechanism, ResolvedIssuerKey};
use vdc_core::time::UnixTime;

/// The time every target checks against (2025-06-15T15:06:40Z).
pub const NOW: UnixTime = UnixTime(1_750_000_000);

/// The issuer whose key [`FixedResolver`] hands out.
pub const ISSUER: &str = "https://issuer.example";

/// The audience / client id the targets expect.
pub const AUDIENCE: &str = "https://verifier.example";

/// The nonce the targets expect.
pub const NONCE: &str = "n-0S6_WzA2Mj";

/// The status list `uri` the status list target expects as `sub`.
pub const STATUS_URI: &str = "https://issuer.example/statuslists/1";

/// Separates the parts of a structured input. JSON text cannot contain a raw NUL (RFC 8259
/// §7: control characters are escaped), nor can base64url or compact serializations.
pub const SEP: u8 = 0;

/// The issuer's signing key (Ed25519, fixed seed).
pub fn issuer_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| ed25519(ISSUER_SEED))
}

/// The seed bytes of [`issuer_key`] and [`holder_key`] (each repeated 32 times).
pub const ISSUER_SEED: u8 = 7;
/// See [`ISSUER_SEED`].
pub const HOLDER_SEED: u8 = 9;

/// The holder's signing key (Ed25519, fixed seed): the `cnf` key of SD-JWT seeds, the key
/// proof key.
pub fn holder_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(|| ed25519(HOLDER_SEED))
}

/// An Ed25519 key whose seed is `fill` repeated (an owned copy, for `LocalSigner`).
pub fn ed25519(fill: u8) -> SigningKey {
    match SigningKey::ed25519_from_seed(&[fill; 32]) {
        Ok(k) => k,
        // A 32-byte seed is always accepted; a failure here is a harness bug, not a finding.
        Err(e) => panic!("fixed Ed25519 seed refused: {e}"),
    }
}

/// The algorithms every target allows (both that vdc implements).
pub fn policy() -> &'static AlgorithmPolicy {
    static POLICY: OnceLock<AlgorithmPolicy> = OnceLock::new();
    POLICY.get_or_init(|| AlgorithmPolicy::only(&[Algorithm::EdDsa, Algorithm::Es256]))
}

/// `base64url(header) . base64url(payload) . base64url(signature)`, signed by `key` over
/// exactly these bytes (not re-serialized, so duplicate members and odd spacing survive
/// to the parser).
pub fn sign_compact(header: &[u8], payload: &[u8], key: &SigningKey) -> String {
    let mut out = base64url::encode(header);
    out.push('.');
    base64url::encode_into(payload, &mut out);
    let sig = match key.sign_sync(out.as_bytes()) {
        Ok(s) => s,
        Err(e) => panic!("Ed25519 signing failed: {e}"),
    };
    out.push('.');
    base64url::encode_into(sig, &mut out);
    out
}

/// [`sign_compact`] of two JSON values (for seeds).
pub fn sign_json(header: &Value, payload: &Value, key: &SigningKey) -> String {
    sign_compact(
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
        key,
    )
}

/// The public JWK members of `key` (for `jwk` headers and `cnf`).
pub fn jwk_of(key: &SigningKey) -> Value {
    Value::Object(key.public_key().to_jwk_members())
}

/// Splits a structured input at [`SEP`] into at most `n` parts (the last keeps the rest).
pub fn split(data: &[u8], n: usize) -> Vec<&[u8]> {
    data.splitn(n, |b| *b == SEP).collect()
}

/// Runs a future that never waits on I/O or timers (the targets' resolvers answer at once)
/// by polling it once. `None` if it was pending: a harness bug, reported by the caller.
pub fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// [`poll_once`], panicking when the future was pending (the harness itself is wrong then).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    match poll_once(fut) {
        Some(v) => v,
        None => panic!("harness future was pending: it must not wait on I/O"),
    }
}

/// An issuer key resolver that trusts [`issuer_key`] for [`ISSUER`] whatever the token
/// says: the targets test what comes after key resolution, the resolvers have their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedResolver;

#[async_trait]
impl IssuerKeyResolver for FixedResolver {
    async fn resolve(
        &self,
        _header: &Map<String, Value>,
        _payload: &Map<String, Value>,
    ) -> vdc_core::Result<ResolvedIssuerKey> {
        Ok(ResolvedIssuerKey {
            key: issuer_public().clone(),
            issuer: ISSUER.into(),
            mechanism: KeyMechanism::Pinned,
        })
    }
}

/// The public half of [`issuer_key`].
pub fn issuer_public() -> &'static PublicKey {
    issuer_key().public_key()
}

/// The decrypting side's static P-256 key for the JWE target (fixed scalar).
pub fn ecdh_key() -> &'static vdc_core::jose::jwe::EcdhPrivateKey {
    static KEY: OnceLock<vdc_core::jose::jwe::EcdhPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        match vdc_core::jose::jwe::EcdhPrivateKey::from_scalar(&[3; 32]) {
            Ok(k) => k,
            // 0x0303...03 is in [1, n): refusing it is a harness bug, not a finding.
            Err(e) => panic!("fixed P-256 scalar refused: {e}"),
        }
    })
}
