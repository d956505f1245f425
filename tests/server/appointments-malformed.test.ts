// Malformed input on every write route (and the list filters): the documented 4xx with the
// offending field named, never a 5xx, and nothing written.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let appointmentId: string;
beforeAll(async () => {
  clinic = await openClinic();
  const res = await clinic.admin.post('/api/appointments', booking(clinic.fixture));
  appointmentId = res.body.appointment.id;
});
afterAll(() => clinic?.close());

const huge = 'x'.repeat(70 * 1024);
const long = 'y'.repeat(30_000);

interface Case {
  name: string;
  body: unknown;
  field?: string; // the path a 422 must name
  status?: number;
  code?: string;
}

function routes() {
  const valid = booking(clinic.fixture, { starts_at: at('15:00') });
  const id = appointmentId;
  return [
    {
      method: 'POST',
      path: '/api/appointments',
      cases: [
        { name: 'missing fields', body: {}, field: 'id' },
        { name: 'wrong type', body: { ...valid, duration_minutes: '30' }, field: 'duration_minutes' },
        { name: 'fractional duration', body: { ...valid, duration_minutes: 30.5 }, field: 'duration_minutes' },
        { name: 'duration too long', body: { ...valid, duration_minutes: 481 }, field: 'duration_minutes' },
        { name: 'unknown field', body: { ...valid, ends_at: at('16:00') }, field: 'ends_at' },
        { name: 'bad date', body: { ...valid, starts_at: '2030-02-30T09:00:00Z' }, field: 'starts_at' },
        { name: 'date without offset', body: { ...valid, starts_at: '2030-01-07T09:00:00' }, field: 'starts_at' },
        { name: 'date far away', body: { ...valid, starts_at: '9999-01-01T09:00:00Z' }, field: 'starts_at' },
        { name: 'bad uuid', body: { ...valid, patient_id: 'not-a-uuid' }, field: 'patient_id' },
        { name: 'unknown patient', body: { ...valid, patient_id: randomUUID() }, field: 'patient_id' },
        { name: 'unknown doctor', body: { ...valid, doctor_id: randomUUID() }, field: 'doctor_id' },
        { name: 'bad enum', body: { ...valid, urgency: 'asap' }, field: 'urgency' },
        { name: 'long reason', body: { ...valid, reason: long }, field: 'reason' },
        { name: 'array body', body: [valid], field: '' },
        { name: 'null body', body: null, field: '' },
      ] as Case[],
    },
    {
      method: 'POST',
      path: `/api/appointments/${id}/reschedule`,
      cases: [
        { name: 'missing new_id', body: { starts_at: at('15:00') }, field: 'new_id' },
        { name: 'bad date', body: { new_id: randomUUID(), starts_at: 'tomorrow' }, field: 'starts_at' },
        {
          name: 'unknown field',
          body: { new_id: randomUUID(), starts_at: at('15:00'), patient_id: randomUUID() },
          field: 'patient_id',
        },
        {
          name: 'bad doctor uuid',
          body: { new_id: randomUUID(), starts_at: at('15:00'), doctor_id: 7 },
          field: 'doctor_id',
        },
      ] as Case[],
    },
    {
      method: 'POST',
      path: `/api/appointments/${id}/cancel`,
      cases: [
        { name: 'wrong type', body: { reason: 42 }, field: 'reason' },
        { name: 'unknown field', body: { why: 'x' }, field: 'why' },
        { name: 'long reason', body: { reason: long }, field: 'reason' },
      ] as Case[],
    },
    {
      method: 'POST',
      path: `/api/appointments/${id}/status`,
      cases: [
        { name: 'missing status', body: {}, field: 'status' },
        { name: 'unknown status', body: { status: 'teleported' }, field: 'status' },
        { name: 'bad version', body: { status: 'confirmed', version: 'one' }, field: 'version' },
        { name: 'negative version', body: { status: 'confirmed', version: -1 }, field: 'version' },
      ] as Case[],
    },
    {
      method: 'PATCH',
      path: `/api/appointments/${id}`,
      cases: [
        { name: 'missing version', body: { reason: 'x' }, field: 'version' },
        { name: 'unknown field', body: { version: 1, status: 'completed' }, field: 'status' },
        { name: 'huge notes', body: { version: 1, clinical_notes: 'n'.repeat(20_001) }, field: 'clinical_notes' },
      ] as Case[],
    },
    {
      method: 'POST',
      path: '/api/doctors',
      cases: [
        { name: 'missing name', body: {}, field: 'full_name' },
        {
          name: 'bad hours',
          body: { full_name: 'Dr. X', working_hours: [{ weekday: 8, start: '09:00', end: '17:00' }] },
          field: 'working_hours.0.weekday',
        },
        {
          name: 'end before start',
          body: { full_name: 'Dr. X', working_hours: [{ weekday: 1, start: '17:00', end: '09:00' }] },
          field: 'working_hours.0.end',
        },
        {
          name: 'bad time',
          body: { full_name: 'Dr. X', working_hours: [{ weekday: 1, start: '25:00', end: '26:00' }] },
          field: 'working_hours.0.start',
        },
        {
          name: 'overlapping blocks',
          body: {
            full_name: 'Dr. X',
            working_hours: [
              { weekday: 1, start: '08:00', end: '12:00' },
              { weekday: 1, start: '11:00', end: '13:00' },
            ],
          },
          field: 'working_hours',
        },
        { name: 'unknown field', body: { full_name: 'Dr. X', salary: 1 }, field: 'salary' },
      ] as Case[],
    },
    {
      method: 'PATCH',
      path: `/api/doctors/${clinic.fixture.doctorA}`,
      cases: [
        { name: 'wrong type', body: { active: 'yes' }, field: 'active' },
        { name: 'empty name', body: { full_name: '   ' }, field: 'full_name' },
      ] as Case[],
    },
    {
      method: 'POST',
      path: '/api/patients',
      cases: [
        { name: 'missing fields', body: {}, field: 'full_name' },
        { name: 'bad date of birth', body: { full_name: 'P', date_of_birth: '1990-13-01' }, field: 'date_of_birth' },
        {
          name: 'ancient date of birth',
          body: { full_name: 'P', date_of_birth: '1800-01-01' },
          field: 'date_of_birth',
        },
        { name: 'bad mrn', body: { full_name: 'P', date_of_birth: '1990-01-01', mrn: 'a b;c' }, field: 'mrn' },
        { name: 'bad email', body: { full_name: 'P', date_of_birth: '1990-01-01', email: 'nope' }, field: 'email' },
        { name: 'bad id', body: { id: 'x', full_name: 'P', date_of_birth: '1990-01-01' }, field: 'id' },
      ] as Case[],
    },
    {
      method: 'PATCH',
      path: `/api/patients/${clinic.fixture.patients[0]}`,
      cases: [
        { name: 'long name', body: { full_name: long }, field: 'full_name' },
        { name: 'unknown field', body: { deleted_at: null }, field: 'deleted_at' },
      ] as Case[],
    },
  ];
}

