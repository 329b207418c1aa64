//! `jwt_vc_json` presentations (OID4VP 1.0 Appendix B.1, "W3C Verifiable Credentials"): a
//! `vp+jwt` (VC-JOSE-COSE §3.1.2) signed by the holder, carrying one `vc+jwt` as an
//! `EnvelopedVerifiableCredential`.
//!
//! Spec: OID4VP 1.0 Appendix B.1.3.1 (VC signed as a JWT, not using JSON-LD),
//! "Presentation Response": "the `nonce` claim MUST be the value of `nonce` from the
//! Authorization Request; the `aud` claim MUST be the value of the Client Identifier".
//!
//! Data model: OID4VP 1.0 references VCDM 1.1 (`[VC_DATA]`) and its example uses the 1.1
//! JWT encoding (a `vp` claim holding VC JWT strings). We accept the VCDM 2.0 encoding
//! only (no `vp`/`vc` claims, VC-JOSE-COSE), which is what our issuer issues and
//! `vdc_core::vc_jose` verifies; a VCDM 1.1 `vp` JWT is refused as `signature`.
//!
//! Holder binding: Appendix B.1 says a Verifiable Credential without Holder Binding is
//! returned when `require_cryptographic_holder_binding` is false; we always require the
//! VP (a bare VC is refused), since every credential our issuer makes is bound.
//!
//! Order of checks: the enveloped credential is verified first with its issuer's key (the
//! verifier's issuer-key policy, as for SD-JWT VC), so the holder key is taken only from a
//! credential whose issuer signature holds; then the VP with that holder key (`cnf.jwk` or
//! the did:jwk/did:key `credentialSubject.id`), `aud`, `nonce`, fresh `iat`; then DCQL
//! (`meta.type_values` per Appendix B.1.1, claims relative to the credential) and
//! `credentialStatus`.

use serde_json::{Map, Value};
use vdc_core::claims_path::{ClaimPath, PathElement};
use vdc_core::did::Relationship;
use vdc_core::jose::jws;
use vdc_core::jose::{Jwk, PublicKey};
use vdc_core::time::DEFAULT_SKEW_SECS;
use vdc_core::vc_jose::{self, presentation::VC_JWT_DATA_URL_PREFIX};

use crate::dcql::{CredentialQuery, select};
use crate::error::RejectReason;
use crate::presentation::{Checked, PresentationCheck, PresentedCredential, insert_path};
use vdc_status::CredentialState;

fn sig(m: impl Into<String>) -> (RejectReason, String) {
    (RejectReason::Signature, m.into())
}

/// Checks one `jwt_vc_json` presentation that may carry several credentials (a query with
/// `multiple: true`): a result entry for each.
// SKELETON (integrator): the VCDM 1.1 work fills this in.
pub(crate) async fn check_jwt_vc_json_all(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<Vec<PresentedCredential>> {
    Ok(vec![check_jwt_vc_json(check, query, text).await?])
}

/// Checks one `jwt_vc_json` presentation; the contract's result entry (`issuer`, `type`,
/// `claims` = exactly the requested claims, `status`) or the failed check.
pub(crate) async fn check_jwt_vc_json(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<PresentedCredential> {
    let vp = jws::decode(text).map_err(|e| sig(format!("vp_token entry: {e}")))?;
    let vc_jwt = single_enveloped_vc(&vp.payload)?;
    let decoded = jws::decode(&vc_jwt).map_err(|e| sig(format!("credential: {e}")))?;
    let issuer = vc_jose::issuer_id(&decoded.payload)
        .ok_or_else(|| sig("the credential names no issuer"))?
        .to_owned();
    // The issuer-key policy reads `iss`; a VCDM 2.0 credential names its issuer in `issuer`.
    let mut with_iss = decoded.payload.clone();
    with_iss.insert("iss".into(), issuer.clone().into());
    let issuer_key = check
        .resolver
        .resolve(&decoded.header, &with_iss)
        .await
        .map_err(|e| (RejectReason::UntrustedIssuer, e.to_string()))?;
    if issuer_key.issuer != issuer {
        return Err((
            RejectReason::UntrustedIssuer,
            "the key resolved belongs to another issuer".into(),
        ));
    }
    let vc = vc_jose::verify_vc_jwt(
        &vc_jwt,
        &issuer_key.key,
        &check.settings.policy,
        check.now,
        DEFAULT_SKEW_SECS,
    )
    .map_err(|e| match e {
        vdc_core::Error::Time(m) => (RejectReason::Expired, m),
        other => sig(other.to_string()),
    })?;
    let credential = vc.credential;
    // Holder binding: the VP must be signed by the key the issuer bound the credential to.
    let holder_key = holder_key(&credential).map_err(|m| (RejectReason::KeyBinding, m))?;
    let verified = vc_jose::verify_vp_jwt(
        text,
        &holder_key,
        &check.settings.policy,
        check.client_id,
        check.nonce,
        check.now,
        check.settings.kb_max_age_secs,
    )
    .map_err(|e| classify_vp(&e, &vp.payload, check))?;
    if verified.vc_jwts.first().map(String::as_str) != Some(vc_jwt.as_str()) {
        return Err(sig("the presentation's credential changed"));
    }
    let types = types_of(&credential);
    if let Some(wanted) = &query.type_values {
        // Spec: OID4VP 1.0 Appendix B.1.1 (`type_values`): the credential's types must
        // include every type of at least one of the inner arrays.
        let ok = wanted
            .iter()
            .any(|set| set.iter().all(|t| types.iter().any(|have| have == t)));
        if !ok {
            return Err((
                RejectReason::DcqlUnsatisfied,
                "the credential type is not requested".into(),
            ));
        }
    }
    let paths = query
        .match_claims(&credential)
        .map_err(|m| (RejectReason::DcqlUnsatisfied, m))?;
    let state = status_of(check, &credential, &issuer).await?;
    Ok(PresentedCredential {
        claims: requested_claims(&credential, &paths),
        issuer,
        vct: None,
        types: Some(types),
        doctype: None,
        status: state.as_str().to_owned(),
    })
}

/// The one `vc+jwt` the presentation envelopes (unverified yet). OID4VP 1.0 §8.1 has one
/// presentation per credential; a VP with several credentials is refused.
fn single_enveloped_vc(vp: &Map<String, Value>) -> Checked<String> {
    let entries = match vp.get("verifiableCredential") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => return Err(sig("the presentation carries no verifiableCredential")),
    };
    let [entry] = entries else {
        return Err(sig("a presentation must carry exactly one credential"));
    };
    let id = entry
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| sig("the enveloped credential has no id"))?;
    let n = VC_JWT_DATA_URL_PREFIX.len();
    match (id.get(..n), id.get(n..)) {
        (Some(p), Some(jwt)) if p.eq_ignore_ascii_case(VC_JWT_DATA_URL_PREFIX) => {
            Ok(jwt.to_owned())
        }
        _ => Err(sig("the enveloped credential is not a vc+jwt data: URL")),
    }
}

