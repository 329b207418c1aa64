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
        // The demo shows both formats over plain pre-authorized codes, which HAIP mode
        // refuses; it stays outside HAIP mode whatever VDC_HAIP says.
        "haip": false,
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

/// The demo verifier's client_id prefix for this public URL: `x509_san_dns` needs a DNS
/// name (or loopback, as `localhost`); with an IP address (a phone on the LAN reaching
/// `http://192.168.…`) it falls back to `x509_hash`, which works with any host.
fn demo_prefix(verifier: &vdc_verifier::Verifier, issuer: &Issuer) -> vdc_verifier::ClientIdPrefix {
    if verifier.public_host_is_dns_name() {
        vdc_verifier::ClientIdPrefix::X509SanDns
    } else {
        tracing::warn!(
            public_url = issuer.public_url(),
            "the public URL's host is an IP address, which an x509_san_dns client_id cannot \
             name: the demo verifier uses x509_hash instead (for phone wallets, serve over \
             HTTPS with a DNS name: docs/DEPLOYMENT.md, \"Phone wallets\")"
        );
        vdc_verifier::ClientIdPrefix::X509Hash
    }
}

/// Creates the demo verifier (trusting the demo issuer) unless it exists, then, on every
/// start, aligns it with the current public URL: a restart on another port or host must not
/// leave it trusting the old issuer URL with a certificate for the old host (every
/// presentation would be `untrusted_issuer`). The demo owns this tenant, so rewriting it is
/// safe; no other verifier is touched.
pub async fn seed_verifier(
    verifier: &vdc_verifier::Verifier,
    issuer: &Issuer,
) -> anyhow::Result<()> {
    let prefix = demo_prefix(verifier, issuer);
    let trusted = vec![issuer.issuer_url(DEMO_ISSUER)];
    match verifier.get_verifier(DEMO_VERIFIER).await {
        Ok(_) => {}
        Err(vdc_verifier::VerifierError::NotFound(_)) => {
            let def: vdc_verifier::VerifierDefinition = serde_json::from_value(json!({
                "id": DEMO_VERIFIER,
                "client_id_prefix": prefix.as_str(),
                "display": {"name": "vdc demo verifier"},
                "trusted_issuers": trusted,
                "haip": false,
            }))?;
            match verifier.create_verifier(def).await {
                Ok(_) => return Ok(()),
                // Another instance seeded it first: align it below.
                Err(vdc_verifier::VerifierError::Conflict(_)) => {}
                Err(e) => return Err(anyhow::anyhow!("seeding the demo verifier: {e}")),
            }
        }
        Err(e) => return Err(anyhow::anyhow!("reading the demo verifier: {e}")),
    }
    match verifier
        .align_with_public_url(DEMO_VERIFIER, prefix, trusted)
        .await
    {
        Ok((v, true)) => {
            tracing::info!(
                client_id = %v.client_id,
                trusted_issuers = ?v.trusted_issuers,
                "the demo verifier was aligned with the public URL (new trust anchor)"
            );
            Ok(())
        }
        Ok((_, false)) => Ok(()),
        Err(e) => Err(anyhow::anyhow!("updating the demo verifier: {e}")),
    }
}
