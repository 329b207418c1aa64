//! Status List Tokens in JWT format (draft-ietf-oauth-status-list §5.1) and the `status`
//! claim of Referenced Tokens (§6.2).
//!
//! [`sign_status_list_token`] is the issuer side; [`verify_status_list_token`] is the
//! pure (no I/O) part of a relying party's checks in §8.3 step 3 and 4; the fetching and
//! caching around it live in [`crate::client`].

use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::jose::jws::{self, TimeRules};
use vdc_core::jose::{AlgorithmPolicy, Signer};
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::UnixTime;

use crate::error::{Error, Result, printable};
use crate::status_list::{MAX_LIST_BYTES, StatusList};

/// The JWT `typ` of a Status List Token (§5.1: "The JWT type MUST be `statuslist+jwt`").
pub const STATUS_LIST_JWT_TYP: &str = "statuslist+jwt";
/// The media type of a Status List Token in JWT format (§8.1, §8.2).
pub const STATUS_LIST_JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";
/// Longest `uri` accepted in a `status_list` reference.
pub const MAX_URI_LEN: usize = 2048;

/// The `status_list` member of a Referenced Token's `status` claim (§6.2): the index of
/// the token's status and the URI of the Status List Token holding it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusReference {
    /// `idx`: the index in the Status List.
    pub idx: u64,
    /// `uri`: identifies the Status List Token (equal to its `sub`).
    pub uri: String,
}

impl StatusReference {
    /// A reference after checking that `uri` is an absolute URI (§6.2: "MUST be a URI
    /// conforming to RFC 3986").
    pub fn new(idx: u64, uri: impl Into<String>) -> Result<Self> {
        let uri = uri.into();
        check_uri(&uri).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(Self { idx, uri })
    }

    /// The `status` claim value: `{"status_list": {"idx": N, "uri": "..."}}`.
    pub fn to_status_claim(&self) -> Value {
        let mut status_list = Map::new();
        status_list.insert("idx".into(), self.idx.into());
        status_list.insert("uri".into(), self.uri.clone().into());
        let mut status = Map::new();
        status.insert("status_list".into(), Value::Object(status_list));
        Value::Object(status)
    }

    /// Reads the `status_list` reference from a `status` claim value (§8.3 step 1).
    /// Other status mechanisms in the claim are ignored; `idx` must be a non-negative
    /// integer and `uri` an absolute URI.
    pub fn from_status_claim(status: &Value) -> Result<Self> {
        let status = status
            .as_object()
            .ok_or_else(|| Error::malformed("the status claim must be a JSON object"))?;
        let list = status
            .get("status_list")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::malformed("the status claim has no status_list object"))?;
        // Spec: §6.2: idx "MUST specify a non-negative Integer". serde_json keeps integers
        // apart from floats, so 1.0 and -1 are both refused here.
        let idx = list
            .get("idx")
            .and_then(Value::as_u64)
            .ok_or_else(|| Error::malformed("status_list.idx must be a non-negative integer"))?;
        let uri = list
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed("status_list.uri must be a string"))?;
        check_uri(uri)?;
        Ok(Self {
            idx,
            uri: uri.to_owned(),
        })
    }

    /// Reads the reference from a Referenced Token's claims (the `status` claim).
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self> {
        let status = claims
            .get("status")
            .ok_or_else(|| Error::malformed("the token has no status claim"))?;
        Self::from_status_claim(status)
    }
}

/// An absolute URI with a scheme, bounded in length, without whitespace or controls.
pub(crate) fn check_uri(uri: &str) -> Result<()> {
    if uri.len() > MAX_URI_LEN {
        return Err(Error::malformed(format!(
            "status_list.uri is longer than {MAX_URI_LEN} bytes"
        )));
    }
    let clean = !uri.is_empty() && !uri.chars().any(|c| c.is_whitespace() || c.is_control());
    if !clean || url::Url::parse(uri).is_err() {
        return Err(Error::malformed("status_list.uri must be an absolute URI"));
    }
    Ok(())
}

