//! [`Webhooks`], the service: it validates and stores subscriptions (the signing secret
//! sealed under the KEK, shown once), and it is an [`EventSink`]: for each domain event the
//! change's own store transaction inserts one delivery row per matching webhook (the
//! outbox), then the dispatcher is woken.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use vdc_core::fetch::Fetcher;
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;
use vdc_core::time::Clock;
use vdc_core::vc_jose::datetime::format_date_time_stamp;
use vdc_http::metrics::Metrics;
use vdc_store::events::{DomainEvent, EventKind, EventSink, EventTenant, Outbox, OutboxEvent};
use vdc_store::{AttemptRecord, DeliveryRecord, DeliveryState, Store, WebhookRecord};

use crate::{WebhookError, WebhookSettings};

/// Longest webhook URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Most tenants one webhook may filter on (per kind).
const MAX_TENANTS: usize = 100;
/// Most deliveries the listing shows (newest first).
const MAX_LISTED_DELIVERIES: u32 = 100;
/// The prefix of a secret (Standard Webhooks, "Signature scheme").
const SECRET_PREFIX: &str = "whsec_";

/// The `POST /api/v1/webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"url": "https://backend.example/vdc-events",
    "events": ["credential.issued", "credential.status_changed", "presentation.verified"],
    "issuers": ["acme"]}))]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries go.
    pub url: String,
    /// Event type names: `offer.token_issued`, `credential.issued`,
    /// `credential.status_changed`, `presentation.verified`, `presentation.rejected`,
    /// `presentation.expired`.
    pub events: Vec<String>,
    /// Only these issuers' events.
    pub issuers: Option<Vec<String>>,
    /// Only these verifiers' events.
    pub verifiers: Option<Vec<String>>,
}

/// A webhook subscription (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookObject {
    /// The webhook id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Only these issuers' events (absent: every issuer's, unless `verifiers` is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub issuers: Option<Vec<String>>,
    /// Only these verifiers' events.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub verifiers: Option<Vec<String>>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

impl WebhookObject {
    /// The listed form of `record`.
    pub fn new(record: &WebhookRecord) -> Self {
        Self {
            id: record.id.clone(),
            url: record.url.clone(),
            events: record.events.clone(),
            issuers: record.issuers.clone(),
            verifiers: record.verifiers.clone(),
            created_at: format_date_time_stamp(record.created_at),
        }
    }
}

/// A created webhook: the object and, this once, its signing secret.
// `Debug` (below) hides the secret.
#[derive(Clone, Serialize, ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[schema(inline)]
    #[serde(flatten)]
    pub object: WebhookObject,
    /// `whsec_` + base64 of 32 bytes: the Standard Webhooks HMAC-SHA256 key, shown once.
    pub secret: String,
}

impl fmt::Debug for CreatedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedWebhook")
            .field("object", &self.object)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Every webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookList {
    /// The webhooks.
    pub items: Vec<WebhookObject>,
}

/// One delivery attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptObject {
    /// 1, 2, ...
    pub attempt: u32,
    /// When (RFC 3339).
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    #[schema(required = true)]
    pub http_status: Option<u16>,
    /// The error class (`timeout`, `connect`, ...), if it did not.
    #[schema(required = true)]
    pub error: Option<String>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// When the next attempt is due, after a `retry`.
    #[schema(required = true)]
    pub next_attempt_at: Option<String>,
}

impl AttemptObject {
    /// The listed form of `record`.
    pub fn new(record: &AttemptRecord) -> Self {
        Self {
            attempt: record.attempt,
            at: format_date_time_stamp(record.at),
            http_status: record.http_status,
            error: record.error.clone(),
            outcome: record.outcome.as_str().to_owned(),
            next_attempt_at: record.next_attempt_at.map(format_date_time_stamp),
        }
    }
}

/// One event's delivery to a webhook, with every attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryObject {
    /// The delivery id.
    pub id: String,
    /// The event id (the `webhook-id` header, the same on every attempt).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempt_count: u32,
    /// When the next attempt is due, while pending.
    #[schema(required = true)]
    pub next_attempt_at: Option<String>,
    /// When the event was enqueued (RFC 3339).
    pub created_at: String,
    /// The attempts, oldest first.
    pub attempts: Vec<AttemptObject>,
}

impl DeliveryObject {
    /// The listed form of `record`.
    pub fn new(record: &DeliveryRecord) -> Self {
        Self {
            id: record.delivery_id.clone(),
            event_id: record.event_id.clone(),
            event_type: record.event_type.clone(),
            state: record.state.as_str().to_owned(),
            attempt_count: record.attempts,
            next_attempt_at: record
                .next_attempt_at
                .filter(|_| record.state == DeliveryState::Pending)
                .map(format_date_time_stamp),
            created_at: format_date_time_stamp(record.created_at),
            attempts: record.history.iter().map(AttemptObject::new).collect(),
        }
    }
}

