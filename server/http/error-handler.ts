import type { ErrorRequestHandler, RequestHandler } from 'express';
import { RetriesExhaustedError } from '../db/transaction.js';
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
