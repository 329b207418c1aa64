//! Route paths, shared with tests and the test wallet (contract: "Issuers").

/// Credential Issuer Metadata at the OID4VCI 1.0 §12.2.2 position.
pub const METADATA_INSERTED: &str = "/.well-known/openid-credential-issuer/issuers/{issuer}";
/// Credential Issuer Metadata appended to the identifier (what many wallets try).
pub const METADATA_APPENDED: &str = "/issuers/{issuer}/.well-known/openid-credential-issuer";
/// RFC 8414 §3.1 Authorization Server Metadata.
pub const AS_METADATA_INSERTED: &str = "/.well-known/oauth-authorization-server/issuers/{issuer}";
/// Authorization Server Metadata, appended form.
pub const AS_METADATA_APPENDED: &str = "/issuers/{issuer}/.well-known/oauth-authorization-server";
/// JWT VC Issuer Metadata (SD-JWT VC).
pub const JWT_VC_ISSUER_INSERTED: &str = "/.well-known/jwt-vc-issuer/issuers/{issuer}";
/// JWT VC Issuer Metadata, appended form.
pub const JWT_VC_ISSUER_APPENDED: &str = "/issuers/{issuer}/.well-known/jwt-vc-issuer";
/// The trust anchor of the chain vdc made for the issuer's signing key (PEM, public).
pub const TRUST_ANCHOR: &str = "/issuers/{issuer}/trust-anchor.pem";
/// A credential offer by reference.
pub const OFFER: &str = "/issuers/{issuer}/offers/{id}";
/// Pushed authorization request endpoint (RFC 9126).
pub const PAR: &str = "/issuers/{issuer}/par";
/// Authorization endpoint (RFC 6749 §3.1).
pub const AUTHORIZE: &str = "/issuers/{issuer}/authorize";
/// Where the enterprise's identity provider sends the user back (vdc's redirect URI there).
pub const AUTHORIZE_CALLBACK: &str = "/issuers/{issuer}/authorize/callback";
/// Token endpoint.
pub const TOKEN: &str = "/issuers/{issuer}/token";
/// Token revocation endpoint (RFC 7009).
pub const REVOKE: &str = "/issuers/{issuer}/revoke";
/// Challenge endpoint (draft-ietf-oauth-attestation-based-client-auth §"Challenges").
pub const CHALLENGE: &str = "/issuers/{issuer}/challenge";
/// Nonce endpoint.
pub const NONCE: &str = "/issuers/{issuer}/nonce";
/// Credential endpoint.
pub const CREDENTIAL: &str = "/issuers/{issuer}/credential";
/// Deferred credential endpoint.
pub const DEFERRED_CREDENTIAL: &str = "/issuers/{issuer}/deferred_credential";
/// Notification endpoint.
pub const NOTIFICATION: &str = "/issuers/{issuer}/notification";

/// Management: issuers.
pub const API_ISSUERS: &str = "/api/v1/issuers";
/// Management: one issuer.
pub const API_ISSUER: &str = "/api/v1/issuers/{issuer}";
/// Management: an issuer's HAIP 1.0 report (contract-next "HAIP mode").
pub const API_ISSUER_HAIP: &str = "/api/v1/issuers/{issuer}/haip";
/// Management: the IACA root of an issuer's mdocs (PEM).
pub const API_ISSUER_IACA: &str = "/api/v1/issuers/{issuer}/iaca.pem";
/// Management: an issuer's signing keys (contract-next "Signing keys").
pub const API_KEYS: &str = "/api/v1/issuers/{issuer}/keys";
/// Management: one signing key.
pub const API_KEY: &str = "/api/v1/issuers/{issuer}/keys/{kid}";
/// Management: offers of an issuer.
pub const API_OFFERS: &str = "/api/v1/issuers/{issuer}/offers";
/// Management: one offer.
pub const API_OFFER: &str = "/api/v1/issuers/{issuer}/offers/{id}";
/// Management: a deferred offer's claims.
pub const API_OFFER_CLAIMS: &str = "/api/v1/issuers/{issuer}/offers/{id}/claims";
/// Management: an offer's QR code.
pub const API_OFFER_QR: &str = "/api/v1/issuers/{issuer}/offers/{id}/qr.svg";
/// Management: the authorizations (code flow logins) of an issuer.
pub const API_AUTHORIZATIONS: &str = "/api/v1/issuers/{issuer}/authorizations";
/// Management: an issued credential.
pub const API_CREDENTIAL: &str = "/api/v1/issuers/{issuer}/credentials/{id}";
