// Evaluates parsed where clauses on replicated rows (text values as PostgreSQL prints them)
// and turns them back into parameterised SQL for snapshots. Both sides must agree, so the
// grammar (where-parser.ts) stays small.
import pg from 'pg';
import type { Expr, SubqueryExpr } from './where-parser.js';

type Category = 'num' | 'bool' | 'time' | 'text' | 'unknown';
interface Val {
  c: Category;
  v: string | number | boolean | null;
}

export type Row = Record<string, string | null | undefined>;
export interface EvalContext {
  /** Column name → PostgreSQL type name. */
  types: ReadonlyMap<string, string>;
  params: Readonly<Record<string, string>>;
  /**
   * Whether a value is in a subquery's result (the shape's membership counts, kept by
   * convert.ts); without it a clause with a subquery can't be evaluated.
   */
  inSubquery?: (e: SubqueryExpr, value: string) => boolean;
}

export class WhereEvalError extends Error {}

export function categoryOf(typname: string): Category {
  if (/^(int[248]|float[48]|numeric|oid)$/.test(typname)) return 'num';
  if (typname === 'bool') return 'bool';
  if (typname === 'timestamptz' || typname === 'timestamp' || typname === 'date') return 'time';
  return 'text';
}

const CAST_CATEGORY: Record<string, Category> = {
  int2: 'num',
  int4: 'num',
  int8: 'num',
  smallint: 'num',
  integer: 'num',
  int: 'num',
  bigint: 'num',
  numeric: 'num',
  float4: 'num',
  float8: 'num',
  real: 'num',
  bool: 'bool',
  boolean: 'bool',
  date: 'time',
  timestamptz: 'time',
  timestamp: 'time',
  text: 'text',
  varchar: 'text',
  uuid: 'text',
  time: 'text',
};

const TIME_RE =
  /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/i;

/** Microseconds since the epoch of a PostgreSQL date/timestamp text (zone-less = UTC). */
export function parseTime(text: string): number {
  const s = text.trim().toLowerCase();
  if (s === 'infinity') return Infinity;
  if (s === '-infinity') return -Infinity;
  const m = TIME_RE.exec(text.trim());
  if (!m) throw new WhereEvalError(`invalid input syntax for a timestamp: "${text}"`);
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  const micros = Number((m[7] ?? '').padEnd(6, '0') || 0);
  let offsetMin = 0;
  if (m[8] && m[8].toUpperCase() !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
  }
  return (ms - offsetMin * 60_000) * 1000 + micros;
}

function coerce(val: Val, to: Category): Val {
  if (val.v === null || val.c === to) return { c: to, v: val.v };
  const raw = val.v;
  switch (to) {
    case 'num': {
      const n = typeof raw === 'boolean' ? NaN : Number(raw);
      if (Number.isNaN(n) && raw !== 'NaN') throw new WhereEvalError(`invalid number "${raw}"`);
      return { c: 'num', v: n };
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { c: 'bool', v: raw };
      const s = String(raw).toLowerCase();
      if (['t', 'true', 'yes', 'on', '1', 'y'].includes(s)) return { c: 'bool', v: true };
      if (['f', 'false', 'no', 'off', '0', 'n'].includes(s)) return { c: 'bool', v: false };
      throw new WhereEvalError(`invalid boolean "${raw}"`);
    }
    case 'time':
      return { c: 'time', v: typeof raw === 'number' ? raw : parseTime(String(raw)) };
    default:
      return { c: 'text', v: typeof raw === 'boolean' ? String(raw) : String(raw) };
  }
}

function unify(a: Val, b: Val): [Val, Val] {
  if (a.c === b.c) return a.c === 'unknown' ? [coerce(a, 'text'), coerce(b, 'text')] : [a, b];
  if (a.c === 'unknown') return [coerce(a, b.c), b];
  if (b.c === 'unknown') return [a, coerce(b, a.c)];
  if (a.c === 'num' && b.c === 'text') return [a, coerce(b, 'num')];
  if (b.c === 'num' && a.c === 'text') return [coerce(a, 'num'), b];
  throw new WhereEvalError(`cannot compare ${a.c} with ${b.c}`);
}

