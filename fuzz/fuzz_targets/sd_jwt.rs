//! SD-JWT (RFC 9901) and SD-JWT VC presentations with a Key Binding JWT: `SdJwt::parse`,
//! `Disclosure::parse`, `unpack_payload`, `SdJwt::verify` with and without key binding,
//! `sd_jwt_vc::verify` and the holder's `select_disclosures`.
//!
//! Input: first byte 0 → the rest is a presentation as text. Otherwise the rest is
//! `payload NUL disclosures NUL kb_payload`: the harness signs `payload` (raw JSON bytes) as
//! the issuer, appends `disclosures` verbatim (the `~`-separated text, trailing `~`
//! included), and, when a third part is present, signs it as the KB-JWT with the holder key,
//! adding the right `sd_hash` when the part is an object without one. So disclosure
//! hashing, unpacking and every key binding check are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vdc_core::claims_path::ClaimPath;
use vdc_core::jose::jws::TimeRules;
use vdc_core::sd_jwt::{
    self, Disclosure, KeyBindingRequirement, SdJwt, VerifyOptions, unpack_payload,
};
use vdc_core::sd_jwt_vc;
use vdc_fuzz_common as h;

const ISSUER_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"dc+sd-jwt"}"#;
const KB_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"kb+jwt"}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = if mode == 0 {
        let Ok(text) = std::str::from_utf8(rest) else {
            return;
        };
        text.to_owned()
    } else {
        let parts = h::split(rest, 3);
        let (payload, disclosures, kb) = match parts[..] {
            [p, d] => (p, d, None),
            [p, d, kb] => (p, d, Some(kb)),
            _ => return,
        };
        let Ok(disclosures) = std::str::from_utf8(disclosures) else {
            return;
        };
        let issuer_jwt = h::sign_compact(ISSUER_HEADER, payload, h::issuer_key());
        let mut text = format!("{issuer_jwt}~{disclosures}");
        if let Some(kb) = kb {
            let kb = with_sd_hash(kb, &text);
            text.push_str(&h::sign_compact(KB_HEADER, &kb, h::holder_key()));
        }
        text
    };
    let Ok(sd) = SdJwt::parse(&text) else {
        return;
    };
    let _ = sd.serialize();
    let _ = sd.without_kb();
    let parsed: Vec<Disclosure> = sd
        .disclosures()
        .iter()
        .filter_map(|d| Disclosure::parse(d).ok())
        .collect();
    if let Ok(paths) = ClaimPath::names(&["address"]).map(|p| vec![p]) {
        let _ = sd_jwt::select_disclosures(&sd, &paths);
    }
    let Ok(issuer) = sd.issuer_jws() else {
        return;
    };
    let _ = unpack_payload(issuer.payload.clone(), &parsed);
    let policy = h::policy();
    let required = KeyBindingRequirement::Required {
        aud: h::AUDIENCE,
        nonce: h::NONCE,
        max_age_secs: 300,
    };
    for key_binding in [KeyBindingRequirement::NotRequired, required] {
        let opts = VerifyOptions {
            policy,
            now: h::NOW,
            time_rules: TimeRules::default(),
            key_binding,
        };
        let _ = sd.verify(&issuer, h::issuer_public(), &opts);
        let _ = h::block_on(sd_jwt_vc::verify(&text, &h::FixedResolver, &opts));
    }
});

/// The KB-JWT payload with `sd_hash` over `presented` (RFC 9901 §4.3.1) when it is a JSON
/// object without one; otherwise the bytes as they are.
fn with_sd_hash(kb: &[u8], presented: &str) -> Vec<u8> {
    match serde_json::from_slice::<Value>(kb) {
        Ok(Value::Object(mut m)) if !m.contains_key("sd_hash") => {
            m.insert("sd_hash".into(), sd_jwt::sha256_b64(presented).into());
            Value::Object(m).to_string().into_bytes()
        }
        _ => kb.to_vec(),
    }
}
