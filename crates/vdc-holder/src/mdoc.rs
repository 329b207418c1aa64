//! The holder side of `mso_mdoc` (ISO/IEC 18013-5): checking a received `IssuerSigned`
//! (OID4VCI 1.0 Appendix A.2), reading what a stored one holds (for DCQL matching, OID4VP
//! 1.0 Appendix B.2.3/B.2.4), and presenting it as a `DeviceResponse` signed over the
//! OID4VP session transcript (Appendix B.2.6.1).
//!
//! Trust: the wallet checks the issuer's signature with the key of the `x5chain` leaf, the
//! digests, the validity and the binding to the holder key, which is what protects the
//! holder (a tampered or foreign-bound credential is refused). It has no IACA trust store,
//! so it does not decide whether the issuer is trusted: the verifier does that against its
//! IACA anchors (ISO 18013-5 §9.3.1).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as Json};
use vdc_core::claims_path::{ClaimPath, PathElement};
use vdc_core::jose::{AlgorithmPolicy, PublicKey, Signer};
use vdc_core::mdoc::cbor::{self, MAX_CBOR_BYTES, Tagged24, Value};
use vdc_core::mdoc::device::{self, DeviceResponse};
use vdc_core::mdoc::{Handover, IssuerSigned, MobileSecurityObject, SessionTranscript};
use vdc_core::time::UnixTime;

use crate::error::{Error, Result, bounded};

/// Format identifier of ISO mdocs (OID4VCI 1.0 A.2.1, OID4VP 1.0 B.2).
pub const FORMAT_MSO_MDOC: &str = "mso_mdoc";

/// Largest base64url credential text decoded (the CBOR limit, as base64url, plus slack).
const MAX_TEXT_LEN: usize = MAX_CBOR_BYTES / 3 * 4 + 8;

fn reject(msg: impl Into<String>) -> Error {
    Error::InvalidCredential(vdc_core::Error::Claim(msg.into()))
}

/// Decodes a stored or received credential: base64url of the `IssuerSigned` CBOR (OID4VCI
/// 1.0 A.2.4: "the base64url-encoded representation of the CBOR-encoded `IssuerSigned`").
pub(crate) fn decode_issuer_signed(text: &str) -> Result<IssuerSigned> {
    if text.len() > MAX_TEXT_LEN {
        return Err(reject("mso_mdoc credential is too large"));
    }
    let bytes = vdc_core::base64url::decode(text).map_err(Error::InvalidCredential)?;
    IssuerSigned::from_cbor(&bytes).map_err(Error::InvalidCredential)
}

/// The MSO inside `issuerAuth`: its payload is `MobileSecurityObjectBytes`,
/// `#6.24(bstr .cbor MobileSecurityObject)` (ISO 18013-5 §9.1.2.4).
pub(crate) fn mso_of(issuer_signed: &IssuerSigned) -> Result<MobileSecurityObject> {
    let payload = issuer_signed
        .issuer_auth
        .payload
        .as_deref()
        .ok_or_else(|| reject("issuerAuth carries no payload"))?;
    let tagged = Tagged24::from_value(&cbor::decode(payload).map_err(Error::InvalidCredential)?)
        .map_err(Error::InvalidCredential)?;
    MobileSecurityObject::from_value(&tagged.value).map_err(Error::InvalidCredential)
}

/// One `IssuerSignedItem` (ISO 18013-5 §8.3.2.1.2.2): digestID, elementIdentifier and
/// elementValue.
fn item_parts(item: &Tagged24) -> Result<(u64, &str, &Value)> {
    let digest_id = cbor::map_get(&item.value, "digestID")
        .and_then(Value::as_integer)
        .and_then(|i| u64::try_from(i).ok())
        .ok_or_else(|| reject("IssuerSignedItem has no digestID"))?;
    let element = cbor::map_get(&item.value, "elementIdentifier")
        .and_then(Value::as_text)
        .ok_or_else(|| reject("IssuerSignedItem has no elementIdentifier"))?;
    let value = cbor::map_get(&item.value, "elementValue")
        .ok_or_else(|| reject("IssuerSignedItem has no elementValue"))?;
    Ok((digest_id, element, value))
}

