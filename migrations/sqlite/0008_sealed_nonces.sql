-- 0008 sealed c_nonces (issue 11). Lockstep with the other backend's 0008.
-- The nonce endpoint no longer writes: a c_nonce is sealed by the issuer (its expiry inside,
-- under a KEK-derived key), and `c_nonces` now holds only *used* nonces, inserted by the
-- issuance transaction (the primary key makes a use happen once, G2) and purged after they
-- expire. Rows the old code wrote for nonces never used are not "used": they are dropped,
-- and a wallet holding one gets invalid_nonce and fetches a fresh nonce (OID4VCI 1.0
-- §8.3.1.2). Existing used rows keep their meaning.
DELETE FROM c_nonces WHERE consumed_at IS NULL;
