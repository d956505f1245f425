// npm run bench:booking — the booking API under load, on this machine.
// Starts the real server (embedded PostgreSQL in a fresh temporary DATA_DIR) as a child
// process, loads `npm run seed` data, then measures from this process with autocannon:
//   (a) uncontended bookings across many doctors and slots at 50 connections;
//   (b) 1,000 concurrent attempts on one slot: time until all are answered;
//   (c) a page of 50 from the list, and one doctor's day: p50/p95.
//   (c) also with the total counted on every request, and at one connection (service time).
// Prints a table and writes the figures, with the machine, to bench/results/booking-<date>.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { countSql, pageSql } from '../server/appointments/queries.js';
import { measureBookingFloor } from './booking-floor.js';
import { cpuBetween, readCpu } from './cpu.js';
import { machineAtEnd, machineAtStart } from './machine.js';
import { runLoad, type LoadFigures } from './booking-load.js';

const ROOT = path.resolve(import.meta.dirname, '..');
// --smoke: tiny sizes and one-second phases, so CI proves the benchmark still runs (no figures kept).
const SMOKE = process.argv.includes('--smoke');
// --cpu-prof DIR: the server writes V8 CPU profiles into DIR when it stops (open them in
// Chrome's DevTools); the figures of such a run are printed but not kept, a profiler slows it.
const cpuProfIndex = process.argv.indexOf('--cpu-prof');
const CPU_PROF_DIR = cpuProfIndex > 0 ? process.argv[cpuProfIndex + 1] : undefined;
if (cpuProfIndex > 0 && !CPU_PROF_DIR) throw new Error('--cpu-prof: a folder');
const DATA = SMOKE
  ? { doctors: 3, patients: 60, appointments: 300 }
  : { doctors: 20, patients: 20_000, appointments: 50_000 };
const SECONDS = 15;
const READ_SECONDS = 10;
const CONTENDED = SMOKE ? 50 : 1000;
const PASSWORD = 'bench-password-123';
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

function run(script: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, script, ...args], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'inherit', 'inherit'],
    });
    child.stdin!.end(stdin ?? '');
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
  });
}

async function waitForHealth(url: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error('the server exited during startup');
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server did not become healthy');
}

/** Booking n: a distinct (doctor, slot) in 2031+, 15-minute slots Mon–Fri 08:00–17:00 UTC. */
function uncontendedBooking(n: number, doctors: string[], patients: string[]) {
  const doctor = doctors[n % doctors.length]!;
  const slot = Math.floor(n / doctors.length);
  const day = Math.floor(slot / 36);
  const week = Math.floor(day / 5);
  const start = Date.UTC(2031, 0, 6 + week * 7 + (day % 5), 8, 15 * (slot % 36));
  return {
    id: randomUUID(),
    doctor_id: doctor,
    patient_id: patients[n % patients.length]!,
    starts_at: new Date(start).toISOString(),
    duration_minutes: 15,
    urgency: 'routine',
  };
}

