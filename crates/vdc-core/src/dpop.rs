//! DPoP proofs (RFC 9449): the client creates them ([`create`]), the authorization and
//! resource server checks them ([`verify`]).
//!
//! The proof carries the client's public key in its `jwk` header; that key is trusted only
//! as "the key this token is (or will be) bound to", because the proof is signed by it (G5).
//! What needs state (the `jti` single use, the server nonce) is the caller's: [`verify`]
//! returns `jti` and `nonce` for the caller to check.

use serde_json::{Map, Value};

use crate::base64url;
use crate::digest::sha256;
use crate::error::Result;
use crate::jose::jws::{self, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey, Signer};
use crate::time::UnixTime;

/// Media type of a DPoP proof JWT (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";
/// Longest `jti` accepted (bounded input).
pub const MAX_JTI_LEN: usize = 256;

/// What a client puts into a DPoP proof.
#[derive(Debug, Clone, Copy)]
pub struct DpopInput<'a> {
    /// `htm`: the HTTP method.
    pub htm: &'a str,
    /// `htu`: the target URI without query and fragment.
    pub htu: &'a str,
    /// `jti`: unique per proof.
    pub jti: &'a str,
    /// `iat`.
    pub iat: UnixTime,
    /// `nonce`: the server's `DPoP-Nonce`, when it gave one.
    pub nonce: Option<&'a str>,
    /// The access token, for `ath` at resource servers.
    pub access_token: Option<&'a str>,
}

/// Creates a DPoP proof signed by `key` (RFC 9449 §4.2).
pub async fn create(key: &dyn Signer, input: DpopInput<'_>) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), DPOP_TYP.into());
    header.insert(
        "jwk".into(),
        Value::Object(key.public_jwk().key.to_jwk_members()),
    );
    let mut claims = Map::new();
    claims.insert("jti".into(), input.jti.into());
    claims.insert("htm".into(), input.htm.into());
    claims.insert("htu".into(), input.htu.into());
    claims.insert("iat".into(), input.iat.secs().into());
    if let Some(n) = input.nonce {
        claims.insert("nonce".into(), n.into());
    }
    if let Some(t) = input.access_token {
        claims.insert("ath".into(), ath(t).into());
    }
    jws::sign_with_options(header, &claims, key, false).await
}

/// `ath`: BASE64URL(SHA-256(ASCII(access token))) (RFC 9449 §4.2).
pub fn ath(access_token: &str) -> String {
    base64url::encode(sha256(access_token.as_bytes()))
}

/// What the server expects of a DPoP proof.
#[derive(Debug, Clone)]
pub struct DpopExpectations<'a> {
    /// The request's method.
    pub htm: &'a str,
    /// The request's URI (the endpoint's public URL).
    pub htu: &'a str,
    /// Now.
    pub now: UnixTime,
    /// How far `iat` may be from now, seconds (both directions; RFC 9449 §11.1).
    pub max_age_secs: i64,
    /// The access token presented with the proof, which `ath` must hash (RFC 9449 §7.1).
    pub access_token: Option<&'a str>,
    /// Allowed signature algorithms (`dpop_signing_alg_values_supported`).
    pub policy: &'a AlgorithmPolicy,
    /// The JWK thumbprint the key must have: the token's `cnf.jkt`, or the `dpop_jkt` of the
    /// authorization request.
    pub expected_jkt: Option<&'a str>,
}

/// A DPoP proof that passed every stateless check of RFC 9449 §4.3. The caller must still
/// check `nonce` (when it requires nonces) and record `jti` as used.
#[derive(Debug, Clone)]
pub struct VerifiedDpop {
    /// The RFC 7638 thumbprint of the proof key (`cnf.jkt` of a token bound to it).
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub iat: UnixTime,
    /// The proof's `nonce`, if any.
    pub nonce: Option<String>,
    /// The proof key.
    pub key: PublicKey,
}

/// Why a DPoP proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    /// Malformed, badly signed, wrong `typ`/`htm`/`htu`/`ath`, stale `iat`
    /// (`invalid_dpop_proof`, RFC 9449 §5, §7.1).
    #[error("{0}")]
    Invalid(String),
    /// A good proof by a key other than `expected_jkt` (the key the token, or the
    /// authorization request of the code, is bound to); callers say which.
    #[error("the DPoP proof's key is not the expected key")]
    WrongKey,
}

