// Appointment rules over HTTP: the status state machine, versions, soft delete, working
// hours, suggestions, reschedule, roles and clinical-note visibility.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPOINTMENT_STATUSES,
  STATUS_TRANSITIONS,
  type AppointmentStatus,
} from '../../src/lib/shared/appointment-schemas.js';
import { addDays } from '../../src/lib/shared/time.js';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 200 });
});
afterAll(() => clinic?.close());

let nextSlot = 0;
/** Books a fresh appointment in a slot (and with a patient) no other test uses. */
async function book(overrides: Record<string, unknown> = {}) {
  const i = nextSlot++;
  clinic.setNow(null);
  // From Monday 2030-04-01 on: 5 weekdays × 9 hours a week, one slot each.
  const day = addDays('2030-04-01', 7 * Math.floor(i / 45) + (i % 5));
  const hour = String(8 + Math.floor((i % 45) / 5)).padStart(2, '0');
  const patient_id = clinic.fixture.patients[i % 150];
  const body = booking(clinic.fixture, { patient_id, starts_at: at(`${hour}:00`, day), ...overrides });
  const res = await clinic.admin.post('/api/appointments', body);
  if (res.status !== 201) throw new Error(`booking failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.appointment;
}

/** Walks an appointment from scheduled to `status` along allowed moves. */
const PATH_TO: Record<AppointmentStatus, AppointmentStatus[]> = {
  scheduled: [],
  confirmed: ['confirmed'],
  checked_in: ['checked_in'],
  in_progress: ['checked_in', 'in_progress'],
  completed: ['checked_in', 'in_progress', 'completed'],
  cancelled: ['cancelled'],
  no_show: ['no_show'],
  rescheduled: [],
};
async function appointmentIn(status: AppointmentStatus) {
  if (status === 'rescheduled') {
    const old = await book();
    const res = await clinic.admin.post(`/api/appointments/${old.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: old.starts_at,
      doctor_id: clinic.fixture.doctorB,
    });
    expect(res.status).toBe(201);
    return (await clinic.admin.get(`/api/appointments/${old.id}`)).body.appointment;
  }
  let a = await book();
  // The steps happen at the appointment's start, on its clinic day (the time rules).
  clinic.setNow(a.starts_at);
  for (const step of PATH_TO[status]) {
    const res = await clinic.admin.post(`/api/appointments/${a.id}/status`, { status: step });
    expect(res.status).toBe(200);
    a = res.body.appointment;
  }
  return a;
}

describe('status state machine', () => {
  for (const from of APPOINTMENT_STATUSES) {
    for (const to of APPOINTMENT_STATUSES) {
      const allowed = STATUS_TRANSITIONS[from].includes(to);
      it(`${from} → ${to}: ${allowed ? 'allowed' : 'invalid_transition'}`, async () => {
        const a = await appointmentIn(from);
        expect(a.status).toBe(from);
        const res = await clinic.receptionist.post(`/api/appointments/${a.id}/status`, {
          status: to,
          version: a.version,
        });
        if (allowed) {
          expect(res.status).toBe(200);
          expect(res.body.appointment).toMatchObject({ status: to, version: a.version + 1 });
          expect(res.body.txid).toEqual(expect.any(Number));
          if (to === 'cancelled') expect(res.body.appointment.cancelled_at).not.toBeNull();
        } else {
          expect(res.status).toBe(409);
          expect(res.body.error).toMatchObject({ code: 'invalid_transition', details: { from, to } });
        }
      });
    }
  }

  it('cancel records who, when and why, and frees the slot', async () => {
    const a = await book();
    const res = await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, { reason: 'patient called' });
    expect(res.status).toBe(200);
    expect(res.body.appointment).toMatchObject({
      status: 'cancelled',
      cancelled_by: clinic.fixture.users.receptionist.id,
      cancellation_reason: 'patient called',
    });
    const again = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: a.starts_at, patient_id: clinic.fixture.patients[199] }),
    );
    expect(again.status).toBe(201);
    expect(
      (await clinic.receptionist.post(`/api/appointments/${a.id}/cancel`, { reason: 'again' })).body.error.code,
    ).toBe('invalid_transition');
  });
});

describe('versions', () => {
  it('a stale version on status or PATCH is a version_conflict carrying the current row', async () => {
    const a = await book();
    const first = await clinic.admin.patch(`/api/appointments/${a.id}`, { reason: 'first', version: 1 });
    expect(first.status).toBe(200);
    expect(first.body.appointment).toMatchObject({ reason: 'first', version: 2 });
    const stale = await clinic.admin.patch(`/api/appointments/${a.id}`, { reason: 'second', version: 1 });
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('version_conflict');
    expect(stale.body.error.details.current).toMatchObject({ id: a.id, reason: 'first', version: 2 });
    const staleStatus = await clinic.admin.post(`/api/appointments/${a.id}/status`, {
      status: 'confirmed',
      version: 1,
    });
    expect(staleStatus.body.error.code).toBe('version_conflict');
  });
});

