// The shape router against the real replication stream: two sync services follow the same
// database, one routing each change to the shapes it can affect, one converting every change
// for every shape (router bypass). Thirty `owner = …` shapes plus shapes indexed on other
// columns and shapes that cannot be indexed see random inserts, updates moving rows between
// owners, key changes and deletes. Every shape's log must be the same in both services, and
// every shape read from scratch by the official client must equal its rows in SQL.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Shape, ShapeStream, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { SyncService } from '../../server/sync/service.js';
import { buildOpenShape } from '../../server/sync/shape-request.js';
import type { ShapeState } from '../../server/sync/shape-registry.js';
import { createStandaloneApp } from '../../server/sync/standalone-app.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { waitFor } from '../setup/sync.js';
import { createHttpServer } from '../../server/http/listen.js';

const SECRET = 'routing-test-secret-123';
const TRANSACTIONS = 150;
const OWNERS = Array.from({ length: 30 }, () => randomUUID());

const WHERES: Array<string | undefined> = [
  ...OWNERS.map((o) => `owner = '${o}'`),
  `grp = '007'`,
  `grp IN (1, 2, 3)`,
  `owner IN ('${OWNERS[0]}', '${OWNERS[1]}') AND flag = true`,
  `tag = 'b' AND grp > 2`,
  `flag = 'yes'`,
  // Not indexable: the always list.
  `grp > 5`,
  `owner = '${OWNERS[2]}' OR grp = 1`,
  `tag LIKE 'a%'`,
  undefined,
];

