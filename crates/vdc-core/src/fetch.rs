//! Hardened outbound HTTP fetches (invariant G7).
//!
//! Every fetch whose URL an attacker can influence (did:web documents, JWT VC issuer
//! metadata, `jwks_uri`, status lists, `request_uri`, ...) goes through a [`Fetcher`]:
//!
//! - HTTPS only. Plain `http` is allowed only for an origin listed in the operator's
//!   allow-list (`VDC_OUTBOUND_ALLOW`, parsed by [`FetchPolicy::from_allow_list`]).
//! - No internal destinations: loopback, private, link-local, CGNAT, unspecified,
//!   multicast, documentation and other special-purpose ranges ([`forbidden_range`]) are
//!   refused. IP-literal hosts are checked before connecting; host names are checked after
//!   DNS resolution by a resolver that hands the connector only permitted addresses, so
//!   the addresses checked are the addresses connected to (no DNS-rebinding window).
//!   Allow-listed origins are exempt. An allow-listed *host name* is reachable only at its
//!   listed origins, since its resolution is not filtered.
//! - Every redirect hop is re-checked (scheme, credentials, literal address, allow-list)
//!   and counted; a call can forbid redirects entirely ([`FetchOptions::follow_redirects`]).
//! - Bounded: total time ([`FetchPolicy::timeout`]) and body size
//!   ([`FetchPolicy::max_bytes`], enforced while reading, not only from `Content-Length`).
//! - No proxy from the environment, no cookies (reqwest is built without its `cookies`
//!   feature), no `Referer`, no transparent decompression.
//!
//! Errors name the origin and the reason, never the response body or the URL's query.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::json;

/// Default total time for one fetch, redirects and body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default largest response body accepted.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;
/// Default number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 3;
/// Longest URL accepted for a fetch.
pub const MAX_URL_LEN: usize = 8 * 1024;

/// Limits and exceptions for outbound fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Origins (`scheme://host[:port]`) exempt from the address checks; for an `http`
    /// origin this also permits plain HTTP. Normalised by [`Fetcher::new`].
    pub allow_origins: Vec<String>,
    /// Total time for one fetch, including redirects and reading the body.
    pub timeout: Duration,
    /// Largest response body accepted, in bytes.
    pub max_bytes: usize,
    /// Most redirects followed when a call allows redirects.
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_origins: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
            max_redirects: DEFAULT_MAX_REDIRECTS,
        }
    }
}

impl FetchPolicy {
    /// The default policy with the allow-list of `VDC_OUTBOUND_ALLOW`: comma-separated
    /// origins such as `http://127.0.0.1:9000,https://issuer.internal`. Blank entries are
    /// ignored; an entry with a path, query, fragment or credentials is an error.
    pub fn from_allow_list(list: &str) -> Result<Self> {
        let mut allow_origins = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            allow_origins.push(normalize_origin(entry)?.origin);
        }
        Ok(Self {
            allow_origins,
            ..Self::default()
        })
    }
}

/// Per-call options for [`Fetcher::get`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchOptions<'a> {
    /// The `Accept` header to send, if any.
    pub accept: Option<&'a str>,
    /// Whether redirects are followed (up to [`FetchPolicy::max_redirects`]). Set to
    /// `false` where the spec forbids following them: a 3xx answer is then an error.
    pub follow_redirects: bool,
}

impl Default for FetchOptions<'_> {
    fn default() -> Self {
        Self {
            accept: None,
            follow_redirects: true,
        }
    }
}

/// A successfully fetched response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBody {
    /// The body, at most [`FetchPolicy::max_bytes`] long.
    pub bytes: Vec<u8>,
    /// The `Content-Type` header, if present and printable ASCII.
    pub content_type: Option<String>,
    /// The URL the body came from, after redirects.
    pub final_url: String,
}

