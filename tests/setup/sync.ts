// Starts the real app with the sync service on a test database. Each test file passes its own
// slot name, so files running in parallel never share a replication slot.
import type { AppDeps } from '../../server/deps.js';
import type { SyncService } from '../../server/sync/service.js';
import { startSyncService } from '../../server/sync/start.js';
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
  let sync: SyncService | undefined;
  const server = await startTestServer(
    db,
    { SYNC_SLOT_NAME: slotName, SYNC_LONG_POLL_MS: '2000', ...env },
    async (deps: AppDeps) => {
      sync = await startSyncService(deps, options);
      return options.now ? { ...deps, now: options.now } : deps;
    },
  );
  await waitFor(() => sync!.streaming, 20_000);
  return {
    ...server,
    sync: sync!,
    async close() {
      await server.close();
      await sync!.stop();
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
