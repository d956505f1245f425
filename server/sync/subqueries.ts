// Subqueries in shape where clauses: `col IN (SELECT select FROM table WHERE …)` (docs/sync.md,
// "Subqueries"). A shape keeps, per subquery, how many rows of the inner table that match the
// inner where carry each value of `select` (its membership counts). A value whose count goes
// 0 → 1 moves the outer row with that key into the shape, 1 → 0 moves it out; changes to the
// outer table are evaluated against the current counts.
import type { Row, RowChange } from './replication.js';
import type { CompiledShape, CompiledSubquery, ShapeDef } from './shape-def.js';
import type { TableInfo } from './table-info.js';
import { checkWhere, matches, whereColumns } from './where-eval.js';
import type { WhereColumns } from './where-types.js';
import { collectRefs, subqueriesOf, type Expr } from './where-parser.js';

/** A subquery the catalog refuses; the `42…` code makes the request a 400 on `where`. */
export class SubqueryError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Types whose PostgreSQL text output is equal exactly when the values are equal. */
const SAME_TEXT = [new Set(['int2', 'int4', 'int8']), new Set(['text', 'varchar'])];

function comparable(a: string, b: string): boolean {
  return a === b || SAME_TEXT.some((group) => group.has(a) && group.has(b));
}

/**
 * Checks a definition's subqueries against the catalog and numbers them. The outer column must
 * be the outer table's single-column primary key: a value then names exactly one row, so a
 * move in reads that row and a move out deletes it, without tracking which rows a client holds.
 */
export async function compileShape(
  def: ShapeDef,
  info: TableInfo,
  tableInfo: (schema: string, table: string) => Promise<TableInfo | null>,
): Promise<CompiledShape> {
  const found = subqueriesOf(def.where);
  if (!found.length) return { ...def, info, subqueries: [] };
  const subqueries: CompiledSubquery[] = [];
  for (const [index, sq] of found.entries()) {
    const pk = info.columns.filter((c) => c.pkIndex !== null);
    if (pk.length !== 1 || pk[0]!.name !== sq.col)
      throw new SubqueryError(
        `the column left of IN (SELECT …) must be the primary key of "${info.name}"` +
          (pk.length === 1 ? ` ("${pk[0]!.name}")` : ' (a single-column one)'),
        '42P10',
      );
    const inner = await tableInfo(sq.schema, sq.table);
    if (!inner) throw new SubqueryError(`relation "${sq.schema}.${sq.table}" does not exist`, '42P01');
    const selectType = inner.types.get(sq.select);
    if (!selectType) throw new SubqueryError(`column "${sq.select}" of "${sq.table}" does not exist`, '42703');
    for (const c of sq.where ? collectRefs(sq.where).cols : [])
      if (!inner.types.has(c)) throw new SubqueryError(`column "${c}" of "${sq.table}" does not exist`, '42703');
    // The inner where must pass the same type rules as any where (where-types.ts), against
    // the inner table's columns: its membership counts are kept by the evaluator.
    if (sq.where) {
      try {
        checkWhere(sq.where, whereColumns(inner));
      } catch (err) {
        throw new SubqueryError(`in the subquery on "${sq.table}": ${(err as Error).message}`, '42804');
      }
    }
    const outerType = info.types.get(sq.col)!;
    if (!comparable(outerType, selectType))
      throw new SubqueryError(
        `"${sq.col}" (${outerType}) and the subquery's "${sq.select}" (${selectType}) are of different types`,
        '42804',
      );
    subqueries.push({
      index,
      column: sq.col,
      schema: sq.schema,
      table: sq.table,
      select: sq.select,
      where: sq.where,
      info: inner,
    });
  }
  return { ...def, where: renumber(def.where), info, subqueries };
}

/** A copy of the tree whose subquery nodes carry their index (the definition stays untouched). */
function renumber(e: Expr | undefined): Expr | undefined {
  let next = 0;
  const walk = (x: Expr): Expr => {
    if (x.k === 'and') return { ...x, l: walk(x.l), r: walk(x.r) };
    if (x.k === 'subquery') return { ...x, i: next++ };
    return x;
  };
  return e && walk(e);
}

/** Every table a shape reads: its own and its subqueries' (`schema.table`). */
export function shapeTables(shape: CompiledShape): string[] {
  return [`${shape.schema}.${shape.table}`, ...shape.subqueries.map((sq) => `${sq.schema}.${sq.table}`)];
}

const innerColumns = new WeakMap<CompiledSubquery, WhereColumns>();

/** The value an inner row adds to the subquery's result, or null when it adds none. */
function innerValue(sq: CompiledSubquery, row: Row | null): string | null {
  const v = row?.[sq.select];
  if (v === null || v === undefined) return null;
  let cols = innerColumns.get(sq);
  if (!cols) innerColumns.set(sq, (cols = whereColumns(sq.info)));
  try {
    return matches(sq.where, row!, { ...cols, params: {} }) ? v : null;
  } catch {
    // As in the shape's own filter: a row the clause can't be evaluated on is outside.
    return null;
  }
}

/** Membership counts of one subquery: value → number of inner rows carrying it. */
export type Members = Map<string, number>;

/**
 * Applies an inner-table change to the counts; returns the values that entered / left the
 * result and records their new counts in `touched` (stored with the batch).
 */
export function applyInnerChange(
  sq: CompiledSubquery,
  members: Members,
  change: RowChange,
  touched: Map<string, { subquery: number; member: string; n: number }>,
): { in: string[]; out: string[] } {
  const before = innerValue(sq, change.old);
  const after = innerValue(sq, change.new);
  const moves = { in: [] as string[], out: [] as string[] };
  if (before === after) return moves;
  const record = (member: string, n: number) =>
    touched.set(`${sq.index}\u0000${member}`, { subquery: sq.index, member, n: Math.max(n, 0) });
  if (before !== null) {
    const n = (members.get(before) ?? 0) - 1;
    if (n <= 0) {
      members.delete(before);
      moves.out.push(before);
    } else members.set(before, n);
    record(before, n);
  }
  if (after !== null) {
    const n = (members.get(after) ?? 0) + 1;
    members.set(after, n);
    record(after, n);
    if (n === 1) moves.in.push(after);
  }
  return moves;
}
