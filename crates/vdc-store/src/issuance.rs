//! The OpenID4VCI issuer's state: [`IssuanceStore`] and its records.
//!
//! Invariants owned here (SECURITY-INVARIANTS.md):
//! - G2: pre-authorized codes, `c_nonce`s, deferred `transaction_id`s and notification ids
//!   are consumed by one atomic conditional statement (or one transaction): of N racing
//!   callers exactly one wins.
//! - G6: every method takes the tenant (`issuer_id`) and filters on it; records of another
//!   tenant are refused with [`StoreError::Invalid`].
//! - R1: [`IssuanceStore::issue_credentials`] and [`IssuanceStore::redeem_deferred`] write the
//!   issuance records in the same transaction that consumes the proof nonce / transaction id,
//!   so the caller holds a durable record before it answers.
//! - R2: outages surface as [`StoreError::Unavailable`] and change nothing.

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::time::UnixTime;

use crate::events::{OfferOutbox, Outbox};
use crate::{Result, SecretHash, StoreError};

/// A tenant: one credential issuer with its own configuration, keys and state.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerRecord {
    /// The tenant id (appears in the issuer's URLs).
    pub id: String,
    /// The issuer's configuration (metadata, credential configurations), as the issuer
    /// crate serializes it.
    pub config: Value,
    /// When the issuer was created.
    pub created_at: UnixTime,
}

/// Where a credential offer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfferStatus {
    /// Created; the pre-authorized code is live.
    Offered,
    /// The pre-authorized code was redeemed for an access token.
    TokenIssued,
    /// At least one credential was issued.
    CredentialIssued,
    /// Cancelled by the operator before redemption.
    Cancelled,
}

impl OfferStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::TokenIssued => "token_issued",
            Self::CredentialIssued => "credential_issued",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored text; [`StoreError::Corrupt`] on anything else.
    pub fn from_stored(s: &str) -> Result<Self> {
        Ok(match s {
            "offered" => Self::Offered,
            "token_issued" => Self::TokenIssued,
            "credential_issued" => Self::CredentialIssued,
            "cancelled" => Self::Cancelled,
            _ => return Err(StoreError::Corrupt("unknown offer status".into())),
        })
    }
}

/// A credential offer (OID4VCI 1.0, "Credential Offer") with its pre-authorized code.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferRecord {
    /// The tenant.
    pub issuer_id: String,
    /// The offer id (used in `credential_offer_uri`), unique per issuer.
    pub offer_id: String,
    /// The offered credential configurations.
    pub credential_configuration_ids: Vec<String>,
    /// The claims to issue; `None` until known for deferred offers.
    pub claims: Option<Value>,
    /// The Credential Offer JSON served by reference.
    pub credential_offer: Value,
    /// SHA-256 of the pre-authorized code; unique per issuer.
    pub pre_authorized_code_hash: SecretHash,
    /// SHA-256 of the `tx_code`, when one is required.
    pub tx_code_hash: Option<SecretHash>,
    /// Wrong `tx_code`s presented so far.
    pub tx_code_failures: u32,
    /// Whether issuance is deferred (claims arrive later).
    pub deferred: bool,
    /// Where the offer is in its life.
    pub status: OfferStatus,
    /// When the offer was created.
    pub created_at: UnixTime,
    /// When the pre-authorized code stops being redeemable.
    pub expires_at: UnixTime,
}

/// What the token endpoint stores for an access token it is about to hand out; the rest
/// (offer, configurations) is taken from the offer redeemed in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAccessToken {
    /// SHA-256 of the access token.
    pub token_hash: SecretHash,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// The JWK thumbprint of the DPoP key the token is bound to (RFC 9449 §6: `cnf.jkt`);
    /// `None` for a Bearer token.
    pub dpop_jkt: Option<String>,
}

/// An access token issued for a pre-authorized code or an authorization code.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessTokenRecord {
    /// The tenant.
    pub issuer_id: String,
    /// SHA-256 of the access token.
    pub token_hash: SecretHash,
    /// The offer whose code was redeemed.
    pub offer_id: String,
    /// The credential configurations the token authorizes.
    pub credential_configuration_ids: Vec<String>,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// The DPoP key thumbprint the token is bound to (`None`: a Bearer token).
    pub dpop_jkt: Option<String>,
    /// Whether the token response carried `authorization_details` (OID4VCI 1.0 §6.2): the
    /// credential request then names a `credential_identifier` (§8.2).
    pub authorization_details: bool,
    /// The authorization (code flow) the token was issued for; `None` for a pre-authorized
    /// code.
    pub authorization_id: Option<String>,
}

/// The status of an issued credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialStatus {
    /// Valid.
    Valid,
    /// Revoked (final).
    Revoked,
    /// Suspended (may become valid again).
    Suspended,
}

