// A small, known clinic for tests: two doctors (A, B) with working hours Mon–Fri 08–17 in the
// test's time zone (UTC by default), one user per role, and a few patients.
import { hashPassword } from '../../server/auth/passwords.js';
import type { Queryable } from '../../server/db/pool.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface Fixture {
  doctorA: string;
  doctorB: string;
  specialization: string;
  patients: string[];
  users: {
    admin: { id: string; email: string };
    receptionist: { id: string; email: string };
    clinicianA: { id: string; email: string };
    clinicianB: { id: string; email: string };
  };
}

let cachedHash: Promise<string> | undefined;

export async function createFixture(db: Queryable, { patients = 6 } = {}): Promise<Fixture> {
  cachedHash ??= hashPassword(TEST_PASSWORD);
  const passwordHash = await cachedHash;
  const spec = await db.query<{ id: string }>(`INSERT INTO specializations (name) VALUES ('Cardiology') RETURNING id`);
  const doctors = await db.query<{ id: string }>(
    `INSERT INTO doctors (full_name) VALUES ('Dr. Alice Able'), ('Dr. Bob Baker') RETURNING id`,
  );
  const [doctorA, doctorB] = doctors.rows.map((r) => r.id) as [string, string];
  await db.query(`INSERT INTO doctor_specializations (doctor_id, specialization_id) VALUES ($1, $3), ($2, $3)`, [
    doctorA,
    doctorB,
    spec.rows[0]!.id,
  ]);
  await db.query(
    `INSERT INTO doctor_hours (doctor_id, weekday, start_time, end_time)
     SELECT d, w, '08:00', '17:00' FROM unnest($1::uuid[]) d, generate_series(1, 5) w`,
    [[doctorA, doctorB]],
  );
  const insertUser = async (email: string, role: string, doctorId: string | null) =>
    (
      await db.query<{ id: string }>(
        `INSERT INTO users (email, full_name, role, password_hash, doctor_id) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [email, email.split('@')[0], role, passwordHash, doctorId],
      )
    ).rows[0]!.id;
  const users = {
    admin: { email: 'admin@test.clinic', id: '' },
    receptionist: { email: 'reception@test.clinic', id: '' },
    clinicianA: { email: 'clinician.a@test.clinic', id: '' },
    clinicianB: { email: 'clinician.b@test.clinic', id: '' },
  };
  users.admin.id = await insertUser(users.admin.email, 'admin', null);
  users.receptionist.id = await insertUser(users.receptionist.email, 'receptionist', null);
  users.clinicianA.id = await insertUser(users.clinicianA.email, 'clinician', doctorA);
  users.clinicianB.id = await insertUser(users.clinicianB.email, 'clinician', doctorB);
  const p = await db.query<{ id: string }>(
    `INSERT INTO patients (full_name, date_of_birth, mrn, phone)
     SELECT 'Patient ' || i, date '1980-01-01' + i, 'TST' || lpad(i::text, 5, '0'), '+1-555-000-' || lpad(i::text, 4, '0')
       FROM generate_series(1, $1) i RETURNING id`,
    [patients],
  );
  return { doctorA, doctorB, specialization: spec.rows[0]!.id, patients: p.rows.map((r) => r.id), users };
}
