// /api/auth: login, logout, session (the probe), me, and changing one's own password.
import { Router, type Request } from 'express';
import { appendAudit, auditContext } from '../audit/log.js';
import type { AppDeps } from '../deps.js';
import { withTransaction } from '../db/transaction.js';
import { HttpError, validationFailed } from '../http/errors.js';
import { loginAttemptLimiter, loginFailuresPerAddress } from '../http/rate-limit.js';
import { parseInput } from '../http/validate.js';
import { updateUser } from '../users/service.js';
import { changePasswordSchema, loginSchema } from '../../src/lib/shared/auth-schemas.js';
import { clearSessionCookie, setSessionCookie } from './cookies.js';
import { requireUser } from './middleware.js';
import { dummyPasswordHash, hashPassword, needsRehash, verifyPassword } from './passwords.js';
import { createSession, deleteExpiredSessions, invalidateSession } from './sessions.js';

const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is incorrect.');

interface LoginRow {
  id: string;
  email: string;
  full_name: string;
  role: string;
  doctor_id: string | null;
  password_hash: string;
  active: boolean;
}

async function findLoginUser(deps: AppDeps, email: string): Promise<LoginRow | undefined> {
  const { rows } = await deps.pool.query<LoginRow>(
    'SELECT id, email, full_name, role, doctor_id, password_hash, active FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  return rows[0];
}

/** A failed login is audited (never the password, nor the typed email: it may hold one). */
async function auditLoginFailure(deps: AppDeps, req: Request, user: LoginRow | undefined) {
  const reason = !user ? 'unknown_email' : user.active ? 'wrong_password' : 'inactive';
  await appendAudit(deps.pool, {
    ...auditContext(req),
    action: 'auth.login_failed',
    entity: 'user',
    entityId: user?.id ?? null,
    details: { reason },
  });
}

export function createAuthRouter(deps: AppDeps): Router {
  const router = Router();
  const policy = { days: deps.config.sessionDays, maxDays: deps.config.sessionMaxDays };
  const loginLimiter = loginAttemptLimiter(deps, 'login', (req) => req.body?.email);

  router.post('/login', loginFailuresPerAddress(deps), ...loginLimiter.middleware, async (req, res) => {
    const { email, password } = parseInput(loginSchema, req.body);
    const user = await findLoginUser(deps, email);
    // Verify against a dummy hash for unknown emails: both failures cost the same time.
    const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || !user.active) {
      await auditLoginFailure(deps, req, user);
      throw invalidCredentials();
    }
    await loginLimiter.reset(req, email);
    // Hashes made with older parameters are upgraded while the password is at hand.
    const newHash = needsRehash(user.password_hash) ? await hashPassword(password) : null;
    const session = await withTransaction(deps.pool, async (tx) => {
      if (newHash) await tx.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, newHash]);
      await deleteExpiredSessions(tx, user.id);
      const created = await createSession(tx, user.id, policy);
      await appendAudit(tx, {
        ...auditContext(req),
        actorId: user.id,
        action: 'auth.login',
        entity: 'user',
        entityId: user.id,
      });
      return created;
    });
    setSessionCookie(res, deps.config, session.token, session.expiresAt);
    res.json({
      user: { id: user.id, email: user.email, full_name: user.full_name, role: user.role, doctor_id: user.doctor_id },
    });
  });

  router.post('/logout', requireUser, async (req, res) => {
    await withTransaction(deps.pool, async (tx) => {
      await invalidateSession(tx, req.sessionId!);
      await appendAudit(tx, { ...auditContext(req), action: 'auth.logout', entity: 'user', entityId: req.user!.id });
    });
    clearSessionCookie(res, deps.config);
    res.status(204).end();
  });

  // The app's start-up probe: "who am I, if anyone?" is a question with two normal answers, so
  // no session is 200 {user: null} rather than a 401 that every first load would log in the
  // browser console as an error. /me stays for clients that want the 401.
  router.get('/session', (req, res) => {
    res.json({ user: req.user ?? null });
  });

  router.get('/me', requireUser, (req, res) => {
    res.json({ user: req.user });
  });

  // Same attempt budget as login for this account + IP: a stolen session can't be used to
  // guess the current password quickly.
  const passwordLimiter = loginAttemptLimiter(deps, 'password', (req) => req.user?.email);
  router.post('/password', requireUser, ...passwordLimiter.middleware, async (req, res) => {
    const input = parseInput(changePasswordSchema, req.body);
    const user = await findLoginUser(deps, req.user!.email);
    if (!user || !(await verifyPassword(user.password_hash, input.current_password))) {
      throw validationFailed([{ path: 'current_password', message: 'is incorrect' }]);
    }
    await passwordLimiter.reset(req, req.user!.email);
    // Ends every other session of the user; this one stays signed in.
    await updateUser(deps.pool, user.id, { password: input.new_password }, auditContext(req), {
      keepSessionId: req.sessionId,
    });
    res.status(204).end();
  });

  return router;
}
