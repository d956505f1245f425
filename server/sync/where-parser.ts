// A small parser for shape `where` clauses: the subset of PostgreSQL expressions that the
// sync service can both run in SQL (snapshots) and evaluate itself on replicated rows.
// Anything outside it is a 400, never passed through to the database as text.

export type Expr =
  | { k: 'col'; name: string }
  | { k: 'str'; value: string }
  | { k: 'num'; value: string }
  | { k: 'bool'; value: boolean }
  | { k: 'null' }
  | { k: 'param'; n: number }
  | { k: 'cast'; e: Expr; type: string }
  | { k: 'cmp'; op: string; l: Expr; r: Expr }
  | { k: 'arith'; op: string; l: Expr; r: Expr }
  | { k: 'and' | 'or'; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'isnull'; e: Expr; neg: boolean }
  | { k: 'in'; e: Expr; list: Expr[]; neg: boolean }
  | { k: 'between'; e: Expr; lo: Expr; hi: Expr; neg: boolean }
  | { k: 'like'; e: Expr; pattern: Expr; neg: boolean; ci: boolean }
  | { k: 'fn'; name: string; args: Expr[] }
  | SubqueryExpr;

/**
 * `col IN (SELECT select FROM schema.table WHERE where)`: one level deep, only as a top-level
 * AND condition (checkSubqueries). `i` numbers a shape's subqueries (set when compiled).
 */
export interface SubqueryExpr {
  k: 'subquery';
  col: string;
  select: string;
  schema: string;
  table: string;
  where: Expr | undefined;
  i?: number;
}

export class WhereSyntaxError extends Error {}

export const CAST_TYPES = new Set([
  'text',
  'varchar',
  'uuid',
  'int2',
  'int4',
  'int8',
  'smallint',
  'integer',
  'int',
  'bigint',
  'numeric',
  'float4',
  'float8',
  'real',
  'bool',
  'boolean',
  'date',
  'timestamptz',
  'timestamp',
  'time',
]);
export const FUNCTIONS = new Set(['lower', 'upper', 'coalesce']);
const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'like', 'ilike', 'between']);
const MAX_LENGTH = 4096;
const MAX_DEPTH = 64;

type Token = { t: 'id' | 'qid' | 'str' | 'num' | 'param' | 'op' | 'kw'; v: string; at: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "'") {
      let v = '';
      for (i++; ; i++) {
        if (i >= src.length) throw new WhereSyntaxError(`At location ${at}: unterminated string`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            v += "'";
            i++;
            continue;
          }
          i++;
          break;
        }
        v += src[i];
      }
      tokens.push({ t: 'str', v, at });
    } else if (c === '"') {
      const end = src.indexOf('"', i + 1);
      if (end < 0) throw new WhereSyntaxError(`At location ${at}: unterminated identifier`);
      tokens.push({ t: 'qid', v: src.slice(i + 1, end), at });
      i = end + 1;
    } else if (c === '$') {
      const m = /^\$([1-9]\d{0,3})/.exec(src.slice(i));
      if (!m) throw new WhereSyntaxError(`At location ${at}: bad parameter`);
      tokens.push({ t: 'param', v: m[1]!, at });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      tokens.push({ t: 'num', v: m[0], at });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      const low = m[0].toLowerCase();
      tokens.push({ t: KEYWORDS.has(low) ? 'kw' : 'id', v: low, at });
      i += m[0].length;
    } else {
      const m = /^(<>|!=|<=|>=|::|\|\||[=<>(),+\-*/.])/.exec(src.slice(i));
      if (!m) throw new WhereSyntaxError(`At location ${at}: syntax error at or near "${c}"`);
      tokens.push({ t: 'op', v: m[0] === '!=' ? '<>' : m[0], at });
      i += m[0].length;
    }
  }
  return tokens;
}

