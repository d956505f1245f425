// Runs in the worker that owns the database (the elected leader tab's worker), so one device
// syncs once however many tabs are open. Streams every shape into its *_synced table through
// pglite-sync in one multi-table subscription (changes from one server transaction are
// applied in one local transaction), and broadcasts progress and status to the tabs.
import type { PGliteWithSync, SyncShapesToTablesResult } from '@electric-sql/pglite-sync';
import type { PGliteWithLive } from '@electric-sql/pglite/live';
import { SYNCED_TABLE_NAMES, type SyncedTableName } from '../db/schema/tables';
import { prepareIndexesOnStart, restoreDeferredIndexes } from './deferred-indexes';
import { CONFIRMING_TABLES, gatedFetch, LiveRequestGate } from './live-gate';
import { NetworkState, onlineFetch } from './online-fetch';
import { syncShapesToTablesSafely } from './resume-guard';
import { SUBSCRIPTION_KEY, shapeDefinitions } from './shapes';
import {
  INITIAL_STATUS,
  syncChannelName,
  type FirstSyncTimings,
  type OpenTimings,
  type SyncMessage,
  type SyncStatus,
} from './status';

type SyncDb = PGliteWithSync & PGliteWithLive;

export interface SyncOptions {
  dbKey: string;
  origin: string;
  storage: string;
  opened?: OpenTimings;
}

interface StreamLike {
  subscribe(cb: (messages: { headers: Record<string, unknown>; key?: string }[]) => void): () => void;
  lastOffset?: string;
}

export class SyncEngine {
  #status: SyncStatus;
  #channel: BroadcastChannel;
  #subscription: SyncShapesToTablesResult | null = null;
  #unsubscribers: (() => void)[] = [];
  #stopped = false;
  #rowsSinceAnalyze = 0;
  #restarting: Promise<void> = Promise.resolve();
  #analyzeTimer: ReturnType<typeof setTimeout> | undefined;
  #startedAt = 0;
  #upToDate = new Set<SyncedTableName>();
  /** Holds the live requests of the shapes an outbox replay does not wait for (live-gate.ts). */
  #liveGate = new LiveRequestGate();
  /** Offline as the tabs see it: shape requests wait for the network (online-fetch.ts). */
  #network = new NetworkState();

