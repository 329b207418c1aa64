//! Encrypted Credential Requests and Responses (OID4VCI 1.0 §10) at the Credential and
//! Deferred Credential Endpoints: the issuer's request decryption key, the two metadata
//! objects of §12.2.4 (`credential_request_encryption`, `credential_response_encryption`),
//! opening a request (an `application/jwt` JWE or plain `application/json`), checking the
//! request's `credential_response_encryption` (§8.2) and encrypting the answer.
//!
//! [`Issuer::credential_message`] and [`Issuer::deferred_credential_message`] wrap
//! [`Issuer::credential`] and [`Issuer::deferred_credential`]: they open the message, take
//! `credential_response_encryption` out of it, call the endpoint with the rest, and encrypt
//! a successful answer. Errors are never encrypted (§8.3.1.2: "Credential Error Responses
//! are never encrypted, even if a valid Credential Response would have been").
//!
//! The rules, from §8.2, §9.1 and §10:
//! - A request JWE uses `alg: ECDH-ES` (the `alg` of our published JWK), an `enc` of
//!   `enc_values_supported`, a `zip` of `zip_values_supported` or none, and the `kid` of our
//!   key. Anything else is `invalid_encryption_parameters`.
//! - "Credential Request encryption MUST be used if the `credential_response_encryption`
//!   parameter is included, to prevent it being substituted by an attacker" (§8.2, and the
//!   same for the deferred request in §9.1): a plain request carrying it is refused with
//!   `invalid_encryption_parameters`, never answered to an unauthenticated key.
//! - An encrypted request without `credential_response_encryption` gets a plain answer
//!   ("If this request element is not present, the corresponding credential response
//!   returned is not encrypted", §8.2), unless the issuer requires response encryption.
//! - With `encryption_required` (the definition's `require_credential_encryption`, both
//!   objects): a plain request, or one without `credential_response_encryption`, is
//!   `invalid_encryption_parameters` (§8.3.1.2: "the Credential Issuer requires the
//!   Credential Response to be sent encrypted, but the Credential Request does not contain
//!   the necessary encryption parameters"; §10: "it SHOULD be rejected").
//! - The deferred request carries its own `credential_response_encryption`, used "regardless
//!   of what was sent in the initial Credential Request" (§9.2); nothing is stored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vdc_core::jose::jwe::{
    self, ALG_ECDH_ES, Compression, ContentEncryption, EcdhPrivateKey, JweHeaderParams,
    RecipientKey,
};
use vdc_core::kek::KeyEncryptionKey;
use zeroize::Zeroizing;

use crate::authorization::dpop::PresentedToken;
use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::oid4vci::{CredentialOutcome, CredentialRequest, DeferredRequest};
use crate::service::Issuer;

/// The media type of an encrypted request or response (OID4VCI 1.0 §10: "The media type
/// MUST be set to `application/jwt`").
pub const APPLICATION_JWT: &str = "application/jwt";

/// The content encryption algorithms offered in both directions (HAIP 1.0 asks for both
/// AES-GCM sizes wherever ECDH-ES encryption is offered).
pub const ENC_VALUES_SUPPORTED: [ContentEncryption; 2] =
    [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

/// The compression algorithms offered in both directions.
pub const ZIP_VALUES_SUPPORTED: [Compression; 1] = [Compression::Deflate];

/// The member of a (deferred) credential request naming the response encryption (§8.2).
const RESPONSE_ENCRYPTION_MEMBER: &str = "credential_response_encryption";

/// The HMAC purpose under which request decryption keys are derived from the KEK.
const KEY_PURPOSE: &str = "vdc credential request encryption v1";

/// How many counters [`RequestDecryptionKey::derive`] tries before giving up: a 32-byte
/// HMAC output is zero or at least the P-256 order with probability about 2^-32 each.
const MAX_DERIVATION_ROUNDS: u32 = 16;

/// `credential_request_encryption` of Credential Issuer Metadata (OID4VCI 1.0 §12.2.4).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialRequestEncryptionMetadata {
    /// The keys a wallet encrypts requests to; each has a `kid` (§12.2.4).
    pub jwks: EncryptionJwks,
    /// `enc` values accepted in request JWEs.
    pub enc_values_supported: Vec<&'static str>,
    /// `zip` values accepted in request JWEs.
    pub zip_values_supported: Vec<&'static str>,
    /// Whether every request must be encrypted.
    pub encryption_required: bool,
}

