// Starts the sync service for an app: deps.sync, readiness.replication and deps.syncStatus.
import type { AppDeps } from '../deps.js';
import { SyncService, type SyncServiceOptions } from './service.js';
import { SessionEndWatcher } from './session-ends.js';
import { shapeReports } from './status.js';

export const PUBLICATION = 'clinic_sync';

export async function startSyncService(
  deps: AppDeps,
  overrides: Partial<SyncServiceOptions> = {},
): Promise<SyncService> {
  const service = new SyncService({
    pool: deps.pool,
    databaseUrl: deps.databaseUrl,
    slotName: deps.config.syncSlotName,
    publication: PUBLICATION,
    logger: deps.logger,
    longPollMs: deps.config.syncLongPollMs,
    quietLongPollMs: deps.config.syncQuietLongPollMs,
    narrowedIdleMs: deps.config.syncClientShapes.idleMinutes * 60_000,
    chunkBytes: deps.config.syncChunkBytes,
    compactLogRows: deps.config.syncCompactLogRows,
    ...overrides,
  });
  await service.start();
  const sessions = new SessionEndWatcher(deps.databaseUrl, deps.logger);
  await sessions.start();
  service.onStop(() => sessions.stop());
  // Listen only once the stream is up, so /readyz is green as soon as the port answers; a
  // database that can't stream yet leaves readiness red and the consumer retrying.
  const until = Date.now() + 15_000;
  while (!service.streaming && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  if (!service.streaming) deps.logger.warn('replication is not streaming yet; /readyz stays 503 until it does');
  deps.sync = service;
  deps.readiness = { ...deps.readiness, replication: () => service.streaming };
  deps.syncStatus = () => shapeReports(service);
  return service;
}
