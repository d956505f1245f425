// User administration: create, update (role, active flag, password reset, doctor link) and
// list. Every change is audited in its own transaction; deactivating a user or setting a new
// password ends that user's sessions in the same transaction.
import { appendAudit, type AuditEntry } from '../audit/log.js';
import { hashPassword } from '../auth/passwords.js';
import { invalidateUserSessions } from '../auth/sessions.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { withRetriedTransaction } from '../db/transaction.js';
import { conflict, notFound, validationFailed } from '../http/errors.js';
import {
  doctorLinkIssue,
  type CreateUserInput,
  type UpdateUserInput,
  type UserRecord,
} from '../../src/lib/shared/auth-schemas.js';

export const USER_COLUMNS =
  'id, email, full_name, role, doctor_id, active, password_changed_at, created_at, updated_at';

/** Who acts, for the audit row; actorId null for the command line. */
export type AuditActor = Pick<AuditEntry, 'actorId' | 'ip' | 'userAgent'>;

/** Unique and foreign-key violations on users become field errors, not 500s. */
function userWriteError(err: unknown): unknown {
  const state = sqlState(err);
  const constraint = constraintName(err) ?? '';
  if (state === SQLSTATE.uniqueViolation && constraint.includes('email')) {
    return validationFailed([{ path: 'email', message: 'is already in use' }]);
  }
  if (state === SQLSTATE.uniqueViolation && constraint.includes('doctor')) {
    return validationFailed([{ path: 'doctor_id', message: 'is already linked to another user' }]);
  }
  if (state === SQLSTATE.foreignKeyViolation && constraint.includes('doctor')) {
    return validationFailed([{ path: 'doctor_id', message: 'no such doctor' }]);
  }
  return err;
}

export async function createUser(pool: Pool, input: CreateUserInput, actor: AuditActor): Promise<UserRecord> {
  const passwordHash = await hashPassword(input.password);
  try {
    return await withRetriedTransaction(pool, async (tx) => {
      const { rows } = await tx.query<UserRecord>(
        `INSERT INTO users (email, full_name, role, password_hash, doctor_id)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${USER_COLUMNS}`,
        [input.email, input.full_name, input.role, passwordHash, input.doctor_id ?? null],
      );
      const user = rows[0]!;
      await appendAudit(tx, {
        ...actor,
        action: 'user.create',
        entity: 'user',
        entityId: user.id,
        details: { email: user.email, full_name: user.full_name, role: user.role, doctor_id: user.doctor_id },
      });
      return user;
    });
  } catch (err) {
    throw userWriteError(err);
  }
}

/** Refuses to leave the clinic without an active admin (locks the admins while checking). */
async function assertAnotherActiveAdmin(tx: PoolClient, userId: string): Promise<void> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE`,
  );
  if (!rows.some((r) => r.id !== userId)) {
    throw conflict('last_admin', 'This is the last active admin: make another admin first.');
  }
}

export interface UpdateOptions {
  /** The session making the change: kept when users change their own password. */
  keepSessionId?: string;
}

export async function updateUser(
  pool: Pool,
  userId: string,
  input: UpdateUserInput,
  actor: AuditActor,
  { keepSessionId }: UpdateOptions = {},
): Promise<UserRecord> {
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  try {
    return await withRetriedTransaction(pool, async (tx) => {
      const current = await tx.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [
        userId,
      ]);
      const before = current.rows[0];
      if (!before) throw notFound('User');
      const role = input.role ?? before.role;
      // Leaving the clinician role drops the doctor link unless the request sets one.
      const doctorId = input.doctor_id !== undefined ? input.doctor_id : role === 'clinician' ? before.doctor_id : null;
      const linkIssue = doctorLinkIssue(role, doctorId);
      if (linkIssue) throw validationFailed([{ path: 'doctor_id', message: linkIssue }]);
      const active = input.active ?? before.active;
      const losesAdmin = before.role === 'admin' && before.active && (role !== 'admin' || !active);
      if (losesAdmin) await assertAnotherActiveAdmin(tx, userId);

      const { rows } = await tx.query<UserRecord>(
        `UPDATE users SET full_name = $2, role = $3, doctor_id = $4, active = $5,
                password_hash = coalesce($6, password_hash),
                password_changed_at = CASE WHEN $6::text IS NULL THEN password_changed_at ELSE now() END,
                updated_at = now()
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [userId, input.full_name ?? before.full_name, role, doctorId, active, passwordHash],
      );
      const after = rows[0]!;
      let sessionsEnded = 0;
      if (passwordHash || !after.active) {
        sessionsEnded = await invalidateUserSessions(tx, userId, after.active ? keepSessionId : undefined);
      }
      await appendAudit(tx, {
        ...actor,
        action: 'user.update',
        entity: 'user',
        entityId: userId,
        details: {
          changes: userChanges(before, after),
          password_changed: !!passwordHash,
          sessions_ended: sessionsEnded,
        },
      });
      return after;
    });
  } catch (err) {
    throw userWriteError(err);
  }
}

/** {field: [before, after]} for the audit row; the password is only ever a flag. */
function userChanges(before: UserRecord, after: UserRecord): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  for (const field of ['full_name', 'role', 'doctor_id', 'active'] as const) {
    if (before[field] !== after[field]) changes[field] = [before[field], after[field]];
  }
  return changes;
}
