-- 0003 presentations: verifier tenants and their OpenID4VP presentation requests.
-- Lockstep with migrations/sqlite/0003_presentations.sql (same tables, columns and key order).
-- Design (crates/vdc-store/src/presentation.rs): a request is ended once by a conditional
-- UPDATE ... WHERE status = 'pending' AND expires_at > now (G2); state and response_code are
-- stored as SHA-256 digests; private keys only as ciphertext produced by the application.

CREATE TABLE verifiers (
    verifier_id           TEXT   NOT NULL,
    config                JSONB  NOT NULL,
    encrypted_signing_key BYTEA  NOT NULL,
    created_at            BIGINT NOT NULL,
    CONSTRAINT verifiers_pkey PRIMARY KEY (verifier_id)
);

CREATE TABLE presentation_requests (
    verifier_id            TEXT   NOT NULL,
    request_id             TEXT   NOT NULL,
    state_hash             BYTEA  NOT NULL CHECK (octet_length(state_hash) = 32),
    request                JSONB  NOT NULL,
    encrypted_response_key BYTEA,
    status                 TEXT   NOT NULL
        CHECK (status IN ('pending', 'verified', 'rejected', 'expired')),
    result                 JSONB,
    error                  JSONB,
    response_code_hash     BYTEA CHECK (octet_length(response_code_hash) = 32),
    response_code_used_at  BIGINT,
    created_at             BIGINT NOT NULL,
    expires_at             BIGINT NOT NULL,
    finished_at            BIGINT,
    CONSTRAINT presentation_requests_pkey PRIMARY KEY (verifier_id, request_id),
    CONSTRAINT presentation_requests_state_key UNIQUE (verifier_id, state_hash),
    CONSTRAINT presentation_requests_verifier_fkey FOREIGN KEY (verifier_id)
        REFERENCES verifiers (verifier_id)
);
CREATE UNIQUE INDEX presentation_requests_response_code
    ON presentation_requests (verifier_id, response_code_hash)
    WHERE response_code_hash IS NOT NULL;
