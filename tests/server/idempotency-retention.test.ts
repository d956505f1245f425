// Old answers to idempotent writes are deleted (in batches), recent ones stay and still make a
// replay a no-op; the hourly pg-boss job does the same through its queue.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { purgeIdempotencyKeys } from '../../server/http/idempotency-retention.js';
import { QUEUES } from '../../server/jobs/queues.js';
import { startJobRunner } from '../../server/jobs/runner.js';
import { ALL_WORKERS } from '../../server/jobs/workers.js';
import { createLogger } from '../../server/logger.js';
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

  it('the purge runs as a pg-boss job on this database (schema cloned from the template)', async () => {
    await addKeys(5, 10);
    await addKeys(2, 3);
    const config = loadConfig({ NODE_ENV: 'test', IDEMPOTENCY_RETENTION_DAYS: '7' });
    const runner = await startJobRunner({
      databaseUrl: db.url,
      pool: db.pool,
      config,
      logger: createLogger('silent'),
      workers: ALL_WORKERS,
      runWorkers: true,
    });
    try {
      // The cron is registered for the hour; send one now instead of waiting for it.
      const id = await runner.boss.send(QUEUES.idempotencyPurge, {});
      expect(id).toBeTruthy();
      await expect
        .poll(async () => (await runner.boss.getJobById(QUEUES.idempotencyPurge, id!))?.state, { timeout: 20_000 })
        .toBe('completed');
      expect(await remaining()).toBe(2);
      const schedules = await runner.boss.getSchedules();
      expect(schedules.map((s) => s.name)).toContain(QUEUES.idempotencyPurge);
    } finally {
      await runner.stop();
    }
  });
});
