//! OID4VCI key attestations in JWT format (OID4VCI 1.0 Appendix D.1, "Key Attestation in JWT
//! format"): a wallet (or its provider) creates them ([`create`]), an issuer checks them
//! ([`verify`]) and its requirements on them ([`KeyAttestation::meets`]).
//!
//! Trust (G5): the attestation is signed by the leaf of its `x5c`, and that chain must end at
//! an anchor the operator configured. Following HAIP 1.0 §4.5.1 the anchor itself must not
//! be in `x5c` and the signing certificate must not be self-signed. The attested keys are
//! trusted only because that signature verifies.
//!
//! Where a key attestation appears: in the `key_attestation` JOSE header of a `jwt` key proof
//! (Appendix F.1) and as the proof value of the `attestation` proof type (Appendix F.3); see
//! [`crate::key_proof`].

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::jose::jws::{self, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey, Signer};
use crate::time::UnixTime;
use crate::x509::{self, TrustAnchors};

/// Media type of a key attestation JWT (OID4VCI 1.0 §D.1, IANA "application/key-attestation+jwt").
pub const KEY_ATTESTATION_TYP: &str = "key-attestation+jwt";
/// The `typ` npm `@openid4vc/openid4vci` 0.4.6 writes (an earlier draft's spelling); accepted
/// beside the spec's and never written (docs/INTEROP.md, H4).
pub const KEY_ATTESTATION_TYP_DRAFT: &str = "keyattestation+jwt";

/// The most keys one attestation may attest (the largest `batch_size` an issuer accepts).
pub const MAX_ATTESTED_KEYS: usize = 100;

/// The most values of `key_storage` / `user_authentication`, and the longest value.
const MAX_LEVELS: usize = 16;
const MAX_LEVEL_LEN: usize = 256;

