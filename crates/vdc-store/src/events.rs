//! Domain events: what happened to a tenant's credentials and presentations, said once by
//! the service that did it, and heard by every [`EventSink`] the server composes (the audit
//! log, the webhook outbox).
//!
//! The contract ("Webhooks and audit") names the event types; an event carries ids and
//! statuses only, never claim values or secrets (G10), so any sink may persist or send it.
//!
//! Services emit after their state change committed, so a sink never reports something that
//! did not happen. A sink that cannot record an event logs it; the state change stands.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value};
use vdc_core::time::UnixTime;

/// The event types of the contract ("Webhooks and audit").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// A wallet redeemed an offer's pre-authorized code for an access token.
    OfferTokenIssued,
    /// A credential was issued (one event per credential).
    CredentialIssued,
    /// A credential was revoked, suspended or reinstated.
    CredentialStatusChanged,
    /// A presentation passed every check.
    PresentationVerified,
    /// A presentation failed a check, or the wallet answered with an error.
    PresentationRejected,
    /// A presentation request expired unanswered.
    PresentationExpired,
}

impl EventKind {
    /// Every kind, in contract order.
    pub const ALL: [Self; 6] = [
        Self::OfferTokenIssued,
        Self::CredentialIssued,
        Self::CredentialStatusChanged,
        Self::PresentationVerified,
        Self::PresentationRejected,
        Self::PresentationExpired,
    ];

    /// The contract's name (`offer.token_issued`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OfferTokenIssued => "offer.token_issued",
            Self::CredentialIssued => "credential.issued",
            Self::CredentialStatusChanged => "credential.status_changed",
            Self::PresentationVerified => "presentation.verified",
            Self::PresentationRejected => "presentation.rejected",
            Self::PresentationExpired => "presentation.expired",
        }
    }

    /// The kind a contract name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

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

/// One domain event.
#[derive(Debug, Clone, PartialEq)]
pub struct DomainEvent {
    /// What happened.
    pub kind: EventKind,
    /// Whose it is.
    pub tenant: EventTenant,
    /// Who caused it: `wallet` for protocol steps, the caller's name for management actions
    /// (`admin`, or an API key's name), `system` for expiry.
    pub actor: String,
    /// The object it happened to: an offer, credential or presentation request id.
    pub target: String,
    /// A short result (`issued`, `revoked`, `verified`, a rejection reason, ...).
    pub outcome: String,
    /// When (the service's clock).
    pub at: UnixTime,
    /// Ids and statuses for webhook payloads; never claim values or secrets.
    pub data: Map<String, Value>,
}

/// Hears domain events. Object safe; implementations must not fail the caller.
#[async_trait]
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// Records or forwards one event. Failures are the sink's to log.
    async fn emit(&self, event: &DomainEvent);
}

/// A sink that hears nothing (services built without one).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

#[async_trait]
impl EventSink for NoEvents {
    async fn emit(&self, _event: &DomainEvent) {}
}

/// Several sinks, each hearing every event in order.
#[derive(Debug, Clone, Default)]
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

#[async_trait]
impl EventSink for FanOut {
    async fn emit(&self, event: &DomainEvent) {
        for sink in &self.0 {
            sink.emit(event).await;
        }
    }
}

/// The shared handle services keep.
pub type Events = Arc<dyn EventSink>;

/// A sink that keeps every event in memory, for tests of the emitting services.
#[derive(Debug, Default)]
pub struct RecordedEvents(std::sync::Mutex<Vec<DomainEvent>>);

impl RecordedEvents {
    /// The events heard so far.
    pub fn take(&self) -> Vec<DomainEvent> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

#[async_trait]
impl EventSink for RecordedEvents {
    async fn emit(&self, event: &DomainEvent) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip_and_are_the_contracts() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(
            EventKind::ALL.map(EventKind::as_str),
            [
                "offer.token_issued",
                "credential.issued",
                "credential.status_changed",
                "presentation.verified",
                "presentation.rejected",
                "presentation.expired",
            ]
        );
        assert_eq!(EventKind::parse("credential.revoked"), None);
    }

    #[tokio::test]
    async fn fan_out_reaches_every_sink_in_order() {
        let a = Arc::new(RecordedEvents::default());
        let b = Arc::new(RecordedEvents::default());
        let fan = FanOut(vec![a.clone(), b.clone()]);
        let e = DomainEvent {
            kind: EventKind::CredentialIssued,
            tenant: EventTenant::Issuer("acme".into()),
            actor: "wallet".into(),
            target: "c1".into(),
            outcome: "issued".into(),
            at: UnixTime(1),
            data: Map::new(),
        };
        fan.emit(&e).await;
        assert_eq!(a.take(), vec![e.clone()]);
        assert_eq!(b.take(), vec![e]);
    }
}
