//! [`StoreError`]: the one error type of every store, whatever the backend.
//!
//! Backends map their driver errors here (constraint violations by name, connection
//! failures to [`StoreError::Unavailable`]); no driver error type crosses the trait.

/// Why a store method failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same key already exists (the named thing: "issuer", "offer",
    /// "pre-authorized code", "status list entry", ...).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The named thing the call refers to does not exist for this tenant (e.g. an offer for
    /// an unknown issuer, a config update of an unknown issuer).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write lost to a concurrent one in a way the database reported (deadlock,
    /// serialization failure); a retry may succeed.
    #[error("conflicting concurrent write: {0}")]
    Conflict(&'static str),
    /// A bounded thing has no room left for the write (the named bound: "credentials per
    /// offer"); nothing was written. Not an outage: the same call fails again.
    #[error("limit reached: {0}")]
    Exhausted(&'static str),
    /// The caller passed something the store refuses to keep: a record of another tenant
    /// (G6), or a value outside the stored range.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// The database could not be reached or did not answer within the acquire/busy timeout.
    /// Nothing was changed; callers answer 503 `temporarily_unavailable` (R2).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A stored row could not be decoded (unknown status text, hash of the wrong length,
    /// invalid JSON): the data was written by something else or the schema drifted.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Applying the schema migrations failed (checksum mismatch of an applied migration,
    /// a migration newer than this binary, ...).
    #[error("migration failed: {0}")]
    Migration(String),
    /// The database rejected a statement for a reason that is neither a constraint nor an
    /// outage: a bug or schema drift. The text is for logs, never for clients.
    #[error("database error: {0}")]
    Database(String),
}

/// The kind of a [`StoreError`], for callers that branch without matching payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// See [`StoreError::Duplicate`].
    Duplicate,
    /// See [`StoreError::NotFound`].
    NotFound,
    /// See [`StoreError::Conflict`].
    Conflict,
    /// See [`StoreError::Exhausted`].
    Exhausted,
    /// See [`StoreError::Invalid`].
    Invalid,
    /// See [`StoreError::Unavailable`].
    Unavailable,
    /// See [`StoreError::Corrupt`].
    Corrupt,
    /// See [`StoreError::Migration`].
    Migration,
    /// See [`StoreError::Database`].
    Database,
}

impl StoreError {
    /// The kind of this error.
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::Duplicate(_) => StoreErrorKind::Duplicate,
            Self::NotFound(_) => StoreErrorKind::NotFound,
            Self::Conflict(_) => StoreErrorKind::Conflict,
            Self::Exhausted(_) => StoreErrorKind::Exhausted,
            Self::Invalid(_) => StoreErrorKind::Invalid,
            Self::Unavailable(_) => StoreErrorKind::Unavailable,
            Self::Corrupt(_) => StoreErrorKind::Corrupt,
            Self::Migration(_) => StoreErrorKind::Migration,
            Self::Database(_) => StoreErrorKind::Database,
        }
    }

    /// Whether the same call may succeed later without any change by the caller
    /// (an outage or a lost concurrent write).
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            StoreErrorKind::Unavailable | StoreErrorKind::Conflict
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_and_conflict_are_transient_constraint_errors_are_not() {
        assert!(StoreError::Unavailable("refused".into()).is_transient());
        assert!(StoreError::Conflict("deadlock").is_transient());
        assert!(!StoreError::Duplicate("offer").is_transient());
        assert!(!StoreError::NotFound("issuer").is_transient());
        assert_eq!(
            StoreError::Corrupt("x".into()).kind(),
            StoreErrorKind::Corrupt
        );
    }
}
