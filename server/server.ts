// Starts everything the app needs around createApp: database, migrations, demo seed, client
// build, background services, HTTP listener; and stops them in reverse order.
import { createApp } from './app.js';
import { buildClient, isClientBuildCurrent } from './build-client.js';
import type { Config } from './config.js';
import type { AppDeps } from './deps.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { createPool } from './db/pool.js';
import type { Logger } from './logger.js';
import { flushErrorTracking, initErrorTracking } from './observability/error-tracking.js';
import { ReplicationSampler } from './observability/sampler.js';
import { AuditChainer } from './audit/chainer.js';
import { startJobRunner } from './jobs/runner.js';
import { ensureJobSchema } from './jobs/schema.js';
import { ALL_WORKERS } from './jobs/workers.js';
import { listen } from './http/listen.js';
import { seedDemoIfEmpty } from './seed/demo.js';
import { startClinicSync, withSyncEngine } from './clinic-sync/start.js';

export interface RunningServer {
  url: string;
  databaseUrl: string;
  deps: AppDeps;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  logger: Logger,
  { buildIfMissing = true, clientBuildDir }: { buildIfMissing?: boolean; clientBuildDir?: string } = {},
): Promise<RunningServer> {
  const db = await openDatabase(config, { log: (m) => logger.debug(m) });
  const stops: Array<() => Promise<void>> = [() => db.close()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => logger.error({ err }, 'error while stopping'));
  };
  try {
    const applied = await migrate(db.url, { log: (m) => logger.debug(m) });
    if (applied.length) logger.info({ applied }, 'migrations applied');
    await ensureJobSchema(db.url);
    if (!config.isProduction && config.seedDemo) {
      const seeded = await seedDemoIfEmpty(db.url, config.clinicTimeZone);
      if (seeded) logger.info(seeded, 'demo clinic seeded');
    }
    if (buildIfMissing && !isClientBuildCurrent()) {
      const verbose = logger.isLevelEnabled('debug');
      // One line for a newcomer's first start; the build's own output only on failure or at debug.
      if (!verbose) process.stdout.write('Building the app (first start only, about a minute) ...');
      const started = Date.now();
      try {
        await buildClient({ verbose });
      } catch (err) {
        if (!verbose) process.stdout.write(' failed.\n');
        throw err;
      }
      if (!verbose) process.stdout.write(` done in ${Math.round((Date.now() - started) / 1000)} s.\n`);
    }
    const pool = createPool(db.url);
    stops.push(() => pool.end());
    initErrorTracking(config, logger);
    stops.push(() => flushErrorTracking());
    const replicationSampler = new ReplicationSampler({ pool, slotName: config.syncSlotName, logger });
    replicationSampler.start();
    stops.push(() => replicationSampler.stop());
    const chainer = new AuditChainer({ pool, logger, intervalMs: config.auditChainIntervalMs });
    chainer.start();
    stops.push(() => chainer.stop());
    // Background jobs (reminders, idempotency purge) on pg-boss; JOBS_IN_PROCESS=false leaves
    // the work to `npm run worker` processes.
    const jobs = await startJobRunner({
      databaseUrl: db.url,
      pool,
      config,
      logger,
      workers: ALL_WORKERS,
      runWorkers: config.jobsInProcess,
    });
    stops.push(() => jobs.stop());
    let deps: AppDeps = {
      config,
      pool,
      logger,
      databaseUrl: db.url,
      readiness: {},
      replicationSampler,
      clientBuildDir,
    };
    if (!config.syncUpstreamUrl) {
      // The sync service consumes replication and serves /v1/shape (proxy mode uses upstream).
      const sync = await startClinicSync(deps);
      stops.push(() => sync.stop());
      deps = withSyncEngine(deps, sync);
    }
    const app = createApp(deps);
    const listening = await listen(app, config);
    stops.push(() => listening.close());
    const url = listening.url;
    return { url, databaseUrl: db.url, deps, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
