// SYNC_UPSTREAM_URL: /v1/shape forwards to an Electric-compatible service (Electric behind a
// CDN, or our standalone mode), with the role's where/columns set here on the server. Only
// protocol parameters pass through from the client; a subset snapshot goes upstream as a JSON
// POST body. Answers stream through as they come (a held long-poll, an event stream).
import { Readable } from 'node:stream';
import type { Request, Response } from 'express';
import type { Logger } from '../logger.js';
import type { ShapeRequest } from './protocol.js';
import type { ShapeDef } from './shape-def.js';

const PROTOCOL_PARAMS = ['live', 'live_sse', 'handle', 'offset', 'cursor', 'expired_handle', 'log', 'cache-buster'];
/** Where to forward (SYNC_UPSTREAM_URL), with the upstream's secret (SYNC_SECRET) if any. */
export interface UpstreamDeps {
  config: { syncUpstreamUrl?: string; syncSecret?: string };
  logger: Logger;
}

const DROP_HEADERS = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

export function upstreamUrl(base: string, r: ShapeRequest, def: ShapeDef, secret: string | undefined): URL {
  const url = new URL('/v1/shape', base);
  url.searchParams.set('table', `${def.schema}.${def.table}`);
  for (const p of PROTOCOL_PARAMS) {
    const v = r.raw.get(p);
    if (v !== null) url.searchParams.set(p, v);
  }
  if (def.whereText) url.searchParams.set('where', def.whereText);
  for (const [n, v] of Object.entries(def.params)) url.searchParams.set(`params[${n}]`, v);
  url.searchParams.set('columns', def.columns.map((c) => `"${c.replace(/"/g, '""')}"`).join(','));
  if (def.replica !== 'default') url.searchParams.set('replica', def.replica);
  if (secret) url.searchParams.set('secret', secret);
  return url;
}

export async function proxyShape(
  deps: UpstreamDeps,
  req: Request,
  res: Response,
  r: ShapeRequest,
  def: ShapeDef,
): Promise<void> {
  const url = upstreamUrl(deps.config.syncUpstreamUrl!, r, def, deps.config.syncSecret);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const headers: Record<string, string> = {};
  const inm = req.get('if-none-match');
  if (inm) headers['if-none-match'] = inm;
  // A subset snapshot: its filter, order and paging as Electric's POST body (the subset's
  // where only narrows the shape's rows upstream, as here).
  const subset = r.subset && {
    where: r.subset.where,
    params: r.subset.params,
    order_by: r.subset.orderBy,
    limit: r.subset.limit,
    offset: r.subset.offset,
  };
  if (subset) headers['content-type'] = 'application/json';
  let upstream: globalThis.Response;
  try {
    upstream = await fetch(url, {
      method: subset ? 'POST' : 'GET',
      headers,
      body: subset ? JSON.stringify(subset) : undefined,
      signal: abort.signal,
    });
  } catch (err) {
    if (abort.signal.aborted) return;
    deps.logger.warn({ err }, 'sync upstream unreachable');
    res.set('retry-after', '5');
    return void res.status(503).json({ message: 'The sync upstream is unreachable; try again.' });
  }
  upstream.headers.forEach((value, name) => {
    if (!DROP_HEADERS.has(name.toLowerCase())) res.setHeader(name, value);
  });
  res.vary('Cookie');
  res.status(upstream.status);
  if (!upstream.body) return void res.end();
  // Streamed, not buffered: an event stream's messages reach the client as they are sent.
  res.flushHeaders();
  const body = Readable.fromWeb(upstream.body as import('node:stream/web').ReadableStream);
  body.on('error', () => res.destroy());
  body.pipe(res);
  await new Promise<void>((resolve) => res.once('close', resolve));
}
