// Request logs: one JSON line per request (at debug, or sampled at info) with request id,
// user id, route, status and duration; and, scanning everything a scripted run logged, no password, session token,
// metrics token or patient name anywhere, not even from an unhandled error.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppDeps } from '../../server/deps.js';
import { createLogger } from '../../server/logger.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const METRICS_TOKEN = 'scrape-token-abcdefghijklmnop';
const PATIENT_NAME = 'Zebulon Quixote-Marsh';
const PATIENT_PHONE = '+44-7700-900123';
const FAILING_DEVICE = randomUUID();

let db: TestDatabase;
let server: TestServer;
let fx: Fixture;
let patientId: string;
const lines: string[] = [];

const capture = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

/** Makes one heartbeat fail like a constraint violation whose detail repeats patient data. */
function failingPool(deps: AppDeps): AppDeps {
  const pool = deps.pool;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const wrapped = Object.create(pool);
  wrapped.query = (text: unknown, params?: unknown[]) => {
    if (typeof text === 'string' && text.includes('INSERT INTO devices') && params?.[0] === FAILING_DEVICE) {
      const err = Object.assign(new Error('duplicate key value violates unique constraint "devices_pkey"'), {
        code: '23505',
        detail: `Key (full_name, phone)=(${PATIENT_NAME}, ${PATIENT_PHONE}) already exists.`,
      });
      return Promise.reject(err);
    }
    return query(text, params);
  };
  return { ...deps, pool: wrapped, logger: createLogger('debug', capture) };
}

function records() {
  return lines.map((l) => JSON.parse(l) as Record<string, any>);
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  const p = await db.pool.query(
    `INSERT INTO patients (full_name, date_of_birth, mrn, phone) VALUES ($1, '1970-02-03', 'ZQM001', $2) RETURNING id`,
    [PATIENT_NAME, PATIENT_PHONE],
  );
  patientId = p.rows[0].id;
  server = await startTestServer(db, { METRICS_TOKEN, LOG_LEVEL: 'debug', LOG_REQUEST_SAMPLE: '0' }, failingPool);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('request log levels', () => {
  it('log ordinary requests at debug, a sample of them at info, and failures at error', async () => {
    const { httpLogging } = await import('../../server/observability/http-logging.js');
    const express = (await import('express')).default;
    const levels = (sample: number, random: () => number) => {
      const out: Record<string, any>[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          out.push(
            ...String(chunk)
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l)),
          );
          done();
        },
      });
      const app = express();
      app.use(httpLogging(createLogger('info', sink), { sample, random }));
      app.get('/ok', (_req, res) => void res.status(200).end());
      app.get('/boom', (_req, res) => void res.status(500).end());
      return { app, out };
    };
    const hit = async (app: import('express').Express, paths: string[]) => {
      const srv = app.listen(0, '127.0.0.1');
      await new Promise((r) => srv.once('listening', r));
      const { port } = srv.address() as import('node:net').AddressInfo;
      for (const p of paths) await fetch(`http://127.0.0.1:${port}${p}`);
      await new Promise((r) => srv.close(r));
    };
    const quiet = levels(0, Math.random);
    await hit(quiet.app, ['/ok', '/ok', '/ok', '/boom']);
    expect(quiet.out.map((r) => r.msg)).toEqual(['request failed']);
    expect(quiet.out[0]!.level).toBe(50);
    const sampled = levels(
      0.5,
      (() => {
        let i = 0;
        return () => (i++ % 2 ? 0.9 : 0.1);
      })(),
    );
    await hit(sampled.app, ['/ok', '/ok', '/ok', '/ok']);
    expect(sampled.out.filter((r) => r.msg === 'request completed' && r.level === 30)).toHaveLength(2);
  });
});

