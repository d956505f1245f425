// Error tracking: without SENTRY_DSN the SDK is never initialised (nothing can be sent); with
// it, an unhandled error reaches a Sentry-compatible collector with its route and user id, but
// without the request's body, query, cookies, headers or any patient data.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as Sentry from '@sentry/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import type { AppDeps } from '../../server/deps.js';
import {
  flushErrorTracking,
  initErrorTracking,
  isErrorTrackingEnabled,
} from '../../server/observability/error-tracking.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const PATIENT_NAME = 'Philippa Wolstenholme';
const FAILING_DEVICE = randomUUID();
let db: TestDatabase;
let server: TestServer;
let fx: Fixture;
let collector: http.Server;
let collectorUrl: string;
const envelopes: string[] = [];

function failingPool(deps: AppDeps): AppDeps {
  const pool = deps.pool;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const wrapped = Object.create(pool);
  wrapped.query = (text: unknown, params?: unknown[]) => {
    if (typeof text === 'string' && text.includes('INSERT INTO devices') && params?.[0] === FAILING_DEVICE) {
      return Promise.reject(
        Object.assign(new Error('connection reset while writing'), { detail: `patient ${PATIENT_NAME}` }),
      );
    }
    return query(text, params);
  };
  return { ...deps, pool: wrapped };
}

async function failRequest(client: ApiClient) {
  const res = await client.post(`/api/devices/heartbeat?patient=${encodeURIComponent(PATIENT_NAME)}`, {
    device_id: FAILING_DEVICE,
    app_version: PATIENT_NAME.slice(0, 20),
    online: true,
    outbox_pending: 0,
    outbox_rejected: 0,
    last_synced_at: null,
  });
  expect(res.status).toBe(500);
}

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      envelopes.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  collectorUrl = `http://publickey@127.0.0.1:${(collector.address() as AddressInfo).port}/42`;
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db, {}, failingPool);
});
afterAll(async () => {
  await Sentry.close(1000);
  await server?.close();
  await new Promise((resolve) => collector?.close(resolve));
  await db?.drop();
});

describe('error tracking', () => {
  it('is off without SENTRY_DSN: the SDK is never initialised', async () => {
    expect(initErrorTracking(server.config)).toBe(false);
    const client = new ApiClient(server.url);
    await client.login(fx.users.receptionist.email, TEST_PASSWORD);
    await failRequest(client);
    expect(isErrorTrackingEnabled()).toBe(false);
    expect(Sentry.getClient()).toBeUndefined();
    expect(envelopes).toEqual([]);
  });

  it('with SENTRY_DSN sends unhandled errors with route and user id, and no request or patient data', async () => {
    const config = loadConfig({ NODE_ENV: 'test', SENTRY_DSN: collectorUrl });
    expect(initErrorTracking(config)).toBe(true);
    const client = new ApiClient(server.url);
    await client.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const sessionToken = client.cookie.split('=')[1]!;
    await failRequest(client);
    // A handled 4xx is not an error worth reporting.
    expect((await client.post('/api/devices/heartbeat', { device_id: 'nope' })).status).toBe(422);
    await flushErrorTracking(5000);

    const events = envelopes.filter((e) => e.includes('"exception"'));
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toContain('connection reset while writing');
    expect(event).toContain('"route":"/api/devices/heartbeat"');
    expect(event).toContain(fx.users.clinicianA.id);
    for (const leaked of [
      PATIENT_NAME,
      'Philippa',
      sessionToken,
      TEST_PASSWORD,
      fx.users.clinicianA.email,
      FAILING_DEVICE,
    ]) {
      expect(event, `sent ${leaked}`).not.toContain(leaked);
    }
    expect(event).not.toMatch(/"cookies"|"headers"|"query_string"|"data":\{/);
  });
});
