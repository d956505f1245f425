// The device side of the scheduling rules on a real PGlite replica: one-tap steps wait in the
// outbox for the undo window and can be taken back; reverts and refusals follow the shared
// rules; the buffers of appointment types count in the device's overlap check and free slots.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freeSlots } from '../../src/lib/db/queries/slots.js';
import { typesForDoctor } from '../../src/lib/db/queries/appointment-types.js';
import { appointmentsBetween } from '../../src/lib/db/queries/appointments.js';
import { RuleRefusedError, setStatusChecked } from '../../src/lib/outbox/rule-writes.js';
import { sendPass, type Transport } from '../../src/lib/outbox/sender.js';
import { undoStep } from '../../src/lib/outbox/undo.js';
import { bookLocally, LocalConflictError } from '../../src/lib/outbox/writes.js';
import { UNDO_SECONDS } from '../../src/lib/shared/appointment-rules.js';
import { createLocalDb, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-00000000000a';
const DOCTOR = '00000000-0000-4000-8000-0000000000d1';
const OTHER_DOCTOR = '00000000-0000-4000-8000-0000000000d2';
const PATIENTS = Array.from({ length: 6 }, (_, i) => `00000000-0000-4000-8000-0000000000${String(i + 10)}`);
const APPT = '00000000-0000-4000-8000-0000000000a1';
const TYPE = '00000000-0000-4000-8000-0000000000f1';
const DAY = '2030-01-07'; // a Monday
const at = (t: string) => `${DAY}T${t}:00.000Z`;
const UTC = { timeZone: 'UTC' };

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDb();
  await db.query(`INSERT INTO doctors_synced (id, full_name, active) VALUES ($1, 'Dr A', true), ($2, 'Dr B', true)`, [
    DOCTOR,
    OTHER_DOCTOR,
  ]);
  await db.query(
    `INSERT INTO doctor_hours_synced (id, doctor_id, weekday, start_time, end_time) VALUES (gen_random_uuid(), $1, 1, '08:00', '17:00')`,
    [DOCTOR],
  );
  for (const [i, p] of PATIENTS.entries())
    await db.query(`INSERT INTO patients_synced (id, full_name, mrn) VALUES ($1, $2, $3)`, [
      p,
      `Patient ${i}`,
      `M${i}`,
    ]);
  await db.query(
    `INSERT INTO appointment_types_synced (id, name, default_duration_minutes, colour, buffer_before_minutes, buffer_after_minutes, active)
     VALUES ($1, 'Minor surgery', 30, '#aa3300', 15, 15, true)`,
    [TYPE],
  );
}, 120_000);
afterAll(() => db?.close());
beforeEach(async () => {
  await db.exec('DELETE FROM outbox; DELETE FROM appointments_overlay; DELETE FROM appointments_synced;');
  await db.query(
    `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'scheduled', 'routine', 1)`,
    [APPT, PATIENTS[0], DOCTOR, at('09:00')],
  );
});

const row = async () =>
  (
    await db.query<{ status: string; pending: boolean; version: number }>(
      'SELECT status, pending, version FROM appointments WHERE id = $1',
      [APPT],
    )
  ).rows[0];
const sentPaths: string[] = [];
const recording: Transport = async (req) => {
  sentPaths.push(req.path);
  return { status: 200, retryAfter: null, json: { appointment: { id: APPT, version: 2 }, txid: 1 } };
};

describe('undo of a one-tap step while it waits on the device', () => {
  it('the step is held for the undo window, is not sent meanwhile, and undo restores the row', async () => {
    const entry = await setStatusChecked(db, USER, APPT, 'checked_in', { ...UTC, now: Date.parse(at('08:50')) });
    expect(await row()).toEqual({ status: 'checked_in', pending: true, version: 2 });
    const { rows } = await db.query<{ hold: number }>(
      `SELECT extract(epoch FROM next_attempt_at - created_at)::int AS hold FROM outbox WHERE id = $1`,
      [entry],
    );
    expect(rows[0]!.hold).toBe(UNDO_SECONDS);
    sentPaths.length = 0;
    const pass = await sendPass(db, recording);
    expect(sentPaths).toEqual([]);
    expect(pass.nextAttemptAt).toBeGreaterThan(Date.now());
    await undoStep(db, entry);
    expect(await row()).toEqual({ status: 'scheduled', pending: false, version: 1 });
    expect((await db.query('SELECT 1 FROM outbox')).rows).toEqual([]);
  });

  it('a step checked against the row on screen: written as shown, refused if the row changed meanwhile', async () => {
    const now = Date.parse(at('08:50'));
    const shown = { status: 'scheduled' as const, starts_at: at('09:00') };
    await setStatusChecked(db, USER, APPT, 'checked_in', { ...UTC, now }, null, shown);
    expect(await row()).toEqual({ status: 'checked_in', pending: true, version: 2 });
    // The screen still shows "scheduled" (a stale render): the write is refused, nothing queued.
    const err = await setStatusChecked(db, USER, APPT, 'confirmed', { ...UTC, now }, null, shown).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('An appointment that is checked_in cannot become confirmed.');
    expect((await db.query('SELECT 1 FROM outbox')).rows).toHaveLength(1);
    // The rules are checked against the shown row: too early for a check-in of a 09:00 row.
    await expect(
      setStatusChecked(db, USER, APPT, 'checked_in', { ...UTC, now: Date.parse(at('06:00')) }, null, shown),
    ).rejects.toBeInstanceOf(RuleRefusedError);
  });

  it('two steps: the later one is undone first, back to the first step', async () => {
    const now = Date.parse(at('08:50'));
    const checkIn = await setStatusChecked(db, USER, APPT, 'checked_in', { ...UTC, now });
    const start = await setStatusChecked(db, USER, APPT, 'in_progress', { ...UTC, now });
    await expect(undoStep(db, checkIn)).rejects.toThrow('A later change to this appointment is queued');
    await undoStep(db, start);
    expect(await row()).toEqual({ status: 'checked_in', pending: true, version: 2 });
  });

  it('once the window is over (or the entry left), undo is refused and the step is sent', async () => {
    const entry = await setStatusChecked(db, USER, APPT, 'confirmed', { ...UTC, now: Date.parse(at('08:00')) });
    await db.query(`UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE id = $1`, [entry]);
    await expect(undoStep(db, entry)).rejects.toThrow('Too late to undo');
    sentPaths.length = 0;
    await sendPass(db, recording);
    expect(sentPaths).toEqual([`/api/appointments/${APPT}/status`]);
  });

  it('cancel is not a one-tap step: it needs a reason, is not held, and cannot be undone', async () => {
    await expect(setStatusChecked(db, USER, APPT, 'cancelled', UTC)).rejects.toThrow('Invalid input: reason.');
    const entry = await setStatusChecked(db, USER, APPT, 'cancelled', UTC, ' Patient request: moved away ');
    const { rows } = await db.query<{ body: { reason: string } }>('SELECT body FROM outbox WHERE id = $1', [entry]);
    expect(rows[0]!.body.reason).toBe('Patient request: moved away');
    await expect(undoStep(db, entry)).rejects.toThrow('Too late to undo');
  });
});