impl CredentialStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Revoked => "revoked",
            Self::Suspended => "suspended",
        }
    }

    /// Parses the stored text; [`StoreError::Corrupt`] on anything else.
    pub fn from_stored(s: &str) -> Result<Self> {
        Ok(match s {
            "valid" => Self::Valid,
            "revoked" => Self::Revoked,
            "suspended" => Self::Suspended,
            _ => return Err(StoreError::Corrupt("unknown credential status".into())),
        })
    }
}

/// A credential's entry in a status list; one (list, index) per issuer belongs to one
/// credential only (G9), enforced by a unique key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusListEntry {
    /// The status list id.
    pub list_id: String,
    /// The index in the list (at most `i64::MAX`).
    pub index: u64,
}

/// The durable record of one issued credential (R1).
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedCredentialRecord {
    /// The tenant.
    pub issuer_id: String,
    /// The credential id, unique per issuer.
    pub credential_id: String,
    /// The offer it was issued for.
    pub offer_id: String,
    /// Its credential configuration.
    pub credential_configuration_id: String,
    /// JWK thumbprint (RFC 7638) of the holder key it is bound to, if bound.
    pub holder_key_thumbprint: Option<String>,
    /// Its status list entry, if it has one.
    pub status_list: Option<StatusListEntry>,
    /// Its status.
    pub status: CredentialStatus,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires, if it does.
    pub expires_at: Option<UnixTime>,
}

/// A deferred issuance waiting for its claims (OID4VCI 1.0, "Deferred Credential Endpoint").
#[derive(Debug, Clone, PartialEq)]
pub struct DeferredRecord {
    /// The tenant.
    pub issuer_id: String,
    /// SHA-256 of the `transaction_id` handed to the wallet.
    pub transaction_id_hash: SecretHash,
    /// The offer it belongs to.
    pub offer_id: String,
    /// The credential configuration requested.
    pub credential_configuration_id: String,
    /// The holder public keys (JSON array of JWKs) from the verified key proofs.
    pub holder_keys: Value,
    /// When the wallet was told to come back.
    pub created_at: UnixTime,
    /// When the `transaction_id` stops being redeemable.
    pub expires_at: UnixTime,
}

/// A `c_nonce` being used: the hash the store keeps and when the nonce stops being valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceUse {
    /// SHA-256 of the nonce.
    pub hash: SecretHash,
    /// When the nonce expires (sealed inside it by the issuer).
    pub expires_at: UnixTime,
}

/// What [`IssuanceStore::redeem_deferred`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeferredOutcome {
    /// No live deferred issuance under that id for this tenant (unknown, expired, already
    /// redeemed, or lost the race): `invalid_transaction_id`.
    Unknown,
    /// The claims are not there yet; nothing was consumed: `issuance_pending`.
    Pending,
    /// Consumed; the records were written.
    Issued,
}

/// A notification id handed out with issued credentials (OID4VCI 1.0, "Notification
/// Endpoint").
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    /// The tenant.
    pub issuer_id: String,
    /// SHA-256 of the `notification_id`.
    pub notification_id_hash: SecretHash,
    /// The offer whose credentials it is about.
    pub offer_id: String,
    /// When it stops being accepted.
    pub expires_at: UnixTime,
}

/// The issuer's state. Object-safe: services hold an `Arc<dyn IssuanceStore>`.
///
/// Every method either succeeds or changes nothing; `now` is always the caller's clock.
#[async_trait]
pub trait IssuanceStore: Send + Sync + std::fmt::Debug {
    /// Checks that the database answers (readiness).
    async fn ping(&self) -> Result<()>;

    /// Creates a tenant; [`StoreError::Duplicate`] if the id exists.
    async fn create_issuer(&self, issuer: &IssuerRecord) -> Result<()>;
    /// The tenant with this id.
    async fn get_issuer(&self, issuer_id: &str) -> Result<Option<IssuerRecord>>;
    /// Every tenant, ordered by id.
    async fn list_issuers(&self) -> Result<Vec<IssuerRecord>>;
    /// At most `limit` tenants whose id sorts after `after` (from the first without it),
    /// ordered by id: one page of the management listing (ask `limit + 1` to learn whether
    /// another page follows).
    async fn list_issuers_page(&self, after: Option<&str>, limit: u32)
    -> Result<Vec<IssuerRecord>>;
    /// Replaces a tenant's configuration; [`StoreError::NotFound`] if it does not exist.
    async fn update_issuer_config(&self, issuer_id: &str, config: &Value) -> Result<()>;

