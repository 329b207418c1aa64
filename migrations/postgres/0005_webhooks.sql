-- 0005 webhooks: subscriptions and their durable delivery outbox.
-- Lockstep with migrations/sqlite/0005_webhooks.sql (same tables, columns and key order).
-- Design (crates/vdc-store/src/webhook.rs): webhooks are instance-wide (created with the
-- admin key; a subscription filters on tenants, it belongs to none): the documented exception
-- to "tenant first", like `settings`. The signing secret must be usable later, so it is kept
-- as ciphertext produced by the application (never hashed, never in clear). A delivery row is
-- inserted per matching webhook in the transaction that records the event; a dispatcher
-- claims due rows with a conditional UPDATE taking a lease, and each attempt is one row of
-- `webhook_attempts` (its key makes an attempt number recordable once). Deleting a webhook
-- deletes its deliveries and attempts (cascade), so nothing of it is sent again.

CREATE TABLE webhooks (
    webhook_id       TEXT   NOT NULL,
    url              TEXT   NOT NULL,
    events           JSONB  NOT NULL,
    issuers          JSONB,
    verifiers        JSONB,
    encrypted_secret BYTEA  NOT NULL,
    created_at       BIGINT NOT NULL,
    CONSTRAINT webhooks_pkey PRIMARY KEY (webhook_id)
);

CREATE TABLE webhook_deliveries (
    webhook_id      TEXT   NOT NULL,
    delivery_id     TEXT   NOT NULL,
    event_id        TEXT   NOT NULL,
    event_type      TEXT   NOT NULL,
    payload         TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (webhook_id, delivery_id),
    CONSTRAINT webhook_deliveries_webhook_fkey FOREIGN KEY (webhook_id)
        REFERENCES webhooks (webhook_id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';

CREATE TABLE webhook_attempts (
    webhook_id      TEXT   NOT NULL,
    delivery_id     TEXT   NOT NULL,
    attempt         BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    http_status     BIGINT,
    error           TEXT,
    outcome         TEXT   NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    next_attempt_at BIGINT,
    CONSTRAINT webhook_attempts_pkey PRIMARY KEY (webhook_id, delivery_id, attempt),
    CONSTRAINT webhook_attempts_delivery_fkey FOREIGN KEY (webhook_id, delivery_id)
        REFERENCES webhook_deliveries (webhook_id, delivery_id) ON DELETE CASCADE
);

CREATE INDEX presentation_requests_pending_expiry ON presentation_requests (expires_at)
    WHERE status = 'pending';
