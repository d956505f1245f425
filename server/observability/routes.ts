// GET /metrics in Prometheus text format, for an admin session or a scraper holding
// `Authorization: Bearer $METRICS_TOKEN`. Anyone else: 401 (no credentials) or 403.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { AppDeps } from '../deps.js';
import { forbidden, unauthenticated } from '../http/errors.js';
import { liveShapeRequests, registry, shapeLogBytes } from './metrics.js';
import { readReplicationState } from './replication.js';
import { updateReplicationGauges } from './sampler.js';

// Compare digests, so the comparison takes the same time whatever the token's length.
const digest = (s: string) => createHash('sha256').update(s).digest();

function bearerMatches(req: Request, token: string | undefined): boolean {
  const header = req.get('authorization');
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m || !token) return false;
  return timingSafeEqual(digest(m[1]!), digest(token));
}

export function createMetricsRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const byToken = bearerMatches(req, deps.config.metricsToken);
    if (!byToken) {
      if (!req.user) throw unauthenticated('Send an admin session or the metrics bearer token.');
      if (req.user.role !== 'admin') throw forbidden();
    }
    // Fresh replication gauges on every scrape; a database outage must not hide the rest.
    await readReplicationState(deps.pool, deps.config.syncSlotName)
      .then((state) => {
        const lag = deps.replicationSampler?.lagSeconds(state, Date.parse(state.read_at)) ?? null;
        updateReplicationGauges(state, lag);
      })
      .catch(() => {});
    if (deps.syncStatus) await refreshShapeGauges(deps).catch(() => {});
    res.set('Content-Type', registry.contentType);
    res.set('Cache-Control', 'no-store');
    res.send(await registry.metrics());
  });
  return router;
}

/** Live requests and log sizes by table, from the sync service's own report. */
async function refreshShapeGauges(deps: AppDeps) {
  const shapes = (await deps.syncStatus!()) ?? [];
  const live = new Map<string, number>();
  const bytes = new Map<string, number>();
  for (const s of shapes) {
    live.set(s.table, (live.get(s.table) ?? 0) + s.live_requests);
    bytes.set(s.table, (bytes.get(s.table) ?? 0) + (s.log_bytes ?? 0));
  }
  liveShapeRequests.reset();
  shapeLogBytes.reset();
  for (const [table, n] of live) liveShapeRequests.set({ table }, n);
  for (const [table, n] of bytes) shapeLogBytes.set({ table }, n);
}
