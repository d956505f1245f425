// Appends to the hash-chained audit log. Call it with the transaction's client so the audit
// row commits (or rolls back) together with the change it describes.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  entity: string;
  entityId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** What changed. Never passwords, hashes or tokens. */
  details?: Record<string, unknown>;
}

/** The request's actor and origin, for audit rows. */
export function auditContext(req: Request): Pick<AuditEntry, 'actorId' | 'ip' | 'userAgent'> {
  return {
    actorId: req.user?.id ?? null,
    ip: req.ip ?? null,
    userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
  };
}

/** Stable JSON: keys sorted at every depth, so the same row always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface AuditRowForHash {
  id: number | string;
  actor_id: string | null;
  action: string;
  entity: string;
  entity_id: string | null;
  at: Date | string;
  ip: string | null;
  user_agent: string | null;
  details: unknown;
}

export function auditRowHash(prevHash: string | null, row: AuditRowForHash): string {
  const canonical = canonicalJson({
    id: String(row.id),
    actor_id: row.actor_id,
    action: row.action,
    entity: row.entity,
    entity_id: row.entity_id,
    at: new Date(row.at).toISOString(),
    ip: row.ip,
    user_agent: row.user_agent,
    details: row.details,
  });
  return createHash('sha256')
    .update(prevHash ?? '')
    .update(canonical)
    .digest('hex');
}

// PostgreSQL text and jsonb refuse NUL characters; a stray one in user input must not make
// the audited write fail.
const stripNul = (s: string) => s.replaceAll('\u0000', '');
const cleanText = (s: string | null | undefined) => (s == null ? null : stripNul(s));

/**
 * The details exactly as jsonb will hold them (Dates become ISO strings, undefined and
 * functions vanish, NULs are dropped), so the hash computed here is the one verify recomputes.
 */
function storableDetails(details: Record<string, unknown> | undefined): unknown {
  const json = JSON.stringify(details ?? {}, (_k, v: unknown) => (typeof v === 'string' ? stripNul(v) : v));
  return JSON.parse(json);
}

/**
 * Locks the chain's head row (held to commit), reads it and inserts the next row. Keep this
 * the last statement of a transaction: audited writers are serialized from here to commit.
 * Ids are drawn while the lock is held, so id order is chain order.
 */
export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  // Given the pool (an audited read outside any write), the head lock still needs a
  // transaction to be held in: make one.
  if (tx instanceof pg.Pool) return withTransaction(tx, (client) => appendAudit(client, entry));
  const head = await tx.query<{ hash: string | null }>('SELECT hash FROM audit_chain_head FOR UPDATE');
  const prevHash = head.rows[0]?.hash ?? null;
  const { rows } = await tx.query<{ id: string; at: Date }>(
    // Millisecond precision: exactly what a JS Date carries, so the stored value is the hashed one.
    `SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS id,
            date_trunc('milliseconds', clock_timestamp()) AS at`,
  );
  const row: AuditRowForHash = {
    id: String(rows[0]!.id),
    actor_id: entry.actorId,
    action: stripNul(entry.action),
    entity: stripNul(entry.entity),
    entity_id: cleanText(entry.entityId),
    at: rows[0]!.at,
    ip: cleanText(entry.ip),
    user_agent: cleanText(entry.userAgent),
    details: storableDetails(entry.details),
  };
  const hash = auditRowHash(prevHash, row);
  // The row and the new head in one statement: one round trip less while the head is locked.
  await tx.query(
    `WITH appended AS (
       INSERT INTO audit_log (id, actor_id, action, entity, entity_id, at, ip, user_agent, details, prev_hash, hash)
       OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       RETURNING id, hash
     )
     UPDATE audit_chain_head SET last_id = appended.id, hash = appended.hash FROM appended`,
    [
      row.id,
      row.actor_id,
      row.action,
      row.entity,
      row.entity_id,
      row.at,
      row.ip,
      row.user_agent,
      JSON.stringify(row.details),
      prevHash,
      hash,
    ],
  );
}
