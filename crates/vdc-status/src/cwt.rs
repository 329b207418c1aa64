//! Status List Tokens in CWT format (draft-ietf-oauth-status-list §5.2) and the CBOR
//! `status` structure of COSE-based Referenced Tokens such as an mdoc MSO (§6.3).
//!
//! [`sign_status_list_cwt`] is the issuer side: the same list, issuer, times and signer as
//! the JWT form ([`crate::token::sign_status_list_token`]), so the two representations say
//! the same thing. [`verify_status_list_cwt`] is the pure part of a relying party's checks
//! (§8.3 steps 3-5); the key is found by the same [`IssuerKeyResolver`] trust decision the
//! JWT form uses (the COSE `x5chain` and `kid` are presented to it as `x5c` and `kid`).

use serde_json::{Map, Value as Json};
use vdc_core::jose::Signer;
use vdc_core::jose::jws::{self, TimeRules};
use vdc_core::mdoc::cbor::{self, Value};
use vdc_core::mdoc::cose::{CoseSign1, Headers};
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::UnixTime;

use crate::error::{Error, Result, printable};
use crate::status_list::{MAX_LIST_BYTES, StatusList};
use crate::token::{StatusReference, VerifiedStatusList, VerifyOptions, check_uri, from_core};

/// The media type of a Status List Token in CWT format (§8.1, §8.2), also its COSE `typ`
/// (§5.2: protected header 16 "MUST be `application/statuslist+cwt`").
pub const STATUS_LIST_CWT_MEDIA_TYPE: &str = "application/statuslist+cwt";

/// COSE_Sign1_Tagged (RFC 9052 §2). §5.2: the token "MUST NOT be tagged with the CWT tag"
/// (61) and MUST be COSE_Sign1_Tagged (18) or COSE_Mac0_Tagged (17); vdc signs, so 18.
pub const COSE_SIGN1_TAG: u64 = 18;
/// The CWT tag of RFC 8392 §6, refused by §5.2.
const CWT_TAG: u64 = 61;

/// CWT claim keys (RFC 8392 §3.1, draft-ietf-oauth-status-list §5.2 and §14.2).
pub mod claims {
    /// `iss`.
    pub const ISS: i64 = 1;
    /// `sub`: the list's URI.
    pub const SUB: i64 = 2;
    /// `exp`.
    pub const EXP: i64 = 4;
    /// `nbf`.
    pub const NBF: i64 = 5;
    /// `iat`.
    pub const IAT: i64 = 6;
    /// `status_list` (§5.2).
    pub const STATUS_LIST: i64 = 65533;
    /// `ttl` (§5.2).
    pub const TTL: i64 = 65534;
    /// `status` of a Referenced Token in CWT format (§6.3).
    pub const STATUS: i64 = 65535;
}

