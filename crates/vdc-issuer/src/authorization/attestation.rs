//! Wallet attestation as client authentication at the issuer's authorization server
//! (draft-ietf-oauth-attestation-based-client-auth, "ABCA"; OID4VCI 1.0 Appendix E; HAIP 1.0
//! §4.4.1, §4.3): the `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP` headers
//! of PAR and token requests, the challenge endpoint, and the metadata that announces both.
//!
//! The JWT checks are `vdc_core::client_attestation`'s (pure); what needs state is here:
//! - Challenges are sealed like `c_nonce`s (`crate::nonce`, purpose `AttestationChallenge`:
//!   version, expiry, random, HMAC tag under a KEK-derived key bound to the issuer id), so
//!   handing one out writes nothing and any instance can open it.
//! - The PoP `jti` and the challenge are single use (G2), recorded in the store with
//!   `AuthorizationStore::use_dpop_proof`. That method is a generic "this hash is used once
//!   per issuer until it expires" table; the hashes here are domain-separated
//!   (`client-attestation-pop:` / `client-attestation-challenge:` prefixes, DPoP's are
//!   `jkt\0jti` without one), so they never collide with DPoP `jti`s and no new SQL or
//!   migration is needed. The background purge removes them after their expiry.

use http::HeaderMap;
use serde::Serialize;
use vdc_core::client_attestation::{
    self, ATTESTATION_HEADER, AttestationError, Expectations, POP_HEADER, VerifiedClientAttestation,
};
use vdc_core::jose::AlgorithmPolicy;
use vdc_store::SecretHash;

use crate::definition::IssuerDefinition;
use crate::error::{IssuerError, Result};
use crate::nonce::Purpose;
use crate::service::Issuer;

/// How long a challenge is accepted, seconds.
pub const CHALLENGE_TTL: i64 = 300;
/// How old a PoP's `iat` may be, seconds (plus the clock skew).
pub const POP_MAX_AGE: i64 = 300;
/// Longest `OAuth-Client-Attestation` or `-PoP` header accepted. Spec: ABCA
/// §"Web Server Default Maximum HTTP Header Sizes": typical limits are 8 kB; an attestation
/// with a two-certificate `x5c` is ~2 KiB.
pub const MAX_HEADER_LEN: usize = 8 * 1024;
/// `client_attestation_signing_alg_values_supported` and
/// `client_attestation_pop_signing_alg_values_supported`: what `AlgorithmPolicy::default`
/// verifies (HAIP 1.0 §7: ES256 at least).
pub const ATTESTATION_ALGS: &[&str] = &["ES256", "EdDSA"];
/// The token endpoint authentication method of ABCA with a Client Attestation PoP JWT.
pub const ATTEST_JWT_CLIENT_AUTH: &str = "attest_jwt_client_auth";

/// The `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP` header values of a
/// request (either may be absent). `Debug` does not print them.
#[derive(Clone, Default)]
pub struct ClientAttestationHeaders {
    attestation: Option<String>,
    pop: Option<String>,
}

impl std::fmt::Debug for ClientAttestationHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAttestationHeaders")
            .field("attestation", &self.attestation.is_some())
            .field("pop", &self.pop.is_some())
            .finish()
    }
}

/// One header's value: at most one field (ABCA §"Verification and Processing": "precisely
/// one"), bounded, visible ASCII.
fn one_header(headers: &HeaderMap, name: &str) -> Result<Option<String>> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(IssuerError::InvalidClient(format!(
            "more than one {name} header (ABCA: precisely one)"
        )));
    }
    if first.len() > MAX_HEADER_LEN {
        return Err(IssuerError::InvalidClient(format!(
            "the {name} header is longer than {MAX_HEADER_LEN} bytes"
        )));
    }
    let value = first
        .to_str()
        .map_err(|_| IssuerError::InvalidClient(format!("the {name} header is not a JWT")))?;
    Ok(Some(value.trim().to_owned()))
}

impl ClientAttestationHeaders {
    /// The two headers of a request (names are case-insensitive, RFC 9110).
    pub fn from_headers(headers: &HeaderMap) -> Result<Self> {
        Ok(Self {
            attestation: one_header(headers, ATTESTATION_HEADER)?,
            pop: one_header(headers, POP_HEADER)?,
        })
    }