  constructor(
    private readonly db: SyncDb,
    private readonly options: SyncOptions,
  ) {
    this.#status = { ...INITIAL_STATUS, storage: options.storage, opened: options.opened ?? null };
    this.#channel = new BroadcastChannel(syncChannelName(options.dbKey));
    this.#channel.onmessage = (event: MessageEvent<SyncMessage>) => {
      if (event.data.type === 'status?') this.#publish();
      // A new login: start over from the stored offsets (after a 401 the streams have stopped,
      // whether or not the error reached us).
      if (event.data.type === 'resume') void this.restart();
      if (event.data.type === 'close') this.stop();
      if (event.data.type === 'network') this.#network.set(event.data.online);
      if (event.data.type === 'outbox-sending') {
        if (event.data.sending) this.#liveGate.hold();
        else this.#liveGate.release();
      }
    };
  }

  get status(): SyncStatus {
    return this.#status;
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const done = await this.db.query<{ value: boolean }>(
      `SELECT value FROM local_meta WHERE key = 'initial_sync_done'`,
    );
    this.#update({
      phase: done.rows.length ? 'live' : 'initial',
      initialSyncDone: done.rows.length > 0,
      error: null,
      received: {},
    });
    this.#startedAt = performance.now();
    this.#upToDate.clear();
    if (!this.#status.initialSyncDone) {
      this.#update({ firstSync: {} });
      void this.#loadTotals();
    }
    await prepareIndexesOnStart(this.db, this.#status.initialSyncDone).catch((err) =>
      console.warn('sync: deferring or rebuilding indexes failed', err),
    );
    if (this.#status.initialSyncDone) await this.#analyzeIfNoStatistics();
    // Shapes stored past the last commit (a reload while changes waited) are refetched.
    const { subscription, refetched } = await syncShapesToTablesSafely(this.db, this.db.sync, {
      key: SUBSCRIPTION_KEY,
      // Typed against the nested client 1.0.14; the shapes are plain options objects.
      shapes: shapeDefinitions(
        `${this.options.origin}/v1/shape`,
        (table, error) => this.#onError(table, error),
        (table) => onlineFetch(this.#network, CONFIRMING_TABLES.has(table) ? undefined : gatedFetch(this.#liveGate)),
      ) as never,
      onInitialSync: () => void this.#onInitialSync(),
      onError: (error) => this.#onError(null, error),
    });
    if (refetched.length) console.warn('sync: refetching shapes stored past the last commit', refetched);
    this.#subscription = subscription;
    for (const name of SYNCED_TABLE_NAMES) this.#watch(name, this.#subscription.streams[name] as unknown as StreamLike);
  }

  stop(): void {
    this.#stopped = true;
    this.#liveGate.release();
    clearTimeout(this.#analyzeTimer);
    this.#analyzeTimer = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = null;
    for (const off of this.#unsubscribers.splice(0)) off();
    this.#update({ phase: 'stopped' });
  }

  /** After a new login: pglite-sync resumes from the stored offsets, it does not start over. */
  restart(): Promise<void> {
    // Serialized: two quick logins must not subscribe twice.
    this.#restarting = this.#restarting
      .catch(() => undefined)
      .then(async () => {
        this.stop();
        await this.start();
      });
    return this.#restarting.catch((err) => this.#onError(null, err));
  }

  #watch(table: SyncedTableName, stream: StreamLike): void {
    this.#unsubscribers.push(
      stream.subscribe((messages) => {
        let rows = 0;
        let upToDate = false;
        for (const m of messages) {
          if (m.key !== undefined) rows++;
          else if (m.headers.control === 'up-to-date') upToDate = true;
        }
        const patch: Partial<SyncStatus> = {};
        if (rows) patch.received = { ...this.#status.received, [table]: (this.#status.received[table] ?? 0) + rows };
        if (rows && this.#status.initialSyncDone) this.#maybeAnalyze(rows);
        if (upToDate) {
          patch.lastSyncedAt = Date.now();
          this.#upToDate.add(table);
          if (this.#upToDate.size === SYNCED_TABLE_NAMES.length) this.#stepDone('downloadedMs');
        }
        if (stream.lastOffset) patch.offsets = { ...this.#status.offsets, [table]: stream.lastOffset };
        if (this.#status.phase === 'error' || this.#status.phase === 'auth-required') {
          patch.phase = this.#status.initialSyncDone ? 'live' : 'initial';
          patch.error = null;
        }
        this.#update(patch);
      }),
    );
  }

  /**
   * PGlite has no autovacuum, so nothing gathers planner statistics by itself. Without them
   * the planner guesses: a keyset page in the middle of 50k rows took 150 ms instead of a
   * few. Analyze after the first sync, on start when statistics are missing, and after
   * every few thousand synced rows.
   */
  async #analyze(): Promise<void> {
    this.#rowsSinceAnalyze = 0;
    await this.db.exec('ANALYZE').catch((err) => console.warn('ANALYZE failed', err));
  }

  #maybeAnalyze(rows: number): void {
    this.#rowsSinceAnalyze += rows;
    if (this.#rowsSinceAnalyze < 5_000 || this.#analyzeTimer) return;
    this.#analyzeTimer = setTimeout(() => {
      this.#analyzeTimer = undefined;
      void this.#analyze();
    }, 2_000);
  }

  async #analyzeIfNoStatistics(): Promise<void> {
    const { rows } = await this.db.query<{ has: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_statistic s JOIN pg_class c ON c.oid = s.starelid
                       WHERE c.relname = 'appointments_synced') AS has`,
    );
    if (!rows[0]?.has) await this.#analyze();
  }

  /** Records when a step of this session's first sync ended (once). */
  #stepDone(step: keyof FirstSyncTimings): void {
    const timings = this.#status.firstSync;
    if (!timings || timings[step] !== undefined) return;
    this.#update({ firstSync: { ...timings, [step]: Math.round(performance.now() - this.#startedAt) } });
  }

  async #onInitialSync(): Promise<void> {
    this.#stepDone('appliedMs');
    await restoreDeferredIndexes(this.db).catch((err) => console.warn('sync: rebuilding indexes failed', err));
    this.#stepDone('indexedMs');
    await this.#analyze();
    this.#stepDone('analyzedMs');
    await this.db.query(
      `INSERT INTO local_meta (key, value) VALUES ('initial_sync_done', 'true') ON CONFLICT (key) DO UPDATE SET updated_at = now()`,
    );
    this.#update({ phase: 'live', initialSyncDone: true, lastSyncedAt: Date.now() });
  }

  #onError(table: SyncedTableName | null, error: unknown): void {
    if (this.#stopped) return;
    const status = (error as { status?: number })?.status;
    // A 401 means the session ended: keep every local row, stop, and wait for a new login.
    if (status === 401 || status === 403) {
      this.#update({ phase: 'auth-required', error: 'Session expired: log in again to resume syncing.' });
      this.#subscription?.unsubscribe();
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.#update({ phase: 'error', error: table ? `${table}: ${message}` : message });
  }

  /** Totals for the progress bar, from the API's counts; unknown totals just show rows so far. */
  async #loadTotals(): Promise<void> {
    const totals: Record<string, number> = {};
    for (const [table, path] of [
      ['appointments', '/api/appointments?page_size=1'],
      ['patients', '/api/patients?page_size=1'],
    ] as const) {
      try {
        const res = await fetch(this.options.origin + path, { credentials: 'same-origin' });
        if (res.ok) totals[table] = ((await res.json()) as { count: number }).count;
      } catch {
        /* offline or not available: the bar shows rows so far */
      }
    }
    this.#update({ totals });
  }

  #update(patch: Partial<SyncStatus>): void {
    this.#status = { ...this.#status, ...patch };
    this.#publish();
  }

  #publish(): void {
    this.#channel.postMessage({ type: 'status', status: this.#status } satisfies SyncMessage);
  }
}
