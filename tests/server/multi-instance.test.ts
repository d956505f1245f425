// Several server instances: two app instances (the real startServer, as `npm start` runs) on one
// PostgreSQL, one standalone sync service they reach through SYNC_UPSTREAM_URL, and a small
// round-robin proxy in front, as a load balancer would be. Sessions, rate limits
// (RATE_LIMIT_STORE=postgres) and idempotent replays hold across instances; a booking through
// one instance reaches a device connected through the other; no instance runs a replication
// consumer of its own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { SyncService } from '../../server/sync/service.js';
import { createStandaloneApp } from '../../server/sync/standalone-app.js';
import { booking } from './appointments-helpers.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { waitFor } from '../setup/sync.js';
import { createHttpServer } from '../../server/http/listen.js';

const SECRET = 'multi-instance-secret-123';
const SLOT = `multi_${process.pid}`;
const INSTANCE_SLOT = `multi_app_${process.pid}`;
let db: TestDatabase;
let fx: Fixture;
let service: SyncService;
let syncServer: http.Server;
let balancer: http.Server;
let balancerUrl: string;
const instances: RunningServer[] = [];
const served: string[] = [];

function listenLocal(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

/** Round robin over the instances, one request each in turn; records who served what. */
function roundRobin(targets: () => string[]): http.Server {
  let next = 0;
  const agent = new http.Agent({ keepAlive: true });
  return http.createServer((req, res) => {
    const list = targets();
    const target = new URL(list[next++ % list.length]!);
    served.push(target.port);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  // The one sync service of the deployment (npm run sync-service).
  service = new SyncService({
    pool: db.pool,
    databaseUrl: db.url,
    slotName: SLOT,
    publication: 'clinic_sync',
    logger: createLogger('silent'),
    longPollMs: 2000,
  });
  await service.start();
  syncServer = createHttpServer(createStandaloneApp(service, { secret: SECRET, logger: createLogger('silent') }));
  const syncUrl = await listenLocal(syncServer);
  await waitFor(() => service.streaming, 20_000, 'replication');

  balancer = roundRobin(() => instances.map((i) => i.url));
  balancerUrl = await listenLocal(balancer);
  for (let i = 0; i < 2; i++) {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: '0',
      DATABASE_URL: db.url,
      PUBLIC_ORIGIN: balancerUrl,
      SEED_DEMO: 'false',
      SYNC_UPSTREAM_URL: syncUrl,
      SYNC_SECRET: SECRET,
      SYNC_SLOT_NAME: INSTANCE_SLOT,
      RATE_LIMIT_STORE: 'postgres',
      RATE_LIMIT_LOGIN_FAILURES: '3',
    });
    instances.push(await startServer(config, createLogger('silent'), { buildIfMissing: false }));
  }
});

afterAll(async () => {
  for (const i of instances) await i.stop();
  balancer?.closeAllConnections();
  await new Promise((r) => balancer?.close(r));
  syncServer?.closeAllConnections();
  await new Promise((r) => syncServer?.close(r));
  await service?.stop();
  await db?.pool
    .query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [
      SLOT,
    ])
    .catch(() => {});
  await db?.drop();
});

describe('two app instances behind a round-robin balancer', () => {
  it('keeps a session whichever instance answers', async () => {
    const client = new ApiClient(balancerUrl, balancerUrl);
    const before = served.length;
    await client.login(fx.users.receptionist.email, TEST_PASSWORD);
    for (let i = 0; i < 4; i++) {
      const res = await client.get('/api/auth/session');
      expect(res.body.user?.email).toBe(fx.users.receptionist.email);
    }
    // Both instances took part.
    expect(new Set(served.slice(before)).size).toBe(2);
  });

  it('counts failed logins across instances (RATE_LIMIT_STORE=postgres)', async () => {
    const client = new ApiClient(balancerUrl, balancerUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await client.post('/api/auth/login', { email: fx.users.admin.email, password: 'wrong password' })).status,
      );
    }
    // Three failures allowed per account + IP in all; the fourth is refused wherever it lands.
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('answers a replayed write from the other instance without writing twice', async () => {
    const client = new ApiClient(balancerUrl, balancerUrl);
    await client.login(fx.users.receptionist.email, TEST_PASSWORD);
    const body = booking(fx, { starts_at: '2030-01-07T10:00:00.000Z' });
    const first = await client.post('/api/appointments', body);
    const replay = await client.post('/api/appointments', body);
    // The two answers came from different instances.
    expect(served.at(-1)).not.toBe(served.at(-2));
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM appointments WHERE id = $1', [body.id]);
    expect(rows[0].n).toBe(1);
  });

  it('brings a booking made through one instance to a device connected through the other', async () => {
    const [a, b] = instances;
    const device = new ApiClient(b!.url, balancerUrl);
    await device.login(fx.users.receptionist.email, TEST_PASSWORD);
    const first = await device.get('/v1/shape?table=appointments&offset=-1');
    expect(first.status).toBe(200);
    let handle = first.headers.get('electric-handle')!;
    let offset = first.headers.get('electric-offset')!;
    // Catch up to live.
    for (
      let i = 0;
      i < 10 &&
      !(await device.get(`/v1/shape?table=appointments&handle=${handle}&offset=${offset}`)).headers.get(
        'electric-up-to-date',
      );
      i++
    );
    const up = await device.get(`/v1/shape?table=appointments&handle=${handle}&offset=${offset}`);
    offset = up.headers.get('electric-offset') ?? offset;
    handle = up.headers.get('electric-handle') ?? handle;

    const live = device.get(`/v1/shape?table=appointments&handle=${handle}&offset=${offset}&live=true`);
    const booker = new ApiClient(a!.url, balancerUrl);
    await booker.login(fx.users.receptionist.email, TEST_PASSWORD);
    const made = booking(fx, { starts_at: '2030-01-07T11:00:00.000Z' });
    expect((await booker.post('/api/appointments', made)).status).toBe(201);
    let seen = JSON.stringify((await live).body);
    for (let i = 0; i < 5 && !seen.includes(made.id); i++) {
      const again = await device.get(`/v1/shape?table=appointments&handle=${handle}&offset=${offset}&live=true`);
      seen = JSON.stringify(again.body);
    }
    expect(seen).toContain(made.id);
  });

  it('runs no replication consumer in the app instances: the sync service owns the one slot', async () => {
    const { rows } = await db.pool.query<{ slot_name: string; active: boolean }>(
      `SELECT slot_name, active FROM pg_replication_slots WHERE slot_name IN ($1, $2)`,
      [SLOT, INSTANCE_SLOT],
    );
    expect(rows).toEqual([{ slot_name: SLOT, active: true }]);
  });
});
