//! Metadata discovery: Credential Issuer Metadata (OID4VCI 1.0 §12.2) and OAuth 2.0
//! Authorization Server Metadata (RFC 8414, OID4VCI 1.0 §12.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result, bounded};
use crate::offer::{PRE_AUTHORIZED_CODE_GRANT, check_issuer_identifier};

/// Well-known suffix of Credential Issuer Metadata (OID4VCI 1.0 §12.2.2).
pub const CREDENTIAL_ISSUER_WELL_KNOWN: &str = "/.well-known/openid-credential-issuer";
/// Well-known suffix of Authorization Server Metadata (RFC 8414 §3).
pub const OAUTH_AS_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// Well-known suffix of OpenID Provider Metadata (OpenID Connect Discovery 1.0 §4).
pub const OPENID_CONFIGURATION_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// Inserts `well_known` between the host and the path of `identifier`, dropping a
/// terminating `/` of the path (OID4VCI 1.0 §12.2.2; RFC 8414 §3.1).
///
/// `https://issuer.example.com/tenant` → `https://issuer.example.com/.well-known/<name>/tenant`.
pub fn well_known_inserted(identifier: &str, well_known: &str) -> Result<String> {
    let url = check_issuer_identifier(identifier).map_err(Error::Metadata)?;
    let path = url.path().trim_end_matches('/');
    Ok(format!(
        "{}{well_known}{path}",
        url.origin().ascii_serialization()
    ))
}

/// Appends `well_known` to `identifier` (the form of OpenID Connect Discovery 1.0 §4.1, and
/// the form some issuers, including vdc's own server, also serve for OID4VCI metadata).
pub fn well_known_appended(identifier: &str, well_known: &str) -> Result<String> {
    check_issuer_identifier(identifier).map_err(Error::Metadata)?;
    Ok(format!("{}{well_known}", identifier.trim_end_matches('/')))
}

/// The URLs tried, in order, for Credential Issuer Metadata: the spec position
/// (OID4VCI 1.0 §12.2.2) and, only if that answers 404, the appended form.
pub fn credential_issuer_metadata_urls(credential_issuer: &str) -> Result<Vec<String>> {
    dedup(vec![
        well_known_inserted(credential_issuer, CREDENTIAL_ISSUER_WELL_KNOWN)?,
        well_known_appended(credential_issuer, CREDENTIAL_ISSUER_WELL_KNOWN)?,
    ])
}

/// The URLs tried, in order, for Authorization Server Metadata: RFC 8414 §3.1 (inserted),
/// then on 404 OpenID Connect Discovery (`{issuer}/.well-known/openid-configuration`, which
/// RFC 8414 §5 names for compatibility), then on 404 the appended RFC 8414 suffix.
pub fn authorization_server_metadata_urls(issuer: &str) -> Result<Vec<String>> {
    dedup(vec![
        well_known_inserted(issuer, OAUTH_AS_WELL_KNOWN)?,
        well_known_appended(issuer, OPENID_CONFIGURATION_WELL_KNOWN)?,
        well_known_appended(issuer, OAUTH_AS_WELL_KNOWN)?,
    ])
}

fn dedup(urls: Vec<String>) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(urls.len());
    for u in urls {
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

/// Credential Issuer Metadata (OID4VCI 1.0 §12.2.4). Unknown parameters are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialIssuerMetadata {
    /// `credential_issuer`: identical to the identifier the metadata was fetched for.
    pub credential_issuer: String,
    /// `authorization_servers`: when absent, the issuer is its own authorization server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    /// `credential_endpoint` (§8).
    pub credential_endpoint: String,
    /// `nonce_endpoint` (§7); absent means no `c_nonce` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    /// `deferred_credential_endpoint` (§9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    /// `notification_endpoint` (§11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    /// `credential_request_encryption` (§10); kept to detect `encryption_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_request_encryption: Option<Value>,
    /// `credential_response_encryption` (§10); kept to detect `encryption_required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_response_encryption: Option<Value>,
    /// `batch_credential_issuance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchCredentialIssuance>,
    /// `display` (issuer display properties), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Value>,
    /// `credential_configurations_supported`.
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
}

