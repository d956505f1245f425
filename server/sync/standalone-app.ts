// The standalone sync service (`npm run sync-service`): Electric's HTTP API for any table the
// database role can read, guarded by a shared secret (Electric's api_secret). It adds a table
// to the publication and sets REPLICA IDENTITY FULL the first time it is asked for it.
import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import pg from 'pg';
import type { Pool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { createErrorHandler } from '../http/error-handler.js';
import type { Logger } from '../logger.js';
import { parseShapeRequest, ProtocolError, queryOf, sendBadRequest } from './protocol.js';
import { serveShape } from './serve.js';
import type { SyncService } from './service.js';
import { buildOpenShape, ShapeRequestError } from './shape-rules.js';
import type { TableInfo } from './table-info.js';
import { subqueriesOf } from './where-parser.js';

const EXPOSED =
  'electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after';

function secretMatches(given: string | null, secret: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

const replicated = new Map<string, Promise<void>>();

/**
 * Makes a table streamable: in the publication, with full old rows in the WAL. Once per table
 * (by OID) in this process; across processes an advisory lock orders the catalog changes, so
 * concurrent first requests never race on the publication.
 */
export function ensureReplicated(pool: Pool, info: TableInfo, publication: string): Promise<void> {
  const key = `${publication}:${info.oid}`;
  let done = replicated.get(key);
  if (!done) {
    done = addToPublication(pool, info, publication);
    replicated.set(key, done);
    done.catch(() => replicated.delete(key));
  }
  return done;
}

async function addToPublication(pool: Pool, info: TableInfo, publication: string): Promise<void> {
  const table = `${pg.escapeIdentifier(info.schema)}.${pg.escapeIdentifier(info.name)}`;
  await withTransaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sync publication ' || $1))`, [publication]);
    const { rows } = await tx.query<{ ident: string; published: boolean }>(
      `SELECT c.relreplident AS ident,
              EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                       WHERE p.pubname = $2 AND pr.prrelid = c.oid)
              OR EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2 AND puballtables) AS published
         FROM pg_class c WHERE c.oid = $1`,
      [info.oid, publication],
    );
    if (!rows[0]) throw Object.assign(new Error(`relation ${table} does not exist`), { code: '42P01' });
    if (rows[0].ident !== 'f') await tx.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    if (!rows[0].published) {
      const exists = await tx.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
      const pub = pg.escapeIdentifier(publication);
      await tx.query(
        exists.rowCount
          ? `ALTER PUBLICATION ${pub} ADD TABLE ${table}`
          : `CREATE PUBLICATION ${pub} FOR TABLE ${table}`,
      );
    }
  });
}

export function createStandaloneApp(
  service: SyncService,
  opts: { secret: string | undefined; logger: Logger },
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.set({
      'access-control-allow-origin': req.get('origin') ?? '*',
      'access-control-expose-headers': EXPOSED,
      'access-control-allow-methods': 'GET, HEAD, POST, DELETE, OPTIONS',
      'access-control-allow-headers': 'if-none-match, traceparent, authorization, content-type',
    });
    next();
  });
  app.options('/v1/shape', (_req, res) => void res.status(204).end());
  app.get('/v1/health', (_req, res) => {
    res.set('cache-control', 'no-store');
    res.status(service.streaming ? 200 : 503).json({ status: service.streaming ? 'active' : 'starting' });
  });
  const authorized = (req: Request, res: Response) => {
    if (!opts.secret) return true;
    const q = queryOf(req);
    if (secretMatches(q.get('secret') ?? q.get('api_secret'), opts.secret)) return true;
    res.status(401).json({ message: 'Unauthorized - Invalid API secret' });
    return false;
  };
  const getShape = async (req: Request, res: Response) => {
    if (!authorized(req, res)) return;
    let r;
    try {
      r = parseShapeRequest(queryOf(req), req.method === 'POST' ? (req.body ?? {}) : undefined);
    } catch (err) {
      if (err instanceof ProtocolError) return sendBadRequest(res, err.field, err.message);
      throw err;
    }
    // Resolved again on every request: the table may have been dropped or re-created.
    const info = await service.currentTableInfo(r.schema, r.table);
    if (!info) return sendBadRequest(res, 'table', `Table "${r.schema}"."${r.table}" does not exist.`);
    let def;
    try {
      def = buildOpenShape(info, r.client);
    } catch (err) {
      if (err instanceof ShapeRequestError) return sendBadRequest(res, err.field, err.message);
      throw err;
    }
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
      if ((err as { code?: string }).code === '42P01')
        return sendBadRequest(res, 'table', `Table "${r.schema}"."${r.table}" does not exist.`);
      throw err;
    }
    await serveShape(service, req, res, r, info, def);
  };
  app.get('/v1/shape', getShape);
  // Subset snapshots with their parameters in a JSON body.
  app.post('/v1/shape', express.json({ limit: '64kb', strict: false }), getShape);
  app.delete('/v1/shape', async (req, res) => {
    if (!authorized(req, res)) return;
    const q = queryOf(req);
    const handle = q.get('handle');
    const table = q.get('table');
    if (!handle && !table) return sendBadRequest(res, 'table', "can't be blank when handle is not given");
    for (const s of service.registry.all()) {
      const t = s.runtime.shape;
      const tableHit = !table || table === t.table || table === `${t.schema}.${t.table}`;
      if (tableHit && (!handle || s.handle === handle)) await service.deleteShape(s);
    }
    res.status(202).end();
  });
  app.use((_req, res) => void res.status(404).json({ message: 'Not found' }));
  app.use(createErrorHandler((err) => opts.logger.error({ err }, 'unhandled error')));
  return app;
}
