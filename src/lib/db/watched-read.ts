// The machinery under `watchedRows` (watched-rows.svelte.ts), free of Svelte so unit tests run
// it on a real PGlite: one plain read per query, only the latest query's answer shown, and a
// change watch per statement shared by every reader and kept a while after the last one.
import type { SqlQuery } from './queries/queryable';
import { watchSql } from './queries/watch';

/** What the reads need of the database: a PGliteWorker in the app, a PGlite in unit tests. */
export interface WatchableDb {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  live: {
    query(sql: string, params: unknown[], callback: () => void): Promise<{ unsubscribe(): Promise<void> }>;
  };
}

/** Attempts of one query before its error is shown (a read is safe to repeat). */
const READ_ATTEMPTS = 3;

/**
 * Reads the latest query, one read at a time. A new query or a change arriving during a read
 * is read once that read is done; an answer to a query that is no longer the latest is never
 * shown. A failed read does not end the loop: if a newer query or a change is waiting (a filter
 * changed again meanwhile) that is read next, otherwise the same query is tried again before
 * its error is reported. (Ending the loop on an error lost the read queued behind it, and a
 * list's total kept the previous filter's answer.)
 */
export class LatestRead<T, Q extends SqlQuery = SqlQuery> {
  #latest: Q | null = null;
  #reading = false;
  #again = false;
  /** Settles when the read loop started by the latest `request` or `refresh` is idle. */
  idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: WatchableDb,
    private readonly onRows: (query: Q, rows: T[]) => void,
    private readonly onError: (query: Q, error: unknown) => void,
  ) {}

  /** The query to show now (null: none). */
  request(query: Q | null): void {
    this.#latest = query;
    this.refresh();
  }

  /** A table under the query changed: read the latest query again. */
  refresh(): void {
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.idle = this.#loop();
  }

  async #loop(): Promise<void> {
    this.#reading = true;
    let attempts = 0;
    let attempted: Q | null = null;
    try {
      do {
        this.#again = false;
        const target = this.#latest;
        if (!target) return;
        if (target !== attempted) {
          attempted = target;
          attempts = 0;
        }
        let rows: T[];
        try {
          rows = (await this.db.query<T>(target.sql, target.params)).rows;
        } catch (err) {
          if (this.#again || target !== this.#latest) continue; // something newer waits: read that
          if (++attempts < READ_ATTEMPTS) this.#again = true;
          else this.onError(target, err);
          continue;
        }
        if (target !== this.#latest) this.#again = true;
        else this.onRows(target, rows);
      } while (this.#again);
    } finally {
      this.#reading = false;
    }
  }
}

interface Watch {
  listeners: Set<() => void>;
  stop: (() => Promise<void>) | null;
  linger: ReturnType<typeof setTimeout> | undefined;
  closed: boolean;
}

/** Watches per database and statement, shared by every reader of the same statement. */
const watches = new WeakMap<WatchableDb, Map<string, Watch>>();
/**
 * A watch nobody uses stays this long: paging back and forth (first, next, last, previous are
 * four statements) or switching filters reuses it instead of building it again.
 */
export const WATCH_LINGER_MS = 60_000;
/** Waits before building a failed watch again (its readers stay subscribed meanwhile). */
const WATCH_RETRY_MS = [250, 1_000, 5_000];

/**
 * Calls `onChange` whenever a table `sql` reads changes, and once as soon as a new watch is in
 * place (a change between the caller's read and that moment is not missed). A new watch is
 * built only once `after` settles (the caller's first read): a screen's reads go before its
 * watches, and the first paint does not wait for them. A watch whose creation fails is built
 * again, so its readers do not silently stop seeing changes. Returns the release.
 */
export function watchTables(
  db: WatchableDb,
  sql: string,
  params: unknown[],
  onChange: () => void,
  after: Promise<unknown>,
): () => void {
  let byStatement = watches.get(db);
  if (!byStatement) watches.set(db, (byStatement = new Map()));
  let watch = byStatement.get(sql);
  if (!watch) {
    const created: Watch = { listeners: new Set(), stop: null, linger: undefined, closed: false };
    byStatement.set(sql, created);
    const build = (attempt: number): Promise<void> =>
      db.live
        .query(watchSql(sql), params, () => {
          for (const listener of [...created.listeners]) listener();
        })
        .then((live) => {
          created.stop = live.unsubscribe;
          if (created.closed) void live.unsubscribe().catch(() => undefined);
        })
        .catch((err: unknown) => {
          if (created.closed) return;
          if (attempt >= WATCH_RETRY_MS.length) {
            byStatement.delete(sql);
            console.warn('watched rows: the change watch failed', err);
            return;
          }
          return new Promise<void>((r) => setTimeout(r, WATCH_RETRY_MS[attempt])).then(() => build(attempt + 1));
        });
    void after.catch(() => undefined).then(() => build(0));
    watch = created;
  }
  clearTimeout(watch.linger);
  watch.linger = undefined;
  watch.listeners.add(onChange);
  const w = watch;
  return () => {
    w.listeners.delete(onChange);
    if (w.listeners.size || w.linger) return;
    w.linger = setTimeout(() => {
      w.linger = undefined;
      if (w.listeners.size) return;
      w.closed = true;
      if (byStatement.get(sql) === w) byStatement.delete(sql);
      void w.stop?.().catch(() => undefined);
    }, WATCH_LINGER_MS);
  };
}
