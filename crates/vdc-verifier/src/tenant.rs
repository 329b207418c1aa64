//! Verifier tenants (contract: "Verifiers"): their definitions, client identifier prefixes
//! (OID4VP 1.0 §5.9.3: `x509_san_dns`, `x509_hash`, `decentralized_identifier`,
//! `redirect_uri`), the x509 material that signs their requests, and creating, reading and
//! listing them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::jose::{Algorithm, SigningKey};
use vdc_core::x509::{self, TrustAnchors};
use vdc_store::{StoreError, VerifierRecord};

use crate::error::{Result, VerifierError};
use crate::keys::Identity;
use crate::service::{Verifier, rfc3339};
use crate::transaction_data::TransactionDataTypes;
use crate::trust::DeploymentKeyResolver;

/// The validity of server-made verifier certificates (one year).
pub(crate) const CERT_VALIDITY_SECS: i64 = 365 * 24 * 3600;

/// A client identifier prefix (OID4VP 1.0 §5.9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    pub(crate) fn signed(self) -> bool {
        self != Self::RedirectUri
    }
}

/// `POST /api/v1/verifiers`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "acme-verifier",
    "client_id_prefix": "x509_san_dns",
    "display": {"name": "ACME door"},
    "trusted_issuers": ["https://vdc.example.com/issuers/acme"]
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
    /// Credential issuer identifiers whose credentials are accepted, exactly as the
    /// credentials' `iss`: for an issuer of this server `{public_url}/issuers/{id}` (with
    /// this deployment's `VDC_PUBLIC_URL`, not the example's host).
    #[serde(default)]
    pub trusted_issuers: Vec<String>,
    /// Whether credentials without a `status` claim are refused (default false).
    #[serde(default)]
    pub require_status: bool,
    /// PEM certificates: foreign trusted issuers may sign with an `x5c` chain ending at one
    /// of them.
    #[serde(default)]
    pub trusted_issuer_anchors: Vec<String>,
    /// PEM IACA root certificates (ISO/IEC 18013-5 Annex B): `mso_mdoc` credentials are
    /// accepted when their Document Signer chains to one of them. At most
    /// [`MAX_TRUSTED_IACA`], one CA certificate of at most 16 KiB each.
    #[serde(default)]
    pub trusted_iaca: Vec<String>,
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
    /// Whether the verifier is switched off: its wallet-facing endpoints answer `404`
    /// (contract-next "Managing tenants"); default false.
    #[serde(default)]
    pub disabled: bool,
    /// HAIP 1.0 mode (contract-next "HAIP mode"): the `x509_hash` prefix with a CA-issued
    /// certificate whose chain omits its trust anchor (§5), `direct_post.jwt` responses only
    /// and response codes redeemed with their request id (§5.1). Absent on create: the
    /// server-wide default (`VDC_HAIP`).
    #[serde(default)]
    pub haip: Option<bool>,
    /// Verifier attestations attached to every request (OID4VP 1.0 §5.1 `verifier_info`),
    /// e.g. a registration certificate JWT. At most [`MAX_VERIFIER_INFO`] entries.
    #[serde(default)]
    pub verifier_info: Vec<VerifierInfo>,
    /// The transaction data types requests may carry (OID4VP 1.0 §5.1 `transaction_data`;
    /// contract-next "Presentation requests"), by `type`.
    #[serde(default)]
    pub transaction_data_types: TransactionDataTypes,
}

/// Most `verifier_info` entries a verifier configures.
pub const MAX_VERIFIER_INFO: usize = 16;
/// Longest `verifier_info` entry (its JSON).
const MAX_VERIFIER_INFO_LEN: usize = 16 * 1024;

/// One attestation about the verifier (OID4VP 1.0 §5.1 `verifier_info`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"format": "jwt", "data": "eyJhbGciOiJFUzI1NiJ9...",
    "credential_ids": ["badge"]}))]
pub struct VerifierInfo {
    /// The attestation's format (collision-resistant identifier).
    pub format: String,
    /// The attestation: a JSON object or a string (e.g. a JWT).
    #[schema(value_type = Object)]
    pub data: Value,
    /// The DCQL credential query ids it is relevant to; absent: every requested credential.
    /// In a request only the ids its query has are kept (an entry naming none is left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ids: Option<Vec<String>>,
}

