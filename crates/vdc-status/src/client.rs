//! The relying party's status check (draft-ietf-oauth-status-list §8): resolve the Status
//! List Token named by a Referenced Token, verify it, and read the status at its index,
//! with a cache of decompressed lists.
//!
//! Resolution order: a [`StatusListSource`] first (this deployment's own lists, read in
//! process: "local issuers' status lists are resolved inside the server"), then HTTP GET
//! through the hardened [`Fetcher`] (§8.1: `Accept: application/statuslist+jwt`;
//! redirects followed under the fetcher's policy, §8.2 and §11.4). Either way the token is
//! verified the same way ([`verify_status_list_token`]).
//!
//! Caching (§13.7, §11.5): a verified list is kept, decompressed, until
//! `min(exp, iat + ttl, fetched_at + max_cache)`, but at least `min_cache` (never past
//! `exp`), so a tiny or stale `ttl` cannot turn every check into a request. A cache hit is
//! one read-lock, one hash lookup, an `Arc` clone and an O(1) bit extraction: no inflating,
//! no allocation.
//!
//! W3C Bitstring Status Lists (W3C Bitstring Status List v1.0 §3.2) go the same way
//! ([`StatusListClient::bitstring_status`]): the local source first, then HTTP GET through
//! the same fetcher (`Accept: application/vc+jwt`) under the same size bound, the
//! `BitstringStatusListCredential` verified with the key the same resolver trusts for the
//! credential's issuer, its `encodedList` inflated within
//! [`ClientConfig::max_bitstring_entries`], and the verified list cached (§3.2: "Verifiers
//! SHOULD cache the retrieved status list") until
//! `min(validUntil, max(fetched_at + min_cache, min(fetched_at + ttl, fetched_at + max_cache)))`.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use vdc_core::fetch::{FetchOptions, Fetcher};
use vdc_core::jose::AlgorithmPolicy;
use vdc_core::jose::jws::MAX_JWS_LEN;
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::{Clock, DEFAULT_SKEW_SECS, UnixTime};

use serde_json::{Map, Value};
use vdc_core::jose::jws;

use crate::bitstring::{
    BitstringStatusListEntry, MIN_BITSTRING_ENTRIES, VerifiedBitstringStatusList,
    verify_bitstring_status_list_credential,
};
use crate::cwt::{STATUS_LIST_CWT_MEDIA_TYPE, verify_status_list_cwt};
use crate::error::{Error, Result};
use crate::status_list::StatusList;
use crate::token::{
    STATUS_LIST_JWT_MEDIA_TYPE, StatusReference, VerifiedStatusList, VerifyOptions,
    verify_status_list_token,
};

/// Status List Tokens available without HTTP: the lists this deployment publishes itself.
#[async_trait]
pub trait StatusListSource: Send + Sync + fmt::Debug {
    /// The current Status List Token (compact JWT) for `uri`, or `None` if `uri` is not
    /// one of this source's lists (the client then fetches it over HTTP). A failure to
    /// read a list this source owns should be an [`Error::Retrieval`].
    async fn token(&self, uri: &str) -> Result<Option<String>>;

    /// The current Status List Token in CWT format (draft-ietf-oauth-status-list §5.2) for
    /// `uri`, or `None` if this source has no such list (the default: the client then
    /// fetches it over HTTP).
    async fn cwt(&self, uri: &str) -> Result<Option<Vec<u8>>> {
        let _ = uri;
        Ok(None)
    }

    /// The current W3C `BitstringStatusListCredential` (a compact `vc+jwt`) published at
    /// `uri`, or `None` if this source has no such list (the default: the client then
    /// fetches it over HTTP).
    async fn bitstring(&self, uri: &str) -> Result<Option<String>> {
        let _ = uri;
        Ok(None)
    }
}

/// The media type a `BitstringStatusListCredential` secured as a JWT is asked for with:
/// Spec: VC-JOSE-COSE §6.1.1 (`application/vc+jwt`), as this deployment serves its own.
pub const VC_JWT_MEDIA_TYPE: &str = "application/vc+jwt";

/// Most entries a W3C bitstring status list may inflate to by default: 16 times the
/// herd-privacy minimum (2,097,152 one-bit entries, 256 KiB), far above what an issuer
/// needs and small enough that a decompression bomb costs little.
pub const MAX_BITSTRING_ENTRIES: usize = 16 * MIN_BITSTRING_ENTRIES;

