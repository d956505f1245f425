// Reads over "synced ∪ overlay" that stay index-fast. The merged views (appointments,
// patients) are right for lookups by id or a narrow range, but PostgreSQL cannot push an
// ORDER BY ... LIMIT through a UNION ALL whose branch has an anti join: a page would sort the
// whole table. So paged reads apply the same filter, order and limit to each branch; the
// synced branch then walks its index and stops after `limit` rows.
//
// `where` is called once per branch so each branch binds its own $n: live queries inline
// parameters positionally (PGlite's formatQuery), which breaks when one $n is used twice.

export type MergedTable = 'appointments' | 'patients';

export function mergedRows(
  table: MergedTable,
  columns: string,
  where: () => string[],
  orderBy: string,
  limit: number,
): string {
  const filter = () =>
    where()
      .map((w) => ` AND ${w}`)
      .join('');
  const n = Math.max(0, Math.trunc(limit)); // a number from code, inlined
  // Table names come from the MergedTable union, never from input.
  return `(SELECT ${columns}, false AS pending FROM ${table}_synced a
     WHERE a.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM ${table}_overlay o WHERE o.id = a.id)${filter()}
     ORDER BY ${orderBy} LIMIT ${n})
  UNION ALL
  (SELECT ${columns}, true AS pending FROM ${table}_overlay a WHERE NOT a.local_deleted${filter()}
     ORDER BY ${orderBy} LIMIT ${n})`;
}
