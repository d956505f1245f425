// The standalone sync service (`npm run sync-service`): Electric's HTTP API for any table the
// database role can read, guarded by a shared secret (Electric's api_secret). It adds a table
// to the publication and sets REPLICA IDENTITY FULL the first time it is asked for it.
import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type Response } from 'express';
import pg from 'pg';
import type { Pool } from '../db/pool.js';
import { createErrorHandler } from '../http/error-handler.js';
import type { Logger } from '../logger.js';
import { parseShapeRequest, ProtocolError, queryOf, sendBadRequest } from './protocol.js';
import { serveShape } from './serve.js';
import type { SyncService } from './service.js';
import { buildOpenShape, ShapeRequestError } from './shape-rules.js';
import type { TableInfo } from './table-info.js';

const EXPOSED =
  'electric-cursor,electric-handle,electric-has-data,electric-offset,electric-schema,electric-up-to-date,electric-internal-known-error,retry-after';

function secretMatches(given: string | null, secret: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Makes a table streamable: in the publication, with full old rows in the WAL. */
export async function ensureReplicated(pool: Pool, info: TableInfo, publication: string): Promise<void> {
  const table = `${pg.escapeIdentifier(info.schema)}.${pg.escapeIdentifier(info.name)}`;
  const { rows } = await pool.query<{ ident: string; published: boolean }>(
    `SELECT c.relreplident AS ident,
            EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.pubname = $2 AND p.schemaname = $3 AND p.tablename = $4) AS published
       FROM pg_class c WHERE c.oid = $1`,
    [info.oid, publication, info.schema, info.name],
  );
  if (rows[0]?.ident !== 'f') await pool.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
  if (!rows[0]?.published) {
    const exists = await pool.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
    const pub = pg.escapeIdentifier(publication);
    await pool.query(
      exists.rowCount ? `ALTER PUBLICATION ${pub} ADD TABLE ${table}` : `CREATE PUBLICATION ${pub} FOR TABLE ${table}`,
    );
  }
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
      'access-control-allow-methods': 'GET, HEAD, DELETE, OPTIONS',
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
  app.get('/v1/shape', async (req, res) => {
    if (!authorized(req, res)) return;
    let r;
    try {
      r = parseShapeRequest(queryOf(req));
    } catch (err) {
      if (err instanceof ProtocolError) return sendBadRequest(res, err.field, err.message);
      throw err;
    }
    const info = await service.tableInfo(r.schema, r.table);
    if (!info) return sendBadRequest(res, 'table', `Table "${r.schema}"."${r.table}" does not exist.`);
    let def;
    try {
      def = buildOpenShape(info, r.client);
    } catch (err) {
      if (err instanceof ShapeRequestError) return sendBadRequest(res, err.field, err.message);
      throw err;
    }
    await ensureReplicated(service.options.pool, info, service.options.publication);
    await serveShape(service, req, res, r, info, def);
  });
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
