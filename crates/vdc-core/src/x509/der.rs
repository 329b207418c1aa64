//! The little DER we read and write by hand: splitting a certificate into its parts and
//! encoding an ECDSA signature as the `Ecdsa-Sig-Value` X.509 wants.
//!
//! Only our own rcgen output and already-validated certificates pass through the reader,
//! but it is strict anyway (definite, minimal lengths; no high tag numbers) and never
//! indexes out of bounds.

use crate::error::{Error, Result};

/// DER tag of SEQUENCE (constructed).
pub(super) const TAG_SEQUENCE: u8 = 0x30;
/// DER tag of BIT STRING.
pub(super) const TAG_BIT_STRING: u8 = 0x03;
/// DER tag of BOOLEAN.
pub(super) const TAG_BOOLEAN: u8 = 0x01;
/// DER tag of OCTET STRING.
pub(super) const TAG_OCTET_STRING: u8 = 0x04;
/// DER tag of INTEGER.
const TAG_INTEGER: u8 = 0x02;
/// DER tag of the `[0] EXPLICIT Version` of a TBSCertificate.
pub(super) const TAG_VERSION: u8 = 0xa0;

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tlv<'a> {
    /// The tag byte.
    pub(super) tag: u8,
    /// The whole encoding: tag, length and content.
    pub(super) full: &'a [u8],
    /// The content octets.
    pub(super) content: &'a [u8],
}

fn bad(what: &str) -> Error {
    Error::Certificate(format!("bad DER: {what}"))
}

/// Reads one element from the front of `input`; returns it and what follows.
pub(super) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("missing tag"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("high tag number"));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("missing length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // Spec: X.690 §10.1: DER uses the definite form with the fewest length octets.
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad("indefinite or oversized length"));
        }
        let (octets, after) = rest.split_at_checked(n).ok_or_else(|| bad("truncated"))?;
        if octets.first() == Some(&0) {
            return Err(bad("non-minimal length"));
        }
        let len = octets
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        if len < 0x80 {
            return Err(bad("non-minimal length"));
        }
        rest = after;
        len
    };
    let (content, after) = rest.split_at_checked(len).ok_or_else(|| bad("truncated"))?;
    let full_len = input.len() - after.len();
    let (full, _) = input
        .split_at_checked(full_len)
        .ok_or_else(|| bad("truncated"))?;
    Ok((Tlv { tag, full, content }, after))
}

/// Reads `input` as exactly one element with tag `tag`.
pub(super) fn read_single(input: &[u8], tag: u8) -> Result<Tlv<'_>> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(bad("unexpected tag"));
    }
    if !rest.is_empty() {
        return Err(bad("trailing data"));
    }
    Ok(tlv)
}

/// Splits the content of a constructed element into its elements.
pub(super) fn read_elements(mut content: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Appends the DER encoding of an element with `tag` and `content`.
pub(super) fn write_tlv(tag: u8, content: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | significant.len() as u8);
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
}

/// Appends `magnitude` (unsigned, big-endian) as a DER INTEGER: leading zero octets are
/// dropped, and one zero octet is added back when the top bit is set, so the value stays
/// positive (X.690 §8.3.2: the first nine bits are never all 0 or all 1).
fn write_unsigned_integer(magnitude: &[u8], out: &mut Vec<u8>) {
    let start = magnitude
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(magnitude.len());
    let trimmed = magnitude.get(start..).unwrap_or_default();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    match trimmed.first() {
        None => content.push(0),
        Some(&b) if b & 0x80 != 0 => {
            content.push(0);
            content.extend_from_slice(trimmed);
        }
        Some(_) => content.extend_from_slice(trimmed),
    }
    write_tlv(TAG_INTEGER, &content, out);
}