/// Checks configured `verifier_info` entries (the shape of OID4VP 1.0 §5.1).
fn check_verifier_info(info: &[VerifierInfo]) -> Result<()> {
    let bad = |m: String| VerifierError::InvalidRequest(format!("verifier_info: {m}"));
    if info.len() > MAX_VERIFIER_INFO {
        return Err(bad(format!("at most {MAX_VERIFIER_INFO} entries")));
    }
    for (i, e) in info.iter().enumerate() {
        if e.format.is_empty() || e.format.len() > 256 {
            return Err(bad(format!(
                "entry {i}: format must be 1 to 256 characters"
            )));
        }
        match &e.data {
            Value::String(s) if !s.is_empty() => {}
            Value::Object(_) => {}
            _ => {
                return Err(bad(format!(
                    "entry {i}: data must be a non-empty string or an object"
                )));
            }
        }
        if let Some(ids) = &e.credential_ids
            && (ids.is_empty() || ids.iter().any(|id| id.is_empty()))
        {
            return Err(bad(format!(
                "entry {i}: credential_ids must be a non-empty array of ids"
            )));
        }
        if serde_json::to_vec(e).map_or(usize::MAX, |v| v.len()) > MAX_VERIFIER_INFO_LEN {
            return Err(bad(format!("entry {i} is larger than 16 KiB")));
        }
    }
    Ok(())
}

/// The `verifier_info` of a request whose DCQL query has the credential ids `ids`: each
/// entry with its `credential_ids` narrowed to those ids, entries naming none left out.
pub(crate) fn request_verifier_info(info: &[VerifierInfo], ids: &[&str]) -> Vec<VerifierInfo> {
    info.iter()
        .filter_map(|e| match &e.credential_ids {
            None => Some(e.clone()),
            Some(wanted) => {
                let kept: Vec<String> = wanted
                    .iter()
                    .filter(|w| ids.contains(&w.as_str()))
                    .cloned()
                    .collect();
                (!kept.is_empty()).then(|| VerifierInfo {
                    credential_ids: Some(kept),
                    ..e.clone()
                })
            }
        })
        .collect()
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

/// A verifier (contract: "Verifiers").
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "acme-verifier",
    "client_id_prefix": "x509_san_dns",
    "client_id": "x509_san_dns:127.0.0.1",
    "display": {"name": "ACME door"},
    "trusted_issuers": ["https://vdc.example.com/issuers/acme"],
    "require_status": false,
    "trusted_issuer_anchors": [],
    "trusted_iaca": [],
    "response_uri": "http://127.0.0.1:8080/verifiers/acme-verifier/response",
    "created_at": "2026-01-01T12:00:00Z"
}))]
pub struct VerifierObject {
    /// The slug.
    pub id: String,
    /// The client identifier prefix.
    pub client_id_prefix: ClientIdPrefix,
    /// The `client_id` wallets see (OID4VP 1.0 §5.9).
    pub client_id: String,
    /// Display information as created; null without it.
    pub display: Option<Value>,
    /// Credential issuer identifiers whose credentials are accepted.
    pub trusted_issuers: Vec<String>,
    /// Whether credentials without a `status` claim are refused.
    pub require_status: bool,
    /// PEM trust anchors for foreign issuers' `x5c` chains.
    pub trusted_issuer_anchors: Vec<String>,
    /// PEM IACA roots for `mso_mdoc` credentials.
    pub trusted_iaca: Vec<String>,
    /// The response URI wallets post to.
    pub response_uri: String,
    /// When the verifier was created (RFC 3339).
    pub created_at: String,
    /// The request-signing leaf certificate (PEM), for the `x509_*` prefixes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The CA a wallet configures to trust this verifier's requests, when the server made
    /// the certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
    /// Whether the verifier is disabled (its wallet-facing endpoints answer `404`).
    pub disabled: bool,
    /// Whether the verifier runs in HAIP 1.0 mode (`GET .../haip` lists its rules).
    pub haip: bool,
    /// Verifier attestations attached to every request.
    pub verifier_info: Vec<VerifierInfo>,
    /// The transaction data types requests may carry.
    pub transaction_data_types: TransactionDataTypes,
}

