//! The dispatcher: claims due deliveries under a lease (a conditional `UPDATE`, so several
//! instances never send one attempt twice), POSTs them signed with the Standard Webhooks
//! scheme, records every attempt and reschedules failures with exponential backoff on the
//! injected clock (R4).
//!
//! Signing (Standard Webhooks, "Signature scheme"): headers `webhook-id` (the delivery's
//! message id, the same on every retry), `webhook-timestamp` (unix seconds of the attempt)
//! and `webhook-signature` `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by
//! the decoded secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::hmac;
use vdc_core::time::UnixTime;
use vdc_store::{AttemptOutcome, AttemptRecord, DeliveryRecord, StoreError};

use crate::Webhooks;
use crate::service::secret_context;

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks, "Signature
/// scheme").
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(tag.as_ref()))
}

impl Webhooks {
    /// One dispatcher round: claims up to a batch of due deliveries and attempts each.
    /// Returns how many were claimed.
    pub async fn dispatch_due(&self) -> Result<usize, StoreError> {
        let now = self.0.clock.now();
        let claimed = self
            .0
            .store
            .claim_due_deliveries(now, now.plus(self.0.settings.lease), self.0.settings.batch)
            .await?;
        let n = claimed.len();
        // The round's attempts run concurrently, so one slow receiver (up to the timeout)
        // does not hold back the others.
        let mut attempts = tokio::task::JoinSet::new();
        for d in claimed {
            let me = self.clone();
            attempts.spawn(async move {
                if let Err(e) = me.attempt(&d).await {
                    tracing::error!(error = %e, delivery = %d.delivery_id, "webhook attempt not recorded");
                }
            });
        }
        while attempts.join_next().await.is_some() {}
        Ok(n)
    }

    /// Sends one delivery and records the attempt.
    async fn attempt(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        let Some(hook) = self.0.store.get_webhook(&d.webhook_id).await? else {
            // Deleted meanwhile: its deliveries went with it.
            return Ok(());
        };
        let now = self.0.clock.now();
        let number = d.attempts.saturating_add(1);
        let (http_status, error) = match self
            .0
            .kek
            .open(&hook.encrypted_secret, &secret_context(&hook.id))
        {
            Err(e) => {
                tracing::error!(error = %e, webhook = %hook.id, "webhook secret does not decrypt");
                (None, Some("secret"))
            }
            // The policy may have changed since registration (VDC_OUTBOUND_ALLOW).
            Ok(_) if self.0.outbound.check_url(&hook.url).is_err() => (None, Some("refused")),
            Ok(secret) => self.send(&hook.url, &secret, d, now).await,
        };
        let outcome = match (error, number >= self.0.settings.max_attempts) {
            (None, _) => AttemptOutcome::Delivered,
            (Some(_), true) => AttemptOutcome::Failed,
            (Some(_), false) => AttemptOutcome::Retry,
        };
        let attempt = AttemptRecord {
            attempt: number,
            at: now,
            http_status,
            error: error.map(str::to_owned),
            outcome,
            next_attempt_at: (outcome == AttemptOutcome::Retry)
                .then(|| now.plus(self.0.settings.backoff(number))),
        };
        if self
            .0
            .store
            .record_attempt(&d.webhook_id, &d.delivery_id, &attempt)
            .await?
        {
            self.0.metrics.webhook_delivery(outcome.as_str());
        }
        Ok(())
    }

    /// POSTs the body; the HTTP status and the error class (`None` for a 2xx).
    async fn send(
        &self,
        url: &str,
        secret: &[u8],
        d: &DeliveryRecord,
        now: UnixTime,
    ) -> (Option<u16>, Option<&'static str>) {
        let timestamp = now.secs();
        let signature = sign(secret, &d.delivery_id, timestamp, &d.payload);
        let sent = self
            .0
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &d.delivery_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await;
        match sent {
            // The response body is not read (dropped unread).
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (Some(r.status().as_u16()), Some("http_status")),
            Err(e) if e.is_timeout() => (None, Some("timeout")),
            Err(e) if e.is_connect() => (None, Some("connect")),
            Err(_) => (None, Some("request")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // Spec: standard-webhooks spec/standard-webhooks.md, the example secret, id,
        // timestamp and payload of the reference libraries' tests.
        let secret = B64.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
