// The OpenAPI document is generated from the shared zod schemas and served behind a session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../setup/server.js';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic();
});
afterAll(() => clinic?.close());

describe('GET /api/openapi.json', () => {
  it('needs a session', async () => {
    const anonymous = new ApiClient(clinic.server.url);
    const res = await anonymous.get('/api/openapi.json');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('is an OpenAPI 3.1 document whose schemas match what the server validates', async () => {
    const res = await clinic.receptionist.get('/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    for (const path of [
      '/api/appointments',
      '/api/appointments/{id}/reschedule',
      '/api/doctors/{id}/availability',
      '/api/patients',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    const create = doc.components.schemas.CreateAppointment;
    expect(create.additionalProperties).toBe(false);
    expect(create.required).toEqual(
      expect.arrayContaining(['id', 'patient_id', 'doctor_id', 'starts_at', 'duration_minutes']),
    );
    expect(create.properties.duration_minutes).toMatchObject({ minimum: 5, maximum: 480 });
    expect(create.properties.urgency.enum).toEqual(['routine', 'urgent', 'emergency']);
    expect(doc.components.schemas.Appointment.properties.status.enum).toContain('rescheduled');
    // Every $ref points at a component that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]!);
    for (const name of new Set(refs)) expect(doc.components.schemas).toHaveProperty([name]);
    const listParams = doc.paths['/api/appointments'].get.parameters.map((p: { name: string }) => p.name);
    expect(listParams).toEqual(expect.arrayContaining(['page', 'page_size', 'doctor_id', 'status', 'from', 'to']));
  });
});
