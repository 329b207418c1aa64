//! Rows as the backends read them, and the one decoding of each into its record.
//!
//! Every backend selects the same columns under the same names, so its `query_as!` fills
//! these structs directly (the macro converts each column with `Into`): a backend only says
//! which columns it reads, never how a stored value becomes a record field. What differs by
//! dialect is absorbed by the field types: JSON is TEXT in SQLite and JSONB or `TEXT[]` in
//! Postgres ([`Json`]), booleans are `INTEGER` 0/1 in SQLite (read as `i64`, which a
//! Postgres `BOOLEAN` converts into), and the few Postgres `INTEGER` columns widen to `i64`.
//! The checks (hash length, known enum names, non-negative counters, whole status entries)
//! live in the `TryFrom` impls below, once.

use serde_json::Value;

use crate::access::tenant_from_columns;
use crate::stored::read_u64;
use crate::{
    AccessTokenRecord, ApiKeyRecord, AttemptOutcome, AttemptRecord, AuditEntry,
    AuthorizationRecord, AuthorizationStage, CredentialStatus, DeferredRecord, DeliveryRecord,
    DeliveryState, IssuedCredentialRecord, IssuerRecord, OfferRecord, OfferStatus,
    PresentationRequestRecord, PresentationStatus, RefreshTokenRecord, Result, SecretHash,
    SigningKeyRecord, StatusChangeRecord, StatusListEntry, StatusListRecord, StoreError, UnixTime,
    VerifierRecord, WebhookRecord,
};

/// A JSON (or string list) column as the backend decoded it: the JSON text SQLite stores,
/// the value of a Postgres `JSONB` column, a Postgres `TEXT[]`, or SQL `NULL`.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// JSON text, parsed on use.
    Text(String),
    /// An already decoded JSON value.
    Value(Value),
    /// An already decoded list of strings.
    Strings(Vec<String>),
    /// SQL `NULL`.
    Null,
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

impl From<Vec<String>> for Json {
    fn from(list: Vec<String>) -> Self {
        Self::Strings(list)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(column: Option<T>) -> Self {
        column.map_or(Self::Null, Into::into)
    }
}

fn unparsable() -> StoreError {
    StoreError::Corrupt("stored JSON does not parse".into())
}

fn missing() -> StoreError {
    StoreError::Corrupt("stored JSON is NULL".into())
}

impl Json {
    /// The JSON value of a nullable column.
    pub fn optional_value(self) -> Result<Option<Value>> {
        match self {
            Self::Text(text) => serde_json::from_str::<Value>(&text)
                .map(Some)
                .map_err(|_| unparsable()),
            Self::Value(value) => Ok(Some(value)),
            Self::Strings(list) => Ok(Some(Value::from(list))),
            Self::Null => Ok(None),
        }
    }

    /// The JSON value of a `NOT NULL` column.
    pub fn value(self) -> Result<Value> {
        self.optional_value()?.ok_or_else(missing)
    }

    /// The list of strings of a nullable column.
    pub fn optional_strings(self) -> Result<Option<Vec<String>>> {
        match self {
            Self::Text(text) => serde_json::from_str::<Vec<String>>(&text)
                .map(Some)
                .map_err(|_| unparsable()),
            Self::Value(value) => serde_json::from_value::<Vec<String>>(value)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("stored list does not parse".into())),
            Self::Strings(list) => Ok(Some(list)),
            Self::Null => Ok(None),
        }
    }

    /// The list of strings of a `NOT NULL` column.
    pub fn strings(self) -> Result<Vec<String>> {
        self.optional_strings()?.ok_or_else(missing)
    }
}

fn hash(stored: Vec<u8>) -> Result<SecretHash> {
    SecretHash::from_stored(&stored)
}

fn tx_code_failures(stored: i64) -> Result<u32> {
    u32::try_from(stored).map_err(|_| StoreError::Corrupt("negative tx_code_failures".into()))
}

/// Reads a stored `tx_code` failure count (`RETURNING tx_code_failures`).
pub fn read_tx_code_failures(stored: impl Into<i64>) -> Result<u32> {
    tx_code_failures(stored.into())
}

