//! An issuer tenant's definition (the management API's create body) and what it publishes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use vdc_core::claims_path::{ClaimPath, PathElement};
use vdc_core::jose::Algorithm;
use vdc_core::sd_jwt::Frame;
use vdc_core::sd_jwt_vc::NEVER_DISCLOSABLE;

use crate::error::{IssuerError, Result};

/// The format identifier of SD-JWT VC (OID4VCI 1.0 Appendix A.3).
pub const FORMAT_SD_JWT_VC: &str = "dc+sd-jwt";
/// The format identifier of W3C VCs signed as JWT without JSON-LD (OID4VCI 1.0 A.1.1).
pub const FORMAT_JWT_VC_JSON: &str = "jwt_vc_json";
/// The format identifier of ISO/IEC 18013-5 mdocs (OID4VCI 1.0 Appendix A.2.1).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";
/// The holder binding method of an mdoc: the MSO's `deviceKeyInfo.deviceKey` is a COSE_Key
/// (ISO 18013-5 §9.1.2.4; OID4VCI 1.0 §12.2.4 names `cose_key` for COSE Key objects).
pub const BINDING_COSE_KEY: &str = "cose_key";
/// The COSE algorithm identifier of ES256 (RFC 9053 §2.1), which `mso_mdoc` metadata lists:
/// OID4VCI 1.0 A.2.2 says the values "correspond to the numeric COSE algorithm identifiers".
pub const COSE_ALG_ES256: i64 = -7;
/// Upper bound of a `doctype`, a namespace and a data element identifier (characters).
const MAX_MDOC_NAME_CHARS: usize = 256;
/// Default credential lifetime when a configuration names none: one year.
pub const DEFAULT_CREDENTIAL_LIFETIME: i64 = 365 * 24 * 3600;
/// Default and largest `batch_size` (OID4VCI 1.0 §12.2.4: at least 2).
pub const DEFAULT_BATCH_SIZE: usize = 10;

pub use vdc_http::tenant_url::is_slug;

/// The issuer create body (`POST /api/v1/issuers`), as stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "acme",
    "display": [{"name": "ACME Corp", "locale": "en"}],
    "signing_alg": "ES256",
    "credential_configurations": {
        "EmployeeBadge": {
            "format": "dc+sd-jwt",
            "vct": "https://acme.example/vct/employee-badge",
            "claims": [{"path": ["given_name"]}, {"path": ["employee_id"], "mandatory": true}],
            "cryptographic_binding_methods_supported": ["jwk"],
            "expires_in": 31536000
        }
    }
}))]
pub struct IssuerDefinition {
    /// The slug (`^[a-z0-9][a-z0-9-]{0,62}$`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub id: String,
    /// Issuer display objects (OID4VCI 1.0 §12.2.4 `display`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
    /// The credential signing algorithm: `ES256` (default) or `EdDSA`.
    #[serde(default = "default_alg")]
    pub signing_alg: String,
    /// The credential configurations by id.
    pub credential_configurations: BTreeMap<String, CredentialConfiguration>,
    /// The largest number of key proofs in one credential request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// The signing key's certificate chain, leaf first, standard base64 DER (sent as `x5c`
    /// in every credential's header). Requires `signing_key` (the chain's leaf key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// An imported private signing key (JWK). Never stored in the definition or returned:
    /// it is moved into the encrypted key store on creation.
    // `skip_serializing_if` rather than `skip_serializing`: the same for serde, but the
    // OpenAPI schema keeps the field (as write-only) instead of dropping it.
    #[serde(default, skip_serializing_if = "never_serialized")]
    #[schema(write_only)]
    pub signing_key: Option<Value>,
    /// The enterprise's OpenID Provider at which the authorization code flow logs users in
    /// (contract-next "IdP login"). Without it the issuer offers the pre-authorized code
    /// grant only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_provider: Option<IdentityProvider>,
    /// An HTTPS endpoint of the enterprise back end that answers the claims of a logged-in
    /// subject (instead of the claim mapping): vdc `POST`s it, signed like the webhooks
    /// (Standard Webhooks), `{"issuer", "credential_configuration_id", "subject"}` and it
    /// answers `200 {"claims": {...}}` or `202 {"retry_after": N}`. Needs
    /// `identity_provider`; reached under the outbound policy (G7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims_endpoint: Option<String>,
    /// The claims endpoint's signing secret (`whsec_` + base64 of 24 to 64 bytes). Optional
    /// and write-only: without it vdc generates one and answers it once, on creation.
    #[serde(default, skip_serializing_if = "never_serialized")]
    #[schema(write_only)]
    pub claims_endpoint_secret: Option<String>,
    /// The claims endpoint secret as stored: sealed under the KEK (base64url). Not part of
    /// the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub claims_endpoint_secret_sealed: Option<String>,
    /// Whether authorization requests must be pushed (RFC 9126 §5); default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_par: Option<bool>,
    /// Whether every access token must be DPoP-bound (RFC 9449), the pre-authorized code
    /// grant's too; default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_dpop: bool,
    /// The wallets allowed to use the authorization code flow; empty: any public client
    /// with PKCE and a redirect URI that is https, a private-use scheme or loopback.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wallet_clients: Vec<WalletClient>,
    /// Whether the issuer is switched off: every wallet-facing endpoint answers `404` while
    /// nothing is deleted (contract-next "Managing tenants"); default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// HAIP 1.0 mode (contract-next "HAIP mode"): every rule of the profile enforced at
    /// once. Absent on create: the server-wide default (`VDC_HAIP`); stored resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub haip: Option<bool>,
    /// PEM trust anchors of the wallet providers whose wallet attestations
    /// (draft-ietf-oauth-attestation-based-client-auth; OID4VCI 1.0 Appendix E) the issuer
    /// accepts (contract-next "HAIP mode").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wallet_attestation_trust_anchors: Vec<String>,
    /// PEM trust anchors of the key attestation issuers (OID4VCI 1.0 Appendix D) the issuer
    /// accepts (contract-next "HAIP mode").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_attestation_trust_anchors: Vec<String>,
    /// Whether credential requests and responses must be encrypted (OID4VCI 1.0 §10,
    /// `encryption_required` in both metadata objects); default false: encryption is
    /// offered, not required. A vdc addition (docs/API.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_credential_encryption: bool,
    /// Whether the Credential Issuer Metadata is also served signed (OID4VCI 1.0 §12.2.2,
    /// §12.2.3: `application/jwt` to a wallet that asks for it), a JWT signed with the
    /// issuer key and its `x5c`; default false. Needs a certificate chain. A vdc addition
    /// (docs/API.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed_metadata: bool,
    /// The PEM trust anchor (a per-issuer CA certificate) of the chain vdc made for the
    /// signing key in HAIP mode (`x5c` holds its leaf). Not part of the API: vdc sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub trust_anchor: Option<String>,
    /// The PEM IACA root certificate vdc made for an issuer with `mso_mdoc` configurations
    /// and no operator chain ([`crate::mdoc`]); exported as `iaca.pem`. Not part of the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub iaca: Option<String>,
    /// The Document Signer certificate (standard base64 DER, leaf only) vdc made under
    /// [`Self::iaca`] for the signing key: the `x5chain` of every mdoc's `issuerAuth`. Not
    /// part of the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub document_signer_x5c: Option<Vec<String>>,
}

