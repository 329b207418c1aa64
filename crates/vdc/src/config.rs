//! The one typed configuration (STYLE.md §5): serialized defaults → optional TOML file →
//! `VDC_` environment variables (`__` for nesting) → command-line flags.

use std::fmt;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret configuration value; `Debug` never prints it.
#[derive(Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Which parts `vdc serve` runs (contract: `--role issuer|verifier|status`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Issuer, verifier and status lists together.
    #[default]
    All,
    /// Only the issuer (OID4VCI and its management API).
    Issuer,
    /// Only the verifier.
    Verifier,
    /// Only the status list service.
    Status,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Every setting of `vdc serve`; see `docs/CONFIG.md`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to bind (`VDC_LISTEN`).
    #[serde(deserialize_with = "lenient_string")]
    pub listen: String,
    /// Base URL identifiers and metadata use (`VDC_PUBLIC_URL`); default `http://` + listen.
    pub public_url: Option<String>,
    /// `sqlite://PATH` or `postgres://...` (`VDC_DATABASE_URL`); default a SQLite file in
    /// `data_dir`.
    pub database_url: Option<Secret>,
    /// The admin API key (`VDC_ADMIN_KEY`); generated and printed once on first start if unset.
    pub admin_key: Option<Secret>,
    /// The key-encryption key for private keys at rest, 32 bytes base64url (`VDC_KEK`);
    /// generated into `data_dir/kek` on first start if unset.
    pub kek: Option<Secret>,
    /// Previous KEKs still accepted during a KEK rotation, comma-separated base64url
    /// (`VDC_KEK_PREVIOUS`): what they sealed opens, nonces and pre-authorized codes derived
    /// under them are recognised; nothing new is sealed under them (docs/DEPLOYMENT.md
    /// "Rotating the KEK").
    #[serde(default)]
    pub kek_previous: Option<Secret>,
    /// Serve HTTPS with this PEM certificate chain (`VDC_TLS_CERT`).
    pub tls_cert: Option<PathBuf>,
    /// ... and this PEM private key (`VDC_TLS_KEY`).
    pub tls_key: Option<PathBuf>,
    /// Origins outbound fetches may reach although plain HTTP or private (`VDC_OUTBOUND_ALLOW`).
    pub outbound_allow: String,
    /// PKCS#11 modules (absolute paths, comma-separated) whose tokens may hold signing keys
    /// (`VDC_PKCS11_MODULES`); empty: no HSM keys. PINs come from `VDC_PKCS11_PIN*`.
    #[serde(default)]
    pub pkcs11_modules: String,
    /// Directory for the default SQLite database and generated key material (`VDC_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Log format (`VDC_LOG_FORMAT`: `text` or `json`).
    pub log_format: LogFormat,
    /// Seed the demo issuer and verifier (`VDC_DEMO`).
    pub demo: bool,
    /// Which parts to run (`VDC_ROLE`).
    pub role: Role,
    /// Entries per status list (`VDC_STATUS_LIST_SIZE`; at least 131072, up to 16777216).
    pub status_list_size: u64,
    /// `ttl` of status list tokens, seconds (`VDC_STATUS_TTL`).
    pub status_ttl: i64,
    /// Delay before the first webhook retry, seconds; it doubles on each further retry
    /// (`VDC_WEBHOOK_RETRY_BASE`).
    pub webhook_retry_base: i64,
    /// Attempts per webhook delivery before it is `failed` (`VDC_WEBHOOK_MAX_ATTEMPTS`).
    pub webhook_max_attempts: u32,
    /// Time allowed for one webhook delivery request, seconds (`VDC_WEBHOOK_TIMEOUT`).
    pub webhook_timeout: u64,
    /// Days an audit entry is kept after it was recorded; 0 keeps entries forever
    /// (`VDC_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: u32,
    /// Days a delivered or failed webhook delivery (with its attempts) is kept after its last
    /// attempt; 0 keeps them forever; pending deliveries are never purged
    /// (`VDC_WEBHOOK_RETENTION_DAYS`).
    pub webhook_retention_days: u32,
    /// Days a verified, rejected or expired presentation request is kept after it finished;
    /// 0 keeps them forever; pending requests are never purged
    /// (`VDC_PRESENTATION_RETENTION_DAYS`).
    pub presentation_retention_days: u32,
    /// Seconds a client has to send a request's headers (and the TLS handshake); an idle
    /// keep-alive connection is closed after as long (`VDC_HTTP_HEADER_TIMEOUT`).
    pub http_header_timeout: u64,
    /// Seconds one request may take from its headers to the answer; a long-poll's
    /// `?wait=N` adds N (`VDC_HTTP_REQUEST_TIMEOUT`).
    pub http_request_timeout: u64,
    /// Connections served at once; more wait in the listen backlog
    /// (`VDC_HTTP_MAX_CONNECTIONS`).
    pub http_max_connections: usize,
    /// Time allowed for an issuer's claims endpoint to answer a login (all its calls) or a
    /// deferred credential request, seconds (`VDC_CLAIMS_ENDPOINT_TIMEOUT`).
    pub claims_endpoint_timeout: u64,
    /// Whether issuers and verifiers created without `haip` run in HAIP 1.0 mode
    /// (`VDC_HAIP`; docs/HAIP.md).
    pub haip: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: None,
            database_url: None,
            admin_key: None,
            kek: None,
            kek_previous: None,
            tls_cert: None,
            tls_key: None,
            outbound_allow: String::new(),
            pkcs11_modules: String::new(),
            data_dir: PathBuf::from("vdc-data"),
            log_format: LogFormat::Text,
            demo: false,
            role: Role::All,
            status_list_size: vdc_status::StatusSettings::default().list_size,
            status_ttl: vdc_status::StatusSettings::default().ttl,
            webhook_retry_base: 5,
            webhook_max_attempts: 8,
            webhook_timeout: 10,
            audit_retention_days: 400,
            webhook_retention_days: 30,
            presentation_retention_days: 30,
            http_header_timeout: 10,
            http_request_timeout: 30,
            http_max_connections: 1024,
            claims_endpoint_timeout: 5,
            haip: false,
        }
    }
}

