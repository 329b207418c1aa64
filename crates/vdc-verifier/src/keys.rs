//! Request-signing key rotation (contract-next "Signing keys", issue 17):
//! `POST/GET /api/v1/verifiers/{verifier}/keys` and `DELETE …/keys/{kid}`.
//!
//! A verifier's keys live sealed together in its row (`verifiers.encrypted_signing_key`, one
//! ciphertext under the KEK, so KEK rotation covers them): each key with what it signs as,
//! its `client_id`, `x5c` and DID `kid`, because for `x509_hash` and
//! `decentralized_identifier` the `client_id` is derived from the key (OID4VP 1.0 §5.9.3). A
//! rotation is one compare-and-set of that ciphertext, so of racing rotations exactly one
//! writes. Rows from before rotation hold the bare private JWK; their one key's identity is
//! the one the configuration records.
//!
//! Which key signs: the active one (the newest whose `activate_at` has come) for new
//! requests; a request made earlier keeps the `client_id` its authorization request named
//! and is signed, when a wallet fetches it, by the key of that `client_id`, and its response
//! is checked against that `client_id` (key binding `aud`, mdoc session transcript). A key
//! stops being deletable [`crate::request::MAX_REQUEST_TTL`] after it stops signing: no
//! request made under it outlives that.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vdc_core::base64url;
use vdc_core::did::jwk::did_jwk_from;
use vdc_core::jose::{Algorithm, LocalSigner, PublicKey, Signer, SigningKey};
use vdc_core::time::UnixTime;
use vdc_core::x509::{self, CertificateSpec};
use vdc_http::keys::{CreateKey, KeyCreated, KeyItem, KeyList, activation, pkcs11_reference, time};
use vdc_store::{ExternalKeyError, VerifierRecord};

use crate::error::{Result, VerifierError};
use crate::request::MAX_REQUEST_TTL;
use crate::service::Verifier;
use crate::tenant::{CERT_VALIDITY_SECS, ClientIdPrefix, VerifierConfig, key_context};

/// Most keys a verifier holds (delete retired ones to add more).
pub const MAX_VERIFIER_KEYS: usize = 16;

/// A `next` key this close to its `activate_at` is not deleted: another instance may start
/// signing with it (as for issuer keys).
const NEXT_KEY_DELETE_MARGIN_SECS: i64 = vdc_store::keyring::NEXT_KEY_DELETE_MARGIN_SECS;

/// What a key signs requests as (OID4VP 1.0 §5.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    /// The `client_id` with its prefix.
    pub(crate) client_id: String,
    /// The chain, leaf first (DER): the server-made leaf and CA, or an operator's chain.
    pub(crate) x5c: Vec<Vec<u8>>,
    /// Whether `x5c` is an operator's chain (sent whole).
    pub(crate) x5c_configured: bool,
    /// The JWS `kid` (a DID URL for `decentralized_identifier`).
    pub(crate) header_kid: Option<String>,
}

/// One request-signing key as sealed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifierKey {
    /// The key id (RFC 7638 thumbprint of the public key).
    pub(crate) kid: String,
    /// The private JWK of a software key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jwk: Option<Value>,
    /// The reference of a key in a PKCS#11 token (`module`, `token_label`, `key_label`,
    /// `pin_env`; never the PIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pkcs11: Option<Value>,
    /// The JWS algorithm of a key in a token (a software key's is its JWK's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    /// The `client_id` requests made under it carry.
    pub(crate) client_id: String,
    /// The chain (base64url DER, leaf first).
    #[serde(default)]
    x5c: Vec<String>,
    #[serde(default)]
    x5c_configured: bool,
    #[serde(default)]
    header_kid: Option<String>,
    created_at: i64,
    activate_at: i64,
    /// When its successor took (or takes) over.
    #[serde(default)]
    retired_at: Option<i64>,
}

