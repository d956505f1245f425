// The clinic a load or chaos run works against: a real `npm start` in its own process on a
// temporary DATA_DIR (or an in-process server for the CI-sized runs), seeded data, users with
// ready sessions (created in the database: a thousand Argon2 logins would measure the
// password hash, not the system), and samples of the server process and PostgreSQL.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SESSION_COOKIE } from '../../server/auth/cookies.js';
import { createSession } from '../../server/auth/sessions.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface Person {
  id: string;
  role: 'admin' | 'receptionist' | 'clinician';
  doctorId: string | null;
  cookie: string;
}

/** A spawned `npm start` on its own DATA_DIR; restartable after a kill. */
export class SpawnedClinic {
  child?: ChildProcess;
  url = '';
  pgUrl = '';
  constructor(
    readonly dataDir: string,
    readonly env: Record<string, string>,
  ) {}

  static async create(extraEnv: Record<string, string> = {}, dataDirIn?: string): Promise<SpawnedClinic> {
    const dataDir = dataDirIn ?? (await mkdtemp(path.join(os.tmpdir(), 'clinic-load-')));
    await mkdir(dataDir, { recursive: true });
    await chmod(dataDir, 0o755);
    const [port, pgPort] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${port}`;
    const clinic = new SpawnedClinic(dataDir, {
      DATABASE_URL: '',
      DATA_DIR: dataDir,
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      PUBLIC_ORIGIN: url,
      SEED_DEMO: 'false',
      LOG_LEVEL: 'warn',
      // The load is many users from one address: the abuse caps would measure themselves.
      RATE_LIMIT_USER_PER_HOUR: '100000000',
      RATE_LIMIT_WRITES_PER_HOUR: '100000000',
      RATE_LIMIT_ANON_PER_HOUR: '100000000',
      RATE_LIMIT_SYNC_PER_HOUR: '100000000',
      ...extraEnv,
    });
    clinic.url = url;
    clinic.pgUrl = `postgres://postgres:clinic-local@127.0.0.1:${pgPort}/clinic`;
    await clinic.start();
    return clinic;
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, [TSX, 'server/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const child = this.child;
    for (let i = 0; i < 1200; i++) {
      if (child.exitCode !== null) throw new Error(`the server exited during startup (${child.exitCode})`);
      const ok = await fetch(`${this.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error('the server did not become ready');
  }

  /** The server process itself (tsx starts it as a child of its launcher). */
  serverPid(): number | undefined {
    const f = path.join(this.dataDir, 'server.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8')) : undefined;
  }

  postmasterPid(): number | undefined {
    const f = path.join(this.dataDir, 'pg', 'postmaster.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').split('\n', 1)[0]) : undefined;
  }

  /** kill -9 of the server process; its launcher exits with it. */
  async kill9(): Promise<void> {
    const pid = this.serverPid();
    const exited = new Promise((r) => this.child?.once('exit', r));
    if (pid) process.kill(pid, 'SIGKILL');
    await exited;
  }

  async stop({ keepDataDir = false } = {}): Promise<void> {
    if (this.child && this.child.exitCode === null) {
      const exited = new Promise((r) => this.child!.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    if (!keepDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  run(script: string, args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [TSX, script, ...args], {
        cwd: ROOT,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}`))));
    });
  }

  seed(data: { doctors: number; patients: number; appointments: number }): Promise<void> {
    return this.run('server/cli/seed.ts', [
      '--doctors',
      String(data.doctors),
      '--patients',
      String(data.patients),
      '--appointments',
      String(data.appointments),
    ]);
  }
}

/**
 * `n` people with sessions: roles in the given shares, clinicians spread over the doctors.
 * Users are inserted directly with an unusable password hash: only their sessions are used.
 * A doctor has at most one clinician account, so clinicians of one doctor share it.
 */
export async function createPeople(
  pool: pg.Pool,
  n: number,
  shares: { admin: number; receptionist: number; clinician: number },
  label: string,
): Promise<Person[]> {
  const doctors = (await pool.query<{ id: string }>('SELECT id FROM doctors WHERE active ORDER BY id')).rows.map(
    (r) => r.id,
  );
  const people: Person[] = [];
  for (let i = 0; i < n; i++) {
    const x = (i + 0.5) / n;
    const role = x < shares.admin ? 'admin' : x < shares.admin + shares.receptionist ? 'receptionist' : 'clinician';
    const doctorId = role === 'clinician' ? doctors[i % doctors.length]! : null;
    // A doctor has one clinician account: its devices and staff seats share it (own sessions).
    const existing = doctorId
      ? (await pool.query<{ id: string }>('SELECT id FROM users WHERE doctor_id = $1', [doctorId])).rows
      : [];
    const rows = existing.length
      ? existing
      : (
          await pool.query<{ id: string }>(
            `INSERT INTO users (email, full_name, role, password_hash, doctor_id) VALUES ($1, $2, $3, 'x', $4) RETURNING id`,
            [`${label}-${i}-${randomUUID().slice(0, 6)}@load.clinic`, `${label} ${i}`, role, doctorId],
          )
        ).rows;
    const session = await createSession(pool, rows[0]!.id, { days: 1, maxDays: 2 });
    people.push({ id: rows[0]!.id, role, doctorId, cookie: `${SESSION_COOKIE}=${session.token}` });
  }
  return people;
}

/** CPU seconds and RSS of a process, from /proc (Linux). */
export function processSample(pid: number | undefined): { cpu_seconds: number; rss_mb: number } | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpu_seconds: ticks / 100, rss_mb: Math.round(rssKb / 1024) };
  } catch {
    return null;
  }
}

/** Samples the server's RSS and CPU and PostgreSQL's connections once a second. */
export function startSampler(pool: pg.Pool, serverPid: () => number | undefined) {
  const samples: { t: number; rss_mb: number; cpu_seconds: number; pg_connections: number }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const proc = processSample(serverPid());
      const conns = await pool
        .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'`)
        .then(
          (r) => r.rows[0]!.n,
          () => -1,
        );
      if (proc) samples.push({ t: Date.now(), ...proc, pg_connections: conns });
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const first = samples[0];
      const last = samples.at(-1);
      const seconds = first && last ? (last.t - first.t) / 1000 : 0;
      return {
        samples: samples.length,
        rss_mb_max: Math.max(0, ...samples.map((s) => s.rss_mb)),
        rss_mb_last: last?.rss_mb ?? null,
        cpu_percent_avg:
          first && last && seconds > 0 ? Math.round(((last.cpu_seconds - first.cpu_seconds) / seconds) * 100) : null,
        pg_connections_max: Math.max(0, ...samples.map((s) => s.pg_connections)),
      };
    },
  };
}
