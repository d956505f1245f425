import { seedDemo } from '../seed/demo.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { config, db } = await openForCli();
  try {
    if (config.isProduction) throw new Error('Refusing to seed demo data with NODE_ENV=production.');
    const started = performance.now();
    const summary = await seedDemo(db.url, config.clinicTimeZone);
    if (!summary) console.log('The demo clinic is already there: nothing to do.');
    else console.log(`Seeded the demo clinic in ${Math.round(performance.now() - started)} ms:`, summary);
  } finally {
    await db.close();
  }
});
