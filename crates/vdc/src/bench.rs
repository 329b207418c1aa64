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
    /// No flow starts after this long (flows under way finish); `None`: only `flows` bounds
    /// the run.
    pub duration: Option<Duration>,
    /// The longest wait for one HTTP answer; a longer one is recorded as a `timeout` (a
    /// hang) and counts as a transient failure.
    pub request_timeout: Duration,
    /// How long a step that failed transiently (a 5xx answer, no answer, a timeout) is
    /// retried with the same artifact: the same pre-authorized code, the same key proof
    /// and `c_nonce`. R2: such a retry succeeds if (and only if) the artifact was not
    /// consumed. Zero: a transient failure fails the flow.
    pub retry_for: Duration,
    /// Where to write what the client saw: one JSON line per HTTP request (see
    /// [`Recorder`]), for comparing with the store's rows (`scripts/faults.sh`).
    pub record: Option<std::path::PathBuf>,
    /// What to measure on the server's side.
    pub probe: ProbeTargets,
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
    /// Requests that failed transiently (5xx, no answer, timeout), retried or not.
    pub transient_requests: usize,
    /// Of those, requests that got no answer within the request timeout.
    pub timeouts: usize,
    /// The slowest transiently failed request.
    pub max_transient_latency: Duration,
    /// Latency of each step, in flow order.
    pub steps: Vec<StepStats>,
    /// What the server side cost, if it was probed.
    pub server: ServerCost,
}

/// Latency percentiles of one step of a flow.
#[derive(Debug, Clone)]
pub struct StepStats {
    /// The step (`offer`, `offer_by_reference`, `token`, ...).
    pub name: &'static str,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
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
        )?;
        if self.transient_requests > 0 {
            write!(
                f,
                "; {} requests failed transiently ({} timeouts), slowest {:.1} ms",
                self.transient_requests,
                self.timeouts,
                self.max_transient_latency.as_secs_f64() * 1e3
            )?;
        }
        for s in &self.steps {
            write!(
                f,
                "\n  step {:<20} p50 {:>7.1} ms  p99 {:>7.1} ms",
                s.name,
                s.p50.as_secs_f64() * 1e3,
                s.p99.as_secs_f64() * 1e3
            )?;
        }
        let flows = self.completed + self.failed;
        if let Some(cpu) = self.server.cpu_secs {
            write!(
                f,
                "\n  server CPU {:.2} s: {:.2} cores, {:.0} µs per flow",
                cpu,
                cpu / self.elapsed.as_secs_f64().max(1e-9),
                cpu * 1e6 / flows.max(1) as f64
            )?;
        }
        if let Some(t) = &self.server.transactions {
            write!(
                f,
                "\n  transactions per flow: {:.2} writing (txid_current), {:.2} in all (xact_commit)",
                t.writing as f64 / flows.max(1) as f64,
                t.all as f64 / flows.max(1) as f64
            )?;
        }
        Ok(())
    }
}

/// Pause between retries of a transiently failed step.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Writes what the client saw, one JSON object per line and per HTTP request:
/// `flow` (the flow's number), `step` (`offer`, `token`, `nonce`, `credential`), `attempt`
/// (1, 2, … for retries of one step), `at_ms` (since the run started), `ms` (latency),
/// `outcome` (`ok`; `error` with `status` and, if the body had one, `error`; `transport`
/// when no answer came; `timeout`; `invalid` for an answer that breaks the protocol), and
/// from the offer on `offer_id`. Successful steps add what they received: the nonce step
/// `nonce_sha256`; the credential step `nonce_sha256`, `holder_thumbprint` (RFC 7638) and
/// the credential's `status_list` `{uri, idx}`.
pub struct Recorder {
    out: Option<std::sync::Mutex<std::io::BufWriter<std::fs::File>>>,
    started: Instant,
}

