//! What an issuer publishes: Credential Issuer Metadata (OID4VCI 1.0 §12.2), OAuth
//! Authorization Server Metadata (RFC 8414, OID4VCI 1.0 §12.3) and JWT VC Issuer Metadata
//! (SD-JWT VC §"JWT VC Issuer Metadata").

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::service::Issuer;

/// The pre-authorized code grant type (OID4VCI 1.0 §14.1).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Credential Issuer Metadata (OID4VCI 1.0 §12.2.4).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialIssuerMetadata {
    /// The credential issuer identifier.
    pub credential_issuer: String,
    /// The Credential Endpoint (§8).
    pub credential_endpoint: String,
    /// The Nonce Endpoint (§7).
    pub nonce_endpoint: String,
    /// The Deferred Credential Endpoint (§9).
    pub deferred_credential_endpoint: String,
    /// The Notification Endpoint (§11).
    pub notification_endpoint: String,
    /// Batch issuance: how many key proofs one request may carry.
    pub batch_credential_issuance: BatchCredentialIssuance,
    /// The credential configurations by id.
    pub credential_configurations_supported: Value,
    /// Issuer display objects (omitted when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
}

/// `batch_credential_issuance` of Credential Issuer Metadata (OID4VCI 1.0 §12.2.4).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BatchCredentialIssuance {
    /// The largest number of credentials one request yields.
    pub batch_size: usize,
}

/// JWT VC Issuer Metadata (SD-JWT VC §"JWT VC Issuer Metadata"): the issuer identifier and
/// its verification keys by value (`jwks`, never `jwks_uri`).
#[derive(Debug, Clone, Serialize)]
pub struct JwtVcIssuerMetadata {
    /// The credential issuer identifier (`iss` of its credentials).
    pub issuer: String,
    /// The JWK Set, each key with its `x5c` when it has one.
    pub jwks: Value,
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2, OID4VCI 1.0 §12.3).
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationServerMetadata {
    /// The authorization server's issuer identifier (the credential issuer's).
    pub issuer: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The grant types: the pre-authorized code grant, and with an identity provider
    /// `authorization_code` and `refresh_token`.
    pub grant_types_supported: Vec<&'static str>,
    /// Spec: OID4VCI 1.0 §12.3: wallets may redeem a pre-authorized code without a
    /// client_id.
    #[serde(rename = "pre-authorized_grant_anonymous_access_supported")]
    pub pre_authorized_grant_anonymous_access_supported: bool,
    /// Token endpoint client authentication: none.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Spec: draft-ietf-oauth-status-list §9.1: an issuer that is an OAuth AS links its
    /// Status List Aggregation with this RFC 8414 parameter.
    pub status_list_aggregation_endpoint: String,
    /// Spec: RFC 9449 §5.1: the DPoP proof algorithms accepted.
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// The authorization code flow's members, present when the issuer has an identity
    /// provider.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeMetadata>,
}

/// The RFC 8414 members of the authorization code flow (OID4VCI 1.0 §12.3; RFC 9126 §5;
/// RFC 9207 §3; RFC 9396 §10).
#[derive(Debug, Clone, Serialize)]
pub struct AuthorizationCodeMetadata {
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The pushed authorization request endpoint (RFC 9126 §5).
    pub pushed_authorization_request_endpoint: String,
    /// Whether PAR is required (RFC 9126 §5).
    pub require_pushed_authorization_requests: bool,
    /// `["S256"]` (RFC 7636; `plain` is refused).
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `["code"]`.
    pub response_types_supported: Vec<&'static str>,
    /// `["query"]`.
    pub response_modes_supported: Vec<&'static str>,
    /// `["openid_credential"]` (RFC 9396 §10).
    pub authorization_details_types_supported: Vec<&'static str>,
    /// RFC 9207 §3: `iss` is in every authorization response.
    pub authorization_response_iss_parameter_supported: bool,
    /// The configurations' scopes.
    pub scopes_supported: Vec<String>,
    /// Spec: RFC 8414 §2: the RFC 7009 revocation endpoint (refresh tokens and the code
    /// flow's access tokens).
    pub revocation_endpoint: String,
    /// Spec: RFC 8414 §2: `["none"]`, public clients naming their `client_id`.
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
}

impl Issuer {
    async fn known(
        &self,
        issuer_id: &str,
    ) -> Result<std::sync::Arc<crate::definition::IssuerDefinition>> {
        self.wallet_definition(issuer_id).await
    }

    /// Credential Issuer Metadata.
    pub async fn credential_issuer_metadata(
        &self,
        issuer_id: &str,
    ) -> Result<CredentialIssuerMetadata> {
        let def = self.known(issuer_id).await?;
        let base = self.issuer_url(issuer_id);
        Ok(CredentialIssuerMetadata {
            credential_endpoint: format!("{base}/credential"),
            nonce_endpoint: format!("{base}/nonce"),
            deferred_credential_endpoint: format!("{base}/deferred_credential"),
            notification_endpoint: format!("{base}/notification"),
            credential_issuer: base,
            batch_credential_issuance: BatchCredentialIssuance {
                batch_size: def.batch_size(),
            },
            credential_configurations_supported: def.configurations_supported(),
            display: def.display.clone(),
        })
    }

    /// OAuth 2.0 Authorization Server Metadata for the issuer (it is its own AS).
    pub async fn authorization_server_metadata(
        &self,
        issuer_id: &str,
    ) -> Result<AuthorizationServerMetadata> {
        let def = self.known(issuer_id).await?;
        let base = self.issuer_url(issuer_id);
        let flow = def.identity_provider.is_some() && self.authorization.is_some();
        let mut grant_types_supported = vec![PRE_AUTHORIZED_GRANT];
        if flow {
            grant_types_supported.extend(["authorization_code", "refresh_token"]);
        }
        let authorization_code = flow.then(|| AuthorizationCodeMetadata {
            authorization_endpoint: format!("{base}/authorize"),
            pushed_authorization_request_endpoint: format!("{base}/par"),
            require_pushed_authorization_requests: def.requires_par(),
            code_challenge_methods_supported: vec!["S256"],
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            authorization_details_types_supported: vec![
                crate::authorization::request::OPENID_CREDENTIAL,
            ],
            authorization_response_iss_parameter_supported: true,
            scopes_supported: def
                .credential_configurations
                .values()
                .filter_map(|c| c.scope.clone())
                .collect(),
            revocation_endpoint: format!("{base}/revoke"),
            revocation_endpoint_auth_methods_supported: vec!["none"],
        });
        Ok(AuthorizationServerMetadata {
            token_endpoint: format!("{base}/token"),
            issuer: base,
            grant_types_supported,
            dpop_signing_alg_values_supported: crate::authorization::dpop::DPOP_ALGS.to_vec(),
            authorization_code,
            pre_authorized_grant_anonymous_access_supported: true,
            token_endpoint_auth_methods_supported: vec!["none"],
            status_list_aggregation_endpoint: vdc_status::aggregation_uri(
                &self.public_url,
                issuer_id,
            ),
        })
    }

    /// JWT VC Issuer Metadata: `issuer` and the verification keys as `jwks` (all keys,
    /// retired ones too, so credentials they signed stay verifiable; R3).
    pub async fn jwt_vc_issuer_metadata(&self, issuer_id: &str) -> Result<JwtVcIssuerMetadata> {
        self.known(issuer_id).await?;
        let keys = self.keys.published(issuer_id, self.now()).await?;
        Ok(JwtVcIssuerMetadata {
            issuer: self.issuer_url(issuer_id),
            jwks: keys.to_value(),
        })
    }
}
