//! Verifying one presented mdoc `Document` (ISO 18013-5 §9.3.1): issuerAuth and its x5chain
//! to an IACA anchor, the MSO, every disclosed item's digest, validity, docType and device
//! authentication over the verifier's session transcript.

use std::collections::{BTreeMap, BTreeSet};

use der::Decode as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::KeyUsage;

use crate::Result;
use crate::error::Error;
use crate::mdoc::cbor::{Tagged24, Value, decode};
use crate::mdoc::device::{Document, device_authentication_bytes};
use crate::mdoc::issue::IssuerSigned;
use crate::mdoc::mso::MobileSecurityObject;
use crate::mdoc::transcript::SessionTranscript;
use crate::time::UnixTime;
use crate::x509::{EkuPolicy, TrustAnchors, leaf_public_key, validate_x5c};

/// What a document is verified against.
#[derive(Debug, Clone, Copy)]
pub struct VerifyMdoc<'a> {
    /// IACA root certificates (DER) the verifier trusts.
    pub trust_anchors: &'a [Vec<u8>],
    /// The transcript the device must have signed.
    pub transcript: &'a SessionTranscript,
    /// The verifier's clock.
    pub now: UnixTime,
    /// Allowed clock skew (seconds) for validity checks.
    pub skew_secs: i64,
    /// The docType requested, when the query fixes one.
    pub doc_type: Option<&'a str>,
}

/// A document that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedMdoc {
    /// `docType`.
    pub doc_type: String,
    /// The validated chain (leaf = Document Signer first, then the anchor).
    pub issuer_chain: Vec<Vec<u8>>,
    /// The MSO.
    pub mso: MobileSecurityObject,
    /// Exactly the disclosed elements, per namespace.
    pub claims: BTreeMap<String, BTreeMap<String, Value>>,
}

/// id-mdl-kp-mdlDS, the Document Signer extended key usage 1.0.18013.5.1.2 (ISO 18013-5
/// Annex B.1.4), as the content octets of its DER OID.
const MDL_DS_EKU: &[u8] = &[0x28, 0x81, 0x8c, 0x5d, 0x05, 0x01, 0x02];

/// The smallest `random` salt of an IssuerSignedItem (ISO 18013-5 §9.1.2.5: "at least 16
/// bytes", so digests of guessable values cannot be brute-forced).
const MIN_RANDOM_LEN: usize = 16;

/// Verifies `document` (errors name the failed check; see the module docs).
///
/// The checks run in this order (ISO 18013-5 §9.3.1): the Document Signer chain to an IACA
/// anchor (`UntrustedKey`), the issuerAuth signature (`InvalidSignature`,
/// `AlgorithmKeyMismatch`), the MSO and docType (`Malformed`, `Mdoc`), the MSO validity
/// (`Time`), every disclosed item's digest (`Mdoc`), and device authentication over
/// `opts.transcript` (`Mdoc`).
pub fn verify_document(document: &Document, opts: &VerifyMdoc<'_>) -> Result<VerifiedMdoc> {
    let issuer_auth = &document.issuer_signed.issuer_auth;

    // 1. The Document Signer certificate (x5chain leaf) chains to a configured IACA.
    let x5chain = issuer_auth.x5chain()?;
    let (issuer_chain, ds_validity) = validate_issuer_chain(&x5chain, opts)?;
    let ds_der = issuer_chain
        .first()
        .ok_or_else(|| Error::malformed("issuerAuth x5chain is empty"))?;

    // 2. + 3. issuerAuth verifies with the DS key; its payload is the MSO.
    let mso = issuer_mso(&document.issuer_signed, ds_der)?;
    // Spec: ISO 18013-5 §9.3.1: "the docType in the MSO matches the relevant docType in
    // the Documents structure".
    if mso.doc_type != document.doc_type {
        return Err(Error::Mdoc(format!(
            "docType {:?} of the document is not the MSO's {:?}",
            document.doc_type, mso.doc_type
        )));
    }
    if let Some(requested) = opts.doc_type
        && requested != document.doc_type
    {
        return Err(Error::Mdoc(format!(
            "docType {:?} is not the requested {requested:?}",
            document.doc_type
        )));
    }

    // 4. Validity (§9.3.1: validFrom ≤ now ≤ validUntil; signed within the DS validity).
    check_validity(&mso, ds_validity, opts)?;

    // 5. Every disclosed item matches its digest.
    let claims = disclosed_claims(&document.issuer_signed, &mso)?;

    // 6. Device authentication over this verifier's session transcript.
    let device_signed = &document.device_signed;
    // Spec: ISO 18013-5 §9.1.3.6: the DeviceSignature payload is detached (nil); a carried
    // payload would not be what this verifier computes anyway.
    if device_signed.device_signature.payload.is_some() {
        return Err(Error::Mdoc(
            "deviceSignature must have a detached (nil) payload".into(),
        ));
    }
    let payload = device_authentication_bytes(
        opts.transcript,
        &document.doc_type,
        &device_signed.namespaces,
    );
    device_signed
        .device_signature
        .verify(&mso.device_key, Some(&payload))
        .map_err(|_| {
            Error::Mdoc(
                "device signature does not verify over this session transcript (another \
                 verifier or nonce?)"
                    .into(),
            )
        })?;
    match &device_signed.namespaces.value {
        Value::Map(entries) if entries.is_empty() => {}
        // Device-signed elements would need the MSO's keyAuthorizations (§9.1.2.4); OID4VP
        // queries ask for issuer-signed elements only.
        Value::Map(_) => {
            return Err(Error::Mdoc(
                "device-signed elements are not supported".into(),
            ));
        }
        _ => return Err(Error::malformed("DeviceNameSpaces is not a map")),
    }

    Ok(VerifiedMdoc {
        doc_type: document.doc_type.clone(),
        issuer_chain,
        mso,
        claims,
    })
}

/// A certificate's validity, seconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct Validity {
    not_before: i64,
    not_after: i64,
}

/// The validity of `cert`.
fn cert_validity(cert: &Certificate) -> Validity {
    let secs = |t: x509_cert::time::Time| {
        i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
    };
    let v = &cert.tbs_certificate.validity;
    Validity {
        not_before: secs(v.not_before),
        not_after: secs(v.not_after),
    }
}

fn parse_cert(der: &[u8], what: &str) -> Result<Certificate> {
    Certificate::from_der(der)
        .map_err(|_| Error::Certificate(format!("{what} certificate is not valid DER X.509")))
}

