//! The issuer-side status service: allocating indexes, changing statuses, and publishing
//! lists as signed tokens ([`StatusService`] over an `Arc<dyn StatusStore>`).
//!
//! Publication: every fetch reads the list's version (one indexed row); a signed token is
//! cached per (list, version) and re-signed only when the version moved or the cached
//! token is older than `ttl`. Versions follow commit order (see `vdc_store::status`), so a
//! token is never older than the latest committed change (G9) and unchanged lists are not
//! re-signed per request.
//!
//! Allocation: `allocation_probes` random candidates among `size` (from the injected RNG);
//! one of those the store reports free is signed into the credential and inserted under the
//! primary key by the issuance transaction itself. When every candidate is taken the list is
//! treated as nearly full, sealed, and the next list opened (no counter row anywhere).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use vdc_core::jose::Signer;
use vdc_core::rng::RandomSource;
use vdc_core::time::{Clock, UnixTime};
use vdc_store::{
    CredentialStatus, IssuedCredentialRecord, KeyRing, StatusChange, StatusChangeOutcome,
    StatusListEntry, StatusListRecord, StatusListSnapshot, StatusStore, StoreError, StoreErrorKind,
};

use crate::bitstring::{BitstringStatusList, BitstringStatusListCredential, StatusPurpose};
use crate::cwt::{STATUS_LIST_CWT_MEDIA_TYPE, sign_status_list_cwt};
use crate::status_list::{DEFAULT_LEVEL, INVALID, SUSPENDED, StatusList};
use crate::token::sign_status_list_token;

/// How status lists are shaped and published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSettings {
    /// Entries per list (herd privacy: at least 131,072, the W3C minimum).
    pub list_size: u64,
    /// Bits per entry: 2 (0 valid, 1 revoked, 2 suspended).
    pub bits: u8,
    /// `ttl` of published tokens, seconds: how long relying parties may cache them, and how
    /// old a cached signed token may get before it is signed again.
    pub ttl: i64,
    /// `exp - iat` of published tokens, seconds.
    pub token_lifetime: i64,
    /// ZLIB/GZIP compression level (0-9).
    pub compression_level: u32,
    /// Taken random candidates in a row after which a list counts as nearly full.
    pub allocation_probes: usize,
}

impl Default for StatusSettings {
    fn default() -> Self {
        Self {
            list_size: crate::bitstring::MIN_BITSTRING_ENTRIES as u64,
            bits: 2,
            ttl: 300,
            token_lifetime: 24 * 3600,
            compression_level: DEFAULT_LEVEL,
            allocation_probes: 16,
        }
    }
}

impl StatusSettings {
    /// Checks the settings: `bits` 2, 4 or 8 (suspension needs 2), `list_size` between
    /// 131,072 and 16 Mi entries, positive `ttl` and lifetime, level 0-9, probes 1-64.
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.bits, 2 | 4 | 8) {
            return Err("status lists need bits 2, 4 or 8 (suspension uses the value 2)".into());
        }
        let min = crate::bitstring::MIN_BITSTRING_ENTRIES as u64;
        if !(min..=(16 << 20)).contains(&self.list_size) {
            return Err(format!(
                "status list size must be {min} to 16777216 entries"
            ));
        }
        if self.ttl <= 0 || self.token_lifetime <= self.ttl {
            return Err("ttl must be positive and shorter than the token lifetime".into());
        }
        if self.compression_level > 9 {
            return Err("compression level must be 0-9".into());
        }
        if !(1..=64).contains(&self.allocation_probes) {
            return Err("allocation probes must be 1-64".into());
        }
        Ok(())
    }
}

/// Why a status service operation failed; `http` maps each variant to one status and code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Bad input (a malformed `time`, an unknown status value, a repeated id).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// The issuer, list or credential does not exist for this tenant, or the requested
    /// time lies outside the list's life.
    #[error("not_found: {0}")]
    NotFound(String),
    /// The change conflicts with the state: the credential is revoked (final).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store failed (an outage answers 503, anything else 500).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Signing or encoding failed; details are logged only.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<crate::Error> for ServiceError {
    fn from(e: crate::Error) -> Self {
        Self::Internal(e.to_string())
    }
}

/// A signed token ready to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedToken {
    /// The compact JWS.
    pub token: Arc<str>,
    /// Its strong entity tag, quoted (`"…"`): a digest of the token bytes.
    pub etag: String,
    /// Seconds relying parties may cache it (`Cache-Control: max-age`).
    pub max_age: i64,
}

