//! The provider's signing keys, from its JWKS (RFC 7517 §5), for RS256 and ES256.

use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, PublicKey};

use crate::{OidcError, printable};

/// Most keys read from one JWKS (the rest are ignored).
const MAX_KEYS: usize = 64;
/// RSA moduli accepted, bits (ring's RSA_PKCS1_2048_8192_SHA256 bounds).
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// The ID token signature algorithms accepted. There is no variant for `none` or a MAC:
/// they cannot be expressed (RFC 8725 §3.1, §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3): the default of OIDC Core §2.
    Rs256,
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    Es256,
}

impl IdTokenAlg {
    /// Reads a header `alg`.
    pub(crate) fn from_name(name: &str) -> Result<Self, OidcError> {
        match name {
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            // Spec: OIDC Core §3.1.3.7 items 6-8: the ID token is signed with the alg the
            // client registered (RS256 by default); `none` is only for flows where the ID
            // token comes from the token endpoint AND the client chose it; we never do.
            "none" => Err(OidcError::Invalid("unsigned ID token (alg none)".into())),
            // A MAC keyed with the client secret: refused, so the shared secret is never a
            // verification key and no key-confusion is possible (RFC 8725 §2.1, §3.1).
            a if a.starts_with("HS") => Err(OidcError::Invalid(format!(
                "MAC-signed ID token ({}) refused",
                printable(a, 16)
            ))),
            a => Err(OidcError::Invalid(format!(
                "ID token algorithm {:?} not allowed (RS256, ES256)",
                printable(a, 32)
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }
}

/// A verification key of one algorithm.
#[derive(Clone)]
enum VerifyKey {
    Rsa(RsaPublicKeyComponents<Vec<u8>>),
    P256(PublicKey),
}

impl VerifyKey {
    fn alg(&self) -> IdTokenAlg {
        match self {
            Self::Rsa(_) => IdTokenAlg::Rs256,
            Self::P256(_) => IdTokenAlg::Es256,
        }
    }
}

/// One usable key of the provider.
#[derive(Clone)]
pub(crate) struct ProviderKey {
    kid: Option<String>,
    key: VerifyKey,
}

impl ProviderKey {
    /// Verifies `sig` over `message` with this key under `alg` (which must be the key's).
    pub(crate) fn verify(&self, alg: IdTokenAlg, message: &[u8], sig: &[u8]) -> bool {
        if alg != self.key.alg() {
            return false;
        }
        match &self.key {
            VerifyKey::Rsa(components) => components
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            // vdc-core's ES256 verification: 64-byte r||s (RFC 7518 §3.4), ring's
            // ECDSA_P256_SHA256_FIXED underneath.
            VerifyKey::P256(key) => key.verify(Algorithm::Es256, message, sig).is_ok(),
        }
    }
}

/// Why no key was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyChoice {
    /// No key with this `kid` (and algorithm): the provider may have rotated keys.
    Unknown(String),
    /// No `kid` and several candidate keys (OIDC Core §10.1: a `kid` is then REQUIRED).
    Ambiguous,
}

/// The provider's usable signing keys.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    keys: Vec<ProviderKey>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| (k.key.alg().name(), k.kid.as_deref())),
            )
            .finish()
    }
}

impl KeySet {
    /// Reads a JWK Set. Keys that are not RSA or P-256 signature keys, or that are
    /// malformed, are skipped (a JWKS may hold encryption keys and other types); a set with
    /// no usable key is an error.
    pub(crate) fn from_jwks(jwks: &Map<String, Value>) -> Result<Self, OidcError> {
        let Some(Value::Array(entries)) = jwks.get("keys") else {
            return Err(OidcError::Invalid("JWKS has no keys array".into()));
        };
        let keys: Vec<ProviderKey> = entries
            .iter()
            .take(MAX_KEYS)
            .filter_map(Value::as_object)
            .filter_map(read_key)
            .collect();
        if keys.is_empty() {
            return Err(OidcError::Invalid(
                "JWKS holds no usable RS256 or ES256 signing key".into(),
            ));
        }
        Ok(Self { keys })
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The key for a token with `alg` and `kid`.
    ///
    /// Spec: OIDC Core §10.1: with several keys in the JWKS the `kid` MUST be in the header;
    /// a single candidate key may be used without one.
    pub(crate) fn select(
        &self,
        alg: IdTokenAlg,
        kid: Option<&str>,
    ) -> Result<&ProviderKey, KeyChoice> {
        let mut candidates = self.keys.iter().filter(|k| k.key.alg() == alg);
        match kid {
            Some(kid) => candidates
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| KeyChoice::Unknown(printable(kid, 64))),
            None => {
                let first = candidates
                    .next()
                    .ok_or_else(|| KeyChoice::Unknown("(none)".into()))?;
                if candidates.next().is_some() {
                    return Err(KeyChoice::Ambiguous);
                }
                Ok(first)
            }
        }
    }
}

