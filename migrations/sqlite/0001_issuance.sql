-- 0001 issuance: the OpenID4VCI issuer's state and instance settings.
-- Lockstep with migrations/postgres/0001_issuance.sql (same tables, columns and key order).
-- Dialect: STRICT tables; JSON and text arrays as TEXT holding JSON; booleans as INTEGER 0/1;
-- BYTEA as BLOB; BIGINT as INTEGER (64-bit). Times are UTC unix seconds written by the
-- application. Foreign keys are enforced per connection (the backend turns them on).

CREATE TABLE settings (
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
) STRICT;

CREATE TABLE issuers (
    issuer_id  TEXT    NOT NULL,
    config     TEXT    NOT NULL CHECK (json_valid(config)),
    created_at INTEGER NOT NULL,
    CONSTRAINT issuers_pkey PRIMARY KEY (issuer_id)
) STRICT;

CREATE TABLE issuer_signing_keys (
    issuer_id             TEXT    NOT NULL,
    kid                   TEXT    NOT NULL,
    alg                   TEXT    NOT NULL,
    public_jwk            TEXT    NOT NULL CHECK (json_valid(public_jwk)),
    encrypted_private_key BLOB    NOT NULL,
    created_at            INTEGER NOT NULL,
    retired_at            INTEGER,
    CONSTRAINT issuer_signing_keys_pkey PRIMARY KEY (issuer_id, kid),
    CONSTRAINT issuer_signing_keys_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;

CREATE TABLE credential_offers (
    issuer_id                    TEXT    NOT NULL,
    offer_id                     TEXT    NOT NULL,
    credential_configuration_ids TEXT    NOT NULL CHECK (json_valid(credential_configuration_ids)),
    claims                       TEXT    CHECK (json_valid(claims)),
    credential_offer             TEXT    NOT NULL CHECK (json_valid(credential_offer)),
    pre_authorized_code_hash     BLOB    NOT NULL CHECK (length(pre_authorized_code_hash) = 32),
    tx_code_hash                 BLOB    CHECK (length(tx_code_hash) = 32),
    tx_code_failures             INTEGER NOT NULL DEFAULT 0 CHECK (tx_code_failures >= 0),
    deferred                     INTEGER NOT NULL CHECK (deferred IN (0, 1)),
    status                       TEXT    NOT NULL
        CHECK (status IN ('offered', 'token_issued', 'credential_issued', 'cancelled')),
    created_at                   INTEGER NOT NULL,
    expires_at                   INTEGER NOT NULL,
    CONSTRAINT credential_offers_pkey PRIMARY KEY (issuer_id, offer_id),
    CONSTRAINT credential_offers_code_key UNIQUE (issuer_id, pre_authorized_code_hash),
    CONSTRAINT credential_offers_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;

CREATE TABLE access_tokens (
    issuer_id                    TEXT    NOT NULL,
    token_hash                   BLOB    NOT NULL CHECK (length(token_hash) = 32),
    offer_id                     TEXT    NOT NULL,
    credential_configuration_ids TEXT    NOT NULL CHECK (json_valid(credential_configuration_ids)),
    expires_at                   INTEGER NOT NULL,
    CONSTRAINT access_tokens_pkey PRIMARY KEY (issuer_id, token_hash),
    CONSTRAINT access_tokens_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
) STRICT;
CREATE INDEX access_tokens_expires_at ON access_tokens (issuer_id, expires_at);

CREATE TABLE c_nonces (
    issuer_id   TEXT    NOT NULL,
    nonce_hash  BLOB    NOT NULL CHECK (length(nonce_hash) = 32),
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    CONSTRAINT c_nonces_pkey PRIMARY KEY (issuer_id, nonce_hash),
    CONSTRAINT c_nonces_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;
CREATE INDEX c_nonces_expires_at ON c_nonces (issuer_id, expires_at);

CREATE TABLE issued_credentials (
    issuer_id                   TEXT    NOT NULL,
    credential_id               TEXT    NOT NULL,
    offer_id                    TEXT    NOT NULL,
    credential_configuration_id TEXT    NOT NULL,
    holder_key_thumbprint       TEXT,
    status_list_id              TEXT,
    status_list_index           INTEGER CHECK (status_list_index >= 0),
    status                      TEXT    NOT NULL CHECK (status IN ('valid', 'revoked', 'suspended')),
    issued_at                   INTEGER NOT NULL,
    expires_at                  INTEGER,
    CONSTRAINT issued_credentials_pkey PRIMARY KEY (issuer_id, credential_id),
    -- G9: one (list, index) per issuer belongs to one credential (NULLs are distinct).
    CONSTRAINT issued_credentials_status_entry_key
        UNIQUE (issuer_id, status_list_id, status_list_index),
    CONSTRAINT issued_credentials_status_entry_whole
        CHECK ((status_list_id IS NULL) = (status_list_index IS NULL)),
    CONSTRAINT issued_credentials_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
) STRICT;
CREATE INDEX issued_credentials_offer ON issued_credentials (issuer_id, offer_id);

CREATE TABLE deferred_issuances (
    issuer_id                   TEXT    NOT NULL,
    transaction_id_hash         BLOB    NOT NULL CHECK (length(transaction_id_hash) = 32),
    offer_id                    TEXT    NOT NULL,
    credential_configuration_id TEXT    NOT NULL,
    holder_keys                 TEXT    NOT NULL CHECK (json_valid(holder_keys)),
    created_at                  INTEGER NOT NULL,
    expires_at                  INTEGER NOT NULL,
    consumed_at                 INTEGER,
    CONSTRAINT deferred_issuances_pkey PRIMARY KEY (issuer_id, transaction_id_hash),
    CONSTRAINT deferred_issuances_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
) STRICT;

CREATE TABLE notifications (
    issuer_id            TEXT    NOT NULL,
    notification_id_hash BLOB    NOT NULL CHECK (length(notification_id_hash) = 32),
    offer_id             TEXT    NOT NULL,
    expires_at           INTEGER NOT NULL,
    consumed_at          INTEGER,
    event                TEXT,
    CONSTRAINT notifications_pkey PRIMARY KEY (issuer_id, notification_id_hash),
    CONSTRAINT notifications_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
) STRICT;
CREATE INDEX notifications_expires_at ON notifications (issuer_id, expires_at);
