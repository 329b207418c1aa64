//! Verifiable Presentations secured with JOSE (`vp+jwt`), holding `vc+jwt` credentials as
//! `EnvelopedVerifiableCredential` objects.
//!
//! Spec: VC-JOSE-COSE §3.1.2 (Securing JSON-LD Verifiable Presentations with JOSE): the
//! unsecured presentation is the JWS payload, `typ` SHOULD be `vp+jwt`, and credentials in
//! it MUST use the Enveloped Verifiable Credential type of VCDM 2.0 §4.13.1, whose `id`
//! is a `data:` URL (RFC 2397), here `data:application/vc+jwt,<compact JWS>`.
//!
//! Spec: OpenID4VP 1.0 Appendix B.1.3.1 (VC signed as a JWT, not using JSON-LD),
//! "Presentation Response": the `nonce` claim of the presentation MUST be the request's
//! `nonce` and the `aud` claim MUST be the Client Identifier. They are top-level JWT claims
//! next to the VCDM properties; `iat` gives freshness.

use serde_json::{Map, Value, json};

use super::data_model::{self, CREDENTIALS_V2_CONTEXT, VERIFIABLE_PRESENTATION, is_url};
use super::{VC_JWT_TYP, check_jwt_vc_vp_claims_absent};
use crate::error::{Error, Result};
use crate::jose::alg::AlgorithmPolicy;
use crate::jose::jwk::PublicKey;
use crate::jose::jws::{self, TimeRules};
use crate::jose::signer::Signer;
use crate::time::{DEFAULT_SKEW_SECS, UnixTime};

/// The `typ` of a presentation secured with JOSE (VC-JOSE-COSE §3.1.2, §7.1.2).
pub const VP_JWT_TYP: &str = "vp+jwt";
/// The `cty` VC-JOSE-COSE §3.1.2 recommends when `cty` is present.
pub const VP_CTY: &str = "vp";
/// The type of an enveloped credential in a presentation (VCDM 2.0 §4.13.1).
pub const ENVELOPED_VERIFIABLE_CREDENTIAL: &str = "EnvelopedVerifiableCredential";
/// The `data:` URL prefix of an enveloped `vc+jwt`.
pub const VC_JWT_DATA_URL_PREFIX: &str = "data:application/vc+jwt,";

/// A verified `vp+jwt`: the credentials it carries (still to be verified, each with its
/// issuer's key) and the holder it names, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedVp {
    /// The enveloped `vc+jwt` credentials, in order. They are NOT verified yet: verify each
    /// with [`super::verify_vc_jwt`] and the key trusted for its issuer.
    pub vc_jwts: Vec<String>,
    /// The `holder` URL (or `holder.id`), if the presentation names one.
    pub holder: Option<String>,
}

/// Builds and signs a `vp+jwt` presenting `vc_jwts` to the verifier `aud` with its `nonce`.
///
/// The payload is a VCDM 2.0 presentation (`@context`, `type: VerifiablePresentation`,
/// `verifiableCredential` of enveloped credentials, `holder` if given) plus the JWT claims
/// `aud`, `nonce` and `iat` (OpenID4VP 1.0 Appendix B.1.3.1). At least one credential is
/// required.
pub async fn present_vp_jwt(
    vc_jwts: &[String],
    holder: &dyn Signer,
    aud: &str,
    nonce: &str,
    iat: UnixTime,
    holder_id: Option<&str>,
) -> Result<String> {
    if vc_jwts.is_empty() {
        return Err(Error::malformed(
            "a presentation needs at least one credential",
        ));
    }
    if aud.is_empty() || nonce.is_empty() {
        return Err(Error::malformed("aud and nonce must not be empty"));
    }
    let mut envelopes = Vec::with_capacity(vc_jwts.len());
    for vc in vc_jwts {
        if !is_compact_jws(vc) {
            return Err(Error::malformed("credential is not a compact JWS"));
        }
        envelopes.push(json!({
            "@context": [CREDENTIALS_V2_CONTEXT],
            "id": format!("{VC_JWT_DATA_URL_PREFIX}{vc}"),
            "type": ENVELOPED_VERIFIABLE_CREDENTIAL,
        }));
    }
    let mut vp = Map::new();
    vp.insert("@context".into(), json!([CREDENTIALS_V2_CONTEXT]));
    vp.insert("type".into(), json!([VERIFIABLE_PRESENTATION]));
    if let Some(h) = holder_id {
        if !is_url(h) {
            return Err(Error::VcDataModel("holder must be a URL".into()));
        }
        vp.insert("holder".into(), h.into());
    }
    vp.insert("verifiableCredential".into(), Value::Array(envelopes));
    vp.insert("aud".into(), aud.into());
    vp.insert("nonce".into(), nonce.into());
    vp.insert("iat".into(), iat.secs().into());

    let mut header = Map::new();
    header.insert("typ".into(), VP_JWT_TYP.into());
    // Spec: VC-JOSE-COSE §3.1.2: "When present, the cty header parameter SHOULD be vp."
    header.insert("cty".into(), VP_CTY.into());
    jws::sign(header, &vp, holder).await
}

