//! The authorization code flow's state (OID4VCI 1.0 §5, RFC 6749 §4.1, RFC 9126, RFC 9449):
//! [`AuthorizationStore`] and its records.
//!
//! One row per authorization: a pushed authorization request becomes a login at the
//! enterprise's OpenID Provider, then an authorization code, then an access token. At each
//! step the row is found by the hash of the one secret the client holds at that step (the
//! `request_uri`, the login `state`, the code), and the step replaces that hash by the next
//! one in one conditional statement: each secret works once (G2), whoever races.
//!
//! Invariants owned here: G2 (each handle single use; DPoP `jti` single use), G6 (every key
//! leads with the tenant), R1 (the code is consumed in the transaction that stores the access
//! token and its offer).

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::time::UnixTime;

use crate::events::Outbox;
use crate::{NewAccessToken, OfferRecord, Result, SecretHash, StoreError};

/// Where an authorization is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthorizationStage {
    /// Pushed (RFC 9126); the handle is the `request_uri`.
    Pushed,
    /// The user is logging in at the identity provider; the handle is the login `state`.
    LoggingIn,
    /// Logged in; the handle is the authorization code.
    Authorized,
    /// The code was redeemed (kept until it expires, so a replay is recognised).
    Redeemed,
}

impl AuthorizationStage {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pushed => "pushed",
            Self::LoggingIn => "logging_in",
            Self::Authorized => "authorized",
            Self::Redeemed => "redeemed",
        }
    }

    /// Parses the stored text; [`StoreError::Corrupt`] on anything else.
    pub fn from_stored(s: &str) -> Result<Self> {
        Ok(match s {
            "pushed" => Self::Pushed,
            "logging_in" => Self::LoggingIn,
            "authorized" => Self::Authorized,
            "redeemed" => Self::Redeemed,
            _ => return Err(StoreError::Corrupt("unknown authorization stage".into())),
        })
    }
}

/// One authorization (a pushed request and what became of it).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationRecord {
    /// The tenant.
    pub issuer_id: String,
    /// A random id, unique per issuer (never handed out).
    pub authorization_id: String,
    /// SHA-256 of the secret that names the row at its current stage.
    pub handle_hash: SecretHash,
    /// The stage.
    pub stage: AuthorizationStage,
    /// The authorization request as the issuer crate serializes it (client, redirect URI,
    /// PKCE challenge, configurations, DPoP key); never secret.
    pub request: Value,
    /// The authenticated subject, once logged in.
    pub subject: Option<String>,
    /// The claims by configuration id, once known.
    pub claims: Option<Value>,
    /// When the row was created.
    pub created_at: UnixTime,
    /// When the current handle stops working.
    pub expires_at: UnixTime,
}

/// The next stage of an authorization ([`AuthorizationStore::advance_authorization`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationStep {
    /// The stage to move to.
    pub stage: AuthorizationStage,
    /// The hash of the next handle.
    pub handle_hash: SecretHash,
    /// When the next handle stops working.
    pub expires_at: UnixTime,
    /// The subject to record (kept if `None`).
    pub subject: Option<String>,
    /// The claims to record (kept if `None`).
    pub claims: Option<Value>,
}

/// Which offer an authorization code's access token belongs to.
#[derive(Debug, Clone, Copy)]
pub enum AuthorizedOffer<'a> {
    /// A new offer row made for this login, stored as `TokenIssued` (its token is stored
    /// with it), whatever its `status` says; [`StoreError::Duplicate`] on an id or code
    /// clash, [`StoreError::Invalid`] if it is another tenant's.
    New(&'a OfferRecord),
    /// The offer named by `issuer_state`: it must still be `Offered` and unexpired; it gets
    /// the login's claims.
    Existing {
        /// The offer id.
        offer_id: &'a str,
        /// The claims by configuration id.
        claims: &'a Value,
    },
}

/// What redeeming an authorization code stores.
#[derive(Debug, Clone, Copy)]
pub struct CodeRedemption<'a> {
    /// The offer the token is for.
    pub offer: AuthorizedOffer<'a>,
    /// The access token.
    pub token: &'a NewAccessToken,
    /// The configurations the token authorizes.
    pub credential_configuration_ids: &'a [String],
    /// Whether the token response returned `authorization_details` (OID4VCI 1.0 §6.2), so
    /// credential requests name a `credential_identifier` (§8.2).
    pub authorization_details: bool,
    /// Audit and webhook events, written in the same transaction.
    pub outbox: &'a Outbox,
}

/// What [`AuthorizationStore::redeem_authorization_code`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeOutcome {
    /// No live, unredeemed code under that hash for this tenant (nothing written).
    Unknown,
    /// The `issuer_state` offer was redeemed, cancelled or expired meanwhile (nothing
    /// written).
    OfferUsed,
    /// Redeemed: the access token is stored for this offer id.
    Issued(String),
}

