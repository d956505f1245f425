// Appends to the audit log. Call it with the transaction's client so the audit row commits (or
// rolls back) together with the change it describes; the chainer hashes it into the chain.
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { prepared, type Queryable } from '../db/pool.js';

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
 * Appends an unchained row: a plain INSERT, no lock, so audited writers never wait for each
 * other. The chainer (chainer.ts) links it into the hash chain once it has committed, within
 * AUDIT_CHAIN_INTERVAL_MS; until then it is stored, append-only and visible, but not yet
 * covered by a hash (verify reports how many rows are in that window and how old the oldest is).
 */
export async function appendAudit(tx: Queryable, entry: AuditEntry): Promise<void> {
  await tx.query(prepared(`${AUDIT_INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7)`, auditValues(entry)));
}

export const AUDIT_INSERT = `INSERT INTO audit_log (actor_id, action, entity, entity_id, ip, user_agent, details)`;

/** The seven values of AUDIT_INSERT for one row, as appendAudit stores them. */
export function auditValues(entry: AuditEntry): unknown[] {
  return [
    entry.actorId,
    stripNul(entry.action),
    stripNul(entry.entity),
    cleanText(entry.entityId),
    cleanText(entry.ip),
    cleanText(entry.userAgent),
    JSON.stringify(storableDetails(entry.details)),
  ];
}

/** Several rows in one INSERT (the group writer's batches), each as appendAudit would store it. */
export async function appendAuditRows(tx: Queryable, entries: AuditEntry[]): Promise<void> {
  if (!entries.length) return;
  await tx.query(
    `INSERT INTO audit_log (actor_id, action, entity, entity_id, ip, user_agent, details)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])`,
    [
      entries.map((e) => e.actorId),
      entries.map((e) => stripNul(e.action)),
      entries.map((e) => stripNul(e.entity)),
      entries.map((e) => cleanText(e.entityId)),
      entries.map((e) => cleanText(e.ip)),
      entries.map((e) => cleanText(e.userAgent)),
      entries.map((e) => JSON.stringify(storableDetails(e.details))),
    ],
  );
}