    /// Headers with these values (wallet code and tests).
    pub fn new(attestation: Option<String>, pop: Option<String>) -> Self {
        Self { attestation, pop }
    }

    /// Whether the request carried either header.
    pub fn is_present(&self) -> bool {
        self.attestation.is_some() || self.pop.is_some()
    }
}

/// The challenge endpoint's answer (ABCA §"Providing Challenges through the Challenge
/// Endpoint").
#[derive(Clone, Serialize)]
pub struct ChallengeResponse {
    /// The challenge for the next Client Attestation PoP.
    pub attestation_challenge: String,
}

impl std::fmt::Debug for ChallengeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengeResponse").finish_non_exhaustive()
    }
}

/// The RFC 8414 members of ABCA (§"Authorization Server and Resource Server Metadata",
/// §"Challenge Endpoint", IANA §"OAuth Authorization Server Metadata Registration"),
/// published when the issuer trusts wallet providers.
#[derive(Debug, Clone, Serialize)]
pub struct ClientAttestationMetadata {
    /// The challenge endpoint.
    pub challenge_endpoint: String,
    /// Algorithms accepted on the Client Attestation JWT.
    pub client_attestation_signing_alg_values_supported: Vec<&'static str>,
    /// Algorithms accepted on the Client Attestation PoP JWT.
    pub client_attestation_pop_signing_alg_values_supported: Vec<&'static str>,
}

/// `token_endpoint_auth_methods_supported` of an issuer: `none` (public clients), plus
/// `attest_jwt_client_auth` when it trusts wallet providers; in HAIP mode only the latter
/// (HAIP 1.0 §4.4.1: issuers MUST require client authentication).
pub fn token_endpoint_auth_methods(def: &IssuerDefinition) -> Vec<&'static str> {
    match (
        def.is_haip(),
        def.wallet_attestation_trust_anchors.is_empty(),
    ) {
        (true, _) => vec![ATTEST_JWT_CLIENT_AUTH],
        (false, false) => vec![ATTEST_JWT_CLIENT_AUTH, "none"],
        (false, true) => vec!["none"],
    }
}

/// Whether the PoP must carry a server challenge: in HAIP mode, always (vdc's choice: the
/// challenge is then the replay protection ABCA §"Replay Attacks" calls stronger, on top of
/// the `jti`). Elsewhere a challenge is checked when present, and the `jti` with its `iat`
/// window suffices (ABCA: "support by the Authorization/Resource Server is OPTIONAL").
pub fn challenge_required(def: &IssuerDefinition) -> bool {
    def.is_haip()
}

/// Where a client authenticates, for the error descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuthSite {
    /// The pushed authorization request endpoint (HAIP 1.0 §4.3).
    Par,
    /// The token endpoint (HAIP 1.0 §4.4.1).
    Token,
}

impl ClientAuthSite {
    fn name(self) -> &'static str {
        match self {
            Self::Par => "pushed authorization request",
            Self::Token => "token request",
        }
    }
}

/// A client authenticated by its wallet attestation.
#[derive(Debug, Clone)]
pub(crate) struct AuthenticatedClient {
    /// The attestation's `sub`.
    pub(crate) client_id: String,
    /// The RFC 7638 thumbprint of the client instance key (`cnf.jwk`), to which the
    /// authorization code and refresh tokens of a flow that began with this attestation are
    /// bound (ABCA "Refresh token binding", "Binding of OAuth protocol artifacts").
    pub(crate) instance_jkt: String,
}

fn from_core(e: AttestationError) -> IssuerError {
    match e {
        AttestationError::Invalid(m) => IssuerError::InvalidClient(m),
        AttestationError::NotFresh(m) => IssuerError::UseFreshAttestation(m),
    }
}

impl Issuer {
    /// A fresh attestation challenge (ABCA §"Challenges"), sealed: handing it out writes
    /// nothing.
    pub fn attestation_challenge(&self, issuer_id: &str) -> Result<String> {
        let mut random = [0u8; 16];
        self.rng
            .fill(&mut random)
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        Ok(crate::nonce::seal(
            self.keys.kek(),
            Purpose::AttestationChallenge,
            issuer_id,
            self.now().plus(CHALLENGE_TTL),
            random,
        ))
    }

