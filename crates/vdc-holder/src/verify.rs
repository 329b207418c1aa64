//! Holder-side checks of received credentials (OID4VCI 1.0 §13.4 "Credential Offer": "The
//! Wallet MUST NOT accept Credentials just because this mechanism was used").
//!
//! - `dc+sd-jwt` (OID4VCI 1.0 Appendix A.3): RFC 9901 §7.1 processing via
//!   [`vdc_core::sd_jwt_vc::verify`] (issuer signature, disclosures, `typ`, never-disclosable
//!   claims), without key binding (the holder has not presented yet; RFC 9901 §7.2 lets a
//!   holder check the SD-JWT it received); the issuer key from JWT VC Issuer Metadata at
//!   `iss` (or a caller-supplied resolver); `vct` equal to the configuration's; `cnf.jwk`
//!   one of the keys the wallet proved.
//! - `jwt_vc_json` (Appendix A.1.1): a `vc+jwt` (VC-JOSE-COSE, VCDM 2.0) via
//!   [`vdc_core::vc_jose::verify_vc_jwt`], or a VCDM 1.1 JWT with a `vc` claim via
//!   [`vdc_core::vc_jose::vcdm11::verify_vc_jwt_v11`] (the 1.1 data model), with the
//!   issuer's key from JWT VC Issuer Metadata (https issuers) or from did:jwk/did:key; bound
//!   to the proved key by `cnf.jwk` or a did:jwk/did:key subject identifier.
//! - `mso_mdoc` (Appendix A.2): the base64url `IssuerSigned` via [`crate::mdoc`]: the
//!   `issuerAuth` signature with the key of its `x5chain` leaf, the MSO's `docType` equal to
//!   the configuration's `doctype`, every item's digest, validity, and the MSO's `deviceKey`
//!   one of the keys the wallet proved (A.2: the `jwt` proof's `jwk` is the device key). The
//!   wallet checks integrity and binding, not issuer trust: it has no IACA trust store (the
//!   verifier checks the chain against its anchors, ISO 18013-5 §9.3.1).

use std::fmt;

use async_trait::async_trait;
use serde_json::{Map, Value};
use vdc_core::did::Relationship;
use vdc_core::jose::jws::{self, TimeRules};
use vdc_core::jose::{AlgorithmPolicy, Jwk, JwkSet, PublicKey};
use vdc_core::sd_jwt::{KeyBindingRequirement, SdJwt, VerifyOptions};
use vdc_core::sd_jwt_vc::{IssuerKeyResolver, KeyMechanism, ResolvedIssuerKey};
use vdc_core::time::UnixTime;

use crate::client::IssuerClient;
use crate::error::{Error, Result, bounded};
use crate::metadata::CredentialConfiguration;

/// Format identifier of SD-JWT VC (OID4VCI 1.0 A.3.1).
pub const FORMAT_DC_SD_JWT: &str = "dc+sd-jwt";
/// Format identifier of W3C VCs signed as JWTs without JSON-LD (OID4VCI 1.0 A.1.1.1).
pub const FORMAT_JWT_VC_JSON: &str = "jwt_vc_json";
/// Format identifier of ISO mdocs (OID4VCI 1.0 A.2.1).
pub const FORMAT_MSO_MDOC: &str = crate::mdoc::FORMAT_MSO_MDOC;
/// The formats this SDK can verify and store.
pub const SUPPORTED_FORMATS: [&str; 3] = [FORMAT_DC_SD_JWT, FORMAT_JWT_VC_JSON, FORMAT_MSO_MDOC];

/// Finds an SD-JWT VC issuer's key in its JWT VC Issuer Metadata (SD-JWT VC §"JWT VC
/// Issuer Metadata"), fetched from the `iss` URL with the wallet's HTTP client. The JWT's
/// `kid` selects the key; without `kid` only a single-key set is unambiguous.
#[derive(Clone)]
pub struct JwtVcIssuerMetadataResolver {
    client: IssuerClient,
}

impl fmt::Debug for JwtVcIssuerMetadataResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JwtVcIssuerMetadataResolver")
    }
}

