-- Shared hit counters for the rate limiters when RATE_LIMIT_STORE=postgres (several server
-- instances behind one load balancer). UNLOGGED: counters are disposable, so skip the WAL;
-- a crash empties the table, which only forgives some requests.
CREATE UNLOGGED TABLE rate_limit_hits (
  key text PRIMARY KEY CHECK (length(key) <= 512),
  hits integer NOT NULL CHECK (hits >= 0),
  reset_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_hits_reset_idx ON rate_limit_hits (reset_at);
