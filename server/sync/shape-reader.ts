// Answers one shape read: the entries after the client's offset, up to a chunk, and
// `up-to-date` when it reached the end of the log; a live read at the end waits for the
// next change or the long-poll timeout.
import { isDeleted, type ShapeState } from './shape-registry.js';
import type { SyncService } from './service.js';
import { compareOffsets, formatOffset, type Offset } from './offsets.js';
import * as store from './store.js';
import { isCompactedAway, snapshotEndOp } from './compaction.js';

export interface ReadAnswer {
  /** The entries' JSON messages, comma-separated (the up-to-date is added by answerBody). */
  entries: string;
  /** What the up-to-date may claim as global_last_seen_lsn when the answer is up to date. */
  global: bigint;
  offset: string;
  upToDate: boolean;
  hasData: boolean;
  /** Messages in `entries`. */
  messages: number;
  /** The same messages one by one (server-sent events send each as an event). */
  parts: string[];
}

const LIVE_CURSOR_EPOCH = Date.UTC(2024, 9, 9);

/** Electric's cursor: the end of the current long-poll window, never repeating the client's. */
export function nextCursor(clientCursor: string | undefined, longPollMs: number): string {
  const seconds = Math.max(1, Math.round(longPollMs / 1000));
  const next = Math.ceil((Date.now() - LIVE_CURSOR_EPOCH) / 1000 / seconds) * seconds;
  const previous = Number(clientCursor);
  if (Number.isFinite(previous) && next <= previous) return String(previous + 1 + Math.floor(Math.random() * 3600));
  return String(next);
}

/** True when the offset can't belong to this shape's log (beyond what was ever processed). */
export function isOutOfBounds(service: SyncService, state: ShapeState, offset: Offset): boolean {
  if (offset.lsn < 0n) return false;
  if (isCompactedAway(state, offset)) return true;
  // An SSE client resumes from `<global_last_seen_lsn>_0`, which may be one past what was processed.
  if (offset.op === 0 && offset.lsn === service.processedLsn + 1n) return false;
  if (offset.lsn === 0n) return offset.op !== Infinity && offset.op > snapshotEndOp(state);
  return offset.lsn > service.processedLsn && compareOffsets(offset, { lsn: state.lastLsn, op: state.lastOp }) > 0;
}

async function readOnce(service: SyncService, state: ShapeState, offset: Offset): Promise<ReadAnswer> {
  let globalBefore: bigint, inSnapshot: boolean, entries: store.ReadResult['entries'];
  // A read overlapping a compaction of the log is repeated against the compacted log (the
  // caller then answers 409 when the offset was folded away).
  for (;;) {
    while (state.compaction.running) await new Promise((r) => setTimeout(r, 10));
    const generation = state.compaction.generation;
    globalBefore = service.processedLsn;
    inSnapshot = offset.lsn < 0n || (offset.lsn === 0n && offset.op < snapshotEndOp(state));
    ({ entries } = await store.readLog(service.options.pool, state.id, offset, service.options.chunkBytes, inSnapshot));
    if (!state.compaction.running && state.compaction.generation === generation) break;
  }
  const lastEntry = entries[entries.length - 1];
  const reachedEnd =
    !inSnapshot && (!lastEntry || compareOffsets(lastEntry, { lsn: state.lastLsn, op: state.lastOp }) >= 0);
  const parts = entries.map((e) => e.body);
  let global = globalBefore;
  if (lastEntry && lastEntry.lsn > global) global = lastEntry.lsn;
  const upToDate = reachedEnd && offset.lsn >= 0n;
  const end = lastEntry ? { lsn: lastEntry.lsn, op: lastEntry.op } : offset;
  return {
    entries: parts.join(','),
    global,
    offset: formatOffset(end),
    upToDate,
    hasData: entries.length > 0,
    messages: entries.length,
    parts,
  };
}

/** Reads shared by every request at the same offset until the log grows (one query per wake-up). */
function sharedRead(service: SyncService, state: ShapeState, offset: Offset): Promise<ReadAnswer> {
  const key = formatOffset(offset);
  let read = state.readCache.get(key) as Promise<ReadAnswer> | undefined;
  if (!read) {
    read = readOnce(service, state, offset);
    state.readCache.set(key, read);
    read.catch(() => state.readCache.delete(key));
  }
  read.then(
    (answer) => readAhead(service, state, answer),
    () => {},
  );
  return read;
}

