// A batch's entries are stored by COPY in slices (store.ts LogWriter), in one transaction with
// the shapes' counters and the processed LSN. Bodies must come back byte for byte (COPY's text
// format gives a meaning to backslash, tab, newline and carriage return), a transaction larger
// than a slice must arrive whole and in order, and a failure in any slice must leave nothing
// stored: not the earlier slices, not the counters, not the LSN.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LogWriter, readLog, type ShapeAppend } from '../../server/sync/store.js';
import type { LogEntry } from '../../server/sync/convert.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';

const SLOT = 'writer_slot';
let db: TestDatabase;
let shapeA: number;
let shapeB: number;

async function newShape(handle: string): Promise<number> {
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO sync_shapes (handle, def_key, definition, slot_name, state)
     VALUES ($1, $1, '{}', $2, 'ready') RETURNING id`,
    [handle, SLOT],
  );
  return Number(rows[0]!.id);
}

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query('INSERT INTO sync_state (slot_name) VALUES ($1)', [SLOT]);
  shapeA = await newShape('writer-a');
  shapeB = await newShape('writer-b');
});
afterAll(() => db?.drop());

/** Values COPY's text format would misread unescaped, and JSON's own escapes. */
const AWKWARD = [
  'back\\slash',
  'tab\there',
  'new\nline',
  'cr\rhere',
  '\\N',
  '\\.',
  'quote "q"',
  'ß ü 🩺',
  '\u0000',
  '\\\\t',
];

function entries(lsn: bigint, count: number, tag: string): LogEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    lsn,
    op: 2 * i,
    body: JSON.stringify({ key: `${tag}/${i}`, value: { text: AWKWARD[i % AWKWARD.length]! + i }, headers: {} }),
  }));
}

const summary = (shapeId: number, list: LogEntry[]): ShapeAppend => ({
  shapeId,
  rows: list.length,
  bytes: list.reduce((n, e) => n + e.body.length, 0),
  lastLsn: list[list.length - 1]!.lsn,
  lastOp: list[list.length - 1]!.op,
});

async function readAll(shapeId: number) {
  const out: Array<{ lsn: bigint; op: number; body: string }> = [];
  let from = { lsn: -1n, op: 0 };
  for (;;) {
    const { entries: page } = await readLog(db.pool, shapeId, from, 1024 * 1024, false);
    if (!page.length) return out;
    out.push(...page);
    const last = page[page.length - 1]!;
    from = { lsn: last.lsn, op: last.op };
  }
}

it('stores a transaction larger than several slices whole, in order, bodies unchanged, with its counters and LSN', async () => {
  // 12,000 entries for one shape: three COPY slices of at most 5,000.
  const a = entries(1000n, 12_000, 'a');
  const b = entries(1000n, 3, 'b');
  const writer = await LogWriter.open(db.pool);
  try {
    await writer.append(shapeA, a);
    await writer.append(shapeB, b);
    await writer.commit(SLOT, [summary(shapeA, a), summary(shapeB, b)], [], 1000n);
  } finally {
    writer.release();
  }
  const storedA = await readAll(shapeA);
  expect(storedA.length).toBe(a.length);
  expect(storedA.map((e) => e.body)).toEqual(a.map((e) => e.body));
  expect(storedA.map((e) => e.op)).toEqual(a.map((e) => e.op));
  expect((await readAll(shapeB)).map((e) => e.body)).toEqual(b.map((e) => e.body));
  const { rows } = await db.pool.query(
    `SELECT id, log_rows, log_bytes::int, last_lsn::text, last_op FROM sync_shapes WHERE id = ANY($1::bigint[]) ORDER BY id`,
    [[shapeA, shapeB]],
  );
  expect(rows).toEqual([
    { id: shapeA, log_rows: 12_000, log_bytes: summary(shapeA, a).bytes, last_lsn: '1000', last_op: 23_998 },
    { id: shapeB, log_rows: 3, log_bytes: summary(shapeB, b).bytes, last_lsn: '1000', last_op: 4 },
  ]);
  const state = await db.pool.query(`SELECT processed_lsn::text AS l FROM sync_state WHERE slot_name = $1`, [SLOT]);
  expect(state.rows[0].l).toBe('1000');
});

it('stores nothing of a batch when a later slice fails: no entry, counter or LSN', async () => {
  const before = await readAll(shapeA);
  // 7,000 new entries (two slices), then a slice repeating an entry already stored.
  const fresh = entries(2000n, 7_000, 'fresh');
  const clash = entries(1000n, 1, 'clash');
  const writer = await LogWriter.open(db.pool);
  let failed: unknown;
  try {
    await writer.append(shapeA, fresh);
    await writer.append(shapeB, clash);
    await writer.commit(SLOT, [summary(shapeA, fresh), summary(shapeB, clash)], [], 2000n);
  } catch (err) {
    failed = err;
    await writer.rollback();
  } finally {
    writer.release();
  }
  expect((failed as { code?: string }).code).toBe('23505'); // the duplicate (shape, lsn, op)
  expect(await readAll(shapeA)).toEqual(before);
  const { rows } = await db.pool.query(`SELECT log_rows FROM sync_shapes WHERE id = $1`, [shapeA]);
  expect(rows[0].log_rows).toBe(12_000);
  const state = await db.pool.query(`SELECT processed_lsn::text AS l FROM sync_state WHERE slot_name = $1`, [SLOT]);
  expect(state.rows[0].l).toBe('1000');
  // The pool's connections are still good for the next batch.
  const next = entries(3000n, 2, 'next');
  const writer2 = await LogWriter.open(db.pool);
  try {
    await writer2.append(shapeA, next);
    await writer2.commit(SLOT, [summary(shapeA, next)], [], 3000n);
  } finally {
    writer2.release();
  }
  expect((await readAll(shapeA)).length).toBe(12_002);
});
