// Column catalog of a synced table: types for the where evaluator, the primary key for
// message keys, and the `electric-schema` header the clients parse values with.
import pg from 'pg';
import type { Queryable } from '../db/pool.js';

export interface ColumnInfo {
  name: string;
  type: string;
  dims: number;
  notNull: boolean;
  pkIndex: number | null;
}

export interface TableInfo {
  schema: string;
  name: string;
  oid: number;
  columns: ColumnInfo[];
  /** Key columns in key order: the primary key, or all columns by name when there is none. */
  keyColumns: string[];
  types: Map<string, string>;
}

export async function loadTableInfo(db: Queryable, schema: string, name: string): Promise<TableInfo | null> {
  const qualified = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
  const rel = await db.query<{ oid: number | null }>('SELECT to_regclass($1)::oid AS oid', [qualified]);
  const oid = rel.rows[0]?.oid;
  if (!oid) return null;
  const { rows } = await db.query<{
    name: string;
    type: string;
    dims: number;
    not_null: boolean;
    pk_pos: number | null;
  }>(
    `SELECT a.attname AS name,
            CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END AS type,
            CASE WHEN t.typcategory = 'A' THEN greatest(a.attndims, 1) ELSE 0 END AS dims,
            a.attnotnull AS not_null,
            array_position(i.indkey::int2[], a.attnum) AS pk_pos
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = t.typelem
       LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
      WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [oid],
  );
  const columns = rows.map((r) => ({
    name: r.name,
    type: r.type,
    dims: Number(r.dims),
    notNull: r.not_null,
    pkIndex: r.pk_pos === null ? null : Number(r.pk_pos) - 1,
  }));
  const pk = columns.filter((c) => c.pkIndex !== null).sort((a, b) => a.pkIndex! - b.pkIndex!);
  const keyColumns = (pk.length ? pk : [...columns].sort((a, b) => (a.name < b.name ? -1 : 1))).map((c) => c.name);
  return { schema, name, oid, columns, keyColumns, types: new Map(columns.map((c) => [c.name, c.type])) };
}

/** The `electric-schema` header for the selected columns. */
export function schemaHeader(info: TableInfo, selected: readonly string[]): string {
  // Every answer carries it and a wake-up answers every live client of a shape at once, so it
  // is built once per table description and column list (a table's change replaces its info).
  let byColumns = schemaHeaders.get(info);
  if (!byColumns) schemaHeaders.set(info, (byColumns = new Map()));
  const key = selected.join(',');
  let header = byColumns.get(key);
  if (header === undefined) byColumns.set(key, (header = buildSchemaHeader(info, selected)));
  return header;
}

const schemaHeaders = new WeakMap<TableInfo, Map<string, string>>();

function buildSchemaHeader(info: TableInfo, selected: readonly string[]): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of info.columns) {
    if (!selected.includes(c.name)) continue;
    const entry: Record<string, unknown> = { type: c.type };
    if (c.dims) entry.dims = c.dims;
    if (c.pkIndex !== null) entry.pk_index = c.pkIndex;
    if (c.notNull) entry.not_null = true;
    out[c.name] = entry;
  }
  return JSON.stringify(out);
}

const quoteKeyPart = (s: string) => `"${s.replace(/\./g, '..').replace(/\//g, '//')}"`;

/** Message key as Electric builds it: "schema"."table"/"pk1"/"pk2" (NULL → _). */
export function messageKey(info: TableInfo, row: Record<string, string | null | undefined>): string {
  const prefix = `${quoteKeyPart(info.schema)}.${quoteKeyPart(info.name)}`;
  return (
    prefix +
    info.keyColumns
      .map((c) => {
        const v = row[c];
        return v === null || v === undefined ? '/_' : `/"${v.replace(/\//g, '//')}"`;
      })
      .join('')
  );
}