describe('soft delete', () => {
  it('admin only; the row leaves lists and reads, and its slot is free again', async () => {
    const a = await book();
    expect((await clinic.receptionist.delete(`/api/appointments/${a.id}`)).status).toBe(403);
    const res = await clinic.admin.delete(`/api/appointments/${a.id}`);
    expect(res.status).toBe(204);
    expect(Number(res.headers.get('x-txid'))).toBeGreaterThan(0);
    expect((await clinic.admin.get(`/api/appointments/${a.id}`)).status).toBe(404);
    const list = await clinic.admin.get(`/api/appointments?patient_id=${a.patient_id}`);
    expect(list.body.results.map((r: { id: string }) => r.id)).not.toContain(a.id);
    expect((await clinic.admin.delete(`/api/appointments/${a.id}`)).status).toBe(404);
    const rebook = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: a.starts_at, patient_id: a.patient_id }),
    );
    expect(rebook.status).toBe(201);
  });
});

describe('working hours', () => {
  it('refuses routine and urgent bookings outside hours, accepts emergencies', async () => {
    const patient_id = clinic.fixture.patients[190];
    for (const [starts_at, duration_minutes] of [
      [at('07:45', '2030-02-11'), 30], // starts before 08:00
      [at('16:45', '2030-02-11'), 30], // runs past 17:00
      [at('10:00', '2030-02-16'), 30], // a Saturday
    ] as const) {
      for (const urgency of ['routine', 'urgent']) {
        const res = await clinic.admin.post(
          '/api/appointments',
          booking(clinic.fixture, { patient_id, starts_at, duration_minutes, urgency }),
        );
        expect(res.status).toBe(422);
        expect(res.body.error.code).toBe('outside_working_hours');
      }
    }
    const edge = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id, starts_at: at('16:30', '2030-02-11') }),
    );
    expect(edge.status).toBe(201);
    const emergency = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id, starts_at: at('10:00', '2030-02-16'), urgency: 'emergency' }),
    );
    expect(emergency.status).toBe(201);
    // Dropping the emergency exemption outside hours is refused too.
    const downgrade = await clinic.admin.patch(`/api/appointments/${emergency.body.appointment.id}`, {
      urgency: 'routine',
      version: 1,
    });
    expect(downgrade.body.error.code).toBe('outside_working_hours');
  });
});

describe('conflicts and suggestions', () => {
  it('a taken slot answers the conflicting rows and the nearest free, in-hours slots', async () => {
    const day = '2030-02-12';
    const taken = [
      ['09:00', 30],
      ['09:30', 60],
      ['08:00', 45],
    ] as const;
    const ids: string[] = [];
    for (const [i, [time, duration_minutes]] of taken.entries()) {
      const res = await clinic.admin.post(
        '/api/appointments',
        booking(clinic.fixture, {
          patient_id: clinic.fixture.patients[191 + i],
          starts_at: at(time, day),
          duration_minutes,
        }),
      );
      expect(res.status).toBe(201);
      ids.push(res.body.appointment.id);
    }
    const res = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, {
        patient_id: clinic.fixture.patients[195],
        starts_at: at('09:15', day),
        duration_minutes: 30,
      }),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('slot_conflict');
    expect(res.body.error.details.conflicts.map((c: { id: string }) => c.id).sort()).toEqual([ids[0], ids[1]].sort());
    // Busy 08:00–10:30 on the 15-minute grid: the nearest free 30-minute slots are 10:30, 10:45, 11:00.
    expect(res.body.error.details.suggestions).toEqual([
      { starts_at: at('10:30', day), ends_at: at('11:00', day) },
      { starts_at: at('10:45', day), ends_at: at('11:15', day) },
      { starts_at: at('11:00', day), ends_at: at('11:30', day) },
    ]);
    // Late in the day the nearest free slots are before the requested time (and within hours).
    await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, {
        patient_id: clinic.fixture.patients[196],
        starts_at: at('16:00', day),
        duration_minutes: 60,
      }),
    );
    const late = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id: clinic.fixture.patients[195], starts_at: at('16:30', day) }),
    );
    expect(late.body.error.details.suggestions).toEqual([
      { starts_at: at('15:00', day), ends_at: at('15:30', day) },
      { starts_at: at('15:15', day), ends_at: at('15:45', day) },
      { starts_at: at('15:30', day), ends_at: at('16:00', day) },
    ]);
    // Each suggestion can really be booked.
    const take = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, {
        patient_id: clinic.fixture.patients[195],
        ...late.body.error.details.suggestions[2],
        ends_at: undefined,
      }),
    );
    expect(take.status).toBe(201);
  });

  it('the same patient elsewhere at that time is a patient_conflict', async () => {
    const a = await book({ doctor_id: clinic.fixture.doctorA });
    const res = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id: a.patient_id, doctor_id: clinic.fixture.doctorB, starts_at: a.starts_at }),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('patient_conflict');
    expect(res.body.error.details.conflicts[0].id).toBe(a.id);
  });
});

