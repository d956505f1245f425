import type { ErrorRequestHandler, RequestHandler } from 'express';
import { sqlState } from '../db/sqlstate.js';
import { RetriesExhaustedError } from '../db/transaction.js';
import { DATABASE_RETRY_AFTER_SECONDS, isDatabaseUnavailable } from '../db/unavailable.js';
import { HttpError } from './errors.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}.`));
};

/**
 * The only place errors become responses. Known errors keep their status and safe message;
 * anything else is logged and answered as a bare 500: no stack trace or SQL text leaves.
 */
export function createErrorHandler(
  logError: (err: unknown, req: Parameters<RequestHandler>[0]) => void,
): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    let httpError: HttpError;
    if (err instanceof HttpError) {
      httpError = err;
    } else if (err instanceof RetriesExhaustedError) {
      httpError = new HttpError(503, 'unavailable', 'The server is busy; try again.', undefined, {
        'Retry-After': '1',
      });
    } else if (isDatabaseUnavailable(err)) {
      // The database is down or restarting (the embedded one is restarted by the server): the
      // request was not wrong, so tell the client to come back rather than that it failed.
      httpError = new HttpError(
        503,
        'database_unavailable',
        'The database is unavailable; try again shortly.',
        undefined,
        { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
      );
    } else if (isDataException(err)) {
      // PostgreSQL class 22 (a value it cannot take: bad text, out-of-range number or date).
      // Validation refuses these by field first; whatever slips past is still the caller's
      // input, so a 4xx without the database's text (it can repeat the value).
      httpError = new HttpError(422, 'invalid_value', 'The request contains a value that cannot be stored.');
    } else if (isBodyParserError(err)) {
      httpError = bodyParserError(err);
    } else {
      logError(err, req);
      httpError = new HttpError(500, 'internal', 'Something went wrong on our side.');
    }
    if (httpError.headers) res.set(httpError.headers);
    const body: ErrorBody = { error: { code: httpError.code, message: httpError.message } };
    if (httpError.details) body.error.details = httpError.details;
    res.status(httpError.status).json(body);
  };
}

function isDataException(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && /^22[0-9A-Z]{3}$/.test(code) && err instanceof Error && 'severity' in err;
}

interface BodyParserError {
  type: string;
  status: number;
}
function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && 'status' in err;
}
function bodyParserError(err: BodyParserError): HttpError {
  switch (err.type) {
    case 'entity.too.large':
      return new HttpError(413, 'payload_too_large', 'The request body is too large (limit 64 KiB).');
    case 'entity.parse.failed':
      return new HttpError(400, 'invalid_json', 'The request body is not valid JSON.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'unsupported_media_type', 'Send UTF-8 JSON.');
    default:
      return new HttpError(
        err.status >= 400 && err.status < 500 ? err.status : 400,
        'bad_request',
        'Malformed request.',
      );
  }
}
