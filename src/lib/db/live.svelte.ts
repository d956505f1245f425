// Reactive local reads for components: the query re-runs in PGlite whenever sync (or a
// local write) changes a table it reads, and the component sees the new rows; no reload.
import type { SqlQuery } from './queries/queryable';
import { currentDb } from './client';

export interface LiveRows<T> {
  readonly rows: T[];
  readonly loading: boolean;
  readonly error: string | null;
}

/** Call during component setup; `query` is re-read when its reactive inputs change. */
export function liveRows<T>(query: () => SqlQuery | null): LiveRows<T> {
  const state = $state({ rows: [] as T[], loading: true, error: null as string | null });
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
  return state;
}
