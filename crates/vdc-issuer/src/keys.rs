//! Signing-key rotation through the management API (contract-next "Signing keys"; R3):
//! `POST/GET /api/v1/issuers/{issuer}/keys` and `DELETE …/keys/{kid}`.
//!
//! The timeline itself (`next` → `active` → `retired`, how long a retired key stays
//! published) lives in [`vdc_store::KeyRing`], which every service signs through; this
//! module decides what a rotation may be (the key, its certificates, when it activates) and
//! when a key may be deleted.
//!
//! Certificates: a key with a chain changes what the issuer's object shows (`x5c`,
//! `trust_anchor`, the mdoc Document Signer certificate), so such a key activates at once;
//! only keys without certificates can be scheduled (`activate_at`), which is where a
//! scheduled rotation matters: verifiers find those keys through JWT VC Issuer Metadata,
//! where a `next` key is published from its creation on.

use serde_json::{Value, json};
use vdc_core::jose::{PublicKey, SigningKey};
use vdc_core::time::UnixTime;
pub use vdc_http::keys::{CreateKey, KeyCreated, KeyItem, KeyList};
use vdc_http::keys::{bounded, time};
use vdc_store::keyring::NEXT_KEY_DELETE_MARGIN_SECS;
use vdc_store::{KeyInfo, KeyState, StoreError};

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::service::Issuer;

fn bad(m: impl Into<String>) -> IssuerError {
    IssuerError::InvalidRequest(m.into())
}

fn item(k: &KeyInfo) -> KeyItem {
    KeyItem {
        kid: k.kid.clone(),
        state: k.state.as_str().to_owned(),
        created_at: time(k.created_at),
        retired_at: k.retired_at.map(time),
        published_until: bounded(k.published_until),
        activate_at: time(k.activate_at),
        alg: k.alg.clone(),
    }
}

/// When a rotation's key starts signing ([`vdc_http::keys::activation`]).
pub fn activation(req: &CreateKey, now: UnixTime) -> Result<UnixTime> {
    vdc_http::keys::activation(req, now).map_err(IssuerError::InvalidRequest)
}

/// Whether a key may be deleted now (R3): not the active key, not a `next` key about to
/// activate (another instance may sign with it at `activate_at`), not a retired key whose
/// signed credentials or tokens are still valid.
pub fn deletable(key: &KeyInfo, now: UnixTime) -> Result<()> {
    match key.state {
        KeyState::Active => Err(IssuerError::Conflict(format!(
            "key {} is the active signing key: rotate to another key first",
            key.kid
        ))),
        KeyState::Next if key.activate_at.secs() - now.secs() <= NEXT_KEY_DELETE_MARGIN_SECS => {
            Err(IssuerError::Conflict(format!(
                "key {} activates within {NEXT_KEY_DELETE_MARGIN_SECS} seconds",
                key.kid
            )))
        }
        KeyState::Next => Ok(()),
        KeyState::Retired => match key.published_until {
            Some(until) if until <= now => Ok(()),
            Some(until) => Err(IssuerError::Conflict(format!(
                "key {} signed credentials or tokens that are valid until {}",
                key.kid,
                bounded(Some(until)).unwrap_or_else(|| "they never expire".into())
            ))),
            None => Err(IssuerError::Conflict(format!(
                "key {} is still in use",
                key.kid
            ))),
        },
    }
}

fn rotation_error(issuer_id: &str, e: StoreError) -> IssuerError {
    match e {
        StoreError::Conflict(_) => IssuerError::Conflict(
            "another rotation of this issuer won: list its keys and try again".into(),
        ),
        StoreError::Duplicate(_) => {
            IssuerError::Conflict("this key is one of the issuer's keys already".into())
        }
        StoreError::NotFound(_) => IssuerError::NotFound(format!("no issuer {issuer_id}")),
        other => other.into(),
    }
}

/// Checks a `pkcs11` member ([`vdc_http::keys::pkcs11_reference`]).
pub fn pkcs11_reference(v: &Value) -> Result<(Value, bool)> {
    vdc_http::keys::pkcs11_reference(v).map_err(IssuerError::InvalidRequest)
}

/// The certificate changes a new key brings to the issuer's definition (`None`: none).
struct Certificates {
    chain: Option<Vec<Vec<u8>>>,
    def: Option<IssuerDefinition>,
}

