// SQL for doctors, their specializations and working hours.
import type { PoolClient, Queryable } from '../db/pool.js';
import type { Doctor } from '../../src/lib/shared/doctor-schemas.js';

const DOCTOR_COLUMNS = `d.id, d.full_name, d.active,
  ARRAY(SELECT s.name FROM doctor_specializations ds JOIN specializations s ON s.id = ds.specialization_id
         WHERE ds.doctor_id = d.id ORDER BY s.name) AS specializations,
  COALESCE((SELECT json_agg(json_build_object('weekday', h.weekday, 'start', to_char(h.start_time, 'HH24:MI'),
    'end', to_char(h.end_time, 'HH24:MI')) ORDER BY h.weekday, h.start_time)
    FROM doctor_hours h WHERE h.doctor_id = d.id), '[]'::json) AS working_hours`;

/** A page of doctors and the total in one statement (see appointments/queries.ts pageSql). */
export async function listDoctorsPage(db: Queryable, active: boolean | undefined, limit: number, offset: number) {
  const where = active === undefined ? 'true' : 'd.active = $3';
  const values: unknown[] = [limit, offset];
  if (active !== undefined) values.push(active);
  const { rows } = await db.query<Doctor & { total: number }>(
    `SELECT c.total, page.* FROM (SELECT count(*) AS total FROM doctors d WHERE ${where}) c
     LEFT JOIN LATERAL (SELECT ${DOCTOR_COLUMNS} FROM doctors d WHERE ${where}
                        ORDER BY d.full_name, d.id LIMIT $1 OFFSET $2) page ON true
     ORDER BY page.full_name, page.id`,
    values,
  );
  return {
    count: rows[0]?.total ?? 0,
    results: rows.filter((r) => r.id !== null).map(({ total: _total, ...doctor }) => doctor as Doctor),
  };
}

export async function findDoctor(db: Queryable, id: string): Promise<Doctor | undefined> {
  const { rows } = await db.query<Doctor>(`SELECT ${DOCTOR_COLUMNS} FROM doctors d WHERE d.id = $1`, [id]);
  return rows[0];
}

export async function insertDoctor(tx: PoolClient, id: string, fullName: string, active: boolean): Promise<boolean> {
  const { rowCount } = await tx.query(
    'INSERT INTO doctors (id, full_name, active) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING',
    [id, fullName, active],
  );
  return rowCount === 1;
}

export async function updateDoctorRow(
  tx: PoolClient,
  id: string,
  fullName?: string,
  active?: boolean,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE doctors SET full_name = COALESCE($2, full_name), active = COALESCE($3, active), updated_at = now()
      WHERE id = $1`,
    [id, fullName ?? null, active ?? null],
  );
  return rowCount === 1;
}

/** Replaces the doctor's specializations; unknown names become new specializations. */
export async function setSpecializations(tx: PoolClient, doctorId: string, names: string[]): Promise<void> {
  await tx.query('INSERT INTO specializations (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [names]);
  await tx.query('DELETE FROM doctor_specializations WHERE doctor_id = $1', [doctorId]);
  await tx.query(
    `INSERT INTO doctor_specializations (doctor_id, specialization_id)
     SELECT $1, id FROM specializations WHERE name = ANY($2::text[])`,
    [doctorId, names],
  );
}

export async function setWorkingHours(
  tx: PoolClient,
  doctorId: string,
  hours: { weekday: number; start: string; end: string }[],
): Promise<void> {
  await tx.query('DELETE FROM doctor_hours WHERE doctor_id = $1', [doctorId]);
  await tx.query(
    `INSERT INTO doctor_hours (doctor_id, weekday, start_time, end_time)
     SELECT $1, * FROM unnest($2::int2[], $3::time[], $4::time[])`,
    [doctorId, hours.map((h) => h.weekday), hours.map((h) => h.start), hours.map((h) => h.end)],
  );
}
