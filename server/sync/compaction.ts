// Compaction of a long-lived shape's log (docs/sync.md, "Compaction"). Everything up to a
// horizon — the snapshot and the oldest changes — is folded into a new snapshot: one insert per
// key still in the shape, its value merged from every message up to the horizon (updates of
// replica=default carry only the changed columns), keys deleted by then dropped. The new
// snapshot is stored at LSN 0 with op numbers after the old ones, so the offsets a client may
// hold tell the two apart: an offset inside the folded range (the old snapshot or a change up
// to the horizon) answers 409 and the client refetches; a fresh client reads the new snapshot
// and then the log after the horizon, unchanged; a client past the horizon never notices.
// Each compaction gives the shape a new handle (the old one stays an alias in memory): a 409
// must name another handle than the request's, or the official client takes the answer for a
// stale cached one and retries the same request.
import type { Pool } from '../db/pool.js';
import { compareOffsets, type Offset } from './offsets.js';
import type { SyncService } from './service.js';
import { newHandle, type ShapeState } from './shape-registry.js';

/** What readers need to know about a shape's compactions (in ShapeState). */
export interface CompactionMarks {
  /** Op of the current snapshot's first row at LSN 0 (0 until the first compaction). */
  snapshotFirstOp: number;
  /** Offsets before this were folded away (undefined: never compacted). */
  horizon?: Offset;
  /** True while a compaction is being stored: reads overlapping it are repeated. */
  running: boolean;
  /** Bumped by every compaction. */
  generation: number;
  /** Handles the shape had before its compactions (they still lead to it). */
  oldHandles: string[];
}

export const newCompactionMarks = (): CompactionMarks => ({
  snapshotFirstOp: 0,
  running: false,
  generation: 0,
  oldHandles: [],
});

/** The op of the current snapshot-end message. */
export function snapshotEndOp(state: ShapeState): number {
  return state.compaction.snapshotFirstOp + state.snapshotRows;
}

/** True when a client at `offset` read part of a range that has since been folded. */
export function isCompactedAway(state: ShapeState, offset: Offset): boolean {
  const { horizon, snapshotFirstOp } = state.compaction;
  if (!horizon || offset.lsn < 0n) return false;
  if (offset.lsn === 0n) return offset.op === Infinity || offset.op < snapshotFirstOp;
  return compareOffsets(offset, horizon) < 0;
}

/**
 * The marks of a stored shape, after a restart. The horizon itself is not stored: the first
 * change left after it stands in for it (offsets between the two also answer 409, which
 * costs those clients a refetch and nothing else).
 */
export async function loadCompactionMarks(pool: Pool, state: ShapeState): Promise<void> {
  const { rows } = await pool.query<{ first_op: number | null; lsn: string | null; op: number | null }>(
    `SELECT (SELECT min(op) FROM sync_shape_log WHERE shape_id = $1 AND lsn = 0) AS first_op, c.lsn::text, c.op
       FROM (SELECT NULL) x
       LEFT JOIN LATERAL (SELECT lsn, op FROM sync_shape_log WHERE shape_id = $1 AND lsn > 0 ORDER BY lsn, op LIMIT 1) c ON true`,
    [state.id],
  );
  const first = rows[0]?.first_op ?? 0;
  if (first === 0) return;
  const r = rows[0]!;
  state.compaction.snapshotFirstOp = first;
  state.compaction.horizon =
    r.lsn === null ? { lsn: state.lastLsn, op: state.lastOp } : { lsn: BigInt(r.lsn), op: r.op! };
}

interface Message {
  key?: string;
  value?: Record<string, unknown>;
  headers: Record<string, unknown>;
}

/**
 * Folds the log of `state` up to the end of the transaction holding its `keepNewest`-th newest
 * change. Runs between batches. Returns the number of log entries removed (0: nothing to do).
 */
