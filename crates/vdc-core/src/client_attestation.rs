//! OAuth 2.0 Attestation-Based Client Authentication (draft-ietf-oauth-attestation-based-client-auth,
//! "ABCA"), as OID4VCI 1.0 Appendix E ("Wallet Attestations in JWT format") and HAIP 1.0
//! §4.4.1 use it: a wallet provider signs a Client Attestation JWT binding a client instance
//! key (`cnf.jwk`) to a `client_id` (`sub`), and the wallet proves possession of that key with
//! a Client Attestation PoP JWT per request. Wallets create both ([`create_attestation`],
//! [`create_pop`]); authorization servers check both ([`verify`]).
//!
//! Trust (G5): the attestation's key comes from its `x5c` chain, which must validate to one of
//! the caller's configured anchors; the chain must not carry an anchor and its leaf must not
//! be self-signed (HAIP 1.0 §4.4.1). Nothing else in the token can make it trusted. The PoP is
//! trusted only because the attested `cnf` key signed it.
//!
//! What needs state is the caller's: [`VerifiedClientAttestation`] names the PoP `jti` (to
//! record once), and the `challenge` (to open and consume) when the PoP carries one.
//!
//! Two PoP shapes are accepted: the current draft's (`aud`, `jti`, `iat`, optional
//! `challenge`) and the pre-06 shape some libraries still send (npm `@openid4vc/oauth2`
//! 0.4.6: additionally `iss` = the client_id and `exp`, and the challenge as `nonce`).

use serde_json::{Map, Value};

use crate::jose::jws::{self, TimeRules};
use crate::jose::{AlgorithmPolicy, Jwk, PublicKey, Signer};
use crate::time::UnixTime;
use crate::x509::{self, TrustAnchors};

/// Media type of a Client Attestation JWT (ABCA §"Client Attestation JWT").
pub const ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
/// Media type of a Client Attestation PoP JWT (ABCA §"Client Attestation PoP JWT").
pub const POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// The request header carrying the attestation (ABCA §"Client Attestation JWT").
pub const ATTESTATION_HEADER: &str = "OAuth-Client-Attestation";
/// The request header carrying the PoP (ABCA §"Client Attestation PoP JWT").
pub const POP_HEADER: &str = "OAuth-Client-Attestation-PoP";
/// The response header carrying a fresh challenge (ABCA §"Providing Challenges on Previous
/// Responses").
pub const CHALLENGE_HEADER: &str = "OAuth-Client-Attestation-Challenge";
/// Longest `jti`, `sub`, `iss` or `challenge` accepted (bounded input).
pub const MAX_CLAIM_LEN: usize = 256;

/// What a wallet provider puts into a Client Attestation JWT.
#[derive(Debug, Clone, Copy)]
pub struct AttestationInput<'a> {
    /// `iss`: the wallet provider (OID4VCI 1.0 Appendix E example; ABCA leaves it optional).
    pub issuer: Option<&'a str>,
    /// `sub`: the client_id of the wallet (shared by all instances; OID4VCI 1.0 §15.4.4).
    pub client_id: &'a str,
    /// `iat`.
    pub iat: UnixTime,
    /// `exp`.
    pub exp: UnixTime,
    /// `cnf.jwk`: the client instance key.
    pub instance_key: &'a PublicKey,
    /// `x5c`: the provider's certificate chain, leaf first (HAIP 1.0 §4.4.1: without the
    /// trust anchor).
    pub x5c: &'a [Vec<u8>],
}

/// Creates a Client Attestation JWT signed by `provider` (the key of `x5c`'s leaf).
pub async fn create_attestation(
    provider: &dyn Signer,
    input: AttestationInput<'_>,
) -> crate::Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), ATTESTATION_TYP.into());
    header.insert("x5c".into(), x509::to_x5c(input.x5c));
    let mut claims = Map::new();
    if let Some(iss) = input.issuer {
        claims.insert("iss".into(), iss.into());
    }
    claims.insert("sub".into(), input.client_id.into());
    claims.insert("iat".into(), input.iat.secs().into());
    claims.insert("exp".into(), input.exp.secs().into());
    let mut cnf = Map::new();
    cnf.insert(
        "jwk".into(),
        Value::Object(input.instance_key.to_jwk_members()),
    );
    claims.insert("cnf".into(), Value::Object(cnf));
    jws::sign_with_options(header, &claims, provider, false).await
}

