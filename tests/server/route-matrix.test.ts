// Every route of the app × every kind of caller (the table is in route-matrix.rows.ts). A
// route the app serves without a row fails the coverage test, so a new route can't ship
// without its roles. The server runs with the sync service, so shape requests are real.
import { randomUUID } from 'node:crypto';
import type express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, type ApiResponse } from '../setup/server.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';
import { ROWS, STATIC_ROUTES, WHO, future, type Ctx, type Expect, type Row, type Who } from './route-matrix.rows.js';

/** 'METHOD /full/path' of every route registered in an Express app, nested routers included. */
function registeredRoutes(app: express.Express): string[] {
  const out: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods).filter((m) => m !== '_all')) {
          out.push(`${method.toUpperCase()} ${(prefix + layer.route.path).replace(/(.)\/$/, '$1')}`);
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: unknown[] } }).router.stack, '');
  return [...new Set(out)];
}

let db: TestDatabase;
let server: SyncTestServer;
let ctx: Ctx;
const cookies: Partial<Record<Who, string>> = {};
const emails = (fx: Fixture): Record<Exclude<Who, 'anon'>, string> => ({
  admin: fx.users.admin.email,
  receptionist: fx.users.receptionist.email,
  clinicianA: fx.users.clinicianA.email,
});

beforeAll(async () => {
  db = await createTestDatabase();
  const fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, 'route_matrix_test');
  let slot = 0;
  const patientB = fx.patients[0]!;
  const insertAppointment = async () => {
    const id = randomUUID();
    const starts = future(slot++);
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, created_by)
       VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, $5)`,
      [id, patientB, fx.doctorB, starts, fx.users.admin.id],
    );
    return id;
  };
  ctx = {
    fx,
    patientB,
    appointmentB: await insertAppointment(),
    newAppointmentB: insertAppointment,
    async newSeriesB() {
      const id = randomUUID();
      // June 2030: older than appointmentB (the lists below look for it on their first page).
      const starts = new Date(Date.UTC(2030, 5, 3, 8) + slot++ * 60 * 60_000);
      await db.pool.query(
        `INSERT INTO appointment_series (id, patient_id, doctor_id, rrule, first_starts_at, duration_minutes)
         VALUES ($1, $2, $3, 'FREQ=WEEKLY;COUNT=2', $4, 30)`,
        [id, patientB, fx.doctorB, starts],
      );
      await db.pool.query(
        `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, created_by, series_id)
         SELECT gen_random_uuid(), $1, $2, s, s + interval '30 minutes', 30, $3, $4
           FROM unnest(ARRAY[$5::timestamptz, $5::timestamptz + interval '7 days']) s`,
        [patientB, fx.doctorB, fx.users.admin.id, id, starts],
      );
      return id;
    },
    async newWaitlistEntryB() {
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO waitlist_entries (id, patient_id, doctor_id, earliest_date, latest_date, duration_minutes, time_zone)
         VALUES (gen_random_uuid(), $1, $2, '2036-01-07', '2036-01-11', 15, 'UTC') RETURNING id`,
        [patientB, fx.doctorB],
      );
      return rows[0]!.id;
    },
    async newUser() {
      const { rows } = await db.pool.query<{ id: string }>(
        `INSERT INTO users (email, full_name, role, password_hash) VALUES ($1, 'Throwaway', 'receptionist', 'x') RETURNING id`,
        [`t${randomUUID().slice(0, 8)}@test.clinic`],
      );
      return rows[0]!.id;
    },
  };
  for (const [who, email] of Object.entries(emails(fx))) {
    const c = new ApiClient(server.url);
    await c.login(email, TEST_PASSWORD);
    cookies[who as Who] = c.cookie;
  }
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function callAs(who: Who, row: Row): Promise<ApiResponse> {
  const client = new ApiClient(server.url);
  if (who !== 'anon') {
    if (row.freshSession) await client.login(emails(ctx.fx)[who], TEST_PASSWORD);
    else client.cookie = cookies[who]!;
  }
  const { path, body, headers } = await row.call(ctx);
  const method = row.route.split(' ', 1)[0]!;
  return client.request(method, path, body, headers);
}

function check(expected: Expect, res: ApiResponse, label: string) {
  const why = `${label} answered ${res.status} ${JSON.stringify(res.body)?.slice(0, 200)}`;
  expect(res.status, why).toBe(expected);
}

describe('route × role matrix', () => {
  it('has a row for every route the app serves, and no row for a route it does not', () => {
    const routes = registeredRoutes(createApp(server.deps)).filter((r) => !STATIC_ROUTES.has(r));
    const rows = new Set(ROWS.map((r) => r.route));
    expect(
      routes.filter((r) => !rows.has(r)),
      'routes without a matrix row',
    ).toEqual([]);
    expect(
      [...rows].filter((r) => !routes.includes(r)),
      'rows for routes that do not exist',
    ).toEqual([]);
  });

  for (const row of ROWS) {
    describe(row.route, () => {
      for (const who of WHO) {
        it(`as ${who}: ${row.expect[who]}`, async () => {
          check(row.expect[who], await callAs(who, row), `${row.route} as ${who}`);
        });
      }
    });
  }
});

describe("doctor B's rows in the lists and shapes of doctor A's clinician", () => {
  const idsIn = (res: ApiResponse): string[] =>
    Array.isArray(res.body)
      ? res.body.flatMap((m: { value?: { id?: string } }) => (m.value?.id ? [m.value.id] : []))
      : res.body.results.map((r: { id: string }) => r.id);
  const as = (who: Who) => Object.assign(new ApiClient(server.url), { cookie: cookies[who]! });

  it('are absent for the clinician and present for the receptionist', async () => {
    for (const path of ['/api/appointments', '/v1/shape?table=appointments&offset=-1']) {
      const clinician = await as('clinicianA').get(path);
      const reception = await as('receptionist').get(path);
      expect(clinician.status).toBe(200);
      expect(idsIn(reception), path).toContain(ctx.appointmentB);
      expect(idsIn(clinician), path).not.toContain(ctx.appointmentB);
    }
    for (const path of ['/api/patients?page_size=200', '/v1/shape?table=patients&offset=-1']) {
      expect(idsIn(await as('receptionist').get(path)), path).toContain(ctx.patientB);
      expect(idsIn(await as('clinicianA').get(path)), path).not.toContain(ctx.patientB);
    }
  });
});
