//! `vdc wallet`: a command-line wallet on top of vdc-holder.

use std::path::PathBuf;

use vdc_holder::{FileStore, Wallet, WalletOptions};

/// Default wallet directory.
pub fn default_dir() -> PathBuf {
    PathBuf::from("vdc-wallet")
}

fn open(dir: &std::path::Path, insecure_http: bool) -> anyhow::Result<Wallet> {
    let options = WalletOptions {
        allow_insecure_http: insecure_http,
        ..WalletOptions::default()
    };
    Ok(Wallet::new(FileStore::open(dir)?, options)?)
}

/// `vdc wallet accept '<offer uri>' [--tx-code N] [--batch N]`: prints one line per credential.
pub async fn accept(
    dir: &std::path::Path,
    offer: &str,
    tx_code: Option<&str>,
    batch: usize,
    insecure_http: bool,
) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let accepted = wallet.accept_offer(offer, tx_code, batch).await?;
    for c in &accepted.credentials {
        println!(
            "credential issued: {} {} from {} (stored as {})",
            c.format,
            c.vct.as_deref().unwrap_or(&c.credential_configuration_id),
            c.issuer,
            c.id
        );
    }
    for d in &accepted.deferred {
        println!(
            "credential deferred: {} (poll again in {} s)",
            d.credential_configuration_id, d.interval
        );
    }
    for e in &accepted.notification_errors {
        eprintln!("warning: notification failed: {e}");
    }
    Ok(())
}

/// `vdc wallet list`.
pub async fn list(dir: &std::path::Path) -> anyhow::Result<()> {
    let store = FileStore::open(dir)?;
    let wallet = Wallet::new(store, WalletOptions::default())?;
    let credentials = wallet.list().await?;
    if credentials.is_empty() {
        println!("no credentials in {}", dir.display());
    }
    for c in credentials {
        println!(
            "{}\t{}\t{}\t{}",
            c.id,
            c.format,
            c.vct.as_deref().unwrap_or(&c.credential_configuration_id),
            c.issuer
        );
    }
    Ok(())
}

/// `vdc wallet present '<openid4vp uri>'`: answers a presentation request with the stored
/// credentials, disclosing only what the DCQL query asks for.
pub async fn present(
    dir: &std::path::Path,
    uri: &str,
    trust_anchor: Option<&std::path::Path>,
    accept_unanchored_verifier: bool,
    insecure_http: bool,
) -> anyhow::Result<()> {
    let wallet = open(dir, insecure_http)?;
    let x509_anchors = match trust_anchor {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            Some(vdc_core::x509::TrustAnchors::from_pem(&pem)?)
        }
        None => None,
    };
    let trust = vdc_holder::VerifierTrust {
        x509_anchors,
        accept_unanchored_x509: accept_unanchored_verifier,
    };
    let request = wallet.resolve_presentation_request(uri, &trust).await?;
    let selections = wallet.select_credentials(&request).await?;
    let mut vp_token = serde_json::Map::new();
    for s in &selections {
        let presentation = wallet.presentation_for(&request, s).await?;
        let paths: Vec<String> = s.paths.iter().map(ToString::to_string).collect();
        println!(
            "presenting {} for {}: {}",
            s.credential.id,
            s.query_id,
            if paths.is_empty() {
                "(no claims)".to_owned()
            } else {
                paths.join(", ")
            }
        );
        vp_token.insert(
            s.query_id.clone(),
            serde_json::Value::Array(vec![presentation.into()]),
        );
    }
    let sent = wallet
        .send_presentation(&request, &serde_json::Value::Object(vp_token))
        .await?;
    println!("presentation accepted by {}", request.client_id);
    if let Some(r) = sent.redirect_uri {
        println!("continue at {r}");
    }
    Ok(())
}
