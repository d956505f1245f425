// Differential check of the sync engine's where clauses: generated clauses over generated rows,
// each decided by the engine's JavaScript evaluator (the live-change path: parse, bind, check,
// evaluate PostgreSQL's text output of the row) and by PostgreSQL running the SQL the engine
// emits for snapshots against a real table holding the rows. Shared by
// tests/server/sync-where-differential.test.ts and bench/where-differential.ts.
import fc from 'fast-check';
import pg from 'pg';
import { DISPLAY_SETTINGS } from '../../server/sync/replication.js';
import { clientWhere, ShapeRequestError } from '../../server/sync/shape-request.js';
import { loadTableInfo, type TableInfo } from '../../server/sync/table-info.js';
import { convertTransaction, type ShapeRuntime } from '../../server/sync/convert.js';
import type { ReplicatedTransaction } from '../../server/sync/replication.js';
import { matches, toSql, whereColumns } from '../../server/sync/where-eval.js';
import type { Expr } from '../../server/sync/where-parser.js';
import { applyInnerChange, compileShape, type Members } from '../../server/sync/subqueries.js';
import type { WhereColumns } from '../../server/sync/where-types.js';

export const TABLE = 'where_diff';

const COLUMNS: Array<[string, string]> = [
  ['i2', 'int2'],
  ['i4', 'int4'],
  ['i8', 'int8'],
  ['nu', 'numeric'],
  ['f8', 'float8'],
  ['tx', 'text'],
  ['b', 'bool'],
  ['ts', 'timestamptz'],
  ['d', 'date'],
  ['u', 'uuid'],
  ['ai', 'int4[]'],
  ['at', 'text[]'],
];

// Value pools shared by rows and literals, so equalities and edge cases actually meet.
const INTS = ['0', '1', '-1', '2', '7', '42', '-32768', '32767', '2147483647', '-2147483648'];
const BIGS = [
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '9223372036854775807',
  '-9223372036854775808',
];
const DECIMALS = [
  '0.1',
  '1.50',
  '1.5',
  '-0.000',
  '2.25',
  '0.30000000000000004',
  '123456789012345678901234567890.5',
  '1e20',
];
const FLOATS = ['0.1', '-0', '1e308', '5e-324', '0.30000000000000004', '1.5', '2.5e-10', '9007199254740993'];
const SPECIALS = ['NaN', 'Infinity', '-Infinity'];
const TEXTS = [
  '',
  ' ',
  'a',
  'A',
  'abc',
  'ABC',
  'b',
  'straße',
  'STRASSE',
  'Straße',
  'ß',
  'ẞ',
  'é',
  'e\u0301',
  'É',
  '😀',
  '😀a',
  '\ufffd',
  '\ue000',
  'Σσς',
  'ΣΑΣ',
  'İı',
  'ǅ',
  'ᾳ',
  'ᾼ',
  '\u212a',
  'ﬀ',
  'a%b',
  'a_b',
  'a\\b',
  "it's",
  'Ölçü',
  'Ωmega',
  'z',
  'Z',
  '1',
  '10',
  '9',
];
const PATTERNS = [
  '%',
  '_',
  'a%',
  '%b',
  'A%',
  '%ß%',
  '%SS%',
  '_%_',
  'a\\%b',
  'a\\_b',
  'a\\\\b',
  '%😀%',
  '_😀',
  'É%',
  'é%',
  '%\\',
  '\\',
];
const TIMES = [
  '2026-01-01 00:00:00+00',
  '2026-01-01 01:00:00+01',
  '2026-06-30 23:59:59.999999+00',
  '2025-12-31 23:00:00+00',
  '1999-12-31 12:34:56.5+00',
  '0044-03-15 12:00:00+00 BC',
  'infinity',
  '-infinity',
];
const TIME_LITERALS = [
  '2026-01-01',
  '2026-01-01 00:00:00Z',
  '2026-01-01T01:00:00+01:00',
  '2026-01-01 00:00:00.000001',
  '2025-12-31',
  'infinity',
  '-infinity',
  'Jan 1 2026',
  '2026-02-30',
];
const DATES = ['2026-01-01', '2025-12-31', '2026-06-30', '1999-12-31', '0044-03-15 BC', 'infinity', '-infinity'];
const UUIDS = [
  '00000000-0000-0000-0000-000000000000',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
];
const INT_ARRAYS = ['{1,2,3}', '{}', '{NULL,1}', '[0:1]={1,2}', '{7}'];
const TEXT_ARRAYS = ['{"a b",c}', '{ß,😀}', '{}', '{NULL}', '{a}'];

