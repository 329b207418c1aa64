//! The [`Verifier`] service: its settings and dependencies, the state every part shares
//! (caches of verifier records, pending requests and issuer-key policies) and the helpers
//! the tenant, request and response parts use. Verifier tenants live in `tenant`,
//! presentation requests in `request`, the response endpoint in `response`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use vdc_core::fetch::Fetcher;
use vdc_core::jose::AlgorithmPolicy;
use vdc_core::rng::RandomSource;
use vdc_core::time::{Clock, UnixTime};
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_store::{PresentationRequestRecord, PresentationStore, SecretHash, VerifierRecord};

use crate::error::Result;
use crate::trust::{DeploymentKeyResolver, LocalIssuers};
use vdc_status::StatusChecker;

/// Settings of the verifier service.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// How old a KB-JWT's `iat` may be, seconds.
    pub kb_max_age_secs: i64,
    /// Signature algorithms accepted for credentials and KB-JWTs (G4).
    pub policy: AlgorithmPolicy,
    /// Whether a verifier created without `haip` runs in HAIP 1.0 mode (the server-wide
    /// default, `VDC_HAIP`; contract-next "HAIP mode"); default false.
    pub haip_default: bool,
}

impl Default for VerifierSettings {
    fn default() -> Self {
        Self {
            kb_max_age_secs: 300,
            policy: AlgorithmPolicy::default(),
            haip_default: false,
        }
    }
}

/// What the service depends on.
#[derive(Debug, Clone)]
pub struct VerifierDeps {
    /// The store.
    pub store: Arc<dyn PresentationStore>,
    /// The deployment's keys: its key-encryption key seals this service's private keys.
    pub keys: vdc_store::KeyRing,
    /// This deployment's issuers.
    pub local_issuers: Arc<dyn LocalIssuers>,
    /// Credential status.
    pub status: Arc<dyn StatusChecker>,
    /// The hardened fetcher for foreign issuer metadata (none: foreign issuers only by
    /// local keys).
    pub fetcher: Option<Fetcher>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub rng: Arc<dyn RandomSource>,
}

/// The verifier service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub(crate) deps: VerifierDeps,
    pub(crate) public_url: Arc<str>,
    pub(crate) settings: Arc<VerifierSettings>,
    pub(crate) metrics: vdc_http::metrics::Metrics,
    pub(crate) events: vdc_store::events::Events,
    /// Each verifier's issuer-key policy, kept so fetched foreign metadata stays cached,
    /// with the trust settings (trusted issuers, anchors) it was built from.
    pub(crate) resolvers: Arc<Mutex<HashMap<String, CachedResolver>>>,
    /// Verifier records with when they were read: reread after [`RECORD_CACHE_TTL`], so
    /// requests need no read of them (issue 11) and a `PATCH` through another instance is
    /// served here within that bound.
    pub(crate) records: Arc<Mutex<HashMap<String, CachedRecord>>>,
    /// Each verifier's request-signing keys, opened, with the ciphertext they came from (so
    /// a rotation anywhere is seen as soon as the record is reread).
    pub(crate) opened_keys: Arc<Mutex<HashMap<String, OpenedKeys>>>,
    /// Request-signing keys, open (parsed, or found in their PKCS#11 token), by `kid` (their
    /// RFC 7638 thumbprint): a request object costs one signature, not a key parse.
    pub(crate) signers: Arc<Mutex<HashMap<String, Arc<dyn vdc_core::jose::Signer>>>>,
    /// Pending requests this instance created, so the request object and the response that
    /// follow need no read of them (issue 11). What a pending request holds does not change;
    /// whether it is still pending is decided by the store's conditional update when it
    /// ends, so a stale entry can never end a request twice.
    pending: Arc<Mutex<PendingRequests>>,
}

/// A verifier's trusted issuers and trust anchors.
pub(crate) type TrustSettings = (Vec<String>, Vec<String>);
/// An issuer-key policy and the trust settings it was built from.
pub(crate) type CachedResolver = (TrustSettings, Arc<DeploymentKeyResolver>);
/// A verifier's sealed keys and what they open to.
pub(crate) type OpenedKeys = (Vec<u8>, Arc<crate::keys::Keys>);
/// A verifier record and when it was read.
pub(crate) type CachedRecord = (Arc<VerifierRecord>, std::time::Instant);

/// How long an instance serves a cached verifier record before rereading it: the bound on
/// how stale another instance's view of a `PATCH` can be (the instance that served the
/// `PATCH` sees it at once).
pub const RECORD_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// The most pending requests [`Verifier`] keeps in memory (then it drops the expired ones,
/// and if that is not enough, all: they are read from the store instead).
const MAX_CACHED_PENDING: usize = 10_000;

/// Pending requests by (verifier, request id), with an index by (verifier, state hash).
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    by_id: HashMap<(String, String), Arc<PresentationRequestRecord>>,
    by_state: HashMap<(String, SecretHash), String>,
}

impl PendingRequests {
    pub(crate) fn insert(&mut self, record: &PresentationRequestRecord, now: UnixTime) {
        if self.by_id.len() >= MAX_CACHED_PENDING {
            self.by_id.retain(|_, r| r.expires_at > now);
            let ids: std::collections::HashSet<&String> =
                self.by_id.keys().map(|(_, id)| id).collect();
            self.by_state.retain(|_, id| ids.contains(id));
            if self.by_id.len() >= MAX_CACHED_PENDING {
                self.by_id.clear();
                self.by_state.clear();
            }
        }
        let key = (record.verifier_id.clone(), record.request_id.clone());
        self.by_state.insert(
            (record.verifier_id.clone(), record.state_hash),
            record.request_id.clone(),
        );
        self.by_id.insert(key, Arc::new(record.clone()));
    }

