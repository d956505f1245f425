// The database worker. Every tab starts one; PGlite's leader election makes exactly one of
// them open the database (and run sync), the others forward their queries to it.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { live } from '@electric-sql/pglite/live';
import { worker } from '@electric-sql/pglite/worker';
import { electricSync } from '@electric-sql/pglite-sync';
import { SyncEngine } from '../sync/engine';
import { opfsStorageFor, prebuildDataDir, type PreparedDataDir } from './prebuilt-data-dir';
import { migrateLocal } from './schema/migrate';
import { chooseStorage, opfsDatabaseExists, PREBUILD_WORKER_NAME, type WorkerMeta } from './storage';

/**
 * Under relaxedDurability PGlite's syncToFs() starts the copy to IndexedDB and returns at once
 * (a booking followed by an immediate reload was lost), so the write path's explicit
 * `await syncToFs()` would not make anything durable. Tabs reach the database through the
 * object `init` returns: there, syncToFs() waits for the copy. PGlite's own calls after each
 * query keep the fast, unawaited copy (they go through the real instance, not this view).
 */
function withAwaitedFlush(db: PGlite): PGlite {
  const flush = async () => {
    await db.fs?.syncToFs(false);
  };
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'syncToFs') return flush;
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Opens the database. A worker started early by the login page (prebuilt set) creates a new
 * OPFS database from its prepared directory; an existing one is always opened as it is.
 */
async function openDatabase(meta: WorkerMeta, prebuilt: Promise<PreparedDataDir | null> | null) {
  const storage = await chooseStorage(meta);
  const extensions = { live, pg_trgm, sync: electricSync() };
  const prepared =
    prebuilt && storage.label === 'OPFS' && !(await opfsDatabaseExists(meta.dbKey)) ? await prebuilt : null;
  const create = (from: PreparedDataDir | null) =>
    PGlite.create({
      ...(from
        ? { fs: opfsStorageFor(meta.dbKey, from.entries), loadDataDir: from.tar }
        : { dataDir: storage.dataDir }),
      relaxedDurability: storage.relaxedDurability,
      extensions,
    });
  let db: Awaited<ReturnType<typeof create>>;
  try {
    db = await create(prepared);
  } catch (err) {
    if (!prepared) throw err;
    // Nothing of a user's data can be in a directory this call created: start it over with initdb.
    console.warn('creating the database from the prepared directory failed; running initdb', err);
    await (await navigator.storage.getDirectory()).removeEntry(meta.dbKey, { recursive: true });
    db = await create(null);
    return { db, storage, createdFrom: 'storage' as const };
  }
  return { db, storage, createdFrom: prepared?.source ?? ('storage' as const) };
}

function serve(prebuilt: Promise<PreparedDataDir | null> | null): void {
  worker({
    async init(options) {
      const meta = options.meta as WorkerMeta;
      const { db, storage, createdFrom } = await openDatabase(meta, prebuilt);
      const pgliteReady = performance.now();
      // Always run: a prepared directory is already migrated (nothing to do), an existing
      // replica gets the migrations it has not seen.
      await migrateLocal(db);
      const opened = {
        pgliteMs: Math.round(pgliteReady),
        migrateMs: Math.round(performance.now() - pgliteReady),
        createdFrom,
      };
      if (meta.sync) {
        const engine = new SyncEngine(db, { dbKey: meta.dbKey, origin: meta.origin, storage: storage.label, opened });
        void engine.start().catch((err) => console.error('sync failed to start', err));
      }
      return storage.relaxedDurability ? withAwaitedFlush(db) : db;
    },
  });
}

if (self.name === PREBUILD_WORKER_NAME) {
  // Started by the login page before anyone has signed in: prepare now, and answer PGlite's
  // worker protocol only once the page attaches a PGliteWorker (it listens for the worker's
  // first message, which would be lost if sent before).
  const prebuilt = prebuildDataDir();
  addEventListener('message', (event) => event.data?.type === 'clinic:attach' && serve(prebuilt), { once: true });
} else serve(null);
