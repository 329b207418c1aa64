//! The Status List of draft-ietf-oauth-status-list §4: a packed array of `bits`-wide
//! statuses, compressed with DEFLATE in the ZLIB format.
//!
//! Spec: §4.1 (Compressed Byte Array): "Each index identifies a contiguous block of bits
//! in the byte array, with the blocks being packed into bytes from the least significant
//! bit ("0") to the most significant bit ("7")". So the status of index `i` lives in byte
//! `i * bits / 8` at bit offset `(i * bits) % 8`, counted from the least significant bit;
//! no status crosses a byte boundary because `bits` is 1, 2, 4 or 8 (§4.1 step 1).

use std::fmt;

use crate::compress;
use crate::error::{Error, Result};

/// Status Type `VALID` (§7.1): the Referenced Token is valid.
pub const VALID: u8 = 0x00;
/// Status Type `INVALID` (§7.1): revoked, annulled, taken back, recalled or cancelled.
pub const INVALID: u8 = 0x01;
/// Status Type `SUSPENDED` (§7.1): temporarily invalid; needs `bits` ≥ 2.
pub const SUSPENDED: u8 = 0x02;

/// Entries in a new list unless the caller chooses otherwise: 2^20, the size of the
/// specification's test vectors (Appendix "Test vectors"). Large lists give herd privacy
/// (§12.1) and compress to almost nothing while most entries are VALID (§13.4).
pub const DEFAULT_LIST_LEN: usize = 1 << 20;

/// Largest uncompressed list (bytes) this crate builds or inflates: 16 MiB, i.e. 2^27
/// one-bit entries. Relying parties pass a tighter bound to [`StatusList::decode`].
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// The compression level used unless a caller picks one: 5, the knee of the curve. On a
/// 1,000,000-entry 1-bit list with 1% revoked (benches/status.rs) zlib-rs compresses in
/// about 1 ms at level 5 to 15.5 KB, while level 6 takes 3x as long for 1.8% less and
/// level 9 about 28 ms for 13.4 KB; building, compressing and signing at level 5 stays
/// well under 5 ms on one core. The specification RECOMMENDS the highest level (§4.1
/// step 4), which callers who publish rarely ask for with [`BEST_LEVEL`](crate::BEST_LEVEL).
pub const DEFAULT_LEVEL: u32 = 5;

/// A Token Status List: `len` statuses of `bits` bits each.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    /// log2(bits), so `idx << shift` is the bit position.
    shift: u8,
    mask: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Spec: §4.1 step 1 / §4.2: `bits` is 1, 2, 4 or 8. Returns log2(bits).
fn shift_for(bits: u8) -> Result<u8> {
    match bits {
        1 => Ok(0),
        2 => Ok(1),
        4 => Ok(2),
        8 => Ok(3),
        _ => Err(Error::invalid(format!(
            "bits must be 1, 2, 4 or 8, not {bits}"
        ))),
    }
}

fn mask_for(bits: u8) -> u8 {
    // bits <= 8, so the shift is at most 8 and the result fits after subtracting one.
    u8::try_from((1u16 << bits) - 1).unwrap_or(u8::MAX)
}

impl StatusList {
    /// A list of at least `len` entries of `bits` bits, all [`VALID`].
    ///
    /// `len` is rounded up so the list fills whole bytes (§13.4 RECOMMENDS a size in bits
    /// divisible by 8); a list read back with [`StatusList::decode`] then has the same
    /// length. Fails for `bits` not in {1, 2, 4, 8} or lists over [`MAX_LIST_BYTES`].
    pub fn new(len: usize, bits: u8) -> Result<Self> {
        let shift = shift_for(bits)?;
        let per_byte = 8usize >> shift;
        let byte_len = len.div_ceil(per_byte);
        if byte_len > MAX_LIST_BYTES {
            return Err(Error::invalid(format!(
                "a list of {len} entries of {bits} bits exceeds {MAX_LIST_BYTES} bytes"
            )));
        }
        Ok(Self::from_parts(vec![0; byte_len], bits, shift))
    }

    /// A list over an uncompressed byte array (as stored by an issuer), `8 / bits`
    /// entries per byte.
    pub fn from_bytes(bytes: Vec<u8>, bits: u8) -> Result<Self> {
        let shift = shift_for(bits)?;
        if bytes.len() > MAX_LIST_BYTES {
            return Err(Error::invalid(format!(
                "a status list over {MAX_LIST_BYTES} bytes"
            )));
        }
        Ok(Self::from_parts(bytes, bits, shift))
    }

    fn from_parts(bytes: Vec<u8>, bits: u8, shift: u8) -> Self {
        Self {
            bits,
            shift,
            mask: mask_for(bits),
            len: (bytes.len() * 8) >> shift,
            bytes,
        }
    }

