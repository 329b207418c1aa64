//! The one error type of vdc-status.
//!
//! Callers branch on [`Error::kind`]: a verifier maps every kind except
//! [`ErrorKind::InvalidInput`] and [`ErrorKind::Internal`] to a failed "status" check
//! (Token Status List §8.3: "If any of these checks fails, no statement about the status
//! of the Referenced Token can be made and the Referenced Token SHOULD be rejected"). The
//! kinds line up with the processing errors of W3C Bitstring Status List v1.0 §3.5
//! (STATUS_RETRIEVAL_ERROR, STATUS_VERIFICATION_ERROR, STATUS_LIST_LENGTH_ERROR,
//! RANGE_ERROR, MALFORMED_VALUE_ERROR), see [`Error::w3c_error_code`].
//!
//! Messages never contain key material or response bodies; attacker-supplied text is
//! bounded in length and stripped of control characters.

/// Everything that can go wrong with a status list.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The caller passed an argument outside what the API allows: `bits` not in
    /// {1, 2, 4, 8}, a status value wider than `bits`, an index past the list when
    /// setting, a compression level above 9, a non-positive `ttl`, a list too large.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A received value is not well-formed: bad base64url/multibase, a broken ZLIB/GZIP
    /// stream, trailing data, a missing or mistyped claim or member.
    #[error("malformed status list: {0}")]
    Malformed(String),
    /// A received value exceeds a bound: the fetched body, or the inflated list
    /// (decompression-bomb guard).
    #[error("status list exceeds limit: {0}")]
    TooLarge(String),
    /// The status list could not be retrieved: unreachable host, refused destination
    /// (G7), timeout, non-2xx answer, or a failing local source.
    #[error("status list retrieval failed: {0}")]
    Retrieval(String),
    /// The status list token or credential failed verification: signature, `typ`, key
    /// resolution, `sub`/`id` binding, issuer binding, time (`exp`, `iat`,
    /// `validUntil`) or status purpose.
    #[error("status list verification failed: {0}")]
    Verification(#[source] vdc_core::Error),
    /// The referenced index lies outside the status list (Token Status List §8.3 step 6,
    /// W3C Bitstring Status List §3.2 RANGE_ERROR): no statement about the status can be
    /// made and the token MUST be rejected.
    #[error("status index {idx} is out of range for a list of {len} entries")]
    IndexOutOfRange {
        /// The index asked for.
        idx: u64,
        /// The number of entries in the list.
        len: u64,
    },
    /// A W3C bitstring status list has fewer entries than the herd-privacy minimum
    /// (W3C Bitstring Status List §3.2, STATUS_LIST_LENGTH_ERROR).
    #[error("status list has {entries} entries, fewer than the minimum of {minimum}")]
    ListTooShort {
        /// The number of entries found.
        entries: u64,
        /// The minimum required.
        minimum: u64,
    },
    /// Signing a status list token or credential failed in the signer or the core.
    #[error("signing the status list failed: {0}")]
    Signing(#[source] vdc_core::Error),
}

/// A `Copy` summary of [`Error`] for callers that branch on the kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A caller bug: the arguments are outside the API's contract.
    InvalidInput,
    /// Received data is malformed or oversized.
    Malformed,
    /// The list could not be retrieved.
    Retrieval,
    /// The list did not verify (signature, key, binding, time, purpose).
    Verification,
    /// The index is outside the list.
    OutOfRange,
    /// The list is shorter than the herd-privacy minimum.
    ListLength,
    /// Signing failed.
    Internal,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Malformed(_) | Self::TooLarge(_) => ErrorKind::Malformed,
            Self::Retrieval(_) => ErrorKind::Retrieval,
            Self::Verification(_) => ErrorKind::Verification,
            Self::IndexOutOfRange { .. } => ErrorKind::OutOfRange,
            Self::ListTooShort { .. } => ErrorKind::ListLength,
            Self::Signing(_) => ErrorKind::Internal,
        }
    }

    /// The W3C Bitstring Status List v1.0 §3.5 error code this error corresponds to, for
    /// an RFC 9457 problem `type` of
    /// `https://www.w3.org/ns/credentials/status-list#<code>`; `None` for caller and
    /// signing errors, which are not status-processing errors.
    pub fn w3c_error_code(&self) -> Option<&'static str> {
        match self.kind() {
            ErrorKind::Retrieval => Some("STATUS_RETRIEVAL_ERROR"),
            ErrorKind::Verification => Some("STATUS_VERIFICATION_ERROR"),
            ErrorKind::ListLength => Some("STATUS_LIST_LENGTH_ERROR"),
            ErrorKind::OutOfRange => Some("RANGE_ERROR"),
            ErrorKind::Malformed => Some("MALFORMED_VALUE_ERROR"),
            ErrorKind::InvalidInput | ErrorKind::Internal => None,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidInput(msg.into())
    }

    pub(crate) fn malformed(msg: impl Into<String>) -> Self {
        Self::Malformed(msg.into())
    }

    /// A verification failure described by a core error of the given kind.
    pub(crate) fn claim(msg: impl Into<String>) -> Self {
        Self::Verification(vdc_core::Error::Claim(msg.into()))
    }
}

/// Result alias for vdc-status.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attacker-supplied text cut to a safe length for messages, control characters removed.
pub(crate) fn printable(s: &str) -> String {
    s.chars().take(80).filter(|c| !c.is_control()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_w3c_processing_error_codes() {
        let cases = [
            (Error::Retrieval("x".into()), Some("STATUS_RETRIEVAL_ERROR")),
            (
                Error::Verification(vdc_core::Error::InvalidSignature),
                Some("STATUS_VERIFICATION_ERROR"),
            ),
            (
                Error::ListTooShort {
                    entries: 1,
                    minimum: 2,
                },
                Some("STATUS_LIST_LENGTH_ERROR"),
            ),
            (
                Error::IndexOutOfRange { idx: 9, len: 8 },
                Some("RANGE_ERROR"),
            ),
            (Error::TooLarge("x".into()), Some("MALFORMED_VALUE_ERROR")),
            (Error::InvalidInput("x".into()), None),
            (Error::Signing(vdc_core::Error::Crypto("x".into())), None),
        ];
        for (err, code) in cases {
            assert_eq!(err.w3c_error_code(), code, "{err}");
        }
    }

    #[test]
    fn printable_bounds_and_strips_control_characters() {
        let long = "a".repeat(500);
        assert_eq!(printable(&long).len(), 80);
        assert_eq!(printable("a\nb\u{1b}c"), "abc");
    }
}
