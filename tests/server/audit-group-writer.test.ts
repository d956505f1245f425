// The group writer: concurrent audit rows share commits, every caller's promise resolves only
// once its row is stored, and a row the database refuses fails alone.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GroupAuditWriter } from '../../server/audit/group-writer.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());

const entry = (i: number, action = 'sync.read') => ({
  actorId: null,
  action,
  entity: 'appointments',
  entityId: `group-${i}`,
  details: { i, text: 'a\u0000b' },
});

it('stores 300 concurrent rows in far fewer commits, each visible once its write resolves', async () => {
  const writer = new GroupAuditWriter(db.pool);
  const seenAtResolve: number[] = [];
  await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      writer.write(entry(i)).then(async () => {
        const { rowCount } = await db.pool.query(`SELECT 1 FROM audit_log WHERE entity_id = $1`, [`group-${i}`]);
        seenAtResolve.push(rowCount ?? 0);
      }),
    ),
  );
  expect(seenAtResolve).toEqual(Array(300).fill(1));
  const { rows } = await db.pool.query<{ rows: number; commits: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT xmin::text)::int AS commits FROM audit_log WHERE entity_id LIKE 'group-%'`,
  );
  expect(rows[0]!.rows).toBe(300);
  expect(rows[0]!.commits).toBeLessThan(30);
  // Stored as appendAudit stores them (NULs dropped), waiting for the chainer.
  const one = await db.pool.query(`SELECT details, hash FROM audit_log WHERE entity_id = 'group-7'`);
  expect(one.rows[0]).toEqual({ details: { i: 7, text: 'ab' }, hash: null });
});

it('a row the database refuses fails alone; the rest of its batch is stored', async () => {
  const writer = new GroupAuditWriter(db.pool);
  const results = await Promise.allSettled([
    writer.write(entry(1001)),
    writer.write(entry(1002, 'x'.repeat(65))), // the action's CHECK allows 64 characters
    writer.write(entry(1003)),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  const { rows } = await db.pool.query(
    `SELECT entity_id FROM audit_log WHERE entity_id IN ('group-1001', 'group-1002', 'group-1003') ORDER BY entity_id`,
  );
  expect(rows.map((r) => r.entity_id)).toEqual(['group-1001', 'group-1003']);
});