/// Verifies a `vp+jwt` signed by `holder_key` for this verifier and transaction.
///
/// Checks, in order: structure, `typ: vp+jwt`, the signature with `holder_key` under
/// `policy`, no `vc`/`vp` claim, the VCDM 2.0 presentation model, `aud` is (or contains)
/// `expected_aud`, `nonce` equals `expected_nonce`, `iat` present, not in the future and no
/// older than `max_age` seconds (skew [`DEFAULT_SKEW_SECS`]), `exp`/`nbf` if present, and
/// every `verifiableCredential` entry is an `EnvelopedVerifiableCredential` with a
/// `data:application/vc+jwt,` URL. Any other kind of entry (embedded credentials, other
/// envelopes) is refused: it cannot be verified here, and VC-JOSE-COSE §3.1.2 requires
/// the enveloped form. If both `iss` and `holder` are present they must agree.
///
/// The enveloped credentials are returned unverified (see [`VerifiedVp::vc_jwts`]).
pub fn verify_vp_jwt(
    token: &str,
    holder_key: &PublicKey,
    policy: &AlgorithmPolicy,
    expected_aud: &str,
    expected_nonce: &str,
    now: UnixTime,
    max_age: i64,
) -> Result<VerifiedVp> {
    let jws = jws::decode(token)?;
    jws.expect_typ(VP_JWT_TYP)?;
    jws.verify(holder_key, policy)?;
    let vp = &jws.payload;
    check_jwt_vc_vp_claims_absent(vp)?;
    let entries = data_model::check_presentation_model(vp)?;

    check_vp_binding(vp, expected_aud, expected_nonce, now, max_age)?;

    let holder = data_model::holder_id(vp).map(str::to_owned);
    if let (Some(iss), Some(h)) = (vp.get("iss"), holder.as_deref())
        && iss.as_str() != Some(h)
    {
        return Err(Error::Claim("iss does not match holder".into()));
    }

    if entries.is_empty() {
        return Err(Error::VcDataModel(
            "presentation carries no verifiableCredential".into(),
        ));
    }
    let mut vc_jwts = Vec::with_capacity(entries.len());
    for entry in entries {
        vc_jwts.push(enveloped_vc_jwt(entry)?.to_owned());
    }
    Ok(VerifiedVp { vc_jwts, holder })
}

