//! Token revocation (RFC 7009) at `POST /issuers/{issuer}/revoke`, and the management
//! operation that ends every authorization of a login subject (an employee leaves).
//!
//! Decisions (docs/SECURITY.md, "Authorization code flow"):
//! - Revoking a refresh token, or an access token of the authorization code flow, revokes
//!   the whole authorization: every access and refresh token it gave (RFC 7009 §2.1: the
//!   server "SHOULD also invalidate all access tokens based on the same authorization
//!   grant"). An access token of the pre-authorized code grant has no authorization (and no
//!   client) behind it: it is answered `unsupported_token_type` (RFC 7009 §2.2.1) and stays
//!   valid until it expires; the operator cancels such offers instead.
//! - Clients are public (`revocation_endpoint_auth_methods_supported: ["none"]`): the
//!   `client_id` is required and must be the one the authorization was made for (RFC 7009
//!   §2.1 "verifies whether the token was issued to the client making the revocation
//!   request"); a mismatch is `invalid_grant`, as at the token endpoint, and revokes nothing.
//!   Access tokens carry no client in the store, so for them the presented token is the only
//!   credential.
//! - No DPoP proof is asked for a DPoP-bound token (RFC 7009 has no DPoP rule and RFC 9449
//!   defines none for revocation): revocation only ever takes access away, so whoever holds
//!   a token can at worst end its own grant early, never use it.
//! - Unknown, expired, already revoked or other issuers' tokens are answered `200` like a
//!   revoked one (RFC 7009 §2.2), so the endpoint tells nothing about tokens.
//! - A refresh token already rotated away is unknown like any other: revoking it ends
//!   nothing (its successor is the live token; present that one, or offboard the subject).

use std::collections::HashMap;

use serde::Serialize;
use vdc_store::SecretHash;

use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// Longest `token` accepted (vdc's tokens are 43 characters; bounded input).
const MAX_TOKEN_LEN: usize = 4096;
/// Longest `subject` accepted: OpenID Connect Core 1.0 §2 bounds `sub` at 255 ASCII
/// characters.
const MAX_SUBJECT_LEN: usize = 255;

/// The token types of `token_type_hint` (RFC 7009 §2.1, §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenType {
    RefreshToken,
    AccessToken,
}

/// What `DELETE /api/v1/issuers/{issuer}/authorizations?subject=…` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"revoked": 2}))]
pub struct SubjectRevoked {
    /// How many authorizations of the subject still had a live authorization code, access
    /// token or refresh token and now have none (0 for an unknown subject or a repeated
    /// call).
    pub revoked: u64,
}

