//! DID resolution: did:key, did:jwk and did:web, behind the [`DidResolver`] trait.
//!
//! Layout:
//! - this file: the [`DidDocument`] model (only what verification needs: verification
//!   methods with P-256/Ed25519 keys and the `assertionMethod`/`authentication`
//!   relationships), DID URL dereferencing with [`DidDocument::key_for`], the
//!   [`DidResolver`] trait, [`StaticResolver`] and the caching [`StandardResolver`].
//! - [`multibase`]: base58btc and Multikey (multicodec) encoding.
//! - [`key`], [`jwk`], [`web`]: the three DID methods.
//!
//! Every failure is [`Error::DidResolution`] (or [`Error::UntrustedKey`] when a method
//! exists but is not authorised for the requested relationship); no input panics.

pub mod jwk;
pub mod key;
pub mod multibase;
pub mod web;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::jose::PublicKey;
use crate::jose::alg::printable;
use crate::time::Clock;

pub use jwk::did_jwk_from;
pub use key::did_key_from;
pub use web::{DidWebResolver, did_web_url};

/// Longest DID or DID URL accepted anywhere in this module.
pub const MAX_DID_LEN: usize = 2048;

/// A verification relationship (DID Core §5.3) a key must be listed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// `assertionMethod`: keys that may sign credentials (issuers).
    AssertionMethod,
    /// `authentication`: keys that may authenticate the subject (holders, verifiers).
    Authentication,
}

impl Relationship {
    /// The property name in a DID document.
    pub fn name(self) -> &'static str {
        match self {
            Self::AssertionMethod => "assertionMethod",
            Self::Authentication => "authentication",
        }
    }
}

/// A verification method with a key type we support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationMethod {
    /// The method's absolute DID URL (`did:...#fragment`).
    pub id: String,
    /// The DID of the method's controller.
    pub controller: String,
    /// The public key.
    pub public_key: PublicKey,
}

/// The parts of a DID document that verification uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidDocument {
    /// The DID the document is about.
    pub id: String,
    /// Verification methods with supported keys (embedded ones included); methods with
    /// unsupported key types are left out.
    pub verification_methods: Vec<VerificationMethod>,
    /// Absolute ids of the methods listed under `assertionMethod`.
    pub assertion_method: Vec<String>,
    /// Absolute ids of the methods listed under `authentication`.
    pub authentication: Vec<String>,
}

impl DidDocument {
    /// A document with one method listed under both `assertionMethod` and
    /// `authentication` (the shape of did:key and did:jwk documents).
    pub(crate) fn single_key(did: &str, fragment: &str, key: PublicKey, signing: bool) -> Self {
        let id = format!("{did}#{fragment}");
        let relationship = if signing {
            vec![id.clone()]
        } else {
            Vec::new()
        };
        Self {
            id: did.to_owned(),
            verification_methods: vec![VerificationMethod {
                id,
                controller: did.to_owned(),
                public_key: key,
            }],
            assertion_method: relationship.clone(),
            authentication: relationship,
        }
    }