fn invalid(m: impl Into<String>) -> DpopError {
    DpopError::Invalid(m.into())
}

/// Checks a DPoP proof (RFC 9449 §4.3, items 1–12 except the nonce and `jti` state).
pub fn verify(
    proof: &str,
    expect: &DpopExpectations<'_>,
) -> std::result::Result<VerifiedDpop, DpopError> {
    let jws = jws::decode(proof).map_err(|e| invalid(format!("not a DPoP proof JWT: {e}")))?;
    jws.expect_typ(DPOP_TYP)
        .map_err(|e| invalid(e.to_string()))?;
    // Spec: RFC 9449 §4.3 item 6: the `jwk` header is a public key (no private members,
    // which `from_value` refuses) and the only key carrier.
    if jws.header.contains_key("x5c") || jws.header.contains_key("kid") {
        return Err(invalid("a DPoP proof names its key only in jwk"));
    }
    let jwk = jws
        .header
        .get("jwk")
        .ok_or_else(|| invalid("the DPoP proof has no jwk header"))?;
    let key = Jwk::from_value(jwk)
        .map_err(|e| invalid(format!("jwk: {e}")))?
        .key;
    jws.verify(&key, expect.policy)
        .map_err(|e| invalid(format!("signature: {e}")))?;
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_LEN)
        .ok_or_else(|| invalid("jti must be a string of 1 to 256 characters"))?;
    if jws.claim_str("htm") != Some(expect.htm) {
        return Err(invalid(format!(
            "htm must be {} for this request",
            expect.htm
        )));
    }
    let htu = jws
        .claim_str("htu")
        .ok_or_else(|| invalid("htu is required"))?;
    if !htu_matches(htu, expect.htu) {
        return Err(invalid("htu is not this endpoint's URL"));
    }
    let iat = jws::numeric_date(&jws.payload, "iat")
        .map_err(|e| invalid(e.to_string()))?
        .ok_or_else(|| invalid("iat is required"))?;
    if (iat - expect.now.secs()).abs() > expect.max_age_secs {
        return Err(invalid("iat is outside the accepted window"));
    }
    // `exp`/`nbf`, if a client adds them, must hold too.
    let rules = TimeRules {
        require_iat: true,
        ..TimeRules::default()
    };
    jws::check_times(&jws.payload, expect.now, rules).map_err(|e| invalid(e.to_string()))?;
    match (expect.access_token, jws.claim_str("ath")) {
        (Some(token), Some(ath_claim)) => {
            if !crate::ct::eq(ath(token).as_bytes(), ath_claim.as_bytes()) {
                return Err(invalid("ath does not hash the access token"));
            }
        }
        (Some(_), None) => return Err(invalid("ath is required with an access token")),
        (None, _) => {}
    }
    let nonce = match jws.payload.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(invalid("nonce must be a string")),
    };
    let jkt = key.thumbprint();
    if let Some(expected) = expect.expected_jkt
        && !crate::ct::eq(expected.as_bytes(), jkt.as_bytes())
    {
        return Err(DpopError::WrongKey);
    }
    Ok(VerifiedDpop {
        jkt,
        jti: jti.to_owned(),
        iat: UnixTime(iat),
        nonce,
        key,
    })
}