/// A signed Status List Token in CWT format ready to serve (draft-ietf-oauth-status-list
/// §5.2, §8.2: the body is the token's binary encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCwt {
    /// The `COSE_Sign1_Tagged` bytes.
    pub cwt: Arc<[u8]>,
    /// Its strong entity tag, quoted: the media type and a digest of the bytes, so it never
    /// equals the JWT representation's (RFC 9110 §8.8.3: one tag per representation).
    pub etag: String,
    /// Seconds relying parties may cache it (`Cache-Control: max-age`).
    pub max_age: i64,
}

/// One signed representation.
#[derive(Debug, Clone)]
enum Served {
    Text(ServedToken),
    Cwt(ServedCwt),
}

impl Served {
    fn text(self) -> Result<ServedToken, ServiceError> {
        match self {
            Self::Text(t) => Ok(t),
            Self::Cwt(_) => Err(ServiceError::Internal("expected a text token".into())),
        }
    }

    fn cwt(self) -> Result<ServedCwt, ServiceError> {
        match self {
            Self::Cwt(c) => Ok(c),
            Self::Text(_) => Err(ServiceError::Internal("expected a CWT".into())),
        }
    }
}

#[derive(Debug, Clone)]
struct Cached {
    version: u64,
    signed_at: UnixTime,
    /// The `kid` of the key that signed it: after a rotation the next publication is
    /// signed with the active key (R3), not served from the old key's copy.
    kid: Option<String>,
    served: Served,
}

/// What is cached per list: the Token Status List token (JWT and CWT) and the two W3C
/// credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum View {
    Token,
    Cwt,
    Bitstring(StatusPurpose),
}

type CacheKey = (String, String, View);

/// The status service. Cheap to clone.
#[derive(Clone)]
pub struct StatusService {
    inner: Arc<Inner>,
    metrics: vdc_http::metrics::Metrics,
    events: vdc_store::events::Events,
}

struct Inner {
    store: Arc<dyn StatusStore>,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    public_url: String,
    settings: StatusSettings,
    cache: RwLock<HashMap<CacheKey, Cached>>,
    open_lists: RwLock<HashMap<String, StatusListRecord>>,
}

impl std::fmt::Debug for StatusService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusService")
            .field("public_url", &self.inner.public_url)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// The URI of a Token Status List: `{public_url}/issuers/{issuer}/status-lists/{list}`
/// (the `uri` in credentials and the token's `sub`).
pub fn list_uri(public_url: &str, issuer_id: &str, list_id: &str) -> String {
    format!(
        "{}/status-lists/{list_id}",
        vdc_http::tenant_url::issuer_url(public_url, issuer_id)
    )
}

/// The URL of a list's W3C `BitstringStatusListCredential` for `purpose`.
pub fn bitstring_uri(
    public_url: &str,
    issuer_id: &str,
    list_id: &str,
    purpose: StatusPurpose,
) -> String {
    format!(
        "{}/bitstring/{}",
        list_uri(public_url, issuer_id, list_id),
        purpose.as_str()
    )
}

/// What a URL of this deployment's status routes names (see [`parse_local_uri`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalStatusUri<'a> {
    /// A Token Status List ([`list_uri`]).
    Token {
        /// The issuer tenant.
        issuer: &'a str,
        /// The list id.
        list: &'a str,
    },
    /// A list's W3C `BitstringStatusListCredential` ([`bitstring_uri`]).
    Bitstring {
        /// The issuer tenant.
        issuer: &'a str,
        /// The list id.
        list: &'a str,
        /// The status purpose.
        purpose: StatusPurpose,
    },
}

/// The inverse of [`list_uri`] and [`bitstring_uri`]: what `uri` names when it is one of
/// this deployment's status list URLs under `public_url`, `None` otherwise (another
/// server's list, or anything with an empty segment, a query or a fragment).
pub fn parse_local_uri<'a>(public_url: &str, uri: &'a str) -> Option<LocalStatusUri<'a>> {
    let (issuer, rest) = vdc_http::tenant_url::split_issuer_url(public_url, uri)?;
    let rest = rest.strip_prefix("/status-lists/")?;
    let segment = |s: &str| !s.is_empty() && !s.contains(['/', '?', '#']);
    match rest.split_once("/bitstring/") {
        None => segment(rest).then_some(LocalStatusUri::Token { issuer, list: rest }),
        Some((list, purpose)) if segment(list) && segment(purpose) => {
            Some(LocalStatusUri::Bitstring {
                issuer,
                list,
                purpose: StatusPurpose::parse(purpose).ok()?,
            })
        }
        Some(_) => None,
    }
}