    /// Stores a new offer and `outbox` in one transaction; [`StoreError::Duplicate`] if the
    /// offer id or the code hash exists for this issuer, [`StoreError::NotFound`] if the
    /// issuer does not exist.
    async fn create_offer(&self, offer: &OfferRecord, outbox: &Outbox) -> Result<()>;
    /// The offer with this id, whatever its status.
    async fn get_offer(&self, issuer_id: &str, offer_id: &str) -> Result<Option<OfferRecord>>;
    /// Cancels an offer that is still `Offered`; false otherwise.
    async fn cancel_offer(&self, issuer_id: &str, offer_id: &str) -> Result<bool>;
    /// The offer whose pre-authorized code hashes to `code_hash`, if it is `Offered`,
    /// unexpired at `now` and has fewer than `max_tx_failures` failed `tx_code`s.
    async fn find_live_offer_by_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        max_tx_failures: u32,
    ) -> Result<Option<OfferRecord>>;
    /// Reserves one `tx_code` comparison for an `Offered` offer (G2): atomically counts it
    /// as a failure unless `max_tx_failures` are counted already, so N concurrent guesses get
    /// at most `max_tx_failures` comparisons in all. The new count, or `None` (nothing
    /// written) if the offer is not `Offered` or the limit is reached. A correct `tx_code`
    /// gives its reservation back when it redeems
    /// ([`Self::redeem_pre_authorized_code`] with `refund_tx_code_attempt`).
    async fn reserve_tx_code_attempt(
        &self,
        issuer_id: &str,
        offer_id: &str,
        max_tx_failures: u32,
    ) -> Result<Option<u32>>;
    /// Redeems a pre-authorized code (G2): in one transaction flips the offer `Offered` →
    /// `TokenIssued` if unexpired and below `max_tx_failures`, and stores the access token
    /// (for the offer's configurations). With `refund_tx_code_attempt` the caller holds a
    /// reservation of [`Self::reserve_tx_code_attempt`] for a correct `tx_code`: it is not a
    /// failure, so it is taken back in the same statement (a correct code consumes no
    /// attempt). Without it the caller presented no `tx_code`, so only an offer that needs
    /// none is redeemed (the token endpoint then needs no read before this write).
    /// `outbox(offer)` is written in the same transaction. The offer as it now is, or `None`
    /// if unknown, expired, blocked, already redeemed, needing a `tx_code`, or lost the race
    /// (nothing written).
    #[allow(clippy::too_many_arguments)]
    async fn redeem_pre_authorized_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        max_tx_failures: u32,
        token: &NewAccessToken,
        refund_tx_code_attempt: bool,
        outbox: &OfferOutbox<'_>,
    ) -> Result<Option<OfferRecord>>;
    /// The access token hashing to `token_hash`, if unexpired at `now`.
    async fn find_access_token(
        &self,
        issuer_id: &str,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenRecord>>;

    /// The access token hashing to `token_hash`, if unexpired at `now`, with its offer, in
    /// one read (the credential endpoint needs both).
    async fn find_token_offer(
        &self,
        issuer_id: &str,
        token_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<(AccessTokenRecord, OfferRecord)>>;

    /// Consumes a `c_nonce` (G2): records its hash as used, true for exactly one caller.
    /// The issuer made the nonce without a write (it is sealed, `vdc-issuer`), so the store
    /// knows only used ones; `nonce.expires_at` lets [`Self::purge_expired`] drop the record
    /// once the nonce is dead anyway. False for an already used or expired (at `now`) nonce.
    async fn consume_nonce(&self, issuer_id: &str, nonce: &NonceUse, now: UnixTime)
    -> Result<bool>;

    /// Issues credentials (G2, R1): in one transaction consumes the proof `c_nonce`, counts
    /// the records against the offer's limit, allocates each record's status list entry and
    /// binds it to the credential, stores every record (all for `offer_id` and this issuer,
    /// else [`StoreError::Invalid`]) and the optional notification id, and sets the offer
    /// `CredentialIssued`, and writes `outbox`. False, with nothing written, if the nonce was
    /// not consumable ([`Self::consume_nonce`]). [`StoreError::Exhausted`] if the offer would then have yielded more than
    /// `max_credentials`; [`StoreError::Duplicate`] (`"status list entry"`) if an entry's
    /// index is taken, [`StoreError::NotFound`] (`"status list entry"`) if its list is
    /// unknown or sealed or the index outside it: nothing is written in either case (R1, G9),
    /// and the caller may sign again with other indexes.
    // The nonce, the offer, its limit and what to write are one atomic step (G2, R1).
    #[allow(clippy::too_many_arguments)]
    async fn issue_credentials(
        &self,
        issuer_id: &str,
        nonce: &NonceUse,
        now: UnixTime,
        offer_id: &str,
        records: &[IssuedCredentialRecord],
        notification: Option<&NotificationRecord>,
        max_credentials: u32,
        outbox: &Outbox,
    ) -> Result<bool>;
    /// The issued credential with this id.
    async fn get_credential(
        &self,
        issuer_id: &str,
        credential_id: &str,
    ) -> Result<Option<IssuedCredentialRecord>>;
    /// The credentials issued for an offer, by credential id.
    async fn credentials_for_offer(
        &self,
        issuer_id: &str,
        offer_id: &str,
    ) -> Result<Vec<IssuedCredentialRecord>>;

    /// Defers issuance (G2): in one transaction consumes the proof `c_nonce` and stores the
    /// deferred record. False, with nothing written, if the nonce was not consumable.
    async fn defer_issuance(
        &self,
        issuer_id: &str,
        nonce: &NonceUse,
        now: UnixTime,
        deferred: &DeferredRecord,
    ) -> Result<bool>;
    /// The deferred issuance under this id if it is unredeemed and unexpired at `now` (the
    /// issuer reads the holder keys from it before signing).
    async fn get_deferred(
        &self,
        issuer_id: &str,
        transaction_id_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<DeferredRecord>>;
    /// Supplies the claims of a deferred offer; false if the offer is unknown, not deferred
    /// or cancelled.
    async fn set_offer_claims(
        &self,
        issuer_id: &str,
        offer_id: &str,
        claims: &Value,
    ) -> Result<bool>;
    /// Redeems a deferred `transaction_id` (G2, R1), in one transaction: if it is live and
    /// its offer has claims, consumes it, stores `records` (all for its offer and this issuer,
    /// else [`StoreError::Invalid`]) and the optional notification, sets the offer
    /// `CredentialIssued` and writes `outbox`: [`DeferredOutcome::Issued`] (the limit and
    /// status entries as in [`Self::issue_credentials`]). If the claims are missing:
    /// `Pending`, nothing consumed. Otherwise (unknown, expired, redeemed, lost the race):
    /// `Unknown`. The caller signs before calling and drops what it signed unless `Issued`.
    #[allow(clippy::too_many_arguments)]
    async fn redeem_deferred(
        &self,
        issuer_id: &str,
        transaction_id_hash: &SecretHash,
        now: UnixTime,
        records: &[IssuedCredentialRecord],
        notification: Option<&NotificationRecord>,
        max_credentials: u32,
        outbox: &Outbox,
    ) -> Result<DeferredOutcome>;

    /// Stores a notification id; [`StoreError::Duplicate`] if it exists,
    /// [`StoreError::NotFound`] if its offer does not.
    async fn create_notification(&self, notification: &NotificationRecord) -> Result<()>;
    /// Consumes a notification id of `offer_id` (the access token's offer: an id handed out
    /// for another offer is unknown here) with its `event` while it is unexpired. The first event
    /// wins (G2: of racing different events exactly one is recorded); repeating that same
    /// event is also true, because OID4VCI 1.0 §11 makes notifications idempotent ("When the
    /// Credential Issuer receives multiple identical calls ... it returns success"). A
    /// different event after the first, an unknown or an expired id: false.
    async fn consume_notification(
        &self,
        issuer_id: &str,
        offer_id: &str,
        notification_id_hash: &SecretHash,
        event: &str,
        now: UnixTime,
    ) -> Result<bool>;

    /// Deletes this issuer's nonces, access tokens and notification ids that expired before
    /// `now`, and its authorizations, refresh tokens and used DPoP `jti`s likewise (an
    /// authorization lives as long as its refresh tokens); the number of rows removed.
    /// (Expired ones are unusable anyway.)
    async fn purge_expired(&self, issuer_id: &str, now: UnixTime) -> Result<u64>;

    /// An instance-wide setting (not per tenant), e.g. the hash of a generated admin key.
    async fn get_setting(&self, key: &str) -> Result<Option<String>>;
    /// Stores a setting unless present, atomically: true for the first writer only.
    async fn put_setting_if_absent(&self, key: &str, value: &str) -> Result<bool>;
}

/// Checks that every record belongs to `issuer_id` and `offer_id` (G6); backends call it
/// before writing issuance records.
pub fn check_records(
    issuer_id: &str,
    offer_id: &str,
    records: &[IssuedCredentialRecord],
    notification: Option<&NotificationRecord>,
) -> Result<()> {
    if records.iter().any(|r| r.issuer_id != issuer_id) {
        return Err(StoreError::Invalid("credential record of another issuer"));
    }
    if records.iter().any(|r| r.offer_id != offer_id) {
        return Err(StoreError::Invalid("credential record of another offer"));
    }
    if let Some(n) = notification {
        if n.issuer_id != issuer_id {
            return Err(StoreError::Invalid("notification of another issuer"));
        }
        if n.offer_id != offer_id {
            return Err(StoreError::Invalid("notification of another offer"));
        }
    }
    if records.iter().any(|r| {
        r.status_list
            .as_ref()
            .is_some_and(|s| i64::try_from(s.index).is_err())
    }) {
        return Err(StoreError::Invalid("status list index beyond i64"));
    }
    Ok(())
}
