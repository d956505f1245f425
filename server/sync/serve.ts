// One shape request from parsed parameters to the answer: find or create the shape for the
// definition, 409 when the client's handle can't be continued, then read (or long-poll).
import type { Request, Response } from 'express';
import { formatOffset, type Offset } from './offsets.js';
import { isDeleted, type ShapeState } from './shape-registry.js';
import { sendAnswer, sendBadRequest, sendMustRefetch, type CachePolicy, type ShapeRequest } from './protocol.js';
import type { SyncService } from './service.js';
import type { ShapeDef } from './shape-def.js';
import {
  isOutOfBounds,
  nextCursor,
  readShape,
  withCurrentGlobal,
  answerBody,
  type ReadAnswer,
} from './shape-reader.js';
import { ProtocolError } from './protocol.js';
import { isCompactedAway } from './compaction.js';
import * as store from './store.js';
import { buildSubsetQuery } from './subset.js';
import { schemaHeader, type TableInfo } from './table-info.js';

/** PostgreSQL errors that mean "this filter is wrong" rather than "the server is broken". */
function isFilterError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && /^(22|42)/.test(code);
}

/** What a response is about to deliver (for the audit hook). */
export interface DeliveredAnswer {
  handle: string;
  /** The request's offset and the answer's last one. */
  from: string;
  to: string;
  /** Number of messages (rows and control messages) in the answer. */
  messages: number;
}

export interface ServeOptions {
  cache?: CachePolicy;
  /**
   * Ends the request at once with 401 (the caller's session ended while it waited). Checked
   * again after the read, so a session ended during a long-poll never gets the next change.
   */
  revoked?: AbortSignal;
  /**
   * The rows a subset snapshot reads from, when wider than the shape (the appointments before
   * the window, same role rules and columns); the answer still names the shape's handle.
   */
  subsetScope?: ShapeDef;
  /** Runs before an answer carrying messages is sent; if it throws, nothing is sent. */
  beforeSend?(answer: DeliveredAnswer): Promise<void>;
}

function sendRevoked(res: Response) {
  res.set('cache-control', 'no-store');
  res.status(401).json({ message: 'Your session has ended.' });
}

export async function serveShape(
  service: SyncService,
  req: Request,
  res: Response,
  r: ShapeRequest,
  info: TableInfo,
  def: ShapeDef,
  opts: ServeOptions = {},
): Promise<{ handle: string; created: boolean } | undefined> {
  const cache = opts.cache ?? 'public';
  if (r.subset) return serveSubset(service, res, r, info, def, opts);
  let state;
  try {
    state = await service.shapeFor(def, info);
  } catch (err) {
    if (!isFilterError(err)) throw err;
    sendBadRequest(res, 'where', (err as Error).message);
    return undefined;
  }
  if (r.offset.lsn >= 0n) {
    const theirs = service.registry.byHandle.get(r.handle!);
    if (!theirs || theirs !== state || isOutOfBounds(service, state, r.offset)) {
      sendMustRefetch(res, state.handle, cache);
      return undefined;
    }
  }
  try {
    await state.ready;
  } catch (err) {
    if (isFilterError(err)) return void sendBadRequest(res, 'where', (err as Error).message);
    // Deleted while its snapshot ran (DELETE /v1/shape, a dropped table): start over.
    if (isDeleted(state)) return void sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle, cache);
    res.set('retry-after', '1');
    res.status(503).json({ message: 'The shape could not be prepared; try again.' });
    return undefined;
  }
  if (isDeleted(state)) {
    sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle, cache);
    return undefined;
  }
  service.markUsed(state);
  if (opts.revoked?.aborted) return void sendRevoked(res);
  if (r.now || (r.changesOnly && r.offset.lsn < 0n)) {
    // No rows: the handle and the log's current end, from where changes follow.
    const end: ReadAnswer = {
      entries: '',
      global: service.processedLsn,
      offset: formatOffset({ lsn: state.lastLsn, op: state.lastOp }),
      upToDate: true,
      hasData: false,
      messages: 0,
      parts: [],
    };
    const answer = withCurrentGlobal(service, state, end);
    sendAnswer(
      req,
      res,
      r,
      {
        handle: state.handle,
        requestOffset: formatOffset(r.offset),
        offset: answer.offset,
        body: answerBody(answer),
        upToDate: true,
        hasData: false,
        schema: schemaHeader(info, def.columns),
      },
      service.holdMs(state),
      cache,
    );
    return { handle: state.handle, created: false };
  }
  if (r.sse) return serveSse(service, res, r, state, opts);
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  opts.revoked?.addEventListener('abort', () => abort.abort(), { once: true });
  const read = await readShape(service, state, r.offset, r.live, abort.signal);
  if (opts.revoked?.aborted) return void sendRevoked(res);
  if (isDeleted(state) || foldedMeanwhile(state, r.offset, read)) {
    sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle, cache);
    return undefined;
  }
  let answer = withCurrentGlobal(service, state, read);
  if (opts.beforeSend && answer.messages > 0) {
    await opts.beforeSend({
      handle: state.handle,
      from: formatOffset(r.offset),
      to: answer.offset,
      messages: answer.messages,
    });
    if (opts.revoked?.aborted) return void sendRevoked(res);
    if (foldedMeanwhile(state, r.offset, answer))
      return void sendMustRefetch(res, service.registry.byDef.get(state.defKey)?.handle, cache);
    // The hook may have taken a while; the global LSN is claimed at the moment of sending.
    answer = withCurrentGlobal(service, state, answer);
  }
  sendAnswer(
    req,
    res,
    r,
    {
      handle: state.handle,
      requestOffset: formatOffset(r.offset),
      offset: answer.offset,
      body: answerBody(answer),
      upToDate: answer.upToDate,
      hasData: answer.hasData,
      schema: schemaHeader(info, def.columns),
    },
    service.holdMs(state),
    cache,
  );
  return { handle: state.handle, created: r.offset.lsn < 0n };
}

