import { Router } from 'express';
import type { AppDeps } from '../deps.js';

/** GET/DELETE /v1/shape and /v1/health: the Electric shape protocol. */
export function createSyncRouter(_deps: AppDeps): Router {
  const router = Router();
  return router;
}
