//! vdc-store: what vdc keeps, said as intent, and the contract every backend must honour.
//!
//! Layout:
//! - [`error`]: [`StoreError`], the one error every store method returns, with a `Copy`
//!   [`StoreErrorKind`] for callers that branch (e.g. `Unavailable` → 503, R2).
//! - [`secret`]: [`SecretHash`], the SHA-256 under which every bearer secret (codes, tokens,
//!   nonces, transaction and notification ids) is stored: secrets never rest in clear.
//! - [`issuance`]: the OpenID4VCI issuer state: tenants, signing keys, offers, access tokens,
//!   `c_nonce`s, issued credentials, deferred issuance, notifications, and instance settings,
//!   behind the object-safe [`IssuanceStore`] trait.
//! - [`authorization`]: the authorization code flow (pushed requests, logins, codes, refresh
//!   tokens, DPoP `jti`s), behind [`AuthorizationStore`].
//! - [`status`]: status lists: random index allocation, status changes with their history,
//!   behind the object-safe [`StatusStore`] trait.
//! - [`presentation`]: the OpenID4VP verifier state: verifier tenants and presentation
//!   requests with single-use responses and response codes, behind [`PresentationStore`].
//! - [`access`]: scoped API keys (stored as SHA-256) and the audit log, behind
//!   [`AccessStore`].
//! - [`events`]: domain events ([`events::DomainEvent`]) and the sinks that hear them
//!   (audit log, webhook outbox).
//! - [`webhook`]: webhook subscriptions and their delivery outbox, behind [`WebhookStore`].
//! - [`Store`]: everything one backend keeps (all four traits), what the server composes.
//! - [`stored`]: the one rule for storing unsigned integers in signed SQL columns.
//! - [`rows`]: the rows every backend reads, each with the one decoding into its record.
//! - [`pool`]: connection settings shared by the backends ([`PoolSettings`]).
//! - `contract` (feature `contract-tests`): the backend contract suite, written once and run by
//!   every backend crate (`vdc-store-sqlite`, `vdc-store-postgres`) through
//!   `contract_suite!`.
//!
//! Tenancy (G6): every record carries its tenant (`issuer_id`), every key of every table leads
//! with it, and every method filters on it. Time is a parameter (`now`); no backend reads a
//! clock. Single use (G2) is one atomic conditional statement or one transaction per method.

pub mod access;
pub mod audit;
pub mod authorization;
pub mod error;
pub mod events;
pub mod issuance;
pub mod keyring;
pub mod keys;
pub mod pool;
pub mod presentation;
pub mod rows;
pub mod sealed;
pub mod secret;
pub mod status;
pub mod stored;
pub mod tenant;
pub mod webhook;

#[cfg(feature = "contract-tests")]
pub mod contract;

pub use access::{AccessStore, ApiKeyRecord, AuditEntry, AuditQuery};
pub use authorization::{
    AuthorizationRecord, AuthorizationStage, AuthorizationStep, AuthorizationStore,
    AuthorizedOffer, CodeOutcome, CodeRedemption, RefreshTokenRecord,
};
pub use error::{StoreError, StoreErrorKind};
pub use events::{Outbox, OutboxEvent};
pub use issuance::{
    AccessTokenRecord, CredentialStatus, DeferredOutcome, DeferredRecord, IssuanceStore,
    IssuedCredentialRecord, IssuerRecord, NewAccessToken, NonceUse, NotificationRecord,
    OfferRecord, OfferStatus, StatusListEntry, check_records,
};
pub use keyring::{
    ExternalKeyError, ExternalKeys, KeyInfo, KeyRing, KeyRingSettings, KeyState, PublishedKey,
    PublishedKeys,
};
pub use keys::{KeyStore, SigningKeyRecord};
pub use pool::PoolSettings;
pub use presentation::{
    PresentationOutcome, PresentationRequestRecord, PresentationStatus, PresentationStore,
    VerifierRecord,
};
pub use sealed::{SealedChange, SealedRow, SealedStore, SealedTable};
pub use secret::SecretHash;
pub use status::{
    StatusChange, StatusChangeOutcome, StatusChangeRecord, StatusListRecord, StatusListSnapshot,
    StatusStore,
};
pub use vdc_core::time::UnixTime;
pub use webhook::{
    AttemptOutcome, AttemptRecord, DeliveryRecord, DeliveryState, NewDelivery, WebhookRecord,
    WebhookStore,
};

/// The result of every store method.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything one backend keeps: the issuer's state, its status lists, the verifiers'
/// presentation requests, and API keys with the audit log. Each backend implements every trait on one type, so the issuance
/// transaction can bind status entries (R1); services hold the narrower trait they need
/// (`Arc<dyn Store>` upcasts to each).
pub trait Store:
    IssuanceStore
    + AuthorizationStore
    + KeyStore
    + StatusStore
    + PresentationStore
    + AccessStore
    + WebhookStore
    + SealedStore
{
}

impl<
    T: IssuanceStore
        + AuthorizationStore
        + KeyStore
        + StatusStore
        + PresentationStore
        + AccessStore
        + WebhookStore
        + SealedStore
        + ?Sized,
> Store for T
{
}
