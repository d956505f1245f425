// pglite-sync 0.6.1 commits a multi-shape subscription only up to the lowest LSN every shape
// has completely received; a shape's newer changes wait in memory for the others. Yet each
// commit stores every shape's *latest received* offset. A reload while such changes wait
// resumes that shape after them: they are never applied and never sent again.
//
// The commit does store what it applied (`last_lsn`), and an offset starts with the commit
// LSN of the change it points at (`<lsn>_<op>`, as in Electric). So on start, before
// subscribing, a shape whose stored offset lies past `last_lsn` has lost changes. Its stored
// handle is replaced by one no server knows: the server answers 409 must-refetch, and
// pglite-sync swaps the table's rows for the new snapshot in one commit (the other shapes
// resume where they were, and the table never shows empty).
import type { PGliteInterface } from '@electric-sql/pglite';
import type { SyncShapesToTablesOptions, SyncShapesToTablesResult } from '@electric-sql/pglite-sync';

/** pglite-sync's own table (schema `electric`, its default `metadataSchema`). */
const SUBSCRIPTIONS_TABLE = 'electric.subscriptions_metadata';

/** A handle no server issues: requests carrying it are answered 409 must-refetch. */
export const REFETCH_HANDLE = 'refetch-after-uncommitted-offset';

export interface StoredShapeState {
  handle: string;
  offset: string;
}

export interface StoredSubscription {
  shape_metadata: Record<string, StoredShapeState>;
  /** The LSN the last commit applied every shape's changes up to (decimal text). */
  last_lsn: string;
}

/** The commit LSN an offset points into; null when it is not `-1` or `<lsn>_<op or inf>`. */
export function offsetLsn(offset: string): bigint | null {
  if (offset === '-1') return -1n;
  const match = /^(\d+)_(\d+|inf)$/.exec(offset);
  return match ? BigInt(match[1]!) : null;
}

/**
 * The shapes whose stored offset passes changes the last commit did not apply: their offset
 * points into a transaction newer than `last_lsn` (or is unreadable, so nothing vouches for it).
 */
export function shapesResumingPastCommit(state: StoredSubscription): string[] {
  const committed = /^-?\d+$/.test(state.last_lsn) ? BigInt(state.last_lsn) : null;
  return Object.entries(state.shape_metadata)
    .filter(([, shape]) => {
      if (shape.handle === REFETCH_HANDLE) return false;
      const lsn = offsetLsn(shape.offset);
      return committed === null || lsn === null || lsn > committed;
    })
    .map(([name]) => name);
}

/** Marks those shapes of subscription `key` for a refetch; returns their names. */
export async function refetchShapesResumingPastCommit(db: PGliteInterface, key: string): Promise<string[]> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass($1)::text AS t`, [SUBSCRIPTIONS_TABLE]);
  if (!exists.rows[0]?.t) return []; // no subscription has ever been stored
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<StoredSubscription>(
      `SELECT shape_metadata, last_lsn FROM ${SUBSCRIPTIONS_TABLE} WHERE key = $1 FOR UPDATE`,
      [key],
    );
    if (!rows[0]) return [];
    const shapes = shapesResumingPastCommit(rows[0]);
    for (const shape of shapes) {
      await tx.query(
        `UPDATE ${SUBSCRIPTIONS_TABLE}
            SET shape_metadata = jsonb_set(shape_metadata, ARRAY[$2::text, 'handle'], to_jsonb($3::text))
          WHERE key = $1`,
        [key, shape, REFETCH_HANDLE],
      );
    }
    return shapes;
  });
}

interface SyncNamespace {
  syncShapesToTables(options: SyncShapesToTablesOptions): Promise<SyncShapesToTablesResult>;
}

/**
 * `syncShapesToTables` that first sends the shapes whose stored offset is ahead of the last
 * commit back for a refetch. Needs a key (without one nothing is stored or resumed).
 */
export async function syncShapesToTablesSafely(
  db: PGliteInterface,
  sync: SyncNamespace,
  options: SyncShapesToTablesOptions & { key: string },
): Promise<{ subscription: SyncShapesToTablesResult; refetched: string[] }> {
  const refetched = await refetchShapesResumingPastCommit(db, options.key);
  return { subscription: await sync.syncShapesToTables(options), refetched };
}
