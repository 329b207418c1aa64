//! The management API's signing-key shapes (contract-next "Signing keys"), shared by the
//! issuer (`/api/v1/issuers/{issuer}/keys`) and the verifier
//! (`/api/v1/verifiers/{verifier}/keys`), which answer the same three calls and depend on
//! neither each other: the bodies, when a new key starts signing, and the `pkcs11` reference.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vdc_core::time::UnixTime;
use vdc_core::vc_jose::{format_date_time_stamp, parse_date_time_stamp};

/// How far ahead a rotation may be scheduled.
pub const MAX_ACTIVATION_DELAY_SECS: i64 = 366 * 24 * 3600;

/// `POST /api/v1/issuers/{issuer}/keys`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"activate": false, "activate_at": "2027-01-01T00:00:00Z"}))]
pub struct CreateKey {
    /// Whether the key signs at once (default `true`); `false` with `activate_at`.
    #[serde(default)]
    pub activate: Option<bool>,
    /// When the key starts signing (RFC 3339, in the future, at most a year ahead); the
    /// key is `next` until then.
    #[serde(default)]
    pub activate_at: Option<String>,
    /// A private JWK to import (P-256 for ES256, Ed25519 for EdDSA: the issuer's
    /// `signing_alg`); generated when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwk: Option<Value>,
    /// The certificate chain of the imported key (standard base64 DER, leaf first).
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    /// A key in a PKCS#11 token (`module`, `token_label`, `key_label`, `pin_env`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub pkcs11: Option<Value>,
}

/// The answer to `POST …/keys`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyCreated {
    /// The key id (the JWS `kid`, the key's RFC 7638 thumbprint).
    pub kid: String,
    /// `next` or `active`.
    pub state: String,
    /// When the key was added.
    pub created_at: String,
    /// When it starts signing (vdc addition).
    pub activate_at: String,
}

/// One key in `GET …/keys`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyItem {
    /// The key id.
    pub kid: String,
    /// `next`, `active` or `retired`.
    pub state: String,
    /// When the key was added.
    pub created_at: String,
    /// When it stops (or stopped) signing; `null` while no successor is scheduled.
    pub retired_at: Option<String>,
    /// Until when it stays published (JWT VC Issuer Metadata, x5c trust material): the
    /// latest expiry of what it may have signed; `null` while it has no end (or when it
    /// signed a credential that never expires).
    pub published_until: Option<String>,
    /// When it starts (or started) signing (vdc addition).
    pub activate_at: String,
    /// The JWS algorithm (vdc addition).
    pub alg: String,
}

/// `GET …/keys`: oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    /// The keys in activation order.
    pub items: Vec<KeyItem>,
}

pub fn time(t: UnixTime) -> String {
    format_date_time_stamp(t)
}

/// A time that is the end of everything (a credential that never expires) shows as
/// `null`, like a key without an end.
pub fn bounded(t: Option<UnixTime>) -> Option<String> {
    t.filter(|t| t.secs() < i64::MAX / 2).map(time)
}

fn bad(m: &str) -> String {
    m.to_owned()
}

/// When a rotation's key starts signing: now (`activate` true or absent), or at a future
/// `activate_at` (with `activate: false` or absent).
pub fn activation(req: &CreateKey, now: UnixTime) -> Result<UnixTime, String> {
    match (req.activate, &req.activate_at) {
        (Some(true), Some(_)) => Err(bad(
            "activate: true activates at once; give activate_at with activate: false",
        )),
        (None | Some(true), None) => Ok(now),
        (Some(false), None) => Err(bad(
            "activate: false needs activate_at (when the key starts signing)",
        )),
        (_, Some(at)) => {
            let at = parse_date_time_stamp(at)
                .map_err(|e| format!("activate_at: not an RFC 3339 date-time: {e}"))?;
            if at <= now {
                return Err(bad(
                    "activate_at is not in the future: use activate: true to activate at once",
                ));
            }
            if at.secs() - now.secs() > MAX_ACTIVATION_DELAY_SECS {
                return Err(bad("activate_at is more than a year ahead"));
            }
            Ok(at)
        }
    }
}

/// The PIN comes from the environment of every instance, under a name with this prefix: the
/// API names the variable, never the PIN, and cannot point at another secret (`VDC_KEK`).
pub const PIN_ENV_PREFIX: &str = "VDC_PKCS11_PIN";