/// Table `issuers`.
#[derive(Debug)]
pub struct IssuerRow {
    pub issuer_id: String,
    pub config: Json,
    pub created_at: i64,
}

impl TryFrom<IssuerRow> for IssuerRecord {
    type Error = StoreError;
    fn try_from(r: IssuerRow) -> Result<Self> {
        Ok(Self {
            id: r.issuer_id,
            config: r.config.value()?,
            created_at: UnixTime(r.created_at),
        })
    }
}

/// Table `credential_offers` (without `credentials_issued`).
#[derive(Debug)]
pub struct OfferRow {
    pub issuer_id: String,
    pub offer_id: String,
    pub credential_configuration_ids: Json,
    pub claims: Json,
    pub credential_offer: Json,
    pub pre_authorized_code_hash: Vec<u8>,
    pub tx_code_hash: Option<Vec<u8>>,
    pub tx_code_failures: i64,
    /// 0/1 in SQLite; a Postgres `BOOLEAN` converts into it.
    pub deferred: i64,
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl TryFrom<OfferRow> for OfferRecord {
    type Error = StoreError;
    fn try_from(r: OfferRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            offer_id: r.offer_id,
            credential_configuration_ids: r.credential_configuration_ids.strings()?,
            claims: r.claims.optional_value()?,
            credential_offer: r.credential_offer.value()?,
            pre_authorized_code_hash: hash(r.pre_authorized_code_hash)?,
            tx_code_hash: r.tx_code_hash.map(hash).transpose()?,
            tx_code_failures: tx_code_failures(r.tx_code_failures)?,
            deferred: r.deferred != 0,
            status: OfferStatus::from_stored(&r.status)?,
            created_at: UnixTime(r.created_at),
            expires_at: UnixTime(r.expires_at),
        })
    }
}

/// Table `access_tokens`.
#[derive(Debug)]
pub struct AccessTokenRow {
    pub issuer_id: String,
    pub token_hash: Vec<u8>,
    pub offer_id: String,
    pub credential_configuration_ids: Json,
    pub expires_at: i64,
    pub dpop_jkt: Option<String>,
    /// 0/1 in SQLite; a Postgres `BOOLEAN` converts into it.
    pub authorization_details: i64,
    pub authorization_id: Option<String>,
}

impl TryFrom<AccessTokenRow> for AccessTokenRecord {
    type Error = StoreError;
    fn try_from(r: AccessTokenRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            token_hash: hash(r.token_hash)?,
            offer_id: r.offer_id,
            credential_configuration_ids: r.credential_configuration_ids.strings()?,
            expires_at: UnixTime(r.expires_at),
            dpop_jkt: r.dpop_jkt,
            authorization_details: r.authorization_details != 0,
            authorization_id: r.authorization_id,
        })
    }
}

/// Table `authorizations`.
#[derive(Debug)]
pub struct AuthorizationRow {
    pub issuer_id: String,
    pub authorization_id: String,
    pub handle_hash: Vec<u8>,
    pub stage: String,
    pub request: Json,
    pub subject: Option<String>,
    pub claims: Json,
    pub created_at: i64,
    pub expires_at: i64,
}

impl TryFrom<AuthorizationRow> for AuthorizationRecord {
    type Error = StoreError;
    fn try_from(r: AuthorizationRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            authorization_id: r.authorization_id,
            handle_hash: hash(r.handle_hash)?,
            stage: AuthorizationStage::from_stored(&r.stage)?,
            request: r.request.value()?,
            subject: r.subject,
            claims: r.claims.optional_value()?,
            created_at: UnixTime(r.created_at),
            expires_at: UnixTime(r.expires_at),
        })
    }
}

/// Table `refresh_tokens`.
#[derive(Debug)]
pub struct RefreshTokenRow {
    pub issuer_id: String,
    pub token_hash: Vec<u8>,
    pub authorization_id: String,
    pub dpop_jkt: Option<String>,
    pub expires_at: i64,
}

