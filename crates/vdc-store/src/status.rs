//! Status lists: index allocation, status changes and their history, behind [`StatusStore`].
//!
//! Model (migration `0002_status_lists`):
//! - `status_lists`: one row per list of a tenant, with its `bits`, `size`, `created_at`,
//!   `sealed_at` (closed for allocation) and `version`, the number of committed status
//!   changes on the list. The version is bumped in the transaction of every change, under
//!   the list row's lock, so versions are in commit order: a reader that saw version `v`
//!   sees every change numbered `<= v` (the service caches signed tokens per version).
//! - `status_entries`: one row per allocated (list, index). Allocation is an insert of a
//!   caller-chosen random index that relies on the primary key (no counter row, so no hot
//!   row); a taken index is simply not inserted. The entry is bound to its credential in the
//!   issuance transaction ([`crate::IssuanceStore::issue_credentials`]), so a credential can
//!   only claim an index that was allocated on a list that exists (R1, G9), and an index is
//!   never reused (entries are never deleted).
//! - `status_changes`: the history, one row per change (`version`, index, credential,
//!   status, time, actor). The current list is rebuilt from the credentials' statuses; the
//!   list as of a past time from this log.
//!
//! Invariants: G6 (tenant first in every key and filter), G9 (no lost change: each change
//! is its own row and its own version; revoked is final, checked under the credential row's
//! lock; one index per credential), R4 (`now` is a parameter).

use async_trait::async_trait;
use vdc_core::time::UnixTime;

use crate::{CredentialStatus, IssuedCredentialRecord, Result};

/// One status list of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRecord {
    /// The tenant.
    pub issuer_id: String,
    /// The list id (a path segment of the list's URI), unique per issuer.
    pub list_id: String,
    /// Bits per entry (1, 2, 4 or 8).
    pub bits: u8,
    /// Number of entries.
    pub size: u64,
    /// When the list was opened.
    pub created_at: UnixTime,
    /// When the list was closed for allocation (nearly full), if it was.
    pub sealed_at: Option<UnixTime>,
    /// Number of status changes committed on the list so far.
    pub version: u64,
}

/// One requested status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The credential.
    pub credential_id: String,
    /// Its new status.
    pub status: CredentialStatus,
}

/// What [`StatusStore::change_statuses`] did. All or nothing: unless `Changed`, nothing was
/// written.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusChangeOutcome {
    /// Every change was applied (or was already in place); the credentials as they now are,
    /// in request order.
    Changed(Vec<IssuedCredentialRecord>),
    /// No credential with this id for this tenant.
    UnknownCredential(String),
    /// This credential is revoked; revocation is final.
    Revoked(String),
}

/// One recorded status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChangeRecord {
    /// The tenant.
    pub issuer_id: String,
    /// The list.
    pub list_id: String,
    /// The list's version this change created.
    pub version: u64,
    /// The index in the list.
    pub index: u64,
    /// The credential.
    pub credential_id: String,
    /// The status set.
    pub status: CredentialStatus,
    /// When.
    pub at: UnixTime,
    /// Who (the management API key's name; `admin` for the admin key).
    pub actor: String,
}

/// A list's content: the entries that are not valid (every other entry is 0), with the list
/// as it was read first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListSnapshot {
    /// The list (its `version` was read before the entries, so the entries are at least
    /// that new).
    pub list: StatusListRecord,
    /// `(index, status)` of every entry that is not valid, by index.
    pub entries: Vec<(u64, CredentialStatus)>,
}

