//! DeviceResponse (ISO 18013-5 §8.3.2.1.2.2) and device authentication (§9.1.3) by
//! signature; what a wallet builds and a verifier reads (OID4VP 1.0 B.2: the `vp_token`
//! entry is the base64url DeviceResponse).

use std::collections::{BTreeMap, BTreeSet};

use crate::Result;
use crate::error::Error;
use crate::jose::Signer;
use crate::mdoc::cbor::{Tagged24, Value, map_get};
use crate::mdoc::cose::{CoseSign1, Headers};
use crate::mdoc::issue::IssuerSigned;
use crate::mdoc::transcript::SessionTranscript;

/// `DeviceSigned` with a `deviceSignature` (deviceMac needs a reader key OID4VP lacks).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSigned {
    /// `nameSpaces` (`DeviceNameSpacesBytes`, usually an empty map).
    pub namespaces: Tagged24,
    /// `deviceAuth.deviceSignature`, payload detached.
    pub device_signature: CoseSign1,
}

/// One `Document`.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `docType`.
    pub doc_type: String,
    /// `issuerSigned` with only the disclosed items.
    pub issuer_signed: IssuerSigned,
    /// `deviceSigned`.
    pub device_signed: DeviceSigned,
}

/// A `DeviceResponse` (`version` "1.0", `status` 0 when built here).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceResponse {
    /// `documents`.
    pub documents: Vec<Document>,
    /// `status`.
    pub status: u64,
}

/// The most documents one `DeviceResponse` may carry (a DCQL query names few credentials;
/// the byte bound of [`crate::mdoc::cbor::decode`] holds too).
pub const MAX_DOCUMENTS: usize = 16;

/// The map entries of `value`, or `Malformed` naming `what`.
fn map_entries<'a>(value: &'a Value, what: &str) -> Result<&'a [(Value, Value)]> {
    match value {
        Value::Map(entries) => Ok(entries),
        _ => Err(Error::malformed(format!("{what} is not a map"))),
    }
}

/// The member `key` of the map `value`, required.
fn required<'a>(value: &'a Value, key: &str, what: &str) -> Result<&'a Value> {
    map_get(value, key).ok_or_else(|| Error::malformed(format!("{what} has no {key}")))
}

fn text<'a>(value: &'a Value, what: &str) -> Result<&'a str> {
    match value {
        Value::Text(t) => Ok(t),
        _ => Err(Error::malformed(format!("{what} is not a text string"))),
    }
}

fn text_key(key: &str) -> Value {
    Value::Text(key.to_owned())
}

impl DeviceResponse {
    /// The CBOR map.
    pub fn to_value(&self) -> Value {
        // Spec: ISO 18013-5 §8.3.2.1.2.2: DeviceResponse = {"version": tstr, ? "documents":
        // [+ Document], ? "documentErrors": [+ DocumentError], "status": uint}.
        Value::Map(vec![
            (text_key("version"), text_key("1.0")),
            (
                text_key("documents"),
                Value::Array(self.documents.iter().map(Document::to_value).collect()),
            ),
            (text_key("status"), Value::Integer(self.status.into())),
        ])
    }
    /// Reads one strictly (deviceMac refused with a reason).
    pub fn from_value(value: &Value) -> Result<Self> {
        map_entries(value, "DeviceResponse")?;
        let version = text(
            required(value, "version", "DeviceResponse")?,
            "DeviceResponse version",
        )?;
        // Spec: ISO 18013-5 §8.3.2.1.2.2: "version" is "1.0"; a later minor version stays
        // compatible (same major), another major is another structure.
        if !version.starts_with("1.") {
            return Err(Error::malformed(format!(
                "DeviceResponse version {version:?} is not 1.x"
            )));
        }
        let status = match required(value, "status", "DeviceResponse")? {
            Value::Integer(i) => u64::try_from(*i)
                .map_err(|_| Error::malformed("DeviceResponse status is not a uint"))?,
            _ => return Err(Error::malformed("DeviceResponse status is not a uint")),
        };
        // "documents" is optional (a response may carry only documentErrors); such a
        // response presents nothing, which the caller sees as an empty list.
        let documents = match map_get(value, "documents") {
            None => Vec::new(),
            Some(Value::Array(docs)) => {
                if docs.len() > MAX_DOCUMENTS {
                    return Err(Error::TooLarge(format!(
                        "DeviceResponse has {} documents, at most {MAX_DOCUMENTS} are read",
                        docs.len()
                    )));
                }
                docs.iter()
                    .map(Document::from_value)
                    .collect::<Result<Vec<_>>>()?
            }
            Some(_) => return Err(Error::malformed("DeviceResponse documents is not an array")),
        };
        // "documentErrors" (docType → error code for documents not returned) is tolerated and
        // not kept: it carries nothing to verify.
        if let Some(errors) = map_get(value, "documentErrors")
            && !matches!(errors, Value::Array(_))
        {
            return Err(Error::malformed(
                "DeviceResponse documentErrors is not an array",
            ));
        }
        Ok(Self { documents, status })
    }
    /// Encoded bytes.
    pub fn to_cbor(&self) -> Vec<u8> {
        crate::mdoc::cbor::encode(&self.to_value())
    }
    /// Decodes bytes strictly.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self> {
        Self::from_value(&crate::mdoc::cbor::decode(bytes)?)
    }
}

