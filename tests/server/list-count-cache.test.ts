// List totals are kept between changes (server/http/count-cache.ts), and a page in the second
// half of a list is read from the other end of the index. Against the real app with its sync
// engine: a write through the API is counted on the writer's next page at once; a row written
// by SQL behind the app's back is counted once replication reports it; pages from either end
// hold exactly the rows of one ordered read of the table.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countCacheOf } from '../../server/http/count-cache.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let desk: ApiClient;
const ROWS = 233;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool, { patients: 20 });
  // Past, completed appointments (they hold no slot), several sharing a start time so the
  // (starts_at, id) order has ties to break.
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
     SELECT gen_random_uuid(), p[1 + i % 20], $2::uuid,
            timestamptz '2025-01-06 08:00Z' + (i / 3) * interval '30 minutes',
            timestamptz '2025-01-06 08:30Z' + (i / 3) * interval '30 minutes', 30, 'completed'
       FROM generate_series(0, $3::int - 1) i, (SELECT $1::uuid[] AS p) ps`,
    [fx.patients, fx.doctorA, ROWS],
  );
  server = await startSyncTestServer(db, `count_cache_${process.pid}`);
  desk = new ApiClient(server.url);
  await desk.login(fx.users.receptionist.email, TEST_PASSWORD);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const countOf = async (query = '') => {
  const res = await desk.get(`/api/appointments?page_size=50${query}`);
  expect(res.status).toBe(200);
  return res.body.count as number;
};

/** The next weekday at 10:00 UTC, `days` ahead at least (inside the fixture's hours). */
function weekdayAt10(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() + 1);
  d.setUTCHours(10, 0, 0, 0);
  return d.toISOString();
}

describe('list totals between changes', () => {
  it('pages from both ends hold exactly the ordered rows, whether the total was counted or kept', async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id FROM appointments WHERE deleted_at IS NULL ORDER BY starts_at DESC, id DESC`,
    );
    for (const size of [50, 7]) {
      for (const pass of ['counted', 'kept']) {
        if (pass === 'counted') countCacheOf(server.deps.pool)!.invalidate();
        const ids: string[] = [];
        for (let page = 1; ; page++) {
          const res = await desk.get(`/api/appointments?page_size=${size}&page=${page}`);
          expect(res.status).toBe(200);
          expect(res.body.count).toBe(rows.length);
          ids.push(...res.body.results.map((r: { id: string }) => r.id));
          if (!res.body.next) break;
        }
        expect(ids, `${pass}, page size ${size}`).toEqual(rows.map((r) => r.id));
      }
    }
    const past = await desk.get(`/api/appointments?page_size=50&page=100`);
    expect(past.body).toMatchObject({ count: rows.length, next: null, results: [] });
  });

  it('a page next to one read before starts at its row (forwards, backwards, again): the same rows as skipping', async () => {
    // Rows whose start has microseconds, which a JavaScript date would round away.
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
       SELECT gen_random_uuid(), $1, $2, t, t + interval '30 minutes', 30, 'completed'
         FROM (SELECT timestamptz '2025-01-06 08:00:00.000001Z' + i * interval '1 microsecond' AS t
                 FROM generate_series(0, 9) i) s`,
      [fx.patients[5], fx.doctorA],
    );
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id FROM appointments WHERE deleted_at IS NULL ORDER BY starts_at DESC, id DESC`,
    );
    const cache = countCacheOf(server.deps.pool)!;
    await waitFor(async () => (await countOf()) === rows.length, 8_000, 'the new rows counted');
    const size = 9;
    const pages = Math.ceil(rows.length / size);
    const pageIds = async (page: number) => {
      const res = await desk.get(`/api/appointments?page_size=${size}&page=${page}`);
      expect(res.status).toBe(200);
      expect(res.body.count).toBe(rows.length);
      return res.body.results.map((r: { id: string }) => r.id) as string[];
    };
    const expected = (page: number) => rows.slice((page - 1) * size, page * size).map((r) => r.id);

    // A change reported by replication drops every anchor (by design); the report of the rows
    // inserted above may still arrive during a walk: then that walk runs again.
    const walkWithoutChanges = async (walk: () => Promise<void>): Promise<number> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        cache.invalidate();
        const epoch = cache.currentEpoch;
        const before = cache.anchoredReads;
        await walk();
        if (cache.currentEpoch === epoch) return cache.anchoredReads - before;
      }
      throw new Error('the list kept changing');
    };

    const forwards = await walkWithoutChanges(async () => {
      for (let page = 1; page <= pages; page++) expect(await pageIds(page), `page ${page}`).toEqual(expected(page));
    });
    expect(forwards, 'every page after the first from the one before it').toBe(pages - 1);

    // Backwards from a page reached by a jump: each page ends before the row the next one began with.
    const middle = Math.ceil(pages / 2);
    const backwards = await walkWithoutChanges(async () => {
      expect(await pageIds(middle)).toEqual(expected(middle));
      for (let page = middle - 1; page >= 1; page--)
        expect(await pageIds(page), `page ${page}`).toEqual(expected(page));
      expect(await pageIds(middle), 'the same page again').toEqual(expected(middle));
    });
    // Every page but the jump and the first (which skips nothing, so it is always read afresh).
    expect(backwards).toBe(middle - 1);
  });

  it("a booking through the API is in the writer's next total at once", async () => {
    const before = await countOf();
    expect(await countOf()).toBe(before); // kept
    const res = await desk.post('/api/appointments', {
      id: randomUUID(),
      doctor_id: fx.doctorB,
      patient_id: fx.patients[3],
      starts_at: weekdayAt10(3),
      duration_minutes: 30,
      urgency: 'routine',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(await countOf()).toBe(before + 1);
  });

  it('a row written behind the app (SQL) is counted once replication reports it; filtered totals too', async () => {
    // Both totals counted now, together, and waited for together below within 8 s: the filtered
    // one is kept until replication reports the row (or 10 s pass), so only that report can
    // make it count the row in time. (The unfiltered one alone proves nothing: a report of an
    // earlier change arriving while it was counted leaves it uncached, counted afresh.)
    countCacheOf(server.deps.pool)!.invalidate();
    const all = await countOf();
    const doctorB = await countOf(`&doctor_id=${fx.doctorB}`);
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
       VALUES (gen_random_uuid(), $1, $2, timestamptz '2024-05-06 09:00Z', timestamptz '2024-05-06 09:30Z', 30, 'completed')`,
      [fx.patients[4], fx.doctorB],
    );
    await waitFor(
      async () => (await countOf()) === all + 1 && (await countOf(`&doctor_id=${fx.doctorB}`)) === doctorB + 1,
      8_000,
      'both totals to count the new row (before the 10 s bound: by replication, not expiry)',
    );
    await db.pool.query(`UPDATE appointments SET deleted_at = now() WHERE starts_at = timestamptz '2024-05-06 09:00Z'`);
    await waitFor(async () => (await countOf()) === all, 8_000, 'the total to drop the deleted row');
  });
});
