//! `vdc doctor`: the self-checks an operator runs before (or instead of) starting a server:
//! store and migrations, the KEK and the keys it seals, the public URL, `x509_san_dns`
//! verifiers' certificates, and the admin key. It creates nothing: no KEK, no admin key.
//! (Opening the store applies pending migrations, as `vdc migrate` does.)

use std::fmt;

use crate::Deps;
use crate::config::Config;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but probably not what a production deployment wants.
    Warn,
    /// Broken: the server will not work.
    Fail,
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    /// The check's name (`store`, `kek`, ...).
    pub name: &'static str,
    /// The outcome.
    pub level: Level,
    /// What was found (never a secret).
    pub message: String,
}

/// All checks, in order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    fn push(&mut self, name: &'static str, level: Level, message: impl Into<String>) {
        self.checks.push(Check {
            name,
            level,
            message: message.into(),
        });
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.level == Level::Fail)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let tag = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            writeln!(f, "[{tag}] {}: {}", c.name, c.message)?;
        }
        Ok(())
    }
}

/// Runs the checks. `verifiers` names the verifiers whose `x509_san_dns` certificate to check
/// (empty: the demo verifier, when it exists).
pub async fn run(config: &Config, verifiers: &[String]) -> Report {
    let mut report = Report::default();
    let public_url = config.public_url();
    match public_url_is_loopback(&public_url) {
        Some(true) => report.push(
            "public_url",
            Level::Warn,
            format!("{public_url} is a loopback address: wallets on other devices cannot reach it (set VDC_PUBLIC_URL)"),
        ),
        Some(false) => report.push("public_url", Level::Ok, public_url.clone()),
        None => report.push(
            "public_url",
            Level::Fail,
            format!("{public_url} is not an absolute URL with a host"),
        ),
    }
    let store = match crate::open_store(&config.database_url()).await {
        Ok(store) => store,
        Err(e) => {
            report.push("store", Level::Fail, format!("{e:#}"));
            return report;
        }
    };
    match store.ping().await {
        Ok(()) => {
            report.push("store", Level::Ok, "reachable");
            report.push("migrations", Level::Ok, "applied");
        }
        Err(e) => {
            report.push("store", Level::Fail, e.to_string());
            return report;
        }
    }
    match crate::admin_key_present(config, store.as_ref()).await {
        Ok(true) => report.push("admin_key", Level::Ok, "configured or stored (hashed)"),
        Ok(false) => report.push(
            "admin_key",
            Level::Warn,
            "none yet: the first `vdc serve` generates and prints one (or set VDC_ADMIN_KEY)",
        ),
        Err(e) => report.push("admin_key", Level::Fail, format!("{e:#}")),
    }
    let kek = match crate::existing_key_encryption_key(config) {
        Ok(Some(kek)) => {
            report.push("kek", Level::Ok, "present");
            kek
        }
        Ok(None) => {
            report.push(
                "kek",
                Level::Warn,
                "none yet: the first `vdc serve` generates data_dir/kek (set VDC_KEK for several instances)",
            );
            return report;
        }
        Err(e) => {
            report.push("kek", Level::Fail, format!("{e:#}"));
            return report;
        }
    };
    match vdc_store::sealed::census(store.as_ref(), &kek, 500).await {
        Ok(tables) => {
            let other: u64 = tables.iter().map(|c| c.other).sum();
            let current: u64 = tables.iter().map(|c| c.current).sum();
            if other == 0 {
                report.push(
                    "kek_rotation",
                    Level::Ok,
                    format!(
                        "all {current} sealed value(s) are under the current KEK ({})",
                        kek.id()
                    ),
                );
            } else {
                let by_table: Vec<String> = tables
                    .iter()
                    .filter(|c| c.other > 0)
                    .map(|c| format!("{} {}", c.table.name(), c.other))
                    .collect();
                report.push(
                    "kek_rotation",
                    Level::Warn,
                    format!(
                        "{other} sealed value(s) are not under the current KEK ({}): {}; run `vdc kek rotate` (keep VDC_KEK_PREVIOUS until it reports 0)",
                        kek.id(),
                        by_table.join(", ")
                    ),
                );
            }
        }
        Err(e) => report.push("kek_rotation", Level::Fail, format!("{e}")),
    }
    let deps = Deps::default();
    let services = match crate::services(
        store.clone(),
        kek,
        &deps,
        &public_url,
        config.status_settings(),
        None,
        &crate::Observers::default(),
    ) {
        Ok(s) => s,
        Err(e) => {
            report.push("status_lists", Level::Fail, format!("{e:#}"));
            return report;
        }
    };
    match services.issuer.check_signing_keys().await {
        Ok(n) => report.push(
            "signing_keys",
            Level::Ok,
            format!("the KEK decrypts the keys of {n} issuer(s)"),
        ),
        Err(e) => report.push(
            "signing_keys",
            Level::Fail,
            format!("stored issuer keys do not decrypt with this KEK (wrong VDC_KEK?): {e}"),
        ),
    }
    trusted_issuers_check(
        &mut report,
        &services.issuer,
        &services.verifier,
        &public_url,
    )
    .await;
    haip_check(&mut report, &services.issuer, &services.verifier).await;
    let verifier = services.verifier;
    let (names, explicit) = if verifiers.is_empty() {
        (vec![crate::demo::DEMO_VERIFIER.to_owned()], false)
    } else {
        (verifiers.to_vec(), true)
    };
    for name in names {
        match verifier.check_client_id_san(&name).await {
            Ok(None) => report.push(
                "verifier_x509",
                Level::Ok,
                format!("{name}: client_id and certificate agree (or not x509_san_dns)"),
            ),
            Ok(Some(problem)) => {
                report.push("verifier_x509", Level::Fail, format!("{name}: {problem}"))
            }
            Err(vdc_verifier::VerifierError::NotFound(_)) if !explicit => {}
            Err(e) => report.push("verifier_x509", Level::Fail, format!("{name}: {e}")),
        }
    }
    report
}

