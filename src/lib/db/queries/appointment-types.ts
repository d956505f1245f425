// Appointment types from the replica (synced: local migration 5). A type lists the doctors
// who offer it; a type with no doctor listed is offered by all (as on the server).
import type { Queryable } from './queryable';

export interface AppointmentTypeRow {
  id: string;
  name: string;
  default_duration_minutes: number;
  colour: string;
  buffer_before_minutes: number;
  buffer_after_minutes: number;
}

export async function typesForDoctor(db: Queryable, doctorId: string): Promise<AppointmentTypeRow[]> {
  const { rows } = await db.query<AppointmentTypeRow>(
    `SELECT t.id, t.name, t.default_duration_minutes, t.colour, t.buffer_before_minutes, t.buffer_after_minutes
       FROM appointment_types t
      WHERE t.active IS NOT FALSE
        AND (NOT EXISTS (SELECT 1 FROM appointment_type_doctors x WHERE x.type_id = t.id)
             OR EXISTS (SELECT 1 FROM appointment_type_doctors x WHERE x.type_id = t.id AND x.doctor_id = $1))
      ORDER BY t.name, t.id`,
    [doctorId],
  );
  return rows;
}