    /// The number of bits per status (1, 2, 4 or 8).
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed byte array of §4.1.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The status at `idx`. An index past the end is [`Error::IndexOutOfRange`]
    /// (§8.3 step 6: the Referenced Token MUST then be rejected).
    #[inline]
    pub fn get(&self, idx: usize) -> Result<u8> {
        if idx >= self.len {
            return Err(self.out_of_range(idx));
        }
        // idx < len = bytes.len() * 8 >> shift, so the position fits and its byte exists.
        let pos = idx << self.shift;
        match self.bytes.get(pos >> 3) {
            Some(byte) => Ok((byte >> (pos & 7)) & self.mask),
            None => Err(self.out_of_range(idx)),
        }
    }

    /// Sets the status at `idx`. `value` must fit in `bits` bits (§7: "the whole value
    /// of bits MUST describe one value").
    pub fn set(&mut self, idx: usize, value: u8) -> Result<()> {
        if value > self.mask {
            return Err(Error::invalid(format!(
                "status {value} does not fit in {} bits",
                self.bits
            )));
        }
        if idx >= self.len {
            return Err(self.out_of_range(idx));
        }
        let pos = idx << self.shift;
        let offset = pos & 7;
        let mask = self.mask << offset;
        match self.bytes.get_mut(pos >> 3) {
            Some(byte) => {
                *byte = (*byte & !mask) | (value << offset);
                Ok(())
            }
            None => Err(self.out_of_range(idx)),
        }
    }

    fn out_of_range(&self, idx: usize) -> Error {
        Error::IndexOutOfRange {
            idx: u64::try_from(idx).unwrap_or(u64::MAX),
            len: u64::try_from(self.len).unwrap_or(u64::MAX),
        }
    }

    /// The compressed byte array of §4.1 step 4: DEFLATE (RFC 1951) in the ZLIB format
    /// (RFC 1950) at `level` 0-9 (9 is smallest, [`DEFAULT_LEVEL`] is fast).
    pub fn encode(&self, level: u32) -> Result<Vec<u8>> {
        compress::zlib(&self.bytes, level)
    }

