import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import type { Logger } from './logger.js';

/** What the HTTP app needs from the outside world; built by index.ts, or by a test. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  /** Connection string of the same database (the sync service opens a replication connection). */
  databaseUrl: string;
  /** Readiness of parts beyond the pool (e.g. replication); all must be true for /readyz. */
  readiness?: Record<string, () => boolean>;
}