/// Converts a fixed-size ECDSA signature `r || s` (RFC 7518 §3.4, what `SigningKey` makes)
/// to the DER `Ecdsa-Sig-Value` certificates carry.
pub(super) fn ecdsa_fixed_to_der(sig: &[u8]) -> Result<Vec<u8>> {
    // Spec: RFC 5480 §2.2 / RFC 3279 §2.2.3: Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER,
    // s INTEGER }, the value of the signatureValue BIT STRING for ecdsa-with-SHA256 (RFC 5758 §3.2).
    if sig.is_empty() || !sig.len().is_multiple_of(2) || sig.len() > 132 {
        return Err(Error::Crypto(
            "ECDSA signature has an unexpected length".into(),
        ));
    }
    let (r, s) = sig.split_at(sig.len() / 2);
    let mut body = Vec::with_capacity(sig.len() + 6);
    write_unsigned_integer(r, &mut body);
    write_unsigned_integer(s, &mut body);
    let mut out = Vec::with_capacity(body.len() + 3);
    write_tlv(TAG_SEQUENCE, &body, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(r: [u8; 32], s: [u8; 32]) -> Vec<u8> {
        [r, s].concat()
    }

    #[test]
    fn ecdsa_integers_with_high_bit_get_a_zero_octet() {
        let der = ecdsa_fixed_to_der(&fixed([0x80; 32], [0xff; 32])).unwrap();
        let mut expected = vec![0x30, 0x46, 0x02, 0x21, 0x00];
        expected.extend([0x80; 32]);
        expected.extend([0x02, 0x21, 0x00]);
        expected.extend([0xff; 32]);
        assert_eq!(der, expected);
    }

    #[test]
    fn ecdsa_integers_drop_leading_zero_octets() {
        let mut r = [0u8; 32];
        r[2] = 0x01;
        r[31] = 0x02;
        let mut s = [0u8; 32];
        // Leading zeros, then a byte with the top bit set: one zero octet must come back.
        s[1] = 0x90;
        let der = ecdsa_fixed_to_der(&fixed(r, s)).unwrap();
        let mut expected = vec![0x30, 0x42, 0x02, 0x1e];
        expected.extend(&r[2..]);
        expected.extend([0x02, 0x20, 0x00]);
        expected.extend(&s[1..]);
        assert_eq!(der, expected);
    }

    #[test]
    fn ecdsa_zero_integer_is_a_single_zero_octet() {
        let der = ecdsa_fixed_to_der(&fixed([0; 32], [0x7f; 32])).unwrap();
        let mut expected = vec![0x30, 0x25, 0x02, 0x01, 0x00, 0x02, 0x20];
        expected.extend([0x7f; 32]);
        assert_eq!(der, expected);
    }

    #[test]
    fn ecdsa_signature_of_odd_or_empty_length_is_refused() {
        assert!(ecdsa_fixed_to_der(&[]).is_err());
        assert!(ecdsa_fixed_to_der(&[1; 63]).is_err());
    }

    #[test]
    fn converted_signatures_verify_with_ring_asn1_verifier() {
        use ring::signature::{self, UnparsedPublicKey};

        let rng = crate::rng::SeededRandom::new(11);
        let key = crate::jose::SigningKey::generate(crate::jose::Algorithm::Es256, &rng).unwrap();
        let crate::jose::PublicKey::P256(point) = key.public_key().clone() else {
            panic!("expected P-256")
        };
        for i in 0..32u8 {
            let msg = [i; 7];
            let der = ecdsa_fixed_to_der(&key.sign_sync(&msg).unwrap()).unwrap();
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                .verify(&msg, &der)
                .unwrap();
        }
    }

    #[test]
    fn long_lengths_round_trip_through_writer_and_reader() {
        for len in [0usize, 1, 127, 128, 255, 256, 70_000] {
            let content = vec![0x5a; len];
            let mut out = Vec::new();
            write_tlv(TAG_SEQUENCE, &content, &mut out);
            let tlv = read_single(&out, TAG_SEQUENCE).unwrap();
            assert_eq!(tlv.content.len(), len);
            assert_eq!(tlv.full, &out[..]);
        }
    }

    #[test]
    fn reader_rejects_non_der_lengths_and_truncation() {
        // Indefinite length, non-minimal long form, length octet of zero, truncated content.
        for input in [
            &[0x30, 0x80, 0x00, 0x00][..],
            &[0x30, 0x81, 0x05, 1, 2, 3, 4, 5],
            &[0x30, 0x82, 0x00, 0x80],
            &[0x30, 0x05, 1, 2],
            &[0x1f, 0x01, 0x00],
            &[0x30],
            &[],
        ] {
            assert!(read_tlv(input).is_err(), "{input:02x?}");
        }
        assert!(read_single(&[0x30, 0x00, 0x00], TAG_SEQUENCE).is_err());
        assert!(read_single(&[0x31, 0x00], TAG_SEQUENCE).is_err());
    }
}
