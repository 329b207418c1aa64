//! did:web (W3C CCG did-method-web).
//!
//! `did:web:example.com` → `https://example.com/.well-known/did.json`;
//! `did:web:example.com%3A3000:user:alice` → `https://example.com:3000/user/alice/did.json`.
//! The document is fetched through the hardened [`Fetcher`] (G7) and its `id` must equal
//! the DID.
//!
//! Plain HTTP: the spec mandates HTTPS, and [`did_web_url`] always builds an `https` URL.
//! Closed networks and tests can opt in, per resolver, with
//! [`DidWebResolver::with_http_for_allow_listed_origins`]: the URL is then switched to
//! `http` only if the fetcher's operator allow-list names exactly that `http://host:port`
//! origin. The decision stays with the operator's allow-list (nothing an attacker sends
//! can turn it on), the resolver never downgrades an origin that is not listed, and the
//! fetcher keeps enforcing everything else.

use async_trait::async_trait;

use super::{DidDocument, DidResolver, did_err, parse_did};
use crate::error::Result;
use crate::fetch::{FetchOptions, Fetcher};
use crate::jose::alg::printable;

/// Builds the HTTPS URL of a did:web document (spec §"Read (Resolve)").
///
/// Strict: the domain must be a DNS name of letters, digits and hyphens (no IP address:
/// spec §"Method-specific identifier": "MUST NOT include IP addresses"), the only
/// percent-encoding allowed is the port colon `%3A`, and path segments are non-empty
/// runs of `A-Z a-z 0-9 . - _` other than `.` and `..`.
pub fn did_web_url(did: &str) -> Result<String> {
    let (method, msi) = parse_did(did)?;
    if method != "web" {
        return Err(did_err("not a did:web"));
    }
    let mut segments = msi.split(':');
    let authority = segments.next().unwrap_or_default();
    // Spec: "If the domain contains a port percent decode the colon."
    let (host, port) = match authority
        .split_once("%3A")
        .or_else(|| authority.split_once("%3a"))
    {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    check_domain(host)?;
    let mut url = format!("https://{}", host.to_ascii_lowercase());
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            return Err(did_err("did:web port must be a number from 1 to 65535"));
        }
        url.push(':');
        url.push_str(port);
    }
    let mut has_path = false;
    for segment in segments {
        let valid = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !valid {
            return Err(did_err("invalid did:web path segment"));
        }
        url.push('/');
        url.push_str(segment);
        has_path = true;
    }
    // Spec: "If no path has been specified in the URL, append /.well-known."
    if !has_path {
        url.push_str("/.well-known");
    }
    url.push_str("/did.json");
    Ok(url)
}

fn check_domain(host: &str) -> Result<()> {
    // RFC 1035 §2.3.4 / RFC 1123 §2.1: labels of 1-63 letters, digits and hyphens, not
    // starting or ending with a hyphen; 253 characters in all.
    if host.is_empty() || host.len() > 253 {
        return Err(did_err("did:web domain has an invalid length"));
    }
    let labels: Vec<&str> = host.split('.').collect();
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err(did_err("did:web domain is not a valid DNS name"));
        }
    }
    // A final label that is all digits or `0x` hex makes URL parsers read the host as an
    // IPv4 address (WHATWG URL "ends in a number"); did:web forbids IP addresses.
    let last = labels.last().copied().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .or_else(|| last.strip_prefix("0X"))
            .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
    if numeric {
        return Err(did_err("did:web must not use an IP address"));
    }
    Ok(())
}

/// Resolves did:web DIDs through a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct DidWebResolver {
    fetcher: Fetcher,
    http_for_allow_listed_origins: bool,
}

impl DidWebResolver {
    /// A resolver that fetches only over HTTPS, as the spec requires.
    pub fn new(fetcher: Fetcher) -> Self {
        Self {
            fetcher,
            http_for_allow_listed_origins: false,
        }
    }

    /// For tests and closed networks: fetch over plain `http` when the fetcher's
    /// allow-list names the `http://host[:port]` origin of the DID (see the module docs).
    pub fn with_http_for_allow_listed_origins(mut self, enabled: bool) -> Self {
        self.http_for_allow_listed_origins = enabled;
        self
    }

