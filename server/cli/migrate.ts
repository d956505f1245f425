import { migrate } from '../db/migrate.js';
import { ensureJobSchema } from '../jobs/schema.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { db } = await openForCli({ migrateFirst: false });
  try {
    const applied = await migrate(db.url, { log: (m) => console.log(m) });
    await ensureJobSchema(db.url);
    console.log(applied.length ? `Applied ${applied.length} migration(s).` : 'Database is up to date.');
  } finally {
    await db.close();
  }
});
