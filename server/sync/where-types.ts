// Static types of a where clause, checked when the shape is requested: a clause is accepted
// only if the JavaScript evaluator (live changes) and the SQL it emits (snapshots) give the
// same answer on every row and never fail on one. Everything else is refused with a 400 that
// names the problem: a literal that is not a valid value of the type it meets (checked here,
// with stricter forms than PostgreSQL's input functions), a cast that could fail on some row,
// division (division by zero, PostgreSQL's rounding), float arithmetic (overflow), ordering
// on types whose order is not their text's, comparisons between unrelated types.
import type { Expr } from './where-parser.js';
import {
  daysInMonth,
  decToFloat,
  decToString,
  likeEndsWithEscape,
  parseDec,
  parseTimeKey,
  type Dec,
} from './where-values.js';

export type Ty =
  | 'int2'
  | 'int4'
  | 'int8'
  | 'numeric'
  | 'float8'
  | 'text'
  | 'bool'
  | 'date'
  | 'timestamptz'
  | 'uuid'
  /** A string literal or `$n` before it meets a type. */
  | 'unknown'
  | 'null'
  /** Columns only: tested with IS NULL or cast to text. */
  | 'array'
  | 'other';

export class WhereTypeError extends Error {}

export interface WhereColumns {
  /** Column name → PostgreSQL type name (the element type for arrays). */
  types: ReadonlyMap<string, string>;
  /** Array columns. */
  arrays?: ReadonlySet<string>;
  /**
   * A compiled shape's subqueries' inner tables, by the subquery's index (`i`): an inner
   * where is typed against its own table's columns. Without them a subquery's where is not
   * descended into here; compileShape (subqueries.ts) checks it against the inner table.
   */
  subqueries?: ReadonlyArray<WhereColumns | undefined>;
}

export const INT_TYPES = new Set<Ty>(['int2', 'int4', 'int8']);
export const isExact = (t: Ty) => INT_TYPES.has(t) || t === 'numeric';

const COLUMN_TYPES: Record<string, Ty> = {
  int2: 'int2',
  int4: 'int4',
  int8: 'int8',
  numeric: 'numeric',
  float8: 'float8',
  text: 'text',
  varchar: 'text',
  bool: 'bool',
  date: 'date',
  timestamptz: 'timestamptz',
  uuid: 'uuid',
};

/** The where type of a column of this PostgreSQL type (`other`: only IS NULL and ::text). */
export const columnTy = (typname: string): Ty => COLUMN_TYPES[typname] ?? 'other';

const CAST_NAMES: Record<string, Ty> = {
  int2: 'int2',
  smallint: 'int2',
  int4: 'int4',
  int: 'int4',
  integer: 'int4',
  int8: 'int8',
  bigint: 'int8',
  numeric: 'numeric',
  float8: 'float8',
  text: 'text',
  varchar: 'text',
  bool: 'bool',
  boolean: 'bool',
  date: 'date',
  timestamptz: 'timestamptz',
  uuid: 'uuid',
};

const INT_RANGE: Record<string, [bigint, bigint]> = {
  int2: [-(2n ** 15n), 2n ** 15n - 1n],
  int4: [-(2n ** 31n), 2n ** 31n - 1n],
  int8: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** How two operands are compared (both sides are converted to it). */
export type CmpKind = 'exact' | 'float' | 'text' | 'bool' | 'time' | 'uuid' | 'null';

/** The comparison of two (settled, valid) operand types. */
export function kindOf(a: Ty, b: Ty): CmpKind | undefined {
  if (a === 'null' || b === 'null') return 'null';
  if (isExact(a) && isExact(b)) return 'exact';
  if ((a === 'float8' && (b === 'float8' || isExact(b))) || (b === 'float8' && isExact(a))) return 'float';
  if (a === b && (a === 'text' || a === 'bool' || a === 'uuid')) return a;
  if ((a === 'date' || a === 'timestamptz') && (b === 'date' || b === 'timestamptz')) return 'time';
  return undefined;
}

/** A literal's value in the type it met, parsed once. */
export type LitValue = Dec | number | string | boolean | { inf: -1 | 0 | 1; us: bigint } | null;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const BOOL_WORDS: Record<string, boolean> = {
  t: true,
  true: true,
  y: true,
  yes: true,
  on: true,
  '1': true,
  f: false,
  false: false,
  n: false,
  no: false,
  off: false,
  '0': false,
};
const UUID_RE = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;
const DATE_RE = /^(\d{4})-(\d\d)-(\d\d)$/;
const TS_RE = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?(Z|[+-]\d\d(?::?\d\d)?)?)?$/;

