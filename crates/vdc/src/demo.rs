//! `--demo`: seeds a demo issuer `demo` and a demo verifier `demo` trusting it, so a
//! newcomer can try the whole flow at once.

use serde_json::json;
use vdc_issuer::Issuer;
use vdc_issuer::definition::IssuerDefinition;

/// The demo issuer's slug.
pub const DEMO_ISSUER: &str = "demo";

/// The demo issuer: an employee badge as SD-JWT VC and as W3C VC.
pub fn demo_issuer() -> anyhow::Result<IssuerDefinition> {
    Ok(serde_json::from_value(json!({
        "id": DEMO_ISSUER,
        "display": [{"name": "vdc demo issuer", "locale": "en"}],
        "signing_alg": "ES256",
        "credential_configurations": {
            "EmployeeBadge": {
                "format": "dc+sd-jwt",
                "vct": "https://vdc.example/vct/employee-badge",
                "display": [{"name": "Employee badge", "locale": "en"}],
                "claims": [
                    {"path": ["given_name"]}, {"path": ["family_name"]},
                    {"path": ["employee_id"], "mandatory": true}, {"path": ["department"]}
                ],
                "cryptographic_binding_methods_supported": ["jwk"],
                "expires_in": 31536000
            },
            "EmployeeBadgeW3C": {
                "format": "jwt_vc_json",
                "credential_definition": {"type": ["VerifiableCredential", "EmployeeBadgeCredential"]},
                "claims": [
                    {"path": ["credentialSubject", "given_name"]},
                    {"path": ["credentialSubject", "employee_id"], "mandatory": true}
                ],
                "cryptographic_binding_methods_supported": ["did:jwk", "jwk"],
                "expires_in": 31536000
            }
        }
    }))?)
}

/// Creates the demo issuer unless it exists.
pub async fn seed(issuer: &Issuer) -> anyhow::Result<()> {
    match issuer.get_issuer(DEMO_ISSUER).await {
        Ok(_) => Ok(()),
        Err(vdc_issuer::IssuerError::NotFound(_)) => {
            match issuer.create_issuer(demo_issuer()?).await {
                // Another instance seeded it first.
                Ok(_) | Err(vdc_issuer::IssuerError::Conflict(_)) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("seeding the demo issuer: {e}")),
            }
        }
        Err(e) => Err(anyhow::anyhow!("reading the demo issuer: {e}")),
    }
}

/// The demo verifier's slug.
pub const DEMO_VERIFIER: &str = "demo";

/// Creates the demo verifier (`x509_san_dns`, trusting the demo issuer) unless it exists.
pub async fn seed_verifier(
    verifier: &vdc_verifier::Verifier,
    issuer: &Issuer,
) -> anyhow::Result<()> {
    match verifier.get_verifier(DEMO_VERIFIER).await {
        Ok(_) => Ok(()),
        Err(vdc_verifier::VerifierError::NotFound(_)) => {
            let def: vdc_verifier::VerifierDefinition = serde_json::from_value(json!({
                "id": DEMO_VERIFIER,
                "client_id_prefix": "x509_san_dns",
                "display": {"name": "vdc demo verifier"},
                "trusted_issuers": [issuer.issuer_url(DEMO_ISSUER)],
            }))?;
            match verifier.create_verifier(def).await {
                Ok(_) | Err(vdc_verifier::VerifierError::Conflict(_)) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("seeding the demo verifier: {e}")),
            }
        }
        Err(e) => Err(anyhow::anyhow!("reading the demo verifier: {e}")),
    }
}
