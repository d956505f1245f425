import type { Config } from './config.js';
import type { Pool } from './db/pool.js';
import type { Logger } from './logger.js';
import type { ReplicationSampler } from './observability/sampler.js';
import type { ShapeStatus } from '../src/lib/shared/admin-sync.js';
import type { SyncEngine } from './sync/engine.js';

/** What the HTTP app needs from the outside world; built by index.ts, or by a test. */
export interface AppDeps {
  config: Config;
  pool: Pool;
  logger: Logger;
  /** Connection string of the same database (the sync service opens a replication connection). */
  databaseUrl: string;
  /** Readiness of parts beyond the pool (e.g. replication); all must be true for /readyz. */
  readiness?: Record<string, () => boolean>;
  /** Samples replication for the admin page's chart and the lag metrics (started by server.ts). */
  replicationSampler?: ReplicationSampler;
  /** The running sync engine, which serves /v1 (absent in proxy mode or when a test runs without it). */
  sync?: SyncEngine;
  /** The sync service's report of its shapes, for GET /api/admin/sync and /metrics. */
  syncStatus?: () => ShapeStatus[] | Promise<ShapeStatus[]>;
  /** The built client to serve (build/ when unset); a test serves a changed copy to ship a new version. */
  clientBuildDir?: string;
  /** The clock the scheduling rules read ("in the past", "the appointment's day"); default: real time. */
  now?: () => Date;
}
