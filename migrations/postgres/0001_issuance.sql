-- 0001 issuance: the OpenID4VCI issuer's state and instance settings.
-- Lockstep with migrations/sqlite/0001_issuance.sql (same tables, columns and key order).
-- Rules (docs/migrations.md): every tenant row carries issuer_id and every key leads with it;
-- times are UTC unix seconds (BIGINT) written by the application, never now(); bearer
-- secrets are stored as 32-byte SHA-256 digests; private keys only as caller ciphertext.

-- Instance-wide settings (not tenant data), e.g. the hash of a generated admin key.
CREATE TABLE settings (
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    CONSTRAINT settings_pkey PRIMARY KEY (key)
);

CREATE TABLE issuers (
    issuer_id  TEXT   NOT NULL,
    config     JSONB  NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT issuers_pkey PRIMARY KEY (issuer_id)
);

CREATE TABLE issuer_signing_keys (
    issuer_id             TEXT   NOT NULL,
    kid                   TEXT   NOT NULL,
    alg                   TEXT   NOT NULL,
    public_jwk            JSONB  NOT NULL,
    encrypted_private_key BYTEA  NOT NULL,
    created_at            BIGINT NOT NULL,
    retired_at            BIGINT,
    CONSTRAINT issuer_signing_keys_pkey PRIMARY KEY (issuer_id, kid),
    CONSTRAINT issuer_signing_keys_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
);

CREATE TABLE credential_offers (
    issuer_id                    TEXT    NOT NULL,
    offer_id                     TEXT    NOT NULL,
    credential_configuration_ids TEXT[]  NOT NULL,
    claims                       JSONB,
    credential_offer             JSONB   NOT NULL,
    pre_authorized_code_hash     BYTEA   NOT NULL CHECK (octet_length(pre_authorized_code_hash) = 32),
    tx_code_hash                 BYTEA   CHECK (octet_length(tx_code_hash) = 32),
    tx_code_failures             INTEGER NOT NULL DEFAULT 0 CHECK (tx_code_failures >= 0),
    deferred                     BOOLEAN NOT NULL,
    status                       TEXT    NOT NULL
        CHECK (status IN ('offered', 'token_issued', 'credential_issued', 'cancelled')),
    created_at                   BIGINT  NOT NULL,
    expires_at                   BIGINT  NOT NULL,
    CONSTRAINT credential_offers_pkey PRIMARY KEY (issuer_id, offer_id),
    CONSTRAINT credential_offers_code_key UNIQUE (issuer_id, pre_authorized_code_hash),
    CONSTRAINT credential_offers_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
);

CREATE TABLE access_tokens (
    issuer_id                    TEXT   NOT NULL,
    token_hash                   BYTEA  NOT NULL CHECK (octet_length(token_hash) = 32),
    offer_id                     TEXT   NOT NULL,
    credential_configuration_ids TEXT[] NOT NULL,
    expires_at                   BIGINT NOT NULL,
    CONSTRAINT access_tokens_pkey PRIMARY KEY (issuer_id, token_hash),
    CONSTRAINT access_tokens_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
);
CREATE INDEX access_tokens_expires_at ON access_tokens (issuer_id, expires_at);

CREATE TABLE c_nonces (
    issuer_id   TEXT   NOT NULL,
    nonce_hash  BYTEA  NOT NULL CHECK (octet_length(nonce_hash) = 32),
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    CONSTRAINT c_nonces_pkey PRIMARY KEY (issuer_id, nonce_hash),
    CONSTRAINT c_nonces_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
);
CREATE INDEX c_nonces_expires_at ON c_nonces (issuer_id, expires_at);

CREATE TABLE issued_credentials (
    issuer_id                   TEXT   NOT NULL,
    credential_id               TEXT   NOT NULL,
    offer_id                    TEXT   NOT NULL,
    credential_configuration_id TEXT   NOT NULL,
    holder_key_thumbprint       TEXT,
    status_list_id              TEXT,
    status_list_index           BIGINT CHECK (status_list_index >= 0),
    status                      TEXT   NOT NULL CHECK (status IN ('valid', 'revoked', 'suspended')),
    issued_at                   BIGINT NOT NULL,
    expires_at                  BIGINT,
    CONSTRAINT issued_credentials_pkey PRIMARY KEY (issuer_id, credential_id),
    -- G9: one (list, index) per issuer belongs to one credential (NULLs are distinct).
    CONSTRAINT issued_credentials_status_entry_key
        UNIQUE (issuer_id, status_list_id, status_list_index),
    CONSTRAINT issued_credentials_status_entry_whole
        CHECK ((status_list_id IS NULL) = (status_list_index IS NULL)),
    CONSTRAINT issued_credentials_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
);
CREATE INDEX issued_credentials_offer ON issued_credentials (issuer_id, offer_id);

CREATE TABLE deferred_issuances (
    issuer_id                   TEXT   NOT NULL,
    transaction_id_hash         BYTEA  NOT NULL CHECK (octet_length(transaction_id_hash) = 32),
    offer_id                    TEXT   NOT NULL,
    credential_configuration_id TEXT   NOT NULL,
    holder_keys                 JSONB  NOT NULL,
    created_at                  BIGINT NOT NULL,
    expires_at                  BIGINT NOT NULL,
    consumed_at                 BIGINT,
    CONSTRAINT deferred_issuances_pkey PRIMARY KEY (issuer_id, transaction_id_hash),
    CONSTRAINT deferred_issuances_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
);

CREATE TABLE notifications (
    issuer_id            TEXT   NOT NULL,
    notification_id_hash BYTEA  NOT NULL CHECK (octet_length(notification_id_hash) = 32),
    offer_id             TEXT   NOT NULL,
    expires_at           BIGINT NOT NULL,
    consumed_at          BIGINT,
    event                TEXT,
    CONSTRAINT notifications_pkey PRIMARY KEY (issuer_id, notification_id_hash),
    CONSTRAINT notifications_offer_fkey FOREIGN KEY (issuer_id, offer_id)
        REFERENCES credential_offers (issuer_id, offer_id)
);
CREATE INDEX notifications_expires_at ON notifications (issuer_id, expires_at);
