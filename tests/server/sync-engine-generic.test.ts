// The sync engine on its own, with no clinic module: a throwaway table, an access policy of
// the test's own (a caller header, each caller sees their rows without one hidden column),
// synced by the official client. Shows what the engine takes in: tables, authorization,
// audit, caching and per-table holds.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Shape, ShapeStream, type Row } from '@electric-sql/client';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorHandler } from '../../server/http/error-handler.js';
import { createLogger } from '../../server/logger.js';
import type { ShapeAccess } from '../../server/sync/access.js';
import { createSyncEngine, type SyncEngine } from '../../server/sync/engine.js';
import { bindParams } from '../../server/sync/shape-def.js';
import { checkColumns, ShapeRequestError } from '../../server/sync/shape-request.js';
import { parseWhere } from '../../server/sync/where-parser.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { waitFor } from '../setup/sync.js';
import { createHttpServer } from '../../server/http/listen.js';

let db: TestDatabase;
let engine: SyncEngine;
let server: http.Server;
let url: string;
const audited: Array<{ owner: string; first: boolean; messages: number | undefined }> = [];

/** Callers name themselves in a header; each gets their own parcels, never `note`. */
const access: ShapeAccess = {
  reader: (req, res, next) => {
    if (!req.get('x-owner')) return void res.status(401).json({ message: 'Say who you are.' });
    next();
  },
  admin: (_req, res) => void res.status(403).json({ message: 'Nobody drops shapes here.' }),
  authorize(req, r, info) {
    if (r.client.where) throw new ShapeRequestError(403, 'where', 'Filters are not allowed here.');
    const owner = req.get('x-owner')!;
    const allowed = info.columns.map((c) => c.name).filter((c) => c !== 'note');
    return {
      schema: info.schema,
      table: info.name,
      where: bindParams(parseWhere('owner = $1'), { '1': owner }),
      whereText: 'owner = $1',
      params: { '1': owner },
      columns: checkColumns(info, allowed, r.client.columns),
      replica: r.client.replica,
      scope: `owner ${owner}`,
    };
  },
  cache: () => 'no-store',
  auditor: (req, _def, r) => async (answer) => {
    audited.push({ owner: req.get('x-owner')!, first: r.offset.lsn < 0n, messages: answer?.messages });
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`CREATE TABLE parcels (id int PRIMARY KEY, owner text NOT NULL, label text, note text)`);
  await db.pool.query(`CREATE TABLE ledger (id int PRIMARY KEY)`);
  await db.pool.query(`ALTER TABLE parcels REPLICA IDENTITY FULL`);
  await db.pool.query(`CREATE PUBLICATION engine_generic FOR TABLE parcels`);
  await db.pool.query(
    `INSERT INTO parcels VALUES (1, 'alice', 'books', 'fragile'), (2, 'bob', 'lamp', NULL), (3, 'alice', 'chair', NULL)`,
  );
  engine = createSyncEngine({
    pool: db.pool,
    databaseUrl: db.url,
    slotName: 'engine_generic_test',
    publication: 'engine_generic',
    logger: createLogger('silent'),
    longPollMs: 1000,
    holdMs: ({ table }) => (table === 'parcels' ? 400 : 5000),
    tables: ['public.parcels'],
    access,
  });
  await engine.start();
  const app = express();
  app.use('/v1', engine.router);
  app.use(createErrorHandler(() => {}));
  server = createHttpServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  expect(await engine.waitUntilStreaming(20_000)).toBe(true);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await engine?.stop();
  await db?.drop();
});

const get = (path: string, owner?: string) => fetch(url + path, { headers: owner ? { 'x-owner': owner } : {} });

describe('the sync engine without the clinic', () => {
  it('refuses as its access policy says', async () => {
    const anonymous = await get('/v1/shape?table=parcels&offset=-1');
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ message: 'Say who you are.' });
    const unlisted = await get('/v1/shape?table=ledger&offset=-1', 'alice');
    expect(unlisted.status).toBe(403);
    expect((await unlisted.json()).error.message).toBe('You may not sync public.ledger.');
    const missing = await get('/v1/shape?table=nowhere&offset=-1', 'alice');
    expect(missing.status).toBe(400);
    expect((await missing.json()).errors.table).toBeDefined();
    const filtered = await get(`/v1/shape?table=parcels&offset=-1&where=${encodeURIComponent("label = 'x'")}`, 'alice');
    expect(filtered.status).toBe(403);
    expect((await filtered.json()).error.message).toBe('Filters are not allowed here.');
    const hidden = await get('/v1/shape?table=parcels&offset=-1&columns=id,note', 'alice');
    expect(hidden.status).toBe(403);
    expect(
      (await fetch(`${url}/v1/shape?table=parcels`, { method: 'DELETE', headers: { 'x-owner': 'a' } })).status,
    ).toBe(403);
  });

  it('syncs each caller their own rows with the official client, audited and uncached', async () => {
    const first = await get('/v1/shape?table=parcels&offset=-1', 'alice');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    await first.text();

    const stream = new ShapeStream<Row>({
      url: `${url}/v1/shape`,
      params: { table: 'parcels' },
      headers: { 'x-owner': 'alice' },
    });
    const shape = new Shape(stream);
    const rows = await shape.rows;
    expect(rows.map((r) => r.id).sort()).toEqual([1, 3]);
    expect(rows.find((r) => r.id === 1)).toEqual({ id: 1, owner: 'alice', label: 'books' });

    await db.pool.query(`INSERT INTO parcels VALUES (4, 'alice', 'desk', 'heavy'), (5, 'bob', 'rug', NULL)`);
    await db.pool.query(`UPDATE parcels SET owner = 'alice' WHERE id = 2`); // moves in
    await db.pool.query(`UPDATE parcels SET owner = 'carol' WHERE id = 3`); // moves out
    await waitFor(
      () => shape.currentRows.some((r) => r.id === 2) && !shape.currentRows.some((r) => r.id === 3),
      15_000,
      'changes',
    );
    expect(shape.currentRows.map((r) => r.id).sort()).toEqual([1, 2, 4]);
    expect(shape.currentRows.find((r) => r.id === 4)).toEqual({ id: 4, owner: 'alice', label: 'desk' });
    stream.unsubscribeAll();

    const alice = audited.filter((a) => a.owner === 'alice');
    expect(alice.some((a) => a.first && a.messages! >= 2)).toBe(true);
    expect(alice.some((a) => !a.first && a.messages! >= 1)).toBe(true);
  });

  it('reports its shapes and holds live requests per table as told', async () => {
    const reports = engine.status();
    const mine = reports.find((r) => r.scope === 'owner alice · owner = $1');
    expect(mine).toMatchObject({ table: 'parcels' });
    const state = engine.service.registry.byHandle.get(mine!.handle)!;
    expect(engine.service.holdMs(state)).toBe(400);
  });
});
