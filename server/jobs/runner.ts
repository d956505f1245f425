// The job runner: one pg-boss instance per process. `npm start` runs it with workers (unless
// JOBS_IN_PROCESS=false, when `npm run worker` processes do the work); every instance keeps
// the cron schedules, which pg-boss deduplicates across instances.
import PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { JOB_SCHEMA, QUEUES, SCHEDULES, type QueueName } from './queues.js';

export interface JobContext {
  pool: Pool;
  config: Config;
  logger: Logger;
  boss: PgBoss;
}

/** A queue's worker: handles a batch of its jobs. A job whose handler throws is retried by pg-boss. */
export interface JobWorker {
  queue: QueueName;
  batchSize?: number;
  pollingIntervalSeconds?: number;
  handle(jobs: PgBoss.Job<any>[], ctx: JobContext): Promise<void>;
}

export interface JobRunner {
  boss: PgBoss;
  stop(): Promise<void>;
}

export async function startJobRunner(options: {
  databaseUrl: string;
  pool: Pool;
  config: Config;
  logger: Logger;
  workers: JobWorker[];
  /** false: only send and schedule jobs here (the workers run elsewhere). */
  runWorkers: boolean;
}): Promise<JobRunner> {
  const { logger } = options;
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: JOB_SCHEMA,
    max: 4,
    // The schema is made by ensureJobSchema before this starts; a running app never migrates it.
    migrate: false,
    application_name: 'clinic-jobs',
  });
  boss.on('error', (err) => logger.warn({ err }, 'job queue error'));
  await boss.start();
  const ctx: JobContext = { pool: options.pool, config: options.config, logger, boss };
  for (const { queue, cron } of SCHEDULES) await boss.schedule(queue, cron, {}, { tz: 'UTC' });
  if (options.runWorkers) {
    // Settle sends a crash interrupted now rather than at the next minute's sweep.
    await boss.send(QUEUES.reminderSweep, {});
    for (const worker of options.workers) {
      await boss.work(
        worker.queue,
        { batchSize: worker.batchSize ?? 1, pollingIntervalSeconds: worker.pollingIntervalSeconds ?? 2 },
        (jobs) => worker.handle(jobs, ctx),
      );
    }
  }
  return {
    boss,
    stop: () => boss.stop({ graceful: true, wait: true, timeout: 20_000 }),
  };
}
