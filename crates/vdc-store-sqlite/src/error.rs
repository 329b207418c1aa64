//! sqlx/SQLite errors → [`StoreError`].
//!
//! SQLite names the columns of a violated unique key rather than the constraint
//! ("UNIQUE constraint failed: c_nonces.issuer_id, c_nonces.nonce_hash") and says nothing
//! about which foreign key failed, so unique keys are mapped by their column lists (fixed in
//! `migrations/sqlite`) and foreign keys by what the call site references. `SQLITE_BUSY`
//! after the busy timeout, I/O and full-disk errors and pool timeouts become
//! [`StoreError::Unavailable`] (R2). Nothing of sqlx leaks out.

use sqlx::error::ErrorKind;
use vdc_store::StoreError;

/// What a duplicate key means, by the column list SQLite reports.
const UNIQUE: &[(&str, &str)] = &[
    ("settings.key", "setting"),
    ("issuers.issuer_id", "issuer"),
    (
        "issuer_signing_keys.issuer_id, issuer_signing_keys.kid",
        "signing key",
    ),
    (
        "credential_offers.issuer_id, credential_offers.offer_id",
        "offer",
    ),
    (
        "credential_offers.issuer_id, credential_offers.pre_authorized_code_hash",
        "pre-authorized code",
    ),
    (
        "access_tokens.issuer_id, access_tokens.token_hash",
        "access token",
    ),
    ("c_nonces.issuer_id, c_nonces.nonce_hash", "nonce"),
    (
        "authorizations.issuer_id, authorizations.authorization_id",
        "authorization",
    ),
    (
        "authorizations.issuer_id, authorizations.handle_hash",
        "authorization handle",
    ),
    (
        "refresh_tokens.issuer_id, refresh_tokens.token_hash",
        "refresh token",
    ),
    ("dpop_proofs.issuer_id, dpop_proofs.jti_hash", "DPoP proof"),
    (
        "issued_credentials.issuer_id, issued_credentials.credential_id",
        "credential",
    ),
    (
        "issued_credentials.issuer_id, issued_credentials.status_list_id, \
         issued_credentials.status_list_index",
        "status list entry",
    ),
    (
        "deferred_issuances.issuer_id, deferred_issuances.transaction_id_hash",
        "transaction id",
    ),
    (
        "notifications.issuer_id, notifications.notification_id_hash",
        "notification id",
    ),
    (
        "status_lists.issuer_id, status_lists.list_id",
        "status list",
    ),
    (
        "status_entries.issuer_id, status_entries.list_id, status_entries.idx",
        "status list entry",
    ),
    (
        "status_changes.issuer_id, status_changes.list_id, status_changes.version",
        "status change",
    ),
    ("verifiers.verifier_id", "verifier"),
    (
        "presentation_requests.verifier_id, presentation_requests.request_id",
        "presentation request",
    ),
    (
        "presentation_requests.verifier_id, presentation_requests.state_hash",
        "state",
    ),
    (
        "presentation_requests.verifier_id, presentation_requests.response_code_hash",
        "response code",
    ),
    ("api_keys.key_id", "API key"),
    ("api_keys.key_hash", "API key"),
    (
        "audit_entries.tenant_kind, audit_entries.tenant_id, audit_entries.audit_id",
        "audit entry",
    ),
    ("webhooks.webhook_id", "webhook"),
    (
        "webhook_deliveries.webhook_id, webhook_deliveries.delivery_id",
        "webhook delivery",
    ),
    (
        "webhook_attempts.webhook_id, webhook_attempts.delivery_id, webhook_attempts.attempt",
        "webhook attempt",
    ),
];

fn unique_meaning(message: &str) -> &'static str {
    let columns = message
        .rsplit_once("failed: ")
        .map_or("", |(_, c)| c)
        .trim();
    UNIQUE
        .iter()
        .find(|(c, _)| *c == columns)
        .map_or("key", |(_, what)| *what)
}

/// Maps an error where no foreign key is expected.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    db_err_fk(e, "referenced row")
}

/// Maps an error; `parent` names what a foreign-key violation means at this call site.
pub(crate) fn db_err_fk(e: sqlx::Error, parent: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(-1);
            // Spec: SQLite result codes: the primary code is the low byte of the extended
            // one. 5 BUSY, 6 LOCKED, 10 IOERR, 13 FULL, 14 CANTOPEN.
            match code & 0xff {
                5 | 6 => {
                    return StoreError::Unavailable("database busy beyond the timeout".into());
                }
                10 | 13 | 14 => {
                    return StoreError::Unavailable(format!("sqlite error code {code}"));
                }
                _ => {}
            }
            match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Duplicate(unique_meaning(db.message())),
                ErrorKind::ForeignKeyViolation => StoreError::NotFound(parent),
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    StoreError::Invalid("value violates a column constraint")
                }
                _ => StoreError::Database(format!("sqlite error code {code}: {}", db.message())),
            }
        }
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("no database connection within the acquire timeout".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the pool is closed".into()),
        sqlx::Error::Io(io) => StoreError::Unavailable(format!("i/o: {}", io.kind())),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("worker crashed".into()),
        sqlx::Error::ColumnDecode { index, .. } => {
            StoreError::Corrupt(format!("column {index} does not decode"))
        }
        sqlx::Error::Decode(_) => StoreError::Corrupt("a value does not decode".into()),
        sqlx::Error::Migrate(m) => StoreError::Migration(m.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

/// Maps a migration error.
pub(crate) fn migrate_err(e: sqlx::migrate::MigrateError) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::Execute(inner) => match db_err(inner) {
            StoreError::Unavailable(s) => StoreError::Unavailable(s),
            other => StoreError::Migration(other.to_string()),
        },
        other => StoreError::Migration(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_named_by_their_column_list() {
        assert_eq!(
            unique_meaning(
                "UNIQUE constraint failed: credential_offers.issuer_id, \
                 credential_offers.pre_authorized_code_hash"
            ),
            "pre-authorized code"
        );
        assert_eq!(
            unique_meaning(
                "UNIQUE constraint failed: issued_credentials.issuer_id, \
                 issued_credentials.status_list_id, issued_credentials.status_list_index"
            ),
            "status list entry"
        );
        assert_eq!(unique_meaning("UNIQUE constraint failed: x.y"), "key");
    }
}
