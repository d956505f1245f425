// A consistent base backup of the running PostgreSQL with the low-level backup API
// (pg_backup_start / pg_backup_stop): no pg_basebackup needed, which the embedded PostgreSQL's
// package does not ship (and Debian's 15 cannot talk to a PostgreSQL 18). It copies the data
// directory, so it runs on the database's machine; an external PostgreSQL elsewhere is backed
// up with its own tools (docs/operations.md, "Backups").
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { baseDir, listBackups, walDir, type BackupInfo } from './catalog.js';
import { copyDataDir } from './files.js';

export class BackupError extends Error {}

export interface BackupResult extends BackupInfo {
  dir: string;
  bytes: number;
  removed: string[];
  removedWalFiles: number;
}

const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-');

export async function takeBackup({
  databaseUrl,
  backupDir,
  retentionDays,
  now = () => new Date(),
}: {
  databaseUrl: string;
  backupDir: string;
  retentionDays: number;
  now?: () => Date;
}): Promise<BackupResult> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string; archive_mode: string; version: string }>(
      `SELECT current_setting('data_directory') AS data_directory, current_setting('archive_mode') AS archive_mode,
              current_setting('server_version') AS version`,
    );
    const { data_directory: dataDirectory, archive_mode: archiveMode, version } = rows[0]!;
    if (archiveMode !== 'on' && archiveMode !== 'always') {
      throw new BackupError(
        'WAL archiving is off, so a backup could not be replayed to a point in time. Set BACKUP_DIR and restart ' +
          'the server (the embedded PostgreSQL then archives), or set archive_mode and archive_command on your PostgreSQL.',
      );
    }
    if (!existsSync(path.join(dataDirectory, 'PG_VERSION'))) {
      throw new BackupError(
        `The database's data directory (${dataDirectory}) is not on this machine or not readable here. ` +
          'Back up an external PostgreSQL with pg_basebackup of the same major version (docs/operations.md, "Backups").',
      );
    }
    const startedAt = now();
    const name = stamp(startedAt);
    const target = path.join(baseDir(backupDir), name);
    const partial = `${target}.partial`;
    await rm(partial, { recursive: true, force: true });
    // fast = true: an immediate checkpoint rather than waiting for the next scheduled one.
    const start = await client.query<{ lsn: string; file: string }>(
      `SELECT lsn::text, pg_walfile_name(lsn) AS file FROM pg_backup_start($1, true) AS lsn`,
      [`clinic ${name}`],
    );
    let bytes: number;
    try {
      bytes = await copyDataDir(dataDirectory, path.join(partial, 'data'));
    } catch (err) {
      await client.query('SELECT pg_backup_stop(false)').catch(() => {});
      throw err;
    }
    // wait_for_archive = true: returns once the WAL this backup needs is in the archive.
    const stop = await client.query<{ lsn: string; labelfile: string; spcmapfile: string | null }>(
      'SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(true)',
    );
    const { lsn: stopLsn, labelfile, spcmapfile } = stop.rows[0]!;
    await writeFile(path.join(partial, 'data', 'backup_label'), labelfile, { mode: 0o600 });
    if (spcmapfile) await writeFile(path.join(partial, 'data', 'tablespace_map'), spcmapfile, { mode: 0o600 });
    const info: BackupInfo = {
      name,
      started_at: startedAt.toISOString(),
      finished_at: now().toISOString(),
      start_lsn: start.rows[0]!.lsn,
      stop_lsn: stopLsn,
      start_wal_file: start.rows[0]!.file,
      pg_version: version,
      complete: true,
    };
    await writeFile(path.join(partial, 'backup.json'), JSON.stringify(info, null, 2) + '\n');
    await mkdir(baseDir(backupDir), { recursive: true });
    await rename(partial, target);
    const { removed, removedWalFiles } = await applyRetention(backupDir, retentionDays, now());
    return { ...info, dir: target, bytes, removed, removedWalFiles };
  } finally {
    await client.end();
  }
}

/**
 * Deletes backups older than `retentionDays` (always keeping the newest), then the archived
 * WAL that no remaining backup needs: segments before the oldest backup's first one.
 */
export async function applyRetention(
  backupDir: string,
  retentionDays: number,
  now: Date,
): Promise<{ removed: string[]; removedWalFiles: number }> {
  const backups = listBackups(backupDir);
  const cutoff = now.getTime() - retentionDays * 86_400_000;
  const removed: string[] = [];
  for (const b of backups.slice(0, -1)) {
    if (Date.parse(b.finished_at) < cutoff) {
      await rm(b.dir, { recursive: true, force: true });
      removed.push(b.name);
    }
  }
  const kept = listBackups(backupDir);
  const oldestNeeded = kept[0]?.start_wal_file;
  let removedWalFiles = 0;
  if (oldestNeeded && existsSync(walDir(backupDir))) {
    for (const file of await readdir(walDir(backupDir))) {
      // Segment names are timeline + position in hex: name order is WAL order. History
      // files (*.history) stay: recovery needs them to follow timelines.
      if (/^[0-9A-F]{24}$/.test(file) && file.slice(8) < oldestNeeded.slice(8)) {
        await rm(path.join(walDir(backupDir), file));
        removedWalFiles++;
      }
    }
  }
  return { removed, removedWalFiles };
}
