//! Session transcripts for OID4VP 1.0 Appendix B.2.6: `[null, null, Handover]`.

use crate::digest::sha256;
use crate::mdoc::cbor::{Value, encode};

/// The handover of an OID4VP presentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// B.2.6.1 `OpenID4VPHandover` (redirects): `["OpenID4VPHandover", sha256(cbor(
    /// [client_id, nonce, jwk_thumbprint / null, response_uri]))]`.
    Redirect {
        /// The full client identifier.
        client_id: String,
        /// The request nonce.
        nonce: String,
        /// The JWK SHA-256 thumbprint (raw 32 bytes) of the response-encryption key, when
        /// the response is encrypted.
        jwk_thumbprint: Option<[u8; 32]>,
        /// The `response_uri`.
        response_uri: String,
    },
    /// B.2.6.2 `OpenID4VPDCAPIHandover`: `["OpenID4VPDCAPIHandover", sha256(cbor(
    /// [origin, nonce, jwk_thumbprint / null]))]`.
    DcApi {
        /// The web origin.
        origin: String,
        /// The request nonce.
        nonce: String,
        /// As above.
        jwk_thumbprint: Option<[u8; 32]>,
    },
}

impl Handover {
    /// The handover array: `[identifier, sha256(encode(info))]`.
    pub fn to_value(&self) -> Value {
        let thumbprint = |t: &Option<[u8; 32]>| match t {
            Some(t) => Value::Bytes(t.to_vec()),
            None => Value::Null,
        };
        let (identifier, info) = match self {
            // Spec: OID4VP 1.0 B.2.6.1: OpenID4VPHandoverInfo = [clientId, nonce,
            // jwkThumbprint (bstr, or null when the response is not encrypted), responseUri].
            Self::Redirect {
                client_id,
                nonce,
                jwk_thumbprint,
                response_uri,
            } => (
                "OpenID4VPHandover",
                Value::Array(vec![
                    Value::Text(client_id.clone()),
                    Value::Text(nonce.clone()),
                    thumbprint(jwk_thumbprint),
                    Value::Text(response_uri.clone()),
                ]),
            ),
            // Spec: OID4VP 1.0 B.2.6.2: OpenID4VPDCAPIHandoverInfo = [origin, nonce,
            // jwkThumbprint (bstr for dc_api.jwt, null for dc_api)].
            Self::DcApi {
                origin,
                nonce,
                jwk_thumbprint,
            } => (
                "OpenID4VPDCAPIHandover",
                Value::Array(vec![
                    Value::Text(origin.clone()),
                    Value::Text(nonce.clone()),
                    thumbprint(jwk_thumbprint),
                ]),
            ),
        };
        // Spec: B.2.6.1/B.2.6.2: the second element "MUST be a Byte String which contains the
        // sha-256 hash of the bytes of [the Info] when encoded as CBOR".
        let hash = sha256(&encode(&info));
        Value::Array(vec![
            Value::Text(identifier.to_owned()),
            Value::Bytes(hash.to_vec()),
        ])
    }
}

/// `SessionTranscript`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTranscript(pub Handover);

impl SessionTranscript {
    /// `[null, null, handover]`.
    pub fn to_value(&self) -> Value {
        // Spec: OID4VP 1.0 B.2.6.1/B.2.6.2: ISO 18013-5 §9.1.5.1's SessionTranscript with
        // `DeviceEngagementBytes` and `EReaderKeyBytes` null.
        Value::Array(vec![Value::Null, Value::Null, self.0.to_value()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        s.as_bytes()
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    /// The JWK thumbprint of OID4VP 1.0 B.2.6's example encryption key.
    fn example_thumbprint() -> [u8; 32] {
        hex("4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047")
            .try_into()
            .unwrap()
    }

    const NONCE: &str = "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA";

    #[test]
    fn redirect_transcript_is_the_b_2_6_1_example() {
        let transcript = SessionTranscript(Handover::Redirect {
            client_id: "x509_san_dns:example.com".into(),
            nonce: NONCE.into(),
            jwk_thumbprint: Some(example_thumbprint()),
            response_uri: "https://example.com/response".into(),
        });
        // OID4VP 1.0 B.2.6.1, "non-normative example of the SessionTranscript structure".
        assert_eq!(
            encode(&transcript.to_value()),
            hex(
                "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e
                 ed494cefdd9d95240d254b046b11b68013722aad38ac"
            )
        );
        assert_eq!(
            encode(&transcript.0.to_value()),
            hex(
                "82714f70656e494434565048616e646f7665725820048bc053c00442af9b8eed494c
                 efdd9d95240d254b046b11b68013722aad38ac"
            )
        );
    }

    #[test]
    fn dc_api_transcript_is_the_b_2_6_2_example() {
        let transcript = SessionTranscript(Handover::DcApi {
            origin: "https://example.com".into(),
            nonce: NONCE.into(),
            jwk_thumbprint: Some(example_thumbprint()),
        });
        // OID4VP 1.0 B.2.6.2, "non-normative example of the SessionTranscript structure".
        assert_eq!(
            encode(&transcript.to_value()),
            hex(
                "83f6f682764f70656e4944345650444341504948616e646f7665725820fbece366f4
                 212f9762c74cfdbf83b8c69e371d5d68cea09cb4c48ca6daab761a"
            )
        );
    }

    #[test]
    fn unencrypted_responses_put_null_for_the_thumbprint() {
        let with = |t| {
            SessionTranscript(Handover::Redirect {
                client_id: "x509_san_dns:example.com".into(),
                nonce: NONCE.into(),
                jwk_thumbprint: t,
                response_uri: "https://example.com/response".into(),
            })
            .to_value()
        };
        // The OpenID4VPHandoverInfo with null in third place, hashed.
        let info = Value::Array(vec![
            Value::Text("x509_san_dns:example.com".into()),
            Value::Text(NONCE.into()),
            Value::Null,
            Value::Text("https://example.com/response".into()),
        ]);
        let expected = Value::Array(vec![
            Value::Null,
            Value::Null,
            Value::Array(vec![
                Value::Text("OpenID4VPHandover".into()),
                Value::Bytes(sha256(&encode(&info)).to_vec()),
            ]),
        ]);
        assert_eq!(with(None), expected);
        assert_ne!(with(Some(example_thumbprint())), expected);
    }
}