/// `batch_credential_issuance` (§12.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCredentialIssuance {
    /// `batch_size`: the largest `proofs` array accepted; MUST be 2 or greater.
    pub batch_size: u32,
}

/// One entry of `credential_configurations_supported` (§12.2.4, Appendix A).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    /// `format`, e.g. `dc+sd-jwt` (A.3), `jwt_vc_json` (A.1.1) or `mso_mdoc` (A.2).
    pub format: String,
    /// `scope`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `vct` (REQUIRED for `dc+sd-jwt`, A.3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// `doctype` (REQUIRED for `mso_mdoc`, A.2.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// `credential_definition` (`jwt_vc_json`, A.1.1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_definition: Option<Value>,
    /// `cryptographic_binding_methods_supported`, e.g. `["jwk"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptographic_binding_methods_supported: Option<Vec<String>>,
    /// `credential_signing_alg_values_supported` (strings for JOSE formats, numbers for
    /// COSE-based ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_signing_alg_values_supported: Option<Vec<Value>>,
    /// `proof_types_supported`: present when key binding is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_types_supported: Option<BTreeMap<String, ProofTypeMetadata>>,
    /// `credential_metadata` (display, claims), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<Value>,
}

/// One entry of `proof_types_supported` (§12.2.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProofTypeMetadata {
    /// `proof_signing_alg_values_supported`.
    pub proof_signing_alg_values_supported: Vec<Value>,
    /// `key_attestations_required` (Appendix D); this SDK sends no key attestations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<Value>,
}

