// The server's periodic chores as job workers. Moved here from in-process timers so that with
// several instances each chore runs once per period, not once per instance.
import { purgeIdempotencyKeys } from '../http/idempotency-retention.js';
import { QUEUES } from './queues.js';
import type { JobWorker } from './runner.js';

export const idempotencyPurgeWorker: JobWorker = {
  queue: QUEUES.idempotencyPurge,
  pollingIntervalSeconds: 5,
  async handle(_jobs, { pool, config, logger }) {
    const deleted = await purgeIdempotencyKeys(pool, config.idempotencyRetentionDays);
    if (deleted) logger.info({ deleted }, 'old idempotency answers deleted');
  },
};
