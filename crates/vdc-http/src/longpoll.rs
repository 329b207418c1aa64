//! Long-poll for management status objects (`?wait=N` on offers and presentation requests).
//!
//! The caller gives the object as it stood when the call started; [`wait_for_change`] polls
//! the store on a short interval (so a change made by another instance is seen too) until
//! the object's `status` differs, or the wait ends, and answers the latest object either way.
//! Nothing is pushed or held but a timer: no busy loop, no shared state.

use std::future::Future;
use std::time::Duration;

use crate::ErrorResponse;

/// The longest `wait` accepted, in seconds (issue 6: `0..=60`).
pub const MAX_WAIT_SECS: u64 = 60;

/// How often the store is asked again while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The `?wait=N` of a status route, as an extractor: the query is read here (not by serde)
/// so that every bad `wait` (malformed, out of range, given twice) is the contract's JSON
/// `400 invalid_request`, never a plain-text rejection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wait(pub Duration);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Wait {
    type Rejection = ErrorResponse;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let mut wait = None;
        for (name, value) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        {
            if name == "wait" {
                if wait.is_some() {
                    return Err(ErrorResponse::invalid_request("wait is given twice"));
                }
                wait = Some(value.into_owned());
            }
        }
        parse_wait(wait.as_deref()).map(Self)
    }
}

/// Parses the `wait` query parameter: absent → no wait; an integer `0..=60` → that many
/// seconds; anything else → `400 invalid_request`.
pub fn parse_wait(raw: Option<&str>) -> Result<Duration, ErrorResponse> {
    let Some(raw) = raw else {
        return Ok(Duration::ZERO);
    };
    // Digits only (no sign, no spaces), at most two of them: bounds the parse too.
    let secs = (!raw.is_empty() && raw.len() <= 2 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse::<u64>().ok())
        .flatten()
        .filter(|s| *s <= MAX_WAIT_SECS)
        .ok_or_else(|| {
            ErrorResponse::invalid_request(format!(
                "wait must be an integer number of seconds from 0 to {MAX_WAIT_SECS}"
            ))
        })?;
    Ok(Duration::from_secs(secs))
}

/// A management object with a `status` member (an offer, a presentation request).
pub trait StatusObject {
    /// The object's `status`.
    fn status(&self) -> &str;
}

/// Waits up to `wait` until `fetch` answers an object whose `status` differs from
/// `initial`'s, polling every [`POLL_INTERVAL`]; returns `initial` at once when `wait` is
/// zero or its status is one of `finals`. Answers the newest object seen (the last fetch at
/// the deadline), or the first error.
pub async fn wait_for_change<T, F, Fut, E>(
    initial: T,
    wait: Duration,
    finals: &[&str],
    mut fetch: F,
) -> Result<T, E>
where
    T: StatusObject,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let start = initial.status().to_owned();
    if wait.is_zero() || finals.contains(&start.as_str()) {
        return Ok(initial);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut ticks = tokio::time::interval(POLL_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick completes at once; the object was just read.
    ticks.tick().await;
    loop {
        if tokio::time::timeout_at(deadline, ticks.tick())
            .await
            .is_err()
        {
            // The deadline passed: answer the state at the deadline.
            return fetch().await;
        }
        let latest = fetch().await?;
        if latest.status() != start {
            return Ok(latest);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(latest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The tests' status objects are JSON values.
    impl StatusObject for Value {
        fn status(&self) -> &str {
            self["status"].as_str().unwrap_or_default()
        }
    }

    #[test]
    fn wait_accepts_0_to_60_only() {
        assert_eq!(parse_wait(None).unwrap(), Duration::ZERO);
        assert_eq!(parse_wait(Some("0")).unwrap(), Duration::ZERO);
        assert_eq!(parse_wait(Some("60")).unwrap(), Duration::from_secs(60));
        for bad in [
            "61",
            "abc",
            "",
            "-1",
            "+5",
            " 5",
            "1.5",
            "999999999999999999999",
        ] {
            let e = parse_wait(Some(bad)).unwrap_err();
            assert_eq!(e.status, http::StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.error, "invalid_request");
        }
    }

    #[tokio::test]
    async fn a_final_status_is_answered_without_fetching() {
        let got: Result<Value, ()> = wait_for_change(
            serde_json::json!({"status": "verified"}),
            Duration::from_secs(60),
            &["verified"],
            || async { panic!("no fetch expected") },
        )
        .await;
        assert_eq!(got.unwrap()["status"], "verified");
    }

    #[tokio::test]
    async fn a_change_is_answered_when_seen() {
        let mut n = 0;
        let got: Result<Value, ()> = wait_for_change(
            serde_json::json!({"status": "pending"}),
            Duration::from_secs(60),
            &["verified"],
            || {
                n += 1;
                let status = if n < 3 { "pending" } else { "verified" };
                async move { Ok(serde_json::json!({"status": status})) }
            },
        )
        .await;
        assert_eq!(got.unwrap()["status"], "verified");
        assert_eq!(n, 3);
    }
}
