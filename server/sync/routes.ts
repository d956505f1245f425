// /v1/shape and /v1/health in the app: the Electric shape protocol behind our sessions. The
// server builds each shape from the user's role (shape-rules.ts); with SYNC_UPSTREAM_URL the
// same requests go to an upstream Electric-compatible service instead (proxy.ts).
import { Router, type Request, type Response } from 'express';
import { requireRole, requireUser } from '../auth/middleware.js';
import { appendAudit, auditContext } from '../audit/log.js';
import { withTransaction } from '../db/transaction.js';
import type { AppDeps } from '../deps.js';
import { forbidden } from '../http/errors.js';
import { parseShapeRequest, ProtocolError, queryOf, sendBadRequest, type SubsetParams } from './protocol.js';
import { proxyShape } from './proxy.js';
import { serveShape, type DeliveredAnswer } from './serve.js';
import { sessionRequests } from './session-ends.js';
import { ClientShapeLimitError, ClientShapeLimits } from './client-shape-limits.js';
import type { SyncService } from './service.js';
import type { ShapeDef } from './shape-def.js';
import { buildUserShape, ShapeRequestError, SYNCED_TABLES } from './shape-rules.js';

declare module '../deps.js' {
  interface AppDeps {
    /** The running sync service (absent in proxy mode or when a test runs without it). */
    sync?: SyncService;
  }
}

const PATIENT_DATA = new Set(['patients', 'appointments']);
const ALLOW = 'GET, HEAD, POST, DELETE, OPTIONS';

export function createSyncRouter(deps: AppDeps): Router {
  const router = Router();
  const { perUser, perTable, idleMinutes } = deps.config.syncClientShapes;
  const limits = new ClientShapeLimits({ perUser, perTable, idleMs: idleMinutes * 60_000 });
  router.options('/shape', (_req, res) => {
    res.set({ allow: ALLOW, 'access-control-allow-methods': ALLOW });
    res.status(204).end();
  });
  router.get('/health', (_req, res) => {
    const active = deps.config.syncUpstreamUrl ? true : !!deps.sync?.streaming;
    res.set('cache-control', 'no-store');
    res.status(active ? 200 : 503).json({ status: active ? 'active' : 'starting' });
  });
  router.get('/shape', requireUser, (req, res) => getShape(deps, limits, req, res));
  // Subset snapshots with their parameters in a JSON body (Electric's POST /v1/shape).
  router.post('/shape', requireUser, (req, res) => getShape(deps, limits, req, res));
  router.delete('/shape', requireRole('admin'), (req, res) => deleteShape(deps, req, res));
  return router;
}

