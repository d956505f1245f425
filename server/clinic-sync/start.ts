// The clinic's sync engine: the core engine (server/sync/engine.ts) with the clinic's tables,
// access policy and long-poll holds, and the listener that ends a session's live requests.
// The assembler (server.ts, or a test) starts it and puts it into the app's deps itself.
import type { AppDeps } from '../deps.js';
import { attachCountCache, CountCache } from '../http/count-cache.js';
import { createSyncEngine, type SyncEngine } from '../sync/engine.js';
import type { SyncServiceOptions } from '../sync/service.js';
import { CLINIC_TABLES, clinicShapeAccess } from './access.js';
import { SessionEndWatcher } from './session-ends.js';

export const PUBLICATION = 'clinic_sync';

/**
 * Tables that change all day get the full long-poll hold; the reference tables (doctors,
 * hours, specializations, appointment types), which rarely change, SYNC_QUIET_LONG_POLL_MS.
 * A device long-polls six shapes and a browser opens at most six HTTP/1.1 connections per
 * host: the short holds keep connections coming free for the outbox and the API.
 */
const BUSY_TABLES = new Set(['appointments', 'patients']);

type EngineDeps = Pick<AppDeps, 'config' | 'pool' | 'logger' | 'databaseUrl'>;

export function createClinicSyncEngine(deps: EngineDeps, overrides: Partial<SyncServiceOptions> = {}): SyncEngine {
  const { config } = deps;
  return createSyncEngine({
    pool: deps.pool,
    databaseUrl: deps.databaseUrl,
    slotName: config.syncSlotName,
    publication: PUBLICATION,
    logger: deps.logger,
    longPollMs: config.syncLongPollMs,
    holdMs: ({ table }) => (BUSY_TABLES.has(table) ? config.syncLongPollMs : config.syncQuietLongPollMs),
    narrowedIdleMs: config.syncClientShapes.idleMinutes * 60_000,
    chunkBytes: config.syncChunkBytes,
    compactLogRows: config.syncCompactLogRows,
    ...overrides,
    tables: CLINIC_TABLES,
    access: clinicShapeAccess(deps),
  });
}

/** Creates and starts the clinic's engine with its session-end listener. */
export async function startClinicSync(
  deps: EngineDeps,
  overrides: Partial<SyncServiceOptions> = {},
): Promise<SyncEngine> {
  const engine = createClinicSyncEngine(deps, overrides);
  await engine.start();
  const sessions = new SessionEndWatcher(deps.databaseUrl, deps.logger);
  await sessions.start();
  engine.onStop(() => sessions.stop());
  // Listen only once the stream is up, so /readyz is green as soon as the port answers; a
  // database that can't stream yet leaves readiness red and the consumer retrying.
  if (!(await engine.waitUntilStreaming(15_000)))
    deps.logger.warn('replication is not streaming yet; /readyz stays 503 until it does');
  return engine;
}

/**
 * The app's deps with a running engine: it serves /v1, `/readyz` waits for its stream
 * (readiness.replication) and the admin page and /metrics read its status (syncStatus).
 */
export function withSyncEngine(deps: AppDeps, engine: SyncEngine): AppDeps {
  // List totals of appointments are kept until the stream reports a change (count-cache.ts).
  attachCountCache(
    deps.pool,
    new CountCache(
      {
        get streaming() {
          return engine.streaming;
        },
        onTablesChanged: (fn) => engine.service.onTablesChanged(fn),
      },
      ['public.appointments'],
    ),
  );
  return {
    ...deps,
    sync: engine,
    readiness: { ...deps.readiness, replication: () => engine.streaming },
    syncStatus: () => engine.status(),
  };
}