/// What a received mdoc established.
#[derive(Debug, Clone)]
pub(crate) struct CheckedMdoc {
    /// `docType` of the MSO.
    pub(crate) doc_type: String,
    /// `deviceKeyInfo.deviceKey`: the key the credential is bound to.
    pub(crate) device_key: PublicKey,
}

/// Holder-side checks of a received mdoc (see the module docs): `issuerAuth` signed (ES256
/// or EdDSA, allowed by `policy`) by the key of its `x5chain` leaf, the MSO's `docType` the
/// configuration's `doctype` (OID4VCI 1.0 A.2.2), every item's digest in the MSO's
/// `valueDigests` (ISO 18013-5 §9.3.1), and `validFrom <= now < validUntil` within `skew`.
pub(crate) fn check_received(
    text: &str,
    expected_doctype: Option<&str>,
    policy: &AlgorithmPolicy,
    now: UnixTime,
    skew: i64,
) -> Result<(IssuerSigned, CheckedMdoc)> {
    let issuer_signed = decode_issuer_signed(text)?;
    let auth = &issuer_signed.issuer_auth;
    let alg = auth.algorithm().map_err(Error::InvalidCredential)?;
    if !policy.allowed().contains(&alg) {
        return Err(reject(format!(
            "issuerAuth algorithm {} is not allowed",
            alg.name()
        )));
    }
    let chain = auth.x5chain().map_err(Error::InvalidCredential)?;
    let leaf = chain
        .first()
        .ok_or_else(|| reject("issuerAuth has an empty x5chain"))?;
    let key = vdc_core::x509::leaf_public_key(leaf).map_err(Error::InvalidCredential)?;
    auth.verify(&key, None).map_err(Error::InvalidCredential)?;
    let mso = mso_of(&issuer_signed)?;
    match expected_doctype {
        Some(expected) if mso.doc_type != expected => {
            return Err(reject(format!(
                "docType {} is not the configuration's {}",
                bounded(&mso.doc_type),
                bounded(expected)
            )));
        }
        Some(_) => {}
        None => return Err(reject("the configuration names no doctype")),
    }
    // Spec: ISO 18013-5 §9.1.2.4: validFrom <= now < validUntil (with the wallet's skew).
    if now.secs().saturating_add(skew) < mso.validity.valid_from.secs() {
        return Err(reject("mso_mdoc is not yet valid"));
    }
    if now.secs().saturating_sub(skew) >= mso.validity.valid_until.secs() {
        return Err(reject("mso_mdoc has expired"));
    }
    // Spec: ISO 18013-5 §9.1.2.5 / §9.3.1: each digest is SHA-256 over the tag-24 item as
    // received, and must be the MSO's digest for that namespace and digestID.
    for (namespace, items) in &issuer_signed.namespaces {
        let digests = mso
            .value_digests
            .get(namespace)
            .ok_or_else(|| reject(format!("namespace {} has no digests", bounded(namespace))))?;
        let mut seen = BTreeSet::new();
        for item in items {
            let (id, element, _) = item_parts(item)?;
            if !seen.insert(id) {
                return Err(reject("a digestID is repeated"));
            }
            let digest = vdc_core::digest::sha256(&item.tagged_bytes());
            if digests.get(&id).map(Vec::as_slice) != Some(digest.as_slice()) {
                return Err(reject(format!(
                    "the digest of {}/{} does not match the MSO",
                    bounded(namespace),
                    bounded(element)
                )));
            }
        }
    }
    Ok((
        issuer_signed,
        CheckedMdoc {
            doc_type: mso.doc_type,
            device_key: mso.device_key,
        },
    ))
}

