// What the outbox needs from the local database: PGlite in Node tests, PGliteWorker in the
// browser (whose syncToFs flushes relaxed-durability IndexedDB storage).
import type { Queryable } from '../db/queries/queryable';

export interface OutboxDb extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  syncToFs?: () => Promise<void>;
}

export type OutboxState = 'pending' | 'sending' | 'accepted' | 'rejected';
export type OutboxKind =
  | 'book'
  | 'reschedule'
  | 'cancel'
  | 'status'
  | 'update'
  | 'patient_create'
  | 'patient_update'
  | 'series_book'
  | 'series_cancel'
  | 'series_edit';

export interface OutboxEntry {
  seq: number;
  id: string;
  kind: OutboxKind;
  entity_id: string;
  result_id: string | null;
  depends_on: string | null;
  method: string;
  path: string;
  body: Record<string, unknown>;
  user_id: string;
  schema_version: number;
  state: OutboxState;
  attempts: number;
  next_attempt_at: string | Date;
  last_error: OutboxError | null;
  txid: number | null;
  created_at: string | Date;
}

/** The server's error as kept on a rejected entry (the API's error body plus the status). */
export interface OutboxError {
  status: number | null;
  code: string;
  message: string;
  details?: unknown;
}

export const ENTRY_COLUMNS =
  'seq, id, kind, entity_id, result_id, depends_on, method, path, body, user_id, schema_version, state, attempts, next_attempt_at, last_error, txid, created_at';
