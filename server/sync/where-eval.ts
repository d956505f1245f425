// Evaluates parsed where clauses on replicated rows (text values as PostgreSQL prints them)
// and turns them into parameterised SQL for snapshots. The two must agree on every row:
// where-types.ts accepts only clauses for which they do, and both sides follow its types
// (exact decimals for integers and numeric, code-point text order, pg_c_utf8 case mapping).
// tests/server/sync-where-differential.test.ts compares them against PostgreSQL.
import pg from 'pg';
import type { Expr, SubqueryExpr } from './where-parser.js';
import {
  columnTy,
  isExact,
  kindOf,
  literalValue,
  typeWhere,
  WhereTypeError,
  type CmpKind,
  type Ty,
  type Typing,
  type WhereColumns,
} from './where-types.js';
import {
  arithDec,
  compareDec,
  compareFloat,
  compareText,
  compareTime,
  decKey,
  decToFloat,
  decToString,
  divideDec,
  likeMatch,
  mapCase,
  parseDec,
  parseTimeKey,
  type Dec,
  type TimeKey,
} from './where-values.js';

export { WhereTypeError as WhereEvalError } from './where-types.js';

export type Row = Record<string, string | null | undefined>;
export interface EvalContext extends WhereColumns {
  params: Readonly<Record<string, string>>;
  /**
   * Whether a value is in a subquery's result (the shape's membership counts, kept by
   * convert.ts); without it a clause with a subquery can't be evaluated.
   */
  inSubquery?: (e: SubqueryExpr, value: string) => boolean;
}

type V = Dec | number | string | boolean | TimeKey | null;

const typings = new WeakMap<Expr, WeakMap<object, Typing>>();

/** The clause's types for these columns (cached per tree and column map); throws when refused. */
export function typed(e: Expr, cols: WhereColumns, params: Readonly<Record<string, string>> = {}): Typing {
  let byCols = typings.get(e);
  if (!byCols) typings.set(e, (byCols = new WeakMap()));
  let t = byCols.get(cols.types);
  if (!t) byCols.set(cols.types, (t = typeWhere(e, cols, params)));
  return t;
}

/** Throws WhereEvalError naming the problem when the clause is refused for these columns. */
export function checkWhere(e: Expr, cols: WhereColumns): void {
  typeWhere(e, cols);
}

type ColumnsInfo = { types: ReadonlyMap<string, string>; columns: { name: string; dims: number }[] };

/**
 * Columns of a table as the where evaluator needs them; with a compiled shape's subqueries,
 * also their inner tables' (a subquery's where is typed and written against its own table).
 */
export function whereColumns(
  info: ColumnsInfo,
  subqueries: ReadonlyArray<{ index: number; info: ColumnsInfo }> = [],
): WhereColumns {
  const cols = (i: ColumnsInfo) => ({
    types: i.types,
    arrays: new Set(i.columns.filter((c) => c.dims > 0).map((c) => c.name)),
  });
  if (!subqueries.length) return cols(info);
  const inner: WhereColumns[] = [];
  for (const sq of subqueries) inner[sq.index] = cols(sq.info);
  return { ...cols(info), subqueries: inner };
}

/**
 * The key under which a value of a column of this type meets a constant in `column = constant`
 * (a row's text as PostgreSQL prints it, or the constant's text): values the evaluator finds
 * equal get the same key (`'007'` and `7.0` on an int column both give `7`, uuids are
 * lower-cased). The change routing index (change-routing.ts) indexes shapes on it. Throws
 * WhereEvalError for a text the type can't read or a type `=` doesn't apply to.
 */
export function comparisonKey(typname: string, text: string): string {
  const t = columnTy(typname);
  switch (t) {
    case 'int2':
    case 'int4':
    case 'int8':
    case 'numeric':
      // Integers and numeric compare exactly, as decimals (an int column meets `= 7.0`).
      return decKey(readAs(text, 'numeric', parseDec) as Dec);
    case 'float8': {
      const x = readAs(text, 'float8', (raw) => (raw.trim() === '' ? undefined : Number(raw))) as number;
      return Object.is(x, -0) ? '0' : String(x);
    }
    case 'date':
    case 'timestamptz': {
      const k = readAs(text, t, parseTimeKey) as TimeKey;
      return k.inf ? String(k.inf) : `0:${k.us}`;
    }
    case 'bool':
      return String(readAs(text, 'bool', (raw) => (raw === 't' ? true : raw === 'f' ? false : undefined)));
    case 'text':
    case 'uuid':
      return literalValue(text, t) as string;
    default:
      throw new WhereTypeError(`values of type ${typname} are not compared with =`);
  }
}

/**
 * A constant's value (the literal forms where-types.ts accepts), else a row's as PostgreSQL
 * prints it, read as the evaluator reads row values (BC dates, years past 9999, long numerics).
 */
function readAs(text: string, t: Ty, fromRow: (raw: string) => V | undefined): V {
  try {
    return literalValue(text, t) as V;
  } catch (err) {
    const v = fromRow(text);
    if (v === undefined || (typeof v === 'number' && Number.isNaN(v) && text !== 'NaN')) throw err;
    return v;
  }
}