describe('request logs', () => {
  it('log request id, user id, route, status and duration, and echo the request id', async () => {
    const client = new ApiClient(server.url);
    await client.login(fx.users.receptionist.email, TEST_PASSWORD);
    const device = {
      device_id: randomUUID(),
      app_version: '1',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: null,
    };
    const res = await client.post('/api/devices/heartbeat', device);
    expect(res.status).toBe(204);
    const requestId = res.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = records().find((r) => r.req?.id === requestId);
    expect(line).toMatchObject({
      msg: 'request completed',
      // Ordinary requests are debug lines unless sampled (LOG_REQUEST_SAMPLE=0 here).
      level: 20,
      req: { method: 'POST', path: '/api/devices/heartbeat' },
      res: { status: 204 },
      route: '/api/devices/heartbeat',
      user_id: fx.users.receptionist.id,
    });
    expect(typeof line!.duration_ms).toBe('number');
    // A well-formed request id from a proxy is kept.
    const traced = await client.get('/api/auth/me', { 'x-request-id': 'edge-proxy-1234abcd' });
    expect(traced.headers.get('x-request-id')).toBe('edge-proxy-1234abcd');
    expect(records().some((r) => r.req?.id === 'edge-proxy-1234abcd' && r.route === '/api/auth/me')).toBe(true);
  });

  it('contain no password, token or patient data after a scripted run', async () => {
    const reception = new ApiClient(server.url);
    const login = await reception.login(fx.users.receptionist.email, TEST_PASSWORD);
    const sessionToken = reception.cookie.split('=')[1]!;
    expect(sessionToken.length).toBeGreaterThan(10);
    expect(login.body.user.email).toBe(fx.users.receptionist.email);
    // A failed login with the password in the body.
    await new ApiClient(server.url).post('/api/auth/login', {
      email: fx.users.admin.email,
      password: `${TEST_PASSWORD}-wrong`,
    });
    // Patient data in query strings, bodies and answers.
    await reception.get(`/api/patients?search=${encodeURIComponent(PATIENT_NAME)}`);
    await reception.get(`/api/appointments?patient_id=${patientId}&search=${encodeURIComponent(PATIENT_PHONE)}`);
    const booking = await reception.post('/api/appointments', {
      id: randomUUID(),
      patient_id: patientId,
      doctor_id: fx.doctorA,
      starts_at: '2031-03-03T10:00:00.000Z',
      duration_minutes: 30,
      urgency: 'routine',
      reason: `Follow-up for ${PATIENT_NAME}`,
    });
    expect([201, 422]).toContain(booking.status);
    // Tokens in headers.
    expect((await new ApiClient(server.url).get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(
      200,
    );
    expect((await new ApiClient(server.url).get('/metrics', { authorization: `Bearer ${TEST_PASSWORD}` })).status).toBe(
      401,
    );
    // An unhandled error whose database detail repeats patient data.
    const failed = await reception.post(`/api/devices/heartbeat?note=${encodeURIComponent(PATIENT_NAME)}`, {
      device_id: FAILING_DEVICE,
      app_version: '1',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: null,
    });
    expect(failed.status).toBe(500);
    expect(JSON.stringify(failed.body)).not.toContain(PATIENT_NAME);
    await reception.post('/api/auth/logout');

    const all = lines.join('\n');
    // The run was logged (so the scan below means something) ...
    expect(records().some((r) => r.msg === 'unhandled error' && r.route === '/api/devices/heartbeat' && r.err)).toBe(
      true,
    );
    expect(
      records().filter((r) => r.msg === 'request completed' || r.msg === 'request failed').length,
    ).toBeGreaterThanOrEqual(8);
    // ... and holds none of the secrets or patient fields.
    for (const secret of [
      TEST_PASSWORD,
      sessionToken,
      METRICS_TOKEN,
      PATIENT_NAME,
      'Zebulon',
      PATIENT_PHONE,
      'ZQM001',
      encodeURIComponent(PATIENT_NAME),
    ]) {
      expect(all, `log output contains ${secret}`).not.toContain(secret);
    }
    expect(all).not.toMatch(/session=|set-cookie|authorization/i);
  });
});
