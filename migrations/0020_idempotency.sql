-- Answers to idempotent mutations. A mutation claims its key (INSERT ... ON CONFLICT DO
-- NOTHING) in the same transaction as its write and stores its answer before commit, so a
-- replay, concurrent or after a restart or on another server instance, finds the answer or
-- waits for the first attempt to finish. Only successful answers are kept: a rejected request
-- wrote nothing, and the same request sent again is judged afresh.
CREATE TABLE idempotency_keys (
  key uuid PRIMARY KEY,
  -- sha256 of method, route, actor and canonical body: the same key with another request is a mismatch.
  request_hash text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  status smallint,
  body text, -- the exact JSON sent the first time: replays are byte-identical
  headers jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Timestamps inside JSON built by SQL look like the API's others: 2026-12-01T09:00:00.000Z.
CREATE FUNCTION iso_utc(t timestamptz) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
