// The database worker. Every tab starts one; PGlite's leader election makes exactly one of
// them open the database (and run sync), the others forward their queries to it.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { live } from '@electric-sql/pglite/live';
import { worker } from '@electric-sql/pglite/worker';
import { electricSync } from '@electric-sql/pglite-sync';
import { SyncEngine } from '../sync/engine';
import { migrateLocal } from './schema/migrate';
import { chooseStorage, type WorkerMeta } from './storage';

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

worker({
  async init(options) {
    const meta = options.meta as WorkerMeta;
    const storage = await chooseStorage(meta);
    const db = await PGlite.create({
      dataDir: storage.dataDir,
      relaxedDurability: storage.relaxedDurability,
      extensions: { live, pg_trgm, sync: electricSync() },
    });
    await migrateLocal(db);
    if (meta.sync) {
      const engine = new SyncEngine(db, { dbKey: meta.dbKey, origin: meta.origin, storage: storage.label });
      void engine.start().catch((err) => console.error('sync failed to start', err));
    }
    return storage.relaxedDurability ? withAwaitedFlush(db) : db;
  },
});