describe('reschedule', () => {
  it('makes a new appointment linked to the old one, which becomes rescheduled; may move next to itself', async () => {
    const a = await book();
    const startsLater = new Date(Date.parse(a.starts_at) + 15 * 60_000).toISOString();
    const res = await clinic.receptionist.post(`/api/appointments/${a.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: startsLater,
      duration_minutes: 45,
      doctor_id: clinic.fixture.doctorB,
    });
    expect(res.status).toBe(201);
    expect(res.body.appointment).toMatchObject({
      rescheduled_from: a.id,
      starts_at: startsLater,
      duration_minutes: 45,
      doctor_id: clinic.fixture.doctorB,
      status: 'scheduled',
    });
    const old = (await clinic.admin.get(`/api/appointments/${a.id}`)).body.appointment;
    expect(old).toMatchObject({ status: 'rescheduled', version: 2 });
    const twice = await clinic.receptionist.post(`/api/appointments/${a.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: startsLater,
    });
    expect(twice.body.error.code).toBe('invalid_transition');
  });

  it('a conflict rolls the whole reschedule back', async () => {
    const a = await book();
    const b = await book();
    const res = await clinic.admin.post(`/api/appointments/${a.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: b.starts_at,
      doctor_id: b.doctor_id,
    });
    expect(res.status).toBe(409);
    expect((await clinic.admin.get(`/api/appointments/${a.id}`)).body.appointment.status).toBe('scheduled');
  });
});

describe('roles', () => {
  it('a clinician books and reads only for their own doctor; others are 403 to book and 404 to read', async () => {
    const own = await clinic.clinicianA.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id: clinic.fixture.patients[197], starts_at: at('08:00', '2030-02-13') }),
    );
    expect(own.status).toBe(201);
    const other = await clinic.clinicianA.post(
      '/api/appointments',
      booking(clinic.fixture, { doctor_id: clinic.fixture.doctorB, starts_at: at('08:00', '2030-02-13') }),
    );
    expect(other.status).toBe(403);
    const bs = await book({ doctor_id: clinic.fixture.doctorB });
    expect((await clinic.clinicianA.get(`/api/appointments/${bs.id}`)).status).toBe(404);
    expect((await clinic.clinicianA.post(`/api/appointments/${bs.id}/status`, { status: 'confirmed' })).status).toBe(
      404,
    );
    expect((await clinic.clinicianA.patch(`/api/appointments/${bs.id}`, { reason: 'x', version: 1 })).status).toBe(404);
    const list = await clinic.clinicianA.get('/api/appointments?page_size=200');
    expect(list.body.results.length).toBeGreaterThan(0);
    expect(list.body.results.every((r: { doctor_id: string }) => r.doctor_id === clinic.fixture.doctorA)).toBe(true);
    // The booking is visible to every role that may see it.
    for (const client of [clinic.admin, clinic.receptionist, clinic.clinicianA]) {
      expect((await client.get(`/api/appointments/${own.body.appointment.id}`)).status).toBe(200);
    }
    expect((await clinic.clinicianB.get(`/api/appointments/${own.body.appointment.id}`)).status).toBe(404);
  });

  it('clinical notes: written and read by the own clinician and admins, never shown to receptionists', async () => {
    const a = await book({ doctor_id: clinic.fixture.doctorA });
    const res = await clinic.clinicianA.patch(`/api/appointments/${a.id}`, {
      clinical_notes: 'BP 120/80',
      version: a.version,
    });
    expect(res.status).toBe(200);
    expect(res.body.appointment.clinical_notes).toBe('BP 120/80');
    expect((await clinic.admin.get(`/api/appointments/${a.id}`)).body.appointment.clinical_notes).toBe('BP 120/80');
    const asReception = await clinic.receptionist.get(`/api/appointments/${a.id}`);
    expect(asReception.body.appointment).not.toHaveProperty('clinical_notes');
    const list = await clinic.receptionist.get(`/api/appointments?patient_id=${a.patient_id}`);
    expect(JSON.stringify(list.body)).not.toContain('BP 120/80');
    const write = await clinic.receptionist.patch(`/api/appointments/${a.id}`, { clinical_notes: 'nope', version: 2 });
    expect(write.status).toBe(403);
    // A receptionist's write answer carries no notes either.
    const confirm = await clinic.receptionist.post(`/api/appointments/${a.id}/status`, { status: 'confirmed' });
    expect(confirm.body.appointment).not.toHaveProperty('clinical_notes');
  });
});
