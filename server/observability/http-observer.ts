// One early middleware that watches every response finish and turns it into metrics: request
// duration by route pattern and status, booking outcomes, rate-limit hits, and a short list of
// recently rejected writes for the admin sync page. Deriving these from the HTTP answers means
// the booking and rate-limit code need no metric calls of their own, and the numbers count
// exactly what clients were told.
import type { Request, RequestHandler, Response } from 'express';
import { bookingOutcomes, httpDuration, rateLimitHits } from './metrics.js';
import { recordRejectedWrite } from './rejected-writes.js';

const ROUTE_BASE = Symbol('routeBase');
type Tracked = Request & { [ROUTE_BASE]?: string };

/**
 * Remembers the mount path at the moment the router matches a route: Express resets
 * req.baseUrl when an error leaves the router, so at 'finish' it may be gone.
 */
function trackRouteBase(req: Tracked) {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set(value: unknown) {
      route = value;
      req[ROUTE_BASE] = req.baseUrl ?? '';
    },
  });
}

/** The matched route pattern ('/api/appointments/:id/cancel'), never the raw URL. */
export function routeLabel(req: Request): string {
  const pattern = req.route?.path;
  if (typeof pattern === 'string')
    return (((req as Tracked)[ROUTE_BASE] ?? req.baseUrl ?? '') + pattern).replace(/(.)\/$/, '$1');
  const p = req.originalUrl.split('?', 1)[0] ?? '';
  return p.startsWith('/api/') || p.startsWith('/v1/') ? 'unmatched' : 'static';
}

// Booking = create or reschedule (whatever the route parameter is called).
const BOOKING_ROUTE = /^\/api\/appointments(\/:[^/]+\/reschedule)?$/;
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

function countBooking(req: Request, res: Response, route: string) {
  if (req.method !== 'POST' || !BOOKING_ROUTE.test(route)) return;
  const status = res.statusCode;
  const code = (res.locals.errorCode as string | undefined) ?? String(status);
  // An answer replayed from its idempotency key is not a new booking.
  if (res.getHeader('idempotent-replayed') === 'true') bookingOutcomes.inc({ outcome: 'replayed', reason: '' });
  else if (status === 201) bookingOutcomes.inc({ outcome: 'created', reason: '' });
  else if (status === 409 && (code === 'slot_conflict' || code === 'patient_conflict'))
    bookingOutcomes.inc({ outcome: 'conflict', reason: code });
  else if (status >= 400 && status < 500 && status !== 401 && status !== 429)
    bookingOutcomes.inc({ outcome: 'rejected', reason: code });
}

function limiterName(req: Request): string {
  const p = req.originalUrl;
  if (p.startsWith('/api/auth/login')) return 'login';
  if (p.startsWith('/v1/')) return 'sync';
  return req.user ? 'user' : 'anon';
}

/** A user's data change refused with a final 4xx (not auth, not rate limits, not heartbeats). */
function isRejectedWrite(req: Request, status: number, route: string): boolean {
  if (!WRITE_METHODS.has(req.method) || !req.user) return false;
  if (status < 400 || status >= 500 || status === 401 || status === 408 || status === 429) return false;
  return route.startsWith('/api/') && !route.startsWith('/api/auth') && !route.startsWith('/api/devices');
}

export function httpObserver(): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    trackRouteBase(req);
    // Remember the error code of an error body, so outcomes can name their reason.
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const code = (body as { error?: { code?: unknown } } | null)?.error?.code;
      if (res.statusCode >= 400 && typeof code === 'string') res.locals.errorCode = code;
      return json(body);
    };
    res.once('finish', () => {
      const route = routeLabel(req);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      countBooking(req, res, route);
      if (res.statusCode === 429)
        rateLimitHits.inc({ limiter: (res.locals.rateLimiter as string) ?? limiterName(req) });
      const status = res.statusCode;
      if (isRejectedWrite(req, status, route)) {
        recordRejectedWrite({
          at: new Date().toISOString(),
          user_id: req.user!.id,
          method: req.method,
          route,
          status,
          code: (res.locals.errorCode as string | undefined) ?? String(status),
        });
      }
    });
    next();
  };
}
