-- 0002 status lists: index allocation, status changes and their history.
-- Lockstep with migrations/postgres/0002_status_lists.sql (same tables, columns and key order).
-- Dialect: STRICT tables, INTEGER (64-bit) for BIGINT (see 0001).
-- Design (crates/vdc-store/src/status.rs): an index is allocated by inserting a random
-- candidate into status_entries (the primary key refuses a taken one; no counter row), and
-- bound to its credential in the issuance transaction. Every status change is its own
-- status_changes row numbered by the list's version, which is bumped under the list row's
-- lock in the same transaction (versions follow commit order).

CREATE TABLE status_lists (
    issuer_id  TEXT    NOT NULL,
    list_id    TEXT    NOT NULL,
    bits       INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    size       INTEGER NOT NULL CHECK (size > 0),
    version    INTEGER NOT NULL CHECK (version >= 0),
    created_at INTEGER NOT NULL,
    sealed_at  INTEGER,
    CONSTRAINT status_lists_pkey PRIMARY KEY (issuer_id, list_id),
    CONSTRAINT status_lists_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;

CREATE TABLE status_entries (
    issuer_id     TEXT    NOT NULL,
    list_id       TEXT   NOT NULL,
    idx           INTEGER NOT NULL CHECK (idx >= 0),
    allocated_at  INTEGER NOT NULL,
    credential_id TEXT,
    CONSTRAINT status_entries_pkey PRIMARY KEY (issuer_id, list_id, idx),
    CONSTRAINT status_entries_list_fkey FOREIGN KEY (issuer_id, list_id)
        REFERENCES status_lists (issuer_id, list_id)
) STRICT;

CREATE TABLE status_changes (
    issuer_id     TEXT    NOT NULL,
    list_id       TEXT   NOT NULL,
    version       INTEGER NOT NULL CHECK (version > 0),
    idx           INTEGER NOT NULL CHECK (idx >= 0),
    credential_id TEXT   NOT NULL,
    status        TEXT   NOT NULL CHECK (status IN ('valid', 'revoked', 'suspended')),
    at            INTEGER NOT NULL,
    actor         TEXT   NOT NULL,
    CONSTRAINT status_changes_pkey PRIMARY KEY (issuer_id, list_id, version),
    CONSTRAINT status_changes_list_fkey FOREIGN KEY (issuer_id, list_id)
        REFERENCES status_lists (issuer_id, list_id)
) STRICT;
CREATE INDEX status_changes_entry ON status_changes (issuer_id, list_id, idx, version);
CREATE INDEX status_changes_credential ON status_changes (issuer_id, credential_id, version);

-- The current list is rebuilt from the credentials that are not valid.
CREATE INDEX issued_credentials_not_valid
    ON issued_credentials (issuer_id, status_list_id, status_list_index)
    WHERE status <> 'valid';