    /// The challenge endpoint (ABCA §"Providing Challenges through the Challenge
    /// Endpoint"), served by issuers that trust wallet providers.
    pub async fn challenge_endpoint(&self, issuer_id: &str) -> Result<ChallengeResponse> {
        let def = self.wallet_definition(issuer_id).await?;
        if def.wallet_attestation_trust_anchors.is_empty() {
            return Err(IssuerError::NotFound(format!(
                "issuer {issuer_id} accepts no wallet attestations (no wallet_attestation_trust_anchors)"
            )));
        }
        Ok(ChallengeResponse {
            attestation_challenge: self.attestation_challenge(issuer_id)?,
        })
    }

    /// The ABCA metadata members of an issuer that trusts wallet providers.
    pub(crate) fn attestation_metadata(
        &self,
        def: &IssuerDefinition,
    ) -> Option<ClientAttestationMetadata> {
        (!def.wallet_attestation_trust_anchors.is_empty()).then(|| ClientAttestationMetadata {
            challenge_endpoint: format!("{}/challenge", self.issuer_url(&def.id)),
            client_attestation_signing_alg_values_supported: ATTESTATION_ALGS.to_vec(),
            client_attestation_pop_signing_alg_values_supported: ATTESTATION_ALGS.to_vec(),
        })
    }

    /// A `use_attestation_challenge` error carrying a fresh challenge (ABCA §"Errors": the
    /// code MUST come with the `OAuth-Client-Attestation-Challenge` header).
    fn use_challenge(&self, issuer_id: &str, message: &str) -> IssuerError {
        match self.attestation_challenge(issuer_id) {
            Ok(challenge) => IssuerError::UseAttestationChallenge {
                challenge,
                message: message.to_owned(),
            },
            Err(e) => e,
        }
    }

    /// Authenticates the client of a PAR or token request by its wallet attestation:
    /// `Ok(None)` when the request carries none and the issuer does not require one.
    /// `client_id` is the request's, which must be the attestation's `sub` when given.
    pub(crate) async fn authenticate_client(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        headers: &ClientAttestationHeaders,
        client_id: Option<&str>,
        site: ClientAuthSite,
        dpop_proof: Option<&str>,
    ) -> Result<Option<AuthenticatedClient>> {
        let (attestation, pop) = match (&headers.attestation, &headers.pop) {
            (None, None) if def.is_haip() => {
                // Spec: HAIP 1.0 §4.4.1: "Wallets MUST use, and Issuers MUST require, an
                // OAuth2 Client authentication mechanism at OAuth2 Endpoints that support
                // client authentication (such as the PAR and Token Endpoints)"; §4.3 for PAR.
                return Err(IssuerError::InvalidClient(format!(
                    "this issuer runs in HAIP mode: the {} must authenticate the wallet with OAuth-Client-Attestation and OAuth-Client-Attestation-PoP headers (HAIP 1.0 §4.4.1, attest_jwt_client_auth)",
                    site.name()
                )));
            }
            (None, None) => return Ok(None),
            (Some(a), Some(p)) => (a, p),
            _ => {
                return Err(IssuerError::InvalidClient(
                    "a client attestation needs both the OAuth-Client-Attestation and the OAuth-Client-Attestation-PoP header".into(),
                ));
            }
        };
        if def.wallet_attestation_trust_anchors.is_empty() {
            return Err(IssuerError::InvalidClient(
                "no wallet attestation trust anchors configured: this issuer accepts no client attestations".into(),
            ));
        }
        let anchors = crate::definition::trust_anchors(&def.wallet_attestation_trust_anchors)?;
        let policy = AlgorithmPolicy::default();
        let audience = self.issuer_url(issuer_id);
        let now = self.now();
        let expect = Expectations {
            anchors: &anchors,
            policy: &policy,
            audience: &audience,
            client_id,
            now,
            pop_max_age_secs: POP_MAX_AGE,
            skew: self.settings.skew,
        };
        let verified = client_attestation::verify(attestation, pop, &expect).map_err(from_core)?;
        let challenge_until = self.open_challenge(issuer_id, def, &verified)?;
        self.dpop_nonce_first(issuer_id, dpop_proof)?;
        self.consume(issuer_id, &verified, challenge_until).await?;
        tracing::info!(
            issuer = issuer_id,
            client_id = %verified.client_id.chars().take(64).collect::<String>(),
            challenge = verified.challenge.is_some(),
            "wallet authenticated by client attestation"
        );
        Ok(Some(AuthenticatedClient {
            client_id: verified.client_id,
            instance_jkt: verified.instance_jkt,
        }))
    }

