// Local migration 6: recurring series and the waitlist on the device.
// - appointments carry series_id (synced, and on overlay rows written offline); the merged
//   view and the overlay copy are redefined with it;
// - the outbox knows the series entries: one per series request (book, cancel, edit);
// - the waitlist's waiting entries are synced (read-only here: offering and booking need the
//   server), with the freed slots offered to each.
import { SYNCED_TABLES } from '../db/schema/tables';

const COLS = SYNCED_TABLES.appointments.columns.join(', ');

export const SERIES_WAITLIST_MIGRATION_SQL = `
ALTER TABLE appointments_synced ADD COLUMN IF NOT EXISTS series_id uuid;
ALTER TABLE appointments_overlay ADD COLUMN IF NOT EXISTS series_id uuid;
CREATE INDEX appointments_synced_series_idx ON appointments_synced (series_id, starts_at) WHERE series_id IS NOT NULL;

DROP VIEW appointments;
CREATE VIEW appointments AS
  SELECT ${COLS}, false AS pending FROM appointments_synced s
   WHERE s.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM appointments_overlay o WHERE o.id = s.id)
  UNION ALL
  SELECT ${COLS}, true AS pending FROM appointments_overlay
   WHERE NOT local_deleted;

CREATE OR REPLACE FUNCTION local_overlay_copy(row_id uuid) RETURNS void LANGUAGE sql AS $$
  INSERT INTO appointments_overlay (${COLS})
  SELECT ${COLS} FROM appointments_synced WHERE id = row_id
  ON CONFLICT (id) DO NOTHING
$$;

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
  CHECK (kind IN ('book', 'reschedule', 'cancel', 'status', 'update', 'patient_create', 'patient_update',
                  'series_book', 'series_cancel', 'series_edit'));

CREATE TABLE waitlist_entries_synced (
  id uuid NOT NULL PRIMARY KEY,
  patient_id uuid NOT NULL,
  doctor_id uuid,
  specialization_id uuid,
  earliest_date date NOT NULL,
  latest_date date NOT NULL,
  time_of_day text NOT NULL,
  urgency text NOT NULL,
  duration_minutes integer NOT NULL,
  note text,
  status text NOT NULL,
  offers jsonb NOT NULL DEFAULT '[]',
  created_by uuid,
  created_at timestamptz,
  updated_at timestamptz
);
`;
