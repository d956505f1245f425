// Local migration 9: a patient's visits before the appointment window, loaded on demand on the
// patient page (subset snapshots, docs/sync.md "Earlier visits"). Kept apart from the synced
// appointments: sync's must-refetch and truncate of appointments_synced never drop them, and
// the schedule views, which read the window's `appointments` view, never show them. Written
// only by src/lib/history/load.ts; the whole database (these tables too) goes at logout.
// The column list is spelled out, not taken from tables.ts: a shipped migration never changes.

export const HISTORY_COLUMNS = [
  'id',
  'patient_id',
  'doctor_id',
  'starts_at',
  'ends_at',
  'duration_minutes',
  'status',
  'urgency',
  'reason',
  'clinical_notes',
  'cancellation_reason',
  'type_id',
  'updated_at',
] as const;

export const HISTORY_MIGRATION_SQL = `
CREATE TABLE local_history_appointments (
  id uuid PRIMARY KEY,
  patient_id uuid NOT NULL,
  doctor_id uuid NOT NULL,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  duration_minutes integer NOT NULL,
  status text NOT NULL,
  urgency text NOT NULL,
  reason text,
  clinical_notes text,
  cancellation_reason text,
  type_id uuid,
  updated_at timestamptz,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX local_history_appointments_patient_idx ON local_history_appointments (patient_id, starts_at DESC, id DESC);

-- Per patient: when the history was last loaded, how many rows the server has given so far
-- (the next page's offset) and whether the last page was reached.
CREATE TABLE local_history_loads (
  patient_id uuid PRIMARY KEY,
  loaded_at timestamptz NOT NULL,
  loaded_count integer NOT NULL,
  complete boolean NOT NULL
);
`;