/// A webhook's newest deliveries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryList {
    /// The deliveries, newest first (at most 100).
    pub items: Vec<DeliveryObject>,
}

/// The webhook service and event sink. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) kek: KeyEncryptionKey,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn RandomSource>,
    pub(crate) outbound: Fetcher,
    pub(crate) settings: WebhookSettings,
    pub(crate) metrics: Metrics,
    pub(crate) client: reqwest::Client,
    wake: tokio::sync::Notify,
    /// Whether any webhook exists, as far as this instance knows: set when one is created
    /// here, re-read on every background tick. A commit wakes the dispatcher only then, so
    /// a deployment without webhooks runs no dispatch round per event (issue 11).
    subscribed: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

/// The AAD binding a sealed secret to its webhook.
pub(crate) fn secret_context(webhook_id: &str) -> String {
    vdc_store::sealed::context::webhook_secret(webhook_id)
}

impl Webhooks {
    /// The service over `store`; `outbound` supplies the allow list of plain-HTTP origins.
    pub fn new(
        store: Arc<dyn Store>,
        kek: KeyEncryptionKey,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        outbound: Fetcher,
        settings: WebhookSettings,
        metrics: Metrics,
    ) -> Result<Self, WebhookError> {
        // G7: deliveries go out under the outbound policy (no internal addresses unless
        // allow-listed, also after DNS resolution; no redirects; bounded time).
        let client = outbound
            .unredirected_client(settings.timeout)
            .map_err(|e| WebhookError::Internal(format!("webhook client: {e}")))?;
        Ok(Self(Arc::new(Inner {
            store,
            kek,
            clock,
            rng,
            outbound,
            settings,
            metrics,
            client,
            wake: tokio::sync::Notify::new(),
            subscribed: std::sync::atomic::AtomicBool::new(true),
        })))
    }

    /// The delivery settings (the loop polls every [`WebhookSettings::poll`] and claims
    /// [`WebhookSettings::batch`] deliveries per round).
    pub fn settings(&self) -> &WebhookSettings {
        &self.0.settings
    }

    /// Resolves when a commit staged events while webhooks exist, so the dispatcher should
    /// run a round now (a wake-up while nobody waits is kept for the next call).
    pub async fn woken(&self) {
        self.0.wake.notified().await;
    }

    /// Re-reads whether any webhook exists (another instance may have created or deleted
    /// some); a failure is logged and changes nothing.
    pub async fn refresh_subscriptions(&self) {
        match self.0.store.list_webhooks().await {
            Ok(hooks) => self
                .0
                .subscribed
                .store(!hooks.is_empty(), std::sync::atomic::Ordering::Relaxed),
            Err(e) => tracing::error!(error = %e, "webhook subscriptions not read"),
        }
    }

    pub(crate) fn random_id(&self, prefix: &str) -> Result<String, WebhookError> {
        vdc_core::rng::random_b64(self.0.rng.as_ref(), 16)
            .map(|r| format!("{prefix}{r}"))
            .map_err(|e| WebhookError::Internal(e.to_string()))
    }

