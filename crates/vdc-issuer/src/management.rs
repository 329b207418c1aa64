//! The issuer part of the management API (`shared/contract/management-api.md`: "Issuers",
//! "Credential offers", "Issued credentials").

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use vdc_core::base64url;
use vdc_core::jose::SigningKey;
use vdc_core::vc_jose::format_date_time_stamp;
use vdc_store::{
    IssuedCredentialRecord, IssuerRecord, OfferRecord, OfferStatus, Outbox, SecretHash, StoreError,
};

use crate::config::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::metadata::PRE_AUTHORIZED_GRANT;
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

impl Issuer {
    /// Creates a tenant with its signing key (generated, or imported with an x5c chain).
    pub async fn create_issuer(&self, mut def: IssuerDefinition) -> Result<Value> {
        def.validate()?;
        let now = self.now();
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
        match imported {
            Some((key, chain)) => {
                self.keys
                    .add(&def.id, key, chain, now, self.rng.as_ref())
                    .await?;
            }
            None => {
                self.keys
                    .generate(&def.id, def.algorithm()?, now, self.rng.as_ref())
                    .await?;
            }
        }
        let def = Arc::new(def);
        self.remember(def.clone());
        Ok(self.issuer_object(&def))
    }

    /// `GET /api/v1/issuers/{issuer}`.
    pub async fn get_issuer(&self, issuer_id: &str) -> Result<Value> {
        let def = self.require(issuer_id).await?;
        Ok(self.issuer_object(&def))
    }

    /// `GET /api/v1/issuers`.
    pub async fn list_issuers(&self) -> Result<Value> {
        self.list_issuers_where(|_| true).await
    }

    /// Lists the issuers whose id `visible` accepts (a scoped key's own issuers).
    pub async fn list_issuers_where(&self, visible: impl Fn(&str) -> bool) -> Result<Value> {
        let mut items = Vec::new();
        for record in self.store.list_issuers().await? {
            if !visible(&record.id) {
                continue;
            }
            if let Some(def) = self.definition(&record.id).await? {
                items.push(self.issuer_object(&def));
            }
        }
        Ok(json!({ "items": items }))
    }

    fn issuer_object(&self, def: &IssuerDefinition) -> Value {
        let mut v = serde_json::to_value(def).unwrap_or_else(|_| json!({}));
        v["credential_issuer"] = self.issuer_url(&def.id).into();
        v["credential_configurations_supported"] = def.configurations_supported();
        v
    }