/** How long a chunk read ahead waits for the request that would take it. */
const READ_AHEAD_MS = 30_000;

/**
 * An answer cut at a chunk boundary (a snapshot, or a long catch-up) is followed by the
 * client's request for the next chunk: that chunk is read now, while this one is being sent,
 * parsed by the client and audited, and waits in the read cache under the offset the client
 * will ask for. It is the read that request would make (the same readOnce; the global LSN is
 * set when it is sent, and a wake-up clears it like any cached read). One chunk ahead at most,
 * and only when a request took the previous one; dropped after 30 s when nobody asks for it.
 */
function readAhead(service: SyncService, state: ShapeState, answer: ReadAnswer) {
  if (!answer.hasData || answer.upToDate || isDeleted(state)) return;
  const next = parseEnd(answer.offset);
  if (!next || state.readCache.has(answer.offset)) return;
  const read = readOnce(service, state, next);
  state.readCache.set(answer.offset, read);
  const drop = () => {
    if (state.readCache.get(answer.offset) === read) state.readCache.delete(answer.offset);
  };
  read.catch(drop);
  setTimeout(drop, READ_AHEAD_MS).unref();
}

export async function readShape(
  service: SyncService,
  state: ShapeState,
  offset: Offset,
  live: boolean,
  signal: AbortSignal,
): Promise<ReadAnswer> {
  const first = await sharedRead(service, state, offset);
  if (!live || first.hasData || isDeleted(state)) return first;
  // The log may have grown while the read ran; waiting now would miss that wake-up.
  const seen = parseEnd(first.offset);
  if (seen && compareOffsets({ lsn: state.lastLsn, op: state.lastOp }, seen) > 0 && state.lastLsn > 0n) {
    return sharedRead(service, state, offset);
  }
  const woken = await waitForChange(service, state, signal);
  if (!woken || isDeleted(state)) return first;
  return sharedRead(service, state, offset);
}

function parseEnd(text: string): Offset | undefined {
  const [lsn, op] = text.split('_');
  if (op === undefined) return undefined;
  return { lsn: BigInt(lsn!), op: op === 'inf' ? Infinity : Number(op) };
}

/**
 * The `global_last_seen_lsn` an answer may claim at the moment it is sent. pglite-sync treats
 * it as "this shape has nothing more up to here" and drops later changes at or below it, so it
 * may only exceed what the read saw when the shape's log has not grown past the answer's end:
 * then every change up to the processed LSN is in the answer (batches store a shape's entries
 * and advance the processed LSN in one transaction, and both are updated in memory together).
 * Raising it here matters as much: a reused (cached) read carries the global of its own time,
 * and a stale global stalls pglite-sync's multi-shape commits, which wait for the lowest one.
 * Call it synchronously right before sending.
 */
export function withCurrentGlobal(service: SyncService, state: ShapeState, answer: ReadAnswer): ReadAnswer {
  if (!answer.upToDate) return answer;
  const end = parseEnd(answer.offset);
  if (!end || compareOffsets({ lsn: state.lastLsn, op: state.lastOp }, end) > 0) return answer;
  return service.processedLsn > answer.global ? { ...answer, global: service.processedLsn } : answer;
}

/** The JSON array sent to the client. */
export function answerBody(answer: ReadAnswer): string {
  const parts = answer.entries ? [answer.entries] : [];
  if (answer.upToDate)
    parts.push(JSON.stringify({ headers: { control: 'up-to-date', global_last_seen_lsn: answer.global.toString() } }));
  return `[${parts.join(',')}]`;
}

function waitForChange(service: SyncService, state: ShapeState, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    state.liveRequests++;
    const done = (woken: boolean) => {
      clearTimeout(timer);
      state.waiters.delete(onWake);
      signal.removeEventListener('abort', onAbort);
      state.liveRequests--;
      resolve(woken);
    };
    const onWake = () => done(true);
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), service.holdMs(state));
    state.waiters.add(onWake);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
