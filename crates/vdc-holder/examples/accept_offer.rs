//! Accept a Credential Offer from any OID4VCI 1.0 issuer (pre-authorized code flow) and
//! store the credentials in a directory.
//!
//! ```text
//! cargo run -p vdc-holder --example accept_offer -- '<offer-uri>' \
//!     [--tx-code 493536] [--batch 3] [--store ./wallet] [--insecure-http]
//! ```
//!
//! `<offer-uri>` is what the issuer shows as a QR code or link:
//! `openid-credential-offer://?credential_offer=...`, `...?credential_offer_uri=...`, or an
//! `https://` wallet link with the same query. When the offer requires a transaction code
//! and `--tx-code` is absent, the example asks for it on stdin, showing the issuer's
//! description. `--insecure-http` permits `http://` issuers (local testing only).

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;

use vdc_holder::{FileStore, Wallet, WalletOptions};

struct Args {
    offer: String,
    tx_code: Option<String>,
    batch: usize,
    store: String,
    insecure_http: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        offer: String::new(),
        tx_code: None,
        batch: 1,
        store: "./wallet".into(),
        insecure_http: false,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tx-code" => parsed.tx_code = Some(args.next().ok_or("--tx-code needs a value")?),
            "--batch" => {
                parsed.batch = args
                    .next()
                    .and_then(|b| b.parse().ok())
                    .ok_or("--batch needs a number")?;
            }
            "--store" => parsed.store = args.next().ok_or("--store needs a directory")?,
            "--insecure-http" => parsed.insecure_http = true,
            _ if parsed.offer.is_empty() => parsed.offer = a,
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    if parsed.offer.is_empty() {
        return Err("usage: accept_offer <offer-uri> [--tx-code CODE] [--batch N] [--store DIR] [--insecure-http]".into());
    }
    Ok(parsed)
}

fn ask(prompt: &str) -> Option<String> {
    print!("{prompt}: ");
    std::io::stdout().flush().ok()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim().to_owned())
}

async fn run(args: Args) -> Result<(), vdc_holder::Error> {
    let options = WalletOptions {
        allow_insecure_http: args.insecure_http,
        ..WalletOptions::default()
    };
    let wallet = Wallet::new(FileStore::open(&args.store)?, options)?;

    // 1. Look at the offer before acting on it (OID4VCI 1.0 §13.4: the offer is untrusted
    //    input; show the End-User who is offering what).
    let offer = wallet.resolve_offer(&args.offer).await?;
    println!("Issuer: {}", offer.credential_issuer);
    println!("Offered: {}", offer.credential_configuration_ids.join(", "));

    // 2. The transaction code, if the issuer asks for one.
    let mut tx_code = args.tx_code;
    if let Some(tx) = offer.pre_authorized_grant()?.tx_code.as_ref()
        && tx_code.is_none()
    {
        let hint = tx
            .description
            .as_deref()
            .unwrap_or("Enter the transaction code");
        let kind = if tx.is_numeric() {
            "digits"
        } else {
            "characters"
        };
        let len = tx
            .length
            .map(|l| format!(", {l} {kind}"))
            .unwrap_or_default();
        tx_code = ask(&format!("{hint}{len}"));
    }

    // 3. Token, nonce, key proofs, credentials, verification, storage, notification.
    let accepted = wallet
        .accept(&offer, tx_code.as_deref(), args.batch)
        .await?;
    for c in &accepted.credentials {
        println!(
            "Stored {} ({}, {}) from {}",
            c.id,
            c.format,
            c.vct.as_deref().unwrap_or(&c.credential_configuration_id),
            c.issuer
        );
    }
    for e in &accepted.notification_errors {
        eprintln!("notification failed (ignored): {e}");
    }

    // 4. Deferred issuance: poll after the interval the issuer asked for.
    let mut pending = accepted.deferred;
    for _ in 0..10 {
        let Some(handle) = pending.pop() else { break };
        println!("Issuance deferred; polling in {}s", handle.interval);
        // An interactive example may wait; services and tests never sleep (clippy.toml).
        #[allow(clippy::disallowed_methods)]
        tokio::time::sleep(std::time::Duration::from_secs(handle.interval.min(60))).await;
        let polled = wallet.poll_deferred(&handle).await?;
        for c in &polled.credentials {
            println!("Stored {} ({}) from {}", c.id, c.format, c.issuer);
        }
        pending.extend(polled.deferred);
    }
    if !pending.is_empty() {
        println!("{} issuance(s) still pending", pending.len());
    }
    println!(
        "The wallet holds {} credential(s).",
        wallet.list().await?.len()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
