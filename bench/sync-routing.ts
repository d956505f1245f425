// npm run bench:sync-routing — what the change routing index (server/sync/change-routing.ts) saves in the
// sync service's per-change loop: 100 clinicians' `doctor_id = …` appointment shapes plus the
// receptionist's and the admin's, and a stream of single-change transactions (bookings, status
// changes, moves between doctors). The loop of SyncService.storeBatch runs twice over the same
// batches: converting every transaction for every shape of its table (before), and only for
// the shapes the router names (after). CPU only: no PostgreSQL, nothing stored, so the figure
// is the conversion step alone. Both runs must produce the same log entries (the script fails
// otherwise). Writes the figures, with the machine, to bench/results/sync-routing-<date>.json.
//   --changes N (20,000), --rounds N (5), --doctors N (100);
//   --smoke: tiny sizes, one round, nothing written (CI proves the script still runs).
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { convertTransaction, type FetchRows } from '../server/sync/convert.js';
import type { ReplicatedTransaction, Row } from '../server/sync/replication.js';
import { newShapeState, type ShapeState } from '../server/sync/shape-registry.js';
import { ChangeRouter } from '../server/sync/change-routing.js';
import type { CompiledShape } from '../server/sync/shape-def.js';
import type { TableInfo } from '../server/sync/table-info.js';
import { parseWhere } from '../server/sync/where-parser.js';
import { machineAtEnd, machineAtStart } from './machine.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    changes: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    doctors: { type: 'string', default: '100' },
  },
});
const SMOKE = args.smoke;
const DOCTORS = SMOKE ? 10 : Number(args.doctors);
const CHANGES = SMOKE ? 500 : Number(args.changes);
const ROUNDS = SMOKE ? 1 : Number(args.rounds);
const BATCH = 500; // SyncService's BATCH_TXS

const COLUMNS: Array<[string, string]> = [
  ['id', 'uuid'],
  ['patient_id', 'uuid'],
  ['doctor_id', 'uuid'],
  ['starts_at', 'timestamptz'],
  ['status', 'text'],
  ['reason', 'text'],
  ['deleted_at', 'timestamptz'],
];
const INFO: TableInfo = {
  schema: 'public',
  name: 'appointments',
  oid: 1,
  columns: COLUMNS.map(([name, type]) => ({ name, type, dims: 0, notNull: false, pkIndex: name === 'id' ? 0 : null })),
  keyColumns: ['id'],
  types: new Map(COLUMNS),
};
const WINDOW = `deleted_at IS NULL AND starts_at >= '2026-10-05 00:00:00+00'`;

function compiled(where: string): CompiledShape {
  return {
    schema: 'public',
    table: 'appointments',
    where: parseWhere(where),
    whereText: where,
    params: {},
    columns: COLUMNS.map(([c]) => c),
    replica: 'default',
    scope: 'bench',
    info: INFO,
    subqueries: [],
  };
}

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Single-change transactions as the API writes them: bookings, status changes, doctor moves. */
function transactions(doctors: string[]): ReplicatedTransaction[] {
  const rand = rng(1);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  const rows: Row[] = [];
  const txs: ReplicatedTransaction[] = [];
  for (let i = 0; i < CHANGES; i++) {
    const kind = rows.length < 50 ? 'insert' : pick(['insert', 'status', 'status', 'move']);
    let change: ReplicatedTransaction['changes'][number];
    if (kind === 'insert') {
      const row: Row = {
        id: randomUUID(),
        patient_id: randomUUID(),
        doctor_id: pick(doctors),
        starts_at: new Date(Date.UTC(2026, 10, 1) + i * 600_000).toISOString().replace('T', ' ').replace('Z', '+00'),
        status: 'scheduled',
        reason: 'checkup',
        deleted_at: null,
      };
      rows.push(row);
      change = { kind: 'insert', schema: 'public', table: 'appointments', old: null, new: row };
    } else {
      const at = Math.floor(rand() * rows.length);
      const old = rows[at]!;
      const row =
        kind === 'status'
          ? { ...old, status: pick(['confirmed', 'checked_in', 'completed']) }
          : { ...old, doctor_id: pick(doctors) };
      rows[at] = row;
      change = { kind: 'update', schema: 'public', table: 'appointments', old, new: row };
    }
    txs.push({ xid: 1000 + i, lsn: BigInt(1000 + i), endLsn: BigInt(1001 + i), changes: [change], truncated: [] });
  }
  return txs;
}

const noFetch: FetchRows = () => Promise.reject(new Error('no membership shapes here'));

/** SyncService.storeBatch's conversion loop; returns conversions made and entries produced. */
async function convertAll(states: ShapeState[], router: ChangeRouter<ShapeState>, txs: ReplicatedTransaction[]) {
  let conversions = 0;
  let entries = 0;
  const bodies: string[] = [];
  for (let start = 0; start < txs.length; start += BATCH) {
    const batch = txs.slice(start, start + BATCH);
    const reached = new Map(batch.map((tx) => [tx, router.forTransaction(tx)]));
    for (const s of states) {
      for (const tx of batch) {
        if (!reached.get(tx)!.has(s)) continue;
        conversions++;
        const result = await convertTransaction(s.runtime, tx, noFetch);
        entries += result.entries.length;
        for (const e of result.entries) bodies.push(`${s.id}:${e.body}`);
      }
    }
  }
  return { conversions, entries, bodies };
}

async function main() {
  const start = machineAtStart();
  const doctors = Array.from({ length: DOCTORS }, () => randomUUID());
  const wheres = [...doctors.map((d) => `${WINDOW} AND doctor_id = '${d}'`), WINDOW, WINDOW];
  const states = wheres.map((w, i) => newShapeState(i + 1, `h${i}`, w, compiled(w)));
  const routed = new ChangeRouter<ShapeState>();
  const unrouted = new ChangeRouter<ShapeState>();
  unrouted.bypass = true;
  for (const s of states) {
    routed.add(s, s.runtime.shape);
    unrouted.add(s, s.runtime.shape);
  }
  const txs = transactions(doctors);

  const runs: Record<'before' | 'after', number[]> = { before: [], after: [] };
  let figures: Record<'before' | 'after', { conversions: number; entries: number }> | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    const before = await convertAll(states, unrouted, txs);
    const t1 = performance.now();
    const after = await convertAll(states, routed, txs);
    const t2 = performance.now();
    runs.before.push(t1 - t0);
    runs.after.push(t2 - t1);
    if (before.bodies.join('\n') !== after.bodies.join('\n'))
      throw new Error('the routed conversion produced different log entries');
    figures = { before, after };
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const round2 = (n: number) => Math.round(n * 100) / 100;
  const summary = (k: 'before' | 'after') => ({
    conversions_per_change: round2(figures![k].conversions / CHANGES),
    log_entries: figures![k].entries,
    median_ms: round2(median(runs[k])),
    changes_per_second: Math.round(CHANGES / (median(runs[k]) / 1000)),
  });
  const results = {
    shapes: states.length,
    changes: CHANGES,
    rounds: ROUNDS,
    before_every_shape: summary('before'),
    after_routed: summary('after'),
    speedup: round2(median(runs.before) / median(runs.after)),
    note: 'conversion step only (SyncService.storeBatch loop), no PostgreSQL; same entries both ways',
  };
  const out = { date: new Date().toISOString(), machine: machineAtEnd(start), results };
  console.log(JSON.stringify(out, null, 2));
  if (SMOKE) return console.log('smoke run: nothing written');
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(
    path.join(ROOT, `bench/results/sync-routing-${out.date.replace(/[:.]/g, '-')}.json`),
    JSON.stringify(out, null, 2),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