impl Document {
    /// The CBOR map (ISO 18013-5 §8.3.2.1.2.2 `Document`).
    pub fn to_value(&self) -> Value {
        let device_auth = Value::Map(vec![(
            text_key("deviceSignature"),
            self.device_signed.device_signature.to_value(),
        )]);
        let device_signed = Value::Map(vec![
            (
                text_key("nameSpaces"),
                self.device_signed.namespaces.to_value(),
            ),
            (text_key("deviceAuth"), device_auth),
        ]);
        Value::Map(vec![
            (text_key("docType"), Value::Text(self.doc_type.clone())),
            (text_key("issuerSigned"), self.issuer_signed.to_value()),
            (text_key("deviceSigned"), device_signed),
        ])
    }

    /// Reads a `Document`; `errors` (elements not returned) is tolerated, `deviceMac`
    /// refused.
    pub fn from_value(value: &Value) -> Result<Self> {
        map_entries(value, "Document")?;
        let doc_type = text(required(value, "docType", "Document")?, "docType")?.to_owned();
        let issuer_signed = IssuerSigned::from_value(required(value, "issuerSigned", "Document")?)?;
        let device_signed = required(value, "deviceSigned", "Document")?;
        map_entries(device_signed, "deviceSigned")?;
        // Spec: ISO 18013-5 §8.3.2.1.2.2: DeviceSigned = {"nameSpaces": DeviceNameSpacesBytes,
        // "deviceAuth": DeviceAuth}, DeviceNameSpacesBytes = #6.24(bstr .cbor DeviceNameSpaces).
        let namespaces =
            Tagged24::from_value(required(device_signed, "nameSpaces", "deviceSigned")?)?;
        let device_auth = required(device_signed, "deviceAuth", "deviceSigned")?;
        map_entries(device_auth, "deviceAuth")?;
        // Spec: ISO 18013-5 §9.1.3.4: DeviceAuth = {"deviceSignature": DeviceSignature //
        // "deviceMac": DeviceMac}: exactly one of them.
        let signature = map_get(device_auth, "deviceSignature");
        let mac = map_get(device_auth, "deviceMac");
        let device_signature = match (signature, mac) {
            (Some(_), Some(_)) => {
                return Err(Error::malformed(
                    "deviceAuth has both deviceSignature and deviceMac",
                ));
            }
            (None, Some(_)) => {
                // §9.1.3.5: the MAC key comes from ECDH with the reader's ephemeral key
                // (EReaderKey), which an OID4VP session (EReaderKeyBytes null) lacks.
                return Err(Error::Mdoc(
                    "deviceMac needs a reader key, which OID4VP does not have (use \
                     deviceSignature)"
                        .into(),
                ));
            }
            (None, None) => return Err(Error::malformed("deviceAuth has no deviceSignature")),
            (Some(sig), None) => CoseSign1::from_value(sig)?,
        };
        Ok(Self {
            doc_type,
            issuer_signed,
            device_signed: DeviceSigned {
                namespaces,
                device_signature,
            },
        })
    }
}

/// `DeviceAuthenticationBytes` (§9.1.3.4): `#6.24(bstr .cbor ["DeviceAuthentication",
/// SessionTranscript, DocType, DeviceNameSpacesBytes])`, encoded: the detached payload.
pub fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    namespaces: &Tagged24,
) -> Vec<u8> {
    // Spec: ISO 18013-5 §9.1.3.4: DeviceAuthentication = ["DeviceAuthentication",
    // SessionTranscript, DocType, DeviceNameSpacesBytes]; DeviceAuthenticationBytes =
    // #6.24(bstr .cbor DeviceAuthentication), which §9.1.3.6 signs as the detached payload.
    Tagged24::wrap(Value::Array(vec![
        text_key("DeviceAuthentication"),
        transcript.to_value(),
        Value::Text(doc_type.to_owned()),
        namespaces.to_value(),
    ]))
    .tagged_bytes()
}