    /// Parses a DID document in its JSON representation (DID Core §6.2).
    ///
    /// Verification methods need `id`, `type` and `controller` (DID Core §5.2) and at
    /// most one of `publicKeyJwk`/`publicKeyMultibase`. Methods whose key type is not
    /// P-256 or Ed25519 are skipped; malformed methods, private key material and
    /// duplicate ids fail the whole document. Relative DID URLs (`#key-1`) are resolved
    /// against the document `id` (DID Core §3.2.2).
    pub fn from_json(value: &Value) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| did_err("DID document must be a JSON object"))?;
        let id = obj
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| did_err("DID document needs a string id"))?;
        parse_did(id)?;
        let mut doc = Self {
            id: id.to_owned(),
            verification_methods: Vec::new(),
            assertion_method: Vec::new(),
            authentication: Vec::new(),
        };
        let mut known_ids: Vec<String> = Vec::new();
        for vm in array_member(obj, "verificationMethod")? {
            doc.add_method(vm, &mut known_ids)?;
        }
        for relationship in [Relationship::AssertionMethod, Relationship::Authentication] {
            let mut ids = Vec::new();
            for entry in array_member(obj, relationship.name())? {
                match entry {
                    Value::String(reference) => ids.push(absolute_did_url(&doc.id, reference)?),
                    Value::Object(_) => ids.push(doc.add_method(entry, &mut known_ids)?),
                    _ => {
                        return Err(did_err(format!(
                            "{} entries must be strings or objects",
                            relationship.name()
                        )));
                    }
                }
            }
            *doc.relationship_mut(relationship) = ids;
        }
        Ok(doc)
    }

    /// Adds one verification method (if its key type is supported); returns its id.
    fn add_method(&mut self, vm: &Value, known_ids: &mut Vec<String>) -> Result<String> {
        let vm = vm
            .as_object()
            .ok_or_else(|| did_err("verification method must be an object"))?;
        let string = |name: &str| -> Result<&str> {
            vm.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| did_err(format!("verification method needs a string {name}")))
        };
        let id = absolute_did_url(&self.id, string("id")?)?;
        string("type")?;
        let controller = string("controller")?;
        parse_did(controller)?;
        // Spec: DID Core §5.2: ids of verification methods are unique in a document.
        if known_ids.contains(&id) {
            return Err(did_err(format!(
                "duplicate verification method id {}",
                printable(fragment_of(&id))
            )));
        }
        known_ids.push(id.clone());
        let key = match (vm.get("publicKeyJwk"), vm.get("publicKeyMultibase")) {
            // Spec: DID Core §5.2.1: a method must not carry the same material twice.
            (Some(_), Some(_)) => {
                return Err(did_err(
                    "verification method has both publicKeyJwk and publicKeyMultibase",
                ));
            }
            (Some(jwk), None) => parse_jwk_material(jwk)?,
            (None, Some(Value::String(mb))) => match multibase::decode_multikey(mb)
                .map_err(|e| did_err(format!("publicKeyMultibase: {e}")))?
            {
                multibase::Multikey::Key(k) => Some(k),
                multibase::Multikey::Unsupported(_) => None,
            },
            (None, Some(_)) => return Err(did_err("publicKeyMultibase must be a string")),
            // Other material (publicKeyBase58, blockchainAccountId, ...) is unsupported.
            (None, None) => None,
        };
        if let Some(public_key) = key {
            self.verification_methods.push(VerificationMethod {
                id: id.clone(),
                controller: controller.to_owned(),
                public_key,
            });
        }
        Ok(id)
    }

    fn relationship_mut(&mut self, relationship: Relationship) -> &mut Vec<String> {
        match relationship {
            Relationship::AssertionMethod => &mut self.assertion_method,
            Relationship::Authentication => &mut self.authentication,
        }
    }

    /// The ids listed under `relationship`.
    pub fn relationship(&self, relationship: Relationship) -> &[String] {
        match relationship {
            Relationship::AssertionMethod => &self.assertion_method,
            Relationship::Authentication => &self.authentication,
        }
    }

    /// Dereferences `kid` (an absolute DID URL `did:...#frag` of this document, or a
    /// relative `#frag`) to a key authorised for `relationship`.
    ///
    /// Fails with [`Error::DidResolution`] if the kid is malformed, names another DID or
    /// an unknown method, and with [`Error::UntrustedKey`] if the method exists but is
    /// not listed (embedded or by reference) under `relationship`.
    pub fn key_for(&self, kid: &str, relationship: Relationship) -> Result<&PublicKey> {
        if kid.len() > MAX_DID_LEN {
            return Err(did_err("kid is too long"));
        }
        let absolute = absolute_did_url(&self.id, kid)?;
        let Some((did, fragment)) = absolute.split_once('#') else {
            return Err(did_err("kid must be a DID URL with a fragment"));
        };
        if did != self.id {
            return Err(did_err("kid refers to a different DID than the document"));
        }
        if fragment.is_empty() {
            return Err(did_err("kid has an empty fragment"));
        }
        let method = self
            .verification_methods
            .iter()
            .find(|vm| vm.id == absolute)
            .ok_or_else(|| {
                did_err(format!(
                    "no supported verification method #{}",
                    printable(fragment)
                ))
            })?;
        if !self.relationship(relationship).contains(&absolute) {
            return Err(Error::UntrustedKey(format!(
                "verification method #{} is not listed under {}",
                printable(fragment),
                relationship.name()
            )));
        }
        Ok(&method.public_key)
    }

    /// The key for `relationship` when the caller has no `kid`: succeeds only if exactly
    /// one method is listed under it and that method has a supported key.
    pub fn sole_key_for(&self, relationship: Relationship) -> Result<&PublicKey> {
        match self.relationship(relationship) {
            [only] => self.key_for(only, relationship),
            [] => Err(Error::UntrustedKey(format!(
                "no method listed under {}",
                relationship.name()
            ))),
            _ => Err(did_err(format!(
                "several methods under {}; a kid is needed",
                relationship.name()
            ))),
        }
    }
}

