// Local migration 4: every appointment write is ONE statement. The tab reaches the database
// through the worker, and each statement costs about a dozen messages between them (locks,
// parse, describe, bind, execute, sync, flush); a write made of six statements plus
// BEGIN/COMMIT took most of the time between a tap and the repaint. These functions do the
// checks, the overlay change and the outbox entry inside the database, as one statement
// (so one implicit transaction: all or nothing).
//
// The rules stay in TypeScript: callers pass the statuses an action may start from and the
// entry as it will be sent. The functions answer a small JSON verdict instead of raising,
// because an error crossing the worker keeps only its message:
//   {"ok": true} | {"refused": "not_on_device"} | {"refused": "status", "from": <status>}
//   | {"conflicts": [{id, starts_at, ends_at, same_doctor}, ...]} (nothing was written)
//
// Versions: the server bumps an appointment's `version` on every write, so every local change
// to an existing row bumps the overlay's version too, and a new row starts at 1. Overlay rows
// written before this migration are brought in line: one step per queued change to the row.
import { SYNCED_TABLES } from '../db/schema/tables';

// The columns of version 4's tables (series_id came with version 6, which redefines the copy).
const COLS = SYNCED_TABLES.appointments.columns.filter((c) => c !== 'series_id').join(', ');

export const LOCAL_WRITE_FUNCTIONS_SQL = `
-- The outbox entry of a write (entry: key, kind, entity_id, result_id, needs[], method, path,
-- body, user_id, schema_version). It depends on the newest not yet accepted entry that
-- creates the row it is about or a row it needs (a booking's patient).
CREATE FUNCTION outbox_queue(entry jsonb) RETURNS void LANGUAGE sql AS $$
  INSERT INTO outbox (id, kind, entity_id, result_id, depends_on, method, path, body, user_id, schema_version)
  SELECT (entry->>'key')::uuid, entry->>'kind', (entry->>'entity_id')::uuid, (entry->>'result_id')::uuid,
         (SELECT o.id FROM outbox o
           WHERE o.state <> 'accepted'
             AND o.result_id = ANY (ARRAY[(entry->>'entity_id')::uuid]
                   || ARRAY(SELECT jsonb_array_elements_text(coalesce(entry->'needs', '[]'))::uuid))
           ORDER BY o.seq DESC LIMIT 1),
         entry->>'method', entry->>'path', entry->'body', (entry->>'user_id')::uuid, (entry->>'schema_version')::int
$$;

-- Active appointments of the doctor or the patient overlapping [starts, ends), as JSON.
CREATE FUNCTION local_conflicts(doctor uuid, patient uuid, starts timestamptz, ends timestamptz,
                                exclude uuid, active text[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'starts_at', a.starts_at, 'ends_at', a.ends_at,
                                               'same_doctor', a.doctor_id = doctor) ORDER BY a.starts_at), '[]')
    FROM appointments a
   WHERE a.status = ANY (active) AND a.starts_at < ends AND a.ends_at > starts
     AND (a.doctor_id = doctor OR a.patient_id = patient) AND a.id IS DISTINCT FROM exclude
$$;

-- A new appointment (status scheduled, version 1), unless check_conflicts finds an overlap.
CREATE FUNCTION local_book(new_id uuid, patient uuid, doctor uuid, starts timestamptz, minutes integer,
                           urgency_ text, reason_ text, by_user uuid, check_conflicts boolean,
                           active text[], entry jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  ends timestamptz := starts + make_interval(mins => minutes);
  overlapping jsonb;
BEGIN
  IF check_conflicts THEN
    overlapping := local_conflicts(doctor, patient, starts, ends, NULL, active);
    IF jsonb_array_length(overlapping) > 0 THEN RETURN jsonb_build_object('conflicts', overlapping); END IF;
  END IF;
  INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status,
                                    urgency, reason, created_by, created_at, updated_at, version)
  VALUES (new_id, patient, doctor, starts, ends, minutes, 'scheduled', urgency_, reason_, by_user, now(), now(), 1);
  PERFORM outbox_queue(entry);
  RETURN jsonb_build_object('ok', true);
END $$;

-- Copies the synced row into the overlay (once) so a local change can be layered on it.
CREATE FUNCTION local_overlay_copy(row_id uuid) RETURNS void LANGUAGE sql AS $$
  INSERT INTO appointments_overlay (${COLS})
  SELECT ${COLS} FROM appointments_synced WHERE id = row_id
  ON CONFLICT (id) DO NOTHING
$$;

-- A status change (cancel included) allowed only from the statuses in allowed_from.
CREATE FUNCTION local_set_status(row_id uuid, new_status text, allowed_from text[], by_user uuid,
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
  PERFORM outbox_queue(entry);
  RETURN jsonb_build_object('ok', true);
END $$;

-- A move: the old row becomes 'rescheduled' (version + 1), a new row (version 1) takes the
-- new time with the old row's duration unless minutes is given. The entry's body gets the
-- duration actually used.
CREATE FUNCTION local_reschedule(row_id uuid, new_id uuid, starts timestamptz, minutes integer, by_user uuid,
                                 allowed_from text[], check_conflicts boolean, active text[], entry jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  prior record;
  ends timestamptz;
  overlapping jsonb;
BEGIN
  SELECT status, patient_id, doctor_id, duration_minutes, urgency, reason INTO prior FROM appointments WHERE id = row_id;
  IF NOT FOUND THEN RETURN jsonb_build_object('refused', 'not_on_device'); END IF;
  IF NOT prior.status = ANY (allowed_from) THEN RETURN jsonb_build_object('refused', 'status', 'from', prior.status); END IF;
  minutes := coalesce(minutes, prior.duration_minutes);
  ends := starts + make_interval(mins => minutes);
  IF check_conflicts THEN
    overlapping := local_conflicts(prior.doctor_id, prior.patient_id, starts, ends, row_id, active);
    IF jsonb_array_length(overlapping) > 0 THEN RETURN jsonb_build_object('conflicts', overlapping); END IF;
  END IF;
  PERFORM local_overlay_copy(row_id);
  UPDATE appointments_overlay SET status = 'rescheduled', version = version + 1, local_updated_at = now()
   WHERE id = row_id;
  INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency,
                                    reason, rescheduled_from, created_by, created_at, updated_at, version)
  VALUES (new_id, prior.patient_id, prior.doctor_id, starts, ends, minutes, 'scheduled', prior.urgency, prior.reason, row_id,
          by_user, now(), now(), 1);
  PERFORM outbox_queue(jsonb_set(entry, '{body,duration_minutes}', to_jsonb(minutes)));
  RETURN jsonb_build_object('ok', true);
END $$;

-- Overlay rows from before this migration: rows created offline start from 1, copies from
-- the synced version, plus one for each queued change to the row.
UPDATE appointments_overlay o
   SET version = coalesce(o.version, 0)
       + (CASE WHEN o.version IS NULL THEN 1 ELSE 0 END)
       + (SELECT count(*)::int FROM outbox e WHERE e.entity_id = o.id AND e.kind IN ('status', 'cancel', 'reschedule'));
`;
