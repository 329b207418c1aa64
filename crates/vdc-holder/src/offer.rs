//! Credential Offers (OID4VCI 1.0 §4.1): parsing the offer URI, validating the offer
//! object, and the grant parameters of the pre-authorized code flow.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::error::{Error, Result, bounded};

/// The custom URI scheme of a Wallet's Credential Offer Endpoint (OID4VCI 1.0 §12.1,
/// `credential_offer_endpoint` default).
pub const OFFER_SCHEME: &str = "openid-credential-offer";
/// The grant type of the pre-authorized code flow (OID4VCI 1.0 §4.1.1, IANA §14.1).
pub const PRE_AUTHORIZED_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// Longest offer URI or offer object accepted.
pub const MAX_OFFER_LEN: usize = 64 * 1024;
/// Longest `tx_code.description` (OID4VCI 1.0 §4.1.1: "MUST NOT exceed 300 characters").
pub const MAX_TX_CODE_DESCRIPTION: usize = 300;

/// A Credential Offer object (OID4VCI 1.0 §4.1.1). Only exists after validation: build it
/// with [`CredentialOffer::from_json`] or [`parse_offer_uri`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// `credential_issuer`: the Credential Issuer Identifier (§12.2.1).
    pub credential_issuer: String,
    /// `credential_configuration_ids`: non-empty, unique keys of the issuer's
    /// `credential_configurations_supported`.
    pub credential_configuration_ids: Vec<String>,
    /// `grants`: the grant types the authorization server will process for this offer.
    #[serde(default)]
    pub grants: Grants,
}

/// The `grants` object of an offer. Unknown grant types are ignored (§4.1.1: the Wallet
/// MUST ignore unrecognized parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code`.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    /// `authorization_code`: the wallet runs the authorization code flow
    /// ([`crate::Wallet::begin_authorization`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
}

/// Parameters of the pre-authorized code grant (§4.1.1).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// `pre-authorized_code`: short-lived, single-use; a secret (never logged).
    #[serde(rename = "pre-authorized_code")]
    pub pre_authorized_code: String,
    /// `tx_code`: present (even empty) when a Transaction Code is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// `authorization_server`: which of the issuer's `authorization_servers` to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

impl fmt::Debug for PreAuthorizedCodeGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuthorizedCodeGrant")
            .field("pre_authorized_code", &"[redacted]")
            .field("tx_code", &self.tx_code)
            .field("authorization_server", &self.authorization_server)
            .finish()
    }
}

/// How the End-User's Transaction Code looks (§4.1.1 `tx_code`); show it when asking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `input_mode`: `numeric` (the default when absent) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<String>,
    /// `length`: the expected number of characters (a UX hint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// `description`: how to obtain the code (at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl TxCode {
    /// True when only digits are expected (`input_mode` absent or `numeric`).
    pub fn is_numeric(&self) -> bool {
        self.input_mode.as_deref().is_none_or(|m| m == "numeric")
    }
}

/// Parameters of the authorization code grant (§4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// `issuer_state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// `authorization_server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// A Credential Offer as found in the offer URI: by value, or by reference to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferRef {
    /// `credential_offer`: the offer object itself.
    ByValue(CredentialOffer),
    /// `credential_offer_uri`: an https URL to GET the offer object from (§4.1.3).
    ByReference(String),
}

impl CredentialOffer {
    /// Parses and validates an offer object (from `credential_offer` or the body fetched
    /// from `credential_offer_uri`). Strict JSON (no duplicate members, bounded size).
    pub fn from_json(text: &[u8]) -> Result<Self> {
        let value = vdc_core::json::parse(text, MAX_OFFER_LEN)
            .map_err(|e| Error::InvalidOffer(e.to_string()))?;
        Self::from_value(value)
    }

    /// Validates an already parsed offer object.
    pub fn from_value(value: Value) -> Result<Self> {
        if !value.is_object() {
            return Err(Error::InvalidOffer(
                "the offer must be a JSON object".into(),
            ));
        }
        let offer: Self = serde_json::from_value(value)
            .map_err(|e| Error::InvalidOffer(bounded(&e.to_string())))?;
        offer.validate()?;
        Ok(offer)
    }

