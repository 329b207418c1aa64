//! Connection-pool settings shared by the backends.

use std::time::Duration;

/// How a backend sizes its pool and how long a caller waits for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a call waits for a connection (and SQLite for its write lock) before it
    /// answers [`crate::StoreError::Unavailable`]; short, so an outage answers fast (R2).
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}
