// Where the local database lives. Measured on Chromium (docs/client.md): IndexedDB with
// default durability copies the whole database after every statement (~240 ms a query), so
// it is out. OPFS with sync access handles (workers only, Chromium/Firefox; not Safari)
// writes each page in place and is the fastest durable choice; elsewhere IndexedDB with
// relaxed durability, whose writes must then be flushed explicitly (syncToFs) before a
// write is called saved.

/** The name of a database worker the login page starts before anyone signs in (prebuilt-data-dir.ts). */
export const PREBUILD_WORKER_NAME = 'clinic-db-prebuild';

export interface WorkerMeta {
  /** Names the database, the election lock and the sync channel: one per user. */
  dbKey: string;
  origin: string;
  sync: boolean;
  /** Force a storage (benchmarks and tests); default: the best this browser supports. */
  storage?: 'opfs' | 'idb';
}

export interface StorageChoice {
  dataDir: string;
  relaxedDurability: boolean;
  label: string;
}

async function opfsAvailable(): Promise<boolean> {
  try {
    const hasSyncHandles =
      typeof FileSystemFileHandle !== 'undefined' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype;
    if (!hasSyncHandles || !navigator.storage?.getDirectory) return false;
    await navigator.storage.getDirectory();
    return true;
  } catch {
    return false;
  }
}

export async function chooseStorage(meta: WorkerMeta): Promise<StorageChoice> {
  const wantOpfs = meta.storage ? meta.storage === 'opfs' : await opfsAvailable();
  if (wantOpfs) return { dataDir: `opfs-ahp://${meta.dbKey}`, relaxedDurability: false, label: 'OPFS' };
  return { dataDir: `idb://${meta.dbKey}`, relaxedDurability: true, label: 'IndexedDB (relaxed durability)' };
}

/** Removes a user's database from every storage it may be in (run with the worker closed). */
export async function deleteStoredDatabase(dbKey: string): Promise<void> {
  if (navigator.storage?.getDirectory) {
    try {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry(dbKey, { recursive: true });
    } catch {
      /* not there */
    }
  }
  if (typeof indexedDB !== 'undefined') {
    const names = (await indexedDB.databases?.())?.map((d) => d.name ?? '') ?? [`/pglite/${dbKey}`];
    for (const name of names.filter((n) => n.includes(dbKey))) {
      await new Promise<void>((resolve) => {
        const req = indexedDB.deleteDatabase(name);
        req.onsuccess = req.onerror = req.onblocked = () => resolve();
      });
    }
  }
}

/** Whether OPFS already holds a directory for this database (then it is opened, never replaced). */
export async function opfsDatabaseExists(dbKey: string): Promise<boolean> {
  try {
    const root = await navigator.storage.getDirectory();
    await root.getDirectoryHandle(dbKey);
    return true;
  } catch {
    return false;
  }
}
