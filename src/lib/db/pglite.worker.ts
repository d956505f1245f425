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
    return db;
  },
});
