// Reactive local reads for components: the query re-runs in PGlite whenever sync (or a
// local write) changes a table it reads, and the component sees the new rows; no reload.
import { untrack } from 'svelte';
import type { SqlQuery } from './queries/queryable';
import { currentDb, type LocalDb } from './client';
import { watchSql } from './queries/watch';

export interface LiveRows<T> {
  readonly rows: T[];
  readonly loading: boolean;
  readonly error: string | null;
  /** The query `rows` answer (the same object the caller passed); null before the first answer. */
  readonly shown: SqlQuery | null;
}

interface Watch {
  listeners: Set<() => void>;
  stop: (() => Promise<void>) | null;
  linger: ReturnType<typeof setTimeout> | undefined;
  closed: boolean;
}

/** Watches per database and statement, shared by every reader of the same statement. */
const watches = new WeakMap<LocalDb, Map<string, Watch>>();
/**
 * A watch nobody uses stays this long: paging back and forth (first, next, last, previous are
 * four statements) or switching filters reuses it instead of building it again.
 */
const WATCH_LINGER_MS = 60_000;

/**
 * Calls `onChange` whenever a table `sql` reads changes, and once as soon as a new watch is in
 * place (a change between the caller's read and that moment is not missed). A new watch is
 * built only once `after` settles (the caller's read): on a cold start a screen's reads then
 * all go before its watches, and the first paint does not wait for them. Returns the release.
 */
function watchTables(
  db: LocalDb,
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
    after
      .catch(() => undefined)
      .then(() =>
        db.live.query(watchSql(sql), params, () => {
          for (const listener of [...created.listeners]) listener();
        }),
      )
      .then((live) => {
        created.stop = live.unsubscribe;
        if (created.closed) void live.unsubscribe().catch(() => undefined);
      })
      .catch((err: unknown) => {
        byStatement.delete(sql);
        console.warn('live rows: the change watch failed', err);
      });
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

/** Call during component setup; `query` is re-read when its reactive inputs change. */
export function liveRows<T>(query: () => SqlQuery | null): LiveRows<T> {
  // Raw: rows are replaced whole, never edited in place, so they need no deep proxy (50 rows
  // of 20 columns cost a proxy per object on every read); `shown` keeps the caller's object.
  let rows = $state.raw<T[]>([]);
  let shown = $state.raw<SqlQuery | null>(null);
  let loading = $state(true);
  let error = $state<string | null>(null);
  const current = $derived(query());
  const watchedSql = $derived(current?.sql ?? null);
  let latest: SqlQuery | null = null;
  // One read at a time; a change arriving meanwhile reads again once it is done, and only the
  // answer to the latest query is shown.
  let reading = false;
  let again = false;
  /** The read the latest query started (a new watch waits for it). */
  let lastRead: Promise<void> = Promise.resolve();

  const fail = (err: unknown) => {
    error = err instanceof Error ? err.message : String(err);
  };
  const read = async (db: LocalDb): Promise<void> => {
    if (reading) return void (again = true);
    reading = true;
    try {
      do {
        again = false;
        const target = latest;
        if (!target) return;
        const result = await db.query<T>(target.sql, target.params);
        if (target !== latest) again = true;
        else {
          rows = result.rows;
          shown = target;
          loading = false;
          error = null;
        }
      } while (again);
    } catch (err) {
      fail(err);
    } finally {
      reading = false;
    }
  };

  // Every new query (a page, a keystroke): one plain read.
  $effect(() => {
    const q = current;
    const dbPromise = currentDb();
    latest = q;
    if (!q || !dbPromise) return;
    loading = true;
    lastRead = dbPromise.then(read, fail);
  });

  // A new statement (not new parameters): another watch, shared and kept a while.
  $effect(() => {
    const sql = watchedSql;
    const dbPromise = currentDb();
    if (!sql || !dbPromise) return;
    const params = untrack(() => current?.params ?? []);
    let cancelled = false;
    let release: (() => void) | null = null;
    dbPromise.then((db) => {
      if (!cancelled) release = watchTables(db, sql, params, () => void read(db), lastRead);
    }, fail);
    return () => {
      cancelled = true;
      release?.();
    };
  });
  return {
    get rows() {
      return rows;
    },
    get loading() {
      return loading;
    },
    get error() {
      return error;
    },
    get shown() {
      return shown;
    },
  };
}
