// The demo clinic (README, "Set up"): an admin, a receptionist, eight clinicians with their doctors,
// a few hundred patients and appointments over the past and coming weeks.
import pg from 'pg';
import { hashPassword } from '../auth/passwords.js';
import { withTransaction } from '../db/transaction.js';
import { generateClinic } from './generate.js';
import { loadClinic } from './load.js';

export const DEMO_PASSWORD = 'demo-clinic-pass';
export const DEMO_DOCTORS = 8;
export const DEMO_USERS = [
  { email: 'admin@demo.clinic', full_name: 'Ada Admin', role: 'admin' },
  { email: 'reception@demo.clinic', full_name: 'Rita Reception', role: 'receptionist' },
  ...Array.from({ length: DEMO_DOCTORS }, (_, i) => ({
    email: `doctor${i + 1}@demo.clinic`,
    full_name: '',
    role: 'clinician',
  })),
] as const;

export interface SeedSummary {
  users: number;
  doctors: number;
  patients: number;
  appointments: number;
}

/** Seeds the demo clinic unless its admin already exists (idempotent). Returns null if skipped. */
export async function seedDemo(databaseUrl: string, timeZone: string, seed = 42): Promise<SeedSummary | null> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const passwordHash = await hashPassword(DEMO_PASSWORD);
    return await withTransaction(pool, async (tx) => {
      // Serialize concurrent seeders (two servers starting on one empty database).
      await tx.query('SELECT pg_advisory_xact_lock(727003)');
      const exists = await tx.query('SELECT 1 FROM users WHERE lower(email) = $1', ['admin@demo.clinic']);
      if (exists.rowCount) return null;
      const clinic = generateClinic({ doctors: DEMO_DOCTORS, patients: 300, appointments: 1_200, seed, timeZone });
      await loadClinic(tx, clinic);
      for (const [i, user] of DEMO_USERS.entries()) {
        const doctor = user.role === 'clinician' ? clinic.doctors[i - 2]! : null;
        await tx.query(
          `INSERT INTO users (email, full_name, role, password_hash, doctor_id) VALUES ($1, $2, $3, $4, $5)`,
          [user.email, doctor ? doctor.full_name : user.full_name, user.role, passwordHash, doctor?.id ?? null],
        );
      }
      return {
        users: DEMO_USERS.length,
        doctors: clinic.doctors.length,
        patients: clinic.patients.length,
        appointments: clinic.appointments.length,
      };
    });
  } finally {
    await pool.end();
  }
}

/** Seeds the demo clinic only into a database with no users and no doctors at all. */
export async function seedDemoIfEmpty(databaseUrl: string, timeZone: string): Promise<SeedSummary | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ empty: boolean }>(
      'SELECT NOT EXISTS (SELECT 1 FROM users) AND NOT EXISTS (SELECT 1 FROM doctors) AS empty',
    );
    if (!rows[0]!.empty) return null;
  } finally {
    await client.end();
  }
  return seedDemo(databaseUrl, timeZone);
}