/// Which PoP claim set a wallet sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopShape {
    /// The current draft: `aud`, `jti`, `iat`, `challenge`.
    Current,
    /// The pre-06 draft as npm `@openid4vc/oauth2` 0.4.6 sends it: also `iss` (the
    /// client_id) and `exp` (`iat` + 60 s), the challenge as `nonce`.
    Pre06,
}

/// What a client instance puts into a Client Attestation PoP JWT.
#[derive(Debug, Clone, Copy)]
pub struct PopInput<'a> {
    /// `aud`: the authorization server's issuer identifier (RFC 8414).
    pub audience: &'a str,
    /// `jti`: unique per PoP.
    pub jti: &'a str,
    /// `iat`.
    pub iat: UnixTime,
    /// The server-provided challenge, if the server gave one.
    pub challenge: Option<&'a str>,
    /// Which claim set to send; [`PopShape::Pre06`] needs `client_id`.
    pub shape: PopShape,
    /// `iss` of the pre-06 shape: the attestation's `sub`.
    pub client_id: Option<&'a str>,
}

/// Creates a Client Attestation PoP JWT signed by the client instance key.
pub async fn create_pop(instance: &dyn Signer, input: PopInput<'_>) -> crate::Result<String> {
    let mut header = Map::new();
    header.insert("typ".into(), POP_TYP.into());
    let mut claims = Map::new();
    claims.insert("aud".into(), input.audience.into());
    claims.insert("jti".into(), input.jti.into());
    claims.insert("iat".into(), input.iat.secs().into());
    match input.shape {
        PopShape::Current => {
            if let Some(c) = input.challenge {
                claims.insert("challenge".into(), c.into());
            }
        }
        PopShape::Pre06 => {
            if let Some(iss) = input.client_id {
                claims.insert("iss".into(), iss.into());
            }
            claims.insert("exp".into(), input.iat.plus(60).secs().into());
            if let Some(c) = input.challenge {
                claims.insert("nonce".into(), c.into());
            }
        }
    }
    jws::sign_with_options(header, &claims, instance, false).await
}

/// What the authorization server expects of an attestation and its PoP.
#[derive(Debug, Clone, Copy)]
pub struct Expectations<'a> {
    /// The wallet providers' trust anchors (configured, never from the token).
    pub anchors: &'a TrustAnchors,
    /// Allowed signature algorithms, for the attestation and the PoP.
    pub policy: &'a AlgorithmPolicy,
    /// The authorization server's issuer identifier: the PoP's `aud`.
    pub audience: &'a str,
    /// The `client_id` the request names, if any: must be the attestation's `sub`.
    pub client_id: Option<&'a str>,
    /// Now.
    pub now: UnixTime,
    /// How old the PoP's `iat` may be, seconds.
    pub pop_max_age_secs: i64,
    /// Allowed clock skew, seconds (R4).
    pub skew: i64,
}

/// An attestation and PoP that passed every stateless check. The caller must still record
/// `jti` as used, and open and consume `challenge` when it has one or requires one.
#[derive(Debug, Clone)]
pub struct VerifiedClientAttestation {
    /// The attestation's `sub`: the authenticated client_id.
    pub client_id: String,
    /// The attestation's `iss` (the wallet provider), if it names one.
    pub wallet_provider: Option<String>,
    /// The client instance key (`cnf.jwk`).
    pub instance_key: PublicKey,
    /// Its RFC 7638 thumbprint.
    pub instance_jkt: String,
    /// The attestation's `exp`.
    pub attestation_expires_at: UnixTime,
    /// The PoP's `jti`.
    pub jti: String,
    /// The PoP's `iat`.
    pub iat: UnixTime,
    /// The PoP's `challenge` (or, in the pre-06 shape, `nonce`).
    pub challenge: Option<String>,
    /// Which shape the PoP had.
    pub shape: PopShape,
}