/// The elements of a stored mdoc as JSON, `{namespace: {element: value}}` (values per
/// [`cbor::to_json`]), which DCQL claims paths `[namespace, element]` select from.
pub(crate) fn elements_json(issuer_signed: &IssuerSigned) -> Result<Json> {
    let mut out = Map::new();
    for (namespace, items) in &issuer_signed.namespaces {
        let mut elements = Map::new();
        for item in items {
            let (_, element, value) = item_parts(item)?;
            elements.insert(element.to_owned(), cbor::to_json(value));
        }
        out.insert(namespace.clone(), Json::Object(elements));
    }
    Ok(Json::Object(out))
}

/// `[namespace, element]` of an mdoc claims path (OID4VP 1.0 B.2.4: "the path consists of
/// two elements", both strings); `None` for any other shape.
pub(crate) fn namespace_element(path: &ClaimPath) -> Option<(&str, &str)> {
    match path.elements() {
        [PathElement::Name(ns), PathElement::Name(element)] => Some((ns, element)),
        _ => None,
    }
}

/// What a presentation is bound to (OID4VP 1.0 B.2.6.1 `OpenID4VPHandoverInfo`).
pub(crate) struct Binding<'a> {
    /// The `client_id` request parameter, with its prefix.
    pub(crate) client_id: &'a str,
    /// The request's `nonce`.
    pub(crate) nonce: &'a str,
    /// The RFC 7638 thumbprint of the response-encryption key, when encrypted.
    pub(crate) jwk_thumbprint: Option<[u8; 32]>,
    /// The `response_uri`.
    pub(crate) response_uri: &'a str,
}

/// The vp_token entry of one mdoc (OID4VP 1.0 B.2.5: the base64url `DeviceResponse`): a
/// `Document` disclosing exactly `paths`, device-signed by `device_key` over the session
/// transcript of `binding`.
pub(crate) async fn present(
    credential: &str,
    doc_type: &str,
    paths: &[ClaimPath],
    binding: &Binding<'_>,
    device_key: &dyn Signer,
) -> Result<String> {
    let issuer_signed = decode_issuer_signed(credential)?;
    let mut disclose: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let (ns, element) = namespace_element(path).ok_or_else(|| {
            Error::InvalidPresentationRequest(
                "mso_mdoc claims paths must be [namespace, element]".into(),
            )
        })?;
        disclose
            .entry(ns.to_owned())
            .or_default()
            .insert(element.to_owned());
    }
    let transcript = SessionTranscript(Handover::Redirect {
        client_id: binding.client_id.to_owned(),
        nonce: binding.nonce.to_owned(),
        jwk_thumbprint: binding.jwk_thumbprint,
        response_uri: binding.response_uri.to_owned(),
    });
    let document =
        device::present(&issuer_signed, doc_type, &disclose, &transcript, device_key).await?;
    let response = DeviceResponse {
        documents: vec![document],
        status: 0,
    };
    Ok(vdc_core::base64url::encode(response.to_cbor()))
}

/// The raw SHA-256 JWK thumbprint (RFC 7638) of `key`, as the handover carries it.
pub(crate) fn thumbprint_bytes(key: &PublicKey) -> Result<[u8; 32]> {
    let bytes = vdc_core::base64url::decode(&key.thumbprint())?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| Error::InvalidPresentationRequest("JWK thumbprint is not 32 bytes".into()))
}

