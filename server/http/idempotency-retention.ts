// Answers to idempotent writes are kept for IDEMPOTENCY_RETENTION_DAYS, then deleted by an
// hourly job. The window must outlast any device's time away: a device whose answer was lost
// replays the same key when it comes back, and only a kept answer makes that replay a no-op.
// Deletes go in small batches so the job never holds many row locks or a long transaction.
import type { Pool } from '../db/pool.js';

const BATCH = 5_000;

/** Deletes answers older than `days`; returns how many went. */
export async function purgeIdempotencyKeys(pool: Pool, days: number): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM idempotency_keys WHERE key IN (
         SELECT key FROM idempotency_keys WHERE created_at < now() - make_interval(days => $1) LIMIT $2)`,
      [days, BATCH],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < BATCH) return total;
  }
}