/// COSE header labels read here (RFC 9052 §3.1, RFC 9360 §2).
const LABEL_KID: i64 = 4;
const LABEL_X5CHAIN: i64 = 33;

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// Signs a Status List Token in CWT format (§5.2) over exactly what
/// [`crate::token::sign_status_list_token`] signs for the JWT form.
///
/// Protected header: `1` alg (from the signer), `16` typ `application/statuslist+cwt`, `4`
/// kid (the signer's JWK `kid`, as the JWT form's `kid`, UTF-8 bytes). `33` x5chain when the
/// signer has a certificate chain (placed where [`CoseSign1::sign`] puts it). Claims: `1`
/// iss, `2` sub = `uri`, `6` iat, `4` exp, `65534` ttl, `65533` status_list = `{bits, lst,
/// aggregation_uri?}` with `lst` the ZLIB bytes the JWT form base64url-encodes (§4.3).
/// The result is `COSE_Sign1_Tagged` (tag 18), untagged as a CWT (§5.2).
#[allow(clippy::too_many_arguments)]
pub async fn sign_status_list_cwt(
    list: &StatusList,
    uri: &str,
    iss: &str,
    iat: UnixTime,
    exp: UnixTime,
    ttl: i64,
    level: u32,
    aggregation_uri: Option<&str>,
    signer: &dyn Signer,
) -> Result<Vec<u8>> {
    check_uri(uri).map_err(|_| Error::invalid("the status list uri must be an absolute URI"))?;
    check_uri(iss).map_err(|_| Error::invalid("iss must be an absolute URI"))?;
    if let Some(agg) = aggregation_uri {
        check_uri(agg).map_err(|_| Error::invalid("aggregation_uri must be an absolute URI"))?;
    }
    // Spec: §5.2: ttl "MUST be a positive number".
    if ttl <= 0 {
        return Err(Error::invalid("ttl must be positive"));
    }
    if exp <= iat {
        return Err(Error::invalid("exp must be after iat"));
    }
    let compressed = list.encode(level)?;
    // Spec: §4.3 (CBOR StatusList): bits uint, lst bstr, aggregation_uri tstr.
    let mut status_list = vec![
        (text("bits"), int(i64::from(list.bits()))),
        (text("lst"), Value::Bytes(compressed)),
    ];
    if let Some(agg) = aggregation_uri {
        status_list.push((text("aggregation_uri"), text(agg)));
    }
    let claims = Value::Map(vec![
        (int(claims::ISS), text(iss)),
        (int(claims::SUB), text(uri)),
        (int(claims::IAT), int(iat.secs())),
        (int(claims::EXP), int(exp.secs())),
        (int(claims::TTL), int(ttl)),
        (int(claims::STATUS_LIST), Value::Map(status_list)),
    ]);
    let headers = Headers {
        x5chain: signer.x5c().map(<[Vec<u8>]>::to_vec),
        typ: Some(STATUS_LIST_CWT_MEDIA_TYPE.to_owned()),
        kid: signer
            .public_jwk()
            .kid
            .as_ref()
            .map(|k| k.as_bytes().to_vec()),
    };
    let payload = cbor::encode(&claims);
    let sign1 = CoseSign1::sign(signer, &headers, &payload, false)
        .await
        .map_err(Error::Signing)?;
    Ok(cbor::encode(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(sign1.to_value()),
    )))
}

/// The value at integer key `key` of a CBOR map's entries.
fn get_int(entries: &[(Value, Value)], key: i64) -> Option<&Value> {
    entries.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == i128::from(key) => Some(v),
        _ => None,
    })
}

/// The value at text key `key` of a CBOR map's entries.
fn get_text<'a>(entries: &'a [(Value, Value)], key: &str) -> Option<&'a Value> {
    entries.iter().find_map(|(k, v)| match k {
        Value::Text(t) if t == key => Some(v),
        _ => None,
    })
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
}

/// A NumericDate claim (RFC 8392 §2: int or float) as the JSON number `jws::check_times`
/// reads, so both token forms share one set of time rules.
fn numeric_date(entries: &[(Value, Value)], key: i64, name: &str) -> Result<Option<Json>> {
    match get_int(entries, key) {
        None => Ok(None),
        Some(Value::Integer(i)) => i64::try_from(i128::from(*i))
            .map(|n| Some(Json::from(n)))
            .map_err(|_| Error::malformed(format!("{name} is out of range"))),
        Some(Value::Float(f)) if f.is_finite() => serde_json::Number::from_f64(*f)
            .map(|n| Some(Json::Number(n)))
            .ok_or_else(|| Error::malformed(format!("{name} must be a NumericDate"))),
        Some(_) => Err(Error::malformed(format!("{name} must be a NumericDate"))),
    }
}

/// Reads `COSE_Sign1_Tagged` (§5.2) from a CWT body.
fn read_sign1(bytes: &[u8]) -> Result<CoseSign1> {
    let value = cbor::decode(bytes).map_err(from_core)?;
    match &value {
        Value::Tag(COSE_SIGN1_TAG, _) => {}
        Value::Tag(CWT_TAG, _) => {
            return Err(Error::malformed(
                "a Status List Token MUST NOT carry the CWT tag 61 (§5.2)",
            ));
        }
        _ => {
            return Err(Error::malformed(
                "a Status List Token in CWT format must be COSE_Sign1_Tagged (tag 18)",
            ));
        }
    }
    CoseSign1::from_value(&value).map_err(from_core)
}