function compare(op: string, a: Val, b: Val): boolean | null {
  if (a.v === null || b.v === null) return null;
  const [x, y] = unify(a, b);
  const l = x.v as string | number | boolean;
  const r = y.v as string | number | boolean;
  switch (op) {
    case '=':
      return l === r;
    case '<>':
      return l !== r;
    case '<':
      return l < r;
    case '<=':
      return l <= r;
    case '>':
      return l > r;
    default:
      return l >= r;
  }
}

function likeRegex(pattern: string, ci: boolean): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '%') re += '.*';
    else if (ch === '_') re += '.';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, ci ? 'is' : 's');
}

/**
 * The value a `column = literal` comparison sees, as a string, for a text of the column's type
 * (`'007'` and `'7'` on an int column both give `7`): two texts this evaluator finds equal get
 * the same key. uuids are lower-cased, so the key stays coarser than PostgreSQL's own equality
 * too. The change routing index (change-routing.ts) indexes shapes on it. Throws WhereEvalError for a
 * text the type can't read (as the evaluator does).
 */
export function comparisonKey(typname: string, text: string): string {
  const key = String(coerce({ c: 'unknown', v: text }, categoryOf(typname)).v);
  return typname === 'uuid' ? key.toLowerCase() : key;
}

const asBool = (v: Val): boolean | null => (v.v === null ? null : (coerce(v, 'bool').v as boolean));

function evaluate(e: Expr, row: Row, ctx: EvalContext): Val {
  switch (e.k) {
    case 'col': {
      const type = ctx.types.get(e.name);
      if (!type) throw new WhereEvalError(`unknown column ${e.name}`);
      const raw = row[e.name];
      return raw === null || raw === undefined
        ? { c: categoryOf(type), v: null }
        : coerce({ c: 'unknown', v: raw }, categoryOf(type));
    }
    case 'str':
      return { c: 'unknown', v: e.value };
    case 'num':
      return { c: 'num', v: Number(e.value) };
    case 'bool':
      return { c: 'bool', v: e.value };
    case 'null':
      return { c: 'unknown', v: null };
    case 'param':
      return { c: 'unknown', v: ctx.params[String(e.n)] ?? null };
    case 'cast':
      return coerce(evaluate(e.e, row, ctx), CAST_CATEGORY[e.type] ?? 'text');
    case 'cmp':
      return { c: 'bool', v: compare(e.op, evaluate(e.l, row, ctx), evaluate(e.r, row, ctx)) };
    case 'and': {
      const l = asBool(evaluate(e.l, row, ctx));
      if (l === false) return { c: 'bool', v: false };
      const r = asBool(evaluate(e.r, row, ctx));
      return { c: 'bool', v: r === false ? false : l === null || r === null ? null : true };
    }
    case 'or': {
      const l = asBool(evaluate(e.l, row, ctx));
      if (l === true) return { c: 'bool', v: true };
      const r = asBool(evaluate(e.r, row, ctx));
      return { c: 'bool', v: r === true ? true : l === null || r === null ? null : false };
    }
    case 'not': {
      const b = asBool(evaluate(e.e, row, ctx));
      return { c: 'bool', v: b === null ? null : !b };
    }
    case 'isnull': {
      const isNull = evaluate(e.e, row, ctx).v === null;
      return { c: 'bool', v: e.neg ? !isNull : isNull };
    }
    case 'in': {
      const v = evaluate(e.e, row, ctx);
      let sawNull = false;
      for (const item of e.list) {
        const hit = compare('=', v, evaluate(item, row, ctx));
        if (hit === true) return { c: 'bool', v: !e.neg };
        if (hit === null) sawNull = true;
      }
      return { c: 'bool', v: sawNull ? null : e.neg };
    }
    case 'between': {
      const v = evaluate(e.e, row, ctx);
      const lo = compare('>=', v, evaluate(e.lo, row, ctx));
      const hi = compare('<=', v, evaluate(e.hi, row, ctx));
      const inside = lo === false || hi === false ? false : lo === null || hi === null ? null : true;
      return { c: 'bool', v: inside === null ? null : e.neg ? !inside : inside };
    }
    case 'like': {
      const v = evaluate(e.e, row, ctx);
      const p = evaluate(e.pattern, row, ctx);
      if (v.v === null || p.v === null) return { c: 'bool', v: null };
      const hit = likeRegex(String(p.v), e.ci).test(String(v.v));
      return { c: 'bool', v: e.neg ? !hit : hit };
    }
    case 'arith': {
      const l = evaluate(e.l, row, ctx);
      const r = evaluate(e.r, row, ctx);
      if (l.v === null || r.v === null) return { c: e.op === '||' ? 'text' : 'num', v: null };
      if (e.op === '||') return { c: 'text', v: String(coerce(l, 'text').v) + String(coerce(r, 'text').v) };
      const a = coerce(l, 'num').v as number;
      const b = coerce(r, 'num').v as number;
      if (e.op === '/' && b === 0) throw new WhereEvalError('division by zero');
      return { c: 'num', v: e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b };
    }
    case 'subquery': {
      if (!ctx.inSubquery) throw new WhereEvalError('a subquery can only be evaluated within its shape');
      // NULL never equals a value (and the result's NULLs are not counted): false, as in SQL WHERE.
      const raw = row[e.col];
      return { c: 'bool', v: raw === null || raw === undefined ? null : ctx.inSubquery(e, raw) };
    }
    case 'fn': {
      const args = e.args.map((a) => evaluate(a, row, ctx));
      if (e.name === 'coalesce') return args.find((a) => a.v !== null) ?? { c: 'unknown', v: null };
      const a = args[0]!;
      if (a.v === null) return { c: 'text', v: null };
      const s = String(coerce(a, 'text').v);
      return { c: 'text', v: e.name === 'lower' ? s.toLowerCase() : s.toUpperCase() };
    }
  }
}

