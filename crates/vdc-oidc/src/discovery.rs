//! OpenID Connect Discovery 1.0: the provider configuration document.

use serde_json::{Map, Value};
use url::Url;
use vdc_core::fetch::Fetcher;

use crate::{OidcError, ProviderConfig, printable};

/// What the relying party uses from the provider configuration.
#[derive(Debug, Clone)]
pub(crate) struct Metadata {
    pub(crate) authorization_endpoint: Url,
    pub(crate) token_endpoint: String,
    pub(crate) userinfo_endpoint: Option<String>,
    pub(crate) jwks_uri: String,
}

/// Checks the registration before anything is fetched.
pub(crate) fn check_config(config: &ProviderConfig) -> Result<(), OidcError> {
    let bad = |m: &str| Err(OidcError::Invalid(format!("provider configuration: {m}")));
    // Spec: OIDC Core §2 (`iss`) and Discovery §2: the Issuer Identifier is a case-sensitive
    // URL with scheme, host, optional port and path, and no query or fragment.
    let Ok(issuer) = Url::parse(&config.issuer) else {
        return bad("issuer is not a URL");
    };
    if !matches!(issuer.scheme(), "https" | "http") || issuer.host_str().is_none() {
        return bad("issuer must be an https URL");
    }
    if issuer.query().is_some() || issuer.fragment().is_some() {
        return bad("issuer must not have a query or fragment");
    }
    if !issuer.username().is_empty() || issuer.password().is_some() {
        return bad("issuer must not carry credentials");
    }
    if config.client_id.is_empty() {
        return bad("client_id is empty");
    }
    // RFC 6749 §3.1.2: the redirection endpoint URI is absolute and has no fragment.
    match Url::parse(&config.redirect_uri) {
        Ok(r) if r.fragment().is_none() && !r.cannot_be_a_base() => Ok(()),
        _ => bad("redirect_uri must be an absolute URL without fragment"),
    }
}

/// Spec: Discovery §4.1: `/.well-known/openid-configuration` appended to the issuer, after
/// removing any terminating `/`.
pub(crate) fn configuration_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

impl Metadata {
    /// Reads the configuration document of `configured_issuer`.
    pub(crate) fn from_document(
        doc: &Map<String, Value>,
        configured_issuer: &str,
        fetcher: &Fetcher,
    ) -> Result<Self, OidcError> {
        let bad = |m: String| OidcError::Invalid(format!("provider configuration: {m}"));
        // Spec: Discovery §4.3: the `issuer` value returned MUST be identical to the Issuer
        // URL that was used as the prefix to /.well-known/openid-configuration; if not,
        // the configuration MUST NOT be used. Exact string comparison (no normalisation).
        match doc.get("issuer") {
            Some(Value::String(i)) if i == configured_issuer => {}
            Some(Value::String(i)) => {
                return Err(bad(format!(
                    "issuer {:?} is not the configured {:?}",
                    printable(i, 200),
                    printable(configured_issuer, 200)
                )));
            }
            _ => return Err(bad("issuer missing".into())),
        }
        let endpoint = |name: &str, required: bool| -> Result<Option<String>, OidcError> {
            match doc.get(name) {
                Some(Value::String(u)) => {
                    let parsed = Url::parse(u).map_err(|_| bad(format!("{name} is not a URL")))?;
                    if parsed.fragment().is_some() {
                        return Err(bad(format!("{name} has a fragment")));
                    }
                    // G7: every endpoint must pass the outbound policy (https, or an
                    // allow-listed origin; no internal address literals).
                    fetcher
                        .check_url(u)
                        .map_err(|e| bad(format!("{name}: {e}")))?;
                    Ok(Some(u.clone()))
                }
                None if !required => Ok(None),
                None => Err(bad(format!("{name} missing"))),
                Some(_) => Err(bad(format!("{name} must be a string"))),
            }
        };
        let authorization_endpoint = endpoint("authorization_endpoint", true)?
            .and_then(|u| Url::parse(&u).ok())
            .ok_or_else(|| bad("authorization_endpoint missing".into()))?;
        let token_endpoint = endpoint("token_endpoint", true)?
            .ok_or_else(|| bad("token_endpoint missing".into()))?;
        let jwks_uri = endpoint("jwks_uri", true)?.ok_or_else(|| bad("jwks_uri missing".into()))?;
        let userinfo_endpoint = endpoint("userinfo_endpoint", false)?;

        // What the flow needs, where the provider states what it supports.
        // Discovery §3: `response_types_supported` is REQUIRED; Core §3.1 needs "code".
        require_listed(doc, "response_types_supported", "code", true)?;
        // Discovery §3: token_endpoint_auth_methods_supported defaults to client_secret_basic.
        require_listed(
            doc,
            "token_endpoint_auth_methods_supported",
            "client_secret_basic",
            false,
        )?;
        // RFC 8414 §2: code_challenge_methods_supported; many OpenID Providers omit it while
        // supporting PKCE, so only a list without S256 is refused.
        require_listed(doc, "code_challenge_methods_supported", "S256", false)?;
        // Discovery §3: id_token_signing_alg_values_supported is REQUIRED; we verify only
        // RS256 and ES256.
        match doc.get("id_token_signing_alg_values_supported") {
            Some(Value::Array(algs))
                if algs
                    .iter()
                    .any(|a| matches!(a.as_str(), Some("RS256" | "ES256"))) => {}
            Some(Value::Array(_)) => {
                return Err(bad(
                    "id_token_signing_alg_values_supported lists neither RS256 nor ES256".into(),
                ));
            }
            _ => return Err(bad("id_token_signing_alg_values_supported missing".into())),
        }
        Ok(Self {
            authorization_endpoint,
            token_endpoint,
            userinfo_endpoint,
            jwks_uri,
        })
    }
}