/// The protected header's `kid` (label 4) as text (vdc's kids are JWK thumbprints).
fn protected_kid(sign1: &CoseSign1) -> Result<Option<String>> {
    if sign1.protected.is_empty() {
        return Ok(None);
    }
    let Value::Map(entries) = cbor::decode(&sign1.protected).map_err(from_core)? else {
        return Err(Error::malformed("the protected header is not a map"));
    };
    let kid = get_int(&entries, LABEL_KID).or_else(|| get_int(&sign1.unprotected, LABEL_KID));
    match kid {
        None => Ok(None),
        Some(Value::Bytes(b)) => Ok(String::from_utf8(b.clone()).ok()),
        Some(_) => Err(Error::malformed("kid must be a byte string")),
    }
}

/// Whether an `x5chain` (label 33) is present in either bucket.
fn has_x5chain(sign1: &CoseSign1) -> Result<bool> {
    if get_int(&sign1.unprotected, LABEL_X5CHAIN).is_some() {
        return Ok(true);
    }
    if sign1.protected.is_empty() {
        return Ok(false);
    }
    match cbor::decode(&sign1.protected).map_err(from_core)? {
        Value::Map(entries) => Ok(get_int(&entries, LABEL_X5CHAIN).is_some()),
        _ => Err(Error::malformed("the protected header is not a map")),
    }
}

