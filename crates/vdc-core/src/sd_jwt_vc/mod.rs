//! SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): SD-JWTs typed `dc+sd-jwt` carrying `vct`.
//!
//! Layout:
//! - this module: issuing and verifying `dc+sd-jwt` credentials on top of [`crate::sd_jwt`].
//! - `issuer_keys`: how a verifier finds the issuer's key, chosen by its policy (JWT VC Issuer
//!   Metadata, x5c to a trust anchor, DIDs, pinned keys; SD-JWT VC §"Issuer Verification Key
//!   Discovery and Validation").

mod issuer_keys;

pub use issuer_keys::{
    IssuerKeyResolver, IssuerTrustPolicy, KeyMechanism, ResolvedIssuerKey,
    jwt_vc_issuer_metadata_url, x5c_names_issuer,
};

use serde_json::{Map, Value};

use crate::claims_path::PathElement;
use crate::error::{Error, Result};
use crate::jose::jws::typ_matches;
use crate::jose::{Jwk, PublicKey, Signer};
use crate::rng::RandomSource;
use crate::sd_jwt::{self, Frame, IssuedSdJwt, SdJwt, VerifiedSdJwt, VerifyOptions};
use crate::time::UnixTime;

/// The `typ` of an SD-JWT VC (SD-JWT VC §"JOSE Header").
pub const DC_SD_JWT: &str = "dc+sd-jwt";
/// The `typ` of drafts before -06; accepted on verification only.
pub const LEGACY_VC_SD_JWT: &str = "vc+sd-jwt";

