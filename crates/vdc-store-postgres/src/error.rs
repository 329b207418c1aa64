//! sqlx/Postgres errors → [`StoreError`].
//!
//! Constraint violations are mapped by constraint name (the names are fixed in
//! `migrations/postgres`); connection failures, pool timeouts and the SQLSTATEs of an
//! unavailable server become [`StoreError::Unavailable`] (R2). Nothing of sqlx leaks out.

use sqlx::error::ErrorKind;
use vdc_store::StoreError;

/// What a duplicate key means, by unique constraint name.
const UNIQUE: &[(&str, &str)] = &[
    ("settings_pkey", "setting"),
    ("issuers_pkey", "issuer"),
    ("issuer_signing_keys_pkey", "signing key"),
    ("credential_offers_pkey", "offer"),
    ("credential_offers_code_key", "pre-authorized code"),
    ("access_tokens_pkey", "access token"),
    ("c_nonces_pkey", "nonce"),
    ("authorizations_pkey", "authorization"),
    ("authorizations_handle_key", "authorization handle"),
    ("refresh_tokens_pkey", "refresh token"),
    ("dpop_proofs_pkey", "DPoP proof"),
    ("issued_credentials_pkey", "credential"),
    ("issued_credentials_status_entry_key", "status list entry"),
    ("deferred_issuances_pkey", "transaction id"),
    ("notifications_pkey", "notification id"),
    ("status_lists_pkey", "status list"),
    ("status_entries_pkey", "status list entry"),
    ("status_changes_pkey", "status change"),
    ("verifiers_pkey", "verifier"),
    ("presentation_requests_pkey", "presentation request"),
    ("presentation_requests_state_key", "state"),
    ("presentation_requests_response_code", "response code"),
    ("api_keys_pkey", "API key"),
    ("api_keys_hash_key", "API key"),
    ("audit_entries_pkey", "audit entry"),
    ("webhooks_pkey", "webhook"),
    ("webhook_deliveries_pkey", "webhook delivery"),
    ("webhook_attempts_pkey", "webhook attempt"),
];

/// What a missing parent means, by foreign key name.
const FOREIGN: &[(&str, &str)] = &[
    ("issuer_signing_keys_issuer_fkey", "issuer"),
    ("credential_offers_issuer_fkey", "issuer"),
    ("c_nonces_issuer_fkey", "issuer"),
    ("access_tokens_offer_fkey", "offer"),
    ("authorizations_issuer_fkey", "issuer"),
    ("refresh_tokens_authorization_fkey", "authorization"),
    ("dpop_proofs_issuer_fkey", "issuer"),
    ("issued_credentials_offer_fkey", "offer"),
    ("deferred_issuances_offer_fkey", "offer"),
    ("notifications_offer_fkey", "offer"),
    ("status_lists_issuer_fkey", "issuer"),
    ("status_entries_list_fkey", "status list"),
    ("status_changes_list_fkey", "status list"),
    ("presentation_requests_verifier_fkey", "verifier"),
    ("webhook_deliveries_webhook_fkey", "webhook"),
    ("webhook_attempts_delivery_fkey", "webhook delivery"),
];

fn lookup(table: &[(&str, &'static str)], name: Option<&str>) -> Option<&'static str> {
    let name = name?;
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, what)| *what)
}

/// Maps an error where no foreign key is expected.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    db_err_fk(e, "referenced row")
}

/// Maps an error; `parent` names what a foreign-key violation means at this call site
/// when the constraint name is unknown.
pub(crate) fn db_err_fk(e: sqlx::Error, parent: &'static str) -> StoreError {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // Spec: PostgreSQL Appendix A: class 08 connection exception, 57P0x operator
            // intervention (shutdown, cannot connect now), 53 insufficient resources.
            if code.starts_with("08") || code.starts_with("57P") || code.starts_with("53") {
                return StoreError::Unavailable(format!("postgres SQLSTATE {code}"));
            }
            match code.as_str() {
                "40001" => return StoreError::Conflict("serialization failure"),
                "40P01" => return StoreError::Conflict("deadlock"),
                "57014" => return StoreError::Unavailable("statement timed out".into()),
                _ => {}
            }
            match db.kind() {
                ErrorKind::UniqueViolation => {
                    StoreError::Duplicate(lookup(UNIQUE, db.constraint()).unwrap_or("key"))
                }
                ErrorKind::ForeignKeyViolation => {
                    StoreError::NotFound(lookup(FOREIGN, db.constraint()).unwrap_or(parent))
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => {
                    StoreError::Invalid("value violates a column constraint")
                }
                _ => StoreError::Database(format!("SQLSTATE {code}: {}", db.message())),
            }
        }
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("no database connection within the acquire timeout".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the pool is closed".into()),
        sqlx::Error::Io(io) => StoreError::Unavailable(format!("i/o: {}", io.kind())),
        sqlx::Error::Tls(_) => StoreError::Unavailable("tls".into()),
        sqlx::Error::WorkerCrashed => StoreError::Unavailable("worker crashed".into()),
        sqlx::Error::Protocol(_) => StoreError::Unavailable("protocol error".into()),
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
