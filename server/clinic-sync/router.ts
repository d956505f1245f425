// /v1 in the app: the running engine's router, or, with no local engine, the same access
// policy in front of SYNC_UPSTREAM_URL (proxy mode) or of nothing (503: a test app without sync).
import type { Router } from 'express';
import type { AppDeps } from '../deps.js';
import { createShapeRouter } from '../sync/shape-router.js';
import { CLINIC_TABLES, clinicShapeAccess } from './access.js';

export function createClinicSyncRouter(deps: AppDeps): Router {
  if (deps.sync) return deps.sync.router;
  const { syncUpstreamUrl, syncSecret } = deps.config;
  return createShapeRouter({
    tables: CLINIC_TABLES,
    access: clinicShapeAccess(deps),
    upstream: syncUpstreamUrl
      ? { url: syncUpstreamUrl, secret: syncSecret, pool: deps.pool, logger: deps.logger }
      : undefined,
  });
}
