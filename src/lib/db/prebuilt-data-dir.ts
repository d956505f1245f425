// A device's first database, ready before the login answers.
//
// The database is named after the user, who is unknown until the login answers, and most of a
// first sync's time went into PGlite's first start: `initdb` (a second WebAssembly module and a
// bootstrap of every catalog) and the local migrations. So the app ships an initialised,
// migrated data directory (built by Vite at build time from the same PGlite and migrations:
// data-dir-tar.ts), and on a device with no local database the login page starts the database
// worker early (named PREBUILD_WORKER_NAME, storage.ts) to fetch it while the user types. Once
// the login tells whose database it is, that worker creates it in OPFS from the tarball
// (`loadDataDir`) instead of running `initdb`. Should the file be missing (a development
// server) or unreadable, the worker builds the same directory itself, in memory.
import { OpfsAhpFS } from '@electric-sql/pglite/opfs-ahp';
import { buildDataDirTar } from './data-dir-tar';

export interface PreparedDataDir {
  tar: Blob;
  entries: number;
  /** Where it came from, for the start-up diagnostics. */
  source: 'shipped' | 'built in the browser';
}

/** The data directory shipped with the app, unpacked from gzip; null when there is none. */
async function fetchShippedDataDir(): Promise<Blob | null> {
  if (!__PREBUILT_DATA_DIR__) return null;
  const res = await fetch(__PREBUILT_DATA_DIR__);
  if (!res.ok || !res.body) throw new Error(`${__PREBUILT_DATA_DIR__}: HTTP ${res.status}`);
  return new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).blob();
}

/** The shipped data directory, or one built here; null when neither works (then initdb runs). */
export async function prebuildDataDir(): Promise<PreparedDataDir | null> {
  try {
    const shipped = await fetchShippedDataDir();
    if (shipped) return { tar: shipped, entries: await tarEntryCount(shipped), source: 'shipped' };
  } catch (err) {
    console.warn('fetching the prepared database failed; building it here', err);
  }
  try {
    const tar = await buildDataDirTar('none');
    return { tar, entries: await tarEntryCount(tar), source: 'built in the browser' };
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
