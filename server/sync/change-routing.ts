// Which shapes a replicated change can affect, without evaluating every shape's where clause.
// Many shapes of one table differ only in a constant (`doctor_id = '…'` for each clinician):
// a shape whose where has a top-level conjunct `column = constant` or `column IN (constants)`
// is indexed under (table, column, value), and a change is looked up with its new and its old
// row's values. Every other shape of the table is on the table's "always" list.
//
// The routing only ever adds shapes to the ones converted: a shape left out is one whose where
// cannot hold for the change's old nor its new row (an AND is true only if that conjunct is),
// so its conversion would have produced nothing. Values are compared through the evaluator's
// own coercion (comparisonKey), so `grp = '007'` and a row's `7` meet, as they do in convert.ts.
import type { ReplicatedTransaction, RowChange } from './replication.js';
import type { CompiledShape } from './shape-def.js';
import { comparesWithNumbers, comparisonKey } from './where-eval.js';
import type { Expr } from './where-parser.js';

/** The conjunct a shape is indexed under: its column (with the type it had) and value keys. */
interface Route {
  table: string;
  column: string;
  type: string;
  keys: string[];
}

interface TableRoutes<T> {
  /** Every shape of the table: where a change's indexed value is unknown, it reaches them all. */
  all: Set<T>;
  /** Shapes with no indexable conjunct. */
  always: Set<T>;
  /** `column\0type` → value key → shapes. */
  columns: Map<string, { column: string; type: string; byKey: Map<string, Set<T>> }>;
}

export class ChangeRouter<T> {
  private tables = new Map<string, TableRoutes<T>>();
  private routes = new Map<T, Route | { table: string; column?: undefined }>();
  /**
   * Shapes that depend on other tables' changes (subqueries: a patient joins a doctor's shape
   * through an appointment): they get every transaction and convert.ts sorts it out.
   */
  private everywhere = new Set<T>();
  /** Sends every change to every shape, as before routing existed (comparisons, benchmarks). */
  bypass = false;

  add(item: T, shape: CompiledShape): void {
    this.remove(item);
    if (dependsOnOtherTables(shape)) {
      this.everywhere.add(item);
      return;
    }
    const table = `${shape.schema}.${shape.table}`;
    const routes = this.tableRoutes(table);
    routes.all.add(item);
    const route = indexableConjunct(shape);
    if (!route) {
      routes.always.add(item);
      this.routes.set(item, { table });
      return;
    }
    const id = `${route.column}\0${route.type}`;
    let col = routes.columns.get(id);
    if (!col) routes.columns.set(id, (col = { column: route.column, type: route.type, byKey: new Map() }));
    for (const key of route.keys) {
      let set = col.byKey.get(key);
      if (!set) col.byKey.set(key, (set = new Set()));
      set.add(item);
    }
    this.routes.set(item, { table, ...route });
  }

  remove(item: T): void {
    if (this.everywhere.delete(item)) return;
    const route = this.routes.get(item);
    if (!route) return;
    this.routes.delete(item);
    const routes = this.tables.get(route.table)!;
    routes.all.delete(item);
    routes.always.delete(item);
    if (route.column !== undefined) {
      const id = `${route.column}\0${route.type}`;
      const col = routes.columns.get(id)!;
      for (const key of route.keys) {
        const set = col.byKey.get(key);
        set?.delete(item);
        if (set && !set.size) col.byKey.delete(key);
      }
      if (!col.byKey.size) routes.columns.delete(id);
    }
    if (!routes.all.size) this.tables.delete(route.table);
  }

  /** The shapes a transaction can affect (a superset of those it changes). */
  forTransaction(tx: ReplicatedTransaction): Set<T> {
    const out = new Set<T>(this.everywhere);
    if (this.bypass) {
      for (const item of this.routes.keys()) out.add(item);
      return out;
    }
    for (const change of tx.changes) this.addForChange(change, out);
    return out;
  }

  /**
   * Per shape the transaction can affect, the indexes of the changes that can affect it, in
   * order (null: every change). A shape then converts only those: a 100k-row transaction spread
   * over a hundred `doctor_id = …` shapes costs each of them its own thousand rows, not 100k.
   */
  forChanges(tx: ReplicatedTransaction): Map<T, number[] | null> {
    const out = new Map<T, number[] | null>();
    for (const item of this.everywhere) out.set(item, null);
    if (this.bypass) {
      for (const item of this.routes.keys()) out.set(item, null);
      return out;
    }
    const one = new Set<T>();
    for (let i = 0; i < tx.changes.length; i++) {
      one.clear();
      this.addForChange(tx.changes[i]!, one);
      for (const item of one) {
        const list = out.get(item);
        if (list === null) continue;
        if (list) list.push(i);
        else out.set(item, [i]);
      }
    }
    return out;
  }