/// Bounds and policy of a [`StatusListClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Algorithms accepted for Status List Tokens (G4).
    pub policy: AlgorithmPolicy,
    /// Allowed clock skew for `iat`/`exp`/`nbf`, seconds (R4).
    pub skew: i64,
    /// Largest Status List Token or W3C status list credential accepted, bytes (also
    /// bounded by the fetcher's policy).
    pub max_token_bytes: usize,
    /// Largest decompressed list accepted, bytes (decompression-bomb guard).
    pub max_list_bytes: usize,
    /// Most entries a W3C bitstring status list may inflate to (decompression-bomb guard
    /// for `encodedList`); the list must still have at least [`MIN_BITSTRING_ENTRIES`].
    pub max_bitstring_entries: usize,
    /// Longest a list is cached, seconds, whatever `ttl` and `exp` say (§11.5).
    pub max_cache_secs: i64,
    /// Shortest a list is cached, seconds, unless `exp` comes first (§11.5: a lower bound
    /// keeps a tiny `ttl` from turning every check into a request).
    pub min_cache_secs: i64,
    /// Most lists cached at once; the one expiring first is evicted beyond that.
    pub max_cache_entries: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            policy: AlgorithmPolicy::default(),
            skew: DEFAULT_SKEW_SECS,
            max_token_bytes: MAX_JWS_LEN,
            max_list_bytes: 4 * 1024 * 1024,
            max_bitstring_entries: MAX_BITSTRING_ENTRIES,
            max_cache_secs: 3600,
            min_cache_secs: 10,
            max_cache_entries: 256,
        }
    }
}

/// A verified list in the cache: a Token Status List ([`StatusList`]) or a W3C bitstring
/// list ([`VerifiedBitstringStatusList`]).
struct Cached<T> {
    list: Arc<T>,
    /// The issuer whose key verified the list.
    issuer: String,
    valid_until: UnixTime,
}

/// Verified lists by URL.
type Cache<T> = RwLock<HashMap<String, Cached<T>>>;

/// Resolves and caches Status List Tokens for a relying party (or holder).
pub struct StatusListClient {
    fetcher: Fetcher,
    resolver: Arc<dyn IssuerKeyResolver>,
    clock: Arc<dyn Clock>,
    local: Option<Arc<dyn StatusListSource>>,
    config: ClientConfig,
    cache: Cache<StatusList>,
    bitstrings: Cache<VerifiedBitstringStatusList>,
}

