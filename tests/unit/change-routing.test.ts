// The shape router: which shapes a replicated change reaches. Shapes are parsed from real where
// text; a change must reach every shape whose where holds for its old or new row (checked
// against the evaluator convert.ts uses), and should skip the indexed ones it cannot affect.
import { describe, expect, it } from 'vitest';
import type { RowChange } from '../../server/sync/replication.js';
import type { CompiledShape } from '../../server/sync/shape-def.js';
import { indexableConjunct, ChangeRouter } from '../../server/sync/change-routing.js';
import type { TableInfo } from '../../server/sync/table-info.js';
import { comparisonKey, matches } from '../../server/sync/where-eval.js';
import { parseWhere, type Expr } from '../../server/sync/where-parser.js';

const COLUMNS: Array<[string, string]> = [
  ['id', 'int8'],
  ['owner', 'uuid'],
  ['grp', 'int4'],
  ['flag', 'bool'],
  ['tag', 'text'],
  ['day', 'date'],
];
const INFO: TableInfo = {
  schema: 'public',
  name: 'items',
  oid: 1,
  columns: COLUMNS.map(([name, type]) => ({ name, type, dims: 0, notNull: false, pkIndex: name === 'id' ? 0 : null })),
  keyColumns: ['id'],
  types: new Map(COLUMNS),
};
const OWNER_A = '0a000000-0000-4000-8000-00000000000a';
const OWNER_B = '0b000000-0000-4000-8000-00000000000b';

function shape(where: string | undefined, extra: Partial<CompiledShape> = {}): CompiledShape {
  return {
    schema: 'public',
    table: 'items',
    where: where === undefined ? undefined : parseWhere(where),
    whereText: where ?? '',
    params: {},
    columns: COLUMNS.map(([c]) => c),
    replica: 'default',
    scope: 'test',
    info: INFO,
    subqueries: [],
    ...extra,
  };
}

type Row = Record<string, string | null>;
const row = (r: Partial<Row>): Row => ({ id: '1', owner: OWNER_A, grp: '1', flag: 'f', tag: 'x', day: null, ...r });
const insert = (n: Row): RowChange => ({ kind: 'insert', schema: 'public', table: 'items', old: null, new: n });
const update = (o: Row | null, n: Row): RowChange => ({
  kind: 'update',
  schema: 'public',
  table: 'items',
  old: o,
  new: n,
});
const del = (o: Row): RowChange => ({ kind: 'delete', schema: 'public', table: 'items', old: o, new: null });

function reached(router: ChangeRouter<string>, change: RowChange): string[] {
  const out = new Set<string>();
  router.addForChange(change, out);
  return [...out].sort();
}

describe('indexable conjuncts', () => {
  const index = (where: string) => indexableConjunct(shape(where));

  it('takes top-level equalities and IN lists, preferring the fewest values', () => {
    expect(index(`owner = '${OWNER_A}'`)).toEqual({ column: 'owner', type: 'uuid', keys: [OWNER_A] });
    expect(index(`grp IN (1, 2, NULL) AND deleted IS NULL`.replace('deleted', 'day'))).toEqual({
      column: 'grp',
      type: 'int4',
      keys: ['1', '2'],
    });
    expect(index(`grp IN (1, 2) AND 'x' = tag AND day > '2030-01-01'`)).toEqual({
      column: 'tag',
      type: 'text',
      keys: ['x'],
    });
  });

  it('normalises values the way the evaluator compares them', () => {
    expect(index(`grp = '007'`)!.keys).toEqual(['7']);
    expect(index(`grp = 7`)!.keys).toEqual(['7']);
    expect(index(`owner = '${OWNER_A.toUpperCase()}'`)!.keys).toEqual([OWNER_A]);
    expect(index(`flag = 'yes'`)!.keys).toEqual(['true']);
    expect(index(`flag = true`)!.keys).toEqual(['true']);
    expect(index(`day = '2030-01-02'`)!.keys).toEqual([comparisonKey('date', '2030-01-02 00:00:00')]);
    expect(comparisonKey('int4', '007')).toBe(comparisonKey('int4', '7'));
    expect(comparisonKey('bool', 't')).toBe(comparisonKey('bool', 'true'));
    // Integers and numeric compare as exact decimals, float8 as floats (-0 = 0, NaN = NaN).
    expect(index(`grp = 7.0`)!.keys).toEqual(['7']);
    expect(comparisonKey('numeric', '1.50')).toBe(comparisonKey('int8', '1.5'));
    expect(comparisonKey('numeric', '9007199254740993')).not.toBe(comparisonKey('numeric', '9007199254740992'));
    expect(comparisonKey('float8', '-0')).toBe(comparisonKey('float8', '0'));
    expect(comparisonKey('float8', 'NaN')).toBe(comparisonKey('float8', 'nan'));
    expect(comparisonKey('timestamptz', '2026-01-01 01:00:00+01')).toBe(comparisonKey('timestamptz', '2026-01-01'));
    expect(() => comparisonKey('jsonb', '{}')).toThrow();
  });

  it('leaves alone what is not a plain equality on a column', () => {
    for (const where of [
      `grp > 3`,
      `grp = 1 OR tag = 'x'`,
      `NOT (grp = 1)`,
      `grp NOT IN (1, 2)`,
      `grp IN (1, tag)`,
      `lower(tag) = 'x'`,
      `grp::text = '1'`,
      `tag = 7`, // compared as numbers: '07' would equal it
      `grp = 'seven'`, // never true: the evaluator can't read it
      `grp = NULL`,
      `flag IS TRUE`,
    ])
      expect(index(where), where).toBeUndefined();
  });
});

