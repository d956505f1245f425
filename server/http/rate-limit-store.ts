// Hit counters for express-rate-limit / express-slow-down. In memory by default (one
// process); with RATE_LIMIT_STORE=postgres in the UNLOGGED table rate_limit_hits, so that
// several server instances share one budget per client. Fixed windows, like MemoryStore.
import { MemoryStore, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import type { AppDeps } from '../deps.js';
import type { Queryable } from '../db/pool.js';

const CLEANUP_EVERY = 500; // increments between sweeps of expired counters

export class PostgresRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private sinceCleanup = 0;

  constructor(
    private readonly db: Queryable,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { rows } = await this.db.query<{ hits: number; reset_at: Date }>(
      'SELECT hits, reset_at FROM rate_limit_hits WHERE key = $1 AND reset_at > now()',
      [this.prefix + key],
    );
    return rows[0] ? { totalHits: rows[0].hits, resetTime: rows[0].reset_at } : undefined;
  }

  /** One atomic upsert: a counter whose window has passed starts again at 1. */
  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (++this.sinceCleanup >= CLEANUP_EVERY) {
      this.sinceCleanup = 0;
      await this.db.query('DELETE FROM rate_limit_hits WHERE reset_at <= now()');
    }
    const { rows } = await this.db.query<{ hits: number; reset_at: Date }>(
      `INSERT INTO rate_limit_hits AS r (key, hits, reset_at)
       VALUES ($1, 1, now() + make_interval(secs => $2::float8 / 1000))
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN r.reset_at <= now() THEN 1 ELSE r.hits + 1 END,
         reset_at = CASE WHEN r.reset_at <= now() THEN excluded.reset_at ELSE r.reset_at END
       RETURNING hits, reset_at`,
      [this.prefix + key, this.windowMs],
    );
    return { totalHits: rows[0]!.hits, resetTime: rows[0]!.reset_at };
  }

  async decrement(key: string): Promise<void> {
    await this.db.query('UPDATE rate_limit_hits SET hits = greatest(hits - 1, 0) WHERE key = $1 AND reset_at > now()', [
      this.prefix + key,
    ]);
  }

  async resetKey(key: string): Promise<void> {
    await this.db.query('DELETE FROM rate_limit_hits WHERE key = $1', [this.prefix + key]);
  }
}

/** A fresh store for one limiter (express-rate-limit refuses to share a store between limiters). */
export function createRateLimitStore(deps: AppDeps, prefix: string): Store {
  return deps.config.rateLimits.store === 'postgres'
    ? new PostgresRateLimitStore(deps.pool, `${prefix}:`)
    : new MemoryStore();
}
