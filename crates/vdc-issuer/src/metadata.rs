//! What an issuer publishes: Credential Issuer Metadata (OID4VCI 1.0 §12.2), OAuth
//! Authorization Server Metadata (RFC 8414, OID4VCI 1.0 §12.3) and JWT VC Issuer Metadata
//! (SD-JWT VC §"JWT VC Issuer Metadata").

use serde_json::{Value, json};

use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// The pre-authorized code grant type (OID4VCI 1.0 §14.1).
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

impl Issuer {
    async fn known(
        &self,
        issuer_id: &str,
    ) -> Result<std::sync::Arc<crate::config::IssuerDefinition>> {
        self.definition(issuer_id)
            .await?
            .ok_or_else(|| IssuerError::NotFound(format!("no issuer {issuer_id}")))
    }

    /// Credential Issuer Metadata.
    pub async fn credential_issuer_metadata(&self, issuer_id: &str) -> Result<Value> {
        let def = self.known(issuer_id).await?;
        let base = self.issuer_url(issuer_id);
        let mut m = json!({
            "credential_issuer": base,
            "credential_endpoint": format!("{base}/credential"),
            "nonce_endpoint": format!("{base}/nonce"),
            "deferred_credential_endpoint": format!("{base}/deferred_credential"),
            "notification_endpoint": format!("{base}/notification"),
            "batch_credential_issuance": {"batch_size": def.batch_size()},
            "credential_configurations_supported": def.configurations_supported(),
        });
        if !def.display.is_empty() {
            m["display"] = json!(def.display);
        }
        Ok(m)
    }

    /// OAuth 2.0 Authorization Server Metadata for the issuer (it is its own AS).
    pub async fn authorization_server_metadata(&self, issuer_id: &str) -> Result<Value> {
        self.known(issuer_id).await?;
        let base = self.issuer_url(issuer_id);
        Ok(json!({
            "issuer": base,
            "token_endpoint": format!("{base}/token"),
            "grant_types_supported": [PRE_AUTHORIZED_GRANT],
            // Spec: OID4VCI 1.0 §12.3: wallets may redeem a pre-authorized code without a
            // client_id.
            "pre-authorized_grant_anonymous_access_supported": true,
            "token_endpoint_auth_methods_supported": ["none"],
            // Spec: draft-ietf-oauth-status-list §9.1: an issuer that is an OAuth AS links
            // its Status List Aggregation with this RFC 8414 parameter.
            "status_list_aggregation_endpoint":
                vdc_status::aggregation_uri(&self.public_url, issuer_id),
        }))
    }

    /// JWT VC Issuer Metadata: `issuer` and the verification keys as `jwks` (all keys,
    /// retired ones too, so credentials they signed stay verifiable; R3).
    pub async fn jwt_vc_issuer_metadata(&self, issuer_id: &str) -> Result<Value> {
        self.known(issuer_id).await?;
        let keys = self.keys.published(issuer_id, self.now()).await?;
        Ok(json!({ "issuer": self.issuer_url(issuer_id), "jwks": keys.to_value() }))
    }
}
