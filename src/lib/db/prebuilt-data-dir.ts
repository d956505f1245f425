// A device's first database, prepared while the user types on the login page.
//
// The database is named after the user, who is unknown until the login answers, and most of a
// first sync's time went into PGlite's first start: compiling its WebAssembly, `initdb`, the
// local migrations. So on a device with no local database the login page starts the database
// worker early (named PREBUILD_WORKER_NAME, storage.ts). It builds an initialised, migrated data
// directory in memory and keeps it as a tarball; once the login tells whose database it is,
// the same worker (its WebAssembly already compiled, its file-system bundle already fetched)
// creates that database in OPFS from the tarball (`loadDataDir`) instead of running `initdb`.
// PGlite's own first start does the same internally: `initdb` runs in memory and its
// directory is unpacked into the real storage.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { OpfsAhpFS } from '@electric-sql/pglite/opfs-ahp';
import { migrateLocal } from './schema/migrate';

export interface PreparedDataDir {
  tar: Blob;
  entries: number;
}

/** An initialised data directory with every local migration applied, as an uncompressed tar. */
export async function prebuildDataDir(): Promise<PreparedDataDir | null> {
  try {
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
      const tar = await db.dumpDataDir('none');
      return { tar, entries: await tarEntryCount(tar) };
    } finally {
      await db.close();
    }
  } catch (err) {
    console.warn('database prebuild failed; the first start will run initdb', err);
    return null;
  }
}

/**
 * How many entries a tar holds. OPFS access-handle storage can only create files from a pool
 * of handles opened beforehand (file creation is synchronous inside PostgreSQL, opening a
 * handle is not), and unpacking takes one handle per file: the pool must cover them all.
 */
export async function tarEntryCount(tar: Blob): Promise<number> {
  const bytes = new Uint8Array(await tar.arrayBuffer());
  const text = new TextDecoder();
  let count = 0;
  for (let at = 0; at + 512 <= bytes.length; count++) {
    if (bytes[at] === 0) break; // end-of-archive block
    const size = parseInt(
      text
        .decode(bytes.subarray(at + 124, at + 136))
        .replace(/\0/g, '')
        .trim() || '0',
      8,
    );
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return count;
}

/** The OPFS storage of a database created from `tar`, its handle pool large enough to unpack it. */
export function opfsStorageFor(dbKey: string, tarEntries: number): OpfsAhpFS {
  // Headroom: PostgreSQL creates a few files on its first start before PGlite refills the pool.
  return new OpfsAhpFS(dbKey, { initialPoolSize: tarEntries + 200 });
}
