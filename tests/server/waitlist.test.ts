// The waitlist over HTTP against the real server and PostgreSQL: a freed future slot (cancel,
// reschedule, no-show, delete) is offered to the matching waiting entries, ordered by urgency
// then age; one tap books it through the booking path and closes the entry.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 12 });
});
afterAll(async () => {
  await clinic?.close();
});

// A Monday in 2032 per test block (the fixture's hours: Mon–Fri 08–17 UTC, zone UTC).
const day = (week: number, offset = 0) => new Date(Date.UTC(2032, 0, 5 + 7 * week + offset)).toISOString().slice(0, 10);
const at = (date: string, time: string) => `${date}T${time}:00.000Z`;

function entry(overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    patient_id: clinic.fixture.patients[0],
    doctor_id: clinic.fixture.doctorA,
    earliest_date: day(0),
    latest_date: day(0, 4),
    duration_minutes: 30,
    ...overrides,
  };
}

async function bookAndFree(
  startsAt: string,
  free: 'cancel' | 'reschedule' | 'no_show' | 'delete',
  patient = 11,
  doctor = clinic.fixture.doctorA,
) {
  const b = booking(clinic.fixture, {
    starts_at: startsAt,
    patient_id: clinic.fixture.patients[patient],
    doctor_id: doctor,
  });
  expect((await clinic.receptionist.post('/api/appointments', b)).status).toBe(201);
  if (free === 'cancel')
    expect((await clinic.receptionist.post(`/api/appointments/${b.id}/cancel`, { reason: 'ill' })).status).toBe(200);
  if (free === 'no_show')
    expect((await clinic.receptionist.post(`/api/appointments/${b.id}/status`, { status: 'no_show' })).status).toBe(
      200,
    );
  if (free === 'delete') expect((await clinic.admin.delete(`/api/appointments/${b.id}`)).status).toBe(204);
  if (free === 'reschedule') {
    const later = new Date(Date.parse(startsAt) + 7 * 86_400_000).toISOString();
    expect(
      (
        await clinic.receptionist.post(`/api/appointments/${b.id}/reschedule`, {
          new_id: randomUUID(),
          starts_at: later,
        })
      ).status,
    ).toBe(201);
  }
  return b.id;
}

type Listed = { id: string; urgency: string; offers: { doctor_id: string; starts_at: string }[] };
const waiting = async () => (await clinic.receptionist.get<{ entries: Listed[] }>('/api/waitlist')).body.entries;
const offersOf = async (id: string) => (await waiting()).find((e) => e.id === id)?.offers.map((o) => o.starts_at);