impl Recorder {
    fn new(path: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let out = match path {
            Some(p) => Some(std::sync::Mutex::new(std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            ))),
            None => None,
        };
        Ok(Self {
            out,
            started: Instant::now(),
        })
    }

    fn write(&self, line: &Value) -> anyhow::Result<()> {
        use std::io::Write as _;
        if let Some(out) = &self.out {
            let mut out = out
                .lock()
                .map_err(|_| anyhow::anyhow!("record writer poisoned"))?;
            serde_json::to_writer(&mut *out, line)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn flush(&self) -> anyhow::Result<()> {
        use std::io::Write as _;
        if let Some(out) = &self.out {
            out.lock()
                .map_err(|_| anyhow::anyhow!("record writer poisoned"))?
                .flush()?;
        }
        Ok(())
    }
}

/// How one HTTP request of a flow failed.
#[derive(Debug)]
enum Failure {
    /// An answer with a non-success status (and the OAuth `error`, if any).
    Status { status: u16, error: Option<String> },
    /// No answer: refused, reset, closed.
    Transport(String),
    /// No answer within the request timeout.
    Timeout,
    /// An answer that is not what the protocol says.
    Invalid(String),
}

impl Failure {
    /// Worth retrying with the same artifact (R2).
    fn is_transient(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status >= 500,
            Self::Transport(_) | Self::Timeout => true,
            Self::Invalid(_) => false,
        }
    }

    fn record(&self, line: &mut serde_json::Map<String, Value>) {
        let (outcome, detail) = match self {
            Self::Status { status, error } => {
                line.insert("status".into(), (*status).into());
                if let Some(e) = error {
                    line.insert("error".into(), e.clone().into());
                }
                ("error", None)
            }
            Self::Transport(reason) => ("transport", Some(reason)),
            Self::Timeout => ("timeout", None),
            Self::Invalid(reason) => ("invalid", Some(reason)),
        };
        line.insert("outcome".into(), outcome.into());
        if let Some(d) = detail {
            line.insert("detail".into(), d.clone().into());
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status { status, error } => {
                write!(f, "HTTP {status} {}", error.as_deref().unwrap_or(""))
            }
            Self::Transport(r) => write!(f, "no answer: {r}"),
            Self::Timeout => f.write_str("no answer within the request timeout"),
            Self::Invalid(r) => write!(f, "invalid answer: {r}"),
        }
    }
}

