// Appends to the hash-chained audit log. Call it with the transaction's client so the audit
// row commits (or rolls back) together with the change it describes.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Queryable } from '../db/pool.js';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  entity: string;
  entityId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  details?: Record<string, unknown>;
}

const CHAIN_LOCK = 727_002; // advisory lock id: one appender at a time, so the chain never forks

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

/**
 * Takes a transaction-scoped advisory lock (held to commit), reads the chain's head and
 * inserts the next row. Keep this the last statement of a transaction: the lock serializes
 * audited writers only from here to commit.
 */
export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [CHAIN_LOCK]);
  const head = await tx.query<{ hash: string }>('SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1');
  const prevHash = head.rows[0]?.hash ?? null;
  const { rows } = await tx.query<{ id: string; at: Date }>(
    `SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) AS id, clock_timestamp() AS at`,
  );
  const row: AuditRowForHash = {
    id: rows[0]!.id,
    actor_id: entry.actorId,
    action: entry.action,
    entity: entry.entity,
    entity_id: entry.entityId ?? null,
    at: rows[0]!.at,
    ip: entry.ip ?? null,
    user_agent: entry.userAgent ?? null,
    details: entry.details ?? {},
  };
  await tx.query(
    `INSERT INTO audit_log (id, actor_id, action, entity, entity_id, at, ip, user_agent, details, prev_hash, hash)
     OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [row.id, row.actor_id, row.action, row.entity, row.entity_id, row.at, row.ip, row.user_agent, JSON.stringify(row.details), prevHash, auditRowHash(prevHash, row)],
  );
}
