-- 0007 offer credential limit: how many credentials an offer has yielded, so the issuance
-- transaction can refuse more than the per-offer limit under a row lock (the counter is
-- updated in the same statement that checks it; a count over issued_credentials could race).
-- Lockstep with the other dialect's 0007_offer_credential_limit.sql. Expand-only.
ALTER TABLE credential_offers
    ADD COLUMN credentials_issued INTEGER NOT NULL DEFAULT 0 CHECK (credentials_issued >= 0);
UPDATE credential_offers SET credentials_issued = (
    SELECT count(*) FROM issued_credentials c
    WHERE c.issuer_id = credential_offers.issuer_id AND c.offer_id = credential_offers.offer_id
);