/// Mdocs for unit tests: an IACA, a Document Signer under it, and a signed `IssuerSigned`.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
    use vdc_core::mdoc::cbor::Value;
    use vdc_core::mdoc::{MdocToIssue, StatusRef, ValidityInfo};
    use vdc_core::rng::SeededRandom;
    use vdc_core::time::UnixTime;
    use vdc_core::x509;

    pub(crate) const DOCTYPE: &str = "org.iso.18013.5.1.mDL";
    pub(crate) const NS: &str = "org.iso.18013.5.1";
    pub(crate) const NOW: UnixTime = UnixTime(1_800_000_000);

    /// An issued mdoc.
    pub(crate) struct Issued {
        /// base64url `IssuerSigned`.
        pub(crate) credential: String,
        /// The holder (device) key.
        pub(crate) holder: SigningKey,
        /// The IACA certificate (DER).
        pub(crate) iaca: Vec<u8>,
    }

    /// `given_name` "Ada" and `age_over_18` true, valid for a day from [`NOW`].
    pub(crate) async fn issue(doc_type: &str, seed: u64) -> Issued {
        issue_with_status(doc_type, seed, None).await
    }

    /// As [`issue`], with an MSO `status`.
    pub(crate) async fn issue_with_status(
        doc_type: &str,
        seed: u64,
        status: Option<StatusRef>,
    ) -> Issued {
        let rng = SeededRandom::new(seed);
        let ca_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let iaca = x509::self_signed(
            &x509::CertificateSpec::new("Test IACA", NOW.plus(-3600), NOW.plus(86_400 * 365), &rng)
                .unwrap()
                .ca(),
            &ca_key,
        )
        .unwrap();
        let ds_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let ds = x509::issue(
            &x509::CertificateSpec::new("Test DS", NOW.plus(-3600), NOW.plus(86_400 * 30), &rng)
                .unwrap(),
            ds_key.public_key(),
            &iaca,
            &ca_key,
        )
        .unwrap();
        let signer = LocalSigner::new(ds_key).with_x5c(vec![ds]);
        let holder = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let mut namespaces = BTreeMap::new();
        namespaces.insert(
            NS.to_owned(),
            vec![
                ("given_name".to_owned(), Value::Text("Ada".into())),
                ("age_over_18".to_owned(), Value::Bool(true)),
            ],
        );
        let input = MdocToIssue {
            doc_type,
            namespaces: &namespaces,
            device_key: holder.public_key(),
            validity: ValidityInfo {
                signed: NOW,
                valid_from: NOW,
                valid_until: NOW.plus(86_400),
            },
            status,
        };
        let issued = vdc_core::mdoc::issue(&input, &signer, &rng).await.unwrap();
        Issued {
            credential: vdc_core::base64url::encode(issued.to_cbor()),
            holder,
            iaca,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{DOCTYPE, NOW, NS, issue};
    use super::*;
    use vdc_core::jose::{LocalSigner, SigningKey};
    use vdc_core::mdoc::{VerifyMdoc, verify_document};

    #[tokio::test]
    async fn a_received_mdoc_is_checked_for_doctype_digests_validity_and_signature() {
        let issued = issue(DOCTYPE, 1).await;
        let policy = AlgorithmPolicy::default();
        let (parsed, checked) =
            check_received(&issued.credential, Some(DOCTYPE), &policy, NOW, 60).unwrap();
        assert_eq!(checked.doc_type, DOCTYPE);
        assert_eq!(&checked.device_key, issued.holder.public_key());
        assert_eq!(
            elements_json(&parsed).unwrap(),
            serde_json::json!({NS: {"given_name": "Ada", "age_over_18": true}})
        );
        let refused = |r: Result<(IssuerSigned, CheckedMdoc)>| match r {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted"),
        };
        let e = refused(check_received(
            &issued.credential,
            Some("org.example.other"),
            &policy,
            NOW,
            60,
        ));
        assert!(e.contains("docType"), "{e}");
        let e = refused(check_received(&issued.credential, None, &policy, NOW, 60));
        assert!(e.contains("no doctype"), "{e}");
        let e = refused(check_received(
            &issued.credential,
            Some(DOCTYPE),
            &policy,
            NOW.plus(86_400 + 61),
            60,
        ));
        assert!(e.contains("expired"), "{e}");
        let e = refused(check_received(
            &issued.credential,
            Some(DOCTYPE),
            &policy,
            NOW.plus(-61),
            60,
        ));
        assert!(e.contains("not yet valid"), "{e}");
        // An item changed after signing (its digest no longer matches the MSO).
        let mut tampered = parsed.clone();
        let items = tampered.namespaces.get_mut(NS).unwrap();
        let mut value = items[0].value.clone();
        if let Value::Map(entries) = &mut value {
            for (k, v) in entries.iter_mut() {
                if k.as_text() == Some("elementValue") {
                    *v = Value::Text("Eve".into());
                }
            }
        }
        items[0] = Tagged24::wrap(value);
        let text = vdc_core::base64url::encode(tampered.to_cbor());
        let e = refused(check_received(&text, Some(DOCTYPE), &policy, NOW, 60));
        assert!(e.contains("digest"), "{e}");
        // Not base64url CBOR at all.
        assert!(check_received("eyJhbGciOi.x.y", Some(DOCTYPE), &policy, NOW, 60).is_err());
    }

    #[tokio::test]
    async fn a_presentation_discloses_only_the_requested_elements_bound_to_the_transcript() {
        let issued = issue(DOCTYPE, 2).await;
        let binding = Binding {
            client_id: "x509_san_dns:verifier.example",
            nonce: "n-1",
            jwk_thumbprint: Some([7u8; 32]),
            response_uri: "https://verifier.example/response",
        };
        let paths = vec![ClaimPath::from_value(&serde_json::json!([NS, "given_name"])).unwrap()];
        let signer = LocalSigner::new(
            SigningKey::from_private_jwk(
                &serde_json::from_str::<Json>(&issued.holder.to_private_jwk()).unwrap(),
            )
            .unwrap(),
        );
        let entry = present(&issued.credential, DOCTYPE, &paths, &binding, &signer)
            .await
            .unwrap();
        let response =
            DeviceResponse::from_cbor(&vdc_core::base64url::decode(&entry).unwrap()).unwrap();
        assert_eq!(response.status, 0);
        assert_eq!(response.documents.len(), 1);
        let transcript = SessionTranscript(Handover::Redirect {
            client_id: binding.client_id.into(),
            nonce: binding.nonce.into(),
            jwk_thumbprint: binding.jwk_thumbprint,
            response_uri: binding.response_uri.into(),
        });
        let anchors = vec![issued.iaca.clone()];
        let verified = verify_document(
            &response.documents[0],
            &VerifyMdoc {
                trust_anchors: &anchors,
                transcript: &transcript,
                now: NOW,
                skew_secs: 60,
                doc_type: Some(DOCTYPE),
            },
        )
        .unwrap();
        let ns = verified.claims.get(NS).unwrap();
        assert_eq!(ns.get("given_name"), Some(&Value::Text("Ada".into())));
        assert!(!ns.contains_key("age_over_18"));
        // Another nonce is another transcript: the device signature does not verify.
        let other = SessionTranscript(Handover::Redirect {
            client_id: binding.client_id.into(),
            nonce: "n-2".into(),
            jwk_thumbprint: binding.jwk_thumbprint,
            response_uri: binding.response_uri.into(),
        });
        assert!(
            verify_document(
                &response.documents[0],
                &VerifyMdoc {
                    trust_anchors: &anchors,
                    transcript: &other,
                    now: NOW,
                    skew_secs: 60,
                    doc_type: Some(DOCTYPE),
                },
            )
            .is_err()
        );
        // A path that is not [namespace, element] is refused.
        let bad = vec![ClaimPath::from_value(&serde_json::json!([NS])).unwrap()];
        assert!(
            present(&issued.credential, DOCTYPE, &bad, &binding, &signer)
                .await
                .is_err()
        );
    }

    #[test]
    fn thumbprints_are_the_raw_rfc7638_digest() {
        let (x, y) = (
            "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        );
        let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y});
        let key = vdc_core::jose::Jwk::from_value(&jwk).unwrap().key;
        // Spec: RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        assert_eq!(
            thumbprint_bytes(&key).unwrap(),
            vdc_core::digest::sha256(canonical.as_bytes())
        );
    }
}
