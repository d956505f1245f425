// The standalone sync service (`npm run sync-service`): the engine alone, Electric's HTTP API
// for any table the database role can read, guarded by a shared secret (Electric's
// api_secret). A table joins the publication with REPLICA IDENTITY FULL on its first request.
import { timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler, type Router } from 'express';
import { createErrorHandler } from '../http/error-handler.js';
import type { Logger } from '../logger.js';
import type { ShapeAccess } from './access.js';
import { queryOf } from './protocol.js';
import type { SyncService } from './service.js';
import { buildOpenShape } from './shape-request.js';
import { createShapeRouter } from './shape-router.js';

const EXPOSED =
  'electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after';

function secretMatches(given: string | null, secret: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Electric's policy: `secret` (or `api_secret`) must match, else 401; then the client's own
 * where/columns, nothing added; answers with Electric's `public` cache headers. No secret: open.
 */
export function secretAccess(secret: string | undefined): ShapeAccess {
  const guard: RequestHandler = (req, res, next) => {
    if (!secret) return next();
    const q = queryOf(req);
    if (secretMatches(q.get('secret') ?? q.get('api_secret'), secret)) return next();
    res.status(401).json({ message: 'Unauthorized - Invalid API secret' });
  };
  return { reader: guard, admin: guard, authorize: (_req, r, info) => buildOpenShape(info, r.client) };
}

/** The HTTP app around an engine's router: CORS for browsers on other origins, JSON 404s. */
export function standaloneHttpApp(router: Router, logger: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.set({
      'access-control-allow-origin': req.get('origin') ?? '*',
      'access-control-expose-headers': EXPOSED,
      'access-control-allow-methods': 'GET, HEAD, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'if-none-match, traceparent, authorization, content-type',
    });
    next();
  });
  app.use('/v1', router);
  app.use((_req, res) => void res.status(404).json({ message: 'Not found' }));
  app.use(createErrorHandler((err) => logger.error({ err }, 'unhandled error')));
  return app;
}

/** The standalone app over a running service (the service is started and stopped by the caller). */
export function createStandaloneApp(
  service: SyncService,
  opts: { secret: string | undefined; logger: Logger },
): express.Express {
  const router = createShapeRouter({ service, tables: 'any-readable', access: secretAccess(opts.secret) });
  return standaloneHttpApp(router, opts.logger);
}