/** Whether a number constant (`= 7`) compares with this column type (the routing index asks). */
export const comparesWithNumbers = (typname: string): boolean => {
  const t = columnTy(typname);
  return t === 'float8' || isExact(t);
};

function parseColumn(raw: string, t: Ty): V {
  switch (t) {
    case 'int2':
    case 'int4':
    case 'int8':
      return { m: BigInt(raw), s: 0 };
    case 'numeric':
      return parseDec(raw) ?? bad(raw, t);
    case 'float8':
      return Number(raw);
    case 'bool':
      return raw === 't';
    case 'date':
    case 'timestamptz':
      return parseTimeKey(raw) ?? bad(raw, t);
    default:
      return raw;
  }
}

function bad(raw: string, t: Ty): never {
  throw new WhereTypeError(`unexpected ${t} value "${raw}"`);
}

/** Converts a value of type `from` to `to` (only the conversions where-types.ts allows). */
function convert(v: V, from: Ty, to: Ty): V {
  if (v === null || from === to) return v;
  if (to === 'text') {
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'object') return decToString(v as Dec);
    return v as string;
  }
  if (to === 'float8') return typeof v === 'number' ? v : decToFloat(v as Dec);
  return v;
}

function compareAs(kind: CmpKind, a: V, at: Ty, b: V, bt: Ty): number | null {
  if (a === null || b === null) return null;
  switch (kind) {
    case 'exact':
      return compareDec(a as Dec, b as Dec);
    case 'float':
      return compareFloat(convert(a, at, 'float8') as number, convert(b, bt, 'float8') as number);
    case 'text':
    case 'uuid':
      return compareText(a as string, b as string);
    case 'bool':
      return Number(a) - Number(b);
    case 'time':
      return compareTime(a as TimeKey, b as TimeKey);
    default:
      return null;
  }
}

const applyOp = (op: string, c: number | null): boolean | null =>
  c === null
    ? null
    : op === '='
      ? c === 0
      : op === '<>'
        ? c !== 0
        : op === '<'
          ? c < 0
          : op === '<='
            ? c <= 0
            : op === '>'
              ? c > 0
              : c >= 0;

const not = (b: V): boolean | null => (b === null ? null : !b);
const and3 = (a: V, b: V): boolean | null =>
  a === false || b === false ? false : a === null || b === null ? null : true;
const or3 = (a: V, b: V): boolean | null => (a === true || b === true ? true : a === null || b === null ? null : false);

function evaluator(t: Typing, row: Row, ctx: EvalContext) {
  const ty = (e: Expr) => t.ty.get(e)!;
  const cmp = (op: string, l: Expr, r: Expr): boolean | null => {
    const lt = ty(l);
    const rt = ty(r);
    return applyOp(op, compareAs(kindOf(lt, rt)!, ev(l), lt, ev(r), rt));
  };
  const ev = (e: Expr): V => {
    switch (e.k) {
      case 'col': {
        const raw = row[e.name];
        return raw === null || raw === undefined ? null : parseColumn(raw, ty(e));
      }
      case 'str':
      case 'num':
      case 'param':
        return (t.lit.get(e) as V) ?? (e.k === 'param' ? (ctx.params[String(e.n)] ?? null) : null);
      case 'bool':
        return e.value;
      case 'null':
        return null;
      case 'cast':
        return convert(ev(e.e), ty(e.e), ty(e));
      case 'cmp':
        return cmp(e.op, e.l, e.r);
      case 'and': {
        const l = ev(e.l);
        return l === false ? false : and3(l, ev(e.r));
      }
      case 'or': {
        const l = ev(e.l);
        return l === true ? true : or3(l, ev(e.r));
      }
      case 'not':
        return not(ev(e.e));
      case 'isnull': {
        const isNull = ev(e.e) === null;
        return e.neg ? !isNull : isNull;
      }
      case 'in': {
        let hit: boolean | null = false;
        for (const item of e.list) hit = or3(hit, cmp('=', e.e, item));
        return e.neg ? not(hit) : hit;
      }
      case 'between': {
        const inside = and3(cmp('>=', e.e, e.lo), cmp('<=', e.e, e.hi));
        return e.neg ? not(inside) : inside;
      }
      case 'like': {
        const v = ev(e.e);
        const p = ev(e.pattern);
        if (v === null || p === null) return null;
        const hit = likeMatch(v as string, p as string, e.ci);
        return e.neg ? !hit : hit;
      }
      case 'arith': {
        const l = ev(e.l);
        const r = ev(e.r);
        if (l === null || r === null) return null;
        if (e.op === '||') return (l as string) + (r as string);
        return e.op === '/' ? divideDec(l as Dec, r as Dec) : arithDec(e.op, l as Dec, r as Dec);
      }
      case 'subquery': {
        if (!ctx.inSubquery) throw new WhereTypeError('a subquery can only be evaluated within its shape');
        // NULL is in no result (the counts hold no NULLs): NULL, false in a WHERE, as in SQL.
        const raw = row[e.col];
        return raw === null || raw === undefined ? null : ctx.inSubquery(e, raw);
      }
      case 'fn': {
        if (e.name === 'coalesce') {
          for (const a of e.args) {
            const v = ev(a);
            if (v !== null) return convert(v, ty(a), ty(e));
          }
          return null;
        }
        const v = ev(e.args[0]!);
        return v === null ? null : mapCase(v as string, e.name === 'upper');
      }
    }
  };
  return ev;
}

