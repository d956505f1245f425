// Copying a live or backed-up PostgreSQL data directory, file by file.
import { chown, copyFile, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * What a base backup leaves out (PostgreSQL's own list for pg_basebackup): WAL comes from
 * the archive, the rest is rebuilt at start. Their directories are kept, empty.
 */
const EMPTY_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);
const SKIP_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label.old', 'tablespace_map.old']);

/**
 * Copies `from` into `to` (created). Files that vanish while a live cluster is copied are
 * skipped: PostgreSQL's backup protocol makes the copy consistent through WAL replay.
 */
export async function copyDataDir(from: string, to: string, { live = true } = {}): Promise<number> {
  let bytes = 0;
  const walk = async (src: string, dest: string, depth: number) => {
    await mkdir(dest, { recursive: true, mode: 0o700 });
    let entries;
    try {
      entries = await readdir(src, { withFileTypes: true });
    } catch (err) {
      if (live && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const s = path.join(src, entry.name);
      const d = path.join(dest, entry.name);
      if (depth === 0 && SKIP_FILES.has(entry.name)) continue;
      if (entry.name.startsWith('pgsql_tmp')) continue;
      if (depth === 0 && live && EMPTY_DIRS.has(entry.name)) {
        await mkdir(d, { mode: 0o700 });
        if (entry.name === 'pg_wal') await mkdir(path.join(d, 'archive_status'), { mode: 0o700 });
        continue;
      }
      try {
        if (entry.isDirectory()) await walk(s, d, depth + 1);
        else if (entry.isSymbolicLink()) await symlink(await readlink(s), d);
        else if (entry.isFile()) {
          await copyFile(s, d);
          bytes += (await lstat(d)).size;
        }
      } catch (err) {
        if (live && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
    }
  };
  await walk(from, to, 0);
  return bytes;
}

/** chown -R, for a directory the embedded PostgreSQL (running as its own OS user) must own. */
export async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, uid, gid);
    else await chown(p, uid, gid).catch(() => {});
  }
}
