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
    if (session) {
      req.user = session.user;
      req.sessionId = session.id;
      // Refresh the cookie's expiry so the browser keeps it as long as the server does.
      setSessionCookie(res, deps.config, token, session.expiresAt);
    }
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

/** All staff roles: any logged-in user. */
export const STAFF: Role[] = ['admin', 'receptionist', 'clinician'];
