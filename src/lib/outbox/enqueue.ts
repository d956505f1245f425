// Queuing one outbox entry, shared by every local write (appointments and patients). Each
// write calls `commitLocalWrite` with a function that updates the overlay and enqueues the
// entry in the same local transaction.
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
}

export async function enqueue(tx: Queryable, userId: string, q: QueuedEntry): Promise<void> {
  // A change to a row that a queued, not yet accepted entry creates depends on that entry
  // (the latest one: it depends on the earlier ones in turn).
  const dep = await tx.query<{ id: string }>(
    `SELECT id FROM outbox WHERE result_id = ANY($1::uuid[]) AND state <> 'accepted' ORDER BY seq DESC LIMIT 1`,
    [[q.entityId, ...(q.needs ?? [])]],
  );
  await tx.query(
    `INSERT INTO outbox (id, kind, entity_id, result_id, depends_on, method, path, body, user_id, schema_version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      q.key,
      q.kind,
      q.entityId,
      q.resultId,
      dep.rows[0]?.id ?? null,
      q.method,
      q.path,
      JSON.stringify(q.body),
      userId,
      LOCAL_SCHEMA_VERSION,
    ],
  );
}

/** Runs one local write transaction, then makes it durable before the UI calls it saved. */
export async function commitLocalWrite<T>(db: OutboxDb, work: (tx: Queryable) => Promise<T>): Promise<T> {
  const result = await db.transaction(work);
  // A no-op cost on OPFS, the awaited flush on relaxed IndexedDB.
  await db.syncToFs?.();
  return result;
}
