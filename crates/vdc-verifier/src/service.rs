//! The [`Verifier`] service: verifier tenants with their client identifier prefixes, and
//! presentation requests (creation, request objects, results). The response checks live in
//! `response`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value, json};
use vdc_core::base64url;
use vdc_core::did::jwk::did_jwk_from;
use vdc_core::fetch::Fetcher;
use vdc_core::jose::jwe::EcdhPrivateKey;
use vdc_core::jose::{Algorithm, AlgorithmPolicy, LocalSigner, SigningKey, jws};
use vdc_core::rng::{RandomSource, random_b64};
use vdc_core::time::{Clock, UnixTime};
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_core::x509::{self, CertificateSpec, TrustAnchors};
use vdc_store::{
    PresentationRequestRecord, PresentationStatus, PresentationStore, SecretHash, StoreError,
    VerifierRecord,
};

use crate::dcql::DcqlQuery;
use crate::error::{Result, VerifierError};
use crate::trust::{DeploymentKeyResolver, LocalIssuers};
use vdc_status::StatusChecker;

/// Longest presentation request lifetime (contract: 1 s to 1 day).
pub const MAX_REQUEST_TTL: i64 = 24 * 3600;
/// Default presentation request lifetime.
pub const DEFAULT_REQUEST_TTL: i64 = 300;
/// Spec: OID4VP 1.0 §5.8: the static `aud` of a request object when the wallet's issuer is
/// not known.
pub const SELF_ISSUED_AUD: &str = "https://self-issued.me/v2";
/// Spec: RFC 9101 §10.8 / OID4VP 1.0 §5: the request object's `typ`.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The validity of server-made verifier certificates (one year).
const CERT_VALIDITY_SECS: i64 = 365 * 24 * 3600;

/// A client identifier prefix (OID4VP 1.0 §5.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientIdPrefix {
    /// `x509_san_dns`: the public host as DNS SAN of the leaf certificate.
    X509SanDns,
    /// `x509_hash`: the SHA-256 of the leaf certificate.
    X509Hash,
    /// `decentralized_identifier`: a did:jwk of the verifier's key.
    DecentralizedIdentifier,
    /// `redirect_uri`: unsigned requests, passed by value.
    RedirectUri,
}

impl ClientIdPrefix {
    /// The prefix name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X509SanDns => "x509_san_dns",
            Self::X509Hash => "x509_hash",
            Self::DecentralizedIdentifier => "decentralized_identifier",
            Self::RedirectUri => "redirect_uri",
        }
    }

    fn signed(self) -> bool {
        self != Self::RedirectUri
    }
}

/// `POST /api/v1/verifiers`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "acme-verifier",
    "client_id_prefix": "x509_san_dns",
    "display": {"name": "ACME door"},
    "trusted_issuers": ["http://127.0.0.1:8080/issuers/acme"]
}))]
pub struct VerifierDefinition {
    /// The slug (`^[a-z0-9][a-z0-9-]{0,62}$`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub id: String,
    /// The client identifier prefix.
    pub client_id_prefix: ClientIdPrefix,
    /// Display information (free JSON).
    #[serde(default)]
    pub display: Option<Value>,
    /// Credential issuer identifiers whose credentials are accepted.
    #[serde(default)]
    pub trusted_issuers: Vec<String>,
    /// Whether credentials without a `status` claim are refused (default false).
    #[serde(default)]
    pub require_status: bool,
    /// PEM certificates: foreign trusted issuers may sign with an `x5c` chain ending at one
    /// of them.
    #[serde(default)]
    pub trusted_issuer_anchors: Vec<String>,
    /// An operator-issued certificate chain for `x509_san_dns` / `x509_hash`, leaf first:
    /// PEM text or an array of standard base64 DER certificates (as `x5c`). Requires
    /// `signing_key`; without it the server makes a certificate for the public host.
    #[serde(default)]
    pub certificate_chain: Option<Value>,
    /// The private JWK the chain's leaf certifies. Never stored in the configuration or
    /// returned: it is sealed with the deployment's key-encryption key.
    #[serde(default)]
    #[schema(value_type = Option<Object>, write_only)]
    pub signing_key: Option<ImportedSigningKey>,
}

/// A private JWK given on creation; `Debug` never shows it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct ImportedSigningKey(pub Value);

impl std::fmt::Debug for ImportedSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportedSigningKey([redacted])")
    }
}

