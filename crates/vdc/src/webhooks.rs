//! Webhooks (issue 6 item 3; contract "Webhooks and audit"): subscriptions, the durable
//! outbox and the background dispatcher.
//!
//! - [`Webhooks`] is the service: it validates and stores subscriptions (the signing secret
//!   sealed under the KEK, shown once), and it is an [`EventSink`]: for each domain event it
//!   inserts one delivery row per matching webhook in one store transaction (the outbox), then
//!   wakes the dispatcher.
//! - [`Background`] is the loop `vdc serve` (and the testkit) start: it claims due deliveries
//!   under a lease (a conditional `UPDATE`, so several instances never send one attempt
//!   twice), POSTs them signed with the Standard Webhooks scheme, records every attempt and
//!   reschedules failures with exponential backoff on the injected clock; it also runs the
//!   presentation expiry sweep, the purge of expired single-use artifacts and the retention
//!   purge ([`RetentionSettings`]: audit entries, finished deliveries and finished
//!   presentation requests past their retention period, in bounded batches). It wakes on
//!   enqueue and polls the store every second (other instances enqueue too). Deliveries are
//!   rows, so they survive a restart.
//! - [`management_routes`]: `/api/v1/webhooks` behind the admin key.
//!
//! Signing (Standard Webhooks, "Signature scheme"): secret `whsec_` + base64 of 32 random
//! bytes; headers `webhook-id` (the delivery's message id, the same on every retry),
//! `webhook-timestamp` (unix seconds of the attempt) and `webhook-signature`
//! `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed by the decoded secret.
//!
//! Invariants: G10 (bodies carry ids and statuses only, never claim values; the secret is
//! never logged or listed), R4 (due times come from the injected clock).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, middleware};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::hmac;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vdc_core::fetch::Fetcher;
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;
use vdc_core::time::{Clock, UnixTime};
use vdc_core::vc_jose::datetime::format_date_time_stamp;
use vdc_http::auth::{AuditTarget, Authenticator, management};
use vdc_http::metrics::Metrics;
use vdc_http::openapi::{ErrorBody, TAG_WEBHOOKS};
use vdc_http::{AppJson, ErrorResponse};
use vdc_store::events::{DomainEvent, EventKind, EventSink, EventTenant, Outbox, OutboxEvent};
use vdc_store::{
    AttemptOutcome, AttemptRecord, DeliveryRecord, Store, StoreError, StoreErrorKind, WebhookRecord,
};

/// `POST`/`GET /api/v1/webhooks`.
pub const API_WEBHOOKS: &str = "/api/v1/webhooks";
/// `GET`/`DELETE /api/v1/webhooks/{id}`.
pub const API_WEBHOOK: &str = "/api/v1/webhooks/{id}";
/// `GET /api/v1/webhooks/{id}/deliveries`.
pub const API_WEBHOOK_DELIVERIES: &str = "/api/v1/webhooks/{id}/deliveries";

/// Longest webhook URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Most tenants one webhook may filter on (per kind).
const MAX_TENANTS: usize = 100;
/// Most deliveries the listing shows (newest first).
const MAX_LISTED_DELIVERIES: u32 = 100;
/// The prefix of a secret (Standard Webhooks, "Signature scheme").
const SECRET_PREFIX: &str = "whsec_";
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

/// Seconds in a day (retention periods are configured in days).
const DAY: i64 = 86_400;

/// How long finished rows are kept (`Config::retention_settings`); `None` keeps them forever.
/// Periods are seconds of the injected clock (R4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Audit entries, from when they were recorded.
    pub audit: Option<i64>,
    /// Delivered and failed webhook deliveries with their attempts, from their last attempt.
    /// Pending deliveries are never purged.
    pub deliveries: Option<i64>,
    /// Verified, rejected and expired presentation requests, from when they finished.
    /// Pending requests are never purged.
    pub presentations: Option<i64>,
    /// Rows one purge statement deletes at most: a backlog is many short statements, never
    /// one long transaction.
    pub batch: u32,
    /// Statements per kind in one purge round; a bigger backlog continues on the loop's next
    /// tick, so webhook dispatch never waits long behind a purge.
    pub batches_per_round: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            audit: Some(400 * DAY),
            deliveries: Some(30 * DAY),
            presentations: Some(30 * DAY),
            batch: 1000,
            batches_per_round: 20,
        }
    }
}

