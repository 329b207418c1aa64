//! Where accepted credentials and their holder keys are kept.
//!
//! [`CredentialStore`] is the seam for a platform keystore or database; [`FileStore`] keeps
//! one JSON file per credential in a directory (files `0600`, directory `0700` on Unix);
//! [`MemoryStore`] is for tests and short-lived tools.
//!
//! A stored credential holds the holder's *private* key (as a JWK) so the wallet can later
//! present it with key binding. Treat the store as secret: OID4VCI 1.0 §15.4 "Storage of
//! the Credentials" asks wallets to protect stored credentials; use a `FileStore` only on
//! storage the End-User controls (full-disk encryption), or implement the trait over the
//! platform keystore.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use vdc_core::jose::{LocalSigner, PublicKey, SigningKey};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Longest credential id accepted.
pub const MAX_ID_LEN: usize = 128;
/// Largest stored credential file read back.
pub const MAX_RECORD_LEN: usize = 4 * 1024 * 1024;

/// A holder private key as a JWK (with `d`). Never printed by `Debug`; the text is wiped
/// when dropped. Serialized as a JSON object.
#[derive(Clone)]
pub struct PrivateJwk(Zeroizing<String>);

impl PrivateJwk {
    /// Wraps a signing key's private JWK.
    pub fn from_key(key: &SigningKey) -> Self {
        Self(key.to_private_jwk())
    }

    /// The signing key (to create Key Binding JWTs when presenting).
    pub fn signing_key(&self) -> Result<SigningKey> {
        // The parsed copy of `d` is not wiped (serde_json::Value cannot be zeroized); it
        // lives only for this call.
        let value: Value = serde_json::from_str(&self.0)
            .map_err(|_| Error::Store("holder key is not JSON".into()))?;
        SigningKey::from_private_jwk(&value).map_err(Error::Core)
    }

    /// A [`LocalSigner`] over the key.
    pub fn signer(&self) -> Result<LocalSigner> {
        self.signing_key().map(LocalSigner::new)
    }

    /// The public key.
    pub fn public_key(&self) -> Result<PublicKey> {
        self.signing_key().map(|k| k.public_key().clone())
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateJwk([redacted])")
    }
}

impl PartialEq for PrivateJwk {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

impl Eq for PrivateJwk {}

impl Serialize for PrivateJwk {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let v: Value = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PrivateJwk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if !v.is_object() {
            return Err(serde::de::Error::custom(
                "holder_private_jwk must be an object",
            ));
        }
        Ok(Self(Zeroizing::new(v.to_string())))
    }
}

/// One accepted credential with everything needed to show and present it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCredential {
    /// The wallet's id for it (base64url characters).
    pub id: String,
    /// The credential as issued (compact SD-JWT VC ending in `~`, a JWT, or the base64url
    /// `IssuerSigned` of an mdoc).
    pub credential: String,
    /// The credential format (`dc+sd-jwt`, `jwt_vc_json`, `mso_mdoc`).
    pub format: String,
    /// The credential configuration it was issued under.
    pub credential_configuration_id: String,
    /// The `credential_identifier` it was requested with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_identifier: Option<String>,
    /// The Credential Issuer Identifier it was obtained from.
    pub credential_issuer: String,
    /// The issuer established by verification (`iss`, or the VC's `issuer`).
    pub issuer: String,
    /// `vct` of an SD-JWT VC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// `docType` of an mdoc (`mso_mdoc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// The holder private key the credential is bound to (absent for unbound credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_private_jwk: Option<PrivateJwk>,
    /// The `notification_id` of the response that carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_id: Option<String>,
    /// When the wallet received it (seconds since the epoch).
    pub received_at: i64,
}

/// Persistence for accepted credentials.
#[async_trait]
pub trait CredentialStore: Send + Sync + fmt::Debug {
    /// Saves (or replaces) a credential under its id.
    async fn save(&self, credential: &StoredCredential) -> Result<()>;
    /// The credential with `id`, if any.
    async fn get(&self, id: &str) -> Result<Option<StoredCredential>>;
    /// Every credential, oldest first.
    async fn list(&self) -> Result<Vec<StoredCredential>>;
    /// Removes a credential; true if it existed.
    async fn delete(&self, id: &str) -> Result<bool>;
}

/// Checks an id: 1..=128 characters of `[A-Za-z0-9_-]` (so it is always a safe file name).
pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > MAX_ID_LEN
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidArgument(
            "credential id must be 1-128 characters of [A-Za-z0-9_-]".into(),
        ));
    }
    Ok(())
}

/// A credential store in memory.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<BTreeMap<String, StoredCredential>>);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, StoredCredential>>> {
        self.0
            .lock()
            .map_err(|_| Error::Store("memory store poisoned".into()))
    }
}

