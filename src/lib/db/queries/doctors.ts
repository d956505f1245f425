import type { Queryable } from './queryable';

export interface DoctorRow {
  id: string;
  full_name: string;
  specializations: string[];
}

export interface WorkingHours {
  doctor_id: string;
  weekday: number;
  start_time: string;
  end_time: string;
}

export const LIST_DOCTORS_SQL = `SELECT d.id, d.full_name,
            coalesce(array_agg(s.name ORDER BY s.name) FILTER (WHERE s.name IS NOT NULL), '{}') AS specializations
       FROM doctors d LEFT JOIN doctor_specialization_names s ON s.doctor_id = d.id
      WHERE d.active IS NOT FALSE
      GROUP BY d.id, d.full_name ORDER BY d.full_name, d.id`;

export async function listDoctors(db: Queryable): Promise<DoctorRow[]> {
  return (await db.query<DoctorRow>(LIST_DOCTORS_SQL)).rows;
}

/** Every working-hour block of every doctor (a few hundred rows at most). */
export const ALL_WORKING_HOURS_SQL = `SELECT doctor_id, weekday, start_time::text AS start_time, end_time::text AS end_time
  FROM doctor_hours ORDER BY doctor_id, weekday, start_time`;

/** Working-hour blocks ('HH:MM:SS' wall-clock, clinic time) of the doctors on an ISO weekday. */
export async function workingHours(
  db: Queryable,
  weekday: number,
  doctorIds: string[] | null = null,
): Promise<WorkingHours[]> {
  const { rows } = await db.query<WorkingHours>(
    `SELECT doctor_id, weekday, start_time::text AS start_time, end_time::text AS end_time
       FROM doctor_hours WHERE weekday = $1 AND ($2::uuid[] IS NULL OR doctor_id = ANY($2::uuid[]))
      ORDER BY doctor_id, start_time`,
    [weekday, doctorIds],
  );
  return rows;
}
