//! The single-use secrets the issuance protocol hands to wallets and takes back, as types:
//! a function that wants an [`AccessToken`] cannot be given a transaction id. Each is
//! opaque text on the wire (`#[serde(transparent)]`), stored only as its hash, and never
//! printed by `Debug`.

/// Declares one secret token type.
macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The token as received or made.
            pub fn new(text: impl Into<String>) -> Self {
                Self(text.into())
            }

            /// The token text (to hash it, or to send it).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}

secret_token! {
    /// An OAuth access token (RFC 6749 §1.4): issued by the token endpoint, presented as a
    /// bearer token (RFC 6750) to the credential, deferred credential and notification
    /// endpoints.
    AccessToken
}

secret_token! {
    /// A pre-authorized code (OID4VCI 1.0 §4.1.1), redeemed once at the token endpoint.
    PreAuthorizedCode
}

secret_token! {
    /// The `transaction_id` of a deferred issuance (OID4VCI 1.0 §8.3), redeemed once at the
    /// deferred credential endpoint (§9.1).
    TransactionId
}

secret_token! {
    /// The `notification_id` of a credential response (OID4VCI 1.0 §8.3), named once in a
    /// notification request (§11.1).
    NotificationId
}

impl From<vdc_http::BearerToken> for AccessToken {
    /// The bearer token of a request (non-empty, as the extractor ensures).
    fn from(token: vdc_http::BearerToken) -> Self {
        Self(token.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_plain_strings_on_the_wire_and_redacted_in_debug() {
        let t = TransactionId::new("s3cret");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"s3cret\"");
        let back: TransactionId = serde_json::from_str("\"s3cret\"").unwrap();
        assert_eq!(back, t);
        assert_eq!(format!("{t:?}"), "TransactionId([redacted])");
        assert!(!format!("{:?}", AccessToken::new("abc")).contains("abc"));
    }
}
