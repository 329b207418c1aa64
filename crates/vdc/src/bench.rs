//! `vdc bench issuance` and `vdc bench presentation`: N concurrent holders doing full
//! pre-authorized issuance flows (or OpenID4VP presentations) against a
//! running server (offer via the management API → token → nonce → credential), printing
//! flows/s and latency percentiles. Traffic goes only to the URL given (loopback in tests).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
use vdc_core::key_proof::{self, ProofInput};
use vdc_core::time::Clock as _;
use vdc_holder::{
    AccessToken, CredentialRequest, CredentialResponse, CredentialTarget, IssuerClient,
    WalletOptions,
};

/// Parameters of an issuance benchmark.
#[derive(Debug, Clone)]
pub struct IssuanceBench {
    /// Base URL of the server.
    pub url: String,
    /// The admin key.
    pub admin_key: String,
    /// The issuer slug.
    pub issuer: String,
    /// The credential configuration (must be a `dc+sd-jwt` one taking `claims`).
    pub configuration: String,
    /// Claims for each offer.
    pub claims: Value,
    /// Concurrent holders.
    pub holders: usize,
    /// Total flows.
    pub flows: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct IssuanceReport {
    /// Flows completed.
    pub completed: usize,
    /// Flows that failed.
    pub failed: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Median flow latency.
    pub p50: Duration,
    /// 99th percentile flow latency.
    pub p99: Duration,
}

impl IssuanceReport {
    /// Completed flows per second.
    pub fn flows_per_sec(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for IssuanceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} flows in {:.2} s: {:.0} flows/s, p50 {:.1} ms, p99 {:.1} ms, {} failed",
            self.completed,
            self.elapsed.as_secs_f64(),
            self.flows_per_sec(),
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.failed
        )
    }
}

/// Runs the benchmark.
pub async fn issuance(b: IssuanceBench) -> anyhow::Result<IssuanceReport> {
    if b.holders == 0 || b.flows == 0 {
        bail!("holders and flows must be positive");
    }
    let options = WalletOptions {
        allow_insecure_http: true,
        ..WalletOptions::default()
    };
    let client = Arc::new(IssuerClient::new(&options)?);
    let issuer_url = format!("{}/issuers/{}", b.url.trim_end_matches('/'), b.issuer);
    let info = client
        .discover(&issuer_url, None)
        .await
        .context("discovering the issuer")?;
    let token_endpoint = info.authorization_server.token_endpoint()?.to_owned();
    let nonce_endpoint = info
        .issuer
        .nonce_endpoint
        .clone()
        .context("the issuer has no nonce endpoint")?;
    let credential_endpoint = info.issuer.credential_endpoint.clone();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(b.holders)
        .build()?;
    let offers_url = format!(
        "{}/api/v1/issuers/{}/offers",
        b.url.trim_end_matches('/'),
        b.issuer
    );
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(b.flows));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.holders {
        let (client, http, remaining) = (client.clone(), http.clone(), remaining.clone());
        let (token_endpoint, nonce_endpoint, credential_endpoint, offers_url, issuer_url) = (
            token_endpoint.clone(),
            nonce_endpoint.clone(),
            credential_endpoint.clone(),
            offers_url.clone(),
            issuer_url.clone(),
        );
        let (admin, config, claims) = (
            b.admin_key.clone(),
            b.configuration.clone(),
            b.claims.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0usize;
            while remaining
                .fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                let t = Instant::now();
                let flow = async {
                    let body = json!({"credential_configuration_ids": [config], "claims": {config.clone(): claims}});
                    let offer: Value = http
                        .post(&offers_url)
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let code = offer["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["pre-authorized_code"]
                        .as_str()
                        .context("offer without a pre-authorized code")?
                        .to_owned();
                    let token = client.token(&token_endpoint, &code, None, None).await?;
                    let nonce = client.nonce(&nonce_endpoint).await?;
                    let key = SigningKey::generate(Algorithm::Es256, &vdc_core::rng::SystemRandom::new())?;
                    let holder = LocalSigner::new(key);
                    let proof = key_proof::create(&holder, ProofInput {
                        audience: &issuer_url,
                        nonce: Some(&nonce),
                        client_id: None,
                        iat: vdc_core::time::SystemClock.now(),
                    })
                    .await?;
                    let request = CredentialRequest { target: CredentialTarget::ConfigurationId(config.clone()), jwt_proofs: vec![proof] };
                    match client.credential(&credential_endpoint, &AccessToken::new(token.access_token.as_str()), &request).await? {
                        CredentialResponse::Issued { credentials, .. } if credentials.len() == 1 => Ok(()),
                        other => Err(anyhow::anyhow!("unexpected credential response {other:?}")),
                    }
                };
                match flow.await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("flow failed: {e:#}");
                        }
                    }
                }
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(IssuanceReport {
        completed: latencies.len(),
        failed,
        elapsed,
        p50: pct(0.5),
        p99: pct(0.99),
    })
}