/// Every HAIP-mode issuer's HAIP 1.0 rules (docs/HAIP.md): an unmet rule is a warning
/// naming the section (a HAIP-mode create already refused the configuration rules, so what
/// remains is the deployment's: an https public URL, the signing key's certificate chain).
async fn haip_check(
    report: &mut Report,
    issuer: &vdc_issuer::Issuer,
    verifier: &vdc_verifier::Verifier,
) {
    const NAME: &str = "haip";
    let issuers = match issuer.list_issuers().await {
        Ok(list) => list.items,
        Err(e) => {
            report.push(NAME, Level::Fail, format!("listing issuers: {e}"));
            return;
        }
    };
    let verifiers = match verifier.list_verifiers_where(|_| true).await {
        Ok(list) => list.items,
        Err(e) => {
            report.push(NAME, Level::Fail, format!("listing verifiers: {e}"));
            return;
        }
    };
    let mut tenants = 0;
    let mut unmet = 0;
    let mut push = |what: &str, r: Result<vdc_http::haip::HaipReport, String>| match r {
        Ok(r) => {
            for rule in r.rules.iter().filter(|r| !r.met) {
                unmet += 1;
                report.push(
                    NAME,
                    Level::Warn,
                    format!(
                        "{what}: HAIP 1.0 §{} ({}) not met: {}",
                        rule.section, rule.id, rule.detail
                    ),
                );
            }
        }
        Err(e) => {
            unmet += 1;
            report.push(NAME, Level::Fail, format!("{what}: {e}"));
        }
    };
    for i in issuers.iter().filter(|i| i.haip) {
        tenants += 1;
        let r = issuer.haip_report(&i.id).await.map_err(|e| e.to_string());
        push(&format!("issuer {}", i.id), r);
    }
    for v in verifiers.iter().filter(|v| v.haip) {
        tenants += 1;
        let r = verifier.haip_report(&v.id).await.map_err(|e| e.to_string());
        push(&format!("verifier {}", v.id), r);
    }
    if unmet == 0 {
        report.push(
            NAME,
            Level::Ok,
            format!("{tenants} issuer(s) and verifier(s) in HAIP mode, every HAIP 1.0 rule met"),
        );
    }
}

