// Queuing one outbox entry, shared by every local write (appointments and patients). A write
// calls `commitLocalWrite` with a function that updates the overlay and enqueues the entry in
// the same local transaction, or (faster: one statement, see write-sql.ts) passes
// `entryJson(...)` to a local SQL function that does both, through `writeOneStatement`.
import { LOCAL_SCHEMA_VERSION } from '../db/schema/migrations';
import type { Queryable } from '../db/queries/queryable';
import type { OutboxDb, OutboxKind } from './db';

export interface QueuedEntry {
  kind: OutboxKind;
  /** the idempotency key the server sees */
  key: string;
  /** the row the action is about */
  entityId: string;
  /** the row it creates (book, reschedule, patient create) */
  resultId: string | null;
  method: string;
  path: string;
  body: Record<string, unknown>;
  /**
   * Rows this action needs on the server besides entityId (a booking's patient): if a queued,
   * not yet accepted entry creates one of them, this entry depends on it.
   */
  needs?: string[];
  /** Kept on the device this long before it is sent: the undo window (local migration 5). */
  holdSeconds?: number;
}

/** The entry as the local SQL function `outbox_queue(entry jsonb)` takes it (local migration 4). */
export function entryJson(userId: string, q: QueuedEntry): string {
  return JSON.stringify({
    key: q.key,
    kind: q.kind,
    entity_id: q.entityId,
    result_id: q.resultId,
    needs: q.needs ?? [],
    method: q.method,
    path: q.path,
    body: q.body,
    user_id: userId,
    schema_version: LOCAL_SCHEMA_VERSION,
    ...(q.holdSeconds ? { hold_seconds: q.holdSeconds } : {}),
  });
}

/**
 * Queues the entry in the caller's transaction. A change to a row that a queued, not yet
 * accepted entry creates depends on that entry (the latest one: it depends on the earlier
 * ones in turn); `outbox_queue` finds it in the same statement.
 */
export async function enqueue(tx: Queryable, userId: string, q: QueuedEntry): Promise<void> {
  await tx.query('SELECT outbox_queue($1::jsonb)', [entryJson(userId, q)]);
}

/** Runs one local write transaction, then makes it durable before the UI calls it saved. */
export async function commitLocalWrite<T>(db: OutboxDb, work: (tx: Queryable) => Promise<T>): Promise<T> {
  const result = await db.transaction(work);
  // A no-op cost on OPFS, the awaited flush on relaxed IndexedDB.
  await db.syncToFs?.();
  return result;
}

/**
 * Runs one write statement on its own (it is its own transaction) and returns its first row,
 * durable. PGlite flushes storage after every statement outside a transaction, but under
 * relaxed durability (IndexedDB) it does not wait for that flush: the explicit syncToFs is
 * the awaited one there (src/lib/db/pglite.worker.ts), and a cheap round trip on OPFS.
 */
export async function writeOneStatement<T>(db: OutboxDb, sql: string, params: unknown[]): Promise<T> {
  const { rows } = await db.query<T>(sql, params);
  await db.syncToFs?.();
  return rows[0]!;
}