impl TryFrom<RefreshTokenRow> for RefreshTokenRecord {
    type Error = StoreError;
    fn try_from(r: RefreshTokenRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            token_hash: hash(r.token_hash)?,
            authorization_id: r.authorization_id,
            dpop_jkt: r.dpop_jkt,
            expires_at: UnixTime(r.expires_at),
        })
    }
}

/// Table `issued_credentials`.
#[derive(Debug)]
pub struct CredentialRow {
    pub issuer_id: String,
    pub credential_id: String,
    pub offer_id: String,
    pub credential_configuration_id: String,
    pub holder_key_thumbprint: Option<String>,
    pub status_list_id: Option<String>,
    pub status_list_index: Option<i64>,
    pub status: String,
    pub issued_at: i64,
    pub expires_at: Option<i64>,
}

impl TryFrom<CredentialRow> for IssuedCredentialRecord {
    type Error = StoreError;
    fn try_from(r: CredentialRow) -> Result<Self> {
        let status_list = match (r.status_list_id, r.status_list_index) {
            (Some(list_id), Some(index)) => Some(StatusListEntry {
                list_id,
                index: u64::try_from(index)
                    .map_err(|_| StoreError::Corrupt("negative status list index".into()))?,
            }),
            (None, None) => None,
            _ => return Err(StoreError::Corrupt("half a status list entry".into())),
        };
        Ok(Self {
            issuer_id: r.issuer_id,
            credential_id: r.credential_id,
            offer_id: r.offer_id,
            credential_configuration_id: r.credential_configuration_id,
            holder_key_thumbprint: r.holder_key_thumbprint,
            status_list,
            status: CredentialStatus::from_stored(&r.status)?,
            issued_at: UnixTime(r.issued_at),
            expires_at: r.expires_at.map(UnixTime),
        })
    }
}

/// Table `deferred_issuances` (without `consumed_at`).
#[derive(Debug)]
pub struct DeferredRow {
    pub issuer_id: String,
    pub transaction_id_hash: Vec<u8>,
    pub offer_id: String,
    pub credential_configuration_id: String,
    pub holder_keys: Json,
    pub created_at: i64,
    pub expires_at: i64,
}

impl TryFrom<DeferredRow> for DeferredRecord {
    type Error = StoreError;
    fn try_from(r: DeferredRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            transaction_id_hash: hash(r.transaction_id_hash)?,
            offer_id: r.offer_id,
            credential_configuration_id: r.credential_configuration_id,
            holder_keys: r.holder_keys.value()?,
            created_at: UnixTime(r.created_at),
            expires_at: UnixTime(r.expires_at),
        })
    }
}

/// Table `issuer_signing_keys`.
#[derive(Debug)]
pub struct SigningKeyRow {
    pub issuer_id: String,
    pub kid: String,
    pub alg: String,
    pub public_jwk: Json,
    pub encrypted_private_key: Vec<u8>,
    pub created_at: i64,
    pub activate_at: i64,
    pub retired_at: Option<i64>,
}

impl TryFrom<SigningKeyRow> for SigningKeyRecord {
    type Error = StoreError;
    fn try_from(r: SigningKeyRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            kid: r.kid,
            alg: r.alg,
            public_jwk: r.public_jwk.value()?,
            encrypted_private_key: r.encrypted_private_key,
            created_at: UnixTime(r.created_at),
            activate_at: UnixTime(r.activate_at),
            retired_at: r.retired_at.map(UnixTime),
        })
    }
}

/// Table `status_lists`.
#[derive(Debug)]
pub struct StatusListRow {
    pub issuer_id: String,
    pub list_id: String,
    pub bits: i64,
    pub size: i64,
    pub version: i64,
    pub created_at: i64,
    pub sealed_at: Option<i64>,
}

impl TryFrom<StatusListRow> for StatusListRecord {
    type Error = StoreError;
    fn try_from(r: StatusListRow) -> Result<Self> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("status list {what}"));
        Ok(Self {
            issuer_id: r.issuer_id,
            list_id: r.list_id,
            bits: u8::try_from(r.bits).map_err(|_| corrupt("bits"))?,
            size: u64::try_from(r.size).map_err(|_| corrupt("size"))?,
            created_at: UnixTime(r.created_at),
            sealed_at: r.sealed_at.map(UnixTime),
            version: u64::try_from(r.version).map_err(|_| corrupt("version"))?,
        })
    }
}

