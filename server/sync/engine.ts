// The sync engine in one call: replication → shape logs (service.ts) → HTTP (shape-router.ts).
// It knows no table of its own: the tables it serves, who may see what, what is audited and
// cached, and how long live requests are held per table come in through the options (the app:
// server/clinic-sync/; `npm run sync-service`: standalone-app.ts). Documented in docs/sync.md.
import type { Router } from 'express';
import type { ShapeAccess, TableScope } from './access.js';
import { SyncService, type SyncServiceOptions } from './service.js';
import { createShapeRouter } from './shape-router.js';
import { shapeReports, type ShapeReport } from './status.js';

export interface SyncEngineOptions extends SyncServiceOptions {
  /** The tables it serves: `schema.table` names, or 'any-readable' (standalone). */
  tables: TableScope;
  /** Who may see what; see access.ts. */
  access: ShapeAccess;
}

export interface SyncEngine {
  /** The service underneath (shape registry, processed LSN), for status pages and tests. */
  readonly service: SyncService;
  /** /shape and /health, to mount under /v1. */
  readonly router: Router;
  /** True while the replication stream is up (readiness). */
  readonly streaming: boolean;
  /** Checks the slot, loads the stored shapes and starts consuming replication. */
  start(): Promise<void>;
  /** Resolves true once the stream is up, false when `timeoutMs` passes first. */
  waitUntilStreaming(timeoutMs: number): Promise<boolean>;
  /** Runs `fn` when the engine stops (parts started alongside it), before replication stops. */
  onStop(fn: () => Promise<void>): void;
  stop(): Promise<void>;
  /** One report per shape: table, scope, handle, rows, log bytes, live requests, last change. */
  status(): ShapeReport[];
}

export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { tables, access, ...serviceOptions } = options;
  const service = new SyncService(serviceOptions);
  const router = createShapeRouter({ service, tables, access });
  return {
    service,
    router,
    get streaming() {
      return service.streaming;
    },
    start: () => service.start(),
    async waitUntilStreaming(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (!service.streaming && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return service.streaming;
    },
    onStop: (fn) => service.onStop(fn),
    stop: () => service.stop(),
    status: () => shapeReports(service),
  };
}
