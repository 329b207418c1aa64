//! JWE Compact Serialization (RFC 7516 §7.1) with `alg: ECDH-ES` direct key agreement on
//! P-256 (RFC 7518 §4.6) and AES-GCM content encryption (RFC 7518 §5.3).
//!
//! Used by OpenID4VP `direct_post.jwt` (the wallet encrypts the Authorization Response to a
//! key from the verifier's `client_metadata.jwks`, OID4VP 1.0 §8.3) and by OID4VCI
//! credential response encryption.
//!
//! [`decrypt`] is strict: exactly five parts, an empty JWE Encrypted Key, `alg` exactly
//! `ECDH-ES`, `enc` from the caller's allow-list, no `zip` (decompression bombs), no `crit`,
//! an `epk` that is a valid P-256 point (invalid-curve attacks), a 96-bit IV, a 128-bit tag
//! and a bounded size. Every failure after the ECDH step is [`Error::Decryption`], with no
//! detail, so the answer is not an oracle.
//!
//! [`decrypt_with`] is the same with a `zip` allow-list: OID4VCI 1.0 §10 lets a Credential
//! Issuer offer `zip: DEF` (RFC 7516 §4.1.3, raw DEFLATE of RFC 1951). The plaintext is
//! inflated only after the tag verified, and never beyond [`MAX_INFLATED_LEN`] bytes, so a
//! small token cannot expand into gigabytes.

use std::fmt;
use std::io::{Read as _, Write as _};

use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::digest;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::alg::printable;
use super::jwk::{Jwk, PublicKey};
use crate::base64url;
use crate::error::{Error, Result};
use crate::json;
use crate::rng::RandomSource;

/// The one key management algorithm we implement: ECDH-ES in Direct Key Agreement mode.
pub const ALG_ECDH_ES: &str = "ECDH-ES";
/// Largest compact JWE accepted by [`decrypt`].
pub const MAX_JWE_LEN: usize = 1024 * 1024;
/// Largest decoded protected header accepted by [`decrypt`].
pub const MAX_JWE_HEADER_LEN: usize = 8 * 1024;
/// Largest `apu`/`apv` value (decoded) accepted by [`decrypt`].
const MAX_PARTY_INFO_LEN: usize = 512;
/// Largest plaintext [`decrypt_with`] inflates a `zip: DEF` payload to (a bound against
/// decompression bombs; a credential response of a batch of SD-JWT VCs is a few KiB).
pub const MAX_INFLATED_LEN: usize = 1024 * 1024;

// Spec: RFC 7518 §5.3: AES-GCM uses a 96-bit IV and a 128-bit authentication tag.
const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A JWE content encryption algorithm (`enc`, RFC 7518 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentEncryption {
    /// AES-GCM with a 128-bit key (`A128GCM`); the OID4VP default.
    A128Gcm,
    /// AES-GCM with a 256-bit key (`A256GCM`).
    A256Gcm,
}

impl ContentEncryption {
    /// The `enc` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    /// Reads an `enc` header value; anything but the two AES-GCM variants is refused.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "A128GCM" => Ok(Self::A128Gcm),
            "A256GCM" => Ok(Self::A256Gcm),
            other => Err(Error::AlgorithmNotAllowed(format!(
                "enc {}",
                printable(other)
            ))),
        }
    }

    /// The content encryption key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }

    fn aead(self) -> &'static aead::Algorithm {
        match self {
            Self::A128Gcm => &aead::AES_128_GCM,
            Self::A256Gcm => &aead::AES_256_GCM,
        }
    }
}

impl fmt::Display for ContentEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A JWE compression algorithm (`zip`, RFC 7516 §4.1.3; RFC 7518 §7.3 registers `DEF`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// `DEF`: raw DEFLATE (RFC 1951), no zlib or gzip wrapper.
    Deflate,
}

impl Compression {
    /// The `zip` header value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Deflate => "DEF",
        }
    }

    /// Reads a `zip` header value; anything but `DEF` is refused.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "DEF" => Ok(Self::Deflate),
            other => Err(Error::AlgorithmNotAllowed(format!(
                "zip {}",
                printable(other)
            ))),
        }
    }

    fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Deflate => {
                let mut enc = flate2::write::DeflateEncoder::new(
                    Vec::with_capacity(data.len() / 2 + 64),
                    flate2::Compression::default(),
                );
                // Writing into a Vec cannot fail for I/O reasons; an error is the backend's.
                enc.write_all(data)
                    .and_then(|()| enc.finish())
                    .map_err(|_| Error::Crypto("DEFLATE compression failed".into()))
            }
        }
    }

    /// Inflates `data` into at most `max_out` bytes: the decoder is read through
    /// `take(max_out + 1)`, so a bomb costs at most that much memory and work. The stream
    /// must end exactly at the end of the input.
    fn decompress(self, data: &[u8], max_out: usize) -> Result<Vec<u8>> {
        match self {
            Self::Deflate => {
                let mut dec = flate2::bufread::DeflateDecoder::new(data);
                let limit = u64::try_from(max_out).unwrap_or(u64::MAX).saturating_add(1);
                let mut out = Vec::new();
                (&mut dec)
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|_| Error::malformed("invalid DEFLATE stream"))?;
                if out.len() > max_out {
                    return Err(Error::TooLarge(format!(
                        "zip payload inflates beyond {max_out} bytes"
                    )));
                }
                if !dec.into_inner().is_empty() {
                    return Err(Error::malformed("bytes after the DEFLATE stream"));
                }
                Ok(out)
            }
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A static P-256 key-agreement private key (the decrypting side: a verifier's response
/// encryption key, a wallet's credential response key). `Debug` never prints the scalar;
/// the scalar is wiped on drop (p256's `SecretKey` zeroizes itself).
#[derive(Clone)]
pub struct EcdhPrivateKey {
    secret: p256::SecretKey,
    public: PublicKey,
}

impl fmt::Debug for EcdhPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EcdhPrivateKey({:?}, private part [redacted])",
            self.public
        )
    }
}

