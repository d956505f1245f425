// Moving an appointment on the grid (local migration 7, src/lib/outbox/move-writes.ts) in the
// real local schema: to another time and doctor in one statement, the outbox entry is the
// server's reschedule naming the new doctor, and a taken time writes nothing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { moveLocally } from '../../src/lib/outbox/move-writes.js';
import { bookLocally, LocalConflictError } from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000002';
const data = clinic({ doctors: 2, patients: 10, appointments: 10, now: new Date('2026-11-20T08:00:00Z') });
const [doctorA, doctorB] = data.doctors.map((d) => d.id) as [string, string];
const patients = data.patients.map((p) => p.id);

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());
beforeEach(async () => {
  await db.exec(`DELETE FROM outbox; DELETE FROM appointments_overlay`);
});

describe('moveLocally', () => {
  it("moves to another doctor and time: the old row is rescheduled, the new one is the other doctor's", async () => {
    const id = await bookLocally(db, USER, {
      patient_id: patients[0]!,
      doctor_id: doctorA,
      starts_at: '2032-03-01T09:00:00.000Z',
      duration_minutes: 20,
    });
    const newId = await moveLocally(db, USER, id, { starts_at: '2032-03-01T11:15:00.000Z', doctor_id: doctorB });
    const rows = await db.query<{ id: string; doctor_id: string; status: string; duration_minutes: number }>(
      `SELECT id, doctor_id, status, duration_minutes FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY starts_at`,
      [[id, newId]],
    );
    expect(rows.rows).toEqual([
      { id, doctor_id: doctorA, status: 'rescheduled', duration_minutes: 20 },
      { id: newId, doctor_id: doctorB, status: 'scheduled', duration_minutes: 20 },
    ]);
    const entry = await db.query<{ kind: string; path: string; body: Record<string, unknown> }>(
      `SELECT kind, path, body FROM outbox WHERE result_id = $1`,
      [newId],
    );
    expect(entry.rows).toEqual([
      {
        kind: 'reschedule',
        path: `/api/appointments/${id}/reschedule`,
        body: { new_id: newId, starts_at: '2032-03-01T11:15:00.000Z', duration_minutes: 20, doctor_id: doctorB },
      },
    ]);
  });

  it("refuses a time the other doctor's column already holds, writing nothing", async () => {
    await bookLocally(db, USER, {
      patient_id: patients[1]!,
      doctor_id: doctorB,
      starts_at: '2032-03-02T10:00:00.000Z',
      duration_minutes: 30,
    });
    const id = await bookLocally(db, USER, {
      patient_id: patients[2]!,
      doctor_id: doctorA,
      starts_at: '2032-03-02T10:00:00.000Z',
      duration_minutes: 30,
    });
    const before = await db.query('SELECT id FROM outbox');
    await expect(
      moveLocally(db, USER, id, { starts_at: '2032-03-02T10:15:00.000Z', doctor_id: doctorB }),
    ).rejects.toBeInstanceOf(LocalConflictError);
    expect((await db.query('SELECT id FROM outbox')).rows).toEqual(before.rows);
    // The same time with its own doctor is its own slot: moving within it is fine.
    await expect(
      moveLocally(db, USER, id, { starts_at: '2032-03-02T10:15:00.000Z', doctor_id: doctorA }),
    ).resolves.toBeTypeOf('string');
  });
});
