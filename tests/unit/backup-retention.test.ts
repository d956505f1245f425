// Retention: backups older than BACKUP_RETENTION_DAYS go (never the newest), and so does the
// archived WAL that no remaining backup needs; timeline history files stay.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../../server/backup/backup.js';
import { listBackups } from '../../server/backup/catalog.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function fakeBackup(root: string, name: string, finishedAt: string, startWal: string) {
  await mkdir(path.join(root, 'base', name, 'data'), { recursive: true });
  await writeFile(
    path.join(root, 'base', name, 'backup.json'),
    JSON.stringify({ name, started_at: finishedAt, finished_at: finishedAt, start_wal_file: startWal, complete: true }),
  );
}

describe('applyRetention', () => {
  it('removes old backups and the WAL before the oldest kept one', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'clinic-retention-'));
    dirs.push(root);
    await fakeBackup(root, 'b1', '2026-01-01T00:00:00.000Z', '000000010000000000000002');
    await fakeBackup(root, 'b2', '2026-01-10T00:00:00.000Z', '000000010000000000000005');
    await fakeBackup(root, 'b3', '2026-01-20T00:00:00.000Z', '000000010000000000000009');
    await mkdir(path.join(root, 'wal'));
    const wal = [
      '000000010000000000000002',
      '000000010000000000000004',
      '000000010000000000000005',
      '00000002.history',
    ];
    for (const f of wal) await writeFile(path.join(root, 'wal', f), '');
    // Someone's half-written backup (no backup.json) is not a backup and is left alone.
    await mkdir(path.join(root, 'base', 'b4.partial', 'data'), { recursive: true });

    const result = await applyRetention(root, 14, new Date('2026-01-21T00:00:00.000Z'));
    expect(result).toEqual({ removed: ['b1'], removedWalFiles: 2 });
    expect(listBackups(root).map((b) => b.name)).toEqual(['b2', 'b3']);
    expect((await readdir(path.join(root, 'wal'))).sort()).toEqual(['000000010000000000000005', '00000002.history']);
    expect(existsSync(path.join(root, 'base', 'b4.partial'))).toBe(true);

    // The newest backup is kept however old it is.
    const later = await applyRetention(root, 1, new Date('2027-01-01T00:00:00.000Z'));
    expect(later.removed).toEqual(['b2']);
    expect(listBackups(root).map((b) => b.name)).toEqual(['b3']);
  });
});
