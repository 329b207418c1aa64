//! The issuer part of the management API (`docs/contract/management-api.md`: "Issuers",
//! "Credential offers", "Issued credentials").

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use vdc_core::base64url;
use vdc_core::jose::SigningKey;
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_status::{CredentialObject, StatusListReference};
use vdc_store::{IssuerRecord, OfferRecord, Outbox, SecretHash, StoreError};

use crate::definition::{ClaimMapping, CredentialConfiguration, IssuerDefinition, WalletClient};
use crate::error::{IssuerError, Result};
use crate::metadata::PRE_AUTHORIZED_GRANT;
use crate::oid4vci::{CredentialOffer, TxCode};
use crate::service::Issuer;

/// Longest offer lifetime (contract: 1 s to 30 days).
pub const MAX_OFFER_TTL: i64 = 30 * 24 * 3600;

/// `POST /api/v1/issuers/{issuer}/offers`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "credential_configuration_ids": ["EmployeeBadge"],
    "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1"}},
    "grant": "pre-authorized_code",
    "tx_code": {"length": 6, "input_mode": "numeric"},
    "expires_in": 600
}))]
pub struct CreateOffer {
    /// The configurations offered (at least one).
    pub credential_configuration_ids: Vec<String>,
    /// Claims by configuration id.
    #[serde(default)]
    pub claims: BTreeMap<String, Value>,
    /// `pre-authorized_code` (default) or `authorization_code`.
    #[serde(default)]
    pub grant: Option<String>,
    /// Transaction code requirements.
    #[serde(default)]
    pub tx_code: Option<TxCodeSpec>,
    /// Lifetime in seconds.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// Whether issuance is deferred until the claims are supplied.
    #[serde(default)]
    pub deferred: bool,
}

/// The `tx_code` object of an offer (OID4VCI 1.0 §4.1.1).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TxCodeSpec {
    /// Number of characters (default 6; 4 to 12).
    #[serde(default)]
    pub length: Option<usize>,
    /// `numeric` (default) or `text`.
    #[serde(default)]
    pub input_mode: Option<String>,
    /// Guidance for the user (at most 300 characters).
    #[serde(default)]
    pub description: Option<String>,
}

/// An issuer: its create body as stored, plus its identifier and published configurations.
// The members of `IssuerDefinition` as it serializes (never `signing_key`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "acme",
    "display": [{"name": "ACME Corp", "locale": "en"}],
    "signing_alg": "ES256",
    "credential_configurations": {"EmployeeBadge": {"format": "dc+sd-jwt",
        "vct": "https://acme.example/vct/employee-badge",
        "claims": [{"path": ["employee_id"], "mandatory": true}],
        "cryptographic_binding_methods_supported": ["jwk"]}},
    "credential_issuer": "http://127.0.0.1:8080/issuers/acme",
    "credential_configurations_supported": {"EmployeeBadge": {"format": "dc+sd-jwt",
        "vct": "https://acme.example/vct/employee-badge"}}
}))]
pub struct IssuerObject {
    /// The slug.
    pub id: String,
    /// Issuer display objects (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
    /// The credential signing algorithm.
    pub signing_alg: String,
    /// The credential configurations by id, as created.
    pub credential_configurations: BTreeMap<String, CredentialConfiguration>,
    /// The largest number of key proofs in one credential request, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// The signing key's certificate chain, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// The credential issuer identifier (`{base}/issuers/{issuer}`).
    pub credential_issuer: String,
    /// Exactly what the issuer's OID4VCI metadata publishes (OID4VCI 1.0 §12.2.4).
    pub credential_configurations_supported: BTreeMap<String, Value>,
    /// The enterprise's OpenID Provider (contract-next "IdP login"; the secret is never
    /// shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<IdentityProviderObject>,
    /// Whether authorization requests must be pushed (RFC 9126), when the flow is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_par: Option<bool>,
    /// Whether every access token must be DPoP-bound.
    pub require_dpop: bool,
    /// The registered wallets (empty: any public client, contract-next "IdP login").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wallet_clients: Vec<WalletClient>,
    /// The enterprise back end answering the claims of a logged-in subject, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_endpoint: Option<String>,
    /// The claims endpoint's signing secret (`whsec_...`, Standard Webhooks). Only in the
    /// answer that created the issuer, and only when vdc generated it; never read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub claims_endpoint_secret: Option<ShownOnce>,
    /// Whether the issuer is disabled (its wallet-facing endpoints answer `404`).
    pub disabled: bool,
    /// Whether the issuer runs in HAIP 1.0 mode (contract-next "HAIP mode").
    pub haip: bool,
    /// PEM trust anchors for wallet attestations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub wallet_attestation_trust_anchors: Vec<String>,
    /// PEM trust anchors for key attestations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_attestation_trust_anchors: Vec<String>,
    /// Whether credential requests and responses must be encrypted.
    pub require_credential_encryption: bool,
    /// Whether the Credential Issuer Metadata is also served signed (`application/jwt`,
    /// OID4VCI 1.0 §12.2.3).
    pub signed_metadata: bool,
    /// The signing key's certificate (PEM, the leaf of `x5c`), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The trust anchor of the chain vdc made in HAIP mode (PEM, a per-issuer CA; never in
    /// `x5c`): wallets and verifiers validate the issuer's `x5c` against it. Also served at
    /// `GET /issuers/{issuer}/trust-anchor.pem`. Absent with an operator's chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
}