    /// The expiry of the PoP's challenge when it has one this deployment made for the
    /// issuer; `use_attestation_challenge` when it is forged, foreign, expired, or missing
    /// where required (ABCA §"Verification and Processing": "If the server provided a
    /// challenge value to the client, the challenge claim is present ... and matches").
    fn open_challenge(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        verified: &VerifiedClientAttestation,
    ) -> Result<Option<vdc_core::time::UnixTime>> {
        match &verified.challenge {
            Some(c) => crate::nonce::open(
                self.keys.kek(),
                Purpose::AttestationChallenge,
                issuer_id,
                c,
                self.now(),
            )
            .map(Some)
            .ok_or_else(|| {
                self.use_challenge(
                    issuer_id,
                    "the client attestation PoP's challenge is unknown or expired; use the OAuth-Client-Attestation-Challenge of this response",
                )
            }),
            None if challenge_required(def) => Err(self.use_challenge(
                issuer_id,
                "this issuer requires a server challenge in the client attestation PoP: use the OAuth-Client-Attestation-Challenge of this response or its challenge endpoint",
            )),
            None => Ok(None),
        }
    }

    /// `use_dpop_nonce` now, before the PoP's `jti` and challenge are spent, when the
    /// request's DPoP proof lacks a fresh server nonce: the DPoP check after this would
    /// answer the same, and the wallet can then retry with the same attestation PoP instead
    /// of fetching a new challenge. The proof is only read here; it is checked in full later.
    fn dpop_nonce_first(&self, issuer_id: &str, dpop_proof: Option<&str>) -> Result<()> {
        let Some(proof) = dpop_proof.and_then(|p| vdc_core::jose::jws::decode(p).ok()) else {
            return Ok(());
        };
        let fresh = proof.claim_str("nonce").is_some_and(|n| {
            crate::nonce::open(self.keys.kek(), Purpose::Dpop, issuer_id, n, self.now()).is_some()
        });
        if fresh {
            return Ok(());
        }
        Err(IssuerError::UseDpopNonce {
            site: crate::error::DpopSite::AuthorizationServer,
            nonce: self.dpop_nonce(issuer_id)?,
        })
    }

    /// Records the PoP `jti` and the challenge as used, once each (G2).
    async fn consume(
        &self,
        issuer_id: &str,
        verified: &VerifiedClientAttestation,
        challenge_until: Option<vdc_core::time::UnixTime>,
    ) -> Result<()> {
        let store = self.authorizations()?;
        let now = self.now();
        // The jti is unique per client instance key (ABCA §"Replay Attacks"), so two
        // instances' jtis never collide; it is kept for as long as its iat is accepted.
        let jti_hash = SecretHash::of(&format!(
            "client-attestation-pop:{}\0{}",
            verified.instance_jkt, verified.jti
        ));
        let until = verified.iat.plus(POP_MAX_AGE + self.settings.skew);
        if !store
            .use_dpop_proof(issuer_id, &jti_hash, until, now)
            .await?
        {
            return Err(IssuerError::InvalidClient(
                "the client attestation PoP was used before (jti)".into(),
            ));
        }
        if let (Some(challenge), Some(until)) = (&verified.challenge, challenge_until) {
            let hash = SecretHash::of(&format!("client-attestation-challenge:{challenge}"));
            if !store.use_dpop_proof(issuer_id, &hash, until, now).await? {
                return Err(self.use_challenge(
                    issuer_id,
                    "the client attestation PoP's challenge was used before; use the OAuth-Client-Attestation-Challenge of this response",
                ));
            }
        }
        Ok(())
    }

    /// Authenticates a token request's client; without a `client_id` in the request the
    /// attested one (`sub`) is the client (ABCA §"Client Attestation as an OAuth Client
    /// Authentication"; for the pre-authorized code grant a client_id is optional, OID4VCI
    /// 1.0 §6.1).
    pub(crate) async fn authenticate_token_client(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        client_id: &mut Option<String>,
        headers: &ClientAttestationHeaders,
        dpop_proof: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(client) = self
            .authenticate_client(
                issuer_id,
                def,
                headers,
                client_id.as_deref(),
                ClientAuthSite::Token,
                dpop_proof,
            )
            .await?
        else {
            return Ok(None);
        };
        client_id.get_or_insert(client.client_id);
        Ok(Some(client.instance_jkt))
    }