/// What a key attestation says: the claims a wallet provider signs ([`create`]) and an issuer
/// reads back ([`verify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttestation {
    /// `iss`, when present (identifies the attestation's issuer; not in D.1's list, but in
    /// its example).
    pub iss: Option<String>,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`: when the attestation and its keys expire.
    pub exp: Option<UnixTime>,
    /// `attested_keys`: the keys of one key storage component, distinct, at least one.
    pub attested_keys: Vec<PublicKey>,
    /// `key_storage`: attack potential resistance of the key storage (Appendix D.2 values).
    pub key_storage: Vec<String>,
    /// `user_authentication`: attack potential resistance of the user authentication.
    pub user_authentication: Vec<String>,
    /// `certification`: a URL of the key storage component's certification.
    pub certification: Option<String>,
    /// `nonce`: a `c_nonce` of the credential issuer.
    pub nonce: Option<String>,
    /// `status`: revocation information (e.g. a Token Status List reference), as given.
    pub status: Option<Map<String, Value>>,
}

/// What an issuer expects of a key attestation.
#[derive(Debug, Clone, Copy)]
pub struct KeyAttestationExpectations<'a> {
    /// The configured anchors the `x5c` chain must end at.
    pub anchors: &'a TrustAnchors,
    /// The algorithms the issuer accepts for this use (its `proof_signing_alg_values_supported`).
    pub policy: &'a AlgorithmPolicy,
    /// Now.
    pub now: UnixTime,
    /// Allowed clock skew, seconds.
    pub skew: i64,
    /// Whether `exp` must be present (Spec: OID4VCI 1.0 §D.1: "MUST be present if the
    /// attestation is used with the JWT proof type").
    pub require_exp: bool,
}

/// Creates a key attestation signed by `signer`, whose certificate chain `x5c` (DER, leaf
/// first, without the trust anchor) goes into the header. For wallets and tests.
pub async fn create(
    signer: &dyn Signer,
    x5c: &[Vec<u8>],
    attestation: &KeyAttestation,
) -> Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), KEY_ATTESTATION_TYP.into());
    header.insert("x5c".into(), x509::to_x5c(x5c));
    let mut claims = Map::new();
    if let Some(iss) = &attestation.iss {
        claims.insert("iss".into(), iss.clone().into());
    }
    claims.insert("iat".into(), attestation.iat.secs().into());
    if let Some(exp) = attestation.exp {
        claims.insert("exp".into(), exp.secs().into());
    }
    claims.insert(
        "attested_keys".into(),
        Value::Array(
            attestation
                .attested_keys
                .iter()
                .map(|k| Value::Object(k.to_jwk_members()))
                .collect(),
        ),
    );
    for (name, values) in [
        ("key_storage", &attestation.key_storage),
        ("user_authentication", &attestation.user_authentication),
    ] {
        if !values.is_empty() {
            claims.insert(name.into(), values.clone().into());
        }
    }
    if let Some(c) = &attestation.certification {
        claims.insert("certification".into(), c.clone().into());
    }
    if let Some(n) = &attestation.nonce {
        claims.insert("nonce".into(), n.clone().into());
    }
    if let Some(s) = &attestation.status {
        claims.insert("status".into(), Value::Object(s.clone()));
    }
    jws::sign_with_options(header, &claims, signer, false).await
}

/// Checks a key attestation JWT (OID4VCI 1.0 §D.1, HAIP 1.0 §4.5.1) and returns what it
/// attests: `typ`; the key in `x5c` (the only carrier supported; `jwk` and `trust_chain` are
/// refused); no trust anchor in `x5c`; a signing certificate that is not self-signed; the
/// chain valid at `now` to one of the anchors; the signature by the leaf's key under the
/// policy (`alg` is the key's; `none` and MACs cannot be expressed); `iat` (not in the
/// future), `exp` (not passed; required when asked); `attested_keys` (public JWKs, validated
/// on parse: on-curve points, no private members; distinct); the optional members' types.
///
/// Every failure is an error whose message says which rule failed. The `nonce` is returned,
/// not checked: only the issuer knows its `c_nonce`s.
pub fn verify(jwt: &str, expect: &KeyAttestationExpectations<'_>) -> Result<KeyAttestation> {
    let jws = jws::decode(jwt)?;
    if jws.expect_typ(KEY_ATTESTATION_TYP_DRAFT).is_err() {
        jws.expect_typ(KEY_ATTESTATION_TYP)?;
    }
    for refused in ["jwk", "trust_chain"] {
        if jws.header.contains_key(refused) {
            return Err(Error::Claim(format!(
                "key attestation header {refused} is not supported: the signing key goes in x5c"
            )));
        }
    }
    // Spec: HAIP 1.0 §4.5.1: "The public key used to validate the signature on the key
    // attestation MUST be included in the x5c JOSE header of the key attestation".
    let x5c = jws
        .header
        .get("x5c")
        .ok_or_else(|| Error::Claim("key attestation has no x5c header".into()))?;
    let chain = x509::parse_x5c(x5c)?;
    // Spec: HAIP 1.0 §4.5.1: "The X.509 certificate of the trust anchor MUST NOT be included
    // in the x5c JOSE header of the key attestation."
    if chain.iter().any(|c| expect.anchors.contains(c)) {
        return Err(Error::Certificate(
            "key attestation x5c includes the trust anchor certificate".into(),
        ));
    }
    // Spec: HAIP 1.0 §4.5.1: "The X.509 certificate signing the key attestation MUST NOT be
    // self-signed."
    if let Some(leaf) = chain.first()
        && x509::is_self_signed(leaf)?
    {
        return Err(Error::Certificate(
            "the certificate signing the key attestation is self-signed".into(),
        ));
    }
    let leaf = x509::validate_x5c(&chain, expect.anchors, expect.now).map_err(|e| match e {
        Error::Certificate(m) => Error::Certificate(format!("key attestation {m}")),
        other => other,
    })?;
    jws.verify(&leaf.public_key, expect.policy)?;
    let rules = TimeRules {
        skew: expect.skew,
        require_exp: expect.require_exp,
        require_iat: true,
        // Freshness comes from the nonce; an attestation may be made ahead of time (HAIP
        // 1.0 §7.2), so its age is bounded only by its own `exp`.
        max_iat_age: None,
    };
    jws::check_times(&jws.payload, expect.now, rules)
        .map_err(|e| prefixed("key attestation", e))?;
    read_claims(&jws.payload)
}

/// Reads the body members of a key attestation (OID4VCI 1.0 §D.1).
fn read_claims(claims: &Map<String, Value>) -> Result<KeyAttestation> {
    let iat = jws::numeric_date(claims, "iat")?
        .ok_or_else(|| Error::malformed("key attestation iat is required"))?;
    let exp = jws::numeric_date(claims, "exp")?.map(UnixTime);
    // Spec: §D.1: attested_keys "REQUIRED. A non-empty array of attested keys ... using the
    // syntax of JWK".
    let keys = claims
        .get("attested_keys")
        .ok_or_else(|| Error::Claim("key attestation has no attested_keys".into()))?
        .as_array()
        .ok_or_else(|| Error::Claim("attested_keys must be an array of JWKs".into()))?;
    if keys.is_empty() {
        return Err(Error::Claim("attested_keys must not be empty".into()));
    }
    if keys.len() > MAX_ATTESTED_KEYS {
        return Err(Error::TooLarge(format!(
            "attested_keys holds {} keys, at most {MAX_ATTESTED_KEYS} are accepted",
            keys.len()
        )));
    }
    let mut attested_keys: Vec<PublicKey> = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let key = Jwk::from_value(k)
            .map_err(|e| prefixed(&format!("attested_keys[{i}]"), e))?
            .key;
        if attested_keys.contains(&key) {
            return Err(Error::Claim(format!(
                "attested_keys[{i}] repeats an earlier key"
            )));
        }
        attested_keys.push(key);
    }
    Ok(KeyAttestation {
        iss: optional_string(claims, "iss")?,
        iat: UnixTime(iat),
        exp,
        attested_keys,
        key_storage: levels(claims, "key_storage")?,
        user_authentication: levels(claims, "user_authentication")?,
        certification: optional_string(claims, "certification")?,
        nonce: optional_string(claims, "nonce")?,
        status: match claims.get("status") {
            None => None,
            Some(Value::Object(s)) => Some(s.clone()),
            Some(_) => return Err(Error::Claim("status must be a JSON object".into())),
        },
    })
}

/// `key_storage` / `user_authentication`: absent, or a non-empty array of strings (§D.1).
fn levels(claims: &Map<String, Value>, name: &str) -> Result<Vec<String>> {
    let Some(value) = claims.get(name) else {
        return Ok(Vec::new());
    };
    let bad = || Error::Claim(format!("{name} must be a non-empty array of strings"));
    let items = value.as_array().ok_or_else(bad)?;
    if items.is_empty() {
        return Err(bad());
    }
    if items.len() > MAX_LEVELS {
        return Err(Error::TooLarge(format!(
            "{name} has more than {MAX_LEVELS} values"
        )));
    }
    items
        .iter()
        .map(|v| {
            let s = v.as_str().ok_or_else(bad)?;
            if s.is_empty() || s.len() > MAX_LEVEL_LEN {
                return Err(bad());
            }
            Ok(s.to_owned())
        })
        .collect()
}

fn optional_string(claims: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::Claim(format!("{name} must be a string"))),
    }
}

/// The same error with `context` in front of its message, so a caller can tell which part
/// of a proof failed.
fn prefixed(context: &str, e: Error) -> Error {
    match e {
        Error::Malformed(m) => Error::Malformed(format!("{context}: {m}")),
        Error::Time(m) => Error::Time(format!("{context}: {m}")),
        Error::InvalidKey(m) => Error::InvalidKey(format!("{context}: {m}")),
        Error::Claim(m) => Error::Claim(format!("{context}: {m}")),
        other => other,
    }
}

impl KeyAttestation {
    /// Whether the attestation meets an issuer's `key_attestations_required` (OID4VCI 1.0
    /// §12.2.4): for each non-empty list the issuer accepts, at least one value the
    /// attestation asserts must be among them; an empty list accepts anything (also an
    /// attestation that asserts nothing).
    pub fn meets(&self, key_storage: &[String], user_authentication: &[String]) -> Result<()> {
        for (name, accepted, asserted) in [
            ("key_storage", key_storage, &self.key_storage),
            (
                "user_authentication",
                user_authentication,
                &self.user_authentication,
            ),
        ] {
            if !accepted.is_empty() && !asserted.iter().any(|v| accepted.contains(v)) {
                return Err(Error::Claim(format!(
                    "key attestation {name} asserts none of the accepted values ({})",
                    accepted.join(", ")
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, LocalSigner, SigningKey};
    use crate::rng::SeededRandom;
    use crate::x509::{CertificateSpec, issue, self_signed};

    /// 2026-01-01T00:00:00Z.
    const T0: i64 = 1_767_225_600;
    const DAY: i64 = 86_400;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    /// A key attestation CA, its signing (leaf) certificate and key.
    struct Ca {
        root: Vec<u8>,
        root_key: SigningKey,
        leaf: Vec<u8>,
        signer: LocalSigner,
    }

    fn spec(cn: &str, rng: &SeededRandom) -> CertificateSpec {
        CertificateSpec::new(cn, UnixTime(T0 - DAY), UnixTime(T0 + 365 * DAY), rng).unwrap()
    }

    fn ca(seed: u64) -> Ca {
        let rng = SeededRandom::new(seed);
        let root_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let root = self_signed(&spec("Key Attestation Root", &rng).ca(), &root_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Wallet Provider", &rng),
            leaf_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        Ca {
            root,
            root_key,
            leaf,
            signer: LocalSigner::new(leaf_key),
        }
    }

    fn holder_keys(n: usize, seed: u64) -> Vec<PublicKey> {
        let rng = SeededRandom::new(seed);
        (0..n)
            .map(|_| {
                SigningKey::generate(Algorithm::Es256, &rng)
                    .unwrap()
                    .public_key()
                    .clone()
            })
            .collect()
    }

    fn attestation(keys: Vec<PublicKey>) -> KeyAttestation {
        KeyAttestation {
            iss: Some("https://wallet-provider.example".into()),
            iat: UnixTime(T0 - 60),
            exp: Some(UnixTime(T0 + DAY)),
            attested_keys: keys,
            key_storage: vec!["iso_18045_high".into()],
            user_authentication: vec!["iso_18045_moderate".into()],
            certification: Some("https://cert.example/ks".into()),
            nonce: Some("c-nonce".into()),
            status: None,
        }
    }

    fn expectations<'a>(
        anchors: &'a TrustAnchors,
        policy: &'a AlgorithmPolicy,
    ) -> KeyAttestationExpectations<'a> {
        KeyAttestationExpectations {
            anchors,
            policy,
            now: UnixTime(T0),
            skew: 30,
            require_exp: false,
        }
    }

    fn anchors(ca: &Ca) -> TrustAnchors {
        TrustAnchors::from_der_certs(vec![ca.root.clone()]).unwrap()
    }

    /// Signs arbitrary header/claims with the CA's leaf, x5c = [leaf].
    fn sign_raw(ca: &Ca, mut header: Map<String, Value>, claims: Map<String, Value>) -> String {
        header
            .entry("typ")
            .or_insert_with(|| KEY_ATTESTATION_TYP.into());
        header
            .entry("x5c")
            .or_insert_with(|| x509::to_x5c(std::slice::from_ref(&ca.leaf)));
        block_on(jws::sign_with_options(header, &claims, &ca.signer, false)).unwrap()
    }

    fn claims_of(a: &KeyAttestation) -> Map<String, Value> {
        let jwt = block_on(create(&LocalSigner::new(key()), &[], a)).unwrap();
        jws::decode(&jwt).unwrap().payload
    }

    fn key() -> SigningKey {
        SigningKey::generate(Algorithm::Es256, &SeededRandom::new(99)).unwrap()
    }

    #[test]
    fn attestation_round_trips_through_create_and_verify() {
        let ca = ca(1);
        let a = attestation(holder_keys(3, 2));
        let jwt = block_on(create(&ca.signer, std::slice::from_ref(&ca.leaf), &a)).unwrap();
        let header = jws::decode(&jwt).unwrap().header;
        assert_eq!(header["typ"], KEY_ATTESTATION_TYP);
        assert_eq!(header["alg"], "ES256");
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let got = verify(&jwt, &expectations(&anchors, &policy)).unwrap();
        assert_eq!(got, a);
    }

    #[test]
    fn attestation_from_another_anchor_is_refused() {
        let (ca, other) = (ca(1), ca(2));
        let jwt = block_on(create(
            &ca.signer,
            std::slice::from_ref(&ca.leaf),
            &attestation(holder_keys(1, 3)),
        ))
        .unwrap();
        let (anchors, policy) = (anchors(&other), AlgorithmPolicy::default());
        let err = verify(&jwt, &expectations(&anchors, &policy)).unwrap_err();
        assert!(matches!(err, Error::Certificate(_)), "{err:?}");
    }

    #[test]
    fn attestation_whose_x5c_includes_the_anchor_is_refused() {
        let ca = ca(1);
        let jwt = block_on(create(
            &ca.signer,
            &[ca.leaf.clone(), ca.root.clone()],
            &attestation(holder_keys(1, 3)),
        ))
        .unwrap();
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let err = verify(&jwt, &expectations(&anchors, &policy)).unwrap_err();
        assert!(err.to_string().contains("trust anchor"), "{err}");
    }

    #[test]
    fn attestation_signed_by_a_self_signed_certificate_is_refused_even_when_pinned() {
        let rng = SeededRandom::new(5);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let cert = self_signed(&spec("Self Signed Provider", &rng), &key).unwrap();
        let signer = LocalSigner::new(key);
        let jwt = block_on(create(
            &signer,
            std::slice::from_ref(&cert),
            &attestation(holder_keys(1, 3)),
        ))
        .unwrap();
        let policy = AlgorithmPolicy::default();
        // Not an anchor: refused as self-signed before path validation.
        let ca = ca(1);
        let other = anchors(&ca);
        let err = verify(&jwt, &expectations(&other, &policy)).unwrap_err();
        assert!(err.to_string().contains("self-signed"), "{err}");
        // Pinned as an anchor, it is the anchor inside x5c: refused as well.
        let pinned = TrustAnchors::from_der_certs(vec![cert]).unwrap();
        assert!(verify(&jwt, &expectations(&pinned, &policy)).is_err());
    }

    #[test]
    fn signer_named_like_its_ca_is_not_self_signed() {
        // Self-signed means "verifies with its own key" (x509::is_self_signed), not "same
        // name": a leaf the CA issued under the CA's own name is accepted.
        let ca = ca(1);
        let rng = SeededRandom::new(6);
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Key Attestation Root", &rng),
            leaf_key.public_key(),
            &ca.root,
            &ca.root_key,
        )
        .unwrap();
        let jwt = block_on(create(
            &LocalSigner::new(leaf_key),
            &[leaf],
            &attestation(holder_keys(1, 3)),
        ))
        .unwrap();
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        verify(&jwt, &expectations(&anchors, &policy)).unwrap();
    }

    #[test]
    fn attestation_with_wrong_typ_or_key_carrier_is_refused() {
        let ca = ca(1);
        let claims = claims_of(&attestation(holder_keys(1, 3)));
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let expect = expectations(&anchors, &policy);
        let mut h = Map::new();
        h.insert("typ".into(), "openid4vci-proof+jwt".into());
        let err = verify(&sign_raw(&ca, h, claims.clone()), &expect).unwrap_err();
        assert!(matches!(err, Error::UnexpectedType { .. }), "{err:?}");
        // The draft spelling npm @openid4vc/openid4vci 0.4.6 writes is accepted (INTEROP).
        let mut h = Map::new();
        h.insert("typ".into(), KEY_ATTESTATION_TYP_DRAFT.into());
        verify(&sign_raw(&ca, h, claims.clone()), &expect).unwrap();
        let mut h = Map::new();
        h.insert(
            "jwk".into(),
            Value::Object(ca.signer.key().public_key().to_jwk_members()),
        );
        let err = verify(&sign_raw(&ca, h, claims.clone()), &expect).unwrap_err();
        assert!(err.to_string().contains("jwk"), "{err}");
        // No x5c at all.
        let jwt = block_on(jws::sign_with_options(
            Map::from_iter([("typ".to_string(), Value::from(KEY_ATTESTATION_TYP))]),
            &claims,
            &ca.signer,
            false,
        ))
        .unwrap();
        let err = verify(&jwt, &expect).unwrap_err();
        assert!(err.to_string().contains("x5c"), "{err}");
    }

    #[test]
    fn attestation_with_an_algorithm_outside_the_policy_or_a_bad_signature_is_refused() {
        let ca = ca(1);
        let jwt = block_on(create(
            &ca.signer,
            std::slice::from_ref(&ca.leaf),
            &attestation(holder_keys(1, 3)),
        ))
        .unwrap();
        let anchors = anchors(&ca);
        let eddsa_only = AlgorithmPolicy::only(&[Algorithm::EdDsa]);
        let err = verify(&jwt, &expectations(&anchors, &eddsa_only)).unwrap_err();
        assert!(matches!(err, Error::AlgorithmNotAllowed(_)), "{err:?}");
        // A signature by another key than the leaf's.
        let policy = AlgorithmPolicy::default();
        let (head, _) = jwt.rsplit_once('.').unwrap();
        let forged_sig = key().sign_sync(head.as_bytes()).unwrap();
        let forged = format!("{head}.{}", crate::base64url::encode(forged_sig));
        let err = verify(&forged, &expectations(&anchors, &policy)).unwrap_err();
        assert_eq!(err, Error::InvalidSignature);
        // alg none is not even parsed.
        let mut parts = jwt.split('.');
        let _ = parts.next();
        let none_header = crate::base64url::encode(
            br#"{"typ":"key-attestation+jwt","alg":"none","x5c":[]}"#.as_slice(),
        );
        let none = format!("{none_header}.{}.", parts.next().unwrap());
        assert!(verify(&none, &expectations(&anchors, &policy)).is_err());
    }

    #[test]
    fn attestation_times_are_checked() {
        let ca = ca(1);
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let sign = |a: &KeyAttestation| {
            block_on(create(&ca.signer, std::slice::from_ref(&ca.leaf), a)).unwrap()
        };
        let mut a = attestation(holder_keys(1, 3));
        a.exp = Some(UnixTime(T0 - 3600));
        let err = verify(&sign(&a), &expectations(&anchors, &policy)).unwrap_err();
        assert!(matches!(err, Error::Time(_)), "{err:?}");
        let mut a = attestation(holder_keys(1, 3));
        a.iat = UnixTime(T0 + 3600);
        let err = verify(&sign(&a), &expectations(&anchors, &policy)).unwrap_err();
        assert!(matches!(err, Error::Time(_)), "{err:?}");
        // exp is optional, unless the use requires it (jwt proof type).
        let mut a = attestation(holder_keys(1, 3));
        a.exp = None;
        let jwt = sign(&a);
        verify(&jwt, &expectations(&anchors, &policy)).unwrap();
        let strict = KeyAttestationExpectations {
            require_exp: true,
            ..expectations(&anchors, &policy)
        };
        assert!(verify(&jwt, &strict).is_err());
        // iat is required.
        let mut claims = claims_of(&attestation(holder_keys(1, 3)));
        claims.remove("iat");
        assert!(verify(&sign_raw(&ca, Map::new(), claims), &strict).is_err());
    }

    #[test]
    fn attested_keys_must_be_a_non_empty_array_of_distinct_public_jwks() {
        let ca = ca(1);
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let expect = expectations(&anchors, &policy);
        let base = claims_of(&attestation(holder_keys(1, 3)));
        let k = Value::Object(holder_keys(1, 3)[0].to_jwk_members());
        let mut private = key().to_private_jwk().to_string();
        private = private.trim().to_owned();
        let private: Value = serde_json::from_str(&private).unwrap();
        // A point not on the curve (x and y of the generator swapped).
        let off_curve = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU",
            "y": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY"});
        for (what, value) in [
            ("missing", None),
            ("not an array", Some(k.clone())),
            ("empty", Some(serde_json::json!([]))),
            (
                "repeated key",
                Some(serde_json::json!([k.clone(), k.clone()])),
            ),
            ("private key", Some(serde_json::json!([private]))),
            ("off-curve point", Some(serde_json::json!([off_curve]))),
            (
                "symmetric key",
                Some(serde_json::json!([{"kty": "oct", "k": "AAAA"}])),
            ),
        ] {
            let mut claims = base.clone();
            match value {
                None => claims.remove("attested_keys"),
                Some(v) => claims.insert("attested_keys".into(), v),
            };
            assert!(
                verify(&sign_raw(&ca, Map::new(), claims), &expect).is_err(),
                "{what} must be refused"
            );
        }
        let too_many = Value::Array(
            holder_keys(MAX_ATTESTED_KEYS + 1, 4)
                .iter()
                .map(|k| Value::Object(k.to_jwk_members()))
                .collect(),
        );
        let mut claims = base.clone();
        claims.insert("attested_keys".into(), too_many);
        let err = verify(&sign_raw(&ca, Map::new(), claims), &expect).unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err:?}");
    }

    #[test]
    fn optional_members_must_have_their_types() {
        let ca = ca(1);
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let expect = expectations(&anchors, &policy);
        let base = claims_of(&attestation(holder_keys(1, 3)));
        for (name, bad) in [
            ("key_storage", serde_json::json!([])),
            ("key_storage", serde_json::json!("iso_18045_high")),
            ("user_authentication", serde_json::json!([1])),
            ("user_authentication", serde_json::json!([""])),
            ("certification", serde_json::json!(1)),
            ("nonce", serde_json::json!(["n"])),
            ("status", serde_json::json!("revoked")),
            ("iss", serde_json::json!(7)),
        ] {
            let mut claims = base.clone();
            claims.insert(name.into(), bad.clone());
            assert!(
                verify(&sign_raw(&ca, Map::new(), claims), &expect).is_err(),
                "{name} = {bad} must be refused"
            );
        }
        // A status object is kept as given.
        let mut claims = base.clone();
        let status = serde_json::json!({"status_list": {"idx": 3, "uri": "https://s.example/1"}});
        claims.insert("status".into(), status.clone());
        let got = verify(&sign_raw(&ca, Map::new(), claims), &expect).unwrap();
        assert_eq!(Value::Object(got.status.unwrap()), status);
    }

    #[test]
    fn meets_requires_one_accepted_value_per_non_empty_list() {
        let a = attestation(holder_keys(1, 3));
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        a.meets(&[], &[]).unwrap();
        a.meets(&s(&["iso_18045_high", "iso_18045_moderate"]), &[])
            .unwrap();
        a.meets(&[], &s(&["iso_18045_moderate"])).unwrap();
        let err = a.meets(&s(&["iso_18045_moderate"]), &[]).unwrap_err();
        assert!(err.to_string().contains("key_storage"), "{err}");
        let err = a.meets(&[], &s(&["iso_18045_high"])).unwrap_err();
        assert!(err.to_string().contains("user_authentication"), "{err}");
        // An attestation asserting nothing meets no non-empty list.
        let mut bare = a.clone();
        bare.key_storage.clear();
        bare.meets(&[], &[]).unwrap();
        assert!(bare.meets(&s(&["iso_18045_high"]), &[]).is_err());
    }

    #[test]
    fn chain_with_intermediate_validates() {
        let ca = ca(1);
        let rng = SeededRandom::new(8);
        let inter_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let inter = issue(
            &spec("Intermediate", &rng).ca(),
            inter_key.public_key(),
            &ca.root,
            &ca.root_key,
        )
        .unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Key Storage", &rng),
            leaf_key.public_key(),
            &inter,
            &inter_key,
        )
        .unwrap();
        let jwt = block_on(create(
            &LocalSigner::new(leaf_key),
            &[leaf, inter],
            &attestation(holder_keys(2, 3)),
        ))
        .unwrap();
        let (anchors, policy) = (anchors(&ca), AlgorithmPolicy::default());
        let got = verify(&jwt, &expectations(&anchors, &policy)).unwrap();
        assert_eq!(got.attested_keys.len(), 2);
    }
}
