// Exact list totals without counting on every page. A list's `count` is a scan of every row
// that matches its filters (50,000 appointments: the most expensive part of a page by far),
// and a receptionist paging through a list asks for the same total again and again. Totals
// are kept per (scope, filters) until the tables they count change.
//
// How "change" is known: the sync engine's replication stream reports every committed
// transaction's tables as it arrives, and this process's own writes clear the cache when they
// commit (so whoever wrote sees their write counted on the next page at once). A change made
// elsewhere (another instance, a background job, SQL by hand) is counted once its commit has
// reached the stream: the same delay with which devices see it. Without a live stream nothing
// is cached.
import type { Pool } from '../db/pool.js';

interface Entry {
  count: number;
  at: number;
}

export interface CountSource {
  /** True while changes are being received (a total may be trusted until one arrives). */
  readonly streaming: boolean;
  /** Calls `fn` with the tables of every replicated transaction, on arrival. */
  onTablesChanged(fn: (tables: ReadonlySet<string>) => void): void;
}

export class CountCache {
  private entries = new Map<string, Entry>();
  /** Bumped by every change: a total computed across a change is not kept. */
  private epoch = 0;

  constructor(
    private readonly source: CountSource,
    /** `schema.table` names whose changes may change a total. */
    tables: string[],
    /** A bound on staleness should the stream miss something while it reconnects. */
    private readonly ttlMs = 10_000,
    private readonly maxEntries = 2_000,
  ) {
    const watched = new Set(tables);
    source.onTablesChanged((changed) => {
      for (const t of changed)
        if (watched.has(t)) {
          this.invalidate();
          return;
        }
    });
  }

  invalidate(): void {
    this.epoch++;
    this.entries.clear();
  }

  async count(key: string, compute: () => Promise<number>): Promise<number> {
    if (!this.source.streaming) return compute();
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.count;
    const epoch = this.epoch;
    const at = Date.now();
    const count = await compute();
    // A change that arrived while counting may or may not be in this total: don't keep it.
    if (epoch === this.epoch && this.source.streaming) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      this.entries.set(key, { count, at });
    }
    return count;
  }
}

const caches = new WeakMap<Pool, CountCache>();

/** The app's count cache for the database behind `pool` (set up with the sync engine). */
export function attachCountCache(pool: Pool, cache: CountCache): void {
  caches.set(pool, cache);
}

export function countCacheOf(pool: Pool): CountCache | undefined {
  return caches.get(pool);
}
