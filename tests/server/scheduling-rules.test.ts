// The scheduling rules over HTTP (server/appointments, src/lib/shared/appointment-rules.ts):
// no booking in the past (admin back-fill with a reason, audited), steps bound to the
// appointment's clinic day, reverts, cancel reasons, buffers of appointment types, and the
// device refusing the same writes offline with the server's words (a real PGlite replica).
// The server's clock is set per test (AppDeps.now); nothing depends on the real time.
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { RuleRefusedError, bookChecked, setStatusChecked } from '../../src/lib/outbox/rule-writes.js';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let local: PGlite;
beforeAll(async () => {
  clinic = await openClinic({ patients: 40 });
  local = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(local);
});
afterAll(async () => {
  await local?.close();
  await clinic?.close();
});

let nextPatient = 0;
/** Books (as admin, with the clock before the slot) an appointment at `startsAt`. */
async function bookAt(startsAt: string, overrides: Record<string, unknown> = {}) {
  clinic.setNow('2029-12-01T00:00:00Z');
  const body = booking(clinic.fixture, {
    starts_at: startsAt,
    patient_id: clinic.fixture.patients[nextPatient++],
    ...overrides,
  });
  const res = await clinic.admin.post('/api/appointments', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.appointment;
}
const status = (id: string, to: string) => clinic.receptionist.post(`/api/appointments/${id}/status`, { status: to });

/** The server's row in the device's replica, as sync would put it. */
async function syncToDevice(a: {
  id: string;
  patient_id: string;
  doctor_id: string;
  starts_at: string;
  status: string;
}) {
  await local.query(
    `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, $5, 'routine', 1)
     ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status`,
    [a.id, a.patient_id, a.doctor_id, a.starts_at, a.status],
  );
}
const deviceUser = () => clinic.fixture.users.receptionist.id;

describe('no booking in the past', () => {
  it('refuses a booking or a move that starts in the past, beyond a grace of a few minutes', async () => {
    clinic.setNow(at('10:00'));
    const past = await clinic.receptionist.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: at('09:00'), patient_id: clinic.fixture.patients[30] }),
    );
    expect(past.status).toBe(422);
    expect(past.body.error.code).toBe('in_past');
    const grace = await clinic.receptionist.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: at('09:56'), patient_id: clinic.fixture.patients[31] }),
    );
    expect(grace.status).toBe(201);
    const future = await bookAt(at('15:00'));
    clinic.setNow(at('10:00'));
    const move = await clinic.receptionist.post(`/api/appointments/${future.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: at('08:00'),
    });
    expect([move.status, move.body.error.code]).toEqual([422, 'in_past']);
  });

  it('an admin back-fills with a stated reason, which is audited; without one, or not an admin, it is refused', async () => {
    clinic.setNow(at('12:00', '2030-01-08'));
    const body = booking(clinic.fixture, {
      starts_at: at('08:00', '2030-01-08'),
      patient_id: clinic.fixture.patients[32],
    });
    expect((await clinic.admin.post('/api/appointments', body)).body.error.code).toBe('in_past');
    const asReception = await clinic.receptionist.post('/api/appointments', {
      ...body,
      backfill_reason: 'paper record',
    });
    expect(asReception.body.error.code).toBe('in_past');
    const res = await clinic.admin.post('/api/appointments', { ...body, backfill_reason: 'Paper record from Monday' });
    expect(res.status).toBe(201);
    const audit = await clinic.db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'appointment.book' AND entity_id = $1`,
      [body.id],
    );
    expect(audit.rows[0].details.backfill_reason).toBe('Paper record from Monday');
  });

  it('the device refuses the same booking offline, with the server’s words', async () => {
    const now = Date.parse(at('10:00'));
    clinic.setNow(new Date(now));
    const input = {
      patient_id: clinic.fixture.patients[33]!,
      doctor_id: clinic.fixture.doctorA,
      starts_at: at('09:00'),
      duration_minutes: 30,
    };
    const server = await clinic.receptionist.post('/api/appointments', { id: randomUUID(), ...input });
    const device = await bookChecked(local, deviceUser(), input, { timeZone: 'UTC', now }).catch((e: unknown) => e);
    expect(device).toBeInstanceOf(RuleRefusedError);
    expect(device).toMatchObject({ code: server.body.error.code, message: server.body.error.message });
    expect((await local.query('SELECT 1 FROM outbox')).rows).toEqual([]);
  });
});

