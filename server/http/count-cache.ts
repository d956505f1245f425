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
//
// The same cache keeps **page anchors**: for each list, the ids of the first and last rows of
// the pages read since the last change, by position. The next page, the previous one, or the
// same page again then starts at its neighbour's row (keyset: an index range from that row)
// instead of skipping every row above it with OFFSET, which for the middle of a 50,000-row list
// reads 25,000 index entries. A page first reached by a jump still skips.
import type { Pool } from '../db/pool.js';

interface Entry {
  count: number;
  at: number;
}

/** Where a page can start without OFFSET: at, after or before a row read on a page earlier. */
export interface PageAnchor {
  id: string;
  /** 'at': the page starts with this row; 'after': with the row after it (list order);
   *  'before': it ends with the row before it (read backwards from it). */
  side: 'at' | 'after' | 'before';
}

interface Anchors {
  at: number;
  /** List position (0-based) → id of the row there. */
  ids: Map<number, string>;
}

export interface CountSource {
  /** True while changes are being received (a total may be trusted until one arrives). */
  readonly streaming: boolean;
  /** Calls `fn` with the tables of every replicated transaction, on arrival. */
  onTablesChanged(fn: (tables: ReadonlySet<string>) => void): void;
}

export class CountCache {
  private entries = new Map<string, Entry>();
  private anchors = new Map<string, Anchors>();
  /** Pages read from an anchor (for tests and metrics). */
  anchoredReads = 0;
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
    this.anchors.clear();
  }

  /** The current epoch: pass it to rememberPage for a page read after this call. */
  get currentEpoch(): number {
    return this.epoch;
  }

  /** An anchor for the page of `size` rows at `offset` of list `key`, if one is known. */
  anchorFor(key: string, offset: number, size: number): PageAnchor | undefined {
    // The first page skips nothing: it is always read afresh.
    if (offset === 0 || !this.source.streaming) return undefined;
    const known = this.anchors.get(key);
    if (!known || Date.now() - known.at >= this.ttlMs) return undefined;
    const at = known.ids.get(offset);
    if (at) return { id: at, side: 'at' };
    const previous = known.ids.get(offset - 1);
    if (previous) return { id: previous, side: 'after' };
    const next = known.ids.get(offset + size);
    if (next) return { id: next, side: 'before' };
    return undefined;
  }

  /**
   * Keeps the first and last rows of a page read at `offset` as anchors, unless a change
   * arrived since `epoch` (then the positions may be off by the rows it added or removed).
   */
  rememberPage(key: string, offset: number, ids: readonly string[], epoch: number): void {
    if (!ids.length || epoch !== this.epoch || !this.source.streaming) return;
    let known = this.anchors.get(key);
    if (!known || Date.now() - known.at >= this.ttlMs) {
      if (this.anchors.size >= this.maxEntries) this.anchors.clear();
      known = { at: Date.now(), ids: new Map() };
      this.anchors.set(key, known);
    }
    // Two per page read: a few hundred pages of one list at most before it starts afresh.
    if (known.ids.size >= 512) known.ids.clear();
    known.ids.set(offset, ids[0]!);
    known.ids.set(offset + ids.length - 1, ids[ids.length - 1]!);
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
