// The sync service: consumes replication, keeps every shape's log, and answers shape reads.
// A long-lived thing with start()/stop(); shape-router.ts speaks HTTP on top of it and
// engine.ts puts the two together.
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { convertTransaction, type LogEntry, type MemberChanges, type ShapeRuntime } from './convert.js';
import { isVisibleInSnapshot, type XidSnapshot } from './offsets.js';
import { ensureSlot, ReplicationConsumer, type ReplicatedTransaction } from './replication.js';
import { definitionKey, type CompiledShape, type ShapeDef } from './shape-def.js';
import pg from 'pg';
import { isDeleted, newHandle, newShapeState, ShapeRegistry, type ShapeState } from './shape-registry.js';
import * as store from './store.js';
import { loadTableInfo, type TableInfo } from './table-info.js';
import { checkWhere, whereColumns } from './where-eval.js';
import { compileShape, shapeTables } from './subqueries.js';
import { observeSyncWriteLatency } from '../observability/metrics.js';
import { compactLongLogs, loadCompactionMarks } from './compaction.js';

export interface SyncServiceOptions {
  pool: Pool;
  databaseUrl: string;
  slotName: string;
  publication: string;
  logger: Logger;
  /** How long a live request is held at most before it answers up-to-date. */
  longPollMs: number;
  /**
   * The hold of live requests on one table (capped at longPollMs; default longPollMs for all).
   * Browsers open at most six HTTP/1.1 connections per host: short holds on tables that
   * rarely change keep connections coming free for an app's other requests.
   */
  holdMs?: (table: { schema: string; table: string }) => number;
  /** A response ends once its entries reach this many bytes (Electric: 10 MiB). */
  chunkBytes?: number;
  /** Shapes nobody requested for this many days are dropped with their logs. */
  idleShapeDays?: number;
  /** Client-narrowed shapes (ShapeDef.narrowed) go after this much idle time (no live request). */
  narrowedIdleMs?: number;
  /** A shape log with more changes than this is compacted to half of them (compaction.ts). */
  compactLogRows?: number;
}

const BATCH_TXS = 500;
const pgIdent = (s: string) => pg.escapeIdentifier(s);

export class SyncService {
  readonly registry = new ShapeRegistry();
  readonly options: Required<SyncServiceOptions>;
  private consumer: ReplicationConsumer;
  private queue: ReplicatedTransaction[] = [];
  private lastQueuedLsn = 0n;
  private processing: Promise<void> | undefined;
  private tables = new Map<string, Promise<TableInfo | null>>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The transactions of the batch being stored (a shape registered meanwhile takes them too). */
  private inFlight: ReplicatedTransaction[] = [];
  /**
   * Stored transactions that were not yet visible when their batch was stored. PostgreSQL
   * sends a commit once its WAL is flushed but makes it visible to new snapshots only after
   * that: a shape registered in that gap gets a snapshot without it, so it takes these too
   * (its snapshot's xmin/xmax/xip then tell whether it saw them). Almost always empty.
   */
  private unseen: ReplicatedTransaction[] = [];
  /** Commit LSN of the newest transaction stored (global_last_seen_lsn). */
  processedLsn = 0n;
  lastError: string | null = null;
  /** Last 1,000 times (ms) from a commit arriving to its shapes' long-polls being woken. */
  readonly commitToWakeMs: number[] = [];
  /** Set when the database does not bound the WAL an abandoned slot may hold. */
  walWarning: string | null = null;

  constructor(options: SyncServiceOptions) {
    this.options = {
      chunkBytes: 10 * 1024 * 1024,
      idleShapeDays: 14,
      narrowedIdleMs: 60 * 60 * 1000,
      compactLogRows: 20_000,
      ...options,
      holdMs: options.holdMs ?? (() => options.longPollMs),
    };
    this.consumer = new ReplicationConsumer({
      databaseUrl: options.databaseUrl,
      slotName: options.slotName,
      publication: options.publication,
      logger: options.logger,
      onTransaction: (tx) => this.enqueue(tx),
      isIdle: () => this.queue.length === 0 && !this.processing,
    });
  }