describe('steps bound to the clinic day', () => {
  const day = '2030-01-09';

  it('check-in: only on its day, from 60 minutes before the start; the device says the same', async () => {
    const a = await bookAt(at('14:00', day));
    await syncToDevice(a);
    const cases: [string, string | null][] = [
      [at('14:00', '2030-01-08'), 'not_appointment_day'],
      [at('12:30', day), 'check_in_too_early'],
      [at('13:05', day), null],
    ];
    for (const [now, code] of cases) {
      clinic.setNow(now);
      const device = await setStatusChecked(local, deviceUser(), a.id, 'checked_in', {
        timeZone: 'UTC',
        now: Date.parse(now),
      }).catch((e: unknown) => e);
      const res = await status(a.id, 'checked_in');
      if (code) {
        expect([res.status, res.body.error.code]).toEqual([422, code]);
        expect(device).toMatchObject({ code, message: res.body.error.message });
      } else {
        expect(res.status).toBe(200);
        expect(typeof device).toBe('string');
      }
    }
  });

  it('start only on its day; complete only once started; no-show only after the start', async () => {
    const a = await bookAt(at('09:00', day));
    clinic.setNow(at('08:30', day));
    expect((await status(a.id, 'checked_in')).status).toBe(200);
    clinic.setNow(at('08:00', '2030-01-10'));
    expect((await status(a.id, 'in_progress')).body.error.code).toBe('not_appointment_day');
    clinic.setNow(at('08:45', day));
    expect((await status(a.id, 'completed')).body.error.code).toBe('invalid_transition');
    expect((await status(a.id, 'in_progress')).status).toBe(200);
    expect((await status(a.id, 'completed')).status).toBe(200);

    const b = await bookAt(at('11:00', day));
    clinic.setNow(at('10:59', day));
    const early = await status(b.id, 'no_show');
    expect([early.status, early.body.error.code]).toEqual([422, 'not_started']);
    expect(early.body.error.message).toMatch(/start time has passed/);
    clinic.setNow(at('11:10', day));
    expect((await status(b.id, 'no_show')).status).toBe(200);
  });

  it('check-in and no-show are reverted to scheduled on the same day, audited; not the next day', async () => {
    const a = await bookAt(at('15:00', day));
    clinic.setNow(at('14:50', day));
    expect((await status(a.id, 'checked_in')).status).toBe(200);
    const back = await status(a.id, 'scheduled');
    expect([back.status, back.body.appointment.status]).toEqual([200, 'scheduled']);
    const audit = await clinic.db.pool.query(
      `SELECT details FROM audit_log WHERE action = 'appointment.revert' AND entity_id = $1`,
      [a.id],
    );
    expect(audit.rows[0].details).toMatchObject({ from: 'checked_in', to: 'scheduled' });

    clinic.setNow(at('15:20', day));
    expect((await status(a.id, 'no_show')).status).toBe(200);
    clinic.setNow(at('09:00', '2030-01-10'));
    expect((await status(a.id, 'scheduled')).body.error.code).toBe('not_appointment_day');
    clinic.setNow(at('16:00', day));
    expect((await status(a.id, 'scheduled')).status).toBe(200);
  });

  it('a no-show whose slot was booked again meanwhile cannot be reverted', async () => {
    const a = await bookAt(at('16:00', day));
    clinic.setNow(at('16:10', day));
    expect((await status(a.id, 'no_show')).status).toBe(200);
    const other = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: at('16:15', day), patient_id: clinic.fixture.patients[34] }),
    );
    expect(other.status).toBe(201);
    const res = await status(a.id, 'scheduled');
    expect([res.status, res.body.error.code]).toEqual([409, 'slot_conflict']);
  });
});

describe('cancel', () => {
  it('requires a reason, stores and shows it', async () => {
    const a = await bookAt(at('10:00', '2030-01-11'));
    const none = await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, {});
    expect([none.status, none.body.error.code]).toEqual([422, 'validation_failed']);
    expect(none.body.error.details.issues[0].path).toBe('reason');
    const blank = await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, { reason: '   ' });
    expect(blank.status).toBe(422);
    const res = await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, {
      reason: 'Patient unwell: fever',
    });
    expect(res.body.appointment).toMatchObject({ status: 'cancelled', cancellation_reason: 'Patient unwell: fever' });
  });

  it('the device refuses a cancel without a reason before queuing it', async () => {
    const a = await bookAt(at('11:00', '2030-01-11'));
    await syncToDevice(a);
    const err = await setStatusChecked(local, deviceUser(), a.id, 'cancelled', { timeZone: 'UTC' }, '  ').catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'validation_failed', message: 'Invalid input: reason.' });
    const server = await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, { reason: '' });
    expect(server.body.error.message).toBe('Invalid input: reason.');
  });
});

