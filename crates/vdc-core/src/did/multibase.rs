//! Multibase base58btc and Multikey (multicodec-prefixed public keys).
//!
//! Spec: Multibase (draft-multiformats-multibase), base58btc is prefix `z` with the
//! Bitcoin alphabet; multicodec headers are unsigned varints (multiformats
//! unsigned-varint: LEB128, minimally encoded). Codes: `ed25519-pub` 0xed, `p256-pub`
//! 0x1200 (compressed SEC1 point).

use crate::error::{Error, Result};
use crate::jose::PublicKey;

const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Longest base58btc text accepted; a Multikey for the keys we support is under 50
/// characters. The bound keeps the quadratic conversion cheap.
pub const MAX_BASE58_LEN: usize = 128;

/// The multicodec code of an Ed25519 public key.
pub const ED25519_PUB: u64 = 0xed;
/// The multicodec code of a compressed P-256 public key.
pub const P256_PUB: u64 = 0x1200;

/// Encodes bytes as base58btc (no multibase prefix).
pub fn base58btc_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    // Little-endian base-58 digits of the big-endian number in `bytes[zeros..]`.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            carry += u32::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut out = String::with_capacity(zeros + digits.len());
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits
            .iter()
            .rev()
            .map(|d| char::from(ALPHABET[usize::from(*d)])),
    );
    out
}

/// Decodes base58btc text (no multibase prefix), at most [`MAX_BASE58_LEN`] characters.
pub fn base58btc_decode(text: &str) -> Result<Vec<u8>> {
    if text.len() > MAX_BASE58_LEN {
        return Err(Error::TooLarge(format!(
            "base58btc value over {MAX_BASE58_LEN} characters"
        )));
    }
    let zeros = text.bytes().take_while(|b| *b == b'1').count();
    // Little-endian base-256 bytes of the number.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for c in text.bytes().skip(zeros) {
        let digit = ALPHABET
            .iter()
            .position(|a| *a == c)
            .ok_or_else(|| Error::malformed("invalid base58btc character"))?;
        let mut carry = digit as u32;
        for b in bytes.iter_mut() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Ok(out)
}

/// Reads an unsigned varint; returns the value and the number of bytes read. Rejects
/// non-minimal encodings and values over 63 bits.
fn read_varint(bytes: &[u8]) -> Result<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // Spec: multiformats unsigned-varint: "MUST be minimally encoded".
            if i > 0 && b == 0 {
                return Err(Error::malformed("non-minimal multicodec varint"));
            }
            return Ok((value, i + 1));
        }
    }
    Err(Error::malformed("truncated or overlong multicodec varint"))
}

fn write_varint(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// What a Multikey value holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Multikey {
    /// A key type we support.
    Key(PublicKey),
    /// A well-formed value with a multicodec we do not support (the code).
    Unsupported(u64),
}

/// Decodes a multibase (`z` + base58btc) multicodec public key. Wrong lengths and
/// invalid points of supported codecs are errors.
pub fn decode_multikey(multibase: &str) -> Result<Multikey> {
    let Some(b58) = multibase.strip_prefix('z') else {
        return Err(Error::malformed(
            "multibase value must use base58btc (prefix z)",
        ));
    };
    let bytes = base58btc_decode(b58)?;
    let (codec, header) = read_varint(&bytes)?;
    let raw = &bytes[header..];
    let key = match codec {
        // Spec: did:key §"Signature Method Creation Algorithm": raw key length must
        // match the codec (invalidPublicKeyLength), and the key must be valid
        // (invalidPublicKey).
        ED25519_PUB => {
            if raw.len() != 32 {
                return Err(Error::InvalidKey("ed25519-pub key must be 32 bytes".into()));
            }
            PublicKey::ed25519(raw)?
        }
        P256_PUB => {
            if raw.len() != 33 {
                return Err(Error::InvalidKey(
                    "p256-pub key must be a 33-byte compressed point".into(),
                ));
            }
            PublicKey::p256_from_sec1(raw)?
        }
        other => return Ok(Multikey::Unsupported(other)),
    };
    Ok(Multikey::Key(key))
}