impl std::fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierKey")
            .field("kid", &self.kid)
            .field("client_id", &self.client_id)
            .field("jwk", &"[redacted]")
            .field("activate_at", &self.activate_at)
            .finish_non_exhaustive()
    }
}

impl VerifierKey {
    fn new(
        key: &SigningKey,
        identity: Identity,
        created_at: UnixTime,
        activate_at: UnixTime,
    ) -> Result<Self> {
        let jwk: Value = serde_json::from_str(&key.to_private_jwk())
            .map_err(|e| VerifierError::Internal(format!("signing key: {e}")))?;
        Ok(Self {
            kid: key.public_key().thumbprint(),
            jwk: Some(jwk),
            pkcs11: None,
            alg: None,
            client_id: identity.client_id,
            x5c: identity.x5c.iter().map(base64url::encode).collect(),
            x5c_configured: identity.x5c_configured,
            header_kid: identity.header_kid,
            created_at: created_at.secs(),
            activate_at: activate_at.secs(),
            retired_at: None,
        })
    }

    fn set_identity(&mut self, identity: Identity) {
        self.client_id = identity.client_id;
        self.x5c = identity.x5c.iter().map(base64url::encode).collect();
        self.x5c_configured = identity.x5c_configured;
        self.header_kid = identity.header_kid;
    }

    /// A key in a PKCS#11 token, by its reference.
    fn external(
        public: &PublicKey,
        alg: Algorithm,
        reference: Value,
        identity: Identity,
        created_at: UnixTime,
        activate_at: UnixTime,
    ) -> Self {
        Self {
            kid: public.thumbprint(),
            jwk: None,
            pkcs11: Some(reference),
            alg: Some(alg.name().to_owned()),
            client_id: identity.client_id,
            x5c: identity.x5c.iter().map(base64url::encode).collect(),
            x5c_configured: identity.x5c_configured,
            header_kid: identity.header_kid,
            created_at: created_at.secs(),
            activate_at: activate_at.secs(),
            retired_at: None,
        }
    }

    /// The JWS algorithm.
    fn alg(&self) -> String {
        match (&self.alg, &self.jwk) {
            (Some(alg), _) => alg.clone(),
            (None, Some(jwk)) => SigningKey::from_private_jwk(jwk)
                .map(|k| k.algorithm().name().to_owned())
                .unwrap_or_default(),
            (None, None) => String::new(),
        }
    }

    /// The chain it signs with (DER, leaf first).
    pub(crate) fn chain(&self) -> Result<Vec<Vec<u8>>> {
        self.x5c
            .iter()
            .map(|c| {
                base64url::decode(c)
                    .map_err(|_| VerifierError::Internal("stored verifier chain unreadable".into()))
            })
            .collect()
    }

    /// The `x5c` its requests carry: an operator's chain whole, else the server-made leaf
    /// alone (the CA is the wallet's anchor).
    pub(crate) fn sent_x5c(&self) -> Result<Vec<Vec<u8>>> {
        let mut chain = self.chain()?;
        if !self.x5c_configured {
            chain.truncate(1);
        }
        Ok(chain)
    }

    /// The JWS `kid` header, if any.
    pub(crate) fn header_kid(&self) -> Option<&str> {
        self.header_kid.as_deref()
    }
}

/// The sealed keys of a verifier (what `verifiers.encrypted_signing_key` holds once a
/// verifier has rotated), in the order they were added.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedKeys {
    keys: Vec<VerifierKey>,
}

/// A verifier's keys, opened.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    keys: Vec<VerifierKey>,
    /// Whether the row holds rotated keys (not a bare key from before rotation, whose
    /// identity the configuration records).
    pub(crate) rotated: bool,
}

