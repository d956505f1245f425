-- The audit chain's head (last id and hash) in one row. Appenders lock this row
-- (SELECT ... FOR UPDATE) before they chain the next entry: under READ COMMITTED the lock
-- returns the newest head; under REPEATABLE READ / SERIALIZABLE a concurrent append turns
-- into a serialization failure (retried) instead of a silently forked chain. Verification
-- also compares the chain's end with this row, so deleting the newest entries shows.
CREATE TABLE audit_chain_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_id bigint NOT NULL DEFAULT 0,
  hash text
);
INSERT INTO audit_chain_head (last_id, hash)
SELECT coalesce((SELECT id FROM audit_log ORDER BY id DESC LIMIT 1), 0),
       (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1);

-- Append-only beyond the trigger of 0005: the application's role keeps INSERT and SELECT
-- only. A superuser bypasses privileges (not the trigger); a table owner could grant them
-- back, which is why production should run the app as a role that owns nothing (docs/security.md).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;
REVOKE DELETE, TRUNCATE ON audit_chain_head FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_chain_head FROM CURRENT_USER;
