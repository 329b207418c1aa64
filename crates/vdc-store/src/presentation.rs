//! Verifier state: verifiers (tenants) and their presentation requests, behind
//! [`PresentationStore`].
//!
//! Model (migration `0003_presentations`):
//! - `verifiers`: one row per verifier tenant: its configuration (JSON: client identifier
//!   prefix, `client_id`, display, trusted issuers, certificate chain) and its request-signing
//!   key, stored only as ciphertext produced by the caller.
//! - `presentation_requests`: one row per OpenID4VP transaction. The `state` is looked up by
//!   its SHA-256 ([`SecretHash`]); the request object claims (which carry `state` and `nonce`
//!   as the wallet receives them at `request_uri`) are kept to sign the request object on each
//!   fetch. The ephemeral response-encryption key of `direct_post.jwt` is ciphertext from the
//!   caller. The result is written once by [`PresentationStore::finish_presentation_request`],
//!   a conditional `UPDATE … WHERE status = 'pending' AND expires_at > now` (G2: of N
//!   concurrent responses exactly one is processed). The same-device `response_code` is kept
//!   as a hash and redeemed once.
//!
//! Invariants: G2, G6 (`verifier_id` leads every key and filter), R4 (`now` is a parameter).

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::time::UnixTime;

use crate::events::Outbox;
use crate::{Result, SecretHash, StoreError};

/// A verifier tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifierRecord {
    /// The verifier slug.
    pub id: String,
    /// Its configuration, owned by the verifier service (JSON object).
    pub config: Value,
    /// Its request-signing private key, encrypted by the caller.
    pub encrypted_signing_key: Vec<u8>,
    /// When it was created.
    pub created_at: UnixTime,
}

/// Where a presentation request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresentationStatus {
    /// Waiting for the wallet's response.
    Pending,
    /// A response was received and every check passed.
    Verified,
    /// A response was received and refused, or the wallet answered with an error.
    Rejected,
    /// No response arrived before `expires_at`.
    Expired,
}

impl PresentationStatus {
    /// The stored (and API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    /// Parses a stored name; [`StoreError::Corrupt`] otherwise.
    pub fn from_stored(s: &str) -> Result<Self> {
        match s {
            "pending" => Ok(Self::Pending),
            "verified" => Ok(Self::Verified),
            "rejected" => Ok(Self::Rejected),
            "expired" => Ok(Self::Expired),
            other => Err(StoreError::Corrupt(format!(
                "unknown presentation status {other:?}"
            ))),
        }
    }
}

/// One presentation request (an OpenID4VP transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationRequestRecord {
    /// The verifier (tenant).
    pub verifier_id: String,
    /// The request id (public, in `request_uri`).
    pub request_id: String,
    /// SHA-256 of the `state`.
    pub state_hash: SecretHash,
    /// The request object claims (JSON object) and what the service needs to check the
    /// response (`nonce`, `dcql_query`, `response_mode`, ...).
    pub request: Value,
    /// The `direct_post.jwt` ephemeral private key, encrypted by the caller.
    pub encrypted_response_key: Option<Vec<u8>>,
    /// Where it stands (as stored: a pending request past `expires_at` is still `Pending`
    /// until [`PresentationStore::expire_presentation_request`]).
    pub status: PresentationStatus,
    /// The verified presentation (JSON), once verified.
    pub result: Option<Value>,
    /// The error (`{"error", "error_description"}`), once rejected.
    pub error: Option<Value>,
    /// SHA-256 of the same-device `response_code`, if one was issued.
    pub response_code_hash: Option<SecretHash>,
    /// When the `response_code` was redeemed.
    pub response_code_used_at: Option<UnixTime>,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// When it left `pending`.
    pub finished_at: Option<UnixTime>,
}

/// How a response ended a pending request.
#[derive(Debug, Clone, PartialEq)]
pub struct PresentationOutcome {
    /// [`PresentationStatus::Verified`] or [`PresentationStatus::Rejected`].
    pub status: PresentationStatus,
    /// The verified presentation.
    pub result: Option<Value>,
    /// The rejection reason.
    pub error: Option<Value>,
    /// SHA-256 of a same-device `response_code` to bind to the request.
    pub response_code_hash: Option<SecretHash>,
}