/** True when the row satisfies the clause (NULL counts as false, as in SQL WHERE). */
export function matches(e: Expr | undefined, row: Row, ctx: EvalContext): boolean {
  if (!e) return true;
  return asBool(evaluate(e, row, ctx)) === true;
}

/**
 * SQL text for a clause, with every literal and parameter bound through `bind` (which returns
 * a `$n` placeholder). Only column names checked against the catalog, whitelisted type names
 * and fixed operators are written into the text.
 */
export function toSql(e: Expr, params: Readonly<Record<string, string>>, bind: (value: string) => string): string {
  const sql = (x: Expr): string => {
    switch (x.k) {
      case 'col':
        return pg.escapeIdentifier(x.name);
      case 'str':
        return bind(x.value);
      case 'num':
        return `${bind(x.value)}::numeric`;
      case 'bool':
        return x.value ? 'TRUE' : 'FALSE';
      case 'null':
        return 'NULL';
      case 'param':
        return bind(params[String(x.n)]!);
      case 'cast':
        return `(${sql(x.e)})::${x.type}`;
      case 'cmp':
        return `(${sql(x.l)} ${x.op} ${sql(x.r)})`;
      case 'arith':
        return `(${sql(x.l)} ${x.op} ${sql(x.r)})`;
      case 'and':
        return `(${sql(x.l)} AND ${sql(x.r)})`;
      case 'or':
        return `(${sql(x.l)} OR ${sql(x.r)})`;
      case 'not':
        return `(NOT ${sql(x.e)})`;
      case 'isnull':
        return `(${sql(x.e)} IS ${x.neg ? 'NOT ' : ''}NULL)`;
      case 'in':
        return `(${sql(x.e)} ${x.neg ? 'NOT ' : ''}IN (${x.list.map(sql).join(', ')}))`;
      case 'between':
        return `(${sql(x.e)} ${x.neg ? 'NOT ' : ''}BETWEEN ${sql(x.lo)} AND ${sql(x.hi)})`;
      case 'like':
        return `(${sql(x.e)} ${x.neg ? 'NOT ' : ''}${x.ci ? 'ILIKE' : 'LIKE'} ${sql(x.pattern)})`;
      case 'fn':
        return `${x.name}(${x.args.map(sql).join(', ')})`;
      case 'subquery': {
        // Columns of the inner where are checked against the inner table before this runs,
        // so none of them can silently refer to the outer row.
        const from = `${pg.escapeIdentifier(x.schema)}.${pg.escapeIdentifier(x.table)}`;
        const where = x.where ? ` WHERE ${sql(x.where)}` : '';
        return `(${pg.escapeIdentifier(x.col)} IN (SELECT ${pg.escapeIdentifier(x.select)} FROM ${from}${where}))`;
      }
    }
  };
  return sql(e);
}
