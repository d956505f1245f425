// SQL for recurring series. Every statement binds its values.
import type { PoolClient, Queryable } from '../db/pool.js';
import { SQLSTATE, constraintName, sqlState } from '../db/sqlstate.js';
import { idempotencyMismatch } from '../http/idempotency.js';
import { unknownReference } from '../appointments/errors.js';
import type { AppointmentRow } from '../appointments/queries.js';

export interface SeriesRow {
  id: string;
  patient_id: string;
  doctor_id: string;
  rrule: string;
  first_starts_at: Date;
  duration_minutes: number;
  created_at: Date;
}

const SERIES_COLUMNS = 'id, patient_id, doctor_id, rrule, first_starts_at, duration_minutes, created_at';

export async function insertSeries(
  tx: PoolClient,
  s: Omit<SeriesRow, 'created_at'> & { created_by: string },
): Promise<SeriesRow> {
  try {
    const { rows } = await tx.query<SeriesRow>(
      `INSERT INTO appointment_series (id, patient_id, doctor_id, rrule, first_starts_at, duration_minutes, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${SERIES_COLUMNS}`,
      [s.id, s.patient_id, s.doctor_id, s.rrule, s.first_starts_at, s.duration_minutes, s.created_by],
    );
    return rows[0]!;
  } catch (err) {
    // The id is taken by a series no request with this key wrote.
    if (sqlState(err) === SQLSTATE.uniqueViolation && constraintName(err) === 'appointment_series_pkey') {
      throw idempotencyMismatch();
    }
    if (sqlState(err) === SQLSTATE.foreignKeyViolation) {
      throw unknownReference(constraintName(err) === 'appointment_series_doctor_id_fkey' ? 'doctor_id' : 'patient_id');
    }
    throw err;
  }
}

export async function findSeries(db: Queryable, id: string): Promise<SeriesRow | undefined> {
  const { rows } = await db.query<SeriesRow>(`SELECT ${SERIES_COLUMNS} FROM appointment_series WHERE id = $1`, [id]);
  return rows[0];
}

/** The series' live occurrences in time order (locked for the transaction unless told not to). */
export async function lockSeriesOccurrences(
  tx: PoolClient,
  seriesId: string,
  { lock = true } = {},
): Promise<AppointmentRow[]> {
  const { rows } = await tx.query<AppointmentRow>(
    `SELECT * FROM appointments WHERE series_id = $1 AND deleted_at IS NULL ORDER BY starts_at, id${lock ? ' FOR UPDATE' : ''}`,
    [seriesId],
  );
  return rows;
}
