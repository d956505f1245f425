// Entry of `npm run worker`: job workers only (reminders, periodic chores), no HTTP. For larger
// installs: run the web servers with JOBS_IN_PROCESS=false and one or more of these beside
// them, all on the same DATABASE_URL. With the embedded database it reuses the one that
// `npm start` runs in DATA_DIR.
import { loadConfig } from './config.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { createPool } from './db/pool.js';
import { startJobRunner } from './jobs/runner.js';
import { ensureJobSchema } from './jobs/schema.js';
import { ALL_WORKERS } from './jobs/workers.js';
import { createLogger } from './logger.js';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config, { log: (m) => logger.info(m), reuseRunning: true });
  await migrate(db.url, { log: (m) => logger.info(m) });
  await ensureJobSchema(db.url);
  const pool = createPool(db.url, { max: 10 });
  const runner = await startJobRunner({
    databaseUrl: db.url,
    pool,
    config,
    logger,
    workers: ALL_WORKERS,
    runWorkers: true,
  });
  logger.info({ queues: ALL_WORKERS.map((w) => w.queue) }, 'job worker running');
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await runner.stop();
    await pool.end();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