impl EcdhPrivateKey {
    /// Generates a fresh key from `rng`.
    pub fn generate(rng: &dyn RandomSource) -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        // A uniformly random 32-byte string is zero or >= n with probability ~2^-32; a
        // generator failing 16 times in a row is broken, not unlucky.
        for _ in 0..16 {
            rng.fill(bytes.as_mut())?;
            if let Ok(key) = Self::from_scalar(bytes.as_ref()) {
                return Ok(key);
            }
        }
        Err(Error::Crypto("RNG produced no valid P-256 scalar".into()))
    }

    /// A key from its private scalar `d`: exactly 32 bytes, big-endian, in `[1, n)`.
    pub fn from_scalar(d: &[u8]) -> Result<Self> {
        // Spec: RFC 7518 §6.2.2.1: `d` MUST be the full 32 octets for P-256 (p256's
        // from_slice would left-pad shorter input, so the length is checked here).
        let d: [u8; 32] = d
            .try_into()
            .map_err(|_| Error::InvalidKey("P-256 private scalar must be 32 bytes".into()))?;
        let d = Zeroizing::new(d);
        let secret = p256::SecretKey::from_bytes(&(*d).into())
            .map_err(|_| Error::InvalidKey("P-256 private scalar out of range".into()))?;
        let point = secret.public_key().to_encoded_point(false);
        let public = PublicKey::p256_from_sec1(point.as_bytes())?;
        Ok(Self { secret, public })
    }

    /// The public key senders encrypt to.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The public key as a [`Jwk`]. Note that [`Jwk::to_value`] labels P-256 keys with
    /// `alg: ES256`; publish [`EcdhPrivateKey::public_jwk_value`] instead.
    pub fn public_jwk(&self, kid: Option<&str>) -> Jwk {
        let jwk = Jwk::new(self.public.clone());
        match kid {
            Some(kid) => jwk.with_kid(kid),
            None => jwk,
        }
    }

    /// The public JWK to publish (e.g. in OID4VP `client_metadata.jwks`): `kty`, `crv`,
    /// `x`, `y`, `use: enc`, `alg: ECDH-ES` and the `kid` if given.
    pub fn public_jwk_value(&self, kid: Option<&str>) -> Value {
        let mut m = self.public.to_jwk_members();
        if let Some(kid) = kid {
            m.insert("kid".into(), kid.into());
        }
        m.insert("use".into(), "enc".into());
        // Spec: OID4VP 1.0 §8.3: "The `alg` parameter MUST be present in the JWKs."
        m.insert("alg".into(), ALG_ECDH_ES.into());
        Value::Object(m)
    }

    /// The private JWK (for encrypted storage only; never log it), wiped when dropped.
    pub fn to_private_jwk(&self) -> Zeroizing<String> {
        let mut m = self.public.to_jwk_members();
        let d = Zeroizing::new(self.secret.to_bytes());
        m.insert("d".into(), Value::String(base64url::encode(&d[..])));
        Zeroizing::new(Value::Object(m).to_string())
    }

    /// Reads a private P-256 JWK (`kty: EC`, `crv: P-256`, `x`, `y`, `d`). The public
    /// members must match `d`; `alg`, if present, must be `ECDH-ES`; `use`, if present,
    /// must be `enc`.
    pub fn from_private_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| Error::InvalidKey("JWK must be an object".into()))?;
        let d = obj
            .get("d")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::InvalidKey("private JWK needs d".into()))?;
        let d = Zeroizing::new(base64url::decode(d)?);
        match obj.get("alg") {
            None => {}
            Some(Value::String(a)) if a == ALG_ECDH_ES => {}
            Some(_) => return Err(Error::InvalidKey("JWK alg is not ECDH-ES".into())),
        }
        let claimed = ec_p256_from_members(obj, true)?;
        let key = Self::from_scalar(&d)?;
        if key.public != claimed {
            return Err(Error::InvalidKey("public members do not match d".into()));
        }
        Ok(key)
    }

    fn agree(&self, peer: &p256::PublicKey) -> Zeroizing<[u8; 32]> {
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
        let mut z = Zeroizing::new([0u8; 32]);
        z.copy_from_slice(&shared.raw_secret_bytes()[..]);
        z
    }
}

/// A recipient's public encryption key taken from a JWK (e.g. one entry of the verifier's
/// `client_metadata.jwks`), with its `kid` to echo in the JWE header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// The P-256 public key.
    pub key: PublicKey,
    /// The JWK's `kid`, which the JWE header must repeat (OID4VP 1.0 §8.3).
    pub kid: Option<String>,
}

