// The Waitlist screen's read of the local replica: waiting entries (synced from the server),
// most urgent first, then the longest waiting, each with the offers that are still in the
// future and still free on this device. It is a live query, so an offer made on the server
// (a slot freed anywhere) appears on every receptionist's screen as sync brings it.
import { ACTIVE_STATUSES } from '../shared/appointment-schemas';
import type { SqlQuery } from '../db/queries/queryable';
import type { WaitlistOffer } from '../shared/waitlist-schemas';

export interface WaitlistRow {
  id: string;
  patient_id: string;
  doctor_id: string | null;
  specialization_id: string | null;
  earliest_date: string;
  latest_date: string;
  time_of_day: string;
  urgency: string;
  duration_minutes: number;
  note: string | null;
  created_at: Date;
  patient_name: string | null;
  doctor_name: string | null;
  specialization_name: string | null;
  offers: (WaitlistOffer & { doctor_name: string | null })[];
}

// A constant list (live queries inline parameters, so no array parameter here).
const ACTIVE = ACTIVE_STATUSES.map((s) => `'${s}'`).join(', ');

export function waitlistQuery(): SqlQuery {
  return {
    sql: `SELECT e.id, e.patient_id, e.doctor_id, e.specialization_id, e.earliest_date::text AS earliest_date,
            e.latest_date::text AS latest_date, e.time_of_day, e.urgency, e.duration_minutes, e.note, e.created_at,
            (SELECT p.full_name FROM patients p WHERE p.id = e.patient_id) AS patient_name,
            (SELECT d.full_name FROM doctors d WHERE d.id = e.doctor_id) AS doctor_name,
            (SELECT s.name FROM specializations_synced s WHERE s.id = e.specialization_id) AS specialization_name,
            COALESCE((SELECT jsonb_agg(o || jsonb_build_object('doctor_name',
                        (SELECT d.full_name FROM doctors d WHERE d.id = (o->>'doctor_id')::uuid))
                      ORDER BY o->>'starts_at')
                FROM jsonb_array_elements(e.offers) o
               WHERE (o->>'starts_at')::timestamptz > now()
                 AND NOT EXISTS (SELECT 1 FROM appointments a
                       WHERE a.doctor_id = (o->>'doctor_id')::uuid AND a.status IN (${ACTIVE})
                         AND a.starts_at < (o->>'ends_at')::timestamptz AND a.ends_at > (o->>'starts_at')::timestamptz)),
              '[]'::jsonb) AS offers
       FROM waitlist_entries_synced e
      WHERE e.status = 'waiting'
      ORDER BY CASE e.urgency WHEN 'emergency' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, e.created_at, e.id`,
    params: [],
  };
}