/// One page of the verifiers the caller may read, by id (contract-next "Managing
/// tenants").
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VerifierList {
    /// The verifiers, by id.
    pub items: Vec<VerifierObject>,
    /// The `cursor` of the next page; null on the last.
    pub next: Option<String>,
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
    /// PEM IACA roots for `mso_mdoc` (one certificate each, checked when stored).
    pub(crate) trusted_iaca: Vec<String>,
    /// Whether wallets are refused (`404`).
    pub(crate) disabled: bool,
    /// Whether the verifier runs in HAIP 1.0 mode.
    pub(crate) haip: bool,
    /// `verifier_info` attached to requests (checked when stored).
    pub(crate) verifier_info: Vec<VerifierInfo>,
    /// Transaction data types (checked when stored).
    pub(crate) transaction_data_types: TransactionDataTypes,
}

impl VerifierConfig {
    /// The `x5c` its signed requests carry: an operator's chain as configured, else the
    /// server-made leaf alone (its CA is the anchor wallets hold).
    pub(crate) fn sent_x5c(&self) -> &[Vec<u8>] {
        if self.x5c_configured {
            &self.x5c
        } else {
            self.x5c.get(..1).unwrap_or_default()
        }
    }

    /// What the HAIP 1.0 rules look at.
    pub(crate) fn haip_subject(&self) -> crate::haip::HaipSubject<'_> {
        crate::haip::HaipSubject {
            haip: self.haip,
            prefix: self.prefix,
            sent_x5c: self.sent_x5c(),
        }
    }
}

pub use vdc_http::tenant_url::is_slug as valid_slug;

pub(crate) fn key_context(verifier: &str) -> String {
    vdc_store::sealed::context::verifier_signing_key(verifier)
}