impl Keys {
    /// The key signing new requests at `now`: the last added whose `activate_at` has come.
    pub(crate) fn active(&self, now: UnixTime) -> Result<&VerifierKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.activate_at <= now.secs())
            .ok_or_else(|| VerifierError::Internal("verifier has no active signing key".into()))
    }

    /// The key that signs a request naming `client_id`: the active key if it signs as that
    /// `client_id`, else the newest key that has signed as it (a request made before a
    /// rotation). `NotPending` if none is left: such a request has expired.
    pub(crate) fn for_client_id(&self, client_id: &str, now: UnixTime) -> Result<&VerifierKey> {
        self.keys
            .iter()
            .rev()
            .filter(|k| k.activate_at <= now.secs())
            .find(|k| k.client_id == client_id)
            .ok_or(VerifierError::NotPending)
    }

    /// When a key stopped (or stops) signing new requests: its successor's `activate_at`.
    fn retired_at(&self, i: usize) -> Option<i64> {
        self.keys.get(i).and_then(|k| k.retired_at)
    }

    fn state(&self, i: usize, now: UnixTime) -> &'static str {
        let k = &self.keys[i];
        if k.activate_at > now.secs() {
            "next"
        } else if self.retired_at(i).is_some_and(|r| r <= now.secs()) {
            "retired"
        } else {
            "active"
        }
    }

    fn item(&self, i: usize, now: UnixTime) -> KeyItem {
        let k = &self.keys[i];
        let retired_at = self.retired_at(i);
        KeyItem {
            kid: k.kid.clone(),
            state: self.state(i, now).to_owned(),
            created_at: time(UnixTime(k.created_at)),
            retired_at: retired_at.map(|r| time(UnixTime(r))),
            // Requests made under it until it retired are signed on fetch until they expire.
            published_until: retired_at.map(|r| time(UnixTime(r + MAX_REQUEST_TTL))),
            activate_at: time(UnixTime(k.activate_at)),
            alg: k.alg(),
        }
    }
}

/// The configuration's identity of a verifier row from before rotation.
fn legacy_identity(config: &VerifierConfig) -> Identity {
    Identity {
        client_id: config.client_id.clone(),
        x5c: config.x5c.clone(),
        x5c_configured: config.x5c_configured,
        header_kid: config.kid.clone(),
    }
}

/// A new key: in memory (generated or imported), or in a PKCS#11 token.
enum Material {
    Software(Box<SigningKey>),
    Hsm(Value, Arc<dyn Signer>),
}

impl Material {
    fn public_key(&self) -> PublicKey {
        match self {
            Self::Software(k) => k.public_key().clone(),
            Self::Hsm(_, s) => s.public_jwk().key.clone(),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Self::Software(k) => k.algorithm(),
            Self::Hsm(_, s) => s.algorithm(),
        }
    }
}

/// A token that does not answer (or a reference that no longer opens): `503`, retry later.
fn hsm_unavailable(e: ExternalKeyError) -> VerifierError {
    VerifierError::Store(vdc_store::StoreError::Unavailable(format!("HSM: {e}")))
}

fn bad(m: impl Into<String>) -> VerifierError {
    VerifierError::InvalidRequest(m.into())
}