/// The environment variables this configuration reads.
pub const KNOWN_ENV: &[&str] = &[
    "VDC_LISTEN",
    "VDC_PUBLIC_URL",
    "VDC_DATABASE_URL",
    "VDC_ADMIN_KEY",
    "VDC_KEK",
    "VDC_KEK_PREVIOUS",
    "VDC_TLS_CERT",
    "VDC_TLS_KEY",
    "VDC_OUTBOUND_ALLOW",
    "VDC_PKCS11_MODULES",
    "VDC_DATA_DIR",
    "VDC_LOG_FORMAT",
    "VDC_DEMO",
    "VDC_ROLE",
    "VDC_STATUS_LIST_SIZE",
    "VDC_STATUS_TTL",
    "VDC_WEBHOOK_RETRY_BASE",
    "VDC_WEBHOOK_MAX_ATTEMPTS",
    "VDC_WEBHOOK_TIMEOUT",
    "VDC_AUDIT_RETENTION_DAYS",
    "VDC_WEBHOOK_RETENTION_DAYS",
    "VDC_PRESENTATION_RETENTION_DAYS",
    "VDC_HTTP_HEADER_TIMEOUT",
    "VDC_HTTP_REQUEST_TIMEOUT",
    "VDC_HTTP_MAX_CONNECTIONS",
    "VDC_CLAIMS_ENDPOINT_TIMEOUT",
    "VDC_HAIP",
];

/// The longest retention period accepted, days (100 years; longer is "keep forever", 0).
const MAX_RETENTION_DAYS: u32 = 36_500;

/// Variables used by tooling rather than the server (not warned about).
const OTHER_ENV: &[&str] = &[
    "VDC_PG_URL",
    "VDC_SQLITE_URL",
    "VDC_CONFORMANCE_DIR",
    "VDC_LOG",
    // The command-line wallet's directory (`vdc wallet --wallet-dir`).
    "VDC_WALLET_DIR",
];