/// The holder key: `cnf.jwk` (RFC 7800 §3.2) if present, else the did:jwk (or did:key)
/// `credentialSubject.id` our issuer binds `jwt_vc_json` credentials to.
fn holder_key(credential: &Map<String, Value>) -> std::result::Result<PublicKey, String> {
    if let Some(jwk) = credential.get("cnf").and_then(|c| c.get("jwk")) {
        return Jwk::from_value(jwk)
            .map(|j| j.key)
            .map_err(|e| e.to_string());
    }
    let did = credential
        .get("credentialSubject")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_str)
        .ok_or("the credential is not bound to a holder key")?;
    let did = vdc_core::did::did_from_url(did);
    let doc = if did.starts_with("did:jwk:") {
        vdc_core::did::jwk::resolve(did)
    } else if did.starts_with("did:key:") {
        vdc_core::did::key::resolve(did)
    } else {
        return Err("the credential subject is not a did:jwk or did:key".into());
    }
    .map_err(|e| e.to_string())?;
    doc.sole_key_for(Relationship::Authentication)
        .cloned()
        .map_err(|e| e.to_string())
}

/// Maps a VP verification error to its check, telling `nonce` and `aud` apart by reading
/// the (already refused) presentation.
fn classify_vp(
    e: &vdc_core::Error,
    vp: &Map<String, Value>,
    check: &PresentationCheck<'_>,
) -> (RejectReason, String) {
    use vdc_core::Error as E;
    let reason = match e {
        E::Claim(_) if vp.get("nonce").and_then(Value::as_str) != Some(check.nonce) => {
            RejectReason::Nonce
        }
        E::Claim(_) if !aud_is(vp, check.client_id) => RejectReason::Audience,
        E::Malformed(_) | E::VcDataModel(_) | E::UnexpectedType { .. } => RejectReason::Signature,
        _ => RejectReason::KeyBinding,
    };
    (reason, e.to_string())
}

fn aud_is(vp: &Map<String, Value>, client_id: &str) -> bool {
    match vp.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
        _ => false,
    }
}

fn types_of(credential: &Map<String, Value>) -> Vec<String> {
    match credential.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Spec: W3C Bitstring Status List v1.0 §3.2: every `BitstringStatusListEntry` is checked;
/// a set `revocation` bit means revoked, a set `suspension` bit suspended.
async fn status_of(
    check: &PresentationCheck<'_>,
    credential: &Map<String, Value>,
    issuer: &str,
) -> Checked<CredentialState> {
    let entries = match credential.get("credentialStatus") {
        None if check.require_status => {
            return Err((
                RejectReason::Status,
                "the credential has no status and this verifier requires one".into(),
            ));
        }
        None => return Ok(CredentialState::Valid),
        Some(Value::Array(a)) => a.clone(),
        Some(v) => vec![v.clone()],
    };
    let mut state = CredentialState::Valid;
    for entry in &entries {
        let s = check
            .status
            .check_bitstring(entry, issuer)
            .await
            .map_err(|e| (RejectReason::Status, e.to_string()))?;
        if s == CredentialState::Revoked || state == CredentialState::Valid {
            state = s;
        }
    }
    if state != CredentialState::Valid {
        return Err((
            RejectReason::Status,
            format!("the credential is {}", state.as_str()),
        ));
    }
    Ok(state)
}

/// The requested claims only, nested by their paths. W3C credentials are not selectively
/// disclosable, so this is what the relying party asked for, not everything it received.
/// A path through an array brings the array.
fn requested_claims(credential: &Map<String, Value>, paths: &[ClaimPath]) -> Value {
    let root = Value::Object(credential.clone());
    let mut out = Map::new();
    for path in paths {
        let names: Vec<&str> = path
            .elements()
            .iter()
            .map_while(|e| match e {
                PathElement::Name(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            continue;
        }
        let Ok(prefix) = ClaimPath::names(&names) else {
            continue;
        };
        if let Some(v) = select(&root, &prefix).first() {
            insert_path(&mut out, &names, (*v).clone());
        }
    }
    Value::Object(out)
}