let db: TestDatabase;
let routed: SyncService;
let plain: SyncService;
let standalone: http.Server;
let url: string;

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const newService = (slotName: string) =>
  new SyncService({
    pool: db.pool,
    databaseUrl: db.url,
    slotName,
    publication: 'clinic_sync',
    logger: createLogger('silent'),
    longPollMs: 1000,
  });

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`CREATE TABLE routing_items (id int8 PRIMARY KEY, owner uuid, grp int4, flag bool, tag text);
    ALTER TABLE routing_items REPLICA IDENTITY FULL;
    ALTER PUBLICATION clinic_sync ADD TABLE routing_items`);
  routed = newService('sync_routing_test_routed');
  plain = newService('sync_routing_test_plain');
  plain.registry.router.bypass = true;
  await routed.start();
  await plain.start();
  standalone = createHttpServer(createStandaloneApp(routed, { secret: SECRET, logger: createLogger('silent') }));
  await new Promise<void>((r) => standalone.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(standalone.address() as AddressInfo).port}`;
  await waitFor(() => routed.streaming && plain.streaming, 20_000, 'replication');
});

afterAll(async () => {
  standalone?.closeAllConnections();
  await new Promise((r) => standalone?.close(r));
  await routed?.stop();
  await plain?.stop();
  await db?.drop();
});

async function shapesOf(service: SyncService): Promise<ShapeState[]> {
  const info = (await service.tableInfo('public', 'routing_items'))!;
  const states = [];
  for (const where of WHERES) {
    const def = buildOpenShape(info, { where, params: {}, replica: 'default' });
    const state = await service.shapeFor(def, info);
    await state.ready;
    states.push(state);
  }
  return states;
}

let nextId = 1;
async function randomTransaction(rand: () => number) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const owner = () => pick([...OWNERS, null]);
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    const ops = 1 + Math.floor(rand() * 3);
    for (let i = 0; i < ops; i++) {
      const ids = (await client.query('SELECT id FROM routing_items ORDER BY id')).rows.map((r) => r.id as string);
      const kind =
        ids.length < 5 ? 'insert' : pick(['insert', 'insert', 'owner', 'grp', 'other', 'delete', 'key', 'bulk']);
      const id = ids.length ? pick(ids) : '0';
      if (kind === 'insert')
        await client.query('INSERT INTO routing_items VALUES ($1, $2, $3, $4, $5)', [
          nextId++,
          owner(),
          pick([0, 1, 2, 3, 7, 9, null]),
          pick([true, false, null]),
          pick(['a', 'ab', 'b', null]),
        ]);
      if (kind === 'owner') await client.query('UPDATE routing_items SET owner = $2 WHERE id = $1', [id, owner()]);
      if (kind === 'grp')
        await client.query('UPDATE routing_items SET grp = $2 WHERE id = $1', [id, pick([1, 3, 7, 8, null])]);
      if (kind === 'other')
        await client.query('UPDATE routing_items SET flag = NOT coalesce(flag, false), tag = $2 WHERE id = $1', [
          id,
          pick(['a', 'b', 'c']),
        ]);
      if (kind === 'delete') await client.query('DELETE FROM routing_items WHERE id = $1', [id]);
      if (kind === 'key') await client.query('UPDATE routing_items SET id = $2 WHERE id = $1', [id, nextId++]);
      if (kind === 'bulk') await client.query('UPDATE routing_items SET grp = grp + 1 WHERE owner = $1', [owner()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

const logOf = async (s: ShapeState) =>
  (
    await db.pool.query(
      `SELECT lsn::text, op, body FROM sync_shape_log WHERE shape_id = $1 AND lsn > 0 ORDER BY lsn, op`,
      [s.id],
    )
  ).rows;

it('gives every shape the same log with the routing index as without it, equal to SQL', async () => {
  const rand = rng(7);
  for (let i = 0; i < 40; i++) await randomTransaction(rand); // rows the snapshots start from
  const routedShapes = await shapesOf(routed);
  const plainShapes = await shapesOf(plain);

  // The index is in use: an insert for one owner reaches that owner's shape, not the 29 others.
  const reach = routed.registry.router.forTransaction({
    xid: 0,
    lsn: 0n,
    endLsn: 0n,
    truncated: [],
    changes: [
      {
        kind: 'insert',
        schema: 'public',
        table: 'routing_items',
        old: null,
        new: { id: '0', owner: OWNERS[5]!, grp: '0', flag: 'f', tag: 'c' },
      },
    ],
  });
  expect(routedShapes.filter((s) => reach.has(s)).map((s) => WHERES[routedShapes.indexOf(s)])).toEqual([
    `owner = '${OWNERS[5]}'`,
    `grp > 5`,
    `owner = '${OWNERS[2]}' OR grp = 1`,
    `tag LIKE 'a%'`,
    undefined,
  ]);

  for (let i = 0; i < TRANSACTIONS; i++) await randomTransaction(rand);
  const { rows } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  const [hi, lo] = rows[0]!.lsn.split('/').map((h) => BigInt(`0x${h}`));
  const written = (hi! << 32n) + lo!;
  await randomTransaction(rand); // its commit lies after every write above
  await waitFor(() => routed.processedLsn > written && plain.processedLsn > written, 30_000, 'both services');

  let entries = 0;
  for (let i = 0; i < WHERES.length; i++) {
    const mine = await logOf(routedShapes[i]!);
    expect(mine, String(WHERES[i])).toEqual(await logOf(plainShapes[i]!));
    entries += mine.length;
  }
  expect(entries).toBeGreaterThan(TRANSACTIONS);

  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  for (const where of WHERES) {
    const stream = new ShapeStream<Row>({
      url: `${url}/v1/shape`,
      params: { table: 'routing_items', secret: SECRET, ...(where ? { where } : {}) } as never,
    });
    const synced = (await new Shape(stream).rows)
      .map((r) => JSON.stringify([r.id, r.owner, r.grp, r.flag, r.tag].map(text)))
      .sort();
    stream.unsubscribeAll();
    const sql = await db.pool.query(
      `SELECT id::text, owner::text, grp::text, flag::text, tag FROM routing_items ${where ? `WHERE ${where}` : ''}`,
    );
    const want = sql.rows.map((r) => JSON.stringify([r.id, r.owner, r.grp, r.flag, r.tag])).sort();
    expect(synced, String(where)).toEqual(want);
  }
  // The client read the very logs compared above, not shapes of its own.
  expect(routed.registry.all().length).toBe(WHERES.length);
}, 180_000);
