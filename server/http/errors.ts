// Named errors with a status, a stable code and a message that is safe to show a client.
// The one error handler (error-handler.ts) turns them into the API's error body.
export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details?: Record<string, unknown>,
    public readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export const unauthenticated = (message = 'Log in to continue.') => new HttpError(401, 'unauthenticated', message);
export const forbidden = (message = 'You may not do this.') => new HttpError(403, 'forbidden', message);
export const notFound = (what = 'Resource') => new HttpError(404, 'not_found', `${what} not found.`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new HttpError(409, code, message, details);
export const unprocessable = (code: string, message: string, details?: Record<string, unknown>) =>
  new HttpError(422, code, message, details);
export const serviceUnavailable = (message: string, retryAfterSeconds = 1) =>
  new HttpError(503, 'unavailable', message, undefined, { 'Retry-After': String(retryAfterSeconds) });

export interface ValidationIssue {
  path: string;
  message: string;
}
export const validationFailed = (issues: ValidationIssue[]) =>
  new HttpError(422, 'validation_failed', `Invalid input: ${issues.map((i) => i.path || '(body)').join(', ')}.`, {
    issues,
  });
