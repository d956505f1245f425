// One shape for every mutation: claim the idempotency key, write, remember the answer, audit
// last, commit; or, for a key already used, answer as the first time and write nothing.
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { appendAudit, AUDIT_INSERT, auditContext, auditValues, canonicalJson, type AuditEntry } from '../audit/log.js';
import { prepared, type Pool, type PoolClient } from '../db/pool.js';
import { withRetriedTransaction } from '../db/transaction.js';
import { countCacheOf } from './count-cache.js';
import { conflict } from './errors.js';
import { parseInput } from './validate.js';
import { idempotencyKeySchema } from '../../src/lib/shared/appointment-schemas.js';

export interface WriteAnswer {
  status: number;
  /** Sent as JSON; undefined for 204. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The audit row, appended as the transaction's last statement. */
  audit: Omit<AuditEntry, 'actorId' | 'ip' | 'userAgent'>;
}

interface StoredAnswer {
  status: number;
  json: string | null;
  headers: Record<string, string>;
}

/** The Idempotency-Key header, validated as a uuid (undefined when absent). */
export function idempotencyKeyHeader(req: Request): string | undefined {
  const raw = req.get('idempotency-key');
  return raw === undefined ? undefined : parseInput(idempotencyKeySchema, raw);
}

/** Fingerprint of what a request asks for: the same key with another fingerprint is refused. */
function requestHash(req: Request, operation: string): string {
  const fingerprint = canonicalJson({
    operation,
    params: req.params,
    actor: req.user?.id ?? null,
    body: req.body ?? null,
  });
  return createHash('sha256').update(fingerprint).digest('hex');
}

/**
 * Claims the key and returns the new transaction's txid, or the stored answer of the first
 * request with this key. A concurrent attempt with the same key blocks on the INSERT until
 * the first commits (then the answer is there) or rolls back (then this one goes ahead).
 */
async function claimKey(
  tx: PoolClient,
  key: string,
  hash: string,
): Promise<{ txid: number } | { stored: StoredAnswer }> {
  const claimed = await tx.query<{ txid: string }>(
    prepared(
      `INSERT INTO idempotency_keys (key, request_hash) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING
       RETURNING pg_current_xact_id()::xid::text AS txid`,
      [key, hash],
    ),
  );
  if (claimed.rows[0]) return { txid: Number(claimed.rows[0].txid) };
  const { rows } = await tx.query<{
    request_hash: string;
    status: number;
    body: string | null;
    headers: Record<string, string> | null;
  }>('SELECT request_hash, status, body, headers FROM idempotency_keys WHERE key = $1', [key]);
  const row = rows[0]!;
  if (row.request_hash !== hash) throw idempotencyMismatch();
  return { stored: { status: row.status, json: row.body, headers: row.headers ?? {} } };
}

export const idempotencyMismatch = () =>
  conflict('idempotency_mismatch', 'This idempotency key was already used for a different request.');

/** pg_current_xact_id()::xid as a number: the value shape messages carry in headers.txids. */
export async function currentTxid(tx: PoolClient): Promise<number> {
  const { rows } = await tx.query<{ txid: string }>('SELECT pg_current_xact_id()::xid::text AS txid');
  return Number(rows[0]!.txid);
}

/**
 * Runs one mutation in one (retried) transaction and sends its answer. With a key, the first
 * successful answer is stored with the write, and a replay gets exactly those bytes back.
 * `write` gets the transaction and its txid; errors it throws roll everything back.
 */
export async function runWrite(
  pool: Pool,
  req: Request,
  res: Response,
  operation: string,
  key: string | undefined,
  write: (tx: PoolClient, txid: number) => Promise<WriteAnswer>,
): Promise<void> {
  const hash = requestHash(req, operation);
  const answer = await withRetriedTransaction(pool, async (tx) => {
    let txid: number;
    if (key) {
      const claim = await claimKey(tx, key, hash);
      if ('stored' in claim) return { ...claim.stored, replayed: true };
      txid = claim.txid;
    } else {
      txid = await currentTxid(tx);
    }
    const result = await write(tx, txid);
    const json = result.body === undefined ? null : JSON.stringify(result.body);
    const headers = result.headers ?? {};
    const audit = { ...auditContext(req), ...result.audit };
    if (key) {
      // The stored answer and the audit row in one statement: one round trip less while the
      // write's locks (a booking's doctor) are held.
      await tx.query(
        prepared(
          `WITH answer AS (UPDATE idempotency_keys SET status = $9, body = $10, headers = $11 WHERE key = $8)
           ${AUDIT_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [...auditValues(audit), key, result.status, json, JSON.stringify(headers)],
        ),
      );
    } else {
      await appendAudit(tx, audit);
    }
    return { status: result.status, json, headers, replayed: false };
  });
  // Committed: list totals this process keeps are cleared now, so the writer's next page
  // counts the write without waiting for it to come back on the replication stream.
  if (!answer.replayed) countCacheOf(pool)?.invalidate();
  res.set(answer.headers);
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(answer.status);
  if (answer.json === null) return void res.end();
  res.type('application/json').send(answer.json);
}