/// Why an attestation or its PoP was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestationError {
    /// Malformed, badly signed, untrusted chain, wrong `typ`, `sub` ≠ client_id, PoP by
    /// another key, wrong `aud`, stale `iat` (ABCA §"Verification and Processing":
    /// `invalid_client`).
    #[error("{0}")]
    Invalid(String),
    /// The attestation is expired: the wallet needs a fresh one from its provider (ABCA
    /// §"Errors": `use_fresh_attestation`).
    #[error("{0}")]
    NotFresh(String),
}

fn invalid(m: impl Into<String>) -> AttestationError {
    AttestationError::Invalid(m.into())
}

/// A string claim of 1 to [`MAX_CLAIM_LEN`] characters; `Ok(None)` when absent.
fn bounded_str<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<Option<&'a str>, AttestationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_CLAIM_LEN => Ok(Some(s)),
        Some(_) => Err(invalid(format!(
            "{what} {name} must be a string of 1 to {MAX_CLAIM_LEN} characters"
        ))),
    }
}

/// Checks the Client Attestation JWT (ABCA §"Verification and Processing", "Client
/// Attestation JWT"; HAIP 1.0 §4.4.1) and returns its `sub`, `iss`, `cnf` key and `exp`.
fn verify_attestation(
    attestation: &str,
    expect: &Expectations<'_>,
) -> Result<(String, Option<String>, PublicKey, UnixTime), AttestationError> {
    let jws = jws::decode(attestation)
        .map_err(|e| invalid(format!("the client attestation is not a JWT: {e}")))?;
    // Spec: ABCA §"Client Attestation JWT": typ MUST be oauth-client-attestation+jwt.
    jws.expect_typ(ATTESTATION_TYP)
        .map_err(|e| invalid(format!("client attestation: {e}")))?;
    // Spec: HAIP 1.0 §4.4.1: the certificate of the key signing the attestation, and
    // optionally its chain excluding the trust anchor, MUST be in x5c.
    let x5c = jws
        .header
        .get("x5c")
        .ok_or_else(|| invalid("the client attestation has no x5c header (HAIP 1.0 §4.4.1)"))?;
    let chain =
        x509::parse_x5c(x5c).map_err(|e| invalid(format!("client attestation x5c: {e}")))?;
    if chain.iter().any(|c| expect.anchors.contains(c)) {
        return Err(invalid(
            "the client attestation's x5c includes a trust anchor; send the chain without it (HAIP 1.0 §4.4.1)",
        ));
    }
    let leaf = chain
        .first()
        .ok_or_else(|| invalid("the client attestation's x5c is empty"))?;
    // Spec: HAIP 1.0 §4.4.1 (with §4.5.1, §6.1): the signing certificate MUST NOT be
    // self-signed. webpki alone would take a self-signed leaf whose name and key are pinned
    // as an anchor, even re-signed with other bytes.
    let self_signed = x509::is_self_signed(leaf)
        .map_err(|e| invalid(format!("client attestation x5c leaf: {e}")))?;
    if self_signed {
        return Err(invalid(
            "the client attestation is signed with a self-signed certificate; it must be issued under a wallet provider CA (HAIP 1.0 §4.4.1)",
        ));
    }
    let validated = x509::validate_x5c(&chain, expect.anchors, expect.now).map_err(|e| {
        invalid(format!(
            "the client attestation's x5c does not validate to a trusted wallet provider: {e}"
        ))
    })?;
    // Spec: ABCA §"Verification and Processing": alg is registered, not none, supported and
    // allowed by local policy; the signature verifies with the trusted attester's key. The
    // algorithm is the leaf key's (Jws::verify refuses a header alg that is not).
    jws.verify(&validated.public_key, expect.policy)
        .map_err(|e| invalid(format!("client attestation signature: {e}")))?;
    let sub = bounded_str(&jws.payload, "sub", "client attestation")?
        .ok_or_else(|| invalid("the client attestation has no sub"))?;
    let iss = bounded_str(&jws.payload, "iss", "client attestation")?;
    // Spec: ABCA §"Client Attestation JWT": exp is REQUIRED; an AS MUST reject a passed exp,
    // subject to clock skew. §"Errors": not fresh enough is `use_fresh_attestation`.
    let exp = jws::numeric_date(&jws.payload, "exp")
        .map_err(|e| invalid(format!("client attestation: {e}")))?
        .ok_or_else(|| invalid("the client attestation has no exp"))?;
    if expect.now.secs() - expect.skew >= exp {
        return Err(AttestationError::NotFresh(
            "the client attestation has expired; get a fresh one from the wallet provider".into(),
        ));
    }
    let rules = TimeRules {
        skew: expect.skew,
        require_exp: true,
        require_iat: false,
        max_iat_age: None,
    };
    jws::check_times(&jws.payload, expect.now, rules)
        .map_err(|e| invalid(format!("client attestation: {e}")))?;
    // Spec: ABCA §"Client Attestation JWT": cnf MUST hold the key as jwk; §"Verification
    // and Processing": it is not a private key (Jwk::from_value refuses `d`).
    let jwk = jws
        .payload
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .ok_or_else(|| invalid("the client attestation has no cnf.jwk"))?;
    let instance_key = Jwk::from_value(jwk)
        .map_err(|e| invalid(format!("client attestation cnf.jwk: {e}")))?
        .key;
    // Spec: ABCA §"Verification and Processing" item 7, §"Client Attestation as an OAuth
    // Client Authentication": a client_id in the request MUST be the attestation's sub.
    if let Some(client_id) = expect.client_id
        && client_id != sub
    {
        return Err(invalid(
            "client_id is not the sub of the client attestation (ABCA; HAIP 1.0 §4.4.1)",
        ));
    }
    Ok((
        sub.to_owned(),
        iss.map(str::to_owned),
        instance_key,
        UnixTime(exp),
    ))
}