/// Status list state. Object-safe: services hold an `Arc<dyn StatusStore>`.
#[async_trait]
pub trait StatusStore: Send + Sync + std::fmt::Debug {
    /// Opens a list; [`crate::StoreError::Duplicate`] if the id exists for this issuer,
    /// [`crate::StoreError::NotFound`] if the issuer does not exist,
    /// [`crate::StoreError::Invalid`] for `bits` outside {1, 2, 4, 8} or `size` 0.
    async fn create_status_list(&self, list: &StatusListRecord) -> Result<()>;
    /// The list with this id.
    async fn get_status_list(
        &self,
        issuer_id: &str,
        list_id: &str,
    ) -> Result<Option<StatusListRecord>>;
    /// Every list of the issuer, oldest first.
    async fn status_lists(&self, issuer_id: &str) -> Result<Vec<StatusListRecord>>;
    /// Closes a list for allocation; false if unknown or already sealed.
    async fn seal_status_list(&self, issuer_id: &str, list_id: &str, at: UnixTime) -> Result<bool>;
    /// The `candidates` that are free on an unsealed list of the issuer: inside the list and
    /// not allocated (in no particular order). Empty if the list is unknown or sealed. Read
    /// only: the issuance transaction allocates the index it was signed with
    /// ([`crate::IssuanceStore::issue_credentials`]; the primary key decides, G9), so a
    /// refused credential request leaves no entry behind.
    async fn free_status_indexes(
        &self,
        issuer_id: &str,
        list_id: &str,
        candidates: &[u64],
    ) -> Result<Vec<u64>>;
    /// Changes the status of credentials, all or nothing, in one transaction: every
    /// credential exists and none is revoked (else nothing is written), then each change
    /// that alters a status updates the credential, bumps its list's version and records
    /// `(version, index, credential, status, now, actor)`, and `outbox` is written (only if
    /// the outcome is `Changed`). Ids must be distinct ([`crate::StoreError::Invalid`]
    /// otherwise).
    async fn change_statuses(
        &self,
        issuer_id: &str,
        changes: &[StatusChange],
        actor: &str,
        now: UnixTime,
        outbox: &crate::events::Outbox,
    ) -> Result<StatusChangeOutcome>;
    /// The list's current version; `None` if unknown.
    async fn status_list_version(&self, issuer_id: &str, list_id: &str) -> Result<Option<u64>>;
    /// The list as it is now; `None` if unknown.
    async fn status_list_snapshot(
        &self,
        issuer_id: &str,
        list_id: &str,
    ) -> Result<Option<StatusListSnapshot>>;
    /// The list as it was at `at` (the last change of each index at or before `at`);
    /// `None` if unknown. The caller decides whether `at` is in the list's life.
    async fn status_list_at(
        &self,
        issuer_id: &str,
        list_id: &str,
        at: UnixTime,
    ) -> Result<Option<StatusListSnapshot>>;
    /// The recorded changes of one credential, oldest first.
    async fn status_history(
        &self,
        issuer_id: &str,
        credential_id: &str,
    ) -> Result<Vec<StatusChangeRecord>>;
}

/// Checks what [`StatusStore::create_status_list`] refuses; backends call it first.
pub fn check_list(list: &StatusListRecord) -> Result<()> {
    if !matches!(list.bits, 1 | 2 | 4 | 8) {
        return Err(crate::StoreError::Invalid("bits must be 1, 2, 4 or 8"));
    }
    if list.size == 0 || i64::try_from(list.size).is_err() {
        return Err(crate::StoreError::Invalid("size out of range"));
    }
    Ok(())
}

/// Checks that change ids are distinct; backends call it first.
pub fn check_changes(changes: &[StatusChange]) -> Result<()> {
    let mut ids: Vec<&str> = changes.iter().map(|c| c.credential_id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(crate::StoreError::Invalid("a credential is listed twice"));
    }
    Ok(())
}

/// Keeps, for each index, the status of its highest version, and drops valid entries:
/// the list content from `(version, index, status)` rows in any order.
pub fn latest_per_index(
    mut rows: Vec<(u64, u64, CredentialStatus)>,
) -> Vec<(u64, CredentialStatus)> {
    rows.sort_unstable_by_key(|&(version, index, _)| (index, std::cmp::Reverse(version)));
    let mut out: Vec<(u64, CredentialStatus)> = Vec::new();
    let mut last: Option<u64> = None;
    for (_, index, status) in rows {
        if last == Some(index) {
            continue;
        }
        last = Some(index);
        if status != CredentialStatus::Valid {
            out.push((index, status));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_change_per_index_wins_and_valid_entries_are_dropped() {
        use CredentialStatus::*;
        let rows = vec![
            (3, 7, Valid),
            (1, 7, Suspended),
            (2, 9, Revoked),
            (4, 5, Suspended),
        ];
        assert_eq!(latest_per_index(rows), vec![(5, Suspended), (9, Revoked)]);
    }

    #[test]
    fn repeated_ids_in_one_batch_are_invalid() {
        let c = |id: &str| StatusChange {
            credential_id: id.into(),
            status: CredentialStatus::Revoked,
        };
        assert!(check_changes(&[c("a"), c("b")]).is_ok());
        assert!(check_changes(&[c("a"), c("b"), c("a")]).is_err());
    }
}
