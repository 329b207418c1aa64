//! HAIP 1.0 mode for issuers (contract-next "HAIP mode"): the profile's issuer rules, each
//! with its section of OpenID4VC HAIP 1.0 (openid/OpenID4VC-HAIP `1.0/`), computed from an
//! issuer's definition and its key's certificate chain.
//!
//! Two kinds of rule: configuration rules, which a HAIP-mode create or update refuses to
//! break (400 naming the section, [`check`]), and deployment rules (an https public URL),
//! which the report shows but a create cannot fix. What a HAIP-mode issuer then enforces at
//! its endpoints (wallet attestation, DPoP, x5c) lives with each endpoint; this module only
//! says which rules hold.

use vdc_http::haip::{HaipReport, HaipRule};

use crate::definition::{FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC, IssuerDefinition};
use crate::error::{IssuerError, Result};
use crate::service::Issuer;

/// What the report needs beyond the definition.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// The signing key has an `x5c` chain whose leaf is not self-signed.
    pub chain_not_self_signed: bool,
    /// The public URL is https.
    pub https: bool,
}

/// Every issuer-side rule of HAIP 1.0, in section order. The first element of each pair is
/// whether a HAIP-mode definition must meet it (a configuration rule).
fn rules(def: &IssuerDefinition, facts: Facts) -> Vec<(bool, HaipRule)> {
    let haip = def.is_haip();
    let configs = || def.credential_configurations.iter();
    let unscoped: Vec<&str> = configs()
        .filter(|(_, c)| c.scope.as_deref().is_none_or(str::is_empty))
        .map(|(id, _)| id.as_str())
        .collect();
    // Spec: HAIP 1.0 §6: credentials are SD-JWT VCs (`dc+sd-jwt`) or ISO mdocs (`mso_mdoc`).
    let other_formats: Vec<&str> = configs()
        .filter(|(_, c)| c.format != FORMAT_SD_JWT_VC && c.format != FORMAT_MSO_MDOC)
        .map(|(id, _)| id.as_str())
        .collect();
    // §6.1 (`cnf.jwk`) is an SD-JWT VC rule: an mdoc binds its key as the MSO's COSE_Key
    // `deviceKey` (ISO 18013-5 §9.1.2.4), which `mso_mdoc` validation requires.
    let not_jwk_bound: Vec<&str> = configs()
        .filter(|(_, c)| {
            c.format == FORMAT_SD_JWT_VC && c.cryptographic_binding_methods_supported != ["jwk"]
        })
        .map(|(id, _)| id.as_str())
        .collect();
    let list = |ids: &[&str]| ids.join(", ");
    vec![
        (
            true,
            HaipRule::new(
                "authorization_code",
                "4",
                def.identity_provider.is_some(),
                "the issuer MUST support the authorization code flow: configure identity_provider",
            ),
        ),
        (
            true,
            HaipRule::new(
                "pushed_authorization_requests",
                "4",
                def.requires_par(),
                "FAPI 2.0: authorization requests are pushed (RFC 9126): keep require_par true",
            ),
        ),
        (
            false,
            HaipRule::new(
                "pkce_s256",
                "4",
                true,
                "PKCE with S256 only (vdc refuses plain and missing challenges)",
            ),
        ),
        (
            true,
            HaipRule::new(
                "dpop",
                "4",
                def.require_dpop,
                "sender-constrained access tokens with DPoP (RFC 9449): set require_dpop true",
            ),
        ),
        (
            false,
            HaipRule::new(
                "https",
                "4",
                facts.https,
                "FAPI 2.0 requires TLS: serve the public URL (VDC_PUBLIC_URL) over https",
            ),
        ),
        (
            true,
            HaipRule::new(
                "scope_per_configuration",
                "4.1",
                unscoped.is_empty(),
                if unscoped.is_empty() {
                    "every credential configuration has a scope".to_owned()
                } else {
                    format!(
                        "the metadata MUST include a scope for every credential configuration; none for: {}",
                        list(&unscoped)
                    )
                },
            ),
        ),
        (
            false,
            HaipRule::new(
                "nonce_endpoint",
                "4.1",
                true,
                "key binding needs the nonce_endpoint in the metadata (always published)",
            ),
        ),
        (
            true,
            HaipRule::new(
                "wallet_attestation",
                "4.4.1",
                !def.wallet_attestation_trust_anchors.is_empty(),
                "wallets authenticate with a wallet attestation at PAR and token endpoints: \
                 configure wallet_attestation_trust_anchors",
            ),
        ),
        (
            false,
            HaipRule::new(
                "wallet_attestation_required",
                "4.4.1",
                haip,
                "issuers MUST require client authentication (on in HAIP mode: both grants, \
                 pre-authorized_grant_anonymous_access_supported false)",
            ),
        ),
        (
            false,
            HaipRule::new(
                "key_attestation",
                "4.5.1",
                !def.key_attestation_trust_anchors.is_empty(),
                "key attestations (jwt proofs with key_attestation, the attestation proof \
                 type) are accepted: configure key_attestation_trust_anchors",
            ),
        ),
        (
            true,
            HaipRule::new(
                "credential_format",
                "6",
                other_formats.is_empty(),
                if other_formats.is_empty() {
                    "every configuration is dc+sd-jwt or mso_mdoc".to_owned()
                } else {
                    format!(
                        "credential formats are SD-JWT VC (dc+sd-jwt) or mdoc; not for: {}",
                        list(&other_formats)
                    )
                },
            ),
        ),
        (
            true,
            HaipRule::new(
                "cnf_jwk",
                "6.1",
                not_jwk_bound.is_empty(),
                if not_jwk_bound.is_empty() {
                    "holder-bound SD-JWT VCs carry the key in cnf.jwk".to_owned()
                } else {
                    format!(
                        "cnf MUST carry the JWK: cryptographic_binding_methods_supported must be [\"jwk\"] for: {}",
                        list(&not_jwk_bound)
                    )
                },
            ),
        ),
        (
            false,
            HaipRule::new(
                "status_list_x5c",
                "6.1",
                facts.chain_not_self_signed,
                "Status List Tokens carry the signer's certificate in x5c, anchor excluded, not \
                 self-signed (made by vdc in HAIP mode, or the operator's x5c)",
            ),
        ),
        (
            false,
            HaipRule::new(
                "credential_x5c",
                "6.1.1",
                facts.chain_not_self_signed,
                "every SD-JWT VC carries the issuer's certificate chain in x5c, anchor excluded, \
                 not self-signed",
            ),
        ),
        (
            true,
            HaipRule::new(
                "es256",
                "7",
                def.signing_alg == "ES256",
                "credentials are signed with ES256 (P-256, SHA-256): set signing_alg ES256",
            ),
        ),
    ]
}