const common: Case[] = [
  { name: 'invalid JSON', body: '{"id": ', status: 400, code: 'invalid_json' },
  { name: 'body over 64 KiB', body: { reason: huge }, status: 413, code: 'payload_too_large' },
];

describe('malformed input on every write route', () => {
  it('answers the documented 4xx, names the field, writes nothing', async () => {
    const before = (
      await clinic.db.pool.query(
        `SELECT (SELECT count(*) FROM appointments) + (SELECT count(*) FROM patients) + (SELECT count(*) FROM doctors) AS n`,
      )
    ).rows[0].n;
    for (const route of routes()) {
      for (const c of [...route.cases, ...common]) {
        const res = await clinic.admin.request(route.method, route.path, c.body === null ? 'null' : c.body);
        const label = `${route.method} ${route.path} ${c.name}`;
        expect(res.status, label).toBe(c.status ?? 422);
        expect(res.body.error.code, label).toBe(c.code ?? 'validation_failed');
        if (c.field !== undefined) {
          const paths = res.body.error.details.issues.map((i: { path: string }) => i.path);
          expect(
            paths.some((p: string) => p.split(',').includes(c.field!)),
            `${label}: ${paths}`,
          ).toBe(true);
        }
        expect(JSON.stringify(res.body), label).not.toMatch(/at .*\.ts:\d+|SELECT|INSERT/);
      }
    }
    const after = (
      await clinic.db.pool.query(
        `SELECT (SELECT count(*) FROM appointments) + (SELECT count(*) FROM patients) + (SELECT count(*) FROM doctors) AS n`,
      )
    ).rows[0].n;
    expect(after).toBe(before);
  });

  it('bad ids in the path are 404, a bad Idempotency-Key is 422', async () => {
    for (const [method, path] of [
      ['GET', '/api/appointments/not-a-uuid'],
      ['POST', '/api/appointments/not-a-uuid/cancel'],
      ['POST', '/api/appointments/1%27%20OR%201=1/status'],
      ['PATCH', '/api/appointments/zzz'],
      ['DELETE', '/api/appointments/zzz'],
      ['GET', '/api/patients/zzz'],
      ['GET', '/api/doctors/zzz/availability?date=2030-01-07'],
      ['DELETE', `/api/appointments/${randomUUID()}`],
    ] as const) {
      const res = await clinic.admin.request(
        method,
        path,
        method === 'GET' || method === 'DELETE' ? undefined : { status: 'confirmed', version: 1 },
      );
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const res = await clinic.admin.post(`/api/appointments/${appointmentId}/cancel`, {}, { 'idempotency-key': 'abc' });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0]).toBeDefined();
  });

  it('bad list filters are 422 naming the parameter', async () => {
    for (const [query, field] of [
      ['page=0', 'page'],
      ['page_size=201', 'page_size'],
      ['page_size=abc', 'page_size'],
      ['status=scheduled,teleported', 'status'],
      ['from=yesterday', 'from'],
      ['doctor_id=1', 'doctor_id'],
      ['urgency=meh', 'urgency'],
    ]) {
      const res = await clinic.receptionist.get(`/api/appointments?${query}`);
      expect(res.status, query).toBe(422);
      expect(
        res.body.error.details.issues.map((i: { path: string }) => i.path.split('.')[0]),
        query,
      ).toContain(field);
    }
  });
});
