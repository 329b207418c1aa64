//! The certificate chain vdc makes for an issuer's signing key when the issuer runs in HAIP
//! mode and the operator gives no `x5c`: a per-issuer CA (ES256, self-signed) certifies a
//! leaf for the signing key. The leaf alone is the key's `x5c`, so it travels in every
//! SD-JWT VC, Status List Token and signed metadata; the CA certificate is the issuer's
//! trust anchor, exported (`trust_anchor` of the issuer object, `GET
//! /issuers/{issuer}/trust-anchor.pem`) and never sent in `x5c`.
//!
//! Spec: HAIP 1.0 §6.1.1: "The SD-JWT VC MUST contain the credential issuer's signing
//! certificate along with a trust chain in the `x5c` JOSE header parameter ... The X.509
//! certificate of the trust anchor MUST NOT be included in the `x5c` JOSE header of the
//! SD-JWT VC. The X.509 certificate signing the request MUST NOT be self-signed." §6.1 says
//! the same of Status List Tokens, §4.1 of signed Credential Issuer Metadata.
//!
//! The CA's private key is dropped once the leaf is signed (as the verifier's per-verifier
//! CA): nothing can ever sign another certificate under this anchor, so a leaked store
//! leaks no CA key. The price: a new leaf (key rotation, a later issue) comes with a new CA
//! and therefore a new anchor for wallets and verifiers to take, unless the operator
//! supplies a chain of their own CA.

use vdc_core::jose::{Algorithm, PublicKey, SigningKey};
use vdc_core::rng::RandomSource;
use vdc_core::time::UnixTime;
use vdc_core::x509::{self, CertificateSpec};

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};

/// Validity of the leaf vdc makes for an issuer's signing key: one year (as the verifier's
/// server-made certificates).
pub const LEAF_VALIDITY_SECS: i64 = 365 * 24 * 3600;

/// Validity of the per-issuer CA: five years, longer than any leaf under it (its key is
/// gone after the first leaf, so the length only bounds how long wallets keep the anchor).
pub const CA_VALIDITY_SECS: i64 = 5 * 365 * 24 * 3600;

/// Certificates start a minute in the past, so a relying party whose clock is slightly
/// behind still finds them valid.
const CLOCK_SKEW_SECS: i64 = 60;

/// Upper bound of `commonName` (RFC 5280 Appendix A: `ub-common-name INTEGER ::= 64`).
const MAX_COMMON_NAME_CHARS: usize = 64;

/// A chain vdc made for an issuer's signing key (DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeChain {
    /// The end-entity certificate of the signing key, issued by [`Self::trust_anchor`]: the
    /// whole `x5c`.
    pub leaf: Vec<u8>,
    /// The per-issuer CA certificate (self-signed): the trust anchor, never in `x5c`.
    pub trust_anchor: Vec<u8>,
}

impl MadeChain {
    /// The key's `x5c` chain: the leaf only (HAIP 1.0 §6.1.1: the anchor is left out).
    pub fn x5c(&self) -> Vec<Vec<u8>> {
        vec![self.leaf.clone()]
    }

    /// Records the chain in the stored definition: `x5c` (standard base64 DER, as an
    /// operator's chain is stored) and `trust_anchor` (PEM).
    pub fn record_in(&self, def: &mut IssuerDefinition) {
        def.x5c = Some(vec![base64_std(&self.leaf)]);
        def.trust_anchor = Some(x509::to_pem(&self.trust_anchor));
    }
}