impl Issuer {
    /// `POST /api/v1/issuers/{issuer}/keys`: adds the issuer's next signing key.
    pub async fn create_key(&self, issuer_id: &str, req: CreateKey) -> Result<KeyCreated> {
        let def = self.require(issuer_id).await?;
        let now = self.now();
        let activate_at = activation(&req, now)?;
        let keys = self.keys.keys(issuer_id).await?;
        if let Some(next) = keys.iter().find(|k| k.state == KeyState::Next) {
            return Err(IssuerError::Conflict(format!(
                "key {} is already next (activating at {}): delete it before adding another",
                next.kid,
                time(next.activate_at)
            )));
        }
        let newest = keys
            .last()
            .map(|k| k.kid.clone())
            .ok_or_else(|| IssuerError::Internal(format!("issuer {issuer_id} has no keys")))?;
        let alg = def.algorithm()?;
        if let Some(pkcs11) = &req.pkcs11 {
            return self
                .create_hsm_key(&def, pkcs11, &req, activate_at, &newest)
                .await;
        }
        let key = match &req.jwk {
            Some(jwk) => {
                let key =
                    SigningKey::from_private_jwk(jwk).map_err(|e| bad(format!("jwk: {e}")))?;
                if key.algorithm() != alg {
                    return Err(bad(format!(
                        "jwk is not a key for the issuer's signing_alg {}",
                        def.signing_alg
                    )));
                }
                key
            }
            None if req.x5c.is_some() => return Err(bad("x5c needs the key it certifies (jwk)")),
            None => SigningKey::generate(alg, self.rng.as_ref())
                .map_err(|e| IssuerError::Internal(format!("signing key: {e}")))?,
        };
        let certificates = self.certificates(&def, key.public_key(), req.x5c.as_deref(), now)?;
        if certificates.def.is_some() && activate_at > now {
            return Err(bad(
                "a key with certificates activates at once (the issuer's certificates change with it): activate_at is for keys without x5c",
            ));
        }
        let info = self
            .keys
            .rotate(
                issuer_id,
                key,
                certificates.chain,
                activate_at,
                &newest,
                self.rng.as_ref(),
            )
            .await
            .map_err(|e| rotation_error(issuer_id, e))?;
        if let Some(def) = certificates.def {
            self.store_definition(issuer_id, def).await?;
        }
        Ok(KeyCreated {
            kid: info.kid,
            state: info.state.as_str().to_owned(),
            created_at: time(info.created_at),
            activate_at: time(info.activate_at),
        })
    }

    /// A rotation to a key in an HSM (contract-next `pkcs11`): the key `key_label` names in
    /// the token, or a new non-extractable one with `"generate": true` (vdc addition),
    /// certified as a software key would be (an operator's `x5c` given with it, or the HAIP
    /// chain and mdoc Document Signer certificate vdc makes for its public key).
    async fn create_hsm_key(
        &self,
        def: &IssuerDefinition,
        pkcs11: &Value,
        req: &CreateKey,
        activate_at: UnixTime,
        newest: &str,
    ) -> Result<KeyCreated> {
        if req.jwk.is_some() {
            return Err(bad("pkcs11 names a key in an HSM: give no jwk with it"));
        }
        let (reference, generate) = pkcs11_reference(pkcs11)?;
        let alg = def.algorithm()?;
        let signer = self
            .keys
            .external_signer(&reference, generate.then_some(alg))
            .await
            .map_err(|e| match e {
                vdc_store::ExternalKeyError::Invalid(m) => bad(format!("pkcs11: {m}")),
                vdc_store::ExternalKeyError::Unavailable(m) => {
                    IssuerError::TemporarilyUnavailable(format!("pkcs11: {m}"))
                }
            })?;
        if signer.algorithm() != alg {
            // An existing key of another algorithm: it must not sign for this issuer.
            return Err(bad(format!(
                "pkcs11: the key is {}, the issuer signs with {}",
                signer.algorithm().name(),
                def.signing_alg
            )));
        }
        let now = self.now();
        let certificates =
            self.certificates(def, &signer.public_jwk().key, req.x5c.as_deref(), now)?;
        if certificates.def.is_some() && activate_at > now {
            return Err(bad(
                "a key with certificates activates at once (the issuer's certificates change with it): activate_at is for keys without x5c",
            ));
        }
        let info = self
            .keys
            .rotate_external(
                &def.id,
                &reference,
                signer.as_ref(),
                certificates.chain.as_deref(),
                activate_at,
                newest,
                self.rng.as_ref(),
            )
            .await
            .map_err(|e| rotation_error(&def.id, e))?;
        if let Some(def) = certificates.def {
            self.store_definition(&def.id.clone(), def).await?;
        }
        Ok(KeyCreated {
            kid: info.kid,
            state: info.state.as_str().to_owned(),
            created_at: time(info.created_at),
            activate_at: time(info.activate_at),
        })
    }

