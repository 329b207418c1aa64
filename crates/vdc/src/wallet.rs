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
