//! `mso_mdoc` presentations (OID4VP 1.0 Appendix B.2): the `vp_token` entry is a base64url
//! `DeviceResponse` (B.2.5) with one `Document` of the requested docType (B.2.3), whose
//! issuerAuth chains to one of the verifier's IACA roots, whose disclosed elements match the
//! MSO, and whose device signature covers this request's `SessionTranscript` with the
//! `OpenID4VPHandover` (B.2.6.1); then the DCQL claims (B.2.4, §7.2) and the status.

use serde_json::{Map, Value};
use vdc_core::mdoc::cbor::{self, Tagged24};
use vdc_core::mdoc::device::device_authentication_bytes;
use vdc_core::mdoc::{
    DeviceResponse, Document, Handover, MobileSecurityObject, SessionTranscript, VerifiedMdoc,
    VerifyMdoc, verify_document,
};

use crate::dcql::CredentialQuery;
use crate::error::RejectReason;
use crate::presentation::{Checked, PresentationCheck, PresentedCredential};
use crate::service::bounded;
use vdc_status::CredentialState;

/// Longest DeviceResponse accepted, decoded (the CBOR decoder's own bound).
const MAX_DEVICE_RESPONSE_LEN: usize = cbor::MAX_CBOR_BYTES;

/// What an mdoc presentation is checked against besides [`PresentationCheck`]: the rest of
/// the session transcript and the IACA roots.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MdocCheck<'a> {
    /// The request's `response_uri` (B.2.6.1: the fourth `OpenID4VPHandoverInfo` element).
    pub(crate) response_uri: &'a str,
    /// The RFC 7638 SHA-256 thumbprint (raw) of the key the response was encrypted to, for
    /// `direct_post.jwt`; `None` for a plain response (B.2.6.1: then `null`).
    pub(crate) jwk_thumbprint: Option<[u8; 32]>,
    /// The verifier's `trusted_iaca`, DER.
    pub(crate) trusted_iaca: &'a [Vec<u8>],
    /// This deployment's public URL: a status list of one of its issuers is that issuer's.
    pub(crate) public_url: &'a str,
    /// The page's origin when the answer came through the Digital Credentials API (the
    /// B.2.6.2 handover), else `None` (B.2.6.1).
    pub(crate) dc_api_origin: Option<&'a str>,
}

/// Checks one `mso_mdoc` presentation; the result entry (`issuer` = the Document Signer
/// certificate's issuer DN, `doctype`, `claims` = exactly the disclosed elements by
/// namespace, `status`) or the failed check.
pub(crate) async fn check_mso_mdoc(
    check: &PresentationCheck<'_>,
    mdoc: &MdocCheck<'_>,
    query: &CredentialQuery,
    text: &str,
) -> Checked<PresentedCredential> {
    let malformed = |m: String| (RejectReason::Signature, m);
    // Four base64url characters per three bytes: refused before decoding.
    if text.len() > MAX_DEVICE_RESPONSE_LEN.div_ceil(3) * 4 {
        return Err(malformed("the DeviceResponse is too large".into()));
    }
    let bytes = vdc_core::base64url::decode(text)
        .map_err(|_| malformed("an mso_mdoc presentation is a base64url DeviceResponse".into()))?;
    let response =
        DeviceResponse::from_cbor(&bytes).map_err(|e| malformed(format!("DeviceResponse: {e}")))?;
    // Spec: ISO 18013-5 §8.3.2.1.2.3: status 0 is "OK"; anything else reports an error.
    if response.status != 0 {
        return Err(malformed(format!(
            "the DeviceResponse has status {}",
            response.status
        )));
    }
    let [document] = response.documents.as_slice() else {
        return Err((
            RejectReason::DcqlUnsatisfied,
            format!(
                "the DeviceResponse must hold exactly one document, not {}",
                response.documents.len()
            ),
        ));
    };
    // Spec: OID4VP 1.0 Appendix B.2.3: `doctype_value` is the doctype requested.
    let doctype = query.doctype_value.as_deref().unwrap_or_default();
    if !query.doctype_matches(&document.doc_type) {
        return Err((
            RejectReason::DcqlUnsatisfied,
            format!(
                "docType {} is not the requested {}",
                bounded(&document.doc_type),
                bounded(doctype)
            ),
        ));
    }
    let transcript = SessionTranscript(match mdoc.dc_api_origin {
        // Spec: OID4VP 1.0 Appendix B.2.6.1: client_id (with its prefix), nonce, the JWK
        // thumbprint of the response-encryption key or null, and response_uri.
        None => Handover::Redirect {
            client_id: check.client_id.to_owned(),
            nonce: check.nonce.to_owned(),
            jwk_thumbprint: mdoc.jwk_thumbprint,
            response_uri: mdoc.response_uri.to_owned(),
        },
        // Spec: OID4VP 1.0 Appendix B.2.6.2: over the DC API, the origin, nonce and the
        // thumbprint or null.
        Some(origin) => Handover::DcApi {
            origin: origin.to_owned(),
            nonce: check.nonce.to_owned(),
            jwk_thumbprint: mdoc.jwk_thumbprint,
        },
    });
    let opts = VerifyMdoc {
        trust_anchors: mdoc.trusted_iaca,
        transcript: &transcript,
        now: check.now,
        skew_secs: vdc_core::time::DEFAULT_SKEW_SECS,
        doc_type: Some(doctype),
    };
    let v = verify_document(document, &opts).map_err(|e| classify(&e, document, &transcript))?;
    let issuer = v
        .issuer_chain
        .first()
        .and_then(|ds| crate::trust::der_name::issuer(ds))
        .ok_or_else(|| {
            malformed("the Document Signer certificate's issuer name does not parse".into())
        })?;
    let claims = claims_json(&v);
    let Value::Object(claims_map) = &claims else {
        return Err(malformed("claims".into()));
    };
    // Spec: OID4VP 1.0 §6.4.1 with §7.2: every requested [namespace, element] disclosed
    // (and with `values`, one of them).
    query
        .match_claims(claims_map)
        .map_err(|m| (RejectReason::DcqlUnsatisfied, m))?;
    if query.trusted_authorities.is_some() {
        // Spec: OID4VP 1.0 §6.1.1.1: an AKI of a certificate in the credential's chain:
        // the x5chain just validated to a configured IACA (G5).
        let akis: Vec<Vec<u8>> = v
            .issuer_chain
            .iter()
            .filter_map(|c| vdc_core::x509::authority_key_identifier(c).ok().flatten())
            .collect();
        if !query.trusted_authorities_match(&akis) {
            return Err((
                RejectReason::DcqlUnsatisfied,
                "trusted_authorities: no certificate of the x5chain has a requested Authority \
                 Key Identifier"
                    .into(),
            ));
        }
    }
    let state = status(check, mdoc, &v, &issuer).await?;
    Ok(PresentedCredential {
        issuer,
        vct: None,
        types: None,
        doctype: Some(v.doc_type.clone()),
        claims,
        status: state.as_str().to_owned(),
    })
}

