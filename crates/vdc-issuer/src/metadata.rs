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
    /// Encrypted credential requests: the key and algorithms (§10, §12.2.4).
    pub credential_request_encryption: crate::encryption::CredentialRequestEncryptionMetadata,
    /// Encrypted credential responses: the algorithms (§10, §12.2.4).
    pub credential_response_encryption: crate::encryption::CredentialResponseEncryptionMetadata,
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
    /// Token endpoint client authentication: `none`, and `attest_jwt_client_auth` when the
    /// issuer trusts wallet providers (only it in HAIP mode).
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
    /// Wallet attestation (draft-ietf-oauth-attestation-based-client-auth §"Authorization
    /// Server and Resource Server Metadata"): the challenge endpoint and algorithms,
    /// present when the issuer trusts wallet providers.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub client_attestation: Option<crate::authorization::attestation::ClientAttestationMetadata>,
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
        let (credential_request_encryption, credential_response_encryption) =
            self.encryption_metadata(&def)?;
        Ok(CredentialIssuerMetadata {
            credential_request_encryption,
            credential_response_encryption,
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
            // Spec: HAIP 1.0 §4.4.1: issuers MUST require client authentication, so no
            // anonymous pre-authorized code redemption in HAIP mode.
            pre_authorized_grant_anonymous_access_supported: !def.is_haip(),
            token_endpoint_auth_methods_supported:
                crate::authorization::attestation::token_endpoint_auth_methods(&def),
            client_attestation: self.attestation_metadata(&def),
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

/// The media type of signed Credential Issuer Metadata (OID4VCI 1.0 §12.2.2).
pub const SIGNED_METADATA_MEDIA_TYPE: &str = "application/jwt";

/// The `typ` of signed Credential Issuer Metadata. Spec: OID4VCI 1.0 §12.2.3: "`typ`:
/// REQUIRED. MUST be `openidvci-issuer-metadata+jwt`".
pub const SIGNED_METADATA_TYP: &str = "openidvci-issuer-metadata+jwt";

/// How long a signed metadata JWT is good for (its `exp`): a copy kept by a wallet or a
/// cache stops vouching for the issuer's endpoints and configurations after a day.
pub const SIGNED_METADATA_LIFETIME_SECS: i64 = 24 * 3600;

impl Issuer {
    /// Signed Credential Issuer Metadata (OID4VCI 1.0 §12.2.3), when the issuer has
    /// `signed_metadata`: the metadata of [`Self::credential_issuer_metadata`] as a JWT
    /// signed with the issuer's current key, its certificate chain in `x5c`. `None` when the
    /// issuer serves unsigned metadata only.
    pub async fn signed_credential_issuer_metadata(
        &self,
        issuer_id: &str,
    ) -> Result<Option<String>> {
        let def = self.known(issuer_id).await?;
        if !def.signed_metadata {
            return Ok(None);
        }
        let metadata = self.credential_issuer_metadata(issuer_id).await?;
        let signer = self.signer(issuer_id).await?;
        sign_metadata(&metadata, signer.as_ref(), self.now())
            .await
            .map(Some)
    }
}

/// Signs Credential Issuer Metadata. Spec: OID4VCI 1.0 §12.2.3: the header has `alg` and
/// `typ`; the payload has `sub` "matching the Credential Issuer Identifier", `iat`, and "all
/// metadata parameters used by the Credential Issuer ... as top-level claims". `iss` is the
/// issuer too (the party attesting to the claims: it attests its own), `exp` a day later.
/// Spec: HAIP 1.0 §4.1: the key is resolved through `x5c`, so the signer must have a chain
/// (its leaf only, the trust anchor excluded): a signer without one is an internal error,
/// since `signed_metadata` is refused on create and update without a chain.
pub async fn sign_metadata(
    metadata: &CredentialIssuerMetadata,
    signer: &dyn vdc_core::jose::Signer,
    now: vdc_core::time::UnixTime,
) -> Result<String> {
    let internal = |m: String| crate::error::IssuerError::Internal(m);
    let chain = signer.x5c().ok_or_else(|| {
        internal("signed_metadata needs a signing key with a certificate chain".into())
    })?;
    let Value::Object(mut payload) =
        serde_json::to_value(metadata).map_err(|e| internal(e.to_string()))?
    else {
        return Err(internal("metadata is not an object".into()));
    };
    let issuer = Value::String(metadata.credential_issuer.clone());
    payload.insert("sub".into(), issuer.clone());
    payload.insert("iss".into(), issuer);
    payload.insert("iat".into(), now.secs().into());
    payload.insert(
        "exp".into(),
        now.plus(SIGNED_METADATA_LIFETIME_SECS).secs().into(),
    );
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), SIGNED_METADATA_TYP.into());
    header.insert("x5c".into(), vdc_core::sd_jwt_vc::x5c_header(chain));
    vdc_core::jose::jws::sign(header, &payload, signer)
        .await
        .map_err(|e| internal(format!("signing metadata: {e}")))
}

/// Whether a wallet's `Accept` header asks for signed metadata. Spec: OID4VCI 1.0 §12.2.2:
/// the wallet signals "whether it supports signed metadata" with `Accept`, and the issuer
/// should answer "a `Content-Type` matching to the Wallet's requested `Accept` header when
/// the requested content type is supported". So: `application/jwt` named explicitly with a
/// non-zero `q` that no match of `application/json` (exact, `application/*`, `*/*`)
/// outranks. Without the header, or with wildcards only, the answer is unsigned JSON, which
/// every wallet supports.
pub fn accepts_signed_metadata(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let mut jwt_q: f32 = 0.0;
    let mut json_q: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value.trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0);
            }
        }
        match media.as_str() {
            SIGNED_METADATA_MEDIA_TYPE => jwt_q = jwt_q.max(q),
            "application/json" | "application/*" | "*/*" => json_q = json_q.max(q),
            _ => {}
        }
    }
    jwt_q > 0.0 && jwt_q >= json_q
}

#[cfg(test)]
mod signed_metadata_tests {
    use super::*;

    #[test]
    fn accept_selects_signed_metadata_only_when_asked_for() {
        for yes in [
            "application/jwt",
            "application/JWT",
            "application/jwt, application/json",
            "application/json;q=0.5, application/jwt",
            "application/jwt;q=0.9, */*;q=0.1",
        ] {
            assert!(accepts_signed_metadata(Some(yes)), "{yes}");
        }
        for no in [
            "",
            "*/*",
            "application/json",
            "application/json, application/jwt;q=0.5",
            "application/jwt;q=0",
            "application/jwt;q=nonsense",
            "text/html",
        ] {
            assert!(!accepts_signed_metadata(Some(no)), "{no}");
        }
        assert!(!accepts_signed_metadata(None));
    }
}
