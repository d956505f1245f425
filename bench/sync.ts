// npm run bench:sync — the sync service on this machine: an embedded PostgreSQL in a temporary
// directory, the real app + sync service in this process, official clients over HTTP.
//   (1) write-to-client latency: a booking over HTTP until a second live ShapeStream sees its txid
//   (2) replication throughput into 100 live `doctor_id = const` shapes
//   (3) initial sync of a 100k-row appointments snapshot through the 1.5 client
//   (4) fan-out: 500 live clients on one shape; time until all have one write; RSS
// Writes the figures, with the machine, to bench/results/sync-<date>.json.
import { randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Shape, ShapeStream, isChangeMessage, type Message, type Row } from '@electric-sql/client';
import { createApp } from '../server/app.js';
import { hashPassword } from '../server/auth/passwords.js';
import { loadConfig } from '../server/config.js';
import type { AppDeps } from '../server/deps.js';
import { startEmbeddedPostgres, ensureDatabase } from '../server/db/embedded.js';
import { migrate } from '../server/db/migrate.js';
import { createPool } from '../server/db/pool.js';
import { createLogger } from '../server/logger.js';
import { startClinicSync, withSyncEngine } from '../server/clinic-sync/start.js';
import { buildOpenShape } from '../server/sync/shape-request.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const PASSWORD = 'bench-password-123';
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const round = (n: number) => Math.round(n * 100) / 100;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-sync-'));
  await chmod(dir, 0o755);
  const pgServer = await startEmbeddedPostgres({ dataDir: dir, port: 54000 + Math.floor(Math.random() * 900) });
  await ensureDatabase(pgServer.adminUrl, 'bench');
  const url = pgServer.urlFor('bench');
  await migrate(url);
  const pool = createPool(url);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    PUBLIC_ORIGIN: 'http://bench.test',
    RATE_LIMIT_USER_PER_HOUR: '1000000',
    RATE_LIMIT_SYNC_PER_HOUR: '1000000',
    RATE_LIMIT_ANON_PER_HOUR: '1000000',
  });
  const deps: AppDeps = { config, pool, logger: createLogger('silent'), databaseUrl: url, readiness: {} };
  const engine = await startClinicSync(deps);
  const sync = engine.service;
  const server = http.createServer(createApp(withSyncEngine(deps, engine)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const results: Record<string, unknown> = {};
  try {
    const doctors = (
      await pool.query(`INSERT INTO doctors (full_name) SELECT 'Dr ' || i FROM generate_series(1, 100) i RETURNING id`)
    ).rows.map((r) => r.id as string);
    const patients = (
      await pool.query(
        `INSERT INTO patients (full_name, date_of_birth, mrn) SELECT 'P ' || i, '1980-01-01', 'B' || i FROM generate_series(1, 1000) i RETURNING id`,
      )
    ).rows.map((r) => r.id as string);
    await pool.query(
      `INSERT INTO users (email, full_name, role, password_hash) VALUES ('reception@bench.test', 'R', 'receptionist', $1)`,
      [await hashPassword(PASSWORD)],
    );
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://bench.test' },
      body: JSON.stringify({ email: 'reception@bench.test', password: PASSWORD }),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const fetchClient: typeof fetch = (input, init) => {
      const h = new Headers(init?.headers);
      h.set('cookie', cookie);
      return fetch(input, { ...init, headers: h });
    };

    // (1) booking over HTTP → live client sees the txid
    const seen = new Map<number, number>();
    const stream = new ShapeStream<Row>({
      url: `${base}/v1/shape`,
      params: { table: 'appointments' } as never,
      fetchClient,
    });
    stream.subscribe((ms: Message<Row>[]) => {
      for (const m of ms)
        if (isChangeMessage(m))
          for (const t of (m.headers as { txids?: number[] }).txids ?? []) seen.set(t, performance.now());
    });
    await new Shape(stream).rows;
    const latencies: number[] = [];
    for (let i = 0; i < 500; i++) {
      const starts = new Date(Date.UTC(2034, 0, 2) + i * 30 * 60_000).toISOString();
      const res = await fetch(`${base}/api/appointments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://bench.test', cookie },
        body: JSON.stringify({
          id: randomUUID(),
          patient_id: patients[i % patients.length],
          doctor_id: doctors[i % doctors.length],
          starts_at: starts,
          duration_minutes: 15,
          urgency: 'emergency',
        }),
      });
      const committed = performance.now();
      const body = (await res.json()) as { txid?: number };
      if (res.status !== 201 || body.txid === undefined)
        throw new Error(`booking failed: ${res.status} ${JSON.stringify(body)}`);
      while (!seen.has(body.txid)) await new Promise((r) => setImmediate(r));
      latencies.push(seen.get(body.txid)! - committed);
    }
    stream.unsubscribeAll();
    results.commit_to_wake_ms_p50 = round(pct(sync.commitToWakeMs, 50));
    results.write_to_client_ms = {
      p50: round(pct(latencies, 50)),
      p95: round(pct(latencies, 95)),
      p99: round(pct(latencies, 99)),
      samples: latencies.length,
      note: 'from the HTTP response of the booking (committed) until the live client has the message',
    };

    // (2) throughput into 100 live doctor shapes
    const info = (await sync.tableInfo('public', 'appointments'))!;
    for (const d of doctors) {
      const s = await sync.shapeFor(
        buildOpenShape(info, { where: 'doctor_id = $1', params: { 1: d }, replica: 'default' }),
        info,
      );
      await s.ready;
    }
    const N = 20_000;
    const t0 = performance.now();
    for (let b = 0; b < N / 500; b++) {
      await pool.query(
        `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
        SELECT gen_random_uuid(), ($1::uuid[])[1 + i % 1000], ($2::uuid[])[1 + i % 100], ts, ts + interval '5 minutes', 5, 'completed'
          FROM (SELECT i, timestamptz '2040-01-01' + make_interval(mins => 5 * (i + $3)) AS ts FROM generate_series(0, 499) i) s`,
        [patients, doctors, b * 500],
      );
    }
    const target = (await pool.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l;
    const [hi, lo] = target.split('/');
    const targetLsn = (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
    while (sync.processedLsn < targetLsn - 100_000n && performance.now() - t0 < 120_000) {
      const last = (await pool.query(`SELECT max(last_lsn) AS l FROM sync_shapes`)).rows[0].l;
      if (
        BigInt(last ?? 0) > 0n &&
        sync.registry
          .all()
          .filter((s) => s.runtime.shape.where)
          .reduce((n, s) => n + s.logRows, 0) >= N
      )
        break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    results.replication_changes_per_second = {
      value: Math.round(N / seconds),
      changes: N,
      shapes: 100,
      seconds: round(seconds),
      note: 'inserts committed in transactions of 500 rows; time from the first commit until all are in the shape logs',
    };

    // (3) initial sync of 100k rows
    await pool.query(`UPDATE appointments SET status = status WHERE false`);
    const rows = (await pool.query(`SELECT count(*)::int AS n FROM appointments WHERE deleted_at IS NULL`)).rows[0].n;
    await pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
      SELECT gen_random_uuid(), ($1::uuid[])[1 + i % 1000], ($2::uuid[])[1 + i % 100], ts, ts + interval '5 minutes', 5, 'completed'
        FROM (SELECT i, timestamptz '2050-01-01' + make_interval(mins => 5 * i) AS ts FROM generate_series(0, $3 - 1) i) s`,
      [patients, doctors, 100_000 - rows],
    );
    // Let replication finish with the big insert first: this measures serving a snapshot.
    const lsnNow = (await pool.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l.split('/');
    const until = (BigInt(`0x${lsnNow[0]}`) << 32n) | BigInt(`0x${lsnNow[1]}`);
    const tDrain = performance.now();
    while (sync.processedLsn < until - 1_000_000n && performance.now() - tDrain < 300_000)
      await new Promise((r) => setTimeout(r, 50));
    results.replication_100k_row_transaction_seconds = round((performance.now() - tDrain) / 1000);
    const t1 = performance.now();
    const initial = new ShapeStream<Row>({
      url: `${base}/v1/shape`,
      params: { table: 'appointments', columns: 'id,doctor_id,patient_id,starts_at,ends_at,status,reason' } as never,
      fetchClient,
    });
    const got = await new Shape(initial).rows;
    const s3 = (performance.now() - t1) / 1000;
    initial.unsubscribeAll();
    results.initial_sync = {
      rows: got.length,
      seconds: round(s3),
      rows_per_second: Math.round(got.length / s3),
      note: 'a new shape: snapshot taken, stored and served to the 1.5 client',
    };

    // (4) fan-out
    const clients: ShapeStream<Row>[] = [];
    const arrived = new Map<number, number>();
    const marker = randomUUID();
    for (let i = 0; i < 500; i++) {
      const s = new ShapeStream<Row>({ url: `${base}/v1/shape`, params: { table: 'doctors' } as never, fetchClient });
      s.subscribe((ms: Message<Row>[]) => {
        for (const m of ms)
          if (isChangeMessage(m) && m.value.full_name === marker && !arrived.has(i)) arrived.set(i, performance.now());
      });
      clients.push(s);
    }
    await Promise.all(
      clients.map(
        (c) =>
          new Promise<void>((r) => {
            const u = c.subscribe(() => {
              if (c.isUpToDate) {
                u();
                r();
              }
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 500));
    const t4 = performance.now();
    await pool.query(`UPDATE doctors SET full_name = $1 WHERE id = $2`, [marker, doctors[0]]);
    while (arrived.size < 500 && performance.now() - t4 < 30_000) await new Promise((r) => setTimeout(r, 5));
    results.fan_out = {
      clients: 500,
      received: arrived.size,
      all_within_ms: round(Math.max(...arrived.values()) - t4),
      rss_mb: Math.round(process.memoryUsage().rss / 1048576),
      note: 'clients run in the same process as the server, so RSS includes them',
    };
    for (const c of clients) c.unsubscribeAll();
  } finally {
    server.closeAllConnections();
    server.close();
    await engine.stop();
    await pool.end();
    await pgServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const out = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      node: process.version,
      total_mem_mb: Math.round(os.totalmem() / 1048576),
    },
    results,
  };
  console.log(JSON.stringify(out, null, 2));
  await mkdir(path.join(ROOT, 'bench/results'), { recursive: true });
  await writeFile(
    path.join(ROOT, `bench/results/sync-${out.date.replace(/[:.]/g, '-')}.json`),
    JSON.stringify(out, null, 2),
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
