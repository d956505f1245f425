import type { Pool, PoolClient } from './pool.js';
import { SQLSTATE, sqlState } from './sqlstate.js';

/**
 * Runs fn inside BEGIN/COMMIT on one client. The client is passed explicitly so every query
 * of the transaction is visibly on it; fn must await all of them before returning.
 */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export class RetriesExhaustedError extends Error {
  constructor(public readonly cause: unknown) {
    super('transaction retries exhausted');
  }
}

/**
 * withTransaction, retried on deadlock and serialization failure with a short jittered pause.
 * After `attempts` failures it throws RetriesExhaustedError (answered as 503 + Retry-After).
 */
export async function withRetriedTransaction<T>(
  pool: Pool,
  fn: (tx: PoolClient) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(pool, fn);
    } catch (err) {
      const code = sqlState(err);
      const retryable = code === SQLSTATE.deadlockDetected || code === SQLSTATE.serializationFailure;
      if (!retryable) throw err;
      if (attempt >= attempts) throw new RetriesExhaustedError(err);
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
}
