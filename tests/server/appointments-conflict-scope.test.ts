// A booking conflict lists only the appointments the caller may read: a clinician booking a
// patient who is busy with another doctor learns that the patient is busy, not that
// appointment's id or times (which are 404 to them everywhere else).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic();
});
afterAll(() => clinic?.close());

describe('patient_conflict details follow the read scope', () => {
  it("a clinician is not told the other doctor's appointment", async () => {
    const f = clinic.fixture;
    const withB = await clinic.receptionist.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorB, patient_id: f.patients[1], starts_at: at('09:00') }),
    );
    expect(withB.status).toBe(201);
    const otherId = withB.body.appointment.id as string;
    expect((await clinic.clinicianA.get(`/api/appointments/${otherId}`)).status).toBe(404);

    const res = await clinic.clinicianA.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorA, patient_id: f.patients[1], starts_at: at('09:15') }),
    );
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('patient_conflict');
    expect(res.body.error.details.conflicts).toEqual([]);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain(otherId);
    expect(text).not.toContain(withB.body.appointment.starts_at);
  });

  it('a reschedule into the clash says as little', async () => {
    const f = clinic.fixture;
    const withB = await clinic.receptionist.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorB, patient_id: f.patients[2], starts_at: at('13:00') }),
    );
    const own = await clinic.clinicianA.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorA, patient_id: f.patients[2], starts_at: at('15:00') }),
    );
    expect(own.status).toBe(201);
    const res = await clinic.clinicianA.post(`/api/appointments/${own.body.appointment.id}/reschedule`, {
      new_id: randomUUID(),
      starts_at: at('13:00'),
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('patient_conflict');
    expect(JSON.stringify(res.body)).not.toContain(withB.body.appointment.id);
  });

  it('a clinician still sees a clash with their own doctor, and staff see every clash', async () => {
    const f = clinic.fixture;
    const first = await clinic.clinicianA.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorA, patient_id: f.patients[3], starts_at: at('10:00') }),
    );
    const ownClash = await clinic.clinicianA.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorA, patient_id: f.patients[4], starts_at: at('10:00') }),
    );
    expect(ownClash.status).toBe(409);
    expect(ownClash.body.error.code).toBe('slot_conflict');
    expect(ownClash.body.error.details.conflicts.map((c: { id: string }) => c.id)).toEqual([first.body.appointment.id]);

    const staffClash = await clinic.receptionist.post(
      '/api/appointments',
      booking(f, { doctor_id: f.doctorB, patient_id: f.patients[3], starts_at: at('10:00') }),
    );
    expect(staffClash.status).toBe(409);
    expect(staffClash.body.error.code).toBe('patient_conflict');
    expect(staffClash.body.error.details.conflicts.map((c: { id: string }) => c.id)).toEqual([
      first.body.appointment.id,
    ]);
  });
});
