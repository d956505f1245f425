// Entry point of `npm start`: config → database → migrations → seed → app.listen.
// SIGINT/SIGTERM close the HTTP server, the pool and the embedded PostgreSQL cleanly.
import { ConfigError, loadConfig } from './config.js';
import { ClientBuildError } from './build-client.js';
import { DataDirAccessError } from './db/data-dir-access.js';
import { DataDirInUseError } from './db/embedded.js';
import { MigrationChecksumError, MigrationError } from './db/migrate.js';
import { DatabaseRequirementError } from './db/server-check.js';
import { createLogger, defaultLogFormat } from './logger.js';
import { AlreadyRunningError, acquireProcessLock } from './process-lock.js';
import { DEMO_PASSWORD, DEMO_USERS } from './seed/demo.js';
import { startServer } from './server.js';
import { lanAddresses } from './tls/local-ca.js';

const KNOWN = [
  ConfigError,
  ClientBuildError,
  DataDirAccessError,
  DataDirInUseError,
  MigrationError,
  MigrationChecksumError,
  DatabaseRequirementError,
  AlreadyRunningError,
];

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, undefined, config.logFormat ?? defaultLogFormat());
  const release = acquireProcessLock(config.dataDir);
  let running;
  try {
    running = await startServer(config, logger);
  } catch (err) {
    release();
    throw err;
  }
  const local = new URL(config.publicOrigin).hostname === 'localhost';
  console.log(`\nClinic appointments is running at ${local ? config.publicOrigin : running.url}`);
  if (config.host === '0.0.0.0' || config.host === '::') {
    const lan = lanAddresses().map((a) => `${new URL(running.url).protocol}//${a}:${new URL(running.url).port}`);
    if (lan.length) console.log(`On the clinic network: ${lan.join(', ')} (tablets: README, "Use it from tablets")`);
  }
  if (!config.isProduction && config.seedDemo) {
    console.log(`Demo logins (password "${DEMO_PASSWORD}"): ${DEMO_USERS.map((u) => u.email).join(', ')}`);
  }
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await running.stop();
    release();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  if (KNOWN.some((K) => err instanceof K)) {
    console.error(`\n${err.message}\n`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
