// The pieces of the sync service that need no database: offsets, xid visibility across
// wraparound, and the where clause evaluator agreeing with SQL semantics.
import { describe, expect, it } from 'vitest';
import {
  compareOffsets,
  formatOffset,
  isVisibleInSnapshot,
  parseOffset,
  parseSnapshot,
} from '../../server/sync/offsets.js';
import { bindParams } from '../../server/sync/shape-def.js';
import { checkWhere, matches, toSql, WhereEvalError } from '../../server/sync/where-eval.js';
import { parseTimeKey } from '../../server/sync/where-values.js';
import { collectRefs, parseWhere, subqueriesOf } from '../../server/sync/where-parser.js';

describe('offsets', () => {
  it('parses, formats and orders offsets; rejects junk', () => {
    expect(formatOffset(parseOffset('24074800_4')!)).toBe('24074800_4');
    expect(formatOffset(parseOffset('0_inf')!)).toBe('0_inf');
    expect(compareOffsets(parseOffset('5_inf')!, parseOffset('6_0')!)).toBe(-1);
    expect(compareOffsets(parseOffset('5_inf')!, parseOffset('5_99')!)).toBe(1);
    for (const bad of ['', 'abc', '1_', '_1', '01_1', '1_-1', '99999999999999999999999_0', '1_1.5'])
      expect(parseOffset(bad), bad).toBeUndefined();
  });

  it('decides xid visibility in a snapshot across 32-bit wraparound', () => {
    const snap = parseSnapshot('100:105:102,103');
    expect([99, 100, 101, 102, 104, 105].map((x) => isVisibleInSnapshot(x, snap))).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
    ]);
    // Epoch 1: xid8 2^32 + 10; pgoutput reports 10. An old xid 2^32 - 5 reports 4294967291.
    const wrapped = { xmin: 2n ** 32n + 5n, xmax: 2n ** 32n + 20n, xip: [2n ** 32n + 10n] };
    expect(isVisibleInSnapshot(4294967291, wrapped)).toBe(true);
    expect(isVisibleInSnapshot(10, wrapped)).toBe(false);
    expect(isVisibleInSnapshot(12, wrapped)).toBe(true);
    expect(isVisibleInSnapshot(25, wrapped)).toBe(false);
  });
});

describe('where clauses', () => {
  const types = new Map([
    ['n', 'int4'],
    ['s', 'text'],
    ['t', 'timestamptz'],
    ['b', 'bool'],
    ['d', 'date'],
  ]);
  const ctx = { types, params: {} };
  const check = (where: string, row: Record<string, string | null>, params: Record<string, string> = {}) =>
    matches(bindParams(parseWhere(where), params), row, ctx);

  it('follows SQL semantics for NULL, numbers, times, booleans and patterns', () => {
    expect(check('n > 9', { n: '10' })).toBe(true); // numeric, not text, comparison
    expect(check('n = $1', { n: '7' }, { 1: '7' })).toBe(true);
    expect(check('s <> $1', { s: null }, { 1: 'x' })).toBe(false); // NULL is not true
    expect(check('NOT (s = $1)', { s: null }, { 1: 'x' })).toBe(false);
    expect(check('s IS NULL OR n IN (1, 2)', { s: 'a', n: '2' })).toBe(true);
    expect(check("t >= '2026-01-01T00:00:00Z'", { t: '2026-01-01 01:00:00+01' })).toBe(true);
    expect(check("t > '2026-01-01T00:00:00Z'", { t: '2026-01-01 01:00:00+01' })).toBe(false);
    expect(check('b', { b: 't' })).toBe(true);
    expect(check('b IS NOT TRUE', { b: null })).toBe(true);
    expect(check("lower(s) LIKE 'ab%' AND s NOT ILIKE '%z'", { s: 'ABc' })).toBe(true);
    expect(check("d BETWEEN '2026-01-01' AND '2026-01-31'", { d: '2026-01-31' })).toBe(true);
    expect(parseTimeKey('2026-05-06 07:08:09.123456+00')!.us % 1_000_000n).toBe(123456n);
  });

  it('is exact where floats and JavaScript string order are not', () => {
    const wide = { types: new Map([...types, ['big', 'int8'], ['x', 'numeric']]), params: {} };
    const on = (where: string, row: Record<string, string | null>) => matches(parseWhere(where), row, wide);
    expect(on('big = 9007199254740993', { big: '9007199254740992' })).toBe(false);
    expect(on('big + 1 = 9223372036854775808', { big: '9223372036854775807' })).toBe(true); // numeric, no overflow
    expect(on('x * 3 = 0.9', { x: '0.3' })).toBe(true);
    expect(
      on("(big / 3)::text = '0.33333333333333333333' AND (x / 4)::text = '2.5000000000000000'", { big: '1', x: '10' }),
    ).toBe(true); // numeric_div's scale
    expect(on("x > 'Infinity'", { x: 'NaN' })).toBe(true); // NaN sorts above everything
    expect(check("s > '\uffff'", { s: '😀' })).toBe(true); // code points (UTF-8 bytes), not UTF-16 units
    expect(check("upper(s) = 'STRAßE' AND lower('ΣΑΣ') = 'σασ'", { s: 'straße' })).toBe(true); // per character
    expect(check("s ILIKE 'É%' AND s NOT LIKE 'a\\%'", { s: 'école' })).toBe(true);
    expect(check('NOT (s IN ($1, NULL))', { s: 'b' }, { 1: 'a' })).toBe(false); // NULL, not true
  });

  it('refuses, before any row, what could disagree with PostgreSQL or fail on a row', () => {
    for (const bad of [
      's < 5',
      'n / n > 1',
      'n / 0 > 1',
      "s LIKE 'a\\'",
      "t > 'yesterday'",
      "b = 'maybe'",
      'd::timestamptz > t',
      's::int4 = 1',
    ])
      expect(() => checkWhere(parseWhere(bad), { types }), bad).toThrow(WhereEvalError);
  });

  it('rejects what it cannot evaluate, and binds every literal in SQL', () => {
    for (const bad of [
      's = ',
      "s = 'x'; DROP TABLE users",
      'pg_sleep(1) = 1',
      's = (SELECT 1)',
      '"s" = $0',
      'n::regclass = 1',
    ]) {
      expect(() => parseWhere(bad), bad).toThrow();
    }
    const values: string[] = [];
    const sql = toSql(parseWhere("s = 'a''b' AND n > 2"), {}, (v) => (values.push(v), `$${values.length}`), { types });
    expect(sql).toBe('((("s") COLLATE "C" = ($1::text) COLLATE "C") AND ("n" > $2::numeric))');
    expect(values).toEqual(["a'b", '2']);
  });
});

