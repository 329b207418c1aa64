//! Whose a record or an event is: every key of every table leads with it (G6).

/// The tenant an event belongs to (G6: sinks filter on it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventTenant {
    /// An issuer id.
    Issuer(String),
    /// A verifier id.
    Verifier(String),
}

impl EventTenant {
    /// The issuer id, if this is an issuer.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            Self::Issuer(id) => Some(id),
            Self::Verifier(_) => None,
        }
    }

    /// The verifier id, if this is a verifier.
    pub fn verifier(&self) -> Option<&str> {
        match self {
            Self::Verifier(id) => Some(id),
            Self::Issuer(_) => None,
        }
    }
}