    /// The chain a new key signs with and the definition it leaves, by where the issuer's
    /// certificates come from. Spec: HAIP 1.0 §6.1.1 (credentials carry `x5c`), ISO
    /// 18013-5 §9.1.2.4 (mdocs carry a Document Signer certificate of the key).
    fn certificates(
        &self,
        def: &IssuerDefinition,
        key: &PublicKey,
        x5c: Option<&[String]>,
        now: UnixTime,
    ) -> Result<Certificates> {
        if let Some(x5c) = x5c {
            let chain =
                vdc_core::x509::parse_x5c(&json!(x5c)).map_err(|e| bad(format!("x5c: {e}")))?;
            let leaf_key =
                vdc_core::x509::leaf_public_key(&chain[0]).map_err(|e| bad(format!("x5c: {e}")))?;
            if &leaf_key != key {
                return Err(bad("x5c leaf does not certify the key"));
            }
            // The operator's chain replaces whatever certified the old key (vdc's CA and
            // Document Signer certificate included: mdocs then carry the operator's chain).
            let mut def = def.clone();
            def.x5c = Some(x5c.to_vec());
            def.trust_anchor = None;
            def.document_signer_x5c = None;
            def.iaca = None;
            crate::haip::check(&def)?;
            return Ok(Certificates {
                chain: Some(chain),
                def: Some(def),
            });
        }
        if crate::mdoc::has_operator_chain(def) {
            return Err(bad(
                "this issuer's keys carry the operator's certificate chain: import the new key as jwk with its x5c",
            ));
        }
        let issuer_id = def.id.as_str();
        let vdc_chain = def.is_haip() && def.trust_anchor.is_some();
        let vdc_document_signer = def.has_mdoc() && def.document_signer_x5c.is_some();
        if !vdc_chain && !vdc_document_signer {
            return Ok(Certificates {
                chain: None,
                def: None,
            });
        }
        let mut def = def.clone();
        let mut chain = None;
        if vdc_chain {
            let made = crate::certificate::make_chain(
                issuer_id,
                &self.issuer_url(issuer_id),
                key,
                now,
                self.rng.as_ref(),
            )?;
            made.record_in(&mut def);
            chain = Some(made.x5c());
        }
        if vdc_document_signer {
            def.document_signer_x5c = None;
            crate::mdoc::make_chain(
                issuer_id,
                &self.issuer_url(issuer_id),
                key,
                now,
                self.rng.as_ref(),
            )?
            .record_in(&mut def);
        }
        Ok(Certificates {
            chain,
            def: Some(def),
        })
    }

    /// Stores a definition whose certificates changed with a new key (after the key: should
    /// this fail, the issuer signs with a chain its object does not show yet, rather than
    /// showing a chain it does not sign with).
    async fn store_definition(&self, issuer_id: &str, def: IssuerDefinition) -> Result<()> {
        let config =
            serde_json::to_value(&def).map_err(|e| IssuerError::Internal(e.to_string()))?;
        self.store
            .update_issuer_config(issuer_id, &config)
            .await
            .map_err(|e| match e {
                StoreError::NotFound(_) => IssuerError::NotFound(format!("no issuer {issuer_id}")),
                other => other.into(),
            })?;
        self.remember(std::sync::Arc::new(def));
        Ok(())
    }

    /// `GET /api/v1/issuers/{issuer}/keys`.
    pub async fn list_keys(&self, issuer_id: &str) -> Result<KeyList> {
        self.require(issuer_id).await?;
        let keys = self.keys.keys(issuer_id).await?;
        Ok(KeyList {
            items: keys.iter().map(item).collect(),
        })
    }

    /// `DELETE /api/v1/issuers/{issuer}/keys/{kid}`: see [`deletable`].
    pub async fn delete_key(&self, issuer_id: &str, kid: &str) -> Result<()> {
        self.require(issuer_id).await?;
        let keys = self.keys.keys(issuer_id).await?;
        let key = keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| IssuerError::NotFound(format!("issuer {issuer_id} has no key {kid}")))?;
        deletable(key, self.now())?;
        if !self.keys.delete(issuer_id, kid).await? {
            return Err(IssuerError::NotFound(format!(
                "issuer {issuer_id} has no key {kid}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: KeyState, activate_at: i64, published_until: Option<i64>) -> KeyInfo {
        KeyInfo {
            kid: "k".into(),
            alg: "ES256".into(),
            state,
            created_at: UnixTime(0),
            activate_at: UnixTime(activate_at),
            retired_at: None,
            published_until: published_until.map(UnixTime),
            has_x5c: false,
        }
    }

    #[test]
    fn only_keys_that_signed_nothing_live_can_be_deleted() {
        let now = UnixTime(1_000);
        let conflict = |k: KeyInfo| matches!(deletable(&k, now), Err(IssuerError::Conflict(_)));
        assert!(conflict(info(KeyState::Active, 0, None)));
        assert!(conflict(info(KeyState::Retired, 0, Some(1_001))));
        assert!(conflict(info(KeyState::Retired, 0, Some(i64::MAX))));
        assert!(conflict(info(KeyState::Next, 1_060, None)));
        assert!(deletable(&info(KeyState::Next, 1_061, None), now).is_ok());
        assert!(deletable(&info(KeyState::Retired, 0, Some(1_000)), now).is_ok());
    }
}
