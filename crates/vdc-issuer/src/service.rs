//! The [`Issuer`] service: state shared by every endpoint, and the tenant lookups.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use vdc_core::jose::Signer;
use vdc_core::rng::RandomSource;
use vdc_core::time::{Clock, UnixTime};
use vdc_store::{IssuanceStore, KeyRing};

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};

/// Lifetimes and limits of the issuance protocol.
#[derive(Debug, Clone)]
pub struct IssuerSettings {
    /// Access token lifetime, seconds.
    pub access_token_ttl: i64,
    /// `c_nonce` lifetime, seconds.
    pub c_nonce_ttl: i64,
    /// How old a key proof's `iat` may be, seconds.
    pub proof_max_age: i64,
    /// Allowed clock skew, seconds (R4).
    pub skew: i64,
    /// Wrong `tx_code`s after which a pre-authorized code is dead.
    pub max_tx_code_failures: u32,
    /// How long a deferred `transaction_id` stays redeemable, seconds.
    pub deferred_ttl: i64,
    /// The `interval` wallets are told to wait before polling, seconds.
    pub deferred_interval: i64,
    /// How long a `notification_id` is accepted, seconds.
    pub notification_ttl: i64,
    /// Offer lifetime when the request names none, seconds.
    pub default_offer_ttl: i64,
    /// How long a pushed authorization request's `request_uri` works, seconds (RFC 9126
    /// §2.2: below 600).
    pub par_ttl: i64,
    /// How long a login at the identity provider may take, seconds.
    pub login_ttl: i64,
    /// Authorization code lifetime, seconds (at most 60).
    pub authorization_code_ttl: i64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_ttl: i64,
    /// Time allowed for an issuer's `claims_endpoint` to answer (connect, answer and body):
    /// for all of one login's calls together, and for each call of the deferred endpoint. A
    /// slower back end fails the login with `server_error`.
    pub claims_endpoint_timeout: std::time::Duration,
    /// Whether an issuer created without `haip` runs in HAIP 1.0 mode (`VDC_HAIP`).
    pub haip_default: bool,
}

impl Default for IssuerSettings {
    fn default() -> Self {
        Self {
            access_token_ttl: 600,
            c_nonce_ttl: 300,
            proof_max_age: 300,
            skew: vdc_core::time::DEFAULT_SKEW_SECS,
            max_tx_code_failures: 5,
            deferred_ttl: 7 * 24 * 3600,
            deferred_interval: 5,
            notification_ttl: 30 * 24 * 3600,
            default_offer_ttl: 600,
            par_ttl: 60,
            login_ttl: 600,
            authorization_code_ttl: 60,
            refresh_token_ttl: 14 * 24 * 3600,
            claims_endpoint_timeout: std::time::Duration::from_secs(5),
            haip_default: false,
        }
    }
}

/// The issuer service. Cheap to clone; all state lives in the store (definitions and
/// decrypted keys are cached, and reloaded from the store on a miss, so many instances can
/// serve one deployment).
#[derive(Clone)]
pub struct Issuer {
    pub(crate) store: Arc<dyn IssuanceStore>,
    pub(crate) keys: KeyRing,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rng: Arc<dyn RandomSource>,
    pub(crate) public_url: String,
    pub(crate) settings: IssuerSettings,
    pub(crate) status: Option<vdc_status::StatusService>,
    pub(crate) metrics: vdc_http::metrics::Metrics,
    pub(crate) events: vdc_store::events::Events,
    pub(crate) authorization: Option<Arc<crate::authorization::AuthorizationDeps>>,
    /// Definitions by slug, with when they were read: reread after
    /// [`DEFINITION_CACHE_TTL`], so a change made through another instance (`PATCH`) is
    /// served here within that bound.
    definitions: Arc<RwLock<HashMap<String, CachedDefinition>>>,
}

/// A definition and when it was read from the store.
type CachedDefinition = (Arc<IssuerDefinition>, Instant);