/// Encodes a public key as a Multikey multibase value (`z...`); P-256 is compressed.
pub fn encode_multikey(key: &PublicKey) -> String {
    let mut bytes = Vec::with_capacity(35);
    match key {
        PublicKey::Ed25519(x) => {
            write_varint(ED25519_PUB, &mut bytes);
            bytes.extend_from_slice(x);
        }
        PublicKey::P256(point) => {
            write_varint(P256_PUB, &mut bytes);
            // SEC1 §2.3.3 compressed form: 0x02 | parity of y, then x.
            bytes.push(0x02 | (point[64] & 1));
            bytes.extend_from_slice(&point[1..33]);
        }
    }
    format!("z{}", base58btc_encode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58btc_known_values() {
        // Bitcoin base58 reference values.
        assert_eq!(base58btc_encode(b""), "");
        assert_eq!(base58btc_encode(&[0]), "1");
        assert_eq!(base58btc_encode(&[0, 0, 1]), "112");
        assert_eq!(base58btc_encode(b"hello world"), "StV1DL6CwTryKyV");
        assert_eq!(base58btc_decode("StV1DL6CwTryKyV").unwrap(), b"hello world");
        assert_eq!(base58btc_decode("112").unwrap(), vec![0, 0, 1]);
        assert_eq!(base58btc_decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn base58btc_round_trips() {
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            assert_eq!(base58btc_decode(&base58btc_encode(&bytes)).unwrap(), bytes);
        }
        let all_ff = [0xffu8; 35];
        assert_eq!(
            base58btc_decode(&base58btc_encode(&all_ff)).unwrap(),
            all_ff
        );
    }

    #[test]
    fn base58btc_rejects_foreign_characters_and_long_input() {
        for bad in ["0abc", "Oabc", "Iabc", "labc", "ab+c", "ab c", "é"] {
            assert!(base58btc_decode(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            base58btc_decode(&"2".repeat(MAX_BASE58_LEN + 1)),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn varints_are_minimal() {
        assert_eq!(read_varint(&[0xed, 0x01]).unwrap(), (0xed, 2));
        assert_eq!(read_varint(&[0x80, 0x24]).unwrap(), (0x1200, 2));
        assert!(read_varint(&[0xed, 0x81, 0x00]).is_err());
        assert!(read_varint(&[0x80]).is_err());
        assert!(read_varint(&[]).is_err());
        assert!(read_varint(&[0xff; 12]).is_err());
        let mut out = Vec::new();
        write_varint(0x1200, &mut out);
        assert_eq!(out, vec![0x80, 0x24]);
    }

    #[test]
    fn multikey_rejects_other_bases_and_bad_lengths() {
        assert!(decode_multikey("uAAAA").is_err());
        assert!(decode_multikey("").is_err());
        // ed25519-pub header with 31 bytes.
        let mut short = vec![0xed, 0x01];
        short.extend([7u8; 31]);
        let err = decode_multikey(&format!("z{}", base58btc_encode(&short))).unwrap_err();
        assert!(matches!(err, Error::InvalidKey(_)), "{err}");
        // p256-pub header with an uncompressed 65-byte point.
        let mut long = vec![0x80, 0x24, 0x04];
        long.extend([7u8; 64]);
        assert!(decode_multikey(&format!("z{}", base58btc_encode(&long))).is_err());
        // x25519-pub is well-formed but unsupported.
        let mut x = vec![0xec, 0x01];
        x.extend([7u8; 32]);
        assert_eq!(
            decode_multikey(&format!("z{}", base58btc_encode(&x))).unwrap(),
            Multikey::Unsupported(0xec)
        );
    }
}