/// The MSO's `status` through the status checker; without one, refused only when the
/// verifier requires a status (as for SD-JWT VCs).
async fn status(
    check: &PresentationCheck<'_>,
    mdoc: &MdocCheck<'_>,
    v: &VerifiedMdoc,
    issuer: &str,
) -> Checked<CredentialState> {
    let Some(reference) = &v.mso.status else {
        if check.require_status {
            return Err((
                RejectReason::Status,
                "the credential has no status and this verifier requires one".into(),
            ));
        }
        return Ok(CredentialState::Valid);
    };
    // Spec: draft-ietf-oauth-status-list §6.3: an mdoc references a Status List Token in
    // CWT form. Its signer must be the issuer the list belongs to: for a list of this
    // deployment the issuer named by its URL (it signs its own lists, §11.3); an mdoc has
    // no `iss`, so for a foreign list the Document Signer's issuer name is what the list's
    // `iss` and key must answer to (the resolver decides; unresolvable fails closed, §8.3).
    let status_issuer = vdc_http::tenant_url::split_issuer_url(mdoc.public_url, &reference.uri)
        .map_or_else(
            || issuer.to_owned(),
            |(id, _)| vdc_http::tenant_url::issuer_url(mdoc.public_url, id),
        );
    let state = check
        .status
        .check_cwt(reference.idx, &reference.uri, &status_issuer)
        .await
        .map_err(|e| (RejectReason::Status, bounded(&e.to_string())))?;
    if state != CredentialState::Valid {
        return Err((
            RejectReason::Status,
            format!("the credential is {}", state.as_str()),
        ));
    }
    Ok(state)
}

/// `{namespace: {element identifier: value as JSON}}` of the disclosed elements.
fn claims_json(v: &VerifiedMdoc) -> Value {
    let mut out = Map::new();
    for (namespace, elements) in &v.claims {
        let elements: Map<String, Value> = elements
            .iter()
            .map(|(id, value)| (id.clone(), cbor::to_json(value)))
            .collect();
        out.insert(namespace.clone(), Value::Object(elements));
    }
    Value::Object(out)
}

/// Maps a verification error to its check. A failed device signature (holder binding) is
/// told apart from the issuer's failures by checking it again here: the issuer signature
/// verifies with the Document Signer key and the device signature does not verify over
/// this request's transcript. The transcript is hashed, so which of its members (nonce,
/// client_id, response_uri, key thumbprint) differed cannot be told.
fn classify(
    e: &vdc_core::Error,
    document: &Document,
    transcript: &SessionTranscript,
) -> (RejectReason, String) {
    use vdc_core::Error as E;
    let reason = match e {
        E::UntrustedKey(_) | E::Certificate(_) | E::DidResolution(_) | E::Fetch(_) => {
            RejectReason::UntrustedIssuer
        }
        E::Time(_) => RejectReason::Expired,
        E::KeyBinding(_) => RejectReason::KeyBinding,
        _ if device_signature_fails(document, transcript) => RejectReason::KeyBinding,
        _ => RejectReason::Signature,
    };
    (reason, bounded(&e.to_string()))
}

/// Whether the issuer signature holds and the device signature does not, over `transcript`.
fn device_signature_fails(document: &Document, transcript: &SessionTranscript) -> bool {
    let issuer_auth = &document.issuer_signed.issuer_auth;
    let Some(ds) = issuer_auth
        .x5chain()
        .ok()
        .and_then(|c| c.into_iter().next())
    else {
        return false;
    };
    let Ok(ds_key) = vdc_core::x509::leaf_public_key(&ds) else {
        return false;
    };
    if issuer_auth.verify(&ds_key, None).is_err() {
        return false;
    }
    let mso = issuer_auth
        .payload
        .as_deref()
        .and_then(|p| cbor::decode(p).ok())
        .and_then(|v| Tagged24::from_value(&v).ok())
        .and_then(|t| MobileSecurityObject::from_value(&t.value).ok());
    let Some(mso) = mso else {
        return false;
    };
    let device = &document.device_signed;
    let payload = device_authentication_bytes(transcript, &document.doc_type, &device.namespaces);
    device
        .device_signature
        .verify(&mso.device_key, Some(&payload))
        .is_err()
}