/// A wallet's `Document`: the items of `disclose` (namespace → element identifiers) kept,
/// every other item left out, signed by the device key over `transcript`.
pub async fn present(
    issuer_signed: &IssuerSigned,
    doc_type: &str,
    disclose: &BTreeMap<String, BTreeSet<String>>,
    transcript: &SessionTranscript,
    device_key: &dyn Signer,
) -> Result<Document> {
    let mut namespaces = BTreeMap::new();
    for (namespace, wanted) in disclose {
        if wanted.is_empty() {
            // IssuerNameSpaces holds [+ IssuerSignedItemBytes]: no empty namespace entries.
            continue;
        }
        let items = issuer_signed.namespaces.get(namespace).ok_or_else(|| {
            Error::Claim(format!("namespace {namespace} is not in the credential"))
        })?;
        let mut found = BTreeSet::new();
        let mut kept = Vec::new();
        for item in items {
            let Some(Value::Text(id)) = map_get(&item.value, "elementIdentifier") else {
                return Err(Error::malformed(
                    "IssuerSignedItem has no text elementIdentifier",
                ));
            };
            if wanted.contains(id) {
                found.insert(id.as_str());
                // The item as issued, bytes and all: the MSO digests those bytes.
                kept.push(item.clone());
            }
        }
        if let Some(missing) = wanted.iter().find(|w| !found.contains(w.as_str())) {
            return Err(Error::Claim(format!(
                "element {namespace}/{missing} is not in the credential"
            )));
        }
        namespaces.insert(namespace.clone(), kept);
    }
    // No device-signed elements: DeviceNameSpaces is the empty map.
    let device_namespaces = Tagged24::wrap(Value::Map(Vec::new()));
    let payload = device_authentication_bytes(transcript, doc_type, &device_namespaces);
    // Spec: ISO 18013-5 §9.1.3.6: DeviceSignature is a COSE_Sign1 with a detached payload
    // (DeviceAuthenticationBytes).
    let device_signature = CoseSign1::sign(device_key, &Headers::default(), &payload, true).await?;
    Ok(Document {
        doc_type: doc_type.to_owned(),
        issuer_signed: IssuerSigned {
            namespaces,
            issuer_auth: issuer_signed.issuer_auth.clone(),
        },
        device_signed: DeviceSigned {
            namespaces: device_namespaces,
            device_signature,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::mdoc::cbor::{decode, encode};
    use crate::mdoc::verify::tests::{DOC_TYPE, NS, disclose, fixture, transcript};

    fn element_ids(items: &[Tagged24]) -> BTreeSet<String> {
        items
            .iter()
            .map(|i| match map_get(&i.value, "elementIdentifier") {
                Some(Value::Text(t)) => t.clone(),
                _ => panic!("no elementIdentifier"),
            })
            .collect()
    }

    fn set_member(value: &mut Value, key: &str, member: Value) {
        let Value::Map(entries) = value else {
            panic!("not a map")
        };
        entries.retain(|(k, _)| *k != Value::Text(key.into()));
        entries.push((Value::Text(key.into()), member));
    }

    fn member<'a>(value: &'a mut Value, key: &str) -> &'a mut Value {
        let Value::Map(entries) = value else {
            panic!("not a map")
        };
        entries
            .iter_mut()
            .find(|(k, _)| *k == Value::Text(key.into()))
            .map(|(_, v)| v)
            .unwrap()
    }

    #[tokio::test]
    async fn present_keeps_only_the_disclosed_items_byte_for_byte() {
        let f = fixture().await;
        let doc = present(
            &f.issued,
            DOC_TYPE,
            &disclose(&["given_name", "document_number"]),
            &transcript("n"),
            &f.device,
        )
        .await
        .unwrap();
        let kept = &doc.issuer_signed.namespaces[NS];
        assert_eq!(
            element_ids(kept),
            BTreeSet::from(["given_name".to_owned(), "document_number".to_owned()])
        );
        // Every kept item is one of the issued items, bytes unchanged.
        for item in kept {
            assert!(f.issued.namespaces[NS].contains(item));
        }
        assert_eq!(doc.issuer_signed.issuer_auth, f.issued.issuer_auth);
        assert_eq!(doc.device_signed.namespaces.value, Value::Map(Vec::new()));
        assert_eq!(doc.device_signed.device_signature.payload, None);
        // The detached payload is DeviceAuthenticationBytes over this transcript.
        let payload =
            device_authentication_bytes(&transcript("n"), DOC_TYPE, &doc.device_signed.namespaces);
        doc.device_signed
            .device_signature
            .verify(f.device.key().public_key(), Some(&payload))
            .unwrap();
    }

    #[tokio::test]
    async fn present_refuses_elements_the_credential_lacks() {
        let f = fixture().await;
        let err = present(
            &f.issued,
            DOC_TYPE,
            &disclose(&["family_name", "height"]),
            &transcript("n"),
            &f.device,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err,
            Error::Claim(format!("element {NS}/height is not in the credential"))
        );
        let other_ns =
            BTreeMap::from([("org.example".to_owned(), BTreeSet::from(["x".to_owned()]))]);
        let err = present(&f.issued, DOC_TYPE, &other_ns, &transcript("n"), &f.device)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Claim(_)), "{err:?}");
    }

    #[test]
    fn device_authentication_bytes_are_the_tagged_iso_structure() {
        let namespaces = Tagged24::wrap(Value::Map(Vec::new()));
        let bytes = device_authentication_bytes(&transcript("n"), DOC_TYPE, &namespaces);
        // #6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript, DocType,
        // DeviceNameSpacesBytes]) (ISO 18013-5 §9.1.3.4).
        let outer = Tagged24::from_value(&decode(&bytes).unwrap()).unwrap();
        assert_eq!(
            outer.value,
            Value::Array(vec![
                Value::Text("DeviceAuthentication".into()),
                transcript("n").to_value(),
                Value::Text(DOC_TYPE.into()),
                Value::Tag(24, Box::new(Value::Bytes(vec![0xa0]))),
            ])
        );
        assert_ne!(
            bytes,
            device_authentication_bytes(&transcript("m"), DOC_TYPE, &namespaces)
        );
    }

    #[tokio::test]
    async fn device_response_round_trips_and_tolerates_document_errors() {
        let f = fixture().await;
        let doc = present(
            &f.issued,
            DOC_TYPE,
            &disclose(&["family_name"]),
            &transcript("n"),
            &f.device,
        )
        .await
        .unwrap();
        let response = DeviceResponse {
            documents: vec![doc],
            status: 0,
        };
        let bytes = response.to_cbor();
        assert_eq!(DeviceResponse::from_cbor(&bytes).unwrap(), response);

        let mut value = decode(&bytes).unwrap();
        set_member(
            &mut value,
            "documentErrors",
            Value::Array(vec![Value::Map(vec![(
                Value::Text("org.example".into()),
                Value::Integer(0.into()),
            )])]),
        );
        assert_eq!(DeviceResponse::from_value(&value).unwrap(), response);

        set_member(&mut value, "version", Value::Text("1.1".into()));
        assert!(DeviceResponse::from_value(&value).is_ok());
        set_member(&mut value, "version", Value::Text("2.0".into()));
        assert!(matches!(
            DeviceResponse::from_value(&value),
            Err(Error::Malformed(_))
        ));
        set_member(&mut value, "version", Value::Text("1.0".into()));
        set_member(&mut value, "status", Value::Integer((-1).into()));
        assert!(matches!(
            DeviceResponse::from_value(&value),
            Err(Error::Malformed(_))
        ));
        for bad in [
            Value::Null,
            Value::Array(Vec::new()),
            Value::Map(Vec::new()),
        ] {
            assert!(DeviceResponse::from_value(&bad).is_err());
        }
    }

    #[tokio::test]
    async fn device_mac_is_refused_with_a_reason() {
        let f = fixture().await;
        let doc = present(
            &f.issued,
            DOC_TYPE,
            &disclose(&["family_name"]),
            &transcript("n"),
            &f.device,
        )
        .await
        .unwrap();
        let mut value = doc.to_value();
        let signature = doc.device_signed.device_signature.to_value();
        let device_auth = member(member(&mut value, "deviceSigned"), "deviceAuth");
        // A COSE_Mac0 in place of the signature.
        *device_auth = Value::Map(vec![(Value::Text("deviceMac".into()), signature.clone())]);
        let expected = Error::Mdoc(
            "deviceMac needs a reader key, which OID4VP does not have (use deviceSignature)".into(),
        );
        assert_eq!(Document::from_value(&value).unwrap_err(), expected);
        let response = Value::Map(vec![
            (Value::Text("version".into()), Value::Text("1.0".into())),
            (
                Value::Text("documents".into()),
                Value::Array(vec![value.clone()]),
            ),
            (Value::Text("status".into()), Value::Integer(0.into())),
        ]);
        assert_eq!(
            DeviceResponse::from_cbor(&encode(&response)).unwrap_err(),
            expected
        );
        // Both at once is malformed; neither too.
        let device_auth = member(member(&mut value, "deviceSigned"), "deviceAuth");
        set_member(device_auth, "deviceSignature", signature);
        assert!(matches!(
            Document::from_value(&value),
            Err(Error::Malformed(_))
        ));
        let device_auth = member(member(&mut value, "deviceSigned"), "deviceAuth");
        *device_auth = Value::Map(Vec::new());
        assert!(matches!(
            Document::from_value(&value),
            Err(Error::Malformed(_))
        ));
    }
}
