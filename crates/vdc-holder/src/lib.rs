//! vdc-holder: a wallet SDK for OpenID for Verifiable Credential Issuance 1.0 (OID4VCI).
//!
//! It acts as a wallet against any OID4VCI 1.0 issuer using the **pre-authorized code
//! flow** (OID4VCI 1.0 §3.5) or the **authorization code flow** (§3.4): it parses the
//! Credential Offer, discovers the issuer's and its authorization server's metadata,
//! exchanges the pre-authorized code (with the End-User's transaction code when asked) or
//! the code of the End-User's login for an access token, proves possession of one fresh
//! holder key per requested credential, receives `dc+sd-jwt` (SD-JWT VC), `jwt_vc_json` or
//! `mso_mdoc` (ISO 18013-5 mdoc, Appendix A.2) credentials, verifies them as a holder,
//! stores them with their keys, and notifies the issuer. Deferred issuance is supported.
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
//! The authorization code flow ([`authorize`]) takes two calls around the End-User's
//! browser: [`Wallet::begin_authorization`] pushes the request (RFC 9126 PAR when the
//! authorization server has a PAR endpoint, PKCE S256 per RFC 7636, `authorization_details`
//! per configuration, the offer's `issuer_state`, a DPoP proof by a fresh key per session
//! per RFC 9449) and returns the URL to open; [`Wallet::finish_authorization`] takes the URL
//! the browser was sent back to, checks `state` and the RFC 9207 `iss`, redeems the code and
//! requests the credentials with DPoP proofs on each resource request. A native or CLI
//! wallet uses a loopback redirect URI (`http://127.0.0.1:PORT/...`, RFC 8252 §7.3).
//!
//! ```no_run
//! use vdc_holder::{MemoryStore, Wallet, WalletOptions};
//!
//! # async fn run(redirected_url: &str) -> Result<(), vdc_holder::Error> {
//! let wallet = Wallet::new(MemoryStore::new(), WalletOptions::default())?;
//! let offer = wallet.resolve_offer("openid-credential-offer://?credential_offer_uri=...").await?;
//! let session = wallet
//!     .begin_authorization(&offer, "http://127.0.0.1:8123/callback", "my-wallet")
//!     .await?;
//! println!("open {}", session.authorization_url);
//! // ... the browser logs in and is redirected to http://127.0.0.1:8123/callback?code=...
//! let accepted = wallet.finish_authorization(&session, redirected_url, 1).await?;
//! if let Some(tokens) = &accepted.tokens {
//!     let _refreshed = wallet.refresh(tokens).await?; // when a refresh token was issued
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
//! - [`authorize`]: the authorization code flow: PAR, PKCE, DPoP, the authorization
//!   response checks, refresh.
//! - [`verify`]: holder-side verification of received credentials.
//! - [`mdoc`]: `mso_mdoc` on the holder side: checks of a received `IssuerSigned`
//!   (integrity and binding; the wallet holds no IACA anchors), DCQL matching by doctype
//!   and `[namespace, element]`, and `DeviceResponse` presentations over the OID4VP 1.0
//!   B.2.6.1 session transcript.
//! - [`store`]: [`CredentialStore`], [`FileStore`], [`MemoryStore`].
//! - [`present`]: the OpenID4VP 1.0 holder side: request objects per client id prefix,
//!   DCQL matching, minimal disclosure with KB-JWT, `direct_post` and `direct_post.jwt`.
//! - [`status`]: the holder's own status check of a stored credential
//!   ([`Wallet::credential_status`]: Token Status List or W3C Bitstring Status List, fetched
//!   with the wallet's HTTP client and verified as the verifier would);
//!   [`Wallet::select_credentials_with`] and [`Wallet::present_with`] use it to pass over
//!   revoked and suspended credentials.
//! - [`wallet`]: [`Wallet`], which chains all of it.
//!
//! Transport: every URL must be `https` unless [`WalletOptions::allow_insecure_http`]
//! (for local tests). Requests are time-bounded and responses size-bounded. There is no
//! private-address (SSRF) filter: a wallet talks to the issuer its user chose.
//!
//! Not implemented (each refused with [`Error::Unsupported`] before a code is spent):
//! encrypted requests/responses (§10), signed issuer metadata, key attestations, proof types
//! other than `jwt`, formats other than `dc+sd-jwt`, `jwt_vc_json` and `mso_mdoc`; in the
//! authorization code flow also confidential clients, request objects (RFC 9101) and
//! `scope`-only requests (the SDK always sends `authorization_details`).

pub mod authorize;
pub mod client;
pub mod error;
mod http;
pub mod mdoc;
pub mod metadata;
pub mod offer;
pub mod options;
pub mod present;
pub mod status;
pub mod store;
pub mod verify;
pub mod wallet;

pub use authorize::{AuthorizationSession, AuthorizationTokens, DpopKey, check_redirect_uri};
pub use client::{
    AccessToken, CredentialAuthorizationDetail, CredentialRequest, CredentialResponse,
    CredentialTarget, IssuerClient, NotificationEvent, RefreshToken, TokenResponse,
};
pub use error::{AuthorizationResponseProblem, Endpoint, Error, ErrorCode, OAuthError, Result};
pub use http::MAX_REDIRECTS;
pub use metadata::{
    AuthorizationServerMetadata, CredentialConfiguration, CredentialIssuerMetadata, IssuerInfo,
};
pub use offer::{
    AuthorizationCodeGrant, CredentialOffer, Grants, OfferRef, PreAuthorizedCodeGrant, TxCode,
    parse_offer_uri,
};
pub use present::{
    Checked, PresentationRequest, PresentationSent, SelectOptions, Selection, SelectionOutcome,
    VerifierTrust,
};
pub use status::CredentialState;
pub use store::{CredentialStore, FileStore, MemoryStore, PrivateJwk, StoredCredential};
pub use verify::JwtVcIssuerMetadataResolver;
pub use wallet::{AcceptedOffer, DeferredHandle, Wallet, WalletOptions};
