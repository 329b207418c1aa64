//! What wallets present at the issuer's endpoints: an access token as `Bearer` or `DPoP`
//! (RFC 6750 §2.1, RFC 9449 §7.1) and at most one `DPoP` proof header (RFC 9449 §4.3), and
//! the query of a `GET` authorization request (RFC 6749 §3.1).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use vdc_http::ErrorResponse;

use crate::authorization::attestation::ClientAttestationHeaders;
use crate::authorization::dpop::{DPOP_ALGS, PresentedToken, TokenScheme};
use crate::tokens::AccessToken;

/// Longest `DPoP` header accepted (a proof with an embedded P-256 or Ed25519 JWK is
/// ~600 bytes; the bound keeps a hostile header from reaching the JOSE parser).
const MAX_DPOP_HEADER: usize = 4096;
/// Longest authorization request query (a pushed request's is ~200 bytes; an unpushed one
/// with `authorization_details` a few KiB).
const MAX_QUERY: usize = 8192;

/// The `DPoP` header's proof, if any. Spec: RFC 9449 §4.3 (1): "There is not more than one
/// DPoP HTTP request header field"; more is `invalid_dpop_proof`.
fn dpop_header(headers: &HeaderMap) -> Result<Option<String>, &'static str> {
    let mut values = headers.get_all("dpop").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("more than one DPoP header (RFC 9449 §4.3)");
    }
    if first.len() > MAX_DPOP_HEADER {
        return Err("the DPoP header is too long");
    }
    let proof = first
        .to_str()
        .map_err(|_| "the DPoP header is not a compact JWS")?;
    Ok(Some(proof.trim().to_owned()))
}

/// The `DPoP` proof of a request to the authorization server (PAR, token): errors are
/// `400 invalid_dpop_proof` (RFC 9449 §5).
#[derive(Debug, Clone, Default)]
pub(crate) struct DpopProof(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for DpopProof {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        dpop_header(&parts.headers)
            .map(Self)
            .map_err(|m| ErrorResponse::client(StatusCode::BAD_REQUEST, "invalid_dpop_proof", m))
    }
}

/// The `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP` headers of a PAR or
/// token request (draft-ietf-oauth-attestation-based-client-auth); a repeated or oversized
/// one is `401 invalid_client`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientAttestation(pub ClientAttestationHeaders);

impl<S: Send + Sync> FromRequestParts<S> for ClientAttestation {
    type Rejection = crate::error::IssuerError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        ClientAttestationHeaders::from_headers(&parts.headers).map(Self)
    }
}

/// The access token and proof of a request to a protected resource (credential, deferred,
/// notification). Spec: RFC 9449 §7.1: a DPoP-bound token comes as `Authorization: DPoP`;
/// RFC 6750 §3: without a usable token the answer is 401 with a challenge.
#[derive(Debug, Clone)]
pub(crate) struct WalletToken(pub PresentedToken);

fn challenge(error: Option<&str>) -> String {
    let algs = DPOP_ALGS.join(" ");
    match error {
        Some(e) => format!("Bearer error=\"{e}\", DPoP error=\"{e}\", algs=\"{algs}\""),
        None => format!("Bearer, DPoP algs=\"{algs}\""),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WalletToken {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let proof = dpop_header(&parts.headers).map_err(|m| {
            ErrorResponse::client(StatusCode::UNAUTHORIZED, "invalid_dpop_proof", m)
                .with_www_authenticate(challenge(Some("invalid_dpop_proof")))
        })?;
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let value = values.next().and_then(|v| v.to_str().ok());
        let repeated = values.next().is_some();
        let parsed = value.filter(|_| !repeated).and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            let token = token.trim();
            if token.is_empty() || token.contains(' ') {
                return None;
            }
            let scheme = if scheme.eq_ignore_ascii_case("bearer") {
                TokenScheme::Bearer
            } else if scheme.eq_ignore_ascii_case("dpop") {
                TokenScheme::Dpop
            } else {
                return None;
            };
            Some((scheme, token.to_owned()))
        });
        match parsed {
            Some((scheme, token)) => Ok(Self(PresentedToken {
                token: AccessToken::new(token),
                scheme,
                proof,
            })),
            None => Err(ErrorResponse::client(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "an access token is required (Authorization: Bearer or DPoP)",
            )
            .with_www_authenticate(challenge(value.map(|_| "invalid_token")))),
        }
    }
}

/// The query parameters of an authorization request or of the identity provider's
/// redirect. Spec: RFC 6749 §3.1: parameters "MUST NOT be included more than once".
#[derive(Debug, Clone, Default)]
pub(crate) struct OAuthQuery(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for OAuthQuery {
    type Rejection = ErrorResponse;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if query.len() > MAX_QUERY {
            return Err(ErrorResponse::invalid_request(
                "the query is too long; push the request (RFC 9126)",
            ));
        }
        let mut params = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            if params
                .insert(k.clone().into_owned(), v.into_owned())
                .is_some()
            {
                return Err(ErrorResponse::invalid_request(format!(
                    "parameter {k} is repeated"
                )));
            }
        }
        Ok(Self(params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn one_dpop_header_at_most() {
        let mut h = HeaderMap::new();
        assert_eq!(dpop_header(&h), Ok(None));
        h.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(dpop_header(&h), Ok(Some("a.b.c".into())));
        h.append("dpop", HeaderValue::from_static("d.e.f"));
        assert!(dpop_header(&h).is_err());
        let mut h = HeaderMap::new();
        h.insert("dpop", HeaderValue::from_str(&"a".repeat(5000)).unwrap());
        assert!(dpop_header(&h).is_err());
    }
}