/// A refresh token being stored (RFC 6749 §6; HAIP 1.0 §4.4).
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshTokenRecord {
    /// The tenant.
    pub issuer_id: String,
    /// SHA-256 of the refresh token.
    pub token_hash: SecretHash,
    /// The authorization it continues (the subject, claims and configurations come from it).
    pub authorization_id: String,
    /// The DPoP key it is bound to.
    pub dpop_jkt: Option<String>,
    /// When it stops working.
    pub expires_at: UnixTime,
}

/// The authorization code flow's state. Object-safe.
#[async_trait]
pub trait AuthorizationStore: Send + Sync + std::fmt::Debug {
    /// Stores a pushed authorization request; [`StoreError::Duplicate`] on a handle clash,
    /// [`StoreError::NotFound`] if the issuer does not exist.
    async fn push_authorization(&self, record: &AuthorizationRecord) -> Result<()>;

    /// The authorization whose current handle hashes to `handle_hash`, if it is at `stage`
    /// and unexpired at `now` (a read; nothing is consumed).
    async fn find_authorization(
        &self,
        issuer_id: &str,
        handle_hash: &SecretHash,
        stage: AuthorizationStage,
        now: UnixTime,
    ) -> Result<Option<AuthorizationRecord>>;

    /// Moves an authorization from `from` to `step` in one conditional statement (G2):
    /// exactly one of N racing callers with the same handle gets the row (as it now is);
    /// `None` if the handle is unknown, expired, or no longer at `from`.
    async fn advance_authorization(
        &self,
        issuer_id: &str,
        handle_hash: &SecretHash,
        from: AuthorizationStage,
        step: &AuthorizationStep,
        now: UnixTime,
    ) -> Result<Option<AuthorizationRecord>>;

    /// Redeems an authorization code (G2, R1): in one transaction moves the authorization
    /// `Authorized` → `Redeemed` (if unexpired), stores or claims the offer, stores the
    /// access token (with the authorization's id) and the outbox, and with `refresh` the
    /// refresh token, extending the authorization's `expires_at` to the refresh token's.
    /// [`StoreError::Invalid`] (nothing written) if `refresh` is another tenant's or another
    /// authorization's.
    async fn redeem_authorization_code(
        &self,
        issuer_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
        redemption: &CodeRedemption<'_>,
        refresh: Option<&RefreshTokenRecord>,
    ) -> Result<CodeOutcome>;

    /// Revokes every access and refresh token issued for an authorization (RFC 6749
    /// §4.1.2: a code used twice revokes what it gave). The number of tokens removed.
    async fn revoke_authorization(&self, issuer_id: &str, authorization_id: &str) -> Result<u64>;

    /// Revokes every authorization of the login subject `subject` at this issuer (an
    /// employee leaves; RFC 7009 §2.1 "all access tokens based on the same authorization
    /// grant"), in one transaction: deletes their access and refresh tokens (expired ones
    /// too) and moves their unredeemed codes to `Redeemed`, so none of them yields a token
    /// afterwards. The number of authorizations that still had a live (at `now`) code,
    /// access token or refresh token; 0 for an unknown subject or a second call. Logins
    /// still in progress have no subject yet and are not touched.
    async fn revoke_subject_authorizations(
        &self,
        issuer_id: &str,
        subject: &str,
        now: UnixTime,
    ) -> Result<u64>;

    /// Rotates a refresh token (G2): deletes the one hashing to `old_hash` if unexpired and
    /// stores `next` with the access token and offer of `redemption` (always
    /// [`AuthorizedOffer::New`]) in one transaction, extending the authorization's
    /// `expires_at` to `next.expires_at`. The authorization it continues, or `None` (nothing
    /// written) if the old token is unknown, expired or lost the race;
    /// [`StoreError::Invalid`] (nothing written) for an [`AuthorizedOffer::Existing`] or a
    /// `next` of another tenant or authorization.
    async fn rotate_refresh_token(
        &self,
        issuer_id: &str,
        old_hash: &SecretHash,
        now: UnixTime,
        next: &RefreshTokenRecord,
        redemption: &CodeRedemption<'_>,
    ) -> Result<Option<AuthorizationRecord>>;

    /// The refresh token hashing to `hash`, if unexpired, with its authorization.
    async fn find_refresh_token(
        &self,
        issuer_id: &str,
        hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<(RefreshTokenRecord, AuthorizationRecord)>>;

    /// Records a DPoP proof's `jti` as used (G2, RFC 9449 §11.1): true for exactly one
    /// caller; `expires_at` lets the record be purged once the proof is too old anyway
    /// (until then the `jti` stays used, whatever `expires_at` a later use names). False,
    /// with nothing written, if `expires_at` is not after `now`.
    async fn use_dpop_proof(
        &self,
        issuer_id: &str,
        jti_hash: &SecretHash,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool>;
}
