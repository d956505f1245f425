// Main-thread access to the local database: one memoised PGliteWorker per signed-in user.
// PGlite itself stays in the worker (importing it here would ship a second copy of its
// 17 MB of files); the `live` extension runs on this side over the worker's queries.
import { live, type PGliteWithLive } from '@electric-sql/pglite/live';
import { PGliteWorker } from '@electric-sql/pglite/worker';
import { syncChannelName, type SyncMessage } from '../sync/status';
import DbWorker from './pglite.worker.ts?worker';
import { deleteStoredDatabase, opfsDatabaseExists, PREBUILD_WORKER_NAME, type WorkerMeta } from './storage';

export type LocalDb = PGliteWorker & PGliteWithLive;

let current: { dbKey: string; db: Promise<LocalDb> } | null = null;
/** A database worker the login page started before anyone signed in (prebuilt-data-dir.ts). */
let prepared: Worker | null = null;

/**
 * On a device with no local database, while the login form is filled in: starts the database
 * worker, which compiles PGlite and prepares an initialised, migrated data directory. The next
 * openLocalDb() takes that worker over.
 */
export function prepareFirstDatabase(): void {
  if (current || prepared) return;
  prepared = new DbWorker({ name: PREBUILD_WORKER_NAME });
}

export function dbKeyFor(userId: string): string {
  return `clinic-${userId}`;
}

/** Opens (once) the database of a user. The first query waits until it is really usable. */
export function openLocalDb(userId: string, overrides: Partial<WorkerMeta> = {}): Promise<LocalDb> {
  const dbKey = dbKeyFor(userId);
  if (current?.dbKey === dbKey) return current.db;
  if (current) void closeLocalDb();
  // Support / benchmark override of the storage choice: localStorage 'clinic.storage' = opfs | idb.
  const forced = localStorage.getItem('clinic.storage');
  const storage = forced === 'opfs' || forced === 'idb' ? forced : undefined;
  const meta: WorkerMeta = { dbKey, origin: location.origin, sync: true, storage, ...overrides };
  const db = (async () => {
    // Cold start diagnostics (the client benchmark reads these marks).
    performance.mark('clinic:db-open');
    const takenOver = prepared;
    prepared = null;
    const creating = PGliteWorker.create(takenOver ?? new DbWorker(), { id: dbKey, meta, extensions: { live } });
    // The prepared worker answers PGlite's protocol once told (create() is listening by now).
    takenOver?.postMessage({ type: 'clinic:attach' });
    const pg = (await creating) as LocalDb;
    // create() resolves before the leader has opened and migrated the database.
    await pg.query('SELECT 1 FROM local_schema_version LIMIT 1');
    performance.mark('clinic:db-ready');
    return pg;
  })();
  current = { dbKey, db };
  return db;
}

export function currentDb(): Promise<LocalDb> | null {
  return current?.db ?? null;
}

export async function closeLocalDb(): Promise<void> {
  const closing = current;
  current = null;
  if (!closing) return;
  try {
    await (await closing.db).close();
  } catch {
    /* never opened */
  }
}

/**
 * Deletes a user's local database: every tab of that user closes its worker (so the leader
 * stops syncing and releases the files), then the files go.
 */
export async function destroyLocalDb(userId: string): Promise<void> {
  const dbKey = dbKeyFor(userId);
  // The remembered "last synced" time belongs to the data being deleted.
  localStorage.removeItem(`clinic.lastSynced:${dbKey}`);
  const channel = new BroadcastChannel(syncChannelName(dbKey));
  channel.postMessage({ type: 'close' } satisfies SyncMessage);
  channel.close();
  if (current?.dbKey === dbKey) await closeLocalDb();
  // The leader may be another tab: give its worker a moment to stop and close.
  for (let attempt = 0; attempt < 5; attempt++) {
    await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    await deleteStoredDatabase(dbKey);
    if (!(await databaseStillThere(dbKey))) return;
  }
}

async function databaseStillThere(dbKey: string): Promise<boolean> {
  const names = (await indexedDB.databases?.())?.map((d) => d.name ?? '') ?? [];
  if (names.some((n) => n.includes(dbKey))) return true;
  return opfsDatabaseExists(dbKey);
}

// The page's database for tests and support (DevTools: `await __clinicDb()`). It exposes
// nothing a script on this origin could not already read from storage.
(globalThis as { __clinicDb?: () => Promise<LocalDb | null> }).__clinicDb = () => current?.db ?? Promise.resolve(null);