/// RFC 9449 §4.3 item 9: `htu` matches the request URI without query and fragment, after
/// syntax-based normalization (RFC 3986 §6.2.2: case of scheme and host, default port,
/// percent-encoding, dot segments), which `url` parsing performs.
pub fn htu_matches(htu: &str, target: &str) -> bool {
    let norm = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
    };
    match (norm(htu), norm(target)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{LocalSigner, SigningKey};
    use crate::rng::SystemRandom;

    fn key() -> LocalSigner {
        LocalSigner::new(
            SigningKey::generate(crate::jose::Algorithm::Es256, &SystemRandom::new()).unwrap(),
        )
    }

    const HTU: &str = "https://vdc.example/issuers/acme/token";

    fn expect<'a>(policy: &'a AlgorithmPolicy, now: i64) -> DpopExpectations<'a> {
        DpopExpectations {
            htm: "POST",
            htu: HTU,
            now: UnixTime(now),
            max_age_secs: 300,
            access_token: None,
            policy,
            expected_jkt: None,
        }
    }

    fn input(now: i64) -> DpopInput<'static> {
        DpopInput {
            htm: "POST",
            htu: HTU,
            jti: "j-1",
            iat: UnixTime(now),
            nonce: Some("n-1"),
            access_token: None,
        }
    }

    #[tokio::test]
    async fn a_good_proof_verifies_and_names_its_key() {
        let k = key();
        let policy = AlgorithmPolicy::default();
        let proof = create(&k, input(1000)).await.unwrap();
        let v = verify(&proof, &expect(&policy, 1010)).unwrap();
        assert_eq!(v.jkt, k.key().public_key().thumbprint());
        assert_eq!(v.jti, "j-1");
        assert_eq!(v.nonce.as_deref(), Some("n-1"));
        // The bound key is accepted, another is refused.
        let mut e = expect(&policy, 1010);
        let jkt = k.key().public_key().thumbprint();
        e.expected_jkt = Some(&jkt);
        verify(&proof, &e).unwrap();
        let other = key().key().public_key().thumbprint();
        e.expected_jkt = Some(&other);
        assert_eq!(verify(&proof, &e).unwrap_err(), DpopError::WrongKey);
    }

    #[tokio::test]
    async fn wrong_method_uri_time_and_ath_are_refused() {
        let k = key();
        let policy = AlgorithmPolicy::default();
        let mut i = input(1000);
        i.htm = "GET";
        let p = create(&k, i).await.unwrap();
        assert!(
            matches!(verify(&p, &expect(&policy, 1000)), Err(DpopError::Invalid(m)) if m.contains("htm"))
        );
        let mut i = input(1000);
        i.htu = "https://vdc.example/issuers/other/token";
        let p = create(&k, i).await.unwrap();
        assert!(
            matches!(verify(&p, &expect(&policy, 1000)), Err(DpopError::Invalid(m)) if m.contains("htu"))
        );
        let p = create(&k, input(1000)).await.unwrap();
        assert!(
            matches!(verify(&p, &expect(&policy, 1400)), Err(DpopError::Invalid(m)) if m.contains("iat"))
        );
        assert!(
            matches!(verify(&p, &expect(&policy, 600)), Err(DpopError::Invalid(m)) if m.contains("iat"))
        );
        // ath: required with a token, and must hash that token.
        let mut e = expect(&policy, 1000);
        e.access_token = Some("tok");
        assert!(matches!(verify(&p, &e), Err(DpopError::Invalid(m)) if m.contains("ath")));
        let mut i = input(1000);
        i.access_token = Some("other-token");
        let p = create(&k, i).await.unwrap();
        assert!(matches!(verify(&p, &e), Err(DpopError::Invalid(m)) if m.contains("ath")));
        let mut i = input(1000);
        i.access_token = Some("tok");
        let p = create(&k, i).await.unwrap();
        verify(&p, &e).unwrap();
    }

    #[tokio::test]
    async fn tampered_or_mistyped_proofs_are_refused() {
        let k = key();
        let policy = AlgorithmPolicy::default();
        let p = create(&k, input(1000)).await.unwrap();
        let (head, sig) = p.rsplit_once('.').unwrap();
        let mut sig = sig.to_owned();
        let last = if sig.ends_with('A') { 'B' } else { 'A' };
        sig.pop();
        sig.push(last);
        assert!(verify(&format!("{head}.{sig}"), &expect(&policy, 1000)).is_err());
        // A key proof (another typ) is not a DPoP proof.
        let mut header = Map::new();
        header.insert("typ".into(), "openid4vci-proof+jwt".into());
        header.insert(
            "jwk".into(),
            Value::Object(k.key().public_key().to_jwk_members()),
        );
        let mut claims = Map::new();
        for (n, v) in [("jti", "j"), ("htm", "POST"), ("htu", HTU)] {
            claims.insert(n.into(), v.into());
        }
        claims.insert("iat".into(), 1000.into());
        let p = jws::sign_with_options(header, &claims, &k, false)
            .await
            .unwrap();
        assert!(
            matches!(verify(&p, &expect(&policy, 1000)), Err(DpopError::Invalid(m)) if m.contains("typ"))
        );
        assert!(verify("e30.e30.", &expect(&policy, 1000)).is_err());
    }

    #[test]
    fn htu_is_compared_after_normalization_without_query() {
        assert!(htu_matches(
            "HTTPS://VDC.example:443/issuers/acme/token?x=1#f",
            HTU
        ));
        assert!(!htu_matches("https://vdc.example/issuers/acme/token/", HTU));
        assert!(!htu_matches("not a url", HTU));
    }
}