/// Table `status_changes`.
#[derive(Debug)]
pub struct StatusChangeRow {
    pub issuer_id: String,
    pub list_id: String,
    pub version: i64,
    pub idx: i64,
    pub credential_id: String,
    pub status: String,
    pub at: i64,
    pub actor: String,
}

impl TryFrom<StatusChangeRow> for StatusChangeRecord {
    type Error = StoreError;
    fn try_from(r: StatusChangeRow) -> Result<Self> {
        Ok(Self {
            issuer_id: r.issuer_id,
            list_id: r.list_id,
            version: read_u64(r.version, "version")?,
            index: read_u64(r.idx, "index")?,
            credential_id: r.credential_id,
            status: CredentialStatus::from_stored(&r.status)?,
            at: UnixTime(r.at),
            actor: r.actor,
        })
    }
}

/// Table `verifiers`.
#[derive(Debug)]
pub struct VerifierRow {
    pub verifier_id: String,
    pub config: Json,
    pub encrypted_signing_key: Vec<u8>,
    pub created_at: i64,
}

impl TryFrom<VerifierRow> for VerifierRecord {
    type Error = StoreError;
    fn try_from(r: VerifierRow) -> Result<Self> {
        Ok(Self {
            id: r.verifier_id,
            config: r.config.value()?,
            encrypted_signing_key: r.encrypted_signing_key,
            created_at: UnixTime(r.created_at),
        })
    }
}

/// Table `presentation_requests`.
#[derive(Debug)]
pub struct PresentationRequestRow {
    pub verifier_id: String,
    pub request_id: String,
    pub state_hash: Vec<u8>,
    pub request: Json,
    pub encrypted_response_key: Option<Vec<u8>>,
    pub status: String,
    pub result: Json,
    pub error: Json,
    pub response_code_hash: Option<Vec<u8>>,
    pub response_code_used_at: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
    pub finished_at: Option<i64>,
}

impl TryFrom<PresentationRequestRow> for PresentationRequestRecord {
    type Error = StoreError;
    fn try_from(r: PresentationRequestRow) -> Result<Self> {
        Ok(Self {
            verifier_id: r.verifier_id,
            request_id: r.request_id,
            state_hash: hash(r.state_hash)?,
            request: r.request.value()?,
            encrypted_response_key: r.encrypted_response_key,
            status: PresentationStatus::from_stored(&r.status)?,
            result: r.result.optional_value()?,
            error: r.error.optional_value()?,
            response_code_hash: r.response_code_hash.map(hash).transpose()?,
            response_code_used_at: r.response_code_used_at.map(UnixTime),
            created_at: UnixTime(r.created_at),
            expires_at: UnixTime(r.expires_at),
            finished_at: r.finished_at.map(UnixTime),
        })
    }
}

/// Table `api_keys`.
#[derive(Debug)]
pub struct ApiKeyRow {
    pub key_id: String,
    pub name: String,
    pub issuers: Json,
    pub verifiers: Json,
    pub scopes: Json,
    pub key_hash: Vec<u8>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;
    fn try_from(r: ApiKeyRow) -> Result<Self> {
        Ok(Self {
            id: r.key_id,
            name: r.name,
            issuers: r.issuers.strings()?,
            verifiers: r.verifiers.strings()?,
            scopes: r.scopes.strings()?,
            key_hash: hash(r.key_hash)?,
            created_at: UnixTime(r.created_at),
            revoked_at: r.revoked_at.map(UnixTime),
        })
    }
}

/// Table `audit_entries`.
#[derive(Debug)]
pub struct AuditRow {
    pub tenant_kind: String,
    pub tenant_id: String,
    pub audit_id: String,
    pub at: i64,
    pub actor: String,
    pub actor_key_id: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self> {
        Ok(Self {
            id: r.audit_id,
            at: UnixTime(r.at),
            actor: r.actor,
            actor_key_id: r.actor_key_id,
            action: r.action,
            tenant: tenant_from_columns(&r.tenant_kind, r.tenant_id)?,
            target: r.target,
            outcome: r.outcome,
        })
    }
}

