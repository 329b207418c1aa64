//! JWS Compact Serialization (RFC 7515 §7.1) with RFC 8725 header hygiene.
//!
//! [`decode`] only parses: it checks structure, strict JSON and `crit`, and returns a
//! [`Jws`] that is not yet trusted. Trust comes from [`Jws::verify`], which takes the key
//! from the caller (a trust decision made elsewhere) and the algorithm allow-list from local
//! policy; the header's `alg` must agree with both (G4, G5).

use serde_json::{Map, Value};

use super::alg::{Algorithm, AlgorithmPolicy, printable};
use super::jwk::PublicKey;
use super::signer::Signer;
use crate::base64url;
use crate::error::{Error, Result};
use crate::json;
use crate::time::UnixTime;

/// Largest compact JWS we parse (the issuer-signed part of an SD-JWT included).
pub const MAX_JWS_LEN: usize = 512 * 1024;
/// Largest decoded protected header (an `x5c` chain of a few certificates fits).
pub const MAX_HEADER_LEN: usize = 32 * 1024;

/// A parsed, unverified compact JWS whose payload is a JSON object (a JWT).
#[derive(Debug, Clone)]
pub struct Jws<'a> {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload claims.
    pub payload: Map<String, Value>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Parses a compact JWS without trusting it.
pub fn decode(token: &str) -> Result<Jws<'_>> {
    if token.len() > MAX_JWS_LEN {
        return Err(Error::TooLarge(format!("JWS over {MAX_JWS_LEN} bytes")));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::malformed("a compact JWS has exactly three parts"));
    };
    let header_bytes = base64url::decode(h)?;
    let header = json::parse_object(&header_bytes, MAX_HEADER_LEN)?;
    // Spec: RFC 7515 §4.1.11: a recipient MUST reject a JWS whose crit lists an extension
    // it does not understand. We understand none, so any crit is refused (this also refuses
    // the unencoded-payload option of RFC 7797).
    if let Some(crit) = header.get("crit") {
        let names = crit
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(printable)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        return Err(Error::UnsupportedCritical(names.join(",")));
    }
    match header.get("alg") {
        Some(Value::String(a)) => {
            Algorithm::from_name(a)?;
        }
        _ => return Err(Error::malformed("JOSE header needs a string alg")),
    }
    let payload = json::parse_object(&base64url::decode(p)?, MAX_JWS_LEN)?;
    let signature = base64url::decode(s)?;
    // `header.payload`: everything before the last `.` (exactly two dots, checked above).
    let signing_input = token.rsplit_once('.').map_or("", |(input, _)| input);
    Ok(Jws {
        header,
        payload,
        signing_input,
        signature,
    })
}

impl Jws<'_> {
    /// The header `alg`, which [`decode`] has already checked is a known asymmetric one.
    pub fn algorithm(&self) -> Result<Algorithm> {
        Algorithm::from_name(self.header_str("alg").unwrap_or_default())
    }

    /// A string header member.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string payload claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }

    /// The header `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    /// Verifies the signature with `key`. The header `alg` must be in `policy` and be the
    /// key's algorithm (RFC 8725 §3.1).
    pub fn verify(&self, key: &PublicKey, policy: &AlgorithmPolicy) -> Result<()> {
        let alg = policy.check(self.header_str("alg").unwrap_or_default())?;
        key.verify(alg, self.signing_input.as_bytes(), &self.signature)
    }

    /// Checks the header `typ` against the media type a spec fixes (RFC 8725 §3.11).
    pub fn expect_typ(&self, expected: &str) -> Result<()> {
        let found = self.header_str("typ");
        if found.is_some_and(|t| typ_matches(t, expected)) {
            Ok(())
        } else {
            Err(Error::UnexpectedType {
                expected: expected.into(),
                found: found.map(printable).unwrap_or_else(|| "(none)".into()),
            })
        }
    }

    /// The part of the token the signature covers (`header.payload`).
    pub fn signing_input(&self) -> &str {
        self.signing_input
    }
}