  /** Adds the shapes one row change can affect to `out`. */
  addForChange(change: RowChange, out: Set<T>): void {
    const routes = this.tables.get(`${change.schema}.${change.table}`);
    if (!routes) return;
    const addAll = (set: Set<T>) => {
      for (const item of set) out.add(item);
    };
    addAll(routes.always);
    if (!routes.columns.size) return;
    // An update without its old row (a table without REPLICA IDENTITY FULL, whose key did not
    // change) may be moving a row out of any shape: all of them see it.
    if (change.kind === 'update' && !change.old) return addAll(routes.all);
    const found: Array<Set<T>> = [];
    for (const row of [change.new, change.old]) {
      if (!row) continue;
      for (const col of routes.columns.values()) {
        const key = rowKey(col.type, row[col.column]);
        if (key === UNKNOWN) return addAll(routes.all);
        const set = key === null ? undefined : col.byKey.get(key);
        if (set) found.push(set);
      }
    }
    for (const set of found) addAll(set);
  }

  private tableRoutes(table: string): TableRoutes<T> {
    let routes = this.tables.get(table);
    if (!routes) {
      routes = { all: new Set(), always: new Set(), columns: new Map() };
      this.tables.set(table, routes);
    }
    return routes;
  }
}

const UNKNOWN = Symbol('unknown');

/**
 * A row value's key; null for NULL (`column = value` is never true on it); UNKNOWN when the
 * value is missing (a key-only old row, a column the relation does not carry) or unreadable.
 */
function rowKey(type: string, text: string | null | undefined): string | null | typeof UNKNOWN {
  if (text === null) return null;
  if (text === undefined) return UNKNOWN;
  try {
    return comparisonKey(type, text);
  } catch {
    return UNKNOWN;
  }
}

/**
 * Per kind of where node: true when it reads only the row at hand. A kind that reads another
 * table (a subquery) is false, and its shapes get every transaction: the index only knows this
 * table's changes. Exhaustive on purpose, so a new kind has to be decided here.
 */
const READS_ONLY_ITS_ROW: Record<Expr['k'], boolean> = {
  col: true,
  str: true,
  num: true,
  bool: true,
  null: true,
  param: true,
  cast: true,
  cmp: true,
  arith: true,
  and: true,
  or: true,
  not: true,
  isnull: true,
  in: true,
  between: true,
  like: true,
  fn: true,
  subquery: false,
};

/** Shapes whose rows depend on another table: a where reading one (a subquery). */
function dependsOnOtherTables(shape: CompiledShape): boolean {
  if (shape.subqueries?.length) return true;
  const foreign = (x: unknown): boolean => {
    if (Array.isArray(x)) return x.some(foreign);
    if (!x || typeof x !== 'object') return false;
    if ('k' in x && READS_ONLY_ITS_ROW[x.k as Expr['k']] !== true) return true;
    return Object.values(x).some(foreign);
  };
  return foreign(shape.where);
}

/**
 * The top-level conjunct to index a shape under: `column = constant`, `constant = column` or
 * `column IN (constants)`, preferring the one with the fewest values. Undefined when there is
 * none (the shape goes on the always list).
 */
export function indexableConjunct(shape: Pick<CompiledShape, 'where' | 'info'>): Omit<Route, 'table'> | undefined {
  let best: Omit<Route, 'table'> | undefined;
  const consider = (e: Expr) => {
    const found = equalityOf(e, shape.info.types);
    if (found && (!best || found.keys.length < best.keys.length)) best = found;
  };
  const walk = (e: Expr | undefined) => {
    if (!e) return;
    if (e.k === 'and') {
      walk(e.l);
      walk(e.r);
    } else consider(e);
  };
  walk(shape.where);
  return best;
}

function equalityOf(e: Expr, types: ReadonlyMap<string, string>): Omit<Route, 'table'> | undefined {
  let column: string;
  let values: Expr[];
  if (e.k === 'cmp' && e.op === '=') {
    if (e.l.k === 'col') [column, values] = [e.l.name, [e.r]];
    else if (e.r.k === 'col') [column, values] = [e.r.name, [e.l]];
    else return undefined;
  } else if (e.k === 'in' && !e.neg && e.e.k === 'col') {
    column = e.e.name;
    // A NULL item never makes IN true: it adds no value.
    values = e.list.filter((x) => x.k !== 'null');
  } else return undefined;
  const type = types.get(column);
  if (!type || !values.length) return undefined;
  const keys = new Set<string>();
  for (const v of values) {
    const key = literalKey(v, type);
    if (key === undefined) return undefined;
    keys.add(key);
  }
  return { column, type, keys: [...keys] };
}

/**
 * The key of a constant compared with a column of `type`, or undefined when the evaluator would
 * not compare the two as the column's values (a string takes the column's type; a number
 * compares with numeric columns only, a boolean with bool ones): such conjuncts are not indexed.
 */
function literalKey(v: Expr, type: string): string | undefined {
  let text: string;
  if (v.k === 'str') text = v.value;
  else if (v.k === 'num' && comparesWithNumbers(type)) text = v.value;
  else if (v.k === 'bool' && type === 'bool') text = String(v.value);
  else return undefined;
  try {
    return comparisonKey(type, text);
  } catch {
    // The evaluator could never match it either; the always list is the simple safe place.
    return undefined;
  }
}