/// `name` is an array of strings containing `value` (or absent, if not `required`).
fn require_listed(
    doc: &Map<String, Value>,
    name: &str,
    value: &str,
    required: bool,
) -> Result<(), OidcError> {
    let bad = |m: String| Err(OidcError::Invalid(format!("provider configuration: {m}")));
    match doc.get(name) {
        None if !required => Ok(()),
        None => bad(format!("{name} missing")),
        Some(Value::Array(list)) if list.iter().any(|v| v.as_str() == Some(value)) => Ok(()),
        Some(Value::Array(_)) => bad(format!("{name} does not list {value}")),
        Some(_) => bad(format!("{name} must be an array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vdc_core::fetch::FetchPolicy;

    fn fetcher() -> Fetcher {
        Fetcher::new(FetchPolicy::default()).unwrap()
    }

    fn doc() -> Map<String, Value> {
        let Value::Object(m) = json!({
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/auth?tenant=a",
            "token_endpoint": "https://idp.example/token",
            "userinfo_endpoint": "https://idp.example/me",
            "jwks_uri": "https://idp.example/jwks",
            "response_types_supported": ["code", "id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn configuration_url_drops_the_terminating_slash() {
        assert_eq!(
            configuration_url("https://idp.example/tenant/"),
            "https://idp.example/tenant/.well-known/openid-configuration"
        );
        assert_eq!(
            configuration_url("https://idp.example"),
            "https://idp.example/.well-known/openid-configuration"
        );
    }

    #[test]
    fn issuer_must_match_exactly() {
        let f = fetcher();
        assert!(Metadata::from_document(&doc(), "https://idp.example", &f).is_ok());
        for configured in [
            "https://idp.example/",
            "https://IDP.example",
            "https://idp.example:443",
        ] {
            let err = Metadata::from_document(&doc(), configured, &f).unwrap_err();
            assert!(
                matches!(err, OidcError::Invalid(ref m) if m.contains("issuer")),
                "{err}"
            );
        }
    }

    #[test]
    fn endpoints_must_pass_the_outbound_policy() {
        let f = fetcher();
        for (name, url) in [
            ("token_endpoint", "http://idp.example/token"),
            ("jwks_uri", "https://127.0.0.1/jwks"),
            ("userinfo_endpoint", "https://169.254.169.254/me"),
            ("authorization_endpoint", "https://idp.example/auth#frag"),
        ] {
            let mut d = doc();
            d.insert(name.into(), url.into());
            let err = Metadata::from_document(&d, "https://idp.example", &f).unwrap_err();
            assert!(
                matches!(err, OidcError::Invalid(ref m) if m.contains(name)),
                "{err}"
            );
        }
    }

    #[test]
    fn required_members_and_capabilities() {
        let f = fetcher();
        for (name, value) in [
            ("token_endpoint", Value::Null),
            ("jwks_uri", json!(7)),
            ("response_types_supported", json!(["id_token"])),
            ("code_challenge_methods_supported", json!(["plain"])),
            (
                "token_endpoint_auth_methods_supported",
                json!(["private_key_jwt"]),
            ),
            ("id_token_signing_alg_values_supported", json!(["HS256"])),
        ] {
            let mut d = doc();
            if value.is_null() {
                d.remove(name);
            } else {
                d.insert(name.into(), value);
            }
            let err = Metadata::from_document(&d, "https://idp.example", &f).unwrap_err();
            assert!(
                matches!(err, OidcError::Invalid(ref m) if m.contains(name)),
                "{name}: {err}"
            );
        }
        let mut d = doc();
        d.remove("userinfo_endpoint");
        let m = Metadata::from_document(&d, "https://idp.example", &f).unwrap();
        assert!(m.userinfo_endpoint.is_none());
    }

    #[test]
    fn config_is_checked() {
        let good = ProviderConfig {
            issuer: "https://idp.example".into(),
            client_id: "vdc".into(),
            client_secret: zeroize::Zeroizing::new("s".into()),
            scopes: vec![],
            redirect_uri: "https://vdc.example/cb".into(),
        };
        assert!(check_config(&good).is_ok());
        for (issuer, client_id, redirect) in [
            ("https://idp.example?x=1", "vdc", "https://vdc.example/cb"),
            ("https://idp.example#f", "vdc", "https://vdc.example/cb"),
            ("ftp://idp.example", "vdc", "https://vdc.example/cb"),
            ("not a url", "vdc", "https://vdc.example/cb"),
            ("https://idp.example", "", "https://vdc.example/cb"),
            ("https://idp.example", "vdc", "https://vdc.example/cb#x"),
            ("https://idp.example", "vdc", "/cb"),
        ] {
            let c = ProviderConfig {
                issuer: issuer.into(),
                client_id: client_id.into(),
                redirect_uri: redirect.into(),
                ..good.clone()
            };
            assert!(
                matches!(check_config(&c), Err(OidcError::Invalid(_))),
                "{issuer} {client_id} {redirect}"
            );
        }
    }
}