/// RFC 7515 §4.1.9: `typ` is compared case-insensitively and the `application/` prefix may
/// be left out.
pub fn typ_matches(found: &str, expected: &str) -> bool {
    media_subtype(found).eq_ignore_ascii_case(media_subtype(expected))
}

/// `typ` without an `application/` prefix (any case). Spec: RFC 7515 §4.1.9: "the
/// 'application/' prefix ... SHOULD be omitted ... recipients MUST treat" both forms alike.
/// Never slices by byte offset: `typ` is untrusted text, and a cut inside a multi-byte
/// character panics (G8).
fn media_subtype(typ: &str) -> &str {
    const PREFIX: &str = "application/";
    match typ.split_at_checked(PREFIX.len()) {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case(PREFIX) && !rest.is_empty() => rest,
        _ => typ,
    }
}

/// Signs `payload` (a JSON object) as a compact JWS. `alg` is set from the signer, so the
/// header can never claim an algorithm the key does not have; `kid` is set from the
/// signer's JWK when the caller's header carries none.
pub async fn sign(
    header: Map<String, Value>,
    payload: &Map<String, Value>,
    signer: &dyn Signer,
) -> Result<String> {
    sign_with_options(header, payload, signer, true).await
}

/// Like [`sign`], but `add_kid: false` leaves `kid` out unless the caller's header has one
/// (for JWTs verified with a key the verifier already holds, such as a KB-JWT).
pub async fn sign_with_options(
    mut header: Map<String, Value>,
    payload: &Map<String, Value>,
    signer: &dyn Signer,
    add_kid: bool,
) -> Result<String> {
    header.insert("alg".into(), signer.algorithm().name().into());
    if add_kid
        && !header.contains_key("kid")
        && !header.contains_key("jwk")
        && let Some(kid) = &signer.public_jwk().kid
    {
        header.insert("kid".into(), kid.clone().into());
    }
    let header_json = serde_json::to_vec(&header).map_err(|e| Error::malformed(e.to_string()))?;
    let payload_json = serde_json::to_vec(payload).map_err(|e| Error::malformed(e.to_string()))?;
    let mut token = String::with_capacity((header_json.len() + payload_json.len()) * 4 / 3 + 96);
    base64url::encode_into(&header_json, &mut token);
    token.push('.');
    base64url::encode_into(&payload_json, &mut token);
    let sig = signer.sign(token.as_bytes()).await?;
    token.push('.');
    base64url::encode_into(&sig, &mut token);
    Ok(token)
}

/// How `exp`, `nbf` and `iat` are checked (RFC 7519 §4.1.4–4.1.6).
#[derive(Debug, Clone, Copy)]
pub struct TimeRules {
    /// Allowed clock difference, seconds (R4).
    pub skew: i64,
    /// Whether `exp` must be present.
    pub require_exp: bool,
    /// Whether `iat` must be present.
    pub require_iat: bool,
    /// If set, `iat` must be no older than this many seconds (plus skew).
    pub max_iat_age: Option<i64>,
}

impl Default for TimeRules {
    fn default() -> Self {
        Self {
            skew: crate::time::DEFAULT_SKEW_SECS,
            require_exp: false,
            require_iat: false,
            max_iat_age: None,
        }
    }
}

/// Reads a NumericDate claim; a non-integer value is malformed.
pub fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| Error::malformed(format!("{name} must be a NumericDate"))),
    }
}

