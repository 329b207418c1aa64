//! COSE_Sign1 (RFC 9052 §4.2) with ES256 (-7) and EdDSA (-8), the `x5chain` header (RFC 9360,
//! label 33), and COSE_Key (RFC 9052 §7) for P-256 and Ed25519 public keys.

use crate::Result;
use crate::error::Error;
use crate::jose::{Algorithm, PublicKey, Signer};
use crate::mdoc::cbor::{self, Value};

/// Header labels (RFC 9052 §3.1, RFC 9360 §2, RFC 9596 §2).
const ALG: i64 = 1;
const CRIT: i64 = 2;
const KID: i64 = 4;
const TYP: i64 = 16;
const X5CHAIN: i64 = 33;

/// COSE algorithm identifiers (RFC 9053 §2.1, §2.2).
const ES256: i64 = -7;
const EDDSA: i64 = -8;

/// The CBOR tag of COSE_Sign1 (RFC 9052 §2).
const TAG_SIGN1: u64 = 18;

/// Both supported algorithms sign with 64 bytes (RFC 9053 §2.1: `r || s` of 32 bytes each;
/// RFC 8032 §5.1.6).
const SIGNATURE_LEN: usize = 64;

/// COSE_Key labels and values (RFC 9052 §7.1, RFC 9053 §7.1, §7.2).
const KTY: i64 = 1;
const KEY_ALG: i64 = 3;
const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;
const D: i64 = -4;
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const CRV_P256: i64 = 1;
const CRV_ED25519: i64 = 6;

/// A COSE_Sign1 as received or made: the protected header's exact bytes are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct CoseSign1 {
    /// The protected header bucket exactly as encoded (a bstr's content).
    pub protected: Vec<u8>,
    /// The unprotected header map.
    pub unprotected: Vec<(Value, Value)>,
    /// The payload; `None` when detached (DeviceSignature, ISO 18013-5 §9.1.3.6).
    pub payload: Option<Vec<u8>>,
    /// The signature (`r || s` for ES256).
    pub signature: Vec<u8>,
}

/// Header members vdc sets when signing (the alg comes from the signer).
#[derive(Debug, Clone, Default)]
pub struct Headers {
    /// `x5chain` (label 33), leaf first; in the unprotected bucket as ISO 18013-5 §9.1.2.4 puts it.
    pub x5chain: Option<Vec<Vec<u8>>>,
    /// `typ` (label 16, RFC 9596) in the protected bucket, e.g. `application/statuslist+cwt`.
    pub typ: Option<String>,
    /// `kid` (label 4) in the protected bucket.
    pub kid: Option<Vec<u8>>,
}

