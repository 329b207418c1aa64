//! ID token validation: OpenID Connect Core 1.0 §3.1.3.7.

use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::jose::jws::{TimeRules, check_times, typ_matches};
use vdc_core::time::UnixTime;

use crate::jwks::{IdTokenAlg, KeyChoice, KeySet};
use crate::{CLOCK_SKEW_SECS, OidcError, printable};

/// Largest ID token accepted, bytes.
const MAX_ID_TOKEN_LEN: usize = 64 * 1024;
/// Largest decoded header, bytes.
const MAX_HEADER_LEN: usize = 8 * 1024;
/// Spec: OIDC Core §2 (`sub`): "It MUST NOT exceed 255 ASCII [RFC20] characters in length."
const MAX_SUB_LEN: usize = 255;

/// What the ID token must say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expected<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) nonce: &'a str,
    /// The access token issued with the ID token, checked against `at_hash` when present.
    pub(crate) access_token: Option<&'a str>,
    pub(crate) now: UnixTime,
}

/// A decoded, not yet trusted, ID token.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    alg: IdTokenAlg,
    kid: Option<String>,
    pub(crate) payload: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Why the signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// No key with the token's `kid`: worth re-reading the JWKS once.
    NoKey(String),
    /// Anything else: ambiguous key choice, signature does not verify.
    Invalid(String),
}

impl SignatureError {
    pub(crate) fn into_oidc(self) -> OidcError {
        match self {
            Self::NoKey(kid) => {
                OidcError::Invalid(format!("no provider key for the ID token (kid {kid})"))
            }
            Self::Invalid(m) => OidcError::Invalid(m),
        }
    }
}

fn invalid(m: impl Into<String>) -> OidcError {
    OidcError::Invalid(m.into())
}

