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
import { matches, parseTime, toSql } from '../../server/sync/where-eval.js';
import { parseWhere } from '../../server/sync/where-parser.js';

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
    expect(parseTime('2026-05-06 07:08:09.123456+00') % 1_000_000).toBe(123456);
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
    const sql = toSql(parseWhere("s = 'a''b' AND n > 2"), {}, (v) => (values.push(v), `$${values.length}`));
    expect(sql).toBe('(("s" = $1) AND ("n" > $2::numeric))');
    expect(values).toEqual(["a'b", '2']);
  });
});
