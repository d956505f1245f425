// Local migration 5: appointment types and buffers on the device, the device's ONE overlap
// definition (local_doctor_busy for the doctor's occupied ranges, used by the write checks and
// the free-slot finder), and the outbox fields of the undo window.
//
// Overlap on the device, as on the server (src/lib/shared/slots.ts): an appointment holds
// its doctor from buffer_before_minutes before its start to buffer_after_minutes after its
// end, and holds its patient for the appointment itself.
//
// Undo: a one-tap step is queued with a short hold (entry.hold_seconds: next_attempt_at lies
// that far ahead, and the sender waits for it) and with the status it replaced (entry.undo),
// so the step can be taken back while it is still pending on the device (undo.ts).
import { SYNCED_TABLES, type SyncedTable } from '../db/schema/tables';

interface SchemaHelpers {
  createTable(name: string, t: SyncedTable, extra?: string[]): string;
  mergedView(view: string, t: SyncedTable, liveFilter: string, derived?: string[]): string;
}

const NEW_APPOINTMENT_COLUMNS = ['type_id uuid', 'buffer_before_minutes integer', 'buffer_after_minutes integer'];

export function LOCAL_RULES_MIGRATION_SQL({ createTable, mergedView }: SchemaHelpers): string {
  const { appointment_types, appointment_type_doctors } = SYNCED_TABLES;
  // The appointment columns as of this migration (series_id comes with migration 6).
  const appointments = {
    ...SYNCED_TABLES.appointments,
    columns: SYNCED_TABLES.appointments.columns.filter((c) => c !== 'series_id'),
  };
  const cols = appointments.columns.join(', ');
  const addColumns = (table: string) =>
    NEW_APPOINTMENT_COLUMNS.map((c) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${c};`).join('\n');
  return `
${addColumns('appointments_synced')}
${addColumns('appointments_overlay')}
DROP VIEW appointments;
${mergedView('appointments', appointments, 's.deleted_at IS NULL')}

${createTable(appointment_types.local, appointment_types)}
${createTable(appointment_type_doctors.local, appointment_type_doctors)}
CREATE VIEW appointment_types AS SELECT ${appointment_types.columns.join(', ')} FROM appointment_types_synced;
CREATE VIEW appointment_type_doctors AS SELECT type_id, doctor_id FROM appointment_type_doctors_synced;

ALTER TABLE outbox ADD COLUMN undo jsonb;

CREATE OR REPLACE FUNCTION outbox_queue(entry jsonb) RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox (id, kind, entity_id, result_id, depends_on, method, path, body, user_id, schema_version,
                      next_attempt_at, undo)
  SELECT (entry->>'key')::uuid, entry->>'kind', (entry->>'entity_id')::uuid, (entry->>'result_id')::uuid,
         (SELECT o.id FROM outbox o
           WHERE o.state <> 'accepted'
             AND o.result_id = ANY (ARRAY[(entry->>'entity_id')::uuid]
                   || ARRAY(SELECT jsonb_array_elements_text(coalesce(entry->'needs', '[]'))::uuid))
           ORDER BY o.seq DESC LIMIT 1),
         entry->>'method', entry->>'path', entry->'body', (entry->>'user_id')::uuid, (entry->>'schema_version')::int,
         now() + make_interval(secs => coalesce((entry->>'hold_seconds')::int, 0)), entry->'undo'
$$;

CREATE OR REPLACE FUNCTION local_overlay_copy(row_id uuid) RETURNS void LANGUAGE sql AS $$
  INSERT INTO appointments_overlay (${cols})
  SELECT ${cols} FROM appointments_synced WHERE id = row_id
  ON CONFLICT (id) DO NOTHING
$$;

-- THE doctor overlap of the device: active appointments of the doctor whose occupied range
-- (with their buffers) overlaps [starts, ends). Callers pass the new appointment's occupied
-- range; the slot finder passes the day.
CREATE FUNCTION local_doctor_busy(doctor uuid, starts timestamptz, ends timestamptz, exclude uuid, active text[])
RETURNS TABLE (id uuid, starts_at timestamptz, ends_at timestamptz, held_from timestamptz, held_to timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT a.id, a.starts_at, a.ends_at,
         a.starts_at - make_interval(mins => coalesce(a.buffer_before_minutes, 0)),
         a.ends_at + make_interval(mins => coalesce(a.buffer_after_minutes, 0))
    FROM appointments a
   WHERE a.doctor_id = doctor AND a.status = ANY (active) AND a.id IS DISTINCT FROM exclude
     AND a.starts_at - make_interval(mins => coalesce(a.buffer_before_minutes, 0)) < ends
     AND a.ends_at + make_interval(mins => coalesce(a.buffer_after_minutes, 0)) > starts
$$;

DROP FUNCTION local_conflicts(uuid, uuid, timestamptz, timestamptz, uuid, text[]);
-- Active appointments of the doctor (occupied ranges, with buffers) or of the patient (the
-- appointment itself) overlapping the new appointment [starts, ends) with its buffers.
CREATE FUNCTION local_conflicts(doctor uuid, patient uuid, starts timestamptz, ends timestamptz,
                                exclude uuid, active text[], before_min integer, after_min integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'starts_at', c.starts_at, 'ends_at', c.ends_at,
                                               'same_doctor', c.same_doctor) ORDER BY c.starts_at), '[]')
    FROM (SELECT b.id, b.starts_at, b.ends_at, true AS same_doctor
            FROM local_doctor_busy(doctor, starts - make_interval(mins => before_min),
                                   ends + make_interval(mins => after_min), exclude, active) b
          UNION ALL
          SELECT a.id, a.starts_at, a.ends_at, false
            FROM appointments a
           WHERE a.patient_id = patient AND a.doctor_id <> doctor AND a.status = ANY (active)
             AND a.starts_at < ends AND a.ends_at > starts AND a.id IS DISTINCT FROM exclude) c
$$;

DROP FUNCTION local_book(uuid, uuid, uuid, timestamptz, integer, text, text, uuid, boolean, text[], jsonb);
-- A new appointment (status scheduled, version 1) with its type and the type's buffers,
-- unless check_conflicts finds an overlap.
CREATE FUNCTION local_book(new_id uuid, patient uuid, doctor uuid, starts timestamptz, minutes integer,
                           urgency_ text, reason_ text, by_user uuid, check_conflicts boolean,
                           active text[], entry jsonb, type_ uuid)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  ends timestamptz := starts + make_interval(mins => minutes);
  overlapping jsonb;
  before_min integer := coalesce((SELECT buffer_before_minutes FROM appointment_types WHERE id = type_), 0);
  after_min integer := coalesce((SELECT buffer_after_minutes FROM appointment_types WHERE id = type_), 0);
BEGIN
  IF check_conflicts THEN
    overlapping := local_conflicts(doctor, patient, starts, ends, NULL, active, before_min, after_min);
    IF jsonb_array_length(overlapping) > 0 THEN RETURN jsonb_build_object('conflicts', overlapping); END IF;
  END IF;
  INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status,
                                    urgency, reason, created_by, created_at, updated_at, version,
                                    type_id, buffer_before_minutes, buffer_after_minutes)
  VALUES (new_id, patient, doctor, starts, ends, minutes, 'scheduled', urgency_, reason_, by_user, now(), now(), 1,
          type_, before_min, after_min);
  PERFORM outbox_queue(entry);
  RETURN jsonb_build_object('ok', true);