impl Parsed {
    /// Parses a compact JWS ID token (RFC 7515 §7.1) and reads its `alg`.
    pub(crate) fn decode(token: &str) -> Result<Self, OidcError> {
        if token.len() > MAX_ID_TOKEN_LEN {
            return Err(invalid(format!(
                "ID token longer than {MAX_ID_TOKEN_LEN} bytes"
            )));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            // Spec: OIDC Core §3.1.3.7 item 1: an encrypted ID token (5 parts) would be
            // decrypted with keys the client registered; vdc registers none.
            return Err(invalid(if parts.len() == 5 {
                "encrypted ID tokens are not supported"
            } else {
                "ID token is not a compact JWS"
            }));
        };
        let header_bytes =
            base64url::decode(h).map_err(|e| invalid(format!("ID token header: {e}")))?;
        let header = vdc_core::json::parse_object(&header_bytes, MAX_HEADER_LEN)
            .map_err(|e| invalid(format!("ID token header: {e}")))?;
        // Spec: RFC 7515 §4.1.11: an unknown critical extension MUST be refused; we know none.
        if header.contains_key("crit") {
            return Err(invalid("ID token header has crit"));
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) => IdTokenAlg::from_name(a)?,
            _ => return Err(invalid("ID token header has no alg")),
        };
        // RFC 8725 §3.11: a `typ` naming another kind of JWT (at+jwt, logout+jwt, ...) means
        // the token is not an ID token.
        match header.get("typ") {
            None => {}
            Some(Value::String(t)) if typ_matches(t, "JWT") => {}
            Some(t) => {
                return Err(invalid(format!(
                    "ID token typ {} is not JWT",
                    printable(&t.to_string(), 40)
                )));
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(invalid("ID token kid must be a string")),
        };
        let payload_bytes =
            base64url::decode(p).map_err(|e| invalid(format!("ID token payload: {e}")))?;
        let payload = vdc_core::json::parse_object(&payload_bytes, MAX_ID_TOKEN_LEN)
            .map_err(|e| invalid(format!("ID token payload: {e}")))?;
        let signature =
            base64url::decode(s).map_err(|e| invalid(format!("ID token signature: {e}")))?;
        Ok(Self {
            alg,
            kid,
            payload,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    /// Spec: OIDC Core §3.1.3.7 items 6-8: the signature verifies with the provider's key
    /// named by `kid` (from its `jwks_uri`, §10.1), under the token's alg, which must be
    /// RS256 or ES256 (never `none`, never a MAC: [`IdTokenAlg`]).
    pub(crate) fn verify_signature(&self, keys: &KeySet) -> Result<(), SignatureError> {
        let key = match keys.select(self.alg, self.kid.as_deref()) {
            Ok(k) => k,
            Err(KeyChoice::Unknown(kid)) => return Err(SignatureError::NoKey(kid)),
            Err(KeyChoice::Ambiguous) => {
                return Err(SignatureError::Invalid(
                    "ID token has no kid and the provider has several keys".into(),
                ));
            }
        };
        if key.verify(self.alg, self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(SignatureError::Invalid(
                "ID token signature does not verify".into(),
            ))
        }
    }

    /// The claim checks of OIDC Core §3.1.3.7 (and §2, §3.1.3.8).
    pub(crate) fn check_claims(&self, expected: &Expected<'_>) -> Result<(), OidcError> {
        let claims = &self.payload;
        // Item 2: `iss` MUST exactly match the Issuer Identifier (also the discovered one).
        match claims.get("iss") {
            Some(Value::String(iss)) if iss == expected.issuer => {}
            Some(Value::String(iss)) => {
                return Err(invalid(format!(
                    "ID token iss {:?} is not the provider",
                    printable(iss, 200)
                )));
            }
            _ => return Err(invalid("ID token has no iss")),
        }
        // Item 3: `aud` MUST contain the client_id. Item 4 (and §2 `azp`): with several
        // audiences, `azp` must be present; item 5: if `azp` is present, it must be our
        // client_id.
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => {
                let mut out = Vec::with_capacity(list.len());
                for a in list {
                    out.push(
                        a.as_str()
                            .ok_or_else(|| invalid("ID token aud must be strings"))?,
                    );
                }
                out
            }
            _ => return Err(invalid("ID token has no aud")),
        };
        if !audiences.contains(&expected.client_id) {
            return Err(invalid("ID token aud does not contain the client_id"));
        }
        match claims.get("azp") {
            Some(Value::String(azp)) if azp == expected.client_id => {}
            Some(_) => return Err(invalid("ID token azp is not the client_id")),
            None if audiences.len() > 1 => {
                return Err(invalid("ID token has several audiences and no azp"));
            }
            None => {}
        }
        // Items 9, 10: `exp` in the future and `iat` not in the future, both REQUIRED (§2),
        // with an allowance for clock skew. `nbf`, if present, is honoured too.
        let rules = TimeRules {
            skew: CLOCK_SKEW_SECS,
            require_exp: true,
            require_iat: true,
            max_iat_age: None,
        };
        check_times(claims, expected.now, rules).map_err(|e| invalid(format!("ID token: {e}")))?;
        // Item 11: `nonce` MUST be present and equal the value sent in the request.
        match claims.get("nonce") {
            Some(Value::String(n)) if vdc_core::ct::eq(n.as_bytes(), expected.nonce.as_bytes()) => {
            }
            Some(_) => return Err(invalid("ID token nonce does not match")),
            None => return Err(invalid("ID token has no nonce")),
        }
        // §2: `sub` REQUIRED, a locally unique identifier of at most 255 ASCII characters.
        match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() && sub.len() <= MAX_SUB_LEN => {}
            Some(Value::String(_)) => return Err(invalid("ID token sub is empty or too long")),
            _ => return Err(invalid("ID token has no sub")),
        }
        // §3.1.3.8: `at_hash` is OPTIONAL in the code flow; when present it must match the
        // access token: the left half of SHA-256 of its ASCII octets (RS256 and ES256 both
        // use SHA-256), base64url.
        if let (Some(at_hash), Some(access_token)) = (claims.get("at_hash"), expected.access_token)
        {
            let digest = vdc_core::digest::sha256(access_token.as_bytes());
            let want = base64url::encode(digest.get(..16).unwrap_or_default());
            if at_hash.as_str() != Some(want.as_str()) {
                return Err(invalid("ID token at_hash does not match the access token"));
            }
        }
        Ok(())
    }
}

/// Decodes and validates an ID token with `keys` (no JWKS refresh); returns its claims.
#[cfg(test)]
pub(crate) fn validate(
    token: &str,
    keys: &KeySet,
    expected: &Expected<'_>,
) -> Result<Map<String, Value>, OidcError> {
    let parsed = Parsed::decode(token)?;
    parsed
        .verify_signature(keys)
        .map_err(SignatureError::into_oidc)?;
    parsed.check_claims(expected)?;
    Ok(parsed.payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use serde_json::json;
    use vdc_core::jose::{Algorithm, SigningKey};
    use vdc_core::rng::SeededRandom;

    const NOW: i64 = 1_800_000_000;
    const ISS: &str = "https://idp.example";
    const CLIENT: &str = "vdc";
    const NONCE: &str = "n-0S6_WzA2Mj";
    const RSA_PKCS8: &[u8] = include_bytes!("testdata/rsa2048-test-only.pk8.der");

    struct Keys {
        rsa: RsaKeyPair,
        ec: SigningKey,
        other_ec: SigningKey,
        set: KeySet,
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn keys() -> Keys {
        let rsa = RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap();
        let components = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(rsa.public());
        let ec = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(1)).unwrap();
        let other_ec = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(2)).unwrap();
        let mut ec_jwk = ec.public_key().to_jwk_members();
        ec_jwk.insert("kid".into(), "ec-1".into());
        let set = KeySet::from_jwks(&map(json!({"keys": [
            {"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256",
             "n": base64url::encode(&components.n), "e": base64url::encode(&components.e)},
            Value::Object(ec_jwk),
        ]})))
        .unwrap();
        Keys {
            rsa,
            ec,
            other_ec,
            set,
        }
    }

    fn claims() -> Value {
        json!({
            "iss": ISS, "sub": "emp-1001", "aud": CLIENT, "nonce": NONCE,
            "iat": NOW - 5, "exp": NOW + 300, "given_name": "Ada"
        })
    }

    fn b64json(v: &Value) -> String {
        base64url::encode(serde_json::to_vec(v).unwrap())
    }

    /// A token with `header` and `payload`, signed per the header's alg.
    fn sign(keys: &Keys, header: Value, payload: &Value) -> String {
        let input = format!("{}.{}", b64json(&header), b64json(payload));
        let sig = match header["alg"].as_str() {
            Some("RS256") => {
                let mut sig = vec![0; keys.rsa.public().modulus_len()];
                keys.rsa
                    .sign(
                        &RSA_PKCS1_SHA256,
                        &ring::rand::SystemRandom::new(),
                        input.as_bytes(),
                        &mut sig,
                    )
                    .unwrap();
                sig
            }
            Some("ES256") => keys.ec.sign_sync(input.as_bytes()).unwrap(),
            _ => b"not-a-signature".to_vec(),
        };
        format!("{input}.{}", base64url::encode(sig))
    }

    fn rs(payload: &Value) -> String {
        sign(&keys(), json!({"alg": "RS256", "kid": "rsa-1"}), payload)
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISS,
            client_id: CLIENT,
            nonce: NONCE,
            access_token: Some("access-token-value"),
            now: UnixTime(NOW),
        }
    }

