//! The deployment's HSM keys ([`vdc_store::ExternalKeys`]) over PKCS#11 (`vdc_hsm`): only
//! modules the operator lists in `VDC_PKCS11_MODULES` are loaded (an API call must not load
//! an arbitrary library), PINs come from `VDC_PKCS11_PIN*` variables of this instance and are
//! never stored, logged or returned; one logged-in [`vdc_pkcs11::Token`] per (module, token,
//! PIN variable), opened on first use.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use vdc_core::jose::{Algorithm, Jwk, Signer};
use vdc_store::{ExternalKeyError, ExternalKeys};

/// PKCS#11 keys for the key ring.
#[derive(Debug)]
pub struct HsmKeys {
    modules: Vec<PathBuf>,
    tokens: Mutex<HashMap<(PathBuf, String, String), Arc<vdc_pkcs11::Token>>>,
}

struct Reference {
    module: PathBuf,
    token_label: String,
    key_label: String,
    pin_env: String,
}

fn invalid(m: impl Into<String>) -> ExternalKeyError {
    ExternalKeyError::Invalid(m.into())
}

fn from_hsm(e: vdc_pkcs11::HsmError) -> ExternalKeyError {
    match e {
        vdc_pkcs11::HsmError::Unavailable(_) => ExternalKeyError::Unavailable(e.to_string()),
        other => ExternalKeyError::Invalid(other.to_string()),
    }
}

impl HsmKeys {
    /// Keys in the tokens of `modules` (absolute paths of PKCS#11 libraries).
    pub fn new(modules: Vec<PathBuf>) -> Self {
        Self {
            modules,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn reference(&self, v: &Value) -> Result<Reference, ExternalKeyError> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{k} missing")))
        };
        let module = PathBuf::from(text("module")?);
        if !self.modules.contains(&module) {
            return Err(invalid(format!(
                "module {} is not one of VDC_PKCS11_MODULES",
                module.display()
            )));
        }
        Ok(Reference {
            module,
            token_label: text("token_label")?,
            key_label: text("key_label")?,
            pin_env: text("pin_env")?,
        })
    }

    async fn token(&self, r: &Reference) -> Result<Arc<vdc_pkcs11::Token>, ExternalKeyError> {
        let slot = (r.module.clone(), r.token_label.clone(), r.pin_env.clone());
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&slot)
        {
            return Ok(t.clone());
        }
        let pin = zeroize::Zeroizing::new(std::env::var(&r.pin_env).map_err(|_| {
            invalid(format!(
                "the PIN variable {} is not set on this instance",
                r.pin_env
            ))
        })?);
        let (module, label) = (r.module.clone(), r.token_label.clone());
        let token =
            tokio::task::spawn_blocking(move || vdc_pkcs11::Token::open(&module, &label, &pin))
                .await
                .map_err(|_| ExternalKeyError::Unavailable("PKCS#11 open did not finish".into()))?
                .map_err(from_hsm)?;
        let token = Arc::new(token);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(slot, token.clone());
        Ok(token)
    }
}

/// An HSM signer under the `kid` and chain the key ring keeps for it.
#[derive(Debug)]
struct Named {
    inner: Arc<dyn Signer>,
    jwk: Jwk,
    x5c: Option<Vec<Vec<u8>>>,
}

#[async_trait::async_trait]
impl Signer for Named {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }
    fn x5c(&self) -> Option<&[Vec<u8>]> {
        self.x5c.as_deref()
    }
    async fn sign(&self, message: &[u8]) -> vdc_core::Result<Vec<u8>> {
        self.inner.sign(message).await
    }
}

#[async_trait::async_trait]
impl ExternalKeys for HsmKeys {
    async fn open(
        &self,
        reference: &Value,
        kid: Option<&str>,
        x5c: Option<Vec<Vec<u8>>>,
    ) -> Result<Arc<dyn Signer>, ExternalKeyError> {
        let r = self.reference(reference)?;
        let token = self.token(&r).await?;
        let label = r.key_label.clone();
        let signer = tokio::task::spawn_blocking(move || token.signer(&label))
            .await
            .map_err(|_| ExternalKeyError::Unavailable("PKCS#11 lookup did not finish".into()))?
            .map_err(from_hsm)?;
        let inner: Arc<dyn Signer> = Arc::new(signer);
        let mut jwk = inner.public_jwk().clone();
        jwk.kid = Some(kid.map_or_else(|| jwk.thumbprint(), str::to_owned));
        Ok(Arc::new(Named { inner, jwk, x5c }))
    }

    async fn generate(
        &self,
        reference: &Value,
        alg: Algorithm,
    ) -> Result<Arc<dyn Signer>, ExternalKeyError> {
        let r = self.reference(reference)?;
        let token = self.token(&r).await?;
        let label = r.key_label.clone();
        let signer = tokio::task::spawn_blocking(move || token.generate(alg, &label))
            .await
            .map_err(|_| ExternalKeyError::Unavailable("PKCS#11 generation did not finish".into()))?
            .map_err(from_hsm)?;
        let inner: Arc<dyn Signer> = Arc::new(signer);
        let mut jwk = inner.public_jwk().clone();
        jwk.kid = Some(jwk.thumbprint());
        Ok(Arc::new(Named {
            inner,
            jwk,
            x5c: None,
        }))
    }

    async fn ping(&self) -> Result<(), ExternalKeyError> {
        let tokens: Vec<Arc<vdc_pkcs11::Token>> = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for t in tokens {
            tokio::task::spawn_blocking(move || t.ping())
                .await
                .map_err(|_| ExternalKeyError::Unavailable("PKCS#11 ping did not finish".into()))?
                .map_err(from_hsm)?;
        }
        Ok(())
    }
}
