//! DPoP at the issuer (RFC 9449): server nonces sealed like `c_nonce`s (no write), proof
//! checks with the `jti` recorded once in the store, and the access token scheme a request
//! presents.

use vdc_core::dpop::{self, DpopError, DpopExpectations, VerifiedDpop};
use vdc_core::jose::AlgorithmPolicy;
use vdc_store::SecretHash;

use crate::error::{DpopSite, IssuerError, Result};
use crate::nonce::Purpose;
use crate::service::Issuer;
use crate::tokens::AccessToken;

/// How long a DPoP server nonce is accepted, seconds.
pub const DPOP_NONCE_TTL: i64 = 300;
/// How far a proof's `iat` may be from now, seconds (RFC 9449 §11.1).
pub const DPOP_MAX_AGE: i64 = 300;
/// `dpop_signing_alg_values_supported`.
pub const DPOP_ALGS: &[&str] = &["ES256", "EdDSA"];

/// The scheme an access token was presented with (RFC 6750 §2.1, RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`.
    Dpop,
}

/// What a resource request presents: the access token, its scheme and the `DPoP` header.
#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// The access token.
    pub token: AccessToken,
    /// How it was presented.
    pub scheme: TokenScheme,
    /// The `DPoP` proof header, if any.
    pub proof: Option<String>,
}

impl PresentedToken {
    /// A Bearer token without a proof (the pre-authorized flows of the tests and SDK).
    pub fn bearer(token: AccessToken) -> Self {
        Self {
            token,
            scheme: TokenScheme::Bearer,
            proof: None,
        }
    }
}

/// One endpoint's DPoP context: method and public URL (`htm`, `htu`).
#[derive(Debug, Clone, Copy)]
pub struct DpopTarget<'a> {
    /// Where the proof is checked.
    pub site: DpopSite,
    /// The endpoint path under the issuer (e.g. `/token`).
    pub path: &'a str,
    /// The HTTP method.
    pub method: &'a str,
}

/// What a proof's key must be the key of, for the error a proof by another key gets: the
/// key is the same check (RFC 9449 §4.3 item 12: the thumbprint), but the wallet must learn
/// which binding its proof missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyBinding {
    /// The authorization request's `dpop_jkt` or PAR proof (RFC 9449 §10), at PAR and at
    /// the token endpoint's `authorization_code` grant.
    AuthorizationRequest,
    /// The refresh token's key (RFC 9449 §5), at the `refresh_token` grant.
    RefreshToken,
    /// The access token's `cnf.jkt` (RFC 9449 §7.1), at a protected resource.
    AccessToken,
}

impl KeyBinding {
    /// The `error_description` of a good proof by another key.
    fn wrong_key(self) -> &'static str {
        match self {
            Self::AuthorizationRequest => {
                "the DPoP proof's key is not the key the authorization request was bound to (RFC 9449 §10)"
            }
            Self::RefreshToken => {
                "the DPoP proof's key is not the key the refresh token is bound to (RFC 9449 §5)"
            }
            Self::AccessToken => {
                "the DPoP proof's key is not the key the access token is bound to (RFC 9449 §7.1)"
            }
        }
    }
}

impl Issuer {
    /// A fresh DPoP server nonce (RFC 9449 §8), sealed: handing it out writes nothing.
    pub fn dpop_nonce(&self, issuer_id: &str) -> Result<String> {
        let mut random = [0u8; 16];
        self.rng
            .fill(&mut random)
            .map_err(|e| IssuerError::Internal(e.to_string()))?;
        let expires = self.now().plus(DPOP_NONCE_TTL);
        Ok(crate::nonce::seal(
            self.keys.kek(),
            Purpose::Dpop,
            issuer_id,
            expires,
            random,
        ))
    }

    /// Checks a DPoP proof for `target` (RFC 9449 §4.3): signature, `typ`, `htm`, `htu`,
    /// `iat` window, `ath` when a token is presented, the key when one is expected, then the
    /// server nonce (§8/§9, `use_dpop_nonce` with a fresh one), then records `jti` once (G2).
    pub(crate) async fn check_dpop(
        &self,
        issuer_id: &str,
        proof: &str,
        target: DpopTarget<'_>,
        access_token: Option<&str>,
        expected_jkt: Option<&str>,
    ) -> Result<VerifiedDpop> {
        let expected = expected_jkt.map(|jkt| (jkt, KeyBinding::AccessToken));
        self.check_dpop_bound(issuer_id, proof, target, access_token, expected)
            .await
    }

    /// [`Self::check_dpop`] with the binding `expected` names (its thumbprint and what it
    /// binds), so a proof by another key is told which binding it missed.
    pub(crate) async fn check_dpop_bound(
        &self,
        issuer_id: &str,
        proof: &str,
        target: DpopTarget<'_>,
        access_token: Option<&str>,
        expected: Option<(&str, KeyBinding)>,
    ) -> Result<VerifiedDpop> {
        let site = target.site;
        let invalid = |message: String| IssuerError::InvalidDpopProof { site, message };
        let policy = AlgorithmPolicy::default();
        let htu = format!("{}{}", self.issuer_url(issuer_id), target.path);
        let now = self.now();
        let expect = DpopExpectations {
            htm: target.method,
            htu: &htu,
            now,
            max_age_secs: DPOP_MAX_AGE,
            access_token,
            policy: &policy,
            expected_jkt: expected.map(|(jkt, _)| jkt),
        };
        let verified = dpop::verify(proof, &expect).map_err(|e| match e {
            DpopError::Invalid(m) => invalid(m),
            DpopError::WrongKey => invalid(
                expected
                    .map_or(KeyBinding::AccessToken, |(_, b)| b)
                    .wrong_key()
                    .to_owned(),
            ),
        })?;
        let fresh = verified.nonce.as_deref().is_some_and(|n| {
            crate::nonce::open(self.keys.kek(), Purpose::Dpop, issuer_id, n, now).is_some()
        });
        if !fresh {
            return Err(IssuerError::UseDpopNonce {
                site,
                nonce: self.dpop_nonce(issuer_id)?,
            });
        }
        // The jti is unique per key: hash both, so two clients' jtis never collide.
        let jti_hash = SecretHash::of(&format!("{}\0{}", verified.jkt, verified.jti));
        let until = verified.iat.plus(DPOP_MAX_AGE + self.settings.skew);
        if !self
            .authorizations()?
            .use_dpop_proof(issuer_id, &jti_hash, until, now)
            .await?
        {
            return Err(invalid("the DPoP proof was used before (jti)".into()));
        }
        Ok(verified)
    }
}
