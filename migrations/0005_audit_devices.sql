-- Append-only, hash-chained audit trail: hash = sha256(prev_hash || canonical row).
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor_id uuid REFERENCES users (id),
  action text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  entity text NOT NULL CHECK (length(entity) BETWEEN 1 AND 64),
  entity_id text,
  at timestamptz NOT NULL DEFAULT now(),
  ip text,
  user_agent text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash text,
  hash text NOT NULL
);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, id DESC);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- One row per app instance (browser profile), written by heartbeats.
CREATE TABLE devices (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  app_version text NOT NULL CHECK (length(app_version) <= 64),
  online boolean NOT NULL,
  outbox_pending integer NOT NULL DEFAULT 0 CHECK (outbox_pending >= 0),
  outbox_rejected integer NOT NULL DEFAULT 0 CHECK (outbox_rejected >= 0),
  last_synced_at timestamptz,
  shapes jsonb NOT NULL DEFAULT '{}'::jsonb,
  storage jsonb NOT NULL DEFAULT '{}'::jsonb,
  user_agent text CHECK (length(user_agent) <= 512),
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_user_idx ON devices (user_id);
CREATE INDEX devices_last_seen_idx ON devices (last_seen_at DESC);