    /// Reads a compressed byte array (§8.3 step 5). `max_len` bounds the number of
    /// entries: a stream inflating beyond `max_len * bits / 8` bytes (rounded up) is
    /// refused with [`Error::TooLarge`] without inflating further (decompression bombs).
    /// The list has `8 / bits` entries per inflated byte.
    pub fn decode(compressed: &[u8], bits: u8, max_len: usize) -> Result<Self> {
        let shift = shift_for(bits)?;
        let max_bytes = max_len.div_ceil(8usize >> shift).min(MAX_LIST_BYTES);
        let bytes = compress::unzlib(compressed, max_bytes)?;
        Ok(Self::from_parts(bytes, bits, shift))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::base64url;

    fn with(bits: u8, len: usize, statuses: &[(usize, u8)]) -> StatusList {
        let mut l = StatusList::new(len, bits).unwrap();
        for &(i, v) in statuses {
            l.set(i, v).unwrap();
        }
        l
    }

    #[test]
    fn status_list_section_4_1_one_bit_example() {
        // Spec: §4.1, first example: 16 entries, bits 1, bytes B9 A3.
        let s = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
        let statuses: Vec<_> = s.iter().copied().enumerate().collect();
        let l = with(1, 16, &statuses);
        assert_eq!(l.bytes(), [0xb9, 0xa3]);
        let decoded = StatusList::decode(&l.encode(9).unwrap(), 1, 16).unwrap();
        assert_eq!(decoded, l);
        for (i, v) in statuses {
            assert_eq!(decoded.get(i).unwrap(), v);
        }
    }

    #[test]
    fn status_list_section_4_1_two_bit_example() {
        // Spec: §4.1, second example: 12 entries, bits 2, bytes C9 44 F9.
        let s = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
        let statuses: Vec<_> = s.iter().copied().enumerate().collect();
        let l = with(2, 12, &statuses);
        assert_eq!(l.bytes(), [0xc9, 0x44, 0xf9]);
        for (i, v) in statuses {
            assert_eq!(l.get(i).unwrap(), v);
        }
    }

    #[test]
    fn status_list_section_4_2_json_examples_decode() {
        // Spec: §4.2, examples/status_list_encoding_json.md and ..._encoding2_json.md.
        let one = StatusList::decode(&base64url::decode("eNrbuRgAAhcBXQ").unwrap(), 1, 16).unwrap();
        assert_eq!(one.bytes(), [0xb9, 0xa3]);
        assert_eq!(one.len(), 16);
        let two =
            StatusList::decode(&base64url::decode("eNo76fITAAPfAgc").unwrap(), 2, 12).unwrap();
        assert_eq!(two.bytes(), [0xc9, 0x44, 0xf9]);
        assert_eq!(two.get(1).unwrap(), SUSPENDED);
        assert_eq!(two.get(3).unwrap(), 3);
    }

    #[test]
    fn test_vector_4_bit_status_list() {
        // Spec: Appendix "Test vectors for Status List encoding", 4-bit Status List
        // (examples/status_list_encoding4_json.md), 2^20 entries.
        let lst = concat!(
            "eNrt0EENgDAQADAIHwImkIIEJEwCUpCEBBQRHOy35Li1EjoOQGabAgAAAAAAAAAA",
            "AAAAAAAAACC1SQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAABADrsCAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADoxaEA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAIIoCgAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACArpwKAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAAAAAGhqVkAzlwIAAAAAiGVRAAAAAAAAAAAAAAAAAAAA",
            "AAAAAAAAAAAAAAAAAAAAAABx3AoAgLpVAQAAAAAAAAAAAAAAwM89rwMAAAAAAAAA",
            "AAjsA9xMBMA",
        );
        let l = StatusList::decode(&base64url::decode(lst).unwrap(), 4, 1 << 20).unwrap();
        assert_eq!(l.len(), 1 << 20);
        let expected = [
            (0, 1),
            (1993, 2),
            (35460, 3),
            (459495, 4),
            (595669, 5),
            (754353, 6),
            (845645, 7),
            (923232, 8),
            (924445, 9),
            (934534, 10),
            (1004534, 11),
            (1000345, 12),
            (1030203, 13),
            (1030204, 14),
            (1030205, 15),
        ];
        let mut nonzero = 0;
        for i in 0..l.len() {
            let v = l.get(i).unwrap();
            if v != 0 {
                nonzero += 1;
                assert!(expected.contains(&(i, v)), "unexpected status {v} at {i}");
            }
        }
        assert_eq!(nonzero, expected.len());
    }

    #[test]
    fn get_and_set_respect_bit_width_and_bounds() {
        for bits in [1u8, 2, 4, 8] {
            let mut l = StatusList::new(100, bits).unwrap();
            assert_eq!(
                l.len(),
                100usize.div_ceil(8 / bits as usize) * (8 / bits as usize)
            );
            let max = mask_for(bits);
            l.set(5, max).unwrap();
            assert_eq!(l.get(5).unwrap(), max);
            assert_eq!(l.get(4).unwrap(), VALID);
            assert_eq!(l.get(6).unwrap(), VALID);
            l.set(5, VALID).unwrap();
            assert!(l.bytes().iter().all(|&b| b == 0));
            if bits < 8 {
                assert!(matches!(l.set(0, max + 1), Err(Error::InvalidInput(_))));
            }
            let len = l.len();
            assert!(matches!(
                l.get(len),
                Err(Error::IndexOutOfRange { idx, len: n }) if idx == len as u64 && n == len as u64
            ));
            assert!(matches!(l.set(len, 0), Err(Error::IndexOutOfRange { .. })));
            assert!(l.get(usize::MAX).is_err());
        }
    }

    #[test]
    fn invalid_bits_and_oversized_lists_are_refused() {
        for bits in [0u8, 3, 5, 7, 9, 16] {
            assert!(matches!(
                StatusList::new(8, bits),
                Err(Error::InvalidInput(_))
            ));
            assert!(StatusList::decode(&[], bits, 8).is_err());
        }
        assert!(matches!(
            StatusList::new(usize::MAX, 8),
            Err(Error::InvalidInput(_))
        ));
        assert!(StatusList::new(DEFAULT_LIST_LEN, 8).is_ok());
    }

    #[test]
    fn decode_bound_is_in_entries() {
        let l = StatusList::new(1024, 2).unwrap(); // 256 bytes
        let z = l.encode(6).unwrap();
        assert_eq!(StatusList::decode(&z, 2, 1024).unwrap(), l);
        assert!(matches!(
            StatusList::decode(&z, 2, 1020),
            Err(Error::TooLarge(_))
        ));
        // The same bytes read as 8-bit statuses are 256 entries.
        assert_eq!(StatusList::decode(&z, 8, 256).unwrap().len(), 256);
    }

    /// The benchmark's list (benches/status.rs): 1,000,000 one-bit entries, 10,000
    /// indexes revoked, drawn from `SeededRandom::new(2024)` as little-endian u32 modulo
    /// the length.
    fn bench_list() -> StatusList {
        use vdc_core::rng::{RandomSource, SeededRandom};
        let mut buf = vec![0u8; 10_000 * 4];
        SeededRandom::new(2024).fill(&mut buf).unwrap();
        let mut l = StatusList::new(1_000_000, 1).unwrap();
        for c in buf.chunks_exact(4) {
            let i = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize % 1_000_000;
            l.set(i, INVALID).unwrap();
        }
        l
    }

    #[test]
    fn one_million_entries_one_percent_revoked_compress_to_at_most_14000_bytes_at_level_9() {
        let l = bench_list();
        let revoked = (0..l.len())
            .filter(|&i| l.get(i).unwrap() == INVALID)
            .count();
        assert!((9_900..=10_000).contains(&revoked), "{revoked}");
        let best = l.encode(crate::BEST_LEVEL).unwrap();
        assert!(best.len() <= 14_000, "level 9: {} bytes", best.len());
        let default = l.encode(DEFAULT_LEVEL).unwrap();
        assert!(
            default.len() < 16_000,
            "default level: {} bytes",
            default.len()
        );
        assert_eq!(StatusList::decode(&best, 1, 1_000_000).unwrap(), l);
    }

    #[test]
    fn debug_does_not_dump_the_list() {
        let l = StatusList::new(DEFAULT_LIST_LEN, 1).unwrap();
        assert!(format!("{l:?}").len() < 100);
    }
}
