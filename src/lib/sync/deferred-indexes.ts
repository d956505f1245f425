// The first sync writes every row of the replica in one transaction (pglite-sync commits a
// subscription's snapshots together once every shape is up to date). Maintaining the
// secondary indexes row by row during that insert costs more than the insert itself (the
// patients' trigram index most: 4,000 patients took 2.6 s with their indexes, 0.7 s without,
// in Node); building them once afterwards is a bulk sort.
//
// So, while the synced tables are still empty, their secondary indexes are dropped and their
// definitions kept in local_meta; they come back after the first commit, before ANALYZE and
// before the replica is called complete. Whatever the indexes' definitions are (written by
// the migrations), the same ones come back: nothing here names an index.
import { SYNCED_TABLES } from '../db/schema/tables';

/** The subset of PGlite used here (the worker's PGlite, an in-memory one in tests). */
export interface IndexDb {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<T>(
    fn: (tx: { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>,
  ): Promise<T>;
}

const META_KEY = 'deferred_indexes';
const SYNCED_LOCAL_TABLES = Object.values(SYNCED_TABLES).map((t) => t.local);

interface IndexDefinition {
  name: string;
  definition: string;
}

/** Secondary indexes only: primary keys and unique indexes are constraints sync relies on. */
const SECONDARY_INDEXES_SQL = `
  SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS definition
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
   WHERE n.nspname = 'public' AND t.relname = ANY($1::text[])
     AND NOT x.indisprimary AND NOT x.indisunique
   ORDER BY i.relname`;

async function syncedTablesEmpty(db: IndexDb): Promise<boolean> {
  const probes = SYNCED_LOCAL_TABLES.map((t) => `NOT EXISTS (SELECT 1 FROM ${t})`).join(' AND ');
  const { rows } = await db.query<{ empty: boolean }>(`SELECT ${probes} AS empty`);
  return rows[0]?.empty === true;
}

/**
 * Before a first sync: drops the synced tables' secondary indexes if every synced table is
 * empty (a non-empty table keeps its indexes). Returns how many were dropped.
 */
export async function deferIndexesForFirstSync(db: IndexDb): Promise<number> {
  if (!(await syncedTablesEmpty(db))) return 0;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<IndexDefinition>(SECONDARY_INDEXES_SQL, [SYNCED_LOCAL_TABLES]);
    if (!rows.length) return 0;
    const saved = await tx.query<{ value: IndexDefinition[] }>(`SELECT value FROM local_meta WHERE key = $1`, [
      META_KEY,
    ]);
    // A migration run since the last deferral may have added indexes: keep both lists.
    const byName = new Map((saved.rows[0]?.value ?? []).map((d) => [d.name, d]));
    for (const d of rows) byName.set(d.name, d);
    await tx.query(
      `INSERT INTO local_meta (key, value) VALUES ($1, $2::jsonb)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [META_KEY, JSON.stringify([...byName.values()])],
    );
    // Names come from the catalog, quoted as identifiers.
    for (const d of rows) await tx.query(`DROP INDEX IF EXISTS public."${d.name.replace(/"/g, '""')}"`);
    return rows.length;
  });
}

/** Builds the deferred indexes again (none deferred: nothing to do). Returns how many. */
export async function restoreDeferredIndexes(db: IndexDb): Promise<number> {
  // Every start after the first sync lands here: with nothing deferred, no write transaction
  // (a commit, so a storage flush) on the way to the first screen.
  const pending = await db.query(`SELECT 1 FROM local_meta WHERE key = $1`, [META_KEY]);
  if (!pending.rows.length) return 0;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ value: IndexDefinition[] }>(
      `SELECT value FROM local_meta WHERE key = $1 FOR UPDATE`,
      [META_KEY],
    );
    const deferred = rows[0]?.value ?? [];
    for (const d of deferred) {
      // A migration may have created one of them meanwhile.
      await tx.query(d.definition.replace(/^CREATE (UNIQUE )?INDEX /, 'CREATE $1INDEX IF NOT EXISTS '));
    }
    await tx.query(`DELETE FROM local_meta WHERE key = $1`, [META_KEY]);
    return deferred.length;
  });
}

/**
 * On start: the indexes stay deferred only while the synced tables are empty. Once rows are
 * there (the first commit landed, then the app closed before the indexes were rebuilt) they
 * are rebuilt now; before a first sync they are dropped.
 */
export async function prepareIndexesOnStart(db: IndexDb, initialSyncDone: boolean): Promise<void> {
  if (initialSyncDone || !(await syncedTablesEmpty(db))) await restoreDeferredIndexes(db);
  else await deferIndexesForFirstSync(db);
}