describe('time rules on the device', () => {
  it('refuses check-in on another day and too early, no-show before the start; reverts only on the day', async () => {
    const refusal = (to: 'checked_in' | 'no_show' | 'scheduled', now: string) =>
      setStatusChecked(db, USER, APPT, to, { ...UTC, now: Date.parse(now) }).then(
        () => null,
        (e: unknown) => (e instanceof RuleRefusedError ? e.code : String(e)),
      );
    expect(await refusal('checked_in', '2030-01-06T09:00:00Z')).toBe('not_appointment_day');
    expect(await refusal('checked_in', at('07:30'))).toBe('check_in_too_early');
    expect(await refusal('no_show', at('08:59'))).toBe('not_started');
    expect(await refusal('no_show', at('09:10'))).toBeNull();
    expect(await refusal('scheduled', '2030-01-08T09:00:00Z')).toBe('not_appointment_day');
    expect(await refusal('scheduled', at('10:00'))).toBeNull();
    expect((await row())!.status).toBe('scheduled');
  });
});

describe('appointment types on the device', () => {
  beforeEach(async () => {
    await db.query(
      `UPDATE appointments_synced SET type_id = $2, buffer_before_minutes = 15, buffer_after_minutes = 15 WHERE id = $1`,
      [APPT, TYPE],
    );
  });

  it('buffers count in the local overlap check of a booking', async () => {
    const book = (start: string, patient: number, type_id: string | null = null) =>
      bookLocally(db, USER, {
        patient_id: PATIENTS[patient]!,
        doctor_id: DOCTOR,
        starts_at: at(start),
        duration_minutes: 30,
        type_id,
      }).then(
        () => 'ok',
        (e: unknown) => (e instanceof LocalConflictError ? 'conflict' : String(e)),
      );
    // The synced 09:00–09:30 holds its doctor 08:45–09:45.
    expect(await book('09:30', 1)).toBe('conflict'); // inside the 15-minute buffer after
    expect(await book('08:30', 2)).toBe('conflict'); // ends 09:00, inside the buffer before
    expect(await book('08:15', 2)).toBe('ok'); // ends 08:45: touching is not overlapping
    expect(await book('09:45', 3)).toBe('ok');
    // A typed booking brings its own buffers: 07:45–08:15 holds 07:30–08:30, over the 08:15 one.
    expect(await book('07:45', 4, TYPE)).toBe('conflict');
    expect(await book('07:00', 4, TYPE)).toBe('ok');
  });

  it('free slots leave the buffers free, and the type colour is on the schedule rows', async () => {
    const starts = (await freeSlots(db, DOCTOR, DAY, 30, 'UTC')).map((s) => s.starts_at.slice(11, 16));
    expect(starts.slice(0, 3)).toEqual(['08:00', '08:15', '09:45']);
    const typed = (await freeSlots(db, DOCTOR, DAY, 30, 'UTC', { buffers: { before: 15, after: 15 } })).map((s) =>
      s.starts_at.slice(11, 16),
    );
    expect(typed.slice(0, 2)).toEqual(['08:00', '10:00']);
    const [a] = await appointmentsBetween(db, at('00:00'), at('23:59'), [DOCTOR]);
    expect(a).toMatchObject({ id: APPT, type_name: 'Minor surgery', type_colour: '#aa3300' });
    expect((await typesForDoctor(db, DOCTOR)).map((t) => t.name)).toEqual(['Minor surgery']);
  });
});
