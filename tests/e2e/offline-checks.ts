// What the e2e tests of offline writes compare once the queue is replayed: the server's rows,
// idempotency keys and audit log against the browser's outbox and replica.
import type { Page } from 'playwright-core';
import type { TestDatabase } from '../setup/database.js';
import { eventually, localQuery } from './helpers.js';

type Pool = TestDatabase['pool'];

export interface Row {
  id: string;
  status: string;
  starts_at: string;
  version: number;
}

export async function serverRows(pool: Pool, ids: string[]): Promise<Row[]> {
  const { rows } = await pool.query<Row>(
    `SELECT id, status, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS starts_at, version
       FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

export async function replicaRows(page: Page, ids: string[]): Promise<Row[]> {
  return localQuery<Row>(
    page,
    `SELECT id, status, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS starts_at, version
       FROM appointments WHERE id = ANY($1::uuid[]) AND NOT pending ORDER BY id`,
    [ids],
  );
}

export interface QueuedWrite {
  id: string;
  kind: string;
  entity_id: string;
  result_id: string | null;
  to: string | null;
}

/** The outbox in queue order, as the server's audit log must show it once applied. */
export async function queuedWrites(page: Page): Promise<QueuedWrite[]> {
  return localQuery<QueuedWrite>(
    page,
    `SELECT id, kind, entity_id, result_id, body->>'status' AS to FROM outbox ORDER BY seq`,
  );
}

const AUDIT_ACTION: Record<string, string> = {
  book: 'appointment.book',
  status: 'appointment.status',
  cancel: 'appointment.cancel',
  reschedule: 'appointment.reschedule',
};

/** What each queued write leaves in the audit log: action, row, and the status it set. */
export function expectedAudit(writes: QueuedWrite[]) {
  return writes.map((w) => ({
    action: AUDIT_ACTION[w.kind],
    entity_id: w.kind === 'book' || w.kind === 'reschedule' ? w.result_id : w.entity_id,
    to: w.kind === 'status' ? w.to : w.kind === 'cancel' ? 'cancelled' : null,
  }));
}

type AuditRow = { action: string; entity_id: string | null; to: string | null };
const auditKey = (a: AuditRow) => `${a.action} ${a.entity_id} ${a.to}`;

/** The audit rows as a sorted list: each queued write exactly once, whatever the order. */
export const auditedWrites = (rows: AuditRow[]) => rows.map(auditKey).sort();

/**
 * Pairs of queued writes on a common row (the one changed, or the one created) that the
 * server applied out of queue order. The outbox sends writes on different rows side by side,
 * so only the order per row is kept (docs/offline-writes.md, "Order").
 */
export function rowOrderViolations(audit: AuditRow[], writes: QueuedWrite[]): string[] {
  const at = new Map(audit.map((a, i) => [auditKey(a), i]));
  const expected = expectedAudit(writes).map(auditKey);
  const rowsOf = (w: QueuedWrite) => [w.entity_id, ...(w.result_id ? [w.result_id] : [])];
  const out: string[] = [];
  writes.forEach((w, i) => {
    for (let j = i + 1; j < writes.length; j++) {
      if (!rowsOf(writes[j]!).some((r) => rowsOf(w).includes(r))) continue;
      if ((at.get(expected[i]!) ?? -1) > (at.get(expected[j]!) ?? -1)) out.push(`${expected[i]} after ${expected[j]}`);
    }
  });
  return out;
}

export async function auditSince(pool: Pool, actorId: string, afterId: number) {
  const { rows } = await pool.query(
    `SELECT action, entity_id, details->>'to' AS to FROM audit_log
      WHERE id > $1 AND actor_id = $2 AND action = ANY($3::text[]) ORDER BY id`,
    [afterId, actorId, Object.values(AUDIT_ACTION)],
  );
  return rows;
}

export async function lastAuditId(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM audit_log');
  return Number(rows[0]!.id);
}

export async function waitForEmptyOutbox(page: Page, timeoutMs = 90_000): Promise<void> {
  await eventually(
    () => localQuery(page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay'),
    (rows) => rows.length === 0,
    timeoutMs,
  );
}

export async function keysOnServer(pool: Pool, keys: string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ANY($1::uuid[])',
    [keys],
  );
  return rows[0]!.n;
}