impl RecipientKey {
    /// Reads one encryption JWK. Spec: OID4VP 1.0 §8.3: `alg` MUST be present and the JWE
    /// `alg` MUST equal it, so `alg` must be `ECDH-ES`; `use` must be absent or `enc`. Only
    /// `kty: EC`, `crv: P-256` is supported; the point must be on the curve.
    pub fn from_jwk(jwk: &Value) -> Result<Self> {
        let obj = jwk
            .as_object()
            .ok_or_else(|| Error::InvalidKey("JWK must be an object".into()))?;
        if obj.contains_key("d") {
            return Err(Error::InvalidKey(
                "private key member in a public JWK".into(),
            ));
        }
        match obj.get("alg") {
            Some(Value::String(a)) if a == ALG_ECDH_ES => {}
            Some(Value::String(a)) => {
                return Err(Error::AlgorithmNotAllowed(format!(
                    "JWK alg {}",
                    printable(a)
                )));
            }
            _ => return Err(Error::InvalidKey("encryption JWK needs alg".into())),
        }
        let key = ec_p256_from_members(obj, true)?;
        let kid = match obj.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(Error::InvalidKey("kid must be a string".into())),
        };
        Ok(Self { key, kid })
    }

    /// Picks the first key of a JWK Set (`{"keys": [...]}`) that [`RecipientKey::from_jwk`]
    /// accepts. Keys of other types, algorithms or uses are skipped (OID4VP 1.0 §8.3: the
    /// Wallet selects a key it supports). Fails if none is usable.
    pub fn select(jwks: &Value) -> Result<Self> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::malformed("JWK Set needs a keys array"))?;
        keys.iter()
            .find_map(|k| Self::from_jwk(k).ok())
            .ok_or_else(|| Error::InvalidKey("no usable ECDH-ES P-256 encryption key".into()))
    }
}

/// Reads `kty: EC`, `crv: P-256`, `x`, `y` of a JWK and validates the point. `use`, if
/// checked and present, must be `enc`.
fn ec_p256_from_members(obj: &Map<String, Value>, check_use: bool) -> Result<PublicKey> {
    let member = |name: &str| -> Result<&str> {
        obj.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| Error::InvalidKey(format!("JWK member {name} missing")))
    };
    if member("kty")? != "EC" || member("crv")? != "P-256" {
        return Err(Error::InvalidKey("only EC P-256 keys are supported".into()));
    }
    if check_use {
        match obj.get("use") {
            None => {}
            Some(Value::String(u)) if u == "enc" => {}
            Some(_) => return Err(Error::InvalidKey("JWK use is not enc".into())),
        }
    }
    let x = base64url::decode(member("x")?)?;
    let y = base64url::decode(member("y")?)?;
    PublicKey::p256_from_coordinates(&x, &y)
}

/// Optional header parameters for [`encrypt`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JweHeaderParams {
    /// `kid` of the recipient key (OID4VP 1.0 §8.3: MUST repeat the chosen JWK's `kid`).
    pub kid: Option<String>,
    /// Agreement PartyUInfo (`apu`), raw bytes; base64url-encoded into the header.
    pub apu: Option<Vec<u8>>,
    /// Agreement PartyVInfo (`apv`), raw bytes; base64url-encoded into the header.
    pub apv: Option<Vec<u8>>,
    /// `typ` header parameter.
    pub typ: Option<String>,
    /// `cty` header parameter (e.g. `JWT` for a nested signed JWT, RFC 7519 §5.2).
    pub cty: Option<String>,
    /// `zip`: compress the plaintext before encryption (RFC 7516 §4.1.3, §5.1 step 11).
    pub zip: Option<Compression>,
}

/// A decrypted JWE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The protected header (authenticated: it is the AAD).
    pub header: Map<String, Value>,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

/// Encrypts `plaintext` to `recipient` as a compact JWE with `alg: ECDH-ES` and `enc`.
///
/// A fresh ephemeral key and a fresh 96-bit IV come from `rng`; the ephemeral public key is
/// sent as `epk`; the JWE Encrypted Key is empty (RFC 7518 §4.6: direct key agreement).
pub fn encrypt(
    plaintext: &[u8],
    recipient: &PublicKey,
    enc: ContentEncryption,
    extra: JweHeaderParams,
    rng: &dyn RandomSource,
) -> Result<String> {
    let PublicKey::P256(point) = recipient else {
        return Err(Error::InvalidKey(
            "ECDH-ES needs a P-256 recipient key".into(),
        ));
    };
    let peer = p256::PublicKey::from_sec1_bytes(point)
        .map_err(|_| Error::InvalidKey("not a valid P-256 point".into()))?;
    let ephemeral = EcdhPrivateKey::generate(rng)?;
    let z = ephemeral.agree(&peer);

    let mut header = Map::new();
    header.insert("alg".into(), ALG_ECDH_ES.into());
    header.insert("enc".into(), enc.name().into());
    if let Some(kid) = extra.kid {
        header.insert("kid".into(), kid.into());
    }
    if let Some(typ) = extra.typ {
        header.insert("typ".into(), typ.into());
    }
    if let Some(cty) = extra.cty {
        header.insert("cty".into(), cty.into());
    }
    // Spec: RFC 7516 §5.1 step 11: with `zip`, the compressed plaintext is encrypted.
    let compressed = match extra.zip {
        Some(zip) => {
            header.insert("zip".into(), zip.name().into());
            Some(zip.compress(plaintext)?)
        }
        None => None,
    };
    let plaintext = compressed.as_deref().unwrap_or(plaintext);
    // Spec: RFC 7518 §4.6.1.1: `epk` holds only the public key members.
    header.insert(
        "epk".into(),
        Value::Object(ephemeral.public.to_jwk_members()),
    );
    let apu = extra.apu.unwrap_or_default();
    let apv = extra.apv.unwrap_or_default();
    if !apu.is_empty() {
        header.insert("apu".into(), base64url::encode(&apu).into());
    }
    if !apv.is_empty() {
        header.insert("apv".into(), base64url::encode(&apv).into());
    }

    // Spec: RFC 7518 §4.6.2: for direct key agreement AlgorithmID is the `enc` value and
    // keydatalen is the content encryption key length.
    let cek = concat_kdf(z.as_ref(), enc.name(), &apu, &apv, enc.key_len())?;
    let mut iv = [0u8; IV_LEN];
    rng.fill(&mut iv)?;

    let header_json =
        serde_json::to_vec(&Value::Object(header)).map_err(|e| Error::malformed(e.to_string()))?;
    let protected = base64url::encode(header_json);
    let key = LessSafeKey::new(
        UnboundKey::new(enc.aead(), &cek).map_err(|_| Error::Crypto("AES key rejected".into()))?,
    );
    let mut in_out = plaintext.to_vec();
    // Spec: RFC 7516 §5.1 step 14: AAD = ASCII(BASE64URL(UTF8(JWE Protected Header))).
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut in_out,
        )
        .map_err(|_| Error::Crypto("AES-GCM encryption failed".into()))?;

    // Spec: RFC 7516 §7.1: header.encrypted_key.iv.ciphertext.tag, encrypted key empty.
    let mut out = String::with_capacity(protected.len() + in_out.len() * 4 / 3 + 64);
    out.push_str(&protected);
    out.push_str("..");
    base64url::encode_into(iv, &mut out);
    out.push('.');
    base64url::encode_into(&in_out, &mut out);
    out.push('.');
    base64url::encode_into(tag.as_ref(), &mut out);
    Ok(out)
}