impl Issuer {
    /// The revocation endpoint (RFC 7009 §2): revokes a refresh token or a code-flow access
    /// token with its whole authorization. `Ok(())` is `200` (RFC 7009 §2.2), also for a
    /// token nobody knows.
    pub async fn revoke_token(&self, issuer_id: &str, form: HashMap<String, String>) -> Result<()> {
        self.flow_definition(issuer_id).await?;
        // Spec: RFC 7009 §2.1: `token` is REQUIRED.
        let token = form.get("token").filter(|t| !t.is_empty()).ok_or_else(|| {
            IssuerError::InvalidRequest("token is required (RFC 7009 §2.1)".into())
        })?;
        if token.len() > MAX_TOKEN_LEN {
            return Err(IssuerError::InvalidRequest("token is too long".into()));
        }
        // Spec: RFC 7009 §2.2.1: a hint the server does not know is unsupported_token_type.
        let hint = match form.get("token_type_hint").map(String::as_str) {
            None => None,
            Some("refresh_token") => Some(TokenType::RefreshToken),
            Some("access_token") => Some(TokenType::AccessToken),
            Some(_) => {
                return Err(IssuerError::UnsupportedTokenType(
                    "token_type_hint must be refresh_token or access_token".into(),
                ));
            }
        };
        // Spec: RFC 7009 §2.1 with RFC 6749 §2.3: a public client identifies itself.
        let client_id = form
            .get("client_id")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                IssuerError::InvalidRequest(
                    "client_id is required: clients of this server are public (RFC 7009 §2.1)"
                        .into(),
                )
            })?;
        // Spec: RFC 7009 §2.1: the hint only orders the search, which extends to every
        // supported type.
        let order = match hint {
            Some(TokenType::AccessToken) => [TokenType::AccessToken, TokenType::RefreshToken],
            _ => [TokenType::RefreshToken, TokenType::AccessToken],
        };
        let hash = SecretHash::of(token);
        for kind in order {
            let found = match kind {
                TokenType::RefreshToken => self.revoke_refresh(issuer_id, &hash, client_id).await?,
                TokenType::AccessToken => self.revoke_access(issuer_id, &hash).await?,
            };
            if found {
                return Ok(());
            }
        }
        // Spec: RFC 7009 §2.2: "invalid tokens do not cause an error response".
        Ok(())
    }

    /// Revokes the authorization of the refresh token hashing to `hash`; false if there is
    /// none (unknown, expired or revoked).
    async fn revoke_refresh(
        &self,
        issuer_id: &str,
        hash: &SecretHash,
        client_id: &str,
    ) -> Result<bool> {
        let store = self.authorizations()?;
        let Some((_, authorization)) = store
            .find_refresh_token(issuer_id, hash, self.now())
            .await?
        else {
            return Ok(false);
        };
        let made_for = authorization
            .request
            .get("client_id")
            .and_then(|c| c.as_str())
            .ok_or_else(|| IssuerError::Internal("stored request without client_id".into()))?;
        if made_for != client_id {
            return Err(IssuerError::InvalidGrant(
                "the token was issued to another client".into(),
            ));
        }
        let n = store
            .revoke_authorization(issuer_id, &authorization.authorization_id)
            .await?;
        tracing::info!(
            issuer = issuer_id,
            tokens = n,
            "refresh token revoked with its authorization (RFC 7009)"
        );
        Ok(true)
    }

    /// Revokes the authorization of the access token hashing to `hash`; false if there is
    /// no such live token. A pre-authorized grant's token is `unsupported_token_type`.
    async fn revoke_access(&self, issuer_id: &str, hash: &SecretHash) -> Result<bool> {
        let Some(token) = self
            .store
            .find_access_token(issuer_id, hash, self.now())
            .await?
        else {
            return Ok(false);
        };
        let Some(authorization_id) = token.authorization_id else {
            return Err(IssuerError::UnsupportedTokenType(
                "access tokens of the pre-authorized code grant are not revocable; they expire"
                    .into(),
            ));
        };
        let n = self
            .authorizations()?
            .revoke_authorization(issuer_id, &authorization_id)
            .await?;
        tracing::info!(
            issuer = issuer_id,
            tokens = n,
            "access token revoked with its authorization (RFC 7009)"
        );
        Ok(true)
    }

    /// `DELETE /api/v1/issuers/{issuer}/authorizations?subject=…`: revokes every
    /// authorization of the login subject (its access and refresh tokens, its unredeemed
    /// codes). The login itself is the identity provider's: disable the account there first,
    /// or the user logs in again.
    pub async fn revoke_subject(
        &self,
        issuer_id: &str,
        query: &HashMap<String, String>,
    ) -> Result<SubjectRevoked> {
        let def = self.require(issuer_id).await?;
        let subject = query
            .get("subject")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                IssuerError::InvalidRequest(
                    "subject is required: the login's sub at the identity provider".into(),
                )
            })?;
        if subject.len() > MAX_SUBJECT_LEN {
            return Err(IssuerError::InvalidRequest(format!(
                "subject is longer than {MAX_SUBJECT_LEN} bytes"
            )));
        }
        if let Some(k) = query.keys().find(|k| k.as_str() != "subject") {
            let k: String = k.chars().take(64).collect();
            return Err(IssuerError::InvalidRequest(format!(
                "unknown query parameter {k:?}"
            )));
        }
        // Without an identity provider (or the flow) there are no logins to revoke.
        if def.identity_provider.is_none() || self.authorization.is_none() {
            return Ok(SubjectRevoked { revoked: 0 });
        }
        let revoked = self
            .authorizations()?
            .revoke_subject_authorizations(issuer_id, subject, self.now())
            .await?;
        tracing::info!(
            issuer = issuer_id,
            authorizations = revoked,
            "authorizations of a subject revoked"
        );
        Ok(SubjectRevoked { revoked })
    }
}
