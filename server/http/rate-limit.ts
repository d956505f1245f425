// Abuse control. Hard caps per hour (express-rate-limit) with growing delays before them
// (express-slow-down): anonymous requests per IP, signed-in requests per user, the device
// outbox's writes (those carrying an Idempotency-Key) and the sync long-polls per user on
// budgets of their own, and password attempts per account + IP.
// Only /api and /v1 are limited: the static app (dozens of hashed files on a first visit)
// and the /healthz, /readyz and /metrics probes are not.
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import { slowDown } from 'express-slow-down';
import type { AppDeps } from '../deps.js';
import { HttpError } from './errors.js';
import { createRateLimitStore } from './rate-limit-store.js';

const HOUR_MS = 60 * 60 * 1000;
export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
/** Failed logins (per account + IP) that pass undelayed; the next ones wait longer and longer. */
export const LOGIN_FREE_FAILURES = 2;
/** Share of a cap that passes undelayed before express-slow-down starts adding delays. */
const SLOW_DOWN_FROM = 0.8;

type LimiterName = 'anon' | 'user' | 'writes' | 'sync' | 'login';

const isLimitedPath = (req: Request) => req.path.startsWith('/api/') || req.path.startsWith('/v1/');
/**
 * A login has limiters of its own (per account + address, and failures per address). The
 * anonymous cap leaves it alone: many users behind one NAT address would otherwise lock the
 * whole clinic out of logging in once that address's anonymous budget was spent.
 */
const isLoginRequest = (req: Request) => req.method === 'POST' && req.path === '/api/auth/login';
/** The sync long-polls: a device holds ~6 live shapes re-polling every 20 s. */
const isShapeRequest = (req: Request) => req.path === '/v1/shape';
/**
 * A write the device outbox sends: every one carries its Idempotency-Key, so a replay after a
 * lost answer is applied once. Writes a device queued offline arrive together when it comes
 * back; made over hours, they would otherwise spend the user's hourly budget in one burst
 * (and be slowed down from 80 % of it) in the hour of the reconnection.
 */
const isKeyedWrite = (req: Request) =>
  req.method !== 'GET' && req.method !== 'HEAD' && req.get('idempotency-key') !== undefined;
const clientIp = (req: Request) => ipKeyGenerator(req.ip ?? 'unknown');

/** The API's 429 body via the one error handler, with Retry-After in whole seconds. */
function limitExceeded(name: LimiterName, property: string): Options['handler'] {
  return (req, res: Response, next) => {
    const info = (req as unknown as Record<string, { resetTime?: Date } | undefined>)[property];
    const resetAt = info?.resetTime?.getTime() ?? Date.now() + 60_000;
    const seconds = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000));
    res.locals.rateLimiter = name; // read by the metrics observer
    next(
      new HttpError(
        429,
        'rate_limited',
        'Too many requests; try again later.',
        { retry_after_seconds: seconds },
        {
          'Retry-After': String(seconds),
        },
      ),
    );
  };
}

/** Delay growing linearly from 0 at `delayAfter` to maxDelayMs at the cap. */
export function capDelay(used: number, delayAfter: number, cap: number, maxDelayMs: number): number {
  if (used <= delayAfter) return 0;
  return Math.round((maxDelayMs * (used - delayAfter)) / Math.max(1, cap - delayAfter));
}

/** A cap plus the slow-down in front of it, for requests that `applies` to, keyed by `key`. */
function cappedBudget(
  deps: AppDeps,
  name: LimiterName,
  opts: {
    cap: number;
    windowMs: number;
    key: (req: Request) => string;
    applies: (req: Request) => boolean;
    slow: boolean;
  },
): RequestHandler[] {
  const { maxDelayMs } = deps.config.rateLimits;
  const delayAfter = Math.floor(opts.cap * SLOW_DOWN_FROM);
  const common = {
    windowMs: opts.windowMs,
    keyGenerator: opts.key,
    skip: (req: Request) => !isLimitedPath(req) || !opts.applies(req),
    passOnStoreError: true,
    logger: {
      error: (err: unknown, msg?: string) => deps.logger.error({ err }, msg),
      warn: (err: unknown, msg?: string) => deps.logger.warn({ err }, msg),
    },
  };
  const property = `rateLimit_${name}`;
  const cap = rateLimit({
    ...common,
    limit: opts.cap,
    store: createRateLimitStore(deps, `${name}`),
    requestPropertyName: property,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: limitExceeded(name, property),
  });
  if (!opts.slow || maxDelayMs === 0) return [cap];
  const slow = slowDown({
    ...common,
    store: createRateLimitStore(deps, `${name}-slow`),
    requestPropertyName: `slowDown_${name}`,
    delayAfter,
    delayMs: (used) => capDelay(used, delayAfter, opts.cap, maxDelayMs),
    maxDelayMs,
  });
  // The cap answers first, so a client over it is refused at once rather than delayed.
  return [cap, slow];
}