END $$;

-- A move keeps the type and buffers of the old row.
CREATE OR REPLACE FUNCTION local_reschedule(row_id uuid, new_id uuid, starts timestamptz, minutes integer, by_user uuid,
                                 allowed_from text[], check_conflicts boolean, active text[], entry jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  prior record;
  ends timestamptz;
  overlapping jsonb;
BEGIN
  SELECT status, patient_id, doctor_id, duration_minutes, urgency, reason, type_id,
         coalesce(buffer_before_minutes, 0) AS before_min, coalesce(buffer_after_minutes, 0) AS after_min
    INTO prior FROM appointments WHERE id = row_id;
  IF NOT FOUND THEN RETURN jsonb_build_object('refused', 'not_on_device'); END IF;
  IF NOT prior.status = ANY (allowed_from) THEN RETURN jsonb_build_object('refused', 'status', 'from', prior.status); END IF;
  minutes := coalesce(minutes, prior.duration_minutes);
  ends := starts + make_interval(mins => minutes);
  IF check_conflicts THEN
    overlapping := local_conflicts(prior.doctor_id, prior.patient_id, starts, ends, row_id, active,
                                   prior.before_min, prior.after_min);
    IF jsonb_array_length(overlapping) > 0 THEN RETURN jsonb_build_object('conflicts', overlapping); END IF;
  END IF;
  PERFORM local_overlay_copy(row_id);
  UPDATE appointments_overlay SET status = 'rescheduled', version = version + 1, local_updated_at = now()
   WHERE id = row_id;
  INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency,
                                    reason, rescheduled_from, created_by, created_at, updated_at, version,
                                    type_id, buffer_before_minutes, buffer_after_minutes)
  VALUES (new_id, prior.patient_id, prior.doctor_id, starts, ends, minutes, 'scheduled', prior.urgency, prior.reason, row_id,
          by_user, now(), now(), 1, prior.type_id, prior.before_min, prior.after_min);
  PERFORM outbox_queue(jsonb_set(entry, '{body,duration_minutes}', to_jsonb(minutes)));
  RETURN jsonb_build_object('ok', true);
END $$;

-- A status change (cancel included) allowed only from the statuses in allowed_from. The
-- entry remembers the status it replaced (undo) and may be held for the undo window.
CREATE OR REPLACE FUNCTION local_set_status(row_id uuid, new_status text, allowed_from text[], by_user uuid,
                                 cancel_reason text, entry jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  current_status text;
BEGIN
  SELECT status INTO current_status FROM appointments WHERE id = row_id;
  IF NOT FOUND THEN RETURN jsonb_build_object('refused', 'not_on_device'); END IF;
  IF NOT current_status = ANY (allowed_from) THEN
    RETURN jsonb_build_object('refused', 'status', 'from', current_status);
  END IF;
  PERFORM local_overlay_copy(row_id);
  UPDATE appointments_overlay
     SET status = new_status, version = version + 1, local_updated_at = now(),
         cancelled_at = CASE WHEN new_status = 'cancelled' THEN now() ELSE cancelled_at END,
         cancelled_by = CASE WHEN new_status = 'cancelled' THEN by_user ELSE cancelled_by END,
         cancellation_reason = CASE WHEN new_status = 'cancelled' THEN cancel_reason ELSE cancellation_reason END
   WHERE id = row_id;
  PERFORM outbox_queue(entry || jsonb_build_object('undo', jsonb_build_object('status', current_status)));
  RETURN jsonb_build_object('ok', true);
END $$;
`;
}
