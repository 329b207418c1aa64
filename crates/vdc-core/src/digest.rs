//! Plain SHA-2 digests, for callers that need the bytes (ETags, stored hashes of secrets;
//! SHA-384 and SHA-512 for OID4VP transaction data hashes, OID4VP 1.0 Appendix B.3.3).

/// SHA-256 of `data` (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-384 of `data` (FIPS 180-4).
pub fn sha384(data: &[u8]) -> [u8; 48] {
    let d = ring::digest::digest(&ring::digest::SHA384, data);
    let mut out = [0u8; 48];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-512 of `data` (FIPS 180-4).
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = ring::digest::digest(&ring::digest::SHA512, data);
    let mut out = [0u8; 64];
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

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha384_and_sha512_of_abc_are_the_fips_180_2_examples() {
        // FIPS 180-2, Appendix D.1 and C.1.
        assert_eq!(
            hex(&super::sha384(b"abc")),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            hex(&super::sha512(b"abc")),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }
}