/** The per-IP, per-user, keyed-writes and sync budgets, in that order; mount once after loadSession. */
export function rateLimits(deps: AppDeps): RequestHandler[] {
  const limits = deps.config.rateLimits;
  const userKey = (req: Request) => req.user!.id;
  return [
    ...cappedBudget(deps, 'anon', {
      cap: limits.anonPerHour,
      windowMs: HOUR_MS,
      key: clientIp,
      applies: (req) => !req.user && !isLoginRequest(req),
      slow: true,
    }),
    ...cappedBudget(deps, 'user', {
      cap: limits.userPerHour,
      windowMs: HOUR_MS,
      key: userKey,
      applies: (req) => !!req.user && !isShapeRequest(req) && !isKeyedWrite(req),
      slow: true,
    }),
    // Bounded like the hourly cap (a client adding a key to every write gets this budget and
    // no more), but apart from it: a device's replay is not refused or slowed by the user's
    // reads that hour, and its burst leaves their other requests their own budget.
    ...cappedBudget(deps, 'writes', {
      cap: limits.writesPerHour,
      windowMs: HOUR_MS,
      key: userKey,
      applies: (req) => !!req.user && isKeyedWrite(req),
      slow: true,
    }),
    // Delaying a long-poll achieves nothing: a hard cap only.
    ...cappedBudget(deps, 'sync', {
      cap: limits.syncPerHour,
      windowMs: HOUR_MS,
      key: userKey,
      applies: (req) => !!req.user && isShapeRequest(req),
      slow: false,
    }),
  ];
}

/** Login delay: from the 3rd failure on, a quarter of maxDelayMs more per failure. */
export function loginDelay(failures: number, maxDelayMs: number): number {
  return Math.min(maxDelayMs, Math.round(((failures - LOGIN_FREE_FAILURES) * maxDelayMs) / 4));
}

export interface LoginAttemptLimiter {
  /** Middleware for routes that check a password; count every attempt. */
  middleware: RequestHandler[];
  /** Forgets the account + IP's failures after a correct password. */
  reset(req: Request, email: string): Promise<void>;
}

/**
 * Password attempts per account + IP: at most RATE_LIMIT_LOGIN_FAILURES per 15 minutes,
 * slowed down from the 3rd. Every attempt counts until one succeeds, which resets the count.
 * `emailOf` names the account (the body's email at login, the user's own when changing it).
 */
export function loginAttemptLimiter(
  deps: AppDeps,
  scope: string,
  emailOf: (req: Request) => unknown,
): LoginAttemptLimiter {
  const { loginFailures, maxDelayMs } = deps.config.rateLimits;
  const keyFor = (req: Request, email: unknown) =>
    `${clientIp(req)}|${typeof email === 'string' ? email.trim().toLowerCase().slice(0, 254) : ''}`;
  const key = (req: Request) => keyFor(req, emailOf(req));
  const property = `rateLimit_${scope}`;
  const cap = rateLimit({
    windowMs: LOGIN_WINDOW_MS,
    limit: loginFailures,
    keyGenerator: key,
    store: createRateLimitStore(deps, scope),
    requestPropertyName: property,
    standardHeaders: false,
    legacyHeaders: false,
    passOnStoreError: true,
    handler: limitExceeded('login', property),
  });
  const slow = slowDown({
    windowMs: LOGIN_WINDOW_MS,
    keyGenerator: key,
    store: createRateLimitStore(deps, `${scope}-slow`),
    requestPropertyName: `slowDown_${scope}`,
    delayAfter: LOGIN_FREE_FAILURES,
    delayMs: (used) => loginDelay(used, maxDelayMs),
    maxDelayMs,
    passOnStoreError: true,
  });
  return {
    middleware: [cap, slow],
    async reset(req, email) {
      const k = keyFor(req, email);
      await Promise.all([Promise.resolve(cap.resetKey(k)), Promise.resolve(slow.resetKey(k))]);
    },
  };
}

/**
 * Failed logins per address, whatever the account: password spraying from one address (which
 * the anonymous cap no longer bounds) is slowed down from the RATE_LIMIT_LOGIN_FAILURES-th
 * failure on, up to RATE_LIMIT_MAX_DELAY_MS each. Only failures count (a success takes one
 * back), and it delays rather than refuses, so colleagues behind the same address who type
 * their password right are at worst slowed, never locked out.
 */
export function loginFailuresPerAddress(deps: AppDeps): RequestHandler {
  const { loginFailures, maxDelayMs } = deps.config.rateLimits;
  return slowDown({
    windowMs: LOGIN_WINDOW_MS,
    keyGenerator: clientIp,
    store: createRateLimitStore(deps, 'login-address-slow'),
    requestPropertyName: 'slowDown_loginAddress',
    delayAfter: loginFailures,
    delayMs: (used) => Math.min(maxDelayMs, Math.round(((used - loginFailures) * maxDelayMs) / 4)),
    maxDelayMs,
    skipSuccessfulRequests: true,
    passOnStoreError: true,
  });
}
