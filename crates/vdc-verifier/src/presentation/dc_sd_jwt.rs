//! `dc+sd-jwt` presentations (OID4VP 1.0 Appendix B, "IETF SD-JWT VC"): the issuer signature,
//! every RFC 9901 §7 rule, the KB-JWT, `vct` and the requested claims, and the status
//! (draft-ietf-oauth-status-list §8.3).

use serde_json::{Map, Value};
use vdc_core::claims_path::PathElement;
use vdc_core::jose::jws::{self, TimeRules};
use vdc_core::sd_jwt::{KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::sd_jwt_vc;

use crate::dcql::CredentialQuery;
use crate::error::RejectReason;
use crate::presentation::{Checked, PresentationCheck, PresentedCredential, insert_path};
use crate::service::bounded;
use vdc_status::CredentialState;

/// Checks one `dc+sd-jwt` presentation answering credential query `query.id`, with the
/// request's transaction data (OID4VP 1.0 Appendix B.3.3): the result entry and the indices
/// of the `transaction_data` entries its KB-JWT authorizes.
pub(crate) async fn check_dc_sd_jwt_authorizing(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<(PresentedCredential, Vec<usize>)> {
    let v = verified(check, query, text).await?;
    // The KB-JWT claims were verified (signature, nonce, aud, sd_hash) only when the query
    // requires holder binding; transaction data only ever lists such queries
    // (`transaction_data::parse_request`), so an unverified KB-JWT authorizes nothing.
    let no_claims = Map::new();
    let kb_claims = v.sd_jwt.key_binding.as_ref().unwrap_or(&no_claims);
    let bound =
        crate::transaction_data::check_key_binding(check.transaction_data, &query.id, kb_claims)?;
    Ok((result_entry(check, v).await?, bound))
}

/// Checks one `dc+sd-jwt` presentation; the contract's result entry (`issuer`, `vct`,
/// `claims` = exactly the disclosed claims, `status`) or the failed check.
pub(crate) async fn check_dc_sd_jwt(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<PresentedCredential> {
    let v = verified(check, query, text).await?;
    result_entry(check, v).await
}

/// The presentation verified against `query`: issuer signature, RFC 9901 rules, key
/// binding as the query requires, `vct`, the requested claims and `trusted_authorities`.
async fn verified(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<sd_jwt_vc::VerifiedSdJwtVc> {
    // G3: key binding is required by the query (always, unless the verifier asked
    // otherwise), never decided by what the holder sent.
    let key_binding = if query.holder_binding_required() {
        KeyBindingRequirement::Required {
            aud: check.client_id,
            nonce: check.nonce,
            max_age_secs: check.settings.kb_max_age_secs,
        }
    } else {
        KeyBindingRequirement::NotRequired
    };
    let opts = VerifyOptions {
        policy: &check.settings.policy,
        now: check.now,
        time_rules: TimeRules::default(),
        key_binding,
    };
    let v = sd_jwt_vc::verify(text, check.resolver, &opts)
        .await
        .map_err(|e| classify(&e, text, check.nonce, check.client_id))?;
    if !query.vct_matches(&v.vct) {
        return Err((
            RejectReason::DcqlUnsatisfied,
            format!("vct {} is not requested", bounded(&v.vct)),
        ));
    }
    query
        .match_claims(&v.sd_jwt.claims)
        .map_err(|m| (RejectReason::DcqlUnsatisfied, m))?;
    if query.trusted_authorities.is_some() {
        trusted_authorities(check, query, text, &v).await?;
    }
    Ok(v)
}

/// The status check and the contract's result entry of a verified presentation.
async fn result_entry(
    check: &PresentationCheck<'_>,
    v: sd_jwt_vc::VerifiedSdJwtVc,
) -> Checked<PresentedCredential> {
    let state = match v.status() {
        Some(status) => {
            let s = check
                .status
                .check(status, &v.issuer)
                .await
                .map_err(|e| (RejectReason::Status, e.to_string()))?;
            if s != CredentialState::Valid {
                return Err((
                    RejectReason::Status,
                    format!("the credential is {}", s.as_str()),
                ));
            }
            s
        }
        None if check.require_status => {
            return Err((
                RejectReason::Status,
                "the credential has no status and this verifier requires one".into(),
            ));
        }
        None => CredentialState::Valid,
    };
    Ok(PresentedCredential {
        claims: disclosed_claims(&v.sd_jwt.claims, &v.sd_jwt.disclosed),
        issuer: v.issuer,
        vct: Some(v.vct),
        types: None,
        doctype: None,
        status: state.as_str().to_owned(),
    })
}

/// Spec: OID4VP 1.0 §6.1.1.1 (HAIP 1.0 §5: MUST be supported): an `aki` value "MUST match
/// with the AuthorityKeyIdentifier element of an X.509 certificate in the certificate chain
/// present in the Credential". Only a chain this verifier checked counts (G5): one validated
/// to its anchors, or a local issuer's configured chain ([`crate::trust::IssuerChains`]).
async fn trusted_authorities(
    check: &PresentationCheck<'_>,
    query: &CredentialQuery,
    text: &str,
    v: &sd_jwt_vc::VerifiedSdJwtVc,
) -> Checked<()> {
    let unsatisfied = |m: &str| {
        (
            RejectReason::DcqlUnsatisfied,
            format!("trusted_authorities: {m}"),
        )
    };
    let header = SdJwt::parse(text)
        .and_then(|s| s.issuer_jws().map(|j| j.header.clone()))
        .map_err(|e| (RejectReason::Signature, e.to_string()))?;
    let chain = match check.issuer_chains {
        Some(chains) => chains.vouched_chain(&header, &v.issuer, v.mechanism).await,
        None => None,
    }
    .ok_or_else(|| {
        unsatisfied("the issuer key is not certified by an x5c chain this verifier checked")
    })?;
    let akis: Vec<Vec<u8>> = chain
        .iter()
        .filter_map(|c| vdc_core::x509::authority_key_identifier(c).ok().flatten())
        .collect();
    if query.trusted_authorities_match(&akis) {
        Ok(())
    } else {
        Err(unsatisfied(
            "no certificate of the x5c chain has a requested Authority Key Identifier",
        ))
    }
}

/// Maps a verification error to its check. Key binding errors are told apart by reading
/// the (already refused) KB-JWT's `nonce` and `aud`.
fn classify(e: &vdc_core::Error, text: &str, nonce: &str, aud: &str) -> (RejectReason, String) {
    use vdc_core::Error as E;
    let reason = match e {
        E::UntrustedKey(_) | E::DidResolution(_) | E::Fetch(_) | E::Certificate(_) => {
            RejectReason::UntrustedIssuer
        }
        E::Time(_) => RejectReason::Expired,
        E::KeyBinding(_) => {
            let kb = SdJwt::parse(text)
                .ok()
                .and_then(|s| s.kb_jwt().map(str::to_owned))
                .and_then(|kb| jws::decode(&kb).ok().map(|j| j.payload.clone()));
            match kb {
                Some(p) if p.get("nonce").and_then(Value::as_str) != Some(nonce) => {
                    RejectReason::Nonce
                }
                Some(p) if p.get("aud").and_then(Value::as_str) != Some(aud) => {
                    RejectReason::Audience
                }
                _ => RejectReason::KeyBinding,
            }
        }
        _ => RejectReason::Signature,
    };
    (reason, e.to_string())
}

/// The disclosed claims only, nested by their paths (contract: "claims holds exactly the
/// disclosed claims (with their paths as nested objects)"). A claim disclosed inside an
/// array brings the array (as processed: undisclosed elements are gone).
fn disclosed_claims(
    claims: &Map<String, Value>,
    disclosed: &[vdc_core::sd_jwt::DisclosedClaim],
) -> Value {
    let mut out = Map::new();
    for d in disclosed {
        let mut names = Vec::new();
        for e in &d.path {
            match e {
                PathElement::Name(n) => names.push(n.as_str()),
                _ => break,
            }
        }
        let root = Value::Object(claims.clone());
        let mut src = &root;
        let mut found = true;
        for n in &names {
            match src.get(*n) {
                Some(v) => src = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found && !names.is_empty() {
            insert_path(&mut out, &names, src.clone());
        }
    }
    Value::Object(out)
}
