// Finds the database the process should use: DATABASE_URL if set (checked), otherwise the
// embedded PostgreSQL in DATA_DIR, started here or, if another process of ours already runs
// it (a CLI next to `npm start`), reused.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { archiveFlags } from '../backup/archive.js';
import { assertDataDirUsable } from './data-dir-access.js';
import { DataDirInUseError, embeddedSocketUrl, ensureDatabase, startEmbeddedPostgres } from './embedded.js';
import { orphanedPostmaster, stopOrphanedPostmaster } from './embedded-orphan.js';
import type { EmbeddedStatus } from './embedded-supervisor.js';
import { checkDatabaseServer } from './server-check.js';

export const EMBEDDED_DATABASE = 'clinic';

export interface OpenedDatabase {
  url: string;
  embedded: boolean;
  /** The embedded database's state, when this process runs it. */
  status?(): EmbeddedStatus;
  close(): Promise<void>;
}

function runningPostmasterPort(pgDir: string): number | undefined {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  return Number(lines[3]);
}

export async function openDatabase(
  config: Config,
  { log = (_: string) => {}, reuseRunning = false }: { log?: (m: string) => void; reuseRunning?: boolean } = {},
): Promise<OpenedDatabase> {
  if (config.databaseUrl) {
    await checkDatabaseServer(config.databaseUrl);
    return { url: config.databaseUrl, embedded: false, close: async () => {} };
  }
  const pgDir = path.join(config.dataDir, 'pg');
  // A postmaster left by a server that was killed: stop it, then start our own. (A CLI may
  // simply use it.) One whose owner is alive is refused below.
  const orphan = reuseRunning ? undefined : orphanedPostmaster(pgDir);
  if (orphan) await stopOrphanedPostmaster(orphan, log);
  const runningPort = runningPostmasterPort(pgDir);
  if (runningPort && reuseRunning) {
    return { url: embeddedSocketUrl(runningPort, EMBEDDED_DATABASE), embedded: true, close: async () => {} };
  }
  if (runningPort)
    throw new DataDirInUseError(`The embedded database in ${pgDir} is already running (port ${runningPort}).`);
  assertDataDirUsable(config.dataDir);
  log(`starting embedded PostgreSQL in ${pgDir}`);
  // With BACKUP_DIR set, every finished WAL segment is archived there (point-in-time restore).
  const extraFlags = config.backupDir ? await archiveFlags(config.backupDir) : [];
  const db = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.embeddedPgPort,
    extraFlags,
    onEvent: log,
  });
  await ensureDatabase(db.adminUrl, EMBEDDED_DATABASE);
  return { url: db.socketUrlFor(EMBEDDED_DATABASE), embedded: true, status: () => db.status(), close: () => db.stop() };
}