#[async_trait]
impl CredentialStore for MemoryStore {
    async fn save(&self, credential: &StoredCredential) -> Result<()> {
        check_id(&credential.id)?;
        self.lock()?
            .insert(credential.id.clone(), credential.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<StoredCredential>> {
        check_id(id)?;
        Ok(self.lock()?.get(id).cloned())
    }

    async fn list(&self) -> Result<Vec<StoredCredential>> {
        let mut all: Vec<_> = self.lock()?.values().cloned().collect();
        sort(&mut all);
        Ok(all)
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        check_id(id)?;
        Ok(self.lock()?.remove(id).is_some())
    }
}

fn sort(all: &mut [StoredCredential]) {
    all.sort_by(|a, b| {
        a.received_at
            .cmp(&b.received_at)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// A directory with one `<id>.json` file per credential. Files are written to a temporary
/// name and renamed into place, so a crash never leaves a half-written credential.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Opens (creating if needed, mode `0700` on Unix) the directory.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a credential is stored in.
    pub fn path_of(&self, id: &str) -> Result<PathBuf> {
        check_id(id)?;
        Ok(self.dir.join(format!("{id}.json")))
    }

    async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| Error::Store("store task failed".into()))?
    }
}

fn io_err(what: &str, e: &std::io::Error) -> Error {
    Error::Store(format!("{what}: {}", e.kind()))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| io_err("create store directory", &e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut file = opts
        .open(&tmp)
        .map_err(|e| io_err("create credential file", &e))?;
    #[cfg(unix)]
    {
        // A pre-existing temp file keeps its old mode through `open`; force 0600.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_err("restrict credential file", &e))?;
    }
    file.write_all(bytes)
        .map_err(|e| io_err("write credential file", &e))?;
    file.sync_all()
        .map_err(|e| io_err("sync credential file", &e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err("rename credential file", &e))
}

fn read_record(path: &Path) -> Result<Option<StoredCredential>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("read credential file", &e)),
    };
    let value = vdc_core::json::parse(&bytes, MAX_RECORD_LEN)
        .map_err(|e| Error::Store(format!("credential file: {e}")))?;
    serde_json::from_value(value)
        .map(Some)
        .map_err(|_| Error::Store("credential file has an unexpected shape".into()))
}

#[async_trait]
impl CredentialStore for FileStore {
    async fn save(&self, credential: &StoredCredential) -> Result<()> {
        let path = self.path_of(&credential.id)?;
        let bytes = Zeroizing::new(
            serde_json::to_vec_pretty(credential)
                .map_err(|_| Error::Store("cannot serialize credential".into()))?,
        );
        Self::blocking(move || write_private(&path, &bytes)).await
    }

    async fn get(&self, id: &str) -> Result<Option<StoredCredential>> {
        let path = self.path_of(id)?;
        Self::blocking(move || read_record(&path)).await
    }

    async fn list(&self) -> Result<Vec<StoredCredential>> {
        let dir = self.dir.clone();
        Self::blocking(move || {
            let mut all = Vec::new();
            let entries = std::fs::read_dir(&dir).map_err(|e| io_err("list store", &e))?;
            for entry in entries {
                let entry = entry.map_err(|e| io_err("list store", &e))?;
                let name = entry.file_name();
                let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                    continue;
                };
                if check_id(id).is_err() {
                    continue;
                }
                if let Some(c) = read_record(&entry.path())? {
                    all.push(c);
                }
            }
            sort(&mut all);
            Ok(all)
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool> {
        let path = self.path_of(id)?;
        Self::blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("delete credential file", &e)),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::jose::Algorithm;
    use vdc_core::rng::SeededRandom;

    fn sample(id: &str, at: i64) -> StoredCredential {
        let key = SigningKey::generate(Algorithm::Es256, &SeededRandom::new(7)).unwrap();
        StoredCredential {
            id: id.into(),
            credential: "eyJ.eyJ.sig~".into(),
            format: "dc+sd-jwt".into(),
            credential_configuration_id: "pid".into(),
            credential_identifier: None,
            credential_issuer: "https://issuer.example".into(),
            issuer: "https://issuer.example".into(),
            vct: Some("urn:example:pid".into()),
            doctype: None,
            holder_private_jwk: Some(PrivateJwk::from_key(&key)),
            notification_id: Some("n1".into()),
            received_at: at,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vdc-holder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn file_store_round_trips_lists_and_deletes() {
        let dir = temp_dir("roundtrip");
        let store = FileStore::open(&dir).unwrap();
        store.save(&sample("b", 20)).await.unwrap();
        store.save(&sample("a", 10)).await.unwrap();
        std::fs::write(dir.join("ignored.txt"), "x").unwrap();
        let got = store.get("b").await.unwrap().unwrap();
        assert_eq!(got, sample("b", 20));
        let key = got.holder_private_jwk.unwrap().signing_key().unwrap();
        assert_eq!(
            key.public_key(),
            &sample("b", 20)
                .holder_private_jwk
                .unwrap()
                .public_key()
                .unwrap()
        );
        let ids: Vec<_> = store
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(store.delete("a").await.unwrap());
        assert!(!store.delete("a").await.unwrap());
        assert_eq!(store.get("a").await.unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn credential_files_are_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir("mode");
        let store = FileStore::open(&dir).unwrap();
        store.save(&sample("x", 1)).await.unwrap();
        let mode = std::fs::metadata(store.path_of("x").unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn ids_that_could_escape_the_directory_are_refused() {
        let store = FileStore::open(temp_dir("ids")).unwrap();
        for bad in ["../x", "a/b", "", ".json", "a.b"] {
            assert!(
                matches!(store.get(bad).await, Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
        let mut c = sample("ok", 1);
        c.id = "../../etc/passwd".into();
        assert!(store.save(&c).await.is_err());
    }

    #[test]
    fn debug_never_prints_the_private_key() {
        let c = sample("x", 1);
        let d = c.holder_private_jwk.as_ref().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        let secret = json["holder_private_jwk"]["d"].as_str().unwrap().to_owned();
        assert!(!format!("{c:?}").contains(&secret));
        assert!(!format!("{d:?}").contains(&secret));
    }
}
