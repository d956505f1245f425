-- A session token is now "<id part>.<secret part>": the row is found by sha256(id part) (the
-- id column) and the secret is checked against secret_hash = sha256(secret part) with a
-- constant-time comparison, so no lookup timing depends on the secret. Sessions made before
-- this have no secret: they end (everyone logs in once more).
DELETE FROM sessions;
ALTER TABLE sessions ADD COLUMN secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32);