/// The PEM of the first certificate of a stored `x5c` (validated on create).
fn leaf_pem(x5c: Option<&[String]>) -> Option<String> {
    let chain = vdc_core::x509::parse_x5c(&json!(x5c?)).ok()?;
    chain.first().map(|leaf| vdc_core::x509::to_pem(leaf))
}

/// A secret shown once; `Debug` never prints it.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct ShownOnce(pub String);

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// The identity provider as the management API shows it: without the client secret, with
/// the redirect URI to register at the provider.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IdentityProviderObject {
    /// The provider's issuer identifier.
    pub issuer: String,
    /// vdc's client id at the provider.
    pub client_id: String,
    /// The scopes vdc asks for.
    pub scopes: Vec<String>,
    /// Which credential claim comes from which login claim.
    pub claim_mapping: Vec<ClaimMapping>,
    /// vdc's redirect URI at the provider: `{base}/issuers/{issuer}/authorize/callback`.
    pub redirect_uri: String,
}

/// One page of issuers, by id (contract-next "Managing tenants").
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuerList {
    /// The issuers.
    pub items: Vec<IssuerObject>,
    /// The `cursor` of the next page; null on the last.
    pub next: Option<String>,
}

/// A created credential offer (contract: "Credential offers").
// `Debug` (below) hides the codes.
#[derive(Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "o-3kP9",
    "credential_offer": {"credential_issuer": "http://127.0.0.1:8080/issuers/acme",
        "credential_configuration_ids": ["EmployeeBadge"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code":
            {"pre-authorized_code": "…", "tx_code": {"length": 6, "input_mode": "numeric"}}}},
    "credential_offer_uri": "http://127.0.0.1:8080/issuers/acme/offers/o-3kP9",
    "offer_uri": "openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fissuers%2Facme%2Foffers%2Fo-3kP9",
    "tx_code": "493027",
    "expires_at": "2026-01-01T12:10:00Z"
}))]
pub struct OfferCreated {
    /// The offer id.
    pub id: String,
    /// The OID4VCI credential offer object (OID4VCI 1.0 §4.1.1).
    pub credential_offer: CredentialOffer,
    /// Where wallets fetch the offer by reference.
    pub credential_offer_uri: String,
    /// The `openid-credential-offer://` link (for a QR code or a same-device link).
    pub offer_uri: String,
    /// The transaction code to give the holder out of band; null without one. Shown once.
    pub tx_code: Option<String>,
    /// When the offer expires (RFC 3339).
    pub expires_at: String,
}

impl std::fmt::Debug for OfferCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfferCreated")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A credential issued for an offer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferCredential {
    /// The credential id.
    pub id: String,
    /// The configuration it was issued under.
    pub credential_configuration_id: String,
    /// `valid`, `revoked` or `suspended`.
    #[schema(value_type = String, pattern = "^(valid|revoked|suspended)$")]
    pub status: &'static str,
    /// Its status list entry; null without one.
    pub status_list: Option<StatusListReference>,
}

impl From<CredentialObject> for OfferCredential {
    fn from(c: CredentialObject) -> Self {
        Self {
            id: c.id,
            credential_configuration_id: c.credential_configuration_id,
            status: c.status,
            status_list: c.status_list,
        }
    }
}

/// An offer's state and the credentials issued for it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "o-3kP9",
    "status": "credential_issued",
    "locked": false,
    "deferred": false,
    "credential_configuration_ids": ["EmployeeBadge"],
    "expires_at": "2026-01-01T12:10:00Z",
    "credentials": [{"id": "c-7Hq2", "credential_configuration_id": "EmployeeBadge",
        "status": "valid",
        "status_list": {"uri": "http://127.0.0.1:8080/issuers/acme/status-lists/1", "idx": 4711}}]
}))]
pub struct OfferStatus {
    /// The offer id.
    pub id: String,
    /// `offered`, `token_issued`, `credential_issued` or `expired`.
    #[schema(
        value_type = String,
        pattern = "^(offered|token_issued|credential_issued|expired)$"
    )]
    pub status: &'static str,
    /// Whether the pre-authorized code was locked by too many wrong `tx_code`s (issue 18):
    /// it can never be redeemed (the status stays `offered` until it expires; the status
    /// values are fixed by the contract); create a new offer for the holder.
    pub locked: bool,
    /// Whether issuance waits for claims supplied later.
    pub deferred: bool,
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// When the offer expires (RFC 3339).
    pub expires_at: String,
    /// The credentials issued for the offer.
    pub credentials: Vec<OfferCredential>,
}

impl vdc_http::longpoll::StatusObject for OfferStatus {
    fn status(&self) -> &str {
        self.status
    }
}