/// Checks a `pkcs11` member: `module`, `token_label`, `key_label` (1 to 128 characters
/// each), `pin_env` (`VDC_PKCS11_PIN[_A-Z0-9]*`), optional `generate`; nothing else. The
/// reference to store (without `generate`) and whether to generate.
pub fn pkcs11_reference(v: &Value) -> Result<(Value, bool), String> {
    let Value::Object(m) = v else {
        return Err(bad("pkcs11 must be an object"));
    };
    for k in m.keys() {
        if !["module", "token_label", "key_label", "pin_env", "generate"].contains(&k.as_str()) {
            return Err(format!("pkcs11: unknown member {k}"));
        }
    }
    let text = |name: &str| -> Result<String, String> {
        match m.get(name) {
            Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 128 => Ok(s.clone()),
            _ => Err(format!(
                "pkcs11.{name} must be a string of 1 to 128 characters"
            )),
        }
    };
    let (module, token_label, key_label, pin_env) = (
        text("module")?,
        text("token_label")?,
        text("key_label")?,
        text("pin_env")?,
    );
    let rest = pin_env.strip_prefix(PIN_ENV_PREFIX).unwrap_or("!");
    if !(rest.is_empty() || rest.starts_with('_'))
        || !rest
            .chars()
            .all(|c| c == '_' || c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(format!(
            "pkcs11.pin_env must be an environment variable named {PIN_ENV_PREFIX} or {PIN_ENV_PREFIX}_<NAME>"
        ));
    }
    let generate = match m.get("generate") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("pkcs11.generate must be a boolean")),
    };
    Ok((
        json!({"module": module, "token_label": token_label, "key_label": key_label, "pin_env": pin_env}),
        generate,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(activate: Option<bool>, at: Option<&str>) -> CreateKey {
        CreateKey {
            activate,
            activate_at: at.map(str::to_owned),
            jwk: None,
            x5c: None,
            pkcs11: None,
        }
    }

    #[test]
    fn activation_is_now_or_a_bounded_future_time() {
        let now = parse_date_time_stamp("2026-12-04T00:00:00Z").unwrap();
        assert_eq!(activation(&req(None, None), now).unwrap(), now);
        assert_eq!(activation(&req(Some(true), None), now).unwrap(), now);
        let at = activation(&req(Some(false), Some("2026-12-05T00:00:00Z")), now).unwrap();
        assert_eq!(at.secs() - now.secs(), 86_400);
        assert!(activation(&req(None, Some("2026-12-05T00:00:00Z")), now).is_ok());
        for (a, t) in [
            (Some(false), None),
            (Some(true), Some("2026-12-05T00:00:00Z")),
            (None, Some("2026-12-03T00:00:00Z")),
            (None, Some("2026-12-04T00:00:00Z")),
            (None, Some("2028-12-05T00:00:00Z")),
            (None, Some("tomorrow")),
            (None, Some("2026-12-05T00:00:00")),
        ] {
            assert!(activation(&req(a, t), now).is_err(), "{a:?} {t:?}");
        }
    }

    #[test]
    fn pkcs11_references_name_a_pin_variable_and_nothing_else() {
        let ok = json!({"module": "/usr/lib/softhsm/libsofthsm2.so", "token_label": "t",
            "key_label": "k", "pin_env": "VDC_PKCS11_PIN_HSM1", "generate": true});
        let (reference, generate) = pkcs11_reference(&ok).unwrap();
        assert!(generate);
        assert_eq!(reference.get("generate"), None);
        for bad in [
            json!({"module": "m", "token_label": "t", "key_label": "k", "pin_env": "VDC_KEK"}),
            json!({"module": "m", "token_label": "t", "key_label": "k", "pin_env": "VDC_PKCS11_PINX"}),
            json!({"module": "m", "token_label": "t", "key_label": "k", "pin_env": "VDC_PKCS11_PIN", "pin": "1234"}),
            json!({"module": "", "token_label": "t", "key_label": "k", "pin_env": "VDC_PKCS11_PIN"}),
            json!("VDC_PKCS11_PIN"),
        ] {
            assert!(pkcs11_reference(&bad).is_err(), "{bad}");
        }
    }
}