    fn by_id(&self, verifier: &str, id: &str) -> Option<Arc<PresentationRequestRecord>> {
        self.by_id
            .get(&(verifier.to_owned(), id.to_owned()))
            .cloned()
    }

    fn by_state(
        &self,
        verifier: &str,
        state: &SecretHash,
    ) -> Option<Arc<PresentationRequestRecord>> {
        let id = self.by_state.get(&(verifier.to_owned(), *state))?;
        self.by_id(verifier, id)
    }

    fn remove(&mut self, verifier: &str, id: &str) {
        if let Some(r) = self.by_id.remove(&(verifier.to_owned(), id.to_owned())) {
            self.by_state.remove(&(verifier.to_owned(), r.state_hash));
        }
    }
}

/// A time as RFC 3339 (the management answers' timestamps).
pub(crate) fn rfc3339(t: UnixTime) -> String {
    format_date_time_stamp(t)
}

/// Attacker text, bounded and printable, for descriptions and stored errors.
pub(crate) fn bounded(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(120).collect()
}

impl Verifier {
    /// Encrypts `plaintext` under the deployment's KEK, bound to `context`.
    pub(crate) fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>> {
        Ok(self
            .deps
            .keys
            .kek()
            .seal(plaintext, context, self.deps.rng.as_ref())?)
    }

    /// Decrypts what [`Self::seal`] produced for the same `context`.
    pub(crate) fn open(&self, sealed: &[u8], context: &str) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        Ok(self.deps.keys.kek().open(sealed, context)?)
    }

    /// A verifier service publishing under `public_url`.
    pub fn new(deps: VerifierDeps, public_url: &str, settings: VerifierSettings) -> Self {
        Self {
            deps,
            public_url: public_url.trim_end_matches('/').into(),
            settings: Arc::new(settings),
            metrics: vdc_http::metrics::Metrics::default(),
            events: Arc::new(vdc_store::events::NoEvents),
            resolvers: Arc::new(Mutex::new(HashMap::new())),
            records: Arc::new(Mutex::new(HashMap::new())),
            opened_keys: Arc::new(Mutex::new(HashMap::new())),
            signers: Arc::new(Mutex::new(HashMap::new())),
            pending: Arc::new(Mutex::new(PendingRequests::default())),
        }
    }

    pub(crate) fn pending(&self) -> std::sync::MutexGuard<'_, PendingRequests> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A pending request by id: from memory if this instance created it, else the store.
    pub(crate) async fn pending_by_id(
        &self,
        verifier: &str,
        id: &str,
    ) -> Result<Option<PresentationRequestRecord>> {
        if let Some(r) = self.pending().by_id(verifier, id) {
            return Ok(Some((*r).clone()));
        }
        Ok(self
            .deps
            .store
            .get_presentation_request(verifier, id)
            .await?)
    }

    /// A pending request by the hash of its `state`: from memory if this instance created
    /// it, else the store.
    pub(crate) async fn pending_by_state(
        &self,
        verifier: &str,
        state: &SecretHash,
    ) -> Result<Option<PresentationRequestRecord>> {
        if let Some(r) = self.pending().by_state(verifier, state) {
            return Ok(Some((*r).clone()));
        }
        Ok(self
            .deps
            .store
            .find_presentation_request_by_state(verifier, state)
            .await?)
    }

    /// Forgets a request this instance ended.
    pub(crate) fn ended(&self, verifier: &str, id: &str) {
        self.pending().remove(verifier, id);
    }

    /// Counts verified and rejected presentations in `metrics` (by default, a registry nobody
    /// reads).
    pub fn with_metrics(mut self, metrics: vdc_http::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Whether verifiers created without `haip` run in HAIP 1.0 mode (`VDC_HAIP`).
    pub fn with_haip_default(mut self, haip: bool) -> Self {
        let mut settings = self.settings.as_ref().clone();
        settings.haip_default = haip;
        self.settings = Arc::new(settings);
        self
    }

    /// Tells `events` of every presentation outcome (by default, nobody).
    pub fn with_events(mut self, events: vdc_store::events::Events) -> Self {
        self.events = events;
        self
    }

    /// One event of `verifier` about presentation request `request_id`, stamped now.
    pub(crate) fn event(
        &self,
        kind: vdc_store::events::EventKind,
        verifier: &str,
        request_id: &str,
        outcome: &str,
        actor: &str,
    ) -> vdc_store::events::DomainEvent {
        let mut data = Map::new();
        data.insert("request_id".into(), Value::from(request_id));
        data.insert("status".into(), Value::from(outcome));
        vdc_store::events::DomainEvent {
            kind,
            tenant: vdc_store::events::EventTenant::Verifier(verifier.to_owned()),
            actor: actor.to_owned(),
            target: request_id.to_owned(),
            outcome: outcome.to_owned(),
            at: self.deps.clock.now(),
            data,
        }
    }

    /// What the sinks keep of `events`, for the transaction of the change they record.
    pub(crate) fn outbox(&self, events: &[vdc_store::events::DomainEvent]) -> vdc_store::Outbox {
        vdc_store::events::stage(self.events.as_ref(), events)
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.deps.clock.now()
    }

    /// The response URI of a verifier (OID4VP 1.0 §8.2).
    pub fn response_uri(&self, verifier: &str) -> String {
        format!("{}/verifiers/{verifier}/response", self.public_url)
    }

    /// The request URI of a presentation request.
    pub fn request_uri(&self, verifier: &str, id: &str) -> String {
        format!(
            "{}/verifiers/{verifier}/requests/{id}/request.jwt",
            self.public_url
        )
    }
}