/// Signs a Status List Token (§5.1).
///
/// Header: `typ: statuslist+jwt`, `alg` and `kid` from the signer, and `x5c` when the
/// signer has a certificate chain. Claims: `sub` = `uri`, `iss`, `iat`, `exp`, `ttl` and
/// `status_list: {bits, lst, aggregation_uri?}` with `lst` the base64url of the list
/// compressed at `level` (0-9). `exp` is only RECOMMENDED by §5.1 but vdc always sets it,
/// so a relying party never relies on a list forever; `ttl` MUST be positive, `exp` after
/// `iat`.
///
/// `iss` is the Status Issuer's identifier, the `iss` of the Referenced Tokens when the
/// credential issuer signs its own lists (§11.3). §5.1 rule 1 allows other claims; relying
/// parties commonly resolve the list's key from `iss`, and [`verify_status_list_token`]
/// requires it to equal the Referenced Token's issuer when present.
///
/// Spec: HAIP 1.0 §6.1 ("IETF SD-JWT VC Profile"): "The public key used to validate the
/// signature on the Status List Token ... MUST be included in the `x5c` JOSE header of the
/// Token"; the chain is the signer's (the issuer's configured chain, which excludes the
/// trust anchor).
#[allow(clippy::too_many_arguments)]
pub async fn sign_status_list_token(
    list: &StatusList,
    uri: &str,
    iss: &str,
    iat: UnixTime,
    exp: UnixTime,
    ttl: i64,
    level: u32,
    aggregation_uri: Option<&str>,
    signer: &dyn Signer,
) -> Result<String> {
    check_uri(uri).map_err(|_| Error::invalid("the status list uri must be an absolute URI"))?;
    // RFC 7519 §4.1.1: a StringOrURI; vdc's issuers are URLs.
    check_uri(iss).map_err(|_| Error::invalid("iss must be an absolute URI"))?;
    if let Some(agg) = aggregation_uri {
        check_uri(agg).map_err(|_| Error::invalid("aggregation_uri must be an absolute URI"))?;
    }
    // Spec: §5.1: ttl "MUST be a positive number".
    if ttl <= 0 {
        return Err(Error::invalid("ttl must be positive"));
    }
    if exp <= iat {
        return Err(Error::invalid("exp must be after iat"));
    }
    let compressed = list.encode(level)?;
    let mut lst = String::with_capacity(compressed.len() * 4 / 3 + 4);
    base64url::encode_into(&compressed, &mut lst);

    let mut status_list = Map::new();
    status_list.insert("bits".into(), list.bits().into());
    status_list.insert("lst".into(), lst.into());
    if let Some(agg) = aggregation_uri {
        status_list.insert("aggregation_uri".into(), agg.into());
    }
    let mut claims = Map::new();
    claims.insert("sub".into(), uri.into());
    claims.insert("iss".into(), iss.into());
    claims.insert("iat".into(), iat.secs().into());
    claims.insert("exp".into(), exp.secs().into());
    claims.insert("ttl".into(), ttl.into());
    claims.insert("status_list".into(), Value::Object(status_list));

    let mut header = Map::new();
    header.insert("typ".into(), STATUS_LIST_JWT_TYP.into());
    if let Some(chain) = signer.x5c() {
        header.insert("x5c".into(), vdc_core::sd_jwt_vc::x5c_header(chain));
    }
    jws::sign(header, &claims, signer)
        .await
        .map_err(Error::Signing)
}

/// What a relying party checks a Status List Token against.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// The `uri` of the Referenced Token's `status_list`; the token's `sub` MUST equal it
    /// (§8.3 step 4a).
    pub uri: &'a str,
    /// The issuer whose key must have signed the list, normally the Referenced Token's
    /// `iss` (§11.3: the Status Issuer is usually the same entity and uses the same keys).
    /// If the Status List Token carries an `iss`, it must equal this value. `None` lets the
    /// token's own `iss` name the issuer; the resolver still decides whether that issuer
    /// and key are trusted.
    pub expected_issuer: Option<&'a str>,
    /// The current time.
    pub now: UnixTime,
    /// Allowed clock skew, seconds.
    pub skew: i64,
    /// Algorithms accepted (G4).
    pub policy: &'a AlgorithmPolicy,
    /// Largest decompressed list accepted, bytes; bounds inflation (a list of `bits`-wide
    /// entries may hold `max_list_bytes * 8 / bits` of them).
    pub max_list_bytes: usize,
}

