// The database itself refuses bad states, whatever writes to it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLSTATE } from '../../server/db/sqlstate.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, type Fixture } from '../setup/fixtures.js';

let db: TestDatabase;
let fx: Fixture;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
});
afterAll(() => db.drop());

let nextDay = 0;
/** A fresh Monday-ish day far in the future for each test, so tests don't collide. */
function day() {
  nextDay++;
  return new Date(Date.UTC(2030, 0, 1 + nextDay * 7));
}

async function insert(
  overrides: Partial<{
    doctor: string;
    patient: string;
    start: Date;
    minutes: number;
    status: string;
    deleted: boolean;
    ends: Date;
  }>,
) {
  const start = overrides.start!;
  const minutes = overrides.minutes ?? 30;
  const ends = overrides.ends ?? new Date(start.getTime() + minutes * 60_000);
  const status = overrides.status ?? 'scheduled';
  return db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, deleted_at, cancelled_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      randomUUID(),
      overrides.patient ?? fx.patients[0],
      overrides.doctor ?? fx.doctorA,
      start,
      ends,
      minutes,
      status,
      overrides.deleted ? new Date() : null,
      status === 'cancelled' ? new Date() : null,
    ],
  );
}
const at = (d: Date, hour: number, minute = 0) => new Date(d.getTime() + (hour * 60 + minute) * 60_000);
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => e.code,
  );

describe('appointments constraints', () => {
  it('rejects an overlapping active appointment of the same doctor', async () => {
    const d = day();
    await insert({ start: at(d, 9), patient: fx.patients[0] });
    expect(await code(insert({ start: at(d, 9, 15), patient: fx.patients[1] }))).toBe(SQLSTATE.exclusionViolation);
  });

  it('allows back-to-back slots and overlap with cancelled or deleted appointments', async () => {
    const d = day();
    await insert({ start: at(d, 9), patient: fx.patients[0] });
    expect(await code(insert({ start: at(d, 9, 30), patient: fx.patients[1] }))).toBe('ok');
    await insert({ start: at(d, 11), patient: fx.patients[2], status: 'cancelled' });
    expect(await code(insert({ start: at(d, 11), patient: fx.patients[3] }))).toBe('ok');
    await insert({ start: at(d, 13), patient: fx.patients[2], deleted: true });
    expect(await code(insert({ start: at(d, 13), patient: fx.patients[4] }))).toBe('ok');
    for (const status of ['completed', 'no_show', 'rescheduled']) {
      const d2 = day();
      await insert({ start: at(d2, 9), patient: fx.patients[0], status });
      expect(await code(insert({ start: at(d2, 9), patient: fx.patients[1] }))).toBe('ok');
    }
  });

  it('allows the same time for different doctors, but not for the same patient', async () => {
    const d = day();
    await insert({ start: at(d, 9), doctor: fx.doctorA, patient: fx.patients[0] });
    expect(await code(insert({ start: at(d, 9), doctor: fx.doctorB, patient: fx.patients[1] }))).toBe('ok');
    expect(await code(insert({ start: at(d, 9, 10), doctor: fx.doctorB, patient: fx.patients[0] }))).toBe(
      SQLSTATE.exclusionViolation,
    );
  });

  it('rejects bad durations, statuses, urgencies and an ends_at that does not match', async () => {
    const d = day();
    expect(await code(insert({ start: at(d, 9), minutes: 4 }))).toBe(SQLSTATE.checkViolation);
    expect(await code(insert({ start: at(d, 9), minutes: 481 }))).toBe(SQLSTATE.checkViolation);
    expect(await code(insert({ start: at(d, 9), status: 'booked' }))).toBe(SQLSTATE.checkViolation);
    expect(await code(insert({ start: at(d, 9), minutes: 30, ends: at(d, 10) }))).toBe(SQLSTATE.checkViolation);
    const urgency = db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, urgency)
       VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'whenever')`,
      [randomUUID(), fx.patients[0], fx.doctorA, at(d, 12)],
    );
    expect(await code(urgency)).toBe(SQLSTATE.checkViolation);
  });

  it('requires cancelled_at exactly when cancelled', async () => {
    const d = day();
    const bad = db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
       VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'cancelled')`,
      [randomUUID(), fx.patients[0], fx.doctorA, at(d, 9)],
    );
    expect(await code(bad)).toBe(SQLSTATE.checkViolation);
  });
});

describe('other tables', () => {
  it('users: a clinician needs a doctor, other roles must not have one; emails are unique case-insensitively', async () => {
    const ins = (email: string, role: string, doctor: string | null) =>
      db.pool.query(
        `INSERT INTO users (email, full_name, role, password_hash, doctor_id) VALUES ($1, 'X', $2, 'h', $3)`,
        [email, role, doctor],
      );
    expect(await code(ins('c1@x.test', 'clinician', null))).toBe(SQLSTATE.checkViolation);
    expect(await code(ins('r1@x.test', 'receptionist', fx.doctorB))).toBe(SQLSTATE.checkViolation);
    expect(await code(ins('ADMIN@test.clinic', 'admin', null))).toBe(SQLSTATE.uniqueViolation);
    expect(await code(ins('x@x.test', 'superuser', null))).toBe(SQLSTATE.checkViolation);
  });

  it('audit_log refuses UPDATE and DELETE', async () => {
    await db.pool.query(`INSERT INTO audit_log (action, entity, hash) VALUES ('test', 'test', 'h')`);
    expect(await code(db.pool.query(`UPDATE audit_log SET action = 'x'`))).toBe('42501');
    expect(await code(db.pool.query(`DELETE FROM audit_log`))).toBe('42501');
  });

  it('synced tables have REPLICA IDENTITY FULL and are in the publication', async () => {
    const { rows } = await db.pool.query(
      `SELECT c.relname, c.relreplident, EXISTS (SELECT 1 FROM pg_publication_tables p
          WHERE p.pubname = 'clinic_sync' AND p.tablename = c.relname) AS published
         FROM pg_class c WHERE c.relname = ANY($1) ORDER BY c.relname`,
      [['appointments', 'doctor_hours', 'doctor_specializations', 'doctors', 'patients', 'specializations']],
    );
    expect(rows).toHaveLength(6);
    for (const r of rows) expect(r).toMatchObject({ relreplident: 'f', published: true });
  });

  it('the partial indexes exist and are valid', async () => {
    const { rows } = await db.pool.query(
      `SELECT c.relname, i.indisvalid, pg_get_expr(i.indpred, i.indrelid) AS pred
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'appointments'::regclass AND i.indpred IS NOT NULL`,
    );
    const names = rows.map((r) => r.relname);
    for (const n of [
      'appointments_doctor_starts_idx',
      'appointments_patient_status_idx',
      'appointments_status_created_idx',
      'appointments_urgency_starts_idx',
      'appointments_active_id_idx',
    ]) {
      expect(names).toContain(n);
    }
    for (const r of rows) {
      expect(r.indisvalid).toBe(true);
      // Lookups along a link (old -> new, series -> occurrences) index only the linked rows.
      const linkIndexes = ['appointments_rescheduled_from_idx', 'appointments_series_starts_idx'];
      if (!linkIndexes.includes(r.relname)) expect(r.pred).toContain('deleted_at IS NULL');
    }
  });
});
