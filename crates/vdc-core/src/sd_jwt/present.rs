//! The holder's side: choosing Disclosures and binding the presentation to a verifier
//! (RFC 9901 §4.3, §7.2).

use serde_json::Map;

use super::disclosure::Disclosure;
use super::verify::unpack_payload;
use super::{KB_JWT_TYP, SdJwt, sha256_b64};
use crate::claims_path::ClaimPath;
use crate::error::{Error, Result};
use crate::jose::{Signer, jws};
use crate::time::UnixTime;

/// What the holder needs to create a Key Binding JWT (RFC 9901 §4.3).
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingInput<'a> {
    /// The holder's key: the one in the credential's `cnf`.
    pub signer: &'a dyn Signer,
    /// The verifier (OID4VP: its full client identifier).
    pub aud: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Creation time.
    pub iat: UnixTime,
}

/// Chooses the Disclosures that reveal `paths` of an issued SD-JWT: the disclosures at or
/// below each requested path, plus every parent disclosure they need (RFC 9901 §7.2 step 2:
/// each selected disclosure's digest must be in the issuer JWT or in another selected one).
/// Returned in the order they appear in the SD-JWT.
pub fn select_disclosures(sd_jwt: &SdJwt, paths: &[ClaimPath]) -> Result<Vec<String>> {
    let issuer = sd_jwt.issuer_jws()?;
    let disclosures = sd_jwt
        .disclosures()
        .iter()
        .map(|d| Disclosure::parse(d))
        .collect::<Result<Vec<_>>>()?;
    let (_, disclosed) = unpack_payload(issuer.payload, &disclosures)?;
    let mut keep = vec![false; disclosures.len()];
    for claim in &disclosed {
        if paths.iter().any(|p| p.relation_to(&claim.path).is_some()) {
            keep[claim.disclosure_index] = true;
        }
    }
    Ok(sd_jwt
        .disclosures()
        .iter()
        .zip(keep)
        .filter(|&(_, k)| k)
        .map(|(d, _)| d.clone())
        .collect())
}

/// Builds the presentation: the issuer JWT, the chosen Disclosures and, when `key_binding`
/// is given, a KB-JWT whose `sd_hash` covers exactly them (RFC 9901 §4.3.1).
pub async fn present(
    issued: &SdJwt,
    disclosures: Vec<String>,
    key_binding: Option<KeyBindingInput<'_>>,
) -> Result<String> {
    if issued.kb_jwt().is_some() {
        // Spec: RFC 9901 §7.2: the holder MUST reject an SD-JWT+KB from an issuer.
        return Err(Error::SdJwt(
            "the issued SD-JWT already carries a KB-JWT".into(),
        ));
    }
    let without_kb = SdJwt::from_parts(issued.issuer_jwt().to_owned(), disclosures, None);
    let Some(kb) = key_binding else {
        return Ok(without_kb.serialize());
    };
    let mut header = Map::new();
    header.insert("typ".into(), KB_JWT_TYP.into());
    let mut claims = Map::new();
    claims.insert("iat".into(), kb.iat.secs().into());
    claims.insert("aud".into(), kb.aud.into());
    claims.insert("nonce".into(), kb.nonce.into());
    let prefix = without_kb.serialize();
    claims.insert("sd_hash".into(), sha256_b64(&prefix).into());
    // No kid: the verifier takes the key from the credential's cnf (RFC 9901 §7.3 5.1).
    let token = jws::sign_with_options(header, &claims, kb.signer, false).await?;
    Ok(prefix + &token)
}