impl Config {
    /// The PKCS#11 modules of `VDC_PKCS11_MODULES`; each must be an absolute path.
    pub fn pkcs11_modules(&self) -> anyhow::Result<Vec<std::path::PathBuf>> {
        self.pkcs11_modules
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|m| {
                let p = std::path::PathBuf::from(m);
                if !p.is_absolute() {
                    anyhow::bail!(
                        "VDC_PKCS11_MODULES: {m:?} is not an absolute path to a PKCS#11 library"
                    );
                }
                Ok(p)
            })
            .collect()
    }

    /// The entries of `VDC_KEK_PREVIOUS` (base64url text each).
    pub fn previous_keks(&self) -> Vec<String> {
        self.kek_previous
            .as_ref()
            .map(|s| {
                s.0.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Loads defaults, then `file` (if given), then `VDC_*` variables. Errors name the
    /// setting (as the operator wrote it: `VDC_LISTEN`, or `listen` in the file), the
    /// value's problem and where the allowed values are.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut f = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // figment's own error for a missing file names neither the flag nor the path.
            if let Err(e) = std::fs::File::open(path) {
                anyhow::bail!(
                    "--config {}: cannot read this file ({e}); give the path of a TOML file \
                     with keys as in docs/CONFIG.md, or leave --config out",
                    path.display()
                );
            }
            f = f.merge(Toml::file_exact(path));
        }
        f.merge(Env::prefixed("VDC_").split("__").filter(|k| {
            let name = format!("VDC_{}", k.as_str().to_ascii_uppercase());
            KNOWN_ENV.contains(&name.as_str())
        }))
        .extract()
        .map_err(|e| anyhow::anyhow!(describe_figment_error(e)))
    }

    /// Checks what `vdc serve` needs before it touches the store: the listen address, the
    /// public URL, the KEK's shape and a writable data directory. Each error names the
    /// setting, what is wrong with its value and how to fix it.
    pub fn check_serve(&self) -> anyhow::Result<()> {
        check_listen(&self.listen)?;
        if let Some(url) = &self.public_url {
            check_public_url(url)?;
        }
        if let Some(kek) = &self.kek {
            check_kek(&kek.0, "VDC_KEK")?;
        }
        for (i, previous) in self.previous_keks().iter().enumerate() {
            check_kek(previous, &format!("VDC_KEK_PREVIOUS (entry {})", i + 1))?;
        }
        let url = self.database_url();
        let default_db = self.database_url.is_none();
        if default_db || self.kek.is_none() {
            check_writable_dir(
                &self.data_dir,
                "VDC_DATA_DIR",
                "it holds the default SQLite database and the generated KEK",
            )?;
        }
        if let (false, Some(path)) = (default_db, url.strip_prefix("sqlite://")) {
            let dir = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            check_writable_dir(
                dir,
                "VDC_DATABASE_URL",
                "SQLite writes its database, journal and lock files there",
            )?;
        }
        Ok(())
    }

    /// `VDC_*` variables that are set but mean nothing (likely typos); warned about at start.
    pub fn unknown_env() -> Vec<String> {
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| {
                k.starts_with("VDC_")
                    && !KNOWN_ENV.contains(&k.as_str())
                    && !OTHER_ENV.contains(&k.as_str())
                    // PINs of PKCS#11 tokens, named by each HSM key (`pin_env`).
                    && !k.starts_with("VDC_PKCS11_PIN")
            })
            .collect()
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| {
                let scheme = if self.tls_cert.is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", self.listen)
            })
            .trim_end_matches('/')
            .to_owned()
    }

    /// The status list settings.
    pub fn status_settings(&self) -> vdc_status::StatusSettings {
        vdc_status::StatusSettings {
            list_size: self.status_list_size,
            ttl: self.status_ttl,
            ..vdc_status::StatusSettings::default()
        }
    }

    /// The webhook delivery settings; an error names a bad value.
    pub fn webhook_settings(&self) -> anyhow::Result<vdc_webhooks::WebhookSettings> {
        if !(1..=86_400).contains(&self.webhook_retry_base) {
            anyhow::bail!("VDC_WEBHOOK_RETRY_BASE must be 1..=86400 seconds");
        }
        if !(1..=30).contains(&self.webhook_max_attempts) {
            anyhow::bail!("VDC_WEBHOOK_MAX_ATTEMPTS must be 1..=30");
        }
        if !(1..=300).contains(&self.webhook_timeout) {
            anyhow::bail!("VDC_WEBHOOK_TIMEOUT must be 1..=300 seconds");
        }
        Ok(vdc_webhooks::WebhookSettings {
            retry_base: self.webhook_retry_base,
            max_attempts: self.webhook_max_attempts,
            timeout: std::time::Duration::from_secs(self.webhook_timeout),
            ..vdc_webhooks::WebhookSettings::default()
        })
    }

    /// The time bound of one claims endpoint call; an error names a bad value.
    pub fn claims_endpoint_timeout(&self) -> anyhow::Result<std::time::Duration> {
        // Below the default request timeout, so the login callback still answers.
        if !(1..=20).contains(&self.claims_endpoint_timeout) {
            anyhow::bail!("VDC_CLAIMS_ENDPOINT_TIMEOUT must be 1..=20 seconds");
        }
        Ok(std::time::Duration::from_secs(self.claims_endpoint_timeout))
    }

    /// The retention purge settings; an error names a bad value.
    pub fn retention_settings(&self) -> anyhow::Result<crate::retention::RetentionSettings> {
        for (name, days) in [
            ("VDC_AUDIT_RETENTION_DAYS", self.audit_retention_days),
            ("VDC_WEBHOOK_RETENTION_DAYS", self.webhook_retention_days),
            (
                "VDC_PRESENTATION_RETENTION_DAYS",
                self.presentation_retention_days,
            ),
        ] {
            if days > MAX_RETENTION_DAYS {
                anyhow::bail!("{name} must be 0 (keep forever) or 1..={MAX_RETENTION_DAYS} days");
            }
        }
        use crate::retention::RetentionSettings;
        Ok(RetentionSettings {
            audit: RetentionSettings::days(self.audit_retention_days),
            deliveries: RetentionSettings::days(self.webhook_retention_days),
            presentations: RetentionSettings::days(self.presentation_retention_days),
            ..RetentionSettings::default()
        })
    }

    /// The connection limits of `vdc serve`; an error names a bad value.
    pub fn connection_limits(&self) -> anyhow::Result<crate::ConnectionLimits> {
        if !(1..=3_600).contains(&self.http_header_timeout) {
            anyhow::bail!("VDC_HTTP_HEADER_TIMEOUT must be 1..=3600 seconds");
        }
        if !(1..=100_000).contains(&self.http_max_connections) {
            anyhow::bail!("VDC_HTTP_MAX_CONNECTIONS must be 1..=100000");
        }
        Ok(crate::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.http_header_timeout),
            max_connections: self.http_max_connections,
        })
    }

    /// The whole-request timeout (long-poll waits come on top); an error names a bad value.
    pub fn request_timeout(&self) -> anyhow::Result<std::time::Duration> {
        if !(1..=3_600).contains(&self.http_request_timeout) {
            anyhow::bail!("VDC_HTTP_REQUEST_TIMEOUT must be 1..=3600 seconds");
        }
        Ok(std::time::Duration::from_secs(self.http_request_timeout))
    }

    /// The database URL.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(s) => s.0.clone(),
            None => format!("sqlite://{}", self.data_dir.join("vdc.sqlite").display()),
        }
    }
}