/// Parameters of a presentation benchmark.
#[derive(Debug, Clone)]
pub struct PresentationBench {
    /// Base URL of the server.
    pub url: String,
    /// The admin key.
    pub admin_key: String,
    /// The issuer whose badge each holder gets first (configuration `EmployeeBadge`).
    pub issuer: String,
    /// The verifier (must trust the issuer).
    pub verifier: String,
    /// `direct_post` or `direct_post.jwt`.
    pub response_mode: String,
    /// Concurrent holders.
    pub holders: usize,
    /// Total presentations.
    pub presentations: usize,
}

/// Runs the presentation benchmark: each holder is issued one badge, then repeatedly the
/// verifier's back end creates a request, the holder fetches and verifies the request
/// object, presents with a KB-JWT and gets the verified answer. The report counts
/// presentations as flows.
pub async fn presentation(b: PresentationBench) -> anyhow::Result<IssuanceReport> {
    if b.holders == 0 || b.presentations == 0 {
        bail!("holders and presentations must be positive");
    }
    let base = b.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(b.holders)
        .build()?;
    let verifier: Value = http
        .get(format!("{base}/api/v1/verifiers/{}", b.verifier))
        .bearer_auth(&b.admin_key)
        .send()
        .await?
        .error_for_status()
        .context("reading the verifier")?
        .json()
        .await?;
    let trust = vdc_holder::VerifierTrust {
        x509_anchors: match verifier["trust_anchor"].as_str() {
            Some(pem) => Some(vdc_core::x509::TrustAnchors::from_pem(pem)?),
            None => None,
        },
        accept_unanchored_x509: false,
    };
    let options = WalletOptions {
        allow_insecure_http: true,
        ..WalletOptions::default()
    };
    let mut wallets = Vec::new();
    for _ in 0..b.holders {
        let wallet = vdc_holder::Wallet::new(vdc_holder::MemoryStore::new(), options.clone())?;
        let offer: Value = http
            .post(format!("{base}/api/v1/issuers/{}/offers", b.issuer))
            .bearer_auth(&b.admin_key)
            .json(&json!({"credential_configuration_ids": ["EmployeeBadge"],
                "claims": {"EmployeeBadge": {"given_name": "Ada", "family_name": "Lovelace", "employee_id": "E-1"}}}))
            .send()
            .await?
            .error_for_status()
            .context("creating an offer")?
            .json()
            .await?;
        wallet
            .accept_offer(offer["offer_uri"].as_str().context("offer_uri")?, None, 1)
            .await
            .context("issuing the holder's badge")?;
        wallets.push(wallet);
    }
    let requests_url = format!("{base}/api/v1/verifiers/{}/requests", b.verifier);
    let body = json!({"dcql_query": {"credentials": [{"id": "badge", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://vdc.example/vct/employee-badge"]},
        "claims": [{"path": ["given_name"]}, {"path": ["employee_id"]}]}]},
        "response_mode": b.response_mode});
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(b.presentations));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for wallet in wallets {
        let (http, remaining, trust, body, requests_url, admin) = (
            http.clone(),
            remaining.clone(),
            trust.clone(),
            body.clone(),
            requests_url.clone(),
            b.admin_key.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0usize;
            while remaining
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok()
            {
                let t = Instant::now();
                let flow = async {
                    let created: Value = http
                        .post(&requests_url)
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    let uri = created["authorization_request"]
                        .as_str()
                        .context("authorization_request")?;
                    wallet.present(uri, &trust).await?;
                    anyhow::Ok(())
                };
                match flow.await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("presentation failed: {e:#}");
                        }
                    }
                }
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failed += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    };
    Ok(IssuanceReport {
        completed: latencies.len(),
        failed,
        elapsed,
        p50: pct(0.5),
        p99: pct(0.99),
    })
}
