// `npm start` as a user runs it: a fresh DATA_DIR, the embedded PostgreSQL, migrations,
// demo seed, /healthz and /readyz, a refused second start, and a clean stop on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch {
      if (Date.now() > until) throw new Error(`timed out waiting for ${url}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

describe('npm start on a fresh DATA_DIR', () => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('boots, serves health and the app, refuses a second start, and stops cleanly', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-boot-'));
    await chmod(dataDir, 0o755);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
    };
    const first = start(env);
    children.push(first.child);
    const health = await waitFor(`http://127.0.0.1:${env.PORT}/healthz`, 90_000);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${env.PORT}/readyz`);
    expect(ready.status).toBe(200);
    const page = await fetch(`http://127.0.0.1:${env.PORT}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    expect(first.output()).toContain('admin@demo.clinic');

    // A second server on the same DATA_DIR must refuse, naming the problem, and not harm the first.
    const second = start({ ...env, PORT: String(await freePort()) });
    children.push(second.child);
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(/already running/i);
    expect((await fetch(`http://127.0.0.1:${env.PORT}/healthz`)).status).toBe(200);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'server.pid'))).toBe(false);

    // The data directory is reused: the next start finds the seeded clinic and starts again.
    const third = start(env);
    children.push(third.child);
    expect((await waitFor(`http://127.0.0.1:${env.PORT}/readyz`, 60_000)).status).toBe(200);
    third.child.kill('SIGINT');
    expect(await third.exited).toBe(0);
    // Three cold starts of a TypeScript process on a shared 2-core machine.
  }, 240_000);

  it.skipIf(process.getuid?.() !== 0)(
    "as root, a DATA_DIR the database's OS user cannot enter stops with what to change, not an EACCES stack",
    async () => {
      const privateDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-private-')); // 0700, owned by root
      try {
        const run = start({
          DATA_DIR: path.join(privateDir, 'data'),
          PORT: String(await freePort()),
          EMBEDDED_PG_PORT: String(await freePort()),
        });
        children.push(run.child);
        expect(await run.exited).toBe(1);
        expect(run.output()).toContain(`cannot enter ${privateDir}`);
        expect(run.output()).toContain('chmod o+x');
        expect(run.output()).not.toMatch(/EACCES|\n\s+at /);
      } finally {
        await rm(privateDir, { recursive: true, force: true });
      }
    },
  );
});
