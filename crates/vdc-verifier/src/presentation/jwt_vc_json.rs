//! `jwt_vc_json` presentations (OID4VP 1.0 Appendix B.1, "W3C Verifiable Credentials"): a
//! presentation JWT signed by the holder, carrying one credential or, for a query with
//! `multiple: true`, several.
//!
//! Spec: OID4VP 1.0 Appendix B.1.3.1 (VC signed as a JWT, not using JSON-LD),
//! "Presentation Response": "the `nonce` claim MUST be the value of `nonce` from the
//! Authorization Request; the `aud` claim MUST be the value of the Client Identifier".
//!
//! Data model: both encodings are accepted. OID4VP 1.0 references VCDM 1.1 (`[VC_DATA]`)
//! and its example uses the 1.1 JWT encoding (a `vp` claim holding VC JWT strings whose
//! credential sits in a `vc` claim, [`vcdm11`]); VC-JOSE-COSE secures VCDM 2.0 (`vp+jwt`
//! enveloping `vc+jwt`, no `vp`/`vc` claims). The presentation's shape says which; its
//! credentials must use the same one.
//!
//! Holder binding: Appendix B.1 says a Verifiable Credential without Holder Binding is
//! returned when `require_cryptographic_holder_binding` is false; we always require the
//! VP (a bare VC is refused), since every credential our issuer makes is bound.
//!
//! Order of checks: every credential is verified first with its issuer's key (the
//! verifier's issuer-key policy, as for SD-JWT VC), so the holder key is taken only from a
//! credential whose issuer signature holds; then the VP with that holder key (`cnf.jwk` or
//! the did:jwk/did:key `credentialSubject.id`, VCDM 1.1 `sub`), `aud`, `nonce`, fresh
//! `iat`; then DCQL (`meta.type_values` per Appendix B.1.1, claims relative to the
//! credential, for VCDM 1.1 the decoded one) and `credentialStatus`, per credential.

use serde_json::{Map, Value};
use vdc_core::claims_path::{ClaimPath, PathElement};
use vdc_core::did::Relationship;
use vdc_core::jose::jws;
use vdc_core::jose::{Jwk, PublicKey};
use vdc_core::time::DEFAULT_SKEW_SECS;
use vdc_core::vc_jose::{self, presentation, vcdm11};

use crate::dcql::{CredentialQuery, select};
use crate::error::RejectReason;
use crate::presentation::{Checked, PresentationCheck, PresentedCredential, insert_path};
use vdc_status::CredentialState;

fn sig(m: impl Into<String>) -> (RejectReason, String) {
    (RejectReason::Signature, m.into())
}