/// Reads a string setting that may also arrive as a bare number or boolean: figment types
/// `VDC_LISTEN=8080` as an integer, and [`check_listen`] then says what the value lacks
/// instead of serde's "found unsigned int, expected a string".
fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Ok(s),
        v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Ok(v.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected an address such as 127.0.0.1:8080, found {other}"
        ))),
    }
}

/// One line per figment error: the setting as the operator spelled it, the problem, the fix.
fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            // Named as the operator wrote it: `VDC_A__B` in the environment, `a.b` in the file.
            let key = e.path.join(".");
            let setting = match (&e.metadata, e.path.is_empty()) {
                (_, true) => "the configuration".to_owned(),
                (Some(md), false) => match md.source.as_ref().and_then(|s| s.file_path()) {
                    Some(file) => format!("`{key}` in {}", file.display()),
                    None if md.name.contains("environment") => {
                        format!("VDC_{}", e.path.join("__").to_ascii_uppercase())
                    }
                    None => key,
                },
                (None, false) => key,
            };
            let fix = match &e.kind {
                figment::error::Kind::UnknownField(..) => {
                    "remove it or correct its spelling (the keys are listed in docs/CONFIG.md)"
                }
                _ => "set it to a value of the type and range docs/CONFIG.md gives for it",
            };
            format!("{setting}: {}; fix: {fix}", e.kind)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `host:port` (an IP address, `[v6]` or a name, and a port).
fn check_listen(listen: &str) -> anyhow::Result<()> {
    let ok = listen.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
    });
    if !ok {
        anyhow::bail!(
            "VDC_LISTEN (`listen` in the --config file, or --listen) is {listen:?}, which is \
             not an address to bind: it needs a host and a port; fix: set it to host:port, \
             e.g. 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080 (every interface)"
        );
    }
    Ok(())
}

/// An absolute `http(s)` URL with a host and nothing after the path: identifiers and every
/// link of the pages are built from it.
fn check_public_url(raw: &str) -> anyhow::Result<()> {
    let fix = "fix: set it to the absolute URL wallets and browsers reach this server at, \
               with its scheme, e.g. https://vdc.example.com";
    let problem = match url::Url::parse(raw) {
        Err(url::ParseError::RelativeUrlWithoutBase) => "has no scheme (http:// or https://)",
        Err(_) => "is not a URL",
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            "has a scheme other than http:// or https://"
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => "has no host",
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            "has a query or fragment (only a path may follow the host)"
        }
        Ok(_) => return Ok(()),
    };
    anyhow::bail!(
        "VDC_PUBLIC_URL (`public_url` in the --config file, or --public-url) is {raw:?}, \
         which {problem}; {fix}"
    )
}