describe('offers', () => {
  it('a cancelled future slot is offered to the matching entries only, in the same transaction', async () => {
    const morning = entry({ time_of_day: 'morning' });
    const afternoon = entry({ patient_id: clinic.fixture.patients[1], time_of_day: 'afternoon' });
    const otherDoctor = entry({ patient_id: clinic.fixture.patients[2], doctor_id: clinic.fixture.doctorB });
    const tooLate = entry({ patient_id: clinic.fixture.patients[3], earliest_date: day(1), latest_date: day(2) });
    const bySpecialization = entry({
      patient_id: clinic.fixture.patients[4],
      doctor_id: undefined,
      specialization_id: clinic.fixture.specialization,
    });
    for (const e of [morning, afternoon, otherDoctor, tooLate, bySpecialization]) {
      const res = await clinic.receptionist.post('/api/waitlist', e);
      expect(res.status).toBe(201);
      expect(res.body.entry).toMatchObject({ id: e.id, status: 'waiting', offers: [] });
    }
    await bookAndFree(at(day(0, 1), '09:00'), 'cancel');
    expect(await offersOf(morning.id)).toEqual([at(day(0, 1), '09:00')]);
    expect(await offersOf(bySpecialization.id)).toEqual([at(day(0, 1), '09:00')]);
    expect(await offersOf(afternoon.id)).toEqual([]);
    expect(await offersOf(otherDoctor.id)).toEqual([]);
    expect(await offersOf(tooLate.id)).toEqual([]);
    // A reschedule, another cancellation and a deletion free their slots too (a no-show is
    // only possible once the start has passed: it never frees a future slot).
    await bookAndFree(at(day(0, 2), '10:00'), 'reschedule');
    await bookAndFree(at(day(0, 3), '10:00'), 'cancel');
    await bookAndFree(at(day(0, 4), '10:00'), 'delete');
    expect(await offersOf(morning.id)).toEqual([
      at(day(0, 1), '09:00'),
      at(day(0, 2), '10:00'),
      at(day(0, 3), '10:00'),
      at(day(0, 4), '10:00'),
    ]);
    // A freed slot that someone books again is no longer offered.
    const again = booking(clinic.fixture, {
      starts_at: at(day(0, 2), '10:00'),
      patient_id: clinic.fixture.patients[10],
    });
    expect((await clinic.receptionist.post('/api/appointments', again)).status).toBe(201);
    expect(await offersOf(morning.id)).toEqual([
      at(day(0, 1), '09:00'),
      at(day(0, 3), '10:00'),
      at(day(0, 4), '10:00'),
    ]);
    // The patient who cancelled is not offered their own slot back.
    const own = entry({ patient_id: clinic.fixture.patients[9], earliest_date: day(3), latest_date: day(3, 4) });
    expect((await clinic.receptionist.post('/api/waitlist', own)).status).toBe(201);
    await bookAndFree(at(day(3, 1), '09:00'), 'cancel', 9);
    expect(await offersOf(own.id)).toEqual([]);
  });

  it('lists by urgency first, then the longest waiting', async () => {
    const ids: Record<string, string> = {};
    for (const [name, urgency] of [
      ['routine-old', 'routine'],
      ['urgent', 'urgent'],
      ['routine-new', 'routine'],
      ['emergency', 'emergency'],
    ] as const) {
      const e = entry({
        patient_id: clinic.fixture.patients[5],
        urgency,
        earliest_date: day(10),
        latest_date: day(10),
      });
      ids[name] = e.id;
      expect((await clinic.receptionist.post('/api/waitlist', e)).status).toBe(201);
    }
    const order = (await waiting()).map((e) => e.id).filter((id) => Object.values(ids).includes(id));
    expect(order).toEqual([ids.emergency, ids.urgent, ids['routine-old'], ids['routine-new']]);
  });
});

describe('booking an offer', () => {
  it("one tap books the slot for the entry's patient through the booking path and closes the entry", async () => {
    const e = entry({
      patient_id: clinic.fixture.patients[6],
      earliest_date: day(20),
      latest_date: day(20, 4),
      note: 'knee',
    });
    expect((await clinic.receptionist.post('/api/waitlist', e)).status).toBe(201);
    const rival = entry({ patient_id: clinic.fixture.patients[7], earliest_date: day(20), latest_date: day(20, 4) });
    expect((await clinic.receptionist.post('/api/waitlist', rival)).status).toBe(201);
    await bookAndFree(at(day(20, 1), '11:00'), 'cancel');
    const offer = (await waiting()).find((x) => x.id === e.id)!.offers[0]!;
    const body = { appointment_id: randomUUID(), doctor_id: offer.doctor_id, starts_at: offer.starts_at };
    const res = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, body);
    expect(res.status).toBe(201);
    expect(res.body.appointment).toMatchObject({
      id: body.appointment_id,
      patient_id: clinic.fixture.patients[6],
      starts_at: at(day(20, 1), '11:00'),
      duration_minutes: 30,
      reason: 'knee',
      status: 'scheduled',
    });
    expect(res.body.entry).toMatchObject({ status: 'booked', booked_appointment_id: body.appointment_id });
    // Closed: off the list; the rival's offer of the same slot is gone (it is taken).
    const list = await waiting();
    expect(list.find((x) => x.id === e.id)).toBeUndefined();
    expect(list.find((x) => x.id === rival.id)!.offers).toEqual([]);
    // A replay (the answer was lost) is the same answer, one appointment.
    const replay = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, body);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.stringify(replay.body)).toBe(JSON.stringify(res.body));
    // A new request on the closed entry is refused.
    const twice = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, {
      ...body,
      appointment_id: randomUUID(),
    });
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('waitlist_closed');
  });

  it('the booking rules apply: a slot taken meanwhile is 409 with suggestions, and the entry keeps waiting', async () => {
    const e = entry({ patient_id: clinic.fixture.patients[8], earliest_date: day(30), latest_date: day(30, 4) });
    expect((await clinic.receptionist.post('/api/waitlist', e)).status).toBe(201);
    await bookAndFree(at(day(30, 1), '14:00'), 'cancel');
    const taken = booking(clinic.fixture, {
      starts_at: at(day(30, 1), '14:00'),
      patient_id: clinic.fixture.patients[10],
    });
    expect((await clinic.receptionist.post('/api/appointments', taken)).status).toBe(201);
    const res = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, {
      appointment_id: randomUUID(),
      doctor_id: clinic.fixture.doctorA,
      starts_at: at(day(30, 1), '14:00'),
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('slot_conflict');
    expect(res.body.error.details.suggestions.length).toBeGreaterThan(0);
    expect((await waiting()).find((x) => x.id === e.id)).toBeDefined();
    // Outside working hours is refused like any booking; a doctor the entry does not wait for too.
    const night = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, {
      appointment_id: randomUUID(),
      doctor_id: clinic.fixture.doctorA,
      starts_at: at(day(30, 1), '20:00'),
    });
    expect(night.status).toBe(422);
    expect(night.body.error.code).toBe('outside_working_hours');
    const wrongDoctor = await clinic.receptionist.post(`/api/waitlist/${e.id}/book`, {
      appointment_id: randomUUID(),
      doctor_id: clinic.fixture.doctorB,
      starts_at: at(day(30, 1), '09:00'),
    });
    expect(wrongDoctor.status).toBe(422);
    expect(wrongDoctor.body.error.details.issues[0].path).toBe('doctor_id');
  });

  it('remove closes an entry', async () => {
    const e = entry({ earliest_date: day(40), latest_date: day(40) });
    expect((await clinic.receptionist.post('/api/waitlist', e)).status).toBe(201);
    const res = await clinic.receptionist.post(`/api/waitlist/${e.id}/remove`, { reason: 'found elsewhere' });
    expect(res.status).toBe(200);
    expect(res.body.entry.status).toBe('removed');
    expect((await waiting()).find((x) => x.id === e.id)).toBeUndefined();
    expect((await clinic.receptionist.post(`/api/waitlist/${e.id}/remove`, {})).status).toBe(409);
  });
});