/// Table `webhooks`.
#[derive(Debug)]
pub struct WebhookRow {
    pub webhook_id: String,
    pub url: String,
    pub events: Json,
    pub issuers: Json,
    pub verifiers: Json,
    pub encrypted_secret: Vec<u8>,
    pub created_at: i64,
}

impl TryFrom<WebhookRow> for WebhookRecord {
    type Error = StoreError;
    fn try_from(r: WebhookRow) -> Result<Self> {
        Ok(Self {
            id: r.webhook_id,
            url: r.url,
            events: r.events.strings()?,
            issuers: r.issuers.optional_strings()?,
            verifiers: r.verifiers.optional_strings()?,
            encrypted_secret: r.encrypted_secret,
            created_at: UnixTime(r.created_at),
        })
    }
}

/// Reads a stored attempt number or count.
pub fn attempt_number(stored: i64) -> Result<u32> {
    u32::try_from(read_u64(stored, "attempt")?)
        .map_err(|_| StoreError::Corrupt("attempt number out of range".into()))
}

/// Table `webhook_deliveries` (without the lease).
#[derive(Debug)]
pub struct DeliveryRow {
    pub webhook_id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        Ok(Self {
            webhook_id: r.webhook_id,
            delivery_id: r.delivery_id,
            event_id: r.event_id,
            event_type: r.event_type,
            payload: r.payload,
            state: DeliveryState::from_stored(&r.state)?,
            attempts: attempt_number(r.attempts)?,
            next_attempt_at: r.next_attempt_at.map(UnixTime),
            created_at: UnixTime(r.created_at),
            history: Vec::new(),
        })
    }
}

/// Table `webhook_attempts` (the delivery id names the delivery it belongs to).
#[derive(Debug)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i64,
    pub at: i64,
    pub http_status: Option<i64>,
    pub error: Option<String>,
    pub outcome: String,
    pub next_attempt_at: Option<i64>,
}

impl TryFrom<AttemptRow> for AttemptRecord {
    type Error = StoreError;
    fn try_from(r: AttemptRow) -> Result<Self> {
        Ok(Self {
            attempt: attempt_number(r.attempt)?,
            at: UnixTime(r.at),
            http_status: r
                .http_status
                .map(|s| {
                    u16::try_from(s).map_err(|_| StoreError::Corrupt("bad http status".into()))
                })
                .transpose()?,
            error: r.error,
            outcome: AttemptOutcome::from_stored(&r.outcome)?,
            next_attempt_at: r.next_attempt_at.map(UnixTime),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_columns_decode_alike_from_text_values_and_lists() {
        let text = Json::from(r#"["a","b"]"#.to_owned());
        let value = Json::from(json!(["a", "b"]));
        let list = Json::from(vec!["a".to_owned(), "b".to_owned()]);
        for column in [text.clone(), value.clone(), list.clone()] {
            assert_eq!(column.strings().unwrap(), ["a", "b"]);
        }
        for column in [text, value, list] {
            assert_eq!(column.value().unwrap(), json!(["a", "b"]));
        }
        assert_eq!(Json::from(None::<String>).optional_value().unwrap(), None);
        assert!(matches!(
            Json::from(None::<String>).value(),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Json::from("{".to_owned()).value(),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Json::from(json!({"a": 1})).strings(),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn half_a_status_entry_is_corrupt() {
        let row = CredentialRow {
            issuer_id: "i".into(),
            credential_id: "c".into(),
            offer_id: "o".into(),
            credential_configuration_id: "x".into(),
            holder_key_thumbprint: None,
            status_list_id: Some("l".into()),
            status_list_index: None,
            status: "valid".into(),
            issued_at: 1,
            expires_at: None,
        };
        assert!(matches!(
            IssuedCredentialRecord::try_from(row),
            Err(StoreError::Corrupt(_))
        ));
    }
}