fn read_key(jwk: &Map<String, Value>) -> Option<ProviderKey> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    // RFC 7517 §4.2, §4.3: skip keys meant for encryption only.
    if member("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(Value::Array(ops)) = jwk.get("key_ops")
        && !ops.iter().any(|o| o.as_str() == Some("verify"))
    {
        return None;
    }
    // A private key published in a JWKS is a provider fault; such entries are never used.
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return None;
    }
    let kid = match jwk.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return None,
    };
    let key = match member("kty")? {
        "RSA" => {
            let n = unsigned(&base64url::decode(member("n")?).ok()?);
            let e = unsigned(&base64url::decode(member("e")?).ok()?);
            if n.is_empty() {
                return None;
            }
            let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
            if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) || e.is_empty() || e.len() > 4 {
                return None;
            }
            VerifyKey::Rsa(RsaPublicKeyComponents { n, e })
        }
        "EC" if member("crv")? == "P-256" => {
            let x = base64url::decode(member("x")?).ok()?;
            let y = base64url::decode(member("y")?).ok()?;
            VerifyKey::P256(PublicKey::p256_from_coordinates(&x, &y).ok()?)
        }
        _ => return None,
    };
    // RFC 7517 §4.4: a key that names its algorithm is used with that algorithm only.
    if let Some(alg) = jwk.get("alg")
        && alg.as_str() != Some(key.alg().name())
    {
        return None;
    }
    Some(ProviderKey { kid, key })
}

/// The big-endian integer without leading zero bytes (RFC 7518 §6.3.1 forbids them, but
/// some providers emit one; ring wants the minimal form).
fn unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn as_map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn ec_jwk(kid: &str) -> Value {
        let key = vdc_core::jose::SigningKey::generate(
            Algorithm::Es256,
            &vdc_core::rng::SeededRandom::new(7),
        )
        .unwrap();
        let mut m = key.public_key().to_jwk_members();
        m.insert("kid".into(), kid.into());
        Value::Object(m)
    }

    #[test]
    fn unusable_keys_are_skipped() {
        let good = ec_jwk("a");
        let mut enc = as_map(ec_jwk("enc"));
        enc.insert("use".into(), "enc".into());
        let mut private = as_map(ec_jwk("priv"));
        private.insert("d".into(), "AAAA".into());
        let mut wrong_alg = as_map(ec_jwk("rs"));
        wrong_alg.insert("alg".into(), "RS256".into());
        let small_rsa =
            json!({"kty":"RSA","kid":"small","n": base64url::encode([0xffu8; 128]),"e":"AQAB"});
        let set = KeySet::from_jwks(&as_map(json!({"keys": [
            good, enc, private, wrong_alg, small_rsa,
            {"kty":"oct","k":"c2VjcmV0"}, {"kty":"OKP","crv":"Ed25519","x":"AA"}, 5
        ]})))
        .unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.select(IdTokenAlg::Es256, Some("a")).is_ok());
        assert!(matches!(
            set.select(IdTokenAlg::Es256, Some("enc")),
            Err(KeyChoice::Unknown(_))
        ));
        assert!(set.select(IdTokenAlg::Rs256, None).is_err());
        assert!(set.select(IdTokenAlg::Es256, None).is_ok());
    }

    #[test]
    fn empty_or_unusable_sets_are_refused() {
        for jwks in [
            json!({}),
            json!({"keys": []}),
            json!({"keys": [{"kty":"oct","k":"AA"}]}),
        ] {
            assert!(matches!(
                KeySet::from_jwks(&as_map(jwks)),
                Err(OidcError::Invalid(_))
            ));
        }
    }

    #[test]
    fn kid_is_needed_with_several_candidates() {
        let set = KeySet::from_jwks(&as_map(json!({"keys": [ec_jwk("a"), ec_jwk("b")]}))).unwrap();
        assert_eq!(
            set.select(IdTokenAlg::Es256, None).err(),
            Some(KeyChoice::Ambiguous)
        );
        assert!(set.select(IdTokenAlg::Es256, Some("b")).is_ok());
    }

    #[test]
    fn algorithms_outside_the_allow_list_are_refused() {
        assert_eq!(IdTokenAlg::from_name("RS256").unwrap(), IdTokenAlg::Rs256);
        assert_eq!(IdTokenAlg::from_name("ES256").unwrap(), IdTokenAlg::Es256);
        for alg in ["none", "HS256", "HS512", "PS256", "EdDSA", "rs256", ""] {
            assert!(
                matches!(IdTokenAlg::from_name(alg), Err(OidcError::Invalid(_))),
                "{alg}"
            );
        }
    }

    #[test]
    fn leading_zeros_are_stripped() {
        assert_eq!(unsigned(&[0, 0, 1, 0]), vec![1, 0]);
        assert!(unsigned(&[0, 0]).is_empty());
    }
}
