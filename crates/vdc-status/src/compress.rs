//! DEFLATE in its two containers: ZLIB (RFC 1950) for Token Status Lists and GZIP
//! (RFC 1952) for W3C Bitstring Status Lists, both through flate2's zlib-rs backend.
//!
//! Inflating is bounded: output beyond `max_out` bytes is never produced (the decoder is
//! read through `Read::take(max_out + 1)`), so a small stream that would inflate to
//! gigabytes costs at most `max_out + 1` bytes and the work to produce them (G8). The
//! stream must end exactly at the end of the input: truncated streams, bad checksums and
//! trailing bytes are all malformed.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::bufread::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};

use crate::error::{Error, Result};

/// The highest compression level (smallest output, slowest).
pub const BEST_LEVEL: u32 = 9;

fn level(level: u32) -> Result<Compression> {
    if level > BEST_LEVEL {
        return Err(Error::invalid(format!(
            "compression level {level} is outside 0-{BEST_LEVEL}"
        )));
    }
    Ok(Compression::new(level))
}

/// ZLIB-wraps DEFLATE-compressed `data` at `level` (0-9).
pub(crate) fn zlib(data: &[u8], lvl: u32) -> Result<Vec<u8>> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(data.len() / 8 + 64), level(lvl)?);
    // Writing into a Vec cannot fail for I/O reasons; an error here is the backend's.
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|_| Error::Signing(vdc_core::Error::Crypto("ZLIB compression failed".into())))
}

/// GZIP-wraps DEFLATE-compressed `data` at `level` (0-9). The header carries no name
/// and a zero modification time, so equal input gives equal output.
pub(crate) fn gzip(data: &[u8], lvl: u32) -> Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 8 + 64), level(lvl)?);
    enc.write_all(data)
        .and_then(|()| enc.finish())
        .map_err(|_| Error::Signing(vdc_core::Error::Crypto("GZIP compression failed".into())))
}

/// Inflates a ZLIB stream into at most `max_out` bytes.
pub(crate) fn unzlib(compressed: &[u8], max_out: usize) -> Result<Vec<u8>> {
    let mut dec = ZlibDecoder::new(compressed);
    let out = inflate_bounded(&mut dec, max_out, "ZLIB")?;
    expect_consumed(dec.into_inner(), "ZLIB")?;
    Ok(out)
}

/// Inflates a single-member GZIP stream into at most `max_out` bytes.
pub(crate) fn gunzip(compressed: &[u8], max_out: usize) -> Result<Vec<u8>> {
    let mut dec = GzDecoder::new(compressed);
    let out = inflate_bounded(&mut dec, max_out, "GZIP")?;
    expect_consumed(dec.into_inner(), "GZIP")?;
    Ok(out)
}

fn inflate_bounded(dec: &mut impl Read, max_out: usize, what: &str) -> Result<Vec<u8>> {
    let limit = u64::try_from(max_out).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    dec.take(limit)
        .read_to_end(&mut out)
        .map_err(|_| Error::malformed(format!("invalid {what} stream")))?;
    if out.len() > max_out {
        return Err(Error::TooLarge(format!(
            "{what} stream inflates beyond {max_out} bytes"
        )));
    }
    Ok(out)
}

fn expect_consumed(rest: &[u8], what: &str) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "trailing bytes after the {what} stream"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.as_bytes()
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn zlib_round_trips_at_every_level() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 7) as u8).collect();
        for lvl in 0..=9 {
            let z = zlib(&data, lvl).unwrap();
            assert_eq!(z[0] & 0x0f, 8, "CM must be 8 (deflate), RFC 1950 §2.2");
            assert_eq!(unzlib(&z, data.len()).unwrap(), data);
        }
        assert!(matches!(zlib(&data, 10), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn gzip_round_trips_and_is_deterministic() {
        let data = vec![0u8; 16 * 1024];
        let a = gzip(&data, 9).unwrap();
        assert_eq!(&a[..2], &[0x1f, 0x8b], "GZIP magic, RFC 1952 §2.3.1");
        assert_eq!(a, gzip(&data, 9).unwrap());
        assert_eq!(gunzip(&a, data.len()).unwrap(), data);
    }

    #[test]
    fn token_status_list_section_4_1_compressed_examples_inflate() {
        // Spec: draft-ietf-oauth-status-list §4.1, the two worked examples.
        assert_eq!(
            unzlib(&hex("78dadbb918000217015d"), 2).unwrap(),
            [0xb9, 0xa3]
        );
        assert_eq!(
            unzlib(&hex("78da3be9f2130003df0207"), 3).unwrap(),
            [0xc9, 0x44, 0xf9]
        );
    }

    #[test]
    fn decompression_bomb_is_refused_at_the_bound() {
        // 64 MiB of zeros compress to ~64 KiB; the bound of 1 MiB stops inflation early.
        let bomb = zlib(&vec![0u8; 64 * 1024 * 1024], 9).unwrap();
        assert!(bomb.len() < 100 * 1024);
        assert!(matches!(
            unzlib(&bomb, 1024 * 1024),
            Err(Error::TooLarge(_))
        ));
        let gz_bomb = gzip(&vec![0u8; 8 * 1024 * 1024], 9).unwrap();
        assert!(matches!(
            gunzip(&gz_bomb, 1024 * 1024),
            Err(Error::TooLarge(_))
        ));
        // Exactly at the bound is fine.
        let exact = zlib(&[7u8; 1000], 6).unwrap();
        assert_eq!(unzlib(&exact, 1000).unwrap().len(), 1000);
        assert!(matches!(unzlib(&exact, 999), Err(Error::TooLarge(_))));
    }

    #[test]
    fn truncated_corrupt_and_trailing_streams_are_malformed() {
        let z = zlib(b"hello status list", 6).unwrap();
        for bad in [
            z[..z.len() - 1].to_vec(),
            z[..3].to_vec(),
            Vec::new(),
            [z.clone(), vec![0]].concat(),
            {
                let mut c = z.clone();
                let last = c.len() - 1;
                c[last] ^= 1; // Adler-32 mismatch
                c
            },
            b"not zlib at all".to_vec(),
        ] {
            assert!(
                matches!(unzlib(&bad, 1000), Err(Error::Malformed(_))),
                "{bad:?}"
            );
        }
        let g = gzip(b"hello status list", 6).unwrap();
        let mut crc = g.clone();
        let n = crc.len();
        crc[n - 5] ^= 1; // CRC-32 mismatch
        for bad in [
            g[..g.len() - 1].to_vec(),
            [g.clone(), g.clone()].concat(), // a second member is trailing data
            crc,
            z.clone(),
        ] {
            assert!(matches!(gunzip(&bad, 1000), Err(Error::Malformed(_))));
        }
    }
}
