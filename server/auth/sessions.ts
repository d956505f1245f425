// Sessions as Lucia describes them: a random token in the cookie, only SHA-256 hashes in the
// database, sliding expiry renewed at most once a day, and a hard cap on absolute age.
//
// The token is "<id part>.<secret part>", each 20 bytes from the CSPRNG in base32. The row is
// looked up by sha256(id part); the secret part is then compared with its stored hash in
// constant time, so nothing an attacker can time depends on the secret.
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { prepared, type Queryable } from '../db/pool.js';
import type { SessionUser } from '../../src/lib/shared/roles.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const TOKEN_FORMAT = /^([a-z2-7]{32})\.([a-z2-7]{32})$/;

export interface SessionPolicy {
  days: number;
  maxDays: number;
}

const randomPart = () => encodeBase32LowerCaseNoPadding(randomBytes(20));
const hashOf = (part: string) => sha256(new TextEncoder().encode(part));

export function generateSessionToken(): string {
  return `${randomPart()}.${randomPart()}`;
}

/** The session's id (hex SHA-256 of the token's id part), or null for a malformed token. */
export function sessionIdFromToken(token: string): string | null {
  const match = TOKEN_FORMAT.exec(token);
  return match ? encodeHexLowerCase(hashOf(match[1]!)) : null;
}

export async function createSession(db: Queryable, userId: string, policy: SessionPolicy) {
  const token = generateSessionToken();
  const [idPart, secretPart] = token.split('.') as [string, string];
  const id = encodeHexLowerCase(hashOf(idPart));
  const expiresAt = new Date(Date.now() + policy.days * DAY_MS);
  await db.query('INSERT INTO sessions (id, user_id, expires_at, secret_hash) VALUES ($1, $2, $3, $4)', [
    id,
    userId,
    expiresAt,
    Buffer.from(hashOf(secretPart)),
  ]);
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
 * Finds the session by the token's id part, checks its secret in constant time, drops it when
 * expired or over age, and slides the expiry forward at most once a day.
 */
export async function validateSessionToken(
  db: Queryable,
  token: string,
  policy: SessionPolicy,
): Promise<ValidatedSession | null> {
  const id = sessionIdFromToken(token);
  if (!id) return null;
  const { rows } = await db.query<{
    expires_at: Date;
    created_at: Date;
    user_id: string;
    email: string;
    full_name: string;
    role: SessionUser['role'];
    doctor_id: string | null;
    active: boolean;
    secret_hash: Buffer;
  }>(
    prepared(
      `SELECT s.expires_at, s.created_at, s.secret_hash, u.id AS user_id, u.email, u.full_name, u.role, u.doctor_id, u.active
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1`,
      [id],
    ),
  );
  const row = rows[0];
  if (!row) return null;
  const secret = Buffer.from(hashOf(token.slice(token.indexOf('.') + 1)));
  if (!timingSafeEqual(secret, row.secret_hash)) return null;
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
