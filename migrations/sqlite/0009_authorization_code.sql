-- 0009 authorization code flow (issue 13). Lockstep with the other dialect's 0009. Expand-only.
-- One row per authorization (RFC 9126 pushed request -> login at the enterprise's OpenID
-- Provider -> authorization code -> redeemed). `handle_hash` is the SHA-256 of the one secret
-- the client holds at the current stage (request_uri, login state, code); each step replaces
-- it in one conditional UPDATE, so every handle works once (G2).
CREATE TABLE authorizations (
    issuer_id        TEXT    NOT NULL,
    authorization_id TEXT    NOT NULL,
    handle_hash      BLOB    NOT NULL CHECK (length(handle_hash) = 32),
    stage            TEXT    NOT NULL
        CHECK (stage IN ('pushed', 'logging_in', 'authorized', 'redeemed')),
    request          TEXT    NOT NULL CHECK (json_valid(request)),
    subject          TEXT,
    claims           TEXT CHECK (claims IS NULL OR json_valid(claims)),
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    CONSTRAINT authorizations_pkey PRIMARY KEY (issuer_id, authorization_id),
    CONSTRAINT authorizations_handle_key UNIQUE (issuer_id, handle_hash),
    CONSTRAINT authorizations_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;
CREATE INDEX authorizations_expires_at ON authorizations (issuer_id, expires_at);

-- DPoP binding (RFC 9449 §6: cnf.jkt), whether the token response carried
-- authorization_details (OID4VCI 1.0 §6.2), and the authorization a token came from (a code
-- presented twice revokes its tokens, RFC 6749 §4.1.2).
ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT;
ALTER TABLE access_tokens ADD COLUMN authorization_details INTEGER NOT NULL DEFAULT 0 CHECK (authorization_details IN (0, 1));
ALTER TABLE access_tokens ADD COLUMN authorization_id TEXT;
CREATE INDEX access_tokens_authorization ON access_tokens (issuer_id, authorization_id);

-- Refresh tokens (RFC 6749 §6, rotated on use; HAIP 1.0 §4.4), bound like access tokens.
CREATE TABLE refresh_tokens (
    issuer_id        TEXT    NOT NULL,
    token_hash       BLOB    NOT NULL CHECK (length(token_hash) = 32),
    authorization_id TEXT    NOT NULL,
    dpop_jkt         TEXT,
    expires_at       INTEGER NOT NULL,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (issuer_id, token_hash),
    CONSTRAINT refresh_tokens_authorization_fkey FOREIGN KEY (issuer_id, authorization_id)
        REFERENCES authorizations (issuer_id, authorization_id)
) STRICT;
CREATE INDEX refresh_tokens_authorization ON refresh_tokens (issuer_id, authorization_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (issuer_id, expires_at);

-- Used DPoP proof jtis (RFC 9449 §11.1), purged once the proof is too old to be accepted.
CREATE TABLE dpop_proofs (
    issuer_id  TEXT    NOT NULL,
    jti_hash   BLOB    NOT NULL CHECK (length(jti_hash) = 32),
    expires_at INTEGER NOT NULL,
    CONSTRAINT dpop_proofs_pkey PRIMARY KEY (issuer_id, jti_hash),
    CONSTRAINT dpop_proofs_issuer_fkey FOREIGN KEY (issuer_id) REFERENCES issuers (issuer_id)
) STRICT;
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (issuer_id, expires_at);
