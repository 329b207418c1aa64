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

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use vdc_core::fetch::{FetchOptions, Fetcher};
use vdc_core::jose::AlgorithmPolicy;
use vdc_core::jose::jws::MAX_JWS_LEN;
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::{Clock, DEFAULT_SKEW_SECS, UnixTime};

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
}

/// Bounds and policy of a [`StatusListClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Algorithms accepted for Status List Tokens (G4).
    pub policy: AlgorithmPolicy,
    /// Allowed clock skew for `iat`/`exp`/`nbf`, seconds (R4).
    pub skew: i64,
    /// Largest Status List Token accepted, bytes (also bounded by the fetcher's policy).
    pub max_token_bytes: usize,
    /// Largest decompressed list accepted, bytes (decompression-bomb guard).
    pub max_list_bytes: usize,
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
            max_cache_secs: 3600,
            min_cache_secs: 10,
            max_cache_entries: 256,
        }
    }
}

struct CachedList {
    list: Arc<StatusList>,
    /// The issuer whose key verified the list.
    issuer: String,
    valid_until: UnixTime,
}

/// Resolves and caches Status List Tokens for a relying party (or holder).
pub struct StatusListClient {
    fetcher: Fetcher,
    resolver: Arc<dyn IssuerKeyResolver>,
    clock: Arc<dyn Clock>,
    local: Option<Arc<dyn StatusListSource>>,
    config: ClientConfig,
    cache: RwLock<HashMap<String, CachedList>>,
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

    /// Drops the cached list for `uri` (e.g. after a local revocation).
    pub fn invalidate(&self, uri: &str) {
        if let Ok(mut cache) = self.cache.write() {
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
        // A poisoned lock only means another thread panicked mid-update of a map whose
        // entries are replaced whole; treat it as a miss rather than propagate the panic.
        let cache = self.cache.read().ok()?;
        let entry = cache.get(uri)?;
        let issuer_ok = expected_issuer.is_none_or(|e| e == entry.issuer);
        (issuer_ok && now < entry.valid_until).then(|| f(&entry.list))
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
        let Ok(mut cache) = self.cache.write() else {
            return;
        };
        if !cache.contains_key(uri) && cache.len() >= self.config.max_cache_entries {
            cache.retain(|_, e| e.valid_until > now);
            if cache.len() >= self.config.max_cache_entries {
                let soonest = cache
                    .iter()
                    .min_by_key(|(_, e)| e.valid_until)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    cache.remove(&k);
                }
            }
        }
        if self.config.max_cache_entries > 0 {
            cache.insert(
                uri.to_owned(),
                CachedList {
                    list,
                    issuer,
                    valid_until,
                },
            );
        }
    }

    async fn resolve_token(&self, uri: &str) -> Result<String> {
        if let Some(local) = &self.local
            && let Some(token) = local.token(uri).await?
        {
            return Ok(token);
        }
        // Spec: §8.1: GET the uri with content negotiation for the JWT form.
        let bytes = self.fetch(uri, STATUS_LIST_JWT_MEDIA_TYPE).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Error::malformed("status list token is not UTF-8"))?;
        // A compact JWS has no whitespace; a trailing newline from a static file server is
        // the only thing trimmed.
        let trimmed = text.trim_ascii();
        if trimmed.len() == text.len() {
            Ok(text)
        } else {
            Ok(trimmed.to_owned())
        }
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
                "status list token over {} bytes",
                self.config.max_token_bytes
            )));
        }
        Ok(body.bytes)
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
}