/// Spec: OpenID4VP 1.0 Appendix B.1.3.1 ("Presentation Response"): the presentation JWT's
/// `aud` is (or contains) the Client Identifier, its `nonce` is the request's, and `iat`
/// (required) is fresh; `exp`/`nbf` if present. Shared by the VCDM 2.0 and 1.1 encodings,
/// whose JWT claims these are alike.
pub(crate) fn check_vp_binding(
    claims: &Map<String, Value>,
    expected_aud: &str,
    expected_nonce: &str,
    now: UnixTime,
    max_age: i64,
) -> Result<()> {
    // Spec: OpenID4VP 1.0 Appendix B.1.3.1: aud MUST be the Client Identifier.
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == expected_aud,
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(expected_aud)),
        _ => false,
    };
    if !aud_ok {
        return Err(Error::Claim("aud is not this verifier".into()));
    }
    // Spec: OpenID4VP 1.0 Appendix B.1.3.1: nonce MUST be the request's nonce.
    if claims.get("nonce").and_then(Value::as_str) != Some(expected_nonce) {
        return Err(Error::Claim("nonce does not match the request".into()));
    }
    jws::check_times(
        claims,
        now,
        TimeRules {
            skew: DEFAULT_SKEW_SECS,
            require_exp: false,
            require_iat: true,
            max_iat_age: Some(max_age),
        },
    )?;
    Ok(())
}

/// Spec: VCDM 2.0 §4.13.1 (Enveloped Verifiable Credentials): `@context` present and
/// including the base context, `type` `EnvelopedVerifiableCredential`, `id` a `data:` URL.
/// Returns the compact `vc+jwt` inside, unverified.
pub fn enveloped_vc_jwt(entry: &Value) -> Result<&str> {
    let e = |msg: &str| Error::VcDataModel(format!("verifiableCredential: {msg}"));
    let obj = entry
        .as_object()
        .ok_or_else(|| e("entries must be objects (VCDM 2.0 §4.13)"))?;
    let has_base_context = match obj.get("@context") {
        Some(Value::String(s)) => s == CREDENTIALS_V2_CONTEXT,
        Some(Value::Array(a)) => a.iter().any(|c| c.as_str() == Some(CREDENTIALS_V2_CONTEXT)),
        _ => false,
    };
    if !has_base_context {
        return Err(e("enveloped credential needs the base @context"));
    }
    let is_enveloped = match obj.get("type") {
        Some(Value::String(t)) => t == ENVELOPED_VERIFIABLE_CREDENTIAL,
        Some(Value::Array(a)) => {
            a.len() == 1 && a[0].as_str() == Some(ENVELOPED_VERIFIABLE_CREDENTIAL)
        }
        _ => false,
    };
    if !is_enveloped {
        return Err(e("only EnvelopedVerifiableCredential entries are accepted"));
    }
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| e("enveloped credential needs a data: URL id"))?;
    // RFC 2397 media types compare case-insensitively; no parameters and no `;base64`: a
    // compact JWS is already URL-safe text.
    let prefix_len = VC_JWT_DATA_URL_PREFIX.len();
    let (prefix, jwt) = (id.get(..prefix_len), id.get(prefix_len..));
    match (prefix, jwt) {
        (Some(p), Some(jwt)) if p.eq_ignore_ascii_case(VC_JWT_DATA_URL_PREFIX) => {
            if is_compact_jws(jwt) {
                Ok(jwt)
            } else {
                Err(e("data: URL does not hold a compact JWS"))
            }
        }
        _ => Err(e(&format!(
            "id must start with {VC_JWT_DATA_URL_PREFIX} ({VC_JWT_TYP})"
        ))),
    }
}