  /** How long a live request on this shape is held before it answers up-to-date. */
  holdMs(state: ShapeState): number {
    const { schema, table } = state.runtime.shape;
    return Math.min(this.options.holdMs({ schema, table }), this.options.longPollMs);
  }

  get streaming(): boolean {
    return this.consumer.streaming;
  }

  async start(): Promise<void> {
    const { pool, slotName } = this.options;
    const keep = await pool.query<{ v: string }>(`SELECT current_setting('max_slot_wal_keep_size') AS v`);
    if (keep.rows[0]?.v === '-1') {
      this.walWarning =
        'max_slot_wal_keep_size is unlimited: a slot left behind by a stopped sync service can fill the disk';
      this.options.logger.warn(this.walWarning);
    }
    const created = await ensureSlot(pool, slotName);
    if (created) await store.purgeShapes(pool, slotName);
    this.processedLsn = await store.loadProcessedLsn(pool, slotName);
    this.lastQueuedLsn = this.processedLsn;
    for (const stored of await store.loadShapes(pool, slotName)) {
      const info = await this.tableInfo(stored.definition.schema, stored.definition.table);
      // A table (or a subquery's table) gone or changed since, or a where clause its columns
      // no longer accept (a type changed, or a rule of where-types.ts the shape predates): the
      // shape can't be served; it goes, its clients refetch.
      const compiled = info && (await this.compileShape(stored.definition, info).catch(() => null));
      if (!compiled || !whereStillAccepted(compiled)) {
        await store.deleteShape(pool, stored.id);
        continue;
      }
      const state = newShapeState(stored.id, stored.handle, stored.defKey, compiled);
      Object.assign(state, {
        status: 'ready',
        snapshotRows: stored.snapshotRows,
        logRows: stored.logRows,
        logBytes: stored.logBytes,
        lastLsn: stored.lastLsn,
        lastOp: stored.lastOp,
        lastChangeAt: stored.lastChangeAt,
      });
      state.runtime.members = stored.members;
      // Transactions the snapshot saw may not all have been processed before the stop.
      if (stored.snapshot && stored.snapshotWalLsn !== null && stored.snapshotWalLsn > this.processedLsn)
        state.snapshotFilter = { snapshot: stored.snapshot, untilLsn: stored.snapshotWalLsn };
      await loadCompactionMarks(pool, state);
      this.registry.add(state);
    }
    this.consumer.start(this.processedLsn);
    const every = Math.max(1000, Math.min(60 * 60 * 1000, this.options.narrowedIdleMs / 4));
    this.expiryTimer = setInterval(() => void this.expireIdle(), every);
    this.expiryTimer.unref();
  }

  private stopHooks: Array<() => Promise<void>> = [];

