//! Signing keys in a PKCS#11 token (an HSM; SoftHSM2 in the tests) as [`Signer`]s.
//!
//! - A [`Token`] is one module, one token (by label) and a logged-in user: a small pool of
//!   sessions (a PKCS#11 session is single-threaded; each call takes one, returns it after).
//!   A call that fails because the session or login is gone (`CKR_SESSION_HANDLE_INVALID`,
//!   `CKR_SESSION_CLOSED`, `CKR_USER_NOT_LOGGED_IN`, `CKR_DEVICE_REMOVED`,
//!   `CKR_TOKEN_NOT_PRESENT`, `CKR_DEVICE_ERROR`) is retried once on a fresh session; if that
//!   fails too the error is [`HsmError::Unavailable`], at once: callers answer
//!   `temporarily_unavailable`, never hang.
//! - Every PKCS#11 call blocks: [`Pkcs11Signer::sign`] runs it on tokio's blocking pool.
//! - ES256 is `CKM_ECDSA` over the SHA-256 digest computed here (PKCS#11 v2.40 §2.3.6: the
//!   mechanism signs the hash it is given), whose output is already the raw `r || s` JWS wants
//!   (RFC 7518 §3.4; 64 bytes for P-256, checked). EdDSA is `CKM_EDDSA` over the message
//!   (PKCS#11 v3.0 §2.3.14, pure Ed25519).
//! - Generated keys are token objects, private, sensitive and not extractable (PKCS#11
//!   v2.40 §4.9): the private key never leaves the token.
//! - The PIN is kept (zeroized on drop) to log in fresh sessions; no `Debug` or `Display`
//!   shows it.

pub mod softhsm;

use std::path::Path;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use vdc_core::jose::{Algorithm, Jwk, PublicKey, Signer};
use zeroize::Zeroizing;

/// DER of the OID prime256v1 (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// `CKA_EC_PARAMS` of an Ed25519 key as SoftHSM2 takes it: the PrintableString
/// "edwards25519" (PKCS#11 v3.0 §2.3.5 allows it beside the OID 1.3.101.112).
const ED25519_PARAMS: &[u8] = &[
    0x13, 0x0c, 0x65, 0x64, 0x77, 0x61, 0x72, 0x64, 0x73, 0x32, 0x35, 0x35, 0x31, 0x39,
];
/// DER of the OID id-Ed25519 (1.3.101.112).
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// One initialised context per module for the life of the process: a module is
/// initialised once (`C_Initialize`), and a second context's drop would finalize it under
/// the first one's sessions (PKCS#11 v2.40 §5.4: `C_Finalize` ends every session).
fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    static CONTEXTS: std::sync::OnceLock<
        Mutex<std::collections::HashMap<std::path::PathBuf, Pkcs11>>,
    > = std::sync::OnceLock::new();
    let mut contexts = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx =
        Pkcs11::new(module).map_err(|_| HsmError::ModuleNotFound(module.display().to_string()))?;
    match ctx.initialize(CInitializeArgs::OsThreads) {
        Ok(()) => {}
        Err(e) if rv(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
        Err(CkError::AlreadyInitialized) => {}
        Err(e) => return Err(device(e)),
    }
    contexts.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// Sessions kept open per token.
const POOL: usize = 8;

/// Why a token or key could not be used. The text never holds the PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HsmError {
    /// The module does not load.
    #[error("the PKCS#11 module {0} does not load")]
    ModuleNotFound(String),
    /// No initialised token has this label.
    #[error("no PKCS#11 token is labelled {0:?}")]
    TokenNotFound(String),
    /// The user PIN was refused.
    #[error("the token refused the PIN")]
    WrongPin,
    /// No private key has this label.
    #[error("the token holds no private key labelled {0:?}")]
    KeyNotFound(String),
    /// A key label exists already (generation).
    #[error("the token holds a key labelled {0:?} already")]
    KeyExists(String),
    /// The key or mechanism is not one vdc signs with.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The device does not answer (removed, session lost and not re-established).
    #[error("the token is unavailable: {0}")]
    Unavailable(String),
    /// Anything else the module answered.
    #[error("PKCS#11: {0}")]
    Device(String),
}

fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// Errors a fresh session may cure.
fn session_lost(e: &CkError) -> bool {
    matches!(
        rv(e),
        Some(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::DeviceError
                | RvError::CryptokiNotInitialized
        )
    )
}

fn device(e: CkError) -> HsmError {
    if session_lost(&e) {
        HsmError::Unavailable(e.to_string())
    } else {
        HsmError::Device(e.to_string())
    }
}

struct Inner {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    pin: Zeroizing<String>,
    sessions: Mutex<Vec<Session>>,
}