/// 32 bytes, base64url. The value itself is never printed (it is a secret).
pub fn check_kek(encoded: &str, source: &str) -> anyhow::Result<()> {
    // The same decoding `KeyEncryptionKey::from_base64url` applies.
    let problem = match vdc_core::base64url::decode(encoded.trim()) {
        Err(_) => "is not unpadded base64url (letters, digits, '-' and '_', no '=')".to_owned(),
        Ok(bytes) if bytes.len() != 32 => format!(
            "decodes to {} bytes; it must be exactly 32 bytes (43 base64url characters)",
            bytes.len()
        ),
        Ok(_) => return Ok(()),
    };
    anyhow::bail!(
        "{source} {problem}; fix: generate one with `head -c32 /dev/urandom | basenc --base64url | tr -d =` \
         (keep the same value for the life of the data: it decrypts the stored signing keys)"
    )
}

/// Creates `dir` when missing and writes (then removes) a probe file in it, so a directory
/// vdc cannot write fails here, named, rather than as "sqlite error code 14" later.
fn check_writable_dir(dir: &std::path::Path, setting: &str, why: &str) -> anyhow::Result<()> {
    let probe = dir.join(format!(".vdc-write-check-{}", std::process::id()));
    let result = crate::create_private_dir(dir).and_then(|()| {
        std::fs::write(&probe, b"")
            .map_err(anyhow::Error::from)
            .and_then(|()| std::fs::remove_file(&probe).map_err(anyhow::Error::from))
    });
    if let Err(e) = result {
        anyhow::bail!(
            "{setting}: the directory {} cannot be created or written ({e:#}); {why}; fix: \
             make it a directory the user running vdc can write (e.g. `chown` it to that \
             user), or point {setting} at one",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_the_one_command_run() {
        let c = Config::default();
        assert_eq!(c.public_url(), "http://127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://vdc-data/vdc.sqlite");
        assert!(
            format!(
                "{:?}",
                Config {
                    admin_key: Some(Secret("s3cret".into())),
                    ..c
                }
            )
            .contains("[redacted]")
        );
    }

    #[test]
    fn retention_defaults_zero_keeps_forever_and_bounds_are_named() {
        let r = Config::default().retention_settings().unwrap();
        assert_eq!(
            (r.audit, r.deliveries, r.presentations),
            (Some(400 * 86_400), Some(30 * 86_400), Some(30 * 86_400))
        );
        let r = Config {
            audit_retention_days: 0,
            webhook_retention_days: 1,
            presentation_retention_days: 36_500,
            ..Config::default()
        }
        .retention_settings()
        .unwrap();
        assert_eq!(
            (r.audit, r.deliveries, r.presentations),
            (None, Some(86_400), Some(36_500 * 86_400))
        );
        let err = Config {
            webhook_retention_days: 36_501,
            ..Config::default()
        }
        .retention_settings()
        .unwrap_err()
        .to_string();
        assert!(err.contains("VDC_WEBHOOK_RETENTION_DAYS"), "{err}");
    }

    #[test]
    fn claims_endpoint_timeout_defaults_to_five_seconds_and_is_bounded() {
        let mut c = Config::default();
        assert_eq!(
            c.claims_endpoint_timeout().unwrap(),
            std::time::Duration::from_secs(5)
        );
        for bad in [0, 21] {
            c.claims_endpoint_timeout = bad;
            let e = c.claims_endpoint_timeout().unwrap_err().to_string();
            assert!(e.contains("VDC_CLAIMS_ENDPOINT_TIMEOUT"), "{e}");
        }
    }

    #[test]
    fn retention_days_are_read_from_the_toml_file() {
        let dir = std::env::temp_dir().join(format!("vdc-config-retention-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vdc.toml");
        std::fs::write(
            &path,
            "audit_retention_days = 0\npresentation_retention_days = 7\n",
        )
        .unwrap();
        let c = Config::load(Some(&path)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            (
                c.audit_retention_days,
                c.webhook_retention_days,
                c.presentation_retention_days
            ),
            (0, 30, 7)
        );
    }

    #[test]
    fn toml_file_errors_name_the_bad_key() {
        let dir = std::env::temp_dir().join(format!("vdc-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("vdc.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\ndemo = \"yes please\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("demo"), "{err}");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n").unwrap();
        assert_eq!(Config::load(Some(&path)).unwrap().listen, "0.0.0.0:9000");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
