//! Compact JWS (RFC 7515 §7.1): `jws::decode` and everything a caller does with a decoded
//! token (typ check, signature check, time claims).
//!
//! Input: first byte 0 → the rest is a compact JWS as text. Otherwise the rest is
//! `header NUL payload` (raw JSON bytes) that the harness signs with the fixed issuer key,
//! so the checks after the signature are reached too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::jose::jws::{self, TimeRules};
use vdc_fuzz_common as h;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let token = if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let parts = h::split(rest, 2);
        let [header, payload] = parts[..] else {
            return;
        };
        h::sign_compact(header, payload, h::issuer_key())
    };
    let Ok(jws) = jws::decode(&token) else {
        return;
    };
    let _ = jws.algorithm();
    let _ = jws.kid();
    for typ in [
        "JWT",
        "dc+sd-jwt",
        "kb+jwt",
        "openid4vci-proof+jwt",
        "statuslist+jwt",
    ] {
        let _ = jws.expect_typ(typ);
    }
    let verified = jws.verify(h::issuer_public(), h::policy());
    if mode != 0 && jws.header_str("alg") == Some("EdDSA") {
        // The harness signed exactly this signing input with this (Ed25519) key.
        assert!(verified.is_ok(), "harness-signed JWS refused: {verified:?}");
    }
    for name in ["exp", "nbf", "iat"] {
        let _ = jws::numeric_date(&jws.payload, name);
    }
    let strict = TimeRules {
        skew: 60,
        require_exp: true,
        require_iat: true,
        max_iat_age: Some(300),
    };
    let _ = jws::check_times(&jws.payload, h::NOW, strict);
    let _ = jws::check_times(&jws.payload, h::NOW, TimeRules::default());
});