    /// Authenticates a pushed authorization request's client. Spec: HAIP 1.0 §4.4.1: "the
    /// client_id value in the PAR request MUST be the string in the sub value in the client
    /// attestation JWT"; §4.3: wallets authenticate at PAR as at the token endpoint.
    pub(crate) async fn authenticate_par_client(
        &self,
        issuer_id: &str,
        def: &IssuerDefinition,
        params: &mut std::collections::HashMap<String, String>,
        headers: &ClientAttestationHeaders,
        dpop_proof: Option<&str>,
    ) -> Result<Option<String>> {
        let given = params.get("client_id").cloned();
        let Some(client) = self
            .authenticate_client(
                issuer_id,
                def,
                headers,
                given.as_deref(),
                ClientAuthSite::Par,
                dpop_proof,
            )
            .await?
        else {
            return Ok(None);
        };
        params
            .entry("client_id".to_owned())
            .or_insert(client.client_id);
        Ok(Some(client.instance_jkt))
    }

    /// Spec: draft-ietf-oauth-attestation-based-client-auth, "Refresh token binding" (MUST)
    /// and "Binding of OAuth protocol artifacts" (authorization codes, RECOMMENDED): a flow
    /// whose pushed request was attested is bound to that client instance key; its code and
    /// refresh tokens are redeemed only with an attestation of the same key. `artifact`
    /// names what is being redeemed.
    pub(crate) fn check_instance_binding(
        bound: Option<&str>,
        attested: Option<&str>,
        artifact: &str,
    ) -> Result<()> {
        match (bound, attested) {
            (None, _) => Ok(()),
            (Some(b), Some(a)) if b == a => Ok(()),
            (Some(_), _) => Err(IssuerError::InvalidGrant(format!(
                "the {artifact} is bound to the wallet instance attested at the pushed authorization request: authenticate with a client attestation of the same instance key (cnf)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn def(haip: bool, anchors: bool) -> IssuerDefinition {
        let mut v = serde_json::json!({"id": "acme", "credential_configurations": {}});
        if haip {
            v["haip"] = true.into();
        }
        if anchors {
            v["wallet_attestation_trust_anchors"] = serde_json::json!(["(pem)"]);
        }
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn auth_methods_follow_anchors_and_haip() {
        assert_eq!(
            token_endpoint_auth_methods(&def(false, false)),
            vec!["none"]
        );
        assert_eq!(
            token_endpoint_auth_methods(&def(false, true)),
            vec![ATTEST_JWT_CLIENT_AUTH, "none"]
        );
        assert_eq!(
            token_endpoint_auth_methods(&def(true, true)),
            vec![ATTEST_JWT_CLIENT_AUTH]
        );
        assert!(challenge_required(&def(true, true)));
        assert!(!challenge_required(&def(false, true)));
    }

    #[test]
    fn headers_are_read_once_each_and_bounded() {
        let mut h = HeaderMap::new();
        let none = ClientAttestationHeaders::from_headers(&h).unwrap();
        assert!(!none.is_present());
        h.insert(
            "oauth-client-attestation",
            HeaderValue::from_static("a.b.c"),
        );
        let one = ClientAttestationHeaders::from_headers(&h).unwrap();
        assert!(one.is_present());
        assert_eq!(one.attestation.as_deref(), Some("a.b.c"));
        assert_eq!(one.pop, None);
        h.append(
            "OAuth-Client-Attestation",
            HeaderValue::from_static("d.e.f"),
        );
        assert!(matches!(
            ClientAttestationHeaders::from_headers(&h),
            Err(IssuerError::InvalidClient(_))
        ));
        let mut h = HeaderMap::new();
        h.insert(
            "oauth-client-attestation-pop",
            HeaderValue::from_str(&"a".repeat(MAX_HEADER_LEN + 1)).unwrap(),
        );
        assert!(matches!(
            ClientAttestationHeaders::from_headers(&h),
            Err(IssuerError::InvalidClient(m)) if m.contains("longer")
        ));
        // Debug never shows the values.
        let shown = format!(
            "{:?}",
            ClientAttestationHeaders::new(Some("secret.jwt.x".into()), None)
        );
        assert!(!shown.contains("secret"));
    }
}