/// A JWK Set of public encryption keys (RFC 7517 §5).
#[derive(Debug, Clone, Serialize)]
pub struct EncryptionJwks {
    /// The keys: `kty`, `crv`, `x`, `y`, `use: enc`, `alg: ECDH-ES`, `kid`.
    pub keys: Vec<Value>,
}

/// `credential_response_encryption` of Credential Issuer Metadata (OID4VCI 1.0 §12.2.4).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialResponseEncryptionMetadata {
    /// `alg` values the issuer encrypts responses with: `ECDH-ES`.
    pub alg_values_supported: Vec<&'static str>,
    /// `enc` values the issuer encrypts responses with.
    pub enc_values_supported: Vec<&'static str>,
    /// `zip` values the issuer compresses responses with.
    pub zip_values_supported: Vec<&'static str>,
    /// Whether every request must carry `credential_response_encryption`.
    pub encryption_required: bool,
}

/// The issuer's P-256 key for decrypting requests (OID4VCI 1.0 §10, ECDH-ES).
///
/// Decision: the key is derived, not generated and stored. Its scalar is
/// HMAC-SHA-256 of `issuer id || 0x00 || counter` under the KEK-derived key for the purpose
/// "vdc credential request encryption v1" (see [`KeyEncryptionKey::derive`]), with the
/// first counter (from 0) whose output is a valid scalar in `[1, n)`. So nothing is stored
/// or migrated, every instance of a deployment publishes and accepts the same key, tenants
/// have distinct keys, and the key changes only with the KEK. Its `kid` is its RFC 7638
/// JWK thumbprint. The cost (two HMACs and one base-point multiplication) is paid per use;
/// the key is not cached.
#[derive(Debug, Clone)]
pub struct RequestDecryptionKey {
    key: EcdhPrivateKey,
    kid: String,
}

impl RequestDecryptionKey {
    /// The request decryption key of `issuer_id` under `kek`.
    pub fn derive(kek: &KeyEncryptionKey, issuer_id: &str) -> Result<Self> {
        Self::derive_with(|input| kek.derive(KEY_PURPOSE, input), issuer_id)
    }

    /// The request decryption keys of `issuer_id` under the current KEK and each previous
    /// one (a KEK rotation): a wallet that read the metadata before the rotation encrypts to
    /// the old key, which still opens its request until the previous KEK is dropped.
    pub fn derive_all(kek: &KeyEncryptionKey, issuer_id: &str) -> Result<Vec<Self>> {
        (0..=kek.previous_ids().len())
            .map(|i| Self::derive_with(|input| kek.derive_all(KEY_PURPOSE, input)[i], issuer_id))
            .collect()
    }

    fn derive_with(derive: impl Fn(&str) -> [u8; 32], issuer_id: &str) -> Result<Self> {
        for counter in 0..MAX_DERIVATION_ROUNDS {
            let d = Zeroizing::new(derive(&format!("{issuer_id}\0{counter}")));
            if let Ok(key) = EcdhPrivateKey::from_scalar(d.as_ref()) {
                let kid = key.public_key().thumbprint();
                return Ok(Self { key, kid });
            }
        }
        Err(IssuerError::Internal(
            "no valid P-256 scalar derived for the request encryption key".into(),
        ))
    }

    /// The key's `kid` (its JWK thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK published in `credential_request_encryption.jwks`.
    pub fn public_jwk(&self) -> Value {
        self.key.public_jwk_value(Some(&self.kid))
    }