    fn check_url(&self, raw: &str) -> Result<(), WebhookError> {
        let bad = |d: &str| WebhookError::InvalidRequest(format!("url: {d}"));
        if raw.len() > MAX_URL_LEN {
            return Err(bad("too long"));
        }
        let url = url::Url::parse(raw).map_err(|_| bad("must be an absolute URL"))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry credentials"));
        }
        if url.fragment().is_some() {
            return Err(bad("must not carry a fragment"));
        }
        match url.scheme() {
            "https" | "http" => self.0.outbound.check_url(raw).map_err(|_| {
                bad(
                    "must be https and not an internal address (plain http and internal \
                     addresses only for origins in VDC_OUTBOUND_ALLOW)",
                )
            }),
            _ => Err(bad("must be https")),
        }
    }

    /// Creates a webhook: its object and the secret (shown once).
    pub async fn create(&self, req: CreateWebhook) -> Result<CreatedWebhook, WebhookError> {
        self.check_url(&req.url)?;
        if req.events.is_empty() || req.events.len() > EventKind::ALL.len() * 2 {
            return Err(WebhookError::InvalidRequest(
                "events must list 1 to 6 event types".into(),
            ));
        }
        let mut events: Vec<String> = Vec::new();
        for e in &req.events {
            let kind = EventKind::parse(e).ok_or_else(|| {
                WebhookError::InvalidRequest(format!(
                    "events: unknown event type (one of {})",
                    EventKind::ALL.map(EventKind::as_str).join(", ")
                ))
            })?;
            if !events.iter().any(|x| x == kind.as_str()) {
                events.push(kind.as_str().to_owned());
            }
        }
        let tenants = |list: Option<Vec<String>>, what: &str| -> Result<_, WebhookError> {
            let Some(list) = list else { return Ok(None) };
            if list.is_empty() || list.len() > MAX_TENANTS {
                return Err(WebhookError::InvalidRequest(format!(
                    "{what} must list 1 to {MAX_TENANTS} slugs when present"
                )));
            }
            if !list.iter().all(|s| vdc_access::is_slug(s)) {
                return Err(WebhookError::InvalidRequest(format!(
                    "{what}: each entry must be a tenant slug"
                )));
            }
            let mut out: Vec<String> = Vec::new();
            for s in list {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            Ok(Some(out))
        };
        let issuers = tenants(req.issuers, "issuers")?;
        let verifiers = tenants(req.verifiers, "verifiers")?;
        let id = self.random_id("wh_")?;
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        self.0
            .rng
            .fill(raw.as_mut())
            .map_err(|e| WebhookError::Internal(e.to_string()))?;
        let encrypted_secret = self
            .0
            .kek
            .seal(raw.as_ref(), &secret_context(&id), self.0.rng.as_ref())
            .map_err(|e| WebhookError::Internal(e.to_string()))?;
        let record = WebhookRecord {
            id,
            url: req.url,
            events,
            issuers,
            verifiers,
            encrypted_secret,
            created_at: self.0.clock.now(),
        };
        self.0.store.create_webhook(&record).await?;
        self.0
            .subscribed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(CreatedWebhook {
            object: WebhookObject::new(&record),
            secret: format!("{SECRET_PREFIX}{}", B64.encode(raw.as_ref())),
        })
    }

    /// Every webhook.
    pub async fn list(&self) -> Result<WebhookList, WebhookError> {
        let hooks = self.0.store.list_webhooks().await?;
        Ok(WebhookList {
            items: hooks.iter().map(WebhookObject::new).collect(),
        })
    }

    /// One webhook.
    pub async fn get(&self, id: &str) -> Result<WebhookObject, WebhookError> {
        self.record(id).await.map(|r| WebhookObject::new(&r))
    }

    async fn record(&self, id: &str) -> Result<WebhookRecord, WebhookError> {
        self.0
            .store
            .get_webhook(id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// Deletes a webhook and its pending deliveries.
    pub async fn delete(&self, id: &str) -> Result<(), WebhookError> {
        if self.0.store.delete_webhook(id).await? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    /// A webhook's deliveries (newest first) with every attempt.
    pub async fn deliveries(&self, id: &str) -> Result<DeliveryList, WebhookError> {
        self.record(id).await?;
        let deliveries = self
            .0
            .store
            .list_deliveries(id, MAX_LISTED_DELIVERIES)
            .await?;
        Ok(DeliveryList {
            items: deliveries.iter().map(DeliveryObject::new).collect(),
        })
    }

    /// The outbox event of `event`: its body (contract "Webhooks and audit": `{"id",
    /// "type", "created_at", "data"}`) and ids; the change's transaction inserts one delivery
    /// per subscription that wants it.
    fn outbox_event(&self, event: &DomainEvent) -> Result<OutboxEvent, WebhookError> {
        let event_id = self.random_id("evt_")?;
        let mut data = event.data.clone();
        match &event.tenant {
            EventTenant::Issuer(id) => data.insert("issuer".into(), Value::from(id.as_str())),
            EventTenant::Verifier(id) => data.insert("verifier".into(), Value::from(id.as_str())),
        };
        let body = json!({
            "id": event_id,
            "type": event.kind.as_str(),
            "created_at": format_date_time_stamp(event.at),
            "data": data,
        })
        .to_string();
        Ok(OutboxEvent {
            delivery_id: self.random_id("msg_")?,
            event_id,
            event_type: event.kind.as_str().to_owned(),
            tenant: event.tenant.clone(),
            payload: body,
            created_at: self.0.clock.now(),
        })
    }
}

impl EventSink for Webhooks {
    fn stage(&self, event: &DomainEvent, outbox: &mut Outbox) {
        match self.outbox_event(event) {
            Ok(e) => outbox.events.push(e),
            Err(e) => {
                tracing::error!(error = ?e, kind = event.kind.as_str(), "webhook deliveries not enqueued");
            }
        }
    }

    fn committed(&self, events: &[DomainEvent]) {
        if !events.is_empty() && self.0.subscribed.load(std::sync::atomic::Ordering::Relaxed) {
            self.0.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::time::UnixTime;

    fn event(kind: EventKind, tenant: EventTenant) -> DomainEvent {
        DomainEvent {
            kind,
            tenant,
            actor: "wallet".into(),
            target: "t".into(),
            outcome: "x".into(),
            at: UnixTime(1),
            data: serde_json::Map::new(),
        }
    }

    fn matches(w: &WebhookRecord, e: &DomainEvent) -> bool {
        OutboxEvent {
            event_id: "evt_1".into(),
            delivery_id: "msg_1".into(),
            event_type: e.kind.as_str().into(),
            tenant: e.tenant.clone(),
            payload: "{}".into(),
            created_at: e.at,
        }
        .matches(&w.events, w.issuers.as_deref(), w.verifiers.as_deref())
    }

    #[test]
    fn webhook_objects_omit_absent_filters_and_created_ones_hide_the_secret_in_debug() {
        let mut record = WebhookRecord {
            id: "wh_1".into(),
            url: "https://x.example".into(),
            events: vec!["credential.issued".into()],
            issuers: None,
            verifiers: None,
            encrypted_secret: vec![1, 2, 3],
            created_at: UnixTime(0),
        };
        let created = CreatedWebhook {
            object: WebhookObject::new(&record),
            secret: "whsec_c2VjcmV0".into(),
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({"id": "wh_1", "url": "https://x.example", "events": ["credential.issued"],
                "created_at": "1970-01-01T00:00:00Z", "secret": "whsec_c2VjcmV0"})
        );
        assert!(!format!("{created:?}").contains("whsec_"));
        record.verifiers = Some(vec!["v".into()]);
        let v = serde_json::to_value(WebhookObject::new(&record)).unwrap();
        assert_eq!(v["verifiers"], json!(["v"]));
        assert!(v.get("issuers").is_none());
    }

    #[test]
    fn deliveries_carry_nulls_and_a_next_attempt_only_while_pending() {
        let mut record = DeliveryRecord {
            webhook_id: "wh_1".into(),
            delivery_id: "msg_1".into(),
            event_id: "evt_1".into(),
            event_type: "credential.issued".into(),
            payload: "{}".into(),
            state: DeliveryState::Pending,
            attempts: 1,
            next_attempt_at: Some(UnixTime(60)),
            created_at: UnixTime(0),
            history: vec![AttemptRecord {
                attempt: 1,
                at: UnixTime(1),
                http_status: None,
                error: Some("timeout".into()),
                outcome: vdc_store::AttemptOutcome::Retry,
                next_attempt_at: Some(UnixTime(60)),
            }],
        };
        assert_eq!(
            serde_json::to_value(DeliveryObject::new(&record)).unwrap(),
            json!({"id": "msg_1", "event_id": "evt_1", "type": "credential.issued",
                "state": "pending", "attempt_count": 1, "next_attempt_at": "1970-01-01T00:01:00Z",
                "created_at": "1970-01-01T00:00:00Z", "attempts": [{"attempt": 1,
                "at": "1970-01-01T00:00:01Z", "http_status": null, "error": "timeout",
                "outcome": "retry", "next_attempt_at": "1970-01-01T00:01:00Z"}]})
        );
        record.state = DeliveryState::Failed;
        assert_eq!(
            serde_json::to_value(DeliveryObject::new(&record)).unwrap()["next_attempt_at"],
            Value::Null
        );
    }

    #[test]
    fn filters_select_types_and_tenants() {
        let mut w = WebhookRecord {
            id: "w".into(),
            url: "https://x.example".into(),
            events: vec!["credential.issued".into(), "presentation.verified".into()],
            issuers: None,
            verifiers: None,
            encrypted_secret: vec![],
            created_at: UnixTime(0),
        };
        let issued = event(EventKind::CredentialIssued, EventTenant::Issuer("a".into()));
        let verified = event(
            EventKind::PresentationVerified,
            EventTenant::Verifier("v".into()),
        );
        let revoked = event(
            EventKind::CredentialStatusChanged,
            EventTenant::Issuer("a".into()),
        );
        assert!(matches(&w, &issued) && matches(&w, &verified) && !matches(&w, &revoked));
        w.issuers = Some(vec!["b".into()]);
        assert!(!matches(&w, &issued) && !matches(&w, &verified));
        w.issuers = Some(vec!["a".into()]);
        assert!(matches(&w, &issued) && !matches(&w, &verified));
        w.verifiers = Some(vec!["v".into()]);
        assert!(matches(&w, &issued) && matches(&w, &verified));
    }
}
