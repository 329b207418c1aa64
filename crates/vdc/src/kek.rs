//! `vdc kek rotate` and `vdc kek generate` (issue 17; docs/DEPLOYMENT.md "Rotating the
//! KEK"). The re-sealing itself is `vdc_store::sealed::rotate`; this module picks the KEKs
//! from the configuration and reports.

use std::io::Write;
use std::path::Path;

use vdc_core::kek::KeyEncryptionKey;
use vdc_store::sealed::{self, Census};

use crate::config::{self, Config};

/// Rows per transaction when the operator does not say.
pub const DEFAULT_BATCH: u32 = 100;

/// The KEK to rotate to and the ones to rotate from: with `new_kek_file`, the file's KEK
/// is the new one and the configured KEK (`VDC_KEK` or `data_dir/kek`) with
/// `VDC_KEK_PREVIOUS` the old ones; without it, `VDC_KEK` is the new one and
/// `VDC_KEK_PREVIOUS` the old ones (instances already seal under it).
pub fn rotation_keks(
    config: &Config,
    new_kek_file: Option<&Path>,
) -> anyhow::Result<KeyEncryptionKey> {
    let configured = crate::existing_key_encryption_key(config)?.ok_or_else(|| {
        anyhow::anyhow!("no KEK is configured (VDC_KEK or data_dir/kek): nothing was ever sealed")
    })?;
    let mut previous = crate::previous_keks(config)?;
    let new = match new_kek_file {
        Some(path) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("--new-kek-file {}: {e}", path.display()))?,
            );
            let source = format!("--new-kek-file {}", path.display());
            config::check_kek(&text, &source)?;
            let new = KeyEncryptionKey::from_base64url(&text)
                .map_err(|_| anyhow::anyhow!("{source}: not a KEK"))?;
            previous.push(configured);
            new
        }
        None => configured,
    };
    let new = new.with_previous(&previous);
    if new.previous_ids().is_empty() {
        anyhow::bail!(
            "nothing to rotate from: give --new-kek-file, or set VDC_KEK to the new KEK and VDC_KEK_PREVIOUS to the old one"
        );
    }
    Ok(new)
}

/// Re-seals every stored secret under `kek`'s current KEK, reporting each batch to `out`
/// and pausing `pause_ms` after it (to spare a busy database);
/// then counts what is left. Fails when a value is not under the new KEK afterwards (one
/// no configured KEK opens, say), naming the table.
pub async fn rotate(
    config: &Config,
    kek: &KeyEncryptionKey,
    batch: u32,
    pause_ms: u64,
    out: &mut (dyn Write + Send),
) -> anyhow::Result<Vec<Census>> {
    let store = crate::open_store(&config.database_url()).await?;
    let rng = vdc_core::rng::SystemRandom::new();
    writeln!(
        out,
        "re-sealing under KEK {} (from {})",
        kek.id(),
        kek.previous_ids()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    // Each committed batch is reported as it lands, so an operator (or a test that kills
    // the command) sees how far it got.
    let pause = std::time::Duration::from_millis(pause_ms);
    let done = sealed::rotate(
        store.as_ref(),
        kek,
        &rng,
        batch.max(1),
        pause,
        |table, n| {
            let _ = writeln!(out, "{}: {n} row(s) re-sealed so far", table.name());
            let _ = out.flush();
            true
        },
    )
    .await?;
    writeln!(
        out,
        "{} row(s) re-sealed in {} transaction(s)",
        done.resealed, done.batches
    )?;
    let census = sealed::census(store.as_ref(), kek, 500).await?;
    let left: Vec<String> = census
        .iter()
        .filter(|c| c.other > 0)
        .map(|c| format!("{} {}", c.table.name(), c.other))
        .collect();
    if !left.is_empty() {
        anyhow::bail!(
            "still not under the new KEK: {} (run again; if it stays, a value was sealed by a KEK that is not configured)",
            left.join(", ")
        );
    }
    writeln!(
        out,
        "every sealed value is under KEK {}; keep VDC_KEK_PREVIOUS until the offers made before the switch have expired (at most 30 days), then remove it",
        kek.id()
    )?;
    Ok(census)
}