/// The report of `GET /api/v1/issuers/{issuer}/haip`.
pub fn report(def: &IssuerDefinition, facts: Facts) -> HaipReport {
    HaipReport {
        haip: def.is_haip(),
        rules: rules(def, facts).into_iter().map(|(_, r)| r).collect(),
    }
}

/// Refuses a HAIP-mode definition that breaks a configuration rule: 400 `invalid_request`
/// naming the section. A definition outside HAIP mode passes.
pub fn check(def: &IssuerDefinition) -> Result<()> {
    if !def.is_haip() {
        return Ok(());
    }
    for (config, rule) in rules(def, Facts::default()) {
        if config && !rule.met {
            return Err(IssuerError::InvalidRequest(format!(
                "HAIP 1.0 §{} ({}): {}",
                rule.section, rule.id, rule.detail
            )));
        }
    }
    Ok(())
}

impl Issuer {
    /// `GET /api/v1/issuers/{issuer}/haip`.
    pub async fn haip_report(&self, issuer_id: &str) -> Result<HaipReport> {
        let def = self.require(issuer_id).await?;
        let signer = self.signer(issuer_id).await?;
        let chain_not_self_signed = vdc_core::jose::Signer::x5c(signer.as_ref())
            .and_then(<[Vec<u8>]>::first)
            .is_some_and(|leaf| vdc_core::x509::is_self_signed(leaf) == Ok(false));
        let facts = Facts {
            chain_not_self_signed,
            https: self.public_url().starts_with("https://"),
        };
        Ok(report(&def, facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn haip_issuer() -> serde_json::Value {
        json!({
            "id": "acme",
            "haip": true,
            "require_dpop": true,
            "identity_provider": {"issuer": "https://login.example", "client_id": "vdc",
                "client_secret": "s"},
            "credential_configurations": {"Badge": {"format": "dc+sd-jwt",
                "vct": "https://acme.example/badge", "scope": "badge",
                "claims": [{"path": ["name"]}]}}
        })
    }

    fn def(v: serde_json::Value) -> IssuerDefinition {
        serde_json::from_value(v).unwrap()
    }

    /// Spec: HAIP 1.0 §4, §4.1, §4.4.1, §6, §6.1, §7: each configuration rule refuses a
    /// HAIP-mode definition that breaks it, naming its section.
    #[test]
    fn each_configuration_rule_refuses_a_haip_definition_that_breaks_it() {
        let mut base = haip_issuer();
        // No anchors: the wallet attestation rule is the one that fails.
        let err = check(&def(base.clone())).unwrap_err().to_string();
        assert!(err.contains("§4.4.1 (wallet_attestation)"), "{err}");
        base["wallet_attestation_trust_anchors"] = json!(["pem"]);
        // (`check` reads the rules only; the PEM itself is validated in `validate`.)
        check(&def(base.clone())).unwrap();
        let breaks: [(&str, &str, serde_json::Value); 7] = [
            ("/identity_provider", "§4 (authorization_code)", json!(null)),
            (
                "/require_par",
                "§4 (pushed_authorization_requests)",
                json!(false),
            ),
            ("/require_dpop", "§4 (dpop)", json!(false)),
            (
                "/credential_configurations/Badge/scope",
                "§4.1 (scope_per_configuration)",
                json!(null),
            ),
            (
                "/credential_configurations/Badge/cryptographic_binding_methods_supported",
                "§6.1 (cnf_jwk)",
                json!(["did:jwk"]),
            ),
            ("/signing_alg", "§7 (es256)", json!("EdDSA")),
            (
                "/credential_configurations/Badge/format",
                "§6 (credential_format)",
                json!("jwt_vc_json"),
            ),
        ];
        for (pointer, section, value) in breaks {
            let mut v = base.clone();
            let (parent, name) = pointer.rsplit_once('/').unwrap();
            v.pointer_mut(parent)
                .and_then(serde_json::Value::as_object_mut)
                .unwrap()
                .insert(name.to_owned(), value);
            let err = check(&def(v)).unwrap_err().to_string();
            assert!(err.contains(section), "{pointer}: {err}");
        }
        // Spec: HAIP 1.0 §6: mdocs are a HAIP format, bound by their COSE_Key.
        let mut v = base.clone();
        v["credential_configurations"]["mDL"] = json!({"format": "mso_mdoc",
            "doctype": "org.iso.18013.5.1.mDL", "scope": "mdl",
            "cryptographic_binding_methods_supported": ["cose_key"],
            "claims": [{"path": ["org.iso.18013.5.1", "given_name"]}]});
        check(&def(v)).unwrap();
        // Outside HAIP mode nothing is refused.
        base["haip"] = json!(false);
        base["require_dpop"] = json!(false);
        check(&def(base)).unwrap();
    }

    /// The report lists deployment rules too, met or not from the facts.
    #[test]
    fn the_report_shows_deployment_rules_from_the_facts() {
        let mut v = haip_issuer();
        v["wallet_attestation_trust_anchors"] = json!(["pem"]);
        let d = def(v);
        let r = report(&d, Facts::default());
        assert!(r.haip);
        let rule = |id: &str| r.rules.iter().find(|x| x.id == id).unwrap().met;
        assert!(!rule("https") && !rule("credential_x5c") && !rule("key_attestation"));
        assert!(rule("dpop") && rule("wallet_attestation") && rule("es256"));
        let r = report(
            &d,
            Facts {
                chain_not_self_signed: true,
                https: true,
            },
        );
        assert!(r.rules.iter().find(|x| x.id == "https").unwrap().met);
        assert!(
            r.rules
                .iter()
                .find(|x| x.id == "status_list_x5c")
                .unwrap()
                .met
        );
        assert!(
            r.rules
                .iter()
                .all(|x| !x.section.is_empty() && !x.detail.is_empty())
        );
    }
}
