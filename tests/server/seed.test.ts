import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../server/db/transaction.js';
import { seedDemo, DEMO_USERS } from '../../server/seed/demo.js';
import { generateClinic } from '../../server/seed/generate.js';
import { loadClinic } from '../../server/seed/load.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';

const OVERLAPS = (column: 'doctor_id' | 'patient_id') => `
  SELECT count(*)::int AS n FROM appointments a JOIN appointments b
    ON a.${column} = b.${column} AND a.id < b.id
   AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
 WHERE a.status IN ('scheduled','confirmed','checked_in','in_progress')
   AND b.status IN ('scheduled','confirmed','checked_in','in_progress')
   AND a.deleted_at IS NULL AND b.deleted_at IS NULL`;

describe('bulk seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  it('creates the requested counts, with no overlaps, inside working hours, statuses fitting their time', async () => {
    const now = new Date();
    const clinic = generateClinic({
      doctors: 5,
      patients: 400,
      appointments: 3000,
      seed: 7,
      timeZone: 'Europe/Berlin',
      now,
    });
    await withTransaction(db.pool, (tx) => loadClinic(tx, clinic));
    const counts = await db.pool.query(
      `SELECT (SELECT count(*) FROM doctors)::int AS doctors, (SELECT count(*) FROM patients)::int AS patients,
              (SELECT count(*) FROM appointments)::int AS appointments`,
    );
    expect(counts.rows[0]).toEqual({ doctors: 5, patients: 400, appointments: 3000 });
    expect((await db.pool.query(OVERLAPS('doctor_id'))).rows[0].n).toBe(0);
    expect((await db.pool.query(OVERLAPS('patient_id'))).rows[0].n).toBe(0);
    const outside = await db.pool.query(
      `SELECT count(*)::int AS n FROM appointments
        WHERE (starts_at AT TIME ZONE 'Europe/Berlin')::time < '08:00'
           OR (ends_at AT TIME ZONE 'Europe/Berlin')::time > '17:00'
           OR extract(isodow FROM starts_at AT TIME ZONE 'Europe/Berlin') > 5
           OR duration_minutes NOT IN (15, 20, 30, 45, 60)`,
    );
    expect(outside.rows[0].n).toBe(0);
    const misfit = await db.pool.query(
      `SELECT count(*)::int AS n FROM appointments
        WHERE (ends_at <= $1 AND status NOT IN ('completed', 'no_show', 'cancelled'))
           OR (ends_at > $1 AND status NOT IN ('scheduled', 'confirmed'))`,
      [now],
    );
    expect(misfit.rows[0].n).toBe(0);
  });

  it('is deterministic for a seed', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const a = generateClinic({ doctors: 3, patients: 50, appointments: 200, seed: 3, timeZone: 'UTC', now });
    const b = generateClinic({ doctors: 3, patients: 50, appointments: 200, seed: 3, timeZone: 'UTC', now });
    expect(b).toEqual(a);
  });
});

describe('demo seed', () => {
  it('creates the demo users and clinic once; a second run does nothing', async () => {
    const db = await createTestDatabase();
    try {
      const first = await seedDemo(db.url, 'UTC');
      expect(first).toMatchObject({ users: DEMO_USERS.length, doctors: 8, patients: 300 });
      expect(await seedDemo(db.url, 'UTC')).toBeNull();
      const { rows } = await db.pool.query(`SELECT role, count(*)::int AS n FROM users GROUP BY role ORDER BY role`);
      expect(rows).toEqual([
        { role: 'admin', n: 1 },
        { role: 'clinician', n: 8 },
        { role: 'receptionist', n: 1 },
      ]);
      expect((await db.pool.query(OVERLAPS('doctor_id'))).rows[0].n).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
