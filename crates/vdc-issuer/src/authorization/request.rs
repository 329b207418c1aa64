//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9396 §2, OID4VCI 1.0
//! §5.1), read from a pushed request's form or the authorization endpoint's query, checked
//! and kept in the store as [`AuthorizationRequest`].

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};

/// Longest value of one parameter (bounded input).
const MAX_PARAM: usize = 2048;
/// Longest `authorization_details` JSON.
const MAX_DETAILS: usize = 8 * 1024;
/// Most configurations one authorization may name.
const MAX_DETAILS_ENTRIES: usize = 16;

/// The `type` of an OID4VCI authorization details object (OID4VCI 1.0 §5.1.1).
pub const OPENID_CREDENTIAL: &str = "openid_credential";

/// A checked authorization request, as stored with the authorization (nothing in it is
/// secret: the PKCE challenge is a hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The wallet (a public client).
    pub client_id: String,
    /// Where the authorization response goes.
    pub redirect_uri: String,
    /// The PKCE S256 challenge (RFC 7636 §4.2).
    pub code_challenge: String,
    /// The client's `state`, echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The configurations requested (by scope or authorization details).
    pub credential_configuration_ids: Vec<String>,
    /// Whether they were requested by `authorization_details` (then the token response
    /// returns `authorization_details` with `credential_identifiers`, OID4VCI 1.0 §6.2).
    pub authorization_details: bool,
    /// The scope as requested, echoed in the token response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The offer `issuer_state` named (its id), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    /// The DPoP key the code is bound to (RFC 9449 §10: `dpop_jkt`, or the PAR's proof key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    /// The thumbprint of the client instance key of the wallet attestation that
    /// authenticated the pushed request: the code and the refresh tokens are bound to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_instance_jkt: Option<String>,
}

/// The parameters of an authorization request before the checks that need the store.
#[derive(Debug, Clone, Default)]
pub struct RawAuthorizationRequest {
    params: HashMap<String, String>,
}

impl RawAuthorizationRequest {
    /// The request of a form or query.
    pub fn new(params: HashMap<String, String>) -> Self {
        Self { params }
    }

    /// A parameter (empty counts as absent, RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// `issuer_state`: opaque here, resolved by the issuer.
    pub fn issuer_state(&self) -> Option<&str> {
        self.get("issuer_state")
    }

    /// Checks the request against the issuer's definition (the `issuer_state` offer and the
    /// DPoP key are the caller's) and says which configurations it asks for.
    /// `offer_configurations`: those of the `issuer_state` offer, used when the request
    /// names none.
    pub fn check(
        &self,
        def: &IssuerDefinition,
        credential_issuer: &str,
        offer_configurations: Option<&[String]>,
    ) -> Result<AuthorizationRequest> {
        let bad = |m: &str| Err(IssuerError::InvalidRequest(m.into()));
        for (k, v) in &self.params {
            let limit = if k == "authorization_details" {
                MAX_DETAILS
            } else {
                MAX_PARAM
            };
            if v.len() > limit {
                return Err(IssuerError::InvalidRequest(format!(
                    "{k} is longer than {limit} bytes"
                )));
            }
        }
        // Spec: RFC 9126 §2.1: a pushed request must not itself carry request_uri; we do not
        // support request objects (RFC 9101).
        if self.params.contains_key("request_uri") {
            return bad("request_uri cannot be pushed");
        }
        if self.params.contains_key("request") {
            return Err(IssuerError::RequestNotSupported);
        }
        match self.get("response_type") {
            Some("code") => {}
            Some(_) => return Err(IssuerError::UnsupportedResponseType),
            None => return bad("response_type is required"),
        }
        let client_id = self
            .get("client_id")
            .ok_or_else(|| IssuerError::InvalidRequest("client_id is required".into()))?;
        let redirect_uri = self
            .get("redirect_uri")
            .ok_or_else(|| IssuerError::InvalidRequest("redirect_uri is required".into()))?;
        check_client(def, client_id, redirect_uri)?;
        // Spec: RFC 7636 §4.3, OID4VCI 1.0 §5.1, HAIP 1.0 §4: PKCE with S256 only.
        let challenge = self.get("code_challenge").ok_or_else(|| {
            IssuerError::InvalidRequest("code_challenge is required (PKCE, RFC 7636)".into())
        })?;
        match self.get("code_challenge_method") {
            Some("S256") => {}
            Some(_) => return bad("code_challenge_method must be S256"),
            None => return bad("code_challenge_method is required and must be S256"),
        }
        // S256 challenges are BASE64URL(SHA-256(...)): 43 characters.
        if challenge.len() != 43 || vdc_core::base64url::decode(challenge).is_err() {
            return bad("code_challenge is not an S256 challenge");
        }
        let state = self.get("state").map(str::to_owned);
        let scope = self.get("scope").map(str::to_owned);
        let mut ids: Vec<String> = Vec::new();
        let mut by_details = false;
        if let Some(details) = self.get("authorization_details") {
            ids.extend(parse_authorization_details(
                def,
                credential_issuer,
                details,
            )?);
            by_details = true;
        }
        if let Some(scope) = &scope {
            for s in scope.split(' ').filter(|s| !s.is_empty()) {
                let found = def
                    .credential_configurations
                    .iter()
                    .find(|(_, c)| c.scope.as_deref() == Some(s));
                match found {
                    Some((id, _)) if !ids.contains(id) => ids.push(id.clone()),
                    Some(_) => {}
                    // Spec: RFC 6749 §4.1.2.1: an unknown scope is invalid_scope. `openid`
                    // and other non-credential scopes a wallet may add are left alone.
                    None if s == "openid" => {}
                    None => return Err(IssuerError::InvalidScope(format!("unknown scope {s}"))),
                }
            }
        }
        if ids.is_empty() {
            match offer_configurations {
                Some(offered) => ids.extend(offered.iter().cloned()),
                None => {
                    return bad(
                        "name the credentials with scope or authorization_details (OID4VCI 1.0 §5.1)",
                    );
                }
            }
        }
        if let Some(offered) = offer_configurations
            && let Some(extra) = ids.iter().find(|id| !offered.contains(id))
        {
            return Err(IssuerError::InvalidRequest(format!(
                "{extra} is not in the offer issuer_state names"
            )));
        }
        let dpop_jkt = self.get("dpop_jkt").map(str::to_owned);
        if dpop_jkt
            .as_ref()
            .is_some_and(|j| j.len() != 43 || vdc_core::base64url::decode(j).is_err())
        {
            return bad("dpop_jkt is not a JWK SHA-256 thumbprint");
        }
        Ok(AuthorizationRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.to_owned(),
            state,
            credential_configuration_ids: ids,
            authorization_details: by_details,
            scope,
            offer_id: None,
            dpop_jkt,
            client_instance_jkt: None,
        })
    }
}

