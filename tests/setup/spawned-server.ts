// `npm start` as a separate process (tsx server/index.ts) on a DATA_DIR of its own: for the
// tests and the chaos suite that kill things for real (kill -9 of the server, of PostgreSQL).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface SpawnedServer {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  url: string;
}

export function spawnServer(env: Record<string, string> & { PORT: string; DATA_DIR: string }): SpawnedServer {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/index.ts'], {
    cwd: ROOT,
    // PUBLIC_ORIGIN matches the Origin header ApiClient sends.
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', PUBLIC_ORIGIN: 'http://clinic.test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output, url: `http://127.0.0.1:${env.PORT}` };
}

export async function waitFor(
  url: string,
  timeoutMs: number,
  ok = (r: Response) => r.status === 200,
): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (ok(res) || Date.now() > until) return res;
    } catch {
      if (Date.now() > until) throw new Error(`timed out waiting for ${url}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The pid in DATA_DIR/server.pid (the server itself, not tsx's launcher), if any. */
export function serverPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'server.pid');
  return existsSync(file) ? Number(readFileSync(file, 'utf8')) : undefined;
}

/** The embedded postmaster's pid, from its lock file. */
export function postmasterPid(dataDir: string): number | undefined {
  const file = path.join(dataDir, 'pg', 'postmaster.pid');
  // A postmaster that is starting or stopping removes the file between the check and the read.
  try {
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n', 1)[0]) : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}