/// What a `PATCH` keeps from the stored definition rather than taking from the body: the
/// write-only secrets are never read back, so the merged body lacks them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Kept {
    /// The identity provider's sealed client secret.
    pub(crate) client_secret: bool,
    /// The imported signing key that the stored `x5c` certifies.
    pub(crate) signing_key: bool,
}

/// The enterprise's OpenID Provider (contract-next "IdP login"): vdc is its relying party
/// with the redirect URI `{base}/issuers/{issuer}/authorize/callback`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityProvider {
    /// The provider's issuer identifier (OpenID Connect Discovery 1.0 §4).
    pub issuer: String,
    /// vdc's client id at the provider.
    pub client_id: String,
    /// vdc's client secret at the provider (`client_secret_basic`). Write-only: sealed under
    /// the KEK on creation, never returned.
    #[serde(default, skip_serializing_if = "never_serialized")]
    #[schema(write_only)]
    pub client_secret: Option<String>,
    /// The client secret as stored: sealed under the KEK (base64url). Not part of the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub client_secret_sealed: Option<String>,
    /// The scopes requested at the provider (must include `openid`).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Which credential claim comes from which ID token (else userinfo) claim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claim_mapping: Vec<ClaimMapping>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into()]
}

/// One claim mapping: the credential claim at `path` is the login's claim `from`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClaimMapping {
    /// The claim path in the offer's claims object (as in an offer's `claims`).
    pub path: Vec<String>,
    /// The ID token or userinfo claim name.
    pub from: String,
}

/// A registered wallet (an OAuth public client, RFC 6749 §2.1).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WalletClient {
    /// The wallet's `client_id`.
    pub client_id: String,
    /// Its redirect URIs, compared exactly (RFC 9700 §2.1).
    pub redirect_uris: Vec<String>,
}

/// The prefix of a signing secret (Standard Webhooks, "Signature scheme"), as for webhooks.
pub const ENDPOINT_SECRET_PREFIX: &str = "whsec_";

/// The HMAC key of a `whsec_<base64>` secret, if it is one of 24 to 64 bytes.
pub fn decode_endpoint_secret(secret: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    use base64::Engine as _;
    let b64 = secret.strip_prefix(ENDPOINT_SECRET_PREFIX)?;
    let key = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let key = zeroize::Zeroizing::new(key);
    (24..=64).contains(&key.len()).then_some(key)
}

/// Checks a list of PEM trust anchors (at most 16 of at most 16 KiB, each a certificate).
pub fn validate_anchors(name: &str, anchors: &[String]) -> Result<()> {
    if anchors.len() > 16 {
        return Err(IssuerError::InvalidRequest(format!(
            "{name} has at most 16 certificates"
        )));
    }
    for pem in anchors {
        if pem.len() > 16 * 1024 {
            return Err(IssuerError::InvalidRequest(format!(
                "{name}: a certificate is at most 16 KiB"
            )));
        }
        vdc_core::x509::TrustAnchors::from_pem(pem).map_err(|e| {
            IssuerError::InvalidRequest(format!("{name}: not a PEM certificate: {e}"))
        })?;
    }
    Ok(())
}

/// The trust anchors of a validated list (see [`validate_anchors`]).
pub fn trust_anchors(anchors: &[String]) -> Result<vdc_core::x509::TrustAnchors> {
    let mut ders = Vec::new();
    for pem in anchors {
        let t = vdc_core::x509::TrustAnchors::from_pem(pem)
            .map_err(|e| IssuerError::Internal(format!("stored trust anchor: {e}")))?;
        ders.extend(t.certificates().iter().cloned());
    }
    vdc_core::x509::TrustAnchors::from_der_certs(ders)
        .map_err(|e| IssuerError::Internal(format!("stored trust anchor: {e}")))
}

