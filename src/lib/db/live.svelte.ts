// Reactive local reads for components: the query re-runs in PGlite whenever sync (or a
// local write) changes a table it reads, and the component sees the new rows; no reload.
import type { SqlQuery } from './queries/queryable';
import { currentDb } from './client';

export interface LiveRows<T> {
  readonly rows: T[];
  readonly loading: boolean;
  readonly error: string | null;
  /** The query `rows` answer (the very object the caller passed); null before the first answer. */
  readonly shown: SqlQuery | null;
}

/** Call during component setup; `query` is re-read when its reactive inputs change. */
export function liveRows<T>(query: () => SqlQuery | null): LiveRows<T> {
  const state = $state({ rows: [] as T[], loading: true, error: null as string | null });
  // Raw: a deep proxy would wrap the caller's object, and `shown === query` would never hold.
  let shown = $state.raw<SqlQuery | null>(null);
  $effect(() => {
    const q = query();
    const dbPromise = currentDb();
    if (!q || !dbPromise) return;
    let cancelled = false;
    let unsubscribe: (() => Promise<void>) | null = null;
    state.loading = true;
    void dbPromise
      .then(async (db) => {
        const live = await db.live.query<T & Record<string, unknown>>(q.sql, q.params, (result) => {
          if (!cancelled) state.rows = result.rows;
        });
        if (cancelled) return void live.unsubscribe();
        state.rows = live.initialResults.rows;
        shown = q;
        state.loading = false;
        state.error = null;
        unsubscribe = live.unsubscribe;
      })
      .catch((err: unknown) => {
        if (!cancelled) state.error = err instanceof Error ? err.message : String(err);
      });
    return () => {
      cancelled = true;
      void unsubscribe?.();
    };
  });
  return {
    get rows() {
      return state.rows;
    },
    get loading() {
      return state.loading;
    },
    get error() {
      return state.error;
    },
    get shown() {
      return shown;
    },
  };
}
