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

/// The checks of [`PublicKey::ed25519`]: a canonical encoding of a point that is not of
/// small order. Spec: RFC 8032 §5.1.3 (decoding), §5.1.7 (verification).
fn strict_ed25519(x: &[u8; 32]) -> Result<ed25519_dalek::VerifyingKey> {
    let key = ed25519_dalek::VerifyingKey::from_bytes(x)
        .map_err(|_| Error::InvalidKey("Ed25519 key is not a curve point".into()))?;
    // Decoding accepts some non-canonical encodings; the canonical one re-encodes to itself.
    if key.to_edwards().compress().as_bytes() != x {
        return Err(Error::InvalidKey(
            "Ed25519 key is not canonically encoded".into(),
        ));
    }
    if key.is_weak() {
        return Err(Error::InvalidKey("Ed25519 key has small order".into()));
    }
    Ok(key)
}

/// Ed25519 verification with strict semantics (`verify_strict`): canonical `S`, and a
/// small-order `R` or key refused, so no signature verifies for more than one key/message
/// pair by construction. The key is re-checked here because the enum variant can be built
/// without [`PublicKey::ed25519`].
fn verify_ed25519_strict(x: &[u8; 32], message: &[u8], sig: &[u8]) -> Result<()> {
    let key = strict_ed25519(x).map_err(|_| Error::InvalidSignature)?;
    let sig: &[u8; 64] = sig.try_into().map_err(|_| Error::InvalidSignature)?;
    let sig = ed25519_dalek::Signature::from_bytes(sig);
    key.verify_strict(message, &sig)
        .map_err(|_| Error::InvalidSignature)
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PublicKey({} {})",
            self.algorithm(),
            self.thumbprint().get(..8).unwrap_or_default()
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

    /// An Ed25519 key from its 32 bytes. Refuses encodings that are not a point, that are
    /// not canonical (`y >= p`, or the sign bit set on `x = 0`), and the eight small-order
    /// points: with a small-order key one fixed signature verifies every message, so a
    /// credential could be bound to a key nobody holds (G1, G3). Every way a key enters
    /// (JWK, `cnf`, key proofs, DIDs, x5c, JWKS) comes through here.
    pub fn ed25519(bytes: &[u8]) -> Result<Self> {
        let x: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::InvalidKey("Ed25519 key must be 32 bytes".into()))?;
        strict_ed25519(&x)?;
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
            Self::Ed25519(x) => return verify_ed25519_strict(x, message, sig),
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

    /// The eight points of small order on edwards25519, canonically encoded (identity,
    /// order 2, two of order 4, four of order 8).
    const SMALL_ORDER: [&str; 8] = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    ];

    fn unhex(s: &str) -> Vec<u8> {
        s.as_bytes()
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    /// G1, G3: every small-order point is refused as a key, as raw bytes and as a JWK.
    #[test]
    fn the_eight_small_order_ed25519_points_are_refused() {
        for hex in SMALL_ORDER {
            let bytes = unhex(hex);
            assert!(
                matches!(PublicKey::ed25519(&bytes), Err(Error::InvalidKey(_))),
                "{hex} accepted"
            );
            let jwk =
                serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": base64url::encode(&bytes)});
            assert!(Jwk::from_value(&jwk).is_err(), "{hex} accepted as a JWK");
        }
    }

    /// G1, G3: a non-canonical encoding (y + p for a point with y < 19) is refused, though
    /// it decodes to a valid point of large order.
    #[test]
    fn a_non_canonical_ed25519_encoding_is_refused() {
        // y = 3 is on the curve (x^2 = (y^2 - 1) / (d y^2 + 1) is a square mod p).
        let canonical = {
            let mut b = [0u8; 32];
            b[0] = 3;
            b
        };
        PublicKey::ed25519(&canonical).unwrap();
        // 3 + p = 2^255 - 16, little-endian: f0 ff .. ff 7f.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xf0;
        non_canonical[31] = 0x7f;
        assert!(ed25519_dalek::VerifyingKey::from_bytes(&non_canonical).is_ok());
        assert!(matches!(
            PublicKey::ed25519(&non_canonical),
            Err(Error::InvalidKey(_))
        ));
    }

    /// The forgery the small-order check prevents: with the identity as the key, R = identity
    /// and S = 0 verify any message. Verification refuses it even when the key was built
    /// without the checked constructor.
    #[test]
    fn a_signature_for_the_identity_key_never_verifies() {
        let identity: [u8; 32] = unhex(SMALL_ORDER[0]).try_into().unwrap();
        let key = PublicKey::Ed25519(identity);
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        for message in [&b"one"[..], b"another"] {
            assert!(key.verify(Algorithm::EdDsa, message, &sig).is_err());
        }
    }

    /// Ordinary keys and signatures still verify (RFC 8032 §7.1 test 1).
    #[test]
    fn rfc8032_test_vector_1_verifies_strictly() {
        let key = PublicKey::ed25519(&unhex(
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        ))
        .unwrap();
        let sig = unhex(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ));
        key.verify(Algorithm::EdDsa, b"", &sig).unwrap();
        let mut bad = sig.clone();
        bad[63] ^= 1;
        assert!(key.verify(Algorithm::EdDsa, b"", &bad).is_err());
    }
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
