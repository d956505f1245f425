// createApp(deps): the whole HTTP surface in one readable order. It never listens, so tests
// mount it on an ephemeral port with their own database.
import express from 'express';
import './http/request-context.js';
import { createAdminRouter } from './admin/routes.js';
import { createAppointmentsRouter } from './appointments/routes.js';
import { loadSession } from './auth/middleware.js';
import { createAuthRouter } from './auth/routes.js';
import type { AppDeps } from './deps.js';
import { createDevicesRouter } from './devices/routes.js';
import { createDoctorsRouter } from './doctors/routes.js';
import { createAppointmentTypesRouter } from './appointment-types/routes.js';
import { createClinicSyncRouter } from './clinic-sync/router.js';
import { createErrorHandler, notFoundHandler } from './http/error-handler.js';
import { createHealthRouter } from './http/health.js';
import { createOpenApiRouter } from './http/openapi.js';
import { rateLimits } from './http/rate-limit.js';
import { unhandledErrorReporter } from './observability/error-tracking.js';
import { httpLogging } from './observability/http-logging.js';
import { httpObserver } from './observability/http-observer.js';
import { createMetricsRouter } from './observability/routes.js';
import { cors, originCheck, securityHeaders } from './http/security.js';
import { createStaticAppRouter } from './http/static-app.js';
import { createPatientsRouter } from './patients/routes.js';
import { createContactPreferencesRouter } from './reminders/preferences.js';
import { createRemindersRouter } from './reminders/routes.js';
import { createSeriesRouter } from './series/routes.js';
import { createUsersRouter } from './users/routes.js';
import { createWaitlistRouter } from './waitlist/routes.js';

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // One proxy hop (a TLS terminator) may set X-Forwarded-For; req.ip is then the client's.
  app.set('trust proxy', 'loopback');

  app.use(httpLogging(deps.logger, { sample: deps.config.logRequestSample }));
  app.use(httpObserver());
  app.use(securityHeaders(deps.config));
  app.use(cors(deps.config));
  app.use(createHealthRouter(deps));
  app.use(express.json({ limit: '64kb', strict: false }));
  app.use(loadSession(deps));
  app.use(rateLimits(deps));
  app.use(originCheck(deps.config));
  app.use(createMetricsRouter(deps));

  app.use('/v1', createClinicSyncRouter(deps));
  app.use('/api/auth', createAuthRouter(deps));
  app.use('/api/users', createUsersRouter(deps));
  app.use('/api/doctors', createDoctorsRouter(deps));
  app.use('/api/appointment-types', createAppointmentTypesRouter(deps));
  app.use('/api/patients/:id/contact-preferences', createContactPreferencesRouter(deps));
  app.use('/api/patients', createPatientsRouter(deps));
  app.use('/api/appointments', createAppointmentsRouter(deps));
  app.use('/api/series', createSeriesRouter(deps));
  app.use('/api/waitlist', createWaitlistRouter(deps));
  app.use('/api/devices', createDevicesRouter(deps));
  app.use('/api/admin', createAdminRouter(deps));
  app.use('/api/reminders', createRemindersRouter(deps));
  app.use('/api', createOpenApiRouter());
  app.use('/api', notFoundHandler);

  app.use(
    createStaticAppRouter({
      clinicTimeZone: deps.config.clinicTimeZone,
      checkInEarlyMinutes: deps.config.checkInEarlyMinutes,
      buildDir: deps.clientBuildDir,
    }),
  );
  app.use(notFoundHandler);
  app.use(createErrorHandler(unhandledErrorReporter(deps.logger)));
  return app;
}