impl JwtVcIssuerMetadataResolver {
    /// A resolver fetching through `client`.
    pub fn new(client: IssuerClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl IssuerKeyResolver for JwtVcIssuerMetadataResolver {
    async fn resolve(
        &self,
        header: &Map<String, Value>,
        payload: &Map<String, Value>,
    ) -> vdc_core::Result<ResolvedIssuerKey> {
        let iss = payload.get("iss").and_then(Value::as_str).ok_or_else(|| {
            vdc_core::Error::UntrustedKey("no iss to find JWT VC Issuer Metadata with".into())
        })?;
        let keys = self
            .client
            .jwt_vc_issuer_keys(iss)
            .await
            .map_err(|e| vdc_core::Error::Fetch(bounded(&e.to_string())))?;
        let kid = header.get("kid").and_then(Value::as_str);
        Ok(ResolvedIssuerKey {
            key: select_key(&keys, kid)?,
            issuer: iss.to_owned(),
            mechanism: KeyMechanism::JwtVcIssuerMetadata,
        })
    }
}

fn select_key(keys: &JwkSet, kid: Option<&str>) -> vdc_core::Result<PublicKey> {
    match kid {
        Some(kid) => keys.by_kid(kid).map(|k| k.key.clone()).ok_or_else(|| {
            vdc_core::Error::UntrustedKey(format!(
                "issuer publishes no key with kid {}",
                bounded(kid)
            ))
        }),
        None => match keys.keys.as_slice() {
            [only] => Ok(only.key.clone()),
            _ => Err(vdc_core::Error::UntrustedKey(
                "no kid and the issuer publishes several keys".into(),
            )),
        },
    }
}

/// What the holder learned from a credential it accepted.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) credential: String,
    pub(crate) issuer: String,
    pub(crate) vct: Option<String>,
    /// `docType` of an mdoc.
    pub(crate) doctype: Option<String>,
    /// Index into the holder keys of the request, when the credential is key-bound.
    pub(crate) holder_key_index: Option<usize>,
}

/// Inputs of holder-side verification.
pub(crate) struct VerifyContext<'a> {
    pub(crate) client: &'a IssuerClient,
    pub(crate) resolver: Option<&'a dyn IssuerKeyResolver>,
    pub(crate) policy: &'a AlgorithmPolicy,
    pub(crate) now: UnixTime,
    pub(crate) skew: i64,
}

fn reject(msg: impl Into<String>) -> Error {
    Error::InvalidCredential(vdc_core::Error::Claim(msg.into()))
}

/// Verifies one received credential of `config` from `credential_issuer` against the keys
/// the wallet proved.
pub(crate) async fn verify_received(
    ctx: &VerifyContext<'_>,
    credential_issuer: &str,
    config: &CredentialConfiguration,
    credential: &Value,
    holder_keys: &[PublicKey],
) -> Result<Received> {
    // Spec: A.3.4 / A.1.1.4 / A.2.4: every supported format is a string, never re-encoded.
    let text = credential
        .as_str()
        .ok_or_else(|| reject("credential must be a string for this format"))?;
    let mut doctype = None;
    let (issuer, vct, bound_key) = match config.format.as_str() {
        FORMAT_DC_SD_JWT => verify_sd_jwt_vc(ctx, config, text).await?,
        FORMAT_JWT_VC_JSON => verify_jwt_vc_json(ctx, text).await?,
        FORMAT_MSO_MDOC => {
            let (_, checked) = crate::mdoc::check_received(
                text,
                config.doctype.as_deref(),
                ctx.policy,
                ctx.now,
                ctx.skew,
            )?;
            doctype = Some(checked.doc_type);
            // An mdoc names no issuer identifier (its x5chain is not checked against an
            // anchor here): it is recorded as the Credential Issuer it came from.
            (credential_issuer.to_owned(), None, Some(checked.device_key))
        }
        other => {
            return Err(Error::Unsupported(format!(
                "credential format {}",
                bounded(other)
            )));
        }
    };
    let holder_key_index = match (bound_key, holder_keys.is_empty()) {
        (_, true) => None,
        (None, false) => {
            return Err(reject(
                "credential is not bound to the key the wallet proved",
            ));
        }
        (Some(k), false) => Some(
            holder_keys
                .iter()
                .position(|h| *h == k)
                .ok_or_else(|| reject("credential is bound to a key the wallet did not prove"))?,
        ),
    };
    Ok(Received {
        credential: text.to_owned(),
        issuer,
        vct,
        doctype,
        holder_key_index,
    })
}

async fn verify_sd_jwt_vc(
    ctx: &VerifyContext<'_>,
    config: &CredentialConfiguration,
    text: &str,
) -> Result<(String, Option<String>, Option<PublicKey>)> {
    let sd = SdJwt::parse(text).map_err(Error::InvalidCredential)?;
    // Spec: RFC 9901 §4: an issued SD-JWT carries no Key Binding JWT (ends with `~`).
    if sd.kb_jwt().is_some() {
        return Err(reject("an issued SD-JWT must not carry a Key Binding JWT"));
    }
    let default_resolver;
    let resolver: &dyn IssuerKeyResolver = match ctx.resolver {
        Some(r) => r,
        None => {
            default_resolver = JwtVcIssuerMetadataResolver::new(ctx.client.clone());
            &default_resolver
        }
    };
    let opts = VerifyOptions {
        policy: ctx.policy,
        now: ctx.now,
        time_rules: TimeRules {
            skew: ctx.skew,
            ..TimeRules::default()
        },
        key_binding: KeyBindingRequirement::NotRequired,
    };
    let verified = vdc_core::sd_jwt_vc::verify(text, resolver, &opts)
        .await
        .map_err(Error::InvalidCredential)?;
    // Spec: OID4VCI 1.0 A.3.2: `vct` designates the type of the configuration.
    if let Some(expected) = &config.vct
        && &verified.vct != expected
    {
        return Err(reject(format!(
            "vct {} is not the configuration's {}",
            bounded(&verified.vct),
            bounded(expected)
        )));
    }
    Ok((
        verified.issuer,
        Some(verified.vct),
        verified.sd_jwt.holder_key,
    ))
}