impl Verifier {
    /// What `key` signs as under `prefix` for verifier `id`: an operator's chain
    /// (`configured`), a server-made certificate for the public host (a per-verifier CA
    /// certifies the leaf), a did:jwk, or the response URI.
    pub(crate) fn identity(
        &self,
        id: &str,
        prefix: ClientIdPrefix,
        key: &PublicKey,
        configured: Option<Vec<Vec<u8>>>,
        now: UnixTime,
    ) -> Result<Identity> {
        let rng = self.deps.rng.as_ref();
        let x5c_configured = configured.is_some();
        let mut x5c = Vec::new();
        let mut kid = None;
        let client_id = match (prefix, configured) {
            (p, Some(chain)) => {
                let leaf = chain.first().cloned().unwrap_or_default();
                let id = match p {
                    ClientIdPrefix::X509SanDns => {
                        format!(
                            "x509_san_dns:{}",
                            self.public_dns_name().unwrap_or_default()
                        )
                    }
                    _ => format!("x509_hash:{}", x509::x509_hash(&leaf)),
                };
                x5c = chain;
                id
            }
            (ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash, None) => {
                let host = self.public_dns_name();
                if prefix == ClientIdPrefix::X509SanDns && host.is_none() {
                    return Err(VerifierError::InvalidRequest(
                        "x509_san_dns needs a DNS name (or loopback) host in the public URL".into(),
                    ));
                }
                // A per-verifier CA certifies the leaf, so a wallet can pin the CA as its
                // trust anchor (the CA key is dropped after use).
                let ca_key = SigningKey::generate(Algorithm::Es256, rng)?;
                let ca_spec = CertificateSpec::new(
                    format!("vdc verifier CA {id}"),
                    now.plus(-60),
                    now.plus(CERT_VALIDITY_SECS),
                    rng,
                )?
                .ca();
                let ca = x509::self_signed(&ca_spec, &ca_key)?;
                let leaf_spec = CertificateSpec::new(
                    format!("vdc verifier {id}"),
                    now.plus(-60),
                    now.plus(CERT_VALIDITY_SECS),
                    rng,
                )?;
                let leaf_spec = match &host {
                    Some(h) => leaf_spec.with_dns_name(h.clone()),
                    None => leaf_spec,
                };
                let leaf = x509::issue(&leaf_spec, key, &ca, &ca_key)?;
                let id = match prefix {
                    ClientIdPrefix::X509SanDns => {
                        format!("x509_san_dns:{}", host.unwrap_or_default())
                    }
                    _ => format!("x509_hash:{}", x509::x509_hash(&leaf)),
                };
                x5c = vec![leaf, ca];
                id
            }
            (ClientIdPrefix::DecentralizedIdentifier, None) => {
                let did = did_jwk_from(key);
                kid = Some(format!("{did}#0"));
                format!("decentralized_identifier:{did}")
            }
            (ClientIdPrefix::RedirectUri, None) => {
                format!("redirect_uri:{}", self.response_uri(id))
            }
        };
        Ok(Identity {
            client_id,
            x5c,
            x5c_configured,
            header_kid: kid,
        })
    }

    /// A verifier's keys with the identities they sign as: for a row from before rotation,
    /// the configuration's identity, which may have changed under the same key
    /// (`align_with_public_url`).
    pub(crate) fn keys_of(
        &self,
        record: &VerifierRecord,
        config: &VerifierConfig,
    ) -> Result<Arc<Keys>> {
        let keys = self.opened(record, config)?;
        if keys.rotated {
            return Ok(keys);
        }
        let mut key = keys.keys[0].clone();
        key.set_identity(legacy_identity(config));
        Ok(Arc::new(Keys {
            keys: vec![key],
            rotated: false,
        }))
    }