async function main() {
  const atStart = machineAtStart();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-'));
  await chmod(dataDir, 0o755);
  const [port, pgPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: '',
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_PG_PORT: String(pgPort),
    PUBLIC_ORIGIN: url,
    SEED_DEMO: 'false',
    LOG_LEVEL: 'warn',
    RATE_LIMIT_USER_PER_HOUR: '100000000',
    RATE_LIMIT_WRITES_PER_HOUR: '100000000',
    RATE_LIMIT_ANON_PER_HOUR: '100000000',
  };
  // `node --import tsx` rather than the tsx CLI: the server is this child itself, not a grandchild,
  // and takes node's own flags (--cpu-prof is refused in NODE_OPTIONS).
  const profile = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(CPU_PROF_DIR)}`] : [];
  const server = spawn(process.execPath, [...profile, '--import', 'tsx', 'server/index.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitForHealth(url, server);
    console.error('seeding…');
    await run(
      'server/cli/seed.ts',
      [
        '--doctors',
        String(DATA.doctors),
        '--patients',
        String(DATA.patients),
        '--appointments',
        String(DATA.appointments),
      ],
      env,
    );
    await run(
      'server/cli/user-create.ts',
      ['--email', 'bench@bench.clinic', '--role', 'receptionist', '--name', 'Bench', '--password-stdin'],
      env,
      `${PASSWORD}\n`,
    );
    const pgUrl = `postgres://postgres:clinic-local@127.0.0.1:${pgPort}/clinic`;
    const db = new pg.Client({ connectionString: pgUrl });
    db.on('error', () => {}); // the server's shutdown ends this connection; the query in flight reports it
    await db.connect();
    // A steady state, as autovacuum would leave it: statistics and the visibility map.
    await db.query('VACUUM ANALYZE');
    const doctors = (await db.query<{ id: string }>('SELECT id FROM doctors ORDER BY id')).rows.map((r) => r.id);
    const patients = (await db.query<{ id: string }>('SELECT id FROM patients ORDER BY id')).rows.map((r) => r.id);
    const busyDay = (
      await db.query<{ day: string }>(
        `SELECT date_trunc('day', starts_at)::date::text AS day FROM appointments WHERE doctor_id = $1
        GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
        [doctors[0]],
      )
    ).rows[0]!.day;

    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ email: 'bench@bench.clinic', password: PASSWORD }),
    });
    if (!login.ok) throw new Error(`login failed: ${login.status}`);
    const headers = {
      cookie: login.headers.get('set-cookie')!.split(';')[0]!,
      origin: url,
      'content-type': 'application/json',
    };

    let n = 0;
    const book = () => ({ path: '/api/appointments', body: uncontendedBooking(n++, doctors, patients) });
    console.error('warming up…');
    await runLoad({
      url,
      connections: 10,
      ...(SMOKE ? { amount: 10 } : { duration: 3 }),
      headers,
      method: 'POST',
      next: book,
    });
    console.error('(a) uncontended bookings, 50 connections, 15 s…');
    const cpuBeforeBookings = readCpu(server.pid!);
    const uncontended = await runLoad({
      url,
      connections: 50,
      ...(SMOKE ? { amount: 100 } : { duration: SECONDS }),
      headers,
      method: 'POST',
      next: book,
    });

    const bookingCpu = cpuBetween(cpuBeforeBookings, readCpu(server.pid!));

    console.error('(a′) the floor: the same database work without HTTP, audit or idempotency, 50 clients, 15 s…');
    const cpuBeforeFloor = readCpu(server.pid!);
    const floor = await measureBookingFloor(pgUrl, 50, SMOKE ? { transactionsPerClient: 2 } : { seconds: SECONDS });
    const floorCpu = cpuBetween(cpuBeforeFloor, readCpu(server.pid!));
    // CPU per operation: the server's Node process and PostgreSQL for a booking (the load
    // generator's share is shown apart); PostgreSQL and pgbench for the floor.
    const perOperationMs = (seconds: number, operations: number) =>
      operations ? Math.round((seconds / operations) * 100_000) / 100 : null;
    const cpu = {
      booking_ms: {
        server: perOperationMs(bookingCpu.server, uncontended.requests),
        postgres: perOperationMs(bookingCpu.postgres, uncontended.requests),
        load_generator: perOperationMs(bookingCpu.benchmark, uncontended.requests),
      },
      floor_ms: {
        postgres: perOperationMs(floorCpu.postgres, floor.transactions),
        pgbench: perOperationMs(floorCpu.benchmark, floor.transactions),
      },
    };

    console.error('(b) 1,000 concurrent attempts on one slot…');
    const slot = new Date(Date.UTC(2035, 0, 8, 10, 0)).toISOString(); // a Monday, far from (a)'s slots
    let p = 0;
    const contended = await runLoad({
      url,
      connections: CONTENDED,
      amount: CONTENDED,
      headers,
      method: 'POST',
      next: () => ({
        path: '/api/appointments',
        body: {
          id: randomUUID(),
          doctor_id: doctors[1],
          patient_id: patients[p++ % patients.length],
          starts_at: slot,
          duration_minutes: 30,
          urgency: 'routine',
        },
      }),
    });
    const rowsInSlot = Number(
      (await db.query(`SELECT count(*) FROM appointments WHERE doctor_id = $1 AND starts_at = $2`, [doctors[1], slot]))
        .rows[0].count,
    );

    console.error('(c) reads…');
    const appointments = Number(
      (await db.query('SELECT count(*) FROM appointments WHERE deleted_at IS NULL')).rows[0].count,
    );
    const lastPage = Math.max(1, Math.ceil(appointments / 50));
    const middlePage = Math.max(1, Math.floor(lastPage / 2));
    // A list's total is kept between changes (server/http/count-cache.ts): paging through
    // one list counts once. "counted" reads change the filter on every request (a `to` far in
    // the future, one second later each time: the same rows), so every one of them counts.
    let farFuture = Date.UTC(2100, 0, 1);
    const jumpPages: number[] = [];
    for (let p = Math.ceil(lastPage / 4); p <= Math.floor((3 * lastPage) / 4); p += 2) jumpPages.push(p);
    let jumps = 0;
    const reads: Record<
      string,
      { query: () => string; filters: Record<string, string>; page: number; connections: number; amount?: number }
    > = {
      list_first_page: { query: () => '?page_size=50', filters: {}, page: 1, connections: 10 },
      list_middle_page: {
        query: () => `?page_size=50&page=${middlePage}`,
        filters: {},
        page: middlePage,
        connections: 10,
      },
      list_last_page: { query: () => `?page_size=50&page=${lastPage}`, filters: {}, page: lastPage, connections: 10 },
      list_first_page_total_counted: {
        query: () => `?page_size=50&to=${new Date((farFuture += 1000)).toISOString()}`,
        filters: { to: '2100-01-01T00:00:00.000Z' },
        page: 1,
        connections: 10,
      },
      doctor_day: {
        query: () => `?doctor_id=${doctors[0]}&from=${busyDay}T00:00:00Z&to=${busyDay}T23:59:59Z&page_size=50`,
        filters: { doctor_id: doctors[0]!, from: `${busyDay}T00:00:00Z`, to: `${busyDay}T23:59:59Z` },
        page: 1,
        connections: 10,
      },
      // One connection: the read's own service time, with no queue in front of it, for a page
      // reached by a jump (no page next to it read before, so it skips rather than starting at
      // a known row: every other page of the middle half, each once).
      list_jump_1_connection: {
        query: () => `?page_size=50&page=${jumpPages[jumps++ % jumpPages.length]}`,
        filters: {},
        page: middlePage,
        connections: 1,
        amount: jumpPages.length,
      },
    };
    const readFigures: Record<string, LoadFigures & { explain: string }> = {};
    for (const [name, r] of Object.entries(reads)) {
      const figures = await runLoad({
        url,
        connections: r.connections,
        ...(SMOKE ? { amount: 20 } : r.amount ? { amount: r.amount } : { duration: READ_SECONDS }),
        headers,
        next: () => ({ path: `/api/appointments${r.query()}` }),
      });
      // The plans of the exact statements the route runs (the server's own SQL builders), as a
      // receptionist sees them: the total (when it is not kept), then the page, by skipping
      // (a jump) and, past the first page, from its anchor (read again, or from a neighbour).
      const viewer = { doctorId: null, seesNotes: false };
      const count = countSql(viewer, r.filters);
      const total = Number((await db.query(count)).rows[0].total);
      const page = pageSql(viewer, r.filters, 50, (r.page - 1) * 50, total);
      const statements: Array<[string, { text: string; values: unknown[] }]> = [
        ['total', count],
        ['page (skipping)', page],
      ];
      const firstRow = (await db.query<{ id: string }>(page)).rows[0];
      if (r.page > 1 && firstRow)
        statements.push([
          'page (from its anchor)',
          pageSql(viewer, r.filters, 50, (r.page - 1) * 50, total, { id: firstRow.id, side: 'at' }),
        ]);
      const plans: string[] = [];
      for (const [label, sql] of statements) {
        const plan = await db.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql.text}`, sql.values);
        plans.push(`-- ${label}\n${plan.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
      }
      readFigures[name] = { ...figures, explain: plans.join('\n') };
    }
    await db.end();

    const report = {
      benchmark: 'booking',
      date: new Date().toISOString(),
      machine: machineAtEnd(atStart),
      data: { ...DATA, appointments_after_run: appointments },
      uncontended_bookings_50_connections: uncontended,
      floor_same_transaction_50_clients: floor,
      cpu_per_operation: cpu,
      ratio_to_floor: {
        throughput: Math.round((uncontended.perSecond / floor.perSecond) * 100) / 100,
        p99: Math.round((uncontended.latencyMs.p99 / floor.latencyMs.p99) * 100) / 100,
      },
      contended_1000_on_one_slot: { ...contended, rows_in_slot: rowsInSlot },
      reads_10_connections: readFigures,
    };
    printTable(report as unknown as Record<string, unknown>);
    if (SMOKE || CPU_PROF_DIR) return;
    await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
    const file = path.join(ROOT, 'bench/results', `booking-${report.date.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwritten to ${path.relative(ROOT, file)}`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

function printTable(report: Record<string, unknown>) {
  const m = report.machine as Record<string, unknown>;
  console.log(`\nbooking benchmark — ${report.date} — ${m.cpus} × ${m.cpu_model}, Node ${m.node}`);
  console.log(
    'scenario                               requests   req/s   p50 ms   p95 ms   p99 ms   seconds   statuses',
  );
  const rows = { ...report, ...(report.reads_10_connections as Record<string, unknown>) };
  for (const [name, value] of Object.entries(rows)) {
    if (typeof value !== 'object' || value === null || !('latencyMs' in value)) continue;
    const f = { statuses: {}, requests: (value as { transactions?: number }).transactions, ...value } as LoadFigures;
    console.log(
      `${name.padEnd(38)} ${String(f.requests).padStart(8)} ${String(f.perSecond).padStart(7)} ${String(f.latencyMs.p50).padStart(8)} ${String(f.latencyMs.p95).padStart(8)} ${String(f.latencyMs.p99).padStart(8)} ${String(f.seconds).padStart(9)}   ${JSON.stringify(f.statuses)}`,
    );
  }
  const ratio = report.ratio_to_floor as { throughput: number; p99: number };
  console.log(`\nbookings / floor: throughput ${ratio.throughput} × (target ≥ 0.8), p99 ${ratio.p99} × (target ≤ 1.5)`);
  console.log(`CPU per operation (ms): ${JSON.stringify(report.cpu_per_operation)}`);
  for (const [name, value] of Object.entries(report.reads_10_connections as Record<string, { explain: string }>)) {
    console.log(`\nEXPLAIN ${name}:\n${value.explain}`);
  }
}

await main();