describe('appointment types and buffers', () => {
  let typeId: string;
  let onlyB: string;
  beforeAll(async () => {
    const { rows } = await clinic.db.pool.query(
      `INSERT INTO appointment_types (name, default_duration_minutes, colour, buffer_before_minutes, buffer_after_minutes)
       VALUES ('Minor surgery', 30, '#aa3300', 15, 15), ('Physio', 45, '#00aa33', 0, 0) RETURNING id`,
    );
    typeId = rows[0].id;
    onlyB = rows[1].id;
    await clinic.db.pool.query('INSERT INTO appointment_type_doctors (type_id, doctor_id) VALUES ($1, $2)', [
      onlyB,
      clinic.fixture.doctorB,
    ]);
  });

  it('buffers count in the overlap check and in free slots; the type is on the answer', async () => {
    const date = '2030-01-14';
    const a = await bookAt(at('10:00', date), { type_id: typeId });
    expect(a).toMatchObject({
      type_id: typeId,
      buffer_before_minutes: 15,
      buffer_after_minutes: 15,
      type: { id: typeId, name: 'Minor surgery', colour: '#aa3300' },
    });
    for (const [start, expected] of [
      ['10:30', 409],
      ['09:30', 409],
      ['10:45', 201],
      ['09:15', 201],
    ] as const) {
      const res = await clinic.admin.post(
        '/api/appointments',
        booking(clinic.fixture, { starts_at: at(start, date), patient_id: clinic.fixture.patients[nextPatient++] }),
      );
      expect(res.status, `${start}: ${JSON.stringify(res.body)}`).toBe(expected);
      if (expected === 409) expect(res.body.error.details.conflicts.map((c: { id: string }) => c.id)).toEqual([a.id]);
    }
    const slots = (
      await clinic.receptionist.get(`/api/doctors/${clinic.fixture.doctorA}/availability?date=${date}&duration=30`)
    ).body.slots.map((s: { starts_at: string }) => s.starts_at.slice(11, 16));
    expect(slots).not.toContain('10:30');
    expect(slots).toContain('11:15');
  });

  it('a type with its doctors listed is offered only by them', async () => {
    const res = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, {
        starts_at: at('14:00', '2030-01-14'),
        patient_id: clinic.fixture.patients[nextPatient++],
        type_id: onlyB,
      }),
    );
    expect([res.status, res.body.error.code]).toEqual([422, 'type_not_offered']);
  });
});

describe('clinic time zone America/New_York, spring-forward Sunday', () => {
  let ny: Clinic;
  beforeAll(async () => {
    ny = await openClinic({ patients: 4, env: { CLINIC_TIMEZONE: 'America/New_York' } });
    ny.setNow('2027-03-01T12:00:00Z');
    const res = await ny.admin.patch(`/api/doctors/${ny.fixture.doctorA}`, {
      working_hours: [{ weekday: 7, start: '02:00', end: '04:00' }],
    });
    expect(res.status).toBe(200);
  });
  afterAll(() => ny?.close());

  it('working hours 02:00–04:00 on 2027-03-14 offer 03:00–04:00 EDT only; a booking at 01:15 EST is 422', async () => {
    const slots = (
      await ny.receptionist.get(`/api/doctors/${ny.fixture.doctorA}/availability?date=2027-03-14&duration=30`)
    ).body.slots.map((s: { starts_at: string }) => s.starts_at);
    expect(slots).toEqual(['2027-03-14T07:00:00.000Z', '2027-03-14T07:15:00.000Z', '2027-03-14T07:30:00.000Z']);
    const early = await ny.receptionist.post(
      '/api/appointments',
      booking(ny.fixture, { starts_at: '2027-03-14T06:15:00.000Z' }),
    );
    expect([early.status, early.body.error.code]).toEqual([422, 'outside_working_hours']);
    const ok = await ny.receptionist.post(
      '/api/appointments',
      booking(ny.fixture, { starts_at: '2027-03-14T07:00:00.000Z' }),
    );
    expect(ok.status).toBe(201);
  });
});