    /// The URL this resolver fetches for `did`.
    pub fn document_url(&self, did: &str) -> Result<String> {
        let https = did_web_url(did)?;
        if self.http_for_allow_listed_origins {
            let http = https.replacen("https://", "http://", 1);
            // The origin: `http://` and the authority, up to the first `/` of the path.
            let authority = http
                .strip_prefix("http://")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            if self.fetcher.is_allow_listed(&format!("http://{authority}")) {
                return Ok(http);
            }
        }
        Ok(https)
    }
}

#[async_trait]
impl DidResolver for DidWebResolver {
    async fn resolve(&self, did: &str) -> Result<DidDocument> {
        let url = self.document_url(did)?;
        let opts = FetchOptions {
            accept: Some("application/did+json, application/json"),
            follow_redirects: true,
        };
        let value = self
            .fetcher
            .get_json_with(&url, opts)
            .await
            .map_err(|e| did_err(format!("did:web document: {e}")))?;
        let doc = DidDocument::from_json(&value)?;
        // Spec: did:web §"Read (Resolve)": "Verify that the ID of the resolved DID
        // document matches the Web DID being resolved."
        if doc.id != did {
            return Err(did_err(format!(
                "did:web document id {} does not match the DID",
                printable(&doc.id)
            )));
        }
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::{Relationship, StandardResolver};
    use crate::error::Error;
    use crate::fetch::FetchPolicy;
    use crate::jose::PublicKey;
    use crate::time::FixedClock;
    use axum::Router;
    use axum::routing::get;
    use serde_json::{Value, json};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn did_web_spec_examples_map_to_urls() {
        // Spec: did:web §"Create (Register)" examples.
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io").unwrap(),
            "https://w3c-ccg.github.io/.well-known/did.json"
        );
        assert_eq!(
            did_web_url("did:web:w3c-ccg.github.io:user:alice").unwrap(),
            "https://w3c-ccg.github.io/user/alice/did.json"
        );
        assert_eq!(
            did_web_url("did:web:example.com%3A3000:user:alice").unwrap(),
            "https://example.com:3000/user/alice/did.json"
        );
        assert_eq!(
            did_web_url("did:web:example.com%3a3000").unwrap(),
            "https://example.com:3000/.well-known/did.json"
        );
    }

    #[test]
    fn malformed_did_web_identifiers_are_rejected() {
        for did in [
            "did:web:",
            "did:web:127.0.0.1",
            "did:web:127.0.0.1%3A8080",
            "did:web:0x7f",
            "did:web:example.123",
            "did:web:%5B%3A%3A1%5D",
            "did:web:exa_mple.com",
            "did:web:-example.com",
            "did:web:example-.com",
            "did:web:example..com",
            "did:web:.example.com",
            "did:web:example.com%3A",
            "did:web:example.com%3A0",
            "did:web:example.com%3A65536",
            "did:web:example.com%3A80a",
            "did:web:example.com%3A80%3A81",
            "did:web:example.com%2Fadmin",
            "did:web:example.com::alice",
            "did:web:example.com:..:alice",
            "did:web:example.com:.",
            "did:web:example.com:user%2F..",
            "did:web:user%40example.com",
            "did:key:example.com",
        ] {
            let err = did_web_url(did).unwrap_err();
            assert!(matches!(err, Error::DidResolution(_)), "{did}: {err}");
        }
        let long = format!("did:web:{}.com", "a".repeat(64));
        assert!(did_web_url(&long).is_err());
    }

    fn document(did: &str, x: &str) -> Value {
        json!({
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "verificationMethod": [{
                "id": format!("{did}#key-1"),
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": x}
            }],
            "assertionMethod": [format!("{did}#key-1")]
        })
    }

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    struct Server {
        port: u16,
        hits: Arc<AtomicUsize>,
    }