/** True when the row satisfies the clause (NULL counts as false, as in SQL WHERE). */
export function matches(e: Expr | undefined, row: Row, ctx: EvalContext): boolean {
  if (!e) return true;
  const t = typed(e, ctx, ctx.params);
  return evaluator(t, row, ctx)(e) === true;
}

/**
 * SQL text for a clause, with every literal and parameter bound through `bind` (which returns
 * a `$n` placeholder) and typed with the type it was checked as. Only column names checked
 * against the catalog, fixed type names, collations and operators are written into the text.
 * Text comparisons use COLLATE "C" (code-point order, like the evaluator), upper/lower/ILIKE
 * pg_c_utf8 (per-character simple case mapping), arithmetic numeric (exact, no overflow).
 */
export function toSql(
  e: Expr,
  params: Readonly<Record<string, string>>,
  bind: (value: string) => string,
  cols: WhereColumns,
): string {
  const t = typed(e, cols, params);
  const ty = (x: Expr) => t.ty.get(x)!;
  const cmp = (op: string, l: Expr, r: Expr): string => {
    const kind = kindOf(ty(l), ty(r));
    let a = sql(l);
    let b = sql(r);
    if (kind === 'text') return `((${a}) COLLATE "C" ${op} (${b}) COLLATE "C")`;
    if (kind === 'float') {
      if (ty(l) !== 'float8') a = `(${a})::float8`;
      if (ty(r) !== 'float8') b = `(${b})::float8`;
    }
    return `(${a} ${op} ${b})`;
  };
  const typedNull = (x: Expr) => {
    const tt = ty(x);
    return tt === 'null' || tt === 'unknown' ? 'NULL' : `NULL::${tt}`;
  };
  const sql = (x: Expr): string => {
    switch (x.k) {
      case 'col':
        return pg.escapeIdentifier(x.name);
      case 'str':
        return `${bind(x.value)}::${ty(x)}`;
      case 'num':
        return `${bind(x.value)}::numeric`;
      case 'bool':
        return x.value ? 'TRUE' : 'FALSE';
      case 'null':
        return typedNull(x);
      case 'param':
        return `${bind(params[String(x.n)]!)}::${ty(x)}`;
      case 'cast':
        return `(${sql(x.e)})::${ty(x)}`;
      case 'cmp':
        return cmp(x.op, x.l, x.r);
      case 'arith':
        if (x.op === '||') return `(${sql(x.l)} || ${sql(x.r)})`;
        return `((${sql(x.l)})::numeric ${x.op} (${sql(x.r)})::numeric)`;
      case 'and':
        return `(${sql(x.l)} AND ${sql(x.r)})`;
      case 'or':
        return `(${sql(x.l)} OR ${sql(x.r)})`;
      case 'not':
        return `(NOT ${sql(x.e)})`;
      case 'isnull':
        return `(${sql(x.e)} IS ${x.neg ? 'NOT ' : ''}NULL)`;
      case 'in': {
        const any = `(${x.list.map((item) => cmp('=', x.e, item)).join(' OR ')})`;
        return x.neg ? `(NOT ${any})` : any;
      }
      case 'between': {
        const inside = `(${cmp('>=', x.e, x.lo)} AND ${cmp('<=', x.e, x.hi)})`;
        return x.neg ? `(NOT ${inside})` : inside;
      }
      case 'like':
        return `((${sql(x.e)}) COLLATE ${x.ci ? 'pg_c_utf8' : '"C"'} ${x.neg ? 'NOT ' : ''}${x.ci ? 'ILIKE' : 'LIKE'} ${sql(x.pattern)})`;
      case 'subquery': {
        // The inner where is typed and bound against the inner table's columns, with the
        // same typed literals as the rest of the clause.
        const from = `${pg.escapeIdentifier(x.schema)}.${pg.escapeIdentifier(x.table)}`;
        let where = '';
        if (x.where) {
          const inner = x.i === undefined ? undefined : cols.subqueries?.[x.i];
          if (!inner) throw new WhereTypeError('a subquery is written as SQL only within its compiled shape');
          where = ` WHERE ${toSql(x.where, params, bind, inner)}`;
        }
        return `(${pg.escapeIdentifier(x.col)} IN (SELECT ${pg.escapeIdentifier(x.select)} FROM ${from}${where}))`;
      }
      case 'fn': {
        if (x.name === 'coalesce') {
          const common = ty(x);
          return `coalesce(${x.args.map((a) => (ty(a) === common ? sql(a) : `(${sql(a)})::${common}`)).join(', ')})`;
        }
        return `${x.name}((${sql(x.args[0]!)}) COLLATE pg_c_utf8)`;
      }
    }
  };
  return sql(e);
}