/// Claims that, with their sub-claims, MUST NOT be selectively disclosed (SD-JWT VC
/// §"Registered JWT Claims").
pub const NEVER_DISCLOSABLE: [&str; 8] = [
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// What an issuer puts into an SD-JWT VC.
#[derive(Debug, Clone)]
pub struct SdJwtVcClaims {
    /// `iss`: the credential issuer identifier.
    pub iss: Option<String>,
    /// `vct`: the credential type.
    pub vct: String,
    /// `iat`.
    pub iat: Option<UnixTime>,
    /// `nbf`.
    pub nbf: Option<UnixTime>,
    /// `exp`.
    pub exp: Option<UnixTime>,
    /// The holder key for `cnf.jwk` (RFC 7800 §3.2).
    pub holder_key: Option<PublicKey>,
    /// `status` (e.g. `{"status_list": {"idx": 0, "uri": "..."}}`).
    pub status: Option<Value>,
    /// The subject's claims.
    pub claims: Map<String, Value>,
}

impl SdJwtVcClaims {
    /// The JWT claims set, before concealment.
    pub fn to_payload(&self) -> Result<Map<String, Value>> {
        let mut p = Map::new();
        for (k, v) in &self.claims {
            if NEVER_DISCLOSABLE.contains(&k.as_str()) || k == "iat" {
                return Err(Error::Claim(format!(
                    "{k} is set by the issuer, not as a subject claim"
                )));
            }
            p.insert(k.clone(), v.clone());
        }
        if let Some(iss) = &self.iss {
            p.insert("iss".into(), iss.clone().into());
        }
        p.insert("vct".into(), self.vct.clone().into());
        for (name, t) in [("iat", self.iat), ("nbf", self.nbf), ("exp", self.exp)] {
            if let Some(t) = t {
                p.insert(name.into(), t.secs().into());
            }
        }
        if let Some(k) = &self.holder_key {
            p.insert(
                "cnf".into(),
                serde_json::json!({ "jwk": Value::Object(k.to_jwk_members()) }),
            );
        }
        if let Some(s) = &self.status {
            p.insert("status".into(), s.clone());
        }
        Ok(p)
    }
}

/// Issues an SD-JWT VC: `typ: dc+sd-jwt`, `kid` from the signer, `x5c` when the signer has
/// a chain.
pub async fn issue(
    claims: &SdJwtVcClaims,
    frame: &Frame,
    signer: &dyn Signer,
    rng: &dyn RandomSource,
) -> Result<IssuedSdJwt> {
    for name in NEVER_DISCLOSABLE {
        if frame.is_top_level_sd(name) {
            return Err(Error::SdJwt(format!(
                "{name} must not be selectively disclosable"
            )));
        }
    }
    let payload = claims.to_payload()?;
    let mut header = Map::new();
    header.insert("typ".into(), DC_SD_JWT.into());
    if let Some(chain) = signer.x5c() {
        header.insert("x5c".into(), x5c_header(chain));
    }
    sd_jwt::issue(payload, frame, header, signer, rng).await
}

/// The `x5c` header value: standard base64 (with padding) DER certificates (RFC 7515
/// §4.1.6; note: not base64url).
pub fn x5c_header(chain: &[Vec<u8>]) -> Value {
    use base64::Engine as _;
    Value::Array(
        chain
            .iter()
            .map(|c| Value::String(base64::engine::general_purpose::STANDARD.encode(c)))
            .collect(),
    )
}

/// A verified SD-JWT VC.
#[derive(Debug, Clone)]
pub struct VerifiedSdJwtVc {
    /// The SD-JWT verification result (processed claims, disclosed paths, holder key).
    pub sd_jwt: VerifiedSdJwt,
    /// The issuer as established by the key mechanism (the `iss`, or the certificate's
    /// subject for x5c without `iss`).
    pub issuer: String,
    /// How the issuer key was found.
    pub mechanism: KeyMechanism,
    /// `vct`.
    pub vct: String,
}

impl VerifiedSdJwtVc {
    /// The `status` claim, if any.
    pub fn status(&self) -> Option<&Value> {
        self.sd_jwt.claims.get("status")
    }
}

/// Verifies an SD-JWT VC presentation (or an issued SD-JWT VC, with key binding not
/// required): `typ`, `vct`, issuer key through `resolver`'s policy, every RFC 9901 rule,
/// key binding per `opts`, and that no never-disclosable claim came from a disclosure.
pub async fn verify(
    presentation: &str,
    resolver: &dyn IssuerKeyResolver,
    opts: &VerifyOptions<'_>,
) -> Result<VerifiedSdJwtVc> {
    let sd_jwt = SdJwt::parse(presentation)?;
    let issuer_jws = sd_jwt.issuer_jws()?;
    let typ = issuer_jws.header_str("typ").unwrap_or_default();
    if !(typ_matches(typ, DC_SD_JWT) || typ_matches(typ, LEGACY_VC_SD_JWT)) {
        return Err(Error::UnexpectedType {
            expected: DC_SD_JWT.into(),
            found: crate::jose::alg::printable(typ),
        });
    }
    let resolved = resolver
        .resolve(&issuer_jws.header, &issuer_jws.payload)
        .await?;
    let verified = sd_jwt.verify(&issuer_jws, &resolved.key, opts)?;
    check_vc_claims(&verified)?;
    let vct = verified
        .claims
        .get("vct")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(VerifiedSdJwtVc {
        issuer: resolved.issuer,
        mechanism: resolved.mechanism,
        sd_jwt: verified,
        vct,
    })
}

fn check_vc_claims(v: &VerifiedSdJwt) -> Result<()> {
    // Spec: SD-JWT VC §"Registered JWT Claims": these claims MUST NOT be disclosed.
    for d in &v.disclosed {
        if let Some(PathElement::Name(first)) = d.path.first()
            && NEVER_DISCLOSABLE.contains(&first.as_str())
        {
            return Err(Error::SdJwt(format!(
                "{first} must not be selectively disclosed"
            )));
        }
    }
    match v.claims.get("vct") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => return Err(Error::Claim("vct is required and must be a string".into())),
    }
    if let Some(iss) = v.claims.get("iss")
        && !iss.is_string()
    {
        return Err(Error::Claim("iss must be a string".into()));
    }
    if let Some(status) = v.claims.get("status")
        && !status.is_object()
    {
        return Err(Error::Claim("status must be an object".into()));
    }
    if let Some(cnf) = v.claims.get("cnf")
        && let Some(jwk) = cnf.get("jwk")
    {
        Jwk::from_value(jwk)?;
    }
    Ok(())
}