impl fmt::Debug for StatusListClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusListClient")
            .field("fetcher", &self.fetcher)
            .field("local", &self.local)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl StatusListClient {
    /// A client fetching with `fetcher`, trusting keys from `resolver`, timed by `clock`,
    /// with the default [`ClientConfig`] and no local source.
    pub fn new(
        fetcher: Fetcher,
        resolver: Arc<dyn IssuerKeyResolver>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            fetcher,
            resolver,
            clock,
            local: None,
            config: ClientConfig::default(),
            cache: RwLock::new(HashMap::new()),
            bitstrings: RwLock::new(HashMap::new()),
        }
    }

    /// Consults `source` before HTTP.
    pub fn with_local_source(mut self, source: Arc<dyn StatusListSource>) -> Self {
        self.local = Some(source);
        self
    }

    /// Replaces the configuration.
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The status of a Referenced Token (§8.3 steps 2-7): the value at `reference.idx`
    /// in the verified list at `reference.uri`. `expected_issuer` is the Referenced
    /// Token's issuer, whose key must have signed the list (see
    /// [`VerifyOptions::expected_issuer`]).
    ///
    /// Errors: [`Error::Retrieval`] when the list cannot be had (unreachable, refused,
    /// HTTP error), [`Error::Verification`] when it does not verify,
    /// [`Error::IndexOutOfRange`] when the index is past its end (the token MUST then be
    /// rejected), [`Error::Malformed`]/[`Error::TooLarge`] for broken or oversized data.
    pub async fn status(
        &self,
        reference: &StatusReference,
        expected_issuer: Option<&str>,
    ) -> Result<u8> {
        let now = self.clock.now();
        // Hot path: read the bit under the read lock, no Arc clone, no allocation.
        let cached = self.with_cached(&reference.uri, expected_issuer, now, |list| {
            read_index(list, reference.idx)
        });
        if let Some(result) = cached {
            return result;
        }
        let list = self.refresh(&reference.uri, expected_issuer, now).await?;
        read_index(&list, reference.idx)
    }

    /// Like [`Self::status`], for a COSE-based Referenced Token (an mdoc MSO's `status`,
    /// draft-ietf-oauth-status-list §6.3): the list is resolved in CWT format (§5.2; HTTP
    /// with `Accept: application/statuslist+cwt`, under the same fetcher policy and bounds)
    /// and verified by [`verify_status_list_cwt`] with the same key resolver. A fresh cached
    /// list at the same URI, whichever form verified it, is the same list and is reused.
    pub async fn status_cwt(
        &self,
        reference: &StatusReference,
        expected_issuer: Option<&str>,
    ) -> Result<u8> {
        let now = self.clock.now();
        let cached = self.with_cached(&reference.uri, expected_issuer, now, |list| {
            read_index(list, reference.idx)
        });
        if let Some(result) = cached {
            return result;
        }
        let bytes = self.resolve_cwt(&reference.uri).await?;
        let verified = verify_status_list_cwt(
            &bytes,
            self.resolver.as_ref(),
            &self.verify_options(&reference.uri, expected_issuer, now),
        )
        .await?;
        let list = self.keep(&reference.uri, verified, now);
        read_index(&list, reference.idx)
    }

    fn verify_options<'a>(
        &'a self,
        uri: &'a str,
        expected_issuer: Option<&'a str>,
        now: UnixTime,
    ) -> VerifyOptions<'a> {
        VerifyOptions {
            uri,
            expected_issuer,
            now,
            skew: self.config.skew,
            policy: &self.config.policy,
            max_list_bytes: self.config.max_list_bytes,
        }
    }

    /// Caches a verified list (when it may be kept at all) and returns it.
    fn keep(&self, uri: &str, verified: VerifiedStatusList, now: UnixTime) -> Arc<StatusList> {
        let valid_until = self.cache_until(&verified, now);
        let list = Arc::new(verified.list);
        if valid_until > now {
            self.store(uri, verified.issuer, Arc::clone(&list), valid_until, now);
        }
        list
    }

    /// The verified, decompressed list at `uri`: from the cache while it is fresh,
    /// otherwise resolved, verified and cached. Hold the `Arc` to read many indexes from
    /// one snapshot.
    pub async fn list(&self, uri: &str, expected_issuer: Option<&str>) -> Result<Arc<StatusList>> {
        let now = self.clock.now();
        match self.with_cached(uri, expected_issuer, now, Arc::clone) {
            Some(list) => Ok(list),
            None => self.refresh(uri, expected_issuer, now).await,
        }
    }

    /// Resolves, verifies and caches the list at `uri`.
    async fn refresh(
        &self,
        uri: &str,
        expected_issuer: Option<&str>,
        now: UnixTime,
    ) -> Result<Arc<StatusList>> {
        let token = self.resolve_token(uri).await?;
        let verified = verify_status_list_token(
            &token,
            self.resolver.as_ref(),
            &self.verify_options(uri, expected_issuer, now),
        )
        .await?;
        Ok(self.keep(uri, verified, now))
    }

    /// The cached list for `uri` if one is fresh, without any I/O.
    pub fn cached(&self, uri: &str) -> Option<Arc<StatusList>> {
        self.with_cached(uri, None, self.clock.now(), Arc::clone)
    }

    /// The cached W3C bitstring list for `uri` if one is fresh, without any I/O.
    pub fn cached_bitstring(&self, uri: &str) -> Option<Arc<VerifiedBitstringStatusList>> {
        read_cache(&self.bitstrings, uri, None, self.clock.now(), Arc::clone)
    }

    /// Drops the cached lists for `uri`, of either kind (e.g. after a local revocation).
    pub fn invalidate(&self, uri: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(uri);
        }
        if let Ok(mut cache) = self.bitstrings.write() {
            cache.remove(uri);
        }
    }

    /// Applies `f` to the fresh cached list for `uri` (verified for `expected_issuer`, if
    /// given) while holding the read lock.
    fn with_cached<T>(
        &self,
        uri: &str,
        expected_issuer: Option<&str>,
        now: UnixTime,
        f: impl FnOnce(&Arc<StatusList>) -> T,
    ) -> Option<T> {
        read_cache(&self.cache, uri, expected_issuer, now, f)
    }

    /// `min(exp, max(fetched + min_cache, min(iat + ttl, fetched + max_cache)))`.
    fn cache_until(&self, v: &VerifiedStatusList, fetched: UnixTime) -> UnixTime {
        let mut until = fetched.plus(self.config.max_cache_secs);
        if let Some(ttl) = v.ttl {
            until = until.min(v.iat.plus(ttl));
        }
        until = until.max(fetched.plus(self.config.min_cache_secs));
        if let Some(exp) = v.exp {
            until = until.min(exp);
        }
        until
    }

    fn store(
        &self,
        uri: &str,
        issuer: String,
        list: Arc<StatusList>,
        valid_until: UnixTime,
        now: UnixTime,
    ) {
        let entry = Cached {
            list,
            issuer,
            valid_until,
        };
        store_in(&self.cache, self.config.max_cache_entries, uri, entry, now);
    }

    /// The status bit a W3C `credentialStatus` entry (a `BitstringStatusListEntry`) points
    /// at, for a credential issued by `expected_issuer` (W3C Bitstring Status List v1.0
    /// §3.2): the verified list at `entry.statusListCredential` (cached while fresh),
    /// checked against the entry ([`VerifiedBitstringStatusList::status`]: purpose, list
    /// `id`, index in range). `0` means the entry's purpose does not apply.
    ///
    /// Errors, as the §3.5 processing errors: [`Error::Retrieval`] (STATUS_RETRIEVAL_ERROR:
    /// unreachable, refused by the outbound policy, HTTP error), [`Error::Verification`]
    /// (STATUS_VERIFICATION_ERROR: signature, untrusted key, another issuer, another
    /// purpose, outside `validFrom`/`validUntil`), [`Error::ListTooShort`],
    /// [`Error::IndexOutOfRange`], [`Error::Malformed`]/[`Error::TooLarge`]
    /// (MALFORMED_VALUE_ERROR: not a `vc+jwt`, `encodedList` not multibase base64url of a
    /// GZIP stream, the body over [`ClientConfig::max_token_bytes`], the bitstring over
    /// [`ClientConfig::max_bitstring_entries`]).
    pub async fn bitstring_status(
        &self,
        entry: &BitstringStatusListEntry,
        expected_issuer: &str,
    ) -> Result<u8> {
        let uri = entry.status_list_credential.as_str();
        let now = self.clock.now();
        let cached = read_cache(&self.bitstrings, uri, Some(expected_issuer), now, |list| {
            list.status(entry)
        });
        if let Some(result) = cached {
            return result;
        }
        let list = self.refresh_bitstring(uri, expected_issuer, now).await?;
        list.status(entry)
    }

    /// Resolves, verifies and caches the `BitstringStatusListCredential` at `uri`.
    async fn refresh_bitstring(
        &self,
        uri: &str,
        expected_issuer: &str,
        now: UnixTime,
    ) -> Result<Arc<VerifiedBitstringStatusList>> {
        let token = self.resolve_bitstring(uri).await?;
        let verified = self.verify_bitstring(&token, expected_issuer, now).await?;
        let valid_until = self.bitstring_cache_until(&verified, now);
        let list = Arc::new(verified);
        if valid_until > now {
            let entry = Cached {
                list: Arc::clone(&list),
                issuer: expected_issuer.to_owned(),
                valid_until,
            };
            store_in(
                &self.bitstrings,
                self.config.max_cache_entries,
                uri,
                entry,
                now,
            );
        }
        Ok(list)
    }

    /// Verifies a `BitstringStatusListCredential` for a credential of `expected_issuer`.
    ///
    /// Spec: W3C Bitstring Status List v1.0 §3.2 ("ensure that all proofs verify") and its
    /// note "Issuer validation is use case dependent": the list's key is the one the
    /// client's resolver trusts for `expected_issuer` (the same decision as for the
    /// credential and for Token Status Lists: pinned keys, this deployment's keys, issuer
    /// metadata, an `x5c` chain only to a configured anchor; never a key merely carried in
    /// the header, G3/G5), and vdc requires the list's `issuer` to be the credential's.
    async fn verify_bitstring(
        &self,
        token: &str,
        expected_issuer: &str,
        now: UnixTime,
    ) -> Result<VerifiedBitstringStatusList> {
        let decoded = jws::decode(token).map_err(|e| match e {
            vdc_core::Error::TooLarge(m) => Error::TooLarge(m),
            other => Error::Malformed(other.to_string()),
        })?;
        // The resolver sees the header and the claims with `iss` set to the issuer whose
        // key is required; the (large) credentialSubject is left out, no resolver needs it.
        let mut claims: Map<String, Value> = decoded
            .payload
            .iter()
            .filter(|(k, _)| k.as_str() != "credentialSubject")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        claims.insert("iss".into(), expected_issuer.into());
        let resolved = self
            .resolver
            .resolve(&decoded.header, &claims)
            .await
            .map_err(Error::Verification)?;
        if resolved.issuer != expected_issuer {
            return Err(Error::claim("the resolved key belongs to another issuer"));
        }
        let verified = verify_bitstring_status_list_credential(
            token,
            &resolved.key,
            &self.config.policy,
            now,
            self.config.skew,
            self.config.max_bitstring_entries,
        )?;
        // vdc's policy: the list speaks for the credential's issuer only (§2.2 allows the
        // two issuers to differ; this verifier does not trust a third party's list).
        if verified.issuer != expected_issuer {
            return Err(Error::claim("the status list has another issuer"));
        }
        Ok(verified)
    }

    /// `min(validUntil, max(fetched + min_cache, min(fetched + ttl, fetched + max_cache)))`.
    /// Spec: §2.2 `ttl`: "the \"time to live\" in milliseconds before a refresh SHOULD be
    /// attempted. If not present, no default value is assumed. The value does not override
    /// or replace the validity period"; it counts from retrieval, as the HTTP caching it is
    /// to be aligned with does.
    fn bitstring_cache_until(
        &self,
        v: &VerifiedBitstringStatusList,
        fetched: UnixTime,
    ) -> UnixTime {
        let mut until = fetched.plus(self.config.max_cache_secs);
        if let Some(ttl_ms) = v.ttl_ms {
            let secs = i64::try_from(ttl_ms / 1000).unwrap_or(i64::MAX);
            until = until.min(fetched.plus(secs));
        }
        until = until.max(fetched.plus(self.config.min_cache_secs));
        if let Some(valid_until) = v.valid_until {
            until = until.min(valid_until);
        }
        until
    }

    /// The `BitstringStatusListCredential` at `uri`: the local source, else HTTP.
    async fn resolve_bitstring(&self, uri: &str) -> Result<String> {
        if let Some(local) = &self.local
            && let Some(token) = local.bitstring(uri).await?
        {
            return Ok(token);
        }
        // Spec: §3.2 "Dereference the statusListCredential URL"; VC-JOSE-COSE §6.1.1: the
        // vc+jwt form is asked for.
        let bytes = self.fetch(uri, VC_JWT_MEDIA_TYPE).await?;
        compact_text(bytes, "status list credential")
    }

    async fn resolve_token(&self, uri: &str) -> Result<String> {
        if let Some(local) = &self.local
            && let Some(token) = local.token(uri).await?
        {
            return Ok(token);
        }
        // Spec: §8.1: GET the uri with content negotiation for the JWT form.
        let bytes = self.fetch(uri, STATUS_LIST_JWT_MEDIA_TYPE).await?;
        compact_text(bytes, "status list token")
    }

    /// The CWT form of the list at `uri`: the local source, else HTTP.
    async fn resolve_cwt(&self, uri: &str) -> Result<Vec<u8>> {
        if let Some(local) = &self.local
            && let Some(cwt) = local.cwt(uri).await?
        {
            return Ok(cwt);
        }
        // Spec: §8.1: "application/statuslist+cwt" for the CWT form; the body is the
        // binary encoding (§8.2), nothing is trimmed.
        self.fetch(uri, STATUS_LIST_CWT_MEDIA_TYPE).await
    }

    /// GET `uri` through the hardened fetcher (G7 destination policy, redirects, time and
    /// size limits) asking for `accept`, bounded by `max_token_bytes`.
    async fn fetch(&self, uri: &str, accept: &'static str) -> Result<Vec<u8>> {
        let opts = FetchOptions {
            accept: Some(accept),
            follow_redirects: true,
        };
        let body = self.fetcher.get(uri, opts).await.map_err(|e| match e {
            vdc_core::Error::TooLarge(m) => Error::TooLarge(m),
            vdc_core::Error::Fetch(m) => Error::Retrieval(m),
            other => Error::Retrieval(other.to_string()),
        })?;
        if body.bytes.len() > self.config.max_token_bytes {
            return Err(Error::TooLarge(format!(
                "status list response over {} bytes",
                self.config.max_token_bytes
            )));
        }
        Ok(body.bytes)
    }
}

