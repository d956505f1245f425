// npm run bench:sync — the sync path measured where users meet it, on this machine. The real app
// server runs in a process of its own (bench/sync-server.ts: API, /v1/shape, sync service, jobs;
// its own embedded PostgreSQL in a fresh temporary DATA_DIR), so its memory is its own. This
// process writes through `pg` as any committer would and runs the live clients
// (bench/sync-clients.ts: official ShapeStreams over HTTP with a receptionist's session).
//   (1) commit → live client: each write's clock starts just before COMMIT is sent; the clients
//       report when their stream delivers the row (matched by id), p50/p95/p99;
//   (2) changes/s into 100 live `doctor_id = …` shapes, one live client on each, from the first
//       COMMIT until the last client has its last change;
//   (3) initial sync of a new 100k-row shape (the first client, offset=-1, until up to date),
//       then one 100k-row transaction from COMMIT until the live client has every row;
//   (4) fan-out: 2,000 live clients on one shape, one write, each client's delay, and the
//       server's resident memory (its process alone); run before (3), whose 100k-row
//       transaction would leave the heap grown.
// A negative or otherwise impossible sample aborts the run (exit 1). Prints every figure with
// its target and writes them, with the machine and the commit, to bench/results/sync-<date>.json.
// --smoke: toy sizes, nothing written (CI proves the script still runs; no thresholds).
// --only latency,changes,initial,bigtx,fanout: those sections alone, nothing written (to measure
// one part without the whole run). The shapes of a skipped section are still created (opened
// and closed again), so the big transaction reaches as many shapes as in a full run. bigtx needs
// the shape of initial, so it runs initial too. --rows N: initial and bigtx with N rows.
// --cpu-prof DIR: the server writes a V8 CPU profile into DIR when it stops (open it in Chrome's
// DevTools): where the server's time goes, section by section.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import { hashPassword } from '../server/auth/passwords.js';
import { machineAtEnd, machineAtStart } from './machine.js';
import { cpuBetween, readCpu } from './cpu.js';
import { LiveClients, now } from './sync-clients.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SMOKE = process.argv.includes('--smoke');
const SECTIONS = ['latency', 'changes', 'initial', 'bigtx', 'fanout'] as const;
type Section = (typeof SECTIONS)[number];
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const ONLY = argValue('--only')
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of ONLY ?? [])
  if (!(SECTIONS as readonly string[]).includes(s))
    throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
const ROWS = argValue('--rows') === undefined ? undefined : Number(argValue('--rows'));
if (ROWS !== undefined && !(Number.isInteger(ROWS) && ROWS > 0)) throw new Error('--rows: a positive integer');
/** A partial run (some sections, other sizes) is for measuring one part: its figures are not kept. */
const PARTIAL = ONLY !== undefined || ROWS !== undefined;
const CPU_PROF_DIR = argValue('--cpu-prof');
const runs = (s: Section) => !ONLY || ONLY.includes(s) || (s === 'initial' && ONLY.includes('bigtx'));
const SIZE = SMOKE
  ? { doctors: 5, patients: 50, latencyClients: 2, latencyWrites: 20, changes: 500, txRows: 100, initialRows: 500, bigTxRows: 500, fanOut: 20 } // prettier-ignore
  : { doctors: 100, patients: 1000, latencyClients: 4, latencyWrites: 500, changes: 20_000, txRows: 100 * 5, initialRows: ROWS ?? 100_000, bigTxRows: ROWS ?? 100_000, fanOut: 2000 }; // prettier-ignore
const TARGET = {
  p50Ms: 4,
  p99Ms: 15,
  changesPerSecond: 10_000,
  initialRowsPerSecond: 50_000,
  bigTxSeconds: 3,
  fanOutMs: 1000,
  rssMb: 300,
};
const PASSWORD = 'bench-password-123';
const SLOT = 'clinic_sync'; // the server's default SYNC_SLOT_NAME
/** Rows for (3) start here, apart from the others: the new shape is `starts_at >= FAR`. */
const FAR = '2050-01-01T00:00:00.000Z';

const ms = (ns: bigint) => Number(ns) / 1e6;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
/** Nearest-rank percentile. */
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)]!;
const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

