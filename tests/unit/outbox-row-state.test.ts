// The write state lists and the schedule show per row (src/lib/db/queries/write-state.ts),
// read through the real list queries over the real local schema (in-memory PGlite):
// nothing → pending (with since when) → confirmed (for a while) → nothing; rejected stays.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointmentPage, appointmentsBetween, type AppointmentRow } from '../../src/lib/db/queries/appointments.js';
import { confirmAccepted, forgetOldConfirmations } from '../../src/lib/outbox/confirm.js';
import { sendPass, type OutboxRequest } from '../../src/lib/outbox/sender.js';
import { searchPatients } from '../../src/lib/db/queries/patients.js';
import { createPatientLocally } from '../../src/lib/outbox/patient-writes.js';
import { bookLocally, changeStatusLocally } from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000001';
const data = clinic({ doctors: 2, patients: 10, appointments: 20, now: new Date('2026-11-20T08:00:00Z') });
const doctor = data.doctors[0]!.id;
const patient = data.patients[0]!.id;
const DAY_FROM = '2031-02-03T00:00:00.000Z';
const DAY_TO = '2031-02-04T00:00:00.000Z';

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());

async function rowOf(id: string): Promise<AppointmentRow> {
  const day = await appointmentsBetween(db, DAY_FROM, DAY_TO);
  const listed = await appointmentPage(db, { from: DAY_FROM, to: DAY_TO }, { kind: 'first' });
  const a = day.find((r) => r.id === id)!;
  const b = listed.find((r) => r.id === id)!;
  // The schedule and the list agree.
  expect([b.write_state, String(b.pending_since)]).toEqual([a.write_state, String(a.pending_since)]);
  return a;
}

const bookAt = (startsAt: string) =>
  bookLocally(db, USER, { patient_id: patient, doctor_id: doctor, starts_at: startsAt, duration_minutes: 30 });

/** What sync does when the server's row arrives. */
async function syncFromOverlay(id: string, version: number): Promise<void> {
  await db.query(
    `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
     SELECT id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, $2 FROM appointments_overlay WHERE id = $1
     ON CONFLICT (id) DO UPDATE SET version = $2, status = EXCLUDED.status`,
    [id, version],
  );
}

const accept = (version: number) => async (req: OutboxRequest) => {
  const id = (req.body as { id?: string }).id ?? req.path.split('/')[3];
  return { status: 200, retryAfter: null, json: { appointment: { id, version }, txid: 1 } };
};

describe('row write state in lists and the schedule', () => {
  it('pending with its age, then confirmed for a while, then nothing', async () => {
    const id = await bookAt('2031-02-03T09:00:00.000Z');
    const pending = await rowOf(id);
    expect(pending.write_state).toBe('pending');
    expect(pending.pending_since).not.toBeNull();

    await sendPass(db, accept(1));
    expect((await rowOf(id)).write_state).toBe('pending'); // accepted, not yet synced back
    await syncFromOverlay(id, 1);
    expect(await confirmAccepted(db)).toBe(1);
    const confirmed = await rowOf(id);
    expect([confirmed.write_state, confirmed.pending, confirmed.pending_since]).toEqual(['confirmed', false, null]);

    await forgetOldConfirmations(db);
    expect((await rowOf(id)).write_state).toBe('confirmed'); // still recent
    await db.query(`UPDATE recent_confirmations SET confirmed_at = now() - interval '1 hour'`);
    await forgetOldConfirmations(db);
    expect((await rowOf(id)).write_state).toBeNull();
  });

  it('a rejected change keeps the row marked rejected until it is resolved', async () => {
    const id = await bookAt('2031-02-03T11:00:00.000Z');
    await sendPass(db, async () => ({
      status: 409,
      retryAfter: null,
      json: { error: { code: 'slot_conflict', message: 'Taken.' } },
    }));
    const row = await rowOf(id);
    expect([row.write_state, row.pending]).toEqual(['rejected', true]);
    expect(row.pending_since).toBeNull();
  });

  it('a status change on a synced row is pending on that row only', async () => {
    const id = await bookAt('2031-02-03T13:00:00.000Z');
    await sendPass(db, accept(1));
    await syncFromOverlay(id, 1);
    await confirmAccepted(db);
    await db.query('DELETE FROM recent_confirmations');
    await changeStatusLocally(db, USER, id, 'checked_in');
    const row = await rowOf(id);
    expect([row.status, row.write_state]).toEqual(['checked_in', 'pending']);
    const others = (await appointmentsBetween(db, DAY_FROM, DAY_TO)).filter((r) => r.id !== id);
    expect(others.every((r) => r.write_state !== 'pending' || r.pending)).toBe(true);
  });

  it('a patient created on the device is pending in the patient search, rejected when the server refuses it', async () => {
    await db.exec('DELETE FROM outbox; DELETE FROM appointments_overlay');
    const id = await createPatientLocally(db, USER, { full_name: 'Zelda Rowstate', date_of_birth: '1990-04-02' });
    const [found] = await searchPatients(db, 'Rowstate');
    expect([found!.id, found!.write_state, found!.pending]).toEqual([id, 'pending', true]);
    await sendPass(db, async () => ({
      status: 409,
      retryAfter: null,
      json: { error: { code: 'mrn_taken', message: 'MRN taken.' } },
    }));
    expect((await searchPatients(db, 'Rowstate'))[0]!.write_state).toBe('rejected');
  });
});