function validDate(y: string, m: string, d: string): boolean {
  return +y >= 1 && +m >= 1 && +m <= 12 && +d >= 1 && +d <= daysInMonth(+y, +m);
}

/** Parses a literal as a value of `t`; throws a WhereTypeError saying why it is not one. */
export function literalValue(text: string, t: Ty): LitValue {
  const bad = (what: string): never => {
    throw new WhereTypeError(`"${text.length > 60 ? text.slice(0, 60) + '…' : text}" is not ${what}`);
  };
  if (text.includes('\0') || LONE_SURROGATE.test(text)) bad('valid text (NUL or an unpaired surrogate)');
  switch (t) {
    case 'int2':
    case 'int4':
    case 'int8': {
      if (!/^[+-]?\d{1,40}$/.test(text)) bad(`an integer (${t}), written as digits`);
      const v = BigInt(text);
      const [lo, hi] = INT_RANGE[t]!;
      if (v < lo || v > hi) bad(`in the range of ${t}`);
      return { m: v, s: 0 };
    }
    case 'numeric': {
      const d = text.length <= 1100 ? parseDec(text) : undefined;
      return d ?? bad('a number (digits, a decimal point, an exponent, NaN or Infinity)');
    }
    case 'float8': {
      const low = text.toLowerCase();
      if (['nan', 'infinity', '-infinity', '+infinity'].includes(low))
        return low === 'nan' ? NaN : low.startsWith('-') ? -Infinity : Infinity;
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,4})?$/.test(text)) bad('a float8 number');
      const x = Number(text);
      // PostgreSQL refuses what overflows or underflows (to zero or to a subnormal).
      if (!Number.isFinite(x) || (Math.abs(x) < 2.2250738585072014e-308 && /[1-9]/.test(text.split(/[eE]/)[0]!)))
        bad('in the range of float8');
      return x;
    }
    case 'bool': {
      const v = BOOL_WORDS[text.toLowerCase()];
      if (v === undefined) bad('a boolean (true/false, t/f, yes/no, on/off, 1/0)');
      return v!;
    }
    case 'uuid': {
      const m = UUID_RE.exec(text);
      if (!m) bad('a uuid');
      return m!.slice(1).join('-').toLowerCase();
    }
    case 'date': {
      const m = DATE_RE.exec(text);
      const low = text.toLowerCase();
      if (!(m && validDate(m[1]!, m[2]!, m[3]!)) && low !== 'infinity' && low !== '-infinity')
        bad('a date (YYYY-MM-DD, year 0001–9999, or ±infinity)');
      return parseTimeKey(low.endsWith('infinity') ? low : text)!;
    }
    case 'timestamptz': {
      const low = text.toLowerCase();
      if (low === 'infinity' || low === '-infinity') return parseTimeKey(low)!;
      const m = TS_RE.exec(text);
      const zone = m?.[8];
      const zoneOk = !zone || zone === 'Z' || (+zone.slice(1, 3) <= 15 && +(zone.slice(-2) || 0) <= 59);
      if (
        !m ||
        !validDate(m[1]!, m[2]!, m[3]!) ||
        +(m[4] ?? 0) > 23 ||
        +(m[5] ?? 0) > 59 ||
        +(m[6] ?? 0) > 59 ||
        !zoneOk
      )
        bad('a timestamp (YYYY-MM-DD[ HH:MM[:SS[.ffffff]]][Z|±HH[:MM]], UTC when no zone is given)');
      const normal = zone && zone !== 'Z' && zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
      return parseTimeKey(text.slice(0, text.length - (zone?.length ?? 0)) + (normal ?? ''))!;
    }
    default:
      return text;
  }
}

