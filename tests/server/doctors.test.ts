// Doctors: list with specializations and hours, admin create/edit, availability.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic();
});
afterAll(() => clinic?.close());

describe('doctors', () => {
  it('lists doctors with specializations and working hours for every role', async () => {
    for (const client of [clinic.admin, clinic.receptionist, clinic.clinicianA]) {
      const res = await client.get('/api/doctors');
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(2);
      expect(res.body.results[0]).toMatchObject({
        id: clinic.fixture.doctorA,
        full_name: 'Dr. Alice Able',
        active: true,
        specializations: ['Cardiology'],
      });
      expect(res.body.results[0].working_hours).toHaveLength(5);
      expect(res.body.results[0].working_hours[0]).toEqual({ weekday: 1, start: '08:00', end: '17:00' });
    }
  });

  it('admins create and edit doctors (idempotently); others may not', async () => {
    const body = {
      id: randomUUID(),
      full_name: 'Dr. Cora Chen',
      specializations: ['Dermatology', 'Cardiology'],
      working_hours: [
        { weekday: 2, start: '08:00', end: '12:00' },
        { weekday: 2, start: '13:00', end: '17:30' },
      ],
    };
    expect((await clinic.receptionist.post('/api/doctors', body)).status).toBe(403);
    const created = await clinic.admin.post('/api/doctors', body);
    expect(created.status).toBe(201);
    expect(created.body.txid).toEqual(expect.any(Number));
    expect(created.body.doctor).toEqual({
      id: body.id,
      full_name: 'Dr. Cora Chen',
      active: true,
      specializations: ['Cardiology', 'Dermatology'],
      working_hours: body.working_hours,
    });
    const replay = await clinic.admin.post('/api/doctors', body);
    expect(replay.body).toEqual(created.body);
    expect((await clinic.db.pool.query('SELECT count(*)::int AS n FROM specializations')).rows[0].n).toBe(2);

    const edited = await clinic.admin.patch(`/api/doctors/${body.id}`, {
      active: false,
      working_hours: [{ weekday: 3, start: '09:00', end: '10:00' }],
    });
    expect(edited.status).toBe(200);
    expect(edited.body.doctor).toMatchObject({
      active: false,
      working_hours: [{ weekday: 3, start: '09:00', end: '10:00' }],
      specializations: ['Cardiology', 'Dermatology'],
    });
    expect((await clinic.clinicianA.patch(`/api/doctors/${body.id}`, { active: true })).status).toBe(403);
    expect((await clinic.admin.patch(`/api/doctors/${randomUUID()}`, { active: true })).status).toBe(404);
    const active = await clinic.receptionist.get('/api/doctors?active=true');
    expect(active.body.results.map((d: { id: string }) => d.id)).not.toContain(body.id);
    // An inactive doctor can't be booked.
    const res = await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { doctor_id: body.id, urgency: 'emergency' }),
    );
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0].path).toBe('doctor_id');
  });

  it('availability lists the free grid slots of a day inside working hours', async () => {
    const day = '2030-01-14'; // a Monday
    await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { starts_at: at('09:00', day), duration_minutes: 60 }),
    );
    await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, {
        patient_id: clinic.fixture.patients[1],
        starts_at: at('16:10', day),
        duration_minutes: 20,
      }),
    );
    const res = await clinic.receptionist.get(
      `/api/doctors/${clinic.fixture.doctorA}/availability?date=${day}&duration=30`,
    );
    expect(res.status).toBe(200);
    const starts = res.body.slots.map((s: { starts_at: string }) => s.starts_at.slice(11, 16));
    // 08:00 … 16:30 every 15 minutes, minus those overlapping 09:00–10:00 and 16:10–16:30.
    const expected: string[] = [];
    for (let m = 8 * 60; m + 30 <= 17 * 60; m += 15) {
      const overlaps = (s: number, e: number) => m < e && m + 30 > s;
      if (overlaps(9 * 60, 10 * 60) || overlaps(16 * 60 + 10, 16 * 60 + 30)) continue;
      expected.push(`${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
    }
    expect(starts).toEqual(expected);
    for (const slot of res.body.slots) expect(Date.parse(slot.ends_at) - Date.parse(slot.starts_at)).toBe(30 * 60_000);
    const saturday = await clinic.receptionist.get(
      `/api/doctors/${clinic.fixture.doctorA}/availability?date=2030-01-19`,
    );
    expect(saturday.body.slots).toEqual([]);
    expect(
      (await clinic.receptionist.get(`/api/doctors/${clinic.fixture.doctorA}/availability?date=2030-02-30`)).status,
    ).toBe(422);
    expect((await clinic.receptionist.get(`/api/doctors/${randomUUID()}/availability?date=${day}`)).status).toBe(404);
  });
});

describe('clinic time zone', () => {
  it('working hours are wall-clock times in CLINIC_TIMEZONE', async () => {
    const other = await openClinic({ env: { CLINIC_TIMEZONE: 'America/New_York' } });
    try {
      // 08:00–17:00 New York in January is 13:00–22:00 UTC.
      const early = await other.admin.post(
        '/api/appointments',
        booking(other.fixture, { starts_at: '2030-01-07T12:30:00Z' }),
      );
      expect(early.body.error?.code).toBe('outside_working_hours');
      const ok = await other.admin.post(
        '/api/appointments',
        booking(other.fixture, { starts_at: '2030-01-07T08:00:00-05:00' }),
      );
      expect(ok.status).toBe(201);
      const slots = await other.admin.get(
        `/api/doctors/${other.fixture.doctorA}/availability?date=2030-01-07&duration=60`,
      );
      expect(slots.body.slots[0].starts_at).toBe('2030-01-07T13:30:00.000Z');
      expect(slots.body.slots.at(-1).ends_at).toBe('2030-01-07T22:00:00.000Z');
    } finally {
      await other.close();
    }
  });
});
