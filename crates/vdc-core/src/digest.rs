//! Plain SHA-256, for callers that need the 32 bytes (ETags, stored hashes of secrets).

/// SHA-256 of `data` (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_of_abc_is_the_fips_180_2_example() {
        // FIPS 180-2, Appendix B.1: SHA-256("abc") = ba7816bf…f20015ad, here in base64url.
        assert_eq!(
            crate::base64url::encode(super::sha256(b"abc")),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
