// Creates (or upgrades) pg-boss's schema and the app's queues in a database. Run after the SQL
// migrations: by `npm start`, `npm run migrate`, `npm run worker` and the tests' template
// database, so a database cloned from that template has them too. pg-boss takes its own
// advisory lock while it migrates, so two processes starting together are safe.
import PgBoss from 'pg-boss';
import { JOB_SCHEMA, QUEUE_OPTIONS, QUEUES } from './queues.js';

export async function ensureJobSchema(connectionString: string): Promise<void> {
  const boss = new PgBoss({
    connectionString,
    schema: JOB_SCHEMA,
    max: 1,
    supervise: false,
    schedule: false,
    migrate: true,
    application_name: 'clinic-jobs-schema',
  });
  boss.on('error', () => {});
  await boss.start();
  try {
    for (const name of Object.values(QUEUES)) {
      if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, ...QUEUE_OPTIONS[name] });
    }
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}