    /// Creates a credential offer.
    /// `audit`: the management call's audit, whose entry is written with the offer.
    pub async fn create_offer(
        &self,
        issuer_id: &str,
        req: CreateOffer,
        audit: Option<&vdc_access::CallAudit>,
    ) -> Result<Value> {
        let def = self.require(issuer_id).await?;
        match req.grant.as_deref() {
            None | Some("pre-authorized_code") => {}
            Some("authorization_code") => {
                return Err(IssuerError::InvalidRequest(
                    "the authorization code flow is not available yet".into(),
                ));
            }
            Some(_) => {
                return Err(IssuerError::InvalidRequest(
                    "grant must be pre-authorized_code".into(),
                ));
            }
        }
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
                None if req.deferred => {}
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
        let code = self.pre_authorized_code(issuer_id, &offer_id);
        let mut grant = Map::new();
        if let Some(t) = &tx_code_object {
            grant.insert("tx_code".into(), t.clone());
        }
        // The stored offer has no code: codes rest only as hashes; the code is derived again
        // from the offer id when the offer is served by reference.
        let template = json!({
            "credential_issuer": self.issuer_url(issuer_id),
            "credential_configuration_ids": req.credential_configuration_ids,
            "grants": { PRE_AUTHORIZED_GRANT: grant },
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
            status: OfferStatus::Offered,
            created_at: now,
            expires_at: now.plus(ttl),
        };
        // The call's audit entry commits with the offer (one transaction, issue 11).
        let outbox = audit
            .and_then(|a| a.take(&offer_id, 201))
            .map(Outbox::audit)
            .unwrap_or_default();
        self.store.create_offer(&record, &outbox).await?;
        let offer = with_code(template, &code);
        let offer_uri_ref = self.offer_uri(issuer_id, &offer_id);
        Ok(json!({
            "id": offer_id,
            "credential_offer": offer,
            "credential_offer_uri": offer_uri_ref,
            "offer_uri": format!("openid-credential-offer://?credential_offer_uri={}", urlencode(&offer_uri_ref)),
            "tx_code": tx_code,
            "expires_at": format_date_time_stamp(record.expires_at),
        }))
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
    fn offer_reference(&self, issuer_id: &str, offer_id: &str) -> String {
        let tag = self
            .keys
            .kek()
            .derive("credential_offer_uri", &format!("{issuer_id}\0{offer_id}"));
        let (tag, _) = tag.split_at(16);
        format!("{offer_id}.{}", base64url::encode(tag))
    }

    /// The offer id a reference names, if its tag is right (constant-time compare).
    fn offer_id_of_reference<'r>(&self, issuer_id: &str, reference: &'r str) -> Option<&'r str> {
        let (offer_id, _) = reference.split_once('.')?;
        let expected = self.offer_reference(issuer_id, offer_id);
        vdc_core::ct::eq(expected.as_bytes(), reference.as_bytes()).then_some(offer_id)
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

    fn make_tx_code(&self, spec: &TxCodeSpec) -> Result<(String, Value)> {
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
        let mut object = json!({ "length": length, "input_mode": mode });
        if let Some(d) = &spec.description {
            object["description"] = d.clone().into();
        }
        Ok((code, object))
    }

    /// The credential offer served by reference; fetchable until redeemed or expired.
    pub async fn credential_offer(&self, issuer_id: &str, reference: &str) -> Result<Value> {
        if self.definition(issuer_id).await?.is_none() {
            return Err(IssuerError::NotFound("no such offer".into()));
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
            .filter(|o| o.status == OfferStatus::Offered && o.expires_at > self.now())
            .ok_or_else(|| {
                IssuerError::NotFound("no such offer, or it was redeemed or expired".into())
            })?;
        Ok(with_code(
            offer.credential_offer,
            &self.pre_authorized_code(issuer_id, offer_id),
        ))
    }

    /// `GET /api/v1/issuers/{issuer}/offers/{id}`.
    pub async fn offer_status(&self, issuer_id: &str, offer_id: &str) -> Result<Value> {
        self.require(issuer_id).await?;
        let offer = self.live_offer(issuer_id, offer_id).await?;
        let status = match offer.status {
            OfferStatus::Offered if offer.expires_at <= self.now() => "expired",
            s => s.as_str(),
        };
        let credentials: Vec<Value> = self
            .store
            .credentials_for_offer(issuer_id, offer_id)
            .await?
            .iter()
            .map(|c| {
                json!({
                    "id": c.credential_id,
                    "credential_configuration_id": c.credential_configuration_id,
                    "status": c.status.as_str(),
                    "status_list": status_list(&self.public_url, c),
                })
            })
            .collect();
        Ok(json!({
            "id": offer.offer_id,
            "status": status,
            "deferred": offer.deferred,
            "credential_configuration_ids": offer.credential_configuration_ids,
            "expires_at": format_date_time_stamp(offer.expires_at),
            "credentials": credentials,
        }))
    }

    async fn live_offer(&self, issuer_id: &str, offer_id: &str) -> Result<OfferRecord> {
        self.store
            .get_offer(issuer_id, offer_id)
            .await?
            .filter(|o| o.status != OfferStatus::Cancelled)
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
    ) -> Result<Value> {
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

    /// `GET /api/v1/issuers/{issuer}/credentials/{credential_id}`.
    pub async fn credential_record(&self, issuer_id: &str, credential_id: &str) -> Result<Value> {
        self.require(issuer_id).await?;
        let c = self
            .store
            .get_credential(issuer_id, credential_id)
            .await?
            .ok_or_else(|| IssuerError::NotFound(format!("no credential {credential_id}")))?;
        Ok(vdc_status::credential_object(&self.public_url, &c))
    }
}

/// `status_list {uri, idx}` of a credential, as the contract shows it.
fn status_list(public_url: &str, c: &IssuedCredentialRecord) -> Value {
    vdc_status::credential_object(public_url, c)["status_list"].take()
}

fn with_code(mut template: Value, code: &str) -> Value {
    if let Some(g) = template
        .get_mut("grants")
        .and_then(|g| g.get_mut(PRE_AUTHORIZED_GRANT))
    {
        g["pre-authorized_code"] = code.into();
    }
    template
}

/// Percent-encodes a URL for use as a query parameter value.
pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