async function getShape(deps: AppDeps, limits: ClientShapeLimits, req: Request, res: Response) {
  res.vary('Cookie');
  let r;
  try {
    r = parseShapeRequest(queryOf(req), req.method === 'POST' ? (req.body ?? {}) : undefined);
  } catch (err) {
    if (err instanceof ProtocolError) return sendBadRequest(res, err.field, err.message);
    throw err;
  }
  if (r.schema !== 'public' || !(SYNCED_TABLES as readonly string[]).includes(r.table)) {
    const info = deps.sync ? await deps.sync.tableInfo(r.schema, r.table) : null;
    if (info || !deps.sync) throw forbidden(`You may not sync ${r.schema}.${r.table}.`);
    return sendBadRequest(res, 'table', `Table "${r.schema}"."${r.table}" does not exist.`);
  }
  const service = deps.sync;
  const info = service ? await service.tableInfo(r.schema, r.table) : null;
  let def;
  try {
    if (!info && !deps.config.syncUpstreamUrl) throw new ShapeRequestError(400, 'table', 'Unknown table.');
    def = buildUserShape(req.user!, info ?? (await upstreamInfo(deps, r.table)), r.client, deps.config.clinicTimeZone);
  } catch (err) {
    if (!(err instanceof ShapeRequestError)) throw err;
    if (err.status === 403) throw forbidden(err.message);
    return sendBadRequest(res, err.field, err.message);
  }
  // A subset snapshot of appointments may reach the visits before the window (a patient's
  // earlier history on the patient page), within every other rule of the role.
  const subsetScope =
    r.subset && r.table === 'appointments' && info
      ? buildUserShape(req.user!, info, r.client, deps.config.clinicTimeZone, new Date(), { window: false })
      : undefined;
  const patientData = PATIENT_DATA.has(r.table);
  if (deps.config.syncUpstreamUrl) {
    // The upstream's answers are not seen here: every patient-data request is audited.
    if (patientData) await auditRead(deps, req, r.table, def.whereText, def.columns, undefined, r.offset.lsn < 0n);
    return proxyShape(deps, req, res, r, def);
  }
  if (!service) {
    res.set('retry-after', '1');
    return void res.status(503).json({ message: 'The sync service is not running.' });
  }
  try {
    // A subset snapshot creates no shape.
    if (!r.subset) limits.admit(req.user!.id, def, service.registry);
  } catch (err) {
    if (!(err instanceof ClientShapeLimitError)) throw err;
    res.set({ 'cache-control': 'no-store', 'retry-after': '60' });
    return void res.status(429).json({ message: err.message, errors: { [err.field]: [err.message] } });
  }
  const session = sessionRequests.track(req.sessionId!);
  try {
    await serveShape(service, req, res, r, info!, def, {
      // Patient data never stays in the browser's HTTP cache (a shared tablet after logout);
      // the rest is private to the session (Vary: Cookie).
      cache: patientData ? 'no-store' : 'private',
      revoked: session.signal,
      subsetScope,
      // Every answer that carries patient rows is audited, one row per response, whatever
      // its offset (a resumed read with a learned handle streams as much as a fresh one).
      beforeSend: patientData
        ? (a) =>
            r.subset
              ? auditSubset(deps, req, r.table, subsetScope ?? def, r.subset, a)
              : auditRead(deps, req, r.table, def.whereText, def.columns, a, r.offset.lsn < 0n)
        : undefined,
    });
  } finally {
    session.release();
  }
}

/** In proxy mode there is no local service: read the column catalog from our own pool. */
async function upstreamInfo(deps: AppDeps, table: string) {
  const { loadTableInfo } = await import('./table-info.js');
  const info = await loadTableInfo(deps.pool, 'public', table);
  if (!info) throw new ShapeRequestError(400, 'table', 'Unknown table.');
  return info;
}

/** `sync.subscribe` for a first request (offset=-1), `sync.read` for any later one. */
async function auditRead(
  deps: AppDeps,
  req: Request,
  table: string,
  where: string,
  columns: string[],
  answer: DeliveredAnswer | undefined,
  first: boolean,
) {
  await withTransaction(deps.pool, (tx) =>
    appendAudit(tx, {
      ...auditContext(req),
      action: first ? 'sync.subscribe' : 'sync.read',
      entity: table,
      details: answer
        ? { where, columns, handle: answer.handle, from: answer.from, to: answer.to, messages: answer.messages }
        : { where, columns },
    }),
  );
}

/** `sync.subset`: the scope it read, the subset's own filter and paging, the rows sent. */
async function auditSubset(
  deps: AppDeps,
  req: Request,
  table: string,
  scope: ShapeDef,
  subset: SubsetParams,
  answer: DeliveredAnswer,
) {
  await withTransaction(deps.pool, (tx) =>
    appendAudit(tx, {
      ...auditContext(req),
      action: 'sync.subset',
      entity: table,
      details: {
        where: scope.whereText,
        columns: scope.columns,
        subset: {
          where: subset.where ?? null,
          params: subset.params,
          order_by: subset.orderBy ?? null,
          limit: subset.limit ?? null,
          offset: subset.offset ?? null,
        },
        messages: answer.messages,
      },
    }),
  );
}

async function deleteShape(deps: AppDeps, req: Request, res: Response) {
  const q = queryOf(req);
  const table = q.get('table');
  const handle = q.get('handle');
  if (!table && !handle) return sendBadRequest(res, 'table', "can't be blank when handle is not given");
  const service = deps.sync;
  if (service) {
    for (const s of service.registry.all()) {
      const name = s.runtime.shape.table;
      const tableHit = !table || table === name || table === `public.${name}`;
      if (tableHit && (!handle || s.handle === handle)) await service.deleteShape(s);
    }
  }
  res.status(202).end();
}