class ImpossibleSample extends Error {}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** V8's heap, used and reserved, in MB, as the server's own /metrics reports it. */
async function heapOf(origin: string, token: string) {
  const text = await (await fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const mb = (name: string) => {
    const m = new RegExp(`^clinic_${name} (\\S+)$`, 'm').exec(text);
    if (!m) throw new Error(`/metrics: no clinic_${name}`);
    return Math.round(Number(m[1]) / 1048576);
  };
  return { heap_used_mb: mb('nodejs_heap_size_used_bytes'), heap_total_mb: mb('nodejs_heap_size_total_bytes') };
}

/** VmRSS and VmHWM (peak) of a process, in MB. */
function memoryOf(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss_mb: Math.round(kb('VmRSS') / 1024), peak_mb: Math.round(kb('VmHWM') / 1024) };
}

async function startServer(env: NodeJS.ProcessEnv) {
  // `node --import tsx` rather than the tsx CLI, which would run the server in a grandchild:
  // the pid here must be the server's, for its memory.
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/sync-server.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{ url: string; databaseUrl: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited during startup (${code})`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"ready":true')) resolve(JSON.parse(line));
      else console.error(`[server] ${line}`);
    });
  });
  child.removeAllListeners('exit');
  return { child, ...ready };
}

/** Every delay is a later reading minus an earlier one of the same clock: never negative. */
function delaysMs(at: (bigint | null)[], from: bigint, what: string): number[] {
  return at.map((t, i) => {
    if (t === null) throw new ImpossibleSample(`${what}: client ${i} never had it (timed out)`);
    if (t < from) throw new ImpossibleSample(`${what}: client ${i} had it ${ms(from - t)} ms before its commit`);
    return ms(t - from);
  });
}

async function main() {
  const atStart = machineAtStart();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-sync-'));
  await chmod(dataDir, 0o755); // as root, PostgreSQL runs as `postgres` and must get in
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const big = String(1_000_000_000);
  const metricsToken = randomUUID();
  const server = await startServer({
    METRICS_TOKEN: metricsToken,
    ...process.env,
    DATABASE_URL: '',
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_PG_PORT: String(await freePort()),
    PUBLIC_ORIGIN: origin,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    // One benchmark user stands for every device: per-user caps would measure the cap.
    RATE_LIMIT_USER_PER_HOUR: big,
    RATE_LIMIT_WRITES_PER_HOUR: big,
    RATE_LIMIT_ANON_PER_HOUR: big,
    RATE_LIMIT_SYNC_PER_HOUR: big,
    SYNC_CLIENT_SHAPES_PER_USER: '1000',
    SYNC_CLIENT_SHAPES_PER_TABLE: '1000',
  });
  const db = new pg.Client({ connectionString: server.databaseUrl });
  db.on('error', () => {}); // the server's shutdown ends this connection
  // Interrupted (Ctrl-C, a CI timeout): the server must not outlive the benchmark.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      server.child.kill('SIGTERM');
      process.exit(1);
    });
  const stats: Record<string, unknown> = {};
  let failed = false;
  let clients: LiveClients | undefined;
  try {
    await db.connect();

    const doctors = (
      await db.query<{ id: string }>(
        `INSERT INTO doctors (full_name) SELECT 'Dr ' || i FROM generate_series(1, $1::int) i RETURNING id`,
        [SIZE.doctors],
      )
    ).rows.map((r) => r.id);
    const patients = (
      await db.query<{ id: string }>(
        `INSERT INTO patients (full_name, date_of_birth, mrn)
        SELECT 'P ' || i, '1980-01-01', 'B' || i FROM generate_series(1, $1::int) i RETURNING id`,
        [SIZE.patients],
      )
    ).rows.map((r) => r.id);
    await db.query(
      `INSERT INTO users (email, full_name, role, password_hash) VALUES ('reception@bench.test', 'Reception', 'receptionist', $1)`,
      [await hashPassword(PASSWORD)],
    );
    const login = await fetch(`${origin}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin },
      body: JSON.stringify({ email: 'reception@bench.test', password: PASSWORD }),
    });
    if (!login.ok) throw new Error(`login failed: ${login.status}`);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    clients = new LiveClients(origin, cookie);

    // Each appointment gets its own 5-minute slot, so no doctor or patient ever overlaps.
    let slot = 0;
    /** Inserts `n` rows tagged `reason`, doctors and patients in turn; returns the COMMIT clock. */
    async function insertRows(n: number, reason: string, base: string, opts: { doctors?: string[] } = {}) {
      const ds = opts.doctors ?? doctors;
      const first = slot;
      slot += n;
      await db.query('BEGIN');
      await db.query(
        `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, reason)
        SELECT gen_random_uuid(), ($1::uuid[])[1 + (i + $3) % cardinality($1::uuid[])],
               ($2::uuid[])[1 + (i + $3) % cardinality($2::uuid[])], ts, ts + interval '5 minutes', 5, 'completed', $4
          FROM (SELECT i, $5::timestamptz + make_interval(mins => 5 * (i + $3)) AS ts
                  FROM generate_series(0, $6::int - 1) i) s`,
        [patients, ds, first, reason, base, n],
      );
      const committing = now();
      await db.query('COMMIT');
      return { committing, committed: now() };
    }

    // (1) ----------------------------------------------------------------------------------
    const latencyShapes = Array.from({ length: SIZE.latencyClients }, () => ({ table: 'appointments' }));
    const doctorShapes = doctors.map((d) => ({ table: 'appointments', where: 'doctor_id = $1', params: { '1': d } }));
    // Skipped sections still create their shapes: later sections convert changes for them.
    for (const [section, name, shapes] of [
      ['latency', 'latency', latencyShapes.slice(0, 1)],
      ['changes', 'doctors', doctorShapes],
    ] as const) {
      if (runs(section)) continue;
      await clients.open(name, shapes, 20);
      clients.close(name);
    }
    if (runs('latency')) {
      console.error(`(1) commit → live client: ${SIZE.latencyClients} clients × ${SIZE.latencyWrites} writes…`);
      await clients.open('latency', latencyShapes, SIZE.latencyClients);
      const latencies: number[] = [];
      const commitMs: number[] = [];
      let last: string | null = null;
      for (let i = 0; i < SIZE.latencyWrites; i++) {
        // Inserts and updates in turn, as a booking and then its confirmation would be.
        const tag = `latency-${i}`;
        const id: string = i % 2 === 1 && last ? last : randomUUID();
        const seen = clients.watch('latency', { id, reason: tag }, 1, 10_000);
        await db.query('BEGIN');
        if (id === last) {
          await db.query(`UPDATE appointments SET reason = $2 WHERE id = $1`, [id, tag]);
        } else {
          const s = slot++;
          await db.query(
            `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, reason)
          VALUES ($1, $2, $3, timestamptz '2040-01-01' + make_interval(mins => 5 * $4::int),
                  timestamptz '2040-01-01' + make_interval(mins => 5 * $4::int + 5), 5, 'scheduled', $5)`,
            [id, patients[i % patients.length], doctors[i % doctors.length], s, tag],
          );
        }
        const committing = now(); // the clock starts before COMMIT leaves: no sample can start late
        await db.query('COMMIT');
        commitMs.push(ms(now() - committing));
        latencies.push(...delaysMs((await seen).at, committing, `write ${i}`));
        last = id === last ? null : id;
      }
      clients.close('latency');
      if (latencies.length !== SIZE.latencyClients * SIZE.latencyWrites)
        throw new ImpossibleSample(
          `${latencies.length} latency samples for ${SIZE.latencyClients * SIZE.latencyWrites}`,
        );
      stats.write_to_client_ms = {
        p50: round(pct(latencies, 50)),
        p95: round(pct(latencies, 95)),
        p99: round(pct(latencies, 99)),
        max: round(Math.max(...latencies)),
        samples: latencies.length,
        clients: SIZE.latencyClients,
        writes: SIZE.latencyWrites,
        commit_round_trip_ms_p50: round(pct(commitMs, 50)),
        target: `p50 ≤ ${TARGET.p50Ms} ms, p99 ≤ ${TARGET.p99Ms} ms`,
        note:
          'one insert or update per transaction through pg, one at a time; clock from just before COMMIT is sent ' +
          'until the ShapeStream (role shape of all appointments, over HTTP) delivers the row; ' +
          'CLOCK_MONOTONIC (process.hrtime)',
      };
    }

    // (2) ----------------------------------------------------------------------------------
    if (runs('changes')) {
      console.error(`(2) ${SIZE.changes} changes into ${doctors.length} live doctor shapes…`);
      await clients.open('doctors', doctorShapes, 20);
      const tpTag = `throughput-${randomUUID()}`;
      const tpSeen = clients.watch('doctors', { reason: tpTag }, SIZE.changes / doctors.length, 600_000);
      let firstCommit: bigint | null = null;
      for (let b = 0; b < SIZE.changes / SIZE.txRows; b++) {
        const { committing } = await insertRows(SIZE.txRows, tpTag, '2040-01-01');
        firstCommit ??= committing;
      }
      const writerDone = now();
      const tpDelays = delaysMs((await tpSeen).at, firstCommit!, 'throughput');
      clients.close('doctors');
      const tpSeconds = Math.max(...tpDelays) / 1000;
      stats.changes_into_live_shapes = {
        per_second: Math.round(SIZE.changes / tpSeconds),
        changes: SIZE.changes,
        shapes: doctors.length,
        clients: doctors.length,
        rows_per_transaction: SIZE.txRows,
        seconds: round(tpSeconds),
        writer_seconds: round(ms(writerDone - firstCommit!) / 1000),
        target: `≥ ${TARGET.changesPerSecond.toLocaleString('en-US')}/s`,
        note:
          'inserts spread evenly over the doctors, committed one transaction after another by one writer; ' +
          'from just before the first COMMIT until the last client has its last change',
      };
    }

    // (4) ----------------------------------------------------------------------------------
    // Before (3): the 100k-row transaction leaves V8's heap grown for a while, and the memory
    // read here is to be the clients' (the run's peak is kept apart).
    if (runs('fanout')) {
      console.error(`(4) fan-out to ${SIZE.fanOut} live clients on one shape…`);
      const fanDoctor = (await db.query(`INSERT INTO doctors (full_name) VALUES ('Dr Fan-out') RETURNING id`)).rows[0]
        .id as string;
      await insertRows(5, 'fan-out seed', '2045-01-01', { doctors: [fanDoctor] });
      const beforeClients = { ...memoryOf(server.child.pid!), ...(await heapOf(origin, metricsToken)) };
      const connectFrom = now();
      await clients.open(
        'fanout',
        Array.from({ length: SIZE.fanOut }, () => ({
          table: 'appointments',
          where: 'doctor_id = $1',
          params: { '1': fanDoctor },
        })),
        100,
      );
      const connectSeconds = ms(now() - connectFrom) / 1000;
      await sleep(2000); // every client back in its live long-poll
      const fanId = randomUUID();
      const fanSeen = clients.watch('fanout', { id: fanId }, 1, 60_000);
      const s = slot++;
      await db.query('BEGIN');
      await db.query(
        `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, reason)
      VALUES ($1, $2, $3, timestamptz '2045-06-01' + make_interval(mins => 5 * $4::int),
              timestamptz '2045-06-01' + make_interval(mins => 5 * $4::int + 5), 5, 'scheduled', 'fan-out')`,
        [fanId, patients[0], fanDoctor, s],
      );
      const cpuAtCommit = readCpu(server.child.pid!);
      const fanCommit = now();
      await db.query('COMMIT');
      const fanSeenAt = (await fanSeen).at;
      const fanCpu = cpuBetween(cpuAtCommit, readCpu(server.child.pid!));
      const fanDelays = delaysMs(fanSeenAt, fanCommit, 'fan-out');
      const memory = { ...memoryOf(server.child.pid!), ...(await heapOf(origin, metricsToken)) };
      clients.close('fanout');
      stats.fan_out = {
        clients: SIZE.fanOut,
        received: fanDelays.length,
        p50_ms: round(pct(fanDelays, 50)),
        p99_ms: round(pct(fanDelays, 99)),
        max_ms: round(Math.max(...fanDelays)),
        connect_seconds: round(connectSeconds),
        // From COMMIT until the last client had the write: the clients' own work (parsing 2,000
        // answers, sending 2,000 next requests) shares the 2 cores with the server's.
        cpu_seconds_until_last_client: {
          server: fanCpu.server,
          postgres: fanCpu.postgres,
          clients_and_writer: fanCpu.benchmark,
        },
        target: `all within ${TARGET.fanOutMs} ms`,
        note:
          'official ShapeStreams, all on appointments where doctor_id = one doctor; ' +
          'one insert, from just before COMMIT; every answer carries patient rows, so each is audited',
      };
      stats.server_memory = {
        rss_mb_with_fan_out_clients: memory.rss_mb,
        peak_rss_mb: memory.peak_mb,
        rss_mb_before_fan_out_clients: beforeClients.rss_mb,
        heap_mb_with_fan_out_clients: { used: memory.heap_used_mb, total: memory.heap_total_mb },
        heap_mb_before_fan_out_clients: { used: beforeClients.heap_used_mb, total: beforeClients.heap_total_mb },
        target: `≤ ${TARGET.rssMb} MB`,
        note:
          "VmRSS / VmHWM of the server's process alone (/proc/<pid>/status), PostgreSQL and clients apart; " +
          "V8's heap as the server's /metrics reports it (used includes garbage not yet collected)",
      };
    }
    // (3) ----------------------------------------------------------------------------------
    if (runs('initial')) {
      console.error(
        `(3) initial sync of a new ${SIZE.initialRows}-row shape, then one ${SIZE.bigTxRows}-row transaction…`,
      );
      slot = 0; // a fresh range from FAR on
      await insertRows(SIZE.initialRows, 'initial', FAR);
      // Replication of that insert finishes first (the slot confirms it): this measures serving.
      const lsn = (await db.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l as string;
      const drainFrom = now();
      for (;;) {
        const { rows } = await db.query(
          `SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $2`,
          [lsn, SLOT],
        );
        if (rows[0]?.done) break;
        if (ms(now() - drainFrom) > 600_000) throw new Error('replication did not catch up within 10 minutes');
        await sleep(50);
      }
      const drainSeconds = ms(now() - drainFrom) / 1000;
      const expected = Number(
        (await db.query(`SELECT count(*) AS n FROM appointments WHERE deleted_at IS NULL AND starts_at >= $1`, [FAR]))
          .rows[0].n,
      );
      const opened = await clients.open(
        'initial',
        [{ table: 'appointments', where: 'starts_at >= $1', params: { '1': FAR } }],
        1,
      );
      const initialSeconds = ms(opened.upToDateAt[0]! - opened.startedAt) / 1000;
      if (opened.rows[0] !== expected)
        throw new ImpossibleSample(`initial sync delivered ${opened.rows[0]} rows, the shape has ${expected}`);
      if (initialSeconds <= 0) throw new ImpossibleSample(`initial sync took ${initialSeconds} s`);
      stats.initial_sync = {
        rows: expected,
        seconds: round(initialSeconds),
        rows_per_second: Math.round(expected / initialSeconds),
        replication_drain_seconds_before: round(drainSeconds),
        target: `≥ ${TARGET.initialRowsPerSecond.toLocaleString('en-US')} rows/s`,
        note:
          'the first client of a new shape (appointments where starts_at >= 2050), offset=-1 until up-to-date: ' +
          'snapshot taken, stored and served to the official client',
      };

      if (runs('bigtx')) {
        const bigTag = `big-${randomUUID()}`;
        const bigSeen = clients.watch('initial', { reason: bigTag }, SIZE.bigTxRows, 900_000);
        const bigCommit = await insertRows(SIZE.bigTxRows, bigTag, FAR);
        const [bigMs] = delaysMs((await bigSeen).at, bigCommit.committing, 'the big transaction');
        stats.transaction_100k = {
          rows: SIZE.bigTxRows,
          seconds: round(bigMs! / 1000),
          commit_round_trip_seconds: round(ms(bigCommit.committed - bigCommit.committing) / 1000),
          shapes_on_appointments: 2 + doctors.length,
          target: `≤ ${TARGET.bigTxSeconds} s`,
          note:
            `one ${SIZE.bigTxRows}-row INSERT transaction; from just before COMMIT until the live client of the ` +
            'shape from (3) has every row; all appointment shapes (role shape, the doctor shapes, this one) take it',
        };
      }
      clients.close('initial');
    }

    stats.server_peak_rss_mb = memoryOf(server.child.pid!).peak_mb; // over the whole run
  } catch (err) {
    failed = true;
    console.error(err instanceof ImpossibleSample ? `\nIMPOSSIBLE SAMPLE, run rejected: ${err.message}` : err);
  } finally {
    clients?.closeAll();
    await db.end().catch(() => {});
    server.child.kill('SIGTERM');
    await new Promise((r) => server.child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }).catch(() => {});
  }
  if (failed) process.exit(1);

  const report = {
    benchmark: 'sync',
    date: new Date().toISOString(),
    machine: machineAtEnd(atStart),
    sizes: SIZE,
    ...stats,
  };
  printTable(report);
  if (!SMOKE && !PARTIAL) {
    await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `sync-${report.date.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten to ${path.relative(ROOT, file)}`);
  }
  process.exit(0);
}