impl From<vdc_holder::Error> for Failure {
    fn from(e: vdc_holder::Error) -> Self {
        match e {
            vdc_holder::Error::OAuth(o) => Self::Status {
                status: o.status,
                error: Some(o.code.as_str().to_owned()),
            },
            vdc_holder::Error::UnexpectedStatus { status, .. } => Self::Status {
                status,
                error: None,
            },
            vdc_holder::Error::Http { reason, .. } => Self::Transport(reason),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<reqwest::Error> for Failure {
    fn from(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else if e.is_decode() {
            Self::Invalid(e.to_string())
        } else {
            Self::Transport(e.to_string())
        }
    }
}

/// Transient-failure figures of one holder.
#[derive(Default)]
struct Transients {
    count: usize,
    timeouts: usize,
    max: Duration,
}

/// One holder's view of the run: shared settings, the recorder and its counters.
struct Holder {
    client: Arc<IssuerClient>,
    http: reqwest::Client,
    recorder: Arc<Recorder>,
    request_timeout: Duration,
    retry_for: Duration,
    transients: Transients,
    steps: Steps,
}

/// Latencies of successful steps, by step.
#[derive(Default)]
struct Steps(Vec<(&'static str, Vec<Duration>)>);

impl Steps {
    fn add(&mut self, step: &'static str, took: Duration) {
        match self.0.iter_mut().find(|(n, _)| *n == step) {
            Some((_, v)) => v.push(took),
            None => self.0.push((step, vec![took])),
        }
    }

    fn merge(&mut self, other: Self) {
        for (name, v) in other.0 {
            for d in v {
                self.add(name, d);
            }
        }
    }

    fn stats(self) -> Vec<StepStats> {
        self.0
            .into_iter()
            .map(|(name, mut v)| {
                v.sort();
                StepStats {
                    name,
                    p50: percentile(&v, 0.5),
                    p99: percentile(&v, 0.99),
                }
            })
            .collect()
    }
}

/// The `p` quantile of sorted `v` (nearest rank).
fn percentile(v: &[Duration], p: f64) -> Duration {
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

impl Holder {
    /// Runs one HTTP step of flow `flow`, retrying transient failures with the same request
    /// until `retry_for` has passed. `base` holds the line's fixed members (`flow`,
    /// `offer_id`); a success adds what `call` returned beside the value.
    async fn step<T, Fut>(
        &mut self,
        step: &'static str,
        base: &serde_json::Map<String, Value>,
        mut call: impl FnMut() -> Fut,
    ) -> anyhow::Result<Result<T, Failure>>
    where
        Fut: std::future::Future<Output = Result<(T, serde_json::Map<String, Value>), Failure>>,
    {
        let first = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let t = Instant::now();
            let answer = tokio::time::timeout(self.request_timeout, call())
                .await
                .unwrap_or(Err(Failure::Timeout));
            let ms = t.elapsed();
            let mut line = base.clone();
            line.insert("step".into(), step.into());
            line.insert("attempt".into(), attempt.into());
            line.insert(
                "at_ms".into(),
                json!(t.duration_since(self.recorder.started).as_secs_f64() * 1e3),
            );
            line.insert("ms".into(), json!(ms.as_secs_f64() * 1e3));
            match answer {
                Ok((value, detail)) => {
                    self.steps.add(step, ms);
                    line.insert("outcome".into(), "ok".into());
                    line.extend(detail);
                    self.recorder.write(&Value::Object(line))?;
                    return Ok(Ok(value));
                }
                Err(failure) => {
                    failure.record(&mut line);
                    self.recorder.write(&Value::Object(line))?;
                    if !failure.is_transient() {
                        return Ok(Err(failure));
                    }
                    self.transients.count += 1;
                    self.transients.timeouts += usize::from(matches!(failure, Failure::Timeout));
                    self.transients.max = self.transients.max.max(ms);
                    if first.elapsed() + RETRY_PAUSE >= self.retry_for {
                        return Ok(Err(failure));
                    }
                    // The load generator paces its own retries in real time; no clock of
                    // the server is involved.
                    #[allow(clippy::disallowed_methods)]
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }
}

/// The endpoints and inputs every flow uses.
struct FlowSetup {
    token_endpoint: String,
    nonce_endpoint: String,
    credential_endpoint: String,
    offers_url: String,
    issuer_url: String,
    admin_key: String,
    configuration: String,
    claims: Value,
}

/// SHA-256 of `text` in lower-case hex (what the store keeps of a nonce, RFC 4648 §8).
fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `status.status_list` of an SD-JWT VC (the issuer-signed JWT's payload).
fn status_list_of(credential: &Value) -> Result<Value, Failure> {
    let compact = credential
        .as_str()
        .ok_or_else(|| Failure::Invalid("credential is not a string".into()))?;
    let payload = compact
        .split('~')
        .next()
        .and_then(|jwt| jwt.split('.').nth(1))
        .ok_or_else(|| Failure::Invalid("credential is not a compact JWS".into()))?;
    let payload = vdc_core::base64url::decode(payload)
        .map_err(|e| Failure::Invalid(format!("credential payload: {e}")))?;
    let claims: Value = serde_json::from_slice(&payload)
        .map_err(|e| Failure::Invalid(format!("credential payload: {e}")))?;
    Ok(claims["status"]["status_list"].clone())
}

/// One flow: offer → token → nonce → credential. `Ok(Err(_))` is a failed flow; `Err(_)`
/// stops the run (the record could not be written, a key could not be made).
async fn flow(
    h: &mut Holder,
    s: &FlowSetup,
    flow: usize,
) -> anyhow::Result<Result<(), (&'static str, Failure)>> {
    let mut base = serde_json::Map::new();
    base.insert("flow".into(), flow.into());
    let body = json!({"credential_configuration_ids": [s.configuration],
        "claims": {s.configuration.clone(): s.claims}});
    let http = h.http.clone();
    let offer = h
        .step("offer", &base, || async {
            let resp = http
                .post(&s.offers_url)
                .bearer_auth(&s.admin_key)
                .json(&body)
                .send()
                .await?;
            let status = resp.status().as_u16();
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            if status != 201 {
                return Err(Failure::Status {
                    status,
                    error: answer["error"].as_str().map(str::to_owned),
                });
            }
            let id = answer["id"].as_str().unwrap_or_default().to_owned();
            let uri = answer["credential_offer_uri"]
                .as_str()
                .ok_or_else(|| Failure::Invalid("offer without a credential_offer_uri".into()))?
                .to_owned();
            let mut detail = serde_json::Map::new();
            detail.insert("offer_id".into(), id.clone().into());
            Ok(((id, uri), detail))
        })
        .await?;
    let (offer_id, offer_uri) = match offer {
        Ok(o) => o,
        Err(f) => return Ok(Err(("offer", f))),
    };
    base.insert("offer_id".into(), offer_id.into());
    // The wallet fetches the offer by reference (OID4VCI 1.0 §4.1.3), as the QR code says.
    let code = h
        .step("offer_by_reference", &base, || async {
            let resp = http.get(&offer_uri).send().await?;
            let status = resp.status().as_u16();
            let answer: Value = resp.json().await.unwrap_or(Value::Null);
            if status != 200 {
                return Err(Failure::Status {
                    status,
                    error: answer["error"].as_str().map(str::to_owned),
                });
            }
            let code = answer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
                ["pre-authorized_code"]
                .as_str()
                .ok_or_else(|| Failure::Invalid("offer without a pre-authorized code".into()))?
                .to_owned();
            Ok((code, serde_json::Map::new()))
        })
        .await?;
    let code = match code {
        Ok(c) => c,
        Err(f) => return Ok(Err(("offer_by_reference", f))),
    };
    let client = h.client.clone();
    let token = h
        .step("token", &base, || async {
            let t = client.token(&s.token_endpoint, &code, None, None).await?;
            Ok((t.access_token, serde_json::Map::new()))
        })
        .await?;
    let token = match token {
        Ok(t) => AccessToken::new(t.as_str()),
        Err(f) => return Ok(Err(("token", f))),
    };
    let nonce = h
        .step("nonce", &base, || async {
            let n = client.nonce(&s.nonce_endpoint).await?;
            let mut detail = serde_json::Map::new();
            detail.insert("nonce_sha256".into(), sha256_hex(&n).into());
            Ok((n, detail))
        })
        .await?;
    let nonce = match nonce {
        Ok(n) => n,
        Err(f) => return Ok(Err(("nonce", f))),
    };
    let key = SigningKey::generate(Algorithm::Es256, &vdc_core::rng::SystemRandom::new())?;
    let thumbprint = key.public_key().thumbprint();
    let holder = LocalSigner::new(key);
    let proof = key_proof::create(
        &holder,
        ProofInput {
            audience: &s.issuer_url,
            nonce: Some(&nonce),
            client_id: None,
            iat: vdc_core::time::SystemClock.now(),
        },
    )
    .await?;
    let request = CredentialRequest {
        target: CredentialTarget::ConfigurationId(s.configuration.clone()),
        jwt_proofs: vec![proof],
    };
    base.insert("nonce_sha256".into(), sha256_hex(&nonce).into());
    base.insert("holder_thumbprint".into(), thumbprint.into());
    let issued = h
        .step("credential", &base, || async {
            match client
                .credential(&s.credential_endpoint, &token, &request)
                .await?
            {
                CredentialResponse::Issued { credentials, .. } if credentials.len() == 1 => {
                    let mut detail = serde_json::Map::new();
                    detail.insert("status_list".into(), status_list_of(&credentials[0])?);
                    Ok(((), detail))
                }
                other => Err(Failure::Invalid(format!(
                    "unexpected credential response {other:?}"
                ))),
            }
        })
        .await?;
    Ok(issued.map_err(|f| ("credential", f)))
}

/// Runs the benchmark.
pub async fn issuance(b: IssuanceBench) -> anyhow::Result<IssuanceReport> {
    if b.holders == 0 || b.flows == 0 {
        bail!("holders and flows must be positive");
    }
    let options = WalletOptions {
        allow_insecure_http: true,
        // The bench bounds each request itself (request_timeout) and records a timeout.
        timeout: b.request_timeout + Duration::from_secs(1),
        ..WalletOptions::default()
    };
    let client = Arc::new(IssuerClient::new(&options)?);
    let issuer_url = format!("{}/issuers/{}", b.url.trim_end_matches('/'), b.issuer);
    let info = client
        .discover(&issuer_url, None)
        .await
        .context("discovering the issuer")?;
    let setup = Arc::new(FlowSetup {
        token_endpoint: info.authorization_server.token_endpoint()?.to_owned(),
        nonce_endpoint: info
            .issuer
            .nonce_endpoint
            .clone()
            .context("the issuer has no nonce endpoint")?,
        credential_endpoint: info.issuer.credential_endpoint.clone(),
        offers_url: format!(
            "{}/api/v1/issuers/{}/offers",
            b.url.trim_end_matches('/'),
            b.issuer
        ),
        issuer_url,
        admin_key: b.admin_key.clone(),
        configuration: b.configuration.clone(),
        claims: b.claims.clone(),
    });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(b.holders)
        .timeout(b.request_timeout + Duration::from_secs(1))
        .build()?;
    let recorder = Arc::new(Recorder::new(b.record.as_deref())?);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let probe = Probe::start(&b.probe).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..b.holders {
        let mut holder = Holder {
            client: client.clone(),
            http: http.clone(),
            recorder: recorder.clone(),
            request_timeout: b.request_timeout,
            retry_for: b.retry_for,
            transients: Transients::default(),
            steps: Steps::default(),
        };
        let (setup, next, flows, duration) = (setup.clone(), next.clone(), b.flows, b.duration);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0usize;
            loop {
                if duration.is_some_and(|d| started.elapsed() >= d) {
                    break;
                }
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= flows {
                    break;
                }
                let t = Instant::now();
                match flow(&mut holder, &setup, n).await? {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err((step, e)) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("flow failed at {step}: {e}");
                        }
                    }
                }
            }
            anyhow::Ok((latencies, failed, holder.transients, holder.steps))
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut transients = Transients::default();
    let mut steps = Steps::default();
    for t in tasks {
        let (l, f, tr, st) = t.await??;
        latencies.extend(l);
        failed += f;
        transients.count += tr.count;
        transients.timeouts += tr.timeouts;
        transients.max = transients.max.max(tr.max);
        steps.merge(st);
    }
    recorder.flush()?;
    let elapsed = started.elapsed();
    let server = probe.finish().await?;
    latencies.sort();
    Ok(IssuanceReport {
        completed: latencies.len(),
        failed,
        elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        transient_requests: transients.count,
        timeouts: transients.timeouts,
        max_transient_latency: transients.max,
        steps: steps.stats(),
        server,
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
    /// What to measure on the server's side.
    pub probe: ProbeTargets,
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
    let probe = Probe::start(&b.probe).await?;
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
            let mut steps = Steps::default();
            while remaining
                .fetch_update(
                    std::sync::atomic::Ordering::SeqCst,
                    std::sync::atomic::Ordering::SeqCst,
                    |n| n.checked_sub(1),
                )
                .is_ok()
            {
                let t = Instant::now();
                let mut flow_steps = Steps::default();
                let flow = async {
                    let step = Instant::now();
                    let created: Value = http
                        .post(&requests_url)
                        .bearer_auth(&admin)
                        .json(&body)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    flow_steps.add("request", step.elapsed());
                    let uri = created["authorization_request"]
                        .as_str()
                        .context("authorization_request")?;
                    let id = created["id"].as_str().context("id")?;
                    // Request object, checks, response (direct_post / direct_post.jwt).
                    let step = Instant::now();
                    wallet.present(uri, &trust).await?;
                    flow_steps.add("present", step.elapsed());
                    // The relying party's back end reads the result.
                    let step = Instant::now();
                    let result: Value = http
                        .get(format!("{requests_url}/{id}"))
                        .bearer_auth(&admin)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    flow_steps.add("result", step.elapsed());
                    if result["status"] != "verified" {
                        bail!("the result is {}, not verified", result["status"]);
                    }
                    anyhow::Ok(())
                };
                match flow.await {
                    Ok(()) => {
                        latencies.push(t.elapsed());
                        steps.merge(flow_steps);
                    }
                    Err(e) => {
                        failed += 1;
                        if failed <= 3 {
                            eprintln!("presentation failed: {e:#}");
                        }
                    }
                }
            }
            (latencies, failed, steps)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut steps = Steps::default();
    for t in tasks {
        let (l, f, st) = t.await?;
        latencies.extend(l);
        failed += f;
        steps.merge(st);
    }
    let elapsed = started.elapsed();
    let server = probe.finish().await?;
    latencies.sort();
    Ok(IssuanceReport {
        completed: latencies.len(),
        failed,
        elapsed,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        transient_requests: 0,
        timeouts: 0,
        max_transient_latency: Duration::ZERO,
        steps: steps.stats(),
        server,
    })
}

/// What the bench measures on the server's side, besides what the client sees.
#[derive(Debug, Clone, Default)]
pub struct ProbeTargets {
    /// The server's Postgres database: transactions per flow are counted there.
    pub db_url: Option<String>,
    /// The server's process id: its CPU time (user + system, every thread) is read from
    /// `/proc/<pid>/stat` before and after.
    pub server_pid: Option<u32>,
}

/// What the server side cost during a run.
#[derive(Debug, Clone, Default)]
pub struct ServerCost {
    /// CPU seconds the server process used.
    pub cpu_secs: Option<f64>,
    /// Transactions in the database.
    pub transactions: Option<Transactions>,
    /// Seconds the probe waited after the run for Postgres to publish its statistics
    /// (whatever ran meanwhile, e.g. the server's background loop, is counted too).
    pub settle_secs: f64,
}

/// Transactions in the server's database during a run.
#[derive(Debug, Clone, Copy)]
pub struct Transactions {
    /// Writing transactions: growth of `txid_current()` (a transaction id is assigned only
    /// to a transaction that writes), less the probe's own.
    pub writing: u64,
    /// Every committed transaction, read-only autocommit statements included: growth of
    /// `pg_stat_database.xact_commit`, less the probe's own.
    pub all: u64,
}

/// What the server side costs while no flow runs for `idle`: the background loop's share,
/// which a run's counts include (tests subtract it).
pub async fn idle_cost(targets: &ProbeTargets, idle: Duration) -> anyhow::Result<ServerCost> {
    let probe = Probe::start(targets).await?;
    // The load generator's own pacing, not the server's clock.
    #[allow(clippy::disallowed_methods)]
    tokio::time::sleep(idle).await;
    probe.finish().await
}

/// A running measurement of the server side.
struct Probe {
    db: Option<(sqlx::PgPool, i64, i64)>,
    cpu: Option<(u32, f64)>,
}

/// CPU seconds of process `pid` (`utime + stime` of `/proc/<pid>/stat`, in clock ticks of
/// 1/100 s, the Linux USER_HZ).
fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unexpected /proc stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    let tick = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("unexpected /proc stat format")?
            .parse::<u64>()? as f64
            / 100.0)
    };
    Ok(tick(11)? + tick(12)?)
}

/// `(txid_current(), xact_commit)` of the probe's database, in one statement.
async fn db_counters(pool: &sqlx::PgPool) -> anyhow::Result<(i64, i64)> {
    let row: (i64, i64) = sqlx::query_as(
        "SELECT txid_current()::BIGINT,
            (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())",
    )
    .fetch_one(pool)
    .await
    .context("reading the database's transaction counters")?;
    Ok(row)
}

impl Probe {
    async fn start(targets: &ProbeTargets) -> anyhow::Result<Self> {
        let db = match &targets.db_url {
            Some(url) if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) => {
                bail!("--db-url must be a postgres:// URL: transactions are counted on Postgres")
            }
            Some(url) => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .context("connecting to --db-url")?;
                let (xid, commits) = db_counters(&pool).await?;
                Some((pool, xid, commits))
            }
            None => None,
        };
        let cpu = match targets.server_pid {
            Some(pid) => Some((pid, cpu_secs(pid)?)),
            None => None,
        };
        Ok(Self { db, cpu })
    }

    async fn finish(self) -> anyhow::Result<ServerCost> {
        let cpu_secs = match self.cpu {
            Some((pid, before)) => Some(cpu_secs(pid)? - before),
            None => None,
        };
        let settle = Instant::now();
        let transactions = match self.db {
            Some((pool, xid0, commits0)) => {
                // Backends publish their statistics when idle, at most once a second and
                // at the latest 10 s later (Postgres 15 `pgstat_report_stat`): read until
                // the count stops moving.
                let mut reads = 0i64;
                let (xid1, mut commits1) = db_counters(&pool).await?;
                reads += 1;
                for _ in 0..12 {
                    #[allow(clippy::disallowed_methods)]
                    tokio::time::sleep(Duration::from_millis(1100)).await;
                    let (_, c) = db_counters(&pool).await?;
                    reads += 1;
                    if c == commits1 {
                        break;
                    }
                    commits1 = c;
                }
                pool.close().await;
                Some(Transactions {
                    // The first read's transaction id, less the probe's one before it.
                    writing: u64::try_from(xid1 - xid0 - 1).unwrap_or(0),
                    // Less the probe's own statements (the first read's and the polls').
                    all: u64::try_from(commits1 - commits0 - reads).unwrap_or(0),
                })
            }
            None => None,
        };
        Ok(ServerCost {
            cpu_secs,
            transactions,
            settle_secs: settle.elapsed().as_secs_f64(),
        })
    }
}
