import { Router } from 'express';
import { appendAudit, auditContext } from '../audit/log.js';
import type { AppDeps } from '../deps.js';
import { withTransaction } from '../db/transaction.js';
import { HttpError } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import { loginSchema } from '../../src/lib/shared/auth-schemas.js';
import { clearSessionCookie, setSessionCookie } from './cookies.js';
import { requireUser } from './middleware.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
import { createSession, invalidateSession } from './sessions.js';

const invalidCredentials = () => new HttpError(401, 'invalid_credentials', 'Email or password is incorrect.');

export function createAuthRouter(deps: AppDeps): Router {
  const router = Router();
  const policy = { days: deps.config.sessionDays, maxDays: deps.config.sessionMaxDays };

  router.post('/login', async (req, res) => {
    const { email, password } = parseInput(loginSchema, req.body);
    const { rows } = await deps.pool.query<{
      id: string;
      email: string;
      full_name: string;
      role: string;
      doctor_id: string | null;
      password_hash: string;
      active: boolean;
    }>('SELECT id, email, full_name, role, doctor_id, password_hash, active FROM users WHERE lower(email) = lower($1)', [
      email,
    ]);
    const user = rows[0];
    // Verify against a dummy hash for unknown emails: both failures cost the same time.
    const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || !user.active) throw invalidCredentials();
    const session = await withTransaction(deps.pool, async (tx) => {
      const created = await createSession(tx, user.id, policy);
      await appendAudit(tx, { ...auditContext(req), actorId: user.id, action: 'login', entity: 'user', entityId: user.id });
      return created;
    });
    setSessionCookie(res, deps.config, session.token, session.expiresAt);
    res.json({
      user: { id: user.id, email: user.email, full_name: user.full_name, role: user.role, doctor_id: user.doctor_id },
    });
  });

  router.post('/logout', requireUser, async (req, res) => {
    await invalidateSession(deps.pool, req.sessionId!);
    clearSessionCookie(res, deps.config);
    res.status(204).end();
  });

  router.get('/me', requireUser, (req, res) => {
    res.json({ user: req.user });
  });

  return router;
}
