// Sends reminder jobs through the caller's connection: inside a booking's transaction the job
// commits or rolls back with the booking. pg-boss only builds the INSERT here; this instance
// never connects (its `db` is unused because every send passes its own).
import PgBoss from 'pg-boss';
import type { Queryable } from '../db/pool.js';
import { JOB_SCHEMA, QUEUES } from '../jobs/queues.js';

const unused: PgBoss.Db = {
  executeSql: () => Promise.reject(new Error('reminder jobs are sent through the caller connection')),
};
const writer = new PgBoss({ db: unused, schema: JOB_SCHEMA });

export interface ReminderJob {
  reminderId: string;
}

export async function enqueueReminder(db: Queryable, reminderId: string, startAfter: Date): Promise<void> {
  const data: ReminderJob = { reminderId };
  await writer.send(QUEUES.reminderSend, data, {
    startAfter,
    db: { executeSql: (text, values) => db.query(text, values) },
  });
}