/** Parses a where clause into an expression tree; throws WhereSyntaxError with a location. */
export function parseWhere(src: string): Expr {
  if (src.length > MAX_LENGTH) throw new WhereSyntaxError(`where is longer than ${MAX_LENGTH} characters`);
  const tokens = tokenize(src);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos];
  const fail = (msg = 'syntax error'): never => {
    const t = peek();
    throw new WhereSyntaxError(t ? `At location ${t.at}: ${msg} at or near "${t.v}"` : `${msg} at end of input`);
  };
  const isKw = (v: string) => peek()?.t === 'kw' && peek()!.v === v;
  const isOp = (v: string) => peek()?.t === 'op' && peek()!.v === v;
  const expectOp = (v: string) => (isOp(v) ? pos++ : fail());

  const guard = <T>(fn: () => T): T => {
    if (++depth > MAX_DEPTH) fail('expression too deeply nested');
    try {
      return fn();
    } finally {
      depth--;
    }
  };
  const or = (): Expr =>
    guard(() => {
      let l = and();
      while (isKw('or')) {
        pos++;
        l = { k: 'or', l, r: and() };
      }
      return l;
    });
  const and = (): Expr => {
    let l = not();
    while (isKw('and')) {
      pos++;
      l = { k: 'and', l, r: not() };
    }
    return l;
  };
  const not = (): Expr => {
    if (isKw('not')) {
      pos++;
      return { k: 'not', e: guard(not) };
    }
    return predicate();
  };
  const predicate = (): Expr => {
    const e = additive();
    const t = peek();
    if (t?.t === 'op' && ['=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      pos++;
      return { k: 'cmp', op: t.v, l: e, r: additive() };
    }
    if (isKw('is')) {
      pos++;
      const neg = isKw('not') ? (pos++, true) : false;
      if (isKw('null')) {
        pos++;
        return { k: 'isnull', e, neg };
      }
      if (isKw('true') || isKw('false')) {
        const value = peek()!.v === 'true';
        pos++;
        // x IS [NOT] TRUE never yields NULL: coalesce(x = value, false)
        const test: Expr = {
          k: 'fn',
          name: 'coalesce',
          args: [
            { k: 'cmp', op: '=', l: e, r: { k: 'bool', value } },
            { k: 'bool', value: false },
          ],
        };
        return neg ? { k: 'not', e: test } : test;
      }
      fail();
    }
    const neg = isKw('not') ? (pos++, true) : false;
    if (isKw('in')) {
      pos++;
      expectOp('(');
      if (peek()?.t === 'id' && peek()!.v === 'select') {
        if (neg) fail('NOT IN (SELECT …) is not supported; use IN (SELECT …)');
        return subquery(e);
      }
      const list = [additive()];
      while (isOp(',')) {
        pos++;
        list.push(additive());
      }
      expectOp(')');
      return { k: 'in', e, list, neg };
    }
    if (isKw('like') || isKw('ilike')) {
      const ci = peek()!.v === 'ilike';
      pos++;
      return { k: 'like', e, pattern: additive(), neg, ci };
    }
    if (isKw('between')) {
      pos++;
      const lo = additive();
      if (!isKw('and')) fail();
      pos++;
      return { k: 'between', e, lo, hi: additive(), neg };
    }
    if (neg) fail();
    return e;
  };
  const isId = (v: string) => peek()?.t === 'id' && peek()!.v === v;
  const name = (): string => {
    const t = peek();
    if (t?.t !== 'id' && t?.t !== 'qid') return fail('expected a name');
    pos++;
    return t.v;
  };
  /** After `IN (`: `SELECT col FROM [schema.]table [WHERE …])`. */
  const subquery = (outer: Expr): Expr => {
    if (outer.k !== 'col') fail('only a column may stand left of IN (SELECT …)');
    pos++;
    const select = name();
    if (!isId('from')) fail('expected FROM');
    pos++;
    let schema = 'public';
    let table = name();
    if (isOp('.')) {
      pos++;
      schema = table;
      table = name();
    }
    let where: Expr | undefined;
    if (isId('where')) {
      pos++;
      where = or();
    }
    expectOp(')');
    return { k: 'subquery', col: (outer as { name: string }).name, select, schema, table, where };
  };
  const additive = (): Expr => {
    let l = multiplicative();
    while (isOp('+') || isOp('-') || isOp('||')) {
      const op = tokens[pos++]!.v;
      l = { k: 'arith', op, l, r: multiplicative() };
    }
    return l;
  };
  const multiplicative = (): Expr => {
    let l = castable();
    while (isOp('*') || isOp('/')) {
      const op = tokens[pos++]!.v;
      l = { k: 'arith', op, l, r: castable() };
    }
    return l;
  };
  const castable = (): Expr => {
    let e = primary();
    while (isOp('::')) {
      pos++;
      const t = peek();
      if (t?.t !== 'id' || !CAST_TYPES.has(t.v)) fail('unsupported type');
      pos++;
      e = { k: 'cast', e, type: t!.v };
    }
    return e;
  };
  const primary = (): Expr => {
    const t = peek() ?? fail();
    pos++;
    switch (t.t) {
      case 'str':
        return { k: 'str', value: t.v };
      case 'num':
        return { k: 'num', value: t.v };
      case 'param':
        return { k: 'param', n: Number(t.v) };
      case 'qid':
        return { k: 'col', name: t.v };
      case 'kw':
        if (t.v === 'null') return { k: 'null' };
        if (t.v === 'true' || t.v === 'false') return { k: 'bool', value: t.v === 'true' };
        pos--;
        return fail();
      case 'id':
        if (isOp('(')) {
          if (!FUNCTIONS.has(t.v)) {
            pos--;
            fail('unsupported function');
          }
          pos++;
          const args = [or()];
          while (isOp(',')) {
            pos++;
            args.push(or());
          }
          expectOp(')');
          return { k: 'fn', name: t.v, args };
        }
        return { k: 'col', name: t.v };
      case 'op':
        if (t.v === '(') {
          const e = or();
          expectOp(')');
          return e;
        }
        if (t.v === '-' && peek()?.t === 'num') return { k: 'num', value: '-' + tokens[pos++]!.v };
        pos--;
        return fail();
    }
    return fail();
  };
  const tree = or();
  if (pos < tokens.length) fail();
  checkSubqueries(tree);
  return tree;
}