  /** Runs when the service stops (parts started alongside it, e.g. listeners). */
  onStop(fn: () => Promise<void>): void {
    this.stopHooks.push(fn);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const fn of this.stopHooks) await fn().catch(() => {});
    clearInterval(this.expiryTimer);
    for (const s of this.registry.all()) this.registry.wake(s);
    await this.consumer.stop();
    await this.processing;
  }

  tableInfo(schema: string, table: string): Promise<TableInfo | null> {
    const key = `${schema}.${table}`;
    let info = this.tables.get(key);
    if (!info) {
      info = loadTableInfo(this.options.pool, schema, table);
      this.tables.set(key, info);
      info.catch(() => this.tables.delete(key));
    }
    return info;
  }

  /**
   * The table's catalog as it is now. For services whose tables may be dropped or re-created
   * under them (standalone): the name is resolved again on every call, and shapes of an
   * earlier table of the same name are dropped (their clients get 409s, a fresh offset=-1
   * never sees the old table's rows).
   */
  async currentTableInfo(schema: string, table: string): Promise<TableInfo | null> {
    const key = `${schema}.${table}`;
    const qualified = `${pgIdent(schema)}.${pgIdent(table)}`;
    const { rows } = await this.options.pool.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [
      qualified,
    ]);
    const oid = rows[0]?.oid ?? null;
    const cached = await (this.tables.get(key) ?? Promise.resolve(null)).catch(() => null);
    if (cached && oid !== null && cached.oid === oid) return cached;
    this.tables.delete(key);
    for (const s of this.registry.all()) {
      const shape = s.runtime.shape;
      const stale = [shape, ...shape.subqueries].some(
        (t) => t.schema === schema && t.info.name === table && t.info.oid !== oid,
      );
      if (stale) await this.deleteShape(s).catch(() => {});
    }
    return oid === null ? null : this.tableInfo(schema, table);
  }

  /** The definition checked against the catalog, with its subqueries' tables (a `42…` error: 400). */
  compileShape(def: ShapeDef, info: TableInfo): Promise<CompiledShape> {
    return compileShape(def, info, (schema, table) => this.tableInfo(schema, table));
  }

  /** Shapes being created, by definition: concurrent first requests share one handle. */
  private creating = new Map<string, Promise<ShapeState>>();

  /** The current shape of a definition, creating it (and its snapshot) when there is none. */
  async shapeFor(def: ShapeDef, info: TableInfo): Promise<ShapeState> {
    const defKey = definitionKey(def);
    const existing = this.registry.byDef.get(defKey);
    if (existing) return existing;
    let pending = this.creating.get(defKey);
    if (!pending) {
      pending = this.createShape(def, defKey, info).finally(() => this.creating.delete(defKey));
      this.creating.set(defKey, pending);
    }
    return pending;
  }

  private async createShape(def: ShapeDef, defKey: string, info: TableInfo): Promise<ShapeState> {
    const compiled = await this.compileShape(def, info);
    await store.validateShapeSql(this.options.pool, compiled);
    const handle = newHandle();
    const id = await store.insertShape(this.options.pool, this.options.slotName, handle, defKey, def);
    const state = newShapeState(id, handle, defKey, compiled);
    // Transactions already processed but possibly not in the snapshot about to be taken.
    state.pending = [...this.unseen, ...this.inFlight].filter((tx) => touches(tx, state.runtime));
    this.registry.add(state);
    state.ready = this.takeSnapshot(state);
    state.ready.catch(() => {});
    return state;
  }

  private async takeSnapshot(state: ShapeState): Promise<void> {
    try {
      const result = await store.storeSnapshot(this.options.pool, state.id, state.runtime.shape);
      await this.serialized(async () => {
        // Deleted while the snapshot ran: nothing to activate (its rows went with it).
        if (isDeleted(state)) return;
        state.runtime.members = result.members;
        state.snapshotRows = result.rows;
        state.logBytes += result.bytes;
        state.lastOp = result.rows;
        state.snapshotFilter = { snapshot: result.snapshot, untilLsn: result.walLsn };
        // In commit order, once each (a failed batch is queued again when it is retried).
        const pending = [...new Map(state.pending.map((tx) => [tx.lsn, tx])).values()].sort((a, b) =>
          a.lsn < b.lsn ? -1 : a.lsn > b.lsn ? 1 : 0,
        );
        state.pending = [];
        state.status = 'ready';
        if (pending.length)
          await this.storeBatch(
            pending.filter((tx) => tx.lsn <= this.processedLsn),
            [state],
            false,
          );
      });
    } catch (err) {
      // A shape deleted while its snapshot ran fails on its vanished row: expected, not an error.
      if (isDeleted(state)) throw err;
      this.options.logger.error({ err, handle: state.handle }, 'shape snapshot failed');
      this.registry.remove(state);
      await store.deleteShape(this.options.pool, state.id).catch(() => {});
      throw err;
    }
  }

  /**
   * Removes a shape at once for readers, and from the database once no batch is being stored
   * (a batch already converted for it would otherwise hit its vanished row and be retried).
   */
  async deleteShape(state: ShapeState): Promise<void> {
    this.registry.remove(state);
    // Never awaited from inside a batch (invalidateTable): it would wait for itself.
    await this.serialized(() => store.deleteShape(this.options.pool, state.id));
  }

  markUsed(state: ShapeState): void {
    this.used.add(state.id);
    state.lastUsedAt = Date.now();
  }
  private used = new Set<number>();

  /** Drops idle client-narrowed shapes (fast) and shapes idle for idleShapeDays (slow). */
  async expireIdle(now = Date.now()): Promise<void> {
    for (const s of this.registry.all()) {
      const idle = now - s.lastUsedAt > this.options.narrowedIdleMs;
      if (s.runtime.shape.narrowed && idle && s.liveRequests === 0 && s.status === 'ready')
        await this.deleteShape(s).catch(() => {});
    }
    const ids = [...this.used];
    this.used.clear();
    await store.touchShapes(this.options.pool, ids).catch(() => {});
    let expired: number[] = [];
    await this.serialized(async () => {
      expired = await store
        .expireIdleShapes(this.options.pool, this.options.slotName, this.options.idleShapeDays)
        .catch(() => []);
    });
    for (const id of expired) {
      const s = this.registry.byId.get(id);
      if (s) this.registry.remove(s);
    }
    await compactLongLogs(this, this.options.compactLogRows);
  }

  // ---- replication → logs ----

  private changeListeners: Array<(tables: ReadonlySet<string>) => void> = [];

  /** Calls `fn` with the tables every replicated transaction changed, as it arrives. */
  onTablesChanged(fn: (tables: ReadonlySet<string>) => void): void {
    this.changeListeners.push(fn);
  }

  private enqueue(tx: ReplicatedTransaction) {
    // After a reconnect PostgreSQL resends from the confirmed position: skip what we have.
    if (tx.lsn <= this.lastQueuedLsn) return;
    this.lastQueuedLsn = tx.lsn;
    if (this.changeListeners.length) {
      const tables = new Set([...tx.changes.map((c) => `${c.schema}.${c.table}`), ...tx.truncated]);
      for (const fn of this.changeListeners) fn(tables);
    }
    this.queue.push(tx);
    if (!this.processing) this.processing = this.drain();
  }

  /** Runs fn when no batch is being stored (for work on the logs outside this file). */
  betweenBatches(fn: () => Promise<void>): Promise<void> {
    return this.serialized(fn);
  }

  /** Runs fn when no batch is being stored (shape activation must not interleave with one). */
  private async serialized(fn: () => Promise<void>) {
    while (this.processing) await this.processing;
    this.processing = fn().finally(() => {
      this.processing = undefined;
      if (this.queue.length && !this.stopped) this.processing = this.drain();
    });
    await this.processing;
  }

  private async drain(): Promise<void> {
    while (this.queue.length && !this.stopped) {
      const batch = this.queue.slice(0, BATCH_TXS);
      try {
        await this.processTransactions(batch);
        this.queue.splice(0, batch.length);
        this.lastError = null;
        this.consumer.resume();
        if (!this.queue.length) this.consumer.caughtUp();
      } catch (err) {
        // Nothing was stored: rebuild the in-memory membership from the database and retry.
        // The stream closes meanwhile: a database shutting down must not wait for our
        // confirmation (it resumes from the stored position once storing works again).
        this.consumer.pause();
        this.lastError = (err as Error).message;
        this.options.logger.error({ err }, 'storing replicated changes failed; retrying');
        await this.reloadMembers().catch(() => {});
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
    this.processing = undefined;
  }

  private async processTransactions(txs: ReplicatedTransaction[]) {
    const fresh = txs.filter((tx) => tx.lsn > this.processedLsn);
    for (const tx of fresh) {
      for (const table of tx.truncated) this.invalidateTable(table);
    }
    const creating = this.registry.all().filter((s) => s.status === 'creating');
    for (const s of creating) s.pending.push(...fresh.filter((tx) => touches(tx, s.runtime)));
    const ready = this.registry.all().filter((s) => s.status === 'ready');
    this.inFlight = fresh;
    try {
      await this.storeBatch(fresh, ready, true);
    } finally {
      this.inFlight = [];
    }
    for (const tx of fresh)
      if (tx.commitTimeMs) observeSyncWriteLatency(Math.max(0, Date.now() - tx.commitTimeMs) / 1000);
    const last = txs[txs.length - 1]!;
    this.consumer.confirm(last.endLsn);
  }

  /**
   * Converts transactions for the given shapes and stores them (advancing the LSN if asked), in
   * one PostgreSQL transaction. Shape by shape: one shape's entries are sent to PostgreSQL
   * while the next shape converts, and dropped once stored, so a transaction reaching many
   * shapes never holds every shape's entries at once.
   */
  private async storeBatch(txs: ReplicatedTransaction[], shapes: ShapeState[], advance: boolean) {
    if (!txs.length) return;
    const fetchRows = (shape: CompiledShape, column: string, values: string[]) =>
      store.fetchRowsByColumn(this.options.pool, shape, column, values);
    // Only the shapes a transaction can affect convert it, and only the changes that can
    // affect them (change-routing.ts).
    const reached = new Map(txs.map((tx) => [tx, this.registry.router.forChanges(tx)]));
    const appended: store.ShapeAppend[] = [];
    const memberChanges: Array<{ shapeId: number; changes: MemberChanges }> = [];
    const writer = await store.LogWriter.open(this.options.pool);
    let seen: XidSnapshot;
    try {
      for (const s of shapes) {
        const entries: LogEntry[] = [];
        const changes: MemberChanges = new Map();
        for (const tx of txs) {
          const only = reached.get(tx)!.get(s);
          if (only === undefined || !touches(tx, s.runtime) || this.seenBySnapshot(s, tx)) continue;
          const result = await convertTransaction(s.runtime, tx, fetchRows, only ?? undefined);
          // Not push(...entries): a spread of a 100k-row transaction's entries overflows the stack.
          for (const e of result.entries) entries.push(e);
          for (const [m, n] of result.memberChanges) changes.set(m, n);
        }
        if (changes.size) memberChanges.push({ shapeId: s.id, changes });
        if (!entries.length) continue;
        const last = entries[entries.length - 1]!;
        let bytes = 0;
        for (const e of entries) bytes += e.body.length;
        appended.push({ shapeId: s.id, rows: entries.length, bytes, lastLsn: last.lsn, lastOp: last.op });
        await writer.append(s.id, entries);
      }
      const newLsn = advance ? txs[txs.length - 1]!.lsn : this.processedLsn;
      seen = await writer.commit(this.options.slotName, appended, memberChanges, newLsn);
      this.processedLsn = newLsn;
    } catch (err) {
      await writer.rollback();
      throw err;
    } finally {
      writer.release();
    }
    if (advance) this.unseen = [...this.unseen, ...txs].filter((tx) => !isVisibleInSnapshot(tx.xid, seen));
    const now = new Date();
    if (advance) {
      const woken = performance.now();
      for (const tx of txs) if (tx.receivedAt !== undefined) this.commitToWakeMs.push(woken - tx.receivedAt);
      if (this.commitToWakeMs.length > 1000) this.commitToWakeMs.splice(0, this.commitToWakeMs.length - 1000);
    }
    for (const a of appended) {
      const s = this.registry.byId.get(a.shapeId);
      if (!s) continue;
      s.logRows += a.rows;
      s.logBytes += a.bytes;
      s.lastLsn = a.lastLsn;
      s.lastOp = a.lastOp;
      s.lastChangeAt = now;
      this.registry.wake(s);
    }
  }

  private seenBySnapshot(s: ShapeState, tx: ReplicatedTransaction): boolean {
    const f = s.snapshotFilter;
    if (!f) return false;
    if (tx.lsn > f.untilLsn) {
      s.snapshotFilter = undefined;
      return false;
    }
    return isVisibleInSnapshot(tx.xid, f.snapshot);
  }

  private invalidateTable(qualified: string) {
    for (const s of this.registry.all()) {
      if (shapeTables(s.runtime.shape).includes(qualified)) void this.deleteShape(s).catch(() => {});
    }
  }

  private async reloadMembers() {
    for (const stored of await store.loadShapes(this.options.pool, this.options.slotName)) {
      const s = this.registry.byId.get(stored.id);
      if (s) s.runtime.members = stored.members;
    }
  }
}

/** The shape's where passes where-types.ts, subqueries' inner wheres against their own tables. */
function whereStillAccepted(shape: CompiledShape): boolean {
  try {
    if (shape.where) checkWhere(shape.where, whereColumns(shape.info, shape.subqueries));
    return true;
  } catch {
    return false;
  }
}

function touches(tx: ReplicatedTransaction, rt: ShapeRuntime): boolean {
  const { schema, table, subqueries } = rt.shape;
  return tx.changes.some(
    (c) =>
      (c.schema === schema && c.table === table) ||
      subqueries.some((sq) => c.schema === sq.schema && c.table === sq.table),
  );
}