/// The Status List Aggregation URI of an issuer (draft-ietf-oauth-status-list §9).
pub fn aggregation_uri(public_url: &str, issuer_id: &str) -> String {
    format!(
        "{}/status-lists",
        vdc_http::tenant_url::issuer_url(public_url, issuer_id)
    )
}

/// Where a credential's status sits: its status list and index (Token Status List §6.2).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StatusListReference {
    /// The status list token URL (`{base}/issuers/{issuer}/status-lists/{list}`).
    pub uri: String,
    /// The credential's index in the list.
    pub idx: u64,
}

/// An issued credential and its status (contract: "Issued credentials and their status").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "c-7Hq2",
    "status": "revoked",
    "status_list": {"uri": "http://127.0.0.1:8080/issuers/acme/status-lists/1", "idx": 4711},
    "credential_configuration_id": "EmployeeBadge",
    "offer_id": "o-3kP9",
    "issued_at": "2026-01-01T12:00:00Z",
    "expires_at": "2027-01-01T12:00:00Z"
}))]
pub struct CredentialObject {
    /// The credential id.
    pub id: String,
    /// `valid`, `revoked` or `suspended`.
    #[schema(value_type = String, pattern = "^(valid|revoked|suspended)$")]
    pub status: &'static str,
    /// Its status list entry; null for a credential issued without one.
    pub status_list: Option<StatusListReference>,
    /// The credential configuration it was issued under.
    pub credential_configuration_id: String,
    /// The offer it was issued for.
    pub offer_id: String,
    /// When it was issued (RFC 3339).
    pub issued_at: String,
    /// When it expires (RFC 3339); null when it does not.
    pub expires_at: Option<String>,
}

impl CredentialObject {
    /// The credential object of a record; `public_url` is the server's base URL.
    pub fn new(public_url: &str, c: &IssuedCredentialRecord) -> Self {
        Self {
            id: c.credential_id.clone(),
            status: c.status.as_str(),
            status_list: c.status_list.as_ref().map(|s| StatusListReference {
                uri: list_uri(public_url, &c.issuer_id, &s.list_id),
                idx: s.index,
            }),
            credential_configuration_id: c.credential_configuration_id.clone(),
            offer_id: c.offer_id.clone(),
            issued_at: vdc_core::vc_jose::format_date_time_stamp(c.issued_at),
            expires_at: c.expires_at.map(vdc_core::vc_jose::format_date_time_stamp),
        }
    }
}

/// The answer to a batch status change: every changed credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CredentialItems {
    /// The credentials after the change, in request order.
    pub items: Vec<CredentialObject>,
}

/// A Status List Aggregation (draft-ietf-oauth-status-list §9.3): every list of an issuer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusListAggregation {
    /// The Status List Token URIs.
    pub status_lists: Vec<String>,
}

/// Parses a management API status value.
pub fn parse_status(s: &str) -> Result<CredentialStatus, ServiceError> {
    match s {
        "valid" => Ok(CredentialStatus::Valid),
        "revoked" => Ok(CredentialStatus::Revoked),
        "suspended" => Ok(CredentialStatus::Suspended),
        _ => Err(ServiceError::InvalidRequest(
            "status must be valid, revoked or suspended".into(),
        )),
    }
}

/// The Token Status List value of a credential status (draft-ietf-oauth-status-list §7.1).
fn token_value(status: CredentialStatus) -> u8 {
    match status {
        CredentialStatus::Valid => 0,
        CredentialStatus::Revoked => INVALID,
        CredentialStatus::Suspended => SUSPENDED,
    }
}

/// How many times a change is retried after a transient conflict (a Postgres deadlock or
/// serialization failure), which changed nothing.
const CHANGE_RETRIES: usize = 3;
/// How many lists allocation may open or skip in one call before giving up.
const ALLOCATION_ROUNDS: usize = 8;

