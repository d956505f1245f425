// Where backups live and how they are described. BACKUP_DIR holds
//   wal/                  the WAL archive (archive_command copies every finished segment here)
//   base/<name>/data/     a base backup: the data directory copied between pg_backup_start
//                         and pg_backup_stop, with the backup_label PostgreSQL handed back
//   base/<name>/backup.json   what that backup is (times, WAL positions, PostgreSQL version)
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface BackupInfo {
  name: string;
  started_at: string;
  finished_at: string;
  start_lsn: string;
  stop_lsn: string;
  /** First WAL segment the backup needs: the archive keeps everything from the oldest one's on. */
  start_wal_file: string;
  pg_version: string;
  /** Set by `npm run backup`, absent for a copy someone is still writing. */
  complete: true;
}

export const walDir = (backupDir: string) => path.join(backupDir, 'wal');
export const baseDir = (backupDir: string) => path.join(backupDir, 'base');

/** Complete backups, oldest first. */
export function listBackups(backupDir: string): Array<BackupInfo & { dir: string }> {
  const base = baseDir(backupDir);
  if (!existsSync(base)) return [];
  const out: Array<BackupInfo & { dir: string }> = [];
  for (const name of readdirSync(base).sort()) {
    const file = path.join(base, name, 'backup.json');
    if (!existsSync(file)) continue;
    try {
      const info = JSON.parse(readFileSync(file, 'utf8')) as BackupInfo;
      if (info.complete) out.push({ ...info, dir: path.join(base, name) });
    } catch {
      /* a damaged description: not a usable backup */
    }
  }
  return out.sort((a, b) => a.finished_at.localeCompare(b.finished_at));
}

export function latestBackup(backupDir: string): (BackupInfo & { dir: string }) | undefined {
  return listBackups(backupDir).at(-1);
}