impl RetentionSettings {
    /// A period of `days` days; 0 keeps forever.
    pub fn days(days: u32) -> Option<i64> {
        (days > 0).then(|| i64::from(days) * DAY)
    }
}

/// What the retention purge deletes.
#[derive(Debug, Clone, Copy)]
enum Retained {
    AuditEntries,
    WebhookDeliveries,
    PresentationRequests,
}

impl Retained {
    fn as_str(self) -> &'static str {
        match self {
            Self::AuditEntries => "audit entries",
            Self::WebhookDeliveries => "webhook deliveries",
            Self::PresentationRequests => "presentation requests",
        }
    }
}

/// A webhook error, mapped to the contract's error bodies.
#[derive(Debug)]
pub enum WebhookError {
    /// Bad input: `400 invalid_request`.
    InvalidRequest(String),
    /// Unknown webhook: `404 not_found`.
    NotFound,
    /// The store failed.
    Store(StoreError),
    /// Something else failed on our side.
    Internal(String),
}

impl From<StoreError> for WebhookError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl IntoResponse for WebhookError {
    fn into_response(self) -> Response {
        match self {
            Self::InvalidRequest(d) => ErrorResponse::invalid_request(d),
            Self::NotFound => ErrorResponse::not_found("unknown webhook"),
            Self::Store(e) if e.kind() == StoreErrorKind::Unavailable => ErrorResponse::server(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                e.to_string(),
            ),
            Self::Store(e) => ErrorResponse::server(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.to_string(),
            ),
            Self::Internal(d) => {
                ErrorResponse::server(StatusCode::INTERNAL_SERVER_ERROR, "server_error", d)
            }
        }
        .into_response()
    }
}

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

/// The webhook service and event sink. Cheap to clone.
#[derive(Clone)]
pub struct Webhooks(Arc<Inner>);

