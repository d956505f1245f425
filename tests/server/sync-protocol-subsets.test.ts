// The newer parts of the shape protocol with the official client 1.5, against the app's
// /v1/shape (session cookie), the standalone service (secret) and the app in proxy mode in
// front of it (SYNC_UPSTREAM_URL): offset=now, log=changes_only with requestSnapshot,
// fetchSnapshot over GET and POST with the snapshot's xmin/xmax/xip, live server-sent events.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Shape, ShapeStream, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { SyncService } from '../../server/sync/service.js';
import { createStandaloneApp } from '../../server/sync/standalone-app.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';
import { createHttpServer } from '../../server/http/listen.js';

const SECRET = 'subset-protocol-secret-1234';
let db: TestDatabase;
let fx: Fixture;
let app: SyncTestServer;
let standaloneService: SyncService;
let standalone: http.Server;
let standaloneUrl: string;
let adminCookie: string;
let proxy: TestServer;
let proxyCookie: string;

const withCookie = (cookie: () => string) => (): typeof fetch => (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('cookie', cookie());
  headers.set('origin', 'http://clinic.test');
  return fetch(input, { ...init, headers });
};

interface Target {
  name: string;
  url(): string;
  params(): Record<string, string>;
  fetchClient(): typeof fetch;
}

const targets: Target[] = [
  {
    name: "the app's /v1/shape",
    url: () => `${app.url}/v1/shape`,
    params: () => ({ table: 'doctors' }),
    fetchClient: withCookie(() => adminCookie),
  },
  {
    name: 'npm run sync-service',
    url: () => `${standaloneUrl}/v1/shape`,
    params: () => ({ table: 'doctors', secret: SECRET }),
    fetchClient: () => fetch,
  },
  {
    name: 'the app in proxy mode in front of the sync service',
    url: () => `${proxy.url}/v1/shape`,
    params: () => ({ table: 'doctors' }),
    fetchClient: withCookie(() => proxyCookie),
  },
];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  await db.pool.query(
    `INSERT INTO doctors (full_name) SELECT 'Dr. Subset ' || lpad(i::text, 2, '0') FROM generate_series(1, 30) i`,
  );
  app = await startSyncTestServer(db, 'sync_subsets_app');
  const c = new ApiClient(app.url);
  await c.login(fx.users.admin.email, TEST_PASSWORD);
  adminCookie = c.cookie;
  standaloneService = new SyncService({
    pool: db.pool,
    databaseUrl: db.url,
    slotName: 'sync_subsets_standalone',
    publication: 'clinic_sync',
    logger: createLogger('silent'),
    longPollMs: 1000,
  });
  await standaloneService.start();
  standalone = createHttpServer(
    createStandaloneApp(standaloneService, { secret: SECRET, logger: createLogger('silent') }),
  );
  await new Promise<void>((r) => standalone.listen(0, '127.0.0.1', r));
  standaloneUrl = `http://127.0.0.1:${(standalone.address() as AddressInfo).port}`;
  await waitFor(() => standaloneService.streaming, 20_000, 'standalone replication');
  proxy = await startTestServer(db, { SYNC_UPSTREAM_URL: standaloneUrl, SYNC_SECRET: SECRET });
  const p = new ApiClient(proxy.url);
  await p.login(fx.users.admin.email, TEST_PASSWORD);
  proxyCookie = p.cookie;
});

afterAll(async () => {
  await proxy?.close();
  standalone?.closeAllConnections();
  await new Promise((r) => standalone?.close(r));
  await standaloneService?.stop();
  await app?.close();
  await db?.drop();
});

let renames = 0;