/// Reads the protected header of a compact JWE without decrypting it, e.g. to choose a
/// decryption key by `kid`. Nothing in it is authenticated yet.
pub fn protected_header(token: &str) -> Result<Map<String, Value>> {
    if token.len() > MAX_JWE_LEN {
        return Err(Error::TooLarge(format!("JWE over {MAX_JWE_LEN} bytes")));
    }
    let first = token.split('.').next().unwrap_or_default();
    json::parse_object(&base64url::decode(first)?, MAX_JWE_HEADER_LEN)
}

/// Decrypts a compact JWE made with `alg: ECDH-ES` and an `enc` in `allowed`; a `zip`
/// header is refused.
pub fn decrypt(
    token: &str,
    key: &EcdhPrivateKey,
    allowed: &[ContentEncryption],
) -> Result<Decrypted> {
    decrypt_with(token, key, allowed, &[])
}

/// Decrypts like [`decrypt`], and accepts a `zip` in `allowed_zip`: the plaintext returned
/// is the inflated one (at most [`MAX_INFLATED_LEN`] bytes, else [`Error::TooLarge`]).
pub fn decrypt_with(
    token: &str,
    key: &EcdhPrivateKey,
    allowed: &[ContentEncryption],
    allowed_zip: &[Compression],
) -> Result<Decrypted> {
    if token.len() > MAX_JWE_LEN {
        return Err(Error::TooLarge(format!("JWE over {MAX_JWE_LEN} bytes")));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(ek), Some(iv), Some(ct), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(Error::malformed("a compact JWE has exactly five parts"));
    };
    let header = json::parse_object(&base64url::decode(h)?, MAX_JWE_HEADER_LEN)?;

    // Spec: RFC 7516 §4.1.13 / RFC 7515 §4.1.11: a `crit` we do not understand MUST be
    // rejected; we understand none.
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
    // Spec: RFC 7518 §4.6: only direct key agreement; `ECDH-ES+A*KW`, `dir`, RSA, `none`
    // and anything else are refused before any key is used.
    match header.get("alg") {
        Some(Value::String(a)) if a == ALG_ECDH_ES => {}
        Some(Value::String(a)) => {
            return Err(Error::AlgorithmNotAllowed(format!("alg {}", printable(a))));
        }
        _ => return Err(Error::malformed("JWE header needs a string alg")),
    }
    let enc = match header.get("enc") {
        Some(Value::String(e)) => ContentEncryption::from_name(e)?,
        _ => return Err(Error::malformed("JWE header needs a string enc")),
    };
    if !allowed.contains(&enc) {
        return Err(Error::AlgorithmNotAllowed(format!("enc {}", enc.name())));
    }
    // Spec: RFC 7516 §4.1.3: `zip` makes us decompress attacker data, so it is accepted
    // only where the caller offers it (OID4VCI 1.0 §12.2.4 `zip_values_supported`), and
    // inflated with a bound.
    let zip = match header.get("zip") {
        None => None,
        Some(Value::String(z)) => {
            let zip = Compression::from_name(z)?;
            if !allowed_zip.contains(&zip) {
                return Err(Error::AlgorithmNotAllowed(format!("zip {}", zip.name())));
            }
            Some(zip)
        }
        Some(_) => return Err(Error::AlgorithmNotAllowed("zip".into())),
    };
    // Spec: RFC 7518 §4.6: with direct key agreement the JWE Encrypted Key MUST be empty.
    if !ek.is_empty() {
        return Err(Error::malformed(
            "ECDH-ES (direct) needs an empty encrypted key",
        ));
    }
    let peer = epk_from_header(&header)?;
    let apu = party_info(&header, "apu")?;
    let apv = party_info(&header, "apv")?;
    let iv = base64url::decode(iv)?;
    let iv: [u8; IV_LEN] = iv
        .try_into()
        .map_err(|_| Error::malformed("AES-GCM IV must be 96 bits"))?;
    let mut buf = base64url::decode(ct)?;
    let tag = base64url::decode(tag)?;
    if tag.len() != TAG_LEN {
        return Err(Error::malformed("AES-GCM tag must be 128 bits"));
    }
    buf.extend_from_slice(&tag);

    let z = key.agree(&peer);
    let cek = concat_kdf(z.as_ref(), enc.name(), &apu, &apv, enc.key_len())
        .map_err(|_| Error::Decryption)?;
    let aes = LessSafeKey::new(UnboundKey::new(enc.aead(), &cek).map_err(|_| Error::Decryption)?);
    let plaintext = aes
        .open_in_place(
            Nonce::assume_unique_for_key(iv),
            Aad::from(h.as_bytes()),
            &mut buf,
        )
        .map_err(|_| Error::Decryption)?;
    // The tag verified: what is inflated is the sender's own, authenticated data.
    let plaintext = match zip {
        Some(zip) => zip.decompress(plaintext, MAX_INFLATED_LEN)?,
        None => plaintext.to_vec(),
    };
    Ok(Decrypted { header, plaintext })
}

