// Entry of `npm run sync-service`: the sync service alone, as a drop-in for Electric's HTTP
// API (no app routes). SYNC_SECRET protects it unless SYNC_INSECURE=true (refused in
// production by config.ts). PORT/HOST and DATABASE_URL (or the embedded database) as usual.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig } from './config.js';
import { MIGRATIONS_DIR } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { createPool, type Pool } from './db/pool.js';
import { createHttpServer } from './http/listen.js';
import { createLogger, defaultLogFormat } from './logger.js';
import { createSyncEngine } from './sync/engine.js';
import { secretAccess, standaloneHttpApp } from './sync/standalone-app.js';

/** The app's publication name, so one database can serve both (migrations/0007). */
const PUBLICATION = 'clinic_sync';

/** Only the sync service's own tables: the database may be anyone's. */
async function ensureSyncTables(pool: Pool) {
  const { rows } = await pool.query(`SELECT to_regclass('sync_shapes') IS NOT NULL AS ok`);
  if (rows[0].ok) return;
  await pool.query(await readFile(path.join(MIGRATIONS_DIR, '0030_sync_shape_logs.sql'), 'utf8'));
}

async function main() {
  const config = loadConfig();
  if (!config.syncSecret && !config.syncInsecure) {
    throw new ConfigError(
      'Set SYNC_SECRET (16+ characters; clients send it as ?secret=) or SYNC_INSECURE=true for a local test.',
    );
  }
  const logger = createLogger(config.logLevel, undefined, config.logFormat ?? defaultLogFormat());
  const db = await openDatabase(config, { log: (m) => logger.info(m), reuseRunning: true });
  const pool = createPool(db.url);
  await ensureSyncTables(pool);
  const engine = createSyncEngine({
    pool,
    databaseUrl: db.url,
    slotName: config.syncSlotName,
    publication: PUBLICATION,
    logger,
    longPollMs: config.syncLongPollMs,
    chunkBytes: config.syncChunkBytes,
    tables: 'any-readable',
    access: secretAccess(config.syncInsecure ? undefined : config.syncSecret),
    compactLogRows: config.syncCompactLogRows,
  });
  await engine.start();
  const server = createHttpServer(standaloneHttpApp(engine.router, logger));
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  console.log(`Sync service listening on http://${config.host}:${config.port}/v1/shape`);
  const shutdown = async () => {
    server.closeAllConnections();
    server.close();
    await engine.stop();
    await pool.end();
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `\n${err.message}\n` : err);
  process.exit(1);
});
