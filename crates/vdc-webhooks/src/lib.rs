//! vdc-webhooks (issue 6 item 3; contract "Webhooks and audit"): subscriptions, the durable
//! outbox and the dispatcher of signed deliveries.
//!
//! Layout:
//! - [`service`]: [`Webhooks`], the service and [`vdc_store::events::EventSink`]: each domain
//!   event becomes one delivery row per matching webhook in the change's own transaction.
//!   Its answers are the routes' schemas: [`WebhookObject`], [`CreatedWebhook`],
//!   [`WebhookList`], [`DeliveryObject`] (with its [`AttemptObject`]s), [`DeliveryList`].
//! - [`dispatch`]: [`Webhooks::dispatch_due`] claims due deliveries under a lease and POSTs
//!   them signed ([`sign`], Standard Webhooks), with exponential backoff on the injected
//!   clock. The loop that calls it (with the other periodic work of a deployment) is the
//!   binary's; [`Webhooks::woken`] and [`Webhooks::refresh_subscriptions`] are its hooks.
//! - [`settings`]: [`WebhookSettings`], retries, timeouts and leases.
//! - [`http`]: [`management_routes`] (`/api/v1/webhooks`, admin key only) and the one HTTP
//!   mapping of [`WebhookError`].
//! - [`error`]: [`WebhookError`], the one error of this crate.
//!
//! Invariants: G10 (bodies carry ids and statuses only, never claim values; the secret is
//! never logged or listed), R4 (due times come from the injected clock). Deliveries are rows,
//! so they survive a restart.

pub mod dispatch;
pub mod error;
pub mod http;
pub mod service;
pub mod settings;

pub use dispatch::sign;
pub use error::WebhookError;
pub use http::{API_WEBHOOK, API_WEBHOOK_DELIVERIES, API_WEBHOOKS, management_routes, openapi};
pub use service::{
    AttemptObject, CreateWebhook, CreatedWebhook, DeliveryList, DeliveryObject, WebhookList,
    WebhookObject, Webhooks,
};
pub use settings::WebhookSettings;
