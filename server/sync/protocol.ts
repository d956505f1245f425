// The HTTP side of the shape protocol, shared by the app's /v1/shape and the standalone
// service: request parsing, the 200/304/400/409 answers and their headers (docs/sync.md).
import type { Request, Response } from 'express';
import { BEFORE_START, parseOffset, type Offset } from './offsets.js';
import { nextCursor } from './shape-reader.js';
import type { ClientShapeParams } from './shape-request.js';

export class ProtocolError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ShapeRequest {
  schema: string;
  table: string;
  offset: Offset;
  handle: string | undefined;
  live: boolean;
  cursor: string | undefined;
  client: ClientShapeParams;
  raw: URLSearchParams;
  /** `offset=now`: no rows, only the handle and the log's current end. */
  now: boolean;
  /** `live_sse=true`: live changes as server-sent events on one held response. */
  sse: boolean;
  /** `log=changes_only`: the first answer skips the snapshot (rows come from subset snapshots). */
  changesOnly: boolean;
  /** A subset snapshot request (subset__* parameters, or a POST body). */
  subset?: SubsetParams;
}

/** A subset snapshot: rows of the shape matching `where`, ordered and paged, right now. */
export interface SubsetParams {
  where?: string;
  params: Record<string, string>;
  orderBy?: string;
  limit?: number;
  offset?: number;
}

const MAX_SUBSET_LIMIT = 10_000;

function subsetNumber(field: string, v: unknown, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ProtocolError(field, `must be an integer from 0 to ${max}`);
  return n;
}

function subsetParamsOf(field: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  let value = v;
  if (typeof v === 'string') {
    try {
      value = JSON.parse(v);
    } catch {
      throw new ProtocolError(field, 'must be a JSON array or object of parameters');
    }
  }
  const entries = Array.isArray(value)
    ? value.map((x, i) => [String(i + 1), x] as const)
    : value && typeof value === 'object'
      ? Object.entries(value as Record<string, unknown>)
      : undefined;
  if (!entries) throw new ProtocolError(field, 'must be a JSON array or object of parameters');
  const out: Record<string, string> = {};
  for (const [k, x] of entries) {
    if (!/^\d{1,4}$/.test(k)) throw new ProtocolError(field, `has an invalid key "${k}"`);
    if (x === null || typeof x === 'object') throw new ProtocolError(field, `$${k} must be a string or number`);
    const text = String(x);
    if (text.length > MAX_PARAM_LENGTH) throw new ProtocolError(field, `is longer than ${MAX_PARAM_LENGTH} characters`);
    out[String(Number(k))] = text;
  }
  return out;
}

function optionalText(field: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ProtocolError(field, 'must be a string');
  if (v.length > MAX_PARAM_LENGTH) throw new ProtocolError(field, `is longer than ${MAX_PARAM_LENGTH} characters`);
  return v;
}

/** Subset parameters from the query (GET) or a JSON body (POST); undefined when none given. */
export function parseSubset(q: URLSearchParams, body?: unknown): SubsetParams | undefined {
  if (body !== undefined && body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const b = body as Record<string, unknown>;
    return {
      where: optionalText('where', b.where),
      params: subsetParamsOf('params', b.params),
      orderBy: optionalText('order_by', b.order_by),
      limit: subsetNumber('limit', b.limit, MAX_SUBSET_LIMIT),
      offset: subsetNumber('offset', b.offset, 2 ** 31 - 1),
    };
  }
  if (body !== undefined && body !== null && body !== '') throw new ProtocolError('body', 'must be a JSON object');
  const keys = [...q.keys()].filter((k) => k.startsWith('subset__'));
  if (!keys.length) return body === undefined ? undefined : { params: {} };
  const params: Record<string, string> = {};
  const indexed = keys.filter((k) => /^subset__params\[\d{1,4}\]$/.test(k));
  for (const k of indexed) params[String(Number(/\[(\d+)\]/.exec(k)![1]))] = q.get(k)!;
  return {
    where: optionalText('subset__where', q.get('subset__where') ?? undefined),
    params: q.has('subset__params') ? subsetParamsOf('subset__params', q.get('subset__params')) : params,
    orderBy: optionalText('subset__order_by', q.get('subset__order_by') ?? undefined),
    limit: subsetNumber('subset__limit', q.get('subset__limit') ?? undefined, MAX_SUBSET_LIMIT),
    offset: subsetNumber('subset__offset', q.get('subset__offset') ?? undefined, 2 ** 31 - 1),
  };
}

export function queryOf(req: Request): URLSearchParams {
  const i = req.originalUrl.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : req.originalUrl.slice(i + 1));
}

/** `name`, `schema.name`, `"Quoted Name"` → [schema, name] by PostgreSQL identifier rules. */
export function parseTableName(text: string): [string, string] {
  const parts: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(\.|$)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length && (m = re.exec(text))) {
    parts.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
    pos = re.lastIndex;
    if (m[3] === '') break;
  }
  if (pos !== text.length || parts.length < 1 || parts.length > 2)
    throw new ProtocolError('table', 'Invalid table name');
  return parts.length === 2 ? [parts[0]!, parts[1]!] : ['public', parts[0]!];
}

export function parseColumns(text: string): string[] {
  const cols: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))\s*(,|$)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < text.length && (m = re.exec(text))) {
    cols.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase());
    pos = re.lastIndex;
    if (m[3] === '') break;
  }
  if (pos !== text.length || !cols.length) throw new ProtocolError('columns', 'Invalid column list');
  return cols;
}

