// Starts the real app with the sync service on a test database. Each test file passes its own
// slot name, so files running in parallel never share a replication slot.
import type { AppDeps } from '../../server/deps.js';
import { startClinicSync, withSyncEngine } from '../../server/clinic-sync/start.js';
import type { SyncEngine } from '../../server/sync/engine.js';
import type { SyncService } from '../../server/sync/service.js';
import type { TestDatabase } from './database.js';
import { startTestServer, type TestServer } from './server.js';

export interface SyncTestServer extends TestServer {
  sync: SyncService;
}

export async function startSyncTestServer(
  db: TestDatabase,
  slotName: string,
  env: Record<string, string> = {},
  options: { chunkBytes?: number; now?: () => Date } = {},
): Promise<SyncTestServer> {
  let engine: SyncEngine | undefined;
  const server = await startTestServer(
    db,
    { SYNC_SLOT_NAME: slotName, SYNC_LONG_POLL_MS: '2000', ...env },
    async (deps: AppDeps) => {
      engine = await startClinicSync(deps, options);
      const withSync = withSyncEngine(deps, engine);
      return options.now ? { ...withSync, now: options.now } : withSync;
    },
  );
  await waitFor(() => engine!.streaming, 20_000);
  return {
    ...server,
    sync: engine!.service,
    async close() {
      await server.close();
      await engine!.stop();
    },
  };
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
