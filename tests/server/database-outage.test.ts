// The database going away under a running server: every API call answers 503
// database_unavailable with Retry-After (never a 500), /healthz stays 200 (the process is
// alive; restarting it would not bring the database back), /readyz is 503, and all of it
// recovers by itself. The outage is a real TCP proxy in front of the test PostgreSQL.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../server/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';
import { TcpProxy } from '../setup/tcp-proxy.js';

let db: TestDatabase;
let fx: Fixture;
let proxy: TcpProxy;
let server: TestServer;
let client: ApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  const target = new URL(db.url);
  proxy = new TcpProxy({ host: target.hostname, port: Number(target.port) });
  await proxy.listen();
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  // A short connect timeout so the "hanging database" case answers within the test.
  const pool = createPool(viaProxy.toString(), { max: 5, connectionTimeoutMillis: 1_500 });
  server = await startTestServer(db, {}, (deps) => ({ ...deps, pool }));
  client = new ApiClient(server.url);
  await client.login(fx.users.receptionist.email, TEST_PASSWORD);
});
afterAll(async () => {
  await server?.close();
  await proxy?.close();
  await db?.drop();
});

const calls = () => [
  () => client.get('/api/patients'),
  () => client.get('/api/appointments'),
  () => client.get(`/api/patients/${fx.patients[0]}`),
  () =>
    client.post('/api/appointments', {
      id: randomUUID(),
      patient_id: fx.patients[0],
      doctor_id: fx.doctorA,
      starts_at: '2030-01-07T09:00:00Z',
      duration_minutes: 30,
    }),
  () => new ApiClient(server.url).post('/api/auth/login', { email: fx.users.admin.email, password: TEST_PASSWORD }),
];

async function expectUnavailable() {
  for (const call of calls()) {
    const res = await call();
    expect(res.status, JSON.stringify(res.body)).toBe(503);
    expect(res.body.error.code).toBe('database_unavailable');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
}

async function eventuallyOk() {
  const until = Date.now() + 20_000;
  for (;;) {
    const res = await client.get('/api/patients');
    if (res.status === 200 || Date.now() > until) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('database outage under a running server', () => {
  it('refused connections: 503 database_unavailable with Retry-After on every call, then recovery', async () => {
    await proxy.refuse();
    await expectUnavailable();
    await proxy.restore();
    expect((await eventuallyOk()).status).toBe(200);
  });

  it('connections cut mid-way (a database restart) are 503 too', async () => {
    await client.get('/api/patients'); // warm the pool
    proxy.cutAll();
    await proxy.refuse();
    await expectUnavailable();
    await proxy.restore();
    expect((await eventuallyOk()).status).toBe(200);
  });

  it('a database that accepts but never answers: 503 after the connect timeout, not a hang', async () => {
    await proxy.blackhole();
    await new Promise((r) => setTimeout(r, 100));
    const res = await client.get('/api/patients');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('database_unavailable');
    await proxy.restore();
    expect((await eventuallyOk()).status).toBe(200);
  });

  it('nothing was written while it was down, and writes work again', async () => {
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM appointments`);
    expect(rows[0].n).toBe(0);
    const res = await client.post('/api/appointments', {
      id: randomUUID(),
      patient_id: fx.patients[0],
      doctor_id: fx.doctorA,
      starts_at: '2030-01-07T09:00:00Z',
      duration_minutes: 30,
    });
    expect(res.status).toBe(201);
  });
});
