// The reminders' job workers: sending (many at a time, each reminder at most once) and the
// sweep of sends interrupted by a crash.
import type PgBoss from 'pg-boss';
import type { Config } from '../config.js';
import { QUEUES } from '../jobs/queues.js';
import type { JobContext, JobWorker } from '../jobs/runner.js';
import type { ReminderJob } from './enqueue.js';
import { sendReminder } from './send.js';
import { sweepStuckReminders } from './sweep.js';
import { createTransports, type Transports } from './transports.js';

/** One set of transports per process and config (an SMTP pool is reused across jobs). */
const transportsByConfig = new WeakMap<Config, Transports>();
export function transportsFor(config: Config): Transports {
  let t = transportsByConfig.get(config);
  if (!t) {
    t = createTransports(config);
    transportsByConfig.set(config, t);
  }
  return t;
}

const CONCURRENCY = 10;

async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item).catch((err) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  // pg-boss retries the batch; the rows already handled ignore their second job.
  if (errors.length) throw errors[0];
}

export const reminderSendWorker: JobWorker = {
  queue: QUEUES.reminderSend,
  batchSize: 50,
  pollingIntervalSeconds: 1,
  async handle(jobs: PgBoss.Job<ReminderJob>[], ctx: JobContext) {
    const deps = { pool: ctx.pool, config: ctx.config, logger: ctx.logger, transports: transportsFor(ctx.config) };
    await inParallel(jobs, CONCURRENCY, async (job) => {
      await sendReminder(deps, job.data.reminderId);
    });
  },
};

export const reminderSweepWorker: JobWorker = {
  queue: QUEUES.reminderSweep,
  pollingIntervalSeconds: 5,
  async handle(_jobs, ctx) {
    const counts = await sweepStuckReminders(
      ctx.pool,
      transportsFor(ctx.config),
      ctx.config.reminderSendingTimeoutSeconds,
    );
    if (counts.sent + counts.retried + counts.review > 0) ctx.logger.warn(counts, 'interrupted reminder sends settled');
  },
};
