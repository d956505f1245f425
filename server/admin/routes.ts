import { Router } from 'express';
import { createAuditRouter } from '../audit/routes.js';
import { requireRole } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { createRemindersAdminRouter } from '../reminders/routes.js';
import { createSyncStatusRouter } from './sync-status.js';

/**
 * /api/admin: admin-only screens' data. Each part lives in its own feature folder and is
 * mounted here: the audit trail (server/audit/routes.ts) and fleet sync status
 * (server/admin/sync-status.ts).
 */
export function createAdminRouter(deps: AppDeps): Router {
  const router = Router();
  router.use('/audit', requireRole('admin'), createAuditRouter(deps));
  router.use('/reminders', requireRole('admin'), createRemindersAdminRouter(deps));
  router.use(createSyncStatusRouter(deps));
  return router;
}
