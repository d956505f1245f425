import type { RequestHandler } from 'express';
import type { AppDeps } from '../deps.js';
import { forbidden, unauthenticated } from '../http/errors.js';
import type { Role } from '../../src/lib/shared/roles.js';
import { readSessionToken, setSessionCookie } from './cookies.js';
import { validateSessionToken } from './sessions.js';

/** Attaches req.user when the cookie holds a valid session; never rejects by itself. */
export function loadSession(deps: AppDeps): RequestHandler {
  const policy = { days: deps.config.sessionDays, maxDays: deps.config.sessionMaxDays };
  return async (req, res, next) => {
    const token = readSessionToken(req);
    if (!token) return next();
    const session = await validateSessionToken(deps.pool, token, policy);
    // Expired, revoked or forged: the request is simply anonymous. The cookie is not cleared
    // here: a request that started with a dead cookie could otherwise wipe the fresh one a
    // concurrent login in another tab has just set.
    if (!session) return next();
    req.user = session.user;
    req.sessionId = session.id;
    // Only a renewal resends the cookie (with the new expiry): a Set-Cookie on every answer
    // would make long-poll and other cacheable answers uncacheable.
    if (session.renewed) setSessionCookie(res, deps.config, token, session.expiresAt);
    next();
  };
}

export const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.user) return next(unauthenticated());
  next();
};

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.user) return next(unauthenticated());
    if (!roles.includes(req.user.role)) return next(forbidden());
    next();
  };
}