export interface Typing {
  ty: Map<Expr, Ty>;
  /** Literals (strings, `$n`, numbers) with their parsed value. */
  lit: Map<Expr, LitValue>;
}

/** The type of each node of a where clause; throws WhereTypeError for what is refused. */
export function typeWhere(root: Expr, cols: WhereColumns, params: Readonly<Record<string, string>> = {}): Typing {
  const ty = new Map<Expr, Ty>();
  const lit = new Map<Expr, LitValue>();
  const fail = (msg: string): never => {
    throw new WhereTypeError(msg);
  };
  const isLiteral = (e: Expr) => e.k === 'str' || e.k === 'param';
  const literalText = (e: Expr) => (e.k === 'str' ? e.value : e.k === 'param' ? params[String(e.n)] : undefined);

  /** A string literal / NULL meeting type t takes it (once: the same literal can't be two types). */
  const settle = (e: Expr, t: Ty): Ty => {
    const prev = ty.get(e);
    if (prev !== undefined && prev !== 'unknown' && prev !== 'null') {
      if (prev !== t) fail(`a literal can't be both ${prev} and ${t}`);
      return t;
    }
    if (t === 'array' || t === 'other') fail('only IS NULL and ::text apply to this column type');
    if (isLiteral(e)) {
      const text = literalText(e);
      if (text === undefined) fail(`parameter is missing`);
      lit.set(e, literalValue(text!, t));
    }
    ty.set(e, t);
    return t;
  };

  const columnType = (name: string): Ty => {
    const t = cols.types.get(name);
    if (!t) return fail(`column "${name}" does not exist`);
    if (cols.arrays?.has(name)) return 'array';
    return COLUMN_TYPES[t] ?? 'other';
  };

  const isNumericConstant = (e: Expr) =>
    e.k === 'num' || (e.k === 'cast' && isLiteral(e.e) && CAST_NAMES[e.type] === 'numeric');
  /** A numeric constant meeting float8: PostgreSQL refuses one that overflows or underflows. */
  const floatConstant = (e: Expr) => {
    const d = (e.k === 'num' ? lit.get(e) : lit.get((e as { e: Expr }).e)) as Dec;
    const x = decToFloat(d);
    if (typeof d !== 'string' && (!Number.isFinite(x) || (d.m !== 0n && Math.abs(x) < 2.2250738585072014e-308)))
      fail(`${decToString(d)} is out of the range of float8`);
    return true;
  };

  /** How l and r compare; literals and NULLs take the other side's type. */
  const pair = (l: Expr, r: Expr): CmpKind => {
    let a = infer(l);
    let b = infer(r);
    if (a === 'null' || b === 'null') {
      // A bare NULL stays untyped in SQL (NULL = x is NULL for any x); a literal beside it is text.
      if (a === 'unknown') settle(l, 'text');
      if (b === 'unknown') settle(r, 'text');
      if ((a === 'array' || a === 'other') && b === 'null') fail('only IS NULL and ::text apply to this column type');
      if ((b === 'array' || b === 'other') && a === 'null') fail('only IS NULL and ::text apply to this column type');
      return 'null';
    }
    if (a === 'unknown' && b === 'unknown') a = b = settle(l, 'text') && settle(r, 'text');
    else if (a === 'unknown') a = settle(l, b);
    else if (b === 'unknown') b = settle(r, a);
    if (isExact(a) && isExact(b)) return 'exact';
    if (a === 'float8' || b === 'float8') {
      const [other, otherExpr] = a === 'float8' ? [b, r] : [a, l];
      if (other === 'float8' || INT_TYPES.has(other)) return 'float';
      if (other === 'numeric') {
        if (isNumericConstant(otherExpr) && floatConstant(otherExpr)) return 'float';
        fail(
          'a numeric value compared with a float8 needs an explicit ::float8 on a constant (numeric → float8 can overflow)',
        );
      }
    }
    if (a === 'text' && b === 'text') return 'text';
    if (a === 'bool' && b === 'bool') return 'bool';
    if (a === 'uuid' && b === 'uuid') return 'uuid';
    if ((a === 'date' || a === 'timestamptz') && (b === 'date' || b === 'timestamptz')) return 'time';
    if (a === 'array' || b === 'array' || a === 'other' || b === 'other')
      fail('only IS NULL and ::text apply to array columns and to columns of this type');
    return fail(`cannot compare ${a} with ${b}`);
  };

  const boolOperand = (e: Expr, what: string) => {
    const t = infer(e);
    if (t === 'unknown' || t === 'null') settle(e, 'bool');
    else if (t !== 'bool') fail(`argument of ${what} must be boolean, not ${t}`);
  };

  const castable = (from: Ty, to: Ty, e: Expr): boolean => {
    if (from === to) return true;
    if (to === 'text') return from !== 'float8' && from !== 'date' && from !== 'timestamptz';
    if (INT_TYPES.has(from)) {
      const widths = ['int2', 'int4', 'int8'];
      if (INT_TYPES.has(to)) return widths.indexOf(from) <= widths.indexOf(to);
      return to === 'numeric' || to === 'float8';
    }
    if (from === 'numeric' && to === 'float8') return isNumericConstant(e) && floatConstant(e);
    return false;
  };

  const typeText = (e: Expr, what: string) => {
    const t = infer(e);
    if (t === 'unknown' || t === 'null') settle(e, 'text');
    else if (t !== 'text') fail(`${what} takes text, not ${t} (cast it with ::text)`);
  };

  const infer = (e: Expr): Ty => {
    const t = inferNode(e);
    if (!ty.has(e) || (t !== 'unknown' && t !== 'null')) ty.set(e, t);
    return ty.get(e)!;
  };

  const inferNode = (e: Expr): Ty => {
    switch (e.k) {
      case 'col':
        return columnType(e.name);
      case 'str':
      case 'param':
        return ty.get(e) ?? 'unknown';
      case 'num':
        lit.set(e, literalValue(e.value, 'numeric'));
        return 'numeric';
      case 'bool':
        return 'bool';
      case 'null':
        return ty.get(e) ?? 'null';
      case 'cast': {
        const to = CAST_NAMES[e.type];
        if (!to) return fail(`cast to ${e.type} is not supported in where clauses`);
        const from = infer(e.e);
        if (from === 'unknown' || from === 'null') {
          settle(e.e, to);
          return to;
        }
        if (e.e.k === 'num' && INT_TYPES.has(to)) {
          // A number literal cast to an integer type: exact and in range, or refused.
          literalValue(e.e.value, to);
          return to;
        }
        if (!castable(from, to, e.e))
          fail(
            `cast from ${from} to ${to} is not supported in where clauses (it could fail or depend on session settings)`,
          );
        return to;
      }
      case 'cmp':
        pair(e.l, e.r);
        return 'bool';
      case 'and':
      case 'or':
        boolOperand(e.l, e.k.toUpperCase());
        boolOperand(e.r, e.k.toUpperCase());
        return 'bool';
      case 'not':
        boolOperand(e.e, 'NOT');
        return 'bool';
      case 'isnull': {
        const t = infer(e.e);
        if (t === 'unknown') settle(e.e, 'text');
        return 'bool';
      }
      case 'in':
        for (const item of e.list) pair(e.e, item);
        return 'bool';
      case 'between':
        pair(e.e, e.lo);
        pair(e.e, e.hi);
        return 'bool';
      case 'like': {
        typeText(e.e, e.ci ? 'ILIKE' : 'LIKE');
        if (e.pattern.k === 'null') return 'bool';
        if (!isLiteral(e.pattern)) fail('a LIKE pattern must be a string or a $n parameter');
        settle(e.pattern, 'text');
        if (likeEndsWithEscape(String(lit.get(e.pattern)))) fail('LIKE pattern must not end with escape character');
        return 'bool';
      }
      case 'arith': {
        if (e.op === '||') {
          typeText(e.l, '||');
          typeText(e.r, '||');
          return 'text';
        }
        if (e.op === '/') divisor(e.r);
        for (const side of [e.l, e.r]) {
          const t = infer(side);
          if (t === 'unknown' || t === 'null') settle(side, 'numeric');
          else if (!isExact(t))
            fail(
              `${e.op} takes integers or numeric values here, not ${t}${t === 'float8' ? ' (float arithmetic can overflow)' : ''}`,
            );
        }
        return 'numeric';
      }
      case 'subquery': {
        // Outer column and inner column are of one type (compileShape checks it); the inner
        // where belongs to the inner table: its literals are typed by a typing of its own.
        const t = columnType(e.col);
        if (t === 'array' || t === 'other') fail(`a subquery can't be compared with column "${e.col}" of this type`);
        const inner = e.i === undefined ? undefined : cols.subqueries?.[e.i];
        if (e.where && inner) typeWhere(e.where, inner, params);
        return 'bool';
      }
      case 'fn': {
        if (e.name === 'lower' || e.name === 'upper') {
          if (e.args.length !== 1) fail(`${e.name}() takes one argument`);
          typeText(e.args[0]!, `${e.name}()`);
          return 'text';
        }
        return coalesceType(e.args);
      }
    }
  };

  /** Division only by a non-zero constant: no row can make it fail. */
  const divisor = (e: Expr) => {
    const t = infer(e);
    if (t === 'unknown') settle(e, 'numeric');
    const constant =
      isNumericConstant(e) ||
      isLiteral(e) ||
      (e.k === 'cast' && e.e.k === 'num') ||
      (e.k === 'cast' && isLiteral(e.e) && isExact(ty.get(e)!));
    const value = isLiteral(e) ? lit.get(e) : e.k === 'num' ? lit.get(e) : e.k === 'cast' ? lit.get(e.e) : undefined;
    if (!constant || !value || typeof value !== 'object' || !('m' in value)) {
      if (value === 'Infinity' || value === '-Infinity') return;
      fail('division is only by a non-zero number written in the clause');
    }
    if ((value as { m: bigint }).m === 0n) fail('division by zero');
  };

  const coalesceType = (args: Expr[]): Ty => {
    const types = args.map(infer);
    const known = [...new Set(types.filter((t) => t !== 'unknown' && t !== 'null'))];
    let common: Ty;
    if (!known.length) common = 'text';
    else if (known.every(isExact)) common = known.includes('numeric') ? 'numeric' : 'int8';
    else if (known.every((t) => isExact(t) || t === 'float8')) {
      args.forEach((a, i) => {
        if (types[i] === 'numeric' && !(isNumericConstant(a) && floatConstant(a)))
          fail('coalesce() of numeric and float8 values is not supported');
      });
      common = 'float8';
    } else if (known.length === 1 && known[0] !== 'array' && known[0] !== 'other') common = known[0]!;
    else return fail(`coalesce() arguments must have one type, not ${known.join(' and ')}`);
    args.forEach((a, i) => {
      if (types[i] === 'unknown' || types[i] === 'null') settle(a, common);
    });
    return common;
  };

  const top = infer(root);
  if (top === 'unknown' || top === 'null') settle(root, 'bool');
  else if (top !== 'bool') fail(`the where clause must be a condition (boolean), not ${top}`);
  return { ty, lit };
}