/// Step 1: validates `x5chain` (leaf = Document Signer) to one of `opts.trust_anchors` and
/// returns the chain (leaf, intermediates, anchor) and the DS certificate's validity.
///
/// Path validation is [`validate_x5c`] (rustls-webpki): signatures, validity at `now`, basic
/// constraints, and the EKU: a DS certificate with an extended key usage must list
/// id-mdl-kp-mdlDS (Annex B.1.4 requires it; certificates without any EKU pass, since
/// vdc's own certificate builder writes none). On top: keyUsage digitalSignature on the DS
/// certificate and its validity inside the IACA's (Annex B.1.4).
fn validate_issuer_chain(
    x5chain: &[Vec<u8>],
    opts: &VerifyMdoc<'_>,
) -> Result<(Vec<Vec<u8>>, Validity)> {
    let leaf = x5chain
        .first()
        .ok_or_else(|| Error::malformed("issuerAuth x5chain is empty"))?;
    if opts.trust_anchors.is_empty() {
        return Err(Error::UntrustedKey(
            "no IACA trust anchor is configured for mdoc".into(),
        ));
    }
    let chain_certs = x5chain
        .iter()
        .map(|der| parse_cert(der, "x5chain"))
        .collect::<Result<Vec<_>>>()?;
    // Which anchor validates the chain: only an anchor whose subject names the issuer of a
    // chain certificate can, so try those one by one (validate_x5c does not say which
    // anchor it used, and the result must name it).
    let mut last_err = None;
    let mut found = None;
    for anchor in opts.trust_anchors {
        let Ok(anchor_cert) = Certificate::from_der(anchor) else {
            continue;
        };
        let subject = &anchor_cert.tbs_certificate.subject;
        if !chain_certs
            .iter()
            .any(|c| &c.tbs_certificate.issuer == subject)
        {
            continue;
        }
        // A configured anchor webpki cannot use is skipped, not fatal: another may fit.
        let trust = match TrustAnchors::from_der_certs(vec![anchor.clone()]) {
            Ok(t) => t.with_eku_policy(EkuPolicy::RequiredIfPresent(MDL_DS_EKU)),
            Err(e) => {
                last_err = Some(e);
                continue;
            }
        };
        match validate_x5c(x5chain, &trust, opts.now) {
            Ok(_) => {
                found = Some((anchor, anchor_cert));
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let (anchor, anchor_cert) = match (found, last_err) {
        (Some(found), _) => found,
        (None, Some(Error::Certificate(msg))) => {
            return Err(Error::UntrustedKey(format!(
                "issuerAuth x5chain does not validate to a trusted IACA: {msg}"
            )));
        }
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(Error::UntrustedKey(
                "the Document Signer certificate is not issued by a trusted IACA".into(),
            ));
        }
    };
    let ds_cert = chain_certs
        .first()
        .ok_or_else(|| Error::malformed("issuerAuth x5chain is empty"))?;
    // Spec: ISO 18013-5 Annex B.1.4 (Document Signer certificate): keyUsage
    // digitalSignature. webpki does not look at an end entity's keyUsage.
    match ds_cert.tbs_certificate.get::<KeyUsage>() {
        Ok(Some((_, usage))) if usage.digital_signature() => {}
        _ => {
            return Err(Error::UntrustedKey(
                "the Document Signer certificate lacks keyUsage digitalSignature".into(),
            ));
        }
    }
    // Spec: ISO 18013-5 Annex B.1.4: the DS certificate's validity lies within the IACA's.
    let ds_validity = cert_validity(ds_cert);
    let iaca_validity = cert_validity(&anchor_cert);
    if ds_validity.not_before < iaca_validity.not_before
        || ds_validity.not_after > iaca_validity.not_after
    {
        return Err(Error::UntrustedKey(format!(
            "the Document Signer certificate's validity ({}..{}) is not inside the IACA's \
             ({}..{})",
            ds_validity.not_before,
            ds_validity.not_after,
            iaca_validity.not_before,
            iaca_validity.not_after
        )));
    }
    // leaf, intermediates (the anchor dropped if the chain carries it), then the anchor.
    let mut chain: Vec<Vec<u8>> = vec![leaf.clone()];
    chain.extend(
        x5chain
            .iter()
            .skip(1)
            .filter(|c| c.as_slice() != anchor.as_slice())
            .cloned(),
    );
    chain.push(anchor.clone());
    Ok((chain, ds_validity))
}

/// Steps 2 and 3: issuerAuth verifies with the DS certificate's key and algorithm; its
/// payload is `MobileSecurityObjectBytes` (`#6.24(bstr .cbor MobileSecurityObject)`,
/// §9.1.2.4).
fn issuer_mso(issuer_signed: &IssuerSigned, ds_der: &[u8]) -> Result<MobileSecurityObject> {
    let issuer_auth = &issuer_signed.issuer_auth;
    let ds_key = leaf_public_key(ds_der)?;
    let alg = issuer_auth.algorithm()?;
    if alg != ds_key.algorithm() {
        return Err(Error::AlgorithmKeyMismatch {
            header: alg.name().into(),
            key: ds_key.algorithm().name().into(),
        });
    }
    let payload = issuer_auth
        .payload
        .as_deref()
        .ok_or_else(|| Error::malformed("issuerAuth carries no MSO payload"))?;
    issuer_auth.verify(&ds_key, None)?;
    let mso_bytes = Tagged24::from_value(&decode(payload)?)?;
    MobileSecurityObject::from_value(&mso_bytes.value)
}

/// Step 4: the MSO's validityInfo at `opts.now` (± `opts.skew_secs`).
fn check_validity(
    mso: &MobileSecurityObject,
    ds_validity: Validity,
    opts: &VerifyMdoc<'_>,
) -> Result<()> {
    let v = &mso.validity;
    let early = opts.now.plus(opts.skew_secs);
    let late = opts.now.plus(opts.skew_secs.saturating_neg());
    if v.valid_from > early {
        return Err(Error::Time(format!(
            "MSO not yet valid: validFrom {} is after now {}",
            v.valid_from.secs(),
            opts.now.secs()
        )));
    }
    if v.valid_until < late {
        return Err(Error::Time(format!(
            "MSO expired: validUntil {} is before now {}",
            v.valid_until.secs(),
            opts.now.secs()
        )));
    }
    if v.signed > early {
        return Err(Error::Time(format!(
            "MSO signed {} is in the future (now {})",
            v.signed.secs(),
            opts.now.secs()
        )));
    }
    // Spec: ISO 18013-5 §9.3.1: the signed date lies within the validity of the DS
    // certificate that signed it.
    if v.signed.secs() < ds_validity.not_before || v.signed.secs() > ds_validity.not_after {
        return Err(Error::Time(format!(
            "MSO signed {} is outside the Document Signer certificate's validity",
            v.signed.secs()
        )));
    }
    Ok(())
}

/// One IssuerSignedItem (§8.3.2.1.2.2): `{"digestID": uint, "random": bstr,
/// "elementIdentifier": tstr, "elementValue": any}`, nothing else.
fn parse_item<'a>(item: &'a Tagged24, namespace: &str) -> Result<(u64, &'a str, &'a Value)> {
    let Value::Map(entries) = &item.value else {
        return Err(Error::malformed(format!(
            "IssuerSignedItem in {namespace} is not a map"
        )));
    };
    let bad = |what: &str| Error::malformed(format!("IssuerSignedItem in {namespace}: {what}"));
    // The strict decoder refuses duplicate keys, so four entries with the four keys below
    // are exactly those four.
    if entries.len() != 4 {
        return Err(bad(
            "must have exactly digestID, random, elementIdentifier and elementValue",
        ));
    }
    let get = |key: &str| {
        crate::mdoc::cbor::map_get(&item.value, key).ok_or_else(|| bad(&format!("no {key}")))
    };
    let digest_id = match get("digestID")? {
        Value::Integer(i) => u64::try_from(*i).map_err(|_| bad("digestID is not a uint"))?,
        _ => return Err(bad("digestID is not a uint")),
    };
    match get("random")? {
        Value::Bytes(r) if r.len() >= MIN_RANDOM_LEN => {}
        _ => return Err(bad("random is not a byte string of at least 16 bytes")),
    }
    let Value::Text(element) = get("elementIdentifier")? else {
        return Err(bad("elementIdentifier is not a text string"));
    };
    Ok((digest_id, element, get("elementValue")?))
}

/// Step 5: every disclosed item's SHA-256, over the tag-24 bytes as received, is the MSO's
/// digest for its namespace and digestID (§9.1.2.5, §9.3.1); returns the disclosed elements.
fn disclosed_claims(
    issuer_signed: &IssuerSigned,
    mso: &MobileSecurityObject,
) -> Result<BTreeMap<String, BTreeMap<String, Value>>> {
    let mut claims = BTreeMap::new();
    for (namespace, items) in &issuer_signed.namespaces {
        let digests = mso.value_digests.get(namespace).ok_or_else(|| {
            Error::Mdoc(format!(
                "namespace {namespace} has no valueDigests in the MSO"
            ))
        })?;
        let mut seen_ids = BTreeSet::new();
        let mut elements = BTreeMap::new();
        for item in items {
            let (digest_id, element, value) = parse_item(item, namespace)?;
            if !seen_ids.insert(digest_id) {
                return Err(Error::Mdoc(format!(
                    "digestID {digest_id} in {namespace} appears twice"
                )));
            }
            if elements.contains_key(element) {
                return Err(Error::Mdoc(format!(
                    "element {namespace}/{element} appears twice"
                )));
            }
            let expected = digests.get(&digest_id).ok_or_else(|| {
                Error::Mdoc(format!(
                    "no digest for {namespace}/{element} (digestID {digest_id}) in the MSO"
                ))
            })?;
            // Spec: ISO 18013-5 §9.1.2.5: the digest is over IssuerSignedItemBytes, the
            // tag-24 item as encoded; never over a re-encoding.
            let actual = crate::digest::sha256(&item.tagged_bytes());
            if !crate::ct::eq(&actual, expected) {
                return Err(Error::Mdoc(format!(
                    "digest mismatch for {namespace}/{element}"
                )));
            }
            elements.insert(element.to_owned(), value.clone());
        }
        claims.insert(namespace.clone(), elements);
    }
    Ok(claims)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::jose::{Algorithm, LocalSigner, PublicKey, Signer as _, SigningKey};
    use crate::mdoc::cbor::{encode, map_get};
    use crate::mdoc::cose::{CoseSign1, Headers};
    use crate::mdoc::device::{DeviceResponse, DeviceSigned, present};
    use crate::mdoc::issue::{MdocToIssue, issue};
    use crate::mdoc::mso::ValidityInfo;
    use crate::mdoc::transcript::Handover;
    use crate::rng::SeededRandom;
    use crate::x509::{CertificateSpec, self_signed};

    pub(crate) const NOW: i64 = 1_760_000_000;
    pub(crate) const DOC_TYPE: &str = "org.iso.18013.5.1.mDL";
    pub(crate) const NS: &str = "org.iso.18013.5.1";
    const DAY: i64 = 86_400;

    /// An issued mDL, its IACA and the holder's device key.
    pub(crate) struct Fixture {
        pub(crate) iaca: Vec<u8>,
        pub(crate) iaca_key: SigningKey,
        pub(crate) ds: LocalSigner,
        pub(crate) device: LocalSigner,
        pub(crate) issued: IssuerSigned,
    }

    pub(crate) fn transcript(nonce: &str) -> SessionTranscript {
        SessionTranscript(Handover::Redirect {
            client_id: "x509_san_dns:verifier.example".into(),
            nonce: nonce.into(),
            jwk_thumbprint: None,
            response_uri: "https://verifier.example/response".into(),
        })
    }

    /// A self-signed IACA root (CA) valid from a year before `NOW` for ten years.
    fn iaca(rng: &SeededRandom, name: &str) -> (Vec<u8>, SigningKey) {
        let key = SigningKey::generate(Algorithm::Es256, rng).unwrap();
        let spec = CertificateSpec::new(
            name,
            UnixTime(NOW - 365 * DAY),
            UnixTime(NOW + 10 * 365 * DAY),
            rng,
        )
        .unwrap()
        .ca();
        (self_signed(&spec, &key).unwrap(), key)
    }

    /// A Document Signer (end entity under `iaca`) with its certificate as the x5chain.
    fn ds_signer(
        rng: &SeededRandom,
        iaca: &[u8],
        iaca_key: &SigningKey,
        not_before: i64,
        not_after: i64,
    ) -> LocalSigner {
        let key = SigningKey::generate(Algorithm::Es256, rng).unwrap();
        let spec = CertificateSpec::new(
            "Document Signer",
            UnixTime(not_before),
            UnixTime(not_after),
            rng,
        )
        .unwrap();
        let cert = crate::x509::issue(&spec, key.public_key(), iaca, iaca_key).unwrap();
        LocalSigner::new(key).with_x5c(vec![cert])
    }

    fn elements() -> BTreeMap<String, Vec<(String, Value)>> {
        BTreeMap::from([(
            NS.to_owned(),
            vec![
                ("family_name".to_owned(), Value::Text("Doe".into())),
                ("given_name".to_owned(), Value::Text("Jane".into())),
                ("age_over_18".to_owned(), Value::Bool(true)),
                (
                    "document_number".to_owned(),
                    Value::Text("123456789".into()),
                ),
            ],
        )])
    }

    fn validity(signed: i64, valid_from: i64, valid_until: i64) -> ValidityInfo {
        ValidityInfo {
            signed: UnixTime(signed),
            valid_from: UnixTime(valid_from),
            valid_until: UnixTime(valid_until),
        }
    }

    async fn issue_with(
        ds: &LocalSigner,
        device_key: &PublicKey,
        validity: ValidityInfo,
        rng: &SeededRandom,
    ) -> IssuerSigned {
        let namespaces = elements();
        let input = MdocToIssue {
            doc_type: DOC_TYPE,
            namespaces: &namespaces,
            device_key,
            validity,
            status: None,
        };
        issue(&input, ds, rng).await.unwrap()
    }

    pub(crate) async fn fixture() -> Fixture {
        let rng = SeededRandom::new(18013);
        let (iaca, iaca_key) = iaca(&rng, "Test IACA");
        let ds = ds_signer(&rng, &iaca, &iaca_key, NOW - 30 * DAY, NOW + 365 * DAY);
        let device = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
        let issued = issue_with(
            &ds,
            device.key().public_key(),
            validity(NOW - DAY, NOW - DAY, NOW + 30 * DAY),
            &rng,
        )
        .await;
        Fixture {
            iaca,
            iaca_key,
            ds,
            device,
            issued,
        }
    }

    pub(crate) fn disclose(names: &[&str]) -> BTreeMap<String, BTreeSet<String>> {
        BTreeMap::from([(
            NS.to_owned(),
            names.iter().map(|n| (*n).to_owned()).collect(),
        )])
    }

    async fn presented(f: &Fixture, issued: &IssuerSigned, nonce: &str) -> Document {
        present(
            issued,
            DOC_TYPE,
            &disclose(&["family_name", "age_over_18"]),
            &transcript(nonce),
            &f.device,
        )
        .await
        .unwrap()
    }

    fn verify(document: &Document, anchors: &[Vec<u8>], nonce: &str) -> Result<VerifiedMdoc> {
        let transcript = transcript(nonce);
        verify_document(
            document,
            &VerifyMdoc {
                trust_anchors: anchors,
                transcript: &transcript,
                now: UnixTime(NOW),
                skew_secs: 60,
                doc_type: Some(DOC_TYPE),
            },
        )
    }

    fn anchors(f: &Fixture) -> &[Vec<u8>] {
        std::slice::from_ref(&f.iaca)
    }

    fn mdoc_err(result: Result<VerifiedMdoc>) -> String {
        match result {
            Err(Error::Mdoc(msg)) => msg,
            other => panic!("expected an mdoc error, got {other:?}"),
        }
    }

    /// The item re-encoded (as a new tag-24 item) after `edit` changes its map.
    fn rewrap(item: &Tagged24, edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Tagged24 {
        let Value::Map(mut entries) = item.value.clone() else {
            panic!("item is not a map")
        };
        edit(&mut entries);
        Tagged24::wrap(Value::Map(entries))
    }

    fn set(entries: &mut [(Value, Value)], key: &str, value: Value) {
        for (k, v) in entries.iter_mut() {
            if *k == Value::Text(key.into()) {
                *v = value;
                return;
            }
        }
        panic!("no {key}");
    }

    fn element_id(item: &Tagged24) -> &str {
        match map_get(&item.value, "elementIdentifier") {
            Some(Value::Text(t)) => t,
            _ => panic!("no elementIdentifier"),
        }
    }

    fn items(document: &mut Document) -> &mut Vec<Tagged24> {
        document.issuer_signed.namespaces.get_mut(NS).unwrap()
    }

    #[tokio::test]
    async fn presented_document_verifies_with_only_the_disclosed_elements() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n-1").await;
        // Over the wire: DeviceResponse bytes, decoded again (tag-24 bytes kept).
        let response = DeviceResponse {
            documents: vec![doc],
            status: 0,
        };
        let back = DeviceResponse::from_cbor(&response.to_cbor()).unwrap();
        assert_eq!(back, response);
        let verified = verify(&back.documents[0], anchors(&f), "n-1").unwrap();
        assert_eq!(verified.doc_type, DOC_TYPE);
        assert_eq!(verified.mso.doc_type, DOC_TYPE);
        let ds_cert = f.ds.x5c().unwrap()[0].clone();
        assert_eq!(verified.issuer_chain, vec![ds_cert, f.iaca.clone()]);
        let expected = BTreeMap::from([(
            NS.to_owned(),
            BTreeMap::from([
                ("family_name".to_owned(), Value::Text("Doe".into())),
                ("age_over_18".to_owned(), Value::Bool(true)),
            ]),
        )]);
        assert_eq!(verified.claims, expected);
    }

    #[tokio::test]
    async fn chain_with_the_anchor_appended_verifies_too() {
        let f = fixture().await;
        let rng = SeededRandom::new(7);
        let ds_cert = f.ds.x5c().unwrap()[0].clone();
        // Another DS whose x5chain is [DS, IACA]: the anchor is dropped, then appended once.
        let signer = ds_signer(&rng, &f.iaca, &f.iaca_key, NOW - DAY, NOW + DAY);
        let chain = vec![signer.x5c().unwrap()[0].clone(), f.iaca.clone()];
        let signer = signer.with_x5c(chain);
        let issued = issue_with(
            &signer,
            f.device.key().public_key(),
            validity(NOW - 60, NOW - 60, NOW + DAY),
            &rng,
        )
        .await;
        let doc = presented(&f, &issued, "n").await;
        let verified = verify(&doc, anchors(&f), "n").unwrap();
        assert_eq!(verified.issuer_chain.len(), 2);
        assert_ne!(verified.issuer_chain[0], ds_cert);
        assert_eq!(verified.issuer_chain[1], f.iaca);
    }

    #[tokio::test]
    async fn tampered_element_value_is_a_digest_mismatch() {
        let f = fixture().await;
        let mut doc = presented(&f, &f.issued, "n").await;
        let item = items(&mut doc)
            .iter_mut()
            .find(|i| element_id(i) == "family_name")
            .unwrap();
        *item = rewrap(item, |m| set(m, "elementValue", Value::Text("Roe".into())));
        let msg = mdoc_err(verify(&doc, anchors(&f), "n"));
        assert_eq!(msg, format!("digest mismatch for {NS}/family_name"));
    }

    #[tokio::test]
    async fn duplicate_digest_and_duplicate_element_are_refused() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n").await;
        // The same item twice: its digestID appears twice.
        let mut twice = doc.clone();
        let first = items(&mut twice)[0].clone();
        items(&mut twice).push(first.clone());
        let msg = mdoc_err(verify(&twice, anchors(&f), "n"));
        assert!(msg.contains("appears twice"), "{msg}");
        assert!(msg.starts_with("digestID"), "{msg}");
        // The same element under another digestID (one the MSO holds for another element).
        let mut same_element = doc.clone();
        let other_id = f.issued.namespaces[NS]
            .iter()
            .find(|i| element_id(i) == "given_name")
            .and_then(|i| map_get(&i.value, "digestID").cloned())
            .unwrap();
        let copy = rewrap(&first, |m| set(m, "digestID", other_id));
        items(&mut same_element).push(copy);
        let msg = mdoc_err(verify(&same_element, anchors(&f), "n"));
        assert!(
            msg.starts_with("element ") && msg.contains("appears twice"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn item_without_a_digest_in_the_mso_is_refused() {
        let f = fixture().await;
        let mut doc = presented(&f, &f.issued, "n").await;
        let item = &mut items(&mut doc)[0];
        *item = rewrap(item, |m| set(m, "digestID", Value::Integer(9_999.into())));
        let msg = mdoc_err(verify(&doc, anchors(&f), "n"));
        assert!(msg.starts_with("no digest for"), "{msg}");
        // A namespace the MSO has no digests for at all.
        let mut doc = presented(&f, &f.issued, "n").await;
        let moved = doc.issuer_signed.namespaces.remove(NS).unwrap();
        doc.issuer_signed
            .namespaces
            .insert("org.example.other".into(), moved);
        let msg = mdoc_err(verify(&doc, anchors(&f), "n"));
        assert!(msg.contains("no valueDigests"), "{msg}");
    }

    #[tokio::test]
    async fn re_encoded_tag_24_bytes_fail_the_digest() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n").await;
        // The same map with its entries in another order: an equivalent encoding whose
        // bytes differ, so its digest does.
        let mut reordered = doc.clone();
        let item = &mut items(&mut reordered)[0];
        let name = element_id(item).to_owned();
        *item = rewrap(item, |m| m.reverse());
        let msg = mdoc_err(verify(&reordered, anchors(&f), "n"));
        assert_eq!(msg, format!("digest mismatch for {NS}/{name}"));

        // digestID with a non-preferred (8-byte) integer head: the strict decoder may
        // refuse it; if it is read, its digest must not match.
        let mut long_int = doc.clone();
        let item = &mut items(&mut long_int)[0];
        let Value::Map(entries) = &item.value else {
            panic!("not a map")
        };
        let mut bytes = vec![0xa0 | u8::try_from(entries.len()).unwrap()];
        for (k, v) in entries {
            bytes.extend(encode(k));
            match (k, v) {
                (Value::Text(t), Value::Integer(i)) if t == "digestID" => {
                    bytes.push(0x1b);
                    bytes.extend(u64::try_from(*i).unwrap().to_be_bytes());
                }
                _ => bytes.extend(encode(v)),
            }
        }
        assert_ne!(bytes, item.bytes);
        match Tagged24::from_value(&Value::Tag(24, Box::new(Value::Bytes(bytes)))) {
            Err(Error::Malformed(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(long) => {
                *item = long;
                let msg = mdoc_err(verify(&long_int, anchors(&f), "n"));
                assert!(msg.starts_with("digest mismatch"), "{msg}");
            }
        }
    }

    #[tokio::test]
    async fn mso_outside_its_validity_is_refused() {
        let f = fixture().await;
        let rng = SeededRandom::new(5);
        let cases = [
            (
                validity(NOW - 20 * DAY, NOW - 20 * DAY, NOW - DAY),
                "expired",
            ),
            (
                validity(NOW - DAY, NOW + DAY, NOW + 2 * DAY),
                "not yet valid",
            ),
            (validity(NOW + DAY, NOW - DAY, NOW + 2 * DAY), "future"),
        ];
        for (validity, what) in cases {
            let issued = issue_with(&f.ds, f.device.key().public_key(), validity, &rng).await;
            let doc = presented(&f, &issued, "n").await;
            match verify(&doc, anchors(&f), "n") {
                Err(Error::Time(msg)) => assert!(msg.contains(what), "{what}: {msg}"),
                other => panic!("{what}: {other:?}"),
            }
        }
        // Within the skew is fine.
        let issued = issue_with(
            &f.ds,
            f.device.key().public_key(),
            validity(NOW + 30, NOW + 30, NOW + DAY),
            &rng,
        )
        .await;
        verify(&presented(&f, &issued, "n").await, anchors(&f), "n").unwrap();
    }

    #[tokio::test]
    async fn mso_signed_outside_the_ds_certificate_validity_is_refused() {
        let f = fixture().await;
        let rng = SeededRandom::new(6);
        // The DS certificate starts 30 days before NOW; an MSO "signed" 40 days before is
        // not one it could have signed.
        let issued = issue_with(
            &f.ds,
            f.device.key().public_key(),
            validity(NOW - 40 * DAY, NOW - 40 * DAY, NOW + DAY),
            &rng,
        )
        .await;
        let doc = presented(&f, &issued, "n").await;
        assert!(matches!(
            verify(&doc, anchors(&f), "n"),
            Err(Error::Time(msg)) if msg.contains("Document Signer")
        ));
    }

    #[tokio::test]
    async fn ds_not_chaining_to_the_anchor_is_untrusted() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n").await;
        let rng = SeededRandom::new(99);
        // Another IACA with another name: not even a candidate.
        let (other, _) = iaca(&rng, "Other IACA");
        assert!(matches!(
            verify(&doc, std::slice::from_ref(&other), "n"),
            Err(Error::UntrustedKey(_))
        ));
        // An IACA with the same name but another key: the path fails in webpki.
        let (same_name, _) = iaca(&rng, "Test IACA");
        match verify(&doc, &[other, same_name], "n") {
            Err(Error::UntrustedKey(msg)) => assert!(msg.contains("does not validate"), "{msg}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            verify(&doc, &[], "n"),
            Err(Error::UntrustedKey(_))
        ));
    }

    #[tokio::test]
    async fn ds_certificate_outlasting_the_iaca_is_untrusted() {
        let f = fixture().await;
        let rng = SeededRandom::new(12);
        let ds = ds_signer(&rng, &f.iaca, &f.iaca_key, NOW - DAY, NOW + 20 * 365 * DAY);
        let issued = issue_with(
            &ds,
            f.device.key().public_key(),
            validity(NOW - 60, NOW - 60, NOW + DAY),
            &rng,
        )
        .await;
        let doc = presented(&f, &issued, "n").await;
        match verify(&doc, anchors(&f), "n") {
            Err(Error::UntrustedKey(msg)) => assert!(msg.contains("inside the IACA"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn device_signature_over_another_transcript_is_refused() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "nonce-a").await;
        let expected = "device signature does not verify over this session transcript \
                        (another verifier or nonce?)";
        // Another nonce.
        assert_eq!(mdoc_err(verify(&doc, anchors(&f), "nonce-b")), expected);
        // Another client_id, same nonce.
        let other = SessionTranscript(Handover::Redirect {
            client_id: "x509_san_dns:attacker.example".into(),
            nonce: "nonce-a".into(),
            jwk_thumbprint: None,
            response_uri: "https://verifier.example/response".into(),
        });
        let trusted = [f.iaca.clone()];
        let result = verify_document(
            &doc,
            &VerifyMdoc {
                trust_anchors: &trusted,
                transcript: &other,
                now: UnixTime(NOW),
                skew_secs: 60,
                doc_type: None,
            },
        );
        assert_eq!(mdoc_err(result), expected);
        // Another device key than the MSO's.
        let rng = SeededRandom::new(3);
        let thief = LocalSigner::new(SigningKey::generate(Algorithm::Es256, &rng).unwrap());
        let stolen = present(
            &f.issued,
            DOC_TYPE,
            &disclose(&["family_name"]),
            &transcript("nonce-a"),
            &thief,
        )
        .await
        .unwrap();
        assert_eq!(mdoc_err(verify(&stolen, anchors(&f), "nonce-a")), expected);
    }

    #[tokio::test]
    async fn wrong_doctype_is_refused() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n").await;
        let transcript = transcript("n");
        let trusted = [f.iaca.clone()];
        let result = verify_document(
            &doc,
            &VerifyMdoc {
                trust_anchors: &trusted,
                transcript: &transcript,
                now: UnixTime(NOW),
                skew_secs: 60,
                doc_type: Some("eu.europa.ec.eudi.pid.1"),
            },
        );
        let msg = mdoc_err(result);
        assert!(msg.contains("is not the requested"), "{msg}");
        // The Document claiming another docType than its MSO.
        let mut relabelled = doc.clone();
        relabelled.doc_type = "eu.europa.ec.eudi.pid.1".into();
        let msg = mdoc_err(verify(&relabelled, anchors(&f), "n"));
        assert!(msg.contains("is not the MSO's"), "{msg}");
    }

    #[tokio::test]
    async fn tampered_issuer_signature_is_refused() {
        let f = fixture().await;
        let mut doc = presented(&f, &f.issued, "n").await;
        doc.issuer_signed.issuer_auth.signature[5] ^= 1;
        assert!(matches!(
            verify(&doc, anchors(&f), "n"),
            Err(Error::InvalidSignature)
        ));
    }

    #[tokio::test]
    async fn device_signed_elements_and_attached_payloads_are_refused() {
        let f = fixture().await;
        let doc = presented(&f, &f.issued, "n").await;
        let namespaces = Tagged24::wrap(Value::Map(vec![(
            Value::Text(NS.into()),
            Value::Map(vec![(
                Value::Text("nickname".into()),
                Value::Text("J".into()),
            )]),
        )]));
        let payload = crate::mdoc::device::device_authentication_bytes(
            &transcript("n"),
            DOC_TYPE,
            &namespaces,
        );
        let mut with_elements = doc.clone();
        with_elements.device_signed = DeviceSigned {
            namespaces,
            device_signature: CoseSign1::sign(&f.device, &Headers::default(), &payload, true)
                .await
                .unwrap(),
        };
        let msg = mdoc_err(verify(&with_elements, anchors(&f), "n"));
        assert_eq!(msg, "device-signed elements are not supported");

        let mut attached = doc.clone();
        attached.device_signed.device_signature.payload = Some(vec![1, 2, 3]);
        let msg = mdoc_err(verify(&attached, anchors(&f), "n"));
        assert!(msg.contains("detached"), "{msg}");
    }

    fn hex(s: &str) -> Vec<u8> {
        s.as_bytes()
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    // ISO/IEC 18013-5:2021 Annex D.4.1.2 ("mdoc response"), hex. Taken from the test file
    // packages/ssi-types/__tests__/encoding.test.ts of github.com/Sphereon-Opensource/SSI-SDK
    // (commit 4f8b21c24659259843b4b802e4a68a635989a590), which cites the OWF
    // identity-credential TestVectors.kt; the same bytes appear in spruceid/isomdl and
    // multipaz tests. Its device authentication is a deviceMac over a proximity transcript.
    const ANNEX_D_DEVICE_RESPONSE: &str = "\
        a36776657273696f6e63312e3069646f63756d656e747381a367646f6354797065756f72672e69736f2e31383031332e\
        352e312e6d444c6c6973737565725369676e6564a26a6e616d65537061636573a1716f72672e69736f2e31383031332e\
        352e3186d8185863a4686469676573744944006672616e646f6d58208798645b20ea200e19ffabac92624bee6aec63ac\
        eedecfb1b80077d22bfc20e971656c656d656e744964656e7469666965726b66616d696c795f6e616d656c656c656d65\
        6e7456616c756563446f65d818586ca4686469676573744944036672616e646f6d5820b23f627e8999c706df0c0a4ed9\
        8ad74af988af619b4bb078b89058553f44615d71656c656d656e744964656e7469666965726a69737375655f64617465\
        6c656c656d656e7456616c7565d903ec6a323031392d31302d3230d818586da4686469676573744944046672616e646f\
        6d5820c7ffa307e5de921e67ba5878094787e8807ac8e7b5b3932d2ce80f00f3e9abaf71656c656d656e744964656e74\
        69666965726b6578706972795f646174656c656c656d656e7456616c7565d903ec6a323032342d31302d3230d818586d\
        a4686469676573744944076672616e646f6d582026052a42e5880557a806c1459af3fb7eb505d3781566329d0b604b84\
        5b5f9e6871656c656d656e744964656e7469666965726f646f63756d656e745f6e756d6265726c656c656d656e745661\
        6c756569313233343536373839d818590471a4686469676573744944086672616e646f6d5820d094dad764a2eb9deb52\
        10e9d899643efbd1d069cc311d3295516ca0b024412d71656c656d656e744964656e74696669657268706f7274726169\
        746c656c656d656e7456616c7565590412ffd8ffe000104a46494600010101009000900000ffdb004300130d0e110e0c\
        13110f11151413171d301f1d1a1a1d3a2a2c2330453d4947443d43414c566d5d4c51685241435f82606871757b7c7b4a\
        5c869085778f6d787b76ffdb0043011415151d191d381f1f38764f434f76767676767676767676767676767676767676\
        76767676767676767676767676767676767676767676767676767676767676ffc0001108001800640301220002110103\
        1101ffc4001b00000301000301000000000000000000000005060401020307ffc4003210000103030302050203090000\
        00000000010203040005110612211331141551617122410781a1163542527391b2c1f1ffc40015010101000000000000\
        00000000000000000001ffc4001a110101010003010000000000000000000000014111213161ffda000c030100021103\
        11003f00a5bbde22da2329c7d692bc7d0d03f52cfb0ff75e7a7ef3e7709723a1d0dae146ddfbb3c039ce07ad2bd47a7e\
        32dbb8dd1d52d6ef4b284f64a480067dfb51f87ffb95ff00eb9ff14d215de66af089ce44b7dbde9cb6890a2838eddf18\
        078f7add62d411ef4db9b10a65d6b95a147381ea0d495b933275fe6bba75c114104a8ba410413e983dff004f5af5d34b\
        4b4cde632d0bf1fd1592bdd91c6411f3934c2fa6af6b54975d106dcf4a65ae56e856001ebc03c7ce29dd9eef1ef10fc4\
        47dc9da76ad2aee93537a1ba7e4f70dd8eff0057c6dffb5e1a19854a83758e54528750946ec6704850cd037bceb08b6d\
        7d2cc76d3317fc7b5cc04fb6707269c5c6e0c5b60ae549242123b0e493f602a075559e359970d98db89525456b51c951\
        c8afa13ea8e98e3c596836783d5c63f5a61a99fdb7290875db4be88ab384bbbbbfc7183fdeaa633e8951db7da396dc48\
        524fb1a8bd611a5aa2a2432f30ab420a7a6d3240c718cf031fa9ef4c9ad550205aa02951df4a1d6c8421b015b769db8c\
        9229837ea2be8b1b0d39d0eba9c51484efdb8c0efd8d258daf3c449699f2edbd4584e7af9c64e3f96b9beb28d4ac4093\
        1e6478c8e76a24a825449501d867d2b1dcdebae99b9c752ae4ecd6dde4a179c1c1e460938f9149ef655e515c03919a28\
        9cb3dca278fb7bf177f4faa829dd8ce3f2ac9a7ecde490971fafd7dce15eed9b71c018c64fa514514b24e8e4f8c5c9b7\
        5c1e82579dc1233dfec08238f6add62d391acc1c5256a79e706d52d431c7a0145140b9fd149eb3a60dc5e88cbbc2da09\
        2411e9dc71f39a7766b447b344e847dcac9dcb5abba8d145061d43a6fcf1e65cf15d0e90231d3dd9cfe62995c6dcc5ca\
        12a2c904a15f71dd27d451453e09d1a21450961cbb3ea8a956433b781f1ce33dfed54f0e2b50a2b71d84ed6db18028a2\
        8175f74fc6bda105c529a791c25c4f3c7a11f71586268f4a66b726e33de9ea6f1b52b181c760724e47b514520a5a28a2\
        83ffd9d81858ffa4686469676573744944096672616e646f6d58204599f81beaa2b20bd0ffcc9aa03a6f985befab3f6b\
        eaffa41e6354cdb2ab2ce471656c656d656e744964656e7469666965727264726976696e675f70726976696c65676573\
        6c656c656d656e7456616c756582a37576656869636c655f63617465676f72795f636f646561416a69737375655f6461\
        7465d903ec6a323031382d30382d30396b6578706972795f64617465d903ec6a323032342d31302d3230a37576656869\
        636c655f63617465676f72795f636f646561426a69737375655f64617465d903ec6a323031372d30322d32336b657870\
        6972795f64617465d903ec6a323032342d31302d32306a697373756572417574688443a10126a118215901f3308201ef\
        30820195a00302010202143c4416eed784f3b413e48f56f075abfa6d87eb84300a06082a8648ce3d0403023023311430\
        1206035504030c0b75746f7069612069616361310b3009060355040613025553301e170d323031303031303030303030\
        5a170d3231313030313030303030305a30213112301006035504030c0975746f706961206473310b3009060355040613\
        0255533059301306072a8648ce3d020106082a8648ce3d03010703420004ace7ab7340e5d9648c5a72a9a6f56745c7aa\
        d436a03a43efea77b5fa7b88f0197d57d8983e1b37d3a539f4d588365e38cbbf5b94d68c547b5bc8731dcd2f146ba381\
        a83081a5301e0603551d120417301581136578616d706c65406578616d706c652e636f6d301c0603551d1f0415301330\
        11a00fa00d820b6578616d706c652e636f6d301d0603551d0e0416041414e29017a6c35621ffc7a686b7b72db06cd123\
        51301f0603551d2304183016801454fa2383a04c28e0d930792261c80c4881d2c00b300e0603551d0f0101ff04040302\
        078030150603551d250101ff040b3009060728818c5d050102300a06082a8648ce3d040302034800304502210097717a\
        b9016740c8d7bcdaa494a62c053bbdecce1383c1aca72ad08dbc04cbb202203bad859c13a63c6d1ad67d814d43e2425c\
        af90d422422c04a8ee0304c0d3a68d5903a2d81859039da66776657273696f6e63312e306f646967657374416c676f72\
        6974686d675348412d3235366c76616c756544696765737473a2716f72672e69736f2e31383031332e352e31ad005820\
        75167333b47b6c2bfb86eccc1f438cf57af055371ac55e1e359e20f254adcebf01582067e539d6139ebd131aef441b44\
        5645dd831b2b375b390ca5ef6279b205ed45710258203394372ddb78053f36d5d869780e61eda313d44a392092ad8e05\
        27a2fbfe55ae0358202e35ad3c4e514bb67b1a9db51ce74e4cb9b7146e41ac52dac9ce86b8613db555045820ea5c3304\
        bb7c4a8dcb51c4c13b65264f845541341342093cca786e058fac2d59055820fae487f68b7a0e87a749774e56e9e1dc3a\
        8ec7b77e490d21f0e1d3475661aa1d0658207d83e507ae77db815de4d803b88555d0511d894c897439f5774056416a1c\
        7533075820f0549a145f1cf75cbeeffa881d4857dd438d627cf32174b1731c4c38e12ca936085820b68c8afcb2aaf7c5\
        81411d2877def155be2eb121a42bc9ba5b7312377e068f660958200b3587d1dd0c2a07a35bfb120d99a0abfb5df56865\
        bb7fa15cc8b56a66df6e0c0a5820c98a170cf36e11abb724e98a75a5343dfa2b6ed3df2ecfbb8ef2ee55dd41c8810b58\
        20b57dd036782f7b14c6a30faaaae6ccd5054ce88bdfa51a016ba75eda1edea9480c5820651f8736b18480fe252a0322\
        4ea087b5d10ca5485146c67c74ac4ec3112d4c3a746f72672e69736f2e31383031332e352e312e5553a4005820d80b83\
        d25173c484c5640610ff1a31c949c1d934bf4cf7f18d5223b15dd4f21c0158204d80e1e2e4fb246d97895427ce7000bb\
        59bb24c8cd003ecf94bf35bbd2917e340258208b331f3b685bca372e85351a25c9484ab7afcdf0d2233105511f778d98\
        c2f544035820c343af1bd1690715439161aba73702c474abf992b20c9fb55c36a336ebe01a876d6465766963654b6579\
        496e666fa1696465766963654b6579a40102200121582096313d6c63e24e3372742bfdb1a33ba2c897dcd68ab8c753e4\
        fbd48dca6b7f9a2258201fb3269edd418857de1b39a4e4a44b92fa484caa722c228288f01d0c03a2c3d667646f635479\
        7065756f72672e69736f2e31383031332e352e312e6d444c6c76616c6964697479496e666fa3667369676e6564c07432\
        3032302d31302d30315431333a33303a30325a6976616c696446726f6dc074323032302d31302d30315431333a33303a\
        30325a6a76616c6964556e74696cc074323032312d31302d30315431333a33303a30325a584059e64205df1e2f708dd6\
        db0847aed79fc7c0201d80fa55badcaf2e1bcf5902e1e5a62e4832044b890ad85aa53f129134775d733754d7cb7a4137\
        66aeff13cb2e6c6465766963655369676e6564a26a6e616d65537061636573d81841a06a64657669636541757468a169\
        6465766963654d61638443a10105a0f65820e99521a85ad7891b806a07f8b5388a332d92c189a7bf293ee1f543405ae6\
        824d6673746174757300";
    /// 2021-01-01T00:00:00Z: inside the example's DS certificate (2020-10-01..2021-10-01)
    /// and MSO validity.
    const ANNEX_D_TIME: i64 = 1_609_459_200;

    #[test]
    fn iso_annex_d_device_response_issuer_side_verifies() {
        let bytes = hex(ANNEX_D_DEVICE_RESPONSE);
        // OID4VP cannot take its deviceMac: the parser says why.
        match DeviceResponse::from_cbor(&bytes) {
            Err(Error::Mdoc(msg)) => assert!(msg.contains("deviceMac"), "{msg}"),
            other => panic!("{other:?}"),
        }
        // What applies without a reader key: issuerAuth with the DS certificate of its
        // x5chain, the MSO, every digest.
        let value = decode(&bytes).unwrap();
        let Some(Value::Array(documents)) = map_get(&value, "documents") else {
            panic!("no documents")
        };
        let document = &documents[0];
        let issuer_signed =
            IssuerSigned::from_value(map_get(document, "issuerSigned").unwrap()).unwrap();
        let x5chain = issuer_signed.issuer_auth.x5chain().unwrap();
        assert_eq!(x5chain.len(), 1);
        let mso = issuer_mso(&issuer_signed, &x5chain[0]).unwrap();
        assert_eq!(mso.doc_type, "org.iso.18013.5.1.mDL");
        let ds = parse_cert(&x5chain[0], "DS").unwrap();
        let ds_validity = cert_validity(&ds);
        let transcript = transcript("unused");
        let opts = VerifyMdoc {
            trust_anchors: &[],
            transcript: &transcript,
            now: UnixTime(ANNEX_D_TIME),
            skew_secs: 0,
            doc_type: None,
        };
        check_validity(&mso, ds_validity, &opts).unwrap();
        let claims = disclosed_claims(&issuer_signed, &mso).unwrap();
        let mdl = &claims["org.iso.18013.5.1"];
        assert_eq!(mdl.len(), 6);
        assert_eq!(mdl["family_name"], Value::Text("Doe".into()));
        assert_eq!(mdl["document_number"], Value::Text("123456789".into()));
        // One altered byte in the portrait breaks its digest.
        let mut tampered = issuer_signed.clone();
        let items = tampered.namespaces.get_mut("org.iso.18013.5.1").unwrap();
        let portrait = items
            .iter_mut()
            .find(|i| element_id(i) == "portrait")
            .unwrap();
        let last = portrait.bytes.len() - 1;
        portrait.bytes[last] ^= 1;
        assert_eq!(
            disclosed_claims(&tampered, &mso).unwrap_err(),
            Error::Mdoc("digest mismatch for org.iso.18013.5.1/portrait".into())
        );
        // The example's DS certificate has expired; its chain has no configured IACA.
        assert!(matches!(
            validate_issuer_chain(&x5chain, &opts),
            Err(Error::UntrustedKey(_))
        ));
    }
}
