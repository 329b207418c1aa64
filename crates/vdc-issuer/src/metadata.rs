//! What an issuer publishes: Credential Issuer Metadata (OID4VCI 1.0 §12.2), OAuth
//! Authorization Server Metadata (RFC 8414, OID4VCI 1.0 §12.3) and JWT VC Issuer Metadata
//! (SD-JWT VC §"JWT VC Issuer Metadata").

use serde_json::{Value, json};
use vdc_core::jose::Jwk;

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
        // Verifiers of this deployment read these keys on every presentation: they are
        // kept for a while instead of read each time (issue 11). Keys are only added (a new
        // issuer) today; when rotation lands (issue 17), a key published on another instance
        // is seen here within the cache's lifetime.
        let now = self.now();
        if let Some(v) = self.published_keys(issuer_id, now) {
            return Ok(v);
        }
        let mut keys = Vec::new();
        for record in self.store.signing_keys(issuer_id).await? {
            let jwk = Jwk::from_value(&without_x5c(&record.public_jwk))
                .map_err(|e| IssuerError::Internal(format!("stored public key unreadable: {e}")))?;
            let mut v = jwk.to_value();
            if let Some(x5c) = record.public_jwk.get("x5c") {
                v["x5c"] = x5c.clone();
            }
            keys.push(v);
        }
        // An issuer without keys yet makes its first on first use: not kept.
        let keep = !keys.is_empty();
        let v = json!({ "issuer": self.issuer_url(issuer_id), "jwks": { "keys": keys } });
        if keep {
            self.keep_published_keys(issuer_id, now, v.clone());
        }
        Ok(v)
    }
}

fn without_x5c(jwk: &Value) -> Value {
    let mut j = jwk.clone();
    if let Some(o) = j.as_object_mut() {
        o.remove("x5c");
    }
    j
}
