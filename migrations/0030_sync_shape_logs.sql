-- Durable state of the sync service (server/sync). Shape logs live in PostgreSQL, next to the
-- data they describe: one transaction stores a batch of log entries together with the LSN it
-- covers, so "stored" and "acknowledged to the slot" can never disagree after a crash, and a
-- backup or a cloned database carries its logs with it.

-- How far the replication stream has been durably processed, per slot.
CREATE TABLE sync_state (
  slot_name text PRIMARY KEY,
  processed_lsn bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per shape handle. def_key identifies the definition (table, where, params, columns,
-- replica); a definition has at most one current handle, older ones retire.
CREATE TABLE sync_shapes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  handle text NOT NULL UNIQUE,
  def_key text NOT NULL,
  definition jsonb NOT NULL,
  slot_name text NOT NULL,
  state text NOT NULL DEFAULT 'creating' CHECK (state IN ('creating', 'ready', 'retired')),
  snapshot_xmin text,
  snapshot_xmax text,
  snapshot_xip text[],
  snapshot_rows integer NOT NULL DEFAULT 0,
  log_rows integer NOT NULL DEFAULT 0,
  log_bytes bigint NOT NULL DEFAULT 0,
  last_lsn bigint NOT NULL DEFAULT 0,
  last_op integer NOT NULL DEFAULT 0,
  last_change_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_shapes_def_idx ON sync_shapes (slot_name, def_key) WHERE state = 'ready';

-- Entries of every shape log. lsn = 0 holds the snapshot (op = row number, the last row is the
-- snapshot-end control message); lsn > 0 holds changes at (commit LSN, 2 × op index [+1]).
-- body is the JSON message exactly as served.
CREATE TABLE sync_shape_log (
  shape_id bigint NOT NULL REFERENCES sync_shapes (id) ON DELETE CASCADE,
  lsn bigint NOT NULL,
  op integer NOT NULL,
  body text NOT NULL,
  PRIMARY KEY (shape_id, lsn, op)
);

-- Membership counts of subquery shapes (a clinician's patients: patient -> number of live
-- appointments with the doctor), kept at the same LSN as the log.
CREATE TABLE sync_shape_members (
  shape_id bigint NOT NULL REFERENCES sync_shapes (id) ON DELETE CASCADE,
  member text NOT NULL,
  n integer NOT NULL CHECK (n > 0),
  PRIMARY KEY (shape_id, member)
);