    /// Decrypts a request JWE to its plaintext. Spec: OID4VCI 1.0 §10: the JWE `alg` is our
    /// JWK's (`ECDH-ES`), its `kid` is our key's, its `enc` and `zip` are from our metadata.
    /// Every refusal is `invalid_encryption_parameters`.
    pub fn decrypt(&self, token: &str) -> Result<Vec<u8>> {
        let header = jwe::protected_header(token).map_err(|e| encryption_error(&e))?;
        match header.get("kid") {
            Some(Value::String(kid)) if kid == &self.kid => {}
            Some(Value::String(_)) => {
                return Err(IssuerError::InvalidEncryptionParameters(
                    "the request JWE's kid is not a key of credential_request_encryption.jwks"
                        .into(),
                ));
            }
            // Spec: §10: "If the selected public key contains a kid parameter, the JWE MUST
            // include the same value in the kid JWE Header Parameter".
            _ => {
                return Err(IssuerError::InvalidEncryptionParameters(
                    "the request JWE needs the kid of the key in credential_request_encryption.jwks".into(),
                ));
            }
        }
        jwe::decrypt_with(
            token,
            &self.key,
            &ENC_VALUES_SUPPORTED,
            &ZIP_VALUES_SUPPORTED,
        )
        .map(|d| d.plaintext)
        .map_err(|e| encryption_error(&e))
    }
}