/// A verified Status List Token.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    /// The decompressed list.
    pub list: StatusList,
    /// The issuer the signing key was resolved and validated for.
    pub issuer: String,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`, if present.
    pub exp: Option<UnixTime>,
    /// `ttl` in seconds, if present.
    pub ttl: Option<i64>,
    /// `status_list.aggregation_uri`, if present.
    pub aggregation_uri: Option<String>,
}

/// Verifies a Status List Token in JWT format (§8.3 steps 3-5) and decompresses its list.
///
/// In order: compact JWS structure and header hygiene, `typ` is `statuslist+jwt`, the
/// issuer's key through `resolver` (from configuration or the issuer's published keys,
/// never from the token's own `jwk`/`x5c` unless the resolver validates them, G5), the
/// signature under `policy`, `sub` equals `opts.uri`, `iat` present and not in the future,
/// `exp` not passed (if present), `ttl` positive (if present), and the `status_list`
/// structure (§4.2), inflated within `opts.max_len` entries.
pub async fn verify_status_list_token(
    token: &str,
    resolver: &dyn IssuerKeyResolver,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedStatusList> {
    let jws = jws::decode(token).map_err(from_core)?;
    // Spec: §5.1: "The JWT type MUST be statuslist+jwt"; RFC 8725 §3.11 explicit typing.
    jws.expect_typ(STATUS_LIST_JWT_TYP)
        .map_err(Error::Verification)?;

    let token_iss = match jws.payload.get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(Error::malformed("iss must be a string")),
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
    // The resolver sees the header and the claims with `iss` set to the issuer whose key is
    // required; the (large) status_list claim is left out, no resolver needs it.
    let mut resolution_claims: Map<String, Value> = jws
        .payload
        .iter()
        .filter(|(k, _)| k.as_str() != "status_list")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    resolution_claims.insert("iss".into(), issuer.into());
    let resolved = resolver
        .resolve(&jws.header, &resolution_claims)
        .await
        .map_err(Error::Verification)?;
    if resolved.issuer != issuer {
        return Err(Error::claim("the resolved key belongs to another issuer"));
    }
    // Spec: §5.1 rule 2: "Relying Parties MUST reject JWTs with an invalid signature."
    jws.verify(&resolved.key, opts.policy)
        .map_err(Error::Verification)?;

    let claims = &jws.payload;
    // Spec: §8.3 step 4a: sub MUST equal the uri of the Referenced Token's status_list.
    match claims.get("sub") {
        Some(Value::String(sub)) if sub == opts.uri => {}
        Some(Value::String(_)) => {
            return Err(Error::claim("sub is not the status list uri"));
        }
        _ => return Err(Error::malformed("sub is required and must be a string")),
    }
    // Spec: §5.1: iat REQUIRED; exp, if present, MUST be checked (§8.3 step 4c); RFC 7519
    // validity otherwise (§5.1 rule 3: nbf too).
    jws::check_times(
        claims,
        opts.now,
        TimeRules {
            skew: opts.skew,
            require_exp: false,
            require_iat: true,
            max_iat_age: None,
        },
    )
    .map_err(from_core)?;
    let iat = jws::numeric_date(claims, "iat")
        .map_err(from_core)?
        .map(UnixTime)
        .ok_or_else(|| Error::malformed("iat is required"))?;
    let exp = jws::numeric_date(claims, "exp")
        .map_err(from_core)?
        .map(UnixTime);
    // Spec: §5.1: ttl "MUST be a positive number encoded in JSON as a number".
    let ttl = match claims.get("ttl") {
        None => None,
        Some(v) => match v.as_i64() {
            Some(t) if t > 0 => Some(t),
            _ => match v.as_f64() {
                Some(f) if f.is_finite() && f > 0.0 => Some(f.ceil() as i64),
                _ => return Err(Error::malformed("ttl must be a positive number")),
            },
        },
    };

    let status_list = claims
        .get("status_list")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::malformed("status_list claim is required and must be an object"))?;
    let bits = status_list
        .get("bits")
        .and_then(Value::as_u64)
        .and_then(|b| u8::try_from(b).ok())
        .filter(|b| matches!(b, 1 | 2 | 4 | 8))
        .ok_or_else(|| Error::malformed("status_list.bits must be 1, 2, 4 or 8"))?;
    let lst = status_list
        .get("lst")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed("status_list.lst must be a string"))?;
    let aggregation_uri = match status_list.get("aggregation_uri") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Error::malformed("aggregation_uri must be a string")),
    };
    let compressed =
        base64url::decode(lst).map_err(|_| Error::malformed("status_list.lst is not base64url"))?;
    let per_byte = 8 / usize::from(bits);
    let max_len = opts
        .max_list_bytes
        .min(MAX_LIST_BYTES)
        .saturating_mul(per_byte);
    let list = StatusList::decode(&compressed, bits, max_len)?;
    Ok(VerifiedStatusList {
        list,
        issuer: resolved.issuer,
        iat,
        exp,
        ttl,
        aggregation_uri,
    })
}

/// Core parse and time errors keep their nature: malformed input stays malformed,
/// everything else is a verification failure.
pub(crate) fn from_core(e: vdc_core::Error) -> Error {
    match e {
        vdc_core::Error::Malformed(m) => Error::Malformed(m),
        vdc_core::Error::TooLarge(m) => Error::TooLarge(m),
        other => Error::Verification(other),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;
    use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, SigningKey};
    use vdc_core::rng::SeededRandom;
    use vdc_core::sd_jwt_vc::IssuerTrustPolicy;

    pub(crate) const URI: &str = "https://issuer.example/statuslists/1";
    pub(crate) const ISS: &str = "https://issuer.example";
    pub(crate) const NOW: i64 = 1_700_000_000;

    pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    pub(crate) fn signer(seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
    }

    pub(crate) fn trust(s: &LocalSigner) -> IssuerTrustPolicy {
        IssuerTrustPolicy::new(vec![ISS.into()]).pin(
            ISS,
            JwkSet {
                keys: vec![s.public_jwk().clone()],
            },
        )
    }

    pub(crate) fn list() -> StatusList {
        let mut l = StatusList::new(64, 2).unwrap();
        l.set(3, 1).unwrap();
        l.set(7, 2).unwrap();
        l
    }

    fn opts<'a>(policy: &'a AlgorithmPolicy) -> VerifyOptions<'a> {
        VerifyOptions {
            uri: URI,
            expected_issuer: Some(ISS),
            now: UnixTime(NOW),
            skew: 60,
            policy,
            max_list_bytes: 1 << 20,
        }
    }

    fn sign(s: &LocalSigner) -> String {
        block_on(sign_status_list_token(
            &list(),
            URI,
            ISS,
            UnixTime(NOW - 10),
            UnixTime(NOW + 3600),
            300,
            9,
            Some("https://issuer.example/statuslists"),
            s,
        ))
        .unwrap()
    }

    #[test]
    fn signed_token_has_the_section_5_1_shape_and_verifies() {
        let s = signer(1);
        let token = sign(&s);
        let jws = jws::decode(&token).unwrap();
        assert_eq!(jws.header_str("typ"), Some("statuslist+jwt"));
        assert_eq!(jws.kid(), s.public_jwk().kid.as_deref());
        assert_eq!(jws.claim_str("sub"), Some(URI));
        assert_eq!(jws.claim_str("iss"), Some(ISS));
        assert!(jws.header.get("x5c").is_none(), "the signer has no chain");
        assert_eq!(jws.payload["iat"], json!(NOW - 10));
        assert_eq!(jws.payload["exp"], json!(NOW + 3600));
        assert_eq!(jws.payload["ttl"], json!(300));
        assert_eq!(jws.payload["status_list"]["bits"], json!(2));
        assert_eq!(
            jws.payload["status_list"]["aggregation_uri"],
            json!("https://issuer.example/statuslists")
        );
        let policy = AlgorithmPolicy::default();
        let v = block_on(verify_status_list_token(&token, &trust(&s), &opts(&policy))).unwrap();
        assert_eq!(v.list, list());
        assert_eq!(v.issuer, ISS);
        assert_eq!(
            (v.iat, v.exp, v.ttl),
            (UnixTime(NOW - 10), Some(UnixTime(NOW + 3600)), Some(300))
        );
    }

    /// Spec: HAIP 1.0 §6.1: the Status List Token carries the signer's certificate chain in
    /// `x5c`; its `iss` names the issuer, so a relying party that resolves keys from `iss`
    /// (or from `x5c`, bound to `iss`) finds them.
    #[test]
    fn signer_with_a_chain_puts_it_in_x5c_and_iss_names_the_issuer() {
        let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![0x30, 0x00]];
        let s = signer(1).with_x5c(chain.clone());
        let token = sign(&s);
        let jws = jws::decode(&token).unwrap();
        assert_eq!(
            jws.header["x5c"],
            vdc_core::sd_jwt_vc::x5c_header(&chain),
            "standard base64 DER, leaf first"
        );
        assert_eq!(jws.claim_str("iss"), Some(ISS));
        // The token names its issuer itself: no expected issuer needed to find the key.
        let policy = AlgorithmPolicy::default();
        let o = VerifyOptions {
            expected_issuer: None,
            ..opts(&policy)
        };
        let v = block_on(verify_status_list_token(&token, &trust(&s), &o)).unwrap();
        assert_eq!(v.issuer, ISS);
        // And a relying party expecting another issuer (the Referenced Token's) refuses it.
        let o = VerifyOptions {
            expected_issuer: Some("https://other.example"),
            ..opts(&policy)
        };
        let err = block_on(verify_status_list_token(&token, &trust(&s), &o)).unwrap_err();
        assert!(
            matches!(err, Error::Verification(vdc_core::Error::Claim(_))),
            "{err}"
        );
    }

    #[test]
    fn signing_refuses_bad_arguments() {
        let s = signer(1);
        let l = list();
        let t = UnixTime(NOW);
        for (uri, iat, exp, ttl, level) in [
            ("not a uri", t, t.plus(10), 1, 6),
            (URI, t, t, 1, 6),
            (URI, t, t.plus(10), 0, 6),
            (URI, t, t.plus(10), -5, 6),
            (URI, t, t.plus(10), 1, 10),
        ] {
            let r = block_on(sign_status_list_token(
                &l, uri, ISS, iat, exp, ttl, level, None, &s,
            ));
            assert!(
                matches!(r, Err(Error::InvalidInput(_))),
                "{uri} {ttl} {level}"
            );
        }
    }

    #[test]
    fn wrong_key_wrong_sub_wrong_issuer_and_expiry_are_rejected() {
        let s = signer(1);
        let token = sign(&s);
        let policy = AlgorithmPolicy::default();
        // Signed by a key not trusted for the issuer.
        let other = signer(2);
        let err = block_on(verify_status_list_token(
            &sign(&other),
            &trust(&s),
            &opts(&policy),
        ))
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Verification(
                    vdc_core::Error::UntrustedKey(_) | vdc_core::Error::InvalidSignature
                )
            ),
            "{err}"
        );
        // sub is not the uri the reference names.
        let o = VerifyOptions {
            uri: "https://issuer.example/statuslists/2",
            ..opts(&policy)
        };
        let err = block_on(verify_status_list_token(&token, &trust(&s), &o)).unwrap_err();
        assert!(
            matches!(err, Error::Verification(vdc_core::Error::Claim(_))),
            "{err}"
        );
        // Expired.
        let o = VerifyOptions {
            now: UnixTime(NOW + 3600 + 61),
            ..opts(&policy)
        };
        let err = block_on(verify_status_list_token(&token, &trust(&s), &o)).unwrap_err();
        assert!(
            matches!(err, Error::Verification(vdc_core::Error::Time(_))),
            "{err}"
        );
        // No issuer named anywhere (a token without `iss`, as vdc signed them before).
        let o = VerifyOptions {
            expected_issuer: None,
            ..opts(&policy)
        };
        let no_iss = forge(&s, json!({"typ": "statuslist+jwt"}), good_claims());
        let err = block_on(verify_status_list_token(&no_iss, &trust(&s), &o)).unwrap_err();
        assert!(
            matches!(err, Error::Verification(vdc_core::Error::UntrustedKey(_))),
            "{err}"
        );
        // Algorithm outside the policy.
        let eddsa_only = AlgorithmPolicy::only(&[Algorithm::EdDsa]);
        let err = block_on(verify_status_list_token(
            &token,
            &trust(&s),
            &opts(&eddsa_only),
        ))
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Verification(vdc_core::Error::AlgorithmNotAllowed(_))
            ),
            "{err}"
        );
    }

    /// Signs arbitrary header and claims with `s`, for crafted-token tests.
    fn forge(s: &LocalSigner, header: Value, claims: Value) -> String {
        let header = header.as_object().unwrap().clone();
        block_on(jws::sign(header, claims.as_object().unwrap(), s)).unwrap()
    }

    fn good_claims() -> Value {
        json!({
            "sub": URI, "iat": NOW - 10, "exp": NOW + 3600, "ttl": 300,
            "status_list": {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}
        })
    }

    #[test]
    fn crafted_tokens_are_rejected_for_each_section_5_1_rule() {
        let s = signer(1);
        let policy = AlgorithmPolicy::default();
        let verify = |t: &str| block_on(verify_status_list_token(t, &trust(&s), &opts(&policy)));
        // Baseline: the forged-but-correct token verifies and reads the §4.1 example.
        let ok = forge(&s, json!({"typ": "statuslist+jwt"}), good_claims());
        assert_eq!(verify(&ok).unwrap().list.bytes(), [0xb9, 0xa3]);
        // `application/` prefix is the same type (RFC 7515 §4.1.9).
        let long = forge(
            &s,
            json!({"typ": "application/statuslist+jwt"}),
            good_claims(),
        );
        assert!(verify(&long).is_ok());

        let mut cases: Vec<(&str, Value, Value, ErrorKindCheck)> = vec![
            (
                "typ JWT",
                json!({"typ": "JWT"}),
                good_claims(),
                ErrorKindCheck::Typ,
            ),
            ("no typ", json!({}), good_claims(), ErrorKindCheck::Typ),
        ];
        let mut edit = |name: &'static str, f: &dyn Fn(&mut Value), check| {
            let mut c = good_claims();
            f(&mut c);
            cases.push((name, json!({"typ": "statuslist+jwt"}), c, check));
        };
        edit(
            "no iat",
            &|c| {
                c.as_object_mut().unwrap().remove("iat");
            },
            ErrorKindCheck::Malformed,
        );
        edit(
            "future iat",
            &|c| c["iat"] = json!(NOW + 3600),
            ErrorKindCheck::Verification,
        );
        edit(
            "nbf in future",
            &|c| c["nbf"] = json!(NOW + 3600),
            ErrorKindCheck::Verification,
        );
        edit(
            "no sub",
            &|c| {
                c.as_object_mut().unwrap().remove("sub");
            },
            ErrorKindCheck::Malformed,
        );
        edit(
            "ttl zero",
            &|c| c["ttl"] = json!(0),
            ErrorKindCheck::Malformed,
        );
        edit(
            "ttl string",
            &|c| c["ttl"] = json!("300"),
            ErrorKindCheck::Malformed,
        );
        edit(
            "no status_list",
            &|c| {
                c.as_object_mut().unwrap().remove("status_list");
            },
            ErrorKindCheck::Malformed,
        );
        edit(
            "bits 3",
            &|c| c["status_list"]["bits"] = json!(3),
            ErrorKindCheck::Malformed,
        );
        edit(
            "bits string",
            &|c| c["status_list"]["bits"] = json!("1"),
            ErrorKindCheck::Malformed,
        );
        edit(
            "lst padded",
            &|c| c["status_list"]["lst"] = json!("eNrbuRgAAhcBXQ=="),
            ErrorKindCheck::Malformed,
        );
        edit(
            "lst not zlib",
            &|c| c["status_list"]["lst"] = json!("AAAA"),
            ErrorKindCheck::Malformed,
        );
        edit(
            "iss other issuer",
            &|c| c["iss"] = json!("https://evil.example"),
            ErrorKindCheck::Verification,
        );
        edit(
            "aggregation_uri number",
            &|c| c["status_list"]["aggregation_uri"] = json!(1),
            ErrorKindCheck::Malformed,
        );
        for (name, header, claims, check) in cases {
            let t = forge(&s, header, claims);
            let err = verify(&t).unwrap_err();
            let ok = match check {
                ErrorKindCheck::Typ => matches!(
                    err,
                    Error::Verification(vdc_core::Error::UnexpectedType { .. })
                ),
                ErrorKindCheck::Malformed => matches!(err, Error::Malformed(_)),
                ErrorKindCheck::Verification => matches!(err, Error::Verification(_)),
            };
            assert!(ok, "{name}: {err}");
        }
    }

    enum ErrorKindCheck {
        Typ,
        Malformed,
        Verification,
    }

    #[test]
    fn matching_iss_in_the_token_is_accepted() {
        let s = signer(1);
        let policy = AlgorithmPolicy::default();
        let mut c = good_claims();
        c["iss"] = json!(ISS);
        let t = forge(&s, json!({"typ": "statuslist+jwt"}), c);
        let o = VerifyOptions {
            expected_issuer: None,
            ..opts(&policy)
        };
        assert_eq!(
            block_on(verify_status_list_token(&t, &trust(&s), &o))
                .unwrap()
                .issuer,
            ISS
        );
        assert!(block_on(verify_status_list_token(&t, &trust(&s), &opts(&policy))).is_ok());
    }

    #[test]
    fn oversized_list_in_token_is_too_large() {
        let s = signer(1);
        let policy = AlgorithmPolicy::default();
        let big = StatusList::new(1 << 16, 1).unwrap();
        let t = block_on(sign_status_list_token(
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
            block_on(verify_status_list_token(&t, &trust(&s), &o)),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn status_claim_round_trips_and_section_6_2_example_parses() {
        let r = StatusReference::new(42, URI).unwrap();
        let claim = r.to_status_claim();
        assert_eq!(claim, json!({"status_list": {"idx": 42, "uri": URI}}));
        assert_eq!(StatusReference::from_status_claim(&claim).unwrap(), r);
        // Spec: §6.2, the decoded Referenced Token example.
        let payload = json!({
            "status": {"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}}
        });
        let r = StatusReference::from_claims(payload.as_object().unwrap()).unwrap();
        assert_eq!(
            (r.idx, r.uri.as_str()),
            (0, "https://example.com/statuslists/1")
        );
        // Other mechanisms beside status_list are ignored.
        let both = json!({"status_list": {"idx": 1, "uri": URI}, "other": {"x": 1}});
        assert_eq!(StatusReference::from_status_claim(&both).unwrap().idx, 1);
    }

    #[test]
    fn malformed_status_claims_are_rejected() {
        for bad in [
            json!("x"),
            json!({}),
            json!({"status_list": "x"}),
            json!({"status_list": {"idx": -1, "uri": URI}}),
            json!({"status_list": {"idx": 1.5, "uri": URI}}),
            json!({"status_list": {"idx": "1", "uri": URI}}),
            json!({"status_list": {"uri": URI}}),
            json!({"status_list": {"idx": 1}}),
            json!({"status_list": {"idx": 1, "uri": "relative/path"}}),
            json!({"status_list": {"idx": 1, "uri": "https://a.example/ x"}}),
            json!({"status_list": {"idx": 1, "uri": format!("https://a.example/{}", "a".repeat(3000))}}),
        ] {
            assert!(
                matches!(
                    StatusReference::from_status_claim(&bad),
                    Err(Error::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert!(StatusReference::from_claims(&Map::new()).is_err());
        assert!(matches!(
            StatusReference::new(1, "nope"),
            Err(Error::InvalidInput(_))
        ));
    }
}
