//! JSON Web Keys (RFC 7517) for the two key types we support, and RFC 7638 thumbprints.
//!
//! A [`Jwk`] is always a validated public key: the point is on the curve, lengths are
//! exact, and no private member (`d`) is present. Parsing anything else fails.

use ring::digest;
use ring::signature::{self, UnparsedPublicKey};
use serde_json::{Map, Value};

use super::alg::{Algorithm, printable};
use crate::base64url;
use crate::error::{Error, Result};

/// A validated public key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum PublicKey {
    /// A P-256 point, kept in uncompressed SEC1 form (`04 || x || y`) as ring wants it.
    P256([u8; 65]),
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({} {})",
            self.algorithm(),
            &self.thumbprint()[..8]
        )
    }
}

impl PublicKey {
    /// A P-256 key from its affine coordinates; fails if the point is not on the curve.
    pub fn p256_from_coordinates(x: &[u8], y: &[u8]) -> Result<Self> {
        if x.len() != 32 || y.len() != 32 {
            return Err(Error::InvalidKey(
                "P-256 coordinates must be 32 bytes".into(),
            ));
        }
        let mut sec1 = [0u8; 65];
        sec1[0] = 4;
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        Self::p256_from_sec1(&sec1)
    }

    /// A P-256 key from SEC1 bytes (compressed or uncompressed); validates the point.
    pub fn p256_from_sec1(bytes: &[u8]) -> Result<Self> {
        use p256::elliptic_curve::sec1::ToEncodedPoint as _;
        let key = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|_| Error::InvalidKey("not a valid P-256 point".into()))?;
        let point = key.to_encoded_point(false);
        let mut out = [0u8; 65];
        out.copy_from_slice(point.as_bytes());
        Ok(Self::P256(out))
    }

    /// An Ed25519 key from its 32 bytes.
    pub fn ed25519(bytes: &[u8]) -> Result<Self> {
        let x: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey("Ed25519 key must be 32 bytes".into()))?;
        Ok(Self::Ed25519(x))
    }

    /// The one algorithm this key verifies (RFC 8725 §3.1: the key decides, not the header).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::P256(_) => Algorithm::Es256,
            Self::Ed25519(_) => Algorithm::EdDsa,
        }
    }

    /// Verifies `signature` over `message` with `alg`, which must be this key's algorithm.
    pub fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> Result<()> {
        if alg != self.algorithm() {
            return Err(Error::AlgorithmKeyMismatch {
                header: alg.name().into(),
                key: self.algorithm().name().into(),
            });
        }
        // Spec: RFC 7518 §3.4: an ES256 signature is exactly 64 bytes (R || S); DER is
        // refused by length. ring rejects r or s of zero or >= n.
        if sig.len() != 64 {
            return Err(Error::InvalidSignature);
        }
        let result = match self {
            Self::P256(point) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, sig),
            Self::Ed25519(x) => UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig),
        };
        result.map_err(|_| Error::InvalidSignature)
    }

    /// The RFC 7638 JWK thumbprint (SHA-256), base64url-encoded.
    pub fn thumbprint(&self) -> String {
        // Spec: RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
        let canonical = match self {
            Self::P256(p) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                base64url::encode(&p[1..33]),
                base64url::encode(&p[33..])
            ),
            Self::Ed25519(x) => {
                format!(
                    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                    base64url::encode(x)
                )
            }
        };
        base64url::encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    }

    /// The key's public JWK members (`kty`, `crv`, `x`, `y`).
    pub fn to_jwk_members(&self) -> Map<String, Value> {
        let mut m = Map::new();
        match self {
            Self::P256(p) => {
                m.insert("kty".into(), "EC".into());
                m.insert("crv".into(), "P-256".into());
                m.insert("x".into(), base64url::encode(&p[1..33]).into());
                m.insert("y".into(), base64url::encode(&p[33..]).into());
            }
            Self::Ed25519(x) => {
                m.insert("kty".into(), "OKP".into());
                m.insert("crv".into(), "Ed25519".into());
                m.insert("x".into(), base64url::encode(x).into());
            }
        }
        m
    }

    /// Reads the key members of a JWK object (ignores `kid`, `alg`, `use`; refuses `d`).
    pub fn from_jwk_members(jwk: &Map<String, Value>) -> Result<Self> {
        if jwk.contains_key("d") {
            return Err(Error::InvalidKey(
                "private key member in a public JWK".into(),
            ));
        }
        let member = |name: &str| -> Result<&str> {
            jwk.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| Error::InvalidKey(format!("JWK member {name} missing")))
        };
        let key = match (member("kty")?, member("crv")?) {
            ("EC", "P-256") => {
                let x = base64url::decode(member("x")?)?;
                let y = base64url::decode(member("y")?)?;
                Self::p256_from_coordinates(&x, &y)?
            }
            ("OKP", "Ed25519") => Self::ed25519(&base64url::decode(member("x")?)?)?,
            (kty, crv) => {
                return Err(Error::InvalidKey(format!(
                    "unsupported key type {}/{}",
                    printable(kty),
                    printable(crv)
                )));
            }
        };
        // RFC 7517 §4.4: if the JWK names an algorithm, it must be the key's algorithm.
        if let Some(alg) = jwk.get("alg") {
            let alg = alg
                .as_str()
                .ok_or_else(|| Error::InvalidKey("JWK alg must be a string".into()))?;
            let named = Algorithm::from_name(alg)?;
            if named != key.algorithm() {
                return Err(Error::AlgorithmKeyMismatch {
                    header: named.name().into(),
                    key: key.algorithm().name().into(),
                });
            }
        }
        Ok(key)
    }
}