/// A core JOSE refusal as `invalid_encryption_parameters`, with a description that names
/// what was wrong but carries nothing secret (the core's messages never do).
fn encryption_error(e: &vdc_core::Error) -> IssuerError {
    let detail = match e {
        vdc_core::Error::Decryption => {
            "cannot be decrypted with the published key (wrong key or tampered)".to_owned()
        }
        vdc_core::Error::AlgorithmNotAllowed(m) => format!(
            "uses {m}, which is not offered (alg {ALG_ECDH_ES}; enc {}; zip {})",
            names(ENC_VALUES_SUPPORTED.iter().map(|e| e.name())),
            names(ZIP_VALUES_SUPPORTED.iter().map(|z| z.name())),
        ),
        other => other.to_string(),
    };
    IssuerError::InvalidEncryptionParameters(vdc_http::error::oauth_description(&format!(
        "the request JWE {detail}"
    )))
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

/// `credential_response_encryption` of a Credential or Deferred Credential Request (OID4VCI
/// 1.0 §8.2, §9.1), as sent.
#[derive(Debug, Clone, Deserialize)]
pub struct CredentialResponseEncryption {
    /// The wallet's public key to encrypt the response to.
    pub jwk: Value,
    /// The `enc` to encrypt with.
    pub enc: String,
    /// The `zip` to compress with; absent: no compression.
    #[serde(default)]
    pub zip: Option<String>,
}

/// Checked response encryption parameters: what [`ResponseEncryption::encrypt`] uses.
#[derive(Debug, Clone)]
pub struct ResponseEncryption {
    recipient: RecipientKey,
    enc: ContentEncryption,
    zip: Option<Compression>,
}

impl ResponseEncryption {
    /// Checks a request's `credential_response_encryption` against the issuer's metadata.
    /// Spec: §10: the JWK's `alg` MUST be present and is the JWE `alg`, so it must be
    /// `ECDH-ES`; the key must be an EC P-256 public key on the curve (`use`, if present,
    /// `enc`); `enc` must be offered; `zip`, if given, must be offered.
    pub fn check(params: &CredentialResponseEncryption) -> Result<Self> {
        let recipient = RecipientKey::from_jwk(&params.jwk).map_err(|e| {
            IssuerError::InvalidEncryptionParameters(format!(
                "credential_response_encryption.jwk is not a usable ECDH-ES P-256 public key \
                 with alg ECDH-ES: {e}"
            ))
        })?;
        let enc = ContentEncryption::from_name(&params.enc)
            .ok()
            .filter(|e| ENC_VALUES_SUPPORTED.contains(e))
            .ok_or_else(|| {
                IssuerError::InvalidEncryptionParameters(format!(
                    "credential_response_encryption.enc is not one of {}",
                    names(ENC_VALUES_SUPPORTED.iter().map(|e| e.name()))
                ))
            })?;
        let zip = params
            .zip
            .as_deref()
            .map(|z| {
                Compression::from_name(z)
                    .ok()
                    .filter(|z| ZIP_VALUES_SUPPORTED.contains(z))
                    .ok_or_else(|| {
                        IssuerError::InvalidEncryptionParameters(format!(
                            "credential_response_encryption.zip is not one of {}",
                            names(ZIP_VALUES_SUPPORTED.iter().map(|z| z.name()))
                        ))
                    })
            })
            .transpose()?;
        Ok(Self {
            recipient,
            enc,
            zip,
        })
    }

    /// Reads and checks the `credential_response_encryption` member's value.
    pub fn from_member(value: Value) -> Result<Self> {
        let params: CredentialResponseEncryption = serde_json::from_value(value).map_err(|e| {
            IssuerError::InvalidEncryptionParameters(vdc_http::error::oauth_description(&format!(
                "credential_response_encryption is malformed: {e}"
            )))
        })?;
        Self::check(&params)
    }

    /// Encrypts `body` (a JSON response) as a compact JWE to the wallet's key. Spec: §10:
    /// the JWE repeats the JWK's `kid`, if it has one.
    pub fn encrypt(
        &self,
        body: &impl Serialize,
        rng: &dyn vdc_core::rng::RandomSource,
    ) -> Result<String> {
        let plaintext = serde_json::to_vec(body)
            .map_err(|e| IssuerError::Internal(format!("response serialization: {e}")))?;
        let params = JweHeaderParams {
            kid: self.recipient.kid.clone(),
            zip: self.zip,
            ..JweHeaderParams::default()
        };
        jwe::encrypt(&plaintext, &self.recipient.key, self.enc, params, rng)
            .map_err(|e| IssuerError::Internal(format!("response encryption: {e}")))
    }
}

/// The body of a Credential or Deferred Credential Request as it arrived.
#[derive(Debug, Clone)]
pub enum WalletMessage {
    /// `application/json`: the request in clear (strictly parsed already).
    Json(Value),
    /// `application/jwt`: a compact JWE to the issuer's request encryption key.
    Jwt(String),
}

/// A successful answer of the Credential or Deferred Credential Endpoint.
#[derive(Debug, Clone)]
pub enum CredentialAnswer {
    /// In clear (`application/json`).
    Plain(CredentialOutcome),
    /// Encrypted (`application/jwt`): `deferred` says 202 rather than 200.
    Encrypted {
        /// Whether this is a 202 (issuance still deferred) rather than a 200.
        deferred: bool,
        /// The compact JWE.
        jwt: String,
    },
}

/// An opened request: its members without `credential_response_encryption`, and the checked
/// response encryption, if any.
#[derive(Debug)]
struct Opened {
    members: Map<String, Value>,
    response: Option<ResponseEncryption>,
}

/// Opens a message under the definition's rules (see the module docs for each one).
fn open(
    def: &IssuerDefinition,
    keys: &[RequestDecryptionKey],
    msg: WalletMessage,
) -> Result<Opened> {
    let (value, encrypted) = match msg {
        WalletMessage::Json(v) => {
            if def.require_credential_encryption {
                // Spec: §8.2: the wallet "MUST" encrypt when `encryption_required` is true;
                // §10: an unencrypted message where encryption is required "SHOULD be
                // rejected".
                return Err(IssuerError::InvalidEncryptionParameters(
                    "this issuer requires encrypted requests: send an application/jwt JWE to \
                     the key in credential_request_encryption"
                        .into(),
                ));
            }
            (v, false)
        }
        WalletMessage::Jwt(token) => {
            // The current key first; previous KEKs' keys only while a rotation keeps them.
            let mut opened = Err(IssuerError::Internal("no request decryption key".into()));
            for key in keys {
                opened = key.decrypt(&token);
                if opened.is_ok() {
                    break;
                }
            }
            let plaintext = opened?;
            let v = vdc_core::json::parse(&plaintext, vdc_http::MAX_BODY_BYTES).map_err(|e| {
                IssuerError::InvalidCredentialRequest(vdc_http::error::oauth_description(&format!(
                    "the decrypted request is not valid JSON: {e}"
                )))
            })?;
            (v, true)
        }
    };
    let Value::Object(mut members) = value else {
        return Err(IssuerError::InvalidCredentialRequest(
            "the request must be a JSON object".into(),
        ));
    };
    let response = match members.remove(RESPONSE_ENCRYPTION_MEMBER) {
        // Spec: §8.2, §9.1: "Credential Request encryption MUST be used if the
        // credential_response_encryption parameter is included, to prevent it being
        // substituted by an attacker."
        Some(_) if !encrypted => {
            return Err(IssuerError::InvalidEncryptionParameters(
                "credential_response_encryption is accepted only in an encrypted request \
                 (OID4VCI 1.0 section 8.2): send an application/jwt JWE"
                    .into(),
            ));
        }
        Some(v) => Some(ResponseEncryption::from_member(v)?),
        None if def.require_credential_encryption => {
            return Err(IssuerError::InvalidEncryptionParameters(
                "this issuer requires encrypted responses: the request needs \
                 credential_response_encryption"
                    .into(),
            ));
        }
        None => None,
    };
    Ok(Opened { members, response })
}

/// Reads the request type from an opened request's members (`invalid_credential_request`
/// when they do not fit; unknown members are ignored, §8.2).
fn request_of<T: serde::de::DeserializeOwned>(members: Map<String, Value>) -> Result<T> {
    serde_json::from_value(Value::Object(members)).map_err(|e| {
        IssuerError::InvalidCredentialRequest(vdc_http::error::oauth_description(&format!(
            "invalid request body: {e}"
        )))
    })
}

impl Issuer {
    /// The request decryption key of `issuer_id` (see [`RequestDecryptionKey`]).
    pub fn request_decryption_key(&self, issuer_id: &str) -> Result<RequestDecryptionKey> {
        RequestDecryptionKey::derive(self.keys.kek(), issuer_id)
    }

    /// The two encryption objects of the Credential Issuer Metadata (§12.2.4).
    pub(crate) fn encryption_metadata(
        &self,
        def: &IssuerDefinition,
    ) -> Result<(
        CredentialRequestEncryptionMetadata,
        CredentialResponseEncryptionMetadata,
    )> {
        let key = self.request_decryption_key(&def.id)?;
        let enc = || ENC_VALUES_SUPPORTED.iter().map(|e| e.name()).collect();
        let zip = || ZIP_VALUES_SUPPORTED.iter().map(|z| z.name()).collect();
        Ok((
            CredentialRequestEncryptionMetadata {
                jwks: EncryptionJwks {
                    keys: vec![key.public_jwk()],
                },
                enc_values_supported: enc(),
                zip_values_supported: zip(),
                encryption_required: def.require_credential_encryption,
            },
            CredentialResponseEncryptionMetadata {
                alg_values_supported: vec![ALG_ECDH_ES],
                enc_values_supported: enc(),
                zip_values_supported: zip(),
                encryption_required: def.require_credential_encryption,
            },
        ))
    }

    async fn open_message(&self, issuer_id: &str, msg: WalletMessage) -> Result<Opened> {
        let def = self.wallet_definition(issuer_id).await?;
        let keys = RequestDecryptionKey::derive_all(self.keys.kek(), issuer_id)?;
        open(&def, &keys, msg)
    }

    fn answer(
        &self,
        outcome: CredentialOutcome,
        response: Option<&ResponseEncryption>,
    ) -> Result<CredentialAnswer> {
        let Some(enc) = response else {
            return Ok(CredentialAnswer::Plain(outcome));
        };
        // Spec: §8.3, §9.2: encrypted "regardless of the content" (a 202 too).
        let (deferred, jwt) = match &outcome {
            CredentialOutcome::Issued(body) => (false, enc.encrypt(body, self.rng.as_ref())?),
            CredentialOutcome::Deferred(body) => (true, enc.encrypt(body, self.rng.as_ref())?),
        };
        Ok(CredentialAnswer::Encrypted { deferred, jwt })
    }

    /// Credential Endpoint (§8) for a request as it arrived, plain or encrypted (§10).
    pub async fn credential_message(
        &self,
        issuer_id: &str,
        token: &PresentedToken,
        msg: WalletMessage,
    ) -> Result<CredentialAnswer> {
        let opened = self.open_message(issuer_id, msg).await?;
        let req: CredentialRequest = request_of(opened.members)?;
        let outcome = self.credential(issuer_id, token, req).await?;
        self.answer(outcome, opened.response.as_ref())
    }

    /// Deferred Credential Endpoint (§9) for a request as it arrived, plain or encrypted.
    /// Spec: §9.2: its own `credential_response_encryption` is used, "regardless of what
    /// was sent in the initial Credential Request".
    pub async fn deferred_credential_message(
        &self,
        issuer_id: &str,
        token: &PresentedToken,
        msg: WalletMessage,
    ) -> Result<CredentialAnswer> {
        let opened = self.open_message(issuer_id, msg).await?;
        let req: DeferredRequest = request_of(opened.members)?;
        let outcome = self.deferred_credential(issuer_id, token, req).await?;
        self.answer(outcome, opened.response.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vdc_core::rng::SeededRandom;

    fn kek(b: u8) -> KeyEncryptionKey {
        KeyEncryptionKey::from_bytes(&[b; 32]).unwrap()
    }

    fn wallet_key(seed: u64) -> EcdhPrivateKey {
        EcdhPrivateKey::generate(&SeededRandom::new(seed)).unwrap()
    }

    fn request_jwe(key: &RequestDecryptionKey, body: &Value, params: JweHeaderParams) -> String {
        let recipient = RecipientKey::from_jwk(&key.public_jwk()).unwrap();
        jwe::encrypt(
            body.to_string().as_bytes(),
            &recipient.key,
            ContentEncryption::A128Gcm,
            params,
            &SeededRandom::new(9),
        )
        .unwrap()
    }

    fn with_kid(key: &RequestDecryptionKey) -> JweHeaderParams {
        JweHeaderParams {
            kid: Some(key.kid().to_owned()),
            ..JweHeaderParams::default()
        }
    }

    fn code(e: &IssuerError) -> &'static str {
        e.status_and_code().1
    }

    #[test]
    fn a_request_to_the_previous_keks_key_opens_during_a_rotation() {
        let old = RequestDecryptionKey::derive(&kek(1), "demo").unwrap();
        let rotated = kek(2).with_previous(&[kek(1)]);
        let keys = RequestDecryptionKey::derive_all(&rotated, "demo").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(
            keys[0].kid(),
            RequestDecryptionKey::derive(&kek(2), "demo").unwrap().kid()
        );
        assert_eq!(keys[1].kid(), old.kid());
        let body = json!({"credential_configuration_id": "x"});
        let t = request_jwe(&old, &body, with_kid(&old));
        assert!(open(&def(false), &keys, WalletMessage::Jwt(t.clone())).is_ok());
        // Once the previous KEK is dropped, the old key's requests are refused.
        let current = RequestDecryptionKey::derive_all(&kek(2), "demo").unwrap();
        assert!(open(&def(false), &current, WalletMessage::Jwt(t)).is_err());
    }

    #[test]
    fn request_key_is_deterministic_per_kek_and_issuer() {
        let a = RequestDecryptionKey::derive(&kek(1), "demo").unwrap();
        let again = RequestDecryptionKey::derive(&kek(1), "demo").unwrap();
        assert_eq!(a.public_jwk(), again.public_jwk());
        assert_eq!(a.kid(), again.kid());
        let other_issuer = RequestDecryptionKey::derive(&kek(1), "acme").unwrap();
        let other_kek = RequestDecryptionKey::derive(&kek(2), "demo").unwrap();
        assert_ne!(a.kid(), other_issuer.kid());
        assert_ne!(a.kid(), other_kek.kid());
        let jwk = a.public_jwk();
        assert_eq!(jwk["alg"], "ECDH-ES");
        assert_eq!(jwk["use"], "enc");
        assert_eq!(jwk["kid"], a.kid());
        assert!(jwk.get("d").is_none());
        // The kid is the RFC 7638 thumbprint of the published key.
        let published = vdc_core::jose::Jwk::from_value(&json!({
            "kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]}))
        .unwrap();
        assert_eq!(published.key.thumbprint(), a.kid());
    }

    #[test]
    fn request_jwe_needs_our_kid_and_offered_algorithms() {
        let key = RequestDecryptionKey::derive(&kek(3), "demo").unwrap();
        let body = json!({"credential_configuration_id": "X"});
        let ok = request_jwe(&key, &body, with_kid(&key));
        assert_eq!(key.decrypt(&ok).unwrap(), body.to_string().as_bytes());
        let zipped = request_jwe(
            &key,
            &body,
            JweHeaderParams {
                zip: Some(Compression::Deflate),
                ..with_kid(&key)
            },
        );
        assert_eq!(key.decrypt(&zipped).unwrap(), body.to_string().as_bytes());
        for params in [
            JweHeaderParams::default(),
            JweHeaderParams {
                kid: Some("other".into()),
                ..JweHeaderParams::default()
            },
        ] {
            let t = request_jwe(&key, &body, params);
            assert_eq!(
                code(&key.decrypt(&t).unwrap_err()),
                "invalid_encryption_parameters"
            );
        }
        // Another issuer's key: the kid differs; with our kid forged, decryption fails.
        let other = RequestDecryptionKey::derive(&kek(3), "acme").unwrap();
        let forged = request_jwe(&other, &body, with_kid(&key));
        let e = key.decrypt(&forged).unwrap_err();
        assert_eq!(code(&e), "invalid_encryption_parameters");
        assert!(e.to_string().contains("cannot be decrypted"), "{e}");
        assert_eq!(
            code(&key.decrypt("not-a-jwe").unwrap_err()),
            "invalid_encryption_parameters"
        );
    }

    #[test]
    fn response_encryption_parameters_are_checked() {
        let wallet = wallet_key(4);
        let jwk = wallet.public_jwk_value(Some("w"));
        let ok =
            ResponseEncryption::from_member(json!({"jwk": jwk, "enc": "A256GCM", "zip": "DEF"}))
                .unwrap();
        let jwt = ok
            .encrypt(&json!({"credentials": []}), &SeededRandom::new(5))
            .unwrap();
        let header = jwe::protected_header(&jwt).unwrap();
        assert_eq!(header["kid"], "w");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["zip"], "DEF");
        let out =
            jwe::decrypt_with(&jwt, &wallet, &ENC_VALUES_SUPPORTED, &ZIP_VALUES_SUPPORTED).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&out.plaintext).unwrap(),
            json!({"credentials": []})
        );

        let mut no_alg = jwk.clone();
        no_alg.as_object_mut().unwrap().remove("alg");
        let mut es256 = jwk.clone();
        es256["alg"] = "ES256".into();
        let mut off_curve = jwk.clone();
        off_curve["y"] = vdc_core::base64url::encode([7u8; 32]).into();
        let mut private = jwk.clone();
        private["d"] = vdc_core::base64url::encode([1u8; 32]).into();
        let okp = json!({"kty": "OKP", "crv": "X25519", "alg": "ECDH-ES",
            "x": "WPX7wnwq10hFNK9aDSyG1QlLswE_CJY14LdhcFUIVVc"});
        for bad in [
            json!({"jwk": no_alg, "enc": "A128GCM"}),
            json!({"jwk": es256, "enc": "A128GCM"}),
            json!({"jwk": off_curve, "enc": "A128GCM"}),
            json!({"jwk": private, "enc": "A128GCM"}),
            json!({"jwk": okp, "enc": "A128GCM"}),
            json!({"jwk": "x", "enc": "A128GCM"}),
            json!({"jwk": jwk, "enc": "A192GCM"}),
            json!({"jwk": jwk, "enc": "A128CBC-HS256"}),
            json!({"jwk": jwk, "enc": "A128GCM", "zip": "GZIP"}),
            json!({"jwk": jwk}),
            json!({"enc": "A128GCM"}),
            json!("A128GCM"),
        ] {
            let e = ResponseEncryption::from_member(bad.clone()).unwrap_err();
            assert_eq!(code(&e), "invalid_encryption_parameters", "{bad}");
        }
    }

    fn def(required: bool) -> IssuerDefinition {
        let mut v = json!({"id": "demo", "credential_configurations": {}});
        if required {
            v["require_credential_encryption"] = true.into();
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn open_follows_the_section_10_rules() {
        let key = RequestDecryptionKey::derive(&kek(6), "demo").unwrap();
        let wallet = wallet_key(7).public_jwk_value(None);
        let rce = json!({"jwk": wallet, "enc": "A128GCM"});
        let plain = json!({"credential_configuration_id": "X"});
        let with_rce = json!({"credential_configuration_id": "X",
            "credential_response_encryption": rce});

        // Plain in, plain out.
        let o = open(
            &def(false),
            std::slice::from_ref(&key),
            WalletMessage::Json(plain.clone()),
        )
        .unwrap();
        assert!(o.response.is_none());
        assert_eq!(o.members["credential_configuration_id"], "X");
        // credential_response_encryption in a plain request: refused (§8.2).
        let e = open(
            &def(false),
            std::slice::from_ref(&key),
            WalletMessage::Json(with_rce.clone()),
        )
        .unwrap_err();
        assert_eq!(code(&e), "invalid_encryption_parameters");
        // Encrypted with it: the member is taken out and checked.
        let t = request_jwe(&key, &with_rce, with_kid(&key));
        let o = open(
            &def(false),
            std::slice::from_ref(&key),
            WalletMessage::Jwt(t.clone()),
        )
        .unwrap();
        assert!(o.response.is_some());
        assert!(!o.members.contains_key(RESPONSE_ENCRYPTION_MEMBER));
        // Encrypted without it: a plain answer, unless responses must be encrypted.
        let t_plain = request_jwe(&key, &plain, with_kid(&key));
        assert!(
            open(
                &def(false),
                std::slice::from_ref(&key),
                WalletMessage::Jwt(t_plain.clone())
            )
            .unwrap()
            .response
            .is_none()
        );
        let e = open(
            &def(true),
            std::slice::from_ref(&key),
            WalletMessage::Jwt(t_plain),
        )
        .unwrap_err();
        assert_eq!(code(&e), "invalid_encryption_parameters");
        // Required: plain requests are refused, encrypted ones with parameters pass.
        let e = open(
            &def(true),
            std::slice::from_ref(&key),
            WalletMessage::Json(plain),
        )
        .unwrap_err();
        assert_eq!(code(&e), "invalid_encryption_parameters");
        assert!(
            open(
                &def(true),
                std::slice::from_ref(&key),
                WalletMessage::Jwt(t)
            )
            .is_ok()
        );
        // A decrypted payload that is not a JSON object.
        let arr = request_jwe(&key, &json!([1]), with_kid(&key));
        let e = open(
            &def(false),
            std::slice::from_ref(&key),
            WalletMessage::Jwt(arr),
        )
        .unwrap_err();
        assert_eq!(code(&e), "invalid_credential_request");
    }
}