fn parse_jwk_material(jwk: &Value) -> Result<Option<PublicKey>> {
    let obj = jwk
        .as_object()
        .ok_or_else(|| did_err("publicKeyJwk must be an object"))?;
    let supported = matches!(
        (
            obj.get("kty").and_then(Value::as_str),
            obj.get("crv").and_then(Value::as_str)
        ),
        (Some("EC"), Some("P-256")) | (Some("OKP"), Some("Ed25519"))
    );
    if !supported {
        return Ok(None);
    }
    PublicKey::from_jwk_members(obj)
        .map(Some)
        .map_err(|e| did_err(format!("publicKeyJwk: {e}")))
}

fn array_member<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a [Value]> {
    match obj.get(name) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(did_err(format!("{name} must be an array"))),
    }
}

/// `#frag` resolved against `base`; an absolute DID URL is returned as is (after a
/// syntax check of its DID part).
fn absolute_did_url(base: &str, reference: &str) -> Result<String> {
    if reference.len() > MAX_DID_LEN {
        return Err(did_err("DID URL is too long"));
    }
    if reference.starts_with('#') {
        return Ok(format!("{base}{reference}"));
    }
    parse_did(did_from_url(reference))?;
    Ok(reference.to_owned())
}

fn fragment_of(did_url: &str) -> &str {
    did_url.split_once('#').map_or("", |(_, f)| f)
}

/// The DID part of a DID URL: everything before the first `/`, `?` or `#`.
pub fn did_from_url(did_url: &str) -> &str {
    did_url.split(['/', '?', '#']).next().unwrap_or(did_url)
}

/// Checks DID syntax (DID Core §3.1) and returns `(method, method-specific-id)`.
///
/// `did = "did:" method-name ":" method-specific-id`; method-name is lowercase letters
/// and digits; method-specific-id is `*( *idchar ":" ) 1*idchar` with
/// `idchar = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded`.
pub fn parse_did(did: &str) -> Result<(&str, &str)> {
    if did.len() > MAX_DID_LEN {
        return Err(did_err(format!("DID longer than {MAX_DID_LEN} bytes")));
    }
    let rest = did
        .strip_prefix("did:")
        .ok_or_else(|| did_err("not a DID (must start with did:)"))?;
    let (method, msi) = rest
        .split_once(':')
        .ok_or_else(|| did_err("DID has no method-specific id"))?;
    if method.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(did_err("invalid DID method name"));
    }
    if msi.is_empty() || msi.ends_with(':') {
        return Err(did_err("invalid method-specific id"));
    }
    let bytes = msi.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b':' => i += 1,
            b'%' if bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                i += 3;
            }
            _ => return Err(did_err("invalid character in method-specific id")),
        }
    }
    Ok((method, msi))
}

