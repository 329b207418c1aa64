//! Strict base64url without padding (RFC 7515 §2, RFC 4648 §5).
//!
//! Decoding rejects padding, characters outside the URL-safe alphabet and non-canonical
//! trailing bits, so one byte string has exactly one accepted encoding (G8: no repairs).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Encodes into an existing string (avoids an allocation on hot paths).
pub fn encode_into(bytes: impl AsRef<[u8]>, out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes base64url without padding, rejecting anything non-canonical.
pub fn decode(text: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Error::malformed("invalid base64url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_rejected() {
        assert!(decode("YQ==").is_err());
        assert_eq!(decode("YQ").unwrap(), b"a");
    }

    #[test]
    fn standard_alphabet_is_rejected() {
        assert!(decode("+/8").is_err());
        assert_eq!(decode("-_8").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn non_canonical_trailing_bits_are_rejected() {
        // "YR" decodes to "a" only if the trailing bits are ignored.
        assert!(decode("YR").is_err());
    }
}