    fn validate(&self) -> Result<()> {
        check_issuer_identifier(&self.credential_issuer).map_err(Error::InvalidOffer)?;
        // Spec: OID4VCI 1.0 §4.1.1: "A non-empty array of unique strings".
        if self.credential_configuration_ids.is_empty() {
            return Err(Error::InvalidOffer(
                "credential_configuration_ids must not be empty".into(),
            ));
        }
        for (i, id) in self.credential_configuration_ids.iter().enumerate() {
            if self.credential_configuration_ids[..i].contains(id) {
                return Err(Error::InvalidOffer(
                    "credential_configuration_ids must be unique".into(),
                ));
            }
        }
        if let Some(g) = &self.grants.pre_authorized_code {
            if g.pre_authorized_code.is_empty() {
                return Err(Error::InvalidOffer("pre-authorized_code is empty".into()));
            }
            if let Some(tx) = &g.tx_code {
                if let Some(mode) = &tx.input_mode
                    && mode != "numeric"
                    && mode != "text"
                {
                    return Err(Error::InvalidOffer(format!(
                        "tx_code input_mode {} is neither numeric nor text",
                        bounded(mode)
                    )));
                }
                if tx
                    .description
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > MAX_TX_CODE_DESCRIPTION)
                {
                    return Err(Error::InvalidOffer(
                        "tx_code description exceeds 300 characters".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The pre-authorized code grant, or [`Error::Unsupported`] when the offer has none.
    pub fn pre_authorized_grant(&self) -> Result<&PreAuthorizedCodeGrant> {
        self.grants.pre_authorized_code.as_ref().ok_or_else(|| {
            Error::Unsupported(
                "the offer has no pre-authorized_code grant (use the authorization code flow: Wallet::begin_authorization)"
                    .into(),
            )
        })
    }
}

/// Checks a Credential Issuer Identifier (OID4VCI 1.0 §12.2.1): a URL with scheme, host,
/// optional port and path, no query, no fragment. The scheme must be `https`; `http` is let
/// through here and refused later by the HTTP client unless insecure HTTP is allowed.
pub(crate) fn check_issuer_identifier(id: &str) -> std::result::Result<Url, String> {
    let url = Url::parse(id).map_err(|_| "credential_issuer is not a URL".to_string())?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err("credential_issuer must use the https scheme".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("credential_issuer has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("credential_issuer must not have a query or fragment".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("credential_issuer must not carry credentials".into());
    }
    Ok(url)
}

/// Parses a Credential Offer URI (OID4VCI 1.0 §4.1): `openid-credential-offer://?...` or an
/// `https://` wallet link (universal/app link) with the same query, carrying exactly one of
/// `credential_offer` (the offer by value, §4.1.2) or `credential_offer_uri` (by
/// reference, §4.1.3).
pub fn parse_offer_uri(uri: &str) -> Result<OfferRef> {
    let uri = uri.trim();
    if uri.len() > MAX_OFFER_LEN {
        return Err(Error::InvalidOffer("offer URI too long".into()));
    }
    let url = Url::parse(uri).map_err(|_| Error::InvalidOffer("not a URI".into()))?;
    match url.scheme() {
        OFFER_SCHEME | "https" | "http" => {}
        other => {
            return Err(Error::InvalidOffer(format!(
                "scheme {} is not a credential offer scheme",
                bounded(other)
            )));
        }
    }
    let mut by_value = None;
    let mut by_ref = None;
    for (name, value) in url.query_pairs() {
        let slot = match name.as_ref() {
            "credential_offer" => &mut by_value,
            "credential_offer_uri" => &mut by_ref,
            _ => continue,
        };
        if slot.is_some() {
            return Err(Error::InvalidOffer(format!(
                "{name} appears more than once"
            )));
        }
        *slot = Some(value.into_owned());
    }
    match (by_value, by_ref) {
        (Some(json), None) => Ok(OfferRef::ByValue(CredentialOffer::from_json(
            json.as_bytes(),
        )?)),
        (None, Some(reference)) => {
            // Spec: §4.1: "a URL using the https scheme"; the HTTP client enforces https
            // (or http when explicitly allowed) when it is fetched.
            let parsed = Url::parse(&reference)
                .map_err(|_| Error::InvalidOffer("credential_offer_uri is not a URL".into()))?;
            if parsed.scheme() != "https" && parsed.scheme() != "http" {
                return Err(Error::InvalidOffer(
                    "credential_offer_uri must use the https scheme".into(),
                ));
            }
            Ok(OfferRef::ByReference(reference))
        }
        // Spec: §4.1: each "MUST NOT be present when the [other] parameter is present".
        (Some(_), Some(_)) => Err(Error::InvalidOffer(
            "credential_offer and credential_offer_uri are mutually exclusive".into(),
        )),
        (None, None) => Err(Error::InvalidOffer(
            "neither credential_offer nor credential_offer_uri is present".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Spec example: OID4VCI 1.0 §4.1.2, the native-app offer (line breaks removed).
    const SPEC_OFFER_BY_VALUE: &str = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22:%22https://credential-issuer.example.com%22,%22credential_configuration_ids%22:%5B%22org.iso.18013.5.1.mDL%22%5D,%22grants%22:%7B%22urn:ietf:params:oauth:grant-type:pre-authorized_code%22:%7B%22pre-authorized_code%22:%22oaKazRN8I0IbtZ0C7JuMn5%22,%22tx_code%22:%7B%22input_mode%22:%22text%22,%22description%22:%22Please%20enter%20the%20serial%20number%20of%20your%20physical%20drivers%20license%22%7D%7D%7D%7D";

    #[test]
    fn spec_example_offer_by_value_parses() {
        let OfferRef::ByValue(offer) = parse_offer_uri(SPEC_OFFER_BY_VALUE).unwrap() else {
            panic!("expected by value");
        };
        assert_eq!(
            offer.credential_issuer,
            "https://credential-issuer.example.com"
        );
        assert_eq!(
            offer.credential_configuration_ids,
            ["org.iso.18013.5.1.mDL"]
        );
        let grant = offer.pre_authorized_grant().unwrap();
        assert_eq!(grant.pre_authorized_code, "oaKazRN8I0IbtZ0C7JuMn5");
        let tx = grant.tx_code.as_ref().unwrap();
        assert_eq!(tx.input_mode.as_deref(), Some("text"));
        assert!(!tx.is_numeric());
        assert!(
            tx.description
                .as_deref()
                .unwrap()
                .starts_with("Please enter")
        );
    }

    #[test]
    fn spec_example_offer_by_reference_parses() {
        // Spec example: OID4VCI 1.0 §4.1.3.
        let uri = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";
        assert_eq!(
            parse_offer_uri(uri).unwrap(),
            OfferRef::ByReference(
                "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"
                    .into()
            )
        );
    }

    #[test]
    fn https_wallet_links_carry_the_same_query() {
        let link = SPEC_OFFER_BY_VALUE
            .replace("openid-credential-offer://", "https://wallet.example/offer");
        assert!(matches!(
            parse_offer_uri(&link).unwrap(),
            OfferRef::ByValue(_)
        ));
    }

    #[test]
    fn empty_tx_code_object_still_requires_a_code() {
        let offer = CredentialOffer::from_json(
            br#"{"credential_issuer":"https://i.example","credential_configuration_ids":["a"],
                "grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":
                {"pre-authorized_code":"c","tx_code":{}}}}"#,
        )
        .unwrap();
        let tx = offer
            .pre_authorized_grant()
            .unwrap()
            .tx_code
            .as_ref()
            .unwrap();
        assert!(tx.is_numeric());
    }

    #[test]
    fn malformed_offers_are_rejected() {
        let cases: &[&str] = &[
            r#"{"credential_configuration_ids":["a"]}"#,
            r#"{"credential_issuer":"https://i.example","credential_configuration_ids":[]}"#,
            r#"{"credential_issuer":"https://i.example","credential_configuration_ids":["a","a"]}"#,
            r#"{"credential_issuer":"https://i.example?x=1","credential_configuration_ids":["a"]}"#,
            r#"{"credential_issuer":"https://i.example#f","credential_configuration_ids":["a"]}"#,
            r#"{"credential_issuer":"ftp://i.example","credential_configuration_ids":["a"]}"#,
            r#"{"credential_issuer":"https://i.example","credential_issuer":"https://j.example","credential_configuration_ids":["a"]}"#,
            r#"{"credential_issuer":"https://i.example","credential_configuration_ids":["a"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c","tx_code":{"input_mode":"emoji"}}}}"#,
            r#"["not an object"]"#,
        ];
        for case in cases {
            assert!(
                matches!(
                    CredentialOffer::from_json(case.as_bytes()),
                    Err(Error::InvalidOffer(_))
                ),
                "{case}"
            );
        }
        let long = format!(
            r#"{{"credential_issuer":"https://i.example","credential_configuration_ids":["a"],"grants":{{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{{"pre-authorized_code":"c","tx_code":{{"description":"{}"}}}}}}}}"#,
            "d".repeat(301)
        );
        assert!(CredentialOffer::from_json(long.as_bytes()).is_err());
    }

    #[test]
    fn offer_uri_needs_exactly_one_of_value_or_reference() {
        let both = "openid-credential-offer://?credential_offer=%7B%7D&credential_offer_uri=https%3A%2F%2Fa";
        assert!(matches!(parse_offer_uri(both), Err(Error::InvalidOffer(_))));
        assert!(parse_offer_uri("openid-credential-offer://?foo=bar").is_err());
        let twice = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fa&credential_offer_uri=https%3A%2F%2Fb";
        assert!(parse_offer_uri(twice).is_err());
        assert!(
            parse_offer_uri("openid-credential-offer://?credential_offer_uri=file%3A%2F%2F%2Fetc")
                .is_err()
        );
        assert!(parse_offer_uri("mailto:x@example.com?credential_offer=%7B%7D").is_err());
    }

    #[test]
    fn unknown_grants_and_parameters_are_ignored() {
        let offer = CredentialOffer::from_json(
            br#"{"credential_issuer":"https://i.example/tenant","credential_configuration_ids":["a"],
                "grants":{"urn:example:custom":{}},"future_param":1}"#,
        )
        .unwrap();
        assert!(offer.grants.pre_authorized_code.is_none());
        assert!(matches!(
            offer.pre_authorized_grant(),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn debug_output_redacts_the_pre_authorized_code() {
        let offer = CredentialOffer::from_json(
            br#"{"credential_issuer":"https://i.example","credential_configuration_ids":["a"],
                "grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"SECRET-CODE"}}}"#,
        )
        .unwrap();
        assert!(!format!("{offer:?}").contains("SECRET-CODE"));
    }
}