/// Checks `exp`, `nbf` and `iat` against `now`.
pub fn check_times(claims: &Map<String, Value>, now: UnixTime, rules: TimeRules) -> Result<()> {
    let now = now.secs();
    let exp = numeric_date(claims, "exp")?;
    let nbf = numeric_date(claims, "nbf")?;
    let iat = numeric_date(claims, "iat")?;
    match exp {
        Some(exp) if now - rules.skew >= exp => return Err(Error::Time("expired".into())),
        None if rules.require_exp => return Err(Error::malformed("exp is required")),
        _ => {}
    }
    if let Some(nbf) = nbf
        && nbf > now + rules.skew
    {
        return Err(Error::Time("not yet valid (nbf)".into()));
    }
    match iat {
        Some(iat) => {
            if iat > now + rules.skew {
                return Err(Error::Time("iat is in the future".into()));
            }
            if let Some(age) = rules.max_iat_age
                && iat < now - age - rules.skew
            {
                return Err(Error::Time("iat is too old".into()));
            }
        }
        None if rules.require_iat => return Err(Error::malformed("iat is required")),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::signer::{LocalSigner, SigningKey};
    use crate::rng::SeededRandom;
    use serde_json::json;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn forge(header: Value, payload: Value, sig: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            base64url::encode(header.to_string()),
            base64url::encode(payload.to_string()),
            base64url::encode(sig)
        )
    }

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let signer = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(1)).unwrap(),
        );
        let mut h = Map::new();
        h.insert("typ".into(), "JWT".into());
        let claims = json!({"sub": "x"}).as_object().unwrap().clone();
        let token = block_on(sign(h, &claims, &signer)).unwrap();
        let jws = decode(&token).unwrap();
        assert_eq!(jws.header_str("alg"), Some("ES256"));
        assert_eq!(jws.kid(), signer.public_jwk().kid.as_deref());
        jws.verify(&signer.public_jwk().key, &AlgorithmPolicy::default())
            .unwrap();

        let tampered = token.replacen(".ey", ".eX", 1);
        assert!(
            decode(&tampered)
                .map(|j| j.verify(&signer.public_jwk().key, &AlgorithmPolicy::default()))
                .map_or(true, |r| r.is_err())
        );
    }

    #[test]
    fn alg_none_is_rejected_at_decode() {
        let t = forge(json!({"alg":"none"}), json!({"a":1}), b"");
        assert!(matches!(decode(&t), Err(Error::AlgorithmNotAllowed(_))));
    }

    #[test]
    fn unknown_crit_is_rejected() {
        let t = forge(
            json!({"alg":"ES256","crit":["exp"],"exp":1}),
            json!({}),
            &[0; 64],
        );
        assert!(matches!(decode(&t), Err(Error::UnsupportedCritical(_))));
    }

    #[test]
    fn typ_comparison_follows_rfc7515() {
        assert!(typ_matches("application/DC+SD-JWT", "dc+sd-jwt"));
        assert!(typ_matches("dc+sd-jwt", "application/dc+sd-jwt"));
        assert!(!typ_matches("vc+sd-jwt", "dc+sd-jwt"));
        assert!(!typ_matches("application/", "dc+sd-jwt"));
        // G8: a 12th byte inside a multi-byte character used to panic (byte slicing).
        assert!(!typ_matches("abcdefghijk\u{e9}x", "dc+sd-jwt"));
        assert!(!typ_matches("applicatio\u{e9}/dc+sd-jwt", "dc+sd-jwt"));
        assert!(!typ_matches(
            "\u{1f600}\u{1f600}\u{1f600}x",
            "application/x"
        ));
        assert!(typ_matches("APPLICATION/dc+sd-jwt", "dc+sd-jwt"));
    }

    #[test]
    fn time_rules_apply_skew() {
        let c = json!({"exp": 1000, "nbf": 900, "iat": 900})
            .as_object()
            .unwrap()
            .clone();
        let r = TimeRules {
            skew: 10,
            ..TimeRules::default()
        };
        assert!(check_times(&c, UnixTime(995), r).is_ok());
        assert!(check_times(&c, UnixTime(1009), r).is_ok());
        assert!(check_times(&c, UnixTime(1010), r).is_err());
        assert!(check_times(&c, UnixTime(889), r).is_err());
        let stale = TimeRules {
            max_iat_age: Some(60),
            ..r
        };
        assert!(check_times(&c, UnixTime(971), stale).is_err());
        let bad = json!({"exp": "soon"}).as_object().unwrap().clone();
        assert!(check_times(&bad, UnixTime(0), r).is_err());
    }
}