describe.each(targets)('protocol with @electric-sql/client 1.5 against $name', (t) => {
  it('offset=now: no rows at first, then only what changes', async () => {
    // "Now" is where this shape's log has got to: changes of earlier tests still in flight
    // would legitimately come after it. Start once a marker committed now is in that log,
    // as a client reading the shape from the start sees it.
    const { rows: marker } = await db.pool.query(
      `INSERT INTO doctors (full_name) VALUES ('Dr. A marker ${++renames}') RETURNING id`,
    );
    const reader = new Shape(
      new ShapeStream<Row>({ url: t.url(), params: t.params() as never, fetchClient: t.fetchClient() }),
    );
    await waitFor(() => reader.currentRows.some((r) => r.id === marker[0].id), 20_000, 'the marker in the shape');
    reader.stream.unsubscribeAll();
    const stream = new ShapeStream<Row>({
      url: t.url(),
      params: t.params() as never,
      offset: 'now',
      fetchClient: t.fetchClient(),
    });
    const shape = new Shape(stream);
    expect(await shape.rows).toEqual([]);
    const { rows } = await db.pool.query(
      `INSERT INTO doctors (full_name) VALUES ('Dr. Now ${++renames}') RETURNING id`,
    );
    await waitFor(() => shape.currentRows.some((r) => r.id === rows[0].id), 10_000, 'the new row');
    expect(shape.currentRows).toHaveLength(1);
    stream.unsubscribeAll();
  });

  it('log=changes_only with requestSnapshot: subset rows merged with the stream', async () => {
    const stream = new ShapeStream<Row>({
      url: t.url(),
      params: t.params() as never,
      log: 'changes_only',
      fetchClient: t.fetchClient(),
    });
    const shape = new Shape(stream);
    expect(await shape.rows).toEqual([]);
    await shape.requestSnapshot({
      where: `full_name LIKE $1`,
      params: { '1': 'Dr. Subset 0%' },
      orderBy: 'full_name DESC',
      limit: 5,
    });
    const names = shape.currentRows.map((r) => r.full_name).sort();
    expect(names).toEqual(['Dr. Subset 05', 'Dr. Subset 06', 'Dr. Subset 07', 'Dr. Subset 08', 'Dr. Subset 09']);
    // A live change to a row it holds arrives.
    const marker = `Dr. Subset 09 (renamed ${++renames})`;
    await db.pool.query(`UPDATE doctors SET full_name = $1 WHERE full_name = 'Dr. Subset 09'`, [marker]);
    await waitFor(() => shape.currentRows.some((r) => r.full_name === marker), 10_000, 'the renamed row');
    await db.pool.query(`UPDATE doctors SET full_name = 'Dr. Subset 09' WHERE full_name = $1`, [marker]);
    stream.unsubscribeAll();
  });

  it.each(['GET', 'POST'] as const)(
    'fetchSnapshot over %s: rows as SQL orders them, with xmin/xmax/xip',
    async (method) => {
      const stream = new ShapeStream<Row>({
        url: t.url(),
        params: t.params() as never,
        log: 'changes_only',
        fetchClient: t.fetchClient(),
      });
      const { metadata, data } = await stream.fetchSnapshot({
        where: `full_name >= $1`,
        params: { '1': 'Dr. Subset 2' },
        orderBy: 'full_name ASC',
        limit: 4,
        offset: 2,
        method,
      });
      const expected = await db.pool.query(
        `SELECT full_name FROM doctors WHERE full_name >= 'Dr. Subset 2' ORDER BY full_name COLLATE "C" LIMIT 4 OFFSET 2`,
      );
      expect(data.map((m) => (m as { value: Row }).value.full_name)).toEqual(expected.rows.map((r) => r.full_name));
      expect(BigInt(metadata.xmin as string)).toBeLessThanOrEqual(BigInt(metadata.xmax as string));
      expect(Array.isArray(metadata.xip_list)).toBe(true);
      stream.unsubscribeAll();
    },
  );

  it('answers bad subsets with 400 naming the field', async () => {
    const base = `${t.url()}?${new URLSearchParams({ ...t.params(), offset: '-1', log: 'changes_only' })}`;
    const f = t.fetchClient();
    const bad = await f(`${base}&subset__order_by=${encodeURIComponent('full_name; DROP TABLE doctors')}`);
    expect(bad.status).toBe(400);
    expect(Object.keys(((await bad.json()) as { errors: object }).errors)).toEqual(['subset__order_by']);
    const limit = await f(`${base}&subset__limit=-3`);
    expect(limit.status).toBe(400);
    const post = await f(base, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"where":"nope = 1"}',
    });
    expect(post.status).toBe(400);
  });
});

describe.each(targets)('live over server-sent events against $name', (t) => {
  it('liveSse: every change arrives once, in order, over held event streams', async () => {
    const types: string[] = [];
    const inner = t.fetchClient();
    const stream = new ShapeStream<Row>({
      url: t.url(),
      params: t.params() as never,
      liveSse: true,
      fetchClient: async (input, init) => {
        const res = await inner(input, init);
        types.push(res.headers.get('content-type') ?? '');
        return res;
      },
    });
    const shape = new Shape(stream);
    const initial = (await shape.rows).length;
    const seen: string[] = [];
    stream.subscribe((messages) => {
      for (const m of messages)
        if ('key' in m && m.headers.operation === 'insert') seen.push(String(m.value.full_name));
    });
    const names: string[] = [];
    for (let i = 0; i < 6; i++) {
      const name = `Dr. Sse ${++renames}`;
      names.push(name);
      // Two rows per transaction: a resumed stream must not resend the second.
      await db.pool.query(`INSERT INTO doctors (full_name) VALUES ($1), ($2)`, [name, `${name} bis`]);
      if (i % 2) await new Promise((r) => setTimeout(r, 1200));
    }
    const expected = names.flatMap((n) => [n, `${n} bis`]);
    await waitFor(() => expected.every((n) => shape.currentRows.some((r) => r.full_name === n)), 20_000, 'sse rows');
    expect(shape.currentRows).toHaveLength(initial + expected.length);
    // Let a reconnect happen (the hold is 1–2 s) and check nothing came twice.
    await new Promise((r) => setTimeout(r, 2500));
    expect(seen.filter((n) => expected.includes(n))).toEqual(expected);
    expect(types.filter((c) => c.startsWith('text/event-stream')).length).toBeGreaterThan(1);
    stream.unsubscribeAll();
  });
});
