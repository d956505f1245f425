import { Router } from 'express';
import type { AppDeps } from '../deps.js';

/**
 * /api/admin: admin-only screens' data. Each part lives in its own feature folder and is
 * mounted here: the audit trail (server/audit/routes.ts) and fleet sync status
 * (server/admin/sync-status.ts).
 */
export function createAdminRouter(_deps: AppDeps): Router {
  const router = Router();
  return router;
}