/// Verifies a Status List Token in CWT format (§8.3 steps 3-5) and decompresses its list.
///
/// In order: strict CBOR, COSE_Sign1_Tagged (tag 18, not 61), protected `typ` is
/// `application/statuslist+cwt`, `alg` within `opts.policy`, the issuer's key through
/// `resolver` (the same trust decision as the JWT form: the `x5chain` is offered as `x5c`,
/// which counts only when it chains to a configured anchor and names the issuer; `kid`
/// only selects among keys already trusted for the issuer, G5), the signature, `sub` (2)
/// equals `opts.uri`, `iat` (6) present and not in the future, `exp` (4) not passed, `nbf`
/// (5), `ttl` (65534) positive, and the `status_list` (65533) structure (§4.3).
pub async fn verify_status_list_cwt(
    bytes: &[u8],
    resolver: &dyn IssuerKeyResolver,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedStatusList> {
    let sign1 = read_sign1(bytes)?;
    // Spec: §5.2: "16 (type): REQUIRED ... MUST be application/statuslist+cwt"; RFC 9596.
    match sign1.typ().map_err(from_core)? {
        Some(t) if t == STATUS_LIST_CWT_MEDIA_TYPE => {}
        other => {
            return Err(Error::Verification(vdc_core::Error::UnexpectedType {
                expected: STATUS_LIST_CWT_MEDIA_TYPE.into(),
                found: other.as_deref().map_or_else(|| "(none)".into(), printable),
            }));
        }
    }
    let alg = sign1.algorithm().map_err(Error::Verification)?;
    opts.policy.check(alg.name()).map_err(Error::Verification)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| Error::malformed("the Status List Token has no payload"))?;
    let Value::Map(claims) = cbor::decode(payload).map_err(from_core)? else {
        return Err(Error::malformed("the CWT claims set is not a map"));
    };

    let token_iss = match get_int(&claims, claims::ISS) {
        None => None,
        Some(Value::Text(s)) => Some(s.as_str()),
        Some(_) => return Err(Error::malformed("iss must be a text string")),
    };
    let issuer = match (opts.expected_issuer, token_iss) {
        (Some(expected), Some(found)) if expected != found => {
            return Err(Error::claim(format!(
                "status list token iss {} is not the expected issuer {}",
                printable(found),
                printable(expected)
            )));
        }
        (Some(expected), _) => expected,
        (None, Some(found)) => found,
        (None, None) => {
            return Err(Error::Verification(vdc_core::Error::UntrustedKey(
                "neither the status list token nor the caller names an issuer".into(),
            )));
        }
    };
    let sub = match get_int(&claims, claims::SUB) {
        Some(Value::Text(s)) => s.as_str(),
        _ => {
            return Err(Error::malformed(
                "sub (2) is required and must be a text string",
            ));
        }
    };

    // The resolver speaks JOSE: the COSE header as the JWT header it corresponds to.
    let mut header = Map::new();
    header.insert("alg".into(), alg.name().into());
    header.insert("typ".into(), STATUS_LIST_CWT_MEDIA_TYPE.into());
    if let Some(kid) = protected_kid(&sign1)? {
        header.insert("kid".into(), kid.into());
    }
    if has_x5chain(&sign1)? {
        let chain = sign1.x5chain().map_err(from_core)?;
        header.insert("x5c".into(), vdc_core::sd_jwt_vc::x5c_header(&chain));
    }
    let mut resolution_claims = Map::new();
    resolution_claims.insert("iss".into(), issuer.into());
    resolution_claims.insert("sub".into(), sub.into());
    let resolved = resolver
        .resolve(&header, &resolution_claims)
        .await
        .map_err(Error::Verification)?;
    if resolved.issuer != issuer {
        return Err(Error::claim("the resolved key belongs to another issuer"));
    }
    // Spec: §5.2 rule 2: "Relying Parties MUST reject CWTs with an invalid signature."
    sign1
        .verify(&resolved.key, None)
        .map_err(Error::Verification)?;

    // Spec: §8.3 step 4a: sub MUST equal the uri of the Referenced Token's status_list.
    if sub != opts.uri {
        return Err(Error::claim("sub is not the status list uri"));
    }
    // Spec: §5.2: iat REQUIRED; exp checked if present (§8.3 step 4c); RFC 8392 §7.2 validity
    // otherwise (nbf too). The JWT form's rules, over the same values.
    let mut times = Map::new();
    for (key, name) in [
        (claims::EXP, "exp"),
        (claims::NBF, "nbf"),
        (claims::IAT, "iat"),
    ] {
        if let Some(v) = numeric_date(&claims, key, name)? {
            times.insert(name.into(), v);
        }
    }
    jws::check_times(
        &times,
        opts.now,
        TimeRules {
            skew: opts.skew,
            require_exp: false,
            require_iat: true,
            max_iat_age: None,
        },
    )
    .map_err(from_core)?;
    let iat = jws::numeric_date(&times, "iat")
        .map_err(from_core)?
        .map(UnixTime)
        .ok_or_else(|| Error::malformed("iat is required"))?;
    let exp = jws::numeric_date(&times, "exp")
        .map_err(from_core)?
        .map(UnixTime);
    // Spec: §5.2: ttl "Unsigned integer (major type 0) ... MUST be a positive number".
    let ttl = match get_int(&claims, claims::TTL) {
        None => None,
        Some(v) => match as_i64(v) {
            Some(t) if t > 0 => Some(t),
            _ => return Err(Error::malformed("ttl must be a positive unsigned integer")),
        },
    };

    let Some(Value::Map(status_list)) = get_int(&claims, claims::STATUS_LIST) else {
        return Err(Error::malformed(
            "status_list (65533) is required and must be a map",
        ));
    };
    let bits = get_text(status_list, "bits")
        .and_then(as_i64)
        .and_then(|b| u8::try_from(b).ok())
        .filter(|b| matches!(b, 1 | 2 | 4 | 8))
        .ok_or_else(|| Error::malformed("status_list.bits must be 1, 2, 4 or 8"))?;
    let Some(Value::Bytes(compressed)) = get_text(status_list, "lst") else {
        return Err(Error::malformed("status_list.lst must be a byte string"));
    };
    let aggregation_uri = match get_text(status_list, "aggregation_uri") {
        None => None,
        Some(Value::Text(s)) => Some(s.clone()),
        Some(_) => return Err(Error::malformed("aggregation_uri must be a text string")),
    };
    let per_byte = 8 / usize::from(bits);
    let max_len = opts
        .max_list_bytes
        .min(MAX_LIST_BYTES)
        .saturating_mul(per_byte);
    let list = StatusList::decode(compressed, bits, max_len)?;
    Ok(VerifiedStatusList {
        list,
        issuer: resolved.issuer,
        iat,
        exp,
        ttl,
        aggregation_uri,
    })
}

