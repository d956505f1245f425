// npm run bench:reminders — 5,000 reminders due at once (`--count N` to change), sent through
// the real job workers (pg-boss) to a local SMTP server (smtp-server). Embedded PostgreSQL in a
// fresh temporary directory. Measures the time from "all due" to "all sent", the throughput and
// how late each went out (sent_at − send_at). Prints a table and writes the figures, with the
// machine and load average, to bench/results/reminders-<date>.json.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import PgBoss from 'pg-boss';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../server/config.js';
import { startEmbeddedPostgres } from '../server/db/embedded.js';
import { migrate } from '../server/db/migrate.js';
import { createPool } from '../server/db/pool.js';
import { JOB_SCHEMA, QUEUES } from '../server/jobs/queues.js';
import { startJobRunner } from '../server/jobs/runner.js';
import { ensureJobSchema } from '../server/jobs/schema.js';
import { ALL_WORKERS } from '../server/jobs/workers.js';
import { createLogger } from '../server/logger.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const countArg = process.argv.indexOf('--count');
const COUNT = countArg > 0 ? Number(process.argv[countArg + 1]) : 5_000;
const DOCTORS = 50;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const round = (n: number) => Math.round(n * 100) / 100;
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-reminders-'));
  await chmod(dir, 0o755);
  const pgDb = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  let received = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 500,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  const smtpPort = await freePort();
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', () => resolve()));
  try {
    const url = new URL(pgDb.adminUrl);
    const admin = createPool(url.toString(), { max: 1 });
    await admin.query('CREATE DATABASE bench_reminders');
    await admin.end();
    url.pathname = '/bench_reminders';
    const dbUrl = url.toString();
    await migrate(dbUrl);
    await ensureJobSchema(dbUrl);
    const pool = createPool(dbUrl, { max: 20 });

    // COUNT patients with an email, one appointment each tomorrow, one email reminder each.
    await pool.query(`UPDATE reminder_policy SET quiet_start = NULL, quiet_end = NULL`);
    await pool.query(`INSERT INTO doctors (full_name) SELECT 'Dr. Bench ' || g FROM generate_series(1, $1) g`, [
      DOCTORS,
    ]);
    await pool.query(
      `INSERT INTO patients (full_name, date_of_birth, mrn, email)
       SELECT 'Patient ' || g, '1980-01-01', 'BENCH' || g, 'patient' || g || '@bench.test' FROM generate_series(1, $1) g`,
      [COUNT],
    );
    await pool.query(
      `WITH d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM doctors),
            p AS (SELECT id, row_number() OVER (ORDER BY mrn) - 1 AS n FROM patients)
       INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
       SELECT gen_random_uuid(), p.id, d.id, s, s + interval '5 minutes', 5
         FROM p JOIN d ON d.n = p.n % $1,
              LATERAL (SELECT date_trunc('hour', now()) + interval '1 day' + (p.n / $1) * interval '5 minutes' AS s) t`,
      [DOCTORS],
    );
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO reminders (appointment_id, channel, send_at) SELECT id, 'email', now() FROM appointments RETURNING id`,
    );
    const boss = new PgBoss({
      connectionString: dbUrl,
      schema: JOB_SCHEMA,
      migrate: false,
      supervise: false,
      schedule: false,
    });
    boss.on('error', () => {});
    await boss.start();
    await boss.insert(rows.map((r) => ({ name: QUEUES.reminderSend, data: { reminderId: r.id } })));
    await boss.stop({ graceful: false });

    const config = loadConfig({
      NODE_ENV: 'production',
      DATA_DIR: path.join(dir, 'data'),
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: 'Bench <reminders@bench.test>',
    });
    const started = performance.now();
    const runner = await startJobRunner({
      databaseUrl: dbUrl,
      pool,
      config,
      logger: createLogger('silent'),
      workers: ALL_WORKERS,
      runWorkers: true,
    });
    let sent = 0;
    while (sent < COUNT) {
      await new Promise((r) => setTimeout(r, 250));
      sent = (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM reminders WHERE status = 'sent'`))
        .rows[0]!.n;
      const other = (
        await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM reminders WHERE status IN ('failed', 'review')`)
      ).rows[0]!.n;
      if (other > 0) throw new Error(`${other} reminders failed or in review`);
    }
    const seconds = (performance.now() - started) / 1000;
    await runner.stop();
    const lateness = (
      await pool.query<{ s: number }>(
        `SELECT extract(epoch FROM sent_at - send_at)::float8 AS s FROM reminders ORDER BY 1`,
      )
    ).rows.map((r) => r.s);
    await pool.end();

    const report = {
      benchmark: 'reminders',
      date: new Date().toISOString(),
      reminders: COUNT,
      smtp_messages_received: received,
      seconds_until_all_sent: round(seconds),
      per_second: round(COUNT / seconds),
      lateness_seconds: { p50: round(pct(lateness, 50)), p95: round(pct(lateness, 95)), max: round(lateness.at(-1)!) },
      settings: { batch_size: 50, concurrency: 10, smtp_pool_connections: 5, polling_seconds: 1 },
      machine: {
        cpus: os.cpus().length,
        model: os.cpus()[0]?.model,
        node: process.version,
        load_average_at_end: os.loadavg().map(round),
      },
    };
    console.table({
      reminders: COUNT,
      'all sent after (s)': report.seconds_until_all_sent,
      'per second': report.per_second,
      'late p50 (s)': report.lateness_seconds.p50,
      'late p95 (s)': report.lateness_seconds.p95,
      'SMTP messages': received,
      'load avg 1m': report.machine.load_average_at_end[0],
    });
    const out = path.join(ROOT, 'bench/results', `reminders-${report.date.replace(/[:.]/g, '-')}.json`);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, JSON.stringify(report, null, 2) + '\n');
    console.log(`saved ${path.relative(ROOT, out)}`);
  } finally {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    await pgDb.stop();
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