/// A fetched compact JWS as text. A compact JWS has no whitespace; a trailing newline from
/// a static file server is the only thing trimmed.
fn compact_text(bytes: Vec<u8>, what: &str) -> Result<String> {
    let text =
        String::from_utf8(bytes).map_err(|_| Error::malformed(format!("{what} is not UTF-8")))?;
    let trimmed = text.trim_ascii();
    if trimmed.len() == text.len() {
        Ok(text)
    } else {
        Ok(trimmed.to_owned())
    }
}

/// Applies `f` to the fresh cached list for `uri` (verified for `expected_issuer`, if
/// given) while holding the read lock.
fn read_cache<L, T>(
    cache: &Cache<L>,
    uri: &str,
    expected_issuer: Option<&str>,
    now: UnixTime,
    f: impl FnOnce(&Arc<L>) -> T,
) -> Option<T> {
    // A poisoned lock only means another thread panicked mid-update of a map whose
    // entries are replaced whole; treat it as a miss rather than propagate the panic.
    let cache = cache.read().ok()?;
    let entry = cache.get(uri)?;
    let issuer_ok = expected_issuer.is_none_or(|e| e == entry.issuer);
    (issuer_ok && now < entry.valid_until).then(|| f(&entry.list))
}

/// Caches `entry` under `uri`, keeping at most `max_entries` lists: expired ones are
/// dropped first, then the one expiring soonest.
fn store_in<L>(cache: &Cache<L>, max_entries: usize, uri: &str, entry: Cached<L>, now: UnixTime) {
    let Ok(mut cache) = cache.write() else {
        return;
    };
    if !cache.contains_key(uri) && cache.len() >= max_entries {
        cache.retain(|_, e| e.valid_until > now);
        if cache.len() >= max_entries {
            let soonest = cache
                .iter()
                .min_by_key(|(_, e)| e.valid_until)
                .map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                cache.remove(&k);
            }
        }
    }
    if max_entries > 0 {
        cache.insert(uri.to_owned(), entry);
    }
}

