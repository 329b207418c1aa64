-- 0004 access: scoped API keys and the audit log.
-- Lockstep with migrations/postgres/0004_access.sql (same tables, columns and key order).
-- Dialect: STRICT tables, INTEGER for BIGINT, BLOB for BYTEA, TEXT holding a JSON array for
-- TEXT[].
-- Design (crates/vdc-store/src/access.rs):
-- - api_keys: instance-wide rows like settings (a key may span several tenants, so no tenant
--   leads its key); the key itself rests only as its SHA-256 (key_hash), looked up by equality.
-- - audit_entries: one row per management call or domain event. The tenant leads the key
--   (tenant_kind '' and tenant_id '' for instance-wide actions such as creating an API key);
--   audit_id is "<12 hex digits of the unix second><16 random hex digits>", so ordering by it
--   orders by time, `since` is a range on it and cursors are "audit_id < last seen".
--   The primary key serves the tenant filters; audit_entries_id serves the unfiltered query.

CREATE TABLE api_keys (
    key_id     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    issuers    TEXT    NOT NULL CHECK (json_valid(issuers)),
    verifiers  TEXT    NOT NULL CHECK (json_valid(verifiers)),
    scopes     TEXT    NOT NULL CHECK (json_valid(scopes)),
    key_hash   BLOB    NOT NULL CHECK (length(key_hash) = 32),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CONSTRAINT api_keys_pkey PRIMARY KEY (key_id),
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash)
) STRICT;

CREATE TABLE audit_entries (
    tenant_kind  TEXT    NOT NULL CHECK (tenant_kind IN ('', 'issuer', 'verifier')),
    tenant_id    TEXT    NOT NULL,
    audit_id     TEXT    NOT NULL,
    at           INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    actor_key_id TEXT,
    action       TEXT    NOT NULL,
    target       TEXT,
    outcome      TEXT    NOT NULL,
    CONSTRAINT audit_entries_pkey PRIMARY KEY (tenant_kind, tenant_id, audit_id)
) STRICT;
CREATE INDEX audit_entries_id ON audit_entries (audit_id);
