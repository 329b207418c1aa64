//! Delivery settings.

use std::time::Duration;

/// The longest delay between two attempts, seconds.
const MAX_BACKOFF: i64 = 86_400;

/// Delivery settings (`Config::webhook_settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Delay before the first retry, seconds; doubling after each failed attempt.
    pub retry_base: i64,
    /// Attempts before a delivery is `failed`.
    pub max_attempts: u32,
    /// Time allowed for one delivery request.
    pub timeout: Duration,
    /// How often the dispatcher polls the store besides being woken.
    pub poll: Duration,
    /// How long a claimed delivery stays leased to one dispatcher, seconds (clock time).
    pub lease: i64,
    /// Deliveries claimed per round.
    pub batch: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            retry_base: 5,
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
            lease: 120,
            batch: 16,
        }
    }
}

impl WebhookSettings {
    /// The delay after failed attempt number `attempt` (1-based): `retry_base · 2^(attempt-1)`,
    /// at most a day.
    pub fn backoff(&self, attempt: u32) -> i64 {
        let doublings = attempt.saturating_sub(1).min(30);
        self.retry_base
            .saturating_mul(1_i64 << doublings)
            .min(MAX_BACKOFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let s = WebhookSettings::default();
        assert_eq!(
            (1..=4).map(|n| s.backoff(n)).collect::<Vec<_>>(),
            vec![5, 10, 20, 40]
        );
        assert_eq!(s.backoff(40), MAX_BACKOFF);
    }
}
