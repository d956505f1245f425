// The engine's HTTP face, mounted under /v1: GET /shape (POST for subset snapshots), DELETE
// /shape, GET /health, in Electric's protocol. Who may see what comes from the access policy
// (access.ts); shapes are served by a running SyncService, or forwarded to an upstream.
import express, { Router, type Request, type Response } from 'express';
import type { Pool } from '../db/pool.js';
import { forbidden } from '../http/errors.js';
import type { Logger } from '../logger.js';
import type { ShapeAccess, TableScope } from './access.js';
import { ClientShapeLimitError, ClientShapeLimits } from './client-shape-limits.js';
import { parseShapeRequest, ProtocolError, queryOf, sendBadRequest, type ShapeRequest } from './protocol.js';
import { proxyShape } from './proxy.js';
import { ensureReplicated } from './publication.js';
import { serveShape } from './serve.js';
import type { SyncService } from './service.js';
import type { ShapeDef } from './shape-def.js';
import { ShapeRequestError } from './shape-request.js';
import { loadTableInfo, type TableInfo } from './table-info.js';
import { subqueriesOf } from './where-parser.js';

const ALLOW = 'GET, HEAD, POST, DELETE, OPTIONS';

export interface ShapeRouterOptions {
  access: ShapeAccess;
  tables: TableScope;
  /** The running service that serves the shapes. */
  service?: SyncService;
  /**
   * Forwards instead to an Electric-compatible service (the app's SYNC_UPSTREAM_URL); table
   * columns then come from `pool`. With neither service nor upstream, shape requests get 503.
   */
  upstream?: { url: string; secret?: string; pool: Pool; logger: Logger };
}

export function createShapeRouter(opts: ShapeRouterOptions): Router {
  const { access, service, upstream } = opts;
  if (opts.tables === 'any-readable' && !service) throw new Error('serving any readable table needs a service');
  const limits = access.limits ? new ClientShapeLimits(access.limits) : undefined;
  const router = Router();
  router.options('/shape', (_req, res) => {
    res.set({ allow: ALLOW, 'access-control-allow-methods': ALLOW });
    res.status(204).end();
  });
  router.get('/health', (_req, res) => {
    const active = upstream ? true : !!service?.streaming;
    res.set('cache-control', 'no-store');
    res.status(active ? 200 : 503).json({ status: active ? 'active' : 'starting' });
  });
  const getShape = (req: Request, res: Response) => serveRequest(opts, limits, req, res);
  router.get('/shape', access.reader, getShape);
  // Subset snapshots with their parameters in a JSON body (Electric's POST /v1/shape).
  router.post('/shape', express.json({ limit: '64kb', strict: false }), access.reader, getShape);
  router.delete('/shape', access.admin, (req, res) => deleteShapes(service, req, res));
  return router;
}

async function serveRequest(
  opts: ShapeRouterOptions,
  limits: ClientShapeLimits | undefined,
  req: Request,
  res: Response,
) {
  const { access, service, upstream } = opts;
  if (access.vary) res.vary(access.vary);
  let r;
  try {
    r = parseShapeRequest(queryOf(req), req.method === 'POST' ? (req.body ?? {}) : undefined);
  } catch (err) {
    if (err instanceof ProtocolError) return sendBadRequest(res, err.field, err.message);
    throw err;
  }
  const info = await resolveTable(opts, r, res);
  if (!info) return;
  let def: ShapeDef;
  try {
    def = await access.authorize(req, r, info);
  } catch (err) {
    if (!(err instanceof ShapeRequestError)) throw err;
    if (err.status === 403) throw forbidden(err.message);
    return sendBadRequest(res, err.field, err.message);
  }
  const subsetScope = r.subset ? access.subsetScope?.(req, r, info, def) : undefined;
  const auditor = access.auditor?.(req, subsetScope ?? def, r);
  if (upstream) {
    // The upstream's answers are not seen here: every audited request is recorded as it goes.
    if (auditor) await auditor(undefined);
    const target = { config: { syncUpstreamUrl: upstream.url, syncSecret: upstream.secret }, logger: upstream.logger };
    return proxyShape(target, req, res, r, subsetScope ?? def);
  }
  if (!service) {
    res.set('retry-after', '1');
    return void res.status(503).json({ message: 'The sync service is not running.' });
  }
  if (opts.tables === 'any-readable') {
    // A subquery's table streams too (its changes move rows in and out), resolved afresh as well.
    const inner: TableInfo[] = [];
    for (const sq of subqueriesOf(def.where)) {
      const t = await service.currentTableInfo(sq.schema, sq.table);
      if (!t) return sendBadRequest(res, 'where', `relation "${sq.schema}.${sq.table}" does not exist`);
      inner.push(t);
    }
    try {
      for (const t of [info, ...inner]) await ensureReplicated(service.options.pool, t, service.options.publication);
    } catch (err) {
      // Dropped since it was resolved.
      if ((err as { code?: string }).code === '42P01') return missingTable(res, r);
      throw err;
    }
  }
  try {
    // A subset snapshot creates no shape.
    if (limits && !r.subset) limits.admit(access.limits!.caller(req), def, service.registry);
  } catch (err) {
    if (!(err instanceof ClientShapeLimitError)) throw err;
    res.set({ 'cache-control': 'no-store', 'retry-after': '60' });
    return void res.status(429).json({ message: err.message, errors: { [err.field]: [err.message] } });
  }
  const tracked = access.track?.(req);
  try {
    await serveShape(service, req, res, r, info, def, {
      cache: access.cache?.(def) ?? 'public',
      revoked: tracked?.signal,
      subsetScope,
      beforeSend: auditor,
    });
  } finally {
    tracked?.release();
  }
}

function missingTable(res: Response, r: ShapeRequest) {
  sendBadRequest(res, 'table', `Table "${r.schema}"."${r.table}" does not exist.`);
}

/** The requested table's catalog, or undefined once the refusal is sent (or thrown: 403). */
async function resolveTable(
  { tables, service, upstream }: ShapeRouterOptions,
  r: ShapeRequest,
  res: Response,
): Promise<TableInfo | undefined> {
  if (tables === 'any-readable') {
    // Resolved again on every request: the table may have been dropped or re-created.
    const info = await service!.currentTableInfo(r.schema, r.table);
    if (!info) missingTable(res, r);
    return info ?? undefined;
  }
  if (!tables.includes(`${r.schema}.${r.table}`)) {
    const info = service ? await service.tableInfo(r.schema, r.table) : null;
    // Without a local catalog nothing is said about whether the table exists.
    if (info || !service) throw forbidden(`You may not sync ${r.schema}.${r.table}.`);
    return void missingTable(res, r);
  }
  const info = service
    ? await service.tableInfo(r.schema, r.table)
    : upstream
      ? await loadTableInfo(upstream.pool, r.schema, r.table)
      : null;
  if (!info) sendBadRequest(res, 'table', 'Unknown table.');
  return info ?? undefined;
}

/** DELETE /shape?table=…&handle=…: drops the matching shapes (clients refetch with 409). */
async function deleteShapes(service: SyncService | undefined, req: Request, res: Response) {
  const q = queryOf(req);
  const table = q.get('table');
  const handle = q.get('handle');
  if (!table && !handle) return sendBadRequest(res, 'table', "can't be blank when handle is not given");
  for (const s of service?.registry.all() ?? []) {
    const t = s.runtime.shape;
    const tableHit = !table || table === t.table || table === `${t.schema}.${t.table}`;
    if (tableHit && (!handle || s.handle === handle)) await service!.deleteShape(s);
  }
  res.status(202).end();
}
