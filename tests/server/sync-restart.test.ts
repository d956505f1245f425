// A real server process stopped mid-stream (SIGTERM, then SIGKILL) while writes go on: the
// client resumes from its handle and offset after the restart, never re-downloading the
// snapshot, and converges on the database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { shapeOf } from '../setup/shape-clients.js';
import { waitFor } from '../setup/sync.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let fx: Fixture;
let dataDir: string;
let port: number;
let child: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startProcess() {
  child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/index.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      SYNC_SLOT_NAME: 'sync_restart_test',
      SYNC_LONG_POLL_MS: '1000',
      PUBLIC_ORIGIN: 'http://clinic.test',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
    // Its own process group: tsx runs the server in a child process, and SIGKILL must reach it too.
    detached: true,
  });
  await waitFor(
    async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/v1/health`)).status === 200;
      } catch {
        return false;
      }
    },
    60_000,
    'server start',
  );
}

async function stopProcess(signal: NodeJS.Signals) {
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  process.kill(-child!.pid!, signal);
  await exited;
  // Wait for the whole group (the server runs in tsx's child process) to be gone.
  await waitFor(
    () => {
      try {
        process.kill(-child!.pid!, 0);
        return false;
      } catch {
        return true;
      }
    },
    20_000,
    'server exit',
  );
  child = undefined;
}

let nextSlot = 0;
async function book() {
  const i = nextSlot++;
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '15 minutes', 15)`,
    [
      id,
      fx.patients[i % fx.patients.length],
      i % 2 ? fx.doctorA : fx.doctorB,
      new Date(Date.UTC(2031, 0, 1) + i * 3_600_000),
    ],
  );
  return id;
}

async function expectedIds() {
  return (await db.pool.query('SELECT id FROM appointments WHERE deleted_at IS NULL ORDER BY id')).rows.map(
    (r) => r.id,
  );
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-sync-restart-'));
  await chmod(dataDir, 0o755);
  port = await freePort();
  await startProcess();
});

afterAll(async () => {
  if (child) await stopProcess('SIGTERM');
  // PostgreSQL notices the walsender's client is gone a moment after the process exits.
  await waitFor(
    async () => {
      const { rows } = await db.pool.query(
        `SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sync_restart_test' AND active`,
      );
      return rows.length === 0;
    },
    20_000,
    'slot release',
  );
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

it('resumes after SIGTERM and SIGKILL without refetching the snapshot', async () => {
  for (let i = 0; i < 5; i++) await book();
  const api = new ApiClient(`http://127.0.0.1:${port}`);
  await api.login(fx.users.receptionist.email, TEST_PASSWORD);
  const counter = { requests: [] as string[] };
  const { stream, shape } = shapeOf(`http://127.0.0.1:${port}`, api.cookie, { table: 'appointments' }, counter);
  await shape.rows;
  const converged = async () => {
    const want = await expectedIds();
    const have = shape.currentRows.map((r) => r.id as string).sort();
    return JSON.stringify(want) === JSON.stringify(have);
  };
  await waitFor(converged, 10_000, 'initial sync');

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    const writes = [book(), book()];
    await stopProcess(signal);
    await Promise.all(writes);
    for (let i = 0; i < 5; i++) await book();
    await db.pool.query(
      `UPDATE appointments SET deleted_at = now() WHERE id = (SELECT id FROM appointments WHERE deleted_at IS NULL ORDER BY id LIMIT 1)`,
    );
    await startProcess();
    await waitFor(converged, 60_000, `convergence after ${signal}`);
    for (let i = 0; i < 3; i++) await book();
    await waitFor(converged, 20_000, `live changes after ${signal}`);
  }
  const snapshots = counter.requests.filter((u) => new URL(u).searchParams.get('offset') === '-1');
  expect(snapshots).toHaveLength(1);
  stream.unsubscribeAll();
}, 180_000);
