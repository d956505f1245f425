// Every pg-boss queue of the app, in one list, so the schema step (schema.ts) can create them
// all before anything sends: pg-boss 10 keeps each queue in its own partition, and a job sent
// to a queue that does not exist yet fails.
import type PgBoss from 'pg-boss';

/** pg-boss's tables live in their own schema, apart from the app's. */
export const JOB_SCHEMA = 'pgboss';

export const QUEUES = {
  /** Hourly: delete idempotency answers older than IDEMPOTENCY_RETENTION_DAYS. */
  idempotencyPurge: 'idempotency-purge',
  /** One job per reminder, due at its send_at; the reminder row decides what happens. */
  reminderSend: 'reminder-send',
  /** Every minute: reminders stuck in `sending` (a crash mid-send) go to `review`. */
  reminderSweep: 'reminder-sweep',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * Periodic queues use the `stately` policy: at most one queued and one active job, so
 * several server instances firing the same cron collapse into one run.
 */
export const QUEUE_OPTIONS: Record<QueueName, Omit<PgBoss.Queue, 'name'>> = {
  [QUEUES.idempotencyPurge]: { policy: 'stately', retryLimit: 1, expireInSeconds: 15 * 60 },
  // The reminder row is the authority on sending; a job retried by pg-boss after an expired
  // handler finds the row no longer `pending` and does nothing (see server/reminders/send.ts).
  [QUEUES.reminderSend]: {
    policy: 'standard',
    retryLimit: 3,
    retryDelay: 30,
    retryBackoff: true,
    expireInSeconds: 15 * 60,
  },
  [QUEUES.reminderSweep]: { policy: 'stately', retryLimit: 0, expireInSeconds: 5 * 60 },
};

/** Cron lines (UTC) of the periodic queues. */
export const SCHEDULES: Array<{ queue: QueueName; cron: string }> = [
  { queue: QUEUES.idempotencyPurge, cron: '17 * * * *' },
  { queue: QUEUES.reminderSweep, cron: '* * * * *' },
];
