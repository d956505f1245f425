// The database must be able to stop while the sync service streams from it (a fast shutdown
// waits for the replication client to confirm everything it was sent), and the service must
// pick the stream up again when the database comes back. Runs its own PostgreSQL: the shared
// test server can't be stopped.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded.js';
import { migrate } from '../../server/db/migrate.js';
import { createPool, type Pool } from '../../server/db/pool.js';
import { createLogger } from '../../server/logger.js';
import { SyncService } from '../../server/sync/service.js';
import { buildOpenShape } from '../../server/sync/shape-request.js';
import { waitFor } from '../setup/sync.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

let dataDir: string;
let port: number;
let pgServer: EmbeddedDatabase | undefined;
let url: string;
let pool: Pool;
let service: SyncService;

const start = () => startEmbeddedPostgres({ dataDir, port, extraFlags: ['-c', 'fsync=off'] });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'sync-shutdown-pg-'));
  await chmod(dataDir, 0o755);
  port = await freePort();
  pgServer = await start();
  await ensureDatabase(pgServer.adminUrl, 'shutdown');
  url = pgServer.urlFor('shutdown');
  await migrate(url);
  pool = createPool(url);
  pool.on('error', () => {});
  service = new SyncService({
    pool,
    databaseUrl: url,
    slotName: 'sync_shutdown_test',
    publication: 'clinic_sync',
    logger: createLogger('silent'),
    longPollMs: 1000,
  });
  await service.start();
  await waitFor(() => service.streaming, 30_000, 'replication');
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await pool?.end().catch(() => {});
  await pgServer?.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function doctorsShape() {
  const info = (await service.tableInfo('public', 'doctors'))!;
  const state = await service.shapeFor(buildOpenShape(info, { params: {}, replica: 'default' }), info);
  await state.ready;
  return state;
}

async function logHas(text: string) {
  const { rows } = await pool.query(`SELECT 1 FROM sync_shape_log WHERE body LIKE $1`, [`%${text}%`]);
  return rows.length > 0;
}

describe('database shutdown and return under a streaming sync service', () => {
  it('a fast shutdown mid-write completes, and the stream resumes when the database returns', async () => {
    await doctorsShape();
    const writer = createPool(url);
    writer.on('error', () => {});
    let writing = true;
    let n = 0;
    const writes = (async () => {
      while (writing) {
        await writer.query(`INSERT INTO doctors (full_name) VALUES ($1)`, [`Dr. Busy ${n++}`]).catch(() => {});
      }
    })();
    await waitFor(() => logHas('Dr. Busy 20'), 30_000, 'changes flowing');
    // Fast shutdown while changes stream. It used to wait on the replication client for as
    // long as the service ran; the test's own timeout is the bound here.
    await pgServer!.stop();
    pgServer = undefined;
    writing = false;
    await writes;
    await writer.end().catch(() => {});
    await waitFor(() => !service.streaming, 30_000, 'stream down');

    pgServer = await start();
    const after = createPool(url);
    after.on('error', () => {});
    await waitFor(() => service.streaming, 60_000, 'stream back');
    await after.query(`INSERT INTO doctors (full_name) VALUES ('Dr. After Restart')`);
    await after.end();
    await waitFor(() => logHas('Dr. After Restart'), 30_000, 'change after the restart');
    // Nothing written before the shutdown was lost or stored twice.
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT body)::int AS d FROM sync_shape_log l JOIN sync_shapes s ON s.id = l.shape_id
        WHERE s.state = 'ready' AND body LIKE '%Dr. Busy%'`,
    );
    const stored = await pool.query(`SELECT count(*)::int AS n FROM doctors WHERE full_name LIKE 'Dr. Busy%'`);
    expect(rows[0].n).toBe(rows[0].d);
    expect(rows[0].n).toBe(stored.rows[0].n);
  }, 240_000);
});
