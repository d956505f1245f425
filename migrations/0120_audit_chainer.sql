-- Audited writers no longer serialize on the chain's head. A write appends its audit row
-- unchained (hash NULL) in its own transaction; one chainer (server/audit/chainer.ts, one
-- instance at a time under an advisory lock) links committed rows in batches: it gives each
-- row the next chain_seq, its prev_hash and hash, and moves audit_chain_head. chain_seq is the
-- chain's order (the order the chainer saw the rows committed); ids are only drawn earlier.
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
ALTER TABLE audit_log ADD COLUMN chain_seq bigint;
ALTER TABLE audit_log ALTER COLUMN at SET DEFAULT date_trunc('milliseconds', clock_timestamp());

-- Rows chained before this migration keep their hashes; their chain order was id order.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log SET chain_seq = id;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

CREATE UNIQUE INDEX audit_log_chain_seq_idx ON audit_log (chain_seq);
-- The chainer's work list: small, since rows leave it within a second.
CREATE INDEX audit_log_unchained_idx ON audit_log (id) WHERE hash IS NULL;

ALTER TABLE audit_chain_head ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
UPDATE audit_chain_head SET last_seq = last_id;

-- Still append-only: the one change allowed is linking an unchained row into the chain, once,
-- with every recorded field unchanged.
CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND OLD.hash IS NULL AND OLD.chain_seq IS NULL
     AND NEW.hash IS NOT NULL AND NEW.chain_seq IS NOT NULL
     AND (NEW.id, NEW.actor_id, NEW.action, NEW.entity, NEW.entity_id, NEW.at, NEW.ip, NEW.user_agent, NEW.details)
         IS NOT DISTINCT FROM
         (OLD.id, OLD.actor_id, OLD.action, OLD.entity, OLD.entity_id, OLD.at, OLD.ip, OLD.user_agent, OLD.details)
  THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

GRANT UPDATE (prev_hash, hash, chain_seq) ON audit_log TO CURRENT_USER;
