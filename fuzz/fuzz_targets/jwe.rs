//! Compact JWE (RFC 7516, `alg: ECDH-ES`, AES-GCM, optional `zip: DEF`):
//! `jwe::protected_header`, `jwe::decrypt` and `jwe::decrypt_with` with a fixed static key,
//! as a verifier decrypts `direct_post.jwt` responses, an issuer decrypts OID4VCI §10
//! credential requests and a wallet decrypts credential responses.
//!
//! Input: first byte 0 → the rest is a compact JWE as text (the header is parsed and
//! checked before any decryption, so mutations of it are reached). Otherwise the byte picks
//! `enc` (bit 0) and `zip: DEF` (bit 1) and the rest is a plaintext the harness encrypts
//! (deterministic RNG) and decrypts: the round trip must give the plaintext back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::jose::jwe::{self, Compression, ContentEncryption, JweHeaderParams};
use vdc_core::rng::SeededRandom;
use vdc_fuzz_common as h;

const BOTH: [ContentEncryption; 2] = [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let key = h::ecdh_key();
    if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        let _ = jwe::protected_header(text);
        let _ = jwe::decrypt(text, key, &BOTH);
        let _ = jwe::decrypt(text, key, &BOTH[..1]);
        let _ = jwe::decrypt_with(text, key, &BOTH, &[Compression::Deflate]);
        return;
    }
    let enc = BOTH[usize::from(mode & 1)];
    let zip = (mode & 2 != 0).then_some(Compression::Deflate);
    let params = JweHeaderParams {
        kid: Some("k1".into()),
        apu: Some(rest.iter().take(8).copied().collect()),
        apv: None,
        typ: None,
        cty: None,
        zip,
    };
    let rng = SeededRandom::new(u64::from(mode));
    let token = jwe::encrypt(rest, key.public_key(), enc, params, &rng);
    let token = match token {
        Ok(t) => t,
        Err(e) => panic!("encrypting {} bytes failed: {e}", rest.len()),
    };
    let decrypted = match zip {
        None => jwe::decrypt(&token, key, &BOTH),
        Some(z) => jwe::decrypt_with(&token, key, &BOTH, &[z]),
    };
    match decrypted {
        Ok(d) => assert_eq!(d.plaintext, rest, "JWE round trip changed the plaintext"),
        Err(e) => panic!("harness-made JWE refused: {e}"),
    }
});
