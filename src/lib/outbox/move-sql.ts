// Local migration 7: moving an appointment on the schedule grid, to another time and possibly
// another doctor, in one statement (as local_reschedule of migration 4, which keeps the
// doctor). The old row becomes 'rescheduled', a new row holds the new time and doctor, and the
// outbox entry is the server's reschedule call (its body may name the new doctor_id).
// Verdicts as in write-sql.ts; the overlap is local migration 5's (buffers included).
export const LOCAL_MOVE_SQL = `
CREATE FUNCTION local_move(row_id uuid, new_id uuid, starts timestamptz, minutes integer, new_doctor uuid,
                           by_user uuid, allowed_from text[], check_conflicts boolean, active text[], entry jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  prior record;
  doctor uuid;
  ends timestamptz;
  overlapping jsonb;
BEGIN
  SELECT status, patient_id, doctor_id, duration_minutes, urgency, reason, type_id, buffer_before_minutes,
         buffer_after_minutes, series_id
    INTO prior FROM appointments WHERE id = row_id;
  IF NOT FOUND THEN RETURN jsonb_build_object('refused', 'not_on_device'); END IF;
  IF NOT prior.status = ANY (allowed_from) THEN RETURN jsonb_build_object('refused', 'status', 'from', prior.status); END IF;
  minutes := coalesce(minutes, prior.duration_minutes);
  doctor := coalesce(new_doctor, prior.doctor_id);
  ends := starts + make_interval(mins => minutes);
  IF check_conflicts THEN
    -- The moved appointment keeps its type's buffers (local migration 5's overlap rule).
    overlapping := local_conflicts(doctor, prior.patient_id, starts, ends, row_id, active,
                                   coalesce(prior.buffer_before_minutes, 0), coalesce(prior.buffer_after_minutes, 0));
    IF jsonb_array_length(overlapping) > 0 THEN RETURN jsonb_build_object('conflicts', overlapping); END IF;
  END IF;
  PERFORM local_overlay_copy(row_id);
  UPDATE appointments_overlay SET status = 'rescheduled', version = version + 1, local_updated_at = now()
   WHERE id = row_id;
  INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency,
                                    reason, rescheduled_from, created_by, created_at, updated_at, version, type_id,
                                    buffer_before_minutes, buffer_after_minutes, series_id)
  VALUES (new_id, prior.patient_id, doctor, starts, ends, minutes, 'scheduled', prior.urgency, prior.reason, row_id,
          by_user, now(), now(), 1, prior.type_id, prior.buffer_before_minutes, prior.buffer_after_minutes,
          prior.series_id);
  PERFORM outbox_queue(jsonb_set(jsonb_set(entry, '{body,duration_minutes}', to_jsonb(minutes)),
                                 '{body,doctor_id}', to_jsonb(doctor)));
  RETURN jsonb_build_object('ok', true);
END $$;
`;