    fn check(token: &str) -> Result<Map<String, Value>, OidcError> {
        validate(token, &keys().set, &expected())
    }

    fn assert_invalid(token: &str, needle: &str) {
        match check(token) {
            Err(OidcError::Invalid(m)) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
            other => panic!("expected Invalid({needle}), got {other:?}"),
        }
    }

    fn with(changes: Value) -> Value {
        let mut c = claims();
        for (k, v) in map(changes) {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(&k);
            } else {
                c[k] = v;
            }
        }
        c
    }

    #[test]
    fn valid_rs256_and_es256_tokens_are_accepted() {
        let k = keys();
        let claims_out = check(&rs(&claims())).unwrap();
        assert_eq!(claims_out["sub"], "emp-1001");
        assert_eq!(claims_out["given_name"], "Ada");
        let es = sign(
            &k,
            json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"}),
            &claims(),
        );
        assert!(validate(&es, &k.set, &expected()).is_ok());
        // Several audiences with azp = client_id.
        let multi = with(json!({"aud": ["other", CLIENT], "azp": CLIENT}));
        assert!(check(&rs(&multi)).is_ok());
        // Clock skew: expired 30 s ago, issued 30 s ahead, both within 60 s.
        assert!(check(&rs(&with(json!({"exp": NOW - 30, "iat": NOW + 30})))).is_ok());
    }

    #[test]
    fn forged_signatures_are_refused() {
        let k = keys();
        // Payload changed after signing.
        let token = rs(&claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = b64json(&with(json!({"sub": "emp-1002"})));
        parts[1] = &forged_payload;
        assert_invalid(&parts.join("."), "signature does not verify");
        // Signed by a key the provider does not publish, under its kid.
        let input = format!(
            "{}.{}",
            b64json(&json!({"alg": "ES256", "kid": "ec-1"})),
            b64json(&claims())
        );
        let sig = k.other_ec.sign_sync(input.as_bytes()).unwrap();
        assert_invalid(
            &format!("{input}.{}", base64url::encode(sig)),
            "signature does not verify",
        );
        // An ES256 header with an RSA kid: no ES256 key of that kid.
        let confused = sign(&k, json!({"alg": "ES256", "kid": "rsa-1"}), &claims());
        assert_invalid(&confused, "no provider key");
        // Unknown kid.
        assert_invalid(
            &sign(&k, json!({"alg": "RS256", "kid": "rsa-9"}), &claims()),
            "no provider key",
        );
        // Empty signature.
        let stripped = token.rsplit_once('.').unwrap().0.to_owned() + ".";
        assert_invalid(&stripped, "signature does not verify");
    }

    #[test]
    fn alg_none_and_mac_algorithms_are_refused() {
        let k = keys();
        let payload = b64json(&claims());
        let none = format!("{}.{payload}.", b64json(&json!({"alg": "none"})));
        assert_invalid(&none, "alg none");
        // HS256 keyed with the client secret (or with the RSA key's public bytes, the
        // classic key-confusion attack) never reaches a key.
        for alg in ["HS256", "HS384", "HS512"] {
            let input = format!(
                "{}.{payload}",
                b64json(&json!({"alg": alg, "kid": "rsa-1"}))
            );
            let mac = ring::hmac::sign(
                &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"client-secret"),
                input.as_bytes(),
            );
            assert_invalid(&format!("{input}.{}", base64url::encode(mac)), "MAC");
        }
        for alg in ["PS256", "EdDSA", "RS512"] {
            assert_invalid(
                &sign(&k, json!({"alg": alg, "kid": "rsa-1"}), &claims()),
                "not allowed",
            );
        }
        assert_invalid(
            &format!("{}.{payload}.", b64json(&json!({"kid": "rsa-1"}))),
            "no alg",
        );
    }

    #[test]
    fn wrong_issuer_is_refused() {
        assert_invalid(&rs(&with(json!({"iss": "https://evil.example"}))), "iss");
        assert_invalid(&rs(&with(json!({"iss": "https://idp.example/"}))), "iss");
        assert_invalid(&rs(&with(json!({"iss": null}))), "no iss");
    }

    #[test]
    fn wrong_audience_is_refused() {
        assert_invalid(&rs(&with(json!({"aud": "someone-else"}))), "aud");
        assert_invalid(&rs(&with(json!({"aud": ["a", "b"]}))), "aud");
        assert_invalid(&rs(&with(json!({"aud": null}))), "no aud");
        assert_invalid(
            &rs(&with(json!({"aud": [CLIENT, 3]}))),
            "aud must be strings",
        );
        // Several audiences: azp must be present and ours.
        assert_invalid(&rs(&with(json!({"aud": [CLIENT, "b"]}))), "no azp");
        assert_invalid(&rs(&with(json!({"aud": [CLIENT, "b"], "azp": "b"}))), "azp");
        assert_invalid(&rs(&with(json!({"azp": "b"}))), "azp");
    }

    #[test]
    fn wrong_or_missing_nonce_is_refused() {
        assert_invalid(
            &rs(&with(json!({"nonce": "other"}))),
            "nonce does not match",
        );
        assert_invalid(&rs(&with(json!({"nonce": 1}))), "nonce does not match");
        assert_invalid(&rs(&with(json!({"nonce": null}))), "no nonce");
    }

    #[test]
    fn expired_or_future_tokens_are_refused() {
        assert_invalid(&rs(&with(json!({"exp": NOW - 61}))), "expired");
        assert_invalid(&rs(&with(json!({"exp": NOW - 60}))), "expired");
        assert_invalid(&rs(&with(json!({"exp": null}))), "exp is required");
        assert_invalid(&rs(&with(json!({"iat": NOW + 61}))), "iat is in the future");
        assert_invalid(&rs(&with(json!({"iat": null}))), "iat is required");
        assert_invalid(&rs(&with(json!({"exp": "soon"}))), "NumericDate");
        assert_invalid(&rs(&with(json!({"nbf": NOW + 120}))), "nbf");
    }

    #[test]
    fn sub_is_required() {
        assert_invalid(&rs(&with(json!({"sub": null}))), "no sub");
        assert_invalid(&rs(&with(json!({"sub": ""}))), "sub is empty");
        assert_invalid(&rs(&with(json!({"sub": "x".repeat(256)}))), "too long");
        assert_invalid(&rs(&with(json!({"sub": 42}))), "no sub");
    }

    #[test]
    fn at_hash_must_match_when_present() {
        let digest = vdc_core::digest::sha256(b"access-token-value");
        let good = base64url::encode(&digest[..16]);
        assert!(check(&rs(&with(json!({"at_hash": good})))).is_ok());
        assert_invalid(
            &rs(&with(json!({"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}))),
            "at_hash",
        );
    }

    #[test]
    fn structure_is_checked() {
        let k = keys();
        assert_invalid("a.b", "not a compact JWS");
        assert_invalid("a.b.c.d.e", "encrypted");
        assert_invalid("!!.e30.", "header");
        assert_invalid(&"a".repeat(MAX_ID_TOKEN_LEN + 1), "longer");
        assert_invalid(
            &sign(
                &k,
                json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}),
                &claims(),
            ),
            "crit",
        );
        assert_invalid(
            &sign(
                &k,
                json!({"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}),
                &claims(),
            ),
            "typ",
        );
        // Duplicate members are refused by the strict JSON parser.
        let dup = format!(
            "{}.{}.",
            base64url::encode(br#"{"alg":"RS256","alg":"none"}"#),
            b64json(&claims())
        );
        assert!(matches!(check(&dup), Err(OidcError::Invalid(_))));
    }

    #[test]
    fn missing_kid_is_fine_with_one_candidate_key_only() {
        let k = keys();
        // One RS256 key: no kid needed.
        assert!(
            validate(
                &sign(&k, json!({"alg": "RS256"}), &claims()),
                &k.set,
                &expected()
            )
            .is_ok()
        );
        // Two ES256 keys: a kid is required.
        let mut a = k.ec.public_key().to_jwk_members();
        a.insert("kid".into(), "a".into());
        let mut b = k.other_ec.public_key().to_jwk_members();
        b.insert("kid".into(), "b".into());
        let two = KeySet::from_jwks(&map(json!({"keys": [a, b]}))).unwrap();
        let token = sign(&k, json!({"alg": "ES256"}), &claims());
        match validate(&token, &two, &expected()) {
            Err(OidcError::Invalid(m)) => assert!(m.contains("several keys"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