pub(crate) fn did_err(msg: impl Into<String>) -> Error {
    Error::DidResolution(msg.into())
}

/// Resolves a DID to its document.
#[async_trait]
pub trait DidResolver: Send + Sync + std::fmt::Debug {
    /// Resolves `did` (a DID, not a DID URL) to its document.
    async fn resolve(&self, did: &str) -> Result<DidDocument>;
}

/// A fixed set of documents (tests, pinned configurations).
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    documents: HashMap<String, DidDocument>,
}

impl StaticResolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a document, keyed by its `id`.
    pub fn insert(&mut self, document: DidDocument) {
        self.documents.insert(document.id.clone(), document);
    }

    /// The resolver with one more document.
    pub fn with(mut self, document: DidDocument) -> Self {
        self.insert(document);
        self
    }
}

#[async_trait]
impl DidResolver for StaticResolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument> {
        self.documents
            .get(did)
            .cloned()
            .ok_or_else(|| did_err("DID is not among the configured documents"))
    }
}

/// Default time a resolved did:web document is reused.
pub const DEFAULT_CACHE_TTL_SECS: i64 = 300;
/// Default number of did:web documents cached.
pub const DEFAULT_CACHE_MAX_ENTRIES: usize = 1000;

/// Resolves did:key and did:jwk locally and, if given a [`Fetcher`], did:web over the
/// network, caching did:web documents for a TTL measured on the injected clock.
pub struct StandardResolver {
    web: Option<DidWebResolver>,
    clock: Arc<dyn Clock>,
    ttl_secs: i64,
    max_entries: usize,
    cache: Mutex<HashMap<String, CacheEntry>>,
}

#[derive(Debug, Clone)]
struct CacheEntry {
    expires_at: i64,
    document: DidDocument,
}

