//! How unsigned counters and indexes are stored: SQL integers are signed 64-bit in both
//! backends, so a value read back negative is corrupt data, and a value beyond `i64::MAX` is
//! refused before it is written. One rule for every backend.

use crate::{Result, StoreError};

/// Reads a stored integer that must not be negative (`what` names it in the error).
pub fn read_u64(v: i64, what: &'static str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}")))
}

/// Converts a value for storage; beyond `i64::MAX` it is refused.
pub fn write_u64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Invalid("value beyond i64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_reads_are_corrupt_and_huge_writes_invalid() {
        assert_eq!(read_u64(7, "idx").unwrap(), 7);
        assert!(matches!(read_u64(-1, "idx"), Err(StoreError::Corrupt(_))));
        assert_eq!(write_u64(7).unwrap(), 7);
        assert!(matches!(write_u64(u64::MAX), Err(StoreError::Invalid(_))));
    }
}
