//! Domain events: what happened to a tenant's credentials and presentations, said once by
//! the service that did it, and heard by every [`EventSink`] the server composes (the audit
//! log, the webhook outbox).
//!
//! The contract ("Webhooks and audit") names the event types; an event carries ids and
//! statuses only, never claim values or secrets (G10), so any sink may persist or send it.
//!
//! Transactional outbox: a service *stages* its events before the state change, each sink
//! adding what it keeps of them to an [`Outbox`] (audit entries, webhook events), and the
//! store writes that outbox in the change's own transaction. So an event is recorded exactly
//! when its change commits: never for a change that did not happen, never lost for one that
//! did, and without a commit of its own. After the commit the service tells the sinks
//! ([`EventSink::committed`]), e.g. to wake the webhook dispatcher.

use std::sync::Arc;

use serde_json::{Map, Value};
use vdc_core::time::UnixTime;

use crate::audit::AuditEntry;
pub use crate::tenant::EventTenant;

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

/// One event as the webhook outbox keeps it: the store inserts one delivery row per
/// subscription that matches it ([`Self::matches`]), inside the transaction that writes it,
/// so subscriptions are read by that transaction and never by a separate query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The event id (the body's `id`).
    pub event_id: String,
    /// The delivery id (Standard Webhooks `webhook-id`), the same for every subscription
    /// (a delivery's key is the subscription and this id).
    pub delivery_id: String,
    /// The event type name.
    pub event_type: String,
    /// Whose event it is (subscriptions filter on it).
    pub tenant: EventTenant,
    /// The exact body to send (JSON text).
    pub payload: String,
    /// When it was staged (and first due).
    pub created_at: UnixTime,
}

impl OutboxEvent {
    /// Whether a subscription with these `events` and tenant filters wants this event: the
    /// type is subscribed and the tenant passes the filters (a webhook with `issuers` gets
    /// only those issuers' events, with `verifiers` only those verifiers', with neither every
    /// tenant's). The backends say the same in SQL; the contract suite checks they agree.
    pub fn matches(
        &self,
        events: &[String],
        issuers: Option<&[String]>,
        verifiers: Option<&[String]>,
    ) -> bool {
        if !events.contains(&self.event_type) {
            return false;
        }
        if issuers.is_none() && verifiers.is_none() {
            return true;
        }
        let within =
            |list: Option<&[String]>, id: &str| list.is_some_and(|l| l.iter().any(|x| x == id));
        match &self.tenant {
            EventTenant::Issuer(id) => within(issuers, id),
            EventTenant::Verifier(id) => within(verifiers, id),
        }
    }
}

/// What a state change writes beside itself, in its own transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    /// Audit log entries.
    pub audit: Vec<AuditEntry>,
    /// Events for the webhook subscriptions.
    pub events: Vec<OutboxEvent>,
}

impl Outbox {
    /// An outbox that writes nothing.
    pub const EMPTY: Self = Self {
        audit: Vec::new(),
        events: Vec::new(),
    };

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.events.is_empty()
    }

    /// An outbox holding one audit entry.
    pub fn audit(entry: AuditEntry) -> Self {
        Self {
            audit: vec![entry],
            events: Vec::new(),
        }
    }
}

/// The outbox of one of several rows a statement changes (`verifier_id`, `request_id`), for
/// store methods that learn the rows only as they change them (the expiry sweep).
pub type OutboxOf<'f> = dyn Fn(&str, &str) -> Outbox + Send + Sync + 'f;

/// The outbox of a change to an offer that the store finds by a secret (the token
/// endpoint's redemption): made from the offer once the statement has it.
pub type OfferOutbox<'f> = dyn Fn(&crate::OfferRecord) -> Outbox + Send + Sync + 'f;

/// Hears domain events. Object safe; implementations must not fail the caller.
pub trait EventSink: Send + Sync + std::fmt::Debug {
    /// Adds what this sink keeps of `event` to `outbox`, before the change is written. A sink
    /// that cannot (no randomness) logs it and adds nothing: the change stands.
    fn stage(&self, event: &DomainEvent, outbox: &mut Outbox);
    /// Hears that a transaction committed with the outbox staged for `events`.
    fn committed(&self, _events: &[DomainEvent]) {}
}

/// The outbox of `events`, staged by `sink`.
pub fn stage(sink: &dyn EventSink, events: &[DomainEvent]) -> Outbox {
    let mut outbox = Outbox::default();
    for e in events {
        sink.stage(e, &mut outbox);
    }
    outbox
}

/// A sink that hears nothing (services built without one).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn stage(&self, _event: &DomainEvent, _outbox: &mut Outbox) {}
}

/// Several sinks, each hearing every event in order.
#[derive(Debug, Clone, Default)]
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

impl EventSink for FanOut {
    fn stage(&self, event: &DomainEvent, outbox: &mut Outbox) {
        for sink in &self.0 {
            sink.stage(event, outbox);
        }
    }

    fn committed(&self, events: &[DomainEvent]) {
        for sink in &self.0 {
            sink.committed(events);
        }
    }
}

/// The shared handle services keep.
pub type Events = Arc<dyn EventSink>;

/// A sink that keeps every committed event in memory, for tests of the emitting services.
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

impl EventSink for RecordedEvents {
    fn stage(&self, _event: &DomainEvent, _outbox: &mut Outbox) {}

    fn committed(&self, events: &[DomainEvent]) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(events.iter().cloned());
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

    #[test]
    fn fan_out_reaches_every_sink_in_order() {
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
        assert!(stage(&fan, std::slice::from_ref(&e)).is_empty());
        fan.committed(std::slice::from_ref(&e));
        assert_eq!(a.take(), vec![e.clone()]);
        assert_eq!(b.take(), vec![e]);
    }
}