struct Inner {
    store: Arc<dyn Store>,
    kek: KeyEncryptionKey,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    outbound: Fetcher,
    settings: WebhookSettings,
    retention: RetentionSettings,
    metrics: Metrics,
    client: reqwest::Client,
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
fn secret_context(webhook_id: &str) -> String {
    format!("vdc webhook secret\0{webhook_id}")
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` (Standard Webhooks, "Signature
/// scheme").
pub fn sign(secret: &[u8], msg_id: &str, timestamp: i64, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, format!("{msg_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(tag.as_ref()))
}

impl Webhooks {
    /// The service over `store`; `outbound` supplies the allow list of plain-HTTP origins;
    /// its background loop purges by `retention`.
    pub fn new(
        store: Arc<dyn Store>,
        kek: KeyEncryptionKey,
        deps: &crate::Deps,
        outbound: Fetcher,
        settings: WebhookSettings,
        retention: RetentionSettings,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        // G7: deliveries go out under the outbound policy (no internal addresses unless
        // allow-listed, also after DNS resolution; no redirects; bounded time).
        let client = outbound
            .unredirected_client(settings.timeout)
            .map_err(|e| anyhow::anyhow!("webhook client: {e}"))?;
        Ok(Self(Arc::new(Inner {
            store,
            kek,
            clock: deps.clock.clone(),
            rng: deps.rng.clone(),
            outbound,
            settings,
            retention,
            metrics,
            client,
            wake: tokio::sync::Notify::new(),
            subscribed: std::sync::atomic::AtomicBool::new(true),
        })))
    }

    fn random_id(&self, prefix: &str) -> Result<String, WebhookError> {
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

    /// Creates a webhook: its record and the secret (shown once).
    pub async fn create(
        &self,
        req: CreateWebhook,
    ) -> Result<(WebhookRecord, String), WebhookError> {
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
            if !list.iter().all(|s| vdc_issuer::definition::is_slug(s)) {
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
        Ok((
            record,
            format!("{SECRET_PREFIX}{}", B64.encode(raw.as_ref())),
        ))
    }

    /// Every webhook.
    pub async fn list(&self) -> Result<Vec<WebhookRecord>, WebhookError> {
        Ok(self.0.store.list_webhooks().await?)
    }

    /// One webhook.
    pub async fn get(&self, id: &str) -> Result<WebhookRecord, WebhookError> {
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
    pub async fn deliveries(&self, id: &str) -> Result<Vec<DeliveryRecord>, WebhookError> {
        self.get(id).await?;
        Ok(self
            .0
            .store
            .list_deliveries(id, MAX_LISTED_DELIVERIES)
            .await?)
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

    /// Deletes every issuer's expired `c_nonce`s, access tokens and notification ids (they
    /// are unusable already; without this the public nonce endpoint grows the table
    /// forever). Several instances may purge at once: deletes of expired rows commute.
    async fn purge_expired(&self, now: UnixTime) {
        let issuers = match self.0.store.list_issuers().await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(error = %e, "purge: cannot list issuers");
                return;
            }
        };
        for issuer in issuers {
            match self.0.store.purge_expired(&issuer.id, now).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(issuer = %issuer.id, rows = n, "purged expired nonces and tokens");
                }
                Err(e) => tracing::error!(issuer = %issuer.id, error = %e, "purge failed"),
            }
        }
    }

    /// One retention statement for `kind`: rows older than `before`, at most one batch.
    async fn purge_batch(&self, kind: Retained, before: UnixTime) -> Result<u64, StoreError> {
        let (store, batch) = (&self.0.store, self.0.retention.batch);
        match kind {
            Retained::AuditEntries => store.purge_audit_entries(before, batch).await,
            Retained::WebhookDeliveries => store.purge_finished_deliveries(before, batch).await,
            Retained::PresentationRequests => {
                store
                    .purge_finished_presentation_requests(before, batch)
                    .await
            }
        }
    }

    /// Deletes what outlived its retention period (kinds kept forever are skipped): batches
    /// of [`RetentionSettings::batch`] rows, at most [`RetentionSettings::batches_per_round`]
    /// per kind. True if some kind has more left, so the caller purges again on its next
    /// tick. Several instances may purge at once: deletes of old finished rows commute.
    pub async fn purge_retained(&self, now: UnixTime) -> bool {
        let r = &self.0.retention;
        let mut more = false;
        for (kind, keep) in [
            (Retained::AuditEntries, r.audit),
            (Retained::WebhookDeliveries, r.deliveries),
            (Retained::PresentationRequests, r.presentations),
        ] {
            let Some(keep) = keep else { continue };
            let before = UnixTime(now.secs().saturating_sub(keep));
            let mut purged = 0;
            for round in 1..=r.batches_per_round {
                match self.purge_batch(kind, before).await {
                    Ok(n) => {
                        purged += n;
                        if n < u64::from(r.batch) {
                            break;
                        }
                        more |= round == r.batches_per_round;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, kind = kind.as_str(), "retention purge failed");
                        break;
                    }
                }
            }
            if purged > 0 {
                tracing::info!(
                    kind = kind.as_str(),
                    rows = purged,
                    "purged rows past their retention period"
                );
            }
        }
        more
    }

    /// Starts the background loop: webhook dispatch, the purge of expired single-use
    /// artifacts, the retention purge and, given a verifier, the presentation expiry sweep.
    /// Stop it with [`Background::stop`].
    pub fn start(&self, verifier: Option<vdc_verifier::Verifier>) -> Background {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let me = self.clone();
        let handle = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(me.0.settings.poll);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first purges run one interval after start (on the injected clock).
            let mut next_purge = me.0.clock.now().plus(PURGE_INTERVAL_SECS);
            let mut next_retention = next_purge;
            loop {
                let ticked = tokio::select! {
                    _ = stopped.changed() => break,
                    _ = ticks.tick() => true,
                    () = me.0.wake.notified() => false,
                };
                if ticked {
                    // Another instance may have created or deleted webhooks.
                    match me.0.store.list_webhooks().await {
                        Ok(hooks) => {
                            me.0.subscribed
                                .store(!hooks.is_empty(), std::sync::atomic::Ordering::Relaxed)
                        }
                        Err(e) => tracing::error!(error = %e, "webhook subscriptions not read"),
                    }
                }
                if let Some(v) = &verifier
                    && let Err(e) = v.expire_due(100).await
                {
                    tracing::error!(error = %e, "presentation expiry sweep failed");
                }
                let now = me.0.clock.now();
                if now >= next_purge {
                    next_purge = now.plus(PURGE_INTERVAL_SECS);
                    me.purge_expired(now).await;
                }
                if now >= next_retention {
                    // A backlog larger than one round continues on the next tick.
                    next_retention = if me.purge_retained(now).await {
                        now
                    } else {
                        now.plus(PURGE_INTERVAL_SECS)
                    };
                }
                loop {
                    match me.dispatch_due().await {
                        Ok(n) if n >= me.0.settings.batch as usize && !*stopped.borrow() => {}
                        Ok(_) => break,
                        Err(e) => {
                            tracing::error!(error = %e, "webhook dispatch failed");
                            break;
                        }
                    }
                }
            }
        });
        Background { stop, handle }
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

/// How often (clock seconds) the background loop purges expired nonces, tokens and
/// notification ids, and rows past their retention period.
pub const PURGE_INTERVAL_SECS: i64 = 300;

/// The running background loop.
#[derive(Debug)]
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Asks the loop to stop after its current round and waits for it (at most a minute,
    /// then it is aborted; an attempt cut short stays leased and is retried after its lease).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let mut handle = self.handle;
        if tokio::time::timeout(Duration::from_secs(60), &mut handle)
            .await
            .is_err()
        {
            handle.abort();
        }
    }
}

fn view(w: &WebhookRecord) -> Value {
    let mut v = json!({
        "id": w.id,
        "url": w.url,
        "events": w.events,
        "created_at": format_date_time_stamp(w.created_at),
    });
    if let Some(i) = &w.issuers {
        v["issuers"] = json!(i);
    }
    if let Some(vs) = &w.verifiers {
        v["verifiers"] = json!(vs);
    }
    v
}

fn delivery_view(d: &DeliveryRecord) -> Value {
    let attempts: Vec<Value> = d
        .history
        .iter()
        .map(|a| {
            json!({
                "attempt": a.attempt,
                "at": format_date_time_stamp(a.at),
                "http_status": a.http_status,
                "error": a.error,
                "outcome": a.outcome.as_str(),
                "next_attempt_at": a.next_attempt_at.map(format_date_time_stamp),
            })
        })
        .collect();
    json!({
        "id": d.delivery_id,
        "event_id": d.event_id,
        "type": d.event_type,
        "state": d.state.as_str(),
        "attempt_count": d.attempts,
        "next_attempt_at": d.next_attempt_at.filter(|_| d.state == vdc_store::DeliveryState::Pending).map(format_date_time_stamp),
        "created_at": format_date_time_stamp(d.created_at),
        "attempts": attempts,
    })
}

/// The webhook routes and their OpenAPI description, registered together.
fn management_api() -> OpenApiRouter<Webhooks> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, delete))
        .routes(routes!(deliveries))
}

/// The OpenAPI description of [`management_routes`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    management_api().into_openapi()
}

/// A webhook subscription (never its secret).
#[derive(Debug, ToSchema)]
pub struct WebhookObject {
    /// The webhook id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// Only these issuers' events (absent: every issuer's, unless `verifiers` is set).
    pub issuers: Option<Vec<String>>,
    /// Only these verifiers' events.
    pub verifiers: Option<Vec<String>>,
    /// When it was created (RFC 3339).
    pub created_at: String,
}

/// A created webhook: the object and, this once, its signing secret.
#[derive(Debug, ToSchema)]
pub struct CreatedWebhook {
    /// The webhook.
    #[schema(inline)]
    #[serde(flatten)]
    pub object: WebhookObject,
    /// `whsec_` + base64 of 32 bytes: the Standard Webhooks HMAC-SHA256 key, shown once.
    pub secret: String,
}

/// Every webhook.
#[derive(Debug, ToSchema)]
pub struct WebhookList {
    /// The webhooks.
    pub items: Vec<WebhookObject>,
}

/// One delivery attempt.
#[derive(Debug, ToSchema)]
pub struct AttemptObject {
    /// 1, 2, ...
    pub attempt: u32,
    /// When (RFC 3339).
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub http_status: Option<u16>,
    /// The error class (`timeout`, `connect`, ...), if it did not.
    pub error: Option<String>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// When the next attempt is due, after a `retry`.
    pub next_attempt_at: Option<String>,
}

/// One event's delivery to a webhook, with every attempt.
#[derive(Debug, ToSchema)]
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
    pub next_attempt_at: Option<String>,
    /// When the event was enqueued (RFC 3339).
    pub created_at: String,
    /// The attempts, oldest first.
    pub attempts: Vec<AttemptObject>,
}

/// A webhook's newest deliveries.
#[derive(Debug, ToSchema)]
pub struct DeliveryList {
    /// The deliveries, newest first (at most 100).
    pub items: Vec<DeliveryObject>,
}

/// The webhook management routes: admin key only (routes outside the scope table of
/// [`vdc_http::auth::rule`] are), each call audited.
pub fn management_routes(webhooks: Webhooks, auth: Authenticator) -> Router {
    let (router, _) = management_api().split_for_parts();
    router
        .route_layer(middleware::from_fn_with_state(auth, management))
        .with_state(webhooks)
}

#[utoipa::path(
    post,
    path = API_WEBHOOKS,
    tag = TAG_WEBHOOKS,
    operation_id = "create_webhook",
    summary = "Subscribe a URL to events",
    description = "Needs the admin key.",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created; the secret is shown this once.", body = CreatedWebhook),
        (status = 400, description = "Invalid URL (https unless allow-listed), event or tenant.", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB.", body = ErrorBody),
        (status = 415, description = "Body is not `application/json`.", body = ErrorBody),
    ),
)]
/// `POST /api/v1/webhooks` → `201 {"id", "secret", ...}` (the secret is shown once).
async fn create(
    State(w): State<Webhooks>,
    AppJson(req): AppJson<CreateWebhook>,
) -> Result<Response, WebhookError> {
    let (record, secret) = w.create(req).await?;
    let mut body = view(&record);
    body["secret"] = Value::from(secret);
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    r.extensions_mut().insert(AuditTarget(record.id.clone()));
    Ok(r)
}

#[utoipa::path(
    get,
    path = API_WEBHOOKS,
    tag = TAG_WEBHOOKS,
    operation_id = "list_webhooks",
    summary = "List webhooks (without secrets)",
    description = "Needs the admin key.",
    responses(
        (status = 200, description = "Every webhook.", body = WebhookList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
    ),
)]
async fn list(State(w): State<Webhooks>) -> Result<Json<Value>, WebhookError> {
    let items: Vec<Value> = w.list().await?.iter().map(view).collect();
    Ok(Json(json!({ "items": items })))
}

#[utoipa::path(
    get,
    path = API_WEBHOOK,
    tag = TAG_WEBHOOKS,
    operation_id = "get_webhook",
    summary = "Read a webhook (without its secret)",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 200, description = "The webhook.", body = WebhookObject),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn get_one(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebhookError> {
    w.get(&id).await.map(|r| Json(view(&r)))
}

#[utoipa::path(
    delete,
    path = API_WEBHOOK,
    tag = TAG_WEBHOOKS,
    operation_id = "delete_webhook",
    summary = "Delete a webhook",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 204, description = "Deleted; its pending deliveries stop."),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn delete(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<StatusCode, WebhookError> {
    w.delete(&id).await.map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = API_WEBHOOK_DELIVERIES,
    tag = TAG_WEBHOOKS,
    operation_id = "list_webhook_deliveries",
    summary = "A webhook's deliveries and every attempt",
    description = "Needs the admin key.",
    params(
        ("id" = String, Path, description = "The webhook id."),
    ),
    responses(
        (status = 200, description = "The newest deliveries.", body = DeliveryList),
        (status = 401, description = "Missing or wrong API key.", body = ErrorBody),
        (status = 403, description = "Needs the admin key.", body = ErrorBody),
        (status = 404, description = "Unknown webhook.", body = ErrorBody),
    ),
)]
async fn deliveries(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<Json<Value>, WebhookError> {
    let items: Vec<Value> = w.deliveries(&id).await?.iter().map(delivery_view).collect();
    Ok(Json(json!({ "items": items })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A retention backlog larger than one round is cut into rounds (the loop comes back on
    /// its next tick); a kind kept forever is never touched; the cutoff is exact (R4).
    #[tokio::test]
    async fn a_retention_backlog_larger_than_a_round_is_left_for_the_next_round() {
        use vdc_store::{AuditEntry, AuditQuery};
        let dir = std::env::temp_dir().join(format!("vdc-retention-unit-{}", std::process::id()));
        let store = crate::open_store(&format!("sqlite://{}", dir.join("vdc.sqlite").display()))
            .await
            .unwrap();
        let now = UnixTime(1_800_000_000);
        for n in 0..8u64 {
            // Seven entries older than a day, one exactly a day old (kept).
            let at = if n == 7 {
                now.plus(-86_400)
            } else {
                now.plus(-86_401 - i64::try_from(n).unwrap())
            };
            store
                .append_audit(&AuditEntry {
                    id: vdc_store::access::audit_id(at, n),
                    at,
                    actor: "admin".into(),
                    actor_key_id: None,
                    action: "GET /api/v1/issuers".into(),
                    tenant: None,
                    target: None,
                    outcome: "200".into(),
                })
                .await
                .unwrap();
        }
        let left = || async {
            store
                .query_audit(&AuditQuery {
                    limit: 100,
                    ..AuditQuery::default()
                })
                .await
                .unwrap()
                .len()
        };
        let webhooks = |retention: RetentionSettings| {
            Webhooks::new(
                store.clone(),
                KeyEncryptionKey::from_bytes(&[7; 32]).unwrap(),
                &crate::Deps::default(),
                Fetcher::new(vdc_core::fetch::FetchPolicy::default()).unwrap(),
                WebhookSettings::default(),
                retention,
                Metrics::new(),
            )
            .unwrap()
        };
        let forever = webhooks(RetentionSettings {
            audit: None,
            batch: 2,
            ..RetentionSettings::default()
        });
        assert!(!forever.purge_retained(now).await);
        assert_eq!(left().await, 8, "0 days keeps everything");
        let w = webhooks(RetentionSettings {
            audit: RetentionSettings::days(1),
            batch: 2,
            batches_per_round: 2,
            ..RetentionSettings::default()
        });
        assert!(
            w.purge_retained(now).await,
            "7 old entries: 4 this round, more left"
        );
        assert_eq!(left().await, 4);
        assert!(!w.purge_retained(now).await, "3 left: done this round");
        assert_eq!(left().await, 1, "the entry exactly a day old stays");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn backoff_doubles_from_the_base_and_is_capped() {
        let s = WebhookSettings::default();
        assert_eq!(
            (1..=4).map(|n| s.backoff(n)).collect::<Vec<_>>(),
            vec![5, 10, 20, 40]
        );
        assert_eq!(s.backoff(40), MAX_BACKOFF);
    }

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
