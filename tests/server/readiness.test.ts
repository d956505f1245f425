// /readyz is 503 while the database is unreachable (refused or hanging) or a registered part
// such as replication reports not ready, and 200 again by itself once they are back. The
// database "outage" is a real TCP proxy in front of the test PostgreSQL that we cut and restore.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../server/db/pool.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { startTestServer, type TestServer } from '../setup/server.js';

/** A TCP proxy to PostgreSQL that can refuse connections, swallow them, or pass them on. */
class FlakyProxy {
  mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  private server?: net.Server;
  private sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async listen(port = 0) {
    this.server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => {});
      if (this.mode === 'blackhole') return; // accept, then never answer
      const upstream = net.connect(this.target);
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  private cutAll() {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async refuse() {
    this.mode = 'refuse';
    this.cutAll();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  async blackhole() {
    if (this.mode === 'refuse') await this.listen(this.port);
    this.mode = 'blackhole';
    this.cutAll();
  }

  async restore() {
    if (this.mode === 'refuse') await this.listen(this.port);
    this.mode = 'pass';
    this.cutAll();
  }

  async close() {
    this.cutAll();
    if (this.mode !== 'refuse') await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

let db: TestDatabase;
let proxy: FlakyProxy;
let server: TestServer;
let replicationReady = true;

async function readyz() {
  const res = await fetch(`${server.url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, boolean> } };
}

async function eventually(status: number) {
  const until = Date.now() + 20_000;
  for (;;) {
    const r = await readyz();
    if (r.status === status || Date.now() > until) return r;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = new FlakyProxy({ host: target.hostname, port: Number(target.port) });
  await proxy.listen();
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const pool = createPool(viaProxy.toString(), { max: 5 });
  server = await startTestServer(db, {}, (deps) => ({
    ...deps,
    pool,
    readiness: { replication: () => replicationReady },
  }));
});
afterAll(async () => {
  await server?.close();
  await proxy?.close();
  await db?.drop();
});

describe('/readyz', () => {
  it('is 200 with every check true when all is well', async () => {
    const r = await readyz();
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: 'ready', checks: { database: true, replication: true } });
  });

  it('is 503 while the database refuses connections, and recovers by itself', async () => {
    await proxy.refuse();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks.database).toBe(false);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await proxy.restore();
    const up = await eventually(200);
    expect(up.status).toBe(200);
    expect(up.body.checks.database).toBe(true);
  });

  it('is 503 (not a hang) while the database accepts connections but never answers', async () => {
    await proxy.blackhole();
    // Let the pool notice its cut connections, so the probe must open a new one (that hangs).
    await new Promise((resolve) => setTimeout(resolve, 200));
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks.database).toBe(false);
    await proxy.restore();
    expect((await eventually(200)).status).toBe(200);
  });

  it('is 503 while replication reports not ready, and 200 once it is back', async () => {
    replicationReady = false;
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body.checks).toEqual({ database: true, replication: false });
    replicationReady = true;
    expect((await readyz()).status).toBe(200);
  });

  it('treats a check that throws as not ready, not as a server error', async () => {
    server.deps.readiness!.broken = () => {
      throw new Error('replication state unknown');
    };
    try {
      const r = await readyz();
      expect(r.status).toBe(503);
      expect(r.body.checks.broken).toBe(false);
    } finally {
      delete server.deps.readiness!.broken;
    }
    expect((await readyz()).status).toBe(200);
  });
});
