-- 0010 signing-key rotation (issue 17). Lockstep with the other dialect's 0010. Expand-only.
-- A key signs from `activate_at` (NULL: from `created_at`, every key before this migration)
-- until the next key's `activate_at` or its own `retired_at`, whichever is first; a key
-- whose `activate_at` is still ahead is the issuer's `next` key (published, signing nothing).
ALTER TABLE issuer_signing_keys ADD COLUMN activate_at BIGINT;
-- The order keys were added in, per issuer (NULL: before this migration, ordered by
-- created_at): rotations are serialized on it, so keys added within one second keep their
-- order and a rotation can tell whether another came first.
ALTER TABLE issuer_signing_keys ADD COLUMN seq BIGINT;
-- Which credentials a retired key may have signed (its `published_until`, R3).
CREATE INDEX issued_credentials_issued_at ON issued_credentials (issuer_id, issued_at);