/// `POST /api/v1/verifiers/{verifier}/requests`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://acme.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]},
    "response_mode": "direct_post",
    "expires_in": 300
}))]
pub struct CreateRequest {
    /// The DCQL query.
    pub dcql_query: Value,
    /// `direct_post` (default) or `direct_post.jwt`.
    #[serde(default)]
    pub response_mode: Option<String>,
    /// Lifetime in seconds (default 300, 1 s to 1 day).
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// Same-device flow: where the wallet sends the user after a verified response; the
    /// verifier appends `#response_code=…` (OID4VP 1.0 §8.2).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// `get` (default) or `post` (OID4VP 1.0 §5.10).
    #[serde(default)]
    pub request_uri_method: Option<String>,
}

/// `direct_post` or `direct_post.jwt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    /// Spec: OID4VP 1.0 §8.2.
    DirectPost,
    /// Spec: OID4VP 1.0 §8.3.1.
    DirectPostJwt,
}

impl ResponseMode {
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPost => "direct_post",
            Self::DirectPostJwt => "direct_post.jwt",
        }
    }

    /// Parses a mode name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "direct_post" => Ok(Self::DirectPost),
            "direct_post.jwt" => Ok(Self::DirectPostJwt),
            _ => Err(VerifierError::InvalidRequest(
                "response_mode must be direct_post or direct_post.jwt".into(),
            )),
        }
    }
}

/// Settings of the verifier service.
#[derive(Debug, Clone)]
pub struct VerifierSettings {
    /// How old a KB-JWT's `iat` may be, seconds.
    pub kb_max_age_secs: i64,
    /// Signature algorithms accepted for credentials and KB-JWTs (G4).
    pub policy: AlgorithmPolicy,
}