impl CredentialIssuerMetadata {
    /// Parses metadata and checks it against the identifier it was fetched for.
    pub fn from_object(object: Map<String, Value>, expected_issuer: &str) -> Result<Self> {
        let m: Self = serde_json::from_value(Value::Object(object)).map_err(|e| {
            Error::Metadata(format!(
                "credential issuer metadata: {}",
                bounded(&e.to_string())
            ))
        })?;
        // Spec: OID4VCI 1.0 §12.2.4 `credential_issuer`: "If these values are not identical
        // (when compared using a simple string comparison with no normalization), the data
        // contained in the response MUST NOT be used."
        if m.credential_issuer != expected_issuer {
            return Err(Error::Metadata(format!(
                "credential_issuer {} does not equal the offer's {}",
                bounded(&m.credential_issuer),
                bounded(expected_issuer)
            )));
        }
        if m.authorization_servers.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::Metadata(
                "authorization_servers must not be empty".into(),
            ));
        }
        if m.batch_credential_issuance
            .is_some_and(|b| b.batch_size < 2)
        {
            return Err(Error::Metadata("batch_size must be 2 or greater".into()));
        }
        Ok(m)
    }

    /// The configuration for `id`, or an error naming the unknown id.
    pub fn configuration(&self, id: &str) -> Result<&CredentialConfiguration> {
        self.credential_configurations_supported
            .get(id)
            .ok_or_else(|| {
                Error::Metadata(format!(
                    "credential configuration {} is not in credential_configurations_supported",
                    bounded(id)
                ))
            })
    }

    /// The largest batch one Credential Request may ask for (1 without batch support).
    pub fn max_batch(&self) -> usize {
        self.batch_credential_issuance
            .map_or(1, |b| usize::try_from(b.batch_size).unwrap_or(usize::MAX))
    }

    /// True when the issuer requires encrypted requests or responses (§10), which this SDK
    /// does not implement.
    pub fn requires_encryption(&self) -> bool {
        let required = |v: &Option<Value>| {
            v.as_ref()
                .and_then(|o| o.get("encryption_required"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        required(&self.credential_request_encryption)
            || required(&self.credential_response_encryption)
    }
}

impl CredentialConfiguration {
    /// The `jwt` proof type entry, when key binding with `jwt` proofs is supported.
    pub fn jwt_proof(&self) -> Option<&ProofTypeMetadata> {
        self.proof_types_supported.as_ref()?.get("jwt")
    }

    /// True when the credential is to be bound to a holder key (`proof_types_supported`
    /// present, §12.2.4; then §8.2: the `proofs` parameter MUST be present).
    pub fn requires_proof(&self) -> bool {
        self.proof_types_supported.is_some()
    }
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2), the members a wallet needs for
/// the pre-authorized code and the authorization code flows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// `issuer`: identical to the identifier the metadata was fetched for (RFC 8414 §3.3).
    pub issuer: String,
    /// `token_endpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// `grant_types_supported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// `pre-authorized_grant_anonymous_access_supported` (OID4VCI 1.0 §12.3).
    #[serde(
        rename = "pre-authorized_grant_anonymous_access_supported",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_grant_anonymous_access_supported: Option<bool>,
    /// `authorization_endpoint` (RFC 8414 §2; OID4VCI 1.0 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// `require_pushed_authorization_requests` (RFC 9126 §5; absent means false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// `code_challenge_methods_supported` (RFC 8414 §2; PKCE, RFC 7636).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

impl AuthorizationServerMetadata {
    /// Parses metadata and checks `issuer` (RFC 8414 §3.3: "MUST be identical").
    pub fn from_object(object: Map<String, Value>, expected_issuer: &str) -> Result<Self> {
        let m: Self = serde_json::from_value(Value::Object(object)).map_err(|e| {
            Error::Metadata(format!(
                "authorization server metadata: {}",
                bounded(&e.to_string())
            ))
        })?;
        if m.issuer != expected_issuer {
            return Err(Error::Metadata(format!(
                "authorization server issuer {} does not equal {}",
                bounded(&m.issuer),
                bounded(expected_issuer)
            )));
        }
        Ok(m)
    }

    /// False only when `grant_types_supported` is present and lacks the pre-authorized
    /// code grant (RFC 8414 §2: absent means only the defaults, but OID4VCI issuers often
    /// omit it, so absence is not taken as a refusal).
    pub fn may_support_pre_authorized_code(&self) -> bool {
        self.grant_types_supported
            .as_ref()
            .is_none_or(|g| g.iter().any(|t| t == PRE_AUTHORIZED_CODE_GRANT))
    }

    /// False only when `grant_types_supported` is present and lacks `authorization_code`
    /// (RFC 8414 §2: absent means `["authorization_code", "implicit"]`).
    pub fn may_support_authorization_code(&self) -> bool {
        self.grant_types_supported
            .as_ref()
            .is_none_or(|g| g.iter().any(|t| t == "authorization_code"))
    }

    /// The token endpoint, which a pre-authorized code wallet cannot do without.
    pub fn token_endpoint(&self) -> Result<&str> {
        self.token_endpoint
            .as_deref()
            .ok_or_else(|| Error::Metadata("authorization server has no token_endpoint".into()))
    }
}

/// Everything discovered about an issuer for one offer.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerInfo {
    /// The Credential Issuer Metadata.
    pub issuer: CredentialIssuerMetadata,
    /// The chosen authorization server's metadata.
    pub authorization_server: AuthorizationServerMetadata,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_metadata_urls_insert_the_well_known_before_the_path() {
        // Spec: OID4VCI 1.0 §12.2.2 examples.
        assert_eq!(
            credential_issuer_metadata_urls("https://issuer.example.com/tenant").unwrap(),
            [
                "https://issuer.example.com/.well-known/openid-credential-issuer/tenant",
                "https://issuer.example.com/tenant/.well-known/openid-credential-issuer",
            ]
        );
        assert_eq!(
            credential_issuer_metadata_urls("https://tenant.issuer.example.com").unwrap(),
            ["https://tenant.issuer.example.com/.well-known/openid-credential-issuer"]
        );
    }

    #[test]
    fn as_metadata_urls_follow_rfc8414_then_openid_configuration() {
        // Spec: RFC 8414 §3.1 example.
        assert_eq!(
            authorization_server_metadata_urls("https://example.com/issuer1").unwrap(),
            [
                "https://example.com/.well-known/oauth-authorization-server/issuer1",
                "https://example.com/issuer1/.well-known/openid-configuration",
                "https://example.com/issuer1/.well-known/oauth-authorization-server",
            ]
        );
        assert_eq!(
            authorization_server_metadata_urls("https://example.com/").unwrap(),
            [
                "https://example.com/.well-known/oauth-authorization-server",
                "https://example.com/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            well_known_inserted("https://example.com:8443/t/", OAUTH_AS_WELL_KNOWN).unwrap(),
            "https://example.com:8443/.well-known/oauth-authorization-server/t"
        );
        assert!(well_known_inserted("https://example.com/?q", OAUTH_AS_WELL_KNOWN).is_err());
    }

    fn metadata(issuer: &str) -> Map<String, Value> {
        match serde_json::json!({
            "credential_issuer": issuer,
            "credential_endpoint": format!("{issuer}/credential"),
            "batch_credential_issuance": {"batch_size": 5},
            "credential_configurations_supported": {
                "pid": {
                    "format": "dc+sd-jwt", "vct": "urn:eu.europa.ec.eudi:pid:1",
                    "cryptographic_binding_methods_supported": ["jwk"],
                    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
                    "unknown_member": true
                }
            },
            "future_parameter": {"x": 1}
        }) {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn issuer_metadata_must_name_exactly_the_requested_issuer() {
        let m = CredentialIssuerMetadata::from_object(
            metadata("https://issuer.example.com/tenant"),
            "https://issuer.example.com/tenant",
        )
        .unwrap();
        assert_eq!(m.max_batch(), 5);
        let pid = m.configuration("pid").unwrap();
        assert!(pid.requires_proof());
        assert_eq!(
            pid.jwt_proof().unwrap().proof_signing_alg_values_supported,
            ["ES256"]
        );
        assert!(m.configuration("other").is_err());
        // Spec: §12.2.4: simple string comparison, no normalisation (a trailing slash differs).
        assert!(matches!(
            CredentialIssuerMetadata::from_object(
                metadata("https://issuer.example.com/tenant/"),
                "https://issuer.example.com/tenant"
            ),
            Err(Error::Metadata(_))
        ));
    }

    #[test]
    fn batch_size_below_two_and_required_encryption_are_detected() {
        let mut m = metadata("https://i.example");
        m.insert(
            "batch_credential_issuance".into(),
            serde_json::json!({"batch_size": 1}),
        );
        assert!(CredentialIssuerMetadata::from_object(m, "https://i.example").is_err());
        let mut m = metadata("https://i.example");
        m.insert(
            "credential_response_encryption".into(),
            serde_json::json!({"alg_values_supported": ["ECDH-ES"], "enc_values_supported": ["A128GCM"], "encryption_required": true}),
        );
        assert!(
            CredentialIssuerMetadata::from_object(m, "https://i.example")
                .unwrap()
                .requires_encryption()
        );
    }

    #[test]
    fn as_metadata_issuer_must_match() {
        let obj = |iss: &str| match serde_json::json!({"issuer": iss, "token_endpoint": "https://a/token"})
        {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let m = AuthorizationServerMetadata::from_object(obj("https://a"), "https://a").unwrap();
        assert_eq!(m.token_endpoint().unwrap(), "https://a/token");
        assert!(m.may_support_pre_authorized_code());
        assert!(
            AuthorizationServerMetadata::from_object(obj("https://evil"), "https://a").is_err()
        );
    }
}