/// Checks a Client Attestation and its PoP (ABCA §"Verification and Processing", both
/// subsections; HAIP 1.0 §4.4.1; OID4VCI 1.0 Appendix E).
pub fn verify(
    attestation: &str,
    pop: &str,
    expect: &Expectations<'_>,
) -> Result<VerifiedClientAttestation, AttestationError> {
    let (client_id, wallet_provider, instance_key, attestation_expires_at) =
        verify_attestation(attestation, expect)?;
    let jws = jws::decode(pop)
        .map_err(|e| invalid(format!("the client attestation PoP is not a JWT: {e}")))?;
    jws.expect_typ(POP_TYP)
        .map_err(|e| invalid(format!("client attestation PoP: {e}")))?;
    // Spec: ABCA §"Client Attestation PoP JWT" rule 3: the key is the attestation's cnf key.
    jws.verify(&instance_key, expect.policy).map_err(|e| {
        invalid(format!(
            "the client attestation PoP is not signed by the attested cnf key: {e}"
        ))
    })?;
    // Spec: ABCA: aud MUST be the AS's RFC 8414 issuer identifier, a single audience.
    let aud_ok = match jws.payload.get("aud") {
        Some(Value::String(a)) => a == expect.audience,
        Some(Value::Array(a)) => {
            a.len() == 1 && a.first().and_then(Value::as_str) == Some(expect.audience)
        }
        _ => false,
    };
    if !aud_ok {
        return Err(invalid(
            "the client attestation PoP's aud is not this authorization server's issuer identifier",
        ));
    }
    let jti = bounded_str(&jws.payload, "jti", "client attestation PoP")?
        .ok_or_else(|| invalid("the client attestation PoP has no jti"))?;
    // Spec: ABCA §"Verification and Processing": the PoP's iat is within an acceptable
    // window; §"Replay Attack Detection": evaluated before the jti is looked up.
    let rules = TimeRules {
        skew: expect.skew,
        require_exp: false,
        require_iat: true,
        max_iat_age: Some(expect.pop_max_age_secs),
    };
    jws::check_times(&jws.payload, expect.now, rules)
        .map_err(|e| invalid(format!("client attestation PoP: {e}")))?;
    let iat = jws::numeric_date(&jws.payload, "iat")
        .map_err(|e| invalid(e.to_string()))?
        .ok_or_else(|| invalid("the client attestation PoP has no iat"))?;
    // The pre-06 shape names the client as iss; when present it must be the attested one.
    let iss = bounded_str(&jws.payload, "iss", "client attestation PoP")?;
    if iss.is_some_and(|i| i != client_id) {
        return Err(invalid(
            "the client attestation PoP's iss is not the attestation's sub",
        ));
    }
    let challenge = bounded_str(&jws.payload, "challenge", "client attestation PoP")?;
    let nonce = bounded_str(&jws.payload, "nonce", "client attestation PoP")?;
    let (challenge, shape) = match (challenge, nonce) {
        (Some(c), Some(n)) if c != n => {
            return Err(invalid(
                "the client attestation PoP's challenge and nonce differ",
            ));
        }
        (Some(c), _) => (Some(c), PopShape::Current),
        (None, Some(n)) => (Some(n), PopShape::Pre06),
        (None, None) if iss.is_some() => (None, PopShape::Pre06),
        (None, None) => (None, PopShape::Current),
    };
    let instance_jkt = instance_key.thumbprint();
    Ok(VerifiedClientAttestation {
        client_id,
        wallet_provider,
        instance_key,
        instance_jkt,
        attestation_expires_at,
        jti: jti.to_owned(),
        iat: UnixTime(iat),
        challenge: challenge.map(str::to_owned),
        shape,
    })
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
    const AS: &str = "https://vdc.example/issuers/acme";
    const CLIENT: &str = "https://wallet.example.org";

    struct Provider {
        root: Vec<u8>,
        leaf: Vec<u8>,
        leaf_key: LocalSigner,
    }

    fn spec(cn: &str, rng: &SeededRandom) -> CertificateSpec {
        CertificateSpec::new(cn, UnixTime(T0 - DAY), UnixTime(T0 + 365 * DAY), rng).unwrap()
    }

    fn provider(seed: u64) -> Provider {
        let rng = SeededRandom::new(seed);
        let root_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let root = self_signed(&spec("Wallet Provider Root", &rng).ca(), &root_key).unwrap();
        let leaf_key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = issue(
            &spec("Wallet Attester", &rng),
            leaf_key.public_key(),
            &root,
            &root_key,
        )
        .unwrap();
        Provider {
            root,
            leaf,
            leaf_key: LocalSigner::new(leaf_key),
        }
    }

    fn instance(seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
    }

    fn anchors(p: &Provider) -> TrustAnchors {
        TrustAnchors::from_der_certs(vec![p.root.clone()]).unwrap()
    }

    fn attestation_input<'a>(key: &'a PublicKey, chain: &'a [Vec<u8>]) -> AttestationInput<'a> {
        AttestationInput {
            issuer: Some("https://provider.example"),
            client_id: CLIENT,
            iat: UnixTime(T0 - 60),
            exp: UnixTime(T0 + 3600),
            instance_key: key,
            x5c: chain,
        }
    }

    fn pop_input(challenge: Option<&'static str>) -> PopInput<'static> {
        PopInput {
            audience: AS,
            jti: "jti-1",
            iat: UnixTime(T0),
            challenge,
            shape: PopShape::Current,
            client_id: None,
        }
    }

    fn expect<'a>(anchors: &'a TrustAnchors, policy: &'a AlgorithmPolicy) -> Expectations<'a> {
        Expectations {
            anchors,
            policy,
            audience: AS,
            client_id: Some(CLIENT),
            now: UnixTime(T0),
            pop_max_age_secs: 300,
            skew: 60,
        }
    }

    async fn pair(p: &Provider, inst: &LocalSigner, pop: PopInput<'_>) -> (String, String) {
        let chain = vec![p.leaf.clone()];
        let key = inst.key().public_key().clone();
        let a = create_attestation(&p.leaf_key, attestation_input(&key, &chain))
            .await
            .unwrap();
        let b = create_pop(inst, pop).await.unwrap();
        (a, b)
    }

    fn assert_invalid(r: Result<VerifiedClientAttestation, AttestationError>, needle: &str) {
        match r {
            Err(AttestationError::Invalid(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected Invalid containing {needle:?}, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_good_attestation_and_pop_verify() {
        let p = provider(1);
        let inst = instance(2);
        let (a, pop) = pair(&p, &inst, pop_input(Some("ch-1"))).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let v = verify(&a, &pop, &expect(&anchors, &policy)).unwrap();
        assert_eq!(v.client_id, CLIENT);
        assert_eq!(
            v.wallet_provider.as_deref(),
            Some("https://provider.example")
        );
        assert_eq!(&v.instance_key, inst.key().public_key());
        assert_eq!(v.instance_jkt, inst.key().public_key().thumbprint());
        assert_eq!(v.jti, "jti-1");
        assert_eq!(v.iat, UnixTime(T0));
        assert_eq!(v.challenge.as_deref(), Some("ch-1"));
        assert_eq!(v.shape, PopShape::Current);
        assert_eq!(v.attestation_expires_at, UnixTime(T0 + 3600));
        // Without a client_id in the request, sub is the client.
        let mut e = expect(&anchors, &policy);
        e.client_id = None;
        assert_eq!(verify(&a, &pop, &e).unwrap().client_id, CLIENT);
    }

    #[tokio::test]
    async fn the_pre_06_pop_shape_is_accepted_with_nonce_as_challenge() {
        let p = provider(3);
        let inst = instance(4);
        let mut input = pop_input(Some("ch-2"));
        input.shape = PopShape::Pre06;
        input.client_id = Some(CLIENT);
        let (a, pop) = pair(&p, &inst, input).await;
        let claims = jws::decode(&pop).unwrap().payload;
        assert_eq!(claims["iss"], CLIENT);
        assert_eq!(claims["nonce"], "ch-2");
        assert_eq!(claims["exp"], T0 + 60);
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let v = verify(&a, &pop, &expect(&anchors, &policy)).unwrap();
        assert_eq!(v.challenge.as_deref(), Some("ch-2"));
        assert_eq!(v.shape, PopShape::Pre06);
        // Its iss must be the attested client.
        let mut input = pop_input(None);
        input.shape = PopShape::Pre06;
        input.client_id = Some("https://other.example");
        let (a, pop) = pair(&p, &inst, input).await;
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "iss");
        // Its exp holds too: 61 s later the PoP (exp = iat + 60) is refused.
        let mut input = pop_input(None);
        input.shape = PopShape::Pre06;
        input.client_id = Some(CLIENT);
        let (a, pop) = pair(&p, &inst, input).await;
        let mut e = expect(&anchors, &policy);
        e.skew = 0;
        e.now = UnixTime(T0 + 61);
        assert_invalid(verify(&a, &pop, &e), "expired");
    }

    #[tokio::test]
    async fn a_bad_attestation_signature_is_refused() {
        let p = provider(5);
        let inst = instance(6);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let (head, sig) = a.rsplit_once('.').unwrap();
        // The first character carries six signature bits (the last one has padding bits,
        // which strict base64url refuses before any signature check).
        let first = if sig.starts_with('A') { "B" } else { "A" };
        let sig = format!("{first}{}", sig.get(1..).unwrap());
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        assert_invalid(
            verify(&format!("{head}.{sig}"), &pop, &expect(&anchors, &policy)),
            "signature",
        );
        // Signed by a key other than the x5c leaf's.
        let chain = vec![p.leaf.clone()];
        let key = inst.key().public_key().clone();
        let other = instance(7);
        let forged = create_attestation(&other, attestation_input(&key, &chain))
            .await
            .unwrap();
        assert_invalid(
            verify(&forged, &pop, &expect(&anchors, &policy)),
            "signature",
        );
    }

    #[tokio::test]
    async fn wrong_typ_is_refused_for_attestation_and_pop() {
        let p = provider(8);
        let inst = instance(9);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        // The PoP as the attestation and the attestation as the PoP.
        assert_invalid(verify(&pop, &pop, &expect(&anchors, &policy)), "typ");
        assert_invalid(verify(&a, &a, &expect(&anchors, &policy)), "typ");
        // A JWT typ.
        let mut header = Map::new();
        header.insert("typ".into(), "JWT".into());
        let mut claims = Map::new();
        claims.insert("aud".into(), AS.into());
        claims.insert("jti".into(), "j".into());
        claims.insert("iat".into(), T0.into());
        let jwt = jws::sign_with_options(header, &claims, &inst, false)
            .await
            .unwrap();
        assert_invalid(verify(&a, &jwt, &expect(&anchors, &policy)), "typ");
    }

    #[tokio::test]
    async fn an_expired_attestation_needs_a_fresh_one() {
        let p = provider(10);
        let inst = instance(11);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let mut e = expect(&anchors, &policy);
        // exp = T0 + 3600; skew 60: refused from T0 + 3660 on.
        e.now = UnixTime(T0 + 3659);
        e.pop_max_age_secs = 10_000;
        verify(&a, &pop, &e).unwrap();
        e.now = UnixTime(T0 + 3660);
        assert!(matches!(
            verify(&a, &pop, &e),
            Err(AttestationError::NotFresh(_))
        ));
    }

    #[tokio::test]
    async fn sub_other_than_client_id_is_refused() {
        let p = provider(12);
        let inst = instance(13);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let mut e = expect(&anchors, &policy);
        e.client_id = Some("https://another-wallet.example");
        assert_invalid(verify(&a, &pop, &e), "sub");
    }

    #[tokio::test]
    async fn a_pop_signed_by_another_key_is_refused() {
        let p = provider(14);
        let inst = instance(15);
        let (a, _) = pair(&p, &inst, pop_input(None)).await;
        let pop = create_pop(&instance(16), pop_input(None)).await.unwrap();
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "cnf key");
    }

    #[tokio::test]
    async fn a_stale_or_future_pop_iat_is_refused() {
        let p = provider(17);
        let inst = instance(18);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let mut e = expect(&anchors, &policy);
        // iat = T0, max age 300, skew 60.
        e.now = UnixTime(T0 + 360);
        verify(&a, &pop, &e).unwrap();
        e.now = UnixTime(T0 + 361);
        assert_invalid(verify(&a, &pop, &e), "iat");
        e.now = UnixTime(T0 - 61);
        assert_invalid(verify(&a, &pop, &e), "iat");
    }

    #[tokio::test]
    async fn a_pop_for_another_audience_is_refused() {
        let p = provider(19);
        let inst = instance(20);
        let mut input = pop_input(None);
        input.audience = "https://vdc.example/issuers/other";
        let (a, pop) = pair(&p, &inst, input).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "aud");
    }

    #[tokio::test]
    async fn an_untrusted_provider_is_refused() {
        let p = provider(21);
        let stranger = provider(22);
        let inst = instance(23);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&stranger);
        let policy = AlgorithmPolicy::default();
        assert_invalid(
            verify(&a, &pop, &expect(&anchors, &policy)),
            "trusted wallet provider",
        );
        // No anchors at all: nothing is trusted.
        let none = TrustAnchors::default();
        assert_invalid(
            verify(&a, &pop, &expect(&none, &policy)),
            "trusted wallet provider",
        );
    }

    #[tokio::test]
    async fn a_chain_including_the_anchor_is_refused() {
        let p = provider(24);
        let inst = instance(25);
        let chain = vec![p.leaf.clone(), p.root.clone()];
        let key = inst.key().public_key().clone();
        let a = create_attestation(&p.leaf_key, attestation_input(&key, &chain))
            .await
            .unwrap();
        let pop = create_pop(&inst, pop_input(None)).await.unwrap();
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        assert_invalid(
            verify(&a, &pop, &expect(&anchors, &policy)),
            "includes a trust anchor",
        );
    }

    #[tokio::test]
    async fn a_self_signed_leaf_is_refused_even_when_pinned() {
        let rng = SeededRandom::new(27);
        let key = SigningKey::generate(Algorithm::Es256, &rng).unwrap();
        let leaf = self_signed(&spec("Self-Signed Attester", &rng), &key).unwrap();
        // Pinned as an anchor, validate_x5c alone would accept it; re-signed with another
        // serial it is not byte-equal to the anchor, so only the self-issued check stops it.
        let twin = {
            let mut s = spec("Self-Signed Attester", &rng);
            s.serial_number = vec![0x42; 8];
            self_signed(&s, &key).unwrap()
        };
        let anchors = TrustAnchors::from_der_certs(vec![leaf.clone()]).unwrap();
        assert!(x509::validate_x5c(std::slice::from_ref(&twin), &anchors, UnixTime(T0)).is_ok());
        let inst = instance(28);
        let ikey = inst.key().public_key().clone();
        let chain = vec![twin];
        let signer = LocalSigner::new(key);
        let a = create_attestation(&signer, attestation_input(&ikey, &chain))
            .await
            .unwrap();
        let pop = create_pop(&inst, pop_input(None)).await.unwrap();
        let policy = AlgorithmPolicy::default();
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "self-signed");
    }

    #[tokio::test]
    async fn missing_claims_and_private_cnf_keys_are_refused() {
        let p = provider(29);
        let inst = instance(30);
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        let pop = create_pop(&inst, pop_input(None)).await.unwrap();
        let leaf_key = &p.leaf_key;
        let x5c = x509::to_x5c(std::slice::from_ref(&p.leaf));
        let sign = move |claims: Value| {
            let mut header = Map::new();
            header.insert("typ".into(), ATTESTATION_TYP.into());
            header.insert("x5c".into(), x5c.clone());
            let claims = claims.as_object().unwrap().clone();
            async move {
                jws::sign_with_options(header, &claims, leaf_key, false)
                    .await
                    .unwrap()
            }
        };
        let jwk = Value::Object(inst.key().public_key().to_jwk_members());
        for (claims, needle) in [
            (
                serde_json::json!({"exp": T0 + 60, "cnf": {"jwk": jwk}}),
                "sub",
            ),
            (
                serde_json::json!({"sub": CLIENT, "cnf": {"jwk": jwk}}),
                "exp",
            ),
            (serde_json::json!({"sub": CLIENT, "exp": T0 + 60}), "cnf"),
            (
                serde_json::json!({"sub": 7, "exp": T0 + 60, "cnf": {"jwk": jwk}}),
                "sub",
            ),
        ] {
            let a = sign(claims).await;
            assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), needle);
        }
        // A cnf.jwk with a private part.
        let private: Value = serde_json::from_str(&inst.key().to_private_jwk()).unwrap();
        let a =
            sign(serde_json::json!({"sub": CLIENT, "exp": T0 + 60, "cnf": {"jwk": private}})).await;
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "cnf.jwk");
        // No x5c at all.
        let mut header = Map::new();
        header.insert("typ".into(), ATTESTATION_TYP.into());
        let claims = serde_json::json!({"sub": CLIENT, "exp": T0 + 60, "cnf": {"jwk": jwk}});
        let a = jws::sign_with_options(header, claims.as_object().unwrap(), &p.leaf_key, false)
            .await
            .unwrap();
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "x5c");
    }

    #[tokio::test]
    async fn alg_none_and_disagreeing_challenge_and_nonce_are_refused() {
        let p = provider(31);
        let inst = instance(32);
        let (a, pop) = pair(&p, &inst, pop_input(None)).await;
        let anchors = anchors(&p);
        let policy = AlgorithmPolicy::default();
        // alg none: the header rewritten, the signature dropped.
        let (_, rest) = pop.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        let none_header =
            crate::base64url::encode(br#"{"typ":"oauth-client-attestation-pop+jwt","alg":"none"}"#);
        let unsigned = format!("{none_header}.{payload}.");
        assert_invalid(verify(&a, &unsigned, &expect(&anchors, &policy)), "PoP");
        // challenge and nonce that differ.
        let mut header = Map::new();
        header.insert("typ".into(), POP_TYP.into());
        let claims = serde_json::json!({"aud": AS, "jti": "j", "iat": T0,
            "challenge": "a", "nonce": "b"});
        let pop = jws::sign_with_options(header, claims.as_object().unwrap(), &inst, false)
            .await
            .unwrap();
        assert_invalid(verify(&a, &pop, &expect(&anchors, &policy)), "differ");
    }
}
