// One log line per request (pino-http): request id, method, path, matched route, user id,
// status and duration. Ordinary requests are logged at debug, plus a sample of them at info
// (LOG_REQUEST_SAMPLE), so a day of light use does not write thousands of lines; failures
// (5xx) are always logged, at error. Deliberately left out: headers (cookies, Authorization), query strings
// (a patient search or a shape's where/params would land in the log) and bodies.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.js';
import { routeLabel } from './http-observer.js';

const INCOMING_ID = /^[A-Za-z0-9._-]{8,64}$/;
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0] ?? '';
}

/** `sample`: share of ordinary requests logged at info (0 = none, 1 = all). */
export function httpLogging(logger: Logger, { sample = 0, random = Math.random } = {}): RequestHandler {
  const middleware = pinoHttp({
    logger,
    // Keep a well-formed id from a proxy in front of us so one request has one id end to end.
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { id?: string; originalUrl?: string }) => ({
        id: req.id,
        method: req.method,
        path: pathOf(req.originalUrl ?? req.url),
      }),
      res: (res: ServerResponse) => ({ status: res.statusCode }),
    },
    customAttributeKeys: { responseTime: 'duration_ms' },
    // Called once when the request starts (nothing known yet) and once when it ends.
    customProps(req: IncomingMessage, res: ServerResponse) {
      if (!res.headersSent) return {};
      const r = req as Request;
      return { route: routeLabel(r), user_id: r.user?.id ?? null };
    },
    customLogLevel(req: IncomingMessage, res: ServerResponse, err?: Error) {
      if (err || res.statusCode >= 500) return 'error';
      if (PROBES.has(pathOf(req.url))) return 'debug';
      return sample > 0 && random() < sample ? 'info' : 'debug';
    },
    // The real error is logged once by the error handler ('unhandled error'); pino-http's own
    // placeholder error ("failed with status code 500") would only add a misleading stack.
    customErrorObject: (_req: IncomingMessage, _res: ServerResponse, _err: Error, value: Record<string, unknown>) => {
      const { err: _placeholder, ...rest } = value;
      return rest;
    },
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
  });
  return middleware as unknown as RequestHandler;
}
