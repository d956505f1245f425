// Behind the lock-and-check stand the exclusion constraints. A write that bypasses the API's
// lock (here: an open SQL transaction reactivating an overlapping row) makes the API's check
// pass and its insert hit the constraint: the answer must still be a 409, never a 500.
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let outsider: pg.Client;
beforeAll(async () => {
  clinic = await openClinic();
  outsider = new pg.Client({ connectionString: clinic.db.url });
  await outsider.connect();
});
afterAll(async () => {
  await outsider?.end();
  await clinic?.close();
});

/**
 * Reactivates an old, completed appointment in an open transaction (an UPDATE that changes no
 * key takes no lock on the doctor or patient row, so the API's locks don't see it), lets the
 * API request run into it, then commits.
 */
async function raceAgainstBypass(
  row: { doctor_id: string; patient_id: string; starts_at: string },
  request: () => Promise<any>,
) {
  const id = randomUUID();
  await clinic.db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'completed')`,
    [id, row.patient_id, row.doctor_id, row.starts_at],
  );
  await outsider.query('BEGIN');
  await outsider.query(`UPDATE appointments SET status = 'scheduled' WHERE id = $1`, [id]);
  const pending = request();
  // The API's check passed (the row is not active for it yet); its insert now waits on ours.
  for (let tries = 0; ; tries++) {
    const { rows } = await clinic.db.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO appointments%'`,
    );
    if (rows[0].n > 0) break;
    if (tries > 1000) throw new Error('the API request never reached the constraint');
    await new Promise((r) => setTimeout(r, 20));
  }
  await outsider.query('COMMIT');
  return pending;
}

describe('exclusion constraints behind the check', () => {
  it('a doctor overlap that bypassed the lock is a 409 slot_conflict', async () => {
    const { fixture } = clinic;
    const res = await raceAgainstBypass(
      { doctor_id: fixture.doctorA, patient_id: fixture.patients[1]!, starts_at: at('10:00') },
      () => clinic.receptionist.post('/api/appointments', booking(fixture, { starts_at: at('10:15') })),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('slot_conflict');
    expect(res.body.error.details.conflicts).toHaveLength(1);
    expect(res.body.error.details.suggestions.length).toBeGreaterThan(0);
  });

  it('a patient overlap that bypassed the lock is a 409 patient_conflict', async () => {
    const { fixture } = clinic;
    const res = await raceAgainstBypass(
      { doctor_id: fixture.doctorB, patient_id: fixture.patients[2]!, starts_at: at('13:00') },
      () =>
        clinic.receptionist.post(
          '/api/appointments',
          booking(fixture, { patient_id: fixture.patients[2], starts_at: at('13:00') }),
        ),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('patient_conflict');
    const { rows } = await clinic.db.pool.query(`SELECT count(*)::int AS n FROM appointments WHERE patient_id = $1`, [
      fixture.patients[2],
    ]);
    expect(rows[0].n).toBe(1);
  });
});
