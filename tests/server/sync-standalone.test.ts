// Standalone mode (Electric's HTTP API for any table, behind SYNC_SECRET) with the official
// 1.5 client: exact values of many types, where/params, moves in and out, a primary-key
// change; and the app's proxy mode (SYNC_UPSTREAM_URL) in front of it on another port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Shape, ShapeStream, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { SyncService } from '../../server/sync/service.js';
import { createStandaloneApp } from '../../server/sync/standalone-app.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';
import { shapeOf } from '../setup/shape-clients.js';
import { waitFor } from '../setup/sync.js';

const SECRET = 'standalone-test-secret-123';
let db: TestDatabase;
let fx: Fixture;
let service: SyncService;
let standalone: http.Server;
let standaloneUrl: string;
let proxy: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  await db.pool.query(
    `CREATE TABLE "Odd Items" (id int8 PRIMARY KEY, n numeric, at timestamptz, flag bool, tags text[], note text, score float8)`,
  );
  await db.pool
    .query(`INSERT INTO "Odd Items" VALUES (9007199254740993, 12.50, '2030-05-06 07:08:09.123456+00', true, '{a,"b c",NULL}', 'héllo ✓', 1.5),
    (2, 0.5, NULL, false, '{}', NULL, NULL)`);
  service = new SyncService({
    pool: db.pool,
    databaseUrl: db.url,
    slotName: 'sync_standalone_test',
    publication: 'clinic_sync',
    logger: createLogger('silent'),
    longPollMs: 1000,
  });
  await service.start();
  standalone = http.createServer(createStandaloneApp(service, { secret: SECRET, logger: createLogger('silent') }));
  await new Promise<void>((r) => standalone.listen(0, '127.0.0.1', r));
  standaloneUrl = `http://127.0.0.1:${(standalone.address() as AddressInfo).port}`;
  await waitFor(() => service.streaming, 20_000, 'replication');
  proxy = await startTestServer(db, { SYNC_UPSTREAM_URL: standaloneUrl, SYNC_SECRET: SECRET });
});

afterAll(async () => {
  await proxy?.close();
  standalone?.closeAllConnections();
  await new Promise((r) => standalone?.close(r));
  await service?.stop();
  await db?.drop();
});

describe('standalone sync service', () => {
  it('refuses requests without the secret', async () => {
    expect((await fetch(`${standaloneUrl}/v1/shape?table=doctors&offset=-1`)).status).toBe(401);
    expect((await fetch(`${standaloneUrl}/v1/health`)).status).toBe(200);
  });

  it('serves any table with exact values, where + params, moves and key changes', async () => {
    const stream = new ShapeStream<Row>({
      url: `${standaloneUrl}/v1/shape`,
      params: { table: '"Odd Items"', secret: SECRET, where: 'n > $1 OR note IS NULL', params: ['1'] } as never,
    });
    const shape = new Shape(stream);
    const rows = await shape.rows;
    const big = rows.find((r) => r.id === 9007199254740993n)!;
    expect(big).toEqual({
      id: 9007199254740993n,
      n: '12.50',
      at: '2030-05-06 07:08:09.123456+00',
      flag: true,
      tags: ['a', 'b c', null],
      note: 'héllo ✓',
      score: 1.5,
    });
    expect(rows.find((r) => r.id === 2n)!.note).toBeNull();

    await db.pool.query(`UPDATE "Odd Items" SET note = 'now set' WHERE id = 2`); // moves out (n = 0.5)
    await db.pool.query(`INSERT INTO "Odd Items" (id, n, flag) VALUES (3, 0.1, true)`); // outside
    await db.pool.query(`UPDATE "Odd Items" SET n = 5 WHERE id = 3`); // moves in
    await db.pool.query(`UPDATE "Odd Items" SET id = 4 WHERE id = 3`); // key change
    await db.pool.query(`UPDATE "Odd Items" SET flag = false, tags = '{{1,2},{3,4}}' WHERE id = 9007199254740993`);
    await waitFor(
      () =>
        shape.currentRows.some((r) => r.id === 4n) &&
        shape.currentRows.find((r) => r.id === 9007199254740993n)?.flag === false,
      10_000,
      'changes',
    );
    const ids = shape.currentRows.map((r) => r.id).sort();
    expect(ids).toEqual([4n, 9007199254740993n]);
    expect(shape.currentRows.find((r) => r.id === 4n)).toMatchObject({ n: '5', flag: true });
    expect(shape.currentRows.find((r) => r.id === 9007199254740993n)!.tags).toEqual(
      [
        [1, 2],
        [3, 4],
      ].map((a) => a.map(String)),
    );
    stream.unsubscribeAll();
  });
});

describe('proxy mode (SYNC_UPSTREAM_URL) in front of the standalone service', () => {
  it('adds the role’s where and columns on the server side', async () => {
    const api = new ApiClient(proxy.url);
    await api.login(fx.users.receptionist.email, TEST_PASSWORD);
    const { stream, shape } = shapeOf(proxy.url, api.cookie, { table: 'appointments' });
    await shape.rows;
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, clinical_notes)
       VALUES ($1, $2, $3, '2031-03-03 10:00+00', '2031-03-03 10:30+00', 30, 'hidden')`,
      [id, fx.patients[0], fx.doctorA],
    );
    await waitFor(() => shape.currentRows.some((r) => r.id === id), 10_000, 'proxied live insert');
    expect(shape.currentRows.every((r) => !('clinical_notes' in r))).toBe(true);
    const direct = await fetch(`${proxy.url}/v1/shape?table=appointments&offset=-1`, {
      headers: { cookie: api.cookie },
    });
    expect(direct.headers.get('vary')).toMatch(/cookie/i);
    expect(direct.headers.get('content-encoding')).toBeNull();
    stream.unsubscribeAll();
  });
});
