// Sessions as Lucia describes them: a random token in the cookie, only its SHA-256 in the
// database, sliding expiry renewed at most once a day, and a hard cap on absolute age.
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import type { SessionUser } from '../../src/lib/shared/roles.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SessionPolicy {
  days: number;
  maxDays: number;
}

export function generateSessionToken(): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(20));
}

export function sessionIdFromToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)));
}

export async function createSession(db: Queryable, userId: string, policy: SessionPolicy) {
  const token = generateSessionToken();
  const id = sessionIdFromToken(token);
  const expiresAt = new Date(Date.now() + policy.days * DAY_MS);
  await db.query('INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)', [id, userId, expiresAt]);
  return { token, id, expiresAt };
}

export interface ValidatedSession {
  id: string;
  user: SessionUser;
  expiresAt: Date;
  /** The expiry moved forward: the cookie must be sent again with the new date. */
  renewed: boolean;
}

/**
 * Looks the token's hash up (an index lookup on the primary key, so comparing is not done
 * byte by byte in JS), drops expired sessions, and slides the expiry forward at most once a day.
 */
export async function validateSessionToken(
  db: Queryable,
  token: string,
  policy: SessionPolicy,
): Promise<ValidatedSession | null> {
  if (!/^[a-z2-7]{20,64}$/.test(token)) return null;
  const id = sessionIdFromToken(token);
  const { rows } = await db.query<{
    expires_at: Date;
    created_at: Date;
    user_id: string;
    email: string;
    full_name: string;
    role: SessionUser['role'];
    doctor_id: string | null;
    active: boolean;
  }>(
    `SELECT s.expires_at, s.created_at, u.id AS user_id, u.email, u.full_name, u.role, u.doctor_id, u.active
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  const now = Date.now();
  if (!row.active || row.expires_at.getTime() <= now || row.created_at.getTime() + policy.maxDays * DAY_MS <= now) {
    await db.query('DELETE FROM sessions WHERE id = $1', [id]);
    return null;
  }
  let expiresAt = row.expires_at;
  let renewed = false;
  const cap = row.created_at.getTime() + policy.maxDays * DAY_MS;
  const target = Math.min(now + policy.days * DAY_MS, cap);
  // Renew at most once a day (a day's worth of sliding is all that can be gained), and never
  // past the absolute cap.
  if (target - expiresAt.getTime() >= DAY_MS) {
    expiresAt = new Date(target);
    renewed = true;
    await db.query('UPDATE sessions SET expires_at = $2 WHERE id = $1', [id, expiresAt]);
  }
  return {
    id,
    expiresAt,
    renewed,
    user: { id: row.user_id, email: row.email, full_name: row.full_name, role: row.role, doctor_id: row.doctor_id },
  };
}

export async function invalidateSession(db: Queryable, sessionId: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
}

/** Ends every session of a user, except `keepSessionId` (the one changing its own password). */
export async function invalidateUserSessions(db: Queryable, userId: string, keepSessionId?: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM sessions WHERE user_id = $1 AND id IS DISTINCT FROM $2', [
    userId,
    keepSessionId ?? null,
  ]);
  return rowCount ?? 0;
}

/** Drops a user's sessions that have expired; run at login so the table doesn't only grow. */
export async function deleteExpiredSessions(db: Queryable, userId: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1 AND expires_at <= now()', [userId]);
}