/// The status at a Referenced Token's `idx` (§8.3 step 6: out of range MUST be rejected).
#[inline]
fn read_index(list: &StatusList, idx: u64) -> Result<u8> {
    match usize::try_from(idx) {
        Ok(i) => list.get(i),
        Err(_) => Err(Error::IndexOutOfRange {
            idx,
            len: u64::try_from(list.len()).unwrap_or(u64::MAX),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vdc_core::fetch::FetchPolicy;
    use vdc_core::jose::{Algorithm, JwkSet, LocalSigner, Signer, SigningKey};
    use vdc_core::rng::SeededRandom;
    use vdc_core::sd_jwt_vc::IssuerTrustPolicy;
    use vdc_core::time::FixedClock;

    use crate::token::sign_status_list_token;

    const ISS: &str = "https://issuer.example";
    const URI: &str = "https://issuer.example/statuslists/7";
    const NOW: i64 = 1_700_000_000;

    #[derive(Debug)]
    struct Local(String, std::sync::atomic::AtomicUsize);

    #[async_trait]
    impl StatusListSource for Local {
        async fn token(&self, uri: &str) -> Result<Option<String>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok((uri == URI).then(|| self.0.clone()))
        }
    }

    #[tokio::test]
    async fn local_source_is_used_before_http_and_cached() {
        let signer = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(3)).unwrap(),
        );
        let mut list = StatusList::new(1024, 2).unwrap();
        list.set(9, 2).unwrap();
        let token = sign_status_list_token(
            &list,
            URI,
            ISS,
            UnixTime(NOW),
            UnixTime(NOW + 600),
            60,
            6,
            None,
            &signer,
        )
        .await
        .unwrap();
        let trust = IssuerTrustPolicy::new(vec![ISS.into()]).pin(
            ISS,
            JwkSet {
                keys: vec![signer.public_jwk().clone()],
            },
        );
        let local = Arc::new(Local(token, Default::default()));
        let clock = FixedClock::at(NOW);
        // A fetcher with an empty allow-list: any HTTP attempt to a test host would fail.
        let client = StatusListClient::new(
            Fetcher::new(FetchPolicy::default()).unwrap(),
            Arc::new(trust),
            Arc::new(clock.clone()),
        )
        .with_local_source(local.clone());
        let r = StatusReference::new(9, URI).unwrap();
        assert_eq!(client.status(&r, Some(ISS)).await.unwrap(), 2);
        assert_eq!(
            client
                .status(&StatusReference::new(8, URI).unwrap(), Some(ISS))
                .await
                .unwrap(),
            0
        );
        assert_eq!(local.1.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(client.cached(URI).is_some());
        // Cached under ISS; a caller expecting another issuer does not get it from cache
        // (and then fails verification, the list is not that issuer's).
        let err = client
            .status(&r, Some("https://other.example"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Verification);
        // Not a local list: goes to HTTP, which refuses the unlisted origin.
        let other = StatusReference::new(0, "https://127.0.0.1/lists/1").unwrap();
        assert_eq!(
            client.status(&other, Some(ISS)).await.unwrap_err().kind(),
            crate::ErrorKind::Retrieval
        );
        client.invalidate(URI);
        assert!(client.cached(URI).is_none());
    }

    /// A source serving only the CWT form (as [`StatusService`](crate::StatusService) does
    /// for this deployment's lists, beside the JWT form).
    #[derive(Debug)]
    struct LocalCwt(Vec<u8>, std::sync::atomic::AtomicUsize);

    #[async_trait]
    impl StatusListSource for LocalCwt {
        async fn token(&self, _uri: &str) -> Result<Option<String>> {
            Ok(None)
        }

        async fn cwt(&self, uri: &str) -> Result<Option<Vec<u8>>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok((uri == URI).then(|| self.0.clone()))
        }
    }

    /// draft-ietf-oauth-status-list §6.3, §8.3: an mdoc's status reference is resolved
    /// from the local source in CWT form, verified with the issuer's trusted key, cached;
    /// a foreign one goes through the fetcher's policy (refused here).
    #[tokio::test]
    async fn status_cwt_reads_the_local_cwt_and_caches_it() {
        let signer = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(4)).unwrap(),
        );
        let mut list = StatusList::new(1024, 2).unwrap();
        list.set(5, 1).unwrap();
        let cwt = crate::cwt::sign_status_list_cwt(
            &list,
            URI,
            ISS,
            UnixTime(NOW),
            UnixTime(NOW + 600),
            60,
            6,
            None,
            &signer,
        )
        .await
        .unwrap();
        let trust = IssuerTrustPolicy::new(vec![ISS.into()]).pin(
            ISS,
            JwkSet {
                keys: vec![signer.public_jwk().clone()],
            },
        );
        let local = Arc::new(LocalCwt(cwt, Default::default()));
        let client = StatusListClient::new(
            Fetcher::new(FetchPolicy::default()).unwrap(),
            Arc::new(trust),
            Arc::new(FixedClock::at(NOW)),
        )
        .with_local_source(local.clone());
        let at = |idx| StatusReference::new(idx, URI).unwrap();
        assert_eq!(client.status_cwt(&at(5), Some(ISS)).await.unwrap(), 1);
        assert_eq!(client.status_cwt(&at(6), Some(ISS)).await.unwrap(), 0);
        assert_eq!(local.1.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(matches!(
            client.status_cwt(&at(4096), Some(ISS)).await,
            Err(Error::IndexOutOfRange { .. })
        ));
        client.invalidate(URI);
        let err = client
            .status_cwt(&at(5), Some("https://other.example"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Verification);
        let foreign = StatusReference::new(0, "https://127.0.0.1/lists/1").unwrap();
        assert_eq!(
            client
                .status_cwt(&foreign, Some(ISS))
                .await
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Retrieval
        );
    }

    const BITS_URI: &str = "https://issuer.example/statuslists/7/bitstring/revocation";

    /// A source serving W3C bitstring status list credentials by URI, counting reads.
    #[derive(Debug, Default)]
    struct LocalBits(
        std::sync::Mutex<HashMap<String, String>>,
        std::sync::atomic::AtomicUsize,
    );

    impl LocalBits {
        fn publish(&self, uri: &str, token: String) {
            self.0.lock().unwrap().insert(uri.to_owned(), token);
        }

        fn reads(&self) -> usize {
            self.1.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl StatusListSource for LocalBits {
        async fn token(&self, _uri: &str) -> Result<Option<String>> {
            Ok(None)
        }

        async fn bitstring(&self, uri: &str) -> Result<Option<String>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(self.0.lock().unwrap().get(uri).cloned())
        }
    }

    fn bits_signer(seed: u64) -> LocalSigner {
        LocalSigner::new(SigningKey::generate(Algorithm::Es256, &SeededRandom::new(seed)).unwrap())
    }

    fn bits_credential(issuer: &str, ttl_ms: Option<u64>) -> crate::BitstringStatusListCredential {
        crate::BitstringStatusListCredential {
            id: BITS_URI.into(),
            issuer: issuer.into(),
            valid_from: UnixTime(NOW - 60),
            valid_until: Some(UnixTime(NOW + 600)),
            subject_id: None,
            status_purpose: crate::StatusPurpose::Revocation,
            ttl_ms,
        }
    }

    /// A client over `source` trusting only `key` for [`ISS`], with a fetcher that refuses
    /// every test host (G7 default policy).
    fn bits_client(
        key: &LocalSigner,
        source: Arc<LocalBits>,
        clock: &FixedClock,
    ) -> StatusListClient {
        let trust = IssuerTrustPolicy::new(vec![ISS.into()]).pin(
            ISS,
            JwkSet {
                keys: vec![key.public_jwk().clone()],
            },
        );
        StatusListClient::new(
            Fetcher::new(FetchPolicy::default()).unwrap(),
            Arc::new(trust),
            Arc::new(clock.clone()),
        )
        .with_local_source(source)
    }

    fn revocation(idx: u64) -> crate::BitstringStatusListEntry {
        crate::BitstringStatusListEntry::new(crate::StatusPurpose::Revocation, idx, BITS_URI)
    }

    /// W3C Bitstring Status List v1.0 §3.2: the list is verified with the key trusted for
    /// the credential's issuer, read at the entry's index, cached for `ttl` (never past
    /// `validUntil`), and bound to that issuer in the cache too.
    #[tokio::test]
    async fn bitstring_lists_are_verified_for_the_issuer_and_cached_per_ttl() {
        let signer = bits_signer(21);
        let mut list = crate::BitstringStatusList::new(crate::MIN_BITSTRING_ENTRIES, 1).unwrap();
        list.set(42, 1).unwrap();
        let source = Arc::new(LocalBits::default());
        source.publish(
            BITS_URI,
            bits_credential(ISS, Some(120_000))
                .sign(&list, 9, &signer)
                .await
                .unwrap(),
        );
        let clock = FixedClock::at(NOW);
        let client = bits_client(&signer, source.clone(), &clock);
        assert_eq!(
            client.bitstring_status(&revocation(42), ISS).await.unwrap(),
            1
        );
        assert_eq!(
            client.bitstring_status(&revocation(41), ISS).await.unwrap(),
            0
        );
        assert_eq!(source.reads(), 1, "the second read is a cache hit");
        assert!(client.cached_bitstring(BITS_URI).is_some());
        // Out of range (RANGE_ERROR), another purpose (STATUS_VERIFICATION_ERROR), both
        // answered from the cached list.
        let far = revocation(crate::MIN_BITSTRING_ENTRIES as u64);
        assert_eq!(
            client.bitstring_status(&far, ISS).await.unwrap_err().kind(),
            crate::ErrorKind::OutOfRange
        );
        let suspension =
            crate::BitstringStatusListEntry::new(crate::StatusPurpose::Suspension, 42, BITS_URI);
        assert_eq!(
            client
                .bitstring_status(&suspension, ISS)
                .await
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Verification
        );
        assert_eq!(source.reads(), 1);
        // Another expected issuer does not get the cached list; its key is not trusted.
        let err = client
            .bitstring_status(&revocation(42), "https://other.example")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Verification, "{err}");
        // ttl (120 s) passed: read again; the new list has index 42 valid again.
        let fresh = crate::BitstringStatusList::new(crate::MIN_BITSTRING_ENTRIES, 1).unwrap();
        source.publish(
            BITS_URI,
            bits_credential(ISS, Some(120_000))
                .sign(&fresh, 9, &signer)
                .await
                .unwrap(),
        );
        clock.advance(119);
        assert_eq!(
            client.bitstring_status(&revocation(42), ISS).await.unwrap(),
            1
        );
        clock.advance(2);
        assert_eq!(
            client.bitstring_status(&revocation(42), ISS).await.unwrap(),
            0
        );
        let reads = source.reads();
        // Past validUntil: the cache ends there and the list itself no longer verifies.
        clock.set(NOW + 600 + DEFAULT_SKEW_SECS + 1);
        assert!(client.cached_bitstring(BITS_URI).is_none());
        let err = client
            .bitstring_status(&revocation(42), ISS)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Verification, "{err}");
        assert_eq!(source.reads(), reads + 1);
        client.invalidate(BITS_URI);
        // A list not from the source goes to HTTP, which the default policy refuses (G7).
        let foreign = crate::BitstringStatusListEntry::new(
            crate::StatusPurpose::Revocation,
            0,
            "http://127.0.0.1:9/lists/1",
        );
        let err = client.bitstring_status(&foreign, ISS).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Retrieval, "{err}");
    }

    /// G3/G5 and §3.2: a list signed by another key, or naming another issuer, or whose
    /// `encodedList` is not GZIP or inflates past the bound, establishes nothing.
    #[tokio::test]
    async fn bitstring_lists_with_bad_keys_issuers_or_encodings_are_refused() {
        let signer = bits_signer(22);
        let stranger = bits_signer(23);
        let list = crate::BitstringStatusList::new(crate::MIN_BITSTRING_ENTRIES, 1).unwrap();
        let source = Arc::new(LocalBits::default());
        let clock = FixedClock::at(NOW);
        let client = bits_client(&signer, source.clone(), &clock);
        let first = revocation(0);
        let check = |token: String| {
            source.publish(BITS_URI, token);
            client.invalidate(BITS_URI);
            client.bitstring_status(&first, ISS)
        };
        // Signed by a key not trusted for the issuer.
        let err = check(
            bits_credential(ISS, None)
                .sign(&list, 9, &stranger)
                .await
                .unwrap(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, Error::Verification(vdc_core::Error::UntrustedKey(_))),
            "{err}"
        );
        // Signed by the trusted key, but the list names another issuer.
        let err = check(
            bits_credential("https://other.example", None)
                .sign(&list, 9, &signer)
                .await
                .unwrap(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Verification, "{err}");
        // encodedList is ZLIB, not GZIP (§2.2: "GZIP-compressed [RFC1952]").
        let mut vc = bits_credential(ISS, None).to_credential(&list, 9).unwrap();
        vc["credentialSubject"]["encodedList"] = Value::String(format!(
            "u{}",
            vdc_core::base64url::encode(crate::compress::zlib(list.bytes(), 9).unwrap())
        ));
        let zlib = vdc_core::vc_jose::issue_vc_jwt(&vc, &signer).await.unwrap();
        let err = check(zlib).await.unwrap_err();
        assert!(matches!(err, Error::Malformed(_)), "{err}");
        assert!(err.to_string().contains("GZIP"), "{err}");
        // A bitstring over the entry bound (17 times the minimum, all zeros: a few hundred
        // bytes compressed) is refused before it is fully inflated.
        let big = crate::BitstringStatusList::new(17 * crate::MIN_BITSTRING_ENTRIES, 1).unwrap();
        let bomb = bits_credential(ISS, None)
            .sign(&big, 9, &signer)
            .await
            .unwrap();
        assert!(bomb.len() < 4096, "{}", bomb.len());
        let err = check(bomb).await.unwrap_err();
        assert!(matches!(err, Error::TooLarge(_)), "{err}");
        // Not a JWS at all.
        let err = check("not a jws".into()).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Malformed, "{err}");
        // And nothing of it was cached.
        assert!(client.cached_bitstring(BITS_URI).is_none());
    }
}
