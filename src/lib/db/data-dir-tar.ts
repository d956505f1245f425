// An initialised data directory with every local migration applied, as a tar: what a device's
// first database is created from (prebuilt-data-dir.ts). Built once per app build by Vite (the
// `prebuiltDataDir` plugin in vite.config.ts, in Node) and shipped with the app; built in the
// browser only when that file cannot be fetched.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateLocal } from './schema/migrate';

export async function buildDataDirTar(compression: 'none' | 'gzip'): Promise<Blob> {
  const db = await PGlite.create({ extensions: { pg_trgm } });
  try {
    await migrateLocal(db);
    // The template databases serve only CREATE DATABASE, which the app never runs. They are
    // more than half of the directory's files, and OPFS storage opens a handle per file on
    // every start: without them (nine migrations) the tar has 469 entries instead of 1,045,
    // and every later start opens that many fewer handles.
    for (const template of ['template0', 'template1']) {
      await db.exec(`ALTER DATABASE ${template} IS_TEMPLATE false`);
      await db.exec(`DROP DATABASE ${template}`);
    }
    // Pages written to their files, so the new database does not replay the WAL on start.
    await db.exec('CHECKPOINT');
    return await db.dumpDataDir(compression);
  } finally {
    await db.close();
  }
}