/// Reads and validates `epk`: a public P-256 JWK whose point is on the curve (RFC 7518
/// §4.6.1.1). Validating the point defeats invalid-curve attacks on the static key.
fn epk_from_header(header: &Map<String, Value>) -> Result<p256::PublicKey> {
    let epk = header
        .get("epk")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::malformed("ECDH-ES needs an epk object"))?;
    if epk.contains_key("d") {
        return Err(Error::InvalidKey("epk carries a private key".into()));
    }
    let PublicKey::P256(point) = ec_p256_from_members(epk, false)? else {
        return Err(Error::InvalidKey("epk must be a P-256 key".into()));
    };
    p256::PublicKey::from_sec1_bytes(&point)
        .map_err(|_| Error::InvalidKey("epk is not a valid P-256 point".into()))
}

fn party_info(header: &Map<String, Value>, name: &str) -> Result<Vec<u8>> {
    match header.get(name) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => {
            let bytes = base64url::decode(s)?;
            if bytes.len() > MAX_PARTY_INFO_LEN {
                return Err(Error::TooLarge(format!(
                    "{name} over {MAX_PARTY_INFO_LEN} bytes"
                )));
            }
            Ok(bytes)
        }
        Some(_) => Err(Error::malformed(format!("{name} must be a string"))),
    }
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 as profiled by RFC 7518 §4.6.2, with SHA-256.
///
/// OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, where the first
/// three are 32-bit big-endian length-prefixed and SuppPubInfo is keydatalen in bits as a
/// 32-bit big-endian integer; SuppPrivInfo is empty.
pub(crate) fn concat_kdf(
    z: &[u8],
    algorithm_id: &str,
    apu: &[u8],
    apv: &[u8],
    key_len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let prefixed_len = |n: usize| -> Result<[u8; 4]> {
        u32::try_from(n)
            .map(u32::to_be_bytes)
            .map_err(|_| Error::TooLarge("Concat KDF input".into()))
    };
    let key_bits = key_len
        .checked_mul(8)
        .ok_or_else(|| Error::TooLarge("Concat KDF key length".into()))?;
    let mut other_info = Vec::with_capacity(16 + algorithm_id.len() + apu.len() + apv.len());
    for field in [algorithm_id.as_bytes(), apu, apv] {
        other_info.extend_from_slice(&prefixed_len(field.len())?);
        other_info.extend_from_slice(field);
    }
    other_info.extend_from_slice(&prefixed_len(key_bits)?);

    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 32));
    let mut counter: u32 = 1;
    while out.len() < key_len {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(z);
        ctx.update(&other_info);
        out.extend_from_slice(ctx.finish().as_ref());
        counter = counter
            .checked_add(1)
            .ok_or_else(|| Error::TooLarge("Concat KDF key length".into()))?;
    }
    out.truncate(key_len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeededRandom;
    use serde_json::json;

    const ALL: &[ContentEncryption] = &[ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

    fn key(seed: u64) -> EcdhPrivateKey {
        EcdhPrivateKey::generate(&SeededRandom::new(seed)).unwrap()
    }

    fn parts(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    fn header_of(token: &str) -> Value {
        Value::Object(protected_header(token).unwrap())
    }

    /// Re-encodes a token with a different header (and otherwise the same parts).
    fn with_header(token: &str, header: &Value) -> String {
        let mut p = parts(token);
        p[0] = base64url::encode(header.to_string());
        p.join(".")
    }

    /// Flips one bit of the decoded part `index` and re-encodes it.
    fn flip(token: &str, index: usize) -> String {
        let mut p = parts(token);
        let mut bytes = base64url::decode(&p[index]).unwrap();
        bytes[0] ^= 1;
        p[index] = base64url::encode(bytes);
        p.join(".")
    }

    #[test]
    fn rfc7518_appendix_c_ecdh_es_key_agreement() {
        // RFC 7518 Appendix C: Alice (sender, ephemeral) and Bob (recipient) keys, Z, and
        // the derived 128-bit key for enc A128GCM, apu "Alice", apv "Bob".
        let alice = EcdhPrivateKey::from_private_jwk(&json!({"kty":"EC","crv":"P-256",
            "x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
            "y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
            "d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}))
        .unwrap();
        let bob = EcdhPrivateKey::from_private_jwk(&json!({"kty":"EC","crv":"P-256",
            "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
            "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
            "d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}))
        .unwrap();
        let expected_z: [u8; 32] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ];
        let to_p256 = |k: &EcdhPrivateKey| match k.public_key() {
            PublicKey::P256(p) => p256::PublicKey::from_sec1_bytes(p).unwrap(),
            PublicKey::Ed25519(_) => unreachable!(),
        };
        let z_alice = alice.agree(&to_p256(&bob));
        let z_bob = bob.agree(&to_p256(&alice));
        assert_eq!(*z_alice, expected_z);
        assert_eq!(*z_bob, expected_z);
        let derived = concat_kdf(&expected_z, "A128GCM", b"Alice", b"Bob", 16).unwrap();
        assert_eq!(
            derived.as_slice(),
            &[
                86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26
            ]
        );
        assert_eq!(
            base64url::encode(derived.as_slice()),
            "VqqN6vgjbSBcIijNcacQGg"
        );
    }

    #[test]
    fn oid4vp_1_0_section_8_3_encrypted_response_example_decrypts() {
        // OpenID4VP 1.0 §8.3 (Encrypted Responses): the example response encrypted to the
        // `ac` key, and that key's private JWK as given in the spec (produced by another
        // implementation, so this doubles as an interop vector).
        let key = EcdhPrivateKey::from_private_jwk(&json!({
            "kty":"EC", "kid":"ac", "use":"enc", "crv":"P-256","alg":"ECDH-ES",
            "x":"YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
            "y":"Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk",
            "d":"Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww"}))
        .unwrap();
        let token = concat!(
            "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTEyOEdDTSIsImtpZCI6ImFjIiwiZXBrIjp7Imt",
            "0eSI6IkVDIiwieCI6Im5ubVZwbTNWM2piaGNhZlFhUkJrU1ZOSGx3Wkh3dC05ck9wSnVmeVlJdWsiLCJ5I",
            "joicjRmakRxd0p5czlxVU9QLV9iM21SNVNaRy0tQ3dPMm1pYzVWU05UWU45ZyIsImNydiI6IlAtMjU2In1",
            "9..uAYcHRUSSn2X0WPX.yVzlGSYG4qbg0bq18JcUiDRw56yVnbKR8E7S7YlEtzT00RqE3Pw5oTpUG3hdLN",
            "4taHZ9gC1kwak8JOnJgQ.1wR024_3-qtAlx1oFIUpQQ"
        );
        let out = decrypt(token, &key, &[ContentEncryption::A128Gcm]).unwrap();
        assert_eq!(out.header["kid"], "ac");
        // The payload shown in §8.3.
        let payload: Value = serde_json::from_slice(&out.plaintext).unwrap();
        assert_eq!(
            payload,
            json!({"vp_token": {"example_credential_id": ["eyJhb...YMetA"]}})
        );
        // A256GCM-only policy refuses the same token before decrypting.
        assert!(matches!(
            decrypt(token, &key, &[ContentEncryption::A256Gcm]),
            Err(Error::AlgorithmNotAllowed(_))
        ));
    }

    #[test]
    fn round_trip_with_both_content_encryptions_and_header_params() {
        let k = key(1);
        let rng = SeededRandom::new(2);
        for enc in [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm] {
            let params = JweHeaderParams {
                kid: Some("k1".into()),
                apu: Some(b"wallet".to_vec()),
                apv: Some(b"nonce-123".to_vec()),
                typ: Some("oauth-authz-resp+jwt".into()),
                cty: Some("JWT".into()),
                zip: None,
            };
            let token = encrypt(b"{\"a\":1}", k.public_key(), enc, params, &rng).unwrap();
            assert_eq!(parts(&token).len(), 5);
            assert!(parts(&token)[1].is_empty());
            let out = decrypt(&token, &k, ALL).unwrap();
            assert_eq!(out.plaintext, b"{\"a\":1}");
            assert_eq!(out.header["alg"], "ECDH-ES");
            assert_eq!(out.header["enc"], enc.name());
            assert_eq!(out.header["kid"], "k1");
            assert_eq!(out.header["apu"], base64url::encode(b"wallet"));
            assert_eq!(out.header["apv"], base64url::encode(b"nonce-123"));
            assert_eq!(out.header["cty"], "JWT");
            assert!(out.header["epk"].get("d").is_none());
        }
        // Empty plaintext works too.
        let t = encrypt(
            b"",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &rng,
        )
        .unwrap();
        assert!(decrypt(&t, &k, ALL).unwrap().plaintext.is_empty());
    }

    #[test]
    fn fresh_ephemeral_key_and_iv_per_message() {
        let k = key(3);
        let rng = SeededRandom::new(4);
        let a = encrypt(
            b"x",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &rng,
        )
        .unwrap();
        let b = encrypt(
            b"x",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &rng,
        )
        .unwrap();
        assert_ne!(header_of(&a)["epk"], header_of(&b)["epk"]);
        assert_ne!(parts(&a)[2], parts(&b)[2]);
    }

    #[test]
    fn tampered_ciphertext_tag_iv_or_header_fails_with_decryption() {
        let k = key(5);
        let token = encrypt(
            b"secret payload",
            k.public_key(),
            ContentEncryption::A256Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(6),
        )
        .unwrap();
        for index in [2, 3, 4] {
            assert_eq!(
                decrypt(&flip(&token, index), &k, ALL),
                Err(Error::Decryption),
                "part {index}"
            );
        }
        // A header change that still parses (the AAD changes).
        let mut h = header_of(&token);
        h["kid"] = "other".into();
        assert_eq!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::Decryption)
        );
        // Changing apu changes both the KDF input and the AAD.
        let mut h = header_of(&token);
        h["apu"] = base64url::encode(b"mallory").into();
        assert_eq!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::Decryption)
        );
        // Truncated ciphertext.
        let mut p = parts(&token);
        p[3] = base64url::encode(&base64url::decode(&p[3]).unwrap()[1..]);
        assert_eq!(decrypt(&p.join("."), &k, ALL), Err(Error::Decryption));
    }

    #[test]
    fn wrong_key_fails_with_decryption() {
        let token = encrypt(
            b"hi",
            key(7).public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(8),
        )
        .unwrap();
        assert_eq!(decrypt(&token, &key(9), ALL), Err(Error::Decryption));
    }

    #[test]
    fn off_curve_or_foreign_epk_is_rejected() {
        let k = key(10);
        let token = encrypt(
            b"hi",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(11),
        )
        .unwrap();
        let mut h = header_of(&token);
        h["epk"]["y"] = base64url::encode([7u8; 32]).into();
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::InvalidKey(_))
        ));
        // The point at infinity / short coordinates.
        let mut h = header_of(&token);
        h["epk"]["x"] = base64url::encode([0u8; 31]).into();
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::InvalidKey(_))
        ));
        let mut h = header_of(&token);
        h["epk"] = json!({"kty":"OKP","crv":"X25519","x":base64url::encode([9u8; 32])});
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::InvalidKey(_))
        ));
        let mut h = header_of(&token);
        h["epk"]["d"] = base64url::encode([1u8; 32]).into();
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::InvalidKey(_))
        ));
        let mut h = header_of(&token);
        h.as_object_mut().unwrap().remove("epk");
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn zip_crit_and_other_algorithms_are_rejected() {
        let k = key(12);
        let token = encrypt(
            b"hi",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(13),
        )
        .unwrap();
        let mut h = header_of(&token);
        h["zip"] = "DEF".into();
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::AlgorithmNotAllowed(_))
        ));
        let mut h = header_of(&token);
        h["crit"] = json!(["exp"]);
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::UnsupportedCritical(_))
        ));
        for alg in [
            "dir",
            "none",
            "RSA-OAEP",
            "RSA-OAEP-256",
            "ECDH-ES+A128KW",
            "A128KW",
            "ecdh-es",
            "",
        ] {
            let mut h = header_of(&token);
            h["alg"] = alg.into();
            assert!(
                matches!(
                    decrypt(&with_header(&token, &h), &k, ALL),
                    Err(Error::AlgorithmNotAllowed(_))
                ),
                "{alg}"
            );
        }
        for enc in ["A128CBC-HS256", "A192GCM", "none"] {
            let mut h = header_of(&token);
            h["enc"] = enc.into();
            assert!(
                matches!(
                    decrypt(&with_header(&token, &h), &k, ALL),
                    Err(Error::AlgorithmNotAllowed(_))
                ),
                "{enc}"
            );
        }
        let mut h = header_of(&token);
        h.as_object_mut().unwrap().remove("alg");
        assert!(matches!(
            decrypt(&with_header(&token, &h), &k, ALL),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn structural_violations_are_rejected() {
        let k = key(14);
        let token = encrypt(
            b"hi",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(15),
        )
        .unwrap();
        let p = parts(&token);
        // Four or six parts.
        assert!(matches!(
            decrypt(&p[..4].join("."), &k, ALL),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            decrypt(&format!("{token}."), &k, ALL),
            Err(Error::Malformed(_))
        ));
        // A non-empty encrypted key.
        let mut q = p.clone();
        q[1] = base64url::encode([0u8; 16]);
        assert!(matches!(
            decrypt(&q.join("."), &k, ALL),
            Err(Error::Malformed(_))
        ));
        // IV of the wrong length.
        let mut q = p.clone();
        q[2] = base64url::encode([0u8; 16]);
        assert!(matches!(
            decrypt(&q.join("."), &k, ALL),
            Err(Error::Malformed(_))
        ));
        // Truncated tag.
        let mut q = p.clone();
        q[4] = base64url::encode([0u8; 12]);
        assert!(matches!(
            decrypt(&q.join("."), &k, ALL),
            Err(Error::Malformed(_))
        ));
        // Duplicate header member.
        let dup = format!(
            "{}{}",
            base64url::encode(r#"{"alg":"ECDH-ES","alg":"dir","enc":"A128GCM"}"#),
            token.strip_prefix(p[0].as_str()).unwrap()
        );
        assert!(matches!(decrypt(&dup, &k, ALL), Err(Error::Malformed(_))));
        // Padding / non-base64url.
        assert!(decrypt(&format!("{}=.{}", p[0], p[1..].join(".")), &k, ALL).is_err());
    }

    #[test]
    fn oversized_token_is_too_large() {
        let k = key(16);
        let big = "A".repeat(MAX_JWE_LEN + 1);
        assert!(matches!(decrypt(&big, &k, ALL), Err(Error::TooLarge(_))));
        assert!(matches!(protected_header(&big), Err(Error::TooLarge(_))));
    }

    #[test]
    fn private_jwk_round_trips_and_debug_is_redacted() {
        let k = key(17);
        let jwk: Value = serde_json::from_str(&k.to_private_jwk()).unwrap();
        let back = EcdhPrivateKey::from_private_jwk(&jwk).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let d = jwk["d"].as_str().unwrap().to_owned();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("redacted") && !dbg.contains(&d));
        // A d that does not match x/y, a short d, and a wrong alg are refused.
        let mut forged = jwk.clone();
        forged["d"] = key(18).to_private_jwk().parse::<Value>().unwrap()["d"].clone();
        assert!(EcdhPrivateKey::from_private_jwk(&forged).is_err());
        let mut short = jwk.clone();
        short["d"] = base64url::encode([1u8; 31]).into();
        assert!(EcdhPrivateKey::from_private_jwk(&short).is_err());
        let mut sig_use = jwk.clone();
        sig_use["use"] = "sig".into();
        assert!(EcdhPrivateKey::from_private_jwk(&sig_use).is_err());
    }

    #[test]
    fn recipient_key_selection_follows_oid4vp_rules() {
        let k = key(19);
        let published = k.public_jwk_value(Some("enc-1"));
        assert_eq!(published["alg"], "ECDH-ES");
        assert_eq!(published["use"], "enc");
        assert!(published.get("d").is_none());
        let sig_key = {
            let mut v = key(20).public_jwk_value(Some("sig"));
            v["use"] = "sig".into();
            v
        };
        let mut no_alg = key(21).public_jwk_value(Some("no-alg"));
        no_alg.as_object_mut().unwrap().remove("alg");
        let jwks = json!({"keys": [
            sig_key,
            no_alg,
            {"kty":"OKP","crv":"X25519","alg":"ECDH-ES","x":"WPX7wnwq10hFNK9aDSyG1QlLswE_CJY14LdhcFUIVVc"},
            published
        ]});
        let chosen = RecipientKey::select(&jwks).unwrap();
        assert_eq!(chosen.kid.as_deref(), Some("enc-1"));
        assert_eq!(&chosen.key, k.public_key());
        assert!(RecipientKey::select(&json!({"keys": [sig_key_only()]})).is_err());

        fn sig_key_only() -> Value {
            let mut v = EcdhPrivateKey::generate(&SeededRandom::new(22))
                .unwrap()
                .public_jwk_value(None);
            v["alg"] = "ES256".into();
            v
        }
    }

    #[test]
    fn zip_def_round_trips_and_compresses() {
        let k = key(30);
        let rng = SeededRandom::new(31);
        let plaintext = br#"{"credentials":[{"credential":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}]}"#;
        for enc in [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm] {
            let params = JweHeaderParams {
                kid: Some("w1".into()),
                zip: Some(Compression::Deflate),
                ..JweHeaderParams::default()
            };
            let token = encrypt(plaintext, k.public_key(), enc, params, &rng).unwrap();
            assert_eq!(header_of(&token)["zip"], "DEF");
            assert_eq!(header_of(&token)["kid"], "w1");
            // The ciphertext is the compressed plaintext: shorter than the input.
            let ct = base64url::decode(&parts(&token)[3]).unwrap();
            assert!(ct.len() < plaintext.len(), "{} bytes", ct.len());
            let out = decrypt_with(&token, &k, ALL, &[Compression::Deflate]).unwrap();
            assert_eq!(out.plaintext, plaintext);
            // A caller that offers no zip (OID4VP direct_post.jwt) refuses it.
            assert!(matches!(
                decrypt(&token, &k, ALL),
                Err(Error::AlgorithmNotAllowed(_))
            ));
            // Wrong key and tampered tag still fail as decryption errors.
            assert_eq!(
                decrypt_with(&token, &key(32), ALL, &[Compression::Deflate]),
                Err(Error::Decryption)
            );
            assert_eq!(
                decrypt_with(&flip(&token, 4), &k, ALL, &[Compression::Deflate]),
                Err(Error::Decryption)
            );
        }
        // Without zip, decrypt_with behaves as decrypt.
        let plain = encrypt(
            b"{}",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &rng,
        )
        .unwrap();
        assert_eq!(
            decrypt_with(&plain, &k, ALL, &[Compression::Deflate])
                .unwrap()
                .plaintext,
            b"{}"
        );
    }

    #[test]
    fn unknown_or_non_string_zip_is_refused() {
        let k = key(33);
        let token = encrypt(
            b"hi",
            k.public_key(),
            ContentEncryption::A128Gcm,
            JweHeaderParams::default(),
            &SeededRandom::new(34),
        )
        .unwrap();
        for zip in [
            json!("GZIP"),
            json!("def"),
            json!(""),
            json!(1),
            json!(["DEF"]),
        ] {
            let mut h = header_of(&token);
            h["zip"] = zip.clone();
            assert!(
                matches!(
                    decrypt_with(&with_header(&token, &h), &k, ALL, &[Compression::Deflate]),
                    Err(Error::AlgorithmNotAllowed(_))
                ),
                "{zip}"
            );
        }
        assert_eq!(Compression::from_name("DEF"), Ok(Compression::Deflate));
        assert_eq!(Compression::Deflate.to_string(), "DEF");
    }

    #[test]
    fn zip_bomb_is_bounded_by_max_inflated_len() {
        let k = key(35);
        let rng = SeededRandom::new(36);
        let zip = JweHeaderParams {
            zip: Some(Compression::Deflate),
            ..JweHeaderParams::default()
        };
        // 8 MiB of zeros deflate to a few KiB: a small token that would inflate hugely.
        let bomb = vec![0u8; 8 * MAX_INFLATED_LEN];
        let token = encrypt(
            &bomb,
            k.public_key(),
            ContentEncryption::A256Gcm,
            zip.clone(),
            &rng,
        )
        .unwrap();
        assert!(token.len() < 64 * 1024, "{} bytes", token.len());
        assert!(matches!(
            decrypt_with(&token, &k, ALL, &[Compression::Deflate]),
            Err(Error::TooLarge(_))
        ));
        // Exactly the bound is fine; one byte more is not.
        let at = encrypt(
            &vec![b'a'; MAX_INFLATED_LEN],
            k.public_key(),
            ContentEncryption::A128Gcm,
            zip.clone(),
            &rng,
        )
        .unwrap();
        assert_eq!(
            decrypt_with(&at, &k, ALL, &[Compression::Deflate])
                .unwrap()
                .plaintext
                .len(),
            MAX_INFLATED_LEN
        );
        let over = encrypt(
            &vec![b'a'; MAX_INFLATED_LEN + 1],
            k.public_key(),
            ContentEncryption::A128Gcm,
            zip,
            &rng,
        )
        .unwrap();
        assert!(matches!(
            decrypt_with(&over, &k, ALL, &[Compression::Deflate]),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn corrupt_deflate_stream_is_malformed() {
        let d = Compression::Deflate;
        let good = d.compress(b"hello hello hello").unwrap();
        assert_eq!(d.decompress(&good, 100).unwrap(), b"hello hello hello");
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            d.decompress(&trailing, 100),
            Err(Error::Malformed(_))
        ));
        assert!(d.decompress(&[0xff, 0xff, 0xff], 100).is_err());
    }

    #[test]
    fn ed25519_recipient_is_refused() {
        let pk = PublicKey::ed25519(&[1u8; 32]).unwrap();
        assert!(matches!(
            encrypt(
                b"x",
                &pk,
                ContentEncryption::A128Gcm,
                JweHeaderParams::default(),
                &SeededRandom::new(1)
            ),
            Err(Error::InvalidKey(_))
        ));
    }
}
