//! Every secret the store keeps sealed under the KEK: where it is, what binds it (the AAD
//! context each service seals it with), and the KEK rotation over all of them
//! ([`rotate`], [`census`]; docs/DEPLOYMENT.md "Rotating the KEK").
//!
//! Each sealed value names the KEK that sealed it (`vdc_core::kek`), so the store records
//! which KEK sealed each row without a column of its own. A rotation reads each table in
//! primary-key order, in batches, opens every value not under the current KEK (with the
//! current or a previous KEK configured beside it), seals it again under the current one and
//! writes the batch in one transaction, each row only if it is still what was read (a value
//! changed meanwhile was sealed by an instance, which seals under the current KEK). A
//! rotation killed between batches has written whole batches only: running it again skips
//! what is current and does the rest.

use async_trait::async_trait;
use serde_json::Value;
use vdc_core::base64url;
use vdc_core::kek::KeyEncryptionKey;
use vdc_core::rng::RandomSource;

use crate::{Result, StoreError};

/// The AAD contexts: the one place that says what binds each sealed secret to its row, so
/// moving a ciphertext to another row makes it undecryptable (G8).
pub mod context {
    /// An issuer's private signing key.
    pub fn issuer_signing_key(issuer_id: &str, kid: &str) -> String {
        format!("vdc issuer signing key\0{issuer_id}\0{kid}")
    }
    /// A verifier's private request-signing key.
    pub fn verifier_signing_key(verifier_id: &str) -> String {
        format!("vdc-verifier-signing-key:{verifier_id}")
    }
    /// A presentation request's `direct_post.jwt` / `dc_api.jwt` decryption key.
    pub fn response_key(verifier_id: &str, request_id: &str) -> String {
        format!("vdc-verifier-response-key:{verifier_id}:{request_id}")
    }
    /// A webhook's signing secret.
    pub fn webhook_secret(webhook_id: &str) -> String {
        format!("vdc webhook secret\0{webhook_id}")
    }
    /// An issuer's client secret at its OpenID Provider (in its stored definition).
    pub fn idp_client_secret(issuer_id: &str) -> String {
        format!("idp_client_secret:{issuer_id}")
    }
    /// An issuer's claims endpoint secret (in its stored definition).
    pub fn claims_endpoint_secret(issuer_id: &str) -> String {
        format!("claims_endpoint_secret:{issuer_id}")
    }
}

/// A table (or JSON column) holding sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedTable {
    /// `issuer_signing_keys.encrypted_private_key`, key `(issuer_id, kid)`.
    IssuerSigningKeys,
    /// `verifiers.encrypted_signing_key`, key `(verifier_id)`.
    VerifierSigningKeys,
    /// `presentation_requests.encrypted_response_key`, key `(verifier_id, request_id)`.
    ResponseKeys,
    /// `webhooks.encrypted_secret`, key `(webhook_id)`.
    WebhookSecrets,
    /// `issuers.config` (the sealed members of the definition, base64url), key
    /// `(issuer_id)`; the value is the JSON text.
    IssuerConfigs,
}

impl SealedTable {
    /// Every table, in the order a rotation goes through them.
    pub const ALL: [SealedTable; 5] = [
        Self::IssuerSigningKeys,
        Self::VerifierSigningKeys,
        Self::ResponseKeys,
        Self::WebhookSecrets,
        Self::IssuerConfigs,
    ];

    /// The table's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::IssuerSigningKeys => "issuer_signing_keys",
            Self::VerifierSigningKeys => "verifiers",
            Self::ResponseKeys => "presentation_requests",
            Self::WebhookSecrets => "webhooks",
            Self::IssuerConfigs => "issuers",
        }
    }

    /// How many text columns make its primary key.
    pub fn key_len(self) -> usize {
        match self {
            Self::IssuerSigningKeys | Self::ResponseKeys => 2,
            _ => 1,
        }
    }
}

/// One row: its primary key and its sealed value (for [`SealedTable::IssuerConfigs`], the
/// definition's JSON text).
#[derive(Clone, PartialEq, Eq)]
pub struct SealedRow {
    /// The primary key, column by column.
    pub key: Vec<String>,
    /// The value as stored.
    pub value: Vec<u8>,
}

