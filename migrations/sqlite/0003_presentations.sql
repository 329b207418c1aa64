-- 0003 presentations: verifier tenants and their OpenID4VP presentation requests.
-- Lockstep with migrations/postgres/0003_presentations.sql (same tables, columns and key order).
-- Dialect: STRICT tables, INTEGER for BIGINT, BLOB for BYTEA, TEXT + json_valid for JSONB.
-- Design (crates/vdc-store/src/presentation.rs): a request is ended once by a conditional
-- UPDATE ... WHERE status = 'pending' AND expires_at > now (G2); state and response_code are
-- stored as SHA-256 digests; private keys only as ciphertext produced by the application.

CREATE TABLE verifiers (
    verifier_id           TEXT    NOT NULL,
    config                TEXT    NOT NULL CHECK (json_valid(config)),
    encrypted_signing_key BLOB    NOT NULL,
    created_at            INTEGER NOT NULL,
    CONSTRAINT verifiers_pkey PRIMARY KEY (verifier_id)
) STRICT;

CREATE TABLE presentation_requests (
    verifier_id            TEXT    NOT NULL,
    request_id             TEXT    NOT NULL,
    state_hash             BLOB    NOT NULL CHECK (length(state_hash) = 32),
    request                TEXT    NOT NULL CHECK (json_valid(request)),
    encrypted_response_key BLOB,
    status                 TEXT    NOT NULL
        CHECK (status IN ('pending', 'verified', 'rejected', 'expired')),
    result                 TEXT CHECK (result IS NULL OR json_valid(result)),
    error                  TEXT CHECK (error IS NULL OR json_valid(error)),
    response_code_hash     BLOB CHECK (response_code_hash IS NULL OR length(response_code_hash) = 32),
    response_code_used_at  INTEGER,
    created_at             INTEGER NOT NULL,
    expires_at             INTEGER NOT NULL,
    finished_at            INTEGER,
    CONSTRAINT presentation_requests_pkey PRIMARY KEY (verifier_id, request_id),
    CONSTRAINT presentation_requests_state_key UNIQUE (verifier_id, state_hash),
    CONSTRAINT presentation_requests_verifier_fkey FOREIGN KEY (verifier_id)
        REFERENCES verifiers (verifier_id)
) STRICT;
CREATE UNIQUE INDEX presentation_requests_response_code
    ON presentation_requests (verifier_id, response_code_hash)
    WHERE response_code_hash IS NOT NULL;
