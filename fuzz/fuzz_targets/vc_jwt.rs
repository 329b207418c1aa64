//! W3C VC Data Model 2.0 secured with JOSE (`vc+jwt`, `vp+jwt`; OID4VP `jwt_vc_json`):
//! `verify_vc_jwt`, `verify_vp_jwt`, the data model checks and `dateTimeStamp` parsing.
//!
//! Input: the first byte picks the mode.
//! - 0: a `vc+jwt` or `vp+jwt` as text;
//! - 1: a credential payload (raw JSON) signed by the harness as `vc+jwt`;
//! - 2: a presentation payload (raw JSON) signed by the harness (holder key) as `vp+jwt`;
//! - 3: a `dateTimeStamp` as text; a parsed one must format and parse to the same time.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vdc_core::vc_jose::{self, format_date_time_stamp, parse_date_time_stamp};
use vdc_fuzz_common as h;

const VC_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"vc+jwt"}"#;
const VP_HEADER: &[u8] = br#"{"alg":"EdDSA","typ":"vp+jwt"}"#;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                vc(text);
                vp(text);
            }
        }
        1 => vc(&h::sign_compact(VC_HEADER, rest, h::issuer_key())),
        2 => vp(&h::sign_compact(VP_HEADER, rest, h::holder_key())),
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(t) = parse_date_time_stamp(text) {
                let shown = format_date_time_stamp(t);
                assert_eq!(
                    parse_date_time_stamp(&shown).ok(),
                    Some(t),
                    "dateTimeStamp {shown} does not parse back"
                );
            }
        }
    }
});

fn vc(token: &str) {
    let _ = vc_jose::verify_vc_jwt(token, h::issuer_public(), h::policy(), h::NOW, 60);
}

fn vp(token: &str) {
    let holder = h::holder_key().public_key();
    if let Ok(v) = vc_jose::verify_vp_jwt(
        token,
        holder,
        h::policy(),
        h::AUDIENCE,
        h::NONCE,
        h::NOW,
        300,
    ) {
        for vc_jwt in &v.vc_jwts {
            vc(vc_jwt);
        }
    }
}
