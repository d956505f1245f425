// Local migration 2: the outbox. One row per user action that changed data while (maybe)
// offline, written in the same local transaction as the overlay row the UI shows. The
// sender replays rows in `seq` order; `id` is the idempotency key the server sees.
export const OUTBOX_MIGRATION_SQL = `
CREATE TABLE outbox (
  seq bigserial PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('book', 'reschedule', 'cancel', 'status', 'update')),
  -- the appointment the action is about, and the row it creates (book, reschedule)
  entity_id uuid NOT NULL,
  result_id uuid,
  -- the queued entry that creates entity_id, if it was not accepted when this one was queued
  depends_on uuid,
  method text NOT NULL,
  path text NOT NULL,
  body jsonb NOT NULL,
  user_id uuid NOT NULL,
  schema_version integer NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'accepted', 'rejected')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error jsonb,
  txid bigint,
  -- accepted: dropped once the synced row confirm_id reaches confirm_version
  confirm_id uuid,
  confirm_version integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_state_seq_idx ON outbox (state, seq);
CREATE INDEX outbox_entity_idx ON outbox (entity_id);
CREATE INDEX outbox_result_idx ON outbox (result_id);
`;

// Local migration 3: offline edits (appointment PATCH) and patient create/edit. Patients
// carry no version, so an accepted patient write is confirmed when the synced row's
// updated_at reaches the one the server answered. Confirmed writes are remembered for a
// short while so lists can show "confirmed" after the local row made way for the server's.
export const OUTBOX_EDITS_MIGRATION_SQL = `
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('book', 'reschedule', 'cancel', 'status', 'update', 'patient_create', 'patient_update'));
ALTER TABLE outbox ADD COLUMN confirm_table text NOT NULL DEFAULT 'appointments'
  CHECK (confirm_table IN ('appointments', 'patients'));
ALTER TABLE outbox ADD COLUMN confirm_updated_at timestamptz;
CREATE TABLE recent_confirmations (
  entity_id uuid PRIMARY KEY,
  confirmed_at timestamptz NOT NULL DEFAULT now()
);
`;
