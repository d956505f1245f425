// The physical floor of a booking: the database work of one (lock the doctor row, check the
// doctor's overlaps, lock the patient row, check the patient's overlaps, insert) with no HTTP,
// no validation, no audit and no idempotency row, at the same concurrency, against the same
// PostgreSQL as the API benchmark. bench/booking.ts reports the API's figures as ratios to it.
//
// pgbench (Debian's postgresql-client, any version: it only speaks the wire protocol) runs it
// when present; otherwise the same transaction runs in a loop of `pg` clients.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface FloorFigures {
  tool: 'pgbench' | 'pg-loop';
  clients: number;
  seconds: number;
  transactions: number;
  perSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

const ACTIVE = `status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress')`;
// Far from every other scenario's slots; 15-minute slots drawn from ~2,800 years: no clashes.
const START = `'2040-01-01T00:00:00Z'::timestamptz + make_interval(mins => 15 * :slot::int)`;

/** The transaction, in pgbench's script language (variables bound as parameters with -M prepared). */
function pgbenchScript(doctors: number, patients: number, createdBy: string): string {
  return `\\set d random(0, ${doctors - 1})
\\set p random(0, ${patients - 1})
\\set slot random(0, 100000000)
BEGIN;
SELECT d.id AS doc FROM doctors d JOIN bench_floor_doctors b ON b.id = d.id WHERE b.n = :d AND d.active FOR UPDATE OF d \\gset
SELECT id FROM appointments WHERE doctor_id = :doc AND deleted_at IS NULL AND ${ACTIVE} AND starts_at < ${START} + interval '15 minutes' AND ends_at > ${START} AND starts_at > ${START} - interval '480 minutes';
SELECT p.id AS pat FROM patients p JOIN bench_floor_patients b ON b.id = p.id WHERE b.n = :p AND p.deleted_at IS NULL FOR UPDATE OF p \\gset
SELECT id FROM appointments WHERE patient_id = :pat AND deleted_at IS NULL AND ${ACTIVE} AND starts_at < ${START} + interval '15 minutes' AND ends_at > ${START} AND starts_at > ${START} - interval '480 minutes';
INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, urgency, reason, created_by) VALUES (gen_random_uuid(), :pat, :doc, ${START}, ${START} + interval '15 minutes', 15, 'routine', NULL, '${createdBy}');
COMMIT;
`;
}

