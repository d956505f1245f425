import { Router } from 'express';
import type { AppDeps } from '../deps.js';

export function createHealthRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = {};
    try {
      await deps.pool.query('SELECT 1');
      checks.database = true;
    } catch {
      checks.database = false;
    }
    for (const [name, isReady] of Object.entries(deps.readiness ?? {})) checks[name] = isReady();
    const ready = Object.values(checks).every(Boolean);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}