    /// Serves `/.well-known/did.json` for `did:web:localhost%3A<port>` and
    /// `/user/alice/did.json` whose id names a different DID.
    async fn server() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let root = format!("did:web:localhost%3A{port}");
        let counter = Arc::clone(&hits);
        let app = Router::new()
            .route(
                "/.well-known/did.json",
                get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let doc = document(&root, X);
                    async move { axum::Json(doc) }
                }),
            )
            .route(
                "/user/alice/did.json",
                get(|| async { axum::Json(document("did:web:evil.example:user:alice", X)) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { port, hits }
    }

    fn fetcher_allowing(port: u16) -> Fetcher {
        Fetcher::new(FetchPolicy {
            allow_origins: vec![format!("http://localhost:{port}")],
            ..FetchPolicy::default()
        })
        .unwrap()
    }

    fn key() -> PublicKey {
        PublicKey::ed25519(&crate::base64url::decode(X).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn did_web_resolves_from_an_allow_listed_local_server() {
        let s = server().await;
        let resolver =
            DidWebResolver::new(fetcher_allowing(s.port)).with_http_for_allow_listed_origins(true);
        let did = format!("did:web:localhost%3A{}", s.port);
        let doc = resolver.resolve(&did).await.unwrap();
        assert_eq!(doc.id, did);
        assert_eq!(
            doc.key_for("#key-1", Relationship::AssertionMethod)
                .unwrap(),
            &key()
        );
        assert!(doc.key_for("#key-1", Relationship::Authentication).is_err());
    }

    #[tokio::test]
    async fn did_web_document_with_mismatched_id_is_rejected() {
        let s = server().await;
        let resolver =
            DidWebResolver::new(fetcher_allowing(s.port)).with_http_for_allow_listed_origins(true);
        let did = format!("did:web:localhost%3A{}:user:alice", s.port);
        let err = resolver.resolve(&did).await.unwrap_err();
        assert!(
            matches!(&err, Error::DidResolution(m) if m.contains("does not match")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn did_web_stays_on_https_without_the_opt_in_or_the_allow_list() {
        let s = server().await;
        let did = format!("did:web:localhost%3A{}", s.port);
        // Allow-listed, but the resolver has not opted in: https is used and refused.
        let strict = DidWebResolver::new(fetcher_allowing(s.port));
        assert!(strict.document_url(&did).unwrap().starts_with("https://"));
        assert!(matches!(
            strict.resolve(&did).await,
            Err(Error::DidResolution(_))
        ));
        // Opted in, but the origin is not on the allow-list: still https, and the
        // loopback address is refused after resolution.
        let unlisted = DidWebResolver::new(Fetcher::new(FetchPolicy::default()).unwrap())
            .with_http_for_allow_listed_origins(true);
        assert!(unlisted.document_url(&did).unwrap().starts_with("https://"));
        let err = unlisted.resolve(&did).await.unwrap_err();
        assert!(
            matches!(&err, Error::DidResolution(m) if m.contains("forbidden")),
            "{err}"
        );
        assert_eq!(s.hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn standard_resolver_caches_did_web_for_the_ttl() {
        let s = server().await;
        let clock = FixedClock::at(1_000);
        let web =
            DidWebResolver::new(fetcher_allowing(s.port)).with_http_for_allow_listed_origins(true);
        let resolver = StandardResolver::new(None, Arc::new(clock.clone()))
            .with_web_resolver(web)
            .with_cache(300, 10);
        let did = format!("did:web:localhost%3A{}", s.port);
        resolver.resolve(&did).await.unwrap();
        resolver.resolve(&did).await.unwrap();
        assert_eq!(s.hits.load(Ordering::SeqCst), 1);
        clock.advance(299);
        resolver.resolve(&did).await.unwrap();
        assert_eq!(s.hits.load(Ordering::SeqCst), 1);
        clock.advance(1);
        resolver.resolve(&did).await.unwrap();
        assert_eq!(s.hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn standard_resolver_cache_is_bounded() {
        let a = server().await;
        let b = server().await;
        let fetcher = Fetcher::new(FetchPolicy {
            allow_origins: vec![
                format!("http://localhost:{}", a.port),
                format!("http://localhost:{}", b.port),
            ],
            ..FetchPolicy::default()
        })
        .unwrap();
        let clock = FixedClock::at(0);
        let resolver = StandardResolver::new(None, Arc::new(clock.clone()))
            .with_web_resolver(
                DidWebResolver::new(fetcher).with_http_for_allow_listed_origins(true),
            )
            .with_cache(300, 1);
        let did_a = format!("did:web:localhost%3A{}", a.port);
        let did_b = format!("did:web:localhost%3A{}", b.port);
        resolver.resolve(&did_a).await.unwrap();
        clock.advance(1);
        resolver.resolve(&did_b).await.unwrap();
        // Only one entry fits: did_a was evicted and is fetched again.
        resolver.resolve(&did_a).await.unwrap();
        assert_eq!(a.hits.load(Ordering::SeqCst), 2);
        assert_eq!(b.hits.load(Ordering::SeqCst), 1);
    }
}
