// npm run preflight [-- --waive sentry,metrics,backups]: checks a configured installation
// (same environment as `npm start`) and prints a ✓/✗ checklist with the fix for each ✗.
// Exit code 1 when anything failed. The checklist itself: server/preflight/checks.ts.
import { parseArgs } from 'node:util';
import { createPool } from '../db/pool.js';
import { formatResults, runPreflight, WAIVERS, type Waiver } from '../preflight/checks.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { values } = parseArgs({ options: { waive: { type: 'string', default: '' } } });
  const waived = new Set(
    values.waive
      .split(',')
      .map((w) => w.trim())
      .filter(Boolean),
  );
  for (const w of waived) {
    if (!WAIVERS.includes(w as Waiver)) throw new Error(`--waive: unknown item "${w}" (one of ${WAIVERS.join(', ')})`);
  }
  // Read-only: pending migrations are reported, not applied.
  const { config, db } = await openForCli({ migrateFirst: false });
  const pool = createPool(db.url, { max: 2 });
  try {
    const results = await runPreflight(config, pool, db.url, waived as Set<Waiver>);
    console.log(`Preflight of ${config.publicOrigin} (${db.embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'})\n`);
    console.log(formatResults(results));
    if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
  } finally {
    await pool.end();
    await db.close();
  }
});
