// Real processes killed for real. The embedded PostgreSQL killed under a running server is
// restarted by it (meanwhile calls are 503 database_unavailable, never 500). A server killed
// with SIGKILL leaves its postmaster running; the next start stops that orphan and comes up
// on the same data, while a start next to a live server is still refused.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../../server/seed/demo.js';
import { ApiClient } from '../setup/server.js';
import {
  freePort,
  isAlive,
  postmasterPid,
  serverPid,
  spawnServer,
  waitFor,
  waitUntil,
  type SpawnedServer,
} from '../setup/spawned-server.js';

let dataDir: string;
const servers: SpawnedServer[] = [];
afterAll(async () => {
  for (const s of servers) s.child.kill('SIGKILL');
  const pid = dataDir ? serverPid(dataDir) : undefined;
  if (isAlive(pid)) process.kill(pid!, 'SIGKILL');
  const pm = dataDir ? postmasterPid(dataDir) : undefined;
  if (isAlive(pm)) process.kill(pm!, 'SIGKILL');
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('crash recovery of npm start', () => {
  it('restarts a killed PostgreSQL, and takes over from a killed server', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-crash-'));
    await chmod(dataDir, 0o755);
    const env = {
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
      SEED_DEMO: 'true',
      LOG_LEVEL: 'info',
    };
    const first = spawnServer(env);
    servers.push(first);
    expect((await waitFor(`${first.url}/readyz`, 90_000)).status, first.output()).toBe(200);
    const client = new ApiClient(first.url);
    await client.login('admin@demo.clinic', DEMO_PASSWORD);

    // 1. kill -9 PostgreSQL under the running server.
    const pm1 = postmasterPid(dataDir)!;
    process.kill(pm1, 'SIGKILL');
    expect(await waitUntil(() => !isAlive(pm1), 10_000)).toBe(true);
    const statuses = new Set<string>();
    const back = await waitUntil(async () => {
      const res = await client.get('/api/auth/me');
      statuses.add(res.status === 200 ? '200' : `${res.status} ${res.body?.error?.code}`);
      const pm = postmasterPid(dataDir);
      return res.status === 200 && pm !== pm1 && isAlive(pm);
    }, 60_000);
    expect(back, `${[...statuses]} ${first.output()}`).toBe(true);
    for (const s of statuses) expect(['200', '503 database_unavailable']).toContain(s);
    const pm2 = postmasterPid(dataDir)!;
    expect(pm2).not.toBe(pm1);
    expect(isAlive(pm2)).toBe(true);

    // 2. kill -9 the server: its postmaster lives on, holding the data directory.
    const pid = serverPid(dataDir)!;
    process.kill(pid, 'SIGKILL');
    await first.exited;
    expect(await waitUntil(() => !isAlive(pid), 10_000)).toBe(true);
    expect(isAlive(pm2)).toBe(true);

    // 3. The next start stops the orphan and comes up on the same data.
    const second = spawnServer(env);
    servers.push(second);
    expect((await waitFor(`${second.url}/readyz`, 90_000)).status, second.output()).toBe(200);
    expect(isAlive(pm2)).toBe(false);
    const again = new ApiClient(second.url);
    await again.login('admin@demo.clinic', DEMO_PASSWORD);
    expect((await again.get('/api/patients?page_size=1')).body.count).toBeGreaterThan(0);

    // 4. A start next to the live server is still refused, and harms nothing.
    const third = spawnServer({ ...env, PORT: String(await freePort()) });
    servers.push(third);
    expect(await third.exited).toBe(1);
    expect(third.output()).toMatch(/already running/i);
    expect((await again.get('/api/auth/me')).status).toBe(200);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(isAlive(postmasterPid(dataDir))).toBe(false);
  }, 240_000);
});