fn never_serialized<T>(_: &T) -> bool {
    true
}

fn default_alg() -> String {
    "ES256".into()
}

/// One credential configuration.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CredentialConfiguration {
    /// `dc+sd-jwt`, `jwt_vc_json` or `mso_mdoc`.
    pub format: String,
    /// The SD-JWT VC type (required for `dc+sd-jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// The mdoc document type (required for `mso_mdoc`, OID4VCI 1.0 A.2.2), e.g.
    /// `org.iso.18013.5.1.mDL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// The W3C credential definition (required for `jwt_vc_json`): `{"type": [...]}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_definition: Option<Value>,
    /// The W3C data model a `jwt_vc_json` credential is issued in (vdc's addition, not
    /// published in metadata): `"2.0"` (the default: `vc+jwt`, VC-JOSE-COSE) or `"1.1"`
    /// (the JWT encoding of VCDM 1.1 §6.3.1 with a `vc` claim, which OID4VP 1.0 Appendix
    /// B.1 still references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vcdm: Option<VcdmVersion>,
    /// The claims the credential carries; all are selectively disclosable in `dc+sd-jwt`.
    /// For `mso_mdoc` each path is `[namespace, data element identifier]`.
    #[serde(default)]
    pub claims: Vec<ClaimDescription>,
    /// Holder binding methods (`jwk`, `did:jwk`; `cose_key` for `mso_mdoc`, where an absent
    /// member means `cose_key`).
    #[serde(default = "default_binding")]
    pub cryptographic_binding_methods_supported: Vec<String>,
    /// Credential lifetime in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Credential display objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
    /// An OAuth scope for the authorization code flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether (and which) key attestations every key proof must carry (OID4VCI 1.0
    /// §12.2.4 `key_attestations_required`, Appendix D); absent: none required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<KeyAttestationsRequired>,
}

/// `key_attestations_required` (OID4VCI 1.0 §12.2.4): an empty object requires a key
/// attestation of any kind; listed values require one of them (Appendix D.2 values such as
/// `iso_18045_high`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyAttestationsRequired {
    /// Accepted `key_storage` attack-potential resistance values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_storage: Vec<String>,
    /// Accepted `user_authentication` attack-potential resistance values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_authentication: Vec<String>,
}

/// A W3C Verifiable Credentials Data Model version (`CredentialConfiguration::vcdm`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum VcdmVersion {
    /// VCDM 1.1 in its JWT encoding.
    #[serde(rename = "1.1")]
    V1_1,
    /// VCDM 2.0 secured with JOSE.
    #[default]
    #[serde(rename = "2.0")]
    V2_0,
}

fn default_binding() -> Vec<String> {
    vec!["jwk".into()]
}

/// A claims description (OID4VCI 1.0 Appendix B.2).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClaimDescription {
    /// The claims path pointer.
    pub path: Value,
    /// Whether the issuer always includes the claim.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mandatory: bool,
    /// Display objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub display: Vec<Value>,
}

impl IssuerDefinition {
    /// Checks the definition (400 `invalid_request` with the reason).
    pub fn validate(&self) -> Result<()> {
        self.validate_keeping(Kept::default())
    }

    /// [`Self::validate`] for a merged `PATCH` body, where `kept` secrets stay as stored.
    pub(crate) fn validate_keeping(&self, kept: Kept) -> Result<()> {
        let bad = |m: String| Err(IssuerError::InvalidRequest(m));
        if !is_slug(&self.id) {
            return bad("id must match ^[a-z0-9][a-z0-9-]{0,62}$".into());
        }
        self.algorithm()?;
        if self.credential_configurations.is_empty() {
            return bad("at least one credential configuration is required".into());
        }
        if let Some(b) = self.batch_size
            && !(2..=100).contains(&b)
        {
            return bad("batch_size must be between 2 and 100".into());
        }
        if self.x5c.is_some() && self.signing_key.is_none() && !kept.signing_key {
            return bad("x5c needs the signing_key its leaf certifies".into());
        }
        if self.trust_anchor.is_some() {
            return bad(
                "trust_anchor cannot be set: vdc makes it with the certificate chain".into(),
            );
        }
        if self.iaca.is_some() || self.document_signer_x5c.is_some() {
            return bad(
                "iaca and document_signer_x5c cannot be set: vdc makes them for mso_mdoc".into(),
            );
        }
        for (id, c) in &self.credential_configurations {
            if id.is_empty() || id.len() > 128 {
                return bad("credential configuration ids are 1 to 128 characters".into());
            }
            c.validate(id)?;
            // ISO 18013-5 §9.1.3.6 allows more, but vdc's mdoc issuance and verification
            // (vdc_core::mdoc) sign `issuerAuth` with ES256 only.
            if c.format == FORMAT_MSO_MDOC && self.signing_alg != "ES256" {
                return bad(format!(
                    "configuration {id}: mso_mdoc is signed with ES256 (COSE alg -7): set signing_alg ES256"
                ));
            }
        }
        self.validate_authorization(kept)?;
        if self.key_attestation_trust_anchors.is_empty()
            && let Some(id) = self
                .credential_configurations
                .iter()
                .find_map(|(id, c)| c.key_attestations_required.as_ref().map(|_| id))
        {
            return bad(format!(
                "configuration {id} requires key attestations: set key_attestation_trust_anchors"
            ));
        }
        for (name, anchors) in [
            (
                "wallet_attestation_trust_anchors",
                &self.wallet_attestation_trust_anchors,
            ),
            (
                "key_attestation_trust_anchors",
                &self.key_attestation_trust_anchors,
            ),
        ] {
            validate_anchors(name, anchors)?;
        }
        crate::haip::check(self)
    }