const oneOf = <T>(xs: readonly T[]) => fc.constantFrom(...xs);
const orNull = (a: fc.Arbitrary<string>) => fc.option(a, { freq: 6, nil: null });

export type DiffRow = Record<string, string | null>;

/** Rows as inserted (text, cast by PostgreSQL). */
export function rowArbitrary(): fc.Arbitrary<DiffRow> {
  const ints = fc.oneof(oneOf(INTS), fc.integer({ min: -50, max: 50 }).map(String));
  return fc.record({
    i2: orNull(
      fc.oneof(oneOf(INTS.filter((v) => Math.abs(+v) <= 32767)), fc.integer({ min: -32768, max: 32767 }).map(String)),
    ),
    i4: orNull(fc.oneof(ints, fc.integer().map(String))),
    i8: orNull(fc.oneof(ints, oneOf(BIGS), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String))),
    nu: orNull(fc.oneof(ints, oneOf(BIGS), oneOf(DECIMALS), oneOf(SPECIALS))),
    f8: orNull(fc.oneof(ints, oneOf(FLOATS), oneOf(SPECIALS), fc.double({ noNaN: true }).map(String))),
    tx: orNull(
      fc.oneof(
        oneOf(TEXTS),
        fc.tuple(oneOf(TEXTS), oneOf(TEXTS)).map(([a, b]) => a + b),
      ),
    ),
    b: orNull(oneOf(['t', 'f'])),
    ts: orNull(oneOf(TIMES)),
    d: orNull(oneOf(DATES)),
    u: orNull(oneOf(UUIDS)),
    ai: orNull(oneOf(INT_ARRAYS)),
    at: orNull(oneOf(TEXT_ARRAYS)),
  });
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Where clauses over the table's columns: mostly well typed, some not (they must be refused). */
export function clauseArbitrary(): fc.Arbitrary<string> {
  const lit = (xs: readonly string[]) => oneOf(xs).map(quote);
  const intLit = fc.oneof(
    oneOf([...INTS, ...BIGS]).map((v) => (v.startsWith('-') ? `(${v})` : v)),
    fc.nat(100).map(String),
  );
  const numLit = fc.oneof(intLit, oneOf(['0.1', '1.50', '2.5', '0.30000000000000004', '9007199254740993.0']));
  const { num } = fc.letrec<{ num: string }>((tie) => ({
    num: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      oneOf(['i2', 'i4', 'i8', 'nu']),
      numLit,
      lit([...INTS, ...DECIMALS, ...SPECIALS]),
      fc.tuple(tie('num'), oneOf(['+', '-', '*']), tie('num')).map(([a, op, b]) => `(${a} ${op} ${b})`),
      fc.tuple(tie('num'), oneOf(['numeric', 'int8', 'int4', 'int2', 'text'])).map(([a, t]) => `${a}::${t}`),
      fc.tuple(tie('num'), numLit).map(([a, b]) => `coalesce(${a}, ${b})`),
      fc.tuple(tie('num'), numLit).map(([a, b]) => `(${a} / ${b})`),
    ),
  }));
  const float = fc.oneof(
    fc.constant('f8'),
    oneOf(['i4', 'i8']).map((c) => `${c}::float8`),
    lit([...FLOATS, ...SPECIALS]).map((l) => `${l}::float8`),
    fc.constant('coalesce(f8, 0.5)'),
    fc.constant('(f8 + 1)'),
  );
  const { text } = fc.letrec<{ text: string }>((tie) => ({
    text: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant('tx'),
      lit(TEXTS),
      fc.tuple(oneOf(['lower', 'upper']), tie('text')).map(([f, a]) => `${f}(${a})`),
      fc.tuple(tie('text'), tie('text')).map(([a, b]) => `${a} || ${b}`),
      fc.tuple(tie('text'), lit(TEXTS)).map(([a, b]) => `coalesce(${a}, ${b})`),
      oneOf(['u', 'i4', 'i8', 'nu', 'b', 'ai', 'at', 'd', 'f8']).map((c) => `${c}::text`),
      // Printed results of arithmetic: the scale of every step shows.
      num.map((a) => `(${a})::text`),
    ),
  }));
  const time = fc.oneof(
    oneOf(['ts', 'd']),
    lit(TIME_LITERALS),
    fc.tuple(lit(TIME_LITERALS), oneOf(['timestamptz', 'date'])).map(([l, t]) => `${l}::${t}`),
    fc.constant('d::timestamptz'),
  );
  const uuid = fc.oneof(
    fc.constant('u'),
    lit([
      ...UUIDS,
      'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      'a0eebc999c0b4ef8bb6d6bb9bd380a11',
      '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
      'not-a-uuid',
    ]),
  );
  const boolish = fc.oneof(
    fc.constant('b'),
    lit(['t', 'false', 'yes', 'off', 'maybe']),
    oneOf(['TRUE', 'FALSE', 'NULL']),
  );
  const op = oneOf(['=', '<>', '<', '<=', '>', '>=']);
  const sorts = [num, float, text, time, uuid, boolish];
  const anySort = fc.oneof(...sorts, oneOf(['ai', 'at', 'NULL']));
  const compare = fc.oneof(
    ...sorts.map((s) => fc.tuple(s, op, s).map(([a, o, b]) => `${a} ${o} ${b}`)),
    fc.tuple(num, op, float).map(([a, o, b]) => `${a} ${o} ${b}`),
    fc.tuple(time, op, time).map(([a, o, b]) => `${a} ${o} ${b}`),
    // Deliberately mixed sorts: these must be refused, not guessed.
    fc.tuple(anySort, op, anySort).map(([a, o, b]) => `${a} ${o} ${b}`),
  );
  const predicate = fc.oneof(
    compare,
    compare,
    compare,
    fc.tuple(anySort, fc.boolean()).map(([a, n]) => `${a} IS ${n ? 'NOT ' : ''}NULL`),
    fc
      .tuple(fc.constantFrom(...sorts), fc.boolean(), fc.integer({ min: 1, max: 3 }))
      .chain(([s, neg, n]) =>
        fc
          .tuple(s, fc.array(s, { minLength: n, maxLength: n }))
          .map(([a, xs]) => `${a} ${neg ? 'NOT ' : ''}IN (${xs.join(', ')})`),
      ),
    fc
      .constantFrom(...sorts)
      .chain((s) => fc.tuple(s, fc.boolean(), s, s))
      .map(([a, neg, lo, hi]) => `${a} ${neg ? 'NOT ' : ''}BETWEEN ${lo} AND ${hi}`),
    fc
      .tuple(text, fc.boolean(), oneOf(['LIKE', 'ILIKE']), lit([...PATTERNS, ...TEXTS]))
      .map(([a, neg, o, p]) => `${a} ${neg ? 'NOT ' : ''}${o} ${p}`),
    fc.tuple(boolish, oneOf(['IS TRUE', 'IS NOT TRUE', 'IS FALSE', 'IS NOT FALSE'])).map(([a, t]) => `${a} ${t}`),
    boolish,
  );
  const { cond } = fc.letrec<{ cond: string }>((tie) => ({
    cond: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      predicate,
      fc.tuple(tie('cond'), oneOf(['AND', 'OR']), tie('cond')).map(([a, o, b]) => `(${a}) ${o} (${b})`),
      tie('cond').map((a) => `NOT (${a})`),
      // Top-level `column = 'literal'` conjuncts take a fast path in live conversion.
      fc
        .tuple(
          fc.oneof(
            lit(TEXTS).map((l) => `tx = ${l}`),
            uuid.map((l) => `u = ${l}`),
          ),
          tie('cond'),
        )
        .map(([a, b]) => `${a} AND (${b})`),
    ),
  }));
  return cond;
}