impl Default for VerifierSettings {
    fn default() -> Self {
        Self {
            kb_max_age_secs: 300,
            policy: AlgorithmPolicy::default(),
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
    /// Each verifier's issuer-key policy, kept so fetched foreign metadata stays cached
    /// (verifiers do not change after creation).
    resolvers: Arc<Mutex<HashMap<String, Arc<DeploymentKeyResolver>>>>,
    /// Verifier records read once: a verifier does not change after creation (the store
    /// has no update), so every request after the first needs no read of it (issue 11).
    records: Arc<Mutex<HashMap<String, Arc<VerifierRecord>>>>,
    /// Pending requests this instance created, so the request object and the response that
    /// follow need no read of them (issue 11). What a pending request holds does not change;
    /// whether it is still pending is decided by the store's conditional update when it
    /// ends, so a stale entry can never end a request twice.
    pending: Arc<Mutex<PendingRequests>>,
}

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
    fn insert(&mut self, record: &PresentationRequestRecord, now: UnixTime) {
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

/// A verifier's stored configuration (`verifiers.config`).
#[derive(Debug, Clone)]
pub(crate) struct VerifierConfig {
    pub(crate) prefix: ClientIdPrefix,
    pub(crate) client_id: String,
    pub(crate) trusted_issuers: Vec<String>,
    pub(crate) require_status: bool,
    /// The `x5c` chain (leaf first), DER.
    pub(crate) x5c: Vec<Vec<u8>>,
    /// The `kid` of the signing key (DID URL for decentralized_identifier).
    pub(crate) kid: Option<String>,
    /// Whether `x5c` is an operator's chain (sent whole) rather than the server-made leaf
    /// and per-verifier CA (the leaf is sent; the CA is the wallet's anchor).
    pub(crate) x5c_configured: bool,
    /// PEM trust anchors for foreign issuers' `x5c` chains.
    pub(crate) issuer_anchors: Vec<String>,
}

/// A loaded presentation request.
#[derive(Debug, Clone)]
pub(crate) struct LoadedRequest {
    pub(crate) record: PresentationRequestRecord,
    pub(crate) claims: Map<String, Value>,
    pub(crate) dcql: DcqlQuery,
    pub(crate) mode: ResponseMode,
}

/// Spec (contract): slugs match `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn rfc3339(t: UnixTime) -> String {
    format_date_time_stamp(t)
}

fn key_context(verifier: &str) -> String {
    format!("vdc-verifier-signing-key:{verifier}")
}

fn response_key_context(verifier: &str, request: &str) -> String {
    format!("vdc-verifier-response-key:{verifier}:{request}")
}

impl Verifier {
    /// Encrypts `plaintext` under the deployment's KEK, bound to `context`.
    fn seal(&self, plaintext: &[u8], context: &str) -> Result<Vec<u8>> {
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
            pending: Arc::new(Mutex::new(PendingRequests::default())),
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, PendingRequests> {
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

    /// Expires a pending request past its expiry, with its `presentation.expired` event in
    /// the same transaction; true if this call expired it.
    pub(crate) async fn expire(&self, verifier: &str, request_id: &str) -> Result<bool> {
        let events = [self.event(
            vdc_store::events::EventKind::PresentationExpired,
            verifier,
            request_id,
            "expired",
            "system",
        )];
        let expired = self
            .deps
            .store
            .expire_presentation_request(verifier, request_id, self.now(), &self.outbox(&events))
            .await?;
        if expired {
            self.ended(verifier, request_id);
            self.events.committed(&events);
        }
        Ok(expired)
    }

    /// The issuer-key policy of a verifier (built once, then shared).
    pub(crate) fn resolver(
        &self,
        verifier: &str,
        config: &VerifierConfig,
    ) -> Result<Arc<DeploymentKeyResolver>> {
        // A poisoned map only holds shareable policies; keep using it.
        let mut map = self.resolvers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = map.get(verifier) {
            return Ok(r.clone());
        }
        let mut resolver = DeploymentKeyResolver::new(
            self.deps.local_issuers.clone(),
            Some(config.trusted_issuers.clone()),
            self.deps.fetcher.clone(),
            self.deps.clock.clone(),
        );
        if !config.issuer_anchors.is_empty() {
            let anchors = TrustAnchors::from_pem(&config.issuer_anchors.join("\n"))
                .map_err(|e| VerifierError::Internal(format!("stored trust anchors: {e}")))?;
            resolver = resolver.with_x509_anchors(anchors);
        }
        let resolver = Arc::new(resolver);
        map.insert(verifier.to_owned(), resolver.clone());
        Ok(resolver)
    }

    fn now(&self) -> UnixTime {
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

    /// The DNS name for `x509_san_dns`: the public URL's host, or `localhost` when it is a
    /// loopback address (a DNS SAN cannot hold an IP address); `None` for other IP hosts.
    fn public_dns_name(&self) -> Option<String> {
        let url = url::Url::parse(&self.public_url).ok()?;
        match url.host()? {
            url::Host::Domain(d) => Some(d.to_owned()),
            url::Host::Ipv4(ip) if ip.is_loopback() => Some("localhost".into()),
            url::Host::Ipv6(ip) if ip.is_loopback() => Some("localhost".into()),
            _ => None,
        }
    }

    /// Creates a verifier: a fresh P-256 signing key (sealed at rest) and, per prefix, a
    /// server-made certificate for the public host, or a did:jwk.
    pub async fn create_verifier(&self, def: VerifierDefinition) -> Result<Value> {
        if !valid_slug(&def.id) {
            return Err(VerifierError::InvalidRequest(
                "id must match ^[a-z0-9][a-z0-9-]{0,62}$".into(),
            ));
        }
        for pem in &def.trusted_issuer_anchors {
            TrustAnchors::from_pem(pem).map_err(|e| {
                VerifierError::InvalidRequest(format!("trusted_issuer_anchors: {e}"))
            })?;
        }
        let rng = self.deps.rng.as_ref();
        let now = self.now();
        let (key, configured) = match self.configured_certificate(&def)? {
            Some((key, chain)) => (key, Some(chain)),
            None => (SigningKey::generate(Algorithm::Es256, rng)?, None),
        };
        let x5c_configured = configured.is_some();
        let mut x5c = Vec::new();
        let mut kid = None;
        let client_id = match (def.client_id_prefix, configured) {
            (prefix, Some(chain)) => {
                let leaf = chain.first().cloned().unwrap_or_default();
                let id = match prefix {
                    ClientIdPrefix::X509SanDns => {
                        format!(
                            "x509_san_dns:{}",
                            self.public_dns_name().unwrap_or_default()
                        )
                    }
                    _ => format!("x509_hash:{}", x509::x509_hash(&leaf)),
                };
                x5c = chain;
                id
            }
            (ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash, None) => {
                let host = self.public_dns_name();
                if def.client_id_prefix == ClientIdPrefix::X509SanDns && host.is_none() {
                    return Err(VerifierError::InvalidRequest(
                        "x509_san_dns needs a DNS name (or loopback) host in the public URL".into(),
                    ));
                }
                // A per-verifier CA certifies the leaf, so a wallet can pin the CA as its
                // trust anchor (the CA key is dropped after use).
                let ca_key = SigningKey::generate(Algorithm::Es256, rng)?;
                let ca_spec = CertificateSpec::new(
                    format!("vdc verifier CA {}", def.id),
                    now.plus(-60),
                    now.plus(CERT_VALIDITY_SECS),
                    rng,
                )?
                .ca();
                let ca = x509::self_signed(&ca_spec, &ca_key)?;
                let leaf_spec = CertificateSpec::new(
                    format!("vdc verifier {}", def.id),
                    now.plus(-60),
                    now.plus(CERT_VALIDITY_SECS),
                    rng,
                )?;
                let leaf_spec = match &host {
                    Some(h) => leaf_spec.with_dns_name(h.clone()),
                    None => leaf_spec,
                };
                let leaf = x509::issue(&leaf_spec, key.public_key(), &ca, &ca_key)?;
                let id = match def.client_id_prefix {
                    ClientIdPrefix::X509SanDns => {
                        format!("x509_san_dns:{}", host.unwrap_or_default())
                    }
                    _ => format!("x509_hash:{}", x509::x509_hash(&leaf)),
                };
                x5c = vec![leaf, ca];
                id
            }
            (ClientIdPrefix::DecentralizedIdentifier, None) => {
                let did = did_jwk_from(key.public_key());
                kid = Some(format!("{did}#0"));
                format!("decentralized_identifier:{did}")
            }
            (ClientIdPrefix::RedirectUri, None) => {
                format!("redirect_uri:{}", self.response_uri(&def.id))
            }
        };
        let config = json!({
            "client_id_prefix": def.client_id_prefix.as_str(),
            "client_id": client_id,
            "display": def.display,
            "trusted_issuers": def.trusted_issuers,
            "require_status": def.require_status,
            "x5c": x5c.iter().map(base64url::encode).collect::<Vec<_>>(),
            "kid": kid,
            "x5c_configured": x5c_configured,
            "trusted_issuer_anchors": def.trusted_issuer_anchors,
        });
        let sealed = self.seal(key.to_private_jwk().as_bytes(), &key_context(&def.id))?;
        let record = VerifierRecord {
            id: def.id.clone(),
            config,
            encrypted_signing_key: sealed,
            created_at: now,
        };
        match self.deps.store.create_verifier(&record).await {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) => {
                return Err(VerifierError::Conflict(format!(
                    "verifier {} exists",
                    def.id
                )));
            }
            Err(e) => return Err(e.into()),
        }
        self.verifier_object(&record)
    }

    /// The operator's certificate chain and the key its leaf certifies, checked: both or
    /// neither given, an x509 prefix, the leaf certifies the key and, for `x509_san_dns`,
    /// has the public host as DNS SAN (OID4VP 1.0 §5.9.3: "the Client Identifier MUST match
    /// a dNSName Subject Alternative Name (SAN) entry in the leaf certificate").
    fn configured_certificate(
        &self,
        def: &VerifierDefinition,
    ) -> Result<Option<(SigningKey, Vec<Vec<u8>>)>> {
        let bad = |m: String| VerifierError::InvalidRequest(m);
        let (chain, jwk) = match (&def.certificate_chain, &def.signing_key) {
            (None, None) => return Ok(None),
            (Some(c), Some(k)) => (c, k),
            _ => {
                return Err(bad(
                    "certificate_chain and signing_key are given together".into()
                ));
            }
        };
        if !matches!(
            def.client_id_prefix,
            ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash
        ) {
            return Err(bad(
                "certificate_chain is for x509_san_dns and x509_hash verifiers".into(),
            ));
        }
        let chain = match chain {
            Value::String(pem) => x509::pem_to_der_certs(pem),
            other => x509::parse_x5c(other),
        }
        .map_err(|e| bad(format!("certificate_chain: {e}")))?;
        let Some(leaf) = chain.first() else {
            return Err(bad("certificate_chain is empty".into()));
        };
        let key =
            SigningKey::from_private_jwk(&jwk.0).map_err(|e| bad(format!("signing_key: {e}")))?;
        let leaf_key =
            x509::leaf_public_key(leaf).map_err(|e| bad(format!("certificate_chain: {e}")))?;
        if &leaf_key != key.public_key() {
            return Err(bad(
                "the leaf certificate does not certify signing_key".into()
            ));
        }
        if def.client_id_prefix == ClientIdPrefix::X509SanDns {
            let host = self.public_dns_name().ok_or_else(|| {
                bad("x509_san_dns needs a DNS name (or loopback) host in the public URL".into())
            })?;
            let has = x509::leaf_has_dns_san(leaf, &host)
                .map_err(|e| bad(format!("certificate_chain: {e}")))?;
            if !has {
                return Err(bad(format!(
                    "the leaf certificate has no DNS SAN {host} (the client_id host)"
                )));
            }
        }
        Ok(Some((key, chain)))
    }

    /// For an `x509_san_dns` verifier, checks that its leaf certificate has the `client_id`
    /// host as DNS SAN (OID4VP 1.0 §5.9.3: "the Client Identifier MUST match a dNSName
    /// Subject Alternative Name (SAN) entry in the leaf certificate") and that the host is
    /// still this deployment's public host. `Ok(None)` for other prefixes, `Ok(Some(problem))`
    /// on a mismatch (an operator self-check; `vdc doctor` prints it).
    pub async fn check_client_id_san(&self, id: &str) -> Result<Option<String>> {
        let (_, c) = self.load_verifier(id).await?;
        if c.prefix != ClientIdPrefix::X509SanDns {
            return Ok(None);
        }
        let host = c
            .client_id
            .strip_prefix("x509_san_dns:")
            .unwrap_or(&c.client_id)
            .to_owned();
        let Some(leaf) = c.x5c.first() else {
            return Ok(Some("no certificate is stored".into()));
        };
        match x509::leaf_has_dns_san(leaf, &host) {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Some(format!(
                    "the leaf certificate has no DNS SAN {host} (the client_id host)"
                )));
            }
            Err(e) => return Ok(Some(format!("the leaf certificate does not parse: {e}"))),
        }
        match self.public_dns_name() {
            Some(public) if public == host => Ok(None),
            public => Ok(Some(format!(
                "client_id host {host} is not the public URL host {}",
                public.unwrap_or_else(|| "(an IP address)".into())
            ))),
        }
    }

    /// `GET /api/v1/verifiers/{verifier}`.
    pub async fn get_verifier(&self, id: &str) -> Result<Value> {
        let record = self.verifier_record(id).await?;
        self.verifier_object(&record)
    }

    /// `GET /api/v1/verifiers`: `{"items": [...]}`, the verifiers `visible` admits, by id
    /// (a scoped key sees only its verifiers).
    pub async fn list_verifiers_where(&self, visible: impl Fn(&str) -> bool) -> Result<Value> {
        let mut items = Vec::new();
        for record in self.deps.store.list_verifiers().await? {
            if visible(&record.id) {
                items.push(self.verifier_object(&record)?);
            }
        }
        Ok(json!({ "items": items }))
    }

    async fn verifier_record(&self, id: &str) -> Result<Arc<VerifierRecord>> {
        if !valid_slug(id) {
            return Err(VerifierError::NotFound("no such verifier".into()));
        }
        if let Some(r) = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
        {
            return Ok(r.clone());
        }
        let record = Arc::new(
            self.deps
                .store
                .get_verifier(id)
                .await?
                .ok_or_else(|| VerifierError::NotFound("no such verifier".into()))?,
        );
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_owned(), record.clone());
        Ok(record)
    }

    fn verifier_object(&self, r: &VerifierRecord) -> Result<Value> {
        let c = parse_config(&r.config)?;
        let mut o = json!({
            "id": r.id,
            "client_id_prefix": c.prefix.as_str(),
            "client_id": c.client_id,
            "display": r.config.get("display").cloned().unwrap_or(Value::Null),
            "trusted_issuers": c.trusted_issuers,
            "require_status": c.require_status,
            "trusted_issuer_anchors": c.issuer_anchors,
            "response_uri": self.response_uri(&r.id),
            "created_at": rfc3339(r.created_at),
        });
        if let Some(leaf) = c.x5c.first() {
            o["certificate"] = x509::to_pem(leaf).into();
        }
        if let Some(ca) = c.x5c.get(1).filter(|_| !c.x5c_configured) {
            // The anchor a wallet configures to trust this verifier's requests.
            o["trust_anchor"] = x509::to_pem(ca).into();
        }
        Ok(o)
    }

    pub(crate) async fn load_verifier(
        &self,
        id: &str,
    ) -> Result<(Arc<VerifierRecord>, VerifierConfig)> {
        let r = self.verifier_record(id).await?;
        let c = parse_config(&r.config)?;
        Ok((r, c))
    }

    /// Creates a presentation request (contract: "Presentation requests").
    /// `audit`: the management call's audit, whose entry is written with the request.
    pub async fn create_request(
        &self,
        verifier: &str,
        req: CreateRequest,
        audit: Option<&vdc_access::CallAudit>,
    ) -> Result<Value> {
        let (_, config) = self.load_verifier(verifier).await?;
        let dcql = DcqlQuery::parse(&req.dcql_query)?;
        let mode = ResponseMode::parse(req.response_mode.as_deref().unwrap_or("direct_post"))?;
        let ttl = req.expires_in.unwrap_or(DEFAULT_REQUEST_TTL);
        if !(1..=MAX_REQUEST_TTL).contains(&ttl) {
            return Err(VerifierError::InvalidRequest(
                "expires_in must be 1 s to 1 day".into(),
            ));
        }
        let post = match req.request_uri_method.as_deref() {
            None | Some("get") => false,
            Some("post") => true,
            Some(_) => {
                return Err(VerifierError::InvalidRequest(
                    "request_uri_method must be get or post".into(),
                ));
            }
        };
        if let Some(r) = &req.redirect_uri {
            match url::Url::parse(r) {
                Ok(u) if u.fragment().is_none() && matches!(u.scheme(), "https" | "http") => {}
                _ => {
                    return Err(VerifierError::InvalidRequest(
                        "redirect_uri must be an http(s) URL without fragment".into(),
                    ));
                }
            }
        }
        let rng = self.deps.rng.as_ref();
        let id = random_b64(rng, 16)?;
        // Spec: OID4VP 1.0 §14.1: fresh, high-entropy nonce per transaction; state per
        // transaction (§13.3).
        let nonce = random_b64(rng, 32)?;
        let state = random_b64(rng, 32)?;
        let now = self.now();
        let expires_at = now.plus(ttl);
        let mut client_metadata = json!({
            "vp_formats_supported": {
                "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256", "EdDSA"], "kb-jwt_alg_values": ["ES256", "EdDSA"]},
                "jwt_vc_json": {"alg_values": ["ES256", "EdDSA"]}
            }
        });
        let mut encrypted_response_key = None;
        if mode == ResponseMode::DirectPostJwt {
            // Spec: OID4VP 1.0 §8.3: a fresh ephemeral key per request; its kid names the
            // request so the response finds its key before decryption.
            let key = EcdhPrivateKey::generate(rng)?;
            client_metadata["jwks"] = json!({"keys": [key.public_jwk_value(Some(&id))]});
            client_metadata["encrypted_response_enc_values_supported"] =
                json!(["A128GCM", "A256GCM"]);
            encrypted_response_key = Some(self.seal(
                key.to_private_jwk().as_bytes(),
                &response_key_context(verifier, &id),
            )?);
        }
        let response_uri = self.response_uri(verifier);
        let mut claims = json!({
            "client_id": config.client_id,
            "response_type": "vp_token",
            "response_mode": mode.as_str(),
            "response_uri": response_uri,
            "nonce": nonce,
            "state": state,
            "dcql_query": dcql.to_value(),
            "client_metadata": client_metadata,
        });
        let record = PresentationRequestRecord {
            verifier_id: verifier.to_owned(),
            request_id: id.clone(),
            state_hash: SecretHash::of(&state),
            request: json!({"claims": claims, "redirect_uri": req.redirect_uri}),
            encrypted_response_key,
            status: PresentationStatus::Pending,
            result: None,
            error: None,
            response_code_hash: None,
            response_code_used_at: None,
            created_at: now,
            expires_at,
            finished_at: None,
        };
        // The call's audit entry commits with the request (one transaction, issue 11).
        let outbox = audit
            .and_then(|a| a.take(&id, 201))
            .map(vdc_store::Outbox::audit)
            .unwrap_or_default();
        self.deps
            .store
            .create_presentation_request(&record, &outbox)
            .await?;
        self.pending().insert(&record, now);
        let request_uri = self.request_uri(verifier, &id);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("client_id", &config.client_id);
        if config.prefix.signed() {
            q.append_pair("request_uri", &request_uri);
            if post {
                q.append_pair("request_uri_method", "post");
            }
        } else if let Some(o) = claims.as_object_mut() {
            // Spec: OID4VP 1.0 §5.9.3: redirect_uri requests cannot be signed: by value.
            for (k, v) in o.iter() {
                if k == "client_id" {
                    continue;
                }
                match v {
                    Value::String(s) => q.append_pair(k, s),
                    other => q.append_pair(k, &other.to_string()),
                };
            }
        }
        Ok(json!({
            "id": id,
            "request_uri": request_uri,
            "authorization_request": format!("openid4vp://?{}", q.finish()),
            "expires_at": rfc3339(expires_at),
        }))
    }

    pub(crate) async fn load_request(&self, verifier: &str, id: &str) -> Result<LoadedRequest> {
        let record = self
            .deps
            .store
            .get_presentation_request(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        loaded(record)
    }

    /// The signed request object (OID4VP 1.0 §5, RFC 9101) of a pending request, for
    /// `request_uri_method` get (`post` = None) or post (`post` = the form's
    /// `wallet_metadata` and `wallet_nonce`).
    pub async fn request_object(
        &self,
        verifier: &str,
        id: &str,
        post: Option<(Option<&str>, Option<&str>)>,
    ) -> Result<String> {
        let (record, config) = self.load_verifier(verifier).await?;
        if !config.prefix.signed() {
            return Err(VerifierError::InvalidRequest(
                "this verifier passes its requests by value".into(),
            ));
        }
        let pending = self
            .pending_by_id(verifier, id)
            .await?
            .ok_or_else(|| VerifierError::NotFound("no such presentation request".into()))?;
        let req = loaded(pending)?;
        if req.record.status != PresentationStatus::Pending || req.record.expires_at <= self.now() {
            return Err(VerifierError::NotPending);
        }
        let mut claims = req.claims.clone();
        let mut aud = SELF_ISSUED_AUD.to_owned();
        if let Some((metadata, wallet_nonce)) = post {
            if let Some(m) = metadata {
                let m: Value = serde_json::from_str(m).map_err(|_| {
                    VerifierError::InvalidRequest("wallet_metadata must be a JSON object".into())
                })?;
                if !m.is_object() {
                    return Err(VerifierError::InvalidRequest(
                        "wallet_metadata must be a JSON object".into(),
                    ));
                }
                // Spec: OID4VP 1.0 §5.8: aud is the wallet's issuer when it is known.
                if let Some(iss) = m.get("issuer").and_then(Value::as_str) {
                    aud = iss.to_owned();
                }
            }
            // Spec: OID4VP 1.0 §5.10: "the Verifier MUST use it as the wallet_nonce value".
            if let Some(n) = wallet_nonce {
                claims.insert("wallet_nonce".into(), n.into());
            }
        }
        let now = self.now();
        claims.insert("aud".into(), aud.into());
        claims.insert("iat".into(), now.secs().into());
        claims.insert("exp".into(), req.record.expires_at.secs().into());
        let key_json = self.open(&record.encrypted_signing_key, &key_context(verifier))?;
        let key_value: Value = serde_json::from_slice(&key_json)
            .map_err(|_| VerifierError::Internal("stored signing key unreadable".into()))?;
        let key = SigningKey::from_private_jwk(&key_value)?;
        let mut header = Map::new();
        header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
        let mut signer = LocalSigner::new(key);
        if !config.x5c.is_empty() {
            // A server-made chain: the leaf only, the CA is the anchor the wallet holds. An
            // operator's chain is sent as configured (RFC 7515 §4.1.6).
            let sent = if config.x5c_configured {
                &config.x5c[..]
            } else {
                &config.x5c[..1]
            };
            header.insert("x5c".into(), x509::to_x5c(sent));
            signer = signer.with_x5c(sent.to_vec());
        }
        if let Some(kid) = &config.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        Ok(jws::sign_with_options(header, &claims, &signer, false).await?)
    }

    /// `GET /api/v1/verifiers/{verifier}/requests/{id}`: the contract's result object; a
    /// pending request past its expiry becomes `expired`.
    pub async fn result(&self, verifier: &str, id: &str) -> Result<Value> {
        self.verifier_record(verifier).await?;
        let mut req = self.load_request(verifier, id).await?;
        let now = self.now();
        if req.record.status == PresentationStatus::Pending && req.record.expires_at <= now {
            self.expire(verifier, id).await?;
            req = self.load_request(verifier, id).await?;
        }
        Ok(result_object(&req.record))
    }

    /// The expiry sweep: marks up to `limit` pending requests past `expires_at` as expired
    /// and emits `presentation.expired` for each (issue 6: the event must not wait for
    /// someone to read the request). Returns how many expired.
    pub async fn expire_due(&self, limit: u32) -> Result<usize> {
        let event = |verifier: &str, id: &str| {
            self.event(
                vdc_store::events::EventKind::PresentationExpired,
                verifier,
                id,
                "expired",
                "system",
            )
        };
        // Each expired request's event commits with its expiry (the transactional outbox).
        let expired = self
            .deps
            .store
            .expire_due_presentation_requests(self.now(), limit, &|verifier, id| {
                self.outbox(&[event(verifier, id)])
            })
            .await?;
        let events: Vec<_> = expired.iter().map(|(v, id)| event(v, id)).collect();
        self.events.committed(&events);
        Ok(expired.len())
    }

    /// Redeems a same-device `response_code` once: the result of its verified request.
    pub async fn redeem_response_code(&self, verifier: &str, code: &str) -> Result<Value> {
        self.verifier_record(verifier).await?;
        let record = self
            .deps
            .store
            .redeem_response_code(verifier, &SecretHash::of(code), self.now())
            .await?
            .ok_or_else(|| VerifierError::NotFound("unknown or used response_code".into()))?;
        Ok(result_object(&record))
    }
}

