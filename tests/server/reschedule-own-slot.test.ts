// Rescheduling treats the appointment's own time as free: the availability endpoint (with
// `exclude`) offers a move by 15 minutes, and a refused reschedule's suggestions include
// the appointment's own neighbourhood instead of working around it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 10 });
});
afterAll(() => clinic?.close());

const DAY = '2030-03-12';

async function book(patient: number, time: string) {
  const res = await clinic.admin.post(
    '/api/appointments',
    booking(clinic.fixture, {
      patient_id: clinic.fixture.patients[patient],
      starts_at: at(time, DAY),
      duration_minutes: 30,
    }),
  );
  expect(res.status).toBe(201);
  return res.body.appointment as { id: string; starts_at: string };
}

describe('rescheduling within its own time', () => {
  it("counts the moved appointment's own slot as free, in availability and in a refusal's suggestions", async () => {
    const moved = await book(0, '10:00'); // 10:00–10:30
    await book(1, '10:45'); // 10:45–11:15, someone else
    const starts = (slots: { starts_at: string }[]) => slots.map((s) => s.starts_at);

    const plain = await clinic.admin.get(`/api/doctors/${clinic.fixture.doctorA}/availability?date=${DAY}&duration=30`);
    expect(plain.status).toBe(200);
    expect(starts(plain.body.slots)).not.toContain(at('10:15', DAY));
    const own = await clinic.admin.get(
      `/api/doctors/${clinic.fixture.doctorA}/availability?date=${DAY}&duration=30&exclude=${moved.id}`,
    );
    expect(own.status).toBe(200);
    expect(starts(own.body.slots)).toEqual(expect.arrayContaining([at('10:00', DAY), at('10:15', DAY)]));
    expect(starts(own.body.slots)).not.toContain(at('10:30', DAY)); // 10:30–11:00 meets 10:45

    const bad = await clinic.admin.get(
      `/api/doctors/${clinic.fixture.doctorA}/availability?date=${DAY}&exclude=not-a-uuid`,
    );
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.error)).toContain('exclude');

    // 10:30 collides with the 10:45 booking: refused; the nearest free times count 10:00–10:30 as free.
    const refused = await clinic.admin.post(`/api/appointments/${moved.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: at('10:30', DAY),
    });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('slot_conflict');
    expect(refused.body.error.details.conflicts.map((c: { id: string }) => c.id)).not.toContain(moved.id);
    expect(starts(refused.body.error.details.suggestions)).toEqual([
      at('10:00', DAY),
      at('10:15', DAY),
      at('11:15', DAY),
    ]);

    // And the move by 15 minutes really is accepted.
    const later = await clinic.admin.post(`/api/appointments/${moved.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: at('10:15', DAY),
    });
    expect(later.status).toBe(201);
  });
});
