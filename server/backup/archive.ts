// WAL archiving for the embedded PostgreSQL: with BACKUP_DIR set, every finished WAL segment
// is copied to BACKUP_DIR/wal by PostgreSQL's archive_command. Together with a base backup
// that is what point-in-time recovery replays.
import { execFileSync } from 'node:child_process';
import { chown, mkdir } from 'node:fs/promises';
import { walDir } from './catalog.js';

/** The embedded PostgreSQL's OS user when the server runs as root (it refuses root itself). */
export function postgresOsUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

/** Server flags that turn archiving on into `backupDir`, whose wal/ folder is made writable for PostgreSQL. */
export async function archiveFlags(backupDir: string): Promise<string[]> {
  const wal = walDir(backupDir);
  if (/['"%\n]/.test(wal)) throw new Error(`BACKUP_DIR must not contain quotes, % or newlines: ${backupDir}`);
  await mkdir(wal, { recursive: true, mode: 0o700 });
  const owner = postgresOsUser();
  if (owner) {
    await chown(backupDir, owner.uid, owner.gid).catch(() => {});
    await chown(wal, owner.uid, owner.gid);
  }
  return [
    '-c',
    'archive_mode=on',
    // Never overwrite a segment already archived (a restored cluster's old timeline, say).
    '-c',
    `archive_command=test ! -f '${wal}/%f' && cp '%p' '${wal}/%f'`,
    // A quiet clinic still gets its last writes archived within five minutes.
    '-c',
    'archive_timeout=300',
  ];
}