export function findPgbench(): string | undefined {
  const candidates = [
    ...(process.env.PATH ?? '').split(':').map((d) => path.join(d, 'pgbench')),
    ...['18', '17', '16', '15'].map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`),
  ];
  return candidates.find((c) => existsSync(c));
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
const round = (n: number) => Math.round(n * 100) / 100;

function figures(tool: FloorFigures['tool'], clients: number, seconds: number, latencies: number[]): FloorFigures {
  latencies.sort((a, b) => a - b);
  return {
    tool,
    clients,
    seconds: round(seconds),
    transactions: latencies.length,
    perSecond: Math.round(latencies.length / seconds),
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? NaN),
    },
  };
}

/** Lookup tables so the script can draw a random doctor and patient by number. */
async function prepare(db: pg.Client): Promise<{ doctors: number; patients: number; createdBy: string }> {
  await db.query('DROP TABLE IF EXISTS bench_floor_doctors, bench_floor_patients');
  await db.query(
    `CREATE TABLE bench_floor_doctors AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM doctors WHERE active`,
  );
  await db.query(
    `CREATE TABLE bench_floor_patients AS SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM patients WHERE deleted_at IS NULL`,
  );
  await db.query('ALTER TABLE bench_floor_doctors ADD PRIMARY KEY (n)');
  await db.query('ALTER TABLE bench_floor_patients ADD PRIMARY KEY (n)');
  await db.query('ANALYZE bench_floor_doctors, bench_floor_patients');
  const count = async (t: string) => Number((await db.query(`SELECT count(*) FROM ${t}`)).rows[0].count);
  const user = await db.query<{ id: string }>('SELECT id FROM users ORDER BY created_at LIMIT 1');
  return {
    doctors: await count('bench_floor_doctors'),
    patients: await count('bench_floor_patients'),
    createdBy: user.rows[0]!.id,
  };
}

async function cleanUp(db: pg.Client): Promise<void> {
  // Only the floor books from 2040 on (bench/booking.ts books in 2031–2035).
  await db.query(`DELETE FROM appointments WHERE starts_at >= '2040-01-01T00:00:00Z'`);
  await db.query('DROP TABLE IF EXISTS bench_floor_doctors, bench_floor_patients');
}

/** Either a duration or a number of transactions per client (the smoke run: done whatever the load). */
export type FloorLength = { seconds: number } | { transactionsPerClient: number };

async function viaPgbench(bin: string, url: string, clients: number, length: FloorLength, script: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'booking-floor-'));
  try {
    await writeFile(path.join(dir, 'booking.sql'), script);
    const u = new URL(url);
    const started = performance.now();
    await run(
      bin,
      [
        '-n', // no vacuum of pgbench's own tables: there are none
        '-M',
        'prepared',
        '-c',
        String(clients),
        '-j',
        String(Math.max(1, os.cpus().length)),
        ...('seconds' in length ? ['-T', String(length.seconds)] : ['-t', String(length.transactionsPerClient)]),
        '-l',
        '--log-prefix',
        path.join(dir, 'txn'),
        '-f',
        path.join(dir, 'booking.sql'),
        '-h',
        u.hostname,
        '-p',
        u.port,
        '-U',
        decodeURIComponent(u.username),
        u.pathname.slice(1),
      ],
      { env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) }, maxBuffer: 64 * 1024 * 1024 },
    ).catch((err: { stderr?: string }) => {
      throw new Error(`pgbench failed: ${err.stderr?.slice(-2000)}`);
    });
    const elapsed = (performance.now() - started) / 1000;
    // Each log line: client_id transaction_no latency_us script_no epoch_s epoch_us
    const latencies: number[] = [];
    for (const f of await readdir(dir)) {
      if (!f.startsWith('txn')) continue;
      for (const line of (await readFile(path.join(dir, f), 'utf8')).split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) latencies.push(us / 1000);
      }
    }
    const seconds = 'seconds' in length ? Math.min(elapsed, length.seconds) : elapsed;
    return figures('pgbench', clients, seconds, latencies);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The same transaction from `pg` clients, for machines without pgbench. */
async function viaPgLoop(
  url: string,
  clients: number,
  length: FloorLength,
  n: { doctors: number; patients: number; createdBy: string },
) {
  const sql = (s: string) => s.replaceAll(':slot::int', '$1::int');
  const latencies: number[] = [];
  const until = 'seconds' in length ? performance.now() + length.seconds * 1000 : Infinity;
  const perClient = 'seconds' in length ? Infinity : length.transactionsPerClient;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        for (let done = 0; done < perClient && performance.now() < until; done++) {
          const slot = Math.floor(Math.random() * 100_000_000);
          const t0 = performance.now();
          await c.query('BEGIN');
          const doc = (
            await c.query(
              `SELECT d.id FROM doctors d JOIN bench_floor_doctors b ON b.id = d.id WHERE b.n = $1 AND d.active FOR UPDATE OF d`,
              [Math.floor(Math.random() * n.doctors)],
            )
          ).rows[0].id;
          const overlap = (col: string) =>
            sql(`SELECT id FROM appointments WHERE ${col} = $2 AND deleted_at IS NULL AND ${ACTIVE}
                   AND starts_at < ${START} + interval '15 minutes' AND ends_at > ${START} AND starts_at > ${START} - interval '480 minutes'`);
          await c.query(overlap('doctor_id'), [slot, doc]);
          const pat = (
            await c.query(
              `SELECT p.id FROM patients p JOIN bench_floor_patients b ON b.id = p.id WHERE b.n = $1 AND p.deleted_at IS NULL FOR UPDATE OF p`,
              [Math.floor(Math.random() * n.patients)],
            )
          ).rows[0].id;
          await c.query(overlap('patient_id'), [slot, pat]);
          await c.query(
            sql(`INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, urgency, reason, created_by)
                 VALUES (gen_random_uuid(), $2, $3, ${START}, ${START} + interval '15 minutes', 15, 'routine', NULL, $4)`),
            [slot, pat, doc, n.createdBy],
          );
          await c.query('COMMIT');
          latencies.push(performance.now() - t0);
        }
      } finally {
        await c.end();
      }
    }),
  );
  return figures('pg-loop', clients, (performance.now() - started) / 1000, latencies);
}

/** Runs the floor for `seconds` at `clients` connections against `url` (a superuser or owner). */
export async function measureBookingFloor(url: string, clients: number, length: FloorLength): Promise<FloorFigures> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const n = await prepare(db);
    const bin = process.env.BENCH_FLOOR_TOOL === 'pg' ? undefined : findPgbench();
    const result = bin
      ? await viaPgbench(bin, url, clients, length, pgbenchScript(n.doctors, n.patients, n.createdBy))
      : await viaPgLoop(url, clients, length, n);
    await cleanUp(db);
    return result;
  } finally {
    await db.end();
  }
}