impl Issuer {
    /// Creates a tenant with its signing key (generated, or imported with an x5c chain). In
    /// HAIP mode without `x5c`, vdc certifies the key under a per-issuer CA
    /// ([`crate::certificate`]): `x5c` is the leaf, `trust_anchor` the CA.
    pub async fn create_issuer(&self, mut def: IssuerDefinition) -> Result<IssuerObject> {
        def.haip.get_or_insert(self.settings.haip_default);
        def.normalize();
        def.validate()?;
        let now = self.now();
        let shown_secret = self.seal_secrets(&mut def)?;
        let imported = match def.signing_key.take() {
            Some(jwk) => {
                let key = SigningKey::from_private_jwk(&jwk)
                    .map_err(|e| IssuerError::InvalidRequest(format!("signing_key: {e}")))?;
                if key.algorithm() != def.algorithm()? {
                    return Err(IssuerError::InvalidRequest(
                        "signing_key does not match signing_alg".into(),
                    ));
                }
                let chain = match &def.x5c {
                    Some(x5c) => {
                        let chain = vdc_core::x509::parse_x5c(&json!(x5c))
                            .map_err(|e| IssuerError::InvalidRequest(format!("x5c: {e}")))?;
                        let leaf_key = vdc_core::x509::leaf_public_key(&chain[0])
                            .map_err(|e| IssuerError::InvalidRequest(format!("x5c: {e}")))?;
                        if &leaf_key != key.public_key() {
                            return Err(IssuerError::InvalidRequest(
                                "x5c leaf does not certify signing_key".into(),
                            ));
                        }
                        Some(chain)
                    }
                    None => None,
                };
                Some((key, chain))
            }
            None => None,
        };
        // HAIP 1.0 §6.1.1: in HAIP mode every credential carries the signing certificate in
        // `x5c`; without the operator's chain vdc makes one (the key imported or generated).
        let (key, chain) = match imported {
            Some(imported) => imported,
            None => (
                SigningKey::generate(def.algorithm()?, self.rng.as_ref())
                    .map_err(|e| IssuerError::Internal(format!("signing key: {e}")))?,
                None,
            ),
        };
        let chain = match chain {
            None if crate::certificate::needs_chain(&def) => {
                let made = crate::certificate::make_chain(
                    &def.id,
                    &self.issuer_url(&def.id),
                    key.public_key(),
                    now,
                    self.rng.as_ref(),
                )?;
                made.record_in(&mut def);
                Some(made.x5c())
            }
            other => other,
        };
        // ISO 18013-5 §9.1.2.4: mdocs carry a Document Signer certificate of the signing key
        // in `x5chain`; without the operator's chain vdc makes it under its own IACA.
        if crate::mdoc::needs_chain(&def) {
            crate::mdoc::make_chain(
                &def.id,
                &self.issuer_url(&def.id),
                key.public_key(),
                now,
                self.rng.as_ref(),
            )?
            .record_in(&mut def);
        }
        crate::certificate::check_signed_metadata(&def)?;
        let config =
            serde_json::to_value(&def).map_err(|e| IssuerError::Internal(e.to_string()))?;
        self.store
            .create_issuer(&IssuerRecord {
                id: def.id.clone(),
                config,
                created_at: now,
            })
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(_) => {
                    IssuerError::Conflict(format!("issuer {} exists", def.id))
                }
                other => other.into(),
            })?;
        self.keys
            .add(&def.id, key, chain, now, self.rng.as_ref())
            .await?;
        let def = Arc::new(def);
        self.remember(def.clone());
        let mut object = self.issuer_object(&def);
        object.claims_endpoint_secret = shown_secret;
        Ok(object)
    }

    /// `GET /api/v1/issuers/{issuer}`.
    pub async fn get_issuer(&self, issuer_id: &str) -> Result<IssuerObject> {
        let def = self.require(issuer_id).await?;
        Ok(self.issuer_object(&def))
    }

    /// Every issuer, through the definition cache (the verifier page; the API and the
    /// start page list one page instead: [`Self::list_issuers_page`]).
    pub async fn list_issuers(&self) -> Result<IssuerList> {
        self.list_issuers_where(|_| true).await
    }

    /// Lists the issuers whose id `visible` accepts (a scoped key's own issuers).
    pub async fn list_issuers_where(&self, visible: impl Fn(&str) -> bool) -> Result<IssuerList> {
        let mut items = Vec::new();
        for record in self.store.list_issuers().await? {
            if !visible(&record.id) {
                continue;
            }
            if let Some(def) = self.definition(&record.id).await? {
                items.push(self.issuer_object(&def));
            }
        }
        Ok(IssuerList { items, next: None })
    }

    /// `GET /api/v1/issuers?limit=&cursor=`: at most `limit` issuers after `after`, by id.
    /// `only`: a scoped key's issuers (`None`: every issuer, the admin key). The page is
    /// read from the store and not cached, so listing many tenants leaves no trace in
    /// memory.
    pub async fn list_issuers_page(
        &self,
        only: Option<&[String]>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<IssuerList> {
        let limit = limit.max(1);
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut defs = Vec::new();
        match only {
            None => {
                // One more than the page tells whether another page follows.
                for record in self.store.list_issuers_page(after, limit + 1).await? {
                    let def: IssuerDefinition =
                        serde_json::from_value(record.config).map_err(|e| {
                            IssuerError::Internal(format!(
                                "stored issuer definition unreadable: {e}"
                            ))
                        })?;
                    defs.push(Arc::new(def));
                }
            }
            Some(ids) => {
                let mut ids: Vec<&String> = ids
                    .iter()
                    .filter(|id| after.is_none_or(|a| id.as_str() > a))
                    .collect();
                ids.sort();
                ids.dedup();
                for id in ids {
                    if defs.len() > wanted {
                        break;
                    }
                    if let Some(def) = self.definition(id).await? {
                        defs.push(def);
                    }
                }
            }
        }
        let more = defs.len() > wanted;
        defs.truncate(wanted);
        let next = more
            .then(|| defs.last().map(|d| vdc_access::page::tenant_cursor(&d.id)))
            .flatten();
        Ok(IssuerList {
            items: defs.iter().map(|d| self.issuer_object(d)).collect(),
            next,
        })
    }

    /// `PATCH /api/v1/issuers/{issuer}`: `patch` (members of the create body, not `id`)
    /// replaces those members of the stored definition; the result is validated as a create
    /// body is. Write-only secrets (the provider's client secret, the claims endpoint
    /// secret) stay unless new ones are given; the signing key stays (`signing_key`, `x5c`
    /// and another `signing_alg` are refused: a key change is not an edit), except that
    /// switching to HAIP mode without a chain makes a new signing key with a chain made by
    /// vdc ([`crate::certificate`]) and retires the old key, which stays published in JWT
    /// VC Issuer Metadata so the credentials it signed still verify.
    pub async fn update_issuer(
        &self,
        issuer_id: &str,
        patch: Map<String, Value>,
    ) -> Result<IssuerObject> {
        let bad = |m: &str| IssuerError::InvalidRequest(m.to_owned());
        let stored = self.require(issuer_id).await?;
        for member in ["id", "signing_key", "x5c"] {
            if patch.contains_key(member) {
                return Err(bad(&format!(
                    "{member} cannot be changed (create another issuer instead)"
                )));
            }
        }
        // The stored definition as a create body, without what the API never takes.
        let mut sealed_client_secret = None;
        let mut base = stored.as_ref().clone();
        if let Some(idp) = base.identity_provider.as_mut() {
            sealed_client_secret = idp.client_secret_sealed.take();
        }
        let sealed_endpoint_secret = base.claims_endpoint_secret_sealed.take();
        let made_anchor = base.trust_anchor.take();
        let made_iaca = base.iaca.take();
        let made_document_signer = base.document_signer_x5c.take();
        let Value::Object(mut merged) =
            serde_json::to_value(&base).map_err(|e| IssuerError::Internal(e.to_string()))?
        else {
            return Err(IssuerError::Internal(
                "issuer definition is not an object".into(),
            ));
        };
        merged.extend(patch);
        let mut def: IssuerDefinition = vdc_http::extract::from_value_strict(Value::Object(merged))
            .map_err(|e| IssuerError::InvalidRequest(e.description))?;
        def.normalize();
        if def.signing_alg != stored.signing_alg {
            return Err(bad(
                "signing_alg cannot be changed: the signing key is of the stored algorithm",
            ));
        }
        let keep_client_secret = sealed_client_secret.is_some()
            && def
                .identity_provider
                .as_ref()
                .is_some_and(|idp| idp.client_secret.is_none());
        def.validate_keeping(crate::definition::Kept {
            client_secret: keep_client_secret,
            signing_key: stored.x5c.is_some(),
        })?;
        if keep_client_secret && let Some(idp) = def.identity_provider.as_mut() {
            idp.client_secret_sealed = sealed_client_secret;
        }
        if def.claims_endpoint_secret.is_none() {
            def.claims_endpoint_secret_sealed = sealed_endpoint_secret;
        }
        def.trust_anchor = made_anchor;
        def.iaca = made_iaca;
        def.document_signer_x5c = made_document_signer;
        // HAIP 1.0 §6.1.1: a HAIP-mode issuer's credentials carry `x5c`; the stored key has
        // none, so a new key with a chain replaces it.
        let new_key = if crate::certificate::needs_chain(&def) {
            let key = SigningKey::generate(def.algorithm()?, self.rng.as_ref())
                .map_err(|e| IssuerError::Internal(format!("signing key: {e}")))?;
            let made = crate::certificate::make_chain(
                issuer_id,
                &self.issuer_url(issuer_id),
                key.public_key(),
                self.now(),
                self.rng.as_ref(),
            )?;
            made.record_in(&mut def);
            Some((key, made.x5c()))
        } else {
            None
        };
        // The DS certificate certifies one key: a new key needs a new one (and, the IACA's
        // key being gone, a new IACA: `crate::mdoc`). An issuer that gains its first
        // mso_mdoc configuration gets them for its current key.
        if new_key.is_some() {
            def.document_signer_x5c = None;
        }
        if crate::mdoc::needs_chain(&def) {
            let subject = match &new_key {
                Some((key, _)) => key.public_key().clone(),
                None => self.signer(issuer_id).await?.public_jwk().key.clone(),
            };
            crate::mdoc::make_chain(
                issuer_id,
                &self.issuer_url(issuer_id),
                &subject,
                self.now(),
                self.rng.as_ref(),
            )?
            .record_in(&mut def);
        }
        crate::certificate::check_signed_metadata(&def)?;
        let shown_secret = self.seal_secrets(&mut def)?;
        let config =
            serde_json::to_value(&def).map_err(|e| IssuerError::Internal(e.to_string()))?;
        // The key first: should the definition's update fail, the issuer signs with a chain
        // its object does not show yet, rather than showing a chain it does not sign with.
        if let Some((key, chain)) = new_key {
            self.keys
                .replace(issuer_id, key, Some(chain), self.now(), self.rng.as_ref())
                .await?;
        }
        self.store
            .update_issuer_config(issuer_id, &config)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => IssuerError::NotFound(format!("no issuer {issuer_id}")),
                other => other.into(),
            })?;
        let def = Arc::new(def);
        self.remember(def.clone());
        let mut object = self.issuer_object(&def);
        object.claims_endpoint_secret = shown_secret;
        Ok(object)
    }

    /// Seals the write-only secrets of `def` under the KEK (G8): a given provider client
    /// secret, and for a claims endpoint (under the outbound policy, G7) the given secret,
    /// else the kept sealed one, else a generated one, which is returned to be answered
    /// this once. Without a claims endpoint no secret is kept.
    fn seal_secrets(&self, def: &mut IssuerDefinition) -> Result<Option<ShownOnce>> {
        if let Some(idp) = def.identity_provider.as_mut()
            && let Some(secret) = idp.client_secret.take()
        {
            idp.client_secret_sealed = Some(self.seal_client_secret(&def.id, &secret)?);
        }
        let Some(endpoint) = &def.claims_endpoint else {
            def.claims_endpoint_secret_sealed = None;
            return Ok(None);
        };
        if let Some(deps) = &self.authorization {
            deps.fetcher.check_url(endpoint).map_err(|e| {
                IssuerError::InvalidRequest(format!(
                    "claims_endpoint must be an https URL the outbound policy allows: {e}"
                ))
            })?;
        }
        let mut shown_secret = None;
        let key = match def.claims_endpoint_secret.take() {
            Some(given) => crate::definition::decode_endpoint_secret(&given).ok_or_else(|| {
                IssuerError::InvalidRequest("claims_endpoint_secret is malformed".into())
            })?,
            None if def.claims_endpoint_secret_sealed.is_some() => return Ok(None),
            None => {
                let (shown, key) = crate::authorization::claims::generate_secret(self)?;
                shown_secret = Some(ShownOnce(shown));
                key
            }
        };
        def.claims_endpoint_secret_sealed = Some(self.seal_claims_endpoint_secret(&def.id, &key)?);
        Ok(shown_secret)
    }

    fn issuer_object(&self, def: &IssuerDefinition) -> IssuerObject {
        let credential_configurations_supported = match def.configurations_supported() {
            Value::Object(m) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        IssuerObject {
            id: def.id.clone(),
            display: def.display.clone(),
            signing_alg: def.signing_alg.clone(),
            credential_configurations: def.credential_configurations.clone(),
            batch_size: def.batch_size,
            x5c: def.x5c.clone(),
            credential_issuer: self.issuer_url(&def.id),
            credential_configurations_supported,
            identity_provider: def
                .identity_provider
                .as_ref()
                .map(|idp| IdentityProviderObject {
                    issuer: idp.issuer.clone(),
                    client_id: idp.client_id.clone(),
                    scopes: idp.scopes.clone(),
                    claim_mapping: idp.claim_mapping.clone(),
                    redirect_uri: self.login_redirect_uri(&def.id),
                }),
            require_par: def.identity_provider.as_ref().map(|_| def.requires_par()),
            require_dpop: def.require_dpop,
            wallet_clients: def.wallet_clients.clone(),
            claims_endpoint: def.claims_endpoint.clone(),
            claims_endpoint_secret: None,
            disabled: def.disabled,
            haip: def.is_haip(),
            wallet_attestation_trust_anchors: def.wallet_attestation_trust_anchors.clone(),
            key_attestation_trust_anchors: def.key_attestation_trust_anchors.clone(),
            require_credential_encryption: def.require_credential_encryption,
            signed_metadata: def.signed_metadata,
            certificate: leaf_pem(def.x5c.as_deref()),
            trust_anchor: def.trust_anchor.clone(),
        }
    }

    /// Creates a credential offer.
    /// `audit`: the management call's audit, whose entry is written with the offer.
    pub async fn create_offer(
        &self,
        issuer_id: &str,
        req: CreateOffer,
        audit: Option<&vdc_access::CallAudit>,
    ) -> Result<OfferCreated> {
        let def = self.require(issuer_id).await?;
        let login = match req.grant.as_deref() {
            None | Some("pre-authorized_code") => false,
            Some("authorization_code") => {
                if def.identity_provider.is_none() || self.authorization.is_none() {
                    return Err(IssuerError::InvalidRequest(
                        "grant authorization_code needs an identity_provider on the issuer".into(),
                    ));
                }
                // The claims come from the login; a tx_code has no place in this grant
                // (OID4VCI 1.0 §4.1.1 defines it for the pre-authorized code only).
                if !req.claims.is_empty() || req.tx_code.is_some() || req.deferred {
                    return Err(IssuerError::InvalidRequest(
                        "an authorization_code offer takes no claims, tx_code or deferred: the claims come from the login".into(),
                    ));
                }
                true
            }
            Some(_) => {
                return Err(IssuerError::InvalidRequest(
                    "grant must be pre-authorized_code or authorization_code".into(),
                ));
            }
        };
        if req.credential_configuration_ids.is_empty() {
            return Err(IssuerError::InvalidRequest(
                "credential_configuration_ids must not be empty".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for id in &req.credential_configuration_ids {
            if !seen.insert(id) {
                return Err(IssuerError::InvalidRequest(format!("{id} is listed twice")));
            }
            let config = def.credential_configurations.get(id).ok_or_else(|| {
                IssuerError::InvalidRequest(format!("unknown credential configuration {id}"))
            })?;
            match req.claims.get(id) {
                Some(claims) => config.check_claims(id, claims)?,
                None if req.deferred || login => {}
                None => {
                    return Err(IssuerError::InvalidRequest(format!(
                        "claims for {id} are missing"
                    )));
                }
            }
        }
        if let Some(extra) = req.claims.keys().find(|k| !seen.contains(k)) {
            return Err(IssuerError::InvalidRequest(format!(
                "claims given for {extra}, which is not offered"
            )));
        }
        let ttl = req.expires_in.unwrap_or(self.settings.default_offer_ttl);
        if !(1..=MAX_OFFER_TTL).contains(&ttl) {
            return Err(IssuerError::InvalidRequest(
                "expires_in must be between 1 second and 30 days".into(),
            ));
        }
        let (tx_code, tx_code_object) = match &req.tx_code {
            Some(spec) => {
                let (code, object) = self.make_tx_code(spec)?;
                (Some(code), Some(object))
            }
            None => (None, None),
        };
        let now = self.now();
        let offer_id = self.random_b64(16)?;
        // An authorization code offer has no usable pre-authorized code: its row holds the
        // hash of a random one nobody learns (the column is unique and required).
        let code = if login {
            self.random_b64(32)?
        } else {
            self.pre_authorized_code(issuer_id, &offer_id)
        };
        let mut grant = Map::new();
        if let Some(t) = &tx_code_object {
            grant.insert("tx_code".into(), json!(t));
        }
        // The stored offer has no code: codes rest only as hashes; the code is derived again
        // from the offer id when the offer is served by reference. `issuer_state` is the
        // offer's keyed reference (OID4VCI 1.0 §4.1.1), so it names the offer unforgeably.
        let grants = if login {
            json!({"authorization_code": {"issuer_state": self.offer_reference(issuer_id, &offer_id)}})
        } else {
            json!({ PRE_AUTHORIZED_GRANT: grant })
        };
        let template = json!({
            "credential_issuer": self.issuer_url(issuer_id),
            "credential_configuration_ids": req.credential_configuration_ids,
            "grants": grants,
        });
        let claims = (!req.claims.is_empty()).then(|| json!(req.claims));
        let record = OfferRecord {
            issuer_id: issuer_id.to_owned(),
            offer_id: offer_id.clone(),
            credential_configuration_ids: req.credential_configuration_ids.clone(),
            claims,
            credential_offer: template.clone(),
            pre_authorized_code_hash: SecretHash::of(&code),
            tx_code_hash: tx_code.as_deref().map(SecretHash::of),
            tx_code_failures: 0,
            deferred: req.deferred,
            status: vdc_store::OfferStatus::Offered,
            created_at: now,
            expires_at: now.plus(ttl),
        };
        // The call's audit entry commits with the offer (one transaction, issue 11).
        let outbox = audit
            .and_then(|a| a.take(&offer_id, 201))
            .map(Outbox::audit)
            .unwrap_or_default();
        self.store.create_offer(&record, &outbox).await?;
        let credential_offer = with_code(template, &code)?;
        let credential_offer_uri = self.offer_uri(issuer_id, &offer_id);
        Ok(OfferCreated {
            offer_uri: format!(
                "openid-credential-offer://?credential_offer_uri={}",
                urlencode(&credential_offer_uri)
            ),
            id: offer_id,
            credential_offer,
            credential_offer_uri,
            tx_code,
            expires_at: format_date_time_stamp(record.expires_at),
        })
    }

    /// The offer's `credential_offer_uri`. Its last segment is the secret reference, not
    /// the public offer id: the id appears in the management API, the audit log and webhook
    /// events, and whoever can fetch the offer by reference learns its pre-authorized code,
    /// so the two must differ (a `read`-only key must not reach the code).
    fn offer_uri(&self, issuer_id: &str, offer_id: &str) -> String {
        format!(
            "{}/offers/{}",
            self.issuer_url(issuer_id),
            self.offer_reference(issuer_id, offer_id)
        )
    }

    /// `{offer id}.{tag}`: the id with a 128-bit keyed tag (HMAC under a key derived from
    /// the KEK), so the reference names its offer without a lookup table and cannot be made
    /// from the id alone.
    pub(crate) fn offer_reference(&self, issuer_id: &str, offer_id: &str) -> String {
        let tag = self
            .keys
            .kek()
            .derive("credential_offer_uri", &format!("{issuer_id}\0{offer_id}"));
        reference_with(offer_id, &tag)
    }

    /// The offer id a reference names, if its tag is right (constant-time compare) under
    /// the current KEK or, during a KEK rotation, a previous one (offers made before it).
    pub(crate) fn offer_id_of_reference<'r>(
        &self,
        issuer_id: &str,
        reference: &'r str,
    ) -> Option<&'r str> {
        let (offer_id, _) = reference.split_once('.')?;
        self.keys
            .kek()
            .derive_all("credential_offer_uri", &format!("{issuer_id}\0{offer_id}"))
            .iter()
            .any(|tag| {
                vdc_core::ct::eq(
                    reference_with(offer_id, tag).as_bytes(),
                    reference.as_bytes(),
                )
            })
            .then_some(offer_id)
    }

    /// The pre-authorized code of an offer: a keyed hash of (issuer, offer id) under a key
    /// derived from the KEK; unguessable without the KEK, reproducible for serving the offer
    /// by reference, and never stored in clear.
    fn pre_authorized_code(&self, issuer_id: &str, offer_id: &str) -> String {
        base64url::encode(
            self.keys
                .kek()
                .derive("pre-authorized_code", &format!("{issuer_id}\0{offer_id}")),
        )
    }

    /// The pre-authorized code of a stored offer: the one whose hash the store holds, under
    /// the current KEK or a previous one (an offer made before a KEK rotation keeps its
    /// code until it expires). `None` if no KEK of this deployment made it (an offer with
    /// only the authorization code grant).
    fn stored_pre_authorized_code(&self, issuer_id: &str, offer: &OfferRecord) -> Option<String> {
        self.keys
            .kek()
            .derive_all(
                "pre-authorized_code",
                &format!("{issuer_id}\0{}", offer.offer_id),
            )
            .iter()
            .map(base64url::encode)
            .find(|code| SecretHash::of(code) == offer.pre_authorized_code_hash)
    }

    fn make_tx_code(&self, spec: &TxCodeSpec) -> Result<(String, TxCode)> {
        let length = spec.length.unwrap_or(6);
        if !(4..=12).contains(&length) {
            return Err(IssuerError::InvalidRequest(
                "tx_code.length must be between 4 and 12".into(),
            ));
        }
        let mode = spec.input_mode.as_deref().unwrap_or("numeric");
        // Unambiguous uppercase letters and digits for text codes.
        let alphabet: &[u8] = match mode {
            "numeric" => b"0123456789",
            "text" => b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789",
            _ => {
                return Err(IssuerError::InvalidRequest(
                    "tx_code.input_mode must be numeric or text".into(),
                ));
            }
        };
        if spec
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 300)
        {
            return Err(IssuerError::InvalidRequest(
                "tx_code.description is limited to 300 characters".into(),
            ));
        }
        let mut code = String::with_capacity(length);
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - (256 % alphabet.len());
        while code.len() < length {
            let mut b = [0u8; 16];
            self.rng
                .fill(&mut b)
                .map_err(|e| IssuerError::Internal(e.to_string()))?;
            for x in b {
                if (x as usize) < limit && code.len() < length {
                    code.push(alphabet[x as usize % alphabet.len()] as char);
                }
            }
        }
        let object = TxCode {
            length,
            input_mode: mode.to_owned(),
            description: spec.description.clone(),
        };
        Ok((code, object))
    }

    /// The credential offer served by reference; fetchable until redeemed or expired.
    pub async fn credential_offer(
        &self,
        issuer_id: &str,
        reference: &str,
    ) -> Result<CredentialOffer> {
        match self.wallet_definition(issuer_id).await {
            Ok(_) => {}
            Err(IssuerError::NotFound(_)) => {
                return Err(IssuerError::NotFound("no such offer".into()));
            }
            Err(e) => return Err(e),
        }
        // The public offer id alone does not name an offer here (G6, G10).
        let offer_id = self
            .offer_id_of_reference(issuer_id, reference)
            .ok_or_else(|| {
                IssuerError::NotFound("no such offer, or it was redeemed or expired".into())
            })?;
        let offer = self
            .store
            .get_offer(issuer_id, offer_id)
            .await?
            .filter(|o| o.status == vdc_store::OfferStatus::Offered && o.expires_at > self.now())
            .ok_or_else(|| {
                IssuerError::NotFound("no such offer, or it was redeemed or expired".into())
            })?;
        // An offer without a pre-authorized grant has no code to match: the current KEK's
        // derivation is inserted nowhere (`with_code` fills only that grant).
        let code = self
            .stored_pre_authorized_code(issuer_id, &offer)
            .unwrap_or_else(|| self.pre_authorized_code(issuer_id, offer_id));
        with_code(offer.credential_offer, &code)
    }

    /// `GET /api/v1/issuers/{issuer}/offers/{id}`.
    pub async fn offer_status(&self, issuer_id: &str, offer_id: &str) -> Result<OfferStatus> {
        self.require(issuer_id).await?;
        let offer = self.live_offer(issuer_id, offer_id).await?;
        let status = match offer.status {
            vdc_store::OfferStatus::Offered if offer.expires_at <= self.now() => "expired",
            s => s.as_str(),
        };
        let credentials = self
            .store
            .credentials_for_offer(issuer_id, offer_id)
            .await?
            .iter()
            .map(|c| CredentialObject::new(&self.public_url, c).into())
            .collect();
        // Locked only while it would otherwise still be redeemable: a redeemed or expired
        // offer reads as that.
        let locked = status == "offered"
            && offer.tx_code_hash.is_some()
            && offer.tx_code_failures >= self.settings.max_tx_code_failures;
        Ok(OfferStatus {
            id: offer.offer_id,
            status,
            locked,
            deferred: offer.deferred,
            credential_configuration_ids: offer.credential_configuration_ids,
            expires_at: format_date_time_stamp(offer.expires_at),
            credentials,
        })
    }

    async fn live_offer(&self, issuer_id: &str, offer_id: &str) -> Result<OfferRecord> {
        self.store
            .get_offer(issuer_id, offer_id)
            .await?
            .filter(|o| o.status != vdc_store::OfferStatus::Cancelled)
            .ok_or_else(|| IssuerError::NotFound(format!("no offer {offer_id}")))
    }

    /// `DELETE /api/v1/issuers/{issuer}/offers/{id}`: cancels an unredeemed offer.
    pub async fn cancel_offer(&self, issuer_id: &str, offer_id: &str) -> Result<()> {
        self.require(issuer_id).await?;
        let offer = self.live_offer(issuer_id, offer_id).await?;
        if self.store.cancel_offer(issuer_id, offer_id).await? {
            Ok(())
        } else {
            Err(IssuerError::Conflict(format!(
                "offer is already {}",
                offer.status.as_str()
            )))
        }
    }

    /// `PUT /api/v1/issuers/{issuer}/offers/{id}/claims`: the claims of a deferred offer.
    pub async fn supply_claims(
        &self,
        issuer_id: &str,
        offer_id: &str,
        claims: BTreeMap<String, Value>,
    ) -> Result<OfferStatus> {
        let def = self.require(issuer_id).await?;
        let offer = self.live_offer(issuer_id, offer_id).await?;
        if !offer.deferred {
            return Err(IssuerError::Conflict("the offer is not deferred".into()));
        }
        for id in &offer.credential_configuration_ids {
            let config = def.credential_configurations.get(id).ok_or_else(|| {
                IssuerError::Internal(format!("offered configuration {id} vanished"))
            })?;
            let c = claims.get(id).ok_or_else(|| {
                IssuerError::InvalidRequest(format!("claims for {id} are missing"))
            })?;
            config.check_claims(id, c)?;
        }
        if let Some(extra) = claims
            .keys()
            .find(|k| !offer.credential_configuration_ids.contains(k))
        {
            return Err(IssuerError::InvalidRequest(format!(
                "claims given for {extra}, which is not offered"
            )));
        }
        if !self
            .store
            .set_offer_claims(issuer_id, offer_id, &json!(claims))
            .await?
        {
            return Err(IssuerError::Conflict(
                "the offer no longer accepts claims".into(),
            ));
        }
        self.offer_status(issuer_id, offer_id).await
    }

    /// `GET /api/v1/issuers/{issuer}/offers/{id}/qr.svg`.
    pub async fn offer_qr_svg(&self, issuer_id: &str, offer_id: &str) -> Result<String> {
        self.require(issuer_id).await?;
        self.live_offer(issuer_id, offer_id).await?;
        let uri = format!(
            "openid-credential-offer://?credential_offer_uri={}",
            urlencode(&self.offer_uri(issuer_id, offer_id))
        );
        let code = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Ok(code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(256, 256)
            .build())
    }

    /// What the offer page shows again after the offer's creation (post/redirect/get): its
    /// `offer_uri`, whether it is an offer with login, whether it has a tx_code, and the
    /// seconds it has left. Unknown, cancelled and other issuers' offers are not found.
    pub async fn offer_link(&self, issuer_id: &str, offer_id: &str) -> Result<OfferLink> {
        self.require(issuer_id).await?;
        let offer = self.live_offer(issuer_id, offer_id).await?;
        Ok(OfferLink {
            offer_uri: format!(
                "openid-credential-offer://?credential_offer_uri={}",
                urlencode(&self.offer_uri(issuer_id, offer_id))
            ),
            login: offer.credential_offer["grants"]
                .get("authorization_code")
                .is_some(),
            tx_code: offer.tx_code_hash.is_some(),
            expires_in: (offer.expires_at.secs() - self.now().secs()).max(0),
        })
    }

    /// The tx_code sealed (AES-GCM under the KEK, bound to this issuer and offer) for the
    /// browser that created the offer: only its hash is stored, so the offer page can show
    /// it again only from what that browser keeps. Base64url text.
    pub fn seal_tx_code(&self, issuer_id: &str, offer_id: &str, code: &str) -> Result<String> {
        let sealed = self
            .keys
            .kek()
            .seal(
                code.as_bytes(),
                &tx_code_context(issuer_id, offer_id),
                self.rng.as_ref(),
            )
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Ok(base64url::encode(sealed))
    }

    /// The tx_code [`Self::seal_tx_code`] sealed for this offer; `None` for anything else
    /// (another offer's, altered or forged text), so it is no oracle for guessing codes.
    pub fn open_tx_code(&self, issuer_id: &str, offer_id: &str, sealed: &str) -> Option<String> {
        let bytes = base64url::decode(sealed).ok()?;
        let code = self
            .keys
            .kek()
            .open(&bytes, &tx_code_context(issuer_id, offer_id))
            .ok()?;
        String::from_utf8(code.to_vec()).ok()
    }

    /// `GET /api/v1/issuers/{issuer}/credentials/{credential_id}`.
    pub async fn credential_record(
        &self,
        issuer_id: &str,
        credential_id: &str,
    ) -> Result<CredentialObject> {
        self.require(issuer_id).await?;
        let c = self
            .store
            .get_credential(issuer_id, credential_id)
            .await?
            .ok_or_else(|| IssuerError::NotFound(format!("no credential {credential_id}")))?;
        Ok(CredentialObject::new(&self.public_url, &c))
    }
}