const PLACEMENT =
  'a subquery (col IN (SELECT …)) is supported only as a condition joined to the rest of the where by AND at the top level, not under OR or NOT';

/**
 * Subqueries only as top-level AND conditions, one level deep: a row then moves in or out of
 * the shape exactly when its value enters or leaves the subquery's result.
 */
export function checkSubqueries(e: Expr): void {
  const inside = (x: Expr, nested: boolean) => {
    walkExpr(x, (y) => {
      if (y.k !== 'subquery') return;
      throw new WhereSyntaxError(nested ? 'subqueries may not be nested (one level only)' : PLACEMENT);
    });
  };
  const top = (x: Expr): void => {
    if (x.k === 'and') return void (top(x.l), top(x.r));
    if (x.k === 'subquery') return void (x.where && inside(x.where, true));
    inside(x, false);
  };
  top(e);
}

/** The subqueries of a where clause, in order (top-level AND conditions, see checkSubqueries). */
export function subqueriesOf(e: Expr | undefined): SubqueryExpr[] {
  const out: SubqueryExpr[] = [];
  const top = (x: Expr | undefined): void => {
    if (x?.k === 'and') return void (top(x.l), top(x.r));
    if (x?.k === 'subquery') out.push(x);
  };
  top(e);
  return out;
}

/** Calls fn on every node of the tree (a subquery's inner where included). */
function walkExpr(e: Expr, fn: (x: Expr) => void): void {
  fn(e);
  const kids: Array<Expr | undefined> = [];
  switch (e.k) {
    case 'cast':
    case 'not':
    case 'isnull':
      kids.push(e.e);
      break;
    case 'cmp':
    case 'arith':
    case 'and':
    case 'or':
      kids.push(e.l, e.r);
      break;
    case 'in':
      kids.push(e.e, ...e.list);
      break;
    case 'between':
      kids.push(e.e, e.lo, e.hi);
      break;
    case 'like':
      kids.push(e.e, e.pattern);
      break;
    case 'fn':
      kids.push(...e.args);
      break;
    case 'subquery':
      kids.push(e.where);
      break;
  }
  for (const k of kids) if (k) walkExpr(k, fn);
}

/**
 * Every column and parameter an expression mentions. A subquery contributes its outer column
 * and its parameters; the columns of its inner where belong to its own table.
 */
export function collectRefs(e: Expr, cols = new Set<string>(), params = new Set<number>()) {
  const walk = (x: Expr): void => {
    switch (x.k) {
      case 'col':
        cols.add(x.name);
        break;
      case 'param':
        params.add(x.n);
        break;
      case 'cast':
      case 'not':
      case 'isnull':
        walk(x.e);
        break;
      case 'cmp':
      case 'arith':
      case 'and':
      case 'or':
        walk(x.l);
        walk(x.r);
        break;
      case 'in':
        walk(x.e);
        x.list.forEach(walk);
        break;
      case 'between':
        walk(x.e);
        walk(x.lo);
        walk(x.hi);
        break;
      case 'like':
        walk(x.e);
        walk(x.pattern);
        break;
      case 'fn':
        x.args.forEach(walk);
        break;
      case 'subquery':
        cols.add(x.col);
        if (x.where) collectRefs(x.where, new Set(), params);
        break;
    }
  };
  walk(e);
  return { cols, params };
}