/// A logged-in token. Cheap to clone.
#[derive(Clone)]
pub struct Token {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.inner.label)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn login(&self) -> Result<Session, HsmError> {
        let session = self.ctx.open_rw_session(self.slot).map_err(device)?;
        match session.login(
            UserType::User,
            Some(&AuthPin::new(self.pin.as_str().into())),
        ) {
            Ok(()) => Ok(session),
            Err(e) if rv(&e) == Some(RvError::UserAlreadyLoggedIn) => Ok(session),
            Err(e) if rv(&e) == Some(RvError::PinIncorrect) => Err(HsmError::WrongPin),
            Err(e) if rv(&e) == Some(RvError::PinLocked) => Err(HsmError::WrongPin),
            Err(e) => Err(device(e)),
        }
    }

    /// Runs `f` on a pooled session; a lost session is replaced once.
    fn with_session<T>(
        &self,
        f: impl Fn(&Session) -> cryptoki::error::Result<T>,
    ) -> Result<T, HsmError> {
        let pooled = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let session = match pooled {
            Some(s) => s,
            None => self.login()?,
        };
        let result = match f(&session) {
            Err(e) if session_lost(&e) => {
                drop(session);
                let fresh = self.login().map_err(|e| match e {
                    HsmError::WrongPin => HsmError::WrongPin,
                    other => HsmError::Unavailable(other.to_string()),
                })?;
                let again = f(&fresh);
                (again, fresh)
            }
            other => (other, session),
        };
        let (outcome, session) = result;
        match outcome {
            Ok(v) => {
                let mut pool = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
                if pool.len() < POOL {
                    pool.push(session);
                }
                Ok(v)
            }
            Err(e) => Err(device(e)),
        }
    }
}

impl Token {
    /// Loads `module`, finds the initialised token labelled `token_label` and logs in with
    /// `pin`.
    pub fn open(module: &Path, token_label: &str, pin: &str) -> Result<Self, HsmError> {
        let ctx = context(module)?;
        let slots = ctx.get_slots_with_initialized_token().map_err(device)?;
        let slot = slots
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .map(|i| i.label().trim_end() == token_label)
                    .unwrap_or(false)
            })
            .ok_or_else(|| HsmError::TokenNotFound(token_label.to_owned()))?;
        let inner = Inner {
            ctx,
            slot,
            label: token_label.to_owned(),
            pin: Zeroizing::new(pin.to_owned()),
            sessions: Mutex::new(Vec::new()),
        };
        let session = inner.login()?;
        inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Whether the token answers (a session's info can be read).
    pub fn ping(&self) -> Result<(), HsmError> {
        self.inner
            .with_session(|s| s.get_session_info().map(|_| ()))
    }

    fn private_keys(&self, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        let template = [
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ];
        self.inner.with_session(|s| s.find_objects(&template))
    }

    /// Generates a key pair of `alg` labelled `label` in the token: the private key a token
    /// object, private, sensitive, not extractable, for signing only.
    pub fn generate(&self, alg: Algorithm, label: &str) -> Result<Pkcs11Signer, HsmError> {
        if !self.private_keys(label)?.is_empty() {
            return Err(HsmError::KeyExists(label.to_owned()));
        }
        let (mechanism, params) = match alg {
            Algorithm::Es256 => (Mechanism::EccKeyPairGen, P256_PARAMS),
            Algorithm::EdDsa => (Mechanism::EccEdwardsKeyPairGen, ED25519_PARAMS),
            #[allow(unreachable_patterns)]
            other => return Err(HsmError::Unsupported(format!("{other:?}"))),
        };
        let id = label.as_bytes().to_vec();
        let public = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        let private = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
        ];
        self.inner
            .with_session(|s| s.generate_key_pair(&mechanism, &public, &private))
            .map_err(|e| match e {
                HsmError::Device(m) if m.contains("Mechanism") => HsmError::Unsupported(m),
                other => other,
            })?;
        self.signer(label)
    }

    /// The signer of the existing key pair labelled `label` (its public key read from the
    /// token's public key object, or from the private key's `CKA_EC_POINT`).
    pub fn signer(&self, label: &str) -> Result<Pkcs11Signer, HsmError> {
        let key = *self
            .private_keys(label)?
            .first()
            .ok_or_else(|| HsmError::KeyNotFound(label.to_owned()))?;
        let publics = {
            let template = [
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ];
            self.inner.with_session(|s| s.find_objects(&template))?
        };
        let source = publics.first().copied().unwrap_or(key);
        let attrs = self.inner.with_session(|s| {
            s.get_attributes(
                source,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::EcPoint,
                ],
            )
        })?;
        let mut key_type = None;
        let mut params = None;
        let mut point = None;
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        let point = point.ok_or_else(|| HsmError::Unsupported("the key has no EC point".into()))?;
        let point = unwrap_octet_string(&point);
        let (alg, public) = match (key_type, params.as_deref()) {
            (Some(t), Some(p)) if t == KeyType::EC && p == P256_PARAMS => (
                Algorithm::Es256,
                PublicKey::p256_from_sec1(point)
                    .map_err(|e| HsmError::Unsupported(format!("P-256 point: {e}")))?,
            ),
            (Some(t), Some(p))
                if t == KeyType::EC_EDWARDS && (p == ED25519_PARAMS || p == ED25519_OID) =>
            {
                (
                    Algorithm::EdDsa,
                    PublicKey::ed25519(point)
                        .map_err(|e| HsmError::Unsupported(format!("Ed25519 key: {e}")))?,
                )
            }
            _ => {
                return Err(HsmError::Unsupported(
                    "only P-256 (ES256) and Ed25519 (EdDSA) keys sign".into(),
                ));
            }
        };
        let jwk = Jwk::new(public);
        let kid = jwk.thumbprint();
        Ok(Pkcs11Signer {
            token: self.inner.clone(),
            key,
            label: label.to_owned(),
            alg,
            jwk: jwk.with_kid(kid),
        })
    }

    /// Whether the private key labelled `label` is sensitive and not extractable.
    pub fn is_non_extractable(&self, label: &str) -> Result<bool, HsmError> {
        let key = *self
            .private_keys(label)?
            .first()
            .ok_or_else(|| HsmError::KeyNotFound(label.to_owned()))?;
        let attrs = self.inner.with_session(|s| {
            s.get_attributes(key, &[AttributeType::Sensitive, AttributeType::Extractable])
        })?;
        let mut sensitive = false;
        let mut extractable = true;
        for a in attrs {
            match a {
                Attribute::Sensitive(b) => sensitive = b,
                Attribute::Extractable(b) => extractable = b,
                _ => {}
            }
        }
        Ok(sensitive && !extractable)
    }

    /// Logs the user out of the token (every session of this application loses its login,
    /// as after a device reset), keeping the pooled sessions: for tests of recovery.
    #[doc(hidden)]
    pub fn log_out(&self) -> Result<(), HsmError> {
        let pool = self
            .inner
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match pool.first() {
            Some(s) => s.logout().map_err(device),
            None => Ok(()),
        }
    }
}