    /// Fills what a create or `PATCH` body may leave out and that depends on the format: an
    /// `mso_mdoc` configuration without `cryptographic_binding_methods_supported` is bound
    /// with `cose_key`. serde's default for the member is `["jwk"]` (the JOSE formats'), so
    /// that value is read as "absent" for `mso_mdoc`: a JWK cannot be an MSO's `deviceKey`,
    /// so nobody means it there. Any other value is left for [`Self::validate`] to judge.
    pub fn normalize(&mut self) {
        for c in self.credential_configurations.values_mut() {
            if c.format == FORMAT_MSO_MDOC && c.cryptographic_binding_methods_supported == ["jwk"] {
                c.cryptographic_binding_methods_supported = vec![BINDING_COSE_KEY.into()];
            }
        }
    }

    /// Whether any configuration is `mso_mdoc`.
    pub fn has_mdoc(&self) -> bool {
        self.credential_configurations
            .values()
            .any(|c| c.format == FORMAT_MSO_MDOC)
    }

    /// Whether the issuer runs in HAIP 1.0 mode.
    pub fn is_haip(&self) -> bool {
        self.haip.unwrap_or(false)
    }

    /// Checks the authorization code flow settings.
    fn validate_authorization(&self, kept: Kept) -> Result<()> {
        let bad = |m: String| Err(IssuerError::InvalidRequest(m));
        let web_url = |u: &str| {
            url::Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
        };
        if let Some(idp) = &self.identity_provider {
            if web_url(&idp.issuer).is_none() || idp.issuer.len() > 2048 {
                return bad("identity_provider.issuer must be an https URL".into());
            }
            if idp.client_id.is_empty() || idp.client_id.len() > 256 {
                return bad("identity_provider.client_id is 1 to 256 characters".into());
            }
            if idp.client_secret_sealed.is_some() {
                return bad("identity_provider.client_secret_sealed cannot be set".into());
            }
            match &idp.client_secret {
                Some(s) if !s.is_empty() && s.len() <= 1024 => {}
                None if kept.client_secret => {}
                _ => {
                    return bad("identity_provider.client_secret is required (1 to 1024 characters; client_secret_basic)".into());
                }
            }
            if !idp.scopes.iter().any(|s| s == "openid") {
                return bad("identity_provider.scopes must include openid".into());
            }
            if idp.scopes.len() > 32
                || idp
                    .scopes
                    .iter()
                    .any(|s| s.is_empty() || s.len() > 128 || s.contains(' '))
            {
                return bad("identity_provider.scopes: at most 32 scopes of 1 to 128 characters without spaces".into());
            }
            if idp.claim_mapping.len() > 128 {
                return bad("identity_provider.claim_mapping has at most 128 entries".into());
            }
            for m in &idp.claim_mapping {
                if m.path.is_empty() || m.from.is_empty() {
                    return bad(
                        "identity_provider.claim_mapping entries need a path and a from".into(),
                    );
                }
                let known = self
                    .credential_configurations
                    .values()
                    .any(|c| c.offers_claim(&m.path));
                if !known {
                    return bad(format!(
                        "identity_provider.claim_mapping: {} is not a claim of any configuration",
                        serde_json::to_string(&m.path).unwrap_or_default()
                    ));
                }
            }
        }
        if let Some(endpoint) = &self.claims_endpoint {
            if web_url(endpoint).is_none() || endpoint.len() > 2048 {
                return bad("claims_endpoint must be an https URL".into());
            }
            if self.identity_provider.is_none() {
                return bad(
                    "claims_endpoint needs an identity_provider to authenticate the subject".into(),
                );
            }
        }
        if self.claims_endpoint_secret_sealed.is_some() {
            return bad("claims_endpoint_secret_sealed cannot be set".into());
        }
        if let Some(secret) = &self.claims_endpoint_secret {
            if self.claims_endpoint.is_none() {
                return bad("claims_endpoint_secret needs a claims_endpoint".into());
            }
            if decode_endpoint_secret(secret).is_none() {
                return bad(
                    "claims_endpoint_secret must be whsec_ followed by the base64 of 24 to 64 bytes"
                        .into(),
                );
            }
        }
        if self.wallet_clients.len() > 64 {
            return bad("wallet_clients has at most 64 entries".into());
        }
        for w in &self.wallet_clients {
            if w.client_id.is_empty() || w.client_id.len() > 256 {
                return bad("wallet_clients: client_id is 1 to 256 characters".into());
            }
            if w.redirect_uris.is_empty() || w.redirect_uris.len() > 16 {
                return bad("wallet_clients: 1 to 16 redirect_uris".into());
            }
            for r in &w.redirect_uris {
                if url::Url::parse(r).is_err() || r.len() > 2048 || r.contains('#') {
                    return bad(format!(
                        "wallet_clients: {r} is not an absolute URI without fragment"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether pushed authorization requests are required (default true).
    pub fn requires_par(&self) -> bool {
        self.require_par.unwrap_or(true)
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Result<Algorithm> {
        match self.signing_alg.as_str() {
            "ES256" => Ok(Algorithm::Es256),
            "EdDSA" => Ok(Algorithm::EdDsa),
            _ => Err(IssuerError::InvalidRequest(
                "signing_alg must be ES256 or EdDSA".into(),
            )),
        }
    }

    /// The batch size advertised and enforced.
    pub fn batch_size(&self) -> usize {
        self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE)
    }

    /// `credential_configurations_supported` exactly as the metadata publishes it.
    pub fn configurations_supported(&self) -> Value {
        let alg = self.signing_alg.clone();
        let mut out = Map::new();
        for (id, c) in &self.credential_configurations {
            let mut m = Map::new();
            m.insert("format".into(), c.format.clone().into());
            if let Some(scope) = &c.scope {
                m.insert("scope".into(), scope.clone().into());
            }
            if let Some(vct) = &c.vct {
                m.insert("vct".into(), vct.clone().into());
            }
            if let Some(doctype) = &c.doctype {
                m.insert("doctype".into(), doctype.clone().into());
            }
            if let Some(def) = &c.credential_definition {
                m.insert("credential_definition".into(), def.clone());
            }
            // Spec: OID4VCI 1.0 A.2.2: for mso_mdoc the numeric COSE identifier of the
            // `issuerAuth` alg; A.1, A.3: JOSE names for the JWT-based formats.
            let algs = if c.format == FORMAT_MSO_MDOC {
                json!([COSE_ALG_ES256])
            } else {
                json!([alg])
            };
            m.insert("credential_signing_alg_values_supported".into(), algs);
            m.insert(
                "cryptographic_binding_methods_supported".into(),
                json!(c.cryptographic_binding_methods_supported),
            );
            // Spec: OID4VCI 1.0 §12.2.4: proof_types_supported MUST be present when binding is;
            // key_attestations_required "MUST NOT be present" unless required. The
            // `attestation` proof type (F.3) is offered when key attestations can be checked.
            let mut proof_types =
                json!({"jwt": {"proof_signing_alg_values_supported": ["ES256", "EdDSA"]}});
            let required = c.key_attestations_required.as_ref().map(|k| json!(k));
            if let Some(k) = &required {
                proof_types["jwt"]["key_attestations_required"] = k.clone();
            }
            if !self.key_attestation_trust_anchors.is_empty() {
                let mut attestation = json!({"proof_signing_alg_values_supported": ["ES256"]});
                if let Some(k) = required {
                    attestation["key_attestations_required"] = k;
                }
                proof_types["attestation"] = attestation;
            }
            m.insert("proof_types_supported".into(), proof_types);
            let mut meta = Map::new();
            if !c.display.is_empty() {
                meta.insert("display".into(), json!(c.display));
            }
            if !c.claims.is_empty() {
                meta.insert("claims".into(), json!(c.claims));
            }
            if !meta.is_empty() {
                m.insert("credential_metadata".into(), Value::Object(meta));
            }
            out.insert(id.clone(), Value::Object(m));
        }
        Value::Object(out)
    }
}

impl CredentialConfiguration {
    fn validate(&self, id: &str) -> Result<()> {
        let bad = |m: String| {
            Err(IssuerError::InvalidRequest(format!(
                "configuration {id}: {m}"
            )))
        };
        match self.format.as_str() {
            FORMAT_SD_JWT_VC => {
                if self.vct.as_deref().is_none_or(str::is_empty) {
                    return bad("dc+sd-jwt needs a vct".into());
                }
            }
            FORMAT_JWT_VC_JSON => {
                let types = self
                    .credential_definition
                    .as_ref()
                    .and_then(|d| d.get("type"))
                    .and_then(Value::as_array);
                let ok = types.is_some_and(|t| {
                    t.iter().any(|v| v == "VerifiableCredential") && t.iter().all(Value::is_string)
                });
                if !ok {
                    return bad("jwt_vc_json needs credential_definition.type including VerifiableCredential".into());
                }
            }
            FORMAT_MSO_MDOC => return self.validate_mdoc(id),
            _ => return bad("format must be dc+sd-jwt, jwt_vc_json or mso_mdoc".into()),
        }
        if self.vcdm.is_some() && self.format != FORMAT_JWT_VC_JSON {
            return bad("vcdm is for jwt_vc_json configurations only".into());
        }
        if self.doctype.is_some() {
            return bad("doctype is for mso_mdoc configurations only".into());
        }
        for b in &self.cryptographic_binding_methods_supported {
            if b != "jwk" && b != "did:jwk" {
                return bad(
                    "cryptographic_binding_methods_supported may list jwk and did:jwk".into(),
                );
            }
        }
        if self.cryptographic_binding_methods_supported.is_empty() {
            return bad("holder binding is required: list jwk or did:jwk".into());
        }
        self.validate_common(id)?;
        let paths = self
            .claim_paths()
            .map_err(|e| IssuerError::InvalidRequest(format!("configuration {id}: {e}")))?;
        for p in &paths {
            if self.format == FORMAT_SD_JWT_VC
                && let Some(PathElement::Name(first)) = p.elements().first()
                && (NEVER_DISCLOSABLE.contains(&first.as_str()) || first == "iat")
            {
                return bad(format!(
                    "{first} is set by the issuer and cannot be a claim"
                ));
            }
            if self.format == FORMAT_JWT_VC_JSON
                && p.elements().first() != Some(&PathElement::Name("credentialSubject".into()))
            {
                return bad("jwt_vc_json claim paths start with credentialSubject".into());
            }
        }
        Ok(())
    }

    /// An `mso_mdoc` configuration (OID4VCI 1.0 A.2): a `doctype`, neither `vct` nor
    /// `credential_definition`, `cose_key` binding, and claim paths of exactly
    /// `[namespace, data element identifier]` (OID4VCI 1.0 Appendix C.2 "Semantics for ISO
    /// mdoc-based credentials": the first two components; vdc issues top-level data elements,
    /// so a longer path would point inside one and cannot be offered on its own).
    fn validate_mdoc(&self, id: &str) -> Result<()> {
        let bad = |m: String| {
            Err(IssuerError::InvalidRequest(format!(
                "configuration {id}: {m}"
            )))
        };
        let name_ok = |s: &str| !s.is_empty() && s.chars().count() <= MAX_MDOC_NAME_CHARS;
        if !self.doctype.as_deref().is_some_and(name_ok) {
            return bad("mso_mdoc needs a doctype (1 to 256 characters)".into());
        }
        if self.vct.is_some() || self.credential_definition.is_some() {
            return bad("mso_mdoc takes a doctype, not vct or credential_definition".into());
        }
        if self.cryptographic_binding_methods_supported != [BINDING_COSE_KEY] {
            return bad(
                "mso_mdoc binds the MSO's deviceKey: cryptographic_binding_methods_supported must be [\"cose_key\"] (or absent)".into(),
            );
        }
        if self.claims.is_empty() {
            // ISO 18013-5 §8.3.2.1.2.2: IssuerNameSpaces holds at least one item.
            return bad("mso_mdoc needs at least one claim".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.claims {
            let pair = match c.path.as_array().map(Vec::as_slice) {
                Some([Value::String(ns), Value::String(element)])
                    if name_ok(ns) && name_ok(element) =>
                {
                    (ns.as_str(), element.as_str())
                }
                _ => {
                    return bad(format!(
                        "mso_mdoc claim paths are [namespace, data element identifier] (two strings of 1 to 256 characters), not {}",
                        c.path
                    ));
                }
            };
            if !seen.insert(pair) {
                return bad(format!("claim {} is listed twice", c.path));
            }
        }
        self.validate_common(id)
    }

    /// What every format shares: the lifetime and the key attestation requirement.
    fn validate_common(&self, id: &str) -> Result<()> {
        let bad = |m: String| {
            Err(IssuerError::InvalidRequest(format!(
                "configuration {id}: {m}"
            )))
        };
        if let Some(e) = self.expires_in
            && !(60..=10 * 365 * 24 * 3600).contains(&e)
        {
            return bad("expires_in must be between 60 seconds and 10 years".into());
        }
        // Spec: OID4VCI 1.0 §12.2.4: key_storage and user_authentication are non-empty arrays
        // of Appendix D.2 values (or ecosystem values, RECOMMENDED URLs); empty means absent.
        if let Some(k) = &self.key_attestations_required {
            for (name, values) in [
                ("key_storage", &k.key_storage),
                ("user_authentication", &k.user_authentication),
            ] {
                let mut seen = std::collections::BTreeSet::new();
                if values.len() > 16
                    || values
                        .iter()
                        .any(|v| v.is_empty() || v.len() > 256 || !seen.insert(v))
                {
                    return bad(format!(
                        "key_attestations_required.{name} holds at most 16 distinct values of 1 to 256 characters"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The configured claim paths.
    pub fn claim_paths(&self) -> vdc_core::Result<Vec<ClaimPath>> {
        self.claims
            .iter()
            .map(|c| ClaimPath::from_value(&c.path))
            .collect()
    }

    /// The disclosure frame: every configured claim (and its parents) selectively
    /// disclosable.
    pub fn frame(&self) -> Result<Frame> {
        let paths = self
            .claim_paths()
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Frame::from_paths(&paths).map_err(|e| IssuerError::Internal(e.to_string()))
    }

    /// Whether `path` (an offer claims path) names a claim of this configuration: its first
    /// name is the first name of a configured claim.
    pub fn offers_claim(&self, path: &[String]) -> bool {
        // An mdoc's claims are data elements: the whole [namespace, element] pair names one.
        if self.format == FORMAT_MSO_MDOC {
            return self
                .mdoc_elements()
                .any(|(ns, element)| path == [ns, element]);
        }
        let offset = usize::from(self.format == FORMAT_JWT_VC_JSON);
        self.claim_paths().is_ok_and(|paths| {
            paths.iter().any(|p| {
                p.elements().get(offset)
                    == path.first().map(|f| PathElement::Name(f.clone())).as_ref()
            })
        })
    }

    /// Lifetime of issued credentials.
    pub fn lifetime(&self) -> i64 {
        self.expires_in.unwrap_or(DEFAULT_CREDENTIAL_LIFETIME)
    }

    /// Checks offered claims against this configuration: an object; every mandatory claim
    /// present; nothing outside the configured claims (for `jwt_vc_json`, the claims are the
    /// `credentialSubject` members). 400 `invalid_request` otherwise.
    pub fn check_claims(&self, id: &str, claims: &Value) -> Result<()> {
        if self.format == FORMAT_MSO_MDOC {
            return self.check_mdoc_claims(id, claims);
        }
        let bad = |m: String| Err(IssuerError::InvalidRequest(format!("claims for {id}: {m}")));
        let Some(obj) = claims.as_object() else {
            return bad("must be an object".into());
        };
        let subject_paths: Vec<Vec<PathElement>> = self
            .claim_paths()
            .map_err(|e| IssuerError::Internal(e.to_string()))?
            .into_iter()
            .map(|p| {
                let e = p.elements().to_vec();
                if self.format == FORMAT_JWT_VC_JSON {
                    e[1..].to_vec()
                } else {
                    e
                }
            })
            .collect();
        for (name, _) in obj {
            let known = subject_paths
                .iter()
                .any(|p| p.first() == Some(&PathElement::Name(name.clone())));
            if !known {
                return bad(format!("{name} is not a claim of this configuration"));
            }
            if NEVER_DISCLOSABLE.contains(&name.as_str()) || name == "_sd" || name == "..." {
                return bad(format!("{name} cannot be set"));
            }
        }
        for (c, p) in self.claims.iter().zip(&subject_paths) {
            if c.mandatory && lookup(claims, p).is_none() {
                return bad(format!("mandatory claim {} is missing", c.path));
            }
        }
        Ok(())
    }
}

impl CredentialConfiguration {
    /// The configured data elements of an `mso_mdoc` configuration: (namespace, element
    /// identifier), in configuration order (validated as two strings on create).
    pub fn mdoc_elements(&self) -> impl Iterator<Item = (&str, &str)> {
        self.claims
            .iter()
            .filter_map(|c| match c.path.as_array().map(Vec::as_slice) {
                Some([Value::String(ns), Value::String(element)]) => {
                    Some((ns.as_str(), element.as_str()))
                }
                _ => None,
            })
    }

    /// Offered claims of an `mso_mdoc` configuration: `{namespace: {element: value}}` with
    /// every namespace and element configured, none empty (ISO 18013-5 §8.3.2.1.2.2:
    /// `IssuerNameSpaces` and each namespace's item list hold at least one entry), and every
    /// mandatory element present.
    fn check_mdoc_claims(&self, id: &str, claims: &Value) -> Result<()> {
        let bad = |m: String| Err(IssuerError::InvalidRequest(format!("claims for {id}: {m}")));
        let Some(namespaces) = claims.as_object() else {
            return bad("must be an object of namespace to {data element: value}".into());
        };
        if namespaces.is_empty() {
            return bad("an mdoc needs at least one data element".into());
        }
        for (ns, elements) in namespaces {
            if !self.mdoc_elements().any(|(n, _)| n == ns) {
                return bad(format!(
                    "namespace {ns} is not a namespace of this configuration"
                ));
            }
            let Some(elements) = elements.as_object() else {
                return bad(format!(
                    "namespace {ns} must be an object of data element to value"
                ));
            };
            if elements.is_empty() {
                return bad(format!("namespace {ns} has no data elements"));
            }
            for element in elements.keys() {
                if !self.mdoc_elements().any(|(n, e)| n == ns && e == element) {
                    return bad(format!(
                        "{ns} {element} is not a claim of this configuration"
                    ));
                }
            }
        }
        for c in self.claims.iter().filter(|c| c.mandatory) {
            let present = match c.path.as_array().map(Vec::as_slice) {
                Some([Value::String(ns), Value::String(element)]) => {
                    claims.get(ns).and_then(|e| e.get(element)).is_some()
                }
                _ => false,
            };
            if !present {
                return bad(format!("mandatory claim {} is missing", c.path));
            }
        }
        Ok(())
    }
}

/// Follows a concrete path (names and indexes; `null` selects the first element).
fn lookup<'a>(value: &'a Value, path: &[PathElement]) -> Option<&'a Value> {
    let mut v = value;
    for e in path {
        v = match e {
            PathElement::Name(n) => v.get(n)?,
            PathElement::Index(i) => v.get(*i)?,
            PathElement::AllElements => v.as_array()?.first()?,
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract_example() -> IssuerDefinition {
        serde_json::from_value(json!({ "id": "acme",
          "display": [{"name": "ACME Corp", "locale": "en"}],
          "signing_alg": "ES256",
          "credential_configurations": {
            "EmployeeBadge": {
              "format": "dc+sd-jwt",
              "vct": "https://acme.example/vct/employee-badge",
              "claims": [{"path": ["given_name"]}, {"path": ["family_name"]}, {"path": ["employee_id"], "mandatory": true}],
              "cryptographic_binding_methods_supported": ["jwk"],
              "expires_in": 31536000 },
            "EmployeeBadgeW3C": {
              "format": "jwt_vc_json",
              "credential_definition": {"type": ["VerifiableCredential", "EmployeeBadgeCredential"]},
              "claims": [{"path": ["credentialSubject", "given_name"]}, {"path": ["credentialSubject", "employee_id"], "mandatory": true}],
              "cryptographic_binding_methods_supported": ["did:jwk", "jwk"],
              "expires_in": 31536000 } } }))
        .unwrap()
    }

    #[test]
    fn contract_example_validates_and_publishes_proof_types() {
        let d = contract_example();
        d.validate().unwrap();
        let s = d.configurations_supported();
        assert_eq!(
            s["EmployeeBadge"]["vct"],
            "https://acme.example/vct/employee-badge"
        );
        assert_eq!(
            s["EmployeeBadge"]["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
                [0],
            "ES256"
        );
        assert_eq!(
            s["EmployeeBadgeW3C"]["credential_metadata"]["claims"][1]["mandatory"],
            true
        );
    }

    #[test]
    fn bad_definitions_are_invalid_requests() {
        let mut d = contract_example();
        d.id = "Acme!".into();
        assert!(d.validate().is_err());
        let mut d = contract_example();
        d.signing_alg = "HS256".into();
        assert!(d.validate().is_err());
        let mut d = contract_example();
        d.credential_configurations
            .get_mut("EmployeeBadge")
            .unwrap()
            .vct = None;
        assert!(d.validate().is_err());
        let mut d = contract_example();
        d.credential_configurations
            .get_mut("EmployeeBadge")
            .unwrap()
            .claims
            .push(ClaimDescription {
                path: json!(["status"]),
                mandatory: false,
                display: vec![],
            });
        assert!(d.validate().is_err());
    }

    fn mdl() -> IssuerDefinition {
        let mut d: IssuerDefinition = serde_json::from_value(json!({ "id": "dmv",
          "credential_configurations": {
            "mDL": {
              "format": "mso_mdoc",
              "doctype": "org.iso.18013.5.1.mDL",
              "claims": [{"path": ["org.iso.18013.5.1", "given_name"], "mandatory": true},
                         {"path": ["org.iso.18013.5.1", "age_over_18"]}] } } }))
        .unwrap();
        d.normalize();
        d
    }

    /// OID4VCI 1.0 A.2: an mso_mdoc configuration binds with cose_key (the default), is
    /// published with its doctype and the numeric COSE alg, and takes claims per namespace.
    #[test]
    fn mdoc_configurations_validate_publish_and_check_offers() {
        let d = mdl();
        d.validate().unwrap();
        let c = &d.credential_configurations["mDL"];
        assert_eq!(c.cryptographic_binding_methods_supported, ["cose_key"]);
        let s = d.configurations_supported();
        assert_eq!(s["mDL"]["doctype"], "org.iso.18013.5.1.mDL");
        assert_eq!(
            s["mDL"]["credential_signing_alg_values_supported"],
            json!([-7])
        );
        let ns = "org.iso.18013.5.1";
        c.check_claims(
            "mDL",
            &json!({ns: {"given_name": "Ada", "age_over_18": true}}),
        )
        .unwrap();
        for bad in [
            json!({ns: {"age_over_18": true}}),
            json!({ns: {"given_name": "Ada", "portrait": "x"}}),
            json!({ns: {"given_name": "Ada"}, "other": {"given_name": "Ada"}}),
            json!({"given_name": "Ada"}),
            json!({}),
        ] {
            assert!(c.check_claims("mDL", &bad).is_err(), "{bad}");
        }
        assert!(c.offers_claim(&[ns.into(), "given_name".into()]));
        assert!(!c.offers_claim(&[ns.into()]));
        let mut d = mdl();
        d.signing_alg = "EdDSA".into();
        assert!(d.validate().is_err());
        let mut d = mdl();
        d.credential_configurations
            .get_mut("mDL")
            .unwrap()
            .cryptographic_binding_methods_supported = vec!["did:jwk".into()];
        assert!(d.validate().is_err());
        let mut d = mdl();
        d.credential_configurations.get_mut("mDL").unwrap().claims[0].path = json!([ns]);
        assert!(d.validate().is_err());
        let mut d = mdl();
        d.credential_configurations.get_mut("mDL").unwrap().doctype = None;
        assert!(d.validate().is_err());
    }

    #[test]
    fn claims_endpoint_secrets_are_webhook_secrets() {
        assert_eq!(
            decode_endpoint_secret("whsec_Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi").map(|k| k.len()),
            Some(24)
        );
        for bad in [
            "Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi",
            "whsec_c2hvcnQ=",
            "whsec_not base64!",
            "whsec_",
            &format!("whsec_{}", "QUFB".repeat(22)),
        ] {
            assert!(decode_endpoint_secret(bad).is_none(), "{bad}");
        }
        let with = |endpoint: Option<&str>, secret: Option<&str>| {
            let mut d = contract_example();
            d.identity_provider = Some(IdentityProvider {
                issuer: "https://idp.example".into(),
                client_id: "vdc".into(),
                client_secret: Some("s".into()),
                client_secret_sealed: None,
                scopes: vec!["openid".into()],
                claim_mapping: vec![],
            });
            d.claims_endpoint = endpoint.map(str::to_owned);
            d.claims_endpoint_secret = secret.map(str::to_owned);
            d.validate()
        };
        with(Some("https://backend.example/claims"), None).unwrap();
        with(
            Some("https://backend.example/claims"),
            Some("whsec_Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi"),
        )
        .unwrap();
        assert!(
            with(
                Some("https://backend.example/claims"),
                Some("whsec_c2hvcnQ=")
            )
            .is_err()
        );
        assert!(with(None, Some("whsec_Z2xvYmV4LWNsYWltcy1zZWNyZXQtMjRi")).is_err());
        assert!(with(Some("ftp://backend.example/claims"), None).is_err());
        let mut d = contract_example();
        d.claims_endpoint = Some("https://backend.example/claims".into());
        assert!(d.validate().is_err(), "no identity provider");
    }

    #[test]
    fn offered_claims_must_fit_the_configuration() {
        let d = contract_example();
        let c = &d.credential_configurations["EmployeeBadge"];
        c.check_claims(
            "EmployeeBadge",
            &json!({"given_name": "Ada", "employee_id": "E-1"}),
        )
        .unwrap();
        assert!(
            c.check_claims("EmployeeBadge", &json!({"given_name": "Ada"}))
                .is_err(),
            "mandatory missing"
        );
        assert!(
            c.check_claims("EmployeeBadge", &json!({"employee_id": "E-1", "salary": 1}))
                .is_err(),
            "unknown claim"
        );
        assert!(c.check_claims("EmployeeBadge", &json!(["x"])).is_err());
        let w = &d.credential_configurations["EmployeeBadgeW3C"];
        w.check_claims(
            "EmployeeBadgeW3C",
            &json!({"given_name": "Ada", "employee_id": "E-1"}),
        )
        .unwrap();
    }
}