/// Whether `client_id` may use `redirect_uri`: exactly a registered one, or, without
/// registered wallets, any https, private-use-scheme or loopback URI (RFC 8252 §7).
pub fn check_client(def: &IssuerDefinition, client_id: &str, redirect_uri: &str) -> Result<()> {
    if def.wallet_clients.is_empty() {
        let Ok(url) = url::Url::parse(redirect_uri) else {
            return Err(IssuerError::InvalidRedirectUri(
                "redirect_uri is not an absolute URI".into(),
            ));
        };
        if url.fragment().is_some() {
            return Err(IssuerError::InvalidRedirectUri(
                "redirect_uri must not have a fragment (RFC 6749 §3.1.2)".into(),
            ));
        }
        let loopback = url.scheme() == "http"
            && matches!(url.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
        let private_use = !matches!(
            url.scheme(),
            "http" | "https" | "javascript" | "data" | "file" | "vbscript" | "blob"
        ) && url.scheme().contains('.');
        if url.scheme() == "https" || loopback || private_use {
            return Ok(());
        }
        return Err(IssuerError::InvalidRedirectUri(
            "redirect_uri must be https, loopback http, or a private-use scheme (RFC 8252)".into(),
        ));
    }
    let client = def
        .wallet_clients
        .iter()
        .find(|c| c.client_id == client_id)
        .ok_or_else(|| IssuerError::InvalidClient("unknown client_id".into()))?;
    if client.redirect_uris.iter().any(|r| r == redirect_uri) {
        Ok(())
    } else {
        Err(IssuerError::InvalidRedirectUri(
            "redirect_uri is not registered for this client".into(),
        ))
    }
}

/// The configurations of an `authorization_details` parameter (RFC 9396 §2, OID4VCI 1.0
/// §5.1.1): a JSON array of `openid_credential` objects naming known configurations;
/// `locations`, when present, must name this issuer.
fn parse_authorization_details(
    def: &IssuerDefinition,
    credential_issuer: &str,
    details: &str,
) -> Result<Vec<String>> {
    let invalid = |m: String| IssuerError::InvalidAuthorizationDetails(m);
    let parsed: Value = serde_json::from_str(details)
        .map_err(|e| invalid(format!("authorization_details is not JSON: {e}")))?;
    let entries = parsed
        .as_array()
        .filter(|a| !a.is_empty() && a.len() <= MAX_DETAILS_ENTRIES)
        .ok_or_else(|| invalid("authorization_details is an array of 1 to 16 objects".into()))?;
    let mut ids = Vec::new();
    for e in entries {
        let obj = e
            .as_object()
            .ok_or_else(|| invalid("each authorization_details entry is an object".into()))?;
        if obj.get("type").and_then(Value::as_str) != Some(OPENID_CREDENTIAL) {
            return Err(invalid(format!(
                "the only type supported is {OPENID_CREDENTIAL}"
            )));
        }
        let id = obj
            .get("credential_configuration_id")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("credential_configuration_id is required".into()))?;
        if !def.credential_configurations.contains_key(id) {
            return Err(invalid(format!("unknown credential configuration {id}")));
        }
        if let Some(locations) = obj.get("locations") {
            let ok = locations
                .as_array()
                .is_some_and(|l| l.iter().all(|x| x.as_str() == Some(credential_issuer)));
            if !ok {
                return Err(invalid("locations must name this credential issuer".into()));
            }
        }
        for k in obj.keys() {
            if !matches!(
                k.as_str(),
                "type" | "credential_configuration_id" | "locations" | "claims"
            ) {
                return Err(invalid(format!("unsupported member {k}")));
            }
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// RFC 7636 §4.6: BASE64URL(SHA-256(ASCII(code_verifier))) equals the challenge. The
/// verifier is 43 to 128 unreserved characters (§4.1).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && vdc_core::ct::eq(
            vdc_core::base64url::encode(vdc_core::digest::sha256(verifier.as_bytes())).as_bytes(),
            challenge.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def() -> IssuerDefinition {
        serde_json::from_value(json!({"id": "acme", "credential_configurations": {
            "Badge": {"format": "dc+sd-jwt", "vct": "https://acme.example/badge",
                "scope": "badge", "claims": [{"path": ["given_name"]}]},
            "Other": {"format": "dc+sd-jwt", "vct": "https://acme.example/other",
                "claims": [{"path": ["given_name"]}]}}}))
        .unwrap()
    }

    const ISS: &str = "https://vdc.example/issuers/acme";
    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn raw(extra: &[(&str, &str)]) -> RawAuthorizationRequest {
        let mut p: HashMap<String, String> = [
            ("response_type", "code"),
            ("client_id", "wallet"),
            ("redirect_uri", "https://wallet.example/cb"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "badge"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (k, v) in extra {
            if v.is_empty() {
                p.remove(*k);
            } else {
                p.insert((*k).to_owned(), (*v).to_owned());
            }
        }
        RawAuthorizationRequest::new(p)
    }

    #[test]
    fn scope_and_authorization_details_name_configurations() {
        let r = raw(&[]).check(&def(), ISS, None).unwrap();
        assert_eq!(r.credential_configuration_ids, ["Badge"]);
        assert!(!r.authorization_details);
        let details = json!([{"type": "openid_credential", "credential_configuration_id": "Other",
            "locations": [ISS]}])
        .to_string();
        let r = raw(&[("scope", ""), ("authorization_details", &details)])
            .check(&def(), ISS, None)
            .unwrap();
        assert_eq!(r.credential_configuration_ids, ["Other"]);
        assert!(r.authorization_details);
    }

    #[test]
    fn bad_requests_get_their_spec_errors() {
        let d = def();
        let e = |extra: &[(&str, &str)]| raw(extra).check(&d, ISS, None).unwrap_err();
        assert!(matches!(
            e(&[("code_challenge_method", "plain")]),
            IssuerError::InvalidRequest(_)
        ));
        assert!(matches!(
            e(&[("code_challenge", "")]),
            IssuerError::InvalidRequest(_)
        ));
        assert!(matches!(
            e(&[("response_type", "token")]),
            IssuerError::UnsupportedResponseType
        ));
        assert!(matches!(
            e(&[("scope", "salary")]),
            IssuerError::InvalidScope(_)
        ));
        assert!(matches!(
            e(&[("redirect_uri", "http://evil.example/cb")]),
            IssuerError::InvalidRedirectUri(_)
        ));
        let unknown = json!([{"type": "openid_credential", "credential_configuration_id": "Nope"}])
            .to_string();
        assert!(matches!(
            e(&[("authorization_details", &unknown)]),
            IssuerError::InvalidAuthorizationDetails(_)
        ));
        let elsewhere =
            json!([{"type": "openid_credential", "credential_configuration_id": "Badge",
            "locations": ["https://other.example"]}])
            .to_string();
        assert!(matches!(
            e(&[("authorization_details", &elsewhere)]),
            IssuerError::InvalidAuthorizationDetails(_)
        ));
        assert!(matches!(
            e(&[("request_uri", "urn:x")]),
            IssuerError::InvalidRequest(_)
        ));
        assert!(matches!(
            e(&[("scope", "")]),
            IssuerError::InvalidRequest(_)
        ));
    }

    #[test]
    fn loopback_and_private_use_redirects_are_allowed_without_registration() {
        let d = def();
        for ok in [
            "http://127.0.0.1:9000/cb",
            "com.example.wallet:/cb",
            "https://w.example/cb",
        ] {
            check_client(&d, "w", ok).unwrap();
        }
        for bad in [
            "http://w.example/cb",
            "javascript:alert(1)",
            "https://w.example/cb#f",
            "cb",
        ] {
            assert!(check_client(&d, "w", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pkce_s256_matches_the_rfc_example_only() {
        assert!(pkce_matches(VERIFIER, CHALLENGE));
        assert!(!pkce_matches(&VERIFIER.replace('d', "e"), CHALLENGE));
        assert!(!pkce_matches("short", CHALLENGE));
    }
}
