// Backups and point-in-time restore on the embedded PostgreSQL, as an operator runs them:
// write, back up, write more, note the time, write more; restore to the noted time into a new
// data directory, start the server on it, and find exactly the writes made before that time.
// A device that synced the lost future gets a 409 and refetches.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../server/backup/backup.js';
import { latestBackup, listBackups, walDir } from '../../server/backup/catalog.js';
import { restoreBackup } from '../../server/backup/restore.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createFixture, TEST_PASSWORD } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function tempDir(prefix: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755); // as root, the embedded PostgreSQL runs as `postgres` and must get in
  return dir;
}

async function start(dataDir: string, backupDir: string): Promise<RunningServer> {
  const port = await freePort();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: dataDir,
    BACKUP_DIR: backupDir,
    PORT: String(port),
    PUBLIC_ORIGIN: `http://127.0.0.1:${port}`,
    EMBEDDED_PG_PORT: String(await freePort()),
    SEED_DEMO: 'false',
    SYNC_LONG_POLL_MS: '1000',
  });
  return startServer(config, createLogger('silent'), { buildIfMissing: false });
}

const dirs: string[] = [];
const running: RunningServer[] = [];
afterAll(async () => {
  for (const r of running) await r.stop().catch(() => {});
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('npm run backup / npm run restore', () => {
  it('restores to a point in time: exactly the writes before it, and devices refetch', async () => {
    const dataDir = await tempDir('clinic-pitr-data-');
    const backupDir = await tempDir('clinic-pitr-backups-');
    const restoredDir = path.join(await tempDir('clinic-pitr-restored-'), 'data');
    dirs.push(dataDir, backupDir, path.dirname(restoredDir));

    const live = await start(dataDir, backupDir);
    running.push(live);
    const pool = live.deps.pool;
    const fx = await createFixture(pool, { patients: 0 });
    const write = async (label: string) => {
      for (let i = 1; i <= 3; i++) {
        await pool.query(`INSERT INTO patients (full_name, date_of_birth, mrn) VALUES ($1, '1980-01-01', $2)`, [
          `PITR ${label} ${i}`,
          `PITR-${label}-${i}`,
        ]);
      }
    };

    await write('before-backup');
    // A device syncs the patients shape now; its offsets will outlive the restore.
    const device = new ApiClient(live.url, live.deps.config.publicOrigin);
    await device.login(fx.users.receptionist.email, TEST_PASSWORD);
    const first = await device.get('/v1/shape?table=patients&offset=-1');
    expect(first.status).toBe(200);
    const handle = first.headers.get('electric-handle')!;

    const backup = await takeBackup({ databaseUrl: live.databaseUrl, backupDir, retentionDays: 14 });
    expect(backup.complete).toBe(true);
    expect(latestBackup(backupDir)?.name).toBe(backup.name);

    await write('after-backup');
    await sleep(1200);
    const target = (await pool.query<{ t: Date }>('SELECT clock_timestamp() AS t')).rows[0]!.t;
    await sleep(1200);
    await write('after-target');
    // The device catches up with everything, the lost future included.
    let offset = first.headers.get('electric-offset')!;
    for (let i = 0; i < 10; i++) {
      const res = await device.get(`/v1/shape?table=patients&handle=${handle}&offset=${offset}`);
      expect(res.status).toBe(200);
      offset = res.headers.get('electric-offset')!;
      if (JSON.stringify(res.body).includes('PITR after-target 3')) break;
    }
    // Close the current WAL segment and wait until the archive has it.
    const { rows: sw } = await pool.query<{ file: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS file');
    for (let i = 0; i < 100; i++) {
      const { rows } = await pool.query<{ last: string | null }>(
        'SELECT last_archived_wal AS last FROM pg_stat_archiver',
      );
      if (rows[0]!.last && rows[0]!.last >= sw[0]!.file) break;
      await sleep(200);
    }

    await restoreBackup({
      backup: latestBackup(backupDir)!,
      walArchive: walDir(backupDir),
      into: restoredDir,
      targetTime: target,
    });
    await live.stop();
    running.splice(running.indexOf(live), 1);

    const restored = await start(restoredDir, backupDir);
    running.push(restored);
    const { rows } = await restored.deps.pool.query<{ full_name: string }>(
      `SELECT full_name FROM patients WHERE full_name LIKE 'PITR %' ORDER BY full_name`,
    );
    expect(rows.map((r) => r.full_name)).toEqual([
      'PITR after-backup 1',
      'PITR after-backup 2',
      'PITR after-backup 3',
      'PITR before-backup 1',
      'PITR before-backup 2',
      'PITR before-backup 3',
    ]);

    // The device's offset is from a future this database never had: 409, refetch from scratch.
    const back = new ApiClient(restored.url, restored.deps.config.publicOrigin);
    await back.login(fx.users.receptionist.email, TEST_PASSWORD);
    const stale = await back.get(`/v1/shape?table=patients&handle=${handle}&offset=${offset}`);
    expect(stale.status).toBe(409);
    const refetch = await back.get('/v1/shape?table=patients&offset=-1');
    expect(refetch.status).toBe(200);
    expect(JSON.stringify(refetch.body)).not.toContain('after-target');
    expect(listBackups(backupDir)).toHaveLength(1);
    // Three cold starts of PostgreSQL (the live one, the recovery, the restored one).
  }, 240_000);
});
