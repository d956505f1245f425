// A shape's log is read in (LSN, position) order when the LSNs have different numbers of
// digits. The reader selects the LSN as text; sorting by that text put 100000000 before
// 99999999, so a page ended at a smaller offset than messages it carried and the next page sent
// them again. WAL positions pass such a boundary at every power of ten.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readLog } from '../../server/sync/store.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';

let db: TestDatabase;
let shapeId: number;
const LSNS = [99_999_998n, 99_999_999n, 100_000_000n, 100_000_001n, 999_999_999n, 1_000_000_000n];

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.pool.query<{ id: string }>(
    `INSERT INTO sync_shapes (handle, def_key, definition, slot_name, state)
     VALUES ('order-test', 'order-test', '{}', 'order_slot', 'ready') RETURNING id`,
  );
  shapeId = Number(rows[0]!.id);
  // Inserted out of order; two positions in each transaction.
  for (const lsn of [...LSNS].reverse())
    for (const op of [2, 0])
      await db.pool.query(`INSERT INTO sync_shape_log (shape_id, lsn, op, body) VALUES ($1, $2, $3, $4)`, [
        shapeId,
        lsn.toString(),
        op,
        JSON.stringify({ lsn: lsn.toString(), op }),
      ]);
});
afterAll(() => db?.drop());

it('reads entries in numeric LSN order across digit boundaries, from any offset', async () => {
  const expected = LSNS.flatMap((lsn) => [0, 2].map((op) => `${lsn}_${op}`));
  const all = await readLog(db.pool, shapeId, { lsn: 0n, op: 0 }, 10 * 1024 * 1024, false);
  expect(all.entries.map((e) => `${e.lsn}_${e.op}`)).toEqual(expected);
  // Resuming after each entry gives exactly the rest.
  for (let i = 0; i < expected.length; i++) {
    const [lsn, op] = expected[i]!.split('_');
    const rest = await readLog(db.pool, shapeId, { lsn: BigInt(lsn!), op: Number(op) }, 10 * 1024 * 1024, false);
    expect(rest.entries.map((e) => `${e.lsn}_${e.op}`)).toEqual(expected.slice(i + 1));
  }
});