fn int(n: i64) -> Value {
    Value::Integer(n.into())
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

/// The value at integer label `label`; two entries with that label are refused.
fn label(map: &[(Value, Value)], label: i64) -> Result<Option<&Value>> {
    let mut found = None;
    for (k, v) in map {
        if as_int(k) == Some(label) {
            if found.is_some() {
                return Err(Error::malformed(format!("duplicate COSE label {label}")));
            }
            found = Some(v);
        }
    }
    Ok(found)
}

/// `Sig_structure` for COSE_Sign1 (RFC 9052 §4.4): context "Signature1", the protected
/// bucket's bytes as received, an empty external_aad, and the payload.
fn to_be_signed(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor::encode(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// Decodes a protected bucket: empty bytes are the empty map (RFC 9052 §3), anything else
/// must decode strictly to a map.
fn decode_protected(bytes: &[u8]) -> Result<Vec<(Value, Value)>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    match cbor::decode(bytes)? {
        Value::Map(m) => Ok(m),
        _ => Err(Error::malformed("COSE protected header is not a map")),
    }
}

impl CoseSign1 {
    /// Signs `payload`; `detached` leaves the payload out (nil) but signs over it.
    pub async fn sign(
        signer: &dyn Signer,
        headers: &Headers,
        payload: &[u8],
        detached: bool,
    ) -> Result<Self> {
        let alg = match signer.algorithm() {
            Algorithm::Es256 => ES256,
            Algorithm::EdDsa => EDDSA,
        };
        // Spec: RFC 9052 §3.1: alg belongs in the protected bucket so it is signed.
        let mut protected = vec![(int(ALG), int(alg))];
        if let Some(kid) = &headers.kid {
            protected.push((int(KID), Value::Bytes(kid.clone())));
        }
        if let Some(typ) = &headers.typ {
            protected.push((int(TYP), Value::Text(typ.clone())));
        }
        let protected = cbor::encode(&Value::Map(protected));
        let mut unprotected = Vec::new();
        if let Some(chain) = headers.x5chain.as_ref().filter(|c| !c.is_empty()) {
            // Spec: RFC 9360 §2: one certificate as a bstr, several as an array of bstr.
            let value = match chain.as_slice() {
                [one] => Value::Bytes(one.clone()),
                many => Value::Array(many.iter().cloned().map(Value::Bytes).collect()),
            };
            unprotected.push((int(X5CHAIN), value));
        }
        let signature = signer.sign(&to_be_signed(&protected, payload)).await?;
        Ok(Self {
            protected,
            unprotected,
            payload: (!detached).then(|| payload.to_vec()),
            signature,
        })
    }
    /// Reads `[protected, unprotected, payload, signature]`, tagged 18 or not.
    pub fn from_value(value: &Value) -> Result<Self> {
        let value = match value {
            Value::Tag(TAG_SIGN1, inner) => inner.as_ref(),
            Value::Tag(tag, _) => {
                return Err(Error::malformed(format!(
                    "COSE_Sign1 carries tag {tag}, not 18"
                )));
            }
            other => other,
        };
        let Value::Array(parts) = value else {
            return Err(Error::malformed("COSE_Sign1 is not an array"));
        };
        let [protected, unprotected, payload, signature] = parts.as_slice() else {
            return Err(Error::malformed("COSE_Sign1 must have four members"));
        };
        let Value::Bytes(protected) = protected else {
            return Err(Error::malformed("COSE protected header is not a bstr"));
        };
        let protected_map = decode_protected(protected)?;
        let Value::Map(unprotected) = unprotected else {
            return Err(Error::malformed("COSE unprotected header is not a map"));
        };
        // Spec: RFC 9052 §3: a label MUST NOT occur in both buckets (nor twice in one).
        let mut labels = std::collections::HashSet::new();
        for (k, _) in protected_map.iter().chain(unprotected.iter()) {
            if !labels.insert(cbor::encode(k)) {
                return Err(Error::malformed("COSE header label repeated"));
            }
        }
        let payload = match payload {
            Value::Bytes(b) => Some(b.clone()),
            Value::Null => None,
            _ => return Err(Error::malformed("COSE payload is neither bstr nor nil")),
        };
        let Value::Bytes(signature) = signature else {
            return Err(Error::malformed("COSE signature is not a bstr"));
        };
        if signature.len() != SIGNATURE_LEN {
            return Err(Error::malformed(format!(
                "COSE signature must be {SIGNATURE_LEN} bytes"
            )));
        }
        Ok(Self {
            protected: protected.clone(),
            unprotected: unprotected.clone(),
            payload,
            signature: signature.clone(),
        })
    }
    /// The untagged array form (as ISO 18013-5 embeds it).
    pub fn to_value(&self) -> Value {
        Value::Array(vec![
            Value::Bytes(self.protected.clone()),
            Value::Map(self.unprotected.clone()),
            self.payload.clone().map_or(Value::Null, Value::Bytes),
            Value::Bytes(self.signature.clone()),
        ])
    }
    /// The protected `alg` (label 1), only ES256 and EdDSA; anything else is refused.
    pub fn algorithm(&self) -> Result<Algorithm> {
        let protected = decode_protected(&self.protected)?;
        // Spec: RFC 9052 §3.1: an alg only in the unprotected bucket is not signed; it is
        // treated as absent (and then refused).
        match label(&protected, ALG)? {
            Some(v) => match as_int(v) {
                Some(ES256) => Ok(Algorithm::Es256),
                Some(EDDSA) => Ok(Algorithm::EdDsa),
                Some(n) => Err(Error::AlgorithmNotAllowed(format!("COSE alg {n}"))),
                None => Err(Error::AlgorithmNotAllowed(
                    "COSE alg is not a known integer".into(),
                )),
            },
            None => Err(Error::AlgorithmNotAllowed(
                "COSE protected header has no alg".into(),
            )),
        }
    }
    /// The `x5chain` (protected or unprotected, one bstr or an array), leaf first.
    pub fn x5chain(&self) -> Result<Vec<Vec<u8>>> {
        let protected = decode_protected(&self.protected)?;
        let value = match label(&protected, X5CHAIN)? {
            Some(v) => v,
            None => label(&self.unprotected, X5CHAIN)?
                .ok_or_else(|| Error::malformed("COSE_Sign1 has no x5chain"))?,
        };
        match value {
            Value::Bytes(cert) => Ok(vec![cert.clone()]),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|c| match c {
                    Value::Bytes(cert) => Ok(cert.clone()),
                    _ => Err(Error::malformed("x5chain entry is not a bstr")),
                })
                .collect(),
            _ => Err(Error::malformed(
                "x5chain is neither a bstr nor a non-empty array",
            )),
        }
    }
    /// The protected `typ` (label 16), if any.
    pub fn typ(&self) -> Result<Option<String>> {
        let protected = decode_protected(&self.protected)?;
        match label(&protected, TYP)? {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            // RFC 9596 also allows a CoAP content-format uint; vdc only uses media types.
            Some(_) => Err(Error::malformed("COSE typ is not a text string")),
        }
    }
    /// Verifies with `key`; `detached` is the payload when it is not carried.
    pub fn verify(&self, key: &PublicKey, detached: Option<&[u8]>) -> Result<()> {
        let alg = self.algorithm()?;
        let protected = decode_protected(&self.protected)?;
        // Spec: RFC 9052 §3.1: crit lists labels the recipient must understand; vdc
        // processes no extension header, so any crit is refused.
        if label(&protected, CRIT)?.is_some() {
            return Err(Error::UnsupportedCritical("COSE crit header".into()));
        }
        let payload = match (&self.payload, detached) {
            (Some(p), None) => p.as_slice(),
            (None, Some(d)) => d,
            (Some(_), Some(_)) => {
                return Err(Error::malformed(
                    "COSE payload is both carried and supplied detached",
                ));
            }
            (None, None) => return Err(Error::malformed("COSE payload is detached but missing")),
        };
        // `PublicKey::verify` refuses an alg that is not the key's (RFC 8725 §3.1 in spirit).
        key.verify(
            alg,
            &to_be_signed(&self.protected, payload),
            &self.signature,
        )
    }
}

/// A COSE_Key for `key` (EC2 P-256: kty 2, crv 1, x -2, y -3; OKP Ed25519: kty 1, crv 6, x -2).
pub fn cose_key(key: &PublicKey) -> Value {
    match key {
        PublicKey::P256(point) => Value::Map(vec![
            (int(KTY), int(KTY_EC2)),
            (int(CRV), int(CRV_P256)),
            (
                int(X),
                Value::Bytes(point.get(1..33).unwrap_or_default().to_vec()),
            ),
            (
                int(Y),
                Value::Bytes(point.get(33..65).unwrap_or_default().to_vec()),
            ),
        ]),
        PublicKey::Ed25519(x) => Value::Map(vec![
            (int(KTY), int(KTY_OKP)),
            (int(CRV), int(CRV_ED25519)),
            (int(X), Value::Bytes(x.to_vec())),
        ]),
    }
}

/// The public key of a COSE_Key (points checked on the curve; private members refused).
pub fn public_key(cose_key: &Value) -> Result<PublicKey> {
    let Value::Map(map) = cose_key else {
        return Err(Error::InvalidKey("COSE_Key is not a map".into()));
    };
    let int_label = |l: i64, name: &str| -> Result<i64> {
        label(map, l)?
            .and_then(as_int)
            .ok_or_else(|| Error::InvalidKey(format!("COSE_Key has no integer {name}")))
    };
    // A device key is public by definition; a private part here means a leaked key.
    if label(map, D)?.is_some() {
        return Err(Error::InvalidKey(
            "COSE_Key contains the private key (d)".into(),
        ));
    }
    let bytes = |l: i64, name: &str| -> Result<&[u8]> {
        match label(map, l)? {
            Some(Value::Bytes(b)) => Ok(b.as_slice()),
            Some(Value::Bool(_)) => Err(Error::InvalidKey(format!(
                "COSE_Key {name} as a compressed-point sign bit is not supported"
            ))),
            _ => Err(Error::InvalidKey(format!("COSE_Key has no bstr {name}"))),
        }
    };
    let key = match int_label(KTY, "kty")? {
        KTY_EC2 => match int_label(CRV, "crv")? {
            CRV_P256 => PublicKey::p256_from_coordinates(bytes(X, "x")?, bytes(Y, "y")?)?,
            other => return Err(Error::InvalidKey(format!("unsupported EC2 curve {other}"))),
        },
        KTY_OKP => match int_label(CRV, "crv")? {
            CRV_ED25519 => PublicKey::ed25519(bytes(X, "x")?)?,
            other => return Err(Error::InvalidKey(format!("unsupported OKP curve {other}"))),
        },
        other => return Err(Error::InvalidKey(format!("unsupported COSE kty {other}"))),
    };
    // Spec: RFC 9052 §7.1: an alg in the key restricts its use; it must be the key's own.
    if let Some(alg) = label(map, KEY_ALG)? {
        let expected = match key.algorithm() {
            Algorithm::Es256 => ES256,
            Algorithm::EdDsa => EDDSA,
        };
        if as_int(alg) != Some(expected) {
            return Err(Error::InvalidKey(
                "COSE_Key alg does not match the key type".into(),
            ));
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{LocalSigner, SigningKey};
    use crate::rng::SeededRandom;

    fn signer(alg: Algorithm, seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(alg, &SeededRandom::new(seed)).unwrap())
    }

    fn pk(s: &LocalSigner) -> PublicKey {
        s.key().public_key().clone()
    }

    /// A COSE_Sign1 with the given protected map, signed by `s` regardless of its content.
    fn with_protected(s: &LocalSigner, protected: Vec<(Value, Value)>) -> CoseSign1 {
        let protected = cbor::encode(&Value::Map(protected));
        let signature = s.key().sign_sync(&to_be_signed(&protected, b"p")).unwrap();
        CoseSign1 {
            protected,
            unprotected: vec![],
            payload: Some(b"p".to_vec()),
            signature,
        }
    }

    #[tokio::test]
    async fn sign_and_verify_es256_and_eddsa_through_cbor() {
        for (alg, label) in [(Algorithm::Es256, -7), (Algorithm::EdDsa, -8)] {
            let s = signer(alg, 1);
            let headers = Headers {
                typ: Some("application/statuslist+cwt".into()),
                kid: Some(b"k1".to_vec()),
                ..Headers::default()
            };
            let signed = CoseSign1::sign(&s, &headers, b"payload", false)
                .await
                .unwrap();
            let bytes = cbor::encode(&signed.to_value());
            let back = CoseSign1::from_value(&cbor::decode(&bytes).unwrap()).unwrap();
            assert_eq!(back, signed);
            assert_eq!(back.algorithm().unwrap(), alg);
            assert_eq!(
                back.typ().unwrap().as_deref(),
                Some("application/statuslist+cwt")
            );
            back.verify(&pk(&s), None).unwrap();
            let protected = cbor::decode(&back.protected).unwrap();
            assert_eq!(label_of(&protected, 1), Some(Value::Integer(label.into())));
            assert_eq!(label_of(&protected, 4), Some(Value::Bytes(b"k1".to_vec())));
            // Tagged form is read too.
            let tagged = Value::Tag(18, Box::new(signed.to_value()));
            CoseSign1::from_value(&tagged)
                .unwrap()
                .verify(&pk(&s), None)
                .unwrap();
            // Another key of the same type fails; a key of the other type is a mismatch.
            assert_eq!(
                back.verify(&pk(&signer(alg, 2)), None),
                Err(Error::InvalidSignature)
            );
            let other = if alg == Algorithm::Es256 {
                Algorithm::EdDsa
            } else {
                Algorithm::Es256
            };
            assert!(matches!(
                back.verify(&pk(&signer(other, 1)), None),
                Err(Error::AlgorithmKeyMismatch { .. })
            ));
        }
    }

    fn label_of(map: &Value, l: i64) -> Option<Value> {
        match map {
            Value::Map(m) => label(m, l).unwrap().cloned(),
            _ => None,
        }
    }

    #[tokio::test]
    async fn tampering_fails() {
        let s = signer(Algorithm::Es256, 3);
        let signed = CoseSign1::sign(&s, &Headers::default(), b"payload", false)
            .await
            .unwrap();
        let mut t = signed.clone();
        t.payload = Some(b"payloaD".to_vec());
        assert_eq!(t.verify(&pk(&s), None), Err(Error::InvalidSignature));
        // Protected header re-encoded with an extra member.
        let mut t = signed.clone();
        t.protected = cbor::encode(&Value::Map(vec![
            (int(1), int(-7)),
            (int(16), Value::Text("x".into())),
        ]));
        assert_eq!(t.verify(&pk(&s), None), Err(Error::InvalidSignature));
        let mut t = signed.clone();
        t.signature[10] ^= 1;
        assert_eq!(t.verify(&pk(&s), None), Err(Error::InvalidSignature));
        // The unprotected bucket is not signed (that is why alg must be protected).
        let mut t = signed;
        t.unprotected.push((int(99), Value::Null));
        t.verify(&pk(&s), None).unwrap();
    }

    #[test]
    fn algorithms_other_than_es256_and_eddsa_are_refused() {
        let s = signer(Algorithm::Es256, 4);
        // No alg at all (empty protected bucket), alg only unprotected, HMAC 256/256 (5),
        // an unknown alg, a text alg, and the (unregistered) "none"-like 0.
        let mut unprot = with_protected(&s, vec![]);
        unprot.protected = Vec::new();
        unprot.unprotected = vec![(int(1), int(-7))];
        for cose in [
            unprot,
            with_protected(&s, vec![(int(1), int(5))]),
            with_protected(&s, vec![(int(1), int(-35))]),
            with_protected(&s, vec![(int(1), Value::Text("ES256".into()))]),
            with_protected(&s, vec![(int(1), int(0))]),
        ] {
            assert!(matches!(
                cose.algorithm(),
                Err(Error::AlgorithmNotAllowed(_))
            ));
            assert!(matches!(
                cose.verify(&pk(&s), None),
                Err(Error::AlgorithmNotAllowed(_))
            ));
        }
        // A correct signature over a protected header claiming EdDSA for a P-256 key.
        let cose = with_protected(&s, vec![(int(1), int(-8))]);
        assert!(matches!(
            cose.verify(&pk(&s), None),
            Err(Error::AlgorithmKeyMismatch { .. })
        ));
        // crit is refused.
        let cose = with_protected(
            &s,
            vec![(int(1), int(-7)), (int(2), Value::Array(vec![int(99)]))],
        );
        assert!(matches!(
            cose.verify(&pk(&s), None),
            Err(Error::UnsupportedCritical(_))
        ));
        // The control: the same construction with a good alg verifies.
        with_protected(&s, vec![(int(1), int(-7))])
            .verify(&pk(&s), None)
            .unwrap();
    }

    #[tokio::test]
    async fn detached_payloads() {
        let s = signer(Algorithm::EdDsa, 5);
        let signed = CoseSign1::sign(&s, &Headers::default(), b"transcript", true)
            .await
            .unwrap();
        assert_eq!(signed.payload, None);
        assert_eq!(
            cbor::encode(&signed.to_value()).get(..2),
            Some(&[0x84u8, 0x43][..])
        );
        let back = CoseSign1::from_value(&cbor::decode(&cbor::encode(&signed.to_value())).unwrap())
            .unwrap();
        back.verify(&pk(&s), Some(b"transcript")).unwrap();
        assert_eq!(
            back.verify(&pk(&s), Some(b"other")),
            Err(Error::InvalidSignature)
        );
        assert!(back.verify(&pk(&s), None).is_err());
        let attached = CoseSign1::sign(&s, &Headers::default(), b"t", false)
            .await
            .unwrap();
        assert!(attached.verify(&pk(&s), Some(b"t")).is_err());
    }

    #[tokio::test]
    async fn x5chain_single_and_array() {
        let s = signer(Algorithm::Es256, 6);
        let one = Headers {
            x5chain: Some(vec![vec![1, 2, 3]]),
            ..Headers::default()
        };
        let signed = CoseSign1::sign(&s, &one, b"p", false).await.unwrap();
        assert_eq!(
            signed.unprotected,
            vec![(int(33), Value::Bytes(vec![1, 2, 3]))]
        );
        assert_eq!(signed.x5chain().unwrap(), vec![vec![1, 2, 3]]);
        let two = Headers {
            x5chain: Some(vec![vec![1], vec![2]]),
            ..Headers::default()
        };
        let signed = CoseSign1::sign(&s, &two, b"p", false).await.unwrap();
        assert_eq!(
            signed.unprotected,
            vec![(
                int(33),
                Value::Array(vec![Value::Bytes(vec![1]), Value::Bytes(vec![2])])
            )]
        );
        assert_eq!(signed.x5chain().unwrap(), vec![vec![1], vec![2]]);
        // Protected x5chain is read as well.
        let prot = with_protected(
            &s,
            vec![(int(1), int(-7)), (int(33), Value::Bytes(vec![9]))],
        );
        assert_eq!(prot.x5chain().unwrap(), vec![vec![9]]);
        // None, empty array, non-bstr entries.
        let none = CoseSign1::sign(&s, &Headers::default(), b"p", false)
            .await
            .unwrap();
        assert!(none.x5chain().is_err());
        for bad in [Value::Array(vec![]), Value::Array(vec![int(1)]), int(1)] {
            let mut c = none.clone();
            c.unprotected = vec![(int(33), bad)];
            assert!(c.x5chain().is_err());
        }
    }

    #[test]
    fn from_value_refuses_malformed_structures() {
        let sig = Value::Bytes(vec![0; 64]);
        let ok = Value::Array(vec![
            Value::Bytes(cbor::encode(&Value::Map(vec![(int(1), int(-7))]))),
            Value::Map(vec![]),
            Value::Null,
            sig.clone(),
        ]);
        CoseSign1::from_value(&ok).unwrap();
        let Value::Array(parts) = ok else {
            unreachable!()
        };
        let with = |i: usize, v: Value| {
            let mut p = parts.clone();
            p[i] = v;
            Value::Array(p)
        };
        for bad in [
            Value::Array(parts[..3].to_vec()),
            Value::Tag(98, Box::new(Value::Array(parts.clone()))),
            with(0, Value::Map(vec![])),
            with(0, Value::Bytes(vec![0x9f])),
            with(0, Value::Bytes(cbor::encode(&Value::Array(vec![])))),
            with(1, Value::Bytes(vec![])),
            with(2, Value::Text("p".into())),
            with(3, Value::Bytes(vec![0; 63])),
            with(3, Value::Null),
            // The same label in both buckets (RFC 9052 §3).
            with(1, Value::Map(vec![(int(1), int(-7))])),
        ] {
            assert!(CoseSign1::from_value(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cose_keys_round_trip_and_bad_keys_are_refused() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = pk(&signer(alg, 7));
            let v = cose_key(&key);
            let back = public_key(&cbor::decode(&cbor::encode(&v)).unwrap()).unwrap();
            assert_eq!(back, key);
        }
        let PublicKey::P256(point) = pk(&signer(Algorithm::Es256, 8)) else {
            unreachable!()
        };
        let x = Value::Bytes(point[1..33].to_vec());
        let y = Value::Bytes(point[33..].to_vec());
        let ec2 = |extra: Vec<(Value, Value)>| {
            let mut m = vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), x.clone()),
                (int(-3), y.clone()),
            ];
            m.extend(extra);
            Value::Map(m)
        };
        public_key(&ec2(vec![
            (int(3), int(-7)),
            (int(2), Value::Bytes(b"kid".to_vec())),
        ]))
        .unwrap();
        let mut off_curve = point[33..].to_vec();
        off_curve[31] ^= 1;
        // Ed25519 small-order point (the identity, y = 1).
        let mut identity = vec![0u8; 32];
        identity[0] = 1;
        for bad in [
            ec2(vec![(int(-4), Value::Bytes(vec![1; 32]))]),
            ec2(vec![(int(3), int(-8))]),
            Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(2)),
                (int(-2), x.clone()),
                (int(-3), y.clone()),
            ]),
            Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), x.clone()),
                (int(-3), Value::Bool(true)),
            ]),
            Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), x.clone()),
            ]),
            Value::Map(vec![
                (int(1), int(2)),
                (int(-1), int(1)),
                (int(-2), x.clone()),
                (int(-3), Value::Bytes(off_curve)),
            ]),
            Value::Map(vec![
                (int(1), int(4)),
                (int(-1), int(1)),
                (int(-2), x.clone()),
            ]),
            Value::Map(vec![
                (int(1), int(1)),
                (int(-1), int(4)),
                (int(-2), Value::Bytes(vec![9; 32])),
            ]),
            Value::Map(vec![
                (int(1), int(1)),
                (int(-1), int(6)),
                (int(-2), Value::Bytes(identity)),
            ]),
            Value::Map(vec![
                (int(1), int(1)),
                (int(-1), int(6)),
                (int(-2), Value::Bytes(vec![9; 31])),
            ]),
            Value::Map(vec![
                (int(-1), int(6)),
                (int(-2), Value::Bytes(vec![9; 32])),
            ]),
            Value::Array(vec![]),
        ] {
            assert!(
                matches!(public_key(&bad), Err(Error::InvalidKey(_))),
                "{bad:?}"
            );
        }
        let Err(Error::InvalidKey(why)) = public_key(&Value::Map(vec![
            (int(1), int(2)),
            (int(-1), int(1)),
            (int(-2), x),
            (int(-3), Value::Bool(false)),
        ])) else {
            unreachable!()
        };
        assert!(why.contains("compressed"));
    }
}
