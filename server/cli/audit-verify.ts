// npm run audit:verify: walks the audit chain; exit code 0 when intact, 2 when tampered.
import { verifyAuditChain } from '../audit/verify.js';
import { createPool } from '../db/pool.js';
import { openForCli, runCli } from './open-for-cli.js';

await runCli(async () => {
  const { db } = await openForCli();
  const pool = createPool(db.url, { max: 1 });
  try {
    const report = await verifyAuditChain(pool);
    console.log(JSON.stringify(report));
    if (!report.ok) {
      console.error(
        `The audit chain is broken at row ${report.first_bad_id} (${report.checked} rows before it verify).`,
      );
      process.exitCode = 2;
    } else {
      console.error(`The audit chain is intact: ${report.checked} rows verified.`);
    }
  } finally {
    await pool.end();
    await db.close();
  }
});
