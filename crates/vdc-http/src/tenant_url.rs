//! The one place that knows how a tenant's public URLs are laid out: an issuer's credential
//! issuer identifier is `{public_url}/issuers/{issuer}` (OID4VCI 1.0 §12.2.1: the metadata
//! and every endpoint hang below it, and SD-JWT VC `iss` is it). Status lists, the verifier's
//! local issuers and the issuer itself build and read these URLs only through here.

/// A tenant slug (contract: `^[a-z0-9][a-z0-9-]{0,62}$`): nothing else names an issuer or a
/// verifier, in a path or in a URL.
pub fn is_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The path segment under which issuers live.
const ISSUERS: &str = "/issuers/";

/// The credential issuer identifier of `issuer_id` under `public_url`.
pub fn issuer_url(public_url: &str, issuer_id: &str) -> String {
    format!("{}{ISSUERS}{issuer_id}", public_url.trim_end_matches('/'))
}

/// Splits a URL under one of this deployment's issuers into the issuer id and the rest of
/// the URL after it (`""` for the identifier itself, else starting with `/`). `None` for
/// another server's URL or an empty, query- or fragment-carrying issuer segment.
pub fn split_issuer_url<'a>(public_url: &str, url: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = url
        .strip_prefix(public_url.trim_end_matches('/'))?
        .strip_prefix(ISSUERS)?;
    let (id, rest) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    (!id.is_empty() && !id.contains(['?', '#'])).then_some((id, rest))
}

/// The issuer id whose credential issuer identifier `url` is exactly.
pub fn issuer_of_url<'a>(public_url: &str, url: &'a str) -> Option<&'a str> {
    match split_issuer_url(public_url, url)? {
        (id, "") => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls_round_trip_and_foreign_ones_do_not_parse() {
        let base = "https://vdc.example/";
        let url = issuer_url(base, "acme");
        assert_eq!(url, "https://vdc.example/issuers/acme");
        assert_eq!(issuer_of_url(base, &url), Some("acme"));
        assert_eq!(
            split_issuer_url(base, &format!("{url}/status-lists/l1")),
            Some(("acme", "/status-lists/l1"))
        );
        for other in [
            "https://vdc.example/issuers/",
            "https://vdc.example/issuers/acme?x",
            "https://vdc.example/issuersacme",
            "https://vdc.example.evil/issuers/acme",
            "https://other.example/issuers/acme",
        ] {
            assert_eq!(issuer_of_url(base, other), None, "{other}");
        }
        assert_eq!(issuer_of_url(base, &format!("{url}/token")), None);
    }

    #[test]
    fn slugs_follow_the_contract_pattern() {
        for ok in ["a", "acme", "0-x", &"a".repeat(63)] {
            assert!(is_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "Acme", "a_b", "a/b", "é", &"a".repeat(64)] {
            assert!(!is_slug(bad), "{bad}");
        }
    }
}
