// Reactive local reads for the screens that change their query often (the appointments list's
// pages and total, patient search per keystroke, the schedule's day and week): one plain read
// per query, and one change watch per statement shared by every page and keystroke, instead
// of a live query built and dropped for each (a temporary view, PREPARE and a LISTEN per
// table: a dozen worker round trips the next read waits behind). The watches are built after
// the screen's first reads, so a cold start paints the schedule without waiting for them.
// Same interface as `liveRows`.
import { untrack } from 'svelte';
import type { SqlQuery } from './queries/queryable';
import { currentDb } from './client';
import type { LiveRows } from './live.svelte';
import { LatestRead, watchTables } from './watched-read';

/**
 * Call during component setup; `query` is read whenever its reactive inputs change, and again
 * when sync or a local write changes a table it reads. The previous rows stay until the new
 * query's answer replaces them (no flash of an empty list between pages).
 */
export function watchedRows<T>(query: () => SqlQuery | null): LiveRows<T> {
  // Raw: rows are replaced whole, never edited in place, so they need no deep proxy (50 rows
  // of 20 columns cost a proxy per object on every read); `shown` keeps the caller's object.
  let rows = $state.raw<T[]>([]);
  let shown = $state.raw<SqlQuery | null>(null);
  let loading = $state(true);
  let error = $state<string | null>(null);
  const current = $derived(query());
  const watchedSql = $derived(current?.sql ?? null);
  let reader: LatestRead<T> | null = null;

  const readerFor = (db: Parameters<typeof watchTables>[0]) =>
    (reader ??= new LatestRead<T>(
      db,
      (q, answer) => {
        rows = answer;
        shown = q;
        loading = false;
        error = null;
      },
      (_q, err) => {
        error = err instanceof Error ? err.message : String(err);
        loading = false;
      },
    ));

  // Every new query (a page, a keystroke): one plain read.
  $effect(() => {
    const q = current;
    const dbPromise = currentDb();
    if (!q || !dbPromise) return;
    loading = true;
    dbPromise.then(
      (db) => readerFor(db).request(q),
      (err: unknown) => (error = err instanceof Error ? err.message : String(err)),
    );
  });

  // A new statement (not new parameters): another watch, shared and kept a while.
  $effect(() => {
    const sql = watchedSql;
    const dbPromise = currentDb();
    if (!sql || !dbPromise) return;
    const params = untrack(() => current?.params ?? []);
    let cancelled = false;
    let release: (() => void) | null = null;
    dbPromise.then(
      (db) => {
        if (cancelled) return;
        const r = readerFor(db);
        release = watchTables(db, sql, params, () => r.refresh(), r.idle);
      },
      () => undefined,
    );
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
