// A shape definition: table, filter (possibly with subqueries), projection, replica mode. The
// server builds it from the session's role; a client's where/columns can only narrow it
// (shape-rules.ts).
import type { Expr } from './where-parser.js';
import type { TableInfo } from './table-info.js';

export interface ShapeDef {
  schema: string;
  table: string;
  /** The filter with every parameter already bound as a literal. */
  where: Expr | undefined;
  /** Human-readable filter, for the status page and the definition key. */
  whereText: string;
  params: Record<string, string>;
  columns: string[];
  replica: 'default' | 'full';
  /** Who it is for, e.g. "receptionist" (status page). */
  scope: string;
  /**
   * Narrowed by the client's own where/columns: such shapes are limited per user and table and
   * expire after a short idle time, unlike the shared role shapes.
   */
  narrowed?: boolean;
}

/** A `col IN (SELECT select FROM schema.table WHERE where)` of a shape, checked against the catalog. */
export interface CompiledSubquery {
  /** Position among the shape's subqueries (its membership counts are stored under it). */
  index: number;
  /** Outer column: the outer table's single-column primary key. */
  column: string;
  schema: string;
  table: string;
  select: string;
  where: Expr | undefined;
  /** The inner table. */
  info: TableInfo;
}

export interface CompiledShape extends ShapeDef {
  info: TableInfo;
  subqueries: CompiledSubquery[];
}

/** Stable identity of a definition: requests with equal keys share one handle and one log. */
export function definitionKey(def: ShapeDef): string {
  return JSON.stringify([
    def.schema,
    def.table,
    def.whereText,
    Object.entries(def.params).sort(([a], [b]) => Number(a) - Number(b)),
    def.columns,
    def.replica,
  ]);
}

/** Replaces $n with the bound string literal, so the tree carries its own values. */
export function bindParams(e: Expr, params: Readonly<Record<string, string>>): Expr {
  const b = (x: Expr): Expr => {
    switch (x.k) {
      case 'param':
        return { k: 'str', value: params[String(x.n)]! };
      case 'cast':
        return { ...x, e: b(x.e) };
      case 'not':
        return { ...x, e: b(x.e) };
      case 'isnull':
        return { ...x, e: b(x.e) };
      case 'cmp':
      case 'arith':
      case 'and':
      case 'or':
        return { ...x, l: b(x.l), r: b(x.r) };
      case 'in':
        return { ...x, e: b(x.e), list: x.list.map(b) };
      case 'between':
        return { ...x, e: b(x.e), lo: b(x.lo), hi: b(x.hi) };
      case 'like':
        return { ...x, e: b(x.e), pattern: b(x.pattern) };
      case 'fn':
        return { ...x, args: x.args.map(b) };
      case 'subquery':
        return { ...x, where: x.where && b(x.where) };
      default:
        return x;
    }
  };
  return b(e);
}

export function andWhere(a: Expr | undefined, b: Expr | undefined): Expr | undefined {
  if (!a) return b;
  if (!b) return a;
  return { k: 'and', l: a, r: b };
}