describe('ChangeRouter', () => {
  function clinic() {
    const router = new ChangeRouter<string>();
    router.add('ownerA', shape(`owner = '${OWNER_A}' AND flag = false`));
    router.add('ownerB', shape(`owner = '${OWNER_B}'`));
    router.add('grp7', shape(`grp = '007'`));
    router.add('grp12', shape(`grp IN (1, 2)`));
    router.add('bigGrp', shape(`grp > 5`));
    router.add('everything', shape(undefined));
    router.add('members', shape(`tag = 'x' AND id IN (SELECT owner FROM public.others WHERE grp = 1)`));
    return router;
  }

  it('sends an insert to the shapes indexed under its values and to the always list', () => {
    const router = clinic();
    expect(reached(router, insert(row({ owner: OWNER_B, grp: '7' })))).toEqual([
      'bigGrp',
      'everything',
      'grp7',
      'ownerB',
    ]);
    expect(reached(router, insert(row({ owner: null, grp: null })))).toEqual(['bigGrp', 'everything']);
  });

  it('sends an update to the shapes of its old and its new values (rows moving out and in)', () => {
    const router = clinic();
    expect(reached(router, update(row({ owner: OWNER_A }), row({ owner: OWNER_B, grp: '3' })))).toEqual([
      'bigGrp',
      'everything',
      'grp12',
      'ownerA',
      'ownerB',
    ]);
    expect(reached(router, del(row({ owner: OWNER_B, grp: '2' })))).toEqual([
      'bigGrp',
      'everything',
      'grp12',
      'ownerB',
    ]);
  });

  it('falls back to every shape of the table when an old value is unknown', () => {
    const router = clinic();
    const all = ['bigGrp', 'everything', 'grp12', 'grp7', 'ownerA', 'ownerB'];
    // No old row (REPLICA IDENTITY DEFAULT), a key-only old row, an unreadable value.
    expect(reached(router, update(null, row({ owner: OWNER_B })))).toEqual(all);
    expect(reached(router, del({ id: '1' }))).toEqual(all);
    expect(reached(router, insert(row({ grp: 'junk' })))).toEqual(all);
  });

  it('routes subquery shapes everywhere, and others only for their own table', () => {
    const router = clinic();
    const tx = {
      xid: 1,
      lsn: 1n,
      endLsn: 2n,
      truncated: [],
      changes: [{ ...insert(row({})), table: 'appointments' }],
    };
    expect([...router.forTransaction(tx)]).toEqual(['members']);
    expect([...router.forTransaction({ ...tx, changes: [] })]).toEqual(['members']);
    // A where reading another table (a node kind the router does not know, e.g. a subquery)
    // is routed everywhere too, even with an indexable conjunct beside it.
    const subquery = { k: 'subquery', table: 'public.appointments' } as unknown as Expr;
    router.add('sub', { ...shape(undefined), where: { k: 'and', l: parseWhere('grp = 1'), r: subquery } });
    expect([...router.forTransaction(tx)].sort()).toEqual(['members', 'sub']);
  });

  it('lists, per shape, the changes of a transaction that can affect it (each shape converts only those)', () => {
    const router = clinic();
    const tx = {
      xid: 1,
      lsn: 1n,
      endLsn: 2n,
      truncated: [],
      changes: [
        insert(row({ owner: OWNER_A, grp: '7' })),
        insert(row({ owner: OWNER_B, grp: '0' })),
        { ...insert(row({})), table: 'appointments' },
        update(row({ owner: OWNER_B, grp: '0' }), row({ owner: OWNER_A, grp: '0' })),
      ],
    };
    const lists = router.forChanges(tx);
    expect(Object.fromEntries([...lists].sort(([a], [b]) => a.localeCompare(b)))).toEqual({
      bigGrp: [0, 1, 3],
      everything: [0, 1, 3],
      grp7: [0],
      members: null, // subquery shapes take every change
      ownerA: [0, 3],
      ownerB: [1, 3],
    });
    // The same shapes as forTransaction, each change listed once per shape.
    expect([...lists.keys()].sort()).toEqual([...router.forTransaction(tx)].sort());
    router.bypass = true;
    expect([...router.forChanges(tx).values()].every((l) => l === null)).toBe(true);
  });

  it('forgets removed shapes and keeps the others of the same value', () => {
    const router = clinic();
    router.add('ownerB2', shape(`owner IN ('${OWNER_B}', '${OWNER_A}')`));
    router.remove('ownerB');
    router.remove('everything');
    router.remove('everything'); // twice is harmless
    expect(reached(router, insert(row({ owner: OWNER_B, grp: '0' })))).toEqual(['bigGrp', 'ownerB2']);
    router.remove('ownerB2');
    expect(reached(router, insert(row({ owner: OWNER_B, grp: '0' })))).toEqual(['bigGrp']);
    for (const s of ['ownerA', 'grp7', 'grp12', 'bigGrp', 'members']) router.remove(s);
    // Not even the fallback to every shape of the table finds one.
    expect(reached(router, update(null, row({ owner: OWNER_A })))).toEqual([]);
  });

  it('re-adding a shape replaces its old route', () => {
    const router = new ChangeRouter<string>();
    router.add('s', shape(`grp = 1`));
    router.add('s', shape(`grp = 2`));
    expect(reached(router, insert(row({ grp: '1' })))).toEqual([]);
    expect(reached(router, insert(row({ grp: '2' })))).toEqual(['s']);
  });

  it('bypass sends every transaction to every shape', () => {
    const router = clinic();
    router.bypass = true;
    const tx = { xid: 1, lsn: 1n, endLsn: 2n, truncated: [], changes: [] };
    expect(router.forTransaction(tx).size).toBe(7);
  });

  it('never leaves out a shape whose where holds for the old or the new row (random rows)', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <X>(xs: X[]) => xs[Math.floor(rand() * xs.length)]!;
    const wheres = [
      `owner = '${OWNER_A}'`,
      `owner = '${OWNER_B.toUpperCase()}'`,
      `owner IN ('${OWNER_A}', '${OWNER_B}') AND grp > 1`,
      `grp = '007'`,
      `grp = 7.0`,
      `grp IN (0, 1) AND tag = 'x'`,
      `flag = 'yes'`,
      `flag = false AND tag LIKE 'y%'`,
      `day = '2030-01-02'`,
      `tag = 'y'`,
      `grp < 3 OR flag`,
    ];
    const router = new ChangeRouter<number>();
    const shapes = wheres.map((w) => shape(w));
    shapes.forEach((s, i) => router.add(i, s));
    const randomRow = (): Row => ({
      id: String(Math.floor(rand() * 5)),
      owner: pick([OWNER_A, OWNER_B, null]),
      grp: pick(['0', '1', '7', '07', '2', null]),
      flag: pick(['t', 'f', null]),
      tag: pick(['x', 'y', 'yz', null]),
      day: pick(['2030-01-02', '2030-01-03', null]),
    });
    let skipped = 0;
    for (let i = 0; i < 2000; i++) {
      const kind = pick(['insert', 'update', 'delete'] as const);
      const change =
        kind === 'insert'
          ? insert(randomRow())
          : kind === 'delete'
            ? del(randomRow())
            : update(randomRow(), randomRow());
      const out = new Set<number>();
      router.addForChange(change, out);
      shapes.forEach((s, n) => {
        const ctx = { types: INFO.types, params: {} };
        const holds = [change.old, change.new].some((r) => !!r && matches(s.where, r, ctx));
        if (holds && !out.has(n)) expect.fail(`${wheres[n]} left out for ${JSON.stringify(change)}`);
        if (!out.has(n)) skipped++;
      });
    }
    // The index does skip work: most changes miss most indexed shapes.
    expect(skipped).toBeGreaterThan(2000 * 4);
  });
});
