// Old answers to idempotent writes are deleted (in batches), recent ones stay and still make a
// replay a no-op; the job runs once at start and then on its timer.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IdempotencyRetention, purgeIdempotencyKeys } from '../../server/http/idempotency-retention.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db?.drop());
beforeEach(() => db.pool.query('DELETE FROM idempotency_keys'));

async function addKeys(count: number, ageDays: number): Promise<void> {
  await db.pool.query(
    `INSERT INTO idempotency_keys (key, request_hash, status, body, created_at)
     SELECT gen_random_uuid(), repeat('a', 64), 201, '{}', now() - make_interval(days => $2)
       FROM generate_series(1, $1)`,
    [count, ageDays],
  );
}

const remaining = async () =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM idempotency_keys')).rows[0]!.n;

describe('idempotency answer retention', () => {
  it('deletes answers older than the window in batches and keeps the recent ones', async () => {
    await addKeys(12_000, 100); // more than two batches
    await addKeys(30, 89);
    const recent = randomUUID();
    await db.pool.query(
      `INSERT INTO idempotency_keys (key, request_hash, status, body) VALUES ($1, repeat('b', 64), 201, '{}')`,
      [recent],
    );
    expect(await purgeIdempotencyKeys(db.pool, 90)).toBe(12_000);
    expect(await remaining()).toBe(31);
    expect((await db.pool.query('SELECT 1 FROM idempotency_keys WHERE key = $1', [recent])).rows).toHaveLength(1);
    expect(await purgeIdempotencyKeys(db.pool, 90)).toBe(0);
  });

  it('the job purges at start and again on its timer, and stops cleanly', async () => {
    await addKeys(5, 10);
    const job = new IdempotencyRetention({ pool: db.pool, days: 7, intervalMs: 50 });
    job.start();
    await expect.poll(remaining, { timeout: 5_000 }).toBe(0);
    await addKeys(3, 8);
    await expect.poll(remaining, { timeout: 5_000 }).toBe(0);
    await job.stop();
    await addKeys(2, 8);
    await new Promise((r) => setTimeout(r, 200));
    expect(await remaining()).toBe(2);
  });
});