const MAX_PARAM_LENGTH = 8192;

export function parseShapeRequest(q: URLSearchParams, body?: unknown): ShapeRequest {
  const tableText = q.get('table');
  if (!tableText) throw new ProtocolError('table', "can't be blank");
  const [schema, table] = parseTableName(tableText);
  const subset = parseSubset(q, body);
  const offsetText = q.get('offset') ?? (subset ? '-1' : null);
  if (offsetText === null) throw new ProtocolError('offset', "can't be blank");
  const now = offsetText === 'now';
  const offset = now ? BEFORE_START : parseOffset(offsetText);
  if (!offset) throw new ProtocolError('offset', 'has invalid format');
  const isStart = offset.lsn < 0n;
  const handle = isStart ? undefined : (q.get('handle') ?? undefined);
  if (!isStart && !handle && !subset) throw new ProtocolError('handle', "can't be blank when offset != -1");
  const live = q.has('live') && q.get('live') !== 'false';
  if (live && isStart) throw new ProtocolError('live', "can't be true when offset == -1");
  const sse = q.get('live_sse') === 'true' || q.get('experimental_live_sse') === 'true';
  if (sse && !live) throw new ProtocolError('live_sse', "can't be true unless live is true");
  const log = q.get('log');
  if (log && log !== 'full' && log !== 'changes_only') throw new ProtocolError('log', 'must be full or changes_only');
  const replica = q.get('replica') ?? 'default';
  if (replica !== 'default' && replica !== 'full') throw new ProtocolError('replica', 'must be default or full');
  const params: Record<string, string> = {};
  for (const [key, value] of q) {
    const m = /^params\[(\d{1,4})\]$/.exec(key);
    if (!m) continue;
    if (value.length > MAX_PARAM_LENGTH)
      throw new ProtocolError('params', `is longer than ${MAX_PARAM_LENGTH} characters`);
    params[String(Number(m[1]))] = value;
  }
  const where = q.get('where') ?? undefined;
  const columnsText = q.get('columns');
  return {
    schema,
    table,
    offset,
    handle,
    live,
    cursor: q.get('cursor') ?? undefined,
    client: { where, params, columns: columnsText ? parseColumns(columnsText) : undefined, replica },
    raw: q,
    now,
    sse,
    changesOnly: log === 'changes_only',
    subset,
  };
}

export function sendBadRequest(res: Response, field: string, message: string): void {
  res.set({ 'cache-control': 'no-store', 'surrogate-control': 'no-store' });
  res.status(400).json({ message: 'Invalid request', errors: { [field]: [message] } });
}

/**
 * Who may keep an answer. `public`: Electric's headers (standalone mode, guarded by a secret
 * only). `private`: an authenticated shape, never for a shared cache. `no-store`: patient data,
 * which must not outlive a logout in the browser's HTTP cache on a shared device.
 */
export type CachePolicy = 'public' | 'private' | 'no-store';

function cacheControl(policy: CachePolicy, electric: string): string {
  if (policy === 'no-store') return 'no-store';
  return policy === 'private' ? electric.replace(/^public\b/, 'private').replace(/, s-maxage=\d+/, '') : electric;
}

export function sendMustRefetch(res: Response, handle: string | undefined, policy: CachePolicy = 'public'): void {
  if (handle) res.set('electric-handle', handle);
  res.set('cache-control', cacheControl(policy, `public, max-age=${handle ? 60 : 1}, must-revalidate`));
  res.status(409).type('application/json').send('[{"headers":{"control":"must-refetch"}}]');
}

export interface Answer {
  handle: string;
  requestOffset: string;
  offset: string;
  body: string;
  upToDate: boolean;
  hasData: boolean;
  schema: string;
}

export function sendAnswer(
  req: Request,
  res: Response,
  r: ShapeRequest,
  a: Answer,
  longPollMs: number,
  policy: CachePolicy = 'public',
): void {
  res.set({ 'electric-handle': a.handle, 'electric-offset': a.offset, 'electric-has-data': String(a.hasData) });
  if (a.upToDate) res.set('electric-up-to-date', '');
  if (r.live) res.set('electric-cursor', nextCursor(r.cursor, longPollMs));
  else res.set('electric-schema', a.schema);
  // "Now" moves with every change: never reuse such an answer.
  if (r.now || (r.changesOnly && r.offset.lsn < 0n)) res.set('cache-control', 'no-store');
  else if (r.offset.lsn < 0n)
    res.set(
      'cache-control',
      cacheControl(policy, 'public, max-age=604800, s-maxage=3600, stale-while-revalidate=2629746'),
    );
  else if (r.live) res.set('cache-control', cacheControl(policy, 'public, max-age=5, stale-while-revalidate=5'));
  // An empty up-to-date at the log's end is answered again at the same URL (client 1.0.14's
  // refresh requests repeat offset + cursor); a cached copy would carry an old
  // global_last_seen_lsn and stall pglite-sync's multi-shape commits.
  else if (a.upToDate && !a.hasData) res.set('cache-control', 'no-store');
  else res.set('cache-control', cacheControl(policy, 'public, max-age=60, stale-while-revalidate=300'));
  // A response without changes gets a unique etag: it must never revalidate as "same".
  const etag = `"${a.handle}:${a.requestOffset}:${a.offset}${a.hasData ? '' : `:${process.hrtime.bigint()}`}"`;
  res.set('etag', etag);
  if (req.get('if-none-match') === etag) return void res.status(304).end();
  res.status(200).type('application/json').send(a.body);
}
