// Optional error tracking with Sentry. Without SENTRY_DSN nothing is initialised and nothing
// is sent anywhere. With it, only unhandled errors (500 answers, crashes) are sent, stripped
// of request data: no body, headers, cookies, query string or breadcrumbs can carry patient
// data or credentials out; the event keeps the stack, the route pattern, the request id and
// the user's id.
import * as Sentry from '@sentry/node';
import type { Request } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { routeLabel } from './http-observer.js';
import { unhandledErrors } from './metrics.js';

let enabled = false;

export function isErrorTrackingEnabled(): boolean {
  return enabled;
}

/** Removes everything that could hold patient data or credentials from an event. */
export function scrubEvent<E extends Sentry.Event>(event: E): E {
  delete event.request;
  delete event.extra;
  delete event.breadcrumbs;
  delete event.server_name;
  if (event.user) event.user = event.user.id ? { id: event.user.id } : {};
  for (const ex of event.exception?.values ?? []) {
    for (const frame of ex.stacktrace?.frames ?? []) delete frame.vars;
  }
  return event;
}

export function initErrorTracking(config: Config, logger?: Logger): boolean {
  if (!config.sentryDsn) return false;
  if (enabled) return true;
  Sentry.init({
    dsn: config.sentryDsn,
    environment: config.nodeEnv,
    sendDefaultPii: false,
    // Errors only: no tracing, no automatic instrumentation, no console breadcrumbs.
    skipOpenTelemetrySetup: true,
    defaultIntegrations: false,
    integrations: [
      Sentry.linkedErrorsIntegration(),
      Sentry.onUncaughtExceptionIntegration(),
      Sentry.onUnhandledRejectionIntegration({ mode: 'warn' }),
    ],
    beforeBreadcrumb: () => null,
    beforeSend: (event) => scrubEvent(event),
  });
  enabled = true;
  logger?.info('error tracking enabled (Sentry)');
  return true;
}

/** The app's unhandled-error reporter: log it, count it, and send it when Sentry is on. */
export function unhandledErrorReporter(logger: Logger) {
  return (err: unknown, req: Request) => {
    logger.error({ err, req_id: req.id, method: req.method, route: routeLabel(req) }, 'unhandled error');
    unhandledErrors.inc();
    if (!enabled) return;
    Sentry.withScope((scope) => {
      scope.setTag('route', routeLabel(req));
      scope.setTag('method', req.method);
      if (req.id) scope.setTag('request_id', String(req.id));
      if (req.user) scope.setUser({ id: req.user.id });
      Sentry.captureException(err);
    });
  };
}

/** Sends what is queued (on shutdown). */
export async function flushErrorTracking(timeoutMs = 2000): Promise<void> {
  if (enabled) await Sentry.flush(timeoutMs);
}