impl Verifier {
    /// The issuer-key policy of a verifier (built once, then shared).
    pub(crate) fn resolver(
        &self,
        verifier: &str,
        config: &VerifierConfig,
    ) -> Result<Arc<DeploymentKeyResolver>> {
        // A poisoned map only holds shareable policies; keep using it.
        let mut map = self.resolvers.lock().unwrap_or_else(|e| e.into_inner());
        let trust = (
            config.trusted_issuers.clone(),
            config.issuer_anchors.clone(),
        );
        // Kept while the verifier's trust settings are the ones it was built from (a
        // `PATCH` may change them).
        if let Some((built_from, r)) = map.get(verifier)
            && *built_from == trust
        {
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
        map.insert(verifier.to_owned(), (trust, resolver.clone()));
        Ok(resolver)
    }

    /// The DNS name for `x509_san_dns`: the public URL's host, or `localhost` when it is a
    /// loopback address (a DNS SAN cannot hold an IP address); `None` for other IP hosts.
    pub(crate) fn public_dns_name(&self) -> Option<String> {
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
    pub async fn create_verifier(&self, def: VerifierDefinition) -> Result<VerifierObject> {
        if !valid_slug(&def.id) {
            return Err(VerifierError::InvalidRequest(
                "id must match ^[a-z0-9][a-z0-9-]{0,62}$".into(),
            ));
        }
        check_anchors(&def.trusted_issuer_anchors)?;
        check_iaca(&def.trusted_iaca)?;
        check_verifier_info(&def.verifier_info)?;
        crate::transaction_data::check_types(&def.transaction_data_types)?;
        let haip = def.haip.unwrap_or(self.settings.haip_default);
        // Spec: HAIP 1.0 §5: "the Verifier MUST use ... the Client Identifier Prefix
        // `x509_hash`" (refused before any key or certificate is made).
        if haip && def.client_id_prefix != ClientIdPrefix::X509Hash {
            return Err(VerifierError::InvalidRequest(format!(
                "HAIP 1.0 §5: a HAIP verifier must use the client_id_prefix x509_hash, not {}",
                def.client_id_prefix.as_str()
            )));
        }
        let rng = self.deps.rng.as_ref();
        let now = self.now();
        let (key, configured) = match self.configured_certificate(&def)? {
            Some((key, chain)) => (key, Some(chain)),
            None => (SigningKey::generate(Algorithm::Es256, rng)?, None),
        };
        let Identity {
            client_id,
            x5c,
            x5c_configured,
            header_kid: kid,
        } = self.identity(
            &def.id,
            def.client_id_prefix,
            key.public_key(),
            configured,
            now,
        )?;
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
            "trusted_iaca": def.trusted_iaca,
            "disabled": def.disabled,
            "haip": haip,
            "verifier_info": def.verifier_info,
            "transaction_data_types": def.transaction_data_types,
        });
        // Spec: HAIP 1.0 §5: the request's x5c excludes the trust anchor and its signing
        // certificate is not self-signed (an operator's chain is sent as configured).
        if let Some(why) = crate::haip::refusal(&parse_config(&config)?.haip_subject()) {
            return Err(VerifierError::InvalidRequest(why));
        }
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
    pub async fn get_verifier(&self, id: &str) -> Result<VerifierObject> {
        let record = self.verifier_record(id).await?;
        self.verifier_object(&record)
    }

    /// `GET /api/v1/verifiers`: `{"items": [...]}`, the verifiers `visible` admits, by id
    /// (a scoped key sees only its verifiers).
    pub async fn list_verifiers_where(
        &self,
        visible: impl Fn(&str) -> bool,
    ) -> Result<VerifierList> {
        let mut items = Vec::new();
        for record in self.deps.store.list_verifiers().await? {
            if visible(&record.id) {
                items.push(self.verifier_object(&record)?);
            }
        }
        Ok(VerifierList { items, next: None })
    }

    /// `GET /api/v1/verifiers?limit=&cursor=`: at most `limit` verifiers after `after`, by
    /// id. `only`: a scoped key's verifiers (`None`: every verifier, the admin key). Read
    /// from the store, not cached.
    pub async fn list_verifiers_page(
        &self,
        only: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<VerifierList> {
        let limit = limit.max(1);
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut records = Vec::new();
        match only {
            // One more than the page tells whether another page follows.
            None => {
                records = self
                    .deps
                    .store
                    .list_verifiers_page(after, limit + 1)
                    .await?;
            }
            Some(ids) => {
                let mut ids: Vec<&String> = ids
                    .iter()
                    .filter(|id| after.is_none_or(|a| id.as_str() > a))
                    .collect();
                ids.sort();
                ids.dedup();
                for id in ids {
                    if records.len() > wanted {
                        break;
                    }
                    match self.verifier_record(id).await {
                        Ok(r) => records.push(r.as_ref().clone()),
                        Err(VerifierError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        let more = records.len() > wanted;
        records.truncate(wanted);
        let next = more
            .then(|| {
                records
                    .last()
                    .map(|r| vdc_access::page::tenant_cursor(&r.id))
            })
            .flatten();
        let items = records
            .iter()
            .map(|r| self.verifier_object(r))
            .collect::<Result<Vec<_>>>()?;
        Ok(VerifierList { items, next })
    }

    /// `PATCH /api/v1/verifiers/{verifier}`: `patch` (members of the create body, not `id`)
    /// replaces those members; the result is validated as a create body is. What decides
    /// the `client_id` and the request-signing key (`client_id_prefix`,
    /// `certificate_chain`, `signing_key`) cannot change: wallets and relying parties
    /// pinned them.
    pub async fn update_verifier(
        &self,
        id: &str,
        patch: serde_json::Map<String, Value>,
    ) -> Result<VerifierObject> {
        let bad = |m: String| VerifierError::InvalidRequest(m);
        let (record, c) = self.load_verifier(id).await?;
        for member in ["id", "certificate_chain", "signing_key"] {
            if patch.contains_key(member) {
                return Err(bad(format!(
                    "{member} cannot be changed (create another verifier instead)"
                )));
            }
        }
        let mut merged = serde_json::Map::new();
        merged.insert("id".into(), json!(id));
        merged.insert("client_id_prefix".into(), json!(c.prefix.as_str()));
        if let Some(d) = record.config.get("display").filter(|d| !d.is_null()) {
            merged.insert("display".into(), d.clone());
        }
        merged.insert("trusted_issuers".into(), json!(c.trusted_issuers));
        merged.insert("require_status".into(), json!(c.require_status));
        merged.insert("trusted_issuer_anchors".into(), json!(c.issuer_anchors));
        merged.insert("trusted_iaca".into(), json!(c.trusted_iaca));
        merged.insert("disabled".into(), json!(c.disabled));
        merged.insert("haip".into(), json!(c.haip));
        merged.insert("verifier_info".into(), json!(c.verifier_info));
        merged.insert(
            "transaction_data_types".into(),
            json!(c.transaction_data_types),
        );
        merged.extend(patch);
        let def: VerifierDefinition = vdc_http::extract::from_value_strict(Value::Object(merged))
            .map_err(|e| bad(e.description))?;
        if def.client_id_prefix != c.prefix {
            return Err(bad(
                "client_id_prefix cannot be changed: the client_id is derived from it".into(),
            ));
        }
        check_anchors(&def.trusted_issuer_anchors)?;
        check_iaca(&def.trusted_iaca)?;
        check_verifier_info(&def.verifier_info)?;
        crate::transaction_data::check_types(&def.transaction_data_types)?;
        let haip = def.haip.unwrap_or(c.haip);
        // Switching HAIP mode on holds the stored prefix and chain to HAIP 1.0 §5.
        if let Some(why) =
            crate::haip::refusal(&VerifierConfig { haip, ..c.clone() }.haip_subject())
        {
            return Err(bad(why));
        }
        let mut config = record.config.clone();
        if let Some(o) = config.as_object_mut() {
            o.insert("display".into(), json!(def.display));
            o.insert("trusted_issuers".into(), json!(def.trusted_issuers));
            o.insert("require_status".into(), json!(def.require_status));
            o.insert(
                "trusted_issuer_anchors".into(),
                json!(def.trusted_issuer_anchors),
            );
            o.insert("trusted_iaca".into(), json!(def.trusted_iaca));
            o.insert("disabled".into(), json!(def.disabled));
            o.insert("haip".into(), json!(haip));
            o.insert("verifier_info".into(), json!(def.verifier_info));
            o.insert(
                "transaction_data_types".into(),
                json!(def.transaction_data_types),
            );
        }
        match self.deps.store.update_verifier_config(id, &config).await {
            Ok(()) => {}
            Err(StoreError::NotFound(_)) => {
                return Err(VerifierError::NotFound("no such verifier".into()));
            }
            Err(e) => return Err(e.into()),
        }
        let updated = Arc::new(VerifierRecord {
            config,
            ..record.as_ref().clone()
        });
        // This instance serves the change at once; others within RECORD_CACHE_TTL.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_owned(), (updated.clone(), std::time::Instant::now()));
        self.verifier_object(&updated)
    }

    /// The verifier for a wallet-facing endpoint: `not_found` when unknown or disabled
    /// (contract-next "Managing tenants").
    pub(crate) async fn wallet_verifier(
        &self,
        id: &str,
    ) -> Result<(Arc<VerifierRecord>, VerifierConfig)> {
        let (r, c) = self.load_verifier(id).await?;
        if c.disabled {
            return Err(VerifierError::NotFound("no such verifier".into()));
        }
        Ok((r, c))
    }

    pub(crate) async fn verifier_record(&self, id: &str) -> Result<Arc<VerifierRecord>> {
        if !valid_slug(id) {
            return Err(VerifierError::NotFound("no such verifier".into()));
        }
        if let Some((r, read_at)) = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            && read_at.elapsed() < crate::service::RECORD_CACHE_TTL
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
            .insert(id.to_owned(), (record.clone(), std::time::Instant::now()));
        Ok(record)
    }

    fn verifier_object(&self, r: &VerifierRecord) -> Result<VerifierObject> {
        let c = self.with_active_key(r, parse_config(&r.config)?)?;
        Ok(VerifierObject {
            id: r.id.clone(),
            client_id_prefix: c.prefix,
            client_id: c.client_id,
            display: r.config.get("display").filter(|d| !d.is_null()).cloned(),
            trusted_issuers: c.trusted_issuers,
            require_status: c.require_status,
            trusted_issuer_anchors: c.issuer_anchors,
            trusted_iaca: c.trusted_iaca,
            response_uri: self.response_uri(&r.id),
            created_at: rfc3339(r.created_at),
            certificate: c.x5c.first().map(|leaf| x509::to_pem(leaf)),
            // The anchor a wallet configures to trust this verifier's requests.
            trust_anchor: c
                .x5c
                .get(1)
                .filter(|_| !c.x5c_configured)
                .map(|ca| x509::to_pem(ca)),
            disabled: c.disabled,
            haip: c.haip,
            verifier_info: c.verifier_info,
            transaction_data_types: c.transaction_data_types,
        })
    }

    /// `GET /api/v1/verifiers/{verifier}/haip`: every verifier-side HAIP 1.0 rule, met or not
    /// for this verifier (contract-next "HAIP mode").
    pub async fn haip_report(&self, id: &str) -> Result<vdc_http::haip::HaipReport> {
        let (_, c) = self.load_verifier(id).await?;
        Ok(crate::haip::verifier_rules(&c.haip_subject()))
    }

    pub(crate) async fn load_verifier(
        &self,
        id: &str,
    ) -> Result<(Arc<VerifierRecord>, VerifierConfig)> {
        let r = self.verifier_record(id).await?;
        let c = self.with_active_key(&r, parse_config(&r.config)?)?;
        Ok((r, c))
    }
}

impl Verifier {
    /// Whether the public URL's host can be an `x509_san_dns` client_id (a DNS name, or
    /// loopback as `localhost`); an IP address cannot (a DNS SAN holds no IP).
    pub fn public_host_is_dns_name(&self) -> bool {
        self.public_dns_name().is_some()
    }

    /// Brings a verifier whose certificate the server made up to date with this
    /// deployment's public URL: `trusted_issuers` and `prefix` as given, and, when the
    /// prefix or the public host changed, a new CA and leaf for the same signing key (so
    /// the `client_id` and the SAN name the current host). Nothing is written when all
    /// agrees, so the trust anchor wallets hold survives ordinary restarts. Returns the
    /// verifier and whether it changed. `vdc serve --demo` does this for the demo verifier,
    /// which the demo owns; operators' verifiers are never rewritten.
    pub async fn align_with_public_url(
        &self,
        id: &str,
        prefix: ClientIdPrefix,
        trusted_issuers: Vec<String>,
    ) -> Result<(VerifierObject, bool)> {
        // Read from the store, not the cache: another instance may have changed it.
        self.forget(id);
        let (record, c) = self.load_verifier(id).await?;
        if self.keys_of(&record, &c)?.rotated {
            // Its keys were rotated: each carries its own certificate, made when it was
            // added; re-deriving one here would take it from under pending requests.
            return Ok((self.verifier_object(&record)?, false));
        }
        if c.x5c_configured
            || !matches!(
                prefix,
                ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash
            )
        {
            return Err(VerifierError::InvalidRequest(
                "only a verifier with a server-made x509 certificate is re-derived".into(),
            ));
        }
        let host = self.public_dns_name();
        let cert_ok = c.prefix == prefix
            && match prefix {
                ClientIdPrefix::X509SanDns => host.as_ref().is_some_and(|h| {
                    c.client_id == format!("x509_san_dns:{h}")
                        && c.x5c
                            .first()
                            .is_some_and(|leaf| x509::leaf_has_dns_san(leaf, h).unwrap_or(false))
                }),
                _ => c.x5c.len() == 2,
            };
        if cert_ok && c.trusted_issuers == trusted_issuers {
            return Ok((self.verifier_object(&record)?, false));
        }
        let mut config = record.config.clone();
        config["trusted_issuers"] = json!(trusted_issuers);
        if !cert_ok {
            if prefix == ClientIdPrefix::X509SanDns && host.is_none() {
                return Err(VerifierError::InvalidRequest(
                    "x509_san_dns needs a DNS name (or loopback) host in the public URL".into(),
                ));
            }
            let key_json = self.open(&record.encrypted_signing_key, &key_context(id))?;
            let key_value: Value = serde_json::from_slice(&key_json)
                .map_err(|_| VerifierError::Internal("stored signing key unreadable".into()))?;
            let key = SigningKey::from_private_jwk(&key_value)?;
            // A new CA and leaf for the same key, as a new verifier gets them.
            let identity = self.identity(id, prefix, key.public_key(), None, self.now())?;
            let client_id = identity.client_id;
            let x5c = identity.x5c;
            config["client_id_prefix"] = json!(prefix.as_str());
            config["client_id"] = json!(client_id);
            config["x5c"] = json!(x5c.iter().map(base64url::encode).collect::<Vec<_>>());
        }
        self.deps.store.update_verifier_config(id, &config).await?;
        self.forget(id);
        let updated = VerifierRecord {
            config,
            ..(*record).clone()
        };
        Ok((self.verifier_object(&updated)?, true))
    }

    /// Drops a verifier's cached record and issuer-key policy (it changed).
    pub(crate) fn forget(&self, id: &str) {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
        self.resolvers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }
}

/// Every trust anchor is PEM certificates.
fn check_anchors(anchors: &[String]) -> Result<()> {
    for pem in anchors {
        TrustAnchors::from_pem(pem)
            .map_err(|e| VerifierError::InvalidRequest(format!("trusted_issuer_anchors: {e}")))?;
    }
    Ok(())
}

/// Most IACA roots one verifier trusts.
pub const MAX_TRUSTED_IACA: usize = 16;
/// Largest PEM text of one IACA root.
const MAX_IACA_PEM_LEN: usize = 16 * 1024;

/// Every `trusted_iaca` entry is one PEM CA certificate (ISO/IEC 18013-5 Annex B.1.2: the
/// IACA root certificate has basicConstraints cA TRUE); bounded in number and size.
fn check_iaca(iaca: &[String]) -> Result<()> {
    let bad = |m: String| VerifierError::InvalidRequest(format!("trusted_iaca: {m}"));
    if iaca.len() > MAX_TRUSTED_IACA {
        return Err(bad(format!("at most {MAX_TRUSTED_IACA} certificates")));
    }
    for pem in iaca {
        if pem.len() > MAX_IACA_PEM_LEN {
            return Err(bad("a certificate is at most 16 KiB of PEM".into()));
        }
        let certs = x509::pem_to_der_certs(pem).map_err(|e| bad(e.to_string()))?;
        let [der] = certs.as_slice() else {
            return Err(bad("each entry is exactly one PEM certificate".into()));
        };
        TrustAnchors::from_der_certs(vec![der.clone()]).map_err(|e| bad(e.to_string()))?;
        if crate::trust::der_name::is_ca(der) != Some(true) {
            return Err(bad(
                "an IACA root must be a CA certificate (basicConstraints cA TRUE)".into(),
            ));
        }
    }
    Ok(())
}

/// The DER certificates of stored (checked) `trusted_iaca` PEM entries.
pub(crate) fn iaca_anchors(iaca: &[String]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(iaca.len());
    for pem in iaca {
        out.extend(
            x509::pem_to_der_certs(pem)
                .map_err(|e| VerifierError::Internal(format!("stored trusted_iaca: {e}")))?,
        );
    }
    Ok(out)
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
        // Rows from before mdoc presentations: no IACA is trusted.
        trusted_iaca: strs("trusted_iaca"),
        disabled: v.get("disabled").and_then(Value::as_bool).unwrap_or(false),
        // Rows from before HAIP mode: not in it.
        haip: v.get("haip").and_then(Value::as_bool).unwrap_or(false),
        // Rows from before verifier_info / transaction data: none.
        verifier_info: member(v, "verifier_info")?,
        transaction_data_types: member(v, "transaction_data_types")?,
    })
}

/// A stored config member, its default when absent.
fn member<T: serde::de::DeserializeOwned + Default>(v: &Value, name: &str) -> Result<T> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(m) => serde_json::from_value(m.clone()).map_err(|_| {
            VerifierError::Internal(format!("stored verifier config member {name} unreadable"))
        }),
    }
}