pub(crate) fn result_object(r: &PresentationRequestRecord) -> Value {
    json!({
        "id": r.request_id,
        "status": r.status.as_str(),
        "presentation": r.result.clone().unwrap_or(Value::Null),
        "error": r.error.clone().unwrap_or(Value::Null),
        "created_at": rfc3339(r.created_at),
        "expires_at": rfc3339(r.expires_at),
    })
}

pub(crate) fn loaded(record: PresentationRequestRecord) -> Result<LoadedRequest> {
    let corrupt = || VerifierError::Internal("stored presentation request unreadable".into());
    let claims = record
        .request
        .get("claims")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(corrupt)?;
    let dcql = DcqlQuery::parse(claims.get("dcql_query").unwrap_or(&Value::Null))
        .map_err(|_| corrupt())?;
    let mode = ResponseMode::parse(
        claims
            .get("response_mode")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    )
    .map_err(|_| corrupt())?;
    Ok(LoadedRequest {
        record,
        claims,
        dcql,
        mode,
    })
}

fn parse_config(v: &Value) -> Result<VerifierConfig> {
    let corrupt = || VerifierError::Internal("stored verifier config unreadable".into());
    let prefix: ClientIdPrefix =
        serde_json::from_value(v.get("client_id_prefix").cloned().unwrap_or(Value::Null))
            .map_err(|_| corrupt())?;
    let strs = |name: &str| -> Vec<String> {
        v.get(name)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let x5c = strs("x5c")
        .iter()
        .map(|c| base64url::decode(c).map_err(|_| corrupt()))
        .collect::<Result<Vec<_>>>()?;
    Ok(VerifierConfig {
        prefix,
        client_id: v
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(corrupt)?
            .to_owned(),
        trusted_issuers: strs("trusted_issuers"),
        require_status: v
            .get("require_status")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        x5c,
        kid: v.get("kid").and_then(Value::as_str).map(str::to_owned),
        x5c_configured: v
            .get("x5c_configured")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        issuer_anchors: strs("trusted_issuer_anchors"),
    })
}

pub(crate) fn response_key(
    v: &Verifier,
    verifier: &str,
    req: &LoadedRequest,
) -> Result<Option<EcdhPrivateKey>> {
    let Some(sealed) = &req.record.encrypted_response_key else {
        return Ok(None);
    };
    let jwk = v.open(
        sealed,
        &response_key_context(verifier, &req.record.request_id),
    )?;
    let jwk: Value = serde_json::from_slice(&jwk)
        .map_err(|_| VerifierError::Internal("stored response key unreadable".into()))?;
    Ok(Some(EcdhPrivateKey::from_private_jwk(&jwk)?))
}
