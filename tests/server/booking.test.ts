// The booking write path under concurrency: real concurrent HTTP requests over separate
// connections against the real server and PostgreSQL.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 1000 });
});
afterAll(() => clinic?.close());

describe('booking one slot', () => {
  it('books, returns the appointment with its embeds and a txid', async () => {
    const body = booking(clinic.fixture, { starts_at: at('08:00'), reason: 'check-up' });
    const res = await clinic.receptionist.post('/api/appointments', body);
    expect(res.status).toBe(201);
    expect(res.body.txid).toEqual(expect.any(Number));
    const a = res.body.appointment;
    expect(a).toMatchObject({
      id: body.id,
      status: 'scheduled',
      starts_at: '2030-01-07T08:00:00.000Z',
      ends_at: '2030-01-07T08:30:00.000Z',
      version: 1,
      reason: 'check-up',
      patient: { id: clinic.fixture.patients[0], mrn: 'TST00001' },
      doctor: { id: clinic.fixture.doctorA, specializations: ['Cardiology'] },
      reminders: [],
    });
    expect(a).not.toHaveProperty('clinical_notes');
  });
});