/// Reads the `status_list` reference of a COSE-based Referenced Token's `Status` structure
/// (§6.3: a map with text keys; `status_list` = `{"idx": uint, "uri": tstr}`), e.g. the
/// `status` of an mdoc MSO. Other status mechanisms are ignored.
pub fn reference_from_cbor(status: &Value) -> Result<StatusReference> {
    let Value::Map(status) = status else {
        return Err(Error::malformed("the status structure must be a CBOR map"));
    };
    let Some(Value::Map(list)) = get_text(status, "status_list") else {
        return Err(Error::malformed(
            "the status structure has no status_list map",
        ));
    };
    // Spec: §6.3: idx "Unsigned integer (major type 0)"; uri "Text string (major type 3)".
    let idx = match get_text(list, "idx") {
        Some(Value::Integer(i)) => u64::try_from(i128::from(*i)).ok(),
        _ => None,
    }
    .ok_or_else(|| Error::malformed("status_list.idx must be an unsigned integer"))?;
    let Some(Value::Text(uri)) = get_text(list, "uri") else {
        return Err(Error::malformed("status_list.uri must be a text string"));
    };
    check_uri(uri)?;
    Ok(StatusReference {
        idx,
        uri: uri.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::jose::{Algorithm, AlgorithmPolicy, LocalSigner};

    // The token tests' fixtures: the same list, issuer and keys for both representations.
    use crate::token::tests::{ISS, NOW, URI, block_on, list, signer, trust};
    const AGG: &str = "https://issuer.example/statuslists";

    fn opts(policy: &AlgorithmPolicy) -> VerifyOptions<'_> {
        VerifyOptions {
            uri: URI,
            expected_issuer: Some(ISS),
            now: UnixTime(NOW),
            skew: 60,
            policy,
            max_list_bytes: 1 << 20,
        }
    }

    fn sign(s: &LocalSigner) -> Vec<u8> {
        block_on(sign_status_list_cwt(
            &list(),
            URI,
            ISS,
            UnixTime(NOW - 10),
            UnixTime(NOW + 3600),
            300,
            9,
            Some(AGG),
            s,
        ))
        .unwrap()
    }

    fn protected(sign1: &CoseSign1) -> Vec<(Value, Value)> {
        match cbor::decode(&sign1.protected).unwrap() {
            Value::Map(m) => m,
            other => panic!("{other:?}"),
        }
    }

    fn claims_of(sign1: &CoseSign1) -> Vec<(Value, Value)> {
        match cbor::decode(sign1.payload.as_deref().unwrap()).unwrap() {
            Value::Map(m) => m,
            other => panic!("{other:?}"),
        }
    }

    /// Signs `claims` under `headers` as COSE_Sign1_Tagged, for crafted-token tests.
    fn forge(s: &LocalSigner, headers: &Headers, claims: Value, tag: Option<u64>) -> Vec<u8> {
        let sign1 = block_on(CoseSign1::sign(s, headers, &cbor::encode(&claims), false)).unwrap();
        let v = sign1.to_value();
        cbor::encode(&match tag {
            Some(t) => Value::Tag(t, Box::new(v)),
            None => v,
        })
    }

    fn typed() -> Headers {
        Headers {
            typ: Some(STATUS_LIST_CWT_MEDIA_TYPE.into()),
            ..Headers::default()
        }
    }

    fn good_claims() -> Vec<(Value, Value)> {
        vec![
            (int(claims::SUB), text(URI)),
            (int(claims::IAT), int(NOW - 10)),
            (int(claims::EXP), int(NOW + 3600)),
            (int(claims::TTL), int(300)),
            (
                int(claims::STATUS_LIST),
                Value::Map(vec![
                    (text("bits"), int(1)),
                    // Spec: §4.1 example: b9 a3 compressed.
                    (
                        text("lst"),
                        Value::Bytes(vdc_core::base64url::decode("eNrbuRgAAhcBXQ").unwrap()),
                    ),
                ]),
            ),
        ]
    }

    /// §5.2: COSE_Sign1_Tagged, protected typ/alg/kid, claims 1/2/4/6/65533/65534, `lst`
    /// the same ZLIB bytes the JWT form base64url-encodes.
    #[test]
    fn signed_cwt_has_the_section_5_2_shape_and_verifies() {
        let s = signer(1);
        let bytes = sign(&s);
        let value = cbor::decode(&bytes).unwrap();
        assert!(matches!(value, Value::Tag(18, _)), "COSE_Sign1_Tagged");
        let sign1 = CoseSign1::from_value(&value).unwrap();
        let p = protected(&sign1);
        assert_eq!(get_int(&p, 1).and_then(as_i64), Some(-7), "ES256");
        assert_eq!(get_int(&p, 16), Some(&text(STATUS_LIST_CWT_MEDIA_TYPE)));
        let kid = s.public_jwk().kid.clone().unwrap();
        assert_eq!(get_int(&p, 4), Some(&Value::Bytes(kid.into_bytes())));
        assert!(get_int(&sign1.unprotected, 33).is_none(), "no chain");
        let c = claims_of(&sign1);
        assert_eq!(get_int(&c, claims::ISS), Some(&text(ISS)));
        assert_eq!(get_int(&c, claims::SUB), Some(&text(URI)));
        assert_eq!(get_int(&c, claims::IAT).and_then(as_i64), Some(NOW - 10));
        assert_eq!(get_int(&c, claims::EXP).and_then(as_i64), Some(NOW + 3600));
        assert_eq!(get_int(&c, claims::TTL).and_then(as_i64), Some(300));
        let Some(Value::Map(sl)) = get_int(&c, claims::STATUS_LIST) else {
            panic!("status_list map")
        };
        assert_eq!(get_text(sl, "bits").and_then(as_i64), Some(2));
        assert_eq!(
            get_text(sl, "lst"),
            Some(&Value::Bytes(list().encode(9).unwrap()))
        );
        assert_eq!(get_text(sl, "aggregation_uri"), Some(&text(AGG)));

        let policy = AlgorithmPolicy::default();
        let v = block_on(verify_status_list_cwt(&bytes, &trust(&s), &opts(&policy))).unwrap();
        assert_eq!(v.list, list());
        assert_eq!(v.issuer, ISS);
        assert_eq!(
            (v.iat, v.exp, v.ttl, v.aggregation_uri.as_deref()),
            (
                UnixTime(NOW - 10),
                Some(UnixTime(NOW + 3600)),
                Some(300),
                Some(AGG)
            )
        );
    }

    #[test]
    fn signer_with_a_chain_puts_it_in_x5chain() {
        let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0x30, 0x00]];
        let s = signer(1).with_x5c(chain.clone());
        let sign1 = CoseSign1::from_value(&cbor::decode(&sign(&s)).unwrap()).unwrap();
        assert_eq!(sign1.x5chain().unwrap(), chain);
    }

    #[test]
    fn wrong_key_sub_issuer_time_and_algorithm_are_rejected() {
        let s = signer(1);
        let bytes = sign(&s);
        let policy = AlgorithmPolicy::default();
        let verify = |b: &[u8], o: &VerifyOptions<'_>| {
            block_on(verify_status_list_cwt(b, &trust(&s), o)).unwrap_err()
        };
        let err = verify(&sign(&signer(2)), &opts(&policy));
        assert!(
            matches!(
                err,
                Error::Verification(
                    vdc_core::Error::UntrustedKey(_) | vdc_core::Error::InvalidSignature
                )
            ),
            "{err}"
        );
        let other_uri = VerifyOptions {
            uri: "https://issuer.example/statuslists/2",
            ..opts(&policy)
        };
        assert!(matches!(
            verify(&bytes, &other_uri),
            Error::Verification(vdc_core::Error::Claim(_))
        ));
        let other_iss = VerifyOptions {
            expected_issuer: Some("https://other.example"),
            ..opts(&policy)
        };
        assert!(matches!(
            verify(&bytes, &other_iss),
            Error::Verification(vdc_core::Error::Claim(_))
        ));
        let late = VerifyOptions {
            now: UnixTime(NOW + 3600 + 61),
            ..opts(&policy)
        };
        assert!(matches!(
            verify(&bytes, &late),
            Error::Verification(vdc_core::Error::Time(_))
        ));
        let eddsa = AlgorithmPolicy::only(&[Algorithm::EdDsa]);
        assert!(matches!(
            verify(&bytes, &opts(&eddsa)),
            Error::Verification(vdc_core::Error::AlgorithmNotAllowed(_))
        ));
        // A flipped signature bit.
        let mut sign1 = CoseSign1::from_value(&cbor::decode(&bytes).unwrap()).unwrap();
        sign1.signature[0] ^= 1;
        let tampered = cbor::encode(&Value::Tag(18, Box::new(sign1.to_value())));
        assert!(matches!(
            verify(&tampered, &opts(&policy)),
            Error::Verification(vdc_core::Error::InvalidSignature)
        ));
    }

    #[test]
    fn crafted_cwts_are_rejected_for_each_section_5_2_rule() {
        let s = signer(1);
        let policy = AlgorithmPolicy::default();
        let verify = |b: &[u8]| block_on(verify_status_list_cwt(b, &trust(&s), &opts(&policy)));
        let ok = forge(&s, &typed(), Value::Map(good_claims()), Some(18));
        assert_eq!(verify(&ok).unwrap().list.bytes(), [0xb9, 0xa3]);

        // Tagging: untagged and the CWT tag 61 are refused (§5.2).
        let untagged = forge(&s, &typed(), Value::Map(good_claims()), None);
        assert!(matches!(verify(&untagged), Err(Error::Malformed(_))));
        let cwt_tag = forge(&s, &typed(), Value::Map(good_claims()), Some(61));
        assert!(matches!(verify(&cwt_tag), Err(Error::Malformed(_))));
        let inner = cbor::decode(&ok).unwrap();
        let double = cbor::encode(&Value::Tag(61, Box::new(inner)));
        assert!(matches!(verify(&double), Err(Error::Malformed(_))));
        assert!(matches!(verify(b"\xff\x00"), Err(Error::Malformed(_))));
        assert!(verify(b"eyJhbGciOi.x.y").is_err(), "a JWT is no CWT");

        // typ: absent or the JWT one.
        for typ in [None, Some("application/statuslist+jwt".to_owned())] {
            let h = Headers {
                typ: typ.clone(),
                ..Headers::default()
            };
            let t = forge(&s, &h, Value::Map(good_claims()), Some(18));
            assert!(
                matches!(
                    verify(&t),
                    Err(Error::Verification(vdc_core::Error::UnexpectedType { .. }))
                ),
                "{typ:?}"
            );
        }

        type Edit = Box<dyn Fn(&mut Vec<(Value, Value)>)>;
        let remove = |k: i64| -> Edit {
            Box::new(move |c: &mut Vec<(Value, Value)>| {
                c.retain(|(key, _)| key != &int(k));
            })
        };
        let set = |k: i64, v: Value| -> Edit {
            Box::new(move |c: &mut Vec<(Value, Value)>| {
                c.retain(|(key, _)| key != &int(k));
                c.push((int(k), v.clone()));
            })
        };
        let status_list = |entries: Vec<(Value, Value)>| Value::Map(entries);
        let lst = Value::Bytes(vdc_core::base64url::decode("eNrbuRgAAhcBXQ").unwrap());
        let cases: Vec<(&str, Edit, bool)> = vec![
            ("no sub", remove(claims::SUB), true),
            ("sub not text", set(claims::SUB, int(1)), true),
            ("no iat", remove(claims::IAT), true),
            ("iat text", set(claims::IAT, text("now")), true),
            ("future iat", set(claims::IAT, int(NOW + 3600)), false),
            ("future nbf", set(claims::NBF, int(NOW + 3600)), false),
            ("ttl zero", set(claims::TTL, int(0)), true),
            ("ttl text", set(claims::TTL, text("300")), true),
            ("no status_list", remove(claims::STATUS_LIST), true),
            (
                "status_list text",
                set(claims::STATUS_LIST, text("x")),
                true,
            ),
            (
                "bits 3",
                set(
                    claims::STATUS_LIST,
                    status_list(vec![(text("bits"), int(3)), (text("lst"), lst.clone())]),
                ),
                true,
            ),
            (
                "lst as text (the JWT encoding)",
                set(
                    claims::STATUS_LIST,
                    status_list(vec![
                        (text("bits"), int(1)),
                        (text("lst"), text("eNrbuRgAAhcBXQ")),
                    ]),
                ),
                true,
            ),
            (
                "lst not zlib",
                set(
                    claims::STATUS_LIST,
                    status_list(vec![
                        (text("bits"), int(1)),
                        (text("lst"), Value::Bytes(vec![0, 0, 0])),
                    ]),
                ),
                true,
            ),
            (
                "aggregation_uri number",
                set(
                    claims::STATUS_LIST,
                    status_list(vec![
                        (text("bits"), int(1)),
                        (text("lst"), lst.clone()),
                        (text("aggregation_uri"), int(1)),
                    ]),
                ),
                true,
            ),
            (
                "iss of another issuer",
                set(claims::ISS, text("https://evil.example")),
                false,
            ),
        ];
        for (name, edit, malformed) in cases {
            let mut c = good_claims();
            edit(&mut c);
            let t = forge(&s, &typed(), Value::Map(c), Some(18));
            let err = verify(&t).unwrap_err();
            let ok = if malformed {
                matches!(err, Error::Malformed(_))
            } else {
                matches!(err, Error::Verification(_))
            };
            assert!(ok, "{name}: {err}");
        }
        // Claims set not a map.
        let t = forge(&s, &typed(), Value::Array(vec![]), Some(18));
        assert!(matches!(verify(&t), Err(Error::Malformed(_))));
    }

    #[test]
    fn oversized_list_is_too_large() {
        let s = signer(1);
        let policy = AlgorithmPolicy::default();
        let big = StatusList::new(1 << 16, 1).unwrap();
        let t = block_on(sign_status_list_cwt(
            &big,
            URI,
            ISS,
            UnixTime(NOW),
            UnixTime(NOW + 60),
            30,
            9,
            None,
            &s,
        ))
        .unwrap();
        let o = VerifyOptions {
            max_list_bytes: (1 << 15) / 8,
            ..opts(&policy)
        };
        assert!(matches!(
            block_on(verify_status_list_cwt(&t, &trust(&s), &o)),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn signing_refuses_bad_arguments() {
        let s = signer(1);
        let t = UnixTime(NOW);
        for (uri, exp, ttl, level) in [
            ("not a uri", t.plus(10), 1, 6),
            (URI, t, 1, 6),
            (URI, t.plus(10), 0, 6),
            (URI, t.plus(10), 1, 10),
        ] {
            let r = block_on(sign_status_list_cwt(
                &list(),
                uri,
                ISS,
                t,
                exp,
                ttl,
                level,
                None,
                &s,
            ));
            assert!(matches!(r, Err(Error::InvalidInput(_))), "{uri} {ttl}");
        }
    }

    /// §6.3: the CBOR `Status` of a COSE-based Referenced Token (an mdoc MSO's `status`).
    #[test]
    fn cbor_status_references_parse_and_bad_ones_are_refused() {
        let status = |idx: Value, uri: Value| {
            Value::Map(vec![(
                text("status_list"),
                Value::Map(vec![(text("idx"), idx), (text("uri"), uri)]),
            )])
        };
        let r = reference_from_cbor(&status(int(412), text(URI))).unwrap();
        assert_eq!((r.idx, r.uri.as_str()), (412, URI));
        for bad in [
            status(int(-1), text(URI)),
            status(text("1"), text(URI)),
            status(Value::Float(1.0), text(URI)),
            status(int(1), Value::Bytes(URI.as_bytes().to_vec())),
            status(int(1), text("relative")),
            Value::Map(vec![]),
            Value::Map(vec![(text("status_list"), text("x"))]),
            text("x"),
        ] {
            assert!(
                matches!(reference_from_cbor(&bad), Err(Error::Malformed(_))),
                "{bad:?}"
            );
        }
    }
}