/// An offer as its page shows it again ([`Issuer::offer_link`]).
#[derive(Debug, Clone)]
pub struct OfferLink {
    /// The `openid-credential-offer://` link.
    pub offer_uri: String,
    /// Whether it is an offer with login (authorization code grant).
    pub login: bool,
    /// Whether redeeming it needs a tx_code.
    pub tx_code: bool,
    /// Seconds until it expires (0 when it has).
    pub expires_in: i64,
}

/// `{offer id}.{first 16 bytes of the tag}`.
fn reference_with(offer_id: &str, tag: &[u8; 32]) -> String {
    format!("{offer_id}.{}", base64url::encode(&tag[..16]))
}

fn tx_code_context(issuer_id: &str, offer_id: &str) -> String {
    format!("vdc pages tx_code\0{issuer_id}\0{offer_id}")
}

/// The credential offer of a stored offer template (which holds no code) with its code.
fn with_code(mut template: Value, code: &str) -> Result<CredentialOffer> {
    if let Some(g) = template
        .get_mut("grants")
        .and_then(|g| g.get_mut(PRE_AUTHORIZED_GRANT))
    {
        g["pre-authorized_code"] = code.into();
    }
    serde_json::from_value(template)
        .map_err(|e| IssuerError::Internal(format!("stored credential offer unreadable: {e}")))
}

/// Percent-encodes a URL for use as a query parameter value.
pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