async fn verify_jwt_vc_json(
    ctx: &VerifyContext<'_>,
    text: &str,
) -> Result<(String, Option<String>, Option<PublicKey>)> {
    let decoded = jws::decode(text).map_err(Error::InvalidCredential)?;
    let vcdm11 = decoded.payload.get("vc");
    let (issuer, credential) = match vcdm11 {
        // VCDM 1.1 JWT encoding: `iss` is the issuer, the credential sits in `vc`.
        Some(Value::Object(vc)) => {
            let iss = decoded
                .claim_str("iss")
                .or_else(|| vdc_core::vc_jose::issuer_id(vc))
                .ok_or_else(|| reject("VC JWT has no iss"))?;
            (iss.to_owned(), vc.clone())
        }
        Some(_) => return Err(reject("vc claim must be an object")),
        None => {
            let iss = vdc_core::vc_jose::issuer_id(&decoded.payload)
                .ok_or_else(|| reject("credential has no issuer"))?;
            (iss.to_owned(), decoded.payload.clone())
        }
    };
    let key = issuer_key_for_jwt(ctx, &issuer, &decoded.header, &decoded.payload).await?;
    if vcdm11.is_none() {
        vdc_core::vc_jose::verify_vc_jwt(text, &key, ctx.policy, ctx.now, ctx.skew)
            .map_err(Error::InvalidCredential)?;
    } else {
        vdc_core::vc_jose::vcdm11::verify_vc_jwt_v11(text, &key, ctx.policy, ctx.now, ctx.skew)
            .map_err(Error::InvalidCredential)?;
    }
    let bound = holder_key_of_vc(&decoded.payload, &credential)?;
    Ok((issuer, None, bound))
}

pub(crate) async fn issuer_key_for_jwt(
    ctx: &VerifyContext<'_>,
    issuer: &str,
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
) -> Result<PublicKey> {
    let kid = header.get("kid").and_then(Value::as_str);
    if let Some(resolver) = ctx.resolver {
        let mut with_iss = payload.clone();
        with_iss.insert("iss".into(), issuer.into());
        return resolver
            .resolve(header, &with_iss)
            .await
            .map(|r| r.key)
            .map_err(Error::InvalidCredential);
    }
    if issuer.starts_with("did:jwk:") || issuer.starts_with("did:key:") {
        let doc = if issuer.starts_with("did:jwk:") {
            vdc_core::did::jwk::resolve(issuer)
        } else {
            vdc_core::did::key::resolve(issuer)
        }
        .map_err(Error::InvalidCredential)?;
        let key = match kid {
            Some(kid) => doc.key_for(kid, Relationship::AssertionMethod),
            None => doc.sole_key_for(Relationship::AssertionMethod),
        }
        .map_err(Error::InvalidCredential)?;
        return Ok(key.clone());
    }
    let keys = ctx.client.jwt_vc_issuer_keys(issuer).await?;
    select_key(&keys, kid).map_err(Error::InvalidCredential)
}

/// The key a W3C VC is bound to: `cnf.jwk` (RFC 7800 §3.2), else a did:jwk/did:key subject
/// (`sub` or `credentialSubject.id`).
fn holder_key_of_vc(
    payload: &Map<String, Value>,
    credential: &Map<String, Value>,
) -> Result<Option<PublicKey>> {
    if let Some(jwk) = payload.get("cnf").and_then(|c| c.get("jwk")) {
        return Jwk::from_value(jwk)
            .map(|j| Some(j.key))
            .map_err(Error::InvalidCredential);
    }
    let subject = payload.get("sub").and_then(Value::as_str).or_else(|| {
        credential
            .get("credentialSubject")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
    });
    let Some(did) = subject else {
        return Ok(None);
    };
    let did = vdc_core::did::did_from_url(did);
    let doc = if did.starts_with("did:jwk:") {
        vdc_core::did::jwk::resolve(did)
    } else if did.starts_with("did:key:") {
        vdc_core::did::key::resolve(did)
    } else {
        return Ok(None);
    }
    .map_err(Error::InvalidCredential)?;
    doc.sole_key_for(Relationship::Authentication)
        .map(|k| Some(k.clone()))
        .map_err(Error::InvalidCredential)
}