impl StatusService {
    /// A service over `store`; `public_url` is the server's base URL.
    pub fn new(
        store: Arc<dyn StatusStore>,
        keys: KeyRing,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
        public_url: &str,
        settings: StatusSettings,
    ) -> Result<Self, String> {
        settings.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                keys,
                clock,
                rng,
                public_url: public_url.trim_end_matches('/').to_owned(),
                settings,
                cache: RwLock::new(HashMap::new()),
                open_lists: RwLock::new(HashMap::new()),
            }),
            metrics: vdc_http::metrics::Metrics::default(),
            events: Arc::new(vdc_store::events::NoEvents),
        })
    }

    /// Tells `events` of every status change (by default, nobody).
    pub fn with_events(mut self, events: vdc_store::events::Events) -> Self {
        self.events = events;
        self
    }

    /// Counts status changes in `metrics` (by default, a registry nobody reads).
    pub fn with_metrics(mut self, metrics: vdc_http::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The settings.
    pub fn settings(&self) -> &StatusSettings {
        &self.inner.settings
    }

    /// The public base URL.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// See [`list_uri`].
    pub fn list_uri(&self, issuer_id: &str, list_id: &str) -> String {
        list_uri(&self.inner.public_url, issuer_id, list_id)
    }

    /// See [`bitstring_uri`].
    pub fn bitstring_uri(&self, issuer_id: &str, list_id: &str, purpose: StatusPurpose) -> String {
        bitstring_uri(&self.inner.public_url, issuer_id, list_id, purpose)
    }

    /// See [`aggregation_uri`].
    pub fn aggregation_uri(&self, issuer_id: &str) -> String {
        aggregation_uri(&self.inner.public_url, issuer_id)
    }

    fn issuer_url(&self, issuer_id: &str) -> String {
        vdc_http::tenant_url::issuer_url(&self.inner.public_url, issuer_id)
    }

    async fn signer(&self, issuer_id: &str) -> Result<Arc<dyn Signer>, ServiceError> {
        // Spec: draft-ietf-oauth-status-list §11.3: the Status Issuer is the Issuer here and
        // signs with its current key, so relying parties resolve it from the issuer's JWT VC
        // Issuer Metadata. An issuer without a key does not exist.
        self.inner
            .keys
            .signer(issuer_id)
            .await?
            .map(|s| -> Arc<dyn Signer> { s })
            .ok_or_else(|| ServiceError::NotFound(format!("no issuer {issuer_id}")))
    }

    /// Picks `count` distinct random free indexes of the issuer's open list for the
    /// credentials of one request about to be signed (one read per round, not one per
    /// credential), opening a new list when the current one is nearly full. Nothing is written:
    /// the issuance transaction allocates the entry (its primary key decides, G9), so a
    /// refused request leaves no entry behind; if a concurrent issuance took the index
    /// meanwhile, the store says so and the caller picks again.
    pub async fn pick(
        &self,
        issuer_id: &str,
        count: usize,
    ) -> Result<Vec<StatusListEntry>, ServiceError> {
        let now = self.inner.clock.now();
        let mut picked: Vec<StatusListEntry> = Vec::with_capacity(count);
        for _ in 0..ALLOCATION_ROUNDS {
            if picked.len() == count {
                break;
            }
            let list = self.open_list(issuer_id, now).await?;
            // One read for the whole batch: the probes plus one candidate per index missing.
            let candidates = self.candidates(list.size, count - picked.len())?;
            let free = self
                .inner
                .store
                .free_status_indexes(issuer_id, &list.list_id, &candidates)
                .await?;
            let before = picked.len();
            for index in free {
                let taken = picked
                    .iter()
                    .any(|e| e.index == index && e.list_id == list.list_id);
                if picked.len() < count && !taken {
                    picked.push(StatusListEntry {
                        list_id: list.list_id.clone(),
                        index,
                    });
                }
            }
            if picked.len() > before {
                continue;
            }
            // Every candidate was taken (the list is nearly full) or another instance sealed
            // it: seal it (idempotent) and move on.
            self.inner
                .store
                .seal_status_list(issuer_id, &list.list_id, now)
                .await?;
            self.forget_open_list(issuer_id);
            tracing::info!(issuer = issuer_id, list = %list.list_id, "status list sealed");
        }
        if picked.len() == count {
            Ok(picked)
        } else {
            Err(ServiceError::Internal(
                "no status list index could be allocated".into(),
            ))
        }
    }

    /// Drops the cached open list of `issuer_id` (the store said it is sealed or gone), so
    /// the next [`Self::pick`] reads the lists again.
    pub fn forget_open_list(&self, issuer_id: &str) {
        self.open_lists_mut().remove(issuer_id);
    }

    /// `allocation_probes + extra` random indexes in `[0, size)`.
    fn candidates(&self, size: u64, extra: usize) -> Result<Vec<u64>, ServiceError> {
        let n = self.inner.settings.allocation_probes + extra;
        let mut bytes = vec![0u8; 8 * n];
        self.inner
            .rng
            .fill(&mut bytes)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                // Multiply-shift maps 64 random bits onto [0, size) (bias below 2^-40).
                ((u128::from(u64::from_le_bytes(b)) * u128::from(size)) >> 64) as u64
            })
            .collect())
    }

    fn open_lists_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, StatusListRecord>> {
        self.inner
            .open_lists
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The issuer's open list: cached, else the newest unsealed one, else a new one named
    /// by the next number (two instances opening at once: one insert wins, the other reads).
    async fn open_list(
        &self,
        issuer_id: &str,
        now: UnixTime,
    ) -> Result<StatusListRecord, ServiceError> {
        if let Some(l) = self
            .inner
            .open_lists
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(issuer_id)
        {
            return Ok(l.clone());
        }
        for _ in 0..ALLOCATION_ROUNDS {
            let lists = self.inner.store.status_lists(issuer_id).await?;
            if let Some(open) = lists.iter().rev().find(|l| l.sealed_at.is_none()) {
                self.open_lists_mut()
                    .insert(issuer_id.to_owned(), open.clone());
                return Ok(open.clone());
            }
            let next = lists
                .iter()
                .filter_map(|l| l.list_id.parse::<u64>().ok())
                .max()
                .unwrap_or(0)
                + 1;
            let list = StatusListRecord {
                issuer_id: issuer_id.to_owned(),
                list_id: next.to_string(),
                bits: self.inner.settings.bits,
                size: self.inner.settings.list_size,
                created_at: now,
                sealed_at: None,
                version: 0,
            };
            match self.inner.store.create_status_list(&list).await {
                Ok(()) => {
                    tracing::info!(issuer = issuer_id, list = %list.list_id, "status list opened");
                    self.open_lists_mut()
                        .insert(issuer_id.to_owned(), list.clone());
                    return Ok(list);
                }
                Err(StoreError::Duplicate(_)) => continue,
                Err(StoreError::NotFound(_)) => {
                    return Err(ServiceError::NotFound(format!("no issuer {issuer_id}")));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal(
            "could not open a status list".into(),
        ))
    }

    /// Changes the status of credentials of `issuer_id`, all or nothing, recording `actor`
    /// (G9): unknown ids are `NotFound`, any change to a revoked credential `Conflict`.
    /// Returns the credentials as they now are, in request order.
    pub async fn change(
        &self,
        issuer_id: &str,
        changes: &[StatusChange],
        actor: &str,
    ) -> Result<Vec<IssuedCredentialRecord>, ServiceError> {
        self.signer(issuer_id).await?;
        if changes.is_empty() {
            return Err(ServiceError::InvalidRequest(
                "items must not be empty".into(),
            ));
        }
        vdc_store::status::check_changes(changes)
            .map_err(|_| ServiceError::InvalidRequest("a credential is listed twice".into()))?;
        let mut attempt = 0;
        loop {
            let now = self.inner.clock.now();
            // One event per listed credential, with the status it will have: they commit
            // with the change (the transactional outbox), or not at all.
            let events: Vec<vdc_store::events::DomainEvent> = changes
                .iter()
                .map(|c| {
                    let mut data = serde_json::Map::new();
                    data.insert("credential_id".into(), c.credential_id.clone().into());
                    data.insert("status".into(), c.status.as_str().into());
                    vdc_store::events::DomainEvent {
                        kind: vdc_store::events::EventKind::CredentialStatusChanged,
                        tenant: vdc_store::events::EventTenant::Issuer(issuer_id.to_owned()),
                        actor: actor.to_owned(),
                        target: c.credential_id.clone(),
                        outcome: c.status.as_str().to_owned(),
                        at: now,
                        data,
                    }
                })
                .collect();
            let outbox = vdc_store::events::stage(self.events.as_ref(), &events);
            match self
                .inner
                .store
                .change_statuses(issuer_id, changes, actor, now, &outbox)
                .await
            {
                Ok(StatusChangeOutcome::Changed(records)) => {
                    for r in &records {
                        self.metrics.status_changed(r.status.as_str());
                        tracing::info!(issuer = issuer_id, credential = %r.credential_id, status = r.status.as_str(), actor, "credential status changed");
                    }
                    self.events.committed(&events);
                    return Ok(records);
                }
                Ok(StatusChangeOutcome::UnknownCredential(id)) => {
                    return Err(ServiceError::NotFound(format!("no credential {id}")));
                }
                Ok(StatusChangeOutcome::Revoked(id)) => {
                    return Err(ServiceError::Conflict(format!(
                        "credential {id} is revoked; revocation is final"
                    )));
                }
                Err(e) if e.kind() == StoreErrorKind::Conflict && attempt < CHANGE_RETRIES => {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The management API's credential object for a record.
    pub fn credential_object(&self, record: &IssuedCredentialRecord) -> CredentialObject {
        CredentialObject::new(&self.inner.public_url, record)
    }

    /// The Status List Token of a list: the current one, or with `time` the list as it was
    /// then (draft-ietf-oauth-status-list §8.4: `iat` = `time`, so the token was valid at
    /// the requested time). `NotFound` for an unknown list, or a time before the list
    /// existed or in the future.
    pub async fn token(
        &self,
        issuer_id: &str,
        list_id: &str,
        time: Option<i64>,
    ) -> Result<ServedToken, ServiceError> {
        match time {
            None => self.current(issuer_id, list_id, View::Token).await,
            Some(t) => self.historical(issuer_id, list_id, View::Token, t).await,
        }?
        .text()
    }

    /// The Status List Token of a list in CWT format (draft-ietf-oauth-status-list §5.2):
    /// the same list version, times, issuer and key as [`Self::token`], with the same
    /// `time` rules (§8.4) and caching.
    pub async fn cwt(
        &self,
        issuer_id: &str,
        list_id: &str,
        time: Option<i64>,
    ) -> Result<ServedCwt, ServiceError> {
        match time {
            None => self.current(issuer_id, list_id, View::Cwt).await,
            Some(t) => self.historical(issuer_id, list_id, View::Cwt, t).await,
        }?
        .cwt()
    }

    /// The W3C `BitstringStatusListCredential` of a list for `purpose`, as `vc+jwt`.
    pub async fn bitstring_credential(
        &self,
        issuer_id: &str,
        list_id: &str,
        purpose: StatusPurpose,
    ) -> Result<ServedToken, ServiceError> {
        self.current(issuer_id, list_id, View::Bitstring(purpose))
            .await?
            .text()
    }

    /// The Status List Aggregation (draft-ietf-oauth-status-list §9.3):
    /// `{"status_lists": [uri, ...]}` of every list of the issuer.
    pub async fn aggregation(
        &self,
        issuer_id: &str,
    ) -> Result<StatusListAggregation, ServiceError> {
        self.signer(issuer_id).await?;
        let uris: Vec<String> = self
            .inner
            .store
            .status_lists(issuer_id)
            .await?
            .iter()
            .map(|l| self.list_uri(issuer_id, &l.list_id))
            .collect();
        Ok(StatusListAggregation { status_lists: uris })
    }

    async fn current(
        &self,
        issuer_id: &str,
        list_id: &str,
        view: View,
    ) -> Result<Served, ServiceError> {
        let not_found = || ServiceError::NotFound(format!("no status list {list_id}"));
        let version = self
            .inner
            .store
            .status_list_version(issuer_id, list_id)
            .await?
            .ok_or_else(not_found)?;
        let now = self.inner.clock.now();
        let key = (issuer_id.to_owned(), list_id.to_owned(), view);
        let kid = self.signer(issuer_id).await?.public_jwk().kid.clone();
        if let Some(c) = self
            .inner
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            && c.version == version
            && c.kid == kid
            && now.secs() - c.signed_at.secs() < self.inner.settings.ttl
            && now >= c.signed_at
        {
            return Ok(c.served.clone());
        }
        let snapshot = self
            .inner
            .store
            .status_list_snapshot(issuer_id, list_id)
            .await?
            .ok_or_else(not_found)?;
        let served = self.sign(issuer_id, &snapshot, view, now).await?;
        let mut cache = self.inner.cache.write().unwrap_or_else(|e| e.into_inner());
        // Never replace a newer cached version with an older one (a slower racer).
        if cache
            .get(&key)
            .is_none_or(|c| c.version <= snapshot.list.version)
        {
            cache.insert(
                key,
                Cached {
                    version: snapshot.list.version,
                    signed_at: now,
                    kid,
                    served: served.clone(),
                },
            );
        }
        Ok(served)
    }

    async fn historical(
        &self,
        issuer_id: &str,
        list_id: &str,
        view: View,
        time: i64,
    ) -> Result<Served, ServiceError> {
        let now = self.inner.clock.now();
        let list = self
            .inner
            .store
            .get_status_list(issuer_id, list_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no status list {list_id}")))?;
        // Spec: draft-ietf-oauth-status-list §8.4: "if the requested time is not supported
        // it SHOULD return a status code of 404".
        if time < list.created_at.secs() || time > now.secs() {
            return Err(ServiceError::NotFound(
                "the status list did not exist at that time, or it is in the future".into(),
            ));
        }
        let snapshot = self
            .inner
            .store
            .status_list_at(issuer_id, list_id, UnixTime(time))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("no status list {list_id}")))?;
        self.sign(issuer_id, &snapshot, view, UnixTime(time)).await
    }

    async fn sign(
        &self,
        issuer_id: &str,
        snapshot: &StatusListSnapshot,
        view: View,
        iat: UnixTime,
    ) -> Result<Served, ServiceError> {
        let signer = self.signer(issuer_id).await?;
        let s = &self.inner.settings;
        let list = &snapshot.list;
        let size = usize::try_from(list.size)
            .map_err(|_| ServiceError::Internal("status list too large".into()))?;
        let exp = iat.plus(s.token_lifetime);
        let token = match view {
            View::Token | View::Cwt => {
                let mut bits = StatusList::new(size, list.bits)?;
                for &(idx, status) in &snapshot.entries {
                    bits.set(index(idx)?, token_value(status))?;
                }
                let uri = self.list_uri(issuer_id, &list.list_id);
                let agg = self.aggregation_uri(issuer_id);
                // The credential issuer signs its own lists: `iss` is its identifier, the
                // `iss` of every credential pointing here (draft-ietf-oauth-status-list
                // §11.3), as `issuer` is for the Bitstring view below.
                let iss = self.issuer_url(issuer_id);
                if view == View::Cwt {
                    // The CWT form carries what the JWT form carries (§5.2).
                    let cwt = sign_status_list_cwt(
                        &bits,
                        &uri,
                        &iss,
                        iat,
                        exp,
                        s.ttl,
                        s.compression_level,
                        Some(&agg),
                        signer.as_ref(),
                    )
                    .await?;
                    let mut tagged = STATUS_LIST_CWT_MEDIA_TYPE.as_bytes().to_vec();
                    tagged.push(0);
                    tagged.extend_from_slice(&cwt);
                    let digest = vdc_core::digest::sha256(&tagged);
                    return Ok(Served::Cwt(ServedCwt {
                        etag: format!(
                            "\"statuslist+cwt.{}\"",
                            vdc_core::base64url::encode(&digest[..18])
                        ),
                        cwt: cwt.into(),
                        max_age: s.ttl,
                    }));
                }
                sign_status_list_token(
                    &bits,
                    &uri,
                    &iss,
                    iat,
                    exp,
                    s.ttl,
                    s.compression_level,
                    Some(&agg),
                    signer.as_ref(),
                )
                .await?
            }
            View::Bitstring(purpose) => {
                let wanted = match purpose {
                    StatusPurpose::Revocation => CredentialStatus::Revoked,
                    StatusPurpose::Suspension => CredentialStatus::Suspended,
                };
                let mut bits = BitstringStatusList::new(size, 1)?;
                for &(idx, status) in &snapshot.entries {
                    if status == wanted {
                        bits.set(index(idx)?, 1)?;
                    }
                }
                let credential = BitstringStatusListCredential {
                    id: self.bitstring_uri(issuer_id, &list.list_id, purpose),
                    issuer: self.issuer_url(issuer_id),
                    valid_from: iat,
                    valid_until: Some(exp),
                    subject_id: None,
                    status_purpose: purpose,
                    ttl_ms: u64::try_from(s.ttl).ok().map(|t| t * 1000),
                };
                credential
                    .sign(&bits, s.compression_level, signer.as_ref())
                    .await?
            }
        };
        let digest = vdc_core::digest::sha256(token.as_bytes());
        Ok(Served::Text(ServedToken {
            etag: format!("\"{}\"", vdc_core::base64url::encode(&digest[..18])),
            token: token.into(),
            max_age: s.ttl,
        }))
    }
}

fn index(idx: u64) -> Result<usize, ServiceError> {
    usize::try_from(idx).map_err(|_| ServiceError::Internal("status index too large".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_uris_parse_back_to_what_made_them() {
        let base = "https://vdc.example/";
        let token = list_uri(base, "acme", "l1");
        assert_eq!(
            parse_local_uri(base, &token),
            Some(LocalStatusUri::Token {
                issuer: "acme",
                list: "l1"
            })
        );
        let bits = bitstring_uri(base, "acme", "l1", StatusPurpose::Suspension);
        assert_eq!(
            parse_local_uri(base, &bits),
            Some(LocalStatusUri::Bitstring {
                issuer: "acme",
                list: "l1",
                purpose: StatusPurpose::Suspension
            })
        );
        for foreign in [
            "https://other.example/issuers/acme/status-lists/l1",
            "https://vdc.example/issuers/acme/status-lists/l1?x=1",
            "https://vdc.example/issuers/acme/status-lists/l1/extra",
            "https://vdc.example/issuers//status-lists/l1",
            "https://vdc.example/issuers/a/b/status-lists/l1",
            "https://vdc.example/issuers/acme/status-lists/",
            "https://vdc.example/issuers/acme/status-lists/l1/bitstring/other",
            "https://vdc.example/issuers/acme/status-lists/l1/bitstring/revocation#f",
            "https://vdc.example.evil/issuers/acme/status-lists/l1",
        ] {
            assert_eq!(parse_local_uri(base, foreign), None, "{foreign}");
        }
    }

    use super::*;

    #[test]
    fn credential_object_has_null_status_list_and_expiry_when_there_are_none() {
        let mut record = IssuedCredentialRecord {
            issuer_id: "acme".into(),
            credential_id: "c-1".into(),
            offer_id: "o-1".into(),
            credential_configuration_id: "Badge".into(),
            holder_key_thumbprint: None,
            status_list: None,
            status: CredentialStatus::Revoked,
            issued_at: UnixTime(0),
            expires_at: None,
        };
        assert_eq!(
            serde_json::to_value(CredentialObject::new("http://x/", &record)).unwrap(),
            serde_json::json!({"id": "c-1", "status": "revoked", "status_list": null,
                "credential_configuration_id": "Badge", "offer_id": "o-1",
                "issued_at": "1970-01-01T00:00:00Z", "expires_at": null})
        );
        record.status_list = Some(StatusListEntry {
            list_id: "7".into(),
            index: 42,
        });
        let v = serde_json::to_value(CredentialObject::new("http://x/", &record)).unwrap();
        assert_eq!(
            v["status_list"],
            serde_json::json!({"uri": "http://x/issuers/acme/status-lists/7", "idx": 42})
        );
    }

    #[test]
    fn default_settings_are_valid_and_herd_sized() {
        let s = StatusSettings::default();
        s.validate().unwrap();
        assert!(s.list_size >= 131_072);
        assert_eq!(s.bits, 2);
        let million = StatusSettings {
            list_size: 1_000_000,
            ..s.clone()
        };
        million.validate().unwrap();
        for bad in [
            StatusSettings {
                bits: 1,
                ..s.clone()
            },
            StatusSettings {
                list_size: 1000,
                ..s.clone()
            },
            StatusSettings {
                ttl: 0,
                ..s.clone()
            },
            StatusSettings {
                compression_level: 10,
                ..s.clone()
            },
            StatusSettings {
                allocation_probes: 0,
                ..s.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn list_uris_are_stable_and_tenant_scoped() {
        assert_eq!(
            list_uri("https://vdc.example/", "acme", "3"),
            "https://vdc.example/issuers/acme/status-lists/3"
        );
        assert_eq!(
            bitstring_uri(
                "https://vdc.example",
                "acme",
                "3",
                StatusPurpose::Suspension
            ),
            "https://vdc.example/issuers/acme/status-lists/3/bitstring/suspension"
        );
        assert_eq!(
            aggregation_uri("https://vdc.example", "acme"),
            "https://vdc.example/issuers/acme/status-lists"
        );
    }

    #[test]
    fn status_values_follow_the_token_status_list_registry() {
        assert_eq!(token_value(CredentialStatus::Valid), 0);
        assert_eq!(token_value(CredentialStatus::Revoked), 1);
        assert_eq!(token_value(CredentialStatus::Suspended), 2);
        assert!(parse_status("REVOKED").is_err());
        assert_eq!(
            parse_status("suspended").unwrap(),
            CredentialStatus::Suspended
        );
    }
}
