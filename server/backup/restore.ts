// Restores a base backup into a new data directory and replays the WAL archive, to its end
// or to a point in time (recovery_target_time), then promotes it to a normal cluster. The
// running installation is never touched: the result is started with DATA_DIR=<new dir>.
import { existsSync } from 'node:fs';
import { appendFile, chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { postgresOsUser } from './archive.js';
import { latestBackup, listBackups, type BackupInfo } from './catalog.js';
import { chownTree, copyDataDir } from './files.js';

export class RestoreError extends Error {}

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

/** `from`: a backup's folder, its name under BACKUP_DIR/base, or "latest". */
export function findBackup(from: string, backupDir: string | undefined): BackupInfo & { dir: string } {
  if (existsSync(path.join(from, 'backup.json'))) {
    const dir = path.resolve(from);
    const parentBackupDir = path.dirname(path.dirname(dir));
    const match = listBackups(parentBackupDir).find((b) => b.dir === dir);
    if (match) return match;
  }
  if (backupDir) {
    const match = from === 'latest' ? latestBackup(backupDir) : listBackups(backupDir).find((b) => b.name === from);
    if (match) return match;
  }
  throw new RestoreError(
    `No complete backup at "${from}". Give a backup's folder (BACKUP_DIR/base/<name>), its name, or "latest" with BACKUP_DIR set.`,
  );
}

export async function restoreBackup({
  backup,
  walArchive,
  into,
  targetTime,
  onLog = () => {},
}: {
  backup: BackupInfo & { dir: string };
  walArchive: string;
  /** The new DATA_DIR: must not exist, or be empty. Its cluster goes to <into>/pg as `npm start` expects. */
  into: string;
  targetTime?: Date;
  onLog?: (m: string) => void;
}): Promise<{ dataDir: string }> {
  if (existsSync(into) && (await readdir(into)).length) {
    throw new RestoreError(
      `${into} is not empty: restore into a new directory (the current data is never overwritten).`,
    );
  }
  if (targetTime && targetTime.getTime() < Date.parse(backup.finished_at)) {
    throw new RestoreError(
      `--to ${targetTime.toISOString()} is before backup ${backup.name} finished (${backup.finished_at}): pick an older backup.`,
    );
  }
  const pgDir = path.join(into, 'pg');
  await copyDataDir(path.join(backup.dir, 'data'), pgDir, { live: false });
  await chmod(into, 0o755);
  await chmod(pgDir, 0o700);
  await writeFile(path.join(pgDir, 'recovery.signal'), '');
  const recovery = [
    `restore_command = 'cp "${walArchive}/%f" "%p"'`,
    // PostgreSQL's timestamptz input: "2026-11-30 09:15:00.123+00" (it refuses the ISO "T…Z").
    ...(targetTime
      ? [`recovery_target_time = '${targetTime.toISOString().replace('T', ' ').replace('Z', '+00')}'`]
      : []),
    "recovery_target_action = 'promote'",
  ];
  const autoConf = path.join(pgDir, 'postgresql.auto.conf');
  const before = existsSync(autoConf) ? await readFile(autoConf, 'utf8') : '';
  await appendFile(autoConf, `\n# restore (removed when recovery is done)\n${recovery.join('\n')}\n`);
  const owner = postgresOsUser();
  if (owner) await chownTree(into, owner.uid, owner.gid);

  // Recovery runs now, on a private port, so the result is a normal cluster when this returns.
  const log: string[] = [];
  let db;
  try {
    db = await startEmbeddedPostgres({
      dataDir: into,
      port: await freePort(),
      // The restored cluster must not archive into the live installation's archive while it
      // replays; the server started on it later archives with its own settings.
      extraFlags: ['-c', 'archive_mode=off'],
      onLog: (m) => {
        log.push(m);
        onLog(m);
      },
    });
  } catch {
    const lines = log
      .join('')
      .split('\n')
      .filter((l) => /LOG|FATAL|PANIC|ERROR|DETAIL|HINT/.test(l));
    throw new RestoreError(`Recovery failed:\n${lines.slice(-12).join('\n')}`);
  }
  await db.stop();
  // Leave no recovery settings behind for the next start.
  await writeFile(autoConf, before);
  return { dataDir: into };
}