fn base64_std(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn common_name(prefix: &str, issuer_id: &str) -> String {
    format!("{prefix} {issuer_id}")
        .chars()
        .take(MAX_COMMON_NAME_CHARS)
        .collect()
}

/// Makes a per-issuer CA and a leaf certifying `subject` (the issuer's signing key), valid
/// from `now`. The leaf's only Subject Alternative Name is the credential issuer identifier
/// as a `uniformResourceIdentifier`: SD-JWT VC recipients match `iss` against it (SD-JWT VC
/// drafts -02 to -09 "X.509 Certificates"; `vdc_core::sd_jwt_vc::x5c_names_issuer`), and a
/// URI names this tenant alone where a DNS name would name every issuer on the host.
pub fn make_chain(
    issuer_id: &str,
    credential_issuer: &str,
    subject: &PublicKey,
    now: UnixTime,
    rng: &dyn RandomSource,
) -> Result<MadeChain> {
    let failed = |e: vdc_core::Error| {
        IssuerError::Internal(format!("issuer certificate could not be made: {e}"))
    };
    // Spec: HAIP 1.0 §5: ES256 is the algorithm every party supports.
    let ca_key = SigningKey::generate(Algorithm::Es256, rng).map_err(failed)?;
    let ca_spec = CertificateSpec::new(
        common_name("vdc issuer CA", issuer_id),
        now.plus(-CLOCK_SKEW_SECS),
        now.plus(CA_VALIDITY_SECS),
        rng,
    )
    .map_err(failed)?
    .ca();
    let trust_anchor = x509::self_signed(&ca_spec, &ca_key).map_err(failed)?;
    let leaf_spec = CertificateSpec::new(
        common_name("vdc issuer", issuer_id),
        now.plus(-CLOCK_SKEW_SECS),
        now.plus(LEAF_VALIDITY_SECS),
        rng,
    )
    .map_err(failed)?
    .with_uri(credential_issuer);
    let leaf = x509::issue(&leaf_spec, subject, &trust_anchor, &ca_key).map_err(failed)?;
    // `ca_key` is dropped here: no other certificate can be issued under this anchor.
    Ok(MadeChain { leaf, trust_anchor })
}

/// Whether vdc must make a chain for `def`'s signing key: in HAIP mode without one.
pub fn needs_chain(def: &IssuerDefinition) -> bool {
    def.is_haip() && def.x5c.is_none()
}

/// Refuses `signed_metadata` without a chain to sign it with: a wallet must establish trust
/// in the signer (OID4VCI 1.0 §12.2.3), which HAIP 1.0 §4.1 does through `x5c`.
pub fn check_signed_metadata(def: &IssuerDefinition) -> Result<()> {
    if def.signed_metadata && def.x5c.is_none() {
        return Err(IssuerError::InvalidRequest(
            "signed_metadata needs a certificate chain: give x5c with signing_key, or set haip: true for a chain made by vdc".into(),
        ));
    }
    Ok(())
}

impl crate::service::Issuer {
    /// The trust anchor (PEM) of the chain vdc made for the issuer's signing key, for
    /// `GET /issuers/{issuer}/trust-anchor.pem`. Public like the metadata: it is a CA
    /// certificate, which wallets and verifiers need before they can validate `x5c`.
    /// `not_found` for an unknown or disabled issuer, and for one without a chain made by
    /// vdc (an operator's chain ends at the operator's own CA).
    pub async fn trust_anchor_pem(&self, issuer_id: &str) -> Result<String> {
        let def = self.wallet_definition(issuer_id).await?;
        def.trust_anchor.clone().ok_or_else(|| {
            IssuerError::NotFound(format!(
                "issuer {issuer_id} has no trust anchor made by vdc (not in HAIP mode, or its certificate chain is the operator's)"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::rng::SeededRandom;
    use vdc_core::x509::TrustAnchors;

    #[test]
    fn made_chain_validates_to_its_anchor_and_names_the_issuer() {
        let rng = SeededRandom::new(7);
        let now = UnixTime(1_800_000_000);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let iss = "https://vdc.example/issuers/acme";
        let chain = make_chain(&"a".repeat(63), iss, key.public_key(), now, &rng).unwrap();
        assert_ne!(chain.leaf, chain.trust_anchor);
        let anchors = TrustAnchors::from_der_certs(vec![chain.trust_anchor.clone()]).unwrap();
        let leaf = x509::validate_x5c(&chain.x5c(), &anchors, now).unwrap();
        assert_eq!(&leaf.public_key, key.public_key());
        assert_eq!(leaf.uris, vec![iss.to_owned()]);
        vdc_core::sd_jwt_vc::x5c_names_issuer(&leaf, iss).unwrap();
        // The leaf is not self-signed: it does not validate as its own anchor.
        let itself = TrustAnchors::from_der_certs(vec![chain.leaf.clone()]).unwrap();
        assert!(x509::validate_x5c(&chain.x5c(), &itself, now).is_err());
        // Valid for a year, not beyond.
        assert!(
            x509::validate_x5c(&chain.x5c(), &anchors, now.plus(LEAF_VALIDITY_SECS - 1)).is_ok()
        );
        assert!(
            x509::validate_x5c(&chain.x5c(), &anchors, now.plus(LEAF_VALIDITY_SECS + 1)).is_err()
        );
    }
}