describe('input and roles', () => {
  it('names the field of bad input', async () => {
    const both = await clinic.receptionist.post(
      '/api/waitlist',
      entry({ specialization_id: clinic.fixture.specialization }),
    );
    expect(both.status).toBe(422);
    expect(both.body.error.details.issues[0].path).toBe('doctor_id');
    const backwards = await clinic.receptionist.post(
      '/api/waitlist',
      entry({ earliest_date: day(5), latest_date: day(4) }),
    );
    expect(backwards.status).toBe(422);
    expect(backwards.body.error.details.issues[0].path).toBe('latest_date');
    const unknown = await clinic.receptionist.post('/api/waitlist', entry({ patient_id: randomUUID() }));
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.issues[0].path).toBe('patient_id');
    const bad = await clinic.receptionist.post('/api/waitlist', { ...entry(), time_of_day: 'noon', extra: true });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['time_of_day', 'extra']),
    );
  });

  it("the front desk writes; a clinician reads only their doctor's entries; anonymous is 401", async () => {
    const forB = entry({ doctor_id: clinic.fixture.doctorB, earliest_date: day(50), latest_date: day(50) });
    const forA = entry({ earliest_date: day(50), latest_date: day(50) });
    expect((await clinic.admin.post('/api/waitlist', forB)).status).toBe(201);
    expect((await clinic.receptionist.post('/api/waitlist', forA)).status).toBe(201);
    expect((await clinic.clinicianA.post('/api/waitlist', entry())).status).toBe(403);
    expect(
      (
        await clinic.clinicianA.post(`/api/waitlist/${forA.id}/book`, {
          appointment_id: randomUUID(),
          doctor_id: clinic.fixture.doctorA,
          starts_at: at(day(50), '09:00'),
        })
      ).status,
    ).toBe(403);
    expect((await clinic.clinicianA.post(`/api/waitlist/${forA.id}/remove`, {})).status).toBe(403);
    const seen = (await clinic.clinicianA.get<{ entries: Listed[] }>('/api/waitlist')).body.entries.map((e) => e.id);
    expect(seen).toContain(forA.id);
    expect(seen).not.toContain(forB.id);
    expect((await fetch(`${clinic.server.url}/api/waitlist`)).status).toBe(401);
  });
});