/// Verifier state. Object-safe: services hold an `Arc<dyn PresentationStore>`.
#[async_trait]
pub trait PresentationStore: Send + Sync + std::fmt::Debug {
    /// Creates a verifier; [`StoreError::Duplicate`] if the id exists.
    async fn create_verifier(&self, verifier: &VerifierRecord) -> Result<()>;
    /// The verifier with this id.
    async fn get_verifier(&self, id: &str) -> Result<Option<VerifierRecord>>;
    /// Every verifier, by id.
    async fn list_verifiers(&self) -> Result<Vec<VerifierRecord>>;
    /// At most `limit` verifiers whose id sorts after `after` (from the first without it),
    /// by id: one page of the management listing.
    async fn list_verifiers_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<VerifierRecord>>;
    /// Replaces a verifier's configuration (its signing key stays);
    /// [`StoreError::NotFound`] if it does not exist.
    async fn update_verifier_config(&self, id: &str, config: &Value) -> Result<()>;
    /// Replaces a verifier's sealed signing keys with `sealed` if they are still `expected`
    /// (compare-and-set on the ciphertext, which a fresh nonce makes unique per write): of
    /// racing key rotations that read the same keys exactly one writes, the others get
    /// false. [`StoreError::NotFound`] if the verifier does not exist.
    async fn replace_verifier_signing_key(
        &self,
        id: &str,
        expected: &[u8],
        sealed: &[u8],
    ) -> Result<bool>;
    /// Stores a new pending request and `outbox` in one transaction; [`StoreError::NotFound`]
    /// if the verifier does not exist, [`StoreError::Duplicate`] if the id or the state is
    /// taken.
    async fn create_presentation_request(
        &self,
        request: &PresentationRequestRecord,
        outbox: &Outbox,
    ) -> Result<()>;
    /// The request with this id, of this verifier.
    async fn get_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
    ) -> Result<Option<PresentationRequestRecord>>;
    /// The request of this verifier whose `state` hashes to `state_hash`.
    async fn find_presentation_request_by_state(
        &self,
        verifier_id: &str,
        state_hash: &SecretHash,
    ) -> Result<Option<PresentationRequestRecord>>;
    /// Ends a pending, unexpired request with `outcome`, in one conditional statement: true
    /// for exactly one of any number of concurrent callers, false if the request is unknown,
    /// finished or expired (nothing written). The winner writes `outbox` in the same
    /// transaction. [`StoreError::Invalid`] unless the outcome is verified or rejected.
    async fn finish_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
        outcome: &PresentationOutcome,
        now: UnixTime,
        outbox: &Outbox,
    ) -> Result<bool>;
    /// Marks a pending request whose `expires_at` has passed as expired and writes `outbox`
    /// with it; false (nothing written) otherwise.
    async fn expire_presentation_request(
        &self,
        verifier_id: &str,
        request_id: &str,
        now: UnixTime,
        outbox: &Outbox,
    ) -> Result<bool>;
    /// Marks up to `limit` pending requests whose `expires_at` has passed as expired, in one
    /// conditional statement, and returns their `(verifier_id, request_id)`: each request is
    /// returned to exactly one of several concurrent callers (the expiry sweep). The outbox
    /// `outbox(verifier_id, request_id)` of each is written in the same transaction.
    async fn expire_due_presentation_requests(
        &self,
        now: UnixTime,
        limit: u32,
        outbox: &crate::events::OutboxOf<'_>,
    ) -> Result<Vec<(String, String)>>;
    /// Redeems a same-device `response_code` once: the verified request it is bound to, or
    /// `None` if unknown or already redeemed.
    async fn redeem_response_code(
        &self,
        verifier_id: &str,
        code_hash: &SecretHash,
        now: UnixTime,
    ) -> Result<Option<PresentationRequestRecord>>;
    /// The presentation retention purge: deletes up to `limit` of the oldest finished
    /// (verified, rejected or expired) requests of every verifier whose `finished_at` is
    /// before `before` (one finished at `before` stays) in one statement, and returns how
    /// many. A `pending` request is never purged, however old (the expiry sweep ends it
    /// first). A purged request's `state` and `response_code` then match nothing, so they stay
    /// unusable (G2). Callers repeat while it returns `limit`.
    async fn purge_finished_presentation_requests(
        &self,
        before: UnixTime,
        limit: u32,
    ) -> Result<u64>;
}

/// Checks what [`PresentationStore::finish_presentation_request`] refuses.
pub fn check_outcome(outcome: &PresentationOutcome) -> Result<()> {
    match outcome.status {
        PresentationStatus::Verified | PresentationStatus::Rejected => Ok(()),
        _ => Err(StoreError::Invalid(
            "a response ends a request as verified or rejected",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in [
            PresentationStatus::Pending,
            PresentationStatus::Verified,
            PresentationStatus::Rejected,
            PresentationStatus::Expired,
        ] {
            assert_eq!(PresentationStatus::from_stored(s.as_str()).unwrap(), s);
        }
        assert!(PresentationStatus::from_stored("done").is_err());
    }
}