/** A subset snapshot: `{metadata, data}` of the shape's rows matching the subset, right now. */
async function serveSubset(
  service: SyncService,
  res: Response,
  r: ShapeRequest,
  info: TableInfo,
  def: ShapeDef,
  opts: ServeOptions,
): Promise<undefined> {
  let result;
  let handle = r.handle;
  try {
    const query = buildSubsetQuery(def, info, r.subset!);
    // The client checks an answer's handle and offset headers (a POST's URL has no subset
    // parameters to tell it apart); echoing its own position never moves its stream.
    handle ??= (await service.shapeFor(def, info)).handle;
    // Checked like the shape itself (a subquery's columns against its own table); a wider
    // subset scope (subsetScope) is read instead of the shape's rows when the policy gives one.
    result = await store.subsetSnapshot(
      service.options.pool,
      await service.compileShape(opts.subsetScope ?? def, info),
      query,
    );
  } catch (err) {
    if (err instanceof ProtocolError) return void sendBadRequest(res, err.field, err.message);
    if (isFilterError(err)) return void sendBadRequest(res, 'subset__where', (err as Error).message);
    throw err;
  }
  if (opts.revoked?.aborted) return void sendRevoked(res);
  if (opts.beforeSend && result.bodies.length) {
    await opts.beforeSend({ handle: 'subset', from: 'subset', to: 'subset', messages: result.bodies.length });
    if (opts.revoked?.aborted) return void sendRevoked(res);
  }
  // A subset is an answer of this moment: never cached.
  res.set({
    'cache-control': 'no-store',
    'electric-schema': schemaHeader(info, def.columns),
    'electric-handle': handle,
    'electric-offset': formatOffset(r.offset),
  });
  res
    .status(200)
    .type('application/json')
    .send(`{"metadata":${JSON.stringify(result.metadata)},"data":[${result.bodies.join(',')}]}`);
  return undefined;
}

/**
 * Live mode over server-sent events: one response held for the long-poll time, each change
 * batch sent as events (one per message) followed by an `up-to-date`, keep-alive comments in
 * between. The up-to-date claims one past the batch's last LSN when nothing newer is stored:
 * the client resumes from `<global_last_seen_lsn>_0`, which must lie after every message it
 * has (a claim of the batch's own LSN would resend that transaction's later messages).
 */
async function serveSse(
  service: SyncService,
  res: Response,
  r: ShapeRequest,
  state: ShapeState,
  opts: ServeOptions,
): Promise<{ handle: string; created: boolean }> {
  const holdMs = service.holdMs(state);
  res.status(200);
  res.set({
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
    'electric-handle': state.handle,
    'electric-offset': formatOffset(r.offset),
    'electric-cursor': nextCursor(r.cursor, holdMs),
  });
  res.flushHeaders();
  const flush = () => (res as unknown as { flush?: () => void }).flush?.();
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  opts.revoked?.addEventListener('abort', () => abort.abort(), { once: true });
  const until = Date.now() + holdMs;
  const keepAlive = setInterval(
    () => {
      res.write(': keep-alive\n\n');
      flush();
    },
    Math.max(1000, Math.min(15_000, holdMs / 2)),
  );
  let offset = r.offset;
  try {
    while (!abort.signal.aborted && !isDeleted(state) && Date.now() < until) {
      const wait = new AbortController();
      const timer = setTimeout(() => wait.abort(), Math.max(0, until - Date.now()));
      abort.signal.addEventListener('abort', () => wait.abort(), { once: true });
      const read = await readShape(service, state, offset, true, wait.signal);
      clearTimeout(timer);
      // Folded away meanwhile: end the stream, the client's next request gets the 409.
      if (abort.signal.aborted || isDeleted(state) || isCompactedAway(state, offset)) break;
      if (!read.hasData) continue;
      const answer = withCurrentGlobal(service, state, read);
      if (opts.beforeSend) {
        await opts.beforeSend({
          handle: state.handle,
          from: formatOffset(offset),
          to: answer.offset,
          messages: answer.messages,
        });
        if (abort.signal.aborted) break;
      }
      let events = answer.parts.map((p) => `data: ${p}\n\n`).join('');
      if (answer.upToDate) {
        const end = parseEndOffset(answer.offset);
        const claim = answer.global > end.lsn ? answer.global : end.lsn + 1n;
        const upToDate = { headers: { control: 'up-to-date', global_last_seen_lsn: claim.toString() } };
        events += `data: ${JSON.stringify(upToDate)}\n\n`;
        offset = { lsn: claim, op: 0 };
      } else offset = end(answer.offset);
      res.write(events);
      flush();
    }
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
  return { handle: state.handle, created: false };
}

/**
 * True when a compaction has folded the request's offset, or the answer's end, away: an answer
 * read from the log before it then goes with the shape's new handle only if everything in it
 * is still where it was (the client refetches otherwise).
 */
function foldedMeanwhile(state: ShapeState, from: Offset, answer: ReadAnswer): boolean {
  if (isCompactedAway(state, from)) return true;
  return answer.hasData && isCompactedAway(state, parseEndOffset(answer.offset));
}

function parseEndOffset(text: string): Offset {
  const [lsn, op] = text.split('_');
  return { lsn: BigInt(lsn!), op: op === 'inf' ? Infinity : Number(op) };
}
const end = parseEndOffset;