impl std::fmt::Debug for SealedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedRow")
            .field("key", &self.key)
            .field("value", &"[sealed]")
            .finish()
    }
}

/// A re-sealed value to write if the row still holds `old`.
#[derive(Clone)]
pub struct SealedChange {
    /// The primary key.
    pub key: Vec<String>,
    /// What was read.
    pub old: Vec<u8>,
    /// What replaces it.
    pub new: Vec<u8>,
}

/// Reading and re-writing sealed values, for the KEK rotation.
#[async_trait]
pub trait SealedStore: Send + Sync {
    /// Up to `limit` rows of `table` whose key is after `after` (empty strings: from the
    /// start), in key order; rows without a value (a request without a response key) are
    /// left out.
    async fn sealed_rows(
        &self,
        table: SealedTable,
        after: &[String],
        limit: u32,
    ) -> Result<Vec<SealedRow>>;
    /// Writes `changes` in one transaction, each only where the row still holds its `old`
    /// value; returns how many were written.
    async fn replace_sealed(&self, table: SealedTable, changes: &[SealedChange]) -> Result<u64>;
}

/// The sealed members of an issuer definition: (JSON pointer, context).
fn config_members(issuer_id: &str) -> [(&'static str, String); 2] {
    [
        (
            "/identity_provider/client_secret_sealed",
            context::idp_client_secret(issuer_id),
        ),
        (
            "/claims_endpoint_secret_sealed",
            context::claims_endpoint_secret(issuer_id),
        ),
    ]
}

/// What a row's values are: each sealed value with its context (an issuer definition has
/// up to two; other rows one).
fn sealed_values(table: SealedTable, row: &SealedRow) -> Result<Vec<(Vec<u8>, String)>> {
    let k = |i: usize| row.key.get(i).map(String::as_str).unwrap_or_default();
    Ok(match table {
        SealedTable::IssuerSigningKeys => {
            vec![(row.value.clone(), context::issuer_signing_key(k(0), k(1)))]
        }
        SealedTable::VerifierSigningKeys => {
            vec![(row.value.clone(), context::verifier_signing_key(k(0)))]
        }
        SealedTable::ResponseKeys => vec![(row.value.clone(), context::response_key(k(0), k(1)))],
        SealedTable::WebhookSecrets => vec![(row.value.clone(), context::webhook_secret(k(0)))],
        SealedTable::IssuerConfigs => {
            let config = config_json(&row.value)?;
            let mut out = Vec::new();
            for (pointer, ctx) in config_members(k(0)) {
                if let Some(text) = config.pointer(pointer).and_then(Value::as_str) {
                    let sealed = base64url::decode(text).map_err(|_| {
                        StoreError::Corrupt(format!("issuer {}: {pointer} is not base64url", k(0)))
                    })?;
                    out.push((sealed, ctx));
                }
            }
            out
        }
    })
}

fn config_json(value: &[u8]) -> Result<Value> {
    serde_json::from_slice(value)
        .map_err(|_| StoreError::Corrupt("an issuer definition is not JSON".into()))
}

/// The row with every value not under the current KEK sealed again under it; `None` when
/// nothing needs it. A value no configured KEK opens is [`StoreError::Corrupt`].
fn reseal(
    table: SealedTable,
    row: &SealedRow,
    kek: &KeyEncryptionKey,
    rng: &dyn RandomSource,
) -> Result<Option<Vec<u8>>> {
    let unreadable = || {
        StoreError::Corrupt(format!(
            "{} {}: a sealed value opens with no configured KEK (configure the KEK that sealed it as a previous KEK)",
            table.name(),
            row.key.join("/")
        ))
    };
    let fresh = |sealed: &[u8], ctx: &str| -> Result<Vec<u8>> {
        let plain = kek.open(sealed, ctx).map_err(|_| unreadable())?;
        kek.seal(&plain, ctx, rng)
            .map_err(|_| StoreError::Invalid("sealing failed"))
    };
    if table != SealedTable::IssuerConfigs {
        if kek.is_current(&row.value) {
            return Ok(None);
        }
        let ctx = sealed_values(table, row)?.remove(0).1;
        return fresh(&row.value, &ctx).map(Some);
    }
    let mut config = config_json(&row.value)?;
    let mut changed = false;
    for (pointer, ctx) in config_members(&row.key[0]) {
        let Some(slot) = config.pointer_mut(pointer) else {
            continue;
        };
        let Some(text) = slot.as_str() else { continue };
        let sealed = base64url::decode(text).map_err(|_| unreadable())?;
        if kek.is_current(&sealed) {
            continue;
        }
        *slot = Value::String(base64url::encode(fresh(&sealed, &ctx)?));
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    serde_json::to_vec(&config)
        .map(Some)
        .map_err(|_| StoreError::Invalid("definition not serializable"))
}

/// How many sealed values of a table are under which KEK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    /// The table.
    pub table: SealedTable,
    /// Values under the current KEK.
    pub current: u64,
    /// Values under another KEK (a previous one, or none configured), or sealed before
    /// values named their KEK.
    pub other: u64,
}

/// Counts, per table, the sealed values under the current KEK and under any other
/// (`vdc doctor`: rows still to re-seal).
pub async fn census(
    store: &dyn SealedStore,
    kek: &KeyEncryptionKey,
    batch: u32,
) -> Result<Vec<Census>> {
    let mut out = Vec::new();
    for table in SealedTable::ALL {
        let mut c = Census {
            table,
            current: 0,
            other: 0,
        };
        let mut after = vec![String::new(); table.key_len()];
        loop {
            let rows = store.sealed_rows(table, &after, batch).await?;
            for row in &rows {
                for (sealed, _) in sealed_values(table, row)? {
                    if kek.is_current(&sealed) {
                        c.current += 1;
                    } else {
                        c.other += 1;
                    }
                }
            }
            match rows.last() {
                Some(last) if rows.len() == batch as usize => after = last.key.clone(),
                _ => break,
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Rows written (each with every value re-sealed).
    pub resealed: u64,
    /// Transactions committed.
    pub batches: u64,
}

/// Re-seals every stored secret not under the current KEK, `batch` rows per transaction,
/// pausing `pause` after each (to spare a busy database).
/// `after_batch(table, rows written so far)` runs after each committed batch; returning
/// `false` stops the rotation there (what was committed stays; running again resumes).
/// Idempotent: a second run over a rotated store writes nothing.
pub async fn rotate(
    store: &dyn SealedStore,
    kek: &KeyEncryptionKey,
    rng: &dyn RandomSource,
    batch: u32,
    pause: std::time::Duration,
    mut after_batch: impl FnMut(SealedTable, u64) -> bool + Send,
) -> Result<Rotation> {
    let mut done = Rotation::default();
    for table in SealedTable::ALL {
        let mut after = vec![String::new(); table.key_len()];
        loop {
            let rows = store.sealed_rows(table, &after, batch).await?;
            let mut changes = Vec::new();
            for row in &rows {
                if let Some(new) = reseal(table, row, kek, rng)? {
                    changes.push(SealedChange {
                        key: row.key.clone(),
                        old: row.value.clone(),
                        new,
                    });
                }
            }
            if !changes.is_empty() {
                // A row changed meanwhile was written by an instance, under the current KEK
                // (instances seal with it before the rotation starts): nothing to redo.
                done.resealed += store.replace_sealed(table, &changes).await?;
                done.batches += 1;
                if !after_batch(table, done.resealed) {
                    return Ok(done);
                }
                if !pause.is_zero() {
                    // The operator's throttle between committed batches (`--pause-ms`), not
                    // a wait for time to pass: nothing here reads a clock.
                    #[allow(clippy::disallowed_methods)]
                    tokio::time::sleep(pause).await;
                }
            }
            match rows.last() {
                Some(last) if rows.len() == batch as usize => after = last.key.clone(),
                _ => break,
            }
        }
    }
    Ok(done)
}
