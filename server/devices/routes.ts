import { Router } from 'express';
import { requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { parseInput } from '../http/validate.js';
import { deviceHeartbeats, deviceOutboxRejects } from '../observability/metrics.js';
import { heartbeatSchema } from '../../src/lib/shared/device-schemas.js';
import { upsertHeartbeat } from './queries.js';

/** POST /api/devices/heartbeat: every app instance reports its sync and outbox state. */
export function createDevicesRouter(deps: AppDeps): Router {
  const router = Router();

  router.post('/heartbeat', requireUser, async (req, res) => {
    const heartbeat = parseInput(heartbeatSchema, req.body);
    const userAgent = req.get('user-agent')?.slice(0, 512) ?? null;
    const { previousRejected } = await upsertHeartbeat(deps.pool, req.user!.id, heartbeat, userAgent);
    deviceHeartbeats.inc();
    const newRejects = heartbeat.outbox_rejected - (previousRejected ?? 0);
    if (newRejects > 0) deviceOutboxRejects.inc(newRejects);
    res.status(204).end();
  });

  return router;
}