/// A public JWK: a validated key plus its optional `kid`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jwk {
    /// The key.
    pub key: PublicKey,
    /// The key id, if any.
    pub kid: Option<String>,
}

impl Jwk {
    /// A JWK without a `kid`.
    pub fn new(key: PublicKey) -> Self {
        Self { key, kid: None }
    }

    /// The same JWK with a `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Parses a public JWK from JSON (see [`PublicKey::from_jwk_members`]).
    pub fn from_value(value: &Value) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| Error::InvalidKey("JWK must be an object".into()))?;
        let key = PublicKey::from_jwk_members(obj)?;
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(Error::InvalidKey("kid must be a string".into())),
        };
        Ok(Self { key, kid })
    }

    /// The JWK as JSON, with `kid` and `alg` when known.
    pub fn to_value(&self) -> Value {
        let mut m = self.key.to_jwk_members();
        if let Some(kid) = &self.kid {
            m.insert("kid".into(), kid.clone().into());
        }
        m.insert("alg".into(), self.key.algorithm().name().into());
        Value::Object(m)
    }

    /// The RFC 7638 thumbprint.
    pub fn thumbprint(&self) -> String {
        self.key.thumbprint()
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// Parses `{"keys": [...]}`. Keys of types we do not support are skipped (RFC 7517 §5:
    /// "implementations SHOULD ignore JWKs within a JWK Set that use kty values that are
    /// not understood"); malformed keys of supported types fail the whole set.
    pub fn from_value(value: &Value) -> Result<Self> {
        let keys = value
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::malformed("JWK Set needs a keys array"))?;
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let supported = matches!(
                (
                    k.get("kty").and_then(Value::as_str),
                    k.get("crv").and_then(Value::as_str)
                ),
                (Some("EC"), Some("P-256")) | (Some("OKP"), Some("Ed25519"))
            );
            // Encryption keys (RFC 7517 §4.2 `use: enc`, or an `alg` that is not a signature
            // algorithm such as ECDH-ES) share sets with signing keys, e.g. OID4VP
            // client_metadata.jwks; they are not signature verification keys, so skip them.
            let signing = k.get("use").and_then(Value::as_str) != Some("enc")
                && k.get("alg")
                    .and_then(Value::as_str)
                    .is_none_or(|a| Algorithm::from_name(a).is_ok());
            if supported && signing {
                out.push(Jwk::from_value(k)?);
            }
        }
        Ok(Self { keys: out })
    }

    /// The set as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(Jwk::to_value).collect::<Vec<_>>() })
    }

    /// The key with this `kid`, if exactly one has it.
    pub fn by_kid(&self, kid: &str) -> Option<&Jwk> {
        let mut it = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
        match (it.next(), it.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7638_section_3_1_thumbprint_example_shape() {
        // RFC 8037 Appendix A.3: the Ed25519 thumbprint example.
        let jwk =
            json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let key = Jwk::from_value(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn point_not_on_curve_is_rejected() {
        let x = base64url::encode([1u8; 32]);
        let y = base64url::encode([2u8; 32]);
        let jwk = json!({"kty":"EC","crv":"P-256","x":x,"y":y});
        assert!(matches!(Jwk::from_value(&jwk), Err(Error::InvalidKey(_))));
    }

    #[test]
    fn private_member_is_rejected_in_public_jwk() {
        let jwk = json!({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"});
        assert!(Jwk::from_value(&jwk).is_err());
    }

    #[test]
    fn jwk_alg_must_match_key_type() {
        let jwk = json!({"kty":"OKP","crv":"Ed25519","alg":"ES256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        assert!(matches!(
            Jwk::from_value(&jwk),
            Err(Error::AlgorithmKeyMismatch { .. })
        ));
    }

    #[test]
    fn jwk_set_skips_encryption_keys() {
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let sig = json!({"kty":"OKP","crv":"Ed25519","kid":"s","x":x});
        let enc = json!({"kty":"OKP","crv":"Ed25519","kid":"e","use":"enc","x":x});
        let ecdh = json!({"kty":"OKP","crv":"Ed25519","kid":"d","alg":"ECDH-ES","x":x});
        let set = JwkSet::from_value(&json!({"keys": [sig, enc, ecdh]})).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert_eq!(set.keys[0].kid.as_deref(), Some("s"));
    }

    #[test]
    fn wrong_length_and_unknown_types_are_rejected() {
        assert!(Jwk::from_value(&json!({"kty":"OKP","crv":"Ed25519","x":"AAAA"})).is_err());
        assert!(Jwk::from_value(&json!({"kty":"oct","k":"AAAA"})).is_err());
        assert!(Jwk::from_value(&json!({"kty":"RSA","n":"AAAA","e":"AQAB"})).is_err());
    }
}