export interface DiffFigures {
  clauses: number;
  refused: number;
  accepted: number;
  cases: number;
  /** Of the cases, those of `id IN (SELECT i4 FROM where_diff WHERE <accepted clause>)`. */
  subqueryCases: number;
  disagreements: Array<{ where: string; row: DiffRow; engine: boolean; postgres: boolean | string }>;
  /** Accepted by the engine but failed in PostgreSQL (the snapshot would fail). */
  postgresErrors: Array<{ where: string; error: string }>;
  refusalReasons: Record<string, number>;
  ms: { generate: number; engine: number; postgres: number };
}

async function withDisplaySettings(client: pg.ClientBase) {
  for (const [name, value] of Object.entries(DISPLAY_SETTINGS))
    await client.query('SELECT set_config($1, $2, false)', [name, value]);
}

/** Creates the table and inserts the rows; returns the rows as PostgreSQL prints them. */
export async function loadRows(
  client: pg.ClientBase,
  rows: DiffRow[],
): Promise<{ info: TableInfo; printed: DiffRow[] }> {
  await withDisplaySettings(client);
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, ${COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
  const values = COLUMNS.map(([c]) => rows.map((r) => r[c] ?? null));
  const names = COLUMNS.map(([c]) => c).join(', ');
  const casts = COLUMNS.map(([c, t]) => `${c}::${t}`).join(', ');
  const arrays = COLUMNS.map((_, i) => `$${i + 2}::text[]`).join(', ');
  await client.query(`INSERT INTO ${TABLE} SELECT id, ${casts} FROM unnest($1::int[], ${arrays}) AS x(id, ${names})`, [
    rows.map((_, i) => i),
    ...values,
  ]);
  // Raw text output (as pgoutput sends it), not pg's parsed values.
  const raw = await client.query({
    text: `SELECT * FROM ${TABLE} ORDER BY id`,
    types: { getTypeParser: () => (v: string) => v },
  });
  const info = (await loadTableInfo(client, 'public', TABLE))!;
  return { info, printed: raw.rows as DiffRow[] };
}

/**
 * The live-change path: each row arrives as an inserted row of one replicated transaction and
 * the shape's conversion decides which become insert messages (fast paths included).
 */
async function liveDecisions(info: TableInfo, where: Expr | undefined, printed: DiffRow[]): Promise<boolean[]> {
  const rt: ShapeRuntime = {
    shape: {
      schema: 'public',
      table: TABLE,
      where,
      whereText: '',
      params: {},
      columns: ['id'],
      replica: 'default',
      scope: 'test',
      info,
      subqueries: [],
    },
    members: [],
    moveInFilters: new Map(),
  };
  const tx: ReplicatedTransaction = {
    xid: 1,
    lsn: 1n,
    endLsn: 1n,
    truncated: [],
    changes: printed.map((row) => ({ kind: 'insert', schema: 'public', table: TABLE, old: null, new: row })),
  };
  const { entries } = await convertTransaction(rt, tx, () => Promise.reject(new Error('no move-ins here')));
  const inShape = new Set(entries.map((e) => (JSON.parse(e.body) as { value: { id: string } }).value.id));
  return printed.map((row) => inShape.has(row.id!));
}

/**
 * A subquery on the table itself, `id IN (SELECT i4 FROM where_diff WHERE <clause>)`: the
 * engine keeps the inner rows' counts (the live path for inner changes: every row arrives as
 * an insert) and evaluates the outer clause against them; PostgreSQL runs the snapshot SQL.
 */
async function subqueryDecisions(
  info: TableInfo,
  inner: string,
  printed: DiffRow[],
): Promise<{ where: string; tree: Expr; cols: WhereColumns; engine: boolean[] }> {
  const where = `id IN (SELECT i4 FROM public.${TABLE} WHERE ${inner})`;
  const allowed = info.columns.map((c) => c.name);
  const tree = clientWhere(info, allowed, where, {}, true)!;
  const def = { schema: 'public', table: TABLE, where: tree, whereText: where, params: {} };
  const shape = await compileShape(
    { ...def, columns: ['id'], replica: 'default', scope: 'test' },
    info,
    async () => info,
  );
  const sq = shape.subqueries[0]!;
  const members: Members = new Map();
  for (const row of printed)
    applyInnerChange(sq, members, { kind: 'insert', schema: 'public', table: TABLE, old: null, new: row }, new Map());
  const cols = whereColumns(info, shape.subqueries);
  const ctx = { ...cols, params: {}, inSubquery: (_: unknown, v: string) => (members.get(v) ?? 0) > 0 };
  return { where, tree: shape.where!, cols, engine: printed.map((row) => matches(shape.where, row, ctx)) };
}

/** Runs every clause on every row both ways; `batch` clauses share one SQL statement. */
export async function runDifferential(
  client: pg.ClientBase,
  info: TableInfo,
  printed: DiffRow[],
  clauses: string[],
  batch = 150,
): Promise<Omit<DiffFigures, 'ms' | 'clauses'> & { ms: { engine: number; postgres: number } }> {
  const allowed = info.columns.map((c) => c.name);
  const cols = whereColumns(info);
  const accepted: Array<{ where: string; tree: Expr; cols: WhereColumns; engine: boolean[] }> = [];
  const refusalReasons: Record<string, number> = {};
  let refused = 0;
  let engineMs = 0;
  let postgresMs = 0;
  const t0 = performance.now();
  for (const where of clauses) {
    let tree: Expr | undefined;
    try {
      tree = clientWhere(info, allowed, where, {});
    } catch (err) {
      if (!(err instanceof ShapeRequestError) || err.status !== 400) throw err;
      refused++;
      const reason = err.message.replace(/"[^"]*"/g, '…').replace(/At location \d+/, 'At location n');
      refusalReasons[reason] = (refusalReasons[reason] ?? 0) + 1;
      continue;
    }
    accepted.push({ where, tree: tree!, cols, engine: await liveDecisions(info, tree, printed) });
  }
  // Every fourth accepted clause again as a subquery's where.
  const plain = accepted.length;
  for (let i = 0; i < plain; i += 4) accepted.push(await subqueryDecisions(info, accepted[i]!.where, printed));
  engineMs += performance.now() - t0;

  const disagreements: DiffFigures['disagreements'] = [];
  const postgresErrors: DiffFigures['postgresErrors'] = [];
  const compare = (c: (typeof accepted)[number], results: boolean[]) => {
    results.forEach((pgResult, i) => {
      if (pgResult !== c.engine[i])
        disagreements.push({ where: c.where, row: printed[i]!, engine: c.engine[i]!, postgres: pgResult });
    });
  };
  const evaluate = async (group: typeof accepted): Promise<boolean[][]> => {
    const values: string[] = [];
    const bind = (v: string) => (values.push(v), `$${values.length}`);
    const exprs = group.map((c, i) => `coalesce(${toSql(c.tree, {}, bind, c.cols)}, false) AS c${i}`);
    const { rows } = await client.query<Record<string, boolean>>(
      `SELECT ${exprs.join(', ')} FROM ${TABLE} ORDER BY id`,
      values,
    );
    return group.map((_, i) => rows.map((r) => r[`c${i}`]!));
  };
  const t1 = performance.now();
  for (let i = 0; i < accepted.length; i += batch) {
    const group = accepted.slice(i, i + batch);
    try {
      (await evaluate(group)).forEach((res, j) => compare(group[j]!, res));
    } catch {
      // One clause failed in PostgreSQL: find it (each one alone).
      for (const c of group) {
        try {
          compare(c, (await evaluate([c]))[0]!);
        } catch (err) {
          postgresErrors.push({ where: c.where, error: (err as Error).message });
        }
      }
    }
  }
  postgresMs += performance.now() - t1;
  return {
    refused,
    accepted: accepted.length,
    cases: accepted.length * printed.length,
    subqueryCases: (accepted.length - plain) * printed.length,
    disagreements,
    postgresErrors,
    refusalReasons,
    ms: { engine: engineMs, postgres: postgresMs },
  };
}

/** Generates `rows` rows and enough clauses for at least `cases` accepted (clause,row) cases. */
export async function differential(
  client: pg.ClientBase,
  opts: { seed: number; rows: number; cases: number; batch?: number },
): Promise<DiffFigures> {
  const tg = performance.now();
  const rows = fc.sample(rowArbitrary(), { seed: opts.seed, numRuns: opts.rows });
  const { info, printed } = await loadRows(client, rows);
  const generate = performance.now() - tg;
  const total: DiffFigures = {
    clauses: 0,
    refused: 0,
    accepted: 0,
    cases: 0,
    subqueryCases: 0,
    disagreements: [],
    postgresErrors: [],
    refusalReasons: {},
    ms: { generate, engine: 0, postgres: 0 },
  };
  const perRound = Math.max(50, Math.ceil(opts.cases / opts.rows / 2));
  for (let round = 0; total.cases < opts.cases; round++) {
    const tc = performance.now();
    const clauses = fc.sample(clauseArbitrary(), { seed: opts.seed + 7919 * (round + 1), numRuns: perRound });
    total.ms.generate += performance.now() - tc;
    const r = await runDifferential(client, info, printed, clauses, opts.batch);
    total.clauses += clauses.length;
    total.refused += r.refused;
    total.accepted += r.accepted;
    total.cases += r.cases;
    total.subqueryCases += r.subqueryCases;
    total.disagreements.push(...r.disagreements);
    total.postgresErrors.push(...r.postgresErrors);
    for (const [k, v] of Object.entries(r.refusalReasons)) total.refusalReasons[k] = (total.refusalReasons[k] ?? 0) + v;
    total.ms.engine += r.ms.engine;
    total.ms.postgres += r.ms.postgres;
  }
  return total;
}
