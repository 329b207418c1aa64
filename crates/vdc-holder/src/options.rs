//! [`WalletOptions`]: how a wallet behaves (transport, time, keys, trust). Its own module so
//! the HTTP client and the wallet both read it without importing each other.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use vdc_core::jose::{Algorithm, AlgorithmPolicy};
use vdc_core::rng::{RandomSource, SystemRandom};
use vdc_core::sd_jwt_vc::IssuerKeyResolver;
use vdc_core::time::{Clock, DEFAULT_SKEW_SECS, SystemClock};

/// Default total time for one HTTP request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default largest HTTP response body (a batch of SD-JWT VCs fits comfortably).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// How a [`Wallet`](crate::Wallet) behaves.
#[derive(Clone)]
pub struct WalletOptions {
    /// Permit `http://` URLs (local testing only; OID4VCI 1.0 requires TLS everywhere).
    pub allow_insecure_http: bool,
    /// Total time for one HTTP request, including reading the body.
    pub timeout: Duration,
    /// Largest HTTP response body accepted.
    pub max_response_bytes: usize,
    /// The clock for key proof `iat`, credential time checks and `received_at`.
    pub clock: Arc<dyn Clock>,
    /// Randomness for holder keys and credential ids.
    pub rng: Arc<dyn RandomSource>,
    /// Holder key algorithms in preference order; the first one the issuer lists in
    /// `proof_signing_alg_values_supported` is used.
    pub proof_algorithms: Vec<Algorithm>,
    /// Algorithms accepted for the issuer's signature on received credentials.
    pub credential_algorithms: AlgorithmPolicy,
    /// Allowed clock skew (seconds) when checking received credentials.
    pub skew_secs: i64,
    /// Send `credential_accepted` / `credential_failure` to the Notification Endpoint
    /// (OID4VCI 1.0 §11) automatically.
    pub send_notifications: bool,
    /// How issuer keys of received credentials are found. `None`: JWT VC Issuer Metadata
    /// at the credential's `iss` (and did:jwk/did:key issuers of `jwt_vc_json`). Set a
    /// [`vdc_core::sd_jwt_vc::IssuerTrustPolicy`] or another resolver for x5c or pinned keys.
    pub issuer_key_resolver: Option<Arc<dyn IssuerKeyResolver>>,
}

impl fmt::Debug for WalletOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletOptions")
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("proof_algorithms", &self.proof_algorithms)
            .field("skew_secs", &self.skew_secs)
            .field("send_notifications", &self.send_notifications)
            .finish_non_exhaustive()
    }
}

impl Default for WalletOptions {
    fn default() -> Self {
        Self {
            allow_insecure_http: false,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            clock: Arc::new(SystemClock),
            rng: Arc::new(SystemRandom::new()),
            proof_algorithms: vec![Algorithm::Es256, Algorithm::EdDsa],
            credential_algorithms: AlgorithmPolicy::default(),
            skew_secs: DEFAULT_SKEW_SECS,
            send_notifications: true,
            issuer_key_resolver: None,
        }
    }
}
