// The standalone service under requests that raced or outlived their table: concurrent first
// requests for a new table, a dropped table, DROP + CREATE of the same name, and snapshots and
// batches racing DELETE /v1/shape. Each must answer 200/400/409, never 500, and log no error.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { SyncService } from '../../server/sync/service.js';
import { createStandaloneApp } from '../../server/sync/standalone-app.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { waitFor } from '../setup/sync.js';
import { createHttpServer } from '../../server/http/listen.js';

const SECRET = 'standalone-races-secret-123';
let db: TestDatabase;
let service: SyncService;
let standalone: http.Server;
let url: string;
const logged: Array<{ level: number; msg: string; err?: { message?: string } }> = [];

async function get(query: string) {
  const res = await fetch(`${url}/v1/shape?secret=${SECRET}&${query}`);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const logger = createLogger('warn', {
    write: (line: string) => void logged.push(JSON.parse(line)),
  });
  service = new SyncService({
    pool: db.pool,
    databaseUrl: db.url,
    slotName: 'sync_standalone_races_test',
    publication: 'clinic_sync',
    logger,
    longPollMs: 1000,
  });
  await service.start();
  standalone = createHttpServer(createStandaloneApp(service, { secret: SECRET, logger }));
  await new Promise<void>((r) => standalone.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(standalone.address() as AddressInfo).port}`;
  await waitFor(() => service.streaming, 20_000, 'replication');
});

afterAll(async () => {
  standalone?.closeAllConnections();
  await new Promise((r) => standalone?.close(r));
  await service?.stop();
  await db?.drop();
});

const errorsLogged = () => logged.filter((l) => l.level >= 50);

describe('standalone races', () => {
  it('concurrent first requests for a new table: all 200, one handle', async () => {
    await db.pool.query(`CREATE TABLE race_new (id int PRIMARY KEY, v text)`);
    await db.pool.query(`INSERT INTO race_new SELECT i, 'v' || i FROM generate_series(1, 50) i`);
    const answers = await Promise.all(Array.from({ length: 8 }, () => get('table=race_new&offset=-1')));
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.headers.get('electric-handle'))).size).toBe(1);
    // Different definitions on another new table at once: each its own single handle.
    await db.pool.query(`CREATE TABLE race_new2 (id int PRIMARY KEY, v text)`);
    const mixed = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        get(`table=race_new2&offset=-1&where=${encodeURIComponent(`id > ${i % 2}`)}`),
      ),
    );
    expect(mixed.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(mixed.map((a) => a.headers.get('electric-handle'))).size).toBe(2);
    expect(errorsLogged()).toEqual([]);
  });

  it('a dropped table answers 400 (fresh) and 400/409 (old handle), not 500', async () => {
    await db.pool.query(`CREATE TABLE race_dropped (id int PRIMARY KEY, v text)`);
    await db.pool.query(`INSERT INTO race_dropped VALUES (1, 'one')`);
    const first = await get('table=race_dropped&offset=-1');
    expect(first.status).toBe(200);
    const handle = first.headers.get('electric-handle')!;
    await db.pool.query(`DROP TABLE race_dropped`);
    expect((await get('table=race_dropped&offset=-1')).status).toBe(400);
    expect([400, 409]).toContain((await get(`table=race_dropped&offset=0_0&handle=${handle}`)).status);
    expect(service.registry.byHandle.has(handle)).toBe(false);
    expect(errorsLogged()).toEqual([]);
  });

  it('DROP then CREATE of the same name serves the new table’s rows only', async () => {
    await db.pool.query(`CREATE TABLE race_again (id int PRIMARY KEY, v text)`);
    await db.pool.query(`INSERT INTO race_again VALUES (1, 'old table row')`);
    const first = await get('table=race_again&offset=-1');
    expect(first.text).toContain('old table row');
    const oldHandle = first.headers.get('electric-handle')!;
    await db.pool.query(`DROP TABLE race_again`);
    await db.pool.query(`CREATE TABLE race_again (id int PRIMARY KEY, v text, extra int)`);
    await db.pool.query(`INSERT INTO race_again VALUES (2, 'new table row', 7)`);
    const fresh = await get('table=race_again&offset=-1');
    expect(fresh.status).toBe(200);
    expect(fresh.text).toContain('new table row');
    expect(fresh.text).not.toContain('old table row');
    expect(fresh.headers.get('electric-handle')).not.toBe(oldHandle);
    expect(fresh.headers.get('electric-schema')).toContain('extra');
    expect((await get(`table=race_again&offset=0_0&handle=${oldHandle}`)).status).toBe(409);
    // Live changes of the new table arrive.
    const h = fresh.headers.get('electric-handle')!;
    let offset = fresh.headers.get('electric-offset')!;
    await db.pool.query(`INSERT INTO race_again VALUES (3, 'live row', 8)`);
    await waitFor(
      async () => {
        const r = await get(`table=race_again&offset=${offset}&handle=${h}`);
        offset = r.headers.get('electric-offset') ?? offset;
        return r.text.includes('live row');
      },
      10_000,
      'live row',
    );
    expect(errorsLogged()).toEqual([]);
  });

  it('snapshots and batches racing DELETE /v1/shape end in 200/409 with nothing logged', async () => {
    await db.pool.query(`CREATE TABLE race_delete (id int PRIMARY KEY, v text)`);
    await db.pool.query(`INSERT INTO race_delete SELECT i, repeat('x', 200) FROM generate_series(1, 3000) i`);
    expect((await get('table=race_delete&offset=-1')).status).toBe(200);
    let next = 10_000;
    const writer = (async () => {
      for (let i = 0; i < 40; i++) {
        await db.pool.query(`INSERT INTO race_delete VALUES ($1, 'w')`, [next++]);
        await db.pool.query(`UPDATE race_delete SET v = 'u' || $1 WHERE id = $1 - 9999`, [next]);
      }
    })();
    const statuses: number[] = [];
    for (let round = 0; round < 12; round++) {
      const reads = Array.from({ length: 3 }, (_, i) =>
        get(`table=race_delete&offset=-1&where=${encodeURIComponent(`id > ${i * 1000 + round}`)}`),
      );
      const del = fetch(`${url}/v1/shape?secret=${SECRET}&table=race_delete`, { method: 'DELETE' });
      for (const r of await Promise.all(reads)) statuses.push(r.status);
      expect((await del).status).toBe(202);
    }
    await writer;
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    // The stream keeps up afterwards: a fresh shape sees the last write.
    await waitFor(async () => {
      const r = await get(`table=race_delete&offset=-1&where=${encodeURIComponent(`id = ${next - 1}`)}`);
      return r.status === 200 && r.text.includes(`"${next - 1}"`);
    }, 10_000);
    expect(service.lastError).toBeNull();
    expect(errorsLogged()).toEqual([]);
  });
});