/// The hardened HTTP client. Cheap to clone (the clients and policy are shared).
#[derive(Clone)]
pub struct Fetcher {
    guard: Arc<Guard>,
    policy: Arc<FetchPolicy>,
    following: reqwest::Client,
    not_following: reqwest::Client,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// Builds a fetcher; fails if an allow-list entry is not a plain origin.
    pub fn new(mut policy: FetchPolicy) -> Result<Self> {
        let mut allowed = Vec::with_capacity(policy.allow_origins.len());
        for entry in &policy.allow_origins {
            allowed.push(normalize_origin(entry)?);
        }
        policy.allow_origins = allowed.iter().map(|a| a.origin.clone()).collect();
        let guard = Arc::new(Guard { allowed });
        let max_redirects = policy.max_redirects;
        let hop_guard = Arc::clone(&guard);
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            // `previous` holds the original URL plus every URL already redirected to, so
            // this attempt is redirect number `previous.len()`.
            if attempt.previous().len() > max_redirects {
                let refusal = Refusal(format!("more than {max_redirects} redirects"));
                return attempt.error(refusal);
            }
            match hop_guard.check(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refusal) => attempt.error(refusal),
            }
        });
        let following = build_client(&policy, &guard, redirects)?;
        let not_following = build_client(&policy, &guard, reqwest::redirect::Policy::none())?;
        Ok(Self {
            guard,
            policy: Arc::new(policy),
            following,
            not_following,
        })
    }

    /// The policy this fetcher enforces (allow-list normalised).
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Whether `origin` (`scheme://host[:port]`) is on the allow-list.
    pub fn is_allow_listed(&self, origin: &str) -> bool {
        normalize_origin(origin)
            .map(|o| self.guard.is_allowed_origin(&o.origin))
            .unwrap_or(false)
    }

    /// Checks `url` against the policy without fetching it: HTTP(S) only, no credentials,
    /// plain http and internal address literals only for allow-listed origins. Host names are
    /// checked after resolution by the clients' resolver.
    pub fn check_url(&self, url: &str) -> Result<()> {
        if url.len() > MAX_URL_LEN {
            return Err(Error::Fetch(format!("URL longer than {MAX_URL_LEN} bytes")));
        }
        let parsed = Url::parse(url).map_err(|_| Error::Fetch("invalid URL".into()))?;
        self.guard
            .check(&parsed)
            .map_err(|r| Error::Fetch(format!("refused: {}", r.0)))
    }

    /// A client for requests other than `GET` (webhook deliveries) under the same policy:
    /// the filtering resolver (internal addresses only for allow-listed origins), no
    /// redirects, no proxy, `timeout` for the whole request. Check each URL with
    /// [`Fetcher::check_url`] first.
    pub fn unredirected_client(&self, timeout: Duration) -> Result<reqwest::Client> {
        let policy = FetchPolicy {
            timeout,
            ..(*self.policy).clone()
        };
        build_client(&policy, &self.guard, reqwest::redirect::Policy::none())
    }

    /// Fetches `url` with `GET` under the policy. Non-2xx answers are errors carrying
    /// the status only.
    pub async fn get(&self, url: &str, opts: FetchOptions<'_>) -> Result<FetchedBody> {
        if url.len() > MAX_URL_LEN {
            return Err(Error::Fetch(format!("URL longer than {MAX_URL_LEN} bytes")));
        }
        let parsed = Url::parse(url).map_err(|_| Error::Fetch("invalid URL".into()))?;
        let origin = describe_origin(&parsed);
        self.guard
            .check(&parsed)
            .map_err(|r| Error::Fetch(format!("refused {origin}: {}", r.0)))?;
        let timeout = self.policy.timeout;
        match tokio::time::timeout(timeout, self.get_checked(parsed, &origin, opts)).await {
            Ok(result) => result,
            Err(_) => Err(timed_out(&origin, timeout)),
        }
    }

    /// Fetches `url` and parses the body as strict JSON ([`json::parse`]), sending
    /// `Accept: application/json` and following redirects under the policy.
    pub async fn get_json(&self, url: &str) -> Result<Value> {
        let opts = FetchOptions {
            accept: Some("application/json"),
            follow_redirects: true,
        };
        self.get_json_with(url, opts).await
    }

    /// Like [`Fetcher::get_json`] with explicit options.
    pub async fn get_json_with(&self, url: &str, opts: FetchOptions<'_>) -> Result<Value> {
        let body = self.get(url, opts).await?;
        json::parse(&body.bytes, self.policy.max_bytes)
    }

    async fn get_checked(
        &self,
        url: Url,
        origin: &str,
        opts: FetchOptions<'_>,
    ) -> Result<FetchedBody> {
        let client = if opts.follow_redirects {
            &self.following
        } else {
            &self.not_following
        };
        let mut request = client.get(url);
        if let Some(accept) = opts.accept {
            let value = HeaderValue::from_str(accept)
                .map_err(|_| Error::Fetch("invalid Accept header value".into()))?;
            request = request.header(ACCEPT, value);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| self.transport_error(&e, origin))?;
        let status = response.status();
        let final_origin = describe_origin(response.url());
        if status.is_redirection() {
            return Err(Error::Fetch(format!(
                "refused {final_origin}: answered with redirect {} and redirects are not followed here",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(Error::Fetch(format!(
                "{final_origin} answered with HTTP status {}",
                status.as_u16()
            )));
        }
        let max = self.policy.max_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > u64::try_from(max).unwrap_or(u64::MAX))
        {
            return Err(too_large(&final_origin, max));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let final_url = response.url().to_string();
        let capacity = response
            .content_length()
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0)
            .min(max);
        let mut bytes = Vec::with_capacity(capacity);
        // Read chunk by chunk and stop as soon as the bound is crossed: Content-Length
        // may be absent (chunked encoding) and is never trusted alone.
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(&e, &final_origin))?
        {
            if bytes.len().saturating_add(chunk.len()) > max {
                return Err(too_large(&final_origin, max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(FetchedBody {
            bytes,
            content_type,
            final_url,
        })
    }

    fn transport_error(&self, e: &reqwest::Error, origin: &str) -> Error {
        if let Some(refusal) = find_refusal(e) {
            return Error::Fetch(format!("refused {origin}: {}", refusal.0));
        }
        if e.is_timeout() {
            return timed_out(origin, self.policy.timeout);
        }
        if e.is_connect() {
            return Error::Fetch(format!("could not connect to {origin}"));
        }
        if e.is_body() || e.is_decode() {
            return Error::Fetch(format!("reading the response from {origin} failed"));
        }
        Error::Fetch(format!("request to {origin} failed"))
    }
}

fn build_client(
    policy: &FetchPolicy,
    guard: &Arc<Guard>,
    redirects: reqwest::redirect::Policy,
) -> Result<reqwest::Client> {
    let resolver = Arc::new(FilteringResolver {
        guard: Arc::clone(guard),
    });
    reqwest::Client::builder()
        .no_proxy()
        .referer(false)
        .redirect(redirects)
        .dns_resolver(resolver)
        .timeout(policy.timeout)
        .connect_timeout(policy.timeout)
        .user_agent(concat!("vdc/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|_| Error::Fetch("could not build the HTTP client".into()))
}

fn too_large(origin: &str, max: usize) -> Error {
    Error::TooLarge(format!("response body from {origin} exceeds {max} bytes"))
}

fn timed_out(origin: &str, timeout: Duration) -> Error {
    Error::Fetch(format!(
        "request to {origin} timed out after {} ms",
        timeout.as_millis()
    ))
}

/// A refusal raised inside reqwest (resolver, redirect policy) and found again in the
/// error's source chain.
#[derive(Debug)]
struct Refusal(String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

fn find_refusal(e: &reqwest::Error) -> Option<&Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    // The chain is short (reqwest -> hyper-util -> ours); the bound only guards
    // against a cyclic chain.
    for _ in 0..16 {
        let current = source?;
        if let Some(refusal) = current.downcast_ref::<Refusal>() {
            return Some(refusal);
        }
        source = current.source();
    }
    None
}

/// `scheme://host[:port]` for messages, bounded; never the path or query.
fn describe_origin(url: &Url) -> String {
    url.origin()
        .ascii_serialization()
        .chars()
        .take(120)
        .filter(|c| !c.is_control())
        .collect()
}

/// One allow-listed origin.
#[derive(Debug, Clone)]
struct AllowedOrigin {
    origin: String,
    /// The host, when it is a name (names resolve unfiltered, see [`FilteringResolver`]).
    host_name: Option<String>,
}

fn normalize_origin(entry: &str) -> Result<AllowedOrigin> {
    let bad = |why: &str| {
        Error::malformed(format!(
            "outbound allow-list entry {:?} {why}",
            entry.chars().take(80).collect::<String>()
        ))
    };
    let url = Url::parse(entry).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must be an origin without path, query or fragment"));
    }
    let host_name = match url.host() {
        Some(url::Host::Domain(d)) => Some(d.to_ascii_lowercase()),
        Some(_) => None,
        None => return Err(bad("has no host")),
    };
    Ok(AllowedOrigin {
        origin: url.origin().ascii_serialization(),
        host_name,
    })
}

/// The URL checks shared by the initial request, every redirect hop and the resolver.
#[derive(Debug)]
struct Guard {
    allowed: Vec<AllowedOrigin>,
}

impl Guard {
    fn is_allowed_origin(&self, origin: &str) -> bool {
        self.allowed.iter().any(|a| a.origin == origin)
    }

    fn is_allowed_host_name(&self, name: &str) -> bool {
        self.allowed
            .iter()
            .any(|a| a.host_name.as_deref() == Some(name))
    }

    fn check(&self, url: &Url) -> std::result::Result<(), Refusal> {
        let scheme = url.scheme();
        if !matches!(scheme, "https" | "http") {
            return Err(Refusal(format!(
                "scheme {:?} is not allowed (HTTPS only)",
                scheme.chars().take(16).collect::<String>()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refusal("URLs with credentials are not fetched".into()));
        }
        let allowed = self.is_allowed_origin(&url.origin().ascii_serialization());
        if scheme == "http" && !allowed {
            return Err(Refusal(
                "plain http is not allowed (HTTPS only; origin not allow-listed)".into(),
            ));
        }
        match url.host() {
            None => Err(Refusal("URL has no host".into())),
            Some(url::Host::Ipv4(ip)) => check_literal(IpAddr::V4(ip), allowed),
            Some(url::Host::Ipv6(ip)) => check_literal(IpAddr::V6(ip), allowed),
            Some(url::Host::Domain(name)) => {
                // The resolver does not filter an allow-listed host name (it may resolve
                // to an internal address on purpose), so such a name is reachable only
                // at the exact origins listed for it.
                if !allowed && self.is_allowed_host_name(&name.to_ascii_lowercase()) {
                    return Err(Refusal(
                        "host is allow-listed only for other origins (scheme or port differ)"
                            .into(),
                    ));
                }
                Ok(())
            }
        }
    }
}

fn check_literal(ip: IpAddr, allowed: bool) -> std::result::Result<(), Refusal> {
    match forbidden_range(ip) {
        Some(range) if !allowed => Err(Refusal(format!(
            "address is in a forbidden range ({range})"
        ))),
        _ => Ok(()),
    }
}

/// Resolves host names with the system resolver and drops every forbidden address, so
/// the connector only ever sees permitted ones. IP literals never reach a resolver; they
/// are checked by [`Guard::check`].
struct FilteringResolver {
    guard: Arc<Guard>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let unfiltered = self.guard.is_allowed_host_name(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|_| Refusal("host name did not resolve".into()))?
                .collect();
            let permitted: Vec<SocketAddr> = if unfiltered {
                addrs
            } else {
                addrs
                    .into_iter()
                    .filter(|a| forbidden_range(a.ip()).is_none())
                    .collect()
            };
            if permitted.is_empty() {
                return Err(Box::new(Refusal(
                    "host name resolves only to forbidden addresses".into(),
                ))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(permitted.into_iter());
            Ok(addrs)
        })
    }
}

/// Why `ip` must not be fetched from, or `None` for an ordinary public address.
///
/// Spec: RFC 6890 and the IANA IPv4/IPv6 Special-Purpose Address Registries; every range
/// there that is not globally reachable unicast is refused, plus documentation ranges.
/// IPv4-mapped and NAT64 (`64:ff9b::/96`) IPv6 addresses are judged by the IPv4 address
/// they carry.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let range = match (a, b, c) {
        (0, _, _) => "0.0.0.0/8 this network",
        (10, _, _) => "10.0.0.0/8 private",
        (100, 64..=127, _) => "100.64.0.0/10 shared address space (CGNAT)",
        (127, _, _) => "127.0.0.0/8 loopback",
        (169, 254, _) => "169.254.0.0/16 link-local",
        (172, 16..=31, _) => "172.16.0.0/12 private",
        (192, 0, 0) => "192.0.0.0/24 IETF protocol assignments",
        (192, 0, 2) => "192.0.2.0/24 documentation",
        (192, 88, 99) => "192.88.99.0/24 6to4 relay anycast",
        (192, 168, _) => "192.168.0.0/16 private",
        (198, 18..=19, _) => "198.18.0.0/15 benchmarking",
        (198, 51, 100) => "198.51.100.0/24 documentation",
        (203, 0, 113) => "203.0.113.0/24 documentation",
        (224..=239, _, _) => "224.0.0.0/4 multicast",
        (240..=255, _, _) => "240.0.0.0/4 reserved or broadcast",
        _ => return None,
    };
    Some(range)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4).map(|_| "IPv4-mapped address in a forbidden IPv4 range");
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d))
            .map(|_| "NAT64 address of a forbidden IPv4 range");
    }
    let range = if ip.is_unspecified() {
        ":: unspecified"
    } else if ip.is_loopback() {
        "::1 loopback"
    } else if s[..6] == [0; 6] {
        "::/96 IPv4-compatible (deprecated)"
    } else if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
        "64:ff9b:1::/48 local-use NAT64"
    } else if s[..4] == [0x100, 0, 0, 0] {
        "100::/64 discard-only"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "2001:db8::/32 documentation"
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        "2001::/23 IETF protocol assignments (incl. Teredo)"
    } else if s[0] == 0x2002 {
        "2002::/16 6to4"
    } else if s[0] & 0xfff0 == 0x3ff0 {
        "3fff::/20 documentation"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "fc00::/7 unique local"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "fe80::/10 link-local"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "fec0::/10 site-local (deprecated)"
    } else if s[0] & 0xff00 == 0xff00 {
        "ff00::/8 multicast"
    } else {
        return None;
    };
    Some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_url_refuses_what_a_fetch_would_refuse() {
        let f =
            Fetcher::new(FetchPolicy::from_allow_list("http://127.0.0.1:9000").unwrap()).unwrap();
        assert!(f.check_url("https://hooks.example/x").is_ok());
        assert!(
            f.check_url("http://127.0.0.1:9000/x").is_ok(),
            "allow-listed"
        );
        for bad in [
            "http://hooks.example/x",
            "https://127.0.0.1/x",
            "https://127.0.0.1:9000/x",
            "https://[::1]/x",
            "https://192.168.1.1/x",
            "ftp://hooks.example/x",
            "https://u:p@hooks.example/x",
            "not a url",
        ] {
            assert!(f.check_url(bad).is_err(), "{bad}");
        }
        assert!(f.unredirected_client(Duration::from_secs(1)).is_ok());
    }

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    #[test]
    fn ipv4_special_purpose_ranges_are_forbidden() {
        for ip in [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(forbidden_range(v4(ip)).is_some(), "{ip} must be forbidden");
        }
    }

    #[test]
    fn ipv4_public_addresses_and_range_edges_are_allowed() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.0.3.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert_eq!(forbidden_range(v4(ip)), None, "{ip} must be allowed");
        }
    }

    #[test]
    fn ipv6_special_purpose_ranges_are_forbidden() {
        for ip in [
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:192.168.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:1ff::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
        ] {
            assert!(forbidden_range(v6(ip)).is_some(), "{ip} must be forbidden");
        }
    }

    #[test]
    fn ipv6_public_and_mapped_public_addresses_are_allowed() {
        for ip in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "fbff::1",
            "fe00::1",
        ] {
            assert_eq!(forbidden_range(v6(ip)), None, "{ip} must be allowed");
        }
    }

    #[test]
    fn allow_list_parses_and_normalises_origins() {
        let policy =
            FetchPolicy::from_allow_list(" http://127.0.0.1:9000 ,, https://Issuer.Example:443/ ")
                .unwrap();
        assert_eq!(
            policy.allow_origins,
            vec!["http://127.0.0.1:9000", "https://issuer.example"]
        );
        assert!(
            FetchPolicy::from_allow_list("")
                .unwrap()
                .allow_origins
                .is_empty()
        );
        for bad in [
            "ftp://x.example",
            "https://x.example/path",
            "https://u:p@x.example",
            "https://x.example?q",
            "not a url",
        ] {
            assert!(FetchPolicy::from_allow_list(bad).is_err(), "{bad}");
        }
    }

    mod http {
        use super::*;
        use axum::Router;
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        use axum::routing::get;

        async fn serve(router: Router) -> SocketAddr {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move {
                axum::serve(listener, router).await.unwrap();
            });
            addr
        }

        fn allowing(origins: &[&str]) -> FetchPolicy {
            FetchPolicy {
                allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
                ..FetchPolicy::default()
            }
        }

        fn redirect_to(location: String) -> impl IntoResponse {
            (StatusCode::FOUND, [(header::LOCATION, location)])
        }

        fn app() -> Router {
            Router::new()
                .route(
                    "/ok",
                    get(|| async { ([(header::CONTENT_TYPE, "application/json")], r#"{"a":1}"#) }),
                )
                .route("/dup", get(|| async { r#"{"a":1,"a":2}"# }))
                .route("/big", get(|| async { vec![b'a'; 2 * 1024 * 1024] }))
                .route(
                    "/missing",
                    get(|| async { (StatusCode::NOT_FOUND, "secret body") }),
                )
                .route(
                    "/hang",
                    get(|| async {
                        std::future::pending::<()>().await;
                        "never"
                    }),
                )
                .route(
                    "/hop/{n}",
                    get(
                        |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                            if n == 0 {
                                r#"{"done":true}"#.into_response()
                            } else {
                                redirect_to(format!("/hop/{}", n - 1)).into_response()
                            }
                        },
                    ),
                )
        }

        async fn app_origin() -> String {
            format!("http://{}", serve(app()).await)
        }

        fn fetcher(origins: &[&str]) -> Fetcher {
            Fetcher::new(allowing(origins)).unwrap()
        }

        #[tokio::test]
        async fn loopback_http_is_refused_without_allow_list() {
            let origin = app_origin().await;
            let err = fetcher(&[])
                .get(&format!("{origin}/ok"), FetchOptions::default())
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("plain http")),
                "{err}"
            );
        }

        #[tokio::test]
        async fn allow_listed_origin_is_fetched_over_http() {
            let origin = app_origin().await;
            let f = fetcher(&[&origin]);
            let body = f
                .get(&format!("{origin}/ok"), FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(body.bytes, br#"{"a":1}"#);
            assert_eq!(body.content_type.as_deref(), Some("application/json"));
            assert_eq!(body.final_url, format!("{origin}/ok"));
            assert_eq!(
                f.get_json(&format!("{origin}/ok")).await.unwrap(),
                serde_json::json!({"a":1})
            );
        }

        #[tokio::test]
        async fn get_json_is_strict() {
            let origin = app_origin().await;
            let err = fetcher(&[&origin])
                .get_json(&format!("{origin}/dup"))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Malformed(_)), "{err}");
        }

        #[tokio::test]
        async fn https_to_internal_literal_addresses_is_refused_before_connecting() {
            // A default policy (5 s timeout): a connection attempt to 10.0.0.1 would hang
            // or fail with a connect error; the refusal names the range instead.
            let f = fetcher(&[]);
            for url in [
                "https://127.0.0.1/",
                "https://127.0.0.1:8443/x",
                "https://10.0.0.1/",
                "https://169.254.169.254/latest/meta-data/",
                "https://[::1]/",
                "https://[::ffff:127.0.0.1]/",
                "https://[fd00::1]/",
                "https://0.0.0.0/",
                "https://0x7f.1/",
                "https://2130706433/",
            ] {
                let err = f.get(url, FetchOptions::default()).await.unwrap_err();
                assert!(
                    matches!(&err, Error::Fetch(m) if m.contains("forbidden range")),
                    "{url}: {err}"
                );
            }
        }

        #[tokio::test]
        async fn host_name_resolving_to_loopback_is_refused_after_resolution() {
            let addr = serve(app()).await;
            let err = fetcher(&[])
                .get(
                    &format!("https://localhost:{}/ok", addr.port()),
                    FetchOptions::default(),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("forbidden addresses")),
                "{err}"
            );
        }

        #[tokio::test]
        async fn allow_listed_host_name_resolves_to_loopback_only_at_its_origin() {
            let addr = serve(app()).await;
            let origin = format!("http://localhost:{}", addr.port());
            let f = fetcher(&[&origin]);
            let body = f
                .get(&format!("{origin}/ok"), FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(body.bytes, br#"{"a":1}"#);
            let err = f
                .get(
                    &format!("https://localhost:{}/ok", addr.port()),
                    FetchOptions::default(),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("other origins")),
                "{err}"
            );
        }

        #[tokio::test]
        async fn other_schemes_and_credentials_are_refused() {
            let f = fetcher(&[]);
            for url in [
                "file:///etc/passwd",
                "ftp://example.com/",
                "https://u:p@example.com/",
            ] {
                assert!(
                    matches!(
                        f.get(url, FetchOptions::default()).await,
                        Err(Error::Fetch(_))
                    ),
                    "{url}"
                );
            }
            assert!(f.get("not a url", FetchOptions::default()).await.is_err());
        }

        #[tokio::test]
        async fn oversize_body_with_content_length_is_refused() {
            let origin = app_origin().await;
            let err = fetcher(&[&origin])
                .get(&format!("{origin}/big"), FetchOptions::default())
                .await
                .unwrap_err();
            assert!(matches!(err, Error::TooLarge(_)), "{err}");
        }

        /// A raw HTTP/1.1 server answering every request with a chunked body of
        /// `total` bytes (or endless, if `None`), without Content-Length.
        fn chunked_server(total: Option<usize>) -> SocketAddr {
            use std::io::{Read, Write};
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut s) = stream else { return };
                    let mut buf = [0u8; 4096];
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
                    let chunk = vec![b'a'; 64 * 1024];
                    let mut sent = 0usize;
                    loop {
                        if total.is_some_and(|t| sent >= t) {
                            let _ = s.write_all(b"0\r\n\r\n");
                            break;
                        }
                        let head = format!("{:x}\r\n", chunk.len());
                        if s.write_all(head.as_bytes())
                            .and_then(|_| s.write_all(&chunk))
                            .and_then(|_| s.write_all(b"\r\n"))
                            .is_err()
                        {
                            break;
                        }
                        sent += chunk.len();
                    }
                }
            });
            addr
        }

        #[tokio::test]
        async fn oversize_chunked_body_without_content_length_is_refused() {
            for total in [Some(2 * 1024 * 1024), None] {
                let addr = chunked_server(total);
                let origin = format!("http://{addr}");
                let err = fetcher(&[&origin])
                    .get(&format!("{origin}/"), FetchOptions::default())
                    .await
                    .unwrap_err();
                assert!(matches!(err, Error::TooLarge(_)), "{err}");
            }
            // The same server within the limit is fine: the bound is what refuses.
            let addr = chunked_server(Some(128 * 1024));
            let origin = format!("http://{addr}");
            let body = fetcher(&[&origin])
                .get(&format!("{origin}/"), FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(body.bytes.len(), 128 * 1024);
        }

        #[tokio::test]
        async fn redirect_to_non_allowed_origin_is_refused() {
            let target = app_origin().await;
            let t = target.clone();
            let t2 = target.clone();
            let redirector = Router::new()
                .route(
                    "/to-other",
                    get(move || {
                        let t = t.clone();
                        async move { redirect_to(format!("{t}/ok")) }
                    }),
                )
                .route(
                    "/to-metadata",
                    get(|| async { redirect_to("https://169.254.169.254/latest".into()) }),
                )
                .route(
                    "/to-https-loopback",
                    get(move || {
                        let t = t2.clone();
                        async move { redirect_to(t.replace("http://", "https://")) }
                    }),
                );
            let origin = format!("http://{}", serve(redirector).await);
            let f = fetcher(&[&origin]);
            for path in ["/to-other", "/to-metadata", "/to-https-loopback"] {
                let err = f
                    .get(&format!("{origin}{path}"), FetchOptions::default())
                    .await
                    .unwrap_err();
                assert!(
                    matches!(&err, Error::Fetch(m) if m.contains("refused")),
                    "{path}: {err}"
                );
            }
            // Allowing the target too makes the first redirect work.
            let both = fetcher(&[&origin, &target]);
            assert!(
                both.get(&format!("{origin}/to-other"), FetchOptions::default())
                    .await
                    .is_ok()
            );
        }

        #[tokio::test]
        async fn redirects_are_limited_in_number() {
            let origin = app_origin().await;
            let f = fetcher(&[&origin]);
            let body = f
                .get(&format!("{origin}/hop/3"), FetchOptions::default())
                .await
                .unwrap();
            assert_eq!(body.final_url, format!("{origin}/hop/0"));
            let err = f
                .get(&format!("{origin}/hop/4"), FetchOptions::default())
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("more than 3 redirects")),
                "{err}"
            );
            let strict = Fetcher::new(FetchPolicy {
                max_redirects: 0,
                ..allowing(&[&origin])
            })
            .unwrap();
            assert!(
                strict
                    .get(&format!("{origin}/hop/1"), FetchOptions::default())
                    .await
                    .is_err()
            );
        }

        #[tokio::test]
        async fn redirect_is_refused_when_the_call_forbids_redirects() {
            let origin = app_origin().await;
            let f = fetcher(&[&origin]);
            let opts = FetchOptions {
                accept: None,
                follow_redirects: false,
            };
            let err = f.get(&format!("{origin}/hop/1"), opts).await.unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("redirect 302")),
                "{err}"
            );
            assert!(f.get(&format!("{origin}/hop/0"), opts).await.is_ok());
        }

        #[tokio::test]
        async fn server_that_never_answers_times_out() {
            let origin = app_origin().await;
            let f = Fetcher::new(FetchPolicy {
                timeout: Duration::from_millis(300),
                ..allowing(&[&origin])
            })
            .unwrap();
            let err = f
                .get(&format!("{origin}/hang"), FetchOptions::default())
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Fetch(m) if m.contains("timed out")),
                "{err}"
            );
        }

        #[tokio::test]
        async fn non_success_status_is_an_error_without_the_body() {
            let origin = app_origin().await;
            let err = fetcher(&[&origin])
                .get(&format!("{origin}/missing"), FetchOptions::default())
                .await
                .unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Fetch(_)));
            assert!(msg.contains("404"), "{msg}");
            assert!(!msg.contains("secret"), "{msg}");
        }

        #[tokio::test]
        async fn is_allow_listed_matches_normalised_origins() {
            let f = fetcher(&["http://LOCALHOST:9000/"]);
            assert!(f.is_allow_listed("http://localhost:9000"));
            assert!(!f.is_allow_listed("https://localhost:9000"));
            assert!(!f.is_allow_listed("http://localhost:9001"));
            assert!(Fetcher::new(allowing(&["https://x.example/path"])).is_err());
        }
    }
}
