// At most once across a crash: the server is killed (SIGKILL) while its SMTP server has the
// message but has not answered. After a restart the reminder is in `review`, not re-sent, and
// a second job for it (as pg-boss would retry an expired one) sends nothing either.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueReminder } from '../../server/reminders/enqueue.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, type Fixture } from '../setup/fixtures.js';
import { startSmtpPeer, type SmtpPeer } from './reminders-peers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let fixture: Fixture;
let smtp: SmtpPeer;
let dataDir: string;
const children: ChildProcess[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

async function startServer(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the server in a child process, and a kill must reach it.
    detached: true,
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const kill = (signal: NodeJS.Signals) => process.kill(-child.pid!, signal);
  return { child, exited, kill, output: () => output };
}

beforeAll(async () => {
  db = await createTestDatabase();
  fixture = await createFixture(db.pool, { patients: 1 });
  smtp = await startSmtpPeer();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-crash-'));
  await chmod(dataDir, 0o755);
});
afterAll(async () => {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await smtp?.close();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const statusOf = async (id: string) =>
  (await db.pool.query(`SELECT status FROM reminders WHERE id = $1`, [id])).rows[0]?.status;

it('a reminder interrupted mid-send goes to review after a restart and is never sent twice', async () => {
  const env = {
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    SEED_DEMO: 'false',
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    REMINDER_SENDING_TIMEOUT_SECONDS: '1',
  };
  const patient = fixture.patients[0]!;
  await db.pool.query(`UPDATE patients SET email = 'crash@mail.test' WHERE id = $1`, [patient]);
  await db.pool.query(`UPDATE reminder_policy SET quiet_start = NULL, quiet_end = NULL`);
  const appointmentId = randomUUID();
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
     VALUES ($1, $2, $3, now() + interval '1 day', now() + interval '1 day 30 minutes', 30)`,
    [appointmentId, patient, fixture.doctorA],
  );
  const { rows } = await db.pool.query(
    `INSERT INTO reminders (appointment_id, channel, send_at) VALUES ($1, 'email', now()) RETURNING id`,
    [appointmentId],
  );
  const reminderId: string = rows[0].id;
  await enqueueReminder(db.pool, reminderId, new Date());
  smtp.hangOnData = true;

  const first = await startServer(env);
  // Generous: a loaded machine may take long to start the server (tsx, sync service).
  await expect
    .poll(() => smtp.dataStarted, { timeout: 180_000, interval: 100 })
    .toBe(1)
    .catch((err) => {
      throw new Error(`${err.message}\nserver output:\n${first.output()}`);
    });
  first.kill('SIGKILL');
  await first.exited;
  expect(await statusOf(reminderId)).toBe('sending');

  smtp.hangOnData = false;
  const second = await startServer(env);
  await expect.poll(() => statusOf(reminderId), { timeout: 90_000, interval: 250 }).toBe('review');
  // pg-boss retries a job whose worker died; the row, not the job, decides: nothing is sent.
  await enqueueReminder(db.pool, reminderId, new Date());
  await expect
    .poll(
      async () =>
        (
          await db.pool.query(
            `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'reminder-send' AND data->>'reminderId' = $1 AND state = 'completed'`,
            [reminderId],
          )
        ).rows[0].n,
      { timeout: 60_000, interval: 250 },
    )
    .toBe(1);
  expect(await statusOf(reminderId)).toBe('review');
  expect(smtp.dataStarted).toBe(1);
  expect(smtp.messages).toHaveLength(0);
  const { rows: detail } = await db.pool.query(`SELECT last_error, attempts FROM reminders WHERE id = $1`, [
    reminderId,
  ]);
  expect(detail[0]).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/may have been delivered/) });

  second.kill('SIGTERM');
  await second.exited;
}, 400_000);