/// `CKA_EC_POINT` is a DER OCTET STRING around the point (PKCS#11 v2.40 §2.3.3); some
/// tokens return the bare point.
fn unwrap_octet_string(v: &[u8]) -> &[u8] {
    match v {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() && *len < 0x80 => rest,
        [0x04, 0x81, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        _ => v,
    }
}

/// A key in a token, as a JWS signer.
#[derive(Clone)]
pub struct Pkcs11Signer {
    token: Arc<Inner>,
    key: ObjectHandle,
    label: String,
    alg: Algorithm,
    jwk: Jwk,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token.label)
            .field("kid", &self.jwk.kid)
            .finish_non_exhaustive()
    }
}

/// Signs with the key's handle; a handle the session does not know (a private object is
/// invisible without a login, and handles may change after a device reset) is looked up again
/// by label, and a key not found that way is a lost login (so the caller retries on a fresh
/// session).
fn sign_with(
    s: &Session,
    mechanism: &Mechanism,
    key: ObjectHandle,
    label: &str,
    data: &[u8],
) -> cryptoki::error::Result<Vec<u8>> {
    match s.sign(mechanism, key, data) {
        Err(e)
            if rv(&e) == Some(RvError::ObjectHandleInvalid)
                || rv(&e) == Some(RvError::KeyHandleInvalid) =>
        {
            let template = [
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ];
            match s.find_objects(&template)?.first() {
                Some(h) => s.sign(mechanism, *h, data),
                None => Err(CkError::Pkcs11(
                    RvError::UserNotLoggedIn,
                    cryptoki::context::Function::FindObjects,
                )),
            }
        }
        other => other,
    }
}

impl Pkcs11Signer {
    /// Signs on the calling thread (blocking).
    pub fn sign_blocking(&self, message: &[u8]) -> Result<Vec<u8>, HsmError> {
        match self.alg {
            Algorithm::Es256 => {
                let digest = ring::digest::digest(&ring::digest::SHA256, message);
                let sig = self.token.with_session(|s| {
                    sign_with(s, &Mechanism::Ecdsa, self.key, &self.label, digest.as_ref())
                })?;
                if sig.len() != 64 {
                    return Err(HsmError::Device(format!(
                        "CKM_ECDSA answered {} bytes, not the 64 of r || s",
                        sig.len()
                    )));
                }
                Ok(sig)
            }
            Algorithm::EdDsa => {
                let params = EddsaParams::new(EddsaSignatureScheme::Pure);
                self.token.with_session(|s| {
                    sign_with(s, &Mechanism::Eddsa(params), self.key, &self.label, message)
                })
            }
            #[allow(unreachable_patterns)]
            other => Err(HsmError::Unsupported(format!("{other:?}"))),
        }
    }
}

#[async_trait::async_trait]
impl Signer for Pkcs11Signer {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }

    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    async fn sign(&self, message: &[u8]) -> vdc_core::Result<Vec<u8>> {
        let this = self.clone();
        let message = message.to_vec();
        tokio::task::spawn_blocking(move || this.sign_blocking(&message))
            .await
            .map_err(|_| vdc_core::Error::KeyUnavailable("the PKCS#11 call did not finish".into()))?
            .map_err(|e| vdc_core::Error::KeyUnavailable(e.to_string()))
    }
}
