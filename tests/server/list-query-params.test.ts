// Unknown query parameters on the list routes are a 422 naming them, like unknown body fields:
// a misspelt filter (`?doctor=` for `?doctor_id=`) must not quietly return everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic();
});
afterAll(() => clinic?.close());

describe('unknown query parameters', () => {
  const cases = () => [
    { path: `/api/appointments?doctor=${clinic.fixture.doctorA}`, field: 'doctor' },
    { path: '/api/appointments?page=1&stauts=scheduled', field: 'stauts' },
    { path: '/api/patients?q=Patient', field: 'q' },
    { path: '/api/patients?search=Patient&limit=5', field: 'limit' },
    { path: '/api/doctors?is_active=false', field: 'is_active' },
    { path: `/api/doctors/${clinic.fixture.doctorA}/availability?date=2030-01-07&length=30`, field: 'length' },
  ];

  it('are refused with 422 naming the parameter, for every role', async () => {
    for (const client of [clinic.admin, clinic.receptionist, clinic.clinicianA]) {
      for (const c of cases()) {
        const res = await client.get(c.path);
        expect(res.status, c.path).toBe(422);
        expect(res.body.error.code).toBe('validation_failed');
        expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(c.field);
      }
    }
  });

  it('known parameters still work', async () => {
    for (const path of [
      `/api/appointments?doctor_id=${clinic.fixture.doctorA}&status=scheduled,confirmed&page=1&page_size=10`,
      '/api/patients?search=Patient&page_size=5',
      '/api/doctors?active=true&page_size=200',
      `/api/doctors/${clinic.fixture.doctorA}/availability?date=2030-01-07&duration=30`,
    ]) {
      expect((await clinic.receptionist.get(path)).status, path).toBe(200);
    }
  });
});