/// How long an instance serves a cached issuer definition before rereading it: the bound on
/// how stale another instance's view of a `PATCH` can be (the instance that served the
/// `PATCH` sees it at once). One read per tenant per period keeps issuance free of a store
/// read per request (issue 11).
pub const DEFINITION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// An issuer service over `store`, signing with the tenants' keys in `keys`, publishing
    /// identifiers under `public_url`.
    pub fn new(
        store: Arc<dyn IssuanceStore>,
        keys: KeyRing,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        public_url: &str,
        settings: IssuerSettings,
    ) -> Self {
        Self {
            store,
            keys,
            clock,
            rng,
            public_url: public_url.trim_end_matches('/').to_owned(),
            settings,
            status: None,
            metrics: vdc_http::metrics::Metrics::default(),
            events: Arc::new(vdc_store::events::NoEvents),
            authorization: None,
            definitions: Arc::new(RwLock::new(HashMap::new())),
        }
    }

    /// Gives every credential issued from now on a status list entry, allocated by
    /// `status` (revocation and suspension). Without it credentials carry no status.
    pub fn with_status(mut self, status: vdc_status::StatusService) -> Self {
        self.status = Some(status);
        self
    }

    /// Counts issued credentials in `metrics` (by default, a registry nobody reads).
    pub fn with_metrics(mut self, metrics: vdc_http::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Tells `events` of token and credential issuance (by default, nobody).
    pub fn with_events(mut self, events: vdc_store::events::Events) -> Self {
        self.events = events;
        self
    }

    /// Serves the authorization code flow (and DPoP, refresh tokens) from `store`, logging
    /// users in at the issuers' identity providers through `fetcher` (the outbound policy,
    /// G7). Without it only the pre-authorized code grant works, with Bearer tokens.
    pub fn with_authorization(
        mut self,
        store: Arc<dyn vdc_store::AuthorizationStore>,
        fetcher: vdc_core::fetch::Fetcher,
    ) -> Self {
        self.authorization = Some(Arc::new(crate::authorization::AuthorizationDeps::new(
            store, fetcher,
        )));
        self
    }

    /// Bounds each call of an issuer's claims endpoint by `timeout` (default 5 s).
    pub fn with_claims_endpoint_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.settings.claims_endpoint_timeout = timeout;
        self
    }

    /// Whether issuers created without `haip` run in HAIP 1.0 mode (`VDC_HAIP`).
    pub fn with_haip_default(mut self, haip: bool) -> Self {
        self.settings.haip_default = haip;
        self
    }

    /// The authorization code flow's store.
    pub(crate) fn authorizations(&self) -> Result<&dyn vdc_store::AuthorizationStore> {
        self.authorization
            .as_ref()
            .map(|a| a.store.as_ref())
            .ok_or_else(|| {
                IssuerError::Internal("the authorization code flow is not composed".into())
            })
    }

    /// One event of `issuer_id` caused by the wallet, stamped now.
    pub(crate) fn event(
        &self,
        kind: vdc_store::events::EventKind,
        issuer_id: &str,
        target: &str,
        outcome: &str,
        data: serde_json::Map<String, serde_json::Value>,
    ) -> vdc_store::events::DomainEvent {
        vdc_store::events::DomainEvent {
            kind,
            tenant: vdc_store::events::EventTenant::Issuer(issuer_id.to_owned()),
            actor: "wallet".to_owned(),
            target: target.to_owned(),
            outcome: outcome.to_owned(),
            at: self.clock.now(),
            data,
        }
    }

    /// What the sinks keep of `events`, for the transaction of the change they record.
    pub(crate) fn outbox(&self, events: &[vdc_store::events::DomainEvent]) -> vdc_store::Outbox {
        vdc_store::events::stage(self.events.as_ref(), events)
    }

    /// Loads (and caches) the current signer of every issuer, proving the KEK decrypts the
    /// stored keys. Returns how many issuers were checked.
    pub async fn check_signing_keys(&self) -> Result<usize> {
        let issuers = self.store.list_issuers().await?;
        for record in &issuers {
            self.signer(&record.id).await?;
        }
        Ok(issuers.len())
    }

    /// The tenant's current signing key; every tenant has one from its creation on.
    pub(crate) async fn signer(&self, issuer_id: &str) -> Result<Arc<dyn Signer>> {
        self.keys
            .signer(issuer_id)
            .await?
            .ok_or_else(|| IssuerError::Internal(format!("issuer {issuer_id} has no signing key")))
    }

    /// The credential issuer identifier of a tenant: `{public_url}/issuers/{issuer}`.
    pub fn issuer_url(&self, issuer_id: &str) -> String {
        vdc_http::tenant_url::issuer_url(&self.public_url, issuer_id)
    }

    /// The public base URL.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub(crate) fn random_b64(&self, n: usize) -> Result<String> {
        vdc_core::rng::random_b64(self.rng.as_ref(), n)
            .map_err(|e| IssuerError::Internal(e.to_string()))
    }

    /// The tenant's definition; `None` for an unknown (or malformed) slug.
    pub(crate) async fn definition(
        &self,
        issuer_id: &str,
    ) -> Result<Option<Arc<IssuerDefinition>>> {
        if !crate::definition::is_slug(issuer_id) {
            return Ok(None);
        }
        if let Some((d, read_at)) = self
            .definitions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(issuer_id)
            && read_at.elapsed() < DEFINITION_CACHE_TTL
        {
            return Ok(Some(d.clone()));
        }
        let Some(record) = self.store.get_issuer(issuer_id).await? else {
            return Ok(None);
        };
        let def: IssuerDefinition = serde_json::from_value(record.config).map_err(|e| {
            IssuerError::Internal(format!("stored issuer definition unreadable: {e}"))
        })?;
        let def = Arc::new(def);
        self.remember(def.clone());
        Ok(Some(def))
    }

    pub(crate) fn remember(&self, def: Arc<IssuerDefinition>) {
        self.definitions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(def.id.clone(), (def, Instant::now()));
    }

    /// The definition for a wallet-facing (protocol) endpoint: `not_found` for an unknown
    /// or a disabled issuer (contract-next "Managing tenants": disabled tenants are `404`
    /// to wallets; the management API still reads them).
    pub(crate) async fn wallet_definition(&self, issuer_id: &str) -> Result<Arc<IssuerDefinition>> {
        self.definition(issuer_id)
            .await?
            .filter(|d| !d.disabled)
            .ok_or_else(|| IssuerError::NotFound(format!("no issuer {issuer_id}")))
    }

    /// The definition, or `not_found` (management API).
    pub(crate) async fn require(&self, issuer_id: &str) -> Result<Arc<IssuerDefinition>> {
        self.definition(issuer_id)
            .await?
            .ok_or_else(|| IssuerError::NotFound(format!("no issuer {issuer_id}")))
    }
}