    /// A verifier's keys as sealed, opened once per ciphertext (a rotation anywhere changes
    /// the ciphertext, so a reread record is opened again).
    fn opened(&self, record: &VerifierRecord, config: &VerifierConfig) -> Result<Arc<Keys>> {
        if let Some((sealed, keys)) = self
            .opened_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&record.id)
            && *sealed == record.encrypted_signing_key
        {
            return Ok(keys.clone());
        }
        let plain = self.open(&record.encrypted_signing_key, &key_context(&record.id))?;
        let value: Value = serde_json::from_slice(&plain)
            .map_err(|_| VerifierError::Internal("stored signing key unreadable".into()))?;
        let rotated = value.get("keys").is_some();
        let keys = if rotated {
            let sealed: SealedKeys = serde_json::from_value(value)
                .map_err(|_| VerifierError::Internal("stored signing keys unreadable".into()))?;
            sealed.keys
        } else {
            // A row from before rotation: its one key, as the configuration describes it.
            let key = SigningKey::from_private_jwk(&value)?;
            vec![VerifierKey::new(
                &key,
                legacy_identity(config),
                record.created_at,
                record.created_at,
            )?]
        };
        if keys.is_empty() {
            return Err(VerifierError::Internal(
                "verifier has no signing keys".into(),
            ));
        }
        let keys = Arc::new(Keys { keys, rotated });
        self.opened_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                record.id.clone(),
                (record.encrypted_signing_key.clone(), keys.clone()),
            );
        Ok(keys)
    }

    /// The signer of a stored key: the software key, or the key in its PKCS#11 token (kept
    /// open; a token that does not answer is a `503`).
    pub(crate) async fn signer_of(&self, key: &VerifierKey) -> Result<Arc<dyn Signer>> {
        if let Some(signer) = self
            .signers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key.kid)
        {
            return Ok(signer.clone());
        }
        let signer: Arc<dyn Signer> = match (&key.jwk, &key.pkcs11) {
            (Some(jwk), _) => Arc::new(LocalSigner::new(SigningKey::from_private_jwk(jwk)?)),
            (None, Some(reference)) => self.open_hsm_key(&key.kid, reference).await?,
            (None, None) => {
                return Err(VerifierError::Internal(
                    "stored verifier key has no key".into(),
                ));
            }
        };
        self.signers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key.kid.clone(), signer.clone());
        Ok(signer)
    }

    /// Opens the token key `reference` names, checked to be key `kid`.
    async fn open_hsm_key(&self, kid: &str, reference: &Value) -> Result<Arc<dyn Signer>> {
        let signer = self
            .deps
            .keys
            .external_signer(reference, None)
            .await
            .map_err(hsm_unavailable)?;
        let found = signer.public_jwk().key.thumbprint();
        if found != kid {
            // The label now names another key (replaced in the token): never sign with it.
            return Err(VerifierError::Internal(format!(
                "the token's key {found} is not the verifier's key {kid}"
            )));
        }
        Ok(signer)
    }

    /// The configuration with the active key's identity (`client_id`, `x5c`, `kid`).
    pub(crate) fn with_active_key(
        &self,
        record: &VerifierRecord,
        mut config: VerifierConfig,
    ) -> Result<VerifierConfig> {
        let keys = self.opened(record, &config)?;
        if !keys.rotated {
            // The configuration records the one key's identity (the hot path of every
            // verifier that never rotated: nothing to copy).
            return Ok(config);
        }
        let active = keys.active(self.now())?;
        config.client_id = active.client_id.clone();
        config.x5c = active.chain()?;
        config.x5c_configured = active.x5c_configured;
        config.kid = active.header_kid.clone();
        Ok(config)
    }

    /// `POST /api/v1/verifiers/{verifier}/keys`: adds the verifier's next request-signing
    /// key (generated, or an imported `jwk` with its `x5c` chain for x509 prefixes).
    pub async fn create_key(&self, verifier: &str, req: CreateKey) -> Result<KeyCreated> {
        // Read from the store, not the cache: the compare-and-set needs the current keys.
        self.forget(verifier);
        let (record, config) = self.load_verifier(verifier).await?;
        let now = self.now();
        let activate_at = activation(&req, now).map_err(VerifierError::InvalidRequest)?;
        if config.prefix == ClientIdPrefix::RedirectUri {
            return Err(bad(
                "a redirect_uri verifier passes its requests unsigned: it has no signing key to rotate",
            ));
        }
        let keys = self.keys_of(&record, &config)?;
        if let Some(next) = keys.keys.iter().find(|k| k.activate_at > now.secs()) {
            return Err(VerifierError::Conflict(format!(
                "key {} is already next (activating at {}): delete it before adding another",
                next.kid,
                time(UnixTime(next.activate_at))
            )));
        }
        if keys.keys.len() >= MAX_VERIFIER_KEYS {
            return Err(VerifierError::Conflict(format!(
                "the verifier holds {MAX_VERIFIER_KEYS} keys: delete retired ones first"
            )));
        }
        let active = keys.active(now)?;
        let material = match (&req.jwk, &req.pkcs11) {
            (Some(_), Some(_)) => {
                return Err(bad("pkcs11 names a key in an HSM: give no jwk with it"));
            }
            (Some(jwk), None) => Material::Software(Box::new(
                SigningKey::from_private_jwk(jwk).map_err(|e| bad(format!("jwk: {e}")))?,
            )),
            (None, Some(p)) => {
                let (reference, generate) =
                    pkcs11_reference(p).map_err(VerifierError::InvalidRequest)?;
                let signer = self
                    .deps
                    .keys
                    .external_signer(&reference, generate.then_some(Algorithm::Es256))
                    .await
                    .map_err(|e| match e {
                        ExternalKeyError::Invalid(m) => bad(format!("pkcs11: {m}")),
                        unavailable => hsm_unavailable(unavailable),
                    })?;
                Material::Hsm(reference, signer)
            }
            (None, None) if req.x5c.is_some() => {
                return Err(bad("x5c needs the key it certifies (jwk or pkcs11)"));
            }
            (None, None) => Material::Software(Box::new(SigningKey::generate(
                Algorithm::Es256,
                self.deps.rng.as_ref(),
            )?)),
        };
        let public = material.public_key();
        if config.haip && material.algorithm() != Algorithm::Es256 {
            return Err(bad(
                "HAIP 1.0 §7: a HAIP verifier signs with ES256 (a P-256 jwk)",
            ));
        }
        let thumbprint = public.thumbprint();
        if keys.keys.iter().any(|k| k.kid == thumbprint) {
            return Err(VerifierError::Conflict(
                "this key is one of the verifier's keys already".into(),
            ));
        }
        let configured = match &req.x5c {
            Some(x5c) => {
                if !matches!(
                    config.prefix,
                    ClientIdPrefix::X509SanDns | ClientIdPrefix::X509Hash
                ) {
                    return Err(bad("x5c is for x509_san_dns and x509_hash verifiers"));
                }
                let chain = x509::parse_x5c(&json!(x5c)).map_err(|e| bad(format!("x5c: {e}")))?;
                let leaf = chain.first().ok_or_else(|| bad("x5c is empty"))?;
                let leaf_key = x509::leaf_public_key(leaf).map_err(|e| bad(format!("x5c: {e}")))?;
                if leaf_key != public {
                    return Err(bad("the x5c leaf does not certify the key"));
                }
                if config.prefix == ClientIdPrefix::X509SanDns {
                    // Spec: OID4VP 1.0 §5.9.3: the client_id host is a dNSName SAN of the leaf.
                    let host = self.public_dns_name().ok_or_else(|| {
                        bad("x509_san_dns needs a DNS name (or loopback) host in the public URL")
                    })?;
                    let has = x509::leaf_has_dns_san(leaf, &host)
                        .map_err(|e| bad(format!("x5c: {e}")))?;
                    if !has {
                        return Err(bad(format!(
                            "the x5c leaf has no DNS SAN {host} (the client_id host)"
                        )));
                    }
                }
                Some(chain)
            }
            None if active.x5c_configured => {
                return Err(bad(
                    "this verifier signs with the operator's certificate chain: import the new key as jwk with its x5c",
                ));
            }
            None => None,
        };
        let identity = self.identity(verifier, config.prefix, &public, configured, now)?;
        let would_be = VerifierConfig {
            x5c: identity.x5c.clone(),
            x5c_configured: identity.x5c_configured,
            ..config.clone()
        };
        if let Some(why) = crate::haip::refusal(&would_be.haip_subject()) {
            return Err(bad(why));
        }
        let mut all = keys.keys.clone();
        for k in all.iter_mut().filter(|k| k.retired_at.is_none()) {
            k.retired_at = Some(activate_at.secs());
        }
        all.push(match material {
            Material::Software(key) => VerifierKey::new(&key, identity, now, activate_at)?,
            Material::Hsm(reference, signer) => {
                let key = VerifierKey::external(
                    &public,
                    signer.algorithm(),
                    reference,
                    identity,
                    now,
                    activate_at,
                );
                self.signers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key.kid.clone(), signer);
                key
            }
        });
        if !self.write_keys(&record, all).await? {
            return Err(VerifierError::Conflict(
                "another rotation of this verifier won: list its keys and try again".into(),
            ));
        }
        Ok(KeyCreated {
            kid: thumbprint,
            state: if activate_at > now { "next" } else { "active" }.to_owned(),
            created_at: time(now),
            activate_at: time(activate_at),
        })
    }

    /// Seals `keys` as the verifier's keys if its row still holds the keys `record` was
    /// read with (compare-and-set on the ciphertext); false if another write came first.
    async fn write_keys(&self, record: &VerifierRecord, keys: Vec<VerifierKey>) -> Result<bool> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&SealedKeys { keys })
                .map_err(|e| VerifierError::Internal(e.to_string()))?,
        );
        let sealed = self.seal(&plain, &key_context(&record.id))?;
        let written = self
            .deps
            .store
            .replace_verifier_signing_key(&record.id, &record.encrypted_signing_key, &sealed)
            .await
            .map_err(|e| match e {
                vdc_store::StoreError::NotFound(_) => {
                    VerifierError::NotFound("no such verifier".into())
                }
                other => other.into(),
            })?;
        self.forget(&record.id);
        Ok(written)
    }

    /// `GET /api/v1/verifiers/{verifier}/keys`: oldest first.
    pub async fn list_keys(&self, verifier: &str) -> Result<KeyList> {
        // From the store: another instance may have rotated within the record cache's life.
        self.forget(verifier);
        let (record, config) = self.load_verifier(verifier).await?;
        let keys = self.keys_of(&record, &config)?;
        let now = self.now();
        Ok(KeyList {
            items: (0..keys.keys.len()).map(|i| keys.item(i, now)).collect(),
        })
    }

    /// `DELETE /api/v1/verifiers/{verifier}/keys/{kid}`: not the active key, not a `next`
    /// key about to activate, not a retired key a pending request may still be signed with.
    pub async fn delete_key(&self, verifier: &str, kid: &str) -> Result<()> {
        self.forget(verifier);
        let (record, config) = self.load_verifier(verifier).await?;
        let keys = self.keys_of(&record, &config)?;
        let now = self.now();
        let i = keys.keys.iter().position(|k| k.kid == kid).ok_or_else(|| {
            VerifierError::NotFound(format!("verifier {verifier} has no key {kid}"))
        })?;
        let key = &keys.keys[i];
        match keys.state(i, now) {
            "active" => {
                return Err(VerifierError::Conflict(format!(
                    "key {kid} is the active signing key: rotate to another key first"
                )));
            }
            "next" if key.activate_at - now.secs() <= NEXT_KEY_DELETE_MARGIN_SECS => {
                return Err(VerifierError::Conflict(format!(
                    "key {kid} activates within {NEXT_KEY_DELETE_MARGIN_SECS} seconds"
                )));
            }
            "retired" => {
                let until = keys
                    .retired_at(i)
                    .unwrap_or(i64::MAX)
                    .saturating_add(MAX_REQUEST_TTL);
                if until > now.secs() {
                    return Err(VerifierError::Conflict(format!(
                        "key {kid} may still sign requests made under it until {}",
                        time(UnixTime(until))
                    )));
                }
            }
            _ => {}
        }
        let mut rest = keys.keys.clone();
        rest.remove(i);
        if !self.write_keys(&record, rest).await? {
            return Err(VerifierError::Conflict(
                "the verifier's keys changed meanwhile: list them and try again".into(),
            ));
        }
        Ok(())
    }
}