function printTable(r: Record<string, any>) {
  const m = r.machine!;
  console.log(
    `\nsync benchmark — ${r.date} — ${m.cpus} × ${m.cpu_model}, Node ${m.node}, load ${m.load_average_at_start.join(' / ')} → ${m.load_average_at_end.join(' / ')}${SMOKE ? ' — SMOKE (toy sizes)' : ''}${PARTIAL ? ` — PARTIAL (${ONLY?.join(', ') ?? 'all'}, not kept)` : ''}`,
  );
  const w = r.write_to_client_ms;
  const c = r.changes_into_live_shapes;
  const i = r.initial_sync;
  const t = r.transaction_100k;
  const f = r.fan_out;
  const mem = r.server_memory;
  // A partial run (--only) prints the sections it ran.
  const rows: [string, string, string, boolean][] = [];
  if (w)
    rows.push([
      'write_to_live_client p50 / p95 / p99',
      `${w.p50} / ${w.p95} / ${w.p99} ms (${w.samples} samples)`,
      `p50 ≤ ${TARGET.p50Ms}, p99 ≤ ${TARGET.p99Ms} ms`,
      w.p50 <= TARGET.p50Ms && w.p99 <= TARGET.p99Ms,
    ]);
  if (c)
    rows.push([
      `changes_into_live_shapes (${c.shapes})`,
      `${c.per_second}/s (${c.changes} in ${c.seconds} s)`,
      c.target,
      c.per_second >= TARGET.changesPerSecond,
    ]);
  if (i)
    rows.push([
      'initial_sync of a new shape',
      `${i.rows_per_second} rows/s (${i.rows} in ${i.seconds} s)`,
      i.target,
      i.rows_per_second >= TARGET.initialRowsPerSecond,
    ]);
  if (t)
    rows.push([
      `transaction_100k (${t.rows} rows) to a live client`,
      `${t.seconds} s`,
      t.target,
      t.seconds <= TARGET.bigTxSeconds,
    ]);
  if (f)
    rows.push([
      `fan_out (${f.clients} clients) p50 / p99 / max`,
      `${f.p50_ms} / ${f.p99_ms} / ${f.max_ms} ms`,
      f.target,
      f.max_ms <= TARGET.fanOutMs,
    ]);
  if (f?.cpu_seconds_until_last_client) {
    const c = f.cpu_seconds_until_last_client;
    rows.push(['  CPU s to the last client: server / PG / clients', `${c.server} / ${c.postgres} / ${c.clients_and_writer}`, '', true]); // prettier-ignore
  }
  if (mem) {
    rows.push(['server_rss with the fan-out clients', `${mem.rss_mb_with_fan_out_clients} MB (peak ${mem.peak_rss_mb} MB)`, mem.target, mem.rss_mb_with_fan_out_clients <= TARGET.rssMb]); // prettier-ignore
    if (mem.heap_mb_with_fan_out_clients)
      rows.push(['  before the clients / V8 heap used of total', `${mem.rss_mb_before_fan_out_clients} MB / ${mem.heap_mb_with_fan_out_clients.used} of ${mem.heap_mb_with_fan_out_clients.total} MB`, '', true]); // prettier-ignore
  } else rows.push(['server peak RSS over the run', `${r.server_peak_rss_mb} MB`, '', true]);
  console.log(`${'measure'.padEnd(46)} ${'measured'.padEnd(36)} ${'target'.padEnd(26)} met`);
  for (const [name, value, target, met] of rows)
    console.log(`${name.padEnd(46)} ${value.padEnd(36)} ${target.padEnd(26)} ${met ? 'yes' : 'NO'}`);
}

await main();