export async function compactShapeLog(service: SyncService, state: ShapeState, keepNewest: number): Promise<number> {
  const pool = service.options.pool;
  let removed = 0;
  await service.betweenBatches(async () => {
    if (state.status !== 'ready') return;
    // The horizon: the end of a transaction, so none is split between the new snapshot and the log.
    const { rows: at } = await pool.query<{ lsn: string; op: number }>(
      `SELECT h.lsn::text, (SELECT max(op) FROM sync_shape_log WHERE shape_id = $1 AND lsn = h.lsn) AS op
         FROM (SELECT lsn FROM sync_shape_log WHERE shape_id = $1 AND lsn > 0
                ORDER BY lsn DESC, op DESC OFFSET $2 LIMIT 1) h`,
      [state.id, Math.max(1, keepNewest)],
    );
    if (!at.length) return;
    const horizon: Offset = { lsn: BigInt(at[0]!.lsn), op: at[0]!.op };
    if (compareOffsets(horizon, { lsn: state.lastLsn, op: state.lastOp }) >= 0) return;

    const folded = new Map<string, Message | null>();
    let snapshotEnd = '';
    let cursor: Offset = { lsn: -1n, op: 0 };
    for (;;) {
      const { rows } = await pool.query<{ lsn: string; op: number; body: string }>(
        `SELECT lsn::text, op, body FROM sync_shape_log
          WHERE shape_id = $1 AND (lsn, op) > ($2::bigint, $3::int) AND (lsn, op) <= ($4::bigint, $5::int)
          ORDER BY lsn, op LIMIT 5000`,
        [state.id, cursor.lsn.toString(), cursor.op, horizon.lsn.toString(), horizon.op],
      );
      for (const r of rows) fold(folded, r.body, (end) => (snapshotEnd = end));
      if (rows.length < 5000) break;
      const last = rows[rows.length - 1]!;
      cursor = { lsn: BigInt(last.lsn), op: last.op };
    }
    if (!snapshotEnd) return;
    const bodies = [...folded.values()].filter((m): m is Message => m !== null).map((m) => JSON.stringify(m));
    const firstOp = snapshotEndOp(state) + 1;

    const handle = newHandle();
    const client = await pool.connect();
    try {
      state.compaction.running = true;
      await client.query('BEGIN');
      const gone = await client.query<{ n: number }>(
        `WITH d AS (DELETE FROM sync_shape_log WHERE shape_id = $1 AND (lsn, op) <= ($2::bigint, $3::int) RETURNING lsn)
         SELECT count(*) FILTER (WHERE lsn > 0)::int AS n FROM d`,
        [state.id, horizon.lsn.toString(), horizon.op],
      );
      await client.query(
        `INSERT INTO sync_shape_log (shape_id, lsn, op, body)
         SELECT $1, 0, $2::int + n - 1, body FROM unnest($3::text[]) WITH ORDINALITY AS b(body, n)`,
        [state.id, firstOp, [...bodies, snapshotEnd]],
      );
      removed = gone.rows[0]!.n;
      const { rows } = await client.query<{ bytes: string }>(
        `UPDATE sync_shapes SET handle = $4, snapshot_rows = $2, log_rows = greatest(0, log_rows - $3),
                log_bytes = (SELECT coalesce(sum(octet_length(body)), 0) FROM sync_shape_log WHERE shape_id = $1)
          WHERE id = $1 RETURNING log_bytes::text AS bytes`,
        [state.id, bodies.length, removed, handle],
      );
      await client.query('COMMIT');
      state.snapshotRows = bodies.length;
      state.logRows = Math.max(0, state.logRows - removed);
      state.logBytes = Number(rows[0]?.bytes ?? state.logBytes);
      state.compaction.snapshotFirstOp = firstOp;
      state.compaction.horizon = horizon;
      service.registry.rename(state, handle);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
      state.compaction.running = false;
      state.compaction.generation++;
      // Cached reads and waiting requests re-read (or get their 409) against the new log.
      service.registry.wake(state);
    }
  });
  return removed;
}

/** Applies one stored message to the per-key state (insertion order = first appearance). */
function fold(state: Map<string, Message | null>, body: string, onSnapshotEnd: (body: string) => void) {
  const m = JSON.parse(body) as Message;
  if (m.headers.control === 'snapshot-end') return onSnapshotEnd(body);
  if (!m.key || !m.value) return;
  const before = state.get(m.key);
  const relation = m.headers.relation;
  switch (m.headers.operation) {
    case 'insert':
      state.set(m.key, { key: m.key, value: { ...m.value }, headers: { operation: 'insert', relation } });
      return;
    case 'update':
      // replica=default: the key and the changed columns; merged over what the key had.
      if (before) before.value = { ...before.value, ...m.value };
      return;
    case 'delete':
      state.set(m.key, null);
      return;
  }
}

/** Compacts every ready shape whose log holds more than `maxLogRows` changes (keeps half). */
export async function compactLongLogs(service: SyncService, maxLogRows: number): Promise<void> {
  for (const s of service.registry.all()) {
    if (s.status !== 'ready' || s.logRows <= maxLogRows) continue;
    await compactShapeLog(service, s, Math.floor(maxLogRows / 2)).catch((err) =>
      service.options.logger.error({ err, handle: s.handle }, 'compacting a shape log failed'),
    );
  }
}