describe('subqueries in where clauses', () => {
  it('parses col IN (SELECT …) as a top-level AND condition, with its own where and parameters', () => {
    const tree = bindParams(
      parseWhere('deleted_at IS NULL AND id IN (SELECT patient_id FROM clinic."Appts" WHERE doctor_id = $1)'),
      { 1: 'd1' },
    );
    const [sq] = subqueriesOf(tree);
    expect(sq).toMatchObject({ k: 'subquery', col: 'id', select: 'patient_id', schema: 'clinic', table: 'Appts' });
    expect(subqueriesOf(parseWhere('id IN (SELECT x FROM t)'))[0]).toMatchObject({
      schema: 'public',
      where: undefined,
    });
    // The inner where's columns are the inner table's; its parameters are the shape's.
    expect(collectRefs(parseWhere('id IN (SELECT a FROM t WHERE b = $2) AND c = 1'))).toEqual({
      cols: new Set(['id', 'c']),
      params: new Set([2]),
    });
    // Written as SQL within its compiled shape (numbered, the inner table's columns known): the
    // inner where's literals are bound and typed against the inner table, like the outer ones.
    const compiled = bindParams(
      parseWhere('deleted_at IS NULL AND id IN (SELECT patient_id FROM clinic."Appts" WHERE doctor_id = $1)'),
      { 1: 'D0C7D0C7-0000-4000-8000-000000000001' },
    );
    subqueriesOf(compiled)[0]!.i = 0;
    const outer = {
      types: new Map([
        ['id', 'uuid'],
        ['deleted_at', 'timestamptz'],
      ]),
    };
    const inner = { types: new Map([['doctor_id', 'uuid']]) };
    const values: string[] = [];
    const bind = (v: string) => (values.push(v), `$${values.length}`);
    expect(toSql(compiled, {}, bind, { ...outer, subqueries: [inner] })).toBe(
      '(("deleted_at" IS NULL) AND ("id" IN (SELECT "patient_id" FROM "clinic"."Appts" WHERE ("doctor_id" = $1::uuid))))',
    );
    expect(values).toEqual(['D0C7D0C7-0000-4000-8000-000000000001']);
    expect(() => toSql(tree, {}, bind, outer)).toThrow(WhereEvalError);
    // The inner where passes the type rules against its own table only.
    expect(() => checkWhere(compiled, { ...outer, subqueries: [{ types: new Map([['doctor_id', 'int4']]) }] })).toThrow(
      /integer/,
    );
    expect(() => checkWhere(parseWhere('id IN (SELECT a FROM t WHERE a = 1)'), outer)).not.toThrow();
  });

  it('evaluates against the membership it is given, NULL never in', () => {
    const tree = parseWhere("s = 'a' AND n IN (SELECT m FROM t)");
    const members = new Set(['1']);
    const ctx = {
      types: new Map([
        ['n', 'int4'],
        ['s', 'text'],
      ]),
      params: {},
      inSubquery: (_: unknown, v: string) => members.has(v),
    };
    expect(matches(tree, { s: 'a', n: '1' }, ctx)).toBe(true);
    expect(matches(tree, { s: 'a', n: '2' }, ctx)).toBe(false);
    expect(matches(tree, { s: 'a', n: null }, ctx)).toBe(false);
    expect(() => matches(tree, { s: 'a', n: '1' }, { types: ctx.types, params: {} })).toThrow();
  });

  it('refuses NOT IN, OR / NOT around a subquery, nesting and non-columns, naming the reason', () => {
    const refused: Array<[string, RegExp]> = [
      ['id NOT IN (SELECT a FROM t)', /NOT IN \(SELECT/],
      ['x = 1 OR id IN (SELECT a FROM t)', /top level/],
      ['NOT (id IN (SELECT a FROM t))', /top level/],
      ['id IN (SELECT a FROM t WHERE b IN (SELECT c FROM u))', /nested/],
      ['lower(s) IN (SELECT a FROM t)', /only a column/],
      ['id IN (SELECT a FROM t WHERE)', /syntax error/],
      ['id IN (SELECT a t)', /expected FROM/],
    ];
    for (const [where, message] of refused) expect(() => parseWhere(where), where).toThrow(message);
  });
});