/// Three non-empty base64url segments separated by dots.
fn is_compact_jws(s: &str) -> bool {
    let mut n = 0;
    for part in s.split('.') {
        n += 1;
        if part.is_empty()
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return false;
        }
    }
    n == 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base64url;
    use crate::vc_jose::tests::{NOW, block_on, signer, spec_credential};
    use crate::vc_jose::{issue_vc_jwt, verify_vc_jwt};

    const AUD: &str = "x509_san_dns:client.example.org";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn vc(seed: u64) -> String {
        block_on(issue_vc_jwt(&spec_credential(), &signer(seed))).unwrap()
    }

    fn verify(t: &str, key: &PublicKey, now: UnixTime) -> Result<VerifiedVp> {
        verify_vp_jwt(t, key, &AlgorithmPolicy::default(), AUD, NONCE, now, 300)
    }

    fn forge(header: Value, payload: &Value, s: &crate::jose::signer::LocalSigner) -> String {
        let input = format!(
            "{}.{}",
            base64url::encode(header.to_string()),
            base64url::encode(payload.to_string())
        );
        let sig = s.key().sign_sync(input.as_bytes()).unwrap();
        format!("{input}.{}", base64url::encode(sig))
    }

    fn payload_of(token: &str) -> Value {
        let p = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64url::decode(p).unwrap()).unwrap()
    }

    #[test]
    fn present_then_verify_round_trip_and_inner_vcs_verify() {
        let issuer = signer(10);
        let holder = signer(11);
        let vcs = vec![
            block_on(issue_vc_jwt(&spec_credential(), &issuer)).unwrap(),
            vc(12),
        ];
        let token = block_on(present_vp_jwt(
            &vcs,
            &holder,
            AUD,
            NONCE,
            NOW,
            Some("did:example:holder"),
        ))
        .unwrap();
        let p = payload_of(&token);
        assert_eq!(p["type"], json!(["VerifiablePresentation"]));
        assert_eq!(
            p["verifiableCredential"][0]["type"],
            "EnvelopedVerifiableCredential"
        );
        assert!(p.get("vp").is_none());
        let out = verify(&token, &holder.public_jwk().key, NOW.plus(10)).unwrap();
        assert_eq!(out.vc_jwts, vcs);
        assert_eq!(out.holder.as_deref(), Some("did:example:holder"));
        verify_vc_jwt(
            &out.vc_jwts[0],
            &issuer.public_jwk().key,
            &AlgorithmPolicy::default(),
            NOW,
            60,
        )
        .unwrap();
    }

    #[test]
    fn wrong_aud_nonce_stale_or_future_iat_are_rejected() {
        let holder = signer(13);
        let key = &holder.public_jwk().key;
        let token = block_on(present_vp_jwt(&[vc(14)], &holder, AUD, NONCE, NOW, None)).unwrap();
        let p = AlgorithmPolicy::default();
        assert!(matches!(
            verify_vp_jwt(
                &token,
                key,
                &p,
                "x509_san_dns:evil.example",
                NONCE,
                NOW,
                300
            ),
            Err(Error::Claim(_))
        ));
        assert!(matches!(
            verify_vp_jwt(&token, key, &p, AUD, "other-nonce", NOW, 300),
            Err(Error::Claim(_))
        ));
        // Stale: older than max_age + skew.
        assert!(verify(&token, key, NOW.plus(300 + 60)).is_ok());
        assert!(matches!(
            verify(&token, key, NOW.plus(300 + 61)),
            Err(Error::Time(_))
        ));
        // Issued in the future.
        assert!(matches!(
            verify(&token, key, NOW.plus(-61)),
            Err(Error::Time(_))
        ));
        // Wrong holder key.
        assert!(matches!(
            verify(&token, &signer(15).public_jwk().key, NOW),
            Err(Error::InvalidSignature)
        ));
    }

    #[test]
    fn vp_shape_violations_are_rejected() {
        let holder = signer(16);
        let key = &holder.public_jwk().key;
        let good = payload_of(
            &block_on(present_vp_jwt(&[vc(17)], &holder, AUD, NONCE, NOW, None)).unwrap(),
        );
        let h = json!({"alg":"ES256","typ":"vp+jwt"});
        let check = |mutate: &dyn Fn(&mut Value)| {
            let mut p = good.clone();
            mutate(&mut p);
            verify(&forge(h.clone(), &p, &holder), key, NOW)
        };
        assert!(check(&|_| {}).is_ok());
        assert!(matches!(
            check(&|p| p
                .as_object_mut()
                .unwrap()
                .remove("iat")
                .map(|_| ())
                .unwrap()),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            check(&|p| p
                .as_object_mut()
                .unwrap()
                .remove("nonce")
                .map(|_| ())
                .unwrap()),
            Err(Error::Claim(_))
        ));
        assert!(check(&|p| p["aud"] = json!(["a", AUD])).is_ok());
        assert!(matches!(
            check(&|p| p["type"] = json!(["VerifiableCredential"])),
            Err(Error::VcDataModel(_))
        ));
        assert!(matches!(
            check(&|p| p["@context"] = json!(["https://www.w3.org/2018/credentials/v1"])),
            Err(Error::VcDataModel(_))
        ));
        assert!(matches!(
            check(&|p| {
                p["vp"] = json!({});
            }),
            Err(Error::VcDataModel(_))
        ));
        // A bare JWT string (VCDM 1.1 style) instead of an enveloped object.
        let jwt = vc(18);
        assert!(matches!(
            check(&|p| p["verifiableCredential"] = json!([jwt.clone()])),
            Err(Error::VcDataModel(_))
        ));
        // An embedded (unsecured) credential.
        assert!(matches!(
            check(&|p| p["verifiableCredential"] = json!([Value::Object(spec_credential())])),
            Err(Error::VcDataModel(_))
        ));
        // Other envelope media types or broken data URLs.
        for id in [
            format!("data:application/vc+sd-jwt,{jwt}~"),
            format!("data:application/vc+jwt;base64,{jwt}"),
            "data:application/vc+jwt,not-a-jws".to_owned(),
            format!("https://example.com/{jwt}"),
        ] {
            assert!(
                matches!(
                    check(&|p| p["verifiableCredential"][0]["id"] = json!(id.clone())),
                    Err(Error::VcDataModel(_))
                ),
                "{id}"
            );
        }
        assert!(matches!(
            check(&|p| p["verifiableCredential"] = json!([])),
            Err(Error::VcDataModel(_))
        ));
        assert!(matches!(
            check(&|p| p["verifiableCredential"][0]
                .as_object_mut()
                .unwrap()
                .remove("@context")
                .map(|_| ())
                .unwrap()),
            Err(Error::VcDataModel(_))
        ));
        // holder must be a URL, and iss must agree with it.
        assert!(matches!(
            check(&|p| p["holder"] = json!("not a url")),
            Err(Error::VcDataModel(_))
        ));
        assert!(matches!(
            check(&|p| {
                p["holder"] = json!("did:example:a");
                p["iss"] = json!("did:example:b");
            }),
            Err(Error::Claim(_))
        ));
        // The VCDM 2.0 §4.13.1 example form: @context as a string, type as a string, upper-case media type.
        assert!(
            check(&|p| {
                p["verifiableCredential"][0]["@context"] = json!(CREDENTIALS_V2_CONTEXT);
                p["verifiableCredential"][0]["id"] =
                    json!(format!("data:APPLICATION/VC+JWT,{jwt}"));
            })
            .is_ok()
        );
        // Wrong typ.
        let mut_token = forge(json!({"alg":"ES256","typ":"JWT"}), &good, &holder);
        assert!(matches!(
            verify(&mut_token, key, NOW),
            Err(Error::UnexpectedType { .. })
        ));
    }

    #[test]
    fn presenting_requires_credentials_and_compact_jws() {
        let holder = signer(19);
        assert!(block_on(present_vp_jwt(&[], &holder, AUD, NONCE, NOW, None)).is_err());
        assert!(
            block_on(present_vp_jwt(
                &["a.b".into()],
                &holder,
                AUD,
                NONCE,
                NOW,
                None
            ))
            .is_err()
        );
        assert!(
            block_on(present_vp_jwt(
                &["a.b.c,d".into()],
                &holder,
                AUD,
                NONCE,
                NOW,
                None
            ))
            .is_err()
        );
        assert!(
            block_on(present_vp_jwt(
                &[vc(20)],
                &holder,
                AUD,
                NONCE,
                NOW,
                Some("no url")
            ))
            .is_err()
        );
        assert!(block_on(present_vp_jwt(&[vc(20)], &holder, "", NONCE, NOW, None)).is_err());
    }
}
