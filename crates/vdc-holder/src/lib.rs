//! vdc-holder: a wallet SDK for OpenID for Verifiable Credential Issuance 1.0 (OID4VCI).
//!
//! It acts as a wallet against any OID4VCI 1.0 issuer using the **pre-authorized code
//! flow** (OID4VCI 1.0 §3.5): it parses the Credential Offer, discovers the issuer's and
//! its authorization server's metadata, exchanges the pre-authorized code (with the
//! End-User's transaction code when asked) for an access token, proves possession of one
//! fresh holder key per requested credential, receives `dc+sd-jwt` (SD-JWT VC) or
//! `jwt_vc_json` credentials, verifies them as a holder, stores them with their keys, and
//! notifies the issuer. Deferred issuance is supported.
//!
//! ```no_run
//! use vdc_holder::{FileStore, Wallet, WalletOptions};
//!
//! # async fn run() -> Result<(), vdc_holder::Error> {
//! let wallet = Wallet::new(FileStore::open("./credentials")?, WalletOptions::default())?;
//! let offer_uri = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2F...";
//! // Show the offer (issuer, tx_code description) before asking for the code:
//! let offer = wallet.resolve_offer(offer_uri).await?;
//! let accepted = wallet.accept(&offer, Some("493536"), 1).await?;
//! for c in &accepted.credentials {
//!     println!("{} from {}", c.vct.as_deref().unwrap_or(&c.format), c.issuer);
//! }
//! for pending in &accepted.deferred {
//!     // later, after `pending.interval` seconds:
//!     let _ = wallet.poll_deferred(pending).await?;
//! }
//! # Ok(()) }
//! ```
//!
//! Layout (modules mirror the spec):
//! - [`offer`]: Credential Offer parsing (§4.1).
//! - [`metadata`]: Credential Issuer Metadata (§12.2) and Authorization Server Metadata
//!   (RFC 8414; §12.3), with the well-known URL rules.
//! - [`client`]: one method per endpoint: token (§6), nonce (§7), credential (§8), deferred
//!   credential (§9), notification (§11), JWT VC Issuer Metadata.
//! - [`verify`]: holder-side verification of received credentials.
//! - [`store`]: [`CredentialStore`], [`FileStore`], [`MemoryStore`].
//! - [`present`]: the OpenID4VP 1.0 holder side: request objects per client id prefix,
//!   DCQL matching, minimal disclosure with KB-JWT, `direct_post` and `direct_post.jwt`.
//! - [`wallet`]: [`Wallet`], which chains all of it.
//!
//! Transport: every URL must be `https` unless [`WalletOptions::allow_insecure_http`]
//! (for local tests). Requests are time-bounded and responses size-bounded. There is no
//! private-address (SSRF) filter: a wallet talks to the issuer its user chose.
//!
//! Not implemented (each refused with [`Error::Unsupported`] before the pre-authorized
//! code is spent): the authorization code flow, encrypted requests/responses (§10), signed
//! issuer metadata, DPoP-bound tokens, key attestations, proof types other than `jwt`,
//! formats other than `dc+sd-jwt` and `jwt_vc_json`.

pub mod client;
pub mod error;
mod http;
pub mod metadata;
pub mod offer;
pub mod options;
pub mod present;
pub mod store;
pub mod verify;
pub mod wallet;

pub use client::{
    AccessToken, CredentialAuthorizationDetail, CredentialRequest, CredentialResponse,
    CredentialTarget, IssuerClient, NotificationEvent, TokenResponse,
};
pub use error::{Endpoint, Error, ErrorCode, OAuthError, Result};
pub use http::MAX_REDIRECTS;
pub use metadata::{
    AuthorizationServerMetadata, CredentialConfiguration, CredentialIssuerMetadata, IssuerInfo,
};
pub use offer::{
    CredentialOffer, Grants, OfferRef, PreAuthorizedCodeGrant, TxCode, parse_offer_uri,
};
pub use present::{PresentationRequest, PresentationSent, Selection, VerifierTrust};
pub use store::{CredentialStore, FileStore, MemoryStore, PrivateJwk, StoredCredential};
pub use verify::JwtVcIssuerMetadataResolver;
pub use wallet::{AcceptedOffer, DeferredHandle, Wallet, WalletOptions};
