-- 0005 webhooks: subscriptions and their durable delivery outbox.
-- Lockstep with migrations/postgres/0005_webhooks.sql (same tables, columns and key order).
-- Dialect: STRICT tables, INTEGER for BIGINT, BLOB for BYTEA, TEXT + json_valid for JSONB.
-- Design (crates/vdc-store/src/webhook.rs): webhooks are instance-wide (created with the
-- admin key; a subscription filters on tenants, it belongs to none): the documented exception
-- to "tenant first", like `settings`. The signing secret is ciphertext produced by the
-- application. Deleting a webhook deletes its deliveries and attempts (cascade).

CREATE TABLE webhooks (
    webhook_id       TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    events           TEXT    NOT NULL CHECK (json_valid(events)),
    issuers          TEXT CHECK (issuers IS NULL OR json_valid(issuers)),
    verifiers        TEXT CHECK (verifiers IS NULL OR json_valid(verifiers)),
    encrypted_secret BLOB    NOT NULL,
    created_at       INTEGER NOT NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (webhook_id)
) STRICT;

CREATE TABLE webhook_deliveries (
    webhook_id      TEXT    NOT NULL,
    delivery_id     TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (webhook_id, delivery_id),
    CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (webhook_id)
        REFERENCES webhooks (webhook_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    webhook_id      TEXT    NOT NULL,
    delivery_id     TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    http_status     INTEGER,
    error           TEXT,
    outcome         TEXT    NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    next_attempt_at INTEGER,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (webhook_id, delivery_id, attempt),
    CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (webhook_id, delivery_id)
        REFERENCES webhook_deliveries (webhook_id, delivery_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX presentation_requests_pending_expiry ON presentation_requests (expires_at)
    WHERE status = 'pending';