impl std::fmt::Debug for StandardResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardResolver")
            .field("web", &self.web)
            .field("ttl_secs", &self.ttl_secs)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl StandardResolver {
    /// A resolver for did:key, did:jwk and (with a fetcher) did:web, with the default
    /// cache (300 s, 1000 entries).
    pub fn new(fetcher: Option<Fetcher>, clock: Arc<dyn Clock>) -> Self {
        Self {
            web: fetcher.map(DidWebResolver::new),
            clock,
            ttl_secs: DEFAULT_CACHE_TTL_SECS,
            max_entries: DEFAULT_CACHE_MAX_ENTRIES,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the cache TTL and size; `max_entries == 0` disables caching.
    pub fn with_cache(mut self, ttl_secs: i64, max_entries: usize) -> Self {
        self.ttl_secs = ttl_secs;
        self.max_entries = max_entries;
        self
    }

    /// Uses a custom did:web resolver (e.g. one built with
    /// [`DidWebResolver::with_http_for_allow_listed_origins`]).
    pub fn with_web_resolver(mut self, web: DidWebResolver) -> Self {
        self.web = Some(web);
        self
    }

    fn cached(&self, did: &str, now: i64) -> Option<DidDocument> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(did)
            .filter(|e| e.expires_at > now)
            .map(|e| e.document.clone())
    }

    fn store(&self, document: &DidDocument, now: i64) {
        if self.max_entries == 0 || self.ttl_secs <= 0 {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= self.max_entries && !cache.contains_key(&document.id) {
            cache.retain(|_, e| e.expires_at > now);
            if cache.len() >= self.max_entries {
                // Evict the entry closest to expiry.
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, e)| e.expires_at)
                    .map(|(k, _)| k.clone())
                {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(
            document.id.clone(),
            CacheEntry {
                expires_at: now.saturating_add(self.ttl_secs),
                document: document.clone(),
            },
        );
    }
}

#[async_trait]
impl DidResolver for StandardResolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument> {
        let (method, _) = parse_did(did)?;
        match method {
            "key" => key::resolve(did),
            "jwk" => jwk::resolve(did),
            "web" => {
                let web = self
                    .web
                    .as_ref()
                    .ok_or_else(|| did_err("did:web resolution is not enabled"))?;
                let now = self.clock.now().secs();
                if let Some(doc) = self.cached(did, now) {
                    return Ok(doc);
                }
                let doc = web.resolve(did).await?;
                self.store(&doc, now);
                Ok(doc)
            }
            other => Err(did_err(format!(
                "unsupported DID method {}",
                printable(other)
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::FixedClock;
    use serde_json::json;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn ed_key() -> PublicKey {
        PublicKey::ed25519(&crate::base64url::decode(ED_X).unwrap()).unwrap()
    }

    fn sample_document() -> Value {
        let multikey = multibase::encode_multikey(&ed_key());
        json!({
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": "did:web:example.com",
            "verificationMethod": [
                {
                    "id": "did:web:example.com#jwk-1",
                    "type": "JsonWebKey2020",
                    "controller": "did:web:example.com",
                    "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": ED_X}
                },
                {
                    "id": "#mk-1",
                    "type": "Multikey",
                    "controller": "did:web:example.com",
                    "publicKeyMultibase": multikey
                },
                {
                    "id": "#rsa",
                    "type": "JsonWebKey2020",
                    "controller": "did:web:example.com",
                    "publicKeyJwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
                },
                {
                    "id": "#b58",
                    "type": "Ed25519VerificationKey2018",
                    "controller": "did:web:example.com",
                    "publicKeyBase58": "abc"
                }
            ],
            "assertionMethod": ["#jwk-1", "did:web:example.com#rsa"],
            "authentication": [
                "did:web:example.com#mk-1",
                {
                    "id": "did:web:example.com#embedded",
                    "type": "JsonWebKey2020",
                    "controller": "did:web:example.com",
                    "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": ED_X}
                }
            ]
        })
    }

    #[test]
    fn document_parses_jwk_multikey_and_embedded_methods() {
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        let ids: Vec<&str> = doc
            .verification_methods
            .iter()
            .map(|vm| vm.id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "did:web:example.com#jwk-1",
                "did:web:example.com#mk-1",
                "did:web:example.com#embedded"
            ]
        );
        assert_eq!(
            doc.assertion_method,
            ["did:web:example.com#jwk-1", "did:web:example.com#rsa"]
        );
        assert_eq!(
            doc.authentication,
            ["did:web:example.com#mk-1", "did:web:example.com#embedded"]
        );
        assert!(
            doc.verification_methods
                .iter()
                .all(|vm| vm.public_key == ed_key())
        );
    }

    #[test]
    fn key_for_accepts_absolute_and_relative_kids() {
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        let a = Relationship::AssertionMethod;
        assert_eq!(
            doc.key_for("did:web:example.com#jwk-1", a).unwrap(),
            &ed_key()
        );
        assert_eq!(doc.key_for("#jwk-1", a).unwrap(), &ed_key());
        let auth = Relationship::Authentication;
        assert_eq!(doc.key_for("#embedded", auth).unwrap(), &ed_key());
        assert_eq!(doc.key_for("#mk-1", auth).unwrap(), &ed_key());
    }

    #[test]
    fn key_for_refuses_wrong_relationship() {
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        let err = doc
            .key_for("#jwk-1", Relationship::Authentication)
            .unwrap_err();
        assert!(matches!(err, Error::UntrustedKey(_)), "{err}");
        // Embedded under authentication does not make it an assertion method.
        let err = doc
            .key_for("#embedded", Relationship::AssertionMethod)
            .unwrap_err();
        assert!(matches!(err, Error::UntrustedKey(_)), "{err}");
    }

    #[test]
    fn key_for_refuses_unknown_unsupported_foreign_and_malformed_kids() {
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        let a = Relationship::AssertionMethod;
        for kid in [
            "#nope",
            "#rsa",
            "#b58",
            "did:web:other.example#jwk-1",
            "did:web:example.com",
            "did:web:example.com#",
            "jwk-1",
            "",
            "#",
        ] {
            let err = doc.key_for(kid, a).unwrap_err();
            assert!(matches!(err, Error::DidResolution(_)), "{kid}: {err}");
        }
        assert!(doc.key_for(&format!("#{}", "a".repeat(5000)), a).is_err());
    }

    #[test]
    fn sole_key_for_needs_exactly_one_listed_method() {
        let doc = key::resolve(&did_key_from(&ed_key())).unwrap();
        assert_eq!(
            doc.sole_key_for(Relationship::AssertionMethod).unwrap(),
            &ed_key()
        );
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        assert!(doc.sole_key_for(Relationship::Authentication).is_err());
    }

    #[test]
    fn malformed_documents_are_rejected() {
        let mut dup = sample_document();
        dup["verificationMethod"][1]["id"] = json!("#jwk-1");
        let mut both = sample_document();
        both["verificationMethod"][0]["publicKeyMultibase"] = json!("z6Mk");
        let mut private = sample_document();
        private["verificationMethod"][0]["publicKeyJwk"]["d"] = json!(ED_X);
        let mut no_controller = sample_document();
        no_controller["verificationMethod"][0]
            .as_object_mut()
            .unwrap()
            .remove("controller");
        let mut bad_ref = sample_document();
        bad_ref["assertionMethod"] = json!([42]);
        let mut bad_id = sample_document();
        bad_id["id"] = json!("https://example.com");
        let mut not_array = sample_document();
        not_array["authentication"] = json!("#mk-1");
        for (name, doc) in [
            ("duplicate id", dup),
            ("two materials", both),
            ("private key", private),
            ("no controller", no_controller),
            ("bad reference", bad_ref),
            ("bad id", bad_id),
            ("not array", not_array),
            ("not object", json!([1])),
        ] {
            let err = DidDocument::from_json(&doc).unwrap_err();
            assert!(matches!(err, Error::DidResolution(_)), "{name}: {err}");
        }
    }

    #[test]
    fn did_syntax_is_checked() {
        assert_eq!(
            parse_did("did:web:example.com%3A3000:user").unwrap(),
            ("web", "example.com%3A3000:user")
        );
        for bad in [
            "",
            "did:",
            "did:web",
            "did:web:",
            "did:Web:x",
            "did:web:x:",
            "did:web:x y",
            "did:web:x%zz",
            "did:web:x%3",
            "did:web:x#frag",
            "DID:web:x",
        ] {
            assert!(parse_did(bad).is_err(), "{bad}");
        }
        assert!(parse_did(&format!("did:key:z{}", "a".repeat(MAX_DID_LEN))).is_err());
        assert_eq!(did_from_url("did:web:x.com#k"), "did:web:x.com");
        assert_eq!(did_from_url("did:web:x.com/p?q#k"), "did:web:x.com");
    }

    #[tokio::test]
    async fn static_resolver_returns_configured_documents_only() {
        let doc = DidDocument::from_json(&sample_document()).unwrap();
        let resolver = StaticResolver::new().with(doc.clone());
        assert_eq!(resolver.resolve("did:web:example.com").await.unwrap(), doc);
        assert!(matches!(
            resolver.resolve("did:web:other.com").await,
            Err(Error::DidResolution(_))
        ));
    }

    #[tokio::test]
    async fn standard_resolver_handles_key_and_jwk_and_refuses_the_rest() {
        let r = StandardResolver::new(None, Arc::new(FixedClock::at(0)));
        let did = did_key_from(&ed_key());
        assert_eq!(r.resolve(&did).await.unwrap().id, did);
        let did = did_jwk_from(&ed_key());
        assert_eq!(r.resolve(&did).await.unwrap().id, did);
        for did in [
            "did:web:example.com",
            "did:ion:abc",
            "not-a-did",
            "did:key:#",
        ] {
            assert!(
                matches!(r.resolve(did).await, Err(Error::DidResolution(_))),
                "{did}"
            );
        }
    }
}
