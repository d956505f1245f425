// SQL for the waitlist. Every statement binds its values; the fragments interpolated here are
// constants.
import type { PoolClient, Queryable } from '../db/pool.js';
import { ACTIVE_SQL } from '../appointments/queries.js';

/**
 * An entry as the API shows it: the offers it holds that are still in the future and still
 * free for their doctor (another booking may have taken a freed slot since).
 */
const ENTRY_COLUMNS = `e.id, e.patient_id, e.doctor_id, e.specialization_id, e.earliest_date::text AS earliest_date,
  e.latest_date::text AS latest_date, e.time_of_day, e.urgency, e.duration_minutes, e.note, e.status,
  COALESCE((SELECT jsonb_agg(o ORDER BY o->>'freed_at', o->>'starts_at') FROM jsonb_array_elements(e.offers) o
     WHERE (o->>'starts_at')::timestamptz > now()
       AND NOT EXISTS (SELECT 1 FROM appointments a
             WHERE a.doctor_id = (o->>'doctor_id')::uuid AND a.deleted_at IS NULL AND a.${ACTIVE_SQL}
               AND a.starts_at < (o->>'ends_at')::timestamptz AND a.ends_at > (o->>'starts_at')::timestamptz)), '[]'::jsonb) AS offers,
  e.booked_appointment_id, e.created_at,
  json_build_object('id', p.id, 'full_name', p.full_name, 'mrn', p.mrn) AS patient`;
const FROM = 'waitlist_entries e JOIN patients p ON p.id = e.patient_id';

export interface WaitlistEntryRow {
  id: string;
  patient_id: string;
  doctor_id: string | null;
  specialization_id: string | null;
  status: 'waiting' | 'booked' | 'removed';
  urgency: 'routine' | 'urgent' | 'emergency';
  duration_minutes: number;
  note: string | null;
  offers: { doctor_id: string; starts_at: string; ends_at: string }[];
  [column: string]: unknown;
}

/** Waiting entries, most urgent first, then the longest waiting; a clinician's doctor only. */
export async function listWaiting(db: Queryable, doctorId: string | null): Promise<WaitlistEntryRow[]> {
  const { rows } = await db.query<WaitlistEntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM ${FROM}
      WHERE e.status = 'waiting' AND ($1::uuid IS NULL OR e.doctor_id = $1)
      ORDER BY waitlist_urgency_rank(e.urgency), e.created_at, e.id`,
    [doctorId],
  );
  return rows;
}

export async function findEntry(db: Queryable, id: string): Promise<WaitlistEntryRow | undefined> {
  const { rows } = await db.query<WaitlistEntryRow>(`SELECT ${ENTRY_COLUMNS} FROM ${FROM} WHERE e.id = $1`, [id]);
  return rows[0];
}

/** The bare row, locked for the rest of the transaction. */
export async function lockEntry(tx: PoolClient, id: string): Promise<WaitlistEntryRow | undefined> {
  const { rows } = await tx.query<WaitlistEntryRow>('SELECT * FROM waitlist_entries WHERE id = $1 FOR UPDATE', [id]);
  return rows[0];
}

export async function insertEntry(
  tx: PoolClient,
  e: {
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
    time_zone: string;
    created_by: string;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO waitlist_entries (id, patient_id, doctor_id, specialization_id, earliest_date, latest_date, time_of_day,
       urgency, duration_minutes, note, time_zone, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      e.id,
      e.patient_id,
      e.doctor_id,
      e.specialization_id,
      e.earliest_date,
      e.latest_date,
      e.time_of_day,
      e.urgency,
      e.duration_minutes,
      e.note,
      e.time_zone,
      e.created_by,
    ],
  );
}

export async function closeEntry(
  tx: PoolClient,
  id: string,
  status: 'booked' | 'removed',
  appointmentId: string | null,
): Promise<void> {
  await tx.query(
    `UPDATE waitlist_entries SET status = $2, booked_appointment_id = $3, offers = '[]', closed_at = now(), updated_at = now()
      WHERE id = $1`,
    [id, status, appointmentId],
  );
}

/** Does the doctor offer what the entry waits for (the doctor itself, or its specialization)? */
export async function doctorMatches(db: Queryable, entry: WaitlistEntryRow, doctorId: string): Promise<boolean> {
  if (entry.doctor_id) return entry.doctor_id === doctorId;
  const { rows } = await db.query(
    'SELECT 1 FROM doctor_specializations WHERE doctor_id = $1 AND specialization_id = $2',
    [doctorId, entry.specialization_id],
  );
  return rows.length > 0;
}
