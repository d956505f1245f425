// Sends reminder jobs through the caller's connection: inside a booking's transaction the job
// commits or rolls back with the booking. pg-boss only builds the INSERT here; this instance
// never connects (its `db` is unused because every send passes its own).
import PgBoss from 'pg-boss';
import { prepared, type Queryable } from '../db/pool.js';
import { JOB_SCHEMA, QUEUES } from '../jobs/queues.js';

const unused: PgBoss.Db = {
  executeSql: () => Promise.reject(new Error('reminder jobs are sent through the caller connection')),
};
const writer = new PgBoss({ db: unused, schema: JOB_SCHEMA });

export interface ReminderJob {
  reminderId: string;
}

export async function enqueueReminder(db: Queryable, reminderId: string, startAfter: Date): Promise<void> {
  await enqueueReminders(db, [{ id: reminderId, send_at: startAfter }]);
}

/** One job per reminder, all in one INSERT (a booking plans several reminders at once). */
export async function enqueueReminders(db: Queryable, reminders: Array<{ id: string; send_at: Date }>): Promise<void> {
  if (reminders.length === 0) return;
  await writer.insert(
    reminders.map((r) => ({
      name: QUEUES.reminderSend,
      data: { reminderId: r.id } satisfies ReminderJob,
      // an ISO instant (…Z): pg-boss casts it as a timestamptz
      startAfter: r.send_at.toISOString(),
    })),
    { db: { executeSql: (text, values) => db.query(prepared(text, values ?? [])) } },
  );
}
