// A server killed with SIGKILL cannot stop its embedded PostgreSQL: the postmaster lives on,
// holding the data directory, and the next start would refuse forever. Each start records
// which process owns the postmaster; a later start that finds the postmaster alive but its
// owner dead stops it cleanly (fast shutdown, then harder signals) and starts its own.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const OWNER_FILE = 'postmaster.owner';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function postmasterPid(pgDir: string): number | undefined {
  const file = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n', 1)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Records this process as the owner of the postmaster now running in `pgDir`. */
export function recordPostmasterOwner(pgDir: string): void {
  writeFileSync(path.join(pgDir, OWNER_FILE), `${process.pid}\n${postmasterPid(pgDir) ?? ''}\n`);
}

export function forgetPostmasterOwner(pgDir: string): void {
  rmSync(path.join(pgDir, OWNER_FILE), { force: true });
}

/**
 * The pid of a live postmaster in `pgDir` whose recorded owner is dead (an orphan), or
 * undefined. A postmaster without an owner record, or with a live owner, is not an orphan.
 */
export function orphanedPostmaster(pgDir: string): number | undefined {
  const pid = postmasterPid(pgDir);
  if (!pid || !isAlive(pid)) return undefined;
  const file = path.join(pgDir, OWNER_FILE);
  if (!existsSync(file)) return undefined;
  const [owner, recordedPostmaster] = readFileSync(file, 'utf8').split('\n').map(Number);
  if (recordedPostmaster !== pid) return undefined; // someone else's postmaster since
  return owner && owner !== process.pid && isAlive(owner) ? undefined : pid;
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/**
 * Stops an orphaned postmaster: SIGINT (fast shutdown: running transactions roll back,
 * committed data is kept), then SIGQUIT (immediate: crash recovery at next start), then
 * SIGKILL. Resolves once it is gone.
 */
export async function stopOrphanedPostmaster(pid: number, log: (m: string) => void): Promise<void> {
  log(`stopping the embedded PostgreSQL (pid ${pid}) left running by a server that died`);
  for (const [signal, waitMs] of [
    ['SIGINT', 30_000],
    ['SIGQUIT', 10_000],
    ['SIGKILL', 10_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    if (await exited(pid, waitMs)) return;
    log(`embedded PostgreSQL (pid ${pid}) still running after ${signal}`);
  }
  throw new Error(`Could not stop the orphaned embedded PostgreSQL (pid ${pid}).`);
}
