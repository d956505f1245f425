// Text PostgreSQL cannot store (a NUL byte, an unpaired UTF-16 surrogate) is refused by
// validation with a 422 naming the field, on every route that takes text, and never reaches the
// database as a 500 (SQLSTATE 22021). Data exceptions the validation does not foresee are 4xx.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';
import { ApiClient } from '../setup/server.js';

let clinic: Clinic;
let appointmentId: string;
beforeAll(async () => {
  clinic = await openClinic();
  const res = await clinic.admin.post('/api/appointments', booking(clinic.fixture, { starts_at: at('10:00') }));
  appointmentId = res.body.appointment.id;
});
afterAll(() => clinic?.close());

const NUL = 'a\u0000b';
const LONE_SURROGATE = 'a\uD800b';

interface Case {
  who: 'anonymous' | 'admin' | 'receptionist' | 'clinicianA';
  method: 'GET' | 'POST' | 'PATCH';
  path: (bad: string) => string;
  body?: (bad: string) => unknown;
  field: string;
}

const q = encodeURIComponent;
function cases(): Case[] {
  const f = clinic.fixture;
  const patient = f.patients[0];
  const patientBody = (bad: string, over: Record<string, unknown>) => ({
    full_name: 'Ann Example',
    date_of_birth: '1990-01-01',
    ...over,
  });
  return [
    {
      who: 'anonymous',
      method: 'POST',
      path: () => '/api/auth/login',
      body: (b) => ({ email: `x${b}@y.z`, password: 'pw' }),
      field: 'email',
    },
    { who: 'admin', method: 'GET', path: (b) => `/api/patients?search=${q(b)}`, field: 'search' },
    { who: 'admin', method: 'GET', path: (b) => `/api/users?search=${q(b)}`, field: 'search' },
    { who: 'admin', method: 'GET', path: (b) => `/api/admin/audit?entity=${q(b)}`, field: 'entity' },
    { who: 'admin', method: 'GET', path: (b) => `/api/admin/audit?entity_id=${q(b)}`, field: 'entity_id' },
    { who: 'admin', method: 'GET', path: (b) => `/api/admin/audit?action=${q(b)}`, field: 'action' },
    {
      who: 'receptionist',
      method: 'POST',
      path: () => '/api/patients',
      body: (b) => patientBody(b, { full_name: b }),
      field: 'full_name',
    },
    {
      who: 'receptionist',
      method: 'POST',
      path: () => '/api/patients',
      body: (b) => patientBody(b, { phone: b }),
      field: 'phone',
    },
    {
      who: 'receptionist',
      method: 'PATCH',
      path: () => `/api/patients/${patient}`,
      body: (b) => ({ full_name: b }),
      field: 'full_name',
    },
    {
      who: 'receptionist',
      method: 'PATCH',
      path: () => `/api/patients/${patient}`,
      body: (b) => ({ phone: b }),
      field: 'phone',
    },
    {
      who: 'receptionist',
      method: 'POST',
      path: () => '/api/appointments',
      body: (b) => booking(f, { reason: b, starts_at: at('11:00') }),
      field: 'reason',
    },
    {
      who: 'receptionist',
      method: 'POST',
      path: () => `/api/appointments/${appointmentId}/cancel`,
      body: (b) => ({ reason: b }),
      field: 'reason',
    },
    {
      who: 'admin',
      method: 'PATCH',
      path: () => `/api/appointments/${appointmentId}`,
      body: (b) => ({ reason: b, version: 1 }),
      field: 'reason',
    },
    {
      who: 'clinicianA',
      method: 'PATCH',
      path: () => `/api/appointments/${appointmentId}`,
      body: (b) => ({ clinical_notes: b, version: 1 }),
      field: 'clinical_notes',
    },
    { who: 'admin', method: 'POST', path: () => '/api/doctors', body: (b) => ({ full_name: b }), field: 'full_name' },
    {
      who: 'admin',
      method: 'POST',
      path: () => '/api/doctors',
      body: (b) => ({ full_name: 'Dr. New', specializations: [b] }),
      field: 'specializations.0',
    },
    {
      who: 'admin',
      method: 'PATCH',
      path: () => `/api/doctors/${f.doctorA}`,
      body: (b) => ({ full_name: b }),
      field: 'full_name',
    },
    {
      who: 'admin',
      method: 'POST',
      path: () => '/api/users',
      body: (b) => ({
        email: `n${randomUUID().slice(0, 8)}@test.clinic`,
        full_name: b,
        role: 'receptionist',
        password: 'a long enough password',
      }),
      field: 'full_name',
    },
    {
      who: 'admin',
      method: 'PATCH',
      path: () => `/api/users/${f.users.receptionist.id}`,
      body: (b) => ({ full_name: b }),
      field: 'full_name',
    },
    {
      who: 'receptionist',
      method: 'POST',
      path: () => '/api/devices/heartbeat',
      body: (b) => ({
        device_id: randomUUID(),
        app_version: b,
        online: true,
        outbox_pending: 0,
        outbox_rejected: 0,
        last_synced_at: null,
      }),
      field: 'app_version',
    },
  ];
}

describe('unrepresentable text', () => {
  for (const [label, bad] of [
    ['a NUL byte', NUL],
    ['an unpaired surrogate', LONE_SURROGATE],
  ] as const) {
    it(`${label} in any text field is a 422 naming the field`, async () => {
      const failures: string[] = [];
      for (const c of cases()) {
        // A URL cannot carry an unpaired surrogate (it is UTF-8): only bodies can.
        if (bad === LONE_SURROGATE && c.method === 'GET') continue;
        const client = c.who === 'anonymous' ? new ApiClient(clinic.server.url) : clinic[c.who];
        const res = await client.request(c.method, c.path(bad), c.body?.(bad));
        const paths = (res.body?.error?.details?.issues ?? []).map((i: { path: string }) => i.path);
        if (res.status !== 422 || res.body?.error?.code !== 'validation_failed' || !paths.includes(c.field)) {
          failures.push(`${c.method} ${c.path('…')} ${c.field}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it('nothing with a NUL was written', async () => {
    const { rows } = await clinic.db.pool.query(
      `SELECT (SELECT count(*) FROM patients WHERE full_name = 'Ann Example')::int AS patients,
              (SELECT count(*) FROM doctors WHERE full_name = 'Dr. New')::int AS doctors`,
    );
    expect(rows[0]).toEqual({ patients: 0, doctors: 0 });
  });
});

describe('data exceptions past validation', () => {
  it('a class-22 error from PostgreSQL answers 422 without its text, not 500', async () => {
    // Every known route validates first, so a real database data exception is raised on a
    // small app that has the same error handler as the server.
    const { createErrorHandler } = await import('../../server/http/error-handler.js');
    const app = express();
    app.get('/divide', async () => {
      await clinic.db.pool.query(`SELECT 1 / $1::int`, [0]);
    });
    app.get('/date', async () => {
      await clinic.db.pool.query(`SELECT $1::date`, ['2030-02-30']);
    });
    const logged: unknown[] = [];
    app.use(createErrorHandler((err) => logged.push(err)));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      for (const path of ['/divide', '/date']) {
        const res = await fetch(base + path);
        const body = await res.json();
        expect(res.status, path).toBe(422);
        expect(body.error.code).toBe('invalid_value');
        expect(JSON.stringify(body)).not.toMatch(/2030-02-30|division/);
      }
      expect(logged).toEqual([]);
    } finally {
      server.close();
    }
  });
});