/// Each verifier's trusted issuers resolve: one under this deployment's public URL names an
/// issuer that exists here; another at least parses as an http(s) URL. An issuer URL of the
/// form `…/issuers/{slug}` on another base, where this deployment has that issuer, is a warning:
/// most likely the public URL changed since the verifier was made (every presentation would
/// be `untrusted_issuer`).
async fn trusted_issuers_check(
    report: &mut Report,
    issuer: &vdc_issuer::Issuer,
    verifier: &vdc_verifier::Verifier,
    public_url: &str,
) {
    const NAME: &str = "trusted_issuers";
    let verifiers = match verifier.list_verifiers_where(|_| true).await {
        Ok(list) => list.items,
        Err(e) => {
            report.push(NAME, Level::Fail, format!("listing verifiers: {e}"));
            return;
        }
    };
    let local: Vec<String> = match issuer.list_issuers().await {
        Ok(list) => list.items.into_iter().map(|i| i.id).collect(),
        Err(e) => {
            report.push(NAME, Level::Fail, format!("listing issuers: {e}"));
            return;
        }
    };
    let prefix = format!("{}/issuers/", public_url.trim_end_matches('/'));
    let mut problems = 0;
    for v in &verifiers {
        for url in &v.trusted_issuers {
            if let Some(slug) = url.strip_prefix(&prefix) {
                if !local.iter().any(|id| id == slug) {
                    problems += 1;
                    report.push(
                        NAME,
                        Level::Fail,
                        format!(
                            "verifier {} trusts {url}, but this deployment has no issuer {slug}",
                            v.id
                        ),
                    );
                }
                continue;
            }
            let parsed = url::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
            let Some(parsed) = parsed else {
                problems += 1;
                report.push(
                    NAME,
                    Level::Fail,
                    format!(
                        "verifier {} trusts {url}, which is not an http(s) URL",
                        v.id
                    ),
                );
                continue;
            };
            let moved = parsed
                .path()
                .strip_prefix("/issuers/")
                .filter(|slug| local.iter().any(|id| id == slug));
            if let Some(slug) = moved {
                problems += 1;
                report.push(
                    NAME,
                    Level::Warn,
                    format!(
                        "verifier {} trusts {url}, not this deployment's {prefix}{slug}: did the public URL change?",
                        v.id
                    ),
                );
            }
        }
    }
    if problems == 0 {
        report.push(
            NAME,
            Level::Ok,
            format!(
                "the trusted issuers of {} verifier(s) resolve",
                verifiers.len()
            ),
        );
    }
}

/// `Some(true)` when the URL's host is loopback (`localhost`, 127.0.0.0/8, `::1`), `None`
/// when it does not parse.
fn public_url_is_loopback(public_url: &str) -> Option<bool> {
    let url = url::Url::parse(public_url).ok()?;
    Some(match url.host()? {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    })
}

/// `vdc health`: whether `url` answers 200 within 5 s (no redirects; a container health
/// check of `/readyz`).
pub async fn probe(url: &str) -> bool {
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(_) => return false,
    };
    matches!(client.get(url).send().await, Ok(r) if r.status() == reqwest::StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_public_urls_are_recognised() {
        assert_eq!(public_url_is_loopback("http://127.0.0.1:8080"), Some(true));
        assert_eq!(public_url_is_loopback("http://localhost:8080"), Some(true));
        assert_eq!(public_url_is_loopback("http://[::1]:8080"), Some(true));
        assert_eq!(
            public_url_is_loopback("https://vdc.example.com"),
            Some(false)
        );
        assert_eq!(public_url_is_loopback("not a url"), None);
    }

    #[test]
    fn a_failed_check_fails_the_report() {
        let mut r = Report::default();
        r.push("a", Level::Warn, "w");
        assert!(!r.failed());
        r.push("b", Level::Fail, "f");
        assert!(r.failed());
        assert!(r.to_string().contains("[FAIL] b: f"));
    }
}
