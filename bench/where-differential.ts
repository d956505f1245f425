// npm run bench:where-diff -- --cases N --seed S [--rows R]
// The long form of tests/server/sync-where-differential.test.ts: generated where clauses over
// generated rows, decided by the sync engine's JavaScript evaluator and by PostgreSQL running
// the SQL the engine emits; counts agreements, refusals and any disagreement. Uses
// DATABASE_URL when set, else an embedded PostgreSQL in a temporary directory (a scratch
// database either way). Prints the figures and writes them, with the machine, to
// bench/results/where-diff-<time>.json.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../server/db/embedded.js';
import { differential } from '../tests/setup/where-differential.js';
import { machineAtEnd, machineAtStart } from './machine.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    rows: { type: 'string', default: '200' },
  },
});
const cases = Number(args.cases);
const seed = Number(args.seed);
const rows = Number(args.rows);
if (![cases, seed, rows].every(Number.isSafeInteger) || cases < 1 || rows < 1) {
  console.error('usage: npm run bench:where-diff -- --cases N --seed S [--rows R]');
  process.exit(2);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const machine = machineAtStart();
let stop = async () => {};
let adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'where-diff-pg-'));
  await chmod(dataDir, 0o755);
  const db = await startEmbeddedPostgres({ dataDir, port: await freePort(), extraFlags: ['-c', 'fsync=off'] });
  adminUrl = db.adminUrl;
  stop = async () => {
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
}
const dbName = `where_diff_${process.pid}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const client = new pg.Client({ connectionString: url.toString() });
await client.connect();
let exitCode = 0;
try {
  const started = performance.now();
  const r = await differential(client, { seed, rows, cases });
  const seconds = (performance.now() - started) / 1000;
  const report = {
    date: new Date().toISOString(),
    seed,
    rows,
    clauses: r.clauses,
    accepted_clauses: r.accepted,
    refused_clauses: r.refused,
    cases: r.cases,
    subquery_cases: r.subqueryCases,
    disagreements: r.disagreements.length,
    postgres_errors: r.postgresErrors.length,
    first_disagreements: r.disagreements.slice(0, 20),
    first_postgres_errors: r.postgresErrors.slice(0, 20),
    refusal_reasons: Object.fromEntries(Object.entries(r.refusalReasons).sort((a, b) => b[1] - a[1])),
    seconds: Math.round(seconds * 10) / 10,
    cases_per_second: Math.round(r.cases / seconds),
    ms: Object.fromEntries(Object.entries(r.ms).map(([k, v]) => [k, Math.round(v)])),
    machine: machineAtEnd(machine),
  };
  console.log(JSON.stringify(report, null, 2));
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  const file = path.join(ROOT, 'bench/results', `where-diff-${report.date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`written to ${path.relative(ROOT, file)}`);
  if (r.disagreements.length || r.postgresErrors.length) exitCode = 1;
} finally {
  await client.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  await stop();
}
process.exit(exitCode);