/// Checks one `jwt_vc_json` presentation that may carry several credentials (a query with
/// `multiple: true`, OID4VP 1.0 §6.1): a result entry for each, in order.
///
/// The encoding is read from the presentation: a `vp` claim is VCDM 1.1 (VCDM 1.1
/// §6.3.1, holding VC JWTs with a `vc` claim), otherwise VCDM 2.0 (`vp+jwt` enveloping
/// `vc+jwt`). One presentation uses one encoding throughout. Every credential is verified
/// with its issuer's key first; all must be bound to the same holder key, and the
/// presentation must be signed with it (else `key_binding`: a VP of credentials of
/// another holder).
pub(crate) async fn check_jwt_vc_json_all(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<Vec<PresentedCredential>> {
    let vp = jws::decode(text).map_err(|e| sig(format!("vp_token entry: {e}")))?;
    let v11 = vcdm11::is_vcdm11(&vp.payload);
    let vc_jwts = if v11 {
        vcdm11::vp_credentials(&vp.payload).map_err(|e| sig(e.to_string()))?
    } else {
        enveloped_vcs(&vp.payload)?
    };
    // One credential standing for two (`multiple`, credential sets) is refused, as the same
    // presentation twice in one answer is.
    if vc_jwts
        .iter()
        .enumerate()
        .any(|(i, vc)| vc_jwts[..i].contains(vc))
    {
        return Err((
            RejectReason::DcqlUnsatisfied,
            "the same credential appears twice in the presentation".into(),
        ));
    }
    if vc_jwts.len() > 1 && !query.multiple {
        return Err((
            RejectReason::DcqlUnsatisfied,
            format!("credential query {} allows one credential", query.id),
        ));
    }
    let mut credentials = Vec::with_capacity(vc_jwts.len());
    let mut holder: Option<PublicKey> = None;
    for vc_jwt in &vc_jwts {
        let (issuer, jwt_claims, credential) = verified_credential(check, vc_jwt, v11).await?;
        // Holder binding: the VP must be signed by the key the issuer bound the credential
        // to, and one VP speaks for one holder.
        let key =
            holder_key(&jwt_claims, &credential).map_err(|m| (RejectReason::KeyBinding, m))?;
        match &holder {
            Some(k) if *k != key => {
                return Err((
                    RejectReason::KeyBinding,
                    "the presentation's credentials are bound to different holders".into(),
                ));
            }
            _ => holder = Some(key),
        }
        credentials.push((issuer, credential));
    }
    let holder_key = holder.ok_or_else(|| sig("the presentation carries no credential"))?;
    let verified = if v11 {
        vcdm11::verify_vp_jwt_v11(
            text,
            &holder_key,
            &check.settings.policy,
            check.client_id,
            check.nonce,
            check.now,
            check.settings.kb_max_age_secs,
        )
    } else {
        vc_jose::verify_vp_jwt(
            text,
            &holder_key,
            &check.settings.policy,
            check.client_id,
            check.nonce,
            check.now,
            check.settings.kb_max_age_secs,
        )
    }
    .map_err(|e| classify_vp(&e, &vp.payload, check))?;
    if verified.vc_jwts != vc_jwts {
        return Err(sig("the presentation's credentials changed"));
    }
    if v11 {
        check_holder_named(verified.holder.as_deref(), &credentials)?;
    }
    let mut out = Vec::with_capacity(credentials.len());
    for (issuer, credential) in credentials {
        out.push(result_entry(check, query, issuer, &credential).await?);
    }
    Ok(out)
}

/// Checks one `jwt_vc_json` presentation of exactly one credential; the contract's result
/// entry (`issuer`, `type`, `claims` = exactly the requested claims, `status`) or the
/// failed check.
pub(crate) async fn check_jwt_vc_json(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<PresentedCredential> {
    let mut all = check_jwt_vc_json_all(check, query, text).await?;
    match (all.pop(), all.is_empty()) {
        (Some(one), true) => Ok(one),
        _ => Err((
            RejectReason::DcqlUnsatisfied,
            "a presentation must carry exactly one credential".into(),
        )),
    }
}

/// Verifies one credential of a presentation with its issuer's key (the verifier's
/// issuer-key policy, as for SD-JWT VC): its issuer, its JWT claims (for `cnf`) and the
/// credential (for VCDM 1.1 decoded from the `vc` claim, VCDM 1.1 §6.3.1.2).
async fn verified_credential(
    check: &PresentationCheck<'_>,
    vc_jwt: &str,
    v11: bool,
) -> Checked<(String, Map<String, Value>, Map<String, Value>)> {
    let decoded = jws::decode(vc_jwt).map_err(|e| sig(format!("credential: {e}")))?;
    if v11 != vcdm11::is_vcdm11(&decoded.payload) {
        return Err(sig(
            "a presentation and its credentials use one VCDM encoding",
        ));
    }
    // The unverified issuer only picks the key; the verified credential must name it too.
    let issuer = if v11 {
        decoded
            .claim_str("iss")
            .or_else(|| {
                decoded
                    .payload
                    .get("vc")
                    .and_then(Value::as_object)
                    .and_then(vc_jose::issuer_id)
            })
            .map(str::to_owned)
    } else {
        vc_jose::issuer_id(&decoded.payload).map(str::to_owned)
    }
    .ok_or_else(|| sig("the credential names no issuer"))?;
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
    let policy = &check.settings.policy;
    let verified = if v11 {
        vcdm11::verify_vc_jwt_v11(
            vc_jwt,
            &issuer_key.key,
            policy,
            check.now,
            DEFAULT_SKEW_SECS,
        )
    } else {
        vc_jose::verify_vc_jwt(
            vc_jwt,
            &issuer_key.key,
            policy,
            check.now,
            DEFAULT_SKEW_SECS,
        )
    }
    .map_err(|e| match e {
        vdc_core::Error::Time(m) => (RejectReason::Expired, m),
        other => sig(other.to_string()),
    })?;
    if vc_jose::issuer_id(&verified.credential) != Some(issuer.as_str()) {
        return Err(sig("the credential's issuer changed"));
    }
    Ok((issuer, decoded.payload, verified.credential))
}

/// Spec: VCDM 1.1 §6.3.1.1: the VP JWT's `iss` (or `vp.holder`) is the holder. When the
/// presentation names one, it must be the subject the credentials were issued to (a
/// did:jwk/did:key `credentialSubject.id`); a credential bound by `cnf` only names no
/// subject to compare with.
fn check_holder_named(
    holder: Option<&str>,
    credentials: &[(String, Map<String, Value>)],
) -> Checked<()> {
    let Some(holder) = holder else {
        return Ok(());
    };
    for (_, credential) in credentials {
        let subject = credential
            .get("credentialSubject")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str);
        if let Some(subject) = subject
            && vdc_core::did::did_from_url(subject) != vdc_core::did::did_from_url(holder)
        {
            return Err((
                RejectReason::KeyBinding,
                "the presentation's holder is not the credential's subject".into(),
            ));
        }
    }
    Ok(())
}

/// The DCQL checks, the status and the result entry of one verified credential.
async fn result_entry(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    issuer: String,
    credential: &Map<String, Value>,
) -> Checked<PresentedCredential> {
    let types = types_of(credential);
    // Spec: OID4VP 1.0 Appendix B.1.1 (`type_values`).
    if !query.types_match(&types) {
        return Err((
            RejectReason::DcqlUnsatisfied,
            "the credential type is not requested".into(),
        ));
    }
    let paths = query
        .match_claims(credential)
        .map_err(|m| (RejectReason::DcqlUnsatisfied, m))?;
    let state = status_of(check, credential, &issuer).await?;
    Ok(PresentedCredential {
        claims: requested_claims(credential, &paths),
        issuer,
        vct: None,
        types: Some(types),
        doctype: None,
        status: state.as_str().to_owned(),
    })
}

/// The `vc+jwt` credentials a VCDM 2.0 presentation envelopes (unverified yet), at most
/// [`vcdm11::MAX_CREDENTIALS_PER_VP`].
fn enveloped_vcs(vp: &Map<String, Value>) -> Checked<Vec<String>> {
    let entries = match vp.get("verifiableCredential") {
        Some(Value::Array(a)) if !a.is_empty() => a.as_slice(),
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => return Err(sig("the presentation carries no verifiableCredential")),
    };
    if entries.len() > vcdm11::MAX_CREDENTIALS_PER_VP {
        return Err(sig(format!(
            "a presentation carries at most {} credentials",
            vcdm11::MAX_CREDENTIALS_PER_VP
        )));
    }
    entries
        .iter()
        .map(|entry| {
            presentation::enveloped_vc_jwt(entry)
                .map(str::to_owned)
                .map_err(|e| sig(e.to_string()))
        })
        .collect()
}

/// The holder key: `cnf.jwk` (RFC 7800 §3.2) among the JWT claims if present, else the
/// did:jwk (or did:key) `credentialSubject.id` (VCDM 1.1: the `sub` claim) our issuer binds
/// `jwt_vc_json` credentials to.
fn holder_key(
    jwt_claims: &Map<String, Value>,
    credential: &Map<String, Value>,
) -> std::result::Result<PublicKey, String> {
    if let Some(jwk) = jwt_claims.get("cnf").and_then(|c| c.get("jwk")) {
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
