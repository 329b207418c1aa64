-- 0006 retention: indexes for the retention purge of finished rows (VDC_*_RETENTION_DAYS).
-- Lockstep with migrations/postgres/0006_retention.sql (same indexes).
-- Design (docs/CONFIG.md "Retention"): the background loop deletes, in bounded batches,
-- - presentation requests that left `pending` before the cutoff (`finished_at`),
-- - webhook deliveries that are no longer `pending`, enqueued and last attempted before the
--   cutoff (their attempts go with them by the existing cascade),
-- - audit entries recorded before the cutoff (served by the existing `audit_entries_id`:
--   audit ids start with the unix second, so no new index is needed).
-- Both indexes are partial on "not pending", so they never cover the hot pending rows the
-- dispatcher and the expiry sweep work on. Expand-only.
-- IF NOT EXISTS keeps the text identical to the Postgres twin, where an operator may have
-- built the indexes beforehand (CREATE INDEX CONCURRENTLY).

CREATE INDEX IF NOT EXISTS presentation_requests_finished
    ON presentation_requests (finished_at) WHERE status <> 'pending';

CREATE INDEX IF NOT EXISTS webhook_deliveries_finished
    ON webhook_deliveries (created_at) WHERE state <> 'pending';
